"""Call control and automation against real peers: hold and resume, mute,
DTMF both ways (RFC 4733 and SIP INFO), playing a file into a call,
recording both directions, auto-answer, do-not-disturb, call waiting, and
the errors bad requests get while the call carries on.

What the far end heard is checked in its own recording (baresip's, or a
second dialtoned's), and what the far end sent in ours.
"""

import pathlib
import subprocess
import time

import numpy as np
import pytest
from gi.repository import Gio, GLib

from harness import Baresip, SipClient, Sipp, audio, build_dir, free_port, sdp, wait_for
from harness.baresip import make_source_wav
from test_calls import CALL, answer, config, dial, history, incoming, wait_file, wait_state

ERR = "org.dialtone.Phone1.Error."


class Signals:
    """Records one Call signal of a daemon, with when it arrived."""

    def __init__(self, daemon, member):
        self.got = []
        self.conn = daemon.bus.connection
        self.sub = self.conn.signal_subscribe(None, CALL, member, None, None,
                                              Gio.DBusSignalFlags.NONE, self._on)

    def _on(self, conn, sender, path, iface, member, params):
        self.got.append((path, time.monotonic(), params.unpack()))

    def pump(self):
        ctx = GLib.MainContext.default()
        while ctx.iteration(False):
            pass

    def wait(self, predicate, timeout=10, what="a signal"):
        def seen():
            self.pump()
            return predicate(self.got)
        wait_for(seen, timeout, interval=0.01, what=what)
        return self.got

    def close(self):
        self.conn.signal_unsubscribe(self.sub)


def dbus_error(excinfo):
    return Gio.DBusError.get_remote_error(excinfo.value)


def call_method(daemon, path, method, signature=None, args=()):
    return daemon.call(path, CALL, method, signature, args)


def lan_daemon(harness, name, codecs="pcmu", extra="", **account):
    d = harness.daemon(name, config=config(codecs, extra)).start()
    d.port = free_port()
    d.add_account("lan", address=f"sip:{name}@127.0.0.1", local_address="127.0.0.1", local_port=d.port,
                  allow_direct_calls=True, **account)
    d.wait_account("lan", "unregistered", "no-registrar")
    return d


def connect(a, b):
    """a calls b directly, b answers: both calls active."""
    call_a = dial(a, f"sip:b@127.0.0.1:{b.port}")
    call_b = incoming(b)
    answer(b, call_b)
    wait_state(a, call_a, "active")
    wait_state(b, call_b, "active")
    return call_a, call_b


def established(harness, tmp_path, source="tone", sink="null", baresip_source=None, **baresip):
    """dialtoned calls a baresip that answers by itself; both active."""
    d = lan_daemon(harness, "phone")
    bob = Baresip(harness, answermode="auto", audio_source=baresip_source, **baresip)
    call = dial(d, bob.uri(), audio_source=source, audio_sink=sink)
    wait_state(d, call, "active", timeout=15)
    bob.wait_established()
    return d, bob, call


# Hold and resume ---------------------------------------------------------------

