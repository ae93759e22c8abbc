#!/bin/sh
# The README's first command: install what is needed, build, and show dialtoned
# at work on private session buses with throwaway folders (no sound card, no
# session of your own needed): its status, then a call on loopback from one
# dialtoned (alice, sending a 440 Hz tone) to another (bob, recording what he
# hears to a WAV file), and both histories. Safe to run again.
# The test suite runs it on its own build with DIALTONE_BUILD_DIR set (which
# also skips installing packages: the suite's script has done that).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ -n "${DIALTONE_BUILD_DIR:-}" ]; then
    build=$DIALTONE_BUILD_DIR
else
    "$top/scripts/install-deps.sh"
    build="$top/build"
    [ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized
    ninja -C build
fi

demo=$(mktemp -d /tmp/dialtone-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
# A free UDP port on loopback for bob's SIP account.
bob_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DIALTONE_DEMO_DIR="$demo" DIALTONE_BUILD="$build" BOB_PORT="$bob_port"
# dialtoned loads its media module at the first call; run from the build
# tree, it takes the one built with it.
export DIALTONE_MEDIA_MODULE_DIR="$build/daemon/media"

# dbus-run-session gives alice her own bus and stops it afterwards; bob gets
# a second private bus, as two phones on two machines would.
dbus-run-session -- sh -eu -c '
    b=$DIALTONE_BUILD d=$DIALTONE_DEMO_DIR
    ctl="$b/tools/dialtonectl/dialtonectl"
    conf="[media]\naudio-source=silence\naudio-sink=null\n"
    for who in alice bob; do
        mkdir -p -m 700 "$d/$who" "$d/$who/config"
        printf "$conf" >"$d/$who/config/dialtoned.conf"
    done

    "$b/daemon/dialtoned" --config-dir "$d/alice/config" --data-dir "$d/alice/data" 2>"$d/alice.log" &
    alice=$!
    gdbus wait --session --timeout 10 org.dialtone.Phone1

    set -- $(dbus-daemon --session --fork --print-address=1 --print-pid=1)
    bob_bus=$1 bob_bus_pid=$2
    DBUS_SESSION_BUS_ADDRESS=$bob_bus "$b/daemon/dialtoned" --config-dir "$d/bob/config" \
        --data-dir "$d/bob/data" 2>"$d/bob.log" &
    bob=$!
    DBUS_SESSION_BUS_ADDRESS=$bob_bus gdbus wait --session --timeout 10 org.dialtone.Phone1
    bobctl() { DBUS_SESSION_BUS_ADDRESS=$bob_bus "$ctl" "$@"; }

    echo "\$ dialtonectl status"
    "$ctl" status
    echo
    echo "\$ dialtonectl --json status"
    "$ctl" --json status

    echo
    echo "# Two phones on loopback, no registrar: accounts for direct calls."
    echo "\$ dialtonectl account add lan --address sip:alice@127.0.0.1 --local-address 127.0.0.1"
    "$ctl" account add lan --address sip:alice@127.0.0.1 --local-address 127.0.0.1
    echo "(bob) \$ dialtonectl account add lan --address sip:bob@127.0.0.1 --local-address 127.0.0.1 --local-port $BOB_PORT --allow-direct-calls"
    bobctl account add lan --address sip:bob@127.0.0.1 --local-address 127.0.0.1 --local-port "$BOB_PORT" --allow-direct-calls

    echo
    echo "\$ dialtonectl call sip:bob@127.0.0.1:$BOB_PORT --audio-source tone"
    "$ctl" call "sip:bob@127.0.0.1:$BOB_PORT" --audio-source tone
    bobctl wait --state incoming --timeout 10 >/dev/null 2>&1 || sleep 1
    echo "(bob) \$ dialtonectl calls"
    bobctl calls
    echo "(bob) \$ dialtonectl answer --audio-sink file:$d/heard.wav"
    bobctl answer --audio-sink "file:$d/heard.wav"
    "$ctl" wait --state active --timeout 10
    echo "\$ dialtonectl calls"
    "$ctl" calls
    sleep 3
    echo "\$ dialtonectl hangup"
    "$ctl" hangup
    sleep 1
    echo
    echo "\$ dialtonectl history"
    "$ctl" history
    echo "(bob) \$ dialtonectl history"
    bobctl history
    echo
    /usr/bin/python3 -c "import sys, wave; w = wave.open(sys.argv[1]); print(\"bob recorded %.1f s of what he heard (a %d Hz WAV)\" % (w.getnframes() / w.getframerate(), w.getframerate()))" "$d/heard.wav"

    status=0
    kill -TERM "$alice" "$bob"
    wait "$alice" || status=$?
    wait "$bob" || status=$?
    kill "$bob_bus_pid" 2>/dev/null || true
    echo
    echo "dialtoned (both) stopped with exit status $status. Alice'"'"'s log:"
    sed "s/^/  /" "$d/alice.log"
    exit "$status"
'
