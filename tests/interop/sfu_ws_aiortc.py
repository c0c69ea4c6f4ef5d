#!/usr/bin/python3
"""tests/interop/sfu_ws_aiortc.py: an aiortc 1.4 member of an sfu room over the WebSocket
protocol (docs/signaling.md, docs/sfu.md), for tests/interop/sfu_ws_aiortc_test.c. Run inside
a private network namespace (the test unshares).

  sfu_ws_aiortc.py WS_URL ROOM SECONDS

Joins ROOM with "mode": "sfu", answers every offer from member 0 (the server), decodes what
arrives for SECONDS, then closes the WebSocket. Prints one JSON line:
{"offers": n, "errors": [...], "state": "...", "audio": frames, "video": frames}.
"""
import asyncio
import json
import sys

import aioice.ice
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription

# aioice 0.8 leaves loopback out of its host candidates; the namespace has nothing else.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

counts = {"audio": 0, "video": 0}


async def consume(track):
    while True:
        try:
            await track.recv()  # decoded frames
        except Exception:  # noqa: BLE001 - the track ended
            return
        counts[track.kind] += 1


async def main(url, room, seconds):
    pc = RTCPeerConnection()
    pc.on("track", lambda t: asyncio.ensure_future(consume(t)))
    res = {"offers": 0, "errors": []}
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "join", "room": room, "name": "aiortc", "mode": "sfu"}))

        async def loop():
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] == "offer" and m.get("from") == 0:
                    res["offers"] += 1
                    try:
                        await pc.setRemoteDescription(RTCSessionDescription(m["sdp"], "offer"))
                        await pc.setLocalDescription(await pc.createAnswer())
                    except Exception as e:  # noqa: BLE001 - reported, the test fails
                        res["errors"].append("offer %d: %s" % (res["offers"], e))
                        continue
                    await ws.send(json.dumps({"type": "answer", "to": 0,
                                              "sdp": pc.localDescription.sdp}))
                elif m["type"] == "error":
                    res["errors"].append(m.get("code", "?"))

        task = asyncio.ensure_future(loop())
        await asyncio.sleep(seconds)
        task.cancel()
        res["state"] = pc.connectionState
    res.update(counts)
    await pc.close()
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()


asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
