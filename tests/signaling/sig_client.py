#!/usr/bin/python3
"""Client side of tests/signaling/server_test.c: talks to a running urtc signaling server with
Debian's python3-websockets (a real RFC 6455 client) and with raw sockets for the malformed
cases. Usage: sig_client.py PORT SCENARIO [ARG]. Exits 0 when every check passed; prints the
first failure otherwise. Every scenario ends by checking that the server still answers."""
import asyncio
import json
import os
import socket
import struct
import sys
import time

import websockets

PORT = int(sys.argv[1])
SCENARIO = sys.argv[2]
ARG = sys.argv[3] if len(sys.argv) > 3 else None
URL = f"ws://127.0.0.1:{PORT}/ws"
T = 5.0  # seconds for any single wait


def check(cond, what):
    if not cond:
        print(f"FAIL [{SCENARIO}]: {what}", flush=True)
        sys.exit(1)


# ---------------------------------------------------------------------------------------------
# Raw HTTP

def http_raw(data, read_until_close=True, timeout=T):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
            if not read_until_close and b"\r\n\r\n" in out:
                break
    except socket.timeout:
        pass
    s.close()
    return out


def status_of(resp):
    line = resp.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def get(path, headers=b""):
    return http_raw(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                    headers + b"\r\n")


def healthy():
    r = get(b"/healthz")
    check(status_of(r) == 200 and r.endswith(b"\r\n\r\nok\n"), f"server still healthy ({r[:60]!r})")


