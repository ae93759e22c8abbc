"""The benchmark harness itself (bench/dialtone-bench) at its smallest sizes,
so that it does not rot between the runs that publish figures: every
scenario must run to the end against the build under test and produce its
figures, its CSV row and, for the scaling sweep, the plot. The figures of a
smoke run mean nothing and are not checked."""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

from harness import build_dir

TOP = pathlib.Path(__file__).resolve().parents[2]
BENCH = TOP / "bench" / "dialtone-bench"
SCENARIOS = ["idle", "onecall", "scaling", "setup", "latency", "dbus"]


def test_bench_smoke(tmp_path):
    scenarios = SCENARIOS
    out = tmp_path / "x.json"
    done = subprocess.run([sys.executable, str(BENCH), "--smoke", "--build-dir", str(build_dir()),
                           "--output", str(out), *scenarios],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path,
                          env=dict(os.environ), stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"dialtone-bench exited with {done.returncode}:\n" \
                                 f"{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    results = json.loads(out.read_text())
    assert results["machine"]["smoke"] is True
    for name in scenarios:
        rows = results.get(name)
        figures = [r for r in rows or [] if "figure" in r]
        assert figures, f"{name}: no figures in {out}: {rows!r}"
        for row in figures:
            median = row["dialtoned"]["median"]
            assert isinstance(median, (int, float)) and not isinstance(median, bool), \
                f"{name}: {row['figure']!r} has no numeric dialtoned median: {row!r}"
    # The peer is measured under the same conditions where it can be.
    idle = {r["figure"]: r for r in results["idle"]}
    assert isinstance(idle["idle RSS, 1 registered account"]["baresip"]["median"], float)
    sweep = [r for r in results["scaling"] if r.get("series") == "scaling"]
    assert sweep and sweep[0]["points"][0]["x"] == 1 and "baresip_caller_cpu" in sweep[0]["points"][0]

    with open(out.with_suffix(".csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["scenario"] for r in rows} == set(scenarios)
    assert len(rows) == sum(len([r for r in results[s] if "figure" in r]) for s in scenarios)
    assert "elapsed:" in done.stdout

    png = tmp_path / "bench-scaling.png"
    if shutil.which("gnuplot") is None:
        print("gnuplot is not installed (scripts/install-deps.sh --tests installs gnuplot-nox): "
              "the plot is not checked")
        assert "plot: gnuplot is not installed" in done.stdout
        return
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", done.stdout
