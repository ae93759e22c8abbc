"""Call.Statistics against real RTP: two daemons in a clean PCMU call, and a
raw RTP sender that skips sequence numbers. The counters must match what
went over the wire: packets counted on both ends, no loss where none was
made, and the skipped tenth reported lost (not late)."""

import pathlib
import re
import struct
import time

import pytest

from harness import audio, free_port, wait_for
from test_calls import CALL, answer, config, dial, incoming, raw_call_answered, state, wait_file, wait_state

COUNTERS = ("packets-sent", "packets-received", "packets-lost", "packets-late")


def direct_pair(harness):
    """Two daemons, b taking calls straight from a (no registrar)."""
    a = harness.daemon("a", config=config("pcmu")).start()
    b = harness.daemon("b", config=config("pcmu")).start()
    b.port = free_port()
    a.add_account("lan", address="sip:a@127.0.0.1", local_address="127.0.0.1")
    b.add_account("lan", address="sip:b@127.0.0.1", local_address="127.0.0.1", local_port=b.port,
                  allow_direct_calls=True)
    b.wait_account("lan", "unregistered", "no-registrar")
    return a, b


def statistics(daemon, path):
    return daemon.get(path, CALL, "Statistics")


def test_clean_call_counts_packets_both_ways(harness):
    a, b = direct_pair(harness)
    call_a = dial(a, f"sip:b@127.0.0.1:{b.port}", audio_source="tone")
    call_b = incoming(b)
    # No audio yet: nothing to count.
    assert statistics(b, call_b) == {}
    answer(b, call_b, audio_source="tone")
    wait_state(a, call_a, "active")
    wait_state(b, call_b, "active")
    time.sleep(2.2)

    for d, path in ((a, call_a), (b, call_b)):
        stats = statistics(d, path)
        print(f"\n{d.name}: {stats}")
        assert set(COUNTERS) | {"jitter-ms"} <= set(stats), stats
        assert stats["packets-received"] >= 80, stats
        assert stats["packets-sent"] >= 80, stats
        assert stats["packets-lost"] == 0, stats
        # Loopback: the interarrival jitter is a few milliseconds at most.
        assert 0 <= stats["jitter-ms"] < 20, stats
        if "rtt-ms" in stats:
            assert 0 <= stats["rtt-ms"] < 50, stats
    # Read on demand, not cached: a second read has counted more.
    before = statistics(b, call_b)["packets-received"]
    time.sleep(0.2)
    assert statistics(b, call_b)["packets-received"] > before
    # GetAll carries it too, as fresh.
    assert b.get_all(call_b, CALL)["Statistics"]["packets-received"] > before

    # dialtonectl reads it afresh too.
    r = b.ctl("stats", call_b)
    assert r.returncode == 0, r
    assert re.search(r"^packets-lost +0 \(0\.00 % of the received audio\)$", r.stdout, re.M), r.stdout
    shown = b.ctl("--json", "stats", call_b).json()
    assert shown["path"] == call_b and shown["packets-received"] > before, shown

    # The round trip comes from RTCP once one side has reported on the
    # other's sender report: within two report intervals (5 s each, at most
    # 1.5 times that), usually sooner.
    seen = {}

    def rtt_known():
        for d, path in ((a, call_a), (b, call_b)):
            stats = statistics(d, path)
            if "rtt-ms" in stats:
                seen.update(stats)
                return True
        return False
    wait_for(rtt_known, harness.timeout(12), interval=0.2, what="an RTT from RTCP")
    # Loopback, both ends on one machine: well under a millisecond or so.
    assert 0 <= seen["rtt-ms"] < 50, seen

    b.call(call_b, CALL, "Hangup")
    wait_state(a, call_a, "terminated")
    assert statistics(a, call_a) == {}
    # The ended call lingers a while on the bus: nothing to show for it.
    r = a.ctl("stats", call_a)
    assert r.returncode == 0 and r.stdout.startswith("No audio is running in call"), r


def rtp_packet(seq, timestamp, ssrc=0x5EED):
    # PCMU silence, 20 ms. Timestamps start far from 0, as a random base
    # would: GStreamer 1.22's jitter estimate breaks when the transit time
    # (arrival minus timestamp) wraps around 2^32 between two packets.
    return (struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (0x40000000 + timestamp) & 0xFFFFFFFF, ssrc)
            + b"\xff" * 160)


