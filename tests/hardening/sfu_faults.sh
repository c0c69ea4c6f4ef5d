#!/bin/bash
# tests/hardening/sfu_faults.sh BUILD_DIR OUT_DIR: urtc-server's SFU under garbage and a vanished
# client, as processes, on the loopback of a private network namespace (run it under
# `unshare --net`: tests/hardening/faults_test.c does). A WHIP publisher and a WHEP viewer
# (urtc-peer) run through urtc-server in sfu mode (media port 40000) while
#  1. 30,000 random datagrams (first bytes across the RFC 7983 ranges, some with a STUN cookie)
#     hit the media port and 200 junk connections hit the HTTP port: the viewer must still
#     decode the publisher's video and audio with little loss, and the shard drop counters in
#     /metrics must rise by at least 20,000;
#  2. the publisher is SIGKILLed: no signaling tells the server (WHIP has no socket to close),
#     so only ICE consent freshness (RFC 7675 §5.1: 30 s) can free it; urtc_sfu_members in
#     /metrics must reach 0 within 35 s; before, urtc_dtls_handshakes_total must be 2 and the
#     failure counters 0, after, urtc_ice_failures_total{reason="consent"} 1;
#  3. SIGTERM on urtc-server: exit 0, no sanitizer report.
# Exit 0: passed; 1: a check failed; 77: cannot run.
set -u
. "$(dirname "$0")/faults_lib.sh"
faults_init sfu_faults "$@"

"$B/urtc-server" --listen 127.0.0.1:18080 --mode sfu --shards 1 --udp-port 40000 \
	>"$OUT/server.out" 2>"$OUT/server.err" &
SP=$!
PIDS="$SP"
for _ in $(seq 50); do grep -q listening "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$OUT/server.out" || fail "urtc-server did not start: $(cat "$OUT/server.err")"
"$B/urtc-peer" --whip http://127.0.0.1:18080/whip/g --duration 60 --json \
	>"$OUT/pub.json" 2>"$OUT/pub.err" &
PP=$!
PIDS="$PIDS $PP"
sleep 1
"$B/urtc-peer" --whep http://127.0.0.1:18080/whep/g --duration 10 --json --quiet \
	>"$OUT/view.json" 2>"$OUT/view.err" &
VP=$!
PIDS="$PIDS $VP"
sleep 2
D0=$(metric urtc_shard_drops_total)

# ---- 1. garbage while the call runs ----
python3 - <<'PY' &
import random, socket, struct, time
rng = random.Random(11)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
firsts = [0x00, 0x01, 0x16, 0x17, 0x15, 0x40, 0x80, 0x90, 0xbf, 0xff]
for i in range(30000):
    b = bytearray(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
    b[0] = firsts[i % len(firsts)]
    if i % 7 == 0 and len(b) >= 20:
        b[4:8] = struct.pack("!I", 0x2112A442)  # looks like STUN
    u.sendto(bytes(b), ("127.0.0.1", 40000))
    if i % 1000 == 999:
        time.sleep(0.1)  # ~3 s in all: a bounded flood, the call must survive it
PY
FP=$!
python3 - <<'PY' &
import random, socket
rng = random.Random(12)
for i in range(200):
    try:
        s = socket.create_connection(("127.0.0.1", 18080), timeout=1)
        s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000))))
        s.recv(100)
        s.close()
    except OSError:
        pass
PY
JP=$!
wait $FP
wait $JP
wait $VP || fail "the viewer exited $?: $(tail -3 "$OUT/view.err")"
D1=$(metric urtc_shard_drops_total)
python3 - "$OUT/view.json" "$D0" "$D1" <<'PY' || fail "the call through the flood"
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
d = int(sys.argv[3]) - int(sys.argv[2])
recv = j["audio_packets_received"] + j["video_packets_received"]
print("sfu_faults: viewer through the flood: connected %s, video %d decoded, audio %d decoded, "
      "%d packets, %d lost; shard drops +%d" % (j["connected"], j["video_frames_decoded"],
      j["audio_frames_decoded"], recv, j["packets_lost"], d))
ok = (j["connected"] and j["video_frames_decoded"] >= 100 and j["audio_frames_decoded"] >= 300
      and j["packets_lost"] <= recv // 50 and d >= 20000)
sys.exit(0 if ok else 1)
PY

# Both members completed a DTLS handshake with the server; nothing failed (the viewer left
# with a close_notify when its --duration ended).
H=$(metric urtc_dtls_handshakes_total)
[ "$H" = 2 ] || fail "urtc_dtls_handshakes_total $H after a WHIP and a WHEP call (want 2)"
[ "$(metric urtc_ice_failures_total)" = 0 ] || fail "urtc_ice_failures_total $(metric urtc_ice_failures_total) before the kill"
[ "$(metric urtc_dtls_failures_total)" = 0 ] || fail "urtc_dtls_failures_total $(metric urtc_dtls_failures_total)"
echo "sfu_faults: urtc_dtls_handshakes_total $H, no ICE or DTLS failure"

# ---- 2. the publisher vanishes ----
[ "$(metric urtc_sfu_members)" = 1 ] || fail "urtc_sfu_members $(metric urtc_sfu_members) before the kill"
kill -KILL $PP
T0=$(date +%s.%N)
for _ in $(seq 350); do [ "$(metric urtc_sfu_members)" = 0 ] && break; sleep 0.1; done
T1=$(date +%s.%N)
[ "$(metric urtc_sfu_members)" = 0 ] || fail "the killed publisher is still a member after 35 s"
echo "sfu_faults: SIGKILLed publisher freed by consent expiry after $(python3 -c "print(round($T1 - $T0, 1))") s (urtc_sfu_members 0)"
# The vanished publisher is one ICE failure of the lost-path kind (consent), and no DTLS one.
IC=$(metric 'urtc_ice_failures_total{shard="0",reason="consent"}')
[ "$IC" = 1 ] && [ "$(metric urtc_ice_failures_total)" = 1 ] ||
	fail "urtc_ice_failures_total: consent $IC, all $(metric urtc_ice_failures_total) (want 1)"
[ "$(metric urtc_dtls_failures_total)" = 0 ] || fail "urtc_dtls_failures_total $(metric urtc_dtls_failures_total) after the kill"
echo "sfu_faults: urtc_ice_failures_total{reason=\"consent\"} 1 for the vanished publisher"

# ---- 3. SIGTERM ----
server_stop $SP
echo "sfu_faults: SIGTERM: urtc-server exited 0 with no sanitizer report"
trap - EXIT
echo "sfu_faults: ok"