def responses(raw):
    """Splits pipelined responses (each with Content-Length)."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        cl = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                cl = int(v.strip())
        out.append((status_of(head), head, rest[:cl]))
        raw = rest[cl:]
    return out


def scenario_http():
    r = get(b"/")
    check(status_of(r) == 200 and b"Content-Type: text/html" in r, "GET / serves the page")
    r = get(b"/app.js")
    check(status_of(r) == 200 and b"Content-Type: text/javascript" in r, "app.js is javascript")
    r = get(b"/style.css")
    check(status_of(r) == 200 and b"Content-Type: text/css" in r, "style.css is css")
    r = get(b"/?room=abc&name=bob")
    check(status_of(r) == 200, "/?room=..&name=.. serves the page")
    check(status_of(get(b"/nope.html")) == 404, "missing file 404")
    for p in [b"/../Makefile", b"/%2e%2e/Makefile", b"/%2E%2E%2FMakefile", b"/web/../../etc/passwd",
              b"/.git/config", b"/a%00b", b"/..%5cMakefile", b"//etc/passwd"]:
        r = get(p)
        check(status_of(r) in (400, 404) and b"root:" not in r and b"[core]" not in r,
              f"traversal {p!r} refused ({status_of(r)})")
    # keep-alive + pipelining: three requests in one write, three answers in order
    raw = http_raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                   b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                   b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    rs = responses(raw)
    check([r[0] for r in rs] == [200, 200, 200], f"pipelined answers {[r[0] for r in rs]}")
    check(rs[0][2] == b"ok\n" and rs[2][2] == b"ok\n", "pipelined bodies")
    # malformed requests
    cases = [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),                        # no Host
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),  # two Hosts
        (b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"POST /whip/r HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"POST /whip/r HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST /whip/r HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * 60 + b"\r\n", 431),
        (b"DELETE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 405),
        (b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 426),
    ]
    for req, want in cases:
        r = http_raw(req)
        check(status_of(r) == want, f"{req[:40]!r}... answers {want} (got {status_of(r)})")
    # binary junk
    r = http_raw(bytes(range(256)) * 4)
    check(status_of(r) in (400, None), "binary junk is refused")
    healthy()
    # WHIP/WHEP: the endpoints exist and say clearly that the SFU is missing
    r = http_raw(b"POST /whip/room1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/sdp\r\n"
                 b"Content-Length: 3\r\nConnection: close\r\n\r\nv=0")
    check(status_of(r) == 501, f"WHIP 501 ({r[:40]!r})")
    r = http_raw(b"POST /whep/room1 HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: 3\r\nConnection: close\r\n\r\nv=0")
    check(status_of(r) == 415, "WHEP wrong content type 415")
    r = http_raw(b"GET /whep/room1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    check(status_of(r) == 405 and b"Allow: POST" in r, "WHEP GET 405")
    r = http_raw(b"DELETE /whip/room1/abc HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    check(status_of(r) == 404, "DELETE unknown session 404")
    # metrics
    r = get(b"/metrics")
    check(status_of(r) == 200 and b"text/plain; version=0.0.4" in r, "metrics content type")
    for name in [b"urtc_peers ", b"urtc_rooms ", b"urtc_shard_rx_packets_total{shard=\"0\"}",
                 b"urtc_shard_tx_bytes_total{shard=\"0\"}",
                 b"urtc_shard_drops_total{shard=\"0\",reason=\"",
                 b"urtc_dtls_handshakes_total{shard=\"0\"} 0",
                 b"urtc_ice_failures_total{shard=\"0\",reason=\"checks\"} 0",
                 b"urtc_ice_failures_total{shard=\"0\",reason=\"consent\"} 0",
                 b"urtc_dtls_failures_total{shard=\"0\",reason=\"fingerprint\"} 0",
                 b"urtc_dtls_failures_total{shard=\"0\",reason=\"timeout\"} 0",
                 b"# TYPE urtc_dtls_failures_total counter",
                 b"urtc_http_errors_total{class=\"4xx\"} "]:
        check(name in r, f"metrics has {name!r}")
    healthy()


# ---------------------------------------------------------------------------------------------
# WebSocket

async def recv_json(ws, want_type=None):
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), T))
        if want_type is None or m["type"] == want_type:
            return m


async def expect_error(ws, payload, code):
    await ws.send(payload)
    m = await recv_json(ws)
    check(m["type"] == "error" and m["code"] == code, f"{payload[:50]!r} -> error {code} (got {m})")


async def ws_bad_messages():
    async with websockets.connect(URL) as ws:
        await expect_error(ws, "{not json", "bad-json")
        await expect_error(ws, "[1,2]", "bad-json")
        await expect_error(ws, '{"type":"dance"}', "unknown-type")
        await expect_error(ws, '{"kind":"join"}', "bad-message")
        await expect_error(ws, '{"type":"join","room":"a b","name":"x"}', "bad-message")
        await expect_error(ws, '{"type":"join","room":"r","name":""}', "bad-message")
        await expect_error(ws, '{"type":"join","room":"r","name":"x","mode":"mesh"}', "bad-message")
        await expect_error(ws, '{"type":"offer","to":2,"sdp":"v=0"}', "not-joined")
        await expect_error(ws, '{"type":"join","room":"r","name":"x","room":"s"}', "bad-json")
        await ws.send(b"\x01\x02")  # binary: an error reply, the connection stays
        m = await recv_json(ws)
        check(m["type"] == "error", "binary message gets an error")
        await expect_error(ws, '{"type":"join","room":"r1","name":"x","mode":"sfu"}', "unsupported")
        # still usable: a valid join works after all that
        await ws.send('{"type":"join","room":"r1","name":"x","mode":"p2p"}')
        m = await recv_json(ws)
        check(m["type"] == "welcome" and m["members"] == [] and m["mode"] == "p2p", f"welcome {m}")
        await expect_error(ws, '{"type":"offer","to":999999,"sdp":"v=0"}', "unknown-peer")
        await expect_error(ws, '{"type":"join","room":"r2","name":"x","mode":"p2p"}', "already-joined")
        pong = await ws.ping(b"hello")
        await asyncio.wait_for(pong, T)
        # fragmented text message (the client library fragments an iterable)
        await ws.send(iter(['{"type":', '"ping"}']))
        m = await recv_json(ws)
        check(m["type"] == "pong", "fragmented message reassembled")


async def ws_too_big():
    async with websockets.connect(URL, max_size=None) as ws:
        await ws.send("x" * 70000)  # above the 64 KiB default
        try:
            await asyncio.wait_for(ws.recv(), T)
            check(False, "an oversized message closes the connection")
        except websockets.ConnectionClosed as e:
            check(e.rcvd is not None and e.rcvd.code == 1009, f"close 1009 (got {e.rcvd})")


def ws_raw_open():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=T)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        b = s.recv(4096)
        check(b, "handshake answer")
        resp += b
    check(status_of(resp) == 101, f"101 ({resp[:40]!r})")
    # RFC 6455 §1.3 example
    check(b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in resp, "accept key")
    return s, resp.split(b"\r\n\r\n", 1)[1]


def frame(op, payload, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | rsv | op
    n = len(payload)
    hdr = bytes([b0])
    m = 0x80 if mask else 0
    if n < 126:
        hdr += bytes([m | n])
    elif n < 65536:
        hdr += bytes([m | 126]) + struct.pack(">H", n)
    else:
        hdr += bytes([m | 127]) + struct.pack(">Q", n)
    if not mask:
        return hdr + payload
    k = os.urandom(4)
    return hdr + k + bytes(c ^ k[i % 4] for i, c in enumerate(payload))


def read_close(s, rest):
    """Reads frames until a close frame; returns its code (or None if the TCP closed first)."""
    buf = rest
    deadline = time.time() + T
    while time.time() < deadline:
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            h = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack(">H", buf[2:4])[0]
                h = 4
            if len(buf) < h + n:
                break
            op, pay = buf[0] & 0x0F, buf[h:h + n]
            buf = buf[h + n:]
            if op == 8:
                return struct.unpack(">H", pay[:2])[0] if len(pay) >= 2 else 1005
        try:
            b = s.recv(4096)
        except socket.timeout:
            return None
        if not b:
            return None
        buf += b
    return None


def ws_raw_cases():
    cases = [
        ("bad UTF-8 text", frame(1, b'{"type":"ping","x":"\xc3\x28"}'), 1007),
        ("overlong UTF-8", frame(1, b"\xc0\xaf"), 1007),
        ("surrogate", frame(1, b"\xed\xa0\x80"), 1007),
        ("unmasked frame", frame(1, b"{}", mask=False), 1002),
        ("reserved bit", frame(1, b"{}", rsv=0x40), 1002),
        ("reserved opcode", frame(3, b"x"), 1002),
        ("continuation without start", frame(0, b"x"), 1002),
        ("fragmented ping", frame(9, b"x", fin=False), 1002),
        ("long ping", frame(9, b"x" * 126), 1002),
        ("new message inside a fragmented one", frame(1, b"a", fin=False) + frame(1, b"b"), 1002),
        ("frame header says 1 MiB", bytes([0x81, 0xFF]) + struct.pack(">Q", 1 << 20) + b"kkkk", 1009),
        ("close with 1-byte body", frame(8, b"\x03"), 1002),
        ("close with code 1005", frame(8, b"\x03\xed"), 1002),
        ("close 1000", frame(8, b"\x03\xe8bye"), 1000),
    ]
    for what, data, code in cases:
        s, rest = ws_raw_open()
        s.sendall(data)
        got = read_close(s, rest)
        check(got == code, f"{what}: close {code} (got {got})")
        s.close()
    # a ping gets a pong with the same payload, a text frame split in three gets through
    s, rest = ws_raw_open()
    s.sendall(frame(9, b"abc"))
    s.sendall(frame(1, b'{"type"', fin=False) + frame(9, b"mid") + frame(0, b':"pi', fin=False) +
              frame(0, b'ng"}'))
    buf, got = rest, []
    deadline = time.time() + T
    while len(got) < 3 and time.time() < deadline:
        b = s.recv(4096)
        check(b, "connection stays up")
        buf += b
        while len(buf) >= 2 and len(buf) >= 2 + (buf[1] & 0x7F):
            n = buf[1] & 0x7F
            got.append((buf[0] & 0x0F, buf[2:2 + n]))
            buf = buf[2 + n:]
    check(got[0] == (0xA, b"abc"), f"pong echoes the ping payload ({got})")
    check(got[1] == (0xA, b"mid"), f"ping between fragments answered ({got})")
    check(got[2][0] == 1 and json.loads(got[2][1])["type"] == "pong", f"fragments reassembled {got}")
    s.close()


async def ws_p2p():
    async with websockets.connect(URL) as a, websockets.connect(URL) as b:
        await a.send(json.dumps({"type": "join", "room": "call", "name": "alice", "mode": "p2p"}))
        wa = await recv_json(a, "welcome")
        check(wa["members"] == [], "alice alone")
        await b.send(json.dumps({"type": "join", "room": "call", "name": "bob"}))  # mode inherited
        wb = await recv_json(b, "welcome")
        check(wb["members"] == [{"id": wa["id"], "name": "alice"}], f"bob sees alice {wb}")
        pj = await recv_json(a, "peer-joined")
        check(pj["id"] == wb["id"] and pj["name"] == "bob", f"peer-joined {pj}")
        sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        await b.send(json.dumps({"type": "offer", "to": wa["id"], "sdp": sdp}))
        m = await recv_json(a, "offer")
        check(m == {"type": "offer", "from": wb["id"], "sdp": sdp}, f"offer relayed {m}")
        await a.send(json.dumps({"type": "answer", "to": wb["id"], "sdp": sdp + "a=x\r\n"}))
        m = await recv_json(b, "answer")
        check(m["from"] == wa["id"] and m["sdp"].endswith("a=x\r\n"), f"answer relayed {m}")
        cand = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host",
                "sdpMid": "0", "sdpMLineIndex": 0}
        await a.send(json.dumps({"type": "candidate", "to": wb["id"], "candidate": cand}))
        m = await recv_json(b, "candidate")
        check(m["candidate"] == cand and m["from"] == wa["id"], f"candidate relayed {m}")
        await a.send(json.dumps({"type": "candidate", "to": wb["id"], "candidate": None}))
        m = await recv_json(b, "candidate")
        check(m["candidate"] is None, "end-of-candidates relayed")
        await a.send(json.dumps({"type": "chat", "text": "hi bob"}))
        m = await recv_json(b, "chat")
        check(m == {"type": "chat", "from": wa["id"], "name": "alice", "text": "hi bob"}, f"chat {m}")
        async with websockets.connect(URL) as c:  # another room sees nothing of this one
            await c.send(json.dumps({"type": "join", "room": "other", "name": "carol", "mode": "p2p"}))
            wc = await recv_json(c, "welcome")
            await c.send(json.dumps({"type": "offer", "to": wa["id"], "sdp": sdp}))
            m = await recv_json(c, "error")
            check(m["code"] == "unknown-peer", "no relay across rooms")
        await b.send(json.dumps({"type": "leave"}))
        m = await recv_json(a, "peer-left")
        check(m["id"] == wb["id"], "peer-left on leave")
        await b.send(json.dumps({"type": "join", "room": "call", "name": "bob2"}))
        wb2 = await recv_json(b, "welcome")
        check(wb2["id"] != wb["id"], "a rejoin gets a fresh id")
        await recv_json(a, "peer-joined")
    # b's socket closed with a: a third client sees an empty room again
    async with websockets.connect(URL) as d:
        await d.send(json.dumps({"type": "join", "room": "call", "name": "dave", "mode": "p2p"}))
        m = await recv_json(d, "welcome")
        check(m["members"] == [], f"room emptied when sockets closed ({m})")


async def ws_caps():
    # the server under test runs with --max-room-peers 2 equivalent (cfg in server_test.c)
    async with websockets.connect(URL) as a, websockets.connect(URL) as b, \
            websockets.connect(URL) as c:
        for w, n in ((a, "a"), (b, "b")):
            await w.send(json.dumps({"type": "join", "room": "small", "name": n, "mode": "p2p"}))
            await recv_json(w, "welcome")
        await expect_error(c, json.dumps({"type": "join", "room": "small", "name": "c",
                                          "mode": "p2p"}), "room-full")
        # rate limit (msg_rate 20, burst 40): a burst of 100 gets rate-limited errors, and the
        # connection lives on
        for _ in range(100):
            await c.send('{"type":"ping"}')
        seen = {}
        try:
            while True:
                m = json.loads(await asyncio.wait_for(c.recv(), 1.0))
                k = m.get("code", m["type"])
                seen[k] = seen.get(k, 0) + 1
        except asyncio.TimeoutError:
            pass
        check(seen.get("rate-limited", 0) > 0 and 30 <= seen.get("pong", 0) < 100,
              f"rate limit reported ({seen})")
        await asyncio.sleep(1.0)
        await c.send('{"type":"ping"}')
        check((await recv_json(c))["type"] == "pong", "still served after the burst")
    # a flood far above the limit is cut off with 1008
    async with websockets.connect(URL) as f:
        try:
            for _ in range(1000):
                await f.send('{"type":"ping"}')
            while True:
                await asyncio.wait_for(f.recv(), T)
        except websockets.ConnectionClosed as e:
            check(e.rcvd is not None and e.rcvd.code == 1008, f"flood closed 1008 ({e.rcvd})")


async def ws_tokens(token_ok, token_other, token_expired):
    async with websockets.connect(URL) as ws:
        await expect_error(ws, json.dumps({"type": "join", "room": "sec", "name": "x",
                                           "mode": "p2p"}), "unauthorized")
        await expect_error(ws, json.dumps({"type": "join", "room": "sec", "name": "x",
                                           "mode": "p2p", "token": token_other}), "forbidden")
        await expect_error(ws, json.dumps({"type": "join", "room": "sec", "name": "x",
                                           "mode": "p2p", "token": token_expired}), "forbidden")
        bad = token_ok[:-2] + ("AA" if token_ok[-2:] != "AA" else "BB")
        await expect_error(ws, json.dumps({"type": "join", "room": "sec", "name": "x",
                                           "mode": "p2p", "token": bad}), "forbidden")
        await ws.send(json.dumps({"type": "join", "room": "sec", "name": "x", "mode": "p2p",
                                  "token": token_ok}))
        m = await recv_json(ws)
        check(m["type"] == "welcome", f"good token admits ({m})")
    whip = (b"POST /whip/sec HTTP/1.1\r\nHost: a\r\nContent-Type: application/sdp\r\n"
            b"Content-Length: 3\r\nConnection: close\r\n")
    r = http_raw(whip + b"\r\nv=0")
    check(status_of(r) == 401 and b"WWW-Authenticate: Bearer" in r, f"WHIP without token 401 {r[:30]!r}")
    r = http_raw(whip + b"Authorization: Bearer " + token_other.encode() + b"\r\n\r\nv=0")
    check(status_of(r) == 403, "WHIP other room's token 403")
    r = http_raw(whip + b"Authorization: Bearer " + token_expired.encode() + b"\r\n\r\nv=0")
    check(status_of(r) == 403, "WHIP expired token 403")
    r = http_raw(whip + b"Authorization: Bearer " + token_ok.encode() + b"\r\n\r\nv=0")
    check(status_of(r) == 501, "WHIP good token passes to the (missing) SFU: 501")


async def ws_idle():
    # server_test.c runs this one with ws_ping_ms = 300: the library answers pings, so the
    # connection lives; a raw socket that never answers is closed with 1001.
    async with websockets.connect(URL, ping_interval=None) as ws:
        await asyncio.sleep(1.2)
        await ws.send('{"type":"ping"}')
        m = await recv_json(ws)
        check(m["type"] == "pong", "a client that answers pings stays up")
    s, rest = ws_raw_open()
    t0 = time.time()
    got = read_close(s, rest + b"")  # reads the server's ping frames and then its close
    check(got == 1001, f"silent client closed with 1001 (got {got})")
    check(time.time() - t0 < 3.0, "closed within a few intervals")


async def ws_churn():
    # 120 clients in 12 rooms: join, offer to every other member, then a third vanish without a
    # close (TCP reset), a third close normally and a third send leave first. Afterwards the
    # server must hold no member, room or WebSocket (read from /metrics).
    clients = []
    for i in range(120):
        ws = await websockets.connect(URL)
        await ws.send(json.dumps({"type": "join", "room": f"churn{i % 12}", "name": f"c{i}",
                                  "mode": "p2p"}))
        w = await recv_json(ws, "welcome")
        clients.append((ws, w["id"], w["members"]))
    for ws, my, members in clients:
        for m in members:
            await ws.send(json.dumps({"type": "offer", "to": m["id"], "sdp": f"v=0 from {my}"}))
    got = 0
    # every client that joined before the last in its room received offers from later joiners
    for idx, (ws, my, members) in enumerate(clients):
        later = sum(1 for j in range(idx + 12, 120, 12))
        for _ in range(later):
            m = await recv_json(ws, "offer")
            check(m["sdp"].startswith("v=0 from "), "offer relayed")
            got += 1
    check(got == sum(len(c[2]) for c in clients), f"every offer arrived once ({got})")
    for idx, (ws, my, members) in enumerate(clients):
        if idx % 3 == 0:
            ws.transport.abort()  # no close frame, no FIN: a reset
        elif idx % 3 == 1:
            await ws.close()
        else:
            await ws.send('{"type":"leave"}')
            await ws.close()
    deadline = time.time() + T
    while time.time() < deadline:
        m = get(b"/metrics")
        if (b"\nurtc_peers 0\n" in m and b"\nurtc_rooms 0\n" in m and
                b"\nurtc_signaling_websockets 0\n" in m):
            break
        await asyncio.sleep(0.1)
    check(b"\nurtc_peers 0\n" in m and b"\nurtc_rooms 0\n" in m and
          b"\nurtc_signaling_websockets 0\n" in m, "everything freed after churn")


def main():
    if SCENARIO == "http":
        scenario_http()
    elif SCENARIO == "ws":
        asyncio.run(ws_bad_messages())
        asyncio.run(ws_too_big())
        ws_raw_cases()
    elif SCENARIO == "p2p":
        asyncio.run(ws_p2p())
    elif SCENARIO == "caps":
        asyncio.run(ws_caps())
    elif SCENARIO == "tokens":
        toks = ARG.split(",")
        asyncio.run(ws_tokens(*toks))
    elif SCENARIO == "churn":
        asyncio.run(ws_churn())
    elif SCENARIO == "idle":
        asyncio.run(ws_idle())
    else:
        check(False, "unknown scenario")
    healthy()
    print(f"ok {SCENARIO}", flush=True)


if __name__ == "__main__":
    main()
