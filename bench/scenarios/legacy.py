"""The scenarios dialtone-bench ran before issue 7, kept as they were:
start-up, registration, the calls scenario and SRTP's cost. Each returns a
flat dict of figures; dialtone-bench shows them as dialtoned-only rows."""

import statistics
import time

from benchlib import (ACCOUNT, CALL, OBJECT_MANAGER, PROPS, Watch, cpu_percent, direct_pair, ms,
                      pct, rss_mib, status, threads)

def bench_startup(Harness, tmp, runs=5):
    import re
    daemon_ms, spawn_ms, rss, anon = [], [], [], []
    for i in range(runs):
        h = Harness(tmp / f"startup-{i}")
        try:
            d = h.daemon("idle", log_level="info")
            d.bus.name_owner()          # our bus connection is up before the clock starts
            t0 = time.monotonic()
            d.start(wait=False)
            while d.bus.name_owner() is None:
                if time.monotonic() - t0 > 10:
                    raise TimeoutError("dialtoned did not take its name")
                time.sleep(0.0005)
            spawn_ms.append(1000 * (time.monotonic() - t0))
            m = None
            for _ in range(200):
                m = re.search(r"\(([\d.]+) ms after start\)", d.output())
                if m:
                    break
                time.sleep(0.01)
            daemon_ms.append(float(m.group(1)))
            time.sleep(2)
            rss.append(rss_mib(d.process.popen.pid))
            anon.append(int(status(d.process.popen.pid)["RssAnon"].split()[0]) / 1024)
        finally:
            h.cleanup()
    return {
        "startup_daemon_ms_median": statistics.median(daemon_ms),
        "startup_spawn_to_name_ms_median": round(statistics.median(spawn_ms), 1),
        "idle_rss_mib_median": round(statistics.median(rss), 2),
        "idle_rss_anon_mib_median": round(statistics.median(anon), 2),
    }


def bench_registration(Harness, tmp, accounts=50, timed=20):
    from harness import Kamailio
    from gi.repository import GLib
    h = Harness(tmp / "registration")
    try:
        users = {f"user{i}": f"pw{i}" for i in range(accounts + timed)}
        k = Kamailio(h, users=users)
        d = h.daemon("reg", config="[sip]\ntransaction-timeout=4\n", log_level="warning").start()
        pid = d.process.popen.pid
        watch = Watch(d)
        state = {}
        watch.on(PROPS, "PropertiesChanged",
                 lambda path, args: args[0] == ACCOUNT and "State" in args[1]
                 and state.__setitem__(path, (args[1]["State"], time.perf_counter())))

        def add(user, enabled):
            return d.add_account(user, password=users[user], enabled=enabled,
                                 address=f"sip:{user}@127.0.0.1", registrar=k.uri("udp"),
                                 local_address="127.0.0.1")

        # One at a time. From CreateAccount (and SetPassword right after it,
        # as a client does) to registered; and, for an account that exists
        # with its password, from enabling it to registered.
        created, enabled = [], []
        for i in range(timed):
            user = f"user{accounts + i}"
            t0 = time.perf_counter()
            path = add(user, True)
            watch.until(lambda: state.get(path, ("",))[0] == "registered", 10, user)
            created.append(state[path][1] - t0)
            d.call(path, ACCOUNT, "Update", "(a{sv})", ({"enabled": GLib.Variant("b", False)},))
            watch.until(lambda: state.get(path, ("",))[0] == "disabled", 10, f"{user} to be disabled")
            t0 = time.perf_counter()
            d.call(path, ACCOUNT, "Update", "(a{sv})", ({"enabled": GLib.Variant("b", True)},))
            watch.until(lambda: state.get(path, ("",))[0] == "registered", 10, user)
            enabled.append(state[path][1] - t0)
            d.manager("RemoveAccount", "(o)", (path,))
            watch.until(lambda: d.manager_prop("Accounts") == [], 10, "the account to go")
        state.clear()

        time.sleep(1)
        first = add("user0", True)
        watch.until(lambda: state.get(first, ("",))[0] == "registered", 10, "user0")
        time.sleep(2)
        rss_1 = rss_mib(pid)

        t0 = time.perf_counter()
        paths = [add(f"user{i}", True) for i in range(1, accounts)] + [first]
        watch.until(lambda: all(state.get(p, ("",))[0] == "registered" for p in paths), 60,
                    f"{accounts} accounts to register")
        all_in = max(state[p][1] for p in paths) - t0
        time.sleep(2)
        rss_n = rss_mib(pid)
        watch.close()
        return {
            "create_to_registered_ms_median": ms(statistics.median(created)),
            "create_to_registered_ms_p90": ms(pct(created, 90)),
            "enable_to_registered_ms_median": ms(statistics.median(enabled)),
            "enable_to_registered_ms_p90": ms(pct(enabled, 90)),
            "samples": len(created),
            "rss_mib_1_account": round(rss_1, 2),
            f"rss_mib_{accounts}_accounts": round(rss_n, 2),
            f"time_s_{accounts}_accounts_registered": round(all_in, 3),
        }
    finally:
        h.cleanup()


