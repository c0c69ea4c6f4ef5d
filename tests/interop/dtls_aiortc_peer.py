#!/usr/bin/python3
"""aiortc DTLS-SRTP peer for tests/interop/dtls_aiortc_test.c.

Usage: dtls_aiortc_peer.py client|server URTC_PORT
aiortc 1.4's RTCDtlsTransport (pyOpenSSL DTLS, pylibsrtp on Debian's libsrtp2) runs over a
minimal stand-in for RTCIceTransport: one UDP socket on 127.0.0.1 talking to URTC_PORT.
Line protocol:
  out: READY <our port> <our fingerprint "sha-256 XX:..">
  in:  the urtc fingerprint ("sha-256 XX:..")
  out: CONNECTED, then it sends RTP seq 65533..65535,0,1 (payload "aiortc-<seq>") and a
       data record "hello-from-aiortc"
  out: RTP <payload> / DATA <text> for each packet or record urtc sends
  out: CLOSED when urtc's close_notify arrives, FAILED <state> on failure
Runs inside the test's private network namespace; only 127.0.0.1 is used.
"""
import asyncio
import struct
import sys

from aiortc.rtcdtlstransport import (RTCCertificate, RTCDtlsFingerprint,
                                     RTCDtlsParameters, RTCDtlsTransport)


class Proto(asyncio.DatagramProtocol):
    def __init__(self, queue):
        self.queue = queue

    def datagram_received(self, data, addr):
        self.queue.put_nowait(data)


class FakeIce:
    """What RTCDtlsTransport uses of RTCIceTransport: role, _recv(), _send()."""

    def __init__(self, transport, queue, peer, role):
        self.t, self.queue, self.peer, self.role = transport, queue, peer, role

    async def _recv(self):
        return await self.queue.get()

    async def _send(self, data):
        self.t.sendto(data, self.peer)


class DataSink:
    async def _handle_data(self, data):
        print("DATA " + data.decode(errors="replace"), flush=True)


async def main(role, urtc_port):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Proto(queue), local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    cert = RTCCertificate.generateCertificate()
    fp = cert.getFingerprints()[0]
    print(f"READY {port} {fp.algorithm} {fp.value}", flush=True)
    line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
    remote = RTCDtlsParameters(fingerprints=[RTCDtlsFingerprint(algorithm=line[0], value=line[1])])

    # ORTC rule in aiortc 1.4: ICE controlling -> DTLS server.
    ice = FakeIce(transport, queue, ("127.0.0.1", urtc_port),
                  "controlling" if role == "server" else "controlled")
    dtls = RTCDtlsTransport(ice, [cert])

    async def on_rtp(data, arrival_time_ms):
        print("RTP " + data[12:].decode(errors="replace"), flush=True)
    dtls._handle_rtp_data = on_rtp  # the RTP router has no receivers here
    dtls._register_data_receiver(DataSink())

    await asyncio.wait_for(dtls.start(remote), timeout=20)
    if dtls.state != "connected":
        print(f"FAILED {dtls.state}", flush=True)
        return
    print("CONNECTED", flush=True)
    for i, seq in enumerate([65533, 65534, 65535, 0, 1]):
        hdr = struct.pack("!BBHII", 0x80, 96, seq, 1000 + 960 * i, 0xA1071C)
        await dtls._send_rtp(hdr + f"aiortc-{seq}".encode())
    await dtls._send_data(b"hello-from-aiortc")
    for _ in range(200):
        if dtls.state == "closed":
            break
        await asyncio.sleep(0.05)
    print("CLOSED" if dtls.state == "closed" else f"FAILED {dtls.state}", flush=True)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], int(sys.argv[2])), timeout=30))
