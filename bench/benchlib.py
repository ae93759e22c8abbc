"""What every dialtone-bench scenario shares: process figures read from
/proc, a D-Bus signal watcher that does not poll, and the shape of a result.

A scenario is a module in bench/scenarios/ with

    NAME = "setup"                       # what the user types
    DESCRIPTION = "Dial to active, ..."  # one line for --help
    def run(ctx): return [figure(...), ...]

`ctx` is a Context. A figure holds every sample taken for dialtoned and,
where the scenario measures the peer under the same conditions, for
baresip; dialtone-bench reports the median and the spread of each and the
ratio of the medians. Scenarios that sweep a load also return series (see
`series`) that dialtone-bench plots.
"""

import os
import pathlib
import statistics
import time

TOP = pathlib.Path(__file__).resolve().parent.parent

CALL = "org.dialtone.Phone1.Call"
ACCOUNT = "org.dialtone.Phone1.Account"
PROPS = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
TICKS = os.sysconf("SC_CLK_TCK")


class Context:
    """What a scenario is given: the harness class (tests/integration/
    harness), a private folder, the build measured, and how hard to try.
    With smoke set, every size is the smallest that still exercises the
    scenario's code (the test suite runs it so that the bench does not rot);
    the figures then mean nothing."""

    def __init__(self, Harness, tmp, build, smoke=False, repeat=3, peer=True):
        self.Harness = Harness
        self.tmp = pathlib.Path(tmp)
        self.build = pathlib.Path(build)
        self.smoke = smoke
        self.repeat = 1 if smoke else repeat
        self.peer = peer          # measure baresip too

    def size(self, full, smoke):
        return smoke if self.smoke else full


def figure(name, unit, dialtoned, baresip=None, better="lower", target=None, note=None):
    """One row of the table. `dialtoned` and `baresip` are lists of samples
    (baresip None when the peer has no equivalent); `target` is the issue's
    target as text, shown next to the figures."""
    row = {"figure": name, "unit": unit, "better": better,
           "dialtoned": summarise(dialtoned), "baresip": summarise(baresip) if baresip is not None else None}
    if target:
        row["target"] = target
    if note:
        row["note"] = note
    d, b = row["dialtoned"], row["baresip"]
    if d and b and d["median"] is not None and b["median"]:
        row["ratio"] = round(d["median"] / b["median"], 3)
    return row


def series(name, x_label, points):
    """A load sweep for the plot: points is a list of dicts, each with the
    load ("x") and figures per endpoint, e.g.
    {"x": 50, "dialtoned_cpu": 12.0, "dialtoned_rss": 30.1, "baresip_cpu": ...}."""
    return {"series": name, "x_label": x_label, "points": points}


def summarise(samples):
    samples = [s for s in samples if s is not None]
    if not samples:
        return {"median": None, "min": None, "max": None, "n": 0, "samples": []}
    return {"median": round(statistics.median(samples), 4), "min": round(min(samples), 4),
            "max": round(max(samples), 4), "n": len(samples),
            "samples": [round(s, 4) for s in samples]}


# -- process figures -------------------------------------------------------

def status(pid):
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def rss_mib(pid):
    return int(status(pid)["VmRSS"].split()[0]) / 1024


def threads(pid):
    return int(status(pid)["Threads"])


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS   # utime + stime


def cpu_percent(pids, seconds):
    """% of one core each process used over the next `seconds`."""
    before = {p: cpu_seconds(p) for p in pids}
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    return {p: 100 * (cpu_seconds(p) - before[p]) / elapsed for p in pids}


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def ms(seconds):
    return round(1000 * seconds, 2)


# -- signals, without polling -------------------------------------------------

class Watch:
    """Collects D-Bus signals from one daemon's bus as they come."""

    def __init__(self, daemon):
        from gi.repository import GLib
        self.GLib = GLib
        self.conn = daemon.bus.connection
        self.subs = []

    def on(self, iface, member, handler, path=None):
        self.subs.append(self.conn.signal_subscribe(
            None, iface, member, path, None, 0,
            lambda _c, _s, p, _i, _m, params: handler(p, params.unpack())))

    def until(self, done, timeout, what):
        # Blocks in the main loop (a timer bounds the wait) rather than
        # sleeping between polls: a signal is then stamped when it arrives,
        # not up to a sleep later, which matters for millisecond figures.
        context = self.GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {what}")
            timer = self.GLib.timeout_source_new(int(left * 1000) + 1)
            timer.set_callback(lambda *_: False)
            timer.attach(context)
            try:
                context.iteration(True)
            finally:
                timer.destroy()

    def close(self):
        for s in self.subs:
            self.conn.signal_unsubscribe(s)


# -- two dialtoned on loopback -------------------------------------------------

def direct_pair(h, conf, callee_conf=None, log_level="warning", caller_opts=None, **callee_opts):
    """Starts a caller and a callee dialtoned (`conf`, or `callee_conf` for
    the callee) with registrar-less accounts on loopback; `callee_opts` go
    to the callee's account (allow_direct_calls, auto_answer, ...). Returns
    (caller, callee, the callee's URI)."""
    from harness import free_port
    a = h.daemon("caller", config=conf, log_level=log_level).start()
    b = h.daemon("callee", config=callee_conf or conf, log_level=log_level).start()
    port = free_port()
    a.add_account("lan", address="sip:alice@127.0.0.1", local_address="127.0.0.1", local_port=free_port(),
                  **(caller_opts or {}))
    b.add_account("lan", address="sip:bob@127.0.0.1", local_address="127.0.0.1", local_port=port,
                  **callee_opts)
    for d in (a, b):
        d.wait_account("lan", "unregistered", "no-registrar")
    return a, b, f"sip:bob@127.0.0.1:{port}"
