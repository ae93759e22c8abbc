"""D-Bus responsiveness with many calls up: a property read, Hold and
Resume, and a change fanned out to 20 monitoring clients. baresip has no
D-Bus interface: its column stays empty."""

import time

from benchlib import CALL, PROPS, figure, ms, pct
from pairs import BUS_NAME, DialtonePair, raise_fd_limit

NAME = "dbus"
DESCRIPTION = ("with 100 calls up: Properties.Get and Hold/Resume round trips, and "
               "PropertiesChanged fan-out to 20 clients")
ORDER = 60

NO_PEER = "baresip has no D-Bus interface (its control is ctrl_tcp): no figure to compare"


def run(ctx):
    from gi.repository import Gio, GLib
    raise_fd_limit()
    calls = ctx.size(100, 3)
    reads = ctx.size(1000, 30)
    holds = ctx.size(50, 3)
    changes = ctx.size(50, 3)
    clients_n = 20
    h = ctx.Harness(ctx.tmp / "dbus")
    try:
        pair = DialtonePair(h, "pcmu", max_calls=calls)
        if pair.dial(calls, timeout=90):
            raise RuntimeError(f"{calls} calls could not be set up: {pair.failures[:3]}")
        time.sleep(1)
        d = pair.a
        paths = list(pair.calls)

        # A property read, one at a time, round robin over the calls.
        read_s = []
        for i in range(reads):
            t0 = time.perf_counter()
            state = d.get(paths[i % len(paths)], CALL, "State")
            read_s.append(time.perf_counter() - t0)
            if state != "active":
                raise RuntimeError(f"a call is {state}, not active")

        # Hold and Resume: the method's round trip (it returns once the
        # re-INVITE is sent), and Hold to State "held" (the answer applied).
        hold_s, resume_s, held_s = [], [], []
        for i in range(holds):
            path = paths[i % len(paths)]
            t0 = time.perf_counter()
            d.call(path, CALL, "Hold")
            hold_s.append(time.perf_counter() - t0)
            pair.watch.until(lambda: pair.states.get(path) == "held", 10, "held")
            held_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            d.call(path, CALL, "Resume")
            resume_s.append(time.perf_counter() - t0)
            pair.watch.until(lambda: pair.states.get(path) == "active", 10, "resumed")

        # Fan-out: 20 clients on connections of their own, each subscribed
        # to PropertiesChanged; a change (Muted, set by a 21st) until the
        # last of them has it.
        conns, seen = [], {}

        def muted(client, args):
            if args[0] == CALL and "Muted" in args[1]:
                seen.setdefault(client, time.perf_counter())
        for c in range(clients_n):
            conn = Gio.DBusConnection.new_for_address_sync(
                d.bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
            conn.signal_subscribe(None, PROPS, "PropertiesChanged", None, None, 0,
                                  lambda _c, _s, p, _i, _m, params, c=c: muted(c, params.unpack()))
            conns.append(conn)
        # Each client's match rule reaches the bus before the first change.
        for conn in conns:
            conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                           "GetId", None, None, 0, 5000, None)
        last_s, spread_s = [], []
        for i in range(changes):
            seen.clear()
            t0 = time.perf_counter()
            # Sent without waiting for the reply: the main loop must run to
            # take the signals as they come.
            d.bus.connection.call(BUS_NAME, paths[0], PROPS, "Set",
                                  GLib.Variant("(ssv)", (CALL, "Muted", GLib.Variant("b", i % 2 == 0))),
                                  None, 0, 10000, None, None, None)
            pair.watch.until(lambda: len(seen) == clients_n, 10,
                             f"all clients to see the change ({len(seen)} did)")
            last_s.append(max(seen.values()) - t0)
            spread_s.append(max(seen.values()) - min(seen.values()))
        for conn in conns:
            conn.close_sync(None)
        pair.close()
    finally:
        h.cleanup()

    def msl(values):
        return [1000 * v for v in values]

    def p95(values):
        return ms(pct(values, 95))

    up = f"{calls} calls up"
    return [
        figure("Properties.Get (Call State) round trip", "ms", msl(read_s), None,
               note=f"{up}; {reads} reads, p95 {p95(read_s)} ms; {NO_PEER}"),
        figure("Call.Hold round trip", "ms", msl(hold_s), None,
               note=f"{up}; returns once the re-INVITE is sent; p95 {p95(hold_s)} ms"),
        figure("Call.Hold to State held", "ms", msl(held_s), None,
               note=f"{up}; the callee's answer applied; p95 {p95(held_s)} ms"),
        figure("Call.Resume round trip", "ms", msl(resume_s), None,
               note=f"{up}; p95 {p95(resume_s)} ms"),
        figure(f"change to the last of {clients_n} clients", "ms", msl(last_s), None,
               note=f"{up}; Muted set by another client until {clients_n} connections each "
                    f"had PropertiesChanged (one Python process reads them all); "
                    f"p95 {p95(last_s)} ms, first-to-last median "
                    f"{ms(sorted(spread_s)[len(spread_s) // 2])} ms"),
    ]
