"""Audio tools for tests that must prove real audio went through a call.

Everything here is numpy plus the Python standard library; signals are made
with espeak-ng (speech) and sox (format and rate conversion). No scipy.

Making test signals (all write 16-bit signed little-endian PCM WAV files and
return the path):

    make_speech(path, text, rate, channels, seconds)    espeak-ng speech
    make_tone_bursts(path, rate, channels, freq, ...)   sine bursts, clear onsets
    make_test_signal(path, rate, channels, seconds)     silence, speech, chirp, bursts
    make_silence(path, rate, channels, seconds)
    write_wav(path, samples, rate, channels)            any float array

Reading and converting:

    read_wav(path) -> (float32 mono samples, rate)      8/16/24/32-bit PCM, float,
                                                        G.711, unfinalised headers
    wav_info(path) -> dict                              format, rate, frames, ...
    resample(samples, from_rate, to_rate)               FFT band-limited resampling
    g711_encode(samples, law) / g711_decode(data, law)

Analysis (levels are RMS in dBFS: a full-scale sine is -3.01 dBFS):

    rms_dbfs, active_ratio, is_silent, dominant_frequency
    align(reference, received, rate) -> (lag_s, correlation)
    compare(reference, received) -> dict(lag_s, correlation, snr_db, ...)
    contains_signal(reference, received, min_correlation)
    burst_onsets(samples, rate) -> onset times (s)
    delay_between(sent, received) -> median onset delay (s)

Wire checks (pcap and pcapng as written by tcpdump or dumpcap):

    udp_packets(pcap_path)          every UDP datagram with its capture time
    pcap_rtp_streams(pcap_path)     RTP streams: SSRC, payload type, losses, ...
    RtpStream.audio(law, timeline)  plaintext G.711 payloads as audio, laid out
                                    by arrival, RTP timestamp or capture time
    payload_entropy(data)           Shannon entropy, bits per byte
    payloads_look_like_g711(payloads)  plaintext G.711 or not (SRTP checks)

Wherever an analysis function takes a "reference" or "received" signal that is
not already a sample array with a separate rate argument, it accepts either a
path to a WAV file or a (samples, rate) tuple.
"""

import ipaddress
import math
import os
import pathlib
import shutil
import struct
import subprocess
import time
import tempfile
from dataclasses import dataclass, field

import numpy as np

DEFAULT_TEXT = ("The quick brown fox jumps over the lazy dog. "
                "Testing one, two, three, four, five.")

# Floor for levels of digital silence, so results stay finite (and JSON-able).
SILENCE_DBFS = -150.0


# --------------------------------------------------------------------------
# Writing and generating signals
# --------------------------------------------------------------------------

def write_wav(path, samples, rate, channels=None):
    """Write float samples in [-1, 1] as a 16-bit signed little-endian WAV.

    `samples` is 1-D (mono) or 2-D (frames, channels). A 1-D signal is copied
    to every channel when `channels` > 1. Values are rounded and clipped.
    Returns the path as a pathlib.Path.
    """
    path = pathlib.Path(path)
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError("samples must be 1-D or (frames, channels)")
    if channels is not None and channels != x.shape[1]:
        if x.shape[1] != 1:
            raise ValueError(f"cannot write {x.shape[1]} channels as {channels}")
        x = np.repeat(x, channels, axis=1)
    nch = x.shape[1]
    pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
    data = pcm.tobytes()
    header = struct.pack("<4sI4s4sIHHIIHH4sI",
                         b"RIFF", 36 + len(data), b"WAVE",
                         b"fmt ", 16, 1, nch, int(rate), int(rate) * nch * 2, nch * 2, 16,
                         b"data", len(data))
    with open(path, "wb") as f:
        f.write(header)
        f.write(data)
    return path


def _sox(*args):
    """Run sox quietly, without dither (so output is deterministic)."""
    cmd = ["sox", "-q", "-D", *[str(a) for a in args]]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip()}")


def _fit(x, rate, seconds):
    """Pad with silence or cut `x` to exactly `seconds`."""
    n = int(round(seconds * rate))
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - len(x), dtype=x.dtype)])


def _fade(x, rate, ms=5.0):
    """Raised-cosine fade-in and fade-out of `ms`, to avoid clicks."""
    n = min(int(rate * ms / 1000.0), len(x) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
        x = x.copy()
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def speech_samples(text=DEFAULT_TEXT, rate=8000, voice="en", words_per_minute=160, peak=0.5):
    """Speech from espeak-ng as float64 mono samples at `rate`, peak-normalised.

    espeak-ng output is deterministic for a given text, voice and speed;
    sox converts it to `rate` (linear-phase, no dither).
    """
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed")
    with tempfile.TemporaryDirectory(prefix="dialtone-speech-") as tmp:
        raw = os.path.join(tmp, "espeak.wav")
        conv = os.path.join(tmp, "conv.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", raw, text],
                       check=True, capture_output=True, timeout=60)
        _sox(raw, "-e", "signed-integer", "-b", "16", "-c", "1", "-r", int(rate), conv)
        x, _ = read_wav(conv)
    x = x.astype(np.float64)
    top = np.max(np.abs(x)) if len(x) else 0.0
    if top > 0:
        x *= peak / top
    return x


def make_speech(path, text=DEFAULT_TEXT, rate=8000, channels=1, seconds=None,
                voice="en", words_per_minute=160, peak=0.5):
    """Write speech synthesised by espeak-ng to `path` (S16LE WAV).

    The speech is peak-normalised to `peak` (0.5 = -6 dBFS) so that codecs do
    not clip. With `seconds`, it is padded with silence or cut (with a short
    fade) to exactly that length. Returns the path.
    """
    x = speech_samples(text, rate, voice, words_per_minute, peak)
    if seconds is not None:
        if len(x) > seconds * rate:
            x = _fade(_fit(x, rate, seconds), rate, 10.0)
        x = _fit(x, rate, seconds)
    return write_wav(path, x, rate, channels)


def tone(rate, freq, ms, amplitude=0.5, ramp_ms=1.0):
    """A sine of `freq` Hz lasting `ms`, with raised-cosine ramps of `ramp_ms`."""
    n = int(round(rate * ms / 1000.0))
    t = np.arange(n) / float(rate)
    return _fade(amplitude * np.sin(2 * np.pi * freq * t), rate, ramp_ms)


