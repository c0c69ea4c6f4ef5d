#!/usr/bin/python3
"""aiortc data-channel peer for tests/interop/sctp_aiortc_test.c.

Usage: sctp_aiortc_peer.py client|server URTC_PORT COUNT
aiortc 1.4's RTCSctpTransport on its RTCDtlsTransport, over a minimal stand-in for
RTCIceTransport: one UDP socket on 127.0.0.1 talking to URTC_PORT (as dtls_aiortc_peer.py).
  out: READY <our port> <our fingerprint "sha-256 XX:..">
  in:  the urtc fingerprint
  out: CONNECTED (DTLS up), then SCTP starts (remote a=max-message-size 262144)
  Channels urtc opens: "OPEN <label> <id> <protocol> <ordered>", every message echoed back as is
  (string stays string, bytes stay bytes); "CLOSED <label>" when urtc closes one.
  aiortc opens "aio-ordered" and "aio-unordered" and sends COUNT text messages "<label>:<i>" on
  each; urtc echoes them; "RXDONE <label> <count> <in order 0|1>" once all came back.
Runs inside the test's private network namespace; only 127.0.0.1 is used.
"""
import asyncio
import socket
import os
import signal
import sys

from aiortc.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
from aiortc.rtcdtlstransport import (RTCCertificate, RTCDtlsFingerprint,
                                     RTCDtlsParameters, RTCDtlsTransport)
from aiortc.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport


class Proto(asyncio.DatagramProtocol):
    def __init__(self, queue):
        self.queue = queue

    def datagram_received(self, data, addr):
        self.queue.put_nowait(data)


class FakeIce:
    """What RTCDtlsTransport and RTCSctpTransport use of RTCIceTransport."""

    def __init__(self, transport, queue, peer, role):
        self.t, self.queue, self.peer, self.role = transport, queue, peer, role

    async def _recv(self):
        return await self.queue.get()

    async def _send(self, data):
        self.t.sendto(data, self.peer)


def out(line):
    try:
        print(line, flush=True)
    except BrokenPipeError:  # the test has finished reading
        os._exit(0)


async def main(role, urtc_port, count):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Proto(queue), local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    # aiortc's SCTP is pure Python: on a busy machine it falls behind, and with the default
    # socket buffers the kernel drops what it has not read yet (retransmission storms). The
    # tests run as root: SO_RCVBUFFORCE/SO_SNDBUFFORCE (33/32) lift net.core.[rw]mem_max.
    sock = transport.get_extra_info("socket")
    for opt in (33, 32):
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
        except OSError:
            pass
    cert = RTCCertificate.generateCertificate()
    fp = cert.getFingerprints()[0]
    out(f"READY {port} {fp.algorithm} {fp.value}")
    line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
    remote = RTCDtlsParameters(fingerprints=[RTCDtlsFingerprint(algorithm=line[0], value=line[1])])

    # aiortc 1.4: ICE controlling -> DTLS server and SCTP client (it sends INIT); controlled ->
    # DTLS client, SCTP server, even stream ids.
    ice = FakeIce(transport, queue, ("127.0.0.1", urtc_port),
                  "controlling" if role == "server" else "controlled")
    dtls = RTCDtlsTransport(ice, [cert])
    sctp = RTCSctpTransport(dtls)

    @sctp.on("datachannel")
    def on_datachannel(ch):
        out(f"OPEN {ch.label} {ch.id} {ch.protocol or '-'} {int(ch.ordered)}")

        @ch.on("message")
        def on_message(msg):
            ch.send(msg)

        @ch.on("close")
        def on_close():
            out(f"CLOSED {ch.label}")

    await asyncio.wait_for(dtls.start(remote), timeout=20)
    if dtls.state != "connected":
        out(f"FAILED dtls {dtls.state}")
        return
    out("CONNECTED")
    await sctp.start(RTCSctpCapabilities(maxMessageSize=262144), 5000)

    done = asyncio.Event()
    results = {}

    def own_channel(label, ordered):
        ch = RTCDataChannel(sctp, RTCDataChannelParameters(label=label, ordered=ordered))
        got = []

        @ch.on("open")
        def on_open():
            for i in range(count):
                ch.send(f"{label}:{i}")

        @ch.on("message")
        def on_message(msg):
            got.append(int(msg.split(":")[1]))
            if len(got) == count:
                in_order = int(got == list(range(count)))
                complete = int(sorted(got) == list(range(count)))
                out(f"RXDONE {label} {len(got)} {in_order} {complete}")
                results[label] = True
                if len(results) == 2:
                    done.set()
        return ch

    own_channel("aio-ordered", True)
    own_channel("aio-unordered", False)
    await asyncio.wait_for(done.wait(), timeout=40)
    # Stay up while urtc finishes (closing its channels); the test kills us.
    await asyncio.sleep(30)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        asyncio.run(asyncio.wait_for(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])),
                                     timeout=60))
    except asyncio.TimeoutError:
        out("FAILED timeout")
