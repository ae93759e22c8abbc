"""Mouth-to-ear latency (issue 7, scenario 5), on loopback.

Mouth to ear, two dialtoned: the caller plays a WAV of clicks into the call
(PlayFile: the file's branch is stamped from the moment it starts and mixed
on the clock, as a microphone's samples are); the callee writes what it
hears to a WAV file on the pipeline clock, after the jitter buffer, as a
sound card plays it. A thread watches that file grow: a click is heard
when the write holding its first sample lands, plus where that sample sits
in the write. Measured with the default jitter buffer and with descending
settings below it, down to the lowest that stays loss-free: every click
heard and their spacing in the recording intact (a packet the jitter buffer
drops as late takes its 20 ms out of it). How far writes strayed from the
pace of the best-kept one is noted too: a sound card would play that as a
gap.

Echo turnaround: a raw RTP sender on loopback calls an echo peer (baresip's
aubridge echo, dialtoned's `echo` source) and sends PCMU with bursts that
start on a packet; the turnaround is from the burst's first packet leaving
to the first echoed packet that carries it arriving.

baresip's own mouth to ear is not measured: without a sound card it
decodes what it receives as packets arrive (its sndfile recording is not
paced like a player), so a figure would not be comparable.
"""

import re
import struct
import threading
import time

import numpy as np

from benchlib import CALL, figure, ms

NAME = "latency"
DESCRIPTION = "mouth-to-ear delay between two dialtoned (default and lowest loss-free jitter buffer), echo turnaround"
ORDER = 50

RATE = 8000
PACKET = 160                 # 20 ms of PCMU
CLICK_EVERY = 0.5            # seconds between clicks
CLICK_MS = 20.0
LEAD = 0.3                   # seconds of silence before the first click
SETTLE = 3.0                 # s: the jitter buffer's clock-skew estimate settles in its first 2 s
JITTER_STEPS = (40, 30, 25, 20, 15, 10, 5)   # tried below the default, descending


def click_file(path, count):
    from harness import audio
    samples = np.zeros(int((LEAD + count * CLICK_EVERY) * RATE))
    click = audio.tone(RATE, 1000.0, CLICK_MS, amplitude=0.5, ramp_ms=0.0)
    for i in range(count):
        at = int((LEAD + i * CLICK_EVERY) * RATE)
        samples[at:at + len(click)] = click
    return audio.write_wav(path, samples, RATE, 1)


