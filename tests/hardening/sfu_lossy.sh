#!/bin/bash
# tests/hardening/sfu_lossy.sh BUILD_DIR OUT_DIR: a call through urtc-server's SFU over an
# impaired link, as processes in network namespaces this script makes (run it under
# `unshare --net`: tests/hardening/faults_test.c does). urtc-server (sfu mode, media port 40000)
# runs in this namespace (X); a WHIP publisher and a WHEP viewer (urtc-peer) run in a second
# one (Y), so both legs, publisher -> SFU and SFU -> viewer, and all their RTCP cross a link
# with 10% loss, 100 ms +-20 ms delay (reordering) and 2% duplication (impair_link.sh: netem,
# or tun_impair.py without sch_netem).
#
# Checked: the viewer keeps decoding video and audio. The repair runs on both legs: the SFU
# NACKs what the publisher's leg lost and the publisher answers with RTX (its history); the
# viewer NACKs what the SFU's leg lost and the SFU answers from its per-leg history; PLIs are
# the fallback. WHIP/WHEP carry no data channel (urtc-peer's WHIP/WHEP offers have no
# application section), so a second call follows: two `urtc-peer --signal ... --mode sfu` bots
# (a, b) in one room, both in Y, so each one's media and chat cross the link twice (up to the
# SFU, down to the other). Checked there: the chat relayed through the SFU stays reliable and
# ordered (every message a sent reached b, in order, none twice; what b sent during a's run
# reached a with no gap, none out of order or twice), and each decodes the other's video and
# audio. a stops chatting 4 s before it leaves (--chat-until): a run ends with an SCTP ABORT,
# which would drop a last message still being retransmitted.
# Exit 0: passed; 1: a check failed; 77: cannot run.
set -u
. "$(dirname "$0")/faults_lib.sh"
faults_init sfu_lossy "$@"

impair_link 10 2 100 20
case $? in
77) exit 77 ;;
1) fail "cannot impair the link ($IMPAIR)" ;;
esac
echo "sfu_lossy: impairment (loss 10%, delay 100 ms +-20 ms, duplicate 2%): $IMPAIR"

"$B/urtc-server" --listen 0.0.0.0:18080 --media-ip $LX --mode sfu --shards 1 --udp-port 40000 \
	>"$OUT/server.out" 2>"$OUT/server.err" &
SP=$!
PIDS="$PIDS $SP"
for _ in $(seq 50); do grep -q listening "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$OUT/server.out" || fail "urtc-server did not start: $(cat "$OUT/server.err")"
ip netns exec "$NS" "$B/urtc-peer" --whip http://$LX:18080/whip/g --media-ip $LY --duration 25 \
	--json >"$OUT/pub.json" 2>"$OUT/pub.err" &
PP=$!
PIDS="$PIDS $PP"
# A WHEP viewer gets the publishers present when it joins (docs/sfu.md): wait for the publisher
# (its WHIP exchange and handshakes cross the lossy link too; slow under ASan).
for _ in $(seq 200); do grep -q ": connected" "$OUT/pub.err" 2>/dev/null && break; sleep 0.1; done
grep -q ": connected" "$OUT/pub.err" || fail "the publisher did not connect in 20 s: $(tail -3 "$OUT/pub.err")"
sleep 1
ip netns exec "$NS" "$B/urtc-peer" --whep http://$LX:18080/whep/g --media-ip $LY --duration 12 \
	--json --quiet >"$OUT/view.json" 2>"$OUT/view.err" &
VP=$!
PIDS="$PIDS $VP"
wait $VP || fail "the viewer exited $?: $(tail -3 "$OUT/view.err")"
RTX=$(metric urtc_sfu_retransmissions_total)
PLI=$(metric urtc_sfu_pli_sent_total)
kill -TERM $PP # ends its run early: it reports and exits 0
wait $PP || fail "the publisher exited $?: $(tail -3 "$OUT/pub.err")"

# The bots: b first, a once b's chat channel is open (b's side: the SFU's side may open a
# moment later, and holds what a sends until then, docs/sfu.md "Chat"), so b gets everything
# a sends. b runs until a is done and 2 s more.
WS=ws://$LX:18080/ws
BOT="--room c --mode sfu --media-ip $LY --size 160x120 --fps 15 --json"
ip netns exec "$NS" "$B/urtc-peer" --signal $WS $BOT --name b --duration 60 \
	>"$OUT/b.json" 2>"$OUT/b.err" &
BP=$!
PIDS="$PIDS $BP"
for _ in $(seq 250); do grep -q "data channel open" "$OUT/b.err" 2>/dev/null && break; sleep 0.1; done
grep -q "data channel open" "$OUT/b.err" ||
	fail "bot b's chat channel did not open in 25 s (server: DTLS handshakes $(metric urtc_dtls_handshakes_total), DTLS failures $(metric urtc_dtls_failures_total), ICE failures $(metric urtc_ice_failures_total)): $(grep -v "s: 1 connected" "$OUT/b.err" | tail -5)"
ip netns exec "$NS" "$B/urtc-peer" --signal $WS $BOT --name a --duration 18 --chat-until 14 \
	>"$OUT/a.json" 2>"$OUT/a.err" &
