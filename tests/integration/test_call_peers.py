"""Calls against other implementations: baresip (both directions, each
codec, audio verified at the far end) and sipp scenarios (early media,
busy, decline, offerless INVITE, remote hold, silent peer), and hostile
INVITEs that must get an error response without disturbing the next call.
"""

import re
import time

import pytest
from gi.repository import GLib

from harness import Baresip, SipClient, Sipp, audio, free_port, sdp
from harness.baresip import make_source_wav
from test_calls import CALL, answer, config, dial, history, incoming, state, wait_file, wait_state

CODEC_RATE = {"pcmu": 8000, "pcma": 8000, "g722": 16000, "opus": 48000}


@pytest.fixture
def lan(harness):
    """A dialtoned with a registrar-less account on a known port."""
    d = harness.daemon("phone", config=config()).start()
    d.port = free_port()
    d.add_account("lan", address="sip:phone@127.0.0.1", local_address="127.0.0.1", local_port=d.port,
                  allow_direct_calls=True)
    d.wait_account("lan", "unregistered", "no-registrar")
    return d


# baresip ------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["pcmu", "pcma", "g722", "opus"])
def test_dialtoned_calls_baresip(harness, tmp_path, codec):
    d = harness.daemon("phone", config=config(codec)).start()
    d.add_account("lan", address="sip:phone@127.0.0.1", local_address="127.0.0.1")
    bob = Baresip(harness, codecs=(codec,), answermode="auto")
    rate = CODEC_RATE[codec]
    sent = audio.make_test_signal(tmp_path / "sent.wav", rate, seconds=4)
    call = dial(d, bob.uri(), audio_source=f"file:{sent}")
    wait_state(d, call, "active", timeout=15)
    time.sleep(4.5)
    # baresip sends as it answers: its stream is counted too (50 packets a
    # second with every codec here), with each clock rate's jitter in ms.
    stats = d.get(call, CALL, "Statistics")
    print(f"\nstatistics with baresip, {codec}: {stats}")
    assert stats["packets-sent"] >= 150 and stats["packets-received"] >= 150, stats
    assert stats["packets-lost"] <= 0.01 * stats["packets-received"], stats
    assert 0 <= stats["jitter-ms"] < 20, stats
    d.call(call, CALL, "Hangup")
    wait_state(d, call, "terminated")
    received = bob.received_audio()
    result = audio.compare(sent, received, method="signal" if codec in ("pcmu", "pcma") else "envelope")
    print(f"\ndialtoned → baresip {codec}: correlation {result['correlation']:.3f}, SNR {result['snr_db']:.1f} dB")
    assert abs(result["correlation"]) > (0.9 if codec in ("pcmu", "pcma") else 0.8), result


def test_tone_reaches_baresip_as_a_clean_440_hz_sine(harness, tmp_path):
    """audio-source=tone comes from a table of the sine: what baresip
    decodes must still be a 440 Hz sine as clean as G.711 carries one (a
    pure sine through PCMU measures 36.6 dB; a coarse or broken table
    would show here as distortion)."""
    d = harness.daemon("phone", config=config("pcmu")).start()
    d.add_account("lan", address="sip:phone@127.0.0.1", local_address="127.0.0.1")
    bob = Baresip(harness, codecs=("pcmu",), answermode="auto")
    call = dial(d, bob.uri(), audio_source="tone")
    wait_state(d, call, "active", timeout=15)
    time.sleep(2.5)
    d.call(call, CALL, "Hangup")
    wait_state(d, call, "terminated")
    samples, rate = audio.read_wav(bob.received_audio())
    assert audio.active_ratio(samples, rate) > 0.5
    assert audio.dominant_frequency(samples, rate) == pytest.approx(440, abs=1)
    pure = audio.tone(rate, 440, 1000, amplitude=0.3, ramp_ms=0)
    result = audio.compare((pure, rate), (samples, rate), max_lag_s=3.0)
    print(f"\ntone → baresip: correlation {result['correlation']:.4f}, SNR {result['snr_db']:.1f} dB, "
          f"gain {result['gain_db']:.1f} dB")
    assert result["correlation"] > 0.999 and result["snr_db"] > 33, result
    assert result["gain_db"] == pytest.approx(0, abs=1), result  # the tone's level, 0.3 of full scale


@pytest.mark.parametrize("codec", ["pcmu", "pcma", "g722", "opus"])
def test_baresip_calls_dialtoned(harness, lan, tmp_path, codec):
    bob = Baresip(harness, codecs=(codec,), audio_source=make_source_wav(tmp_path / "src.wav", codec,
                                                                         kind="signal", seconds=4))
    received = tmp_path / "received.wav"
    bob.dial(f"sip:phone@127.0.0.1:{lan.port}")
    call = incoming(lan)
    props = lan.get_all(call, CALL)
    assert props["RemoteUri"].startswith("sip:bob@")
    answer(lan, call, audio_sink=f"file:{received}")
    media = wait_state(lan, call, "active")["Media"]
    assert media["codec"].lower().startswith(codec)
    bob.wait_established()
    bob.wait_closed(timeout=15)  # baresip hangs up when its file ends
    assert wait_state(lan, call, "terminated")["StateReason"] == "remote-hangup"
    wait_file(received)
    sent = bob.sent_audio()
    result = audio.compare(sent, received, method="signal" if codec in ("pcmu", "pcma") else "envelope")
    print(f"\nbaresip → dialtoned {codec}: correlation {result['correlation']:.3f}, SNR {result['snr_db']:.1f} dB")
    assert abs(result["correlation"]) > (0.9 if codec in ("pcmu", "pcma") else 0.8), result
    assert history(lan)[0]["codec"].lower().startswith(codec)


