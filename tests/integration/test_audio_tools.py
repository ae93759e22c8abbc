"""Unit tests of harness.audio: signal generation, WAV reading, alignment,
comparison, onset detection and packet-capture parsing, on synthetic cases
with known answers. No daemon; sox and espeak-ng do the codec-like processing.
"""

import os
import select
import shutil
import socket
import struct
import subprocess
import time

import numpy as np
import pytest

from harness import audio

pytestmark = pytest.mark.skipif(shutil.which("sox") is None or shutil.which("espeak-ng") is None,
                                reason="needs sox and espeak-ng")


def sox(*args):
    subprocess.run(["sox", "-q", "-D", *[str(a) for a in args]], check=True, timeout=60)


@pytest.fixture(scope="module")
def ref8(tmp_path_factory):
    """The 6 s composite test signal at 8 kHz mono."""
    return audio.make_test_signal(tmp_path_factory.mktemp("ref") / "ref8.wav", 8000)


@pytest.fixture(scope="module")
def ref48(tmp_path_factory):
    """The same composite at 48 kHz stereo."""
    return audio.make_test_signal(tmp_path_factory.mktemp("ref") / "ref48.wav", 48000, 2)


def sine(rate, freq, seconds, amplitude=0.5):
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------

def test_make_speech_rate_channels_length(tmp_path):
    p = audio.make_speech(tmp_path / "s.wav", "Hello from Dialtone.", rate=16000, channels=2,
                          seconds=3.0)
    info = audio.wav_info(p)
    assert (info["format"], info["rate"], info["channels"], info["bits"]) == ("pcm", 16000, 2, 16)
    assert info["frames"] == 48000 and info["finalised"]
    x, rate = audio.read_wav(p)
    assert not audio.is_silent(x)
    assert np.max(np.abs(x)) == pytest.approx(0.5, abs=0.01)
    # short phrase, padded: the end is silent
    assert audio.is_silent(x[-8000:])
    # trimming a long text to 1 s
    p2 = audio.make_speech(tmp_path / "t.wav", audio.DEFAULT_TEXT, rate=8000, seconds=1.0)
    assert audio.wav_info(p2)["frames"] == 8000


def test_make_tone_bursts_layout(tmp_path):
    p = audio.make_tone_bursts(tmp_path / "b.wav", 16000, freq=800, count=4,
                               burst_ms=100, gap_ms=300, lead_ms=250)
    x, rate = audio.read_wav(p)
    assert len(x) == int(16000 * (0.25 + 4 * 0.4))
    assert audio.dominant_frequency(x, rate) == pytest.approx(800, abs=1)
    assert audio.is_silent(x[:int(0.24 * rate)])
    assert audio.rms_dbfs(x[int(0.26 * rate):int(0.34 * rate)]) == pytest.approx(-9.03, abs=0.1)
    assert audio.burst_times(4, 100, 300, 250) == pytest.approx([0.25, 0.65, 1.05, 1.45])


def test_make_test_signal_is_deterministic_and_shaped(tmp_path, ref8):
    again = audio.make_test_signal(tmp_path / "again.wav", 8000)
    assert again.read_bytes() == ref8.read_bytes()
    x, rate = audio.read_wav(ref8)
    assert rate == 8000 and len(x) == 6 * 8000
    assert audio.is_silent(x[:int(0.29 * rate)])          # silence at the start
    assert not audio.is_silent(x[int(0.3 * rate):int(1.0 * rate)])  # then speech
    assert 0.4 < audio.active_ratio(x, rate) < 0.7
    # the alignment peak is unique: the signal does not resemble itself shifted
    lagged = np.concatenate([np.zeros(4000), x])[:len(x)]
    assert audio.align(x, lagged, rate, method="envelope")[0] == pytest.approx(0.5, abs=1e-3)


def test_make_silence(tmp_path):
    x, rate = audio.read_wav(audio.make_silence(tmp_path / "z.wav", 48000, 2, 0.5))
    assert rate == 48000 and len(x) == 24000 and not x.any()
    assert audio.is_silent(x) and audio.rms_dbfs(x) == audio.SILENCE_DBFS
    assert audio.active_ratio(x, rate) == 0.0


