#!/bin/bash
# tests/wireshark/capture.sh BUILD_DIR OUT_DIR [p2p|sfu|chromium]: a call captured with tshark on
# the loopback of a private network namespace, then dissected by Wireshark with decode-as RTP
# on the media ports (found from the STUN checks).
#   p2p (default): urtc-server in p2p mode and two urtc-peer processes calling each other
#       (Opus, VP8, a data channel, and their RTCP: SR + SDES about every second each).
#   sfu: urtc-server in sfu mode (media port 40000), one urtc-peer publishing through WHIP and
#       one viewing through WHEP: the server's RTCP (sender reports, PLI) is on the wire too.
#   chromium: urtc-server in sfu mode and headless Chromium (tests/wireshark/chromium_whip.js,
#       playwright-core from tests/signaling/browser/node_modules) publishing its fake camera
#       and microphone through WHIP and viewing them back through WHEP, with the room's chat
#       channel and an in-band (DCEP) data channel.
# Fails on any "Malformed Packet" or expert info of severity warning or error, and prints the
# full dissection of the first such frame.
#
# SCTP: every urtc process runs with URTC_KEYLOG (docs/dtls-srtp.md), so tshark decrypts the
# DTLS application data (-o tls.keylog_file) and sctp_over_dtls.lua hands it to Wireshark's
# SCTP dissector (with CRC32c checked): SCTP, DCEP and DATA chunks are judged by the same rule,
# and there must be SCTP packets (in chromium mode, DCEP too), or the check could not fail
# (not in sfu mode: urtc-peer opens no data channel over WHIP/WHEP).
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
DIR=$(cd "$(dirname "$0")" && pwd)
if [ "$MODE" = chromium ]; then
	[ -x /usr/bin/chromium ] && [ -x /usr/bin/node ] ||
		{ echo "capture: needs Debian chromium and node"; exit 77; }
	[ -d "$DIR/../signaling/browser/node_modules/playwright-core" ] ||
		{ echo "capture: needs playwright-core: npm ci --prefix tests/signaling/browser"; exit 77; }
fi
mkdir -p "$OUT"
ip link set lo up
# UDP GSO: urtc sends runs of packets to one destination as one GSO send, and on lo the packet
# tap sees such a run before segmentation, as one datagram (a DTLS record and an RTP packet in
# one frame, say). One segment at most per skb on this lo makes the kernel segment in software
# before the tap, so the capture holds the datagrams a real link would carry.
ip link set dev lo gso_max_segs 1
CAP=$OUT/call.pcapng
KEYLOG=$OUT/keylog.txt
rm -f "$CAP" "$KEYLOG"
export URTC_KEYLOG=$KEYLOG

