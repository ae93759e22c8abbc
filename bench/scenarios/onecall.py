"""One active call: what it costs each endpoint, PCMU and Opus."""

import time

from benchlib import cpu_percent, figure, rss_mib
from pairs import BaresipPair, DialtonePair

NAME = "onecall"
DESCRIPTION = "RSS and CPU (% of one core over 20 s) per endpoint of one call, PCMU and Opus"
ORDER = 20


def run(ctx):
    window = ctx.size(20, 1)
    rows = []
    # A smoke run (the test suite's) takes PCMU only: Opus goes through the
    # same code, and each codec costs two daemons and two baresip.
    for codec in ctx.size(("pcmu", "opus"), ("pcmu",)):
        h = ctx.Harness(ctx.tmp / codec)
        try:
            # Both pairs run side by side: one window measures all four
            # processes under the same load.
            pairs = {"dialtoned": DialtonePair(h, codec=codec)}
            if ctx.peer:
                pairs["baresip"] = BaresipPair(h, codec=codec,
                                               seconds=ctx.repeat * (window + 6) + 10)
            cpu = {(n, e): [] for n in pairs for e in ("caller", "callee")}
            rss = {(n, e): [] for n in pairs for e in ("caller", "callee")}
            for r in range(ctx.repeat):
                for name, pair in pairs.items():
                    if pair.dial(1):
                        raise RuntimeError(f"{name}: the {codec} call failed")
                time.sleep(ctx.size(2, 0.5))
                pids = {(n, e): pid for n, p in pairs.items() for e, pid in p.pids.items()}
                used = cpu_percent(list(pids.values()), window)
                for key, pid in pids.items():
                    cpu[key].append(used[pid])
                    rss[key].append(rss_mib(pid) - pairs[key[0]].source_mib)
                for name, pair in pairs.items():
                    if pair.up() != 1:
                        raise RuntimeError(f"{name}: the {codec} call ended during the window")
                    pair.hangup_all()
            for pair in pairs.values():
                pair.close()
        finally:
            h.cleanup()
        label = "PCMU" if codec == "pcmu" else "Opus"
        for end in ("caller", "callee"):
            rows.append(figure(f"{label} call: CPU, {end}", "% core", cpu[("dialtoned", end)],
                               cpu.get(("baresip", end)),
                               note=f"over {window} s; tone source, null sink, ptime 20"))
        for end in ("caller", "callee"):
            rows.append(figure(f"{label} call: RSS, {end}", "MiB", rss[("dialtoned", end)],
                               rss.get(("baresip", end)),
                               note="baresip's without the copy of its source file that "
                                    "aufile holds in memory"))
    return rows

