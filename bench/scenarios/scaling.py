"""Scaling: concurrent G.711 calls between two dialtoned, and between two
baresip (one process per side holding every call), until a call fails or
the received audio loses more than 1 %; then the largest good count is held
for 60 s, or the step below it if that fails. The CPU per call at 50 calls
is then measured again, the two daemons taking turns, a few times each."""

import time

from benchlib import cpu_percent, figure, rss_mib, series
from pairs import BaresipPair, DialtonePair, LossMeter, raise_fd_limit

NAME = "scaling"
DESCRIPTION = ("1, 10, 50, 100, 200, 300… concurrent PCMU calls: CPU and RSS per endpoint, "
               "loss; largest count held 60 s")
ORDER = 30

STEPS = (1, 10, 50, 100, 200, 300, 400, 500, 600)
# baresip 1.0 gives each call of a process a line number from 1 to 255 and
# refuses the next one ("call: could not assign linenumber").
BARESIP_MAX = 250
SMOKE_STEPS = (1, 2)
MAX_LOSS = 0.01
AT = 50                 # the calls at which the per-call cost is compared
HOLD_TRIES = 2          # counts tried for the 60 s hold: the largest good one, then the step below
SMOKE_AT = 2


class Side:
    """One daemon's sweep: the points measured and what stopped it."""

    def __init__(self, name):
        self.name = name
        self.points = {}
        self.good = 0
        self.stopped = "the last step"
        self.held = None
        self.held_note = ""
        self.method = None
        self.notes = []


def measure(pair, n, window, settle=1.0):
    time.sleep(settle)                      # the last batch's audio settles
    with LossMeter(pair, n) as meter:
        cpu = cpu_percent(list(pair.pids.values()), window)
    loss = meter.result()
    point = {"up": pair.up(), "loss": loss["loss"], "loss_detail": loss}
    for end, pid in pair.pids.items():
        point[f"{end}_cpu"] = round(cpu[pid], 2)
        raw = rss_mib(pid)
        point[f"{end}_rss_raw"] = round(raw, 2)
        point[f"{end}_rss"] = round(raw - point["up"] * pair.source_mib, 2)
    return point, loss["method"]


def failed(point, n):
    if point["up"] < n:
        return f"{n - point['up']} of {n} calls dropped"
    if point["loss"] is not None and point["loss"] > MAX_LOSS:
        return f"{100 * point['loss']:.1f} % loss at {n} calls"
    return None


def sweep(ctx, name, make_pair, steps, window, hold, budget):
    side = Side(name)
    started = time.monotonic()
    h = ctx.Harness(ctx.tmp / name)
    pair = None
    try:
        pair = make_pair(h, steps[-1])
        current_ok = True
        for n in steps:
            if time.monotonic() - started > budget:
                side.stopped = f"the time budget ({budget} s) before {n} calls"
                break
            try:
                bad = pair.dial(n, timeout=90)
            except (TimeoutError, RuntimeError) as e:     # BaresipError is a RuntimeError
                side.stopped = f"setting up {n} calls: {str(e)[:200]}"
                current_ok = False
                break
            if bad:
                why = "; ".join(sorted(set(getattr(pair, "failures", []))))[:200]
                reasons = pair.ended_reasons()
                side.stopped = f"{bad} call(s) not answered on the way to {n}" + \
                    (f" ({why})" if why else "") + (f" (ended: {reasons})" if reasons else "")
                current_ok = False
                break
            point, side.method = measure(pair, n, window, ctx.size(1.0, 0.3))
            side.points[n] = point
            why = failed(point, n)
            if why:
                reasons = pair.ended_reasons()
                side.stopped = why + (f" (ended: {reasons})" if reasons else "")
                current_ok = False
                break
            side.good = n
        if side.good and hold:
            # The largest good count first; if it does not hold (the sweep's
            # last step sits near what the machine takes, and the machine is
            # shared), the step below it, started again from nothing.
            tries = sorted((n for n in side.points if n <= side.good), reverse=True)[:HOLD_TRIES]
            notes = []
            for i, n in enumerate(tries):
                if i > 0 or not current_ok:
                    finish(h, pair, side)
                    pair = None
                    h = ctx.Harness(ctx.tmp / f"{name}-hold-{n}")
                    pair = make_pair(h, n)
                    try:
                        bad = pair.dial(n, timeout=90)
                    except (TimeoutError, RuntimeError) as e:
                        bad = str(e)[:200]
                    if bad:
                        notes.append(f"{n} calls could not be set up again ({bad})")
                        continue
                with LossMeter(pair, n) as meter:
                    time.sleep(hold)
                loss = meter.result()["loss"]
                up = pair.up()
                if up == n and (loss is None or loss <= MAX_LOSS):
                    side.held = n
                    notes.append(f"{n} calls for {hold} s, loss {100 * (loss or 0):.2f} %")
                    break
                notes.append(f"holding {n} calls for {hold} s failed: {up} up, loss {100 * (loss or 0):.2f} %")
            if side.held is None:
                side.held = 0
            side.held_note = "; then ".join(notes)
    finally:
        finish(h, pair, side)
    return side