AP=$!
PIDS="$PIDS $AP"
wait $AP || fail "bot a exited $?: $(tail -3 "$OUT/a.err")"
# For a post-mortem of a failed run: why the SFU did not forward (urtc_sfu_drops_total{reason}).
python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:18080/metrics', timeout=5).read().decode())" >"$OUT/metrics.txt" 2>&1
sleep 2
kill -TERM $BP
wait $BP || fail "bot b exited $?: $(tail -3 "$OUT/b.err")"
impair_stop
python3 - "$OUT/pub.json" "$OUT/view.json" "$RTX" "$PLI" <<'PY' || fail "the call through the lossy link"
import json, sys
p, v = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:3])
rtx, pli = int(sys.argv[3]), int(sys.argv[4])
print("sfu_lossy: publisher: connected %s, %d video frames sent, NACKs received %d, RTX sent %d, "
      "keyframe requests %d, RTCP RTT %s ms" % (p["connected"], p["video_frames_sent"],
      p["nacks_received"], p["rtx_sent"], p["keyframe_requests_received"], p["rtcp_rtt_ms"]))
print("sfu_lossy: viewer: connected %s in %s ms, video %d decoded (%d missing), audio %d decoded "
      "of %d packets, lost after repair %d, NACKs sent %d, RTX received %d, PLIs %d; SFU RTX sent "
      "%d, PLIs sent %d" % (v["connected"], v["connect_ms"], v["video_frames_decoded"],
      v["video_frames_missing"], v["audio_frames_decoded"], v["audio_packets_received"],
      v["packets_lost"], v["nacks_sent"], v["rtx_received"], v["keyframe_requests_sent"], rtx, pli))
# The viewer's media time: its 12 s less the connection (DTLS and ICE through the loss take
# 2-5 s, longer on a loaded machine). Without NACK/RTX on the viewer's leg, the same call
# decoded 5 frames in 7 s (a frozen picture waiting for intact keyframes).
media_s = 12 - v["connect_ms"] / 1000.0
want_v, want_a = int(0.4 * 25 * media_s), int(0.4 * 50 * media_s)
checks = [
    ("both connected", p["connected"] and v["connected"]),
    ("viewer video >= 40%% of %.1f s at 25/s (%d)" % (media_s, want_v),
     v["video_frames_decoded"] >= want_v and want_v > 0),
    # audio is not NACKed (Opus has its own FEC): two legs of 10% loss each
    ("viewer audio >= 40%% of %.1f s at 50/s (%d)" % (media_s, want_a),
     v["audio_frames_decoded"] >= want_a),
    ("the SFU NACKed the publisher's leg, which resent", p["nacks_received"] > 0 and p["rtx_sent"] > 0),
    ("the viewer NACKed the SFU's leg, which resent", v["nacks_sent"] > 0 and v["rtx_received"] > 0 and rtx > 0),
    ("the publisher measured an RTT from the SFU's reports", (p["rtcp_rtt_ms"] or 0) > 100),
]
bad = [name for name, ok in checks if not ok]
if bad:
    print("sfu_lossy: failed: " + "; ".join(bad))
sys.exit(1 if bad else 0)
PY
python3 - "$OUT/a.json" "$OUT/b.json" <<'PY' || fail "the sfu room call (chat) through the lossy link; the SFU's drops: $(grep '^urtc_sfu_drops' "$OUT/metrics.txt" | tr '\n' ' ')"
import json, sys
a, b = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:3])
def chat_from(j, name):
    return next((c for c in j["chat_received"] if c["from"] == name), None)
for me, j, other in (("a", a, "b"), ("b", b, "a")):
    c = chat_from(j, other)
    print("sfu_lossy: bot %s: connected %s in %s ms, video %d decoded (%d missing), audio %d "
          "decoded, NACKs sent %d, RTX received %d, PLIs %d, RTCP RTT %s ms; chat sent %s, from %s %s"
          % (me, j["connected"], j["connect_ms"], j["video_frames_decoded"],
             j["video_frames_missing"], j["audio_frames_decoded"], j["nacks_sent"],
             j["rtx_received"], j["keyframe_requests_sent"], j["rtcp_rtt_ms"], j["chat_sent"],
             other, c))
sa, rb, ra = a["chat_sent"], chat_from(b, "a"), chat_from(a, "b")
# a's media time: its 18 s less its connection; b sees a's media only while a runs.
media_s = 18 - a["connect_ms"] / 1000.0
want_v, want_a = int(0.4 * 15 * media_s), int(0.4 * 50 * media_s)
checks = [
    ("both connected", a["connected"] and b["connected"]),
    ("a sent >= 3 chat messages", sa["messages"] >= 3),
    ("b got every chat message a sent, in order, once",
     rb is not None and rb["messages"] == sa["messages"] and rb["first"] == sa["first"] and
     rb["last"] == sa["last"] and rb["missing"] == 0 and rb["out_of_order"] == 0 and
     rb["duplicates"] == 0),
    ("a got b's chat with no gap, in order, once",
     ra is not None and ra["messages"] >= 3 and ra["missing"] == 0 and ra["out_of_order"] == 0
     and ra["duplicates"] == 0),
    ("each decoded >= 40%% of %.1f s of the other's video at 15/s (%d)" % (media_s, want_v),
     want_v > 0 and a["video_frames_decoded"] >= want_v and b["video_frames_decoded"] >= want_v),
    ("each decoded >= 40%% of %.1f s of the other's audio at 50/s (%d)" % (media_s, want_a),
     a["audio_frames_decoded"] >= want_a and b["audio_frames_decoded"] >= want_a),
    ("each bot measured a round trip > 100 ms from the SFU's reports",
     (a["rtcp_rtt_ms"] or 0) > 100 and (b["rtcp_rtt_ms"] or 0) > 100),
]
bad = [name for name, ok in checks if not ok]
if bad:
    print("sfu_lossy: failed: " + "; ".join(bad))
sys.exit(1 if bad else 0)
PY
server_stop $SP
trap - EXIT
faults_cleanup
echo "sfu_lossy: ok (impairment: $IMPAIR)"
