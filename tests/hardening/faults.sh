#!/bin/bash
# tests/hardening/faults.sh BUILD_DIR OUT_DIR: urtc processes under network faults, in network
# namespaces this script creates. Run it in a fresh namespace (`unshare --net`; the Criterion
# wrapper tests/hardening/faults_test.c does): that one (X, 10.99.0.1) holds urtc-server and
# peer b; a second, named one (Y, 10.99.0.2) holds peer a; a veth pair joins them, so the
# call's media crosses the veth.
#
#  1. Impaired call: `tc netem` on both veth ends, "loss 10% delay 100ms 20ms duplicate 2%"
#     (the jitter reorders). The call must connect, audio and video must decode on both
#     sides, and the data channel must deliver its messages. When the kernel has no sch_netem
#     (this VM's), tests/hardening/tun_impair.py does the same in user space on a TUN link
#     between the two namespaces; the output says which ran.
#  2. A vanished peer: peer a is frozen with SIGSTOP (its signaling TCP stays open, the server
#     pings only every 60 s here), so only ICE consent freshness (RFC 7675) can notice: b must
#     report its connection failed within 30 s (+2 s of slack). Then SIGKILL: the server frees
#     the member (urtc_peers in /metrics goes to 1) within 5 s.
#  3. SIGTERM on urtc-server with a member connected: exit 0, no sanitizer report (when the
#     build is an ASan one, a leak makes the exit non-zero).
# LOSS=N (default 10) sets the loss of part 1; CALL_SECS=N (default 13) how long its peers
# run; CALL_ONLY=1 runs part 1 alone, then stops the server as part 3 does (faults_test.c runs
# it so at 20%, the top of the issue's 5-20%, for 19 s: there a DTLS handshake whose last
# flights are lost three or four times in a row takes 5-8 s, about one run in ten).
# Exit 0: every part that ran passed; 1: a check failed; 77: cannot run (not root, programs
# missing).
set -u
. "$(dirname "$0")/faults_lib.sh"
LOSS=${LOSS:-10}
CALL_SECS=${CALL_SECS:-13}
faults_init faults "$@"

impair_link "$LOSS" 2 100 20
case $? in
77) exit 77 ;;
1) fail "cannot impair the link ($IMPAIR)" ;;
esac
echo "faults: impairment (loss $LOSS%, delay 100 ms +-20 ms, duplicate 2%): $IMPAIR"


start_server() {
	"$B/urtc-server" --listen 0.0.0.0:18080 --media-ip 10.99.0.1 --udp-port 0 --mode p2p \
		--shards 1 --ws-ping-ms 60000 >"$OUT/server.out" 2>"$OUT/server.err" &
	SP=$!
	PIDS="$PIDS $SP"
	for _ in $(seq 50); do grep -q listening "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
	grep -q listening "$OUT/server.out" || fail "urtc-server did not start: $(cat "$OUT/server.err")"
}

peer_a() { # peer_a DURATION NAME [args]: in namespace Y
	local d=$1 n=$2
	shift 2
	ip netns exec "$NS" "$B/urtc-peer" --signal ws://$LX:18080/ws --room f --name "$n" \
		--media-ip $LY --duration "$d" --json "$@" >"$OUT/$n.json" 2>"$OUT/$n.err" &
	PA=$!
	PIDS="$PIDS $PA"
}
peer_b() {
	local d=$1 n=$2
	shift 2
	"$B/urtc-peer" --signal ws://$LX:18080/ws --room f --name "$n" --media-ip $LX \
		--duration "$d" --json "$@" >"$OUT/$n.json" 2>"$OUT/$n.err" &
	PB=$!
	PIDS="$PIDS $PB"
}