def finish(h, pair, side):
    """Hangs up what is left and stops the daemons. A daemon that takes
    longer than the harness allows to stop (SIGTERM with hundreds of calls
    on a saturated machine) is killed; that is a figure, not a failure of
    the scenario."""
    started = time.monotonic()
    if pair is not None:
        try:
            pair.hangup_all()
        except Exception as e:      # noqa: BLE001 - a stuck peer must not hide the sweep's figures
            side.notes.append(f"hang-up at the end: {str(e)[:120]}")
        pair.close()
    try:
        h.cleanup()
    except AssertionError as e:
        side.notes.append(f"stopping after the sweep: {str(e)[:160]}")
    side.notes.append(f"hang-up and stop took {time.monotonic() - started:.1f} s")


def cpu_in_turns(ctx, makers, n, window):
    """CPU % of one core per call per endpoint at n calls: each daemon
    measured ctx.repeat times, in turns (A B, B A, A B …), each time with
    new processes. The sweeps run minutes apart, and this shared machine's
    load drifts in minutes: a ratio of two sweep points carries that
    drift, a ratio of medians taken in turns much less of it. Returns
    {name: [samples]} (caller and callee per turn) and notes."""
    samples = {name: [] for name in makers}
    notes = []
    order = list(makers)
    for turn in range(ctx.repeat):
        for name in (order if turn % 2 == 0 else order[::-1]):
            side = Side(name)
            h = ctx.Harness(ctx.tmp / f"{name}-cpu-{turn}")
            pair = None
            try:
                pair = makers[name](h, n)
                bad = pair.dial(n, timeout=90)
                if bad:
                    notes.append(f"{name}, turn {turn + 1}: {bad} of {n} calls not answered")
                    continue
                time.sleep(ctx.size(3.0, 0.3))     # the last batch's pipelines start
                cpu = cpu_percent(list(pair.pids.values()), window)
                if pair.up() < n:
                    notes.append(f"{name}, turn {turn + 1}: {n - pair.up()} calls ended in the window")
                    continue
                samples[name] += [cpu[pid] / n for pid in pair.pids.values()]
            except (TimeoutError, RuntimeError) as e:
                notes.append(f"{name}, turn {turn + 1}: {str(e)[:160]}")
            finally:
                finish(h, pair, side)
    return samples, notes