# --------------------------------------------------------------------------
# Reading WAV files
# --------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,enc,bits,tol", [
    ("pcm", "unsigned-integer", 8, 1 / 64),
    ("pcm", "signed-integer", 16, 1e-4),
    ("pcm", "signed-integer", 24, 1e-4),
    ("pcm", "signed-integer", 32, 1e-4),
    ("float", "floating-point", 32, 1e-4),
    ("float", "floating-point", 64, 1e-4),
    ("ulaw", "u-law", 8, 0.02),
    ("alaw", "a-law", 8, 0.02),
])
def test_read_wav_sample_formats(tmp_path, fmt, enc, bits, tol):
    x = sine(22050, 440, 0.2, 0.7)
    src = audio.write_wav(tmp_path / "src.wav", x, 22050)
    out = tmp_path / f"{enc}{bits}.wav"
    sox(src, "-e", enc, "-b", bits, out)
    info = audio.wav_info(out)
    assert (info["format"], info["bits"], info["rate"]) == (fmt, bits, 22050)
    y, rate = audio.read_wav(out)
    assert rate == 22050 and y.dtype == np.float32 and len(y) == len(x)
    assert np.max(np.abs(y - x)) < tol


def test_read_wav_extensible_and_stereo_mixdown(tmp_path):
    left, right = sine(8000, 500, 0.5, 0.6), sine(8000, 500, 0.5, 0.2)
    src = audio.write_wav(tmp_path / "st.wav", np.stack([left, right], axis=1), 8000)
    # 24-bit stereo: sox writes WAVE_FORMAT_EXTENSIBLE
    ext = tmp_path / "ext.wav"
    sox(src, "-b", "24", ext)
    assert struct.unpack_from("<H", ext.read_bytes(), 20)[0] == 0xFFFE
    y, rate = audio.read_wav(ext)
    assert np.max(np.abs(y - (left + right) / 2)) < 1e-4
    both, _ = audio.read_wav(ext, mono=False)
    assert both.shape == (4000, 2)
    assert np.max(np.abs(both[:, 1] - right)) < 1e-4


@pytest.mark.parametrize("data_size", [0, 0xFFFFFFFF, 0x7FFF0000])
def test_read_wav_unfinalised_header(tmp_path, data_size):
    """A recorder killed before it finalised its header: libsndfile leaves 0,
    some writers 0xFFFFFFFF, GStreamer's wavenc 0x7FFF0000 (seen here)."""
    x = sine(16000, 1000, 0.5)
    p = audio.write_wav(tmp_path / "ok.wav", x, 16000)
    raw = bytearray(p.read_bytes())
    struct.pack_into("<I", raw, 4, 0 if data_size == 0 else data_size)   # RIFF size
    struct.pack_into("<I", raw, 40, data_size)                           # data size
    raw += b"\x12"                          # plus half a sample: dropped
    bad = tmp_path / "bad.wav"
    bad.write_bytes(bytes(raw))
    info = audio.wav_info(bad)
    assert not info["finalised"] and info["frames"] == len(x)
    y, rate = audio.read_wav(bad)
    assert rate == 16000 and np.max(np.abs(y - x)) < 1e-4


def test_read_wav_skips_other_chunks_and_rejects_junk(tmp_path):
    x = sine(8000, 300, 0.25)
    raw = audio.write_wav(tmp_path / "a.wav", x, 8000).read_bytes()
    fmt, data = raw[12:36], raw[36:]
    lst = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"        # odd size, padded
    p = tmp_path / "b.wav"
    body = b"WAVE" + lst + fmt + data
    p.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    y, _ = audio.read_wav(p)
    assert np.max(np.abs(y - x)) < 1e-4
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wave file at all")
    with pytest.raises(ValueError):
        audio.read_wav(junk)