def bench_calls(Harness, tmp, setup_calls=50, concurrent=20, window=10.0):
    from gi.repository import GLib
    h = Harness(tmp / "calls")
    try:
        # One caller places calls back to back: lift the callee's per-source
        # request budget, which would turn them away (503) after 20.
        conf = ("[sip]\ntransaction-timeout=4\nrequest-rate=0\n"
                "[media]\ncodecs=pcmu\naudio-source=silence\naudio-sink=null\n")
        a, b, target = direct_pair(h, conf, allow_direct_calls=True)

        # The callee answers whatever rings, as soon as it is announced.
        answer_opts = {}
        wb = Watch(b)

        def on_added(_path, args):
            path, ifaces = args
            if CALL in ifaces and ifaces[CALL].get("State") == "incoming":
                b.bus.connection.call(
                    "org.dialtone.Phone1", path, CALL, "Answer",
                    GLib.Variant("(a{sv})", ({k: GLib.Variant("s", v) for k, v in answer_opts.items()},)),
                    None, 0, 10000, None, None, None)
        wb.on(OBJECT_MANAGER, "InterfacesAdded", on_added)

        wa = Watch(a)
        states = {}
        wa.on(PROPS, "PropertiesChanged",
              lambda path, args: args[0] == CALL and "State" in args[1]
              and states.__setitem__(path, (args[1]["State"], time.perf_counter())))

        def dial(**options):
            opts = {k: GLib.Variant("s", v) for k, v in options.items()}
            t0 = time.perf_counter()
            path = a.manager("Dial", "(sa{sv})", (target, opts), reply="(o)")[0]
            return path, t0

        def hangup(path):
            a.call(path, CALL, "Hangup")
            wa.until(lambda: states.get(path, ("",))[0] == "terminated", 10, "hang-up")

        # Setup time, one call at a time.
        setup = []
        for i in range(setup_calls + 3):
            path, t0 = dial()
            wa.until(lambda: states.get(path, ("",))[0] == "active", 10, f"call {i} to be active")
            if i >= 3:   # the first calls load GStreamer and its plugins
                setup.append(states[path][1] - t0)
            hangup(path)

        # Load: both ends send a tone and decode what they receive.
        answer_opts.update({"audio-source": "tone", "audio-sink": "file:/dev/null"})
        pids = {"caller": a.process.popen.pid, "callee": b.process.popen.pid}
        load = {}

        def measure(label, settle=2):
            time.sleep(settle)
            cpu = cpu_percent(list(pids.values()), window)
            load[label] = {name: {"cpu_percent": round(cpu[pid], 2), "rss_mib": round(rss_mib(pid), 2),
                                  "threads": threads(pid)} for name, pid in pids.items()}

        # Ended calls stay on the bus for 10 s: the baseline is taken after.
        measure("0 calls", settle=12)
        up = []
        for count in (1, concurrent):
            while len(up) < count:
                path, _ = dial(**{"audio-source": "tone", "audio-sink": "file:/dev/null"})
                wa.until(lambda: states.get(path, ("",))[0] == "active", 20, "a load call")
                up.append(path)
            measure(f"{count} calls")
            dropped = [p for p in up if states.get(p, ("",))[0] != "active"]
            if dropped:
                raise RuntimeError(f"{len(dropped)} of {len(up)} calls dropped under load")
        for path in up:
            hangup(path)
        wa.close()
        wb.close()

        def per_call(n, name, key):
            return round((load[f"{n} calls"][name][key] - load["0 calls"][name][key]) / n, 3)

        result = {
            "setup_ms_median": ms(statistics.median(setup)),
            "setup_ms_p95": ms(pct(setup, 95)),
            "setup_samples": len(setup),
            "load": load,
        }
        for n in (1, concurrent):
            for name in pids:
                result[f"{name}_cpu_percent_per_call_at_{n}"] = per_call(n, name, "cpu_percent")
                result[f"{name}_rss_mib_per_call_at_{n}"] = per_call(n, name, "rss_mib")
        return result
    finally:
        h.cleanup()


