#!/bin/sh
# The README's second command: install what the suite needs, build, and run every
# test against a plain build and an AddressSanitizer/UBSan build.
#   scripts/test.sh                  everything (what CI runs)
#   scripts/test.sh --no-sanitizers  the plain build only
#   scripts/test.sh -- PYTEST-ARGS   passed to pytest (e.g. -k registration)
# Integration tests run in DIALTONE_TEST_JOBS pytest workers (default 2),
# one test file per worker at a time; one to five failures are run again alone,
# and those that then pass are named as FLAKY above the closing line.
# The last line is "N passed, N failed". Safe to run again.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sanitizers=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --no-sanitizers) sanitizers=no; shift ;;
        --) shift; break ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown option '$1'" >&2; exit 64 ;;
    esac
done

"$top/scripts/install-deps.sh" --tests

# Debian's interpreter: the first python3 on PATH may lack python3-gi.
python=/usr/bin/python3
results=$(mktemp -d /tmp/dialtone-results.XXXXXX)
trap 'rm -rf "$results"' EXIT

configs="plain"
[ "$sanitizers" = yes ] && configs="plain asan"
rc=0

for config in $configs; do
    dir="build-ci-$config"
    case "$config" in
        plain) opts="--buildtype=debugoptimized" ;;
        asan)  opts="--buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false" ;;
    esac
    echo "=== $config build ($dir)"
    if [ -f "$dir/build.ninja" ]; then
        # shellcheck disable=SC2086
        meson configure "$dir" $opts >/dev/null
    else
        # shellcheck disable=SC2086
        meson setup "$dir" $opts >/dev/null
    fi
    ninja -C "$dir"

    echo "=== $config: unit tests and checks"
    meson test -C "$dir" --print-errorlogs || rc=1
    cp "$dir/meson-logs/testlog.json" "$results/meson-$config.json"

    echo "=== $config: integration tests"
    # Most tests wait on real-time audio and timers, not on the CPU: two
    # files at a time fit a 2-core machine. Every test starts its own
    # buses, daemons and peers on free ports, so they do not meet.
    if DIALTONE_BUILD_DIR="$top/$dir" "$python" -m pytest "$top/tests/integration" \
        -n "${DIALTONE_TEST_JOBS:-2}" --dist loadfile -o junit_family=xunit1 \
        --junitxml="$results/pytest-$config.xml" -p no:cacheprovider "$@"; then
        :
    else
        # Real-time audio tests share two cores with a neighbouring test
        # file. A few failures are run again alone, on a quiet machine;
        # whatever passes only then is named as flaky in the closing lines.
        # Many failures are a real breakage and are not re-run.
        failed=$("$python" "$top/scripts/failed-tests.py" "$results/pytest-$config.xml" "$top/tests/integration")
        count=$(printf '%s' "$failed" | grep -c . || true)
        if [ "$count" -ge 1 ] && [ "$count" -le 5 ]; then
            echo "=== $config: $count failed test(s) run again, one at a time"
            # shellcheck disable=SC2086
            DIALTONE_BUILD_DIR="$top/$dir" "$python" -m pytest $failed -o junit_family=xunit1 \
                --junitxml="$results/rerun-$config.xml" -p no:cacheprovider || rc=1
        else
            rc=1
        fi
    fi
done

# One closing line over both harnesses, for whoever reads the end of the log.
"$python" - "$results" <<'PY'
import json, pathlib, sys, xml.etree.ElementTree as ET
results = pathlib.Path(sys.argv[1])
passed = failed = skipped = 0
for f in sorted(results.glob("meson-*.json")):
    for line in f.read_text().splitlines():
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"): passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
flaky = []
for f in sorted(results.glob("pytest-*.xml")):
    for suite in ET.parse(f).getroot().iter("testsuite"):
        t, fl, er, sk = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += t - fl - er - sk; failed += fl + er; skipped += sk
    rerun = f.with_name(f.name.replace("pytest-", "rerun-"))
    if rerun.exists():
        for case in ET.parse(rerun).getroot().iter("testcase"):
            if case.find("failure") is None and case.find("error") is None and case.find("skipped") is None:
                failed -= 1; passed += 1
                flaky.append(f"{f.stem[len('pytest-'):]}: {case.get('file')}::{case.get('name')}")
for name in flaky:
    print(f"FLAKY (failed beside another test file, passed alone): {name}")
print(f"({skipped} skipped; reasons are listed in pytest's summaries above)")
print(f"{passed} passed, {failed} failed")
PY
exit $rc
