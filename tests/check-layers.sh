#!/bin/sh
# Fails when a file includes headers its layer may not see (docs/architecture.md).
set -u
src=${1:?usage: check-layers.sh SOURCE_DIR}
status=0

forbid() {
    layer=$1 pattern=$2 why=$3
    [ -d "$src/daemon/$layer" ] || return 0
    hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pattern)" \
        "$src/daemon/$layer" --include='*.c' --include='*.h' || true)
    if [ -n "$hits" ]; then
        echo "daemon/$layer/ must not include $why:"
        echo "$hits"
        status=1
    fi
}

forbid core  'sofia-sip/|gst/|agent\.h|nice/|sqlite3\.h|dt-generated\.h|srtp' \
     'Sofia-SIP, GStreamer, libnice, SQLite or generated D-Bus code'
forbid store 'sofia-sip/|gst/|nice/|dt-generated\.h' 'Sofia-SIP, GStreamer, libnice or D-Bus code'
forbid dbus  'sofia-sip/|gst/|nice/|sqlite3\.h' 'Sofia-SIP, GStreamer, libnice or SQLite'
forbid sip   'gst/|nice/|sqlite3\.h|dt-generated\.h' 'GStreamer, libnice, SQLite or D-Bus code'
forbid media 'sofia-sip/|sqlite3\.h|dt-generated\.h' 'Sofia-SIP, SQLite or D-Bus code'

# dialtoned itself never links GStreamer: only the media module does
# (daemon/media/dt-gst-*), which the daemon loads at the first call.
hits=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](gst/|media/dt-gst-|dt-gst-)' \
    "$src"/daemon/*.c "$src"/daemon/*.h "$src"/daemon/media/dt-media-*.c "$src"/daemon/media/dt-media-*.h \
    2>/dev/null || true)
if [ -n "$hits" ]; then
    echo "dialtoned (daemon/*.c, daemon/media/dt-media-*) must not include GStreamer or the GStreamer engine:"
    echo "$hits"
    status=1
fi

# Sofia-SIP, GStreamer, SQLite and generated code stay out of the CLI and the
# plugin API as well.
hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*[<"](sofia-sip/|gst/|sqlite3\.h)' \
    "$src/tools" "$src/daemon/include" 2>/dev/null || true)
if [ -n "$hits" ]; then
    echo "tools/ and daemon/include/ must not include Sofia-SIP, GStreamer or SQLite:"
    echo "$hits"
    status=1
fi

[ $status -eq 0 ] && echo "layers: ok"
exit $status
