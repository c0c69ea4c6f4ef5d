#!/bin/bash
# tests/wireshark/capture.sh BUILD_DIR OUT_DIR [p2p|sfu]: a urtc call captured with tshark on
# the loopback of a private network namespace, then dissected by Wireshark with decode-as RTP
# on the media ports (found from the STUN checks).
#   p2p (default): urtc-server in p2p mode and two urtc-peer processes calling each other
#       (Opus, VP8, a data channel).
#   sfu: urtc-server in sfu mode (media port 40000), one urtc-peer publishing through WHIP and
#       one viewing through WHEP: the server's RTCP (sender reports, PLI) is on the wire too. Fails on any "Malformed Packet" or expert info of severity
# warning or error, and prints the full dissection of the first such frame.
#
# A canary proves the check can fail: a truncated RTCP sender report (its length field claims 28
# bytes, 10 follow) goes to port 3478, decoded as RTCP; it must be found
# as malformed, and is then left out of the verdict.
#
# Run it in a fresh network namespace (tests/wireshark/wire_test.c does `unshare --net`).
# Exit 0: clean; 1: malformed or protocol errors; 2: the call or the capture failed; 77: skip.
set -u
B=${1:?build dir}
OUT=${2:?out dir}
MODE=${3:-p2p}
command -v tshark >/dev/null || { echo "capture: tshark is not installed (make deps)"; exit 77; }
for p in urtc-server urtc-peer; do
	[ -x "$B/$p" ] || { echo "capture: $B/$p is not built (make)"; exit 77; }
done
mkdir -p "$OUT"
ip link set lo up
CAP=$OUT/call.pcapng
rm -f "$CAP"

