#!/bin/sh
# tests/interop/pc_firefox.sh: headless Firefox ESR on the demo page and build/urtc-peer in one
# p2p room of build/urtc-server. Firefox joins first, so urtc-peer offers (a=setup:actpass) and
# Firefox answers as the DTLS client: its large ClientHello (post-quantum key shares) comes to
# urtc's DTLS server role. Run inside a private network namespace (pc_firefox_test.c unshares).
# Prints urtc-peer's JSON summary as the last line; exit 0 if the run completed.
# Usage: pc_firefox.sh SRC_DIR BUILD_DIR
set -u
src=$1
build=$2
tmp=$(mktemp -d)
cleanup() {
    [ -n "${ff:-}" ] && kill -9 -"$ff" 2>/dev/null
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
"$build/urtc-server" --listen 127.0.0.1:0 --mode p2p --udp-port 0 --web "$src/web" >"$tmp/srv.out" 2>"$tmp/srv.err" &
srv=$!
for i in $(seq 50); do grep -q listening "$tmp/srv.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/srv.out" | head -1)
[ -n "$port" ] || { echo "urtc-server did not start"; cat "$tmp/srv.err"; exit 1; }
mkdir "$tmp/profile"
cp "$src/tests/signaling/browser/firefox-user.js" "$tmp/profile/user.js"
HOME="$tmp/profile" MOZ_HEADLESS=1 MOZ_CRASHREPORTER_DISABLE=1 setsid /usr/bin/firefox-esr \
    --headless --no-remote --profile "$tmp/profile" \
    "http://127.0.0.1:$port/?room=fx&name=firefox&say=hello%20from%20firefox&selftest=1" \
    >/dev/null 2>"$tmp/ff.err" &
ff=$!
# Wait until Firefox is in the room (the server's member gauge).
for i in $(seq 300); do
    curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null | grep -q '^urtc_peers 1' && break
    sleep 0.1
done
curl -s "http://127.0.0.1:$port/metrics" | grep -q '^urtc_peers 1' || { echo "Firefox did not join"; tail -20 "$tmp/ff.err"; exit 1; }
timeout 60 "$build/urtc-peer" --signal "ws://127.0.0.1:$port/ws" --room fx --name urtc \
    --duration 12 --json 2>"$tmp/peer.err" | tail -1
rc=$?
[ $rc -eq 0 ] || tail -20 "$tmp/peer.err"
exit $rc
