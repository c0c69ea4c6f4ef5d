#!/bin/bash
# tests/soak/soak.sh: a soak run (not run by CI or `make test`). Starts urtc-server and PEERS
# urtc-peer processes (Opus + VP8 + a data channel each) in rooms of ROOM_SIZE, in MODE p2p (a
# mesh per room) or sfu (every member has one connection to the server, which forwards), keeps
# them in calls for MINUTES, and samples every INTERVAL seconds: the server's RSS and open fds,
# the sum of the peers' RSS and fds, the server's urtc_peers / urtc_rooms / urtc_sfu_members,
# the SFU's forwarded packets, its shards' drop counters and the kernel's UDP receive-buffer
# overflows (machine-wide). At the end it reads every peer's
# report (loss, frames missing, sources) and judges (the last /metrics is kept in
# OUT/metrics-last.txt: drop reasons):
#   - no growth after warm-up: the server's RSS at the last sample is within 10% + 4 MiB of
#     the first sample after WARMUP samples, its fd count is unchanged; the same for the
#     peers' sums;
#   - no loss beyond what the network injects: on loopback, packets_lost summed over the
#     peers must be at most LOSS_PCT (default 0.5) % of the packets received;
#   - sfu: every peer decoded audio (and video, unless NO_VIDEO) from each other member of its
#     room (its report's "sources").
# Exit 0 when it holds, 1 when not; the samples are in OUT/samples.tsv.
#
#   make && tests/soak/soak.sh                       # 20 peers, 10 minutes (defaults)
#   PEERS=200 MINUTES=10 tests/soak/soak.sh          # the issue's size: needs many cores
#   MODE=sfu PEERS=200 NO_VIDEO=1 tests/soak/soak.sh # the issue's size in sfu rooms of 8
#   PEERS=4 MINUTES=1 INTERVAL=10 tests/soak/soak.sh # a quick check of the script itself
#
# Environment: BUILD (default build), MODE (p2p or sfu), PEERS (20), ROOM_SIZE (p2p 2: a mesh
# grows as n^2; sfu 8),
# MINUTES (10), INTERVAL (60 s), WARMUP (1 sample), NO_VIDEO (1: audio and data only, for
# many peers on few cores), OUT (build/soak), PORT (18090), LOSS_PCT (0.5).
# Each urtc-peer is its own process with its own engine, so 200 peers encode 200 VP8 streams:
# on 2 cores use NO_VIDEO=1 or fewer peers. Everything stays on 127.0.0.1.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
PEERS=${PEERS:-20}
MODE=${MODE:-p2p}
case $MODE in
p2p) ROOM_SIZE=${ROOM_SIZE:-2} ;;
sfu) ROOM_SIZE=${ROOM_SIZE:-8} ;;
*) echo "soak: MODE must be p2p or sfu"; exit 2 ;;
esac
MINUTES=${MINUTES:-10}
INTERVAL=${INTERVAL:-60}
WARMUP=${WARMUP:-1}
OUT=${OUT:-$B/soak}
PORT=${PORT:-18090}
LOSS_PCT=${LOSS_PCT:-0.5}
for p in urtc-server urtc-peer; do
	[ -x "$B/$p" ] || { echo "soak: $B/$p is not built (make)"; exit 2; }
done
mkdir -p "$OUT"
rm -f "$OUT"/peer-*.json "$OUT"/peer-*.err
DURATION=$((MINUTES * 60))
PIDS=""
cleanup() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT

"$B/urtc-server" --listen 127.0.0.1:$PORT --udp-port 0 --mode "$MODE" --shards 2 \
	--max-conns-per-ip $((PEERS + 16)) --max-room-peers "$ROOM_SIZE" \
	>"$OUT/server.out" 2>"$OUT/server.err" &
SP=$!
PIDS="$SP"
for _ in $(seq 50); do grep -q listening "$OUT/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$OUT/server.out" || { echo "soak: urtc-server did not start"; exit 2; }

VIDEO_ARG=""
[ "${NO_VIDEO:-0}" = 1 ] && VIDEO_ARG=--no-video
PEER_PIDS=""
# The peers run until the SIGTERM after the last sample (their --duration is only a bound).
for i in $(seq 0 $((PEERS - 1))); do
	"$B/urtc-peer" --signal ws://127.0.0.1:$PORT/ws --room "soak$((i / ROOM_SIZE))" \
		--name "p$i" --duration $((2 * DURATION + 300)) --json --quiet $VIDEO_ARG \
		>"$OUT/peer-$i.json" 2>"$OUT/peer-$i.err" &
	PEER_PIDS="$PEER_PIDS $!"
	PIDS="$PIDS $!"
	sleep 0.05
done

