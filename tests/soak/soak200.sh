#!/bin/bash
# tests/soak/soak200.sh: the soak of issue #11 at its size (not run by CI or `make test`):
# 200 audio and video peers in sfu rooms of 4 for 10 minutes after a minute of warm-up, RSS and
# fds of the server and of the peers sampled every minute. It runs `urtc-bench soak` (bench/soak.c):
# the peers are in-process clients of the load generator (full ICE, DTLS, SRTP, each a member of
# the WebSocket room protocol, media replayed from one encoding), because 200 urtc-peer processes
# need about ten cores (docs/hardening.md). tests/soak/soak.sh is the other soak: urtc-peer
# processes, which encode, decode and chat, in fewer numbers.
#
#   make && tests/soak/soak200.sh                       # 200 peers, rooms of 4, 10 minutes
#   PEERS=40 MINUTES=1 INTERVAL=15 tests/soak/soak200.sh # a quick check
#
# Environment: BUILD (build), PEERS (200), ROOM_SIZE (4), MINUTES (10), INTERVAL (60 s),
# WARMUP (60 s), VIDEO_KBPS (150), NO_VIDEO (1: audio only), LOSS_PCT (0.5), OUT (build/soak).
# Output: OUT/soak200.txt (the samples, the verdict and the --json line). Exit 0 when the
# verdict holds (see `urtc-bench soak --help`), 1 when not, 2 on a usage error.
# Everything stays on 127.0.0.1.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
OUT=${OUT:-$B/soak}
[ -x "$B/urtc-bench" ] && [ -x "$B/urtc-server" ] || { echo "soak200: make first"; exit 2; }
mkdir -p "$OUT"
args=(soak --peers "${PEERS:-200}" --room-size "${ROOM_SIZE:-4}"
	--duration "$(( ${MINUTES:-10} * 60 ))" --interval "${INTERVAL:-60}" --warmup "${WARMUP:-60}"
	--video-kbps "${VIDEO_KBPS:-150}" --loss-pct "${LOSS_PCT:-0.5}" --json)
[ "${NO_VIDEO:-0}" = 1 ] && args+=(--no-video)
echo "soak200: $B/urtc-bench ${args[*]}  (output: $OUT/soak200.txt)"
"$B/urtc-bench" "${args[@]}" 2>&1 | tee "$OUT/soak200.txt"
exit "${PIPESTATUS[0]}"
