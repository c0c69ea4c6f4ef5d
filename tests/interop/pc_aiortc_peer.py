#!/usr/bin/python3
"""tests/interop/pc_aiortc_peer.py: aiortc's side of tests/interop/pc_aiortc_test.c, a whole
call (ICE, DTLS-SRTP, Opus and VP8 both ways) between aiortc 1.4 and the urtc peer-connection
API. JSON lines on stdin/stdout; run inside a private network namespace (the test unshares).

  aiortc-offers SECONDS: print {"offer": sdp}; read {"answer": sdp}
  urtc-offers SECONDS:   read {"offer": sdp}; print {"answer": sdp}
then send aiortc's own synthetic audio and video, decode what arrives for SECONDS, and print
{"audio_frames": n, "video_frames": n, "dc_messages": n, "video_sizes": [[w, h], ...],
"state": ..., "sr_audio_packets": n, "sr_video_packets": n, "rtt_us": n} (-1: no such RTCP). A data channel "chat" carries DC_MSGS messages each way.
"""
import asyncio
import json
import sys

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

# aioice 0.8 leaves loopback out of its host candidates; the namespace has nothing else.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

counts = {"audio": 0, "video": 0, "dc": 0}
DC_MSGS = 20
sizes = set()


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def readline():
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return json.loads(line)


async def consume(track):
    while True:
        try:
            frame = await track.recv()  # decoded: av.AudioFrame / av.VideoFrame
        except Exception:  # noqa: BLE001 - the track ended
            return
        counts[track.kind] += 1
        if track.kind == "video":
            sizes.add((frame.width, frame.height))


def use_channel(ch):
    """Sends DC_MSGS messages once open, alternating string and binary; counts what urtc
    sends, checking its contents ("urtc <i>" or i bytes of i)."""
    def send_all():
        for i in range(DC_MSGS):
            ch.send("aiortc %d" % i if i % 2 == 0 else bytes([i]) * i)

    @ch.on("message")
    def on_message(msg):
        i = counts["dc"]
        ok = msg == ("urtc %d" % i) if i % 2 == 0 else msg == bytes([i]) * i
        counts["dc"] += 1 if ok else 1000  # a bad message shows as a huge count

    if ch.readyState == "open":
        send_all()
    else:
        ch.on("open", send_all)


async def main(mode, seconds):
    pc = RTCPeerConnection()

    @pc.on("datachannel")
    def on_datachannel(ch):
        use_channel(ch)

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(consume(track))

    if mode == "aiortc-offers":
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
        use_channel(pc.createDataChannel("chat"))
        await pc.setLocalDescription(await pc.createOffer())
        out({"offer": pc.localDescription.sdp})
        msg = await readline()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["answer"], type="answer"))
    else:
        msg = await readline()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["offer"], type="offer"))
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
        await pc.setLocalDescription(await pc.createAnswer())
        out({"answer": pc.localDescription.sdp})
    await asyncio.sleep(seconds)
    # RTCP as aiortc saw it: urtc's sender reports (remote-outbound-rtp: the packet counts of
    # its SRs) and urtc's report blocks about aiortc's streams (remote-inbound-rtp: aiortc's
    # RTT from the LSR/DLSR urtc echoed, RFC 3550 §6.4.1; null until a block matched its SR).
    stats = (await pc.getStats()).values()
    sr = {s.kind: s.packetsSent for s in stats if s.type == "remote-outbound-rtp"}
    rtt = [s.roundTripTime for s in stats
           if s.type == "remote-inbound-rtp" and s.roundTripTime is not None]
    out({"audio_frames": counts["audio"], "video_frames": counts["video"], "dc_messages": counts["dc"],
         "video_sizes": sorted(sizes), "state": pc.connectionState,
         "sr_audio_packets": sr.get("audio", -1), "sr_video_packets": sr.get("video", -1),
         "rtt_us": int(max(rtt) * 1e6) if rtt else -1})
    await pc.close()


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], float(sys.argv[2])), 60))
