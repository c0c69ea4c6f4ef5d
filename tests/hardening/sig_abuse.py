#!/usr/bin/python3
"""Client side of tests/hardening/signaling_test.c. Usage: sig_abuse.py PORT SCENARIO.
Exits 0 when every check passed, prints the first failure otherwise.

  caps   the server-wide caps (the per-room cap, the rate limit and the per-IP limit are in
         tests/signaling): --max-rooms 2, --max-peers 3, --max-conns 8. Past each cap the
         answer is a clear error (join: too-many-rooms; a WebSocket beyond --max-peers: 503
         "too many WebSocket connections", so a join never meets server-full; a connection
         beyond --max-conns: 503), members that got in keep working, and closing one lets the
         next one in.
  junk   two members in a room chat while 300 connections throw junk at the HTTP port
         (random bytes, half requests left open, oversized heads, bad WebSocket frames,
         connections reset mid-request): the members' relay keeps working with no message
         lost, /healthz answers, and /metrics counts the 4xx answers."""
import asyncio
import json
import random
import socket
import struct
import sys
import time

import websockets

PORT = int(sys.argv[1])
SCENARIO = sys.argv[2]
URL = f"ws://127.0.0.1:{PORT}/ws"
T = 5.0


def check(cond, what):
    if not cond:
        print(f"FAIL [{SCENARIO}]: {what}", flush=True)
        sys.exit(1)


def http_get(path):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=T)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out


def metric(name):
    for _ in range(int(T / 0.05)):  # a 503 while closed connections are still being freed
        r = http_get(b"/metrics")
        if r.startswith(b"HTTP/1.1 200"):
            break
        time.sleep(0.05)
    body = r.split(b"\r\n\r\n", 1)[1].decode()
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


async def metric_becomes(name, value):
    """Polls /metrics (the signaling thread frees closed connections in its own time)."""
    for _ in range(int(T / 0.05)):
        if metric(name) == value:
            return True
        await asyncio.sleep(0.05)
    return False


async def recv_json(ws, want=None):
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), T))
        if want is None or m.get("type") == want:
            return m


async def join(room, name):
    ws = await websockets.connect(URL, open_timeout=T)
    await ws.send(json.dumps({"type": "join", "room": room, "name": name, "mode": "p2p"}))
    m = await recv_json(ws)
    return ws, m


async def caps():
    # --max-rooms 2: a third room is refused; --max-peers 3: a fourth member anywhere is.
    a, m = await join("r1", "a")
    check(m["type"] == "welcome", f"first join: {m}")
    b, m = await join("r2", "b")
    check(m["type"] == "welcome", f"second room: {m}")
    c, m = await join("r3", "c")
    check(m["type"] == "error" and m["code"] == "too-many-rooms", f"third room: {m}")
    await c.send(json.dumps({"type": "join", "room": "r1", "name": "c", "mode": "p2p"}))
    m = await recv_json(c)
    check(m["type"] == "welcome", f"an existing room still takes members: {m}")
    # --max-peers 3 also caps WebSockets: a fourth is refused at the upgrade, with a reason.
    s = socket.create_connection(("127.0.0.1", PORT), timeout=T)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    # The head and the body may come in separate segments: read until the server closes.
    r = b""
    while len(r) < 65536:
        chunk = s.recv(4096)
        if not chunk:
            break
        r += chunk
    s.close()
    check(r.startswith(b"HTTP/1.1 503") and b"too many WebSocket connections" in r,
          f"a fourth WebSocket: {r[:120]!r}")
    # The members in are undisturbed: a chat from a reaches c.
    await a.send(json.dumps({"type": "chat", "text": "still here"}))
    m = await recv_json(c, "chat")
    check(m["text"] == "still here", f"relay past the caps: {m}")
    # Closing one frees a place: the next one gets in, into the freed room.
    await b.close()
    check(await metric_becomes("urtc_rooms", 1),
          f"r2 is gone with its last member: {metric('urtc_rooms')}")
    d, m = await join("r2", "d")
    check(m["type"] == "welcome", f"after a close the next one gets in: {m}")
    check(metric("urtc_peers") == 3, f"urtc_peers {metric('urtc_peers')}")
    # --max-conns 8: 3 WebSockets + 5 more connections fill it; the next gets 503.
    extra = [socket.create_connection(("127.0.0.1", PORT), timeout=T) for _ in range(5)]
    await asyncio.sleep(0.2)
    s = socket.create_connection(("127.0.0.1", PORT), timeout=T)
    r = s.recv(4096)
    check(r.startswith(b"HTTP/1.1 503"), f"past --max-conns: {r[:60]!r}")
    s.close()
    for e in extra:
        e.close()
    check(metric("urtc_connections_rejected_total") >= 1, "rejections counted")
    for w in (a, c, d):
        await w.close()
    check(await metric_becomes("urtc_peers", 0) and await metric_becomes("urtc_rooms", 0),
          "everything freed")


def junk_connection(rng, kind):
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=2)
    except OSError:
        return
    try:
        if kind == 0:    # random bytes
            s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096))))
        elif kind == 1:  # a head that never ends (left open; the idle timer closes it)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * rng.randint(1, 100))
            return s
        elif kind == 2:  # an oversized head
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Junk: " + b"b" * 9000 + b"\r\n\r\n")
        elif kind == 3:  # a WebSocket upgrade followed by unmasked, oversized and bad frames
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      b"Sec-WebSocket-Version: 13\r\n\r\n")
            s.sendall(bytes([0x81, 0x7f]) + struct.pack("!Q", 1 << 40) +
                      bytes(rng.getrandbits(8) for _ in range(64)))
        elif kind == 4:  # reset in the middle of a request
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sendall(b"POST /whip/x HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\nv=0")
            s.close()
            return None
        else:            # control characters and bare LFs
            s.sendall(b"GET /\x00\x01 HTTP/1.1\nHost: x\n\x7f\r\n\r\n")
        try:
            s.recv(4096)
        except OSError:
            pass
    except OSError:
        pass
    s.close()
    return None


async def junk():
    a, m = await join("j", "a")
    b, m2 = await join("j", "b")
    check(m["type"] == "welcome" and m2["type"] == "welcome", "both joined")
    err0 = metric('urtc_http_errors_total{class="4xx"}') or 0
    rng = random.Random(11)
    held, sent, got = [], 0, 0
    loop = asyncio.get_running_loop()
    for round_ in range(30):
        # 10 junk connections per round, in a thread so the chat keeps running meanwhile
        kinds = [rng.randrange(6) for _ in range(10)]
        fut = loop.run_in_executor(None, lambda ks=kinds: [junk_connection(rng, k) for k in ks])
        for _ in range(3):
            await a.send(json.dumps({"type": "chat", "text": f"c{sent}"}))
            sent += 1
        held += [h for h in await fut if h]
        while got < sent:
            m = await recv_json(b, "chat")
            check(m["text"] == f"c{got}", f"chat {got} in order: {m}")
            got += 1
    check(got == sent == 90, f"every chat through the junk ({got}/{sent})")
    r = http_get(b"/healthz")
    check(b" 200 " in r.split(b"\r\n", 1)[0], f"healthz: {r[:40]!r}")
    err = metric('urtc_http_errors_total{class="4xx"}')
    check(err is not None and err > err0, f"4xx answers counted ({err0} -> {err})")
    for h in held:
        h.close()
    await a.close()
    await b.close()


def main():
    {"caps": caps, "junk": junk}[SCENARIO] and asyncio.run({"caps": caps, "junk": junk}[SCENARIO]())
    print(f"ok [{SCENARIO}]")


main()