def test_g711_matches_sox(tmp_path):
    rng = np.random.default_rng(7)
    pcm = np.concatenate([np.arange(-32768, 32768, 7), rng.integers(-32768, 32768, 5000)])
    pcm = pcm.astype("<i2")
    raw = tmp_path / "in.raw"
    raw.write_bytes(pcm.tobytes())
    for law, enc in (("ulaw", "u-law"), ("alaw", "a-law")):
        out = tmp_path / f"out.{law}"
        sox("-t", "raw", "-r", 8000, "-e", "signed", "-b", 16, "-c", 1, raw,
            "-t", "raw", "-e", enc, "-b", 8, out)
        assert audio.g711_encode(pcm, law) == out.read_bytes(), law
        back = tmp_path / f"back.{law}"
        sox("-t", "raw", "-r", 8000, "-e", enc, "-b", 8, "-c", 1, out,
            "-t", "raw", "-e", "signed", "-b", 16, back)
        ref = np.frombuffer(back.read_bytes(), "<i2") / 32768.0
        assert np.array_equal(audio.g711_decode(out.read_bytes(), law), ref.astype(np.float32))


# --------------------------------------------------------------------------
# Resampling and levels
# --------------------------------------------------------------------------

@pytest.mark.parametrize("src,dst", [(48000, 8000), (8000, 44100), (44100, 16000), (16000, 48000)])
def test_resample_keeps_tone_level_and_length(src, dst):
    x = sine(src, 1000, 1.0)
    y = audio.resample(x, src, dst)
    assert len(y) == dst
    assert audio.dominant_frequency(y, dst) == pytest.approx(1000, abs=0.5)
    assert audio.rms_dbfs(y[dst // 10:-dst // 10]) == pytest.approx(audio.rms_dbfs(x), abs=0.05)
    # no time shift: it lines up with the tone generated at the new rate
    mid = slice(dst // 10, -dst // 10)
    assert np.max(np.abs(y[mid] - sine(dst, 1000, 1.0)[mid])) < 1e-3


def test_resample_removes_content_above_new_nyquist():
    y = audio.resample(sine(48000, 5000, 1.0), 48000, 8000)
    assert audio.rms_dbfs(y[800:-800]) < -80


def test_levels_and_silence():
    assert audio.rms_dbfs(sine(8000, 1000, 1.0, 1.0)) == pytest.approx(-3.01, abs=0.01)
    assert audio.rms_dbfs(np.zeros(100)) == audio.SILENCE_DBFS
    rng = np.random.default_rng(3)
    hiss = rng.normal(0, 10 ** (-60 / 20), 48000)      # -60 dBFS noise
    assert audio.rms_dbfs(hiss) == pytest.approx(-60, abs=0.2)
    assert audio.is_silent(hiss) and not audio.is_silent(hiss, threshold_dbfs=-65)
    click = hiss.copy()
    click[30000:30080] += sine(8000, 1000, 0.01, 0.1)  # 10 ms blip in 6 s
    assert not audio.is_silent(click)
    half = np.concatenate([np.zeros(8000), sine(8000, 440, 1.0, 0.1)])
    assert audio.active_ratio(half, 8000) == pytest.approx(0.5)
    assert audio.active_ratio(half, 8000, threshold_dbfs=-20) == 0.0


@pytest.mark.parametrize("freq", [300.0, 1000.0, 1234.5, 3300.0])
def test_dominant_frequency(freq):
    assert audio.dominant_frequency(sine(8000, freq, 0.5), 8000) == pytest.approx(freq, abs=1.0)


# --------------------------------------------------------------------------
# Alignment and comparison
# --------------------------------------------------------------------------

def test_mulaw_with_123ms_delay(tmp_path, ref48):
    """48 kHz stereo reference -> 8 kHz mu-law, 123 ms late -> back to PCM."""
    law = tmp_path / "ulaw.wav"
    sox(ref48, "-e", "u-law", "-r", 8000, "-c", 1, law, "pad", 0.123)
    back = tmp_path / "back.wav"
    sox(law, "-e", "signed", "-b", 16, back)
    for received in (law, back):
        r = audio.compare(ref48, received)
        assert r["rate"] == 8000
        assert r["lag_s"] == pytest.approx(0.123, abs=0.0005)
        assert r["correlation"] > 0.99
        assert r["snr_db"] > 30          # mu-law: ~36 dB on this signal
        assert abs(r["gain_db"]) < 0.2
        assert r["overlap_s"] == pytest.approx(6.0, abs=0.01)
    env = audio.compare(ref48, back, method="envelope")
    assert env["lag_s"] == pytest.approx(0.123, abs=0.001)
    assert env["correlation"] > 0.99 and env["snr_db"] > 30
    assert audio.contains_signal(ref48, back)


def test_lossy_bandlimited_chain(tmp_path, ref8):
    """Opus-like: up to 48 kHz, 200-3000 Hz band, quieter, 16 kHz, hiss, 37 ms late."""
    lossy = tmp_path / "lossy.wav"
    sox(ref8, "-r", 16000, lossy, "rate", 48000, "sinc", "-3000", "highpass", 200, "gain", -6,
        "rate", 16000, "pad", 0.037)
    x, rate = audio.read_wav(lossy)
    x = x + np.random.default_rng(5).normal(0, 10 ** (-45 / 20), len(x))
    r = audio.compare(ref8, (x, rate))
    assert r["lag_s"] == pytest.approx(0.037, abs=0.001)
    assert r["correlation"] > 0.6
    assert r["gain_db"] == pytest.approx(-6, abs=2) and not r["inverted"]
    assert audio.contains_signal(ref8, (x, rate))


def test_inverted_polarity(tmp_path, ref8):
    """sox's band-pass `sinc` inverts polarity (impulse response peak < 0)."""
    x, rate = audio.read_wav(ref8)
    r = audio.compare((x, rate), (-0.5 * x, rate))
    assert r["inverted"] and r["correlation"] > 0.999
    assert r["gain_db"] == pytest.approx(-6.02, abs=0.01)
    assert audio.align(x, -x, rate)[1] < -0.999
    assert audio.align(x, -x, rate, allow_inverted=False)[1] < 0.3
    band = tmp_path / "band.wav"
    sox(ref8, band, "sinc", "300-3000")
    r = audio.compare(ref8, band)
    assert r["inverted"] and r["correlation"] > 0.8 and abs(r["lag_s"]) < 1e-4


def test_phase_distortion_envelope_method(tmp_path, ref8):
    """All-pass filters scramble phase: the waveform match degrades, the
    envelope match does not."""
    out = tmp_path / "phase.wav"
    sox(ref8, out, "allpass", 1000, "2q", "allpass", 300, "1q", "allpass", 2200, "1q",
        "pad", 0.2)
    sig = audio.compare(ref8, out)
    env = audio.compare(ref8, out, method="envelope")
    assert env["lag_s"] == pytest.approx(0.2, abs=0.003)
    assert env["correlation"] > 0.95
    assert sig["correlation"] < env["correlation"]
    assert audio.contains_signal(ref8, out, min_correlation=0.9, method="envelope")


@pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="needs gst-launch-1.0")
def test_real_opus_round_trip(tmp_path, ref48):
    out = tmp_path / "opus.wav"
    res = subprocess.run(
        ["gst-launch-1.0", "-q", "filesrc", f"location={ref48}", "!", "wavparse", "!",
         "audioconvert", "!", "opusenc", "bitrate=24000", "!", "opusdec", "!", "audioconvert",
         "!", "audio/x-raw,format=S16LE,channels=1", "!", "wavenc", "!", "filesink",
         f"location={out}"], capture_output=True, timeout=60)
    if res.returncode != 0:
        pytest.skip(f"no Opus in GStreamer here: {res.stderr.decode()[-200:]}")
    r = audio.compare(ref48, out)
    assert abs(r["lag_s"]) < 0.01 and r["correlation"] > 0.9
    assert audio.compare(ref48, out, method="envelope")["correlation"] > 0.95


def test_unrelated_signals_do_not_match(tmp_path, ref8):
    x, rate = audio.read_wav(ref8)
    noise = np.random.default_rng(11).normal(0, 0.1, len(x) + 3000)
    other = audio.speech_samples("Completely different words are spoken here today.", 8000)
    bursts, _ = audio.read_wav(audio.make_tone_bursts(tmp_path / "b.wav", 8000, count=12))
    for received in (noise, other, bursts):
        assert audio.align(x, received, rate)[1] < 0.2
        assert audio.align(x, received, rate, method="envelope")[1] < 0.5
        assert not audio.contains_signal((x, rate), (received, rate))
    silence = np.zeros(len(x))
    assert not audio.contains_signal((x, rate), (silence, rate))


def test_recording_that_missed_the_start(ref8):
    """Received starts 0.7 s into the reference and is shorter: negative lag."""
    x, rate = audio.read_wav(ref8)
    rec = x[int(0.7 * rate):int(4.7 * rate)]
    lag, corr = audio.align(x, rec, rate)
    assert lag == pytest.approx(-0.7, abs=1e-4) and corr > 0.999
    r = audio.compare((x, rate), (rec, rate))
    assert r["overlap_s"] == pytest.approx(4.0, abs=1e-3) and r["snr_db"] > 60


def test_fractional_lag_and_max_lag(ref8):
    x, rate = audio.read_wav(ref8)
    hi = audio.resample(x, 8000, 48000)
    late = audio.resample(np.concatenate([np.zeros(3), hi]), 48000, 8000)  # 62.5 us late
    lag, corr = audio.align(x, late, rate)
    assert lag == pytest.approx(3 / 48000, abs=2e-5) and corr > 0.99
    assert audio.compare((x, rate), (late, rate))["snr_db"] > 30
    far = np.concatenate([np.zeros(int(2.5 * rate)), x])
    assert audio.align(x, far, rate, max_lag_s=3.0)[0] == pytest.approx(2.5, abs=1e-4)
    assert audio.align(x, far, rate, max_lag_s=2.0)[1] < 0.5


# --------------------------------------------------------------------------
# Onsets and delay
# --------------------------------------------------------------------------

@pytest.mark.parametrize("rate,freq", [(8000, 1000), (16000, 400), (48000, 2000)])
def test_burst_onsets_exact(tmp_path, rate, freq):
    p = audio.make_tone_bursts(tmp_path / "b.wav", rate, freq=freq, count=6)
    x, _ = audio.read_wav(p)
    x = x + np.random.default_rng(2).normal(0, 10 ** (-55 / 20), len(x))
    onsets = audio.burst_onsets(x, rate)
    assert onsets == pytest.approx(audio.burst_times(6), abs=0.002)


def test_burst_onsets_ignore_short_dips_and_initial_sound():
    rate = 8000
    x = sine(rate, 1000, 1.0)
    x[2000:2400] = 0                      # 50 ms dip < min_gap: same burst
    x[5000:7000] = 0                      # 250 ms gap: new burst at 0.875 s
    onsets = audio.burst_onsets(x, rate)  # sounding from sample 0: no onset there
    assert onsets == pytest.approx([0.875], abs=0.001)
    assert len(audio.burst_onsets(np.zeros(8000), rate)) == 0


def test_delay_between_through_mulaw(tmp_path):
    sent = audio.make_tone_bursts(tmp_path / "sent.wav", 16000, count=8, gap_ms=300)
    received = tmp_path / "received.wav"
    sox(sent, "-e", "u-law", "-r", 8000, received, "pad", 0.087)
    assert audio.delay_between(sent, received) == pytest.approx(0.087, abs=0.002)
    x, rate = audio.read_wav(received)
    late = audio.match_onsets(audio.burst_onsets(x, rate), [])
    assert late == []
    with pytest.raises(ValueError):
        audio.delay_between(sent, (np.zeros(8000), 8000))


# --------------------------------------------------------------------------
# Packet captures
# --------------------------------------------------------------------------

def rtp(seq, ts, ssrc, payload, pt=0, marker=False, csrcs=(), ext=None, pad=0):
    b0 = 0x80 | len(csrcs) | (0x10 if ext is not None else 0) | (0x20 if pad else 0)
    hdr = struct.pack(">BBHII", b0, pt | (0x80 if marker else 0), seq & 0xFFFF, ts, ssrc)
    hdr += b"".join(struct.pack(">I", c) for c in csrcs)
    if ext is not None:
        hdr += struct.pack(">HH", 0xBEDE, len(ext) // 4) + ext
    tail = (b"\0" * (pad - 1) + bytes([pad])) if pad else b""
    return hdr + payload + tail


def udp4(src, sport, dst, dport, payload):
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp


def udp6(src, sport, dst, dport, payload):
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">IHBB16s16s", 0x60000000, len(udp), 17, 64,
                     socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
    return ip + udp


def ether(ip):
    etype = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    return b"\x02" * 6 + b"\x04" * 6 + struct.pack(">H", etype) + ip + b"\0" * 6  # + padding


def sll2(ip):
    etype = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    return struct.pack(">HHIHBB8s", etype, 0, 1, 772, 0, 6, b"\0" * 8) + ip


def pcap_file(path, link, frames, nano=False):
    out = [struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 65535, link)]
    for t, frame in frames:
        sec = int(t)
        frac = int(round((t - sec) * (1e9 if nano else 1e6)))
        out.append(struct.pack("<IIII", sec, frac, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


def pcapng_file(path, link, frames):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
           block(1, struct.pack("<HHI", link, 0, 0) + struct.pack("<HHB3x", 9, 1, 9)
                 + struct.pack("<HH", 0, 0))]                           # ns resolution
    for t, frame in frames:
        ticks = int(round(t * 1e9))
        out.append(block(6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF,
                                        len(frame), len(frame)) + frame))
    path.write_bytes(b"".join(out))
    return path


def synthetic_call():
    """Two RTP streams on IPv4 plus noise: (time, IP packet) pairs."""
    tone = audio.g711_encode(sine(8000, 1000, 2.0))
    pkts = []
    # A -> B: PCMU, seq wraps at 65535, seq 65534+5 lost, one duplicate, one reordered
    seqs = [65530, 65531, 65532, 65533, 65535, 0, 1, 1, 3, 2, 4, 5]
    for i, q in enumerate(seqs):
        n = (q - 65530) % 65536
        payload = rtp(q, 160 * n, 0xAAAA0001, tone[160 * n:160 * n + 160], marker=(i == 0))
        pkts.append((1000.0 + 0.02 * i, udp4("127.0.0.1", 40000, "127.0.0.1", 40002, payload)))
    # B -> A: telephone-event mixed in (pt 101), CSRC, header extension and padding
    for i in range(20):
        pt = 101 if i in (7, 8) else 8
        payload = rtp(100 + i, 5000 + 160 * i, 0xBBBB0002, b"\xd5" * 160, pt=pt, csrcs=(7,),
                      ext=b"\x10\x01\0\0", pad=4 if i == 3 else 0)
        pkts.append((1000.01 + 0.02 * i, udp4("127.0.0.1", 40002, "127.0.0.1", 40000, payload)))
    # not RTP: an RTCP sender report, SIP, STUN, a single stray v2 packet
    pkts.append((1000.5, udp4("127.0.0.1", 40001, "127.0.0.1", 40003,
                              struct.pack(">BBHI", 0x80, 200, 6, 0xAAAA0001) + b"\0" * 20)))
    pkts.append((1000.6, udp4("127.0.0.1", 5060, "127.0.0.1", 5062,
                              b"INVITE sip:bob@x SIP/2.0\r\n")))
    pkts.append((1000.7, udp4("127.0.0.1", 3478, "127.0.0.1", 40000,
                              b"\x00\x01\x00\x00\x21\x12\xa4\x42" + b"\0" * 12)))
    pkts.append((1000.8, udp4("127.0.0.1", 9, "127.0.0.1", 9, rtp(1, 1, 0x12345678, b"x"))))
    return sorted(pkts)


def check_synthetic_call(streams):
    assert [(s.sport, s.dport) for s in streams] == [(40000, 40002), (40002, 40000)]
    a, b = streams
    assert (a.src, a.dst, a.ssrc, a.payload_type, a.payload_types) == \
        ("127.0.0.1", "127.0.0.1", 0xAAAA0001, 0, {0})
    assert a.packets == 12 and a.lost == 1 and a.gaps == 1
    assert a.duplicates == 1 and a.out_of_order == 1
    assert (a.first_seq, a.last_seq) == (65530, 5) and a.markers[0] and not any(a.markers[1:])
    assert (a.first_timestamp, a.last_timestamp) == (0, 160 * 11)
    assert a.first_time == pytest.approx(1000.0, abs=1e-6)
    assert a.duration_s == pytest.approx(0.22, abs=1e-6)
    assert all(len(p) == 160 for p in a.payloads)
    assert audio.dominant_frequency(a.audio(), 8000) == pytest.approx(1000, abs=2)
    assert b.ssrc == 0xBBBB0002 and b.payload_type == 8 and b.payload_types == {8, 101}
    assert b.packets == 20 and b.lost == 0 and b.gaps == 0 and b.out_of_order == 0
    assert all(p == b"\xd5" * 160 for p in b.payloads)  # CSRC, extension, padding stripped
    assert audio.is_silent(b.audio("alaw"))


def test_rtp_stream_audio_timelines(tmp_path):
    frames = [(t, ether(ip)) for t, ip in synthetic_call()]
    a, b = audio.pcap_rtp_streams(pcap_file(tmp_path / "c.pcap", 1, frames))
    assert len(a.audio()) == 12 * 160                    # as received, duplicate included
    by_rtp = a.audio(timeline="rtp")
    assert len(by_rtp) == 12 * 160                       # seq 65530..5, one lost
    assert not by_rtp[4 * 160:5 * 160].any()             # the lost packet is silence
    assert np.array_equal(by_rtp[5 * 160:], audio.g711_decode(
        audio.g711_encode(sine(8000, 1000, 2.0))[5 * 160:12 * 160]))
    by_time = a.audio(timeline="capture", start=999.9)   # packets 20 ms apart
    assert len(by_time) == int(0.1 * 8000) + 12 * 160
    assert len(b.audio(law="alaw")) == 18 * 160          # 2 telephone-events left out
    assert len(b.audio(law="alaw", payload_type=101)) == 2 * 160


def test_wire_delay_from_capture(tmp_path):
    """Bursts sent A->B and echoed B->A 119 ms later (with up to 2 ms jitter):
    the delay on the wire comes from the capture times of both streams."""
    src = audio.make_tone_bursts(tmp_path / "b.wav", 8000, count=6, gap_ms=400)
    x, _ = audio.read_wav(src)
    law = audio.g711_encode(x)
    rng = np.random.default_rng(4)
    pkts = []
    for i in range(len(law) // 160):
        chunk = law[160 * i:160 * (i + 1)]
        pkts.append((50.0 + 0.02 * i, udp4("127.0.0.1", 4000, "127.0.0.1", 5000,
                                           rtp(i, 160 * i, 1, chunk))))
        echo = rtp(7 + i, 99 + 160 * i, 2, chunk)
        pkts.append((50.119 + 0.02 * i + rng.uniform(0, 0.002),
                     udp4("127.0.0.1", 5000, "127.0.0.1", 4000, echo)))
    pcap = pcap_file(tmp_path / "echo.pcap", 101, sorted(pkts))
    sent, back = audio.pcap_rtp_streams(pcap)
    start = min(sent.first_time, back.first_time)
    delay = audio.delay_between((sent.audio(timeline="capture", start=start), 8000),
                                (back.audio(timeline="capture", start=start), 8000))
    assert delay == pytest.approx(0.119, abs=0.003)
    # the RTP timelines alone cannot show it: both start at their own first packet
    assert audio.delay_between((sent.audio(timeline="rtp"), 8000),
                               (back.audio(timeline="rtp"), 8000)) == pytest.approx(0, abs=1e-3)


def test_pcap_rtp_streams_ethernet_ipv4(tmp_path):
    frames = [(t, ether(ip)) for t, ip in synthetic_call()]
    streams = audio.pcap_rtp_streams(pcap_file(tmp_path / "c.pcap", 1, frames))
    check_synthetic_call(streams)
    assert len(audio.pcap_rtp_streams(tmp_path / "c.pcap", min_packets=1)) == 3
    only = audio.pcap_rtp_streams(tmp_path / "c.pcap", ports=[40002])
    assert len(only) == 2
    assert len(audio.udp_packets(tmp_path / "c.pcap")) == len(frames)


def test_pcap_nanosecond_sll2_and_pcapng(tmp_path):
    frames = [(t, sll2(ip)) for t, ip in synthetic_call()]
    check_synthetic_call(audio.pcap_rtp_streams(pcap_file(tmp_path / "n.pcap", 276, frames, True)))
    raw = [(t, ip) for t, ip in synthetic_call()]
    check_synthetic_call(audio.pcap_rtp_streams(pcapng_file(tmp_path / "c.pcapng", 101, raw)))


def test_pcap_ipv6(tmp_path):
    frames = [(10 + 0.02 * i, ether(udp6("::1", 50000, "::1", 50002,
                                         rtp(i, 160 * i, 42, b"\xff" * 160, pt=0))))
              for i in range(10)]
    (s,) = audio.pcap_rtp_streams(pcap_file(tmp_path / "v6.pcap", 1, frames))
    assert (s.src, s.sport, s.dst, s.dport) == ("::1", 50000, "::1", 50002)
    assert (s.ssrc, s.packets) == (42, 10)


@pytest.mark.skipif(shutil.which("tcpdump") is None or os.geteuid() != 0,
                    reason="needs tcpdump and root")
def test_tcpdump_capture_on_loopback(tmp_path):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    port = rx.getsockname()[1]
    pcap = tmp_path / "lo.pcap"
    proc = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "-w", str(pcap),
                             f"udp and dst port {port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        line = b""
        while b"listening on" not in line:
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                pytest.skip("tcpdump did not start capturing on lo")
            if select.select([proc.stderr], [], [], left)[0]:
                line = proc.stderr.readline()
        tone = audio.g711_encode(sine(8000, 1000, 1.0))
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t0 = time.time()
        for i in range(50):
            tx.sendto(rtp(i, 160 * i, 0x5EED, tone[160 * i:160 * (i + 1)]), ("127.0.0.1", port))
            time.sleep(0.002)
        tx.close()
        streams = []
        while time.monotonic() < deadline:
            streams = audio.pcap_rtp_streams(pcap) if pcap.stat().st_size > 24 else []
            if streams and streams[0].packets == 50:
                break
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()
        rx.close()
    (s,) = streams
    assert (s.ssrc, s.packets, s.lost, s.dport, s.payload_type) == (0x5EED, 50, 0, port, 0)
    assert abs(s.first_time - t0) < 2 and 0.05 < s.duration_s < 2
    assert audio.payloads_look_like_g711(s.payloads)
    assert audio.dominant_frequency(s.audio(), 8000) == pytest.approx(1000, abs=2)


def test_payload_entropy_and_g711_detection(ref8):
    assert audio.payload_entropy(b"") == 0.0
    assert audio.payload_entropy(b"\x00" * 100) == 0.0
    assert audio.payload_entropy(bytes(range(256)) * 4) == pytest.approx(8.0)
    x, _ = audio.read_wav(ref8)
    rng = np.random.default_rng(9)
    plaintext = {
        "speech ulaw": audio.g711_encode(x),
        "speech alaw": audio.g711_encode(x, "alaw"),
        "silence": b"\xff" * 8000,
        "quiet noise": audio.g711_encode(rng.normal(0, 0.001, 8000)),
        "loud noise": audio.g711_encode(rng.normal(0, 0.3, 8000)),
        "3 kHz tone": audio.g711_encode(sine(8000, 3000, 1.0)),
    }
    for name, data in plaintext.items():
        packets = [data[i:i + 160] for i in range(0, len(data), 160)]
        assert audio.payloads_look_like_g711(packets), name
    for n in (800, 1600, 8000, 48000):
        # what SRTP ciphertext (plus its 10-byte tags) looks like: random bytes
        cipher = [os.urandom(170) for _ in range(n // 170 + 1)]
        assert not audio.payloads_look_like_g711(cipher), n
        assert audio.payload_entropy(b"".join(cipher)) > 7.7
    with pytest.raises(ValueError):
        audio.payloads_look_like_g711([b"\xff" * 100])
