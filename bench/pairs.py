"""Endpoints the issue 7 scenarios start in pairs, under the same
conditions on both sides: a caller and a callee that answers by itself, on
loopback, one codec, ptime 20, a tone source and no sound card.

    pair = DialtonePair(h, codec="pcmu")      # two dialtoned, direct calls
    pair = BaresipPair(h, codec="pcmu", max_calls=400)
    failed = pair.dial(50)                    # until 50 calls were placed
    pair.up()                                 # how many are still answered
    pair.pids                                 # {"caller": PID, "callee": PID}
    with LossMeter(pair) as meter: time.sleep(15)
    meter.result()                            # {"loss": 0.002, "method": ...}

The received-audio loss comes from dialtoned's own Call.Statistics
property when the daemon has it, else from what the receivers report in
RTCP (RtpSampler: an AF_PACKET capture on loopback, a sample of the streams
chosen in the kernel so that the bench itself stays cheap at hundreds of
calls), which is also how baresip's is measured.
"""

import ctypes
import math
import resource
import socket
import struct
import threading
import time

from benchlib import CALL, PROPS, Watch, direct_pair

BUS_NAME = "org.dialtone.Phone1"
ROOT = "/org/dialtone/Phone1"
MANAGER = "org.dialtone.Phone1.Manager"
PTIME = 0.020
LATE_S = 0.060          # transit this much above a stream's usual: too late to be played