def test_echo_source_sends_back_what_it_hears(harness, lan, tmp_path):
    """An echo test: baresip sends speech, chirps and bursts; what it
    records back from us is that signal."""
    bob = Baresip(harness, audio_source=make_source_wav(tmp_path / "src.wav", "pcmu", kind="signal", seconds=3))
    bob.dial(f"sip:phone@127.0.0.1:{lan.port}")
    call = incoming(lan)
    # Only a source echoes: as a sink the word is refused, and the call still rings.
    with pytest.raises(GLib.Error) as e:
        answer(lan, call, audio_sink="echo")
    assert "org.dialtone.Phone1.Error.InvalidArguments" in str(e.value), e.value
    answer(lan, call, audio_source="echo")
    assert wait_state(lan, call, "active")["Media"]["audio-source"] == "echo"
    bob.wait_established()
    bob.wait_closed(timeout=15)   # baresip hangs up when its file ends
    wait_state(lan, call, "terminated")
    sent, echoed = bob.sent_audio(), bob.received_audio()
    result = audio.compare(sent, echoed)
    print(f"\necho through dialtoned: correlation {result['correlation']:.3f}, SNR {result['snr_db']:.1f} dB")
    # The whole signal came back, undistorted (the turnaround is timed by
    # bench/, scenario latency).
    assert result["correlation"] > 0.9 and result["snr_db"] > 10, result


# sipp scenarios -------------------------------------------------------------

def test_early_media_then_answer(harness, lan, tmp_path):
    peer = Sipp.uas(harness, "uas-early-media.xml", calls=1, start=False)
    tone = audio.tone(8000, 700, 4000, amplitude=0.5)
    (peer.dir / "early.ul").write_bytes(audio.g711_encode(tone, "ulaw"))
    peer.start()
    received = tmp_path / "received.wav"
    call = dial(lan, peer.uri("callee"), audio_sink=f"file:{received}")
    early = wait_state(lan, call, "early-media")
    assert early["SipStatus"] == 183 and early["Media"]["codec"] == "PCMU/8000"
    time.sleep(1)
    assert state(lan, call) == "early-media"
    wait_state(lan, call, "active", timeout=10)
    lan.call(call, CALL, "Hangup")
    wait_state(lan, call, "terminated")
    assert peer.wait() == 0, peer.report()
    wait_file(received)
    samples, rate = audio.read_wav(received)
    # The callee's 700 Hz was heard from early media on.
    assert audio.active_ratio(samples, rate) > 0.5
    assert abs(audio.dominant_frequency(samples, rate) - 700) < 20


@pytest.mark.parametrize("scenario,reason,status", [("uas-busy.xml", "busy", 486),
                                                    ("uas-decline.xml", "declined", 603)])
def test_refused_by_the_callee(harness, lan, scenario, reason, status):
    peer = Sipp.uas(harness, scenario, calls=1)
    call = dial(lan, peer.uri("callee"))
    end = wait_state(lan, call, "terminated")
    assert (end["StateReason"], end["SipStatus"]) == (reason, status)
    assert peer.wait() == 0, peer.report()
    assert history(lan)[0]["state-reason"] == reason


def test_offerless_invite(harness, lan):
    peer = Sipp(harness, "uac-offerless.xml", remote=f"127.0.0.1:{lan.port}", service="phone", timeout=30)
    call = incoming(lan)
    answer(lan, call)
    media = wait_state(lan, call, "active")["Media"]
    assert media["codec"] == "PCMU/8000"
    assert media["remote-port"] == int(peer.media_port)
    assert wait_state(lan, call, "terminated")["StateReason"] == "remote-hangup"
    assert peer.wait() == 0, peer.report()


def test_remote_hold_and_resume(harness, lan):
    peer = Sipp(harness, "uac-hold.xml", remote=f"127.0.0.1:{lan.port}", service="phone", timeout=30)
    call = incoming(lan)
    answer(lan, call)
    seen = []
    deadline = time.monotonic() + harness.timeout(20)
    while time.monotonic() < deadline:
        s = state(lan, call)
        if not seen or seen[-1] != s:
            seen.append(s)
        if s == "terminated":
            break
        time.sleep(0.05)
    assert seen[-4:] == ["active", "remote-held", "active", "terminated"], seen
    assert peer.wait() == 0, peer.report()