def run(ctx):
    raise_fd_limit()
    steps = ctx.size(STEPS, SMOKE_STEPS)
    window = ctx.size(15, 1)
    hold = ctx.size(60, 1)
    budget = ctx.size(150, 60)
    sides = {"dialtoned": sweep(ctx, "dialtoned", lambda h, n: DialtonePair(h, "pcmu", max_calls=n),
                                steps, window, hold, budget)}
    if ctx.peer:
        # baresip hangs up when its source file ends: it lasts the whole side.
        seconds = budget + hold + 120
        b_steps = tuple(n for n in steps if n < BARESIP_MAX)
        if len(b_steps) < len(steps):
            b_steps += (BARESIP_MAX,)
        sides["baresip"] = sweep(ctx, "baresip",
                                 lambda h, n: BaresipPair(h, "pcmu", max_calls=n, seconds=seconds),
                                 b_steps, window, hold, budget)
        if b_steps[-1] == BARESIP_MAX and sides["baresip"].good == BARESIP_MAX:
            sides["baresip"].stopped = (f"{BARESIP_MAX}, near the 255 calls baresip 1.0 takes in "
                                        "one process (line numbers)")

    at = ctx.size(AT, SMOKE_AT)
    makers = {"dialtoned": lambda h, n: DialtonePair(h, "pcmu", max_calls=n)}
    if ctx.peer:
        makers["baresip"] = lambda h, n: BaresipPair(h, "pcmu", max_calls=n, seconds=window + 120)
    turns, turn_notes = cpu_in_turns(ctx, makers, at, window)

    def rss_per_call(side, at):
        if at is None or at == 1 or 1 not in side.points:
            return None
        p, one = side.points[at], side.points[1]
        return [(p[f"{e}_rss"] - one[f"{e}_rss"]) / (at - 1) for e in ("caller", "callee")]

    d = sides["dialtoned"]
    b = sides.get("baresip")
    d_at = max((n for n in d.points if n <= AT), default=None)
    b_at = max((n for n in b.points if n <= AT), default=None) if b else None
    method = {s.name: s.method for s in sides.values()}
    notes = "; ".join(f"{s.name} stopped at {s.stopped}" + (f" ({'; '.join(s.notes)})" if s.notes else "")
                      for s in sides.values())
    rows = [
        figure(f"CPU per call at {AT} calls", "% core", turns["dialtoned"], turns.get("baresip"),
               target="≤ baresip",
               note=f"per endpoint, {at} calls, {window} s; {ctx.repeat} turns each, the daemons "
                    "taking turns with new processes (samples: caller, callee per turn)"
                    + (f"; {'; '.join(turn_notes)}" if turn_notes else "")),
        figure(f"RSS per call at {AT} calls", "MiB", rss_per_call(d, d_at) or [],
               rss_per_call(b, b_at) if b else None,
               note="(RSS at N − RSS at 1) / (N − 1), per endpoint; baresip's without the "
                    "copy of its source file that aufile holds per call"),
        figure("largest count held 60 s",
               "calls", [d.held] if d.held is not None else [],
               ([b.held] if b.held is not None else []) if b else None,
               better="higher", target="≥ 300",
               note=(f"held {hold} s; " + " / ".join(f"{s.name}: {s.held_note or 'not held'}"
                                                         for s in sides.values()))),
        figure("largest count in the sweep", "calls", [d.good], [b.good] if b else None,
               better="higher",
               note=f"{notes}; a side stops at a failed call or more than {100 * MAX_LOSS:g} % "
                    f"loss; loss from {', '.join(f'{k}: {v}' for k, v in method.items())}"),
    ]
    points = []
    for n in sorted(set().union(*(s.points for s in sides.values()))):
        point = {"x": n}
        for s in sides.values():
            p = s.points.get(n)
            if p is None:
                continue
            for key in ("caller_cpu", "callee_cpu", "caller_rss", "callee_rss", "caller_rss_raw",
                        "callee_rss_raw", "up", "loss"):
                point[f"{s.name}_{key}"] = p[key]
            point[f"{s.name}_loss_detail"] = p["loss_detail"]
            point[f"{s.name}_cpu"] = round((p["caller_cpu"] + p["callee_cpu"]) / 2, 2)
            point[f"{s.name}_rss"] = round((p["caller_rss"] + p["callee_rss"]) / 2, 2)
        points.append(point)
    rows.append(series("scaling", "concurrent calls", points))
    return rows
