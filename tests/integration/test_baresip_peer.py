"""Smoke tests of the baresip peer in the harness (harness/baresip.py), without
dialtoned: two or three baresips call each other directly and through
Kamailio, record what they hear, send DTMF, hold, transfer, use SRTP and
other codecs, and leave nothing running. The call tests of the daemon rely
on all of this."""

import os
import socket
import subprocess
import time

import pytest

from harness import (Baresip, BaresipError, Harness, Kamailio, analyze_wav, audio,
                     make_source_wav)

pytestmark = pytest.mark.timeout(60)

USERS = {"alice": "a-secret", "bob": "b-secret", "carol": "c-secret"}
EVENT_KEYS = {"event", "type", "class", "accountaor", "direction", "peeruri", "id", "param"}


def sox_tone(path, freq=1000, seconds=2.0, rate=8000, channels=1):
    """A tone made by sox: S16LE at the codec's rate and channels."""
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), "-b", "16",
                    "-e", "signed-integer", str(path), "synth", str(seconds), "sine", str(freq),
                    "vol", "0.5"], check=True, timeout=30, capture_output=True)
    return path


def assert_tone(path, freq, min_seconds, min_rms=0.1, tolerance=15):
    info = analyze_wav(path)
    assert info["complete"], info
    assert info["seconds"] >= min_seconds, info
    assert info["rms"] > min_rms, info
    assert abs(info["peak_hz"] - freq) < tolerance, info
    return info


def test_direct_call_records_the_tone(harness):
    tone = sox_tone(harness.tmp / "tone-1k.wav", 1000, 2.0)
    bob = Baresip(harness, "bob", answermode="auto")
    alice = Baresip(harness, "alice", audio_source=tone)
    assert bob.uri() == f"sip:bob@127.0.0.1:{bob.sip_port}" == bob.aor()

    m = alice.dial(bob.uri())
    est = alice.wait_established(since=m)
    b_est = bob.wait_established()
    assert EVENT_KEYS <= set(est) and EVENT_KEYS <= set(b_est), (est, b_est)
    assert (est["direction"], b_est["direction"]) == ("outgoing", "incoming")
    assert est["id"] == b_est["id"]            # the Call-ID
    assert est["peeruri"] == bob.uri() and b_est["peeruri"] == alice.uri()

    # The 2 s source ends: alice hangs up by herself.
    closed = alice.wait_closed(since=m, timeout=10)
    assert closed["param"] == "end of file", closed
    assert bob.wait_closed()["param"] == "Connection reset by peer"

    got = assert_tone(bob.received_audio(), 1000, min_seconds=1.5)
    assert got["rate"] == 8000 and got["channels"] == 1
    assert_tone(alice.sent_audio(), 1000, min_seconds=1.9)
    assert analyze_wav(alice.received_audio())["rms"] < 0.01   # bob sent silence
    # One pair per call, renamed after the call's id.
    names = [p.name for p in bob.recordings()]
    assert len(names) == 2 and all(n.startswith("rec-") and est["id"] in n for n in names), names
    assert bob.received_audio(call_id=est["id"]) == bob.recordings("dec")[0]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_registered_call_through_kamailio(harness, transport):
    k = Kamailio(harness, users=USERS)
    speech = make_source_wav(harness.tmp / "speech.wav", "pcmu", "speech", seconds=20,
                             text="Hello Bob, this is Alice calling.")
    bob = Baresip(harness, "bob", password=USERS["bob"], registrar=k, transport=transport)
    alice = Baresip(harness, "alice", password=USERS["alice"], registrar=k,
                    transport=transport, audio_source=speech)
    alice.wait_registered()
    bob.wait_registered()
    assert bob.aor() == k.aor("bob")
    contacts = k.contacts("bob")
    assert len(contacts) == 1 and contacts[0]["transport"] == transport, contacts

    m = alice.dial(bob.aor())
    inc = bob.wait_incoming()
    assert inc["peeruri"] == "sip:alice@127.0.0.1", inc
    alice.wait_event("CALL_RINGING", since=m)
    bob.accept()
    alice.wait_established(since=m)
    bob.wait_established()
    # The INVITE came through the proxy.
    invite = bob.sip_messages("INVITE", direction="received")[0]
    assert invite.header("Record-Route"), invite.text
    assert invite.transport == transport.upper()
    time.sleep(1.5)
    alice.hangup()
    assert alice.wait_closed(since=m)["param"] == "Connection reset by user"
    assert bob.wait_closed()["param"] == "Connection reset by peer"
    heard = analyze_wav(bob.received_audio())
    assert heard["active_seconds"] > 0.5 and heard["rms"] > 0.01, heard
    # What bob decoded is what alice's file holds (PCMU: nearly bit-exact).
    match = audio.compare(speech, bob.received_audio())
    assert match["correlation"] > 0.95, match
    assert bob.registered() and alice.registered()


