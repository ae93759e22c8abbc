#!/bin/sh
# The README's first command: install what is needed, build, and show dialtoned
# answering on D-Bus, on a private session bus with throwaway folders (no sound
# card, no session of your own needed). Safe to run again.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/install-deps.sh"

[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized
ninja -C build

demo=$(mktemp -d /tmp/dialtone-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
export DIALTONE_DEMO_DIR="$demo" DIALTONE_BUILD="$top/build"

# dbus-run-session gives the demo its own bus and stops it afterwards.
dbus-run-session -- sh -eu -c '
    b=$DIALTONE_BUILD
    "$b/daemon/dialtoned" --config-dir "$DIALTONE_DEMO_DIR/config" \
        --data-dir "$DIALTONE_DEMO_DIR/data" 2>"$DIALTONE_DEMO_DIR/dialtoned.log" &
    pid=$!
    gdbus wait --session --timeout 10 org.dialtone.Phone1
    echo "\$ dialtonectl status"
    "$b/tools/dialtonectl/dialtonectl" status
    echo
    echo "\$ dialtonectl --json status"
    "$b/tools/dialtonectl/dialtonectl" --json status
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    echo
    echo "dialtoned stopped with exit status $status. Its log:"
    sed "s/^/  /" "$DIALTONE_DEMO_DIR/dialtoned.log"
    exit "$status"
'