@pytest.mark.parametrize("sink", ["null", "file"])
def test_skipped_sequence_numbers_are_lost_packets(harness, tmp_path, sink):
    """A raw peer sends 101 packets of 20 ms, leaving out every tenth
    sequence number (timestamps advance as if it had been sent), each packet
    4 ms early or late by turns. The callee counts the 91 it received, the
    10 it never did as lost (about 10 % of the received audio), none late,
    and an interarrival jitter near the 8 ms the offsets make (7 ms
    measured here). The same whether nobody listens (the audio stops before
    the jitter buffer) or a file sink plays it."""
    b = harness.daemon("b", config=config("pcmu")).start()
    b.port = free_port()
    b.add_account("lan", address="sip:b@127.0.0.1", local_address="127.0.0.1", local_port=b.port,
                  allow_direct_calls=True)
    b.wait_account("lan", "unregistered", "no-registrar")

    client, rtp, call_b, ok = raw_call_answered(
        b, b.port, audio_sink="null" if sink == "null" else f"file:{tmp_path / 'heard.wav'}")
    try:
        media = re.search(r"c=IN IP4 (\S+).*?m=audio (\d+)", ok.body, re.S)
        target = (media.group(1), int(media.group(2)))
        wait_state(b, call_b, "active")

        start = time.monotonic()
        for i in range(101):
            due = start + i * 0.020 + (0.004 if i % 2 else -0.004)
            time.sleep(max(0.0, due - time.monotonic()))
            if i % 10 != 9:
                rtp.sendto(rtp_packet(1000 + i, 160 * i), target)
        # A gap is declared lost once the jitter buffer stops waiting for it.
        time.sleep(0.3)
        stats = statistics(b, call_b)
        r = b.ctl("stats", call_b)
        client.bye()
        wait_state(b, call_b, "terminated")
    finally:
        client.close()
        rtp.close()

    print(f"\n{stats}")
    assert stats["packets-received"] == 91, stats
    loss = stats["packets-lost"] / (stats["packets-received"] + stats["packets-lost"])
    assert 0.08 <= loss <= 0.12, stats
    # On a loaded machine this sender can itself fall behind: a packet or
    # two may come late (and its gap be counted lost first), the jitter be
    # higher. Off by a factor (clock units, the 1/16 scale) it is not.
    assert stats["packets-late"] <= 2, stats
    assert stats["packets-sent"] >= 80, stats
    assert 3 <= stats["jitter-ms"] <= 40, stats
    # Nobody sent RTCP: no round trip to tell.
    assert "rtt-ms" not in stats, stats
    assert re.search(r"^packets-lost +\d+ \(\d+\.\d\d % of the received audio\)$", r.stdout, re.M), r.stdout


def daemon_threads(daemon):
    """(name, /proc status text) of each of the daemon's threads now."""
    threads = []
    for task in pathlib.Path(f"/proc/{daemon.process.popen.pid}/task").iterdir():
        try:
            threads.append(((task / "comm").read_text().strip(), (task / "status").read_text()))
        except (FileNotFoundError, ProcessLookupError):
            continue            # the thread ended meanwhile
    return threads


def thread_switches(daemon, name):
    """Context switches so far of the daemon's threads called `name`."""
    return sum(int(line.split()[1]) for comm, status in daemon_threads(daemon) if comm == name
               for line in status.splitlines() if "ctxt_switches" in line)


def test_audio_nobody_listens_to_stops_before_the_jitter_buffer(harness, tmp_path):
    """With a null sink, what we receive is counted by the RTP session and
    goes no further: the jitter buffer's thread sleeps while the packets
    arrive. A recording started later gets the audio from then on: the jitter
    buffer wakes and the file holds the far end's tone. Once it stops, the
    jitter buffer sleeps again, and a second recording after that gap gets
    the audio as promptly."""
    a, b = direct_pair(harness)
    call_a = dial(a, f"sip:b@127.0.0.1:{b.port}", audio_source="tone")
    call_b = incoming(b)
    answer(b, call_b)
    wait_state(a, call_a, "active")
    wait_state(b, call_b, "active")
    time.sleep(0.5)

    def unheard(what):
        received, woken = statistics(b, call_b)["packets-received"], thread_switches(b, "rtpjitterbuffer")
        time.sleep(2.0)
        stats = statistics(b, call_b)
        gated = thread_switches(b, "rtpjitterbuffer") - woken
        print(f"\n{what}: {stats['packets-received'] - received} packets, {gated} jitter buffer switches")
        assert stats["packets-received"] - received >= 80, stats
        assert stats["packets-lost"] == 0 and stats["packets-late"] == 0, stats
        assert gated < 10, gated

    def recorded(name):
        recording = tmp_path / name
        b.call(call_b, CALL, "StartRecording", "(sa{sv})", (str(recording), {}))
        woken = thread_switches(b, "rtpjitterbuffer")
        time.sleep(2.0)
        listened = thread_switches(b, "rtpjitterbuffer") - woken
        b.call(call_b, CALL, "StopRecording", "()", ())
        print(f"{name}: {listened} jitter buffer switches")
        assert listened >= 50, listened
        # Complete "a moment later": read before then, a file holds a part.
        wait_file(recording, harness.timeout(5))
        heard, rate = audio.read_wav(recording)
        assert len(heard) / rate > 1.5, (name, len(heard) / rate)
        assert abs(audio.dominant_frequency(heard, rate) - 440) < 15
        assert statistics(b, call_b)["packets-lost"] == 0

    unheard("nobody listening")
    recorded("first.wav")
    unheard("after the recording")
    recorded("second.wav")