# One sample: the server's RSS and fds, the peers' summed RSS and fds (from /proc), and the
# server's gauges and counters from /metrics; one process, so sampling stays cheap with many
# peers on a loaded machine.
sample() {
	python3 - "$PORT" "$OUT" "$SP" $PEER_PIDS <<'PY'
import os, sys, urllib.request
port, out, server, peers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def rss_fds(pid):
    try:
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return 0, 0
srss, sfds = rss_fds(server)
prss = pfds = 0
for p in peers:
    r, f = rss_fds(p)
    prss, pfds = prss + r, pfds + f
try:
    t = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
except OSError:
    t = ""
open(out + "/metrics-last.txt", "w").write(t)  # the drop reasons, for a post-mortem
def m(prefix):
    return sum(int(float(l.split()[-1])) for l in t.splitlines() if l.startswith(prefix))
# The kernel's UDP receive-buffer overflows (all sockets of the machine): datagrams dropped
# because a receiver did not read in time (/proc/net/snmp, Udp RcvbufErrors).
snmp = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
rcvbuf = int(snmp[1][snmp[0].index("RcvbufErrors")]) if len(snmp) == 2 else 0
print("\t".join(str(x) for x in (srss, sfds, prss, pfds, m("urtc_peers"), m("urtc_rooms"),
      m("urtc_sfu_members"), m("urtc_sfu_forwarded_packets_total"), m("urtc_sfu_drops_total"),
      m("urtc_shard_drops_total"), rcvbuf)))
PY
}

printf 'sample\tt_s\tserver_rss_kb\tserver_fds\tpeers_rss_kb\tpeers_fds\turtc_peers\turtc_rooms\tsfu_members\tsfu_fwd_pkts\tsfu_drops\tshard_drops\tudp_rcvbuf_errors\n' \
	>"$OUT/samples.tsv"
T0=$(date +%s)
N=$((DURATION / INTERVAL))
for s in $(seq 0 "$N"); do
	# sample s at T0 + 10 s + s * INTERVAL, however long sampling takes
	wait_s=$((T0 + 10 + s * INTERVAL - $(date +%s)))
	[ "$wait_s" -gt 0 ] && sleep "$wait_s"
	t=$(($(date +%s) - T0))
	printf '%s\t%s\t%s\n' "$s" "$t" "$(sample)" | tee -a "$OUT/samples.tsv"
done

for p in $PEER_PIDS; do kill -TERM "$p" 2>/dev/null; done
for p in $PEER_PIDS; do wait "$p"; done
kill -TERM $SP
wait $SP
echo "soak: urtc-server exit $? after SIGTERM"
trap - EXIT

python3 - "$OUT" "$WARMUP" "$LOSS_PCT" "$PEERS" "$MODE" "$ROOM_SIZE" "${NO_VIDEO:-0}" <<'PY'
import csv, glob, json, sys
out, warm, loss_pct, peers = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
mode, room_size, no_video = sys.argv[5], int(sys.argv[6]), sys.argv[7] == "1"
rows = list(csv.DictReader(open(out + "/samples.tsv"), delimiter="\t"))
ok = True
if len(rows) <= warm + 1:
    print("soak: too few samples after warm-up to judge growth")
    ok = False
else:
    a, z = rows[warm], rows[-1]
    for who in ("server", "peers"):
        r0, r1 = int(a[who + "_rss_kb"]), int(z[who + "_rss_kb"])
        f0, f1 = int(a[who + "_fds"]), int(z[who + "_fds"])
        grow = r1 <= r0 * 1.10 + 4096 and f1 <= f0
        print(f"soak: {who}: RSS {r0} -> {r1} KiB, fds {f0} -> {f1}: {'ok' if grow else 'GROWTH'}")
        ok = ok and grow
recv = lost = missing = connected = 0
sources_ok = 0
for f in glob.glob(out + "/peer-*.json"):
    try:
        j = json.loads(open(f).read().strip().splitlines()[-1])
    except Exception:
        print(f"soak: {f}: no report")
        ok = False
        continue
    connected += 1 if j["connected"] else 0
    if mode == "sfu":
        # peer i is in room i // room_size; the last room may be smaller
        i = int(f.rsplit("-", 1)[1].split(".")[0])
        others = min(room_size, peers - (i // room_size) * room_size) - 1
        got = [s for s in j.get("sources", []) if s["id"] and s["audio_frames_decoded"] > 0
               and (no_video or s["video_frames_decoded"] > 0)]
        if len(got) >= others:
            sources_ok += 1
        else:
            print(f"soak: peer {i}: media from {len(got)} of {others} other members")
    recv += j["audio_packets_received"] + j["video_packets_received"]
    lost += max(0, j["packets_lost"])
    missing += j["video_frames_missing"]
pct = 100.0 * lost / max(1, recv + lost)
if len(rows) > 1:
    print(f"soak: the kernel dropped {int(rows[-1]['udp_rcvbuf_errors']) - int(rows[0]['udp_rcvbuf_errors'])} "
          "UDP datagrams at full receive buffers between the first and the last sample "
          "(machine-wide: receivers that did not run in time)")
print(f"soak: {connected}/{peers} peers connected; {recv} packets received, {lost} lost "
      f"({pct:.3f}%), {missing} video frames missing")
ok = ok and connected == peers and pct <= loss_pct
if mode == "sfu":
    print(f"soak: sfu: {sources_ok}/{peers} peers received every other member of their room")
    ok = ok and sources_ok == peers
print("soak: " + ("ok" if ok else "FAILED"))
sys.exit(0 if ok else 1)
PY
