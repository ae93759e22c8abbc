"""SRTP with SDES keys (RFC 4568): encrypted calls with baresip and between
two dialtoned, every suite, the media-encryption policy matrix, and proof
on the wire that what we send is not the audio in clear.

Audio is checked at both ends: the tone each side sends is the dominant
frequency of what the other records, so both encryption and decryption
are right.
"""

import time

import numpy as np
import pytest
from gi.repository import GLib

from harness import Baresip, audio, wait_for
from harness.capture import UdpCapture
from test_call_control import lan_daemon
from test_calls import CALL, answer, dial, wait_state

ACCOUNT = "org.dialtone.Phone1.Account"
SUITES = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_80"]
TAG_BYTES = {"AES_CM_128_HMAC_SHA1_80": 10, "AES_CM_128_HMAC_SHA1_32": 4, "AES_256_CM_HMAC_SHA1_80": 10}


def update(daemon, **settings):
    values = {k.replace("_", "-"): GLib.Variant("s", v) for k, v in settings.items()}
    daemon.call(daemon.account_path("lan"), ACCOUNT, "Update", "(a{sv})", (values,))


def tone_fraction(payloads, freq=440.0, rate=8000):
    """Share of the power near @freq when the RTP payloads are read as
    PCMU: close to 1 for our tone in clear, about 1/100 for noise."""
    data = b"".join(p[12:12 + 160] for p in payloads)
    x = audio.g711_decode(data, "ulaw")
    spectrum = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    near = np.abs(freqs - freq) < 20
    return float(spectrum[near].sum() / spectrum.sum())