def test_dtmf_events(harness):
    bob = Baresip(harness, "bob", answermode="auto")
    alice = Baresip(harness, "alice")
    m = alice.dial(bob.uri())
    alice.wait_established(since=m)
    b_est = bob.wait_established()
    alice.send_dtmf("123#")
    assert bob.wait_dtmf("123#") == "123#"
    starts = bob.events("CALL_DTMF_START")
    assert [e["param"] for e in starts] == ["1", "2", "3", "#"]
    assert all(e["id"] == b_est["id"] for e in starts)
    # CALL_DTMF_END follows each digit, without a param.
    bob.wait_event("CALL_DTMF_END", predicate=lambda e: e["_seq"] > starts[-1]["_seq"])
    assert len(bob.events("CALL_DTMF_END")) == 4
    assert all("param" not in e for e in bob.events("CALL_DTMF_END"))
    bob.hangup()
    alice.wait_closed(since=m)


def test_hold_resume_is_visible_in_sdp(harness):
    tone = make_source_wav(harness.tmp / "tone.wav", "pcmu", "tone", seconds=20, freq=1000)
    bob = Baresip(harness, "bob", answermode="auto")
    alice = Baresip(harness, "alice", audio_source=tone)
    m = alice.dial(bob.uri())
    alice.wait_established(since=m)
    bob.wait_established()
    time.sleep(1.0)
    before = len(bob.sip_messages())
    mb = bob.mark()
    alice.hold()
    # No hold event in baresip 1.0: the re-INVITE is a CALL_REMOTE_SDP offer.
    bob.wait_event("CALL_REMOTE_SDP", since=mb, predicate=lambda e: e["param"] == "offer")
    alice.resume()
    bob.wait_event("CALL_REMOTE_SDP", since=mb,
                   predicate=lambda e: e["param"] == "offer" and e["_seq"] > mb + 1)
    invites = bob.wait_sip_messages("INVITE", direction="received", since=before, count=2)
    answers = bob.wait_sip_messages("INVITE", status=200, direction="sent", since=before,
                                    count=2)
    assert ["a=sendonly" in i.body for i in invites] == [True, False], invites
    assert ["a=recvonly" in a.body for a in answers] == [True, False], answers
    assert "a=sendrecv" in invites[1].body and "a=sendrecv" in answers[1].body
    time.sleep(1.0)
    alice.hangup()
    bob.wait_closed()
    # baresip 1.0 quirk: the re-INVITE drops the decoder's filters, so the
    # dec recording ends (is finalised) at the hold; it holds the audio before.
    heard = analyze_wav(bob.received_audio())
    assert 0.5 < heard["seconds"] < 1.8, heard
    assert abs(heard["peak_hz"] - 1000) < 15, heard


def test_blind_transfer(harness):
    tone = make_source_wav(harness.tmp / "tone.wav", "pcmu", "tone", seconds=20, freq=700)
    carol = Baresip(harness, "carol", answermode="auto")
    bob = Baresip(harness, "bob", answermode="auto")
    alice = Baresip(harness, "alice", audio_source=tone)
    m = alice.dial(bob.uri())
    first = alice.wait_established(since=m)
    bob.wait_established()
    bob.transfer(carol.uri())
    refer = alice.wait_event("TRANSFER", since=m)
    assert refer["param"] == carol.uri(), refer
    second = alice.wait_established(since=refer["_seq"])
    assert second["peeruri"] == carol.uri() and second["id"] != first["id"]
    assert bob.wait_closed()["param"] == "Call transfered"
    carol.wait_established()
    time.sleep(1.0)
    carol.hangup()
    alice.wait_closed(since=refer["_seq"], call_id=second["id"])
    assert_tone(carol.received_audio(), 700, min_seconds=0.7)
    # Both calls started within a second or so: each has its own recordings.
    assert_tone(alice.sent_audio(call_id=first["id"]), 700, min_seconds=0.02)
    assert_tone(alice.sent_audio(call_id=second["id"]), 700, min_seconds=0.7)
    assert len(alice.recordings()) == 4, alice.recordings()


