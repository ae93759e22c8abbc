"""Calls with real audio: dialtoned to dialtoned through Kamailio, direct
calls, failures, history.

Audio is proven, not assumed: the caller plays a known signal (silence,
speech, a chirp, tone bursts), the callee records what it receives, and the
recording must match it (cross-correlation) at the expected delay.
"""

import json
import pathlib
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
from gi.repository import Gio, GLib

from harness import Kamailio, SipClient, build_dir, free_port, sdp, wait_for
from harness import audio

CALL = "org.dialtone.Phone1.Call"
HISTORY = "org.dialtone.Phone1.History"

CODEC_RATE = {"pcmu": 8000, "pcma": 8000, "g722": 16000, "opus": 48000}


def config(codecs="opus,g722,pcmu,pcma", extra="", transaction_timeout=4):
    return (f"[sip]\ntransaction-timeout={transaction_timeout}\n"
            f"[media]\ncodecs={codecs}\naudio-source=silence\naudio-sink=null\n{extra}")


class Pair:
    """Two daemons registered at one Kamailio: alice and bob."""

    def __init__(self, harness, codecs_a="opus,g722,pcmu,pcma", codecs_b="opus,g722,pcmu,pcma",
                 extra_a="", extra_b="", transaction_timeout=4):
        self.k = Kamailio(harness, users={"alice": "alicepw", "bob": "bobpw"})
        self.a = harness.daemon("alice", config=config(codecs_a, extra_a, transaction_timeout)).start()
        self.b = harness.daemon("bob", config=config(codecs_b, extra_b, transaction_timeout)).start()
        for d, user, pw in ((self.a, "alice", "alicepw"), (self.b, "bob", "bobpw")):
            d.add_account(user, password=pw, address=f"sip:{user}@127.0.0.1",
                          registrar=self.k.uri("udp"), local_address="127.0.0.1")
        for d, user in ((self.a, "alice"), (self.b, "bob")):
            d.wait_account(user, "registered")
            self.k.wait_contacts(user)


def dial(daemon, uri, **options):
    opts = {k.replace("_", "-"): GLib.Variant("s", v) for k, v in options.items()}
    return daemon.manager("Dial", "(sa{sv})", (uri, opts), reply="(o)")[0]


def state(daemon, path):
    return daemon.get(path, CALL, "State")


def wait_state(daemon, path, wanted, timeout=10):
    last = {}

    def reached():
        last.update(daemon.get_all(path, CALL))
        return last["State"] == wanted
    try:
        wait_for(reached, daemon.harness.timeout(timeout), interval=0.02,
                 what=f"{path} to be {wanted}")
    except TimeoutError as e:
        raise TimeoutError(f"{e}; it is {last.get('State')}/{last.get('StateReason')} "
                           f"({last.get('SipStatus')} {last.get('SipReason')})") from None
    return dict(last)


def incoming(daemon, timeout=10):
    def ringing():
        for path in daemon.manager_prop("Calls"):
            try:
                if state(daemon, path) == "incoming":
                    return path
            except GLib.Error as e:
                # A call leaves the bus 10 s after it ended, which can fall
                # between reading the list and reading the call.
                if "UnknownMethod" not in e.message:
                    raise
        return None
    return wait_for(ringing, daemon.harness.timeout(timeout), what="an incoming call")


def answer(daemon, path, **options):
    opts = {k.replace("_", "-"): GLib.Variant("s", v) for k, v in options.items()}
    daemon.call(path, CALL, "Answer", "(a{sv})", (opts,))


def history(daemon, **filt):
    variants = {}
    for k, v in filt.items():
        key = k.replace("_", "-")
        variants[key] = GLib.Variant("b", v) if isinstance(v, bool) else GLib.Variant("s", v)
    return daemon.call("/org/dialtone/Phone1", HISTORY, "ListCalls", "(a{sv}uu)",
                       (variants, 0, 0), reply="(aa{sv})")[0]


def wait_file(path, timeout=5):
    def finalised():
        try:
            return path.exists() and audio.wav_info(path)["finalised"]
        except ValueError:
            return False  # not a WAV file yet: nothing written so far
    wait_for(finalised, timeout, what=f"{path} to be finalised")