def bench_srtp(Harness, tmp, concurrent=20, window=10.0, rounds=3):
    """CPU per active PCMU call, plain RTP against SRTP, between two
    dialtoned: the same calls with media-encryption none, then optional
    (which both ends take as SRTP). Rounds alternate; medians reported."""
    from gi.repository import GLib
    h = Harness(tmp / "srtp")
    try:
        conf = "[sip]\ntransaction-timeout=4\n[media]\ncodecs=pcmu\naudio-source=tone\naudio-sink=null\n"
        a, b, target = direct_pair(h, conf, log_level="error", auto_answer=True, allow_direct_calls=True)
        pids = {"caller": a.process.popen.pid, "callee": b.process.popen.pid}
        wa = Watch(a)
        states = {}
        wa.on(PROPS, "PropertiesChanged",
              lambda path, args: args[0] == CALL and "State" in args[1]
              and states.__setitem__(path, args[1]["State"]))
        samples = {"none": {n: [] for n in pids}, "optional": {n: [] for n in pids}}
        for _ in range(rounds):
            for mode in ("none", "optional"):
                for d in (a, b):
                    d.call(d.account_path("lan"), ACCOUNT, "Update", "(a{sv})",
                           ({"media-encryption": GLib.Variant("s", mode)},))
                up = []
                for _ in range(concurrent):
                    path = a.manager("Dial", "(sa{sv})", (target, {}), reply="(o)")[0]
                    wa.until(lambda: states.get(path) == "active", 20, "an SRTP bench call")
                    up.append(path)
                encrypted = a.get(up[0], CALL, "Encrypted")
                if encrypted != (mode == "optional"):
                    raise RuntimeError(f"media-encryption={mode} gave Encrypted={encrypted}")
                time.sleep(2)
                cpu = cpu_percent(list(pids.values()), window)
                for name, pid in pids.items():
                    samples[mode][name].append(cpu[pid] / concurrent)
                for path in up:
                    a.call(path, CALL, "Hangup")
                wa.until(lambda: all(states.get(p) == "terminated" for p in up), 20, "hang-ups")
        wa.close()
        result = {"calls": concurrent, "rounds": rounds}
        for name in pids:
            plain = statistics.median(samples["none"][name])
            srtp = statistics.median(samples["optional"][name])
            result[f"{name}_cpu_percent_per_call_rtp"] = round(plain, 3)
            result[f"{name}_cpu_percent_per_call_srtp"] = round(srtp, 3)
            result[f"{name}_srtp_extra_percent"] = round(100 * (srtp - plain) / plain, 1) if plain else None
            result[f"{name}_spread_rtp"] = [round(x, 3) for x in samples["none"][name]]
            result[f"{name}_spread_srtp"] = [round(x, 3) for x in samples["optional"][name]]
        return result
    finally:
        h.cleanup()