tshark -i lo -f udp -w "$CAP" -q 2>"$OUT/tshark.err" &
TP=$!
for _ in $(seq 50); do grep -q "Capturing on" "$OUT/tshark.err" 2>/dev/null && break; sleep 0.1; done
PIDS=""
cleanup() { for p in $PIDS $TP; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT

if [ "$MODE" = sfu ] || [ "$MODE" = chromium ]; then
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
elif [ "$MODE" = chromium ]; then
	timeout 100 node "$DIR/chromium_whip.js" http://127.0.0.1:18080 wire 6 >"$OUT/chromium.out" 2>&1 &
	A=$!
	PIDS="$PIDS $A"
	RB=0
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
if [ "$MODE" = chromium ]; then
	echo "capture: chromium: $(tail -1 "$OUT/chromium.out")"
	[ $RA -eq 0 ] || { echo "capture: the Chromium call failed (exit $RA)"; cat "$OUT/chromium.out"; exit 2; }
elif [ $RA -ne 0 ] || [ $RB -ne 0 ]; then
	echo "capture: the call failed (urtc-peer exit $RA, $RB)"; cat "$OUT"/[ab].err; exit 2
fi
RECEIVERS="a b"
[ "$MODE" = sfu ] && RECEIVERS=b # the WHIP publisher receives nothing
[ "$MODE" = chromium ] && RECEIVERS="" # chromium_whip.js judged what the viewer received
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
# Every read below: decode-as, the DTLS key log, SCTP over DTLS, SCTP's CRC32c checked.
D="-d udp.port==3478,rtcp -X lua_script:$DIR/sctp_over_dtls.lua -o tls.keylog_file:$KEYLOG"
D="$D -o sctp.checksum:crc-32c"
for p in $PORTS; do D="$D -d udp.port==$p,rtp"; done
[ -n "$PORTS" ] || { echo "capture: no STUN in the capture"; exit 2; }
echo "capture: media ports $(echo $PORTS), decode-as:$D"
tshark -r "$CAP" $D -q -z io,phs 2>/dev/null | sed -n '/^eth/,/^=/p'

count() { tshark -r "$CAP" $D -Y "$1" 2>/dev/null | wc -l; }
NSTUN=$(count "stun && !(udp.port == 3478)")
NDTLS=$(count dtls)
NRTP=$(count "rtp && !stun && !dtls")
NSCTP=$(count sctp)
NDATA=$(count sctp.data_payload_proto_id)
NDCEP=$(count rtcdc)
MAXLEN=$(tshark -r "$CAP" -T fields -e udp.length 2>/dev/null | sort -n | tail -1)
echo "capture: $NSTUN STUN, $NDTLS DTLS, $NRTP RTP frames; decrypted: $NSCTP SCTP ($NDATA with" \
	"DATA chunks, $NDCEP DCEP); $(wc -l <"$KEYLOG") key log lines; largest UDP datagram $MAXLEN bytes"
if [ "$NSTUN" -lt 2 ] || [ "$NDTLS" -lt 4 ] || [ "$NRTP" -lt 100 ]; then
	echo "capture: too little traffic to judge"; exit 2
fi
# urtc-peer opens no data channel in its WHIP/WHEP modes: the sfu capture has no SCTP.
if [ "$MODE" != sfu ] && { [ "$NSCTP" -lt 4 ] || [ "$NDATA" -lt 1 ]; }; then
	echo "capture: no SCTP dissected from the decrypted DTLS (key log $KEYLOG)"; exit 2
fi
# tshark ignores an unknown preference value silently: prove the CRC32c was checked.
NCRC=$(count "sctp.checksum.status == 1")
if [ "$NCRC" -ne "$NSCTP" ]; then
	echo "capture: $NCRC of $NSCTP SCTP packets have a verified CRC32c"; exit 2
fi
if [ "$MODE" = chromium ] && [ "$NDCEP" -lt 2 ]; then
	echo "capture: no DCEP OPEN and ACK dissected"; exit 2
fi
# Nothing here sends datagrams above 1,300 bytes (RTC_DTLS_MTU 1200 plus SRTP); a larger frame
# would be an unsegmented GSO run, whose inner boundaries Wireshark cannot see.
if [ "${MAXLEN:-0}" -gt 1300 ]; then
	echo "capture: a $MAXLEN-byte datagram: GSO runs were captured unsegmented"; exit 2
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
# Both calls carry RTCP: each urtc end reports about every second (RFC 3550 §6.3).
if [ "$NSRTCP" -lt 4 ]; then
	echo "capture: only $NSRTCP SRTCP frames in a 6 s call: the reports are missing"; exit 1
fi
# SRTP with the P bit: the padding and its count octet are encrypted (RFC 3711 §3.1), so
# Wireshark takes a ciphertext byte for the count and often flags "Malformed" (Chromium's RTX
# padding probes, which it sends once transport-cc feedback lets it probe). Those frames are
# judged on their clear header too: RTP version 2.
SRTP_PAD_BAD=$(tshark -r "$CAP" $D -Y "rtp.padding == 1 && !(udp.port == 3478)" -T fields \
	-E occurrence=f -e frame.number -e rtp.version 2>/dev/null | awk -F'\t' '$2 != 2 { print $1 }')
BADS=$( (judge "!(udp.port == 3478) && !srtcp && !(rtp.padding == 1)"; echo "$SRTCP_BAD"
	echo "$SRTP_PAD_BAD") | grep . | sort -n)
if [ -n "$BADS" ]; then
	FIRST=$(echo "$BADS" | head -1)
	echo "capture: $(echo "$BADS" | wc -l) frames with malformed or protocol-error expert infos; the first:"
	tshark -r "$CAP" $D -V -Y "frame.number == $FIRST" 2>/dev/null
	exit 1
fi
echo "capture: clean (the canary, frame $CANARY, was flagged as it must be)"
exit 0
