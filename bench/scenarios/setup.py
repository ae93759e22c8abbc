"""Call setup time on loopback, one call at a time: dialtoned from
Manager.Dial (D-Bus) to the caller's Call.StateChanged to "active", against
baresip from its ctrl_tcp `dial` command to the caller's CALL_ESTABLISHED
event. Both callees answer by themselves (auto-answer), no registrar, PCMU
over plain RTP, silence sent; the first calls of each pair (which load
codecs and plugins) are not counted."""

import time
from statistics import median

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
    ours, ours_rtt = dialtoned_setup(ctx, calls)
    peer, peer_rtt = baresip_setup(ctx, calls) if ctx.peer else (None, None)
    note = f"{calls} calls one at a time after {WARM_UP} warm-up calls"
    rtt_note = (f"{calls} requests after the calls, no call up: Properties.Get of the Manager's "
                "Calls through the bus; baresip: `listcalls` on its control socket")
    return [
        figure("setup median", "ms", ours, peer, target=TARGET, note=note),
        # One sample per side: the 95th percentile of the same calls.
        figure("setup p95", "ms", [round(pct(ours, 95), 3)],
               [round(pct(peer, 95), 3)] if peer else None, note=note),
        # What a request and its answer cost on each control channel,
        # and the setup with that taken off: the endpoint's own share.
        figure("control round trip median", "ms", ours_rtt, peer_rtt, note=rtt_note),
        figure("setup less the round trip", "ms", [round(median(ours) - median(ours_rtt), 3)],
               [round(median(peer) - median(peer_rtt), 3)] if peer else None,
               note="medians of the two rows above"),
    ]


def round_trips(request, count):
    """Times of `count` requests in ms, after a few not counted."""
    samples = []
    for i in range(WARM_UP + count):
        t0 = time.perf_counter()
        request()
        if i >= WARM_UP:
            samples.append(1000 * (time.perf_counter() - t0))
    return samples


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
        get = GLib.Variant("(ss)", ("org.dialtone.Phone1.Manager", "Calls"))
        rtt = round_trips(lambda: conn.call_sync("org.dialtone.Phone1", "/org/dialtone/Phone1",
                                                 "org.freedesktop.DBus.Properties", "Get", get,
                                                 GLib.VariantType("(v)"), 0, 10000, None), calls)
        return samples, rtt
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
        return samples, round_trips(lambda: alice.command("listcalls"), calls)
    finally:
        h.cleanup()