summary() { # summary FILE: checks one urtc-peer report; prints it
	python3 - "$1" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print("faults: %s: connected %s in %s ms, video %d decoded %d missing, audio %d decoded of %d "
      "packets, lost %s, dc %d received of %d sent" % (
    sys.argv[1].rsplit("/", 1)[-1], j["connected"], j.get("connect_ms"),
    j["video_frames_decoded"], j["video_frames_missing"], j["audio_frames_decoded"],
    j["audio_packets_received"], j["packets_lost"], j["datachannel_messages_received"],
    j["datachannel_messages_sent"]))
# The chat stays reliable: the other's messages (urtc-peer's "hello N from NAME", N counting
# up) arrived with none missing between the first and the last, none out of order or twice.
# The tail may be cut: a run ends with an SCTP ABORT.
cr = j.get("chat_received") or []
print("faults: %s: chat from the other: %s" % (sys.argv[1].rsplit("/", 1)[-1], cr))
chat_ok = (len(cr) == 1 and cr[0]["messages"] >= 3 and cr[0]["missing"] == 0
           and cr[0]["out_of_order"] == 0 and cr[0]["duplicates"] == 0
           and cr[0]["messages"] == cr[0]["last"] - cr[0]["first"] + 1)
ok = (j["connected"] and j["video_frames_decoded"] > 0 and j["audio_frames_decoded"] > 100
      and j["datachannel_messages_received"] >= 3 and chat_ok)
sys.exit(0 if ok else 1)
PY
}

# ---- 1. the impaired call ----
start_server
if true; then
	peer_b $((CALL_SECS + 1)) b1
	sleep 0.5
	peer_a "$CALL_SECS" a1
	wait $PA || fail "peer a1 exit $?: $(tail -3 "$OUT/a1.err")"
	wait $PB || fail "peer b1 exit $?: $(tail -3 "$OUT/b1.err")"
	summary "$OUT/a1.json" || fail "a1 over the impaired link"
	summary "$OUT/b1.json" || fail "b1 over the impaired link"
	# Their FINs cross the lossy link too (TCP retransmits a lost one): let the server see
	# both members go before the link goes.
	for _ in $(seq 100); do [ "$(metric urtc_peers)" = 0 ] && break; sleep 0.1; done
	impair_stop
fi

if [ "${CALL_ONLY:-0}" = 1 ]; then
	server_stop $SP
	echo "faults: ok, the impaired call alone (loss $LOSS%; impairment: $IMPAIR)"
	exit 0
fi

# ---- 2. a vanished peer ----
peer_b 60 b2
sleep 0.5
peer_a 60 a2
for _ in $(seq 100); do grep -q ": connected" "$OUT/b2.err" 2>/dev/null && break; sleep 0.1; done
grep -q ": connected" "$OUT/b2.err" || fail "b2 never connected: $(tail -3 "$OUT/b2.err")"
sleep 2
kill -STOP $PA
T0=$(date +%s.%N)
for _ in $(seq 340); do grep -Eq ": failed$" "$OUT/b2.err" && break; sleep 0.1; done
T1=$(date +%s.%N)
grep -Eq ": failed$" "$OUT/b2.err" || fail "b2 did not fail the frozen peer in 34 s: $(tail -3 "$OUT/b2.err")"
SECS=$(python3 -c "print(round($T1 - $T0, 1))")
echo "faults: consent freshness: b2 went '$(grep -Eo ': (disconnected|failed)$' "$OUT/b2.err" | tr -d ':\n')' and failed ${SECS} s after a2 froze"
python3 -c "import sys; sys.exit(0 if $SECS <= 32 else 1)" || fail "consent took $SECS s (> 30 s)"
N=$(metric urtc_peers)
[ "$N" = 2 ] || fail "urtc_peers is $N while a2 is frozen (both members must still be in the room)"
kill -KILL $PA
for _ in $(seq 50); do [ "$(metric urtc_peers)" = 1 ] && break; sleep 0.1; done
[ "$(metric urtc_peers)" = 1 ] || fail "the killed member is still counted: $(metric urtc_peers)"
echo "faults: SIGKILL: the server freed the member (urtc_peers 1)"

# ---- 3. SIGTERM drains ----
server_stop $SP
echo "faults: SIGTERM: urtc-server exited 0 with no sanitizer report"
kill -TERM $PB 2>/dev/null
wait $PB
echo "faults: ok (impairment: $IMPAIR)"
exit 0