def dominant(path, channel=None):
    x, rate = audio.read_wav(path, mono=channel is None)
    if channel is not None:
        x = x[:, channel]
    return audio.dominant_frequency(x[len(x) // 4:], rate)


def new_call(daemon, known=()):
    """The first call of @daemon's not in @known, once it appears."""
    def appeared():
        fresh = [c for c in daemon.manager_prop("Calls") if c not in known]
        return fresh[0] if fresh else None
    return wait_for(appeared, daemon.harness.timeout(10), what="a new call")


def hang_up(daemon, call):
    daemon.call(call, CALL, "Hangup")
    wait_state(daemon, call, "terminated")


@pytest.mark.parametrize("mediaenc,direction", [("srtp", "outgoing"), ("srtp-mand", "incoming")])
def test_srtp_call_with_baresip(harness, tmp_path, mediaenc, direction):
    policy = "mandatory" if mediaenc == "srtp-mand" else "optional"
    heard = tmp_path / "heard.wav"
    d = lan_daemon(harness, "phone", media_encryption=policy,
                   auto_answer=True)
    bob_tone = audio.write_wav(tmp_path / "bob.wav", audio.tone(8000, 1000, 8000, amplitude=0.3), 8000)
    bob = Baresip(harness, answermode="auto", mediaenc=mediaenc, audio_source=str(bob_tone))
    if direction == "outgoing":
        call = dial(d, bob.uri(), audio_source="tone", audio_sink=f"file:{heard}")
    else:
        bob.dial(f"sip:phone@127.0.0.1:{d.port}")
        call = new_call(d)
    wait_state(d, call, "active", timeout=15)
    bob.wait_established()

    media = d.get(call, CALL, "Media")
    assert d.get(call, CALL, "Encrypted") is True
    menc = bob.wait_event("CALL_MENC")
    assert menc["param"] == f"0,audio,{media['srtp-suite']}", (menc, media)
    offer = bob.sip_messages("INVITE", direction="received" if direction == "outgoing" else "sent")[0]
    assert "a=crypto:" in offer.body
    assert ("RTP/SAVP" in offer.body) == (mediaenc == "srtp-mand"), offer.body

    if direction == "outgoing":
        # What we send to baresip's port: SRTP, not our 440 Hz tone in clear.
        with UdpCapture(media["remote-port"]) as cap:
            time.sleep(1.0)
        packets = [p for p in cap.payloads if len(p) > 12 and p[1] & 0x7F == 0]
        assert len(packets) >= 30, len(cap.payloads)
        tag = TAG_BYTES[media["srtp-suite"]]
        assert {len(p) for p in packets} == {12 + 160 + tag}
        share = tone_fraction(packets)
        print(f"\n440 Hz share of the captured payload read as PCMU: {share:.4f}")
        assert share < 0.05
    else:
        # Answered by itself: a prompt goes out, the call is recorded.
        prompt = audio.write_wav(tmp_path / "prompt.wav", audio.tone(8000, 440, 3000, amplitude=0.3), 8000)
        d.call(call, CALL, "PlayFile", "(sa{sv})", (str(prompt), {}))
        d.call(call, CALL, "StartRecording", "(sa{sv})", (str(heard), {"channels": GLib.Variant("s", "split")}))
        time.sleep(1.5)

    hang_up(d, call)
    bob.wait_closed()
    # Each side heard the other: our tone at baresip, baresip's in our file.
    assert abs(dominant(bob.received_audio()) - 440) < 15
    wait_for(lambda: heard.exists() and heard.stat().st_size > 8000, harness.timeout(5), what="our recording")
    assert abs(dominant(heard, channel=None if direction == "outgoing" else 1) - 1000) < 15


def test_plain_rtp_is_readable_on_the_wire(harness, tmp_path):
    """The capture's check is not vacuous: a plain call shows the tone."""
    d = lan_daemon(harness, "phone", media_encryption="none")
    bob = Baresip(harness, answermode="auto")
    call = dial(d, bob.uri(), audio_source="tone", audio_sink="null")
    wait_state(d, call, "active", timeout=15)
    media = d.get(call, CALL, "Media")
    assert d.get(call, CALL, "Encrypted") is False and "srtp-suite" not in media
    invite = bob.sip_messages("INVITE", direction="received")[0]
    assert "a=crypto" not in invite.body
    with UdpCapture(media["remote-port"]) as cap:
        time.sleep(1.0)
    packets = [p for p in cap.payloads if len(p) > 12 and p[1] & 0x7F == 0]
    assert {len(p) for p in packets} == {12 + 160}
    share = tone_fraction(packets)
    print(f"\n440 Hz share of the captured plain payload: {share:.4f}")
    assert share > 0.5
    hang_up(d, call)


def test_every_suite_between_two_daemons(harness, tmp_path):
    a = lan_daemon(harness, "a")
    b = lan_daemon(harness, "b")
    b_tone = audio.write_wav(tmp_path / "b.wav", audio.tone(8000, 1000, 20000, amplitude=0.3), 8000)
    seen = []
    for suite in SUITES:
        a_heard = tmp_path / f"a-{suite}.wav"
        b_heard = tmp_path / f"b-{suite}.wav"
        update(a, srtp_suites=suite)
        call_a = dial(a, f"sip:b@127.0.0.1:{b.port}", audio_source="tone", audio_sink=f"file:{a_heard}")
        call_b = new_call(b, seen)
        seen.append(call_b)
        answer(b, call_b, audio_source=f"file:{b_tone}", audio_sink=f"file:{b_heard}")
        wait_state(a, call_a, "active")
        wait_state(b, call_b, "active")
        for d, c in ((a, call_a), (b, call_b)):
            assert d.get(c, CALL, "Encrypted") is True
            assert d.get(c, CALL, "Media")["srtp-suite"] == suite
        time.sleep(1.5)
        hang_up(a, call_a)
        wait_state(b, call_b, "terminated")
        wait_for(lambda: a_heard.exists() and b_heard.exists(), harness.timeout(5), what="what each heard")
        assert abs(dominant(b_heard) - 440) < 15, suite
        assert abs(dominant(a_heard) - 1000) < 15, suite


# caller's policy, callee's policy -> encrypted, or the caller's end reason
MATRIX = [
    ("optional", "optional", True, None),
    ("mandatory", "optional", True, None),
    ("optional", "mandatory", True, None),
    ("optional", "none", False, None),
    ("none", "optional", False, None),
    ("mandatory", "none", None, "encryption-required"),
    ("none", "mandatory", None, "incompatible"),
]


def test_policy_matrix(harness):
    a = lan_daemon(harness, "a")
    b = lan_daemon(harness, "b", auto_answer=True)
    seen = []
    for caller, callee, encrypted, reason in MATRIX:
        update(a, media_encryption=caller)
        update(b, media_encryption=callee)
        call_a = dial(a, f"sip:b@127.0.0.1:{b.port}")
        if reason is not None:
            info = wait_state(a, call_a, "terminated")
            assert (info["StateReason"], info["SipStatus"]) == (reason, 488), (caller, callee, info)
            assert set(b.manager_prop("Calls")) <= set(seen), (caller, callee)
            continue
        wait_state(a, call_a, "active")
        call_b = new_call(b, seen)
        seen.append(call_b)
        wait_state(b, call_b, "active")
        assert a.get(call_a, CALL, "Encrypted") is encrypted, (caller, callee)
        assert b.get(call_b, CALL, "Encrypted") is encrypted, (caller, callee)
        assert ("srtp-suite" in a.get(call_a, CALL, "Media")) is encrypted
        hang_up(a, call_a)
        wait_state(b, call_b, "terminated")
    logs = b.output()
    assert "media encryption is mandatory" in logs or "not encrypted" in logs


def test_srtp_settings_are_checked(harness):
    d = lan_daemon(harness, "phone")
    bad = [
        {"media-encryption": GLib.Variant("s", "always")},
        {"srtp-suites": GLib.Variant("s", "AES_CM_128_HMAC_SHA1_80,NULL_CIPHER")},
        {"srtp-suites": GLib.Variant("s", "AES_CM_128_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_80")},
        {"sdes-require-tls": GLib.Variant("b", True)},
    ]
    for settings in bad:
        with pytest.raises(GLib.Error) as excinfo:
            d.call(d.account_path("lan"), ACCOUNT, "Update", "(a{sv})", (settings,))
        assert "InvalidArguments" in excinfo.value.message, (settings, excinfo.value.message)
    # Keys in clear are said once for the account, at start.
    assert d.output().count("SRTP keys (SDES) travel in the SDP over udp") == 1


def test_srtcp_and_hold_keep_the_call_encrypted(harness, tmp_path):
    a = lan_daemon(harness, "a")
    b = lan_daemon(harness, "b")
    heard = tmp_path / "b-heard.wav"
    call_a = dial(a, f"sip:b@127.0.0.1:{b.port}", audio_source="tone")
    call_b = new_call(b)
    answer(b, call_b, audio_sink=f"file:{heard}")
    wait_state(a, call_a, "active")
    wait_state(b, call_b, "active")
    suite = a.get(call_a, CALL, "Media")["srtp-suite"]

    # RTCP is SRTCP too: a trailer of E flag, index and 80-bit tag makes
    # its length 2 modulo 4, where RTCP is always a multiple of 4.
    with UdpCapture(b.get(call_b, CALL, "Media")["local-port"] + 1) as cap:
        wait_for(lambda: len(cap.payloads) > 0, harness.timeout(10), what="an RTCP packet")
    rtcp = cap.payloads[0]
    assert rtcp[0] >> 6 == 2 and rtcp[1] in (200, 201), rtcp[:2].hex()
    assert len(rtcp) % 4 == 2 and rtcp[-14] & 0x80, (len(rtcp), rtcp.hex())

    # Hold and resume keep the keys: still encrypted, and heard after.
    a.call(call_a, CALL, "Hold")
    wait_state(a, call_a, "held")
    a.call(call_a, CALL, "Resume")
    wait_state(a, call_a, "active")
    assert a.get(call_a, CALL, "Encrypted") is True and b.get(call_b, CALL, "Encrypted") is True
    assert a.get(call_a, CALL, "Media")["srtp-suite"] == suite
    resumed = time.monotonic()
    time.sleep(1.0)
    hang_up(a, call_a)
    wait_state(b, call_b, "terminated")
    wait_for(lambda: heard.exists() and heard.stat().st_size > 8000, harness.timeout(5), what="b's file")
    x, rate = audio.read_wav(heard)
    tail = x[-int(0.6 * rate):]
    print(f"\n{time.monotonic() - resumed:.1f} s after resume; tail level {audio.rms_dbfs(tail):.1f} dBFS")
    assert abs(audio.dominant_frequency(tail, rate) - 440) < 15
