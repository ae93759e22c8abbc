"""Call setup time on loopback, one call at a time: dialtoned from
Manager.Dial (D-Bus) to the caller's Call.StateChanged to "active", against
baresip from its ctrl_tcp `dial` command to the caller's CALL_ESTABLISHED
event. Both callees answer by themselves (auto-answer), no registrar, PCMU
over plain RTP, silence sent; the first calls of each pair (which load
codecs and plugins) are not counted."""

import time

from benchlib import CALL, Watch, direct_pair, figure, pct

NAME = "setup"
DESCRIPTION = "Dial to active between two endpoints on loopback with auto-answer (median, p95)"
ORDER = 40

WARM_UP = 3
# Between calls, once both ends have reported the end: each side finishes
# tearing down the last call (media, history) before the next is timed.
PAUSE_S = 0.01
TARGET = "≤ 1.2 ms"


def run(ctx):
    calls = ctx.size(100, 3)
    ours = dialtoned_setup(ctx, calls)
    peer = baresip_setup(ctx, calls) if ctx.peer else None
    note = f"{calls} calls one at a time after {WARM_UP} warm-up calls"
    return [
        figure("setup median", "ms", ours, peer, target=TARGET, note=note),
        # One sample per side: the 95th percentile of the same calls.
        figure("setup p95", "ms", [round(pct(ours, 95), 3)],
               [round(pct(peer, 95), 3)] if peer else None, note=note),
    ]


def dialtoned_setup(ctx, calls):
    """Setup times in ms of `calls` calls from one dialtoned to another."""
    from gi.repository import GLib
    h = ctx.Harness(ctx.tmp / "dialtoned")
    try:
        # One caller places calls back to back: lift the callee's per-source
        # request budget, which would turn them away (503) after 20.
        conf = ("[sip]\ntransaction-timeout=4\nrequest-rate=0\n"
                "[media]\ncodecs=pcmu\naudio-source=silence\naudio-sink=null\n")
        # Plain RTP, as baresip's calls here: our accounts offer SRTP
        # (SDES) by default, which would add its keys and contexts to ours.
        a, b, uri = direct_pair(h, conf, caller_opts={"media_encryption": "none"},
                                auto_answer=True, allow_direct_calls=True, media_encryption="none")
        target = GLib.Variant("(sa{sv})", (uri, {}))
        conn = a.bus.connection

        # The client listens to StateChanged, the call's own event (sent in
        # the same turn, right after the PropertiesChanged that carries the
        # new State): taking every PropertiesChanged of both daemons and
        # unpacking each in Python cost this client about 0.7 ms a call,
        # which baresip's reader of one JSON event does not pay.
        watch = Watch(a)
        states = {}
        watch.on(CALL, "StateChanged",
                 lambda path, args: states.__setitem__(path, (args[1], time.perf_counter())))
        callee = Watch(b)
        ended = set()
        callee.on(CALL, "StateChanged",
                  lambda path, args: args[1] == "terminated" and ended.add(path))

        samples = []
        for i in range(WARM_UP + calls):
            t0 = time.perf_counter()
            path = conn.call_sync("org.dialtone.Phone1", "/org/dialtone/Phone1",
                                  "org.dialtone.Phone1.Manager", "Dial", target,
                                  GLib.VariantType("(o)"), 0, 10000, None).unpack()[0]
            watch.until(lambda: states.get(path, ("",))[0] in ("active", "terminated"), 10,
                        f"call {i} to be active")
            state, at = states[path]
            if state != "active":
                raise RuntimeError(f"call {i} ended before it was answered:\n{b.output()[-2000:]}")
            if i >= WARM_UP:
                samples.append(1000 * (at - t0))
            a.call(path, CALL, "Hangup")
            watch.until(lambda: states.get(path, ("",))[0] == "terminated" and len(ended) > i, 10,
                        f"call {i} to end on both sides")
            time.sleep(PAUSE_S)
        watch.close()
        callee.close()
        return samples
    finally:
        h.cleanup()


def baresip_setup(ctx, calls):
    """The same between two baresips, timed over the caller's ctrl_tcp:
    from sending `dial` to the CALL_ESTABLISHED event (stamped on arrival
    by the control connection's reader thread)."""
    from harness import Baresip
    h = ctx.Harness(ctx.tmp / "baresip")
    try:
        # No recording and no SIP trace on the terminal: dialtoned logs at
        # warning level, and printing every message would slow baresip down.
        bob = Baresip(h, "bob", answermode="auto", record=False, sip_trace=False)
        alice = Baresip(h, "alice", record=False, sip_trace=False)
        samples = []
        for i in range(WARM_UP + calls):
            mark = alice.mark()
            t0 = time.monotonic()
            alice.command("dial", bob.uri())
            established = alice.wait_established(since=mark)
            if i >= WARM_UP:
                samples.append(1000 * (established["_at"] - t0))
            mark = alice.hangup()
            alice.wait_closed(since=mark)
            bob.wait_closed(since=0, call_id=established.get("id"))
            time.sleep(PAUSE_S)
        return samples
    finally:
        h.cleanup()

