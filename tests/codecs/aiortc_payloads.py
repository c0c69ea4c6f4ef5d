#!/usr/bin/python3
"""Runs aiortc's (Debian python3-aiortc) VP8 and H.264 payload code on hex lines, for
tests/codecs/aiortc_test.c.

  aiortc_payloads.py parse IN OUT   each line "vp8|h264 HEXPAYLOAD" ->
                                    vp8:  "S PID PICID TL0 TID Y KEYIDX HEXDATA" (-1 = absent)
                                    h264: "HEXANNEXB"
  aiortc_payloads.py pay IN OUT     each line "vp8 PICID HEXFRAME" or "h264 HEXANNEXB" ->
                                    one line per payload: "HEXPAYLOAD", then a line "end"
"""
import sys

from aiortc.codecs.h264 import H264Encoder, h264_depayload
from aiortc.codecs.vpx import Vp8Encoder, VpxPayloadDescriptor


def opt(v):
    return -1 if v is None else v


def parse(fields):
    kind, data = fields[0], bytes.fromhex(fields[1])
    if kind == "vp8":
        d, rest = VpxPayloadDescriptor.parse(data)
        tid, y = d.tid if d.tid is not None else (-1, -1)
        return " ".join(str(x) for x in (d.partition_start, d.partition_id, opt(d.picture_id),
                                         opt(d.tl0picidx), tid, int(y), opt(d.keyidx))) + " " + rest.hex()
    return h264_depayload(data).hex()


def pay(fields):
    if fields[0] == "vp8":
        out = Vp8Encoder._packetize(bytes.fromhex(fields[2]), int(fields[1]))
    else:
        buf = bytes.fromhex(fields[1])
        out = H264Encoder._packetize(H264Encoder._split_bitstream(buf))
    return "\n".join(p.hex() for p in out) + "\nend"


def main():
    mode, src, dst = sys.argv[1:4]
    fn = parse if mode == "parse" else pay
    with open(src) as f, open(dst, "w") as o:
        for line in f:
            if line.strip():
                o.write(fn(line.split()) + "\n")


if __name__ == "__main__":
    main()
