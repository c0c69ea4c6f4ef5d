#!/usr/bin/python3
"""tests/interop/rtp_aiortc.py: RTP/RTCP byte interop with aiortc 1.4 (Debian python3-aiortc).

No network: aiortc's own packet classes (aiortc.rtp) build and parse the bytes.

  rtp_aiortc.py gen     prints one JSON object per line: packets aiortc built, with the
                        field values it put in them (urtc must parse them to the same values)
  rtp_aiortc.py parse   reads "KIND HEX" lines (KIND: rtp, rtcp) built by urtc from stdin and
                        prints, per line, the JSON of what aiortc parsed (or {"error": ...})
"""
import json
import sys

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    HeaderExtensionsMap,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
    wrap_rtx,
)

# The ids Chromium offers for video in tests/fixtures/sdp/chromium-156...-offer-av-dc.sdp,
# plus the audio level id of its audio section.
EXTS = [
    (1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
    (2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
    (3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
    (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
    (10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
    (11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
    (14, "urn:ietf:params:rtp-hdrext:toffset"),
]


def ext_map():
    m = HeaderExtensionsMap()
    m.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u) for i, u in EXTS]
        )
    )
    return m


def out(obj):
    print(json.dumps(obj), flush=True)


def rtp_fields(p):
    x = p.extensions
    return {
        "pt": p.payload_type,
        "seq": p.sequence_number,
        "ts": p.timestamp,
        "ssrc": p.ssrc,
        "marker": p.marker,
        "csrc": p.csrc,
        "payload": p.payload.hex(),
        "padding": p.padding_size,
        "mid": x.mid,
        "rid": x.rtp_stream_id,
        "rrid": x.repaired_rtp_stream_id,
        "abs": x.abs_send_time,
        "twcc": x.transport_sequence_number,
        "level": list(x.audio_level) if x.audio_level is not None else None,
    }


def gen():
    m = ext_map()
    for i in range(6):
        p = RtpPacket(
            payload_type=96 if i % 2 else 111,
            marker=i % 2,
            sequence_number=65533 + i & 0xFFFF,
            timestamp=(0xFFFFF000 + i * 3000) & 0xFFFFFFFF,
            ssrc=0x11223344,
            payload=bytes((i * 13 + k) & 0xFF for k in range(20 + i * 100)),
        )
        if i == 2:
            p.csrc = [7, 8, 9]
        if i == 3:
            p.padding_size = 4
        x = p.extensions
        x.abs_send_time = (0x123456 + i) & 0xFFFFFF
        x.transport_sequence_number = 1000 + i
        if i < 3:
            x.mid = "0" if i % 2 == 0 else "video1"
        if i % 2:
            x.rtp_stream_id = "hi"
        if i == 5:
            x.repaired_rtp_stream_id = "hi"
        if i % 2 == 0:
            x.audio_level = (i == 0, 30 + i)
        data = p.serialize(m)
        out({"t": "rtp", "hex": data.hex(), **rtp_fields(p)})
        if i % 2:
            r = wrap_rtx(p, payload_type=97, sequence_number=5000 + i, ssrc=0x2222)
            out({"t": "rtx", "hex": r.serialize(m).hex(), "orig": data.hex()})

    sr = RtcpSrPacket(
        ssrc=0x11223344,
        sender_info=RtcpSenderInfo(
            ntp_timestamp=0xE81B4C8A80000000, rtp_timestamp=123456, packet_count=100,
            octet_count=64000,
        ),
        reports=[
            RtcpReceiverInfo(
                ssrc=0x55667788, fraction_lost=64, packets_lost=-3, highest_sequence=0x10010,
                jitter=32, lsr=0x4C8A8000, dlsr=0x18000,
            )
        ],
    )
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=0x11223344, items=[(1, b"aiortc-cname")])])
    bye = RtcpByePacket(sources=[0x11223344, 0x2222])
    out({"t": "rtcp", "hex": (bytes(sr) + bytes(sdes) + bytes(bye)).hex(), "what": "sr_sdes_bye"})
    rr = RtcpRrPacket(
        ssrc=9,
        reports=[
            RtcpReceiverInfo(ssrc=1, fraction_lost=0, packets_lost=5, highest_sequence=70000,
                             jitter=7, lsr=0, dlsr=0),
            RtcpReceiverInfo(ssrc=2, fraction_lost=255, packets_lost=0x7FFFFF,
                             highest_sequence=1, jitter=0, lsr=1, dlsr=2),
        ],
    )
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=9, media_ssrc=1,
                           lost=[100, 101, 105, 116, 117, 200, 201])
    pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=9, media_ssrc=1)
    remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=9, media_ssrc=0,
                          fci=pack_remb_fci(1234567, [1, 2]))
    out({"t": "rtcp", "hex": (bytes(rr) + bytes(nack) + bytes(pli) + bytes(remb)).hex(),
         "what": "rr_nack_pli_remb"})


def rtcp_fields(pkts):
    res = []
    for p in pkts:
        if isinstance(p, (RtcpSrPacket, RtcpRrPacket)):
            d = {"type": "sr" if isinstance(p, RtcpSrPacket) else "rr", "ssrc": p.ssrc,
                 "reports": [vars(r) for r in p.reports]}
            if isinstance(p, RtcpSrPacket):
                d.update(vars(p.sender_info))
            res.append(d)
        elif isinstance(p, RtcpSdesPacket):
            res.append({"type": "sdes", "chunks": [
                {"ssrc": c.ssrc, "items": [[t, v.decode()] for t, v in c.items]}
                for c in p.chunks]})
        elif isinstance(p, RtcpByePacket):
            res.append({"type": "bye", "sources": p.sources})
        elif isinstance(p, RtcpRtpfbPacket):
            res.append({"type": "rtpfb", "fmt": p.fmt, "ssrc": p.ssrc,
                        "media_ssrc": p.media_ssrc, "lost": p.lost})
        elif isinstance(p, RtcpPsfbPacket):
            d = {"type": "psfb", "fmt": p.fmt, "ssrc": p.ssrc, "media_ssrc": p.media_ssrc}
            if p.fmt == RTCP_PSFB_APP:
                d["remb"] = list(unpack_remb_fci(p.fci))
            res.append(d)
    return res


def parse():
    m = ext_map()
    for line in sys.stdin:
        kind, _, h = line.strip().partition(" ")
        try:
            data = bytes.fromhex(h)
            if kind == "rtp":
                out(rtp_fields(RtpPacket.parse(data, m)))
            else:
                out({"packets": rtcp_fields(RtcpPacket.parse(data))})
        except Exception as e:  # noqa: BLE001 - reported to the C side
            out({"error": repr(e)})


if __name__ == "__main__":
    {"gen": gen, "parse": parse}[sys.argv[1]]()
