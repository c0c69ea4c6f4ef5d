#!/usr/bin/python3
"""aioice peer for tests/interop/ice_aioice_test.c.

Usage: aioice_peer.py controlling|controlled
Line protocol on stdin/stdout (one JSON object per line):
  out: {"ufrag", "pwd", "candidates": [sdp without "candidate:"]}
  in:  {"ufrag", "pwd", "candidates": [...]}
  out: {"ok": true, "got": "<first datagram from urtc>", "pair": [local, remote]}
Runs inside the network namespace the test created; only 127.0.0.1 is used.
"""
import asyncio
import json
import sys

import aioice
import aioice.ice

# aioice 0.8.0 skips loopback addresses on purpose (see shared/lab/interop/README.md).
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


async def main(controlling: bool) -> None:
    loop = asyncio.get_running_loop()
    conn = aioice.Connection(ice_controlling=controlling, components=1,
                             use_ipv4=True, use_ipv6=False)
    await conn.gather_candidates()
    print(json.dumps({"ufrag": conn.local_username, "pwd": conn.local_password,
                      "candidates": [c.to_sdp() for c in conn.local_candidates]}), flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    peer = json.loads(line)
    conn.remote_username = peer["ufrag"]
    conn.remote_password = peer["pwd"]
    for c in peer["candidates"]:
        await conn.add_remote_candidate(aioice.Candidate.from_sdp(c))
    await conn.add_remote_candidate(None)
    await conn.connect()
    await conn.send(b"hello from aioice")
    data = await conn.recv()
    # echo what urtc sent, so the C side sees the data path both ways
    await conn.send(b"echo:" + data)
    pair = conn._nominated.get(1)
    print(json.dumps({"ok": True, "got": data.decode(errors="replace"),
                      "pair": [list(pair.local_addr), list(pair.remote_addr)] if pair else None}),
          flush=True)
    await asyncio.sleep(1.0)  # keep answering consent checks for a moment
    await conn.close()


if __name__ == "__main__":
    role = sys.argv[1] == "controlling"
    try:
        asyncio.run(asyncio.wait_for(main(role), 20))
    except Exception as e:  # reported to the test, which fails
        print(json.dumps({"ok": False, "error": repr(e)}), flush=True)
        sys.exit(1)