def chirp(rate, f0, f1, ms, amplitude=0.5, ramp_ms=5.0):
    """A linear frequency sweep from `f0` to `f1` Hz lasting `ms`."""
    n = int(round(rate * ms / 1000.0))
    t = np.arange(n) / float(rate)
    dur = n / float(rate)
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * dur))
    return _fade(amplitude * np.sin(phase), rate, ramp_ms)


def make_tone_bursts(path, rate, channels=1, freq=1000.0, burst_ms=100.0, gap_ms=400.0,
                     count=10, amplitude=0.5, lead_ms=200.0, ramp_ms=1.0):
    """Write `count` sine bursts of `freq` Hz to `path` (S16LE WAV).

    Layout: `lead_ms` of silence, then burst i starts at
    lead_ms + i * (burst_ms + gap_ms); the file ends with one more gap.
    The 1 ms ramps keep the onsets sharp (well within 1 ms of the nominal
    time at any threshold up to 20 dB below the burst level). Returns the path.
    """
    period = int(round(rate * (burst_ms + gap_ms) / 1000.0))
    lead = int(round(rate * lead_ms / 1000.0))
    burst = tone(rate, freq, burst_ms, amplitude, ramp_ms)
    x = np.zeros(lead + count * period)
    for i in range(count):
        start = lead + i * period
        x[start:start + len(burst)] = burst
    return write_wav(path, x, rate, channels)


def burst_times(count=10, burst_ms=100.0, gap_ms=400.0, lead_ms=200.0):
    """Nominal onset times (s) of what make_tone_bursts writes with these arguments."""
    return [(lead_ms + i * (burst_ms + gap_ms)) / 1000.0 for i in range(count)]


def composite_samples(rate, seconds=6.0, text=DEFAULT_TEXT):
    """The composite made by make_test_signal, as float64 mono samples.

    Layout (scaled to `seconds`, at least 2 s): 0.3 s of silence; speech for
    up to half the length; 0.15 s pause; a 0.4 s chirp 300 Hz -> 3 kHz; then
    80 ms tone bursts of varying frequency (400-2400 Hz) after irregular gaps
    until 0.2 s before the end. Nothing in it is periodic, so cross-correlation
    has a single clear peak; everything stays below 3.4 kHz, so it survives
    narrowband codecs. Deterministic.
    """
    if seconds < 2.0:
        raise ValueError("the composite test signal needs at least 2 s")
    top = min(3000.0, 0.4 * rate)
    x = [np.zeros(int(0.3 * rate))]
    speech = speech_samples(text, rate, peak=0.5)
    slot = 0.5 * seconds
    if len(speech) > slot * rate:
        speech = _fade(_fit(speech, rate, slot), rate, 10.0)
    x += [speech, np.zeros(int(0.15 * rate)), chirp(rate, 300.0, top, 400.0, 0.4)]
    freqs = [400.0, 1200.0, 700.0, 2400.0, 950.0, 1700.0, 550.0, 2000.0]
    gaps = [120.0, 200.0, 90.0, 260.0, 150.0, 230.0, 110.0, 180.0]
    end = int(round((seconds - 0.2) * rate))
    i = 0
    while True:
        gap = np.zeros(int(rate * gaps[i % len(gaps)] / 1000.0))
        burst = tone(rate, min(freqs[i % len(freqs)], top), 80.0, 0.4, 2.0)
        if sum(len(p) for p in x) + len(gap) + len(burst) > end:
            break
        x += [gap, burst]
        i += 1
    return _fit(np.concatenate(x), rate, seconds)


def make_test_signal(path, rate, channels=1, seconds=6.0, text=DEFAULT_TEXT):
    """Write the composite test signal (see composite_samples) to `path`.

    Good for correlation across lossy codecs: speech for realism, a chirp and
    irregular tone bursts for an unambiguous alignment. Returns the path.
    """
    return write_wav(path, composite_samples(rate, seconds, text), rate, channels)


def make_silence(path, rate, channels=1, seconds=1.0):
    """Write `seconds` of digital silence to `path`. Returns the path."""
    return write_wav(path, np.zeros(int(round(seconds * rate))), rate, channels)


# --------------------------------------------------------------------------
# Reading WAV files
# --------------------------------------------------------------------------

_FMT_PCM, _FMT_FLOAT, _FMT_ALAW, _FMT_ULAW, _FMT_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
_FORMAT_NAMES = {_FMT_PCM: "pcm", _FMT_FLOAT: "float", _FMT_ALAW: "alaw", _FMT_ULAW: "ulaw"}


