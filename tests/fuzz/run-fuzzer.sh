#!/bin/sh
# Runs one libFuzzer target from a -Dfuzzing=true build, niced, on a
# working copy of its seed corpus (the seeds in git are never written to).
#   tests/fuzz/run-fuzzer.sh BUILD_DIR TARGET SECONDS [WORK_DIR]
# Crashes land in WORK_DIR/artifacts/, the grown corpus in WORK_DIR/corpus/,
# libFuzzer's output in WORK_DIR/fuzz-0.log. See tests/fuzz/README.md.
set -eu
build=${1:?usage: run-fuzzer.sh BUILD_DIR TARGET SECONDS [WORK_DIR]}
target=${2:?target name, e.g. sdp}
seconds=${3:?seconds to run}
here=$(cd "$(dirname "$0")" && pwd)
work=${4:-${TMPDIR:-/tmp}/dialtone-fuzz/$target}
binary=$(cd "$build" && pwd)/tests/fuzz/fuzz-$target

[ -x "$binary" ] || { echo "$binary: not built (meson setup -Dfuzzing=true, CC=clang)" >&2; exit 1; }
mkdir -p "$work/corpus" "$work/artifacts"
cp -n "$here/corpus/$target/"* "$work/corpus/" 2>/dev/null || true
dict=
[ -f "$here/$target.dict" ] && dict=-dict=$here/$target.dict

# One job in one worker process (its log is fuzz-0.log in the working
# directory): the machines this runs on are shared.
cd "$work"
# detect_leaks: a leak is a bug here too (the daemon runs for weeks), and
# without G_SLICE=always-malloc GLib hands out GVariants, hash tables and
# arrays from slabs that LeakSanitizer cannot see.
G_SLICE=always-malloc G_DEBUG=gc-friendly \
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
exec nice -n 19 "$binary" ${dict:+"$dict"} -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 \
    -jobs=1 -workers=1 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/driver.log" 2>&1