def test_silent_peer_ends_with_media_failed(harness, tmp_path):
    d = harness.daemon("phone", config=config("pcmu", "rtp-timeout=2\n")).start()
    d.add_account("lan", address="sip:phone@127.0.0.1", local_address="127.0.0.1")
    peer = Sipp.uas(harness, "uas-answer.xml", calls=1)  # answers, never sends RTP
    call = dial(d, peer.uri("callee"))
    wait_state(d, call, "active")
    end = wait_state(d, call, "terminated", timeout=10)
    assert end["StateReason"] == "media-failed"
    assert "no RTP received for 2 s" in d.output()


def test_broken_audio_source_ends_with_media_failed(harness, tmp_path):
    """A media error mid-call (a 'WAV' file that is not one) ends that call
    with media-failed and a log line naming the element; the daemon serves
    the next call."""
    d = harness.daemon("phone", config=config("pcmu")).start()
    d.add_account("lan", address="sip:phone@127.0.0.1", local_address="127.0.0.1")
    bogus = tmp_path / "bogus.wav"
    bogus.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8)
    peer = Sipp.uas(harness, "uas-answer.xml", calls=3)
    call = dial(d, peer.uri("callee"), audio_source=f"file:{bogus}")
    end = wait_state(d, call, "terminated", timeout=10)
    assert end["StateReason"] == "media-failed", end
    assert "wavparse" in d.output()

    # A device that is not there: the pipeline does not start, and the
    # reason names the element.
    call = dial(d, peer.uri("callee"), audio_source="alsa:hw:99,0")
    end = wait_state(d, call, "terminated", timeout=10)
    assert end["StateReason"] == "media-failed", end
    assert re.search(r"audio pipeline does not start: alsasrc\d*: ", d.output()), d.output()

    call = dial(d, peer.uri("callee"))
    wait_state(d, call, "active")
    d.call(call, CALL, "Hangup")
    assert wait_state(d, call, "terminated")["StateReason"] == "local-hangup"
    assert peer.wait() == 0, peer.report()


# hostile INVITEs ------------------------------------------------------------

BAD_INVITES = [
    ("not SDP at all", "application/sdp", "hello", 488),
    ("no audio", "application/sdp", sdp(media="video", payloads="96", rtpmaps=("96 H264/90000",)), 488),
    ("audio refused", "application/sdp", sdp(port=0), 488),
    ("port too big", "application/sdp", sdp(port=99999), 488),
    ("payload type 300", "application/sdp", sdp(payloads="300", rtpmaps=()), 488),
    ("unknown codecs only", "application/sdp", sdp(payloads="18 97", rtpmaps=("18 G729/8000", "97 iLBC/8000")), 488),
    ("SRTP only", "application/sdp", sdp(proto="RTP/SAVP"), 488),
    ("host name address", "application/sdp", sdp(address="pbx.example.org"), 488),
    ("not SDP", "text/plain", "hello", 415),
]


@pytest.mark.parametrize("name,ctype,body,status", BAD_INVITES, ids=[b[0] for b in BAD_INVITES])
def test_bad_invite_gets_an_error_and_the_next_call_works(harness, lan, name, ctype, body, status):
    client = SipClient()
    try:
        responses = client.invite("127.0.0.1", lan.port, user="phone", body=body, content_type=ctype)
        finals = [r for r in responses if r.status >= 200]
        assert finals and finals[0].status == status, responses
        if status == 488:
            warning = finals[0].header("warning")
            assert warning, "a 488 says why"
            assert re.fullmatch(r'399 \S+ "[^"\\]*"', warning), warning
        assert lan.manager_prop("Calls") == []

        # The next, good call rings as usual.
        good = client.invite("127.0.0.1", lan.port, user="phone", body=sdp(), timeout=1.0)
        assert [r.status for r in good if r.status > 100][:1] == [180], good
        call = incoming(lan)
        lan.call(call, CALL, "Reject", "(u)", (486,))
        wait_state(lan, call, "terminated")
    finally:
        client.close()
    assert lan.process.alive()


# Found by the fuzzers (tests/fuzz): SDP that Sofia-SIP 1.12.11 chokes on.
FUZZ_SDP = [
    # Sofia's error quotes the line; the Warning must still be one header.
    sdp().replace("t=0 0", 't=0 0\r\nx="quoted" \\'),
    # Sofia allocates until memory runs out on these (gigabytes a second).
    sdp() + "m=video 5000 UDP (\r\n",
    sdp(port="4000X", proto="/AVP"),
]


def test_sdp_found_by_fuzzing_is_refused_quickly(harness, lan):
    client = SipClient()
    try:
        for body in FUZZ_SDP:
            start = time.monotonic()
            responses = client.invite("127.0.0.1", lan.port, user="phone", body=body, timeout=3.0)
            finals = [r for r in responses if r.status >= 200]
            assert finals and finals[0].status == 488, (body, responses)
            assert time.monotonic() - start < 2.0, body
            assert re.fullmatch(r'399 \S+ "[^"\\]*"', finals[0].header("warning") or ""), finals[0]
        assert lan.manager_prop("Calls") == []
    finally:
        client.close()
    assert lan.process.alive()