def raise_fd_limit():
    """Hundreds of calls need thousands of sockets and pipes; the limit set
    here is inherited by every process the bench starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class DialtonePair:
    """Two dialtoned on one machine: `caller` places direct calls to
    `callee`, which takes them (allow-direct-calls, no registrar) and answers
    them by itself (auto-answer). Both send `source` and discard what they
    receive after decoding it."""

    def __init__(self, h, codec="pcmu", source="tone", max_calls=4, log_level="warning"):
        from gi.repository import GLib
        self.GLib = GLib
        self.ports = rtp_block(max_calls)
        half = (self.ports[0] + self.ports[1]) // 2 & ~1
        ranges = ((self.ports[0], half - 1), (half, self.ports[1]))
        # A caller placing calls back to back must not meet the callee's
        # per-source request budget (503 after 20).
        conf = ("[sip]\ntransaction-timeout=8\nrequest-rate=0\n"
                f"[media]\ncodecs={codec}\nptime=20\naudio-source={source}\naudio-sink=null\n"
                "rtp-port-min={}\nrtp-port-max={}\n")
        # Plain RTP, as baresip sends without a mediaenc module (both
        # dialtoned would otherwise agree on SRTP).
        self.a, self.b, self.target = direct_pair(
            h, conf.format(*ranges[0]), conf.format(*ranges[1]), log_level=log_level,
            caller_opts={"media_encryption": "none"},
            allow_direct_calls=True, auto_answer=True, media_encryption="none")
        self.pids = {"caller": self.a.process.popen.pid, "callee": self.b.process.popen.pid}
        self.source_mib = 0.0
        self.calls = []
        self.states = {}
        self.failures = []
        self.watch = Watch(self.a)
        self.watch.on(PROPS, "PropertiesChanged",
                      lambda path, args: args[0] == CALL and "State" in args[1]
                      and self.states.__setitem__(path, args[1]["State"]))

    def dial(self, count, batch=20, timeout=60):
        """Places calls until `count` were placed, `batch` at a time (each
        batch answered before the next); returns how many failed to become
        active (dialling stops at the first batch with a failure)."""
        conn = self.a.bus.connection
        GLib = self.GLib
        deadline = time.monotonic() + timeout
        while len(self.calls) < count:
            n = min(batch, count - len(self.calls))
            replies = []

            def done(c, result, _data=None):
                try:
                    replies.append(c.call_finish(result).unpack()[0])
                except GLib.Error as e:
                    replies.append(None)
                    self.failures.append(e.message)
            for _ in range(n):
                conn.call(BUS_NAME, ROOT, MANAGER, "Dial",
                          GLib.Variant("(sa{sv})", (self.target, {})), GLib.VariantType("(o)"),
                          0, 30000, None, done, None)
            self.watch.until(lambda: len(replies) == n, max(1, deadline - time.monotonic()),
                             "Dial replies")
            paths = [p for p in replies if p]
            self.calls += paths
            try:
                self.watch.until(lambda: all(self.states.get(p) in ("active", "terminated")
                                             for p in paths),
                                 max(1, deadline - time.monotonic()), f"{n} calls to be answered")
            except TimeoutError:
                pass
            bad = n - sum(1 for p in paths if self.states.get(p) == "active")
            if bad:
                return bad
        return 0

    def up(self):
        context = self.GLib.MainContext.default()
        while context.iteration(False):             # take the signals that came meanwhile
            pass
        return sum(1 for p in self.calls if self.states.get(p) in ("active", "held", "remote-held"))

    def ended_reasons(self):
        """{StateReason: count} of the calls that ended (read while their
        objects are still on the bus, 10 s after the end)."""
        reasons = {}
        for path in self.calls:
            if self.states.get(path) == "terminated":
                try:
                    why = self.a.get(path, CALL, "StateReason")
                except self.GLib.Error:
                    why = "unknown"
                reasons[why] = reasons.get(why, 0) + 1
        return reasons

    def hangup_all(self):
        """Manager.HangupAll, as an operator ends a batch, and waits for every
        call to end."""
        live = [p for p in self.calls if self.states.get(p) != "terminated"]
        self.a.call(ROOT, MANAGER, "HangupAll", reply="(u)")
        self.watch.until(lambda: all(self.states.get(p) == "terminated" for p in live), 30,
                         "hang-ups")
        self.calls = []

    def call_paths(self):
        """Every call both daemons hold, for reading their statistics."""
        return ([(self.a, p) for p in self.calls]
                + [(self.b, p) for p in self.b.manager_prop("Calls")])

    def statistics(self):
        """Summed Call.Statistics of every call of both daemons, or None when
        the daemon has no such property (older than issue 7's)."""
        from gi.repository import GLib
        total = {"received": 0, "lost": 0, "late": 0}
        for d, path in self.call_paths():
            try:
                stats = d.get(path, CALL, "Statistics")
            except GLib.Error as e:
                if "Statistics" in e.message or "UnknownProperty" in e.message \
                        or "InvalidArgs" in e.message:
                    return None
                continue            # a call that ended meanwhile
            total["received"] += int(stats.get("packets-received", 0))
            total["lost"] += int(stats.get("packets-lost", 0))
            total["late"] += int(stats.get("packets-late", 0))
        return total

    def close(self):
        self.watch.close()


class BaresipPair:
    """Two baresip: `caller` dials `callee` directly (no registrar), which
    answers by itself (answermode=auto). One process per side holds all the
    calls: call_max_calls (4 by default) and the RTP port range are raised
    to fit `max_calls`; baresip 1.0 itself numbers a process's calls with
    line numbers 1-255 and refuses a 256th ("could not assign linenumber").
 Both play a tone file (aufile; baresip hangs up when
    it ends, so it lasts `seconds`) and have no player."""

    def __init__(self, h, codec="pcmu", max_calls=4, seconds=60):
        from harness import make_source_wav
        wav = make_source_wav(h.tmp / f"tone-{codec}-{int(seconds)}.wav", codec, "tone",
                              seconds=seconds, freq=440)
        self.ports = rtp_block(max_calls)
        half = (self.ports[0] + self.ports[1]) // 2 & ~1
        self.b = self._start(h, "bob", codec, wav, max_calls, (half, self.ports[1]),
                             answermode="auto")
        self.a = self._start(h, "alice", codec, wav, max_calls, (self.ports[0], half - 1))
        self.pids = {"caller": self.a.process.popen.pid, "callee": self.b.process.popen.pid}
        # aufile reads the whole file into memory for each call: that much
        # of baresip's RSS per call is the bench's doing, not baresip's.
        self.source_mib = (wav.stat().st_size - 44) / (1 << 20)
        self.failures = []
        self.placed = 0
        self.mark_a = self.a.mark()
        self.mark_b = self.b.mark()

    @staticmethod
    def _start(h, name, codec, wav, max_calls, ports, **kwargs):
        from harness import Baresip
        b = Baresip(h, name, codecs=(codec,), ptime=20, audio_source=wav, record=False,
                    sip_trace=False, extra_config=f"call_max_calls\t\t{max_calls + 4}\n",
                    start=False, **kwargs)
        b.rtp_first, b.rtp_last = ports
        b.write_config()
        return b.start()

    def established(self):
        return len(self.a.events("CALL_ESTABLISHED", self.mark_a))

    def closed(self):
        return (len(self.a.events("CALL_CLOSED", self.mark_a))
                + len(self.b.events("CALL_CLOSED", self.mark_b)))

    def dial(self, count, batch=20, timeout=60):
        """Like DialtonePair.dial, through ctrl_tcp's `dial`."""
        deadline = time.monotonic() + timeout
        while self.placed < count:
            n = min(batch, count - self.placed)
            refused = 0
            for _ in range(n):
                r = self.a.command("dial", self.b.uri(), timeout=10, check=False)
                if not r.get("ok"):
                    refused += 1
                    self.failures.append(str(r.get("data")))
            self.placed += n - refused
            while self.established() < self.placed and not self.closed() \
                    and time.monotonic() < deadline:
                time.sleep(0.01)
            bad = refused + self.placed - self.established()
            if bad or self.closed():
                return max(bad, self.closed())
        return 0

    def up(self):
        return max(0, self.established() - self.closed())

    def hangup_all(self):
        for _ in range(self.up()):
            self.a.command("hangup", check=False)
        deadline = time.monotonic() + 30

        def ended(side, mark):      # both sides, or a late CALL_CLOSED counts against the next
            return (len(side.events("CALL_CLOSED", mark))
                    >= len(side.events("CALL_ESTABLISHED", mark)))
        while not (ended(self.a, self.mark_a) and ended(self.b, self.mark_b)) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        self.placed = 0
        self.mark_a, self.mark_b = self.a.mark(), self.b.mark()

    def statistics(self):
        return None

    def ended_reasons(self):
        reasons = {}
        for e in self.a.events("CALL_CLOSED", self.mark_a) + self.b.events("CALL_CLOSED", self.mark_b):
            reasons[e.get("param")] = reasons.get(e.get("param"), 0) + 1
        return reasons

    def close(self):
        pass


def rtp_block(max_calls):
    """(first, last) of a block of free ports for a pair's RTP, twice what
    `max_calls` calls need on each side (the daemons pick ports at random
    in their half), so that the wire sampler counts our streams only: the
    machine's loopback carries other people's RTP too."""
    import random
    count = 2 * (4 * max(4, max_calls) + 16)
    # Below the kernel's ephemeral ports (ip_local_port_range, 32768 and
    # up by default), where nothing binds without asking for a port:
    # thousands of free ports in a row are found there.
    for _ in range(50):
        first = random.randrange(10000, 32768 - count) & ~1
        if all(_bindable(p) for p in range(first, first + count)):
            return first, first + count - 1
    raise RuntimeError(f"no {count} free consecutive UDP ports below 32768")


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- loss of the received audio ---------------------------------------------

class LossMeter:
    """Loss and lateness of the audio the calls of a pair receive during
    the `with` block: from the daemons' Call.Statistics when they have it,
    else from the RTCP reports of a sample of the streams (RtpSampler)."""

    def __init__(self, pair, calls):
        self.pair = pair
        self.calls = calls
        self.sampler = None
        self.before = pair.statistics()
        self.method = ("dialtoned's Call.Statistics (lost + late)" if self.before is not None
                       else "the receivers' RTCP reports, captured on loopback (lost)")

    def __enter__(self):
        if self.before is None:
            try:
                self.sampler = RtpSampler(self.pair.ports,
                                          streams=2 * max(1, self.calls)).__enter__()
            except PermissionError:
                self.method = "none (the RTP capture needs root)"
        self.after = None
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.t0
        if self.sampler is not None:
            self.sampler.__exit__(*exc)
        elif self.before is not None:
            self.after = self.pair.statistics()
        return False

    def result(self):
        if self.sampler is not None:
            r = self.sampler.result()
            r["method"] = self.method
            return r
        if self.after is None:
            return {"loss": None, "method": self.method}
        got = {k: self.after[k] - self.before[k] for k in self.after}
        expected = got["received"] + got["lost"]
        loss = (got["lost"] + got["late"]) / expected if expected else None
        return {"loss": loss, "lost": got["lost"], "late": got["late"],
                "expected": expected, "method": self.method}


# Classic BPF, as the kernel runs it on every packet of the capture socket.
def _bpf(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


SKF_AD_PKTTYPE = -0x1000 + 4
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35     # SCM_TIMESTAMPNS: when the kernel took the packet


class RtpSampler:
    """RTP and RTCP on loopback, read as they cross: every stream whose UDP
    destination ports have their bits 1..k clear (k chosen so that about
    `sample` of `streams` streams are kept; all of them when there are
    few). The kernel filters (BPF), Python only sees the sample.

    The loss is what the receivers themselves report: the RTCP receiver
    report blocks (cumulative packets lost, extended highest sequence
    number received) of every sampled stream, compared between the first
    and the last report of the window; dialtoned and baresip both send
    them every few seconds, so a window shorter than that has no figure.
    Packets that came but too late to be played are not in it. For the
    record it also counts the RTP packets and how late the senders put
    them on the wire compared with the stream's usual transit (which a
    busy machine inflates). Needs root (AF_PACKET), as tests/integration/
    harness/capture.py does."""

    def __init__(self, ports, streams, sample=24, interface="lo", payload=160):
        self.ports = ports
        k = max(0, int(math.floor(math.log2(max(1, streams) / sample)))) if streams > sample else 0
        self.mask = ((1 << k) - 1) << 1
        self.fraction = 1 / (1 << k)
        self.interface = interface
        self.sizes = (12 + payload, 12 + payload + 10)     # RTP, SRTP (80-bit tag)
        self.packets = {}           # (port, ssrc) -> [(arrival, rtp timestamp)]
        self.reports = {}           # (reporter, source) -> [(cumulative lost, highest seq)]
        self._stop = threading.Event()

    def _filter(self):
        reject, accept = 0, 0xFFFF
        prog = [
            _bpf(0x20, 0, 0, SKF_AD_PKTTYPE),   # ld pkttype
            _bpf(0x15, 13, 0, 4),               # outgoing copy on lo: drop
            _bpf(0x28, 0, 0, 12),               # ldh ethertype
            _bpf(0x15, 0, 11, 0x0800),
            _bpf(0x30, 0, 0, 23),               # ldb protocol
            _bpf(0x15, 0, 9, 17),               # UDP
            _bpf(0x28, 0, 0, 20),               # ldh fragment
            _bpf(0x45, 7, 0, 0x1FFF),
            _bpf(0xB1, 0, 0, 14),               # ldxb 4*(ip[0]&0xf)
            _bpf(0x48, 0, 0, 16),               # ldh dst port
            _bpf(0x35, 0, 4, self.ports[0]),    # in the pair's block
            _bpf(0x25, 3, 0, self.ports[1]),
            _bpf(0x54, 0, 0, self.mask),        # a port with bits 1..k clear (RTP, RTCP)
            _bpf(0x15, 0, 1, 0),
            _bpf(0x06, 0, 0, accept),
            _bpf(0x06, 0, 0, reject),
        ]
        return b"".join(prog), len(prog)

    def __enter__(self):
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        code, n = self._filter()
        self._buf = ctypes.create_string_buffer(code)
        fprog = struct.pack("HL", n, ctypes.addressof(self._buf))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        # The kernel's time of arrival, not ours: the bench's own thread
        # runs late when the endpoints load the machine.
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.bind((self.interface, 0))
        self._sock.setblocking(False)
        try:                        # what came before the filter was attached
            while True:
                self._sock.recv(65535)
        except BlockingIOError:
            pass
        self._sock.settimeout(0.05)
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.t1 = time.monotonic()
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        return False

    def _run(self):
        sock, packets, sizes = self._sock, self.packets, self.sizes
        while not self._stop.is_set():
            try:
                frame, anc, _flags, _addr = sock.recvmsg(65535, 64)
            except socket.timeout:
                continue
            now = None
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", data[:16])
                    now = sec + nsec / 1e9
            if now is None:
                now = time.time()
            ihl = (frame[14] & 0x0F) * 4
            udp = 14 + ihl
            rtp = frame[udp + 8:]
            if len(rtp) >= 8 and rtp[0] >> 6 == 2 and rtp[1] in (200, 201):
                self._rtcp(rtp)
                continue
            if len(rtp) not in sizes or rtp[0] >> 6 != 2 or 72 <= (rtp[1] & 0x7F) <= 76:
                continue
            port = (frame[udp + 2] << 8) | frame[udp + 3]
            ts, ssrc = struct.unpack_from("!II", rtp, 4)
            packets.setdefault((port, ssrc), []).append((now, ts))

    def _rtcp(self, data):
        """The report blocks of a compound RTCP packet's SR or RR."""
        pos = 0
        while pos + 8 <= len(data):
            count, kind = data[pos] & 0x1F, data[pos + 1]
            length = 4 * (struct.unpack_from("!H", data, pos + 2)[0] + 1)
            if kind in (200, 201):
                reporter = struct.unpack_from("!I", data, pos + 4)[0]
                block = pos + 8 + (20 if kind == 200 else 0)
                for _ in range(count):
                    if block + 24 > pos + length or block + 24 > len(data):
                        break
                    source, lost, highest = struct.unpack_from("!III", data, block)
                    lost &= 0xFFFFFF
                    if lost & 0x800000:         # signed: duplicates can make it negative
                        lost -= 1 << 24
                    self.reports.setdefault((reporter, source), []).append((lost, highest))
                    block += 24
            pos += length

    def result(self, rate=8000):
        lost = got = 0
        for reports in self.reports.values():
            if len(reports) >= 2:
                (lost0, seq0), (lost1, seq1) = reports[0], reports[-1]
                got += seq1 - seq0
                lost += lost1 - lost0
        window = self.t1 - self.t0
        expected = received = late = 0
        for pkts in self.packets.values():
            received += len(pkts)
            expected += window / PTIME
            ts0 = pkts[0][1]
            # RTP time from the stream's first packet (the timestamp wraps at 2^32)
            transit = sorted(t - (((ts - ts0 + 2**31) & 0xFFFFFFFF) - 2**31) / rate
                             for t, ts in pkts)
            usual = transit[len(transit) // 20]           # 5th percentile
            late += sum(1 for x in transit if x - usual > LATE_S)
        return {"loss": lost / got if got > 0 else None, "lost": lost, "expected": got,
                "reports": sum(len(r) for r in self.reports.values()),
                "wire_missing": round(max(0.0, expected - received)),
                "wire_late": late, "wire_expected": round(expected),
                "streams_sampled": len(self.packets), "sample_fraction": self.fraction}
