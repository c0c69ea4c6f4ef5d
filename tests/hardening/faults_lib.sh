# tests/hardening/faults_lib.sh: sourced by the fault scripts (faults.sh, sfu_faults.sh,
# sfu_lossy.sh), which run in a fresh network namespace (X; faults_test.c unshares one).
#
# faults_init NAME BUILD_DIR OUT_DIR sets B and OUT, exits 77 unless urtc-server and urtc-peer
# are built and iproute2 is there, and sets NS (a name for a second namespace, Y) and PIDS
# (processes the exit trap kills; it deletes Y too). fail MSG prints "NAME: FAIL: MSG", exits 1.
# server_stop PID sends SIGTERM to urtc-server and fails unless it exits 0 with no sanitizer
# report in $OUT/server.err (under `make asan` the programs are ASan builds).
# metric NAME prints the sum of the series NAME (with any labels) in urtc-server's /metrics on
# 127.0.0.1:18080.
#
# impair_link LOSS_PCT DUP_PCT DELAY_MS JITTER_MS makes Y, joins it to X with a veth pair
# (X 10.99.0.1, Y 10.99.0.2) and impairs a link between them as netem would: `tc netem` on both
# veth ends when the kernel has sch_netem, else tests/hardening/tun_impair.py carries every IP
# packet between two TUN devices (X 10.98.0.1, Y 10.98.0.2) in user space. It sets LX and LY
# (the addresses of the impaired link: traffic between them is impaired), HAVE_NETEM, TI (the
# pid of tun_impair.py, or empty) and IMPAIR (which ran, for the output). 77 if Y or the veth
# cannot be made; 1 if neither netem nor tun_impair.py (ready within 20 s) could impair it,
# the link then being the clean veth. impair_stop ends the impairment; LX and LY then name the clean veth.
faults_init() {
	FNAME=$1
	B=${2:?build dir}
	OUT=${3:?out dir}
	for p in urtc-server urtc-peer; do
		[ -x "$B/$p" ] || { echo "$FNAME: $B/$p is not built (make)"; exit 77; }
	done
	command -v ip >/dev/null || { echo "$FNAME: no iproute2"; exit 77; }
	mkdir -p "$OUT"
	ip link set lo up
	NS=urtc-$FNAME-$$
	PIDS=""
	trap faults_cleanup EXIT
}

faults_cleanup() {
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
}

fail() {
	echo "$FNAME: FAIL: $*"
	exit 1
}

server_stop() {
	kill -TERM "$1"
	wait "$1"
	local rc=$?
	[ $rc = 0 ] || fail "urtc-server exit $rc after SIGTERM: $(tail -20 "$OUT/server.err")"
	if grep -Eq "Sanitizer|runtime error" "$OUT/server.err"; then
		fail "sanitizer report: $(grep -A20 -E 'Sanitizer|runtime error' "$OUT/server.err" | head -40)"
	fi
}

metric() {
	python3 -c "
import sys, urllib.request
t = urllib.request.urlopen('http://127.0.0.1:18080/metrics', timeout=5).read().decode()
n = sys.argv[1]
print(sum(int(float(l.split()[-1])) for l in t.splitlines()
          if l.split(' ')[0] == n or l.startswith(n + '{')))" "$1"
}

impair_link() {
	local loss=$1 dup=$2 delay=$3 jitter=$4
	ip netns add "$NS" || { echo "cannot create a network namespace"; return 77; }
	ip link add vx type veth peer name vy || return 77
	ip link set vy netns "$NS"
	ip addr add 10.99.0.1/24 dev vx
	ip link set vx up
	ip -n "$NS" addr add 10.99.0.2/24 dev vy
	ip -n "$NS" link set vy up
	ip -n "$NS" link set lo up
	ping -c1 -W2 10.99.0.2 >/dev/null 2>&1 || sleep 1
	local netem="loss $loss% delay ${delay}ms ${jitter}ms duplicate $dup%"
	LX=10.99.0.1
	LY=10.99.0.2
	TI=""
	if tc qdisc add dev vx root netem $netem 2>/dev/null &&
		ip netns exec "$NS" tc qdisc add dev vy root netem $netem 2>/dev/null; then
		HAVE_NETEM=1
		IMPAIR="netem on the veth"
		return 0
	fi
	HAVE_NETEM=0
	# A "ready" left by an earlier run in $OUT would pass the wait below before the new
	# tun_impair.py truncates the file, and the call would run unimpaired.
	rm -f "$OUT/tun_impair.out"
	if [ -c /dev/net/tun ] && { /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/tun_impair.py" \
		"$NS" "$loss" "$dup" "$delay" "$jitter" >"$OUT/tun_impair.out" 2>&1 & TI=$!; PIDS="$PIDS $TI"; } &&
		for _ in $(seq 200); do grep -q ready "$OUT/tun_impair.out" && break; sleep 0.1; done &&
		grep -q ready "$OUT/tun_impair.out"; then
		LX=10.98.0.1
		LY=10.98.0.2
		IMPAIR="no sch_netem in this kernel: tun_impair.py between two TUN devices"
	else
		IMPAIR="NONE (no sch_netem, no TUN): unimpaired across the veth"
		return 1
	fi
}

impair_stop() {
	if [ "$HAVE_NETEM" = 1 ]; then
		tc qdisc del dev vx root
		ip netns exec "$NS" tc qdisc del dev vy root
	elif [ -n "$TI" ]; then
		kill -TERM "$TI"
		wait "$TI"
		tail -1 "$OUT/tun_impair.out"
	fi
	LX=10.99.0.1
	LY=10.99.0.2
}
