#!/bin/sh
# tests/interop/pc_coturn.sh: two build/urtc-peer processes in one p2p room of build/urtc-server,
# both with --relay-only through a real coturn (Debian coturn): every packet between them goes
# through the relay. Run inside a private network namespace (pc_coturn_test.c unshares).
# Prints each peer's JSON summary on a line "A {...}" / "B {...}", then the number of
# allocations coturn logged ("ALLOCATIONS n").
# Usage: pc_coturn.sh SRC_DIR BUILD_DIR
set -u
src=$1
build=$2
tmp=$(mktemp -d)
cleanup() {
    for p in ${turn:-} ${srv:-} ${a:-}; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
turnserver -n -v --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=3478 \
    --min-port=49160 --max-port=49260 --allow-loopback-peers --no-cli --no-tls --no-dtls \
    --lt-cred-mech --user=u:p --realm=urtc --simple-log --log-file="$tmp/turn.log" \
    --pidfile="$tmp/turn.pid" --userdb="$tmp/turndb" >/dev/null 2>&1 &
turn=$!
"$build/urtc-server" --listen 127.0.0.1:0 --mode p2p --udp-port 0 --web "$src/web" >"$tmp/srv.out" 2>"$tmp/srv.err" &
srv=$!
for i in $(seq 50); do grep -q listening "$tmp/srv.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/srv.out" | head -1)
[ -n "$port" ] || { echo "urtc-server did not start"; cat "$tmp/srv.err"; exit 1; }
sleep 0.5 # coturn binds its port
peer() {
    timeout 60 "$build/urtc-peer" --signal "ws://127.0.0.1:$port/ws" --room relay --name "$1" \
        --turn 127.0.0.1:3478 --turn-user u --turn-pass p --relay-only --duration 10 --json \
        2>"$tmp/$1.err" | tail -1
}
peer A >"$tmp/A.json" &
a=$!
sleep 1
peer B >"$tmp/B.json"
wait "$a"
a=""
echo
echo "A $(cat "$tmp/A.json")"
echo "B $(cat "$tmp/B.json")"
grep -qs . "$tmp/A.json" || tail -15 "$tmp/A.err"
grep -qs . "$tmp/B.json" || tail -15 "$tmp/B.err"

echo "ALLOCATIONS $(grep -c "ALLOCATE processed, success" "$tmp/turn.log" 2>/dev/null)"
echo "CHANNELS $(grep -c "CHANNEL_BIND processed, success" "$tmp/turn.log" 2>/dev/null)"
