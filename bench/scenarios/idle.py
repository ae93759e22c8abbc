"""Idle footprint: one account registered at Kamailio, nothing else."""

import time

from benchlib import figure, rss_mib, status

NAME = "idle"
DESCRIPTION = "RSS (and anonymous RSS) 10 s after one account registered at Kamailio"
ORDER = 10


def rss_anon_mib(pid):
    return int(status(pid)["RssAnon"].split()[0]) / 1024


def run(ctx):
    from harness import Baresip, Kamailio
    settle = ctx.size(10, 1)
    rss = {"dialtoned": [], "baresip": []}
    anon = {"dialtoned": [], "baresip": []}
    for i in range(ctx.repeat):
        h = ctx.Harness(ctx.tmp / f"idle-{i}")
        try:
            k = Kamailio(h, users={"alice": "a-pass", "bob": "b-pass"})
            d = h.daemon("dialtoned", config="[media]\naudio-source=silence\naudio-sink=null\n",
                         log_level="warning").start()
            d.add_account("k", password="a-pass", address="sip:alice@127.0.0.1",
                          registrar=k.uri("udp"), local_address="127.0.0.1")
            pids = {"dialtoned": d.process.popen.pid}
            if ctx.peer:
                # No sound card: a (silent) file source, no player.
                b = Baresip(h, "bob", password="b-pass", registrar=k, record=False,
                            sip_trace=False, source_seconds=1)
                pids["baresip"] = b.process.popen.pid
                b.wait_registered()
            d.wait_account("k", "registered")
            time.sleep(settle)
            for name, pid in pids.items():
                rss[name].append(rss_mib(pid))
                anon[name].append(rss_anon_mib(pid))
        finally:
            h.cleanup()
    peer = (lambda name: (rss if name == "rss" else anon)["baresip"]) if ctx.peer else (lambda _: None)
    return [
        figure("idle RSS, 1 registered account", "MiB", rss["dialtoned"], peer("rss"),
               target="≤ 8 MiB", note=f"VmRSS {settle} s after registration"),
        figure("idle anonymous RSS (RssAnon)", "MiB", anon["dialtoned"], peer("anon"),
               note="heap and stacks; the rest of RSS is shared library pages"),
    ]