def _parse_wav(data):
    """Locate format and sample data in a WAV file's bytes.

    Returns a dict (format, channels, rate, bits, block_align, data_offset,
    data_bytes, finalised). Tolerates headers that were never finalised (data
    size 0 or 0xFFFFFFFF, or larger than the file): the data then runs to the
    end of the file. Accepts RIFF and RF64/BW64.
    """
    if len(data) < 12 or data[8:12] != b"WAVE" or data[:4] not in (b"RIFF", b"RF64", b"BW64"):
        raise ValueError("not a RIFF/WAVE file")
    pos = 12
    fmt = None
    ds64_data = None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"ds64" and size >= 16:
            ds64_data = struct.unpack_from("<Q", data, body + 8)[0]
        elif cid == b"fmt ":
            tag, ch, rate, _, align, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag == _FMT_EXTENSIBLE and size >= 40:
                tag = struct.unpack_from("<H", data, body + 24)[0]
            fmt = dict(tag=tag, channels=ch, rate=rate, bits=bits, block_align=align)
        elif cid == b"data":
            if fmt is None:
                raise ValueError("WAV data chunk before fmt chunk")
            avail = len(data) - body
            finalised = True
            if size == 0xFFFFFFFF and ds64_data is not None and ds64_data <= avail:
                size = ds64_data
            elif size == 0 or size == 0xFFFFFFFF or size > avail:
                size, finalised = avail, False
            if fmt["tag"] not in _FORMAT_NAMES:
                raise ValueError(f"unsupported WAV format tag {fmt['tag']:#x}")
            align = fmt["block_align"] or fmt["channels"] * ((fmt["bits"] + 7) // 8)
            expect = fmt["channels"] * ((fmt["bits"] + 7) // 8)
            if align != expect:
                raise ValueError(f"unsupported WAV layout: block align {align}, "
                                 f"{fmt['channels']} x {fmt['bits']} bits")
            return dict(format=_FORMAT_NAMES[fmt["tag"]], channels=fmt["channels"],
                        rate=fmt["rate"], bits=fmt["bits"], block_align=align,
                        data_offset=body, data_bytes=size - size % align,
                        finalised=finalised)
        pos = body + size + (size & 1)
    raise ValueError("no data chunk in WAV file" if fmt else "no fmt chunk in WAV file")


def wav_info(path):
    """Describe a WAV file: dict(format, channels, rate, bits, frames,
    duration_s, finalised). format is "pcm", "float", "ulaw" or "alaw";
    finalised is False when the header's data size had to be ignored."""
    with open(path, "rb") as f:
        info = _parse_wav(f.read())
    frames = info["data_bytes"] // info["block_align"]
    return dict(format=info["format"], channels=info["channels"], rate=info["rate"],
                bits=info["bits"], frames=frames,
                duration_s=frames / info["rate"] if info["rate"] else 0.0,
                finalised=info["finalised"])


def read_wav(path, mono=True):
    """Read a WAV file as float32 samples in [-1, 1] and its sample rate.

    Handles unsigned 8-bit, signed 16/24/32-bit PCM, 32/64-bit float, G.711
    mu-law and A-law, plain or WAVE_FORMAT_EXTENSIBLE headers (GStreamer's
    wavenc, libsndfile as used by baresip, sox), and files whose header sizes
    were never finalised (read to the end of the file). With mono=True
    (default) channels are averaged into one 1-D array; with mono=False the
    result has shape (frames, channels).

    Returns (samples, rate).
    """
    with open(path, "rb") as f:
        data = f.read()
    info = _parse_wav(data)
    raw = memoryview(data)[info["data_offset"]:info["data_offset"] + info["data_bytes"]]
    fmt, bits = info["format"], info["bits"]
    if fmt == "pcm" and bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif fmt == "pcm" and bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif fmt == "pcm" and bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif fmt == "pcm" and bits == 32:
        x = (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    elif fmt == "float" and bits in (32, 64):
        x = np.frombuffer(raw, "<f4" if bits == 32 else "<f8").astype(np.float32)
        x = np.clip(np.nan_to_num(x), -1.0, 1.0)
    elif fmt in ("ulaw", "alaw") and bits == 8:
        x = g711_decode(bytes(raw), "ulaw" if fmt == "ulaw" else "alaw")
    else:
        raise ValueError(f"unsupported WAV sample format: {fmt} {bits} bits")
    x = x.reshape(-1, info["channels"])
    if mono:
        x = x[:, 0].copy() if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)
    return x, info["rate"]


def _load(signal):
    """A path or a (samples, rate) tuple -> (float64 mono samples, rate)."""
    if isinstance(signal, (str, os.PathLike)):
        x, rate = read_wav(signal)
    else:
        x, rate = signal
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return x, int(rate)


# --------------------------------------------------------------------------
# G.711
# --------------------------------------------------------------------------

def _to_pcm16(samples):
    x = np.asarray(samples)
    if x.dtype.kind == "f":
        x = np.clip(np.round(x * 32768.0), -32768, 32767)
    return x.astype(np.int32)


def g711_encode(samples, law="ulaw"):
    """Encode samples (float in [-1, 1], or int16) as G.711 bytes ("ulaw"/"alaw").

    Segment tables as in the ITU-T G.711 reference code; bit-exact with sox
    (which rounds 16-bit input to 14 bits for mu-law, 13 bits for A-law)."""
    pcm = _to_pcm16(samples)
    if law == "ulaw":
        v = (pcm + 2) >> 2                              # rounded to 14 bits, like sox
        mask = np.where(v < 0, 0x7F, 0xFF)
        v = np.minimum(np.abs(v), 8159) + 33
        seg = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]),
                              v, side="left")
        uval = np.where(seg >= 8, 0x7F, (seg << 4) | ((v >> (seg + 1)) & 0x0F))
        return ((uval ^ mask) & 0xFF).astype(np.uint8).tobytes()
    if law == "alaw":
        v = (pcm + 4) >> 3                              # rounded to 13 bits, like sox
        mask = np.where(v >= 0, 0xD5, 0x55)
        v = np.where(v >= 0, v, -v - 1)
        seg = np.searchsorted(np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]),
                              v, side="left")
        shift = np.where(seg < 2, 1, seg)
        aval = (np.minimum(seg, 7) << 4) | ((v >> shift) & 0x0F)
        aval = np.where(seg >= 8, 0x7F, aval)
        return ((aval ^ mask) & 0xFF).astype(np.uint8).tobytes()
    raise ValueError(f"unknown G.711 law {law!r}")


