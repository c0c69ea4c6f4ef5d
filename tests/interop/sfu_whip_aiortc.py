#!/usr/bin/python3
"""tests/interop/sfu_whip_aiortc.py: an aiortc 1.4 WHIP publisher (RFC 9725) for
tests/interop/sfu_whip_aiortc_test.c. Run inside a private network namespace (the test
unshares).

  sfu_whip_aiortc.py URL SECONDS

POSTs an offer (aiortc's synthetic audio and video tracks, sendonly) as application/sdp to URL,
expects 201 with a Location and the answer, sends media for SECONDS, then DELETEs the Location.
Prints one JSON line: {"status": 201, "location": "...", "state": "...", "delete": 200}.
"""
import asyncio
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

# aioice 0.8 leaves loopback out of its host candidates; the namespace has nothing else.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def http(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/sdp")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


async def main(url, seconds):
    res = {"status": 0, "location": None, "state": None, "delete": 0}
    pc = RTCPeerConnection()
    state = {"v": "new"}

    @pc.on("connectionstatechange")
    def on_state():
        state["v"] = pc.connectionState

    for t in (AudioStreamTrack(), VideoStreamTrack()):
        pc.addTransceiver(t, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())  # gathers (no trickle)
    loop = asyncio.get_running_loop()
    status, headers, body = await loop.run_in_executor(
        None, http, "POST", url, pc.localDescription.sdp.encode())
    res["status"] = status
    if status == 201:
        loc = headers.get("Location")
        res["location"] = loc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        await asyncio.sleep(seconds)
        res["state"] = state["v"]
        if loc:
            full = urllib.parse.urljoin(url, loc)
            res["delete"] = (await loop.run_in_executor(None, http, "DELETE", full))[0]
    else:
        res["error"] = body
    await pc.close()
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()


asyncio.run(main(sys.argv[1], float(sys.argv[2])))