def test_hold_and_resume_with_baresip(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    before = len(bob.sip_messages())
    t0 = time.monotonic()
    call_method(d, call, "Hold")
    wait_state(d, call, "held")
    hold_rtt = time.monotonic() - t0
    assert d.get(call, CALL, "Media")["direction"] == "sendonly"
    t0 = time.monotonic()
    call_method(d, call, "Resume")
    wait_state(d, call, "active")
    resume_rtt = time.monotonic() - t0
    print(f"\nhold round trip {hold_rtt * 1000:.1f} ms, resume {resume_rtt * 1000:.1f} ms")
    invites = bob.wait_sip_messages("INVITE", direction="received", since=before, count=2)
    answers = bob.wait_sip_messages("INVITE", status=200, direction="sent", since=before, count=2)
    assert ["a=sendonly" in i.body for i in invites] == [True, False], invites
    assert ["a=recvonly" in a.body for a in answers] == [True, False], answers
    assert d.get(call, CALL, "Media")["direction"] == "sendrecv"

    # The other way: baresip holds us.
    bob.hold()
    wait_state(d, call, "remote-held")
    bob.resume()
    wait_state(d, call, "active")
    call_method(d, call, "Hangup")
    wait_state(d, call, "terminated")


def test_hold_states_and_errors(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    with pytest.raises(GLib.Error) as e:
        call_method(d, call, "Resume")
    assert dbus_error(e) == ERR + "InvalidState"
    call_method(d, call, "Hold")
    wait_state(d, call, "held")
    with pytest.raises(GLib.Error) as e:
        call_method(d, call, "Hold")
    assert dbus_error(e) == ERR + "InvalidState"
    # Held, and the far end holds too: still "held" (ours shows first).
    bob.hold()
    time.sleep(0.5)
    assert wait_state(d, call, "held")["Media"]["direction"] == "inactive"
    call_method(d, call, "Resume")
    wait_state(d, call, "remote-held")
    bob.resume()
    wait_state(d, call, "active")


# Mute ---------------------------------------------------------------------------

def test_mute_silences_what_the_far_end_hears(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    time.sleep(1.5)
    r = d.ctl("mute", call)
    assert r.returncode == 0, r
    assert d.get(call, CALL, "Muted") is True
    time.sleep(2.0)
    r = d.ctl("unmute", call)
    assert r.returncode == 0, r
    assert d.get(call, CALL, "Muted") is False
    time.sleep(1.5)
    call_method(d, call, "Hangup")
    wait_state(d, call, "terminated")
    heard, rate = audio.read_wav(bob.received_audio())
    levels = audio.frame_levels(heard, rate, frame_ms=100)
    # Tone, then about 2 s of silence (RTP kept flowing: the recording is
    # continuous), then tone again.
    loud = [lvl > -30 for lvl in levels]
    quiet_runs = "".join("q" if not x else "l" for x in loud)
    longest_quiet = max(len(run) for run in quiet_runs.split("l"))
    assert 17 <= longest_quiet <= 23, quiet_runs
    first, last = quiet_runs.index("q" * 17), quiet_runs.rindex("q" * 17)
    assert "l" * 5 in quiet_runs[:first] and "l" * 5 in quiet_runs[last:], quiet_runs
    assert len(heard) / rate > 4.5


# DTMF ---------------------------------------------------------------------------

def test_dtmf_to_baresip_rfc4733(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    m = bob.mark()
    t0 = time.monotonic()
    call_method(d, call, "SendDtmf", "(s)", ("0123456789*#",))
    bob.wait_event("CALL_DTMF_START", since=m)
    latency = time.monotonic() - t0
    got = bob.wait_dtmf("0123456789*#", since=m, timeout=15)
    assert got == "0123456789*#"
    print(f"\nDTMF dialtoned → baresip: first digit after {latency * 1000:.1f} ms")
    assert len(bob.events("CALL_DTMF_END", since=m)) >= 11


def test_dtmf_from_baresip_rfc4733(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    sig = Signals(d, "DtmfReceived")
    t0 = time.monotonic()
    bob.send_dtmf("0123456789*#")
    got = sig.wait(lambda g: len(g) >= 12, timeout=15, what="12 digits")
    digits = "".join(args[0] for path, _, args in got)
    assert digits == "0123456789*#"
    assert all(path == call for path, _, _ in got)
    print(f"\nDTMF baresip → dialtoned: first digit after {(got[0][1] - t0) * 1000:.1f} ms")
    sig.close()


@pytest.mark.parametrize("mode", ["auto", "info"])
def test_dtmf_between_daemons(harness, mode):
    """Every digit, as RFC 4733 events (auto) or SIP INFO; A-D too."""
    a = lan_daemon(harness, "a", dtmf_mode=mode)
    b = lan_daemon(harness, "b")
    sig = Signals(b, "DtmfReceived")
    call_a, call_b = connect(a, b)
    t0 = time.monotonic()
    r = a.ctl("dtmf", call_a, "0123456789*#abcd")
    assert r.returncode == 0, r
    got = sig.wait(lambda g: len(g) >= 16, timeout=20, what="16 digits")
    assert "".join(args[0] for _, _, args in got) == "0123456789*#ABCD"
    print(f"\nDTMF ({mode}) dialtoned → dialtoned: first digit after {(got[0][1] - t0) * 1000:.1f} ms, "
          f"16 digits in {(got[-1][1] - t0):.2f} s")
    log = a.output()
    assert ("(SIP INFO)" in log) == (mode == "info")
    sig.close()


def test_hang_up_in_a_digit_while_recording(harness, tmp_path):
    """Hanging up while a digit sounds and the call is recorded: the
    recording gets its end of stream and a finished header, and rtpdtmfsrc
    lets go of the digit (it leaks one stopped before its end is sent,
    which the sanitizer build's exit would show)."""
    a = lan_daemon(harness, "a")
    b = lan_daemon(harness, "b")
    sig = Signals(b, "DtmfReceived")
    call_a, call_b = connect(a, b)
    recording = tmp_path / "call.wav"
    a.call(call_a, CALL, "StartRecording", "(sa{sv})", (str(recording), {}))
    time.sleep(0.5)
    r = a.ctl("dtmf", call_a, "1234567890")
    assert r.returncode == 0, r
    sig.wait(lambda g: len(g) >= 1, timeout=10, what="the first digit")
    sig.close()
    # Digits take 250 ms, 100 ms apart, and b reports one as it starts or
    # ends: 150 ms later, one sounds.
    time.sleep(0.15)
    call_method(a, call_a, "Hangup")
    wait_state(a, call_a, "terminated")
    wait_state(b, call_b, "terminated")
    wait_file(recording)
    heard, rate = audio.read_wav(recording)
    assert len(heard) / rate > 0.4, len(heard) / rate
    assert a.stop(timeout=harness.timeout(10)) == 0


def test_dtmf_bad_input_leaves_the_call_alone(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    for digits in ("12x", "", "1" * 300, "5 6"):
        with pytest.raises(GLib.Error) as e:
            call_method(d, call, "SendDtmf", "(s)", (digits,))
        assert dbus_error(e) == ERR + "InvalidArguments", digits
    r = d.ctl("dtmf", call, "9z")
    assert r.returncode != 0 and "'z'" in r.stderr, r
    assert d.get(call, CALL, "State") == "active"
    m = bob.mark()
    call_method(d, call, "SendDtmf", "(s)", ("7",))
    assert bob.wait_dtmf("7", since=m) == "7"


# Playing a file ---------------------------------------------------------------

def test_play_file_reaches_the_far_end(harness, tmp_path):
    d, bob, call = established(harness, tmp_path, source="silence")
    prompt = audio.make_test_signal(tmp_path / "prompt.wav", 16000, seconds=3)  # resampled to 8 kHz
    sig = Signals(d, "PlaybackFinished")
    r = d.ctl("play", call, str(prompt))
    assert r.returncode == 0, r
    got = sig.wait(lambda g: len(g) >= 1, timeout=10, what="PlaybackFinished")
    assert got[0][2] == (str(prompt), "finished")
    time.sleep(0.5)
    call_method(d, call, "Hangup")
    wait_state(d, call, "terminated")
    heard = bob.received_audio()
    result = audio.compare(prompt, heard, max_lag_s=5.0, method="envelope")
    print(f"\nplayed file at the far end: correlation {result['correlation']:.3f}")
    assert abs(result["correlation"]) > 0.8, result
    sig.close()


def test_play_file_loops_until_stopped(harness, tmp_path):
    d, bob, call = established(harness, tmp_path, source="silence")
    beep = make_source_wav(tmp_path / "beep.wav", "pcmu", "tone", seconds=0.5, freq=1000)
    sig = Signals(d, "PlaybackFinished")
    call_method(d, call, "PlayFile", "(sa{sv})", (str(beep), {"loop": GLib.Variant("b", True)}))
    time.sleep(2.2)
    sig.pump()
    assert sig.got == []  # still looping after four lengths of the file
    call_method(d, call, "StopPlayback")
    got = sig.wait(lambda g: len(g) >= 1, what="PlaybackFinished")
    assert got[0][2] == (str(beep), "stopped")
    with pytest.raises(GLib.Error) as e:
        call_method(d, call, "StopPlayback")
    assert dbus_error(e) == ERR + "InvalidState"
    time.sleep(0.5)
    call_method(d, call, "Hangup")
    wait_state(d, call, "terminated")
    heard, rate = audio.read_wav(bob.received_audio())
    loud = audio.active_ratio(heard, rate, threshold_dbfs=-30)
    # The 0.5 s tone sounded for ~2.2 s (less the start of the call): it
    # looped, more than twice.
    assert loud * len(heard) / rate > 1.2, (loud, len(heard) / rate)
    sig.close()


def test_play_file_mixed_keeps_the_source(harness, tmp_path):
    d, bob, call = established(harness, tmp_path, source="tone")  # 440 Hz
    beep = make_source_wav(tmp_path / "beep.wav", "pcmu", "tone", seconds=1.5, freq=1500)
    call_method(d, call, "PlayFile", "(sa{sv})", (str(beep), {"mix": GLib.Variant("b", True)}))
    time.sleep(2.0)
    call_method(d, call, "Hangup")
    wait_state(d, call, "terminated")
    heard, rate = audio.read_wav(bob.received_audio())
    spectrum = abs(np.fft.rfft(heard))
    freqs = np.fft.rfftfreq(len(heard), 1 / rate)

    def power_at(f):
        return spectrum[(freqs > f - 20) & (freqs < f + 20)].max()
    floor = spectrum[(freqs > 2500) & (freqs < 3500)].mean()
    assert power_at(440) > 20 * floor and power_at(1500) > 20 * floor


def test_play_file_errors(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    not_wav = tmp_path / "notes.txt"
    not_wav.write_text("hello")
    cases = [("relative.wav", "InvalidArguments"), (str(tmp_path / "missing.wav"), "NotFound"),
             (str(not_wav), "InvalidArguments"), (str(tmp_path), "InvalidArguments")]
    for path, err in cases:
        with pytest.raises(GLib.Error) as e:
            call_method(d, call, "PlayFile", "(sa{sv})", (path, {}))
        assert dbus_error(e) == ERR + err, (path, e.value.message)
    with pytest.raises(GLib.Error) as e:
        call_method(d, call, "PlayFile", "(sa{sv})", ("/x.wav", {"loop": GLib.Variant("s", "yes")}))
    assert dbus_error(e) == ERR + "InvalidArguments" and "loop" in e.value.message
    assert d.get(call, CALL, "State") == "active"


# Recording ----------------------------------------------------------------------

def test_recording_holds_both_sides(harness, tmp_path):
    theirs = make_source_wav(tmp_path / "theirs.wav", "pcmu", "signal", seconds=10)
    d, bob, call = established(harness, tmp_path, source="tone", baresip_source=theirs)
    mixed, split = tmp_path / "mixed.wav", tmp_path / "split.wav"
    r = d.ctl("record", call, str(mixed))
    assert r.returncode == 0, r
    assert d.get(call, CALL, "Recording") == str(mixed)
    time.sleep(3.0)
    r = d.ctl("stop-recording", call)
    assert r.returncode == 0, r
    assert d.get(call, CALL, "Recording") == ""
    wait_file(mixed)
    # A second recording of the same call, split into two channels.
    r = d.ctl("record", call, str(split), "--split")
    assert r.returncode == 0, r
    time.sleep(2.0)
    call_method(d, call, "Hangup")  # the call's end finishes the file
    wait_state(d, call, "terminated")
    wait_file(split)

    info = audio.wav_info(mixed)
    assert info["channels"] == 1 and info["rate"] == 8000, info
    rec, rate = audio.read_wav(mixed)
    assert len(rec) / rate > 2.5
    # Both sides are in it: our 440 Hz tone, and (with the tone taken out)
    # what baresip sent.
    spectrum = np.fft.rfft(rec)
    freqs = np.fft.rfftfreq(len(rec), 1 / rate)
    tone_band = (freqs > 400) & (freqs < 480)
    assert abs(spectrum[tone_band]).max() > 10 * abs(spectrum[freqs > 3000]).mean()
    spectrum[(freqs > 380) & (freqs < 500)] = 0
    audio.write_wav(tmp_path / "mixed-without-tone.wav", np.fft.irfft(spectrum, len(rec)), rate)
    # (A loose bound: under a sanitizer the live tone has dropouts whose
    # clicks the notch leaves in; the split recording below is exact.)
    found = audio.compare(theirs, tmp_path / "mixed-without-tone.wav", max_lag_s=3.0, method="envelope")
    assert found["correlation"] > 0.35 and found["rms_rec_dbfs"] > -35, found

    info = audio.wav_info(split)
    assert info["channels"] == 2, info
    both, _ = audio.read_wav(split, mono=False)
    left, right = both[:, 0], both[:, 1]
    assert audio.dominant_frequency(left, rate) == pytest.approx(440, abs=10)
    audio.write_wav(tmp_path / "right.wav", right, rate)
    found = audio.compare(theirs, tmp_path / "right.wav", max_lag_s=6.0, method="signal")
    print(f"\nsplit recording, their side: correlation {found['correlation']:.3f}")
    assert found["correlation"] > 0.8, found
    assert audio.dominant_frequency(right, rate) != pytest.approx(440, abs=10)


def test_recording_is_valid_after_the_daemon_stops(harness, tmp_path):
    d, bob, call = established(harness, tmp_path, source="tone")
    out = tmp_path / "kept.ogg"
    call_method(d, call, "StartRecording", "(sa{sv})", (str(out), {}))
    time.sleep(2.0)
    d.stop()  # SIGTERM: the daemon ends the call and finishes the file
    data = out.read_bytes()
    assert data[:4] == b"OggS" and b"OpusHead" in data[:200]
    # It decodes to the end (a cut-off Ogg stream fails here).
    decoded = tmp_path / "decoded.wav"
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={out}", "!", "oggdemux", "!", "opusdec", "!",
                    "audioconvert", "!", "wavenc", "!", "filesink", f"location={decoded}"],
                   check=True, timeout=30, capture_output=True)
    samples, rate = audio.read_wav(decoded)
    assert 1.5 < len(samples) / rate < 4.0, len(samples) / rate
    assert audio.dominant_frequency(samples, rate) == pytest.approx(440, abs=10)


def test_recording_errors(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    cases = [("rel.wav", {}, "InvalidArguments"), (str(tmp_path / "no" / "dir.wav"), {}, "NotFound"),
             (str(tmp_path), {}, "InvalidArguments"),
             (str(tmp_path / "x.wav"), {"format": GLib.Variant("s", "mp3")}, "InvalidArguments"),
             (str(tmp_path / "x.wav"), {"channels": GLib.Variant("s", "7")}, "InvalidArguments"),
             (str(tmp_path / "x.wav"), {"bogus": GLib.Variant("b", True)}, "InvalidArguments")]
    for path, options, err in cases:
        with pytest.raises(GLib.Error) as e:
            call_method(d, call, "StartRecording", "(sa{sv})", (path, options))
        assert dbus_error(e) == ERR + err, (path, options, e.value.message)
    with pytest.raises(GLib.Error) as e:
        call_method(d, call, "StopRecording")
    assert dbus_error(e) == ERR + "InvalidState"
    ok = tmp_path / "ok.wav"
    call_method(d, call, "StartRecording", "(sa{sv})", (str(ok), {}))
    with pytest.raises(GLib.Error) as e:
        call_method(d, call, "StartRecording", "(sa{sv})", (str(tmp_path / "again.wav"), {}))
    assert dbus_error(e) == ERR + "InvalidState"
    assert d.get(call, CALL, "State") == "active"


def test_automation_needs_an_answered_call(harness):
    d = lan_daemon(harness, "d")
    client = SipClient()
    client.invite("127.0.0.1", d.port, user="d", body=sdp(client.host, 40000), timeout=0.5)
    call = incoming(d)
    for method, sig, args in (("Hold", None, ()), ("SendDtmf", "(s)", ("1",)),
                              ("PlayFile", "(sa{sv})", ("/x.wav", {})),
                              ("StartRecording", "(sa{sv})", ("/tmp/x.wav", {}))):
        with pytest.raises(GLib.Error) as e:
            call_method(d, call, method, sig, args)
        assert dbus_error(e) == ERR + "InvalidState", method
    assert d.get(call, CALL, "State") == "incoming"


# Auto-answer, do-not-disturb, call waiting ---------------------------------------

def test_auto_answer_after_a_delay(harness):
    d = lan_daemon(harness, "d", auto_answer=True, auto_answer_delay=1)
    bob = Baresip(harness)
    t0 = time.monotonic()
    bob.dial(f"sip:d@127.0.0.1:{d.port}")
    call = incoming(d)
    wait_state(d, call, "active", timeout=5)
    waited = time.monotonic() - t0
    bob.wait_established()
    assert 0.9 < waited < 3.0, waited


@pytest.mark.parametrize("allowed", [True, False])
def test_answer_when_the_caller_asks(harness, allowed):
    d = lan_daemon(harness, "d", auto_answer_on_request=allowed)
    client = SipClient()
    responses = client.invite("127.0.0.1", d.port, user="d", body=sdp(client.host, 40000),
                              extra=("Call-Info: <sip:127.0.0.1>;answer-after=0",), timeout=2.0)
    statuses = [r.status for r in responses]
    if allowed:
        assert statuses[-1] == 200, statuses
    else:
        assert 200 not in statuses and 180 in statuses, statuses
        call = incoming(d)
        assert d.get(call, CALL, "State") == "incoming"


def test_do_not_disturb_refuses_busy_and_counts_as_missed(harness):
    d = lan_daemon(harness, "d")
    r = d.ctl("account", "set", "lan", "do-not-disturb=true")
    assert r.returncode == 0, r
    client = SipClient()
    responses = client.invite("127.0.0.1", d.port, user="d", body=sdp(client.host, 40000), timeout=3.0)
    assert responses[-1].status == 486, [x.status for x in responses]
    entries = wait_for(lambda: history(d, missed=True), 5, what="a missed call")
    assert entries[0]["state-reason"] == "do-not-disturb"
    # Still registered-less and working: turning it off lets calls ring.
    assert d.account("lan")["State"] == "unregistered"
    r = d.ctl("account", "set", "lan", "do-not-disturb=false")
    assert r.returncode == 0, r
    client.invite("127.0.0.1", d.port, user="d", body=sdp(client.host, 40002), timeout=0.5)
    incoming(d)


def test_answering_a_second_call_holds_the_first(harness):
    d = lan_daemon(harness, "d")
    bob = Baresip(harness, "bob")
    carol = Baresip(harness, "carol")
    bob.dial(f"sip:d@127.0.0.1:{d.port}")
    first = incoming(d)
    answer(d, first)
    wait_state(d, first, "active")
    carol.dial(f"sip:d@127.0.0.1:{d.port}")
    second = wait_for(lambda: next((p for p in d.manager_prop("Calls") if p != first and
                                    d.get(p, CALL, "State") == "incoming"), None), 10,
                      what="the second call")
    r = d.ctl("answer", second, "--hold-others")
    assert r.returncode == 0, r
    wait_state(d, second, "active")
    wait_state(d, first, "held")
    # Switch back: hold the second, resume the first.
    call_method(d, second, "Hold")
    call_method(d, first, "Resume")
    wait_state(d, second, "held")
    wait_state(d, first, "active")
    count = d.manager("HangupAll", reply="(u)")[0]
    assert count == 2
    wait_state(d, first, "terminated")
    wait_state(d, second, "terminated")


# The automation guide's example ---------------------------------------------------

def test_ivr_example_script(harness, tmp_path):
    """docs/examples/ivr.sh, as a user runs it: baresip answers, hears the
    greeting, keys in a PIN; the script prints it and reads it back."""
    script = pathlib.Path(__file__).resolve().parents[2] / "docs" / "examples" / "ivr.sh"
    d = harness.daemon("ivr", config=config("pcmu")).start()
    d.add_account("lan", address="sip:ivr@127.0.0.1", local_address="127.0.0.1")
    speech = make_source_wav(tmp_path / "caller.wav", "pcmu", "signal", seconds=20)
    bob = Baresip(harness, answermode="auto", audio_source=speech)
    greeting = audio.make_test_signal(tmp_path / "greeting.wav", 8000, seconds=2)
    recording = tmp_path / "call.wav"
    env = d.env()
    env["PATH"] = f"{build_dir() / 'tools' / 'dialtonectl'}:{env['PATH']}"
    proc = subprocess.Popen([str(script), bob.uri(), str(greeting), str(recording)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "waiting for the PIN", (line, proc.stderr.read() if proc.poll() else "")
        time.sleep(0.5)
        m = bob.mark()
        bob.send_dtmf("1234#")
        out, err = proc.communicate(timeout=harness.timeout(30))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (out, err)
    assert out.strip() == "PIN: 1234", (out, err)
    assert bob.wait_dtmf("1234", since=m) == "1234"
    bob.wait_closed()
    wait_file(recording)
    heard = bob.received_audio()
    assert audio.contains_signal(greeting, heard, min_correlation=0.8, max_lag_s=3.0, method="envelope")
    # The recording holds both sides: the greeting, then (alone once the
    # greeting is over) what baresip said.
    assert audio.contains_signal(greeting, recording, min_correlation=0.5, max_lag_s=3.0, method="envelope")
    # The last 1.5 s: baresip talking while the script read the PIN back.
    # Not all of it matches what baresip sent: while baresip sends digits
    # it sends no audio, and the recording holds the digits' tones (as
    # heard) instead; how much of the tail its last digit and the script's
    # own start-up (slow under a sanitizer) take moves from run to run.
    # Half a second of it at least must be baresip's audio, sample for
    # sample (windows of 0.3 s, 0.1 s apart).
    rec, rate = audio.read_wav(recording)
    sent = audio.read_wav(bob.sent_audio())
    tail = rec[-int(1.5 * rate):]
    window, step = int(0.3 * rate), int(0.1 * rate)
    matches = [round(audio.compare(sent, (tail[i:i + window], rate), max_lag_s=20.0,
                                   method="signal")["correlation"], 3)
               for i in range(0, len(tail) - window + 1, step)
               if audio.rms_dbfs(tail[i:i + window]) > -40]
    assert sum(1 for c in matches if c > 0.9) >= 3, matches
    entry = history(d)[0]
    assert entry["direction"] == "outgoing" and entry["state-reason"] == "local-hangup"


# Local conference -----------------------------------------------------------------

def band_level(samples, rate, freq):
    """Spectral level around `freq` relative to the whole, in dB."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = spectrum[(freqs > freq - 25) & (freqs < freq + 25)]
    return 20 * np.log10(band.max() / (spectrum.max() + 1e-12) + 1e-12)


def test_three_party_conference(harness, tmp_path):
    """We (a 440 Hz tone) call bob (1000 Hz) and carol (1600 Hz) and join the
    calls: each hears the other two and not itself."""
    d = lan_daemon(harness, "host")
    bob = Baresip(harness, "bob", answermode="auto",
                  audio_source=make_source_wav(tmp_path / "bob.wav", "pcmu", "tone", seconds=30, freq=1000))
    carol = Baresip(harness, "carol", answermode="auto",
                    audio_source=make_source_wav(tmp_path / "carol.wav", "pcmu", "tone", seconds=30, freq=1600))
    call_b = dial(d, bob.uri(), audio_source="tone", audio_sink="null")
    wait_state(d, call_b, "active", timeout=15)
    # (Not held meanwhile: a re-INVITE ends baresip 1.0's recording.)
    call_c = dial(d, carol.uri(), audio_source="tone", audio_sink="null")
    wait_state(d, call_c, "active", timeout=15)
    time.sleep(1.0)
    m_b = bob.mark()
    r = d.ctl("conference", call_b, call_c)
    assert r.returncode == 0, r
    conference = int(r.stdout)
    assert conference > 0
    assert d.get(call_b, CALL, "Conference") == d.get(call_c, CALL, "Conference") == conference
    t_joined = time.monotonic()
    time.sleep(3.0)
    # Bob goes; carol's call carries on, no longer in a conference.
    d.call(call_b, CALL, "Hangup")
    wait_state(d, call_b, "terminated")
    assert d.get(call_c, CALL, "Conference") == 0
    assert d.get(call_c, CALL, "State") == "active"
    time.sleep(1.0)
    d.call(call_c, CALL, "Hangup")
    wait_state(d, call_c, "terminated")
    assert bob.events("CALL_CLOSED", since=m_b)  # bob saw the call end

    # The conference seconds: the last 2 s before bob hung up. Bob's
    # recording ends then; carol's goes on 1 s longer.
    seconds = time.monotonic() - t_joined
    assert seconds > 3.0
    heard_b, rate = audio.read_wav(bob.received_audio())
    heard_c, _ = audio.read_wav(carol.received_audio())
    seg_b = heard_b[-int(2.0 * rate):]
    seg_c = heard_c[-int(3.0 * rate):-int(1.0 * rate)]
    lv_b = {f: band_level(seg_b, rate, f) for f in (440, 1000, 1600)}
    lv_c = {f: band_level(seg_c, rate, f) for f in (440, 1000, 1600)}
    print(f"\nbob hears {lv_b}\ncarol hears {lv_c}")
    assert lv_b[440] > -10 and lv_b[1600] > -10 and lv_b[1000] < -30, lv_b
    assert lv_c[440] > -10 and lv_c[1000] > -10 and lv_c[1600] < -30, lv_c
    # After bob left, carol hears only us.
    tail_c = heard_c[-int(0.8 * rate):]
    assert band_level(tail_c, rate, 1000) < -30 and band_level(tail_c, rate, 440) > -10


def test_conference_errors(harness, tmp_path):
    d, bob, call = established(harness, tmp_path)
    for paths, err in (([call], "InvalidArguments"), ([call, call], "InvalidArguments"),
                       ([call, "/org/dialtone/Phone1/Call/99"], "NotFound")):
        with pytest.raises(GLib.Error) as e:
            d.manager("CreateConference", "(ao)", (paths,), reply="(u)")
        assert dbus_error(e) == ERR + err, paths
    with pytest.raises(GLib.Error) as e:
        call_method(d, call, "LeaveConference")
    assert dbus_error(e) == ERR + "InvalidState"
    assert d.get(call, CALL, "State") == "active"


def test_inband_dtmf_detection(harness, tmp_path):
    """A peer that sends DTMF as tones in the audio: heard when the account
    listens for them (dtmf-detect-inband)."""
    low = {"1": 697, "5": 770, "9": 852, "#": 941}
    high = {"1": 1209, "5": 1336, "9": 1477, "#": 1477}
    rate = 8000
    pieces = [np.zeros(int(0.3 * rate))]
    for digit in "159#":
        t = np.arange(int(0.12 * rate)) / rate
        pieces += [0.25 * (np.sin(2 * np.pi * low[digit] * t) + np.sin(2 * np.pi * high[digit] * t)),
                   np.zeros(int(0.12 * rate))]
    tones = audio.write_wav(tmp_path / "tones.wav", np.concatenate(pieces), rate)
    a = lan_daemon(harness, "a")
    b = lan_daemon(harness, "b", dtmf_detect_inband=True)
    sig = Signals(b, "DtmfReceived")
    call_a, call_b = connect(a, b)
    call_method(a, call_a, "PlayFile", "(sa{sv})", (str(tones), {}))
    got = sig.wait(lambda g: len(g) >= 4, timeout=10, what="4 in-band digits")
    assert "".join(args[0] for _, _, args in got) == "159#"
    sig.close()


def test_dtmf_falls_back_to_info_without_telephone_event(harness):
    """A callee whose answer has no telephone-event gets SIP INFO, which
    sipp checks (content type, digit, duration)."""
    d = lan_daemon(harness, "d")
    peer = Sipp.uas(harness, "uas-info-dtmf.xml", calls=1)
    call = dial(d, peer.uri("callee"))
    assert wait_state(d, call, "active")["Media"]["telephone-event"] is False
    call_method(d, call, "SendDtmf", "(s)", ("7",))
    info = wait_for(lambda: peer.requests("INFO"), 5, what="the INFO at sipp")
    assert "Signal=7" in info[0] and "application/dtmf-relay" in info[0], info
    time.sleep(0.5)
    call_method(d, call, "Hangup")
    wait_state(d, call, "terminated")
    assert peer.wait() == 0, peer.report()
    assert "(SIP INFO)" in d.output()


def test_replacing_and_stopping_files_quickly_keeps_the_call(harness, tmp_path):
    """A file replaced or stopped at once leaves a branch that reports its
    flushing end after it is gone: that is not the call's error (this ended
    the call as media-failed within a few dozen rounds)."""
    a = lan_daemon(harness, "a")
    b = lan_daemon(harness, "b", auto_answer=True)
    prompt = audio.write_wav(tmp_path / "prompt.wav", audio.tone(8000, 440, 3000, amplitude=0.3), 8000)
    call = dial(a, f"sip:b@127.0.0.1:{b.port}")
    wait_state(a, call, "active")
    for i in range(60):
        call_method(a, call, "PlayFile", "(sa{sv})", (str(prompt), {}))
        call_method(a, call, "PlayFile", "(sa{sv})", (str(prompt), {}))
        call_method(a, call, "StopPlayback")
        assert a.get(call, CALL, "State") == "active", f"round {i}: {a.get_all(call, CALL)}"
    time.sleep(0.3)
    assert a.get(call, CALL, "State") == "active"
    call_method(a, call, "Hangup")