def _g711_tables():
    codes = np.arange(256)
    u = ~codes & 0xFF
    mag = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    ulaw = np.where(u & 0x80, 0x84 - mag, mag - 0x84)
    a = codes ^ 0x55
    seg = (a & 0x70) >> 4
    t = ((a & 0x0F) << 4) + np.where(seg == 0, 8, 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    alaw = np.where(a & 0x80, t, -t)
    return (ulaw.astype(np.float32) / 32768.0, alaw.astype(np.float32) / 32768.0)


_ULAW_TABLE, _ALAW_TABLE = _g711_tables()


def g711_decode(data, law="ulaw"):
    """Decode G.711 bytes ("ulaw"/"alaw") to float32 samples in [-1, 1]."""
    codes = np.frombuffer(bytes(data), np.uint8)
    if law == "ulaw":
        return _ULAW_TABLE[codes]
    if law == "alaw":
        return _ALAW_TABLE[codes]
    raise ValueError(f"unknown G.711 law {law!r}")


# --------------------------------------------------------------------------
# Resampling
# --------------------------------------------------------------------------

def _fast_len(n):
    """Smallest 2^a 3^b 5^c >= n (cheap FFT sizes)."""
    best = 1 << max(0, int(n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            q = p35
            while q < n:
                q *= 2
            best = min(best, q)
            p35 *= 3
        p5 *= 5
    return best


def resample(samples, from_rate, to_rate):
    """Band-limited resampling of a 1-D signal by FFT (zero-padded, so no wrap).

    An ideal (brick-wall) low-pass at the lower Nyquist frequency; output has
    round(len * to_rate / from_rate) samples and no delay. Good for analysis,
    not meant for listening. Returns float32.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("resample takes a 1-D (mono) signal")
    from_rate, to_rate = int(from_rate), int(to_rate)
    if from_rate == to_rate or len(x) == 0:
        return x.astype(np.float32)
    g = math.gcd(from_rate, to_rate)
    up, down = to_rate // g, from_rate // g
    n = len(x)
    margin = max(256, from_rate // 20)
    k = _fast_len(-(-(n + margin) // down))
    n_pad, m_pad = k * down, k * up
    spec = np.fft.rfft(x, n_pad)
    out = np.zeros(m_pad // 2 + 1, dtype=complex)
    keep = min(len(spec), len(out))
    out[:keep] = spec[:keep]
    if m_pad < n_pad and m_pad % 2 == 0:
        out[-1] = out[-1].real          # new Nyquist bin must be real
    elif m_pad > n_pad and n_pad % 2 == 0:
        out[n_pad // 2] *= 0.5          # old Nyquist bin splits between +/-
    y = np.fft.irfft(out, m_pad) * (m_pad / n_pad)
    return y[:int(round(n * up / down))].astype(np.float32)


def _fractional_delay(x, d):
    """Delay `x` by `d` samples (any real number) by an FFT phase ramp."""
    if abs(d) < 1e-9:
        return np.asarray(x, dtype=np.float64)
    n = len(x)
    pad = _fast_len(n + 64 + int(abs(d)) * 2)
    spec = np.fft.rfft(x, pad)
    f = np.fft.rfftfreq(pad)
    return np.fft.irfft(spec * np.exp(-2j * np.pi * f * d), pad)[:n]


# --------------------------------------------------------------------------
# Levels
# --------------------------------------------------------------------------

def _db(power_ratio):
    return max(10.0 * math.log10(power_ratio), SILENCE_DBFS) if power_ratio > 0 else SILENCE_DBFS


def rms_dbfs(samples):
    """RMS level in dBFS (full-scale sine = -3.01 dBFS, floor -150 dBFS)."""
    x = np.asarray(samples, dtype=np.float64)
    return _db(float(np.mean(x * x))) if len(x) else SILENCE_DBFS


def _frame_levels(x, frame):
    x = np.asarray(x, dtype=np.float64)
    n = len(x) // frame
    if n == 0:
        return np.array([rms_dbfs(x)]) if len(x) else np.array([SILENCE_DBFS])
    power = np.mean(x[:n * frame].reshape(n, frame) ** 2, axis=1)
    return 10.0 * np.log10(np.maximum(power, 10 ** (SILENCE_DBFS / 10)))


def frame_levels(samples, rate, frame_ms=20.0):
    """RMS level (dBFS) of each consecutive `frame_ms` frame (last partial frame dropped)."""
    return _frame_levels(samples, max(1, int(round(rate * frame_ms / 1000.0))))


def active_ratio(samples, rate, threshold_dbfs=-40.0, frame_ms=20.0):
    """Fraction (0..1) of `frame_ms` frames whose RMS level reaches `threshold_dbfs`."""
    if len(samples) == 0:
        return 0.0
    return float(np.mean(frame_levels(samples, rate, frame_ms) >= threshold_dbfs))


def is_silent(samples, threshold_dbfs=-50.0, frame=256):
    """True when no frame of `frame` samples reaches `threshold_dbfs` RMS.

    Frame-based rather than whole-signal RMS, so a short sound in a long
    quiet recording still counts as "not silent"."""
    if len(samples) == 0:
        return True
    return bool(np.max(_frame_levels(samples, frame)) < threshold_dbfs)


def dominant_frequency(samples, rate):
    """Frequency (Hz) of the strongest spectral peak (Hann window, interpolated)."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < 4:
        raise ValueError("signal too short")
    x = x - x.mean()
    n = _fast_len(max(len(x), 8192))
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    mag[0] = 0.0
    k = int(np.argmax(mag))
    if 0 < k < len(mag) - 1:
        a, b, c = np.log(mag[k - 1:k + 2] + 1e-300)
        den = a - 2 * b + c
        if den != 0:
            k = k + 0.5 * (a - c) / den
    return float(k * rate / n)


# --------------------------------------------------------------------------
# Alignment and comparison
# --------------------------------------------------------------------------

def envelope(samples, rate, smooth_ms=5.0):
    """Amplitude envelope: magnitude of the analytic signal, smoothed with a
    centred (zero-phase) moving average of `smooth_ms`."""
    x = np.asarray(samples, dtype=np.float64)
    n = len(x)
    if n == 0:
        return x
    nfft = _fast_len(n)
    spec = np.fft.fft(x, nfft)
    h = np.zeros(nfft)
    h[0] = 1.0
    if nfft % 2 == 0:
        h[nfft // 2] = 1.0
        h[1:nfft // 2] = 2.0
    else:
        h[1:(nfft + 1) // 2] = 2.0
    env = np.abs(np.fft.ifft(spec * h)[:n])
    w = max(1, int(round(rate * smooth_ms / 1000.0)))
    if w > 1:
        c = np.concatenate([[0.0], np.cumsum(env)])
        lo = np.clip(np.arange(n) - w // 2, 0, n)
        hi = np.clip(np.arange(n) - w // 2 + w, 0, n)
        env = (c[hi] - c[lo]) / (hi - lo)
    return env


def _sinc_peak(cc, k, sign, half=16):
    """Band-limited (windowed-sinc) interpolation of the correlation sequence
    `cc` around index `k`: returns (fractional offset in [-1, 1], value)."""
    j = np.arange(max(0, k - half), min(len(cc), k + half + 1))
    f = np.linspace(-1.0, 1.0, 201)
    t = f[:, None] - (j - k)[None, :]
    window = np.where(np.abs(t) < half + 1, 0.5 + 0.5 * np.cos(np.pi * t / (half + 1)), 0.0)
    kernel = np.sinc(t) * window
    vals = kernel @ cc[j]
    best = int(np.argmax(sign * vals))
    return float(f[best]), float(vals[best])


def _xcorr_peak(ref, rec, lag_lo, lag_hi, min_overlap, inverted=False):
    """Peak of the overlap-normalised cross-correlation of two 1-D signals.

    corr(k) = sum ref[i] rec[i + k] / sqrt(E_ref(k) E_rec(k)) where the E are
    the energies of the parts that overlap at lag k. Only lags from `lag_lo`
    to `lag_hi` samples with an overlap of at least `min_overlap` samples are
    considered; with `inverted`, negative peaks count too. The peak is refined
    between samples by band-limited interpolation. Returns (lag in samples,
    fractional; signed peak value).
    """
    nr, nc = len(ref), len(rec)
    nfft = _fast_len(nr + nc)
    c = np.fft.irfft(np.fft.rfft(rec, nfft) * np.conj(np.fft.rfft(ref, nfft)), nfft)
    lags = np.arange(max(-(nr - 1), lag_lo), min(nc - 1, lag_hi) + 1)
    if len(lags) == 0:
        return 0.0, 0.0
    cc = c[lags % nfft]
    i_lo = np.maximum(0, -lags)
    i_hi = np.minimum(nr, nc - lags)
    overlap = i_hi - i_lo
    cs_ref = np.concatenate([[0.0], np.cumsum(ref * ref)])
    cs_rec = np.concatenate([[0.0], np.cumsum(rec * rec)])
    e_ref = cs_ref[i_hi] - cs_ref[i_lo]
    e_rec = cs_rec[i_hi + lags] - cs_rec[i_lo + lags]
    floor_ref = 1e-3 * cs_ref[-1] + 1e-20
    floor_rec = 1e-3 * cs_rec[-1] + 1e-20
    den = np.sqrt(np.maximum(e_ref, floor_ref) * np.maximum(e_rec, floor_rec))
    norm = cc / den
    score = np.abs(norm) if inverted else norm.copy()
    score[overlap < min_overlap] = -np.inf
    k = int(np.argmax(score))
    if not np.isfinite(score[k]):
        return 0.0, 0.0
    frac, value = _sinc_peak(cc, k, 1.0 if norm[k] >= 0 else -1.0)
    return float(lags[k]) + frac, float(np.clip(value / den[k], -1.0, 1.0))


def align(reference, received, rate, max_lag_s=2.0, method="signal", min_overlap=0.5,
          allow_inverted=True):
    """Find where `reference` occurs in `received` (both 1-D, same `rate`).

    Returns (lag_s, correlation): received[t] ~ gain * reference[t - lag_s],
    so a positive lag means the received copy is late. correlation is the
    peak of the cross-correlation normalised by the energies of the
    overlapping parts, interpolated between samples: 1.0 = identical up to
    gain, about 0 = unrelated. With `allow_inverted` (method "signal") a copy
    of inverted polarity also matches and gives a negative correlation (sox's
    band-pass `sinc` filter inverts, for one); test abs(correlation) or use
    compare, which reports the magnitude and an "inverted" flag.

    method "signal" correlates the waveforms: precise, and right for G.711
    and other waveform codecs. method "envelope" correlates amplitude
    envelopes (5 ms smoothing): insensitive to phase changes made by
    perceptual codecs (Opus) or filters, less precise in time (~0.1 ms) and
    less selective (unrelated speech scores up to ~0.3).

    Only lags up to `max_lag_s` with the signals overlapping by at least
    `min_overlap` times the shorter one are considered.
    """
    ref = np.asarray(reference, dtype=np.float64)
    rec = np.asarray(received, dtype=np.float64)
    if len(ref) < 2 or len(rec) < 2:
        raise ValueError("signals too short to align")
    if method == "envelope":
        ref, rec = envelope(ref, rate), envelope(rec, rate)
        allow_inverted = False
    elif method != "signal":
        raise ValueError(f"unknown method {method!r}")
    ref = ref - ref.mean()
    rec = rec - rec.mean()
    max_lag = int(math.ceil(max_lag_s * rate))
    need = max(2, int(min_overlap * min(len(ref), len(rec))))
    lag, corr = _xcorr_peak(ref, rec, -max_lag, max_lag, need, allow_inverted)
    return lag / rate, corr


def _common_rate(ref, rate_ref, rec, rate_rec):
    rate = min(rate_ref, rate_rec)
    if rate_ref != rate:
        ref = resample(ref, rate_ref, rate).astype(np.float64)
    if rate_rec != rate:
        rec = resample(rec, rate_rec, rate).astype(np.float64)
    return ref, rec, rate


def compare(reference, received, max_lag_s=2.0, method="signal", threshold_dbfs=-40.0):
    """Compare a received recording with the reference that was sent.

    `reference` and `received` are WAV paths or (samples, rate) tuples; the
    one with the higher rate is resampled to the lower. After alignment
    (see align) both are cut to the region where they overlap, and:

      lag_s         delay of received relative to reference (s)
      correlation   normalised correlation peak (align, same method),
                    as a magnitude: 1.0 = identical up to gain
      inverted      True when the received copy has inverted polarity
      snr_db        signal-to-noise ratio of received against the aligned
                    reference scaled by the least-squares optimal gain
                    (fractional-sample alignment, refined on the waveform
                    within 2.5 ms when method="envelope"; meaningful for
                    waveform codecs, low for perceptual codecs by design)
      gain_db       that optimal gain
      rms_ref_dbfs, rms_rec_dbfs   levels of the overlapping parts
      active_ratio  fraction of 20 ms frames of the received overlap at or
                    above `threshold_dbfs`
      rate          analysis sample rate; overlap_s  length compared (s)
      method        the alignment method used
    """
    ref, rate_ref = _load(reference)
    rec, rate_rec = _load(received)
    ref, rec, rate = _common_rate(ref, rate_ref, rec, rate_rec)
    lag_s, corr = align(ref, rec, rate, max_lag_s, method)
    d = lag_s * rate
    if method == "envelope":
        # the envelope peak is broad: refine on the waveform for the SNR
        r0, c0 = ref - ref.mean(), rec - rec.mean()
        w = int(math.ceil(0.0025 * rate))
        need = max(2, int(0.5 * min(len(r0), len(c0))))
        d, _ = _xcorr_peak(r0, c0, int(round(d)) - w, int(round(d)) + w, need, True)
    shift = int(math.floor(d))
    ref_d = _fractional_delay(ref, d - shift)
    # ref_d[i] now lines up with rec[i + shift]
    i0 = max(0, -shift)
    i1 = min(len(ref_d), len(rec) - shift)
    if i1 - i0 < 2:
        seg_ref = seg_rec = np.zeros(0)
    else:
        seg_ref = ref_d[i0:i1]
        seg_rec = rec[i0 + shift:i1 + shift]
    e_ref = float(np.dot(seg_ref, seg_ref))
    if e_ref > 0:
        gain = float(np.dot(seg_rec, seg_ref)) / e_ref
        noise = seg_rec - gain * seg_ref
        sig_e = gain * gain * e_ref
        noise_e = float(np.dot(noise, noise))
        snr = _db(sig_e / noise_e) if noise_e > 0 else -SILENCE_DBFS
        snr = min(snr, -SILENCE_DBFS)
        gain_db = 20.0 * math.log10(abs(gain)) if gain != 0 else SILENCE_DBFS
    else:
        snr, gain_db = SILENCE_DBFS, SILENCE_DBFS
    inverted = corr < 0 if method == "signal" else (e_ref > 0 and gain < 0)
    return dict(lag_s=lag_s, correlation=abs(corr), inverted=bool(inverted), snr_db=snr,
                gain_db=gain_db,
                rms_ref_dbfs=rms_dbfs(seg_ref), rms_rec_dbfs=rms_dbfs(seg_rec),
                active_ratio=active_ratio(seg_rec, rate, threshold_dbfs),
                rate=rate, overlap_s=len(seg_rec) / rate, method=method)


def contains_signal(reference, received, min_correlation=0.5, max_lag_s=2.0, method="signal"):
    """True when `received` holds a recognisable copy of `reference`
    (correlation peak >= `min_correlation`, either polarity; a silent
    recording never does).
    Arguments are WAV paths or (samples, rate) tuples."""
    ref, rate_ref = _load(reference)
    rec, rate_rec = _load(received)
    if is_silent(rec) or is_silent(ref):
        return False
    ref, rec, rate = _common_rate(ref, rate_ref, rec, rate_rec)
    return abs(align(ref, rec, rate, max_lag_s, method)[1]) >= min_correlation


# --------------------------------------------------------------------------
# Onsets and delay
# --------------------------------------------------------------------------

def burst_onsets(samples, rate, threshold_dbfs=-30.0, min_gap_ms=150.0, window_ms=1.0):
    """Onset times (s) of bursts: where the trailing `window_ms` RMS level
    rises to `threshold_dbfs` after at least `min_gap_ms` below it.

    A burst already sounding within the first window is not an onset (its
    start is unknown). With the 1 ms window an onset is found within ~0.1 ms of a
    sharp burst start. Returns a float numpy array (empty if none).
    """
    x = np.asarray(samples, dtype=np.float64)
    w = max(1, int(round(rate * window_ms / 1000.0)))
    if len(x) == 0:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - w, 0)
    power = (c[idx] - c[lo]) / (idx - lo)
    above = np.flatnonzero(power >= 10.0 ** (threshold_dbfs / 10.0))
    if len(above) == 0:
        return np.zeros(0)
    gap = max(1, int(round(rate * min_gap_ms / 1000.0)))
    starts = [above[0]] if above[0] >= w else []
    starts += list(above[1:][np.diff(above) > gap])
    return np.asarray(starts, dtype=np.float64) / rate


def match_onsets(sent, received, max_delay_s=1.0, tolerance_s=0.005):
    """Pair each sent onset with the first received onset in
    [sent - tolerance_s, sent + max_delay_s]; each received onset is used
    once. Returns a list of (sent_s, received_s) pairs."""
    pairs = []
    j = 0
    rec = sorted(received)
    for s in sorted(sent):
        while j < len(rec) and rec[j] < s - tolerance_s:
            j += 1
        if j < len(rec) and rec[j] <= s + max_delay_s:
            pairs.append((float(s), float(rec[j])))
            j += 1
    return pairs


def delay_between(sent, received, threshold_dbfs=-30.0, min_gap_ms=150.0, max_delay_s=1.0,
                  min_pairs=1):
    """Median delay (s) from burst onsets in `sent` to those in `received`.

    Both are WAV paths or (samples, rate) tuples sharing one time base (e.g.
    recorded from the same clock, or extracted from one packet capture).
    Bursts must be further apart than the delay (see match_onsets). Raises
    ValueError when fewer than `min_pairs` onsets could be paired.
    """
    a, rate_a = _load(sent)
    b, rate_b = _load(received)
    pairs = match_onsets(burst_onsets(a, rate_a, threshold_dbfs, min_gap_ms),
                         burst_onsets(b, rate_b, threshold_dbfs, min_gap_ms), max_delay_s)
    if len(pairs) < max(1, min_pairs):
        raise ValueError(f"only {len(pairs)} burst onsets could be paired")
    return float(np.median([r - s for s, r in pairs]))


# --------------------------------------------------------------------------
# Packet captures
# --------------------------------------------------------------------------

_LINK_NULL, _LINK_ETHERNET, _LINK_RAW, _LINK_SLL, _LINK_SLL2 = 0, 1, 101, 113, 276
_LINK_IPV4, _LINK_IPV6, _LINK_LOOP = 228, 229, 108


def _pcap_records(path):
    """Yield (time_s, linktype, frame bytes) from a pcap or pcapng file."""
    data = pathlib.Path(path).read_bytes()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng_records(data)
        return
    for endian in "<>":
        m = struct.unpack(endian + "I", magic)[0]
        if m in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise ValueError("not a pcap or pcapng file")
    scale = 1e-6 if m == 0xA1B2C3D4 else 1e-9
    link = struct.unpack_from(endian + "I", data, 20)[0] & 0xFFFF
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack_from(endian + "IIII", data, pos)
        pos += 16
        yield sec + frac * scale, link, data[pos:pos + incl]
        pos += incl


def _pcapng_records(data):
    endian = "<"
    links = []  # per interface: (linktype, seconds per tick)
    pos = 0
    while pos + 12 <= len(data):
        btype = struct.unpack_from(endian + "I", data, pos)[0]
        if btype == 0x0A0D0D0A:  # section header: byte order, interfaces restart
            bom = data[pos + 8:pos + 12]
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack_from(endian + "I", data, pos + 4)[0]
        if blen < 12 or pos + blen > len(data):
            break
        body = data[pos + 8:pos + blen - 4]
        if btype == 1:  # interface description
            link = struct.unpack_from(endian + "H", body, 0)[0]
            tick = 1e-6
            opos = 8
            while opos + 4 <= len(body):
                code, olen = struct.unpack_from(endian + "HH", body, opos)
                if code == 0:
                    break
                if code == 9 and olen >= 1:  # if_tsresol
                    r = body[opos + 4]
                    tick = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0 ** -r
                opos += 4 + olen + (-olen % 4)
            links.append((link, tick))
        elif btype == 6 and len(body) >= 20:  # enhanced packet
            iface, hi, lo, cap, _orig = struct.unpack_from(endian + "IIIII", body, 0)
            if iface < len(links):
                link, tick = links[iface]
                yield ((hi << 32) | lo) * tick, link, body[20:20 + cap]
        elif btype == 3 and links:  # simple packet
            link, _ = links[0]
            orig = struct.unpack_from(endian + "I", body, 0)[0]
            yield 0.0, link, body[4:4 + orig]
        pos += blen


def _ip_from_frame(link, frame):
    """Return the IP packet inside a link-layer frame, or None."""
    if link == _LINK_ETHERNET:
        if len(frame) < 14:
            return None
        etype, off = struct.unpack_from(">H", frame, 12)[0], 14
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype, off = struct.unpack_from(">H", frame, off + 2)[0], off + 4
        return frame[off:] if etype in (0x0800, 0x86DD) else None
    if link == _LINK_SLL:
        return frame[16:] if len(frame) >= 16 and frame[14:16] in (b"\x08\x00", b"\x86\xdd") \
            else None
    if link == _LINK_SLL2:
        return frame[20:] if len(frame) >= 20 and frame[0:2] in (b"\x08\x00", b"\x86\xdd") \
            else None
    if link in (_LINK_NULL, _LINK_LOOP):
        return frame[4:]
    if link in (_LINK_RAW, 12, 14, _LINK_IPV4, _LINK_IPV6):
        return frame
    return None


def _udp_from_ip(pkt):
    """(src, sport, dst, dport, payload) of a UDP datagram in an IP packet, or None."""
    if len(pkt) < 1:
        return None
    version = pkt[0] >> 4
    if version == 4:
        if len(pkt) < 20:
            return None
        ihl = (pkt[0] & 0x0F) * 4
        total = struct.unpack_from(">H", pkt, 2)[0]
        frag = struct.unpack_from(">H", pkt, 6)[0]
        if pkt[9] != 17 or frag & 0x3FFF:  # not UDP, or a fragment
            return None
        src, dst = str(ipaddress.IPv4Address(pkt[12:16])), str(ipaddress.IPv4Address(pkt[16:20]))
        udp = pkt[ihl:total] if total >= ihl else pkt[ihl:]
    elif version == 6:
        if len(pkt) < 40:
            return None
        nxt, off = pkt[6], 40
        while nxt in (0, 43, 60) and len(pkt) >= off + 8:
            nxt, off = pkt[off], off + 8 * (pkt[off + 1] + 1)
        if nxt != 17:
            return None
        plen = struct.unpack_from(">H", pkt, 4)[0]
        src, dst = str(ipaddress.IPv6Address(pkt[8:24])), str(ipaddress.IPv6Address(pkt[24:40]))
        udp = pkt[off:40 + plen] if plen else pkt[off:]
    else:
        return None
    if len(udp) < 8:
        return None
    sport, dport, ulen = struct.unpack_from(">HHH", udp, 0)
    payload = udp[8:ulen] if ulen >= 8 else udp[8:]
    return src, sport, dst, dport, bytes(payload)


@dataclass
class UdpPacket:
    time: float
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


def udp_packets(pcap_path):
    """Every (unfragmented) UDP datagram in a pcap/pcapng file, as UdpPacket
    objects in file order. Link types: Ethernet, Linux cooked (SLL, SLL2 as
    written by `tcpdump -i any`), BSD loopback and raw IP; IPv4 and IPv6."""
    out = []
    for t, link, frame in _pcap_records(pcap_path):
        ip = _ip_from_frame(link, frame)
        if ip is None:
            continue
        udp = _udp_from_ip(ip)
        if udp is not None:
            out.append(UdpPacket(t, *udp))
    return out


def parse_rtp(payload):
    """Parse an RTP header. Returns a dict (version, padding, marker,
    payload_type, seq, timestamp, ssrc, csrcs, payload) or None if the bytes
    are not RTP version 2 (STUN, DTLS, SIP and RTCP are rejected). The
    payload excludes CSRCs, header extension and padding; for SRTP it still
    ends with the authentication tag."""
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return None
    b0, b1 = payload[0], payload[1]
    if 192 <= b1 <= 223:  # RTCP packet types 192-223 (RFC 5761)
        return None
    seq, ts, ssrc = struct.unpack_from(">HII", payload, 2)
    cc = b0 & 0x0F
    off = 12 + 4 * cc
    if len(payload) < off:
        return None
    csrcs = list(struct.unpack_from(f">{cc}I", payload, 12))
    if b0 & 0x10:
        if len(payload) < off + 4:
            return None
        off += 4 + 4 * struct.unpack_from(">H", payload, off + 2)[0]
    end = len(payload)
    if b0 & 0x20 and end > off:
        end -= payload[-1]
    if end < off:
        return None
    return dict(version=2, padding=bool(b0 & 0x20), marker=bool(b1 & 0x80),
                payload_type=b1 & 0x7F, seq=seq, timestamp=ts, ssrc=ssrc, csrcs=csrcs,
                payload=bytes(payload[off:end]))


@dataclass
class RtpStream:
    """One RTP stream (one SSRC from one source address to one destination).

    Per-packet lists (arrival order): times (capture time, s), seqs,
    timestamps, markers, payload_types_seen, payloads."""
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: int
    payload_type: int = -1          # most common payload type
    payload_types: set = field(default_factory=set)
    packets: int = 0
    lost: int = 0                   # sequence numbers never seen
    gaps: int = 0                   # places where sequence numbers are missing
    duplicates: int = 0
    out_of_order: int = 0           # packets older than one received before them
    first_seq: int = 0
    last_seq: int = 0
    first_timestamp: int = 0        # RTP timestamps of first and last packet received
    last_timestamp: int = 0
    first_time: float = 0.0         # capture times (s)
    last_time: float = 0.0
    times: list = field(default_factory=list, repr=False)
    seqs: list = field(default_factory=list, repr=False)
    timestamps: list = field(default_factory=list, repr=False)
    markers: list = field(default_factory=list, repr=False)
    payload_types_seen: list = field(default_factory=list, repr=False)
    payloads: list = field(default_factory=list, repr=False)

    @property
    def duration_s(self):
        """Capture time between first and last packet."""
        return self.last_time - self.first_time

    def audio(self, law="ulaw", timeline="packets", start=None, payload_type=None):
        """Payloads decoded as G.711 (float32 at 8 kHz). Only meaningful for
        plaintext PCMU ("ulaw") or PCMA ("alaw").

        timeline "packets": payloads concatenated in arrival order.
        timeline "rtp": each payload at its RTP timestamp (8 kHz clock)
        relative to the first packet's, so lost packets leave silence.
        timeline "capture": each payload at its capture time relative to
        `start` (default: this stream's first packet); give two streams of
        one capture the same `start` and their onsets share a time base, for
        delay_between. Packets of other payload types (default: the stream's
        main one) are left out.
        """
        pt = self.payload_type if payload_type is None else payload_type
        keep = [i for i, p in enumerate(self.payload_types_seen) if p == pt]
        chunks = [g711_decode(self.payloads[i], law) for i in keep]
        if timeline == "packets":
            return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        if timeline == "rtp":
            base = self.timestamps[keep[0]] if keep else 0
            offsets = [(self.timestamps[i] - base) % (1 << 32) for i in keep]
            offsets = [o if o < (1 << 31) else o - (1 << 32) for o in offsets]
        elif timeline == "capture":
            t0 = self.first_time if start is None else start
            offsets = [int(round((self.times[i] - t0) * 8000)) for i in keep]
        else:
            raise ValueError(f"unknown timeline {timeline!r}")
        pairs = [(o, c) for o, c in zip(offsets, chunks) if o >= 0]
        n = max((o + len(c) for o, c in pairs), default=0)
        out = np.zeros(n, np.float32)
        for o, c in pairs:
            out[o:o + len(c)] = c
        return out


def _finish_stream(s):
    counts = {}
    for pt in s.payload_types_seen:
        counts[pt] = counts.get(pt, 0) + 1
    s.payload_type = max(counts, key=counts.get)
    s.payload_types = set(counts)
    s.packets = len(s.seqs)
    ext, top = [], None
    for q in s.seqs:
        # extend 16-bit sequence numbers relative to the highest seen so far
        e = q if top is None else top + (q - (top & 0xFFFF) + 32768) % 65536 - 32768
        if top is not None and e < top:
            s.out_of_order += 1
        ext.append(e)
        top = e if top is None else max(top, e)
    uniq = sorted(set(ext))
    s.duplicates = len(ext) - len(uniq)
    s.lost = (uniq[-1] - uniq[0] + 1) - len(uniq)
    s.gaps = int(np.count_nonzero(np.diff(uniq) > 1)) if len(uniq) > 1 else 0
    s.first_seq, s.last_seq = s.seqs[0], s.seqs[-1]
    s.first_timestamp, s.last_timestamp = s.timestamps[0], s.timestamps[-1]
    s.first_time, s.last_time = s.times[0], s.times[-1]
    return s


def pcap_rtp_streams(pcap_path, ports=None, min_packets=2):
    """RTP streams found in a capture, ordered by first packet.

    Every UDP datagram that parses as RTP version 2 (RTCP excluded) counts;
    `ports` (iterable of port numbers) keeps only datagrams from or to one of
    them. Streams with fewer than `min_packets` packets are dropped (single
    stray datagrams that happen to look like RTP). Returns a list of RtpStream.
    """
    ports = set(ports) if ports is not None else None
    streams = {}
    for p in udp_packets(pcap_path):
        if ports is not None and p.sport not in ports and p.dport not in ports:
            continue
        rtp = parse_rtp(p.payload)
        if rtp is None:
            continue
        key = (p.src, p.sport, p.dst, p.dport, rtp["ssrc"])
        s = streams.get(key)
        if s is None:
            s = streams[key] = RtpStream(p.src, p.sport, p.dst, p.dport, rtp["ssrc"])
        s.payload_types_seen.append(rtp["payload_type"])
        s.times.append(p.time)
        s.seqs.append(rtp["seq"])
        s.timestamps.append(rtp["timestamp"])
        s.markers.append(rtp["marker"])
        s.payloads.append(rtp["payload"])
    out = [_finish_stream(s) for s in streams.values() if len(s.seqs) >= min_packets]
    return sorted(out, key=lambda s: s.first_time)


def payload_entropy(data):
    """Shannon entropy of a byte string in bits per byte (0 to 8)."""
    b = np.frombuffer(bytes(data), np.uint8)
    if len(b) == 0:
        return 0.0
    p = np.bincount(b, minlength=256) / len(b)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def random_entropy(n):
    """Expected payload_entropy of `n` uniformly random bytes (it is biased
    low for short inputs: about 8 - 255 / (2 n ln 2) bits per byte)."""
    return 8.0 - 255.0 / (2.0 * max(n, 1) * math.log(2.0)) if n > 0 else 0.0


def spectral_flatness(samples, segment=64):
    """Wiener entropy (geometric / arithmetic mean of the averaged power
    spectrum over `segment`-sample frames): near 1 for white noise, near 0
    for tones and speech."""
    x = np.asarray(samples, dtype=np.float64)
    n = len(x) // segment
    if n == 0:
        return 1.0
    frames = x[:n * segment].reshape(n, segment)
    frames = frames - frames.mean(axis=1, keepdims=True)
    power = np.mean(np.abs(np.fft.rfft(frames * np.hanning(segment), axis=1)) ** 2, axis=0)[1:]
    if power.mean() <= 0:
        return 0.0
    return float(np.exp(np.mean(np.log(power + 1e-30))) / power.mean())


def payloads_look_like_g711(payloads, min_bytes=800):
    """True when RTP payloads look like plaintext G.711 rather than ciphertext.

    Ciphertext (SRTP) is indistinguishable from random bytes: entropy close
    to the maximum for its length and, decoded as mu-law or A-law, a flat
    (white) spectrum. Plaintext G.711 of speech, tones, silence or quiet
    background noise fails at least one of these. Needs `min_bytes` of
    payload to decide (ValueError otherwise).
    """
    data = b"".join(bytes(p) for p in payloads)
    if len(data) < min_bytes:
        raise ValueError(f"need at least {min_bytes} payload bytes, got {len(data)}")
    if payload_entropy(data) < random_entropy(len(data)) - 0.25:
        return True
    flat = min(spectral_flatness(g711_decode(data, law)) for law in ("ulaw", "alaw"))
    return flat < 0.6


# --------------------------------------------------------------------------
# Watching a recording as it is written
# --------------------------------------------------------------------------

def watch_growth(path, stop, growth):
    """Appends (monotonic time, size) to `growth` whenever the file at
    `path` changes size, until the threading.Event `stop` is set. Run it in
    a thread: a recording written on the pipeline clock grows as a sound
    card would play it."""
    last = -1
    while not stop.is_set():
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            size = -1
        if size != last:
            growth.append((time.monotonic(), size))
            last = size
        time.sleep(0.0005)


def wav_data_offset(path):
    """Where the samples start in a WAV file."""
    head = pathlib.Path(path).read_bytes()[:512]
    i = head.find(b"data")
    if i < 0:
        raise ValueError(f"{path}: no data chunk")
    return i + 8