@pytest.mark.parametrize("codec", ["pcmu", "pcma", "g722", "opus"])
def test_call_through_registrar_carries_audio(harness, tmp_path, codec):
    pair = Pair(harness, codecs_a=codec)
    rate = CODEC_RATE[codec]
    sent = audio.make_test_signal(tmp_path / "sent.wav", rate, seconds=5)
    received = tmp_path / "received.wav"

    call_a = dial(pair.a, "sip:bob@127.0.0.1", audio_source=f"file:{sent}")
    call_b = incoming(pair.b)
    props = pair.b.get_all(call_b, CALL)
    assert props["RemoteUri"] == "sip:alice@127.0.0.1"
    assert props["Direction"] == "incoming"
    assert wait_state(pair.a, call_a, "ringing-out")["SipStatus"] == 180
    answer(pair.b, call_b, audio_sink=f"file:{received}")
    media = wait_state(pair.a, call_a, "active")["Media"]
    wait_state(pair.b, call_b, "active")
    assert media["codec"].lower().startswith(codec)
    assert media["remote-address"] == "127.0.0.1"

    time.sleep(6)  # the 5 s signal, then some silence
    pair.a.call(call_a, CALL, "Hangup")
    end_a = wait_state(pair.a, call_a, "terminated")
    end_b = wait_state(pair.b, call_b, "terminated")
    assert end_a["StateReason"] == "local-hangup"
    assert end_b["StateReason"] == "remote-hangup"
    wait_file(received)

    result = audio.compare(sent, received, max_lag_s=2.0,
                           method="signal" if codec in ("pcmu", "pcma") else "envelope")
    # The recording starts with the first packet that reached the sink, so
    # the lag is not the delay (a slow start, as under a sanitizer, can
    # even make it slightly negative); it only has to be small.
    print(f"\n{codec}: correlation {result['correlation']:.3f}, SNR {result['snr_db']:.1f} dB")
    assert abs(result["correlation"]) > (0.9 if codec in ("pcmu", "pcma") else 0.8), result
    assert abs(result["lag_s"]) < 0.5, result

    # Both sides recorded it, with the codec.
    for d, direction in ((pair.a, "outgoing"), (pair.b, "incoming")):
        entries = history(d)
        assert len(entries) == 1
        e = entries[0]
        assert e["direction"] == direction and e["state"] == "terminated"
        assert e["codec"].lower().startswith(codec)
        assert e["answered-usec"] > 0 and e["duration-usec"] > 5_000_000


def test_call_from_bob_to_alice(harness, tmp_path):
    """The other direction, with the CLI driving both ends."""
    pair = Pair(harness)
    sent = audio.make_tone_bursts(tmp_path / "bursts.wav", 48000, count=8)
    received = tmp_path / "received.wav"

    r = pair.b.ctl("call", "alice", "--audio-source", f"file:{sent}")  # completed to sip:alice@127.0.0.1
    assert r.returncode == 0, r
    call_b = r.stdout.strip()
    incoming(pair.a)
    r = pair.a.ctl("answer", "--audio-sink", f"file:{received}")
    assert r.returncode == 0, r
    assert pair.b.ctl("wait", call_b, "--state", "active", "--timeout", "10").returncode == 0
    time.sleep(4.5)
    assert pair.a.ctl("hangup").returncode == 0
    wait_state(pair.b, call_b, "terminated")
    wait_file(received)
    # Onsets keep their spacing: nothing was lost or stretched on the way.
    # (Where they sit in the recording says little: it starts with the
    # first packet, which may be silence sent while the file was opening.)
    s, rate_s = audio.read_wav(sent)
    r, rate_r = audio.read_wav(received)
    pairs = audio.match_onsets(audio.burst_onsets(s, rate_s), audio.burst_onsets(r, rate_r), max_delay_s=2.0)
    offsets = [b - a for a, b in pairs]
    assert len(pairs) >= 7, pairs
    assert max(offsets) - min(offsets) < 0.01, offsets
    calls = pair.a.ctl("--json", "history").json()
    assert calls[0]["direction"] == "incoming" and calls[0]["remote-uri"] == "sip:bob@127.0.0.1"


def lan_pair(harness, callee_extra="", callee_env=None):
    """Daemons a and b with registrar-less accounts on loopback, b taking
    direct calls on the returned port; `callee_extra` goes to b's [media]."""
    a = harness.daemon("a", config=config("pcmu")).start()
    b = harness.daemon("b", config=config("pcmu", callee_extra), env=callee_env).start()
    port = free_port()
    a.add_account("lan", address="sip:a@127.0.0.1", local_address="127.0.0.1")
    b.add_account("lan", address="sip:b@127.0.0.1", local_address="127.0.0.1", local_port=port,
                  allow_direct_calls=True)
    b.wait_account("lan", "unregistered", "no-registrar")
    return a, b, port


