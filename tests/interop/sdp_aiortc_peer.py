#!/usr/bin/python3
"""tests/interop/sdp_aiortc_peer.py: aiortc's side of tests/interop/sdp_aiortc_test.c.

JSON lines on stdin/stdout. Run inside a private network namespace (the test unshares).
  aiortc-offers: print {"offer": sdp}; read {"answer": sdp}; setRemoteDescription(answer);
                 print {"ok": true, "state": ..., "transceivers": [...]} or {"ok": false, "error": ...}
  urtc-offers:   read {"offer": sdp}; setRemoteDescription(offer), createAnswer,
                 setLocalDescription; print {"ok": true, "answer": sdp, ...} or an error.
"""
import asyncio
import json
import sys

from aiortc import RTCPeerConnection, RTCSessionDescription


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def readline():
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    return json.loads(line)


def summary(pc):
    trs = []
    for t in pc.getTransceivers():
        codecs = []
        try:
            codecs = [c.mimeType + "/" + str(c.payloadType) for c in t._codecs]
        except AttributeError:
            pass
        trs.append({"mid": t.mid, "kind": t.kind, "current": t.currentDirection, "codecs": codecs})
    return {"state": pc.signalingState, "transceivers": trs, "sctp": pc.sctp is not None}


async def aiortc_offers():
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    pc.addTransceiver("video", direction="sendrecv")
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    out({"offer": pc.localDescription.sdp})
    msg = await readline()
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["answer"], type="answer"))
        out(dict(ok=True, **summary(pc)))
    except Exception as e:  # noqa: BLE001 - the test reports what aiortc said
        out({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    await pc.close()


async def urtc_offers():
    pc = RTCPeerConnection()
    msg = await readline()
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["offer"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        out(dict(ok=True, answer=pc.localDescription.sdp, **summary(pc)))
    except Exception as e:  # noqa: BLE001
        out({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    await pc.close()


async def main():
    fn = aiortc_offers if sys.argv[1] == "aiortc-offers" else urtc_offers
    await asyncio.wait_for(fn(), timeout=20)


if __name__ == "__main__":
    asyncio.run(main())
