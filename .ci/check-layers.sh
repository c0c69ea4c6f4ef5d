#!/bin/sh
# Includes point only down the layers: signaling -> engine -> {rtc, codecs} -> net.
# signaling reaches the engine only through engine/engine.h. Public headers include nothing
# of the tree. bench/, tests/ and examples/ may include anything.
cd "$(dirname "$0")/.." || exit 2
bad=0
check() { # dir allowed-regex
    for f in $(find "$1" -name '*.[ch]' 2>/dev/null); do
        grep -nE '^#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
            inc=$(printf '%s' "$line" | sed -E 's/.*include[[:space:]]*"([^"]+)".*/\1/')
            if ! printf '%s' "$inc" | grep -qE "$2"; then
                echo "check-layers: $f:${line%%:*}: \"$inc\" is not allowed from $1/"
                echo x >>"$tmp"
            fi
        done
    done
}
tmp=$(mktemp)
check net '^net/'
check rtc '^(net|rtc)/'
check codecs '^(net|codecs)/'
check engine '^(net|rtc|codecs|engine)/|^urtc/'
check signaling '^(net/|engine/engine\.h$|signaling/|urtc/)'
check include '^urtc/'
[ -s "$tmp" ] && bad=1
rm -f "$tmp"
[ $bad = 0 ] && echo "check-layers: ok"
exit $bad