def test_a_file_source_is_sent_at_the_pace_of_the_call(harness, tmp_path):
    """A call whose source is a file sends one packet per 20 ms from the
    start, on every call of a daemon, and they reach the far end.

    The sending mixer (a file is mixed over live silence) once woke while
    its pipeline went to PLAYING, holding the clock but not yet its base
    time: it found the call's whole timeline overdue and sent seconds of
    silence at once, then nothing until the clock caught up. That was a
    race, lost about one call in twenty and never on a daemon's first
    call; so this makes twenty calls in a row, and each is a chance."""
    a, b = direct_pair(harness)
    sent = audio.write_wav(tmp_path / "b.wav", audio.tone(8000, 1000, 5000, amplitude=0.3), 8000)
    for n in range(20):
        call_a = dial(a, f"sip:b@127.0.0.1:{b.port}", audio_source="silence")
        call_b = incoming(b)
        answered = time.monotonic()
        answer(b, call_b, audio_source=f"file:{sent}")
        wait_state(a, call_a, "active")
        time.sleep(0.6)
        b_sent = statistics(b, call_b)["packets-sent"]
        elapsed = time.monotonic() - answered
        a_received = statistics(a, call_a)["packets-received"]
        a.call(call_a, CALL, "Hangup")
        wait_state(b, call_b, "terminated")
        # A burst would be 100 packets and more; a silent sender, none.
        assert b_sent <= elapsed / 0.02 + 10, (n, b_sent, elapsed)
        assert a_received >= 0.5 / 0.02 - 10, (n, a_received, b_sent)


def test_one_thread_receives_every_call_and_shrugs_off_bad_datagrams(harness):
    """Two raw peers call one daemon at once and send their RTP with junk
    between the packets: an empty datagram, one byte, a header cut short,
    a wrong RTP version, a 60 000-byte datagram, and junk at the RTCP port.
    Every good packet of each call is counted on its own call and nothing
    else is; both calls stay up; and one thread of the daemon receives for
    both (no per-socket udpsrc thread)."""
    b = harness.daemon("b", config=config("pcmu")).start()
    b.port = free_port()
    b.add_account("lan", address="sip:b@127.0.0.1", local_address="127.0.0.1", local_port=b.port,
                  allow_direct_calls=True)
    b.wait_account("lan", "unregistered", "no-registrar")

    peers = []
    try:
        for _ in range(2):
            client, rtp, call_b, ok = raw_call_answered(b, b.port)
            peers.append((client, rtp, call_b))
            media = re.search(r"c=IN IP4 (\S+).*?m=audio (\d+)", ok.body, re.S)
            target = (media.group(1), int(media.group(2)))
            rtcp = re.search(r"a=rtcp:(\d+)", ok.body)
            peers[-1] += (target, (target[0], int(rtcp.group(1)) if rtcp else target[1] + 1))
            wait_state(b, call_b, "active")
        junk = [b"", b"\x80", rtp_packet(1, 0)[:7], b"\x00" + rtp_packet(1, 0)[1:], b"\x00" * 60000]
        good = 50
        start = time.monotonic()
        for i in range(good):
            time.sleep(max(0.0, start + i * 0.020 - time.monotonic()))
            for n, (_, rtp, _, target, rtcp_target) in enumerate(peers):
                rtp.sendto(rtp_packet(2000 + i, 160 * i, ssrc=0x5EED + n), target)
                rtp.sendto(junk[i % len(junk)], target)
                rtp.sendto(junk[(i + 1) % len(junk)], rtcp_target)
        time.sleep(0.3)

        names = [comm for comm, _ in daemon_threads(b)]
        receivers = [n for n in names if n == "dt-rtp-receive"]
        udpsrc = [n for n in names if n.startswith("udpsrc")]
        for _, _, call_b, _, _ in peers:
            stats = statistics(b, call_b)
            print(f"\n{call_b}: {stats}")
            assert stats["packets-received"] == good, stats
            assert state(b, call_b) == "active"
        assert len(receivers) == 1 and not udpsrc, (len(receivers), len(udpsrc))
    finally:
        for client, rtp, *_ in peers:
            client.bye()
            client.close()
            rtp.close()
    assert b.process.popen.poll() is None