def test_direct_call_without_registrar(harness, tmp_path):
    """A LAN call straight to an IP and port, no registrar."""
    # A firewall-friendly RTP range: b's ports must come from it.
    rtp_min = free_port() & ~1
    a, b, port = lan_pair(harness, f"rtp-port-min={rtp_min}\nrtp-port-max={rtp_min + 3}\n")
    sent = audio.make_test_signal(tmp_path / "sent.wav", 8000, seconds=3)
    received = tmp_path / "received.wav"
    call_a = dial(a, f"sip:b@127.0.0.1:{port}", audio_source=f"file:{sent}")
    call_b = incoming(b)
    answer(b, call_b, audio_sink=f"file:{received}")
    wait_state(a, call_a, "active")
    local_port = wait_state(b, call_b, "active")["Media"]["local-port"]
    assert local_port in (rtp_min, rtp_min + 2)
    time.sleep(3.5)
    b.call(call_b, CALL, "Hangup")
    wait_state(a, call_a, "terminated")
    wait_file(received)
    assert audio.contains_signal(sent, received, min_correlation=0.9)


def free_port_pair():
    """An even UDP port whose next port is free too: an RTP/RTCP pair."""
    for _ in range(200):
        port = free_port() & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtcp:
                rtp.bind(("0.0.0.0", port))
                rtcp.bind(("0.0.0.0", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free even/odd UDP port pair")


def open_descriptors(daemon):
    return len(list(pathlib.Path(f"/proc/{daemon.process.pid}/fd").iterdir()))


def test_dial_answers_once_the_call_is_on_the_bus(harness):
    """The INVITE leaves before the call is exported on D-Bus (that takes
    the export out of its way), but a client still sees the call's
    InterfacesAdded before Dial's reply, which names it, and the call's
    StateChanged signals only after both."""
    a = harness.daemon("a", config=config("pcmu")).start()
    a.add_account("lan", address="sip:a@127.0.0.1", local_address="127.0.0.1")
    a.wait_account("lan", "unregistered", "no-registrar")
    # A peer that takes the INVITE and never answers: the call stays dialing.
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(harness.timeout(5))
    conn = a.bus.connection
    seen = []

    def record(_conn, message, incoming):
        if not incoming:
            return message
        body = message.get_body()
        kind = message.get_message_type()
        if kind == Gio.DBusMessageType.METHOD_RETURN and body is not None and body.get_type_string() == "(o)":
            seen.append(("reply", body[0]))
        elif kind == Gio.DBusMessageType.SIGNAL and message.get_member() == "InterfacesAdded":
            seen.append(("added", body[0]))
        elif kind == Gio.DBusMessageType.SIGNAL and message.get_member() == "StateChanged" \
                and message.get_interface() == CALL:
            seen.append(("state", message.get_path()))
        return message
    # The signals reach this connection only if it asks for them.
    subs = [conn.signal_subscribe(None, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", None, None,
                                  0, lambda *_: None),
            conn.signal_subscribe(None, CALL, "StateChanged", None, None, 0, lambda *_: None)]
    filter_id = conn.add_filter(record)
    try:
        path = dial(a, f"sip:nobody@127.0.0.1:{peer.getsockname()[1]}")
        invite, _ = peer.recvfrom(65536)
        assert invite.startswith(b"INVITE ")
        a.call(path, CALL, "Hangup")
        wait_state(a, path, "terminated")
        wait_for(lambda: ("state", path) in seen, harness.timeout(5), what="the call's StateChanged")
    finally:
        conn.remove_filter(filter_id)
        for sub in subs:
            conn.signal_unsubscribe(sub)
        peer.close()
    order = [event for event in seen if event[1] == path]
    assert order.index(("added", path)) < order.index(("reply", path)) < order.index(("state", path)), order


def test_an_ended_call_gives_back_its_ports_and_descriptors_at_once(harness):
    """An ended call stays on D-Bus for 10 s, so that clients can read how
    it ended; its RTP ports and descriptors must not wait for that. The
    callee has one RTP port pair: it takes call after call on it, and after
    each its open descriptors are back where they were."""
    rtp = free_port_pair()
    a, b, port = lan_pair(harness, f"rtp-port-min={rtp}\nrtp-port-max={rtp + 1}\n")

    ended = []
    baseline = None
    for i in range(3):
        call_a = dial(a, f"sip:b@127.0.0.1:{port}")
        call_b = incoming(b)
        answer(b, call_b)
        wait_state(a, call_a, "active")
        assert wait_state(b, call_b, "active")["Media"]["local-port"] == rtp, f"call {i}"
        b.call(call_b, CALL, "Hangup")
        wait_state(a, call_a, "terminated")
        ended.append(call_b)
        if baseline is None:
            # The first call loads the media module and starts the RTP
            # receiving thread, which stay; what a call holds must not.
            time.sleep(0.5)
            baseline = open_descriptors(b)
        else:
            wait_for(lambda: open_descriptors(b) <= baseline, harness.timeout(5),
                     what=f"the descriptors of call {i} to be closed (baseline {baseline}, "
                          f"now {open_descriptors(b)})")
    # Every call is still there to be read: nothing above waited for them to go.
    assert set(ended) <= set(b.manager_prop("Calls"))
    assert {state(b, path) for path in ended} == {"terminated"}


def mapped(daemon, name):
    maps = pathlib.Path(f"/proc/{daemon.process.popen.pid}/maps").read_text()
    return any(line.rsplit("/", 1)[-1].startswith(name) for line in maps.splitlines())


def test_media_module_is_loaded_at_the_first_call_and_a_missing_one_fails_the_call(harness):
    """An idle dialtoned maps no GStreamer: its media engine is a module
    loaded when a call first needs media. A module that cannot be loaded
    ends the call with media-failed and a log line naming the file; the
    daemon carries on."""
    a, b, port = lan_pair(harness, callee_env={"DIALTONE_MEDIA_MODULE_DIR": str(harness.mkdir("no-module"))})
    assert not mapped(a, "libgstreamer-1.0") and not mapped(a, "dt-media-gst")

    call_a = dial(a, f"sip:b@127.0.0.1:{port}")
    assert mapped(a, "dt-media-gst") and mapped(a, "libgstreamer-1.0")
    # b cannot give the call media when it answers: the call ends.
    call_b = incoming(b)
    with pytest.raises(GLib.Error, match="cannot set up the audio: cannot load the media module"):
        answer(b, call_b)
    assert wait_state(b, call_b, "terminated")["StateReason"] == "media-failed"
    wait_state(a, call_a, "terminated")
    call_b2 = dial(b, "sip:a@127.0.0.1:9")
    assert wait_state(b, call_b2, "terminated")["StateReason"] == "media-failed"
    out = b.output()
    assert f"cannot load the media module: {harness.tmp / 'no-module'}/dt-media-gst.so" in out, out
    assert not mapped(b, "libgstreamer-1.0")
    assert b.manager_prop("Version")


@pytest.mark.parametrize("status,reason", [(486, "busy"), (603, "declined")])
def test_rejected_call(harness, status, reason):
    pair = Pair(harness)
    call_a = dial(pair.a, "sip:bob@127.0.0.1")
    call_b = incoming(pair.b)
    pair.b.call(call_b, CALL, "Reject", "(u)", (status,))
    end = wait_state(pair.a, call_a, "terminated")
    assert (end["StateReason"], end["SipStatus"]) == (reason, status)
    assert wait_state(pair.b, call_b, "terminated")["StateReason"] == "rejected"
    # Refused by us: not a missed call.
    assert history(pair.b, missed=True) == []


def test_cancel_before_answer_is_a_missed_call(harness):
    pair = Pair(harness)
    call_a = dial(pair.a, "sip:bob@127.0.0.1")
    call_b = incoming(pair.b)
    wait_state(pair.a, call_a, "ringing-out")
    pair.a.call(call_a, CALL, "Hangup")
    assert wait_state(pair.a, call_a, "terminated")["StateReason"] == "local-hangup"
    assert wait_state(pair.b, call_b, "terminated")["StateReason"] == "cancelled"
    missed = history(pair.b, missed=True)
    assert len(missed) == 1 and missed[0]["missed"] and not missed[0]["seen"]
    r = pair.b.ctl("history", "--missed")
    assert "in!" in r.stdout and "cancelled" in r.stdout
    assert pair.b.ctl("history", "seen", str(missed[0]["id"])).returncode == 0
    assert history(pair.b, unseen=True) == []


def raw_call_answered(daemon, port, **answer_options):
    """A raw SIP client with a raw RTP socket calls `daemon` straight at
    `port` (it must take direct calls), which answers with `answer_options`.
    Returns (client, rtp socket, the daemon's call, the 200 OK); the caller
    closes the client and the socket."""
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    client = SipClient()
    try:
        offer = sdp(port=rtp.getsockname()[1], attributes=("ptime:20", "sendrecv"))
        responses = []
        inviting = threading.Thread(target=lambda: responses.extend(
            client.invite("127.0.0.1", port, user="b", body=offer, timeout=10.0, hang_up=False)))
        inviting.start()
        call = incoming(daemon)
        answer(daemon, call, **answer_options)
        inviting.join(12)
        ok = [r for r in responses if r.status == 200]
        assert ok, responses
        return client, rtp, call, ok[0]
    except BaseException:
        client.close()
        rtp.close()
        raise


def test_our_media_stops_when_our_bye_leaves(harness):
    """Hanging up stops our RTP as the BYE leaves, not when it is answered:
    a raw peer that leaves the BYE unanswered hears nothing more, while the
    call still waits for the BYE's transaction to end."""
    b = harness.daemon("b", config=config("pcmu")).start()
    port = free_port()
    b.add_account("lan", address="sip:b@127.0.0.1", local_address="127.0.0.1", local_port=port,
                  allow_direct_calls=True)
    b.wait_account("lan", "unregistered", "no-registrar")
    client, rtp, call_b, _ = raw_call_answered(b, port, audio_source="tone")
    try:
        wait_state(b, call_b, "active")
        rtp.settimeout(5)
        rtp.recvfrom(2048)

        b.call(call_b, CALL, "Hangup")
        bye = wait_for(lambda: next((m for m in iter(lambda: client.receive(0.2), None)
                                     if (m.header("CSeq") or "").endswith("BYE")), None),
                       5, what="the BYE")
        left = time.monotonic()
        late = []
        rtp.settimeout(0.2)
        while time.monotonic() < left + 1.0:
            try:
                rtp.recvfrom(2048)
            except socket.timeout:
                continue
            if time.monotonic() > left + 0.1:
                late.append(time.monotonic() - left)
        assert late == [], f"RTP {len(late)} times after the BYE, last {late[-1]:.2f} s after"
        assert state(b, call_b) == "active"      # the BYE is not answered yet

        answer_bye = "\r\n".join(
            ["SIP/2.0 200 OK"] + [f"{h}: {bye.header(h)}" for h in ("Via", "From", "To", "Call-ID", "CSeq")]
            + ["Content-Length: 0", "", ""]).encode()
        client.send(answer_bye, ("127.0.0.1", port))
        wait_state(b, call_b, "terminated")
        assert b.get(call_b, CALL, "StateReason") == "local-hangup"
    finally:
        client.close()
        rtp.close()


def test_no_answer_timeout(harness):
    pair = Pair(harness, extra_a="[calls]\nno-answer-timeout=2\n")
    call_a = dial(pair.a, "sip:bob@127.0.0.1")
    call_b = incoming(pair.b)
    end = wait_state(pair.a, call_a, "terminated", timeout=10)
    assert end["StateReason"] == "no-answer"
    assert wait_state(pair.b, call_b, "terminated")["StateReason"] == "cancelled"


def test_call_to_unknown_user_and_bad_uris(harness):
    pair = Pair(harness)
    call = dial(pair.a, "sip:nobody@127.0.0.1")
    end = wait_state(pair.a, call, "terminated")
    assert (end["StateReason"], end["SipStatus"]) == ("not-found", 404)
    for uri, message in [("sip:", "uri:"), ("sip:a b@c", "uri:"), ("", "uri: is empty"),
                         ("http://example.org", "uri:")]:
        with pytest.raises(GLib.Error) as e:
            dial(pair.a, uri)
        assert "org.dialtone.Phone1.Error.InvalidArguments" in str(e.value) and message in str(e.value)
    with pytest.raises(GLib.Error) as e:
        dial(pair.a, "sip:bob@127.0.0.1", audio_source="file:relative.wav")
    assert "audio-source:" in str(e.value)
    with pytest.raises(GLib.Error) as e:
        pair.a.manager("Dial", "(sa{sv})", ("sip:bob@127.0.0.1", {"account": GLib.Variant("s", "nope")}),
                       reply="(o)")
    assert "org.dialtone.Phone1.Error.NotFound" in str(e.value)


def test_wrong_state_methods(harness):
    pair = Pair(harness)
    call_a = dial(pair.a, "sip:bob@127.0.0.1")
    call_b = incoming(pair.b)
    with pytest.raises(GLib.Error) as e:
        answer(pair.a, call_a)  # an outgoing call
    assert "InvalidState" in str(e.value)
    with pytest.raises(GLib.Error) as e:
        pair.b.call(call_b, CALL, "Reject", "(u)", (200,))
    assert "InvalidArguments" in str(e.value)
    answer(pair.b, call_b)
    # At once, before or after the ACK: answered already, whatever its state.
    with pytest.raises(GLib.Error) as e:
        answer(pair.b, call_b)
    assert "InvalidState" in str(e.value)
    wait_state(pair.a, call_a, "active")
    with pytest.raises(GLib.Error) as e:
        pair.b.call(call_b, CALL, "Reject", "(u)", (486,))
    assert "InvalidState" in str(e.value)
    pair.b.call(call_b, CALL, "Hangup")
    wait_state(pair.b, call_b, "terminated")
    with pytest.raises(GLib.Error) as e:
        pair.b.call(call_b, CALL, "Hangup")
    assert "InvalidState" in str(e.value)


def seconds_heard(sent, recording, last=None):
    """How well each second of `sent` (or each of its `last` seconds) is
    found in `recording`: the correlation of each, at its own lag, so that
    a gap before one does not hide it. A silent recording or one at
    another rate has none."""
    ref, rate = audio.read_wav(sent)
    whole = len(ref) // rate
    seconds = range(whole - last if last else 0, whole)
    rec, rec_rate = audio.read_wav(recording)
    if rec_rate != rate or audio.is_silent(rec):
        return [0.0] * len(seconds)
    return [abs(audio.align(ref[k * rate:(k + 1) * rate], rec, rate, 8.0, "signal")[1]) for k in seconds]


def test_twenty_concurrent_calls(harness, tmp_path):
    # Forty pipelines starting at once on two cores: under a sanitizer
    # (several times slower) the receiving threads are late by more than
    # the default 30 ms, and the jitter buffer rightly drops what is late.
    # For the same reason a 200 can wait seconds for its ACK from a caller
    # busy starting its own pipelines: the 4 s transaction bound the other
    # tests use would end those calls.
    slow = harness.timeout(1) > 1
    jitter = "jitter-buffer=200\n" if slow else ""
    pair = Pair(harness, codecs_a="pcmu", extra_b=jitter, transaction_timeout=32 if slow else 4)
    sent = audio.make_test_signal(tmp_path / "sent.wav", 8000, seconds=4)
    calls = [dial(pair.a, "sip:bob@127.0.0.1", audio_source=f"file:{sent}") for _ in range(20)]
    answered = []
    deadline = time.monotonic() + harness.timeout(30)
    while len(answered) < 20 and time.monotonic() < deadline:
        for path in pair.b.manager_prop("Calls"):
            if path not in answered and state(pair.b, path) == "incoming":
                answer(pair.b, path, audio_sink=f"file:{tmp_path / (path.split('/')[-1] + '.wav')}")
                answered.append(path)
        time.sleep(0.05)
    assert len(answered) == 20
    for path in calls:
        wait_state(pair.a, path, "active", timeout=15)
    # Hang up once every callee has heard the end of the 4 s signal, which
    # a loaded machine plays late: the caller stops sending as its BYE
    # leaves. If one never does, the checks below say which. A recording
    # is read until it holds the end, no more: reading takes CPU from the
    # calls.
    time.sleep(4.5)
    not_yet = [tmp_path / (path.split("/")[-1] + ".wav") for path in answered]

    def all_heard():
        not_yet[:] = [r for r in not_yet if not (r.exists() and seconds_heard(sent, r, last=1)[0] >= 0.5)]
        return not not_yet
    try:
        wait_for(all_heard, harness.timeout(10), interval=1.0, what="every callee to hear the end of the signal")
    except TimeoutError:
        pass
    assert pair.a.manager("HangupAll", reply="(u)")[0] == 20
    for path in answered:
        wait_state(pair.b, path, "terminated")
    recordings = []
    for path in answered:
        recordings.append(tmp_path / (path.split("/")[-1] + ".wav"))
        wait_file(recordings[-1])
    # Every call carries the whole signal, cleanly. Under a sanitizer,
    # forty pipelines start on two cores several times slower, and the
    # machine may run another test beside this one: the sanitizer build is
    # here for memory errors with twenty calls at once, and what it must
    # show of the audio is that every call carries the signal from one
    # end to the other, a second of it at least, cleanly. The rest misses
    # real-time deadlines there, and a phone drops late audio rather than
    # wait for it (seen, with a CPU hog beside this test: two runs in five
    # lost 60-300 ms stretches to the jitter buffer's bound or the sending
    # mixer's deadline; and a late callee's pipeline misses up to three
    # seconds of the start, which arrive before it plays and are dropped
    # as stale). The plain build holds every call to the whole signal.
    heard = {r.name: [round(c, 2) for c in seconds_heard(sent, r)] for r in recordings}
    clean = [r.name for r in recordings if audio.contains_signal(sent, r, min_correlation=0.9)]
    print(f"\n{len(clean)} of 20 calls carried the signal with correlation >= 0.9; each second's: {heard}")
    if slow:
        assert all(max(seconds) >= 0.9 for seconds in heard.values()), heard
    else:
        assert len(clean) == 20, heard
    assert len(history(pair.a)) == 20 and len(history(pair.b)) == 20


def test_killed_daemon_leaves_no_open_call(harness):
    pair = Pair(harness)
    call_a = dial(pair.a, "sip:bob@127.0.0.1")
    call_b = incoming(pair.b)
    answer(pair.b, call_b)
    wait_state(pair.a, call_a, "active")
    # The callee is active when the ACK comes, which can be a little after
    # the caller (it starts its media first).
    wait_state(pair.b, call_b, "active")
    # A call in progress is written once the signals about it are out.
    def rows():
        db = sqlite3.connect(f"file:{pair.b.db_path}?mode=ro", uri=True)
        try:
            return db.execute("SELECT state, ended_usec FROM calls").fetchall()
        finally:
            db.close()
    wait_for(lambda: rows() == [("active", None)], 5, what="the active call's row")
    pair.b.process.signal(signal.SIGKILL)
    pair.b.wait_exit()
    with sqlite3.connect(pair.b.db_path) as db:
        assert db.execute("SELECT state, ended_usec FROM calls").fetchall() == [("active", None)]
    db.close()
    pair.b.start()
    entries = history(pair.b)
    assert [(e["state"], e["state-reason"]) for e in entries] == [("terminated", "daemon-restart")]
    assert entries[0]["ended-usec"] > 0
    pair.a.call(call_a, CALL, "Hangup")


def test_monitor_calls_hangup_all_and_history_limit(harness):
    """What a shell user sees: monitor events for a call's life, `calls`,
    `hangup --all`, and `history --limit`."""
    pair = Pair(harness)
    env = harness.env()
    env["DBUS_SESSION_BUS_ADDRESS"] = pair.b.bus.address
    monitor = subprocess.Popen([str(build_dir() / "tools" / "dialtonectl" / "dialtonectl"),
                                "--json", "monitor", "--timeout", str(harness.timeout(30))],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(0.5)  # let it subscribe
        calls_a = [dial(pair.a, "sip:bob@127.0.0.1") for _ in range(2)]
        wait_for(lambda: len(pair.b.manager_prop("Calls")) == 2, harness.timeout(10), what="two incoming calls")
        calls_b = pair.b.manager_prop("Calls")
        for path in calls_b:
            answer(pair.b, path)
        for path in calls_a:
            wait_state(pair.a, path, "active")

        listed = pair.b.ctl("--json", "calls").json()
        assert sorted(c["path"] for c in listed) == sorted(calls_b)
        assert {c["state"] for c in listed} == {"active"}
        r = pair.b.ctl("hangup", "--all")
        assert r.returncode == 0, r
        for path in calls_b:
            assert wait_state(pair.b, path, "terminated")["StateReason"] == "local-hangup"
        for path in calls_a:
            assert wait_state(pair.a, path, "terminated")["StateReason"] == "remote-hangup"
        time.sleep(0.5)
    finally:
        monitor.terminate()
        out, err = monitor.communicate(timeout=10)
    assert monitor.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    for path in calls_b:
        added = [e for e in events if e["event"] == "added" and e["path"] == path]
        assert added and added[0]["interface"] == CALL and added[0]["value"]["State"] == "incoming", added
        assert added[0]["value"]["RemoteUri"] == "sip:alice@127.0.0.1"
        states = [e["value"] for e in events if e["path"] == path and e.get("member") == "State"]
        assert states[-2:] == ["active", "terminated"], states
        signals = [e["value"] for e in events if e["path"] == path and e.get("member") == "StateChanged"]
        assert ["active", "terminated", "local-hangup"] in signals, signals

    # Two calls in history; --limit 1 shows the newest only.
    assert len(pair.b.ctl("--json", "history").json()) == 2
    newest = pair.b.ctl("--json", "history", "--limit", "1").json()
    assert len(newest) == 1 and newest[0]["id"] == max(e["id"] for e in history(pair.b))
    assert pair.b.ctl("history", "--limit", "-1").returncode == 2

    # Paging and filters over D-Bus: newest first, offset skips, filters bind.
    def list_calls(filt, offset, limit):
        return pair.b.call("/org/dialtone/Phone1", HISTORY, "ListCalls", "(a{sv}uu)",
                           (filt, offset, limit), reply="(aa{sv})")[0]
    ids = [e["id"] for e in list_calls({}, 0, 0)]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
    assert [e["id"] for e in list_calls({}, 1, 1)] == ids[1:]
    assert list_calls({}, 2, 0) == []
    assert len(list_calls({"account": GLib.Variant("s", "bob"), "direction": GLib.Variant("s", "incoming")},
                          0, 0)) == 2
    assert list_calls({"direction": GLib.Variant("s", "outgoing")}, 0, 0) == []
    assert list_calls({"account": GLib.Variant("s", "x' OR 1=1 --")}, 0, 0) == []
    for bad in ({"colour": GLib.Variant("s", "red")}, {"missed": GLib.Variant("s", "yes")}):
        with pytest.raises(GLib.Error) as e:
            list_calls(bad, 0, 0)
        assert "InvalidArguments" in str(e.value) and list(bad)[0] in str(e.value)


def test_audio_endpoints_auto_and_manager_properties(harness, tmp_path):
    """With no sound server or card, `auto` falls back to silence/null with
    one warning; the Manager's AudioSource/AudioSink set the default for
    the next calls and refuse what is not an endpoint."""
    try:
        cards = open("/proc/asound/cards").read()
    except OSError:
        cards = ""
    if "[" in cards:
        pytest.skip("this machine has a sound card: 'auto' would use it")
    env = {"PULSE_SERVER": ""}
    a = harness.daemon("a", config="[media]\ncodecs=pcmu\n", env=env).start()
    b = harness.daemon("b", config=config("pcmu", "audio-source=tone\n")).start()
    ports = {}
    for d, name in ((a, "alice"), (b, "bob")):
        ports[name] = free_port()
        d.add_account("lan", address=f"sip:{name}@127.0.0.1", local_address="127.0.0.1", local_port=ports[name],
                      allow_direct_calls=True)
        d.wait_account("lan", "unregistered", "no-registrar")
    assert (a.manager_prop("AudioSource"), a.manager_prop("AudioSink")) == ("auto", "auto")

    for _ in range(2):
        call = dial(a, f"sip:bob@127.0.0.1:{ports['bob']}")
        answer(b, incoming(b))
        wait_state(a, call, "active")
        a.call(call, CALL, "Hangup")
        wait_state(a, call, "terminated")
    assert a.output().count("No sound server or sound card") == 1, a.output()

    def set_prop(name, value):
        a.call("/org/dialtone/Phone1", "org.freedesktop.DBus.Properties", "Set", "(ssv)",
               ("org.dialtone.Phone1.Manager", name, GLib.Variant("s", value)))
    for name, value in (("AudioSource", "speaker"), ("AudioSink", "file:relative.wav")):
        with pytest.raises(GLib.Error) as e:
            set_prop(name, value)
        assert "InvalidArguments" in str(e.value) and name in str(e.value), e.value
    assert a.manager_prop("AudioSource") == "auto"

    heard = tmp_path / "heard.wav"
    set_prop("AudioSink", f"file:{heard}")
    assert a.manager_prop("AudioSink") == f"file:{heard}"
    call_b = dial(b, f"sip:alice@127.0.0.1:{ports['alice']}")
    call_a = incoming(a)
    answer(a, call_a)  # no per-call sink: the Manager's applies
    wait_state(b, call_b, "active")
    time.sleep(2)
    b.call(call_b, CALL, "Hangup")
    wait_state(a, call_a, "terminated")
    wait_file(heard)
    samples, rate = audio.read_wav(heard)
    assert audio.rms_dbfs(samples) > -30 and abs(audio.dominant_frequency(samples, rate) - 440) < 10


def test_account_dial_and_ctl_account_option_choose_the_caller(harness):
    """Account.Dial and `call --account` place the call from that account:
    the callee sees it come from that account's address."""
    a = harness.daemon("a", config=config("pcmu")).start()
    b = harness.daemon("b", config=config("pcmu")).start()
    b_port = free_port()
    b.add_account("lan", address="sip:bob@127.0.0.1", local_address="127.0.0.1", local_port=b_port,
                  allow_direct_calls=True)
    for name in ("alice", "carol"):
        a.add_account(name, address=f"sip:{name}@127.0.0.1", local_address="127.0.0.1")
        a.wait_account(name, "unregistered", "no-registrar")
    target = f"sip:bob@127.0.0.1:{b_port}"

    path = a.call(a.account_path("carol"), "org.dialtone.Phone1.Account", "Dial", "(sa{sv})", (target, {}),
                  reply="(o)")[0]
    call_b = incoming(b)
    assert b.get(call_b, CALL, "RemoteUri") == "sip:carol@127.0.0.1"
    assert a.get(path, CALL, "Account") == a.account_path("carol")
    b.call(call_b, CALL, "Reject", "(u)", (486,))
    wait_state(a, path, "terminated")

    r = a.ctl("call", target, "--account", "alice")
    assert r.returncode == 0, r
    call_b = incoming(b)
    assert b.get(call_b, CALL, "RemoteUri") == "sip:alice@127.0.0.1"
    b.call(call_b, CALL, "Reject", "(u)", (486,))
    assert a.ctl("call", target, "--account", "nobody").returncode != 0
