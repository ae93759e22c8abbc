#!/bin/sh
# Installs what Dialtone needs from Debian 12's own packages, and nothing from anywhere else.
#   scripts/install-deps.sh          build and demo dependencies
#   scripts/install-deps.sh --tests  the same, plus the SIP peers and tools the test suite and
#                                    bench/ drive (gnuplot for the bench's plot)
#   scripts/install-deps.sh --fuzz   the same, plus clang and libFuzzer for -Dfuzzing=true (tests/fuzz)
# Idempotent: apt-get skips what is already installed.
set -eu

want_tests=no
want_fuzz=no
for arg in "$@"; do
    case "$arg" in
        --tests) want_tests=yes ;;
        --fuzz) want_fuzz=yes ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 64 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then exec sudo -- "$0" "$@"; fi
    echo "install-deps.sh: run as root (apt-get needs it)" >&2
    exit 77
fi

build="gcc pkg-config meson ninja-build python3-docutils
       libglib2.0-dev libsqlite3-dev libjson-glib-dev
       libsofia-sip-ua-dev libsofia-sip-ua-glib-dev
       libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libnice-dev"
run="dbus-daemon dbus-bin libglib2.0-bin
     gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
     gstreamer1.0-alsa gstreamer1.0-pipewire
     gstreamer1.0-nice gstreamer1.0-libav gstreamer1.0-tools"
tests="python3 python3-gi python3-pytest python3-pytest-timeout python3-pytest-xdist python3-numpy systemd
       kamailio kamailio-extra-modules kamailio-tls-modules kamailio-presence-modules
       baresip-core sip-tester coturn sox libsox-fmt-all espeak-ng openssl tcpdump
       gnuplot-nox"

# Only for the fuzzing build: the normal and sanitizer builds use gcc.
fuzz="clang-14 libclang-rt-14-dev llvm-14"

pkgs="$build $run"
[ "$want_tests" = yes ] && pkgs="$pkgs $tests"
[ "$want_fuzz" = yes ] && pkgs="$pkgs $fuzz"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # the lists are word-split on purpose
apt-get install -y -q --no-install-recommends $pkgs