tshark -i lo -f udp -w "$CAP" -q 2>"$OUT/tshark.err" &
TP=$!
for _ in $(seq 50); do grep -q "Capturing on" "$OUT/tshark.err" 2>/dev/null && break; sleep 0.1; done
PIDS=""
cleanup() { for p in $PIDS $TP; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT

if [ "$MODE" = sfu ]; then
	"$B/urtc-server" --listen 127.0.0.1:18080 --mode sfu --shards 1 --udp-port 40000 \
		>"$OUT/server.out" 2>&1 &
else
	"$B/urtc-server" --listen 127.0.0.1:18080 --mode p2p --shards 1 >"$OUT/server.out" 2>&1 &
fi
SP=$!
PIDS="$SP"
for _ in $(seq 50); do grep -q "listening" "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
if [ "$MODE" = sfu ]; then
	"$B/urtc-peer" --whip http://127.0.0.1:18080/whip/wire --duration 6 --json --quiet \
		>"$OUT/a.json" 2>"$OUT/a.err" &
	A=$!
	PIDS="$PIDS $A"
	sleep 1
	"$B/urtc-peer" --whep http://127.0.0.1:18080/whep/wire --duration 4 --json --quiet \
		>"$OUT/b.json" 2>"$OUT/b.err"
	RB=$?
else
	"$B/urtc-peer" --signal ws://127.0.0.1:18080/ws --room wire --name a --duration 6 --json \
		--quiet >"$OUT/a.json" 2>"$OUT/a.err" &
	A=$!
	PIDS="$PIDS $A"
	sleep 0.5
	"$B/urtc-peer" --signal ws://127.0.0.1:18080/ws --room wire --name b --duration 5 --json \
		--quiet >"$OUT/b.json" 2>"$OUT/b.err"
	RB=$?
fi
wait $A
RA=$?
# The canary: an RTCP sender report that claims 28 bytes and has 10.
printf '\x80\xc8\x00\x06\x00\x00\x00\x01\x00\x00' >/dev/udp/127.0.0.1/3478
kill -TERM $SP
wait $SP
sleep 1
kill -INT $TP
wait $TP
trap - EXIT
if [ $RA -ne 0 ] || [ $RB -ne 0 ]; then
	echo "capture: the call failed (urtc-peer exit $RA, $RB)"; cat "$OUT"/[ab].err; exit 2
fi
RECEIVERS="a b"
[ "$MODE" = sfu ] && RECEIVERS=b # the WHIP publisher receives nothing
for f in $RECEIVERS; do
	python3 - "$OUT/$f.json" <<'PY' || { echo "capture: peer $f did not get media"; exit 2; }
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
ok = j.get("connected") and j["video_frames_decoded"] > 10 and j["audio_frames_decoded"] > 10
print("capture: %s: connected %s, video decoded %d, audio decoded %d, dc messages %d" % (
    sys.argv[1].rsplit("/", 1)[-1], j.get("connected"), j["video_frames_decoded"],
    j["audio_frames_decoded"], j["datachannel_messages_received"]))
sys.exit(0 if ok else 1)
PY
done

PORTS=$(tshark -r "$CAP" -Y "stun && !(udp.port == 3478)" -T fields -e udp.srcport -e udp.dstport \
	2>/dev/null | tr '\t' '\n' | sort -un)
D="-d udp.port==3478,rtcp"
for p in $PORTS; do D="$D -d udp.port==$p,rtp"; done
[ -n "$PORTS" ] || { echo "capture: no STUN in the capture"; exit 2; }
echo "capture: media ports $(echo $PORTS), decode-as:$D"
tshark -r "$CAP" $D -q -z io,phs 2>/dev/null | sed -n '/^eth/,/^=/p'

count() { tshark -r "$CAP" $D -Y "$1" 2>/dev/null | wc -l; }
NSTUN=$(count "stun && !(udp.port == 3478)")
NDTLS=$(count dtls)
NRTP=$(count "rtp && !stun && !dtls")
echo "capture: $NSTUN STUN, $NDTLS DTLS, $NRTP RTP frames"
if [ "$NSTUN" -lt 2 ] || [ "$NDTLS" -lt 4 ] || [ "$NRTP" -lt 100 ]; then
	echo "capture: too little traffic to judge"; exit 2
fi

# Every frame with an expert info: its severities, groups and messages. Bad: Malformed, or a
# warning or error in any group but Undecoded (e.g. "Encrypted RTCP Payload - not dissected":
# encrypted by design). Wireshark's values: severity warning 0x00600000, error 0x00800000;
# group Undecoded 0x05000000.
judge() { # judge FILTER: the numbers of the bad frames matching FILTER, one per line
	tshark -r "$CAP" $D -Y "($1) && _ws.expert" -T fields -E occurrence=a -E aggregator='|' \
		-e frame.number -e _ws.expert.severity -e _ws.expert.group -e _ws.malformed \
		2>/dev/null | python3 -c '
import sys
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    sev = [int(x, 0) for x in f[1].split("|") if x]
    grp = [int(x, 0) for x in f[2].split("|") if x]
    bad = f[3] != "" or any(s >= 0x00600000 and g != 0x05000000 for s, g in zip(sev, grp))
    if bad:
        print(f[0])'
}
CANARY=$(judge "udp.dstport == 3478" | head -1)
if [ -z "$CANARY" ]; then
	echo "capture: the malformed canary was not flagged: the check cannot fail"; exit 2
fi
# SRTCP: with the AEAD_AES_128_GCM profile (RFC 7714, which urtc prefers) the E flag and SRTCP
# index are the last 4 bytes, after the 16-byte tag; Wireshark 4.0 looks for them 16 bytes
# earlier (the RFC 3711 layout), reads a random E flag out of the ciphertext, and about half
# the time dissects the ciphertext as plain report blocks ("Incorrect RTCP packet length").
# So SRTCP frames are judged here on what is in the clear: the first header must be RTCP
# version 2 with a packet type 200-206 (RFC 3550 §6.4, RFC 4585 §6.1) whose length fits.
SRTCP_BAD=$(tshark -r "$CAP" $D -Y "srtcp && !(udp.port == 3478)" -T fields -E occurrence=f \
	-e frame.number -e rtcp.version -e rtcp.pt -e rtcp.length -e udp.length 2>/dev/null |
	awk -F'\t' '$2 != 2 || $3 < 200 || $3 > 206 || ($4 + 1) * 4 > $5 - 8 { print $1 }')
NSRTCP=$(count "srtcp && !(udp.port == 3478)")
echo "capture: $NSRTCP SRTCP frames, judged on their clear first header: $( [ -z "$SRTCP_BAD" ] && echo ok || echo "BAD: $SRTCP_BAD")"
BADS=$( (judge "!(udp.port == 3478) && !srtcp"; echo "$SRTCP_BAD") | grep . | sort -n)
if [ -n "$BADS" ]; then
	FIRST=$(echo "$BADS" | head -1)
	echo "capture: $(echo "$BADS" | wc -l) frames with malformed or protocol-error expert infos; the first:"
	tshark -r "$CAP" $D -V -Y "frame.number == $FIRST" 2>/dev/null
	exit 1
fi
echo "capture: clean (the canary, frame $CANARY, was flagged as it must be)"
exit 0