@pytest.mark.parametrize("codec,mediaenc,rate,channels", [
    ("pcma", None, 8000, 1),
    ("g722", "srtp", 16000, 1),
    ("opus", "srtp-mand", 48000, 2),
])
def test_codecs_and_srtp(harness, codec, mediaenc, rate, channels):
    tone = make_source_wav(harness.tmp / "tone.wav", codec, "tone", seconds=2, freq=440)
    bob = Baresip(harness, "bob", answermode="auto", codecs=(codec,), mediaenc=mediaenc)
    alice = Baresip(harness, "alice", codecs=(codec,), mediaenc=mediaenc, audio_source=tone)
    m = alice.dial(bob.uri())
    alice.wait_established(since=m)
    if mediaenc:
        menc = bob.wait_event("CALL_MENC")
        assert menc["param"] == "0,audio,AES_CM_128_HMAC_SHA1_80", menc
        invite = bob.sip_messages("INVITE", direction="received")[0]
        assert "a=crypto:" in invite.body
        assert ("RTP/SAVP" in invite.body) == (mediaenc == "srtp-mand"), invite.body
    alice.wait_closed(since=m)
    bob.wait_closed()
    got = assert_tone(bob.received_audio(), 440, min_seconds=1.5)
    assert (got["rate"], got["channels"]) == (rate, channels)


def test_errors_are_clear(harness):
    k = Kamailio(harness, users=USERS)
    wrong = make_source_wav(harness.tmp / "16k.wav", "g722", "tone", seconds=1)
    with pytest.raises(ValueError, match="PCMU/8000/1 needs 8000 Hz"):
        Baresip(harness, "x", audio_source=wrong)
    mallory = Baresip(harness, "alice", password="wrong", registrar=k)
    with pytest.raises(BaresipError, match="401 Unauthorized") as e:
        mallory.wait_registered(timeout=5)
    assert "log tail" in str(e.value)
    assert mallory.events("REGISTER_FAIL")[0]["param"] == "401 Unauthorized"
    bob = Baresip(harness, "bob", password=USERS["bob"], registrar=k)
    bob.wait_registered()
    assert bob.events("REGISTER_OK")[0]["param"] == "200 OK"
    m = bob.dial("sip:nobody@127.0.0.1")
    with pytest.raises(BaresipError, match="404 Not Found"):
        bob.wait_established(since=m)
    with pytest.raises(BaresipError, match="Invalid argument"):
        bob.hold()   # no call
    assert bob.command("nosuchcommand", check=False)["ok"] is False


def _free(port):
    """Nothing listens on the port (UDP or TCP; TIME-WAIT does not count)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", port))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def _running(pids):
    return [p for p in pids if os.path.exists(f"/proc/{p}") and
            open(f"/proc/{p}/stat").read().split(") ")[1][0] != "Z"]


def test_cleanup_leaves_nothing_running(tmp_path):
    h = Harness(tmp_path)
    try:
        k = Kamailio(h, users=USERS)
        bob = Baresip(h, "bob", password=USERS["bob"], registrar=k, answermode="auto")
        alice = Baresip(h, "alice", password=USERS["alice"], registrar=k)
        carol = Baresip(h, "carol")
        bob.wait_registered()
        alice.wait_registered()
        m = alice.dial(bob.aor())
        alice.wait_established(since=m)       # left in a call on purpose
        assert carol.stop() == 0              # graceful quit over ctrl_tcp
        assert not carol.alive()
        pids = [b.process.pid for b in (alice, bob, carol)]
        ports = [alice.sip_port, bob.sip_port, alice.ctrl_port, bob.ctrl_port]
    finally:
        h.cleanup()
    deadline = time.monotonic() + 5
    while _running(pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _running(pids) == []
    for port in ports:
        assert _free(port), f"port {port} is still bound"
    # The call was ended by the graceful stop: bob's recording is finalised.
    assert bob.recordings("dec"), list(bob.snd_dir.iterdir())
