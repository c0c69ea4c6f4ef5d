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
# the fallback. WHIP/WHEP carry no data channel here (the SFU's chat needs an application
# section, which urtc-peer's WHIP/WHEP offers do not have).
# Exit 0: passed; 1: a check failed; 77: cannot run.
set -u
. "$(dirname "$0")/faults_lib.sh"
faults_init sfu_lossy "$@"

impair_link 10 2 100 20
case $? in
77) exit 77 ;;
1) echo "sfu_lossy: cannot impair the link ($IMPAIR): nothing to test"; exit 77 ;;
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
server_stop $SP
trap - EXIT
faults_cleanup
echo "sfu_lossy: ok (impairment: $IMPAIR)"