def heard(recording, growth, since):
    """When each click was heard (monotonic); how far (ms) the writes after
    `since` strayed from the best-kept pace; whether the clicks' spacing is
    intact (nothing lost between them)."""
    from harness import audio
    samples, rate = audio.read_wav(recording)
    offset = audio.wav_data_offset(recording)
    writes = []                   # (time, first sample of the write, samples after it)
    previous = None
    for t, size in growth:
        if previous is not None and size > previous >= offset:
            writes.append((t, (previous - offset) // 2, (size - offset) // 2))
        previous = size
    onsets = [int(round(o * rate)) for o in audio.burst_onsets(samples, rate)]
    times = []
    for s in onsets:
        w = next((w for w in writes if w[1] <= s < w[2]), None)
        times.append(None if w is None else w[0] + (s - w[1]) / rate)
    # A sound card plays sample n at start + n / rate: how far each write
    # fell behind the best-kept pace.
    due = [t - first / rate for t, first, _ in writes if t >= since]
    spread_ms = 1000 * (max(due) - min(due)) if due else None
    gaps = [b - a for a, b in zip(onsets, onsets[1:])]
    intact = all(abs(g - CLICK_EVERY * rate) < PACKET / 2 for g in gaps)
    return onsets, times, spread_ms, intact


def one_way(h, caller, target, callee, clicks, count, tag):
    """Delays (s) of each click from PlayFile on the caller to the callee's ear."""
    from harness import audio, wait_for
    recording = h.tmp / f"heard-{tag}.wav"
    before = set(callee.manager_prop("Calls"))
    path = caller.manager("Dial", "(sa{sv})", (target, {}), reply="(o)")[0]

    def ringing():
        return next((p for p in callee.manager_prop("Calls") if p not in before
                     and callee.get(p, CALL, "State") == "incoming"), None)
    incoming = wait_for(ringing, 10, what="the callee to ring")
    from gi.repository import GLib
    callee.call(incoming, CALL, "Answer", "(a{sv})",
                ({"audio-source": GLib.Variant("s", "silence"),
                  "audio-sink": GLib.Variant("s", f"file:{recording}")},))
    wait_for(lambda: caller.get(path, CALL, "State") == "active", 10, what="the call to be active")
    time.sleep(SETTLE)
    stop, growth = threading.Event(), []
    watcher = threading.Thread(target=audio.watch_growth, args=(recording, stop, growth))
    watcher.start()
    try:
        time.sleep(0.1)
        caller.call(path, CALL, "PlayFile", "(sa{sv})", (str(clicks), {}))
        t0 = time.monotonic()
        time.sleep(LEAD + count * CLICK_EVERY + 0.4)
    finally:
        stop.set()
        watcher.join(5)
    jitter = callee.get(incoming, CALL, "Media")["jitter-buffer-ms"]
    caller.call(path, CALL, "Hangup")
    def finalised():
        try:
            return audio.wav_info(recording)["finalised"]
        except (OSError, ValueError):       # not there yet, or its header being rewritten
            return False
    wait_for(finalised, 10, what="the recording to be finalised")
    onsets, times, spread_ms, intact = heard(recording, growth, t0)
    delays = [t - (t0 + LEAD + i * CLICK_EVERY) for i, t in enumerate(times) if t is not None]
    clean = len(onsets) == count and None not in times and intact
    return {"jitter": jitter, "delays": delays, "clean": clean, "heard": len(onsets),
            "spread_ms": spread_ms}


def mouth_to_ear(ctx):
    from harness import free_port
    h = ctx.Harness(ctx.tmp / "mouth-to-ear")
    h.tmp.mkdir(parents=True, exist_ok=True)
    count = ctx.size(10, 3)
    clicks = click_file(h.tmp / "clicks.wav", count)
    conf = ("[sip]\ntransaction-timeout=4\n"
            "[media]\ncodecs=pcmu\naudio-source=silence\naudio-sink=null\n")
    try:
        caller = h.daemon("caller", config=conf, log_level="warning").start()
        caller.add_account("lan", address="sip:alice@127.0.0.1", local_address="127.0.0.1",
                           local_port=free_port())
        caller.wait_account("lan", "unregistered", "no-registrar")

        def measure(jitter):
            extra = f"jitter-buffer={jitter}\n" if jitter else ""
            callee = h.daemon(f"callee-{jitter or 'default'}", config=conf + extra, log_level="warning").start()
            port = free_port()
            callee.add_account("lan", address="sip:bob@127.0.0.1", local_address="127.0.0.1", local_port=port,
                               allow_direct_calls=True)
            callee.wait_account("lan", "unregistered", "no-registrar")
            runs = [one_way(h, caller, f"sip:bob@127.0.0.1:{port}", callee, clicks, count,
                            f"{jitter or 'default'}-{i}") for i in range(ctx.repeat)]
            callee.stop()
            return runs

        default = measure(None)
        lowest = None
        steps = [j for j in JITTER_STEPS if j < default[0]["jitter"]]
        for jitter in ctx.size(steps, steps[-2:]):
            runs = measure(jitter)
            if not all(r["clean"] for r in runs):
                break
            lowest = (jitter, runs)
        return default, lowest
    finally:
        h.cleanup()


# -- echo turnaround ----------------------------------------------------------

def echo_turnaround(host, port, user, seconds, answer=None):
    """Calls an echo peer from a raw SIP/RTP client; the turnaround of each
    burst (s). `answer` is called once the INVITE is out (a daemon that
    answers on request)."""
    import select
    from harness import SipClient, audio, bind_rtp_pair, sdp
    rtp, rtcp = bind_rtp_pair()
    client = SipClient()
    try:
        offer = sdp(port=rtp.getsockname()[1], attributes=("ptime:20", "sendrecv"))
        responses = []
        inviting = threading.Thread(target=lambda: responses.extend(
            client.invite(host, port, user=user, body=offer, timeout=10.0, hang_up=False)))
        inviting.start()
        if answer is not None:
            answer()
        inviting.join(12)
        ok = [r for r in responses if r.status == 200]
        if not ok:
            raise RuntimeError(f"the echo peer did not answer: {responses}")
        media = re.search(r"c=IN IP4 (\S+).*?m=audio (\d+)", ok[0].body, re.S)
        target = (media.group(1), int(media.group(2)))

        burst = audio.g711_encode(audio.tone(RATE, 1000.0, 60, amplitude=0.5, ramp_ms=0.0))
        silence = audio.g711_encode(np.zeros(PACKET))
        every = 25                    # packets: a burst every 500 ms
        sent, received, stop = [], [], threading.Event()

        def listen():
            while not stop.is_set():
                ready, _, _ = select.select([rtp], [], [], 0.05)
                if ready:
                    data = rtp.recv(2048)
                    arrival = time.monotonic()
                    if len(data) > 12 and data[0] >> 6 == 2:
                        received.append((arrival, data[12:]))
        listener = threading.Thread(target=listen)
        listener.start()
        try:
            start = time.monotonic()
            for i in range(int(seconds * 50)):
                due = start + i * 0.020
                while (now := time.monotonic()) < due:
                    time.sleep(min(0.002, due - now))
                k = i % every
                payload = burst[k * PACKET:(k + 1) * PACKET] if i >= every and k < 3 else silence
                header = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0, i & 0xFFFF, i * PACKET, 0x5EED1234)
                rtp.sendto(header + payload, target)
                if i >= every and k == 0:
                    sent.append(time.monotonic())
            time.sleep(0.4)
        finally:
            stop.set()
            listener.join(5)
        client.bye()
    finally:
        client.close()
        rtp.close()
        rtcp.close()
    loud = [t for t, payload in received
            if np.max(np.abs(audio.g711_decode(payload))) > 0.1]
    turnaround = []
    for s in sent:
        back = next((t for t in loud if t >= s), None)
        if back is not None and back - s < CLICK_EVERY:
            turnaround.append(back - s)
    return turnaround


def echo(ctx):
    from harness import Baresip, free_port, wait_for
    seconds = ctx.size(6, 2)
    h = ctx.Harness(ctx.tmp / "echo")
    h.tmp.mkdir(parents=True, exist_ok=True)
    try:
        ours = []
        d = h.daemon("echo", config="[sip]\ntransaction-timeout=4\n[media]\ncodecs=pcmu\naudio-sink=null\n",
                     log_level="warning").start()
        port = free_port()
        d.add_account("lan", address="sip:echo@127.0.0.1", local_address="127.0.0.1", local_port=port,
                      allow_direct_calls=True)
        d.wait_account("lan", "unregistered", "no-registrar")

        def answer():
            from gi.repository import GLib
            path = wait_for(lambda: next((p for p in d.manager_prop("Calls")
                                          if d.get(p, CALL, "State") == "incoming"), None), 10,
                            what="the echo call to ring")
            d.call(path, CALL, "Answer", "(a{sv})", ({"audio-source": GLib.Variant("s", "echo")},))
        note = None
        try:
            for _ in range(ctx.repeat):
                ours += echo_turnaround("127.0.0.1", port, "echo", seconds, answer)
        except Exception as e:       # a dialtoned without the echo source (before 0.3)
            note = f"dialtoned: no echo ({str(e).splitlines()[0][:80]})"
        theirs = []
        if ctx.peer:
            b = Baresip(h, "bob", audio_source="echo", answermode="auto", record=False)
            for _ in range(ctx.repeat):
                theirs += echo_turnaround("127.0.0.1", b.sip_port, "bob", seconds)
        return ours, (theirs if ctx.peer else None), note
    finally:
        h.cleanup()


def run(ctx):
    default, lowest = mouth_to_ear(ctx)
    def late(runs):
        return max(r["spread_ms"] or 0 for r in runs)
    rows = [figure("mouth-to-ear, default", "ms", [ms(d) for r in default for d in r["delays"]],
                   target="≤ 50 ms",
                   note=f"jitter buffer {default[0]['jitter']} ms; loss-free: {all(r['clean'] for r in default)}; "
                        f"writes up to {late(default):.1f} ms off the pace")]
    if lowest is not None:
        jitter, runs = lowest
        rows.append(figure("mouth-to-ear, lowest loss-free jitter buffer", "ms",
                           [ms(d) for r in runs for d in r["delays"]],
                           note=f"jitter-buffer={jitter}; writes up to {late(runs):.1f} ms off the pace"))
    else:
        rows.append(figure("mouth-to-ear, lowest loss-free jitter buffer", "ms", [],
                           note="no setting below the default was loss-free"))
    ours, theirs, note = echo(ctx)
    rows.append(figure("echo turnaround", "ms", [ms(t) for t in ours],
                       [ms(t) for t in theirs] if theirs is not None else None, target="≤ 50 ms",
                       note=note or "receive-to-send of a burst's first packet; baresip: aubridge echo"))
    return rows

