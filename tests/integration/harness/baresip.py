"""baresip 1.0 as the remote phone in tests: it calls us, we call it, it
records what it hears and tells us what happens (ctrl_tcp events).

    k = Kamailio(harness, users={"alice": "a-pass", "bob": "b-pass"})
    tone = make_source_wav(harness.tmp / "tone.wav", "pcmu", "tone", seconds=5, freq=1000)
    bob = Baresip(harness, "bob", password="b-pass", registrar=k, answermode="auto")
    bob.wait_registered()
    alice = Baresip(harness, "alice", password="a-pass", registrar=k, audio_source=tone)
    mb = bob.mark()                            # event index: waits look from here on
    m = alice.dial(bob.aor())                  # "sip:bob@127.0.0.1", through Kamailio
    call = alice.wait_established(since=m)     # raises (with the log tail) on CALL_CLOSED
    alice.send_dtmf("123#"); bob.wait_dtmf("123#", since=mb)
    alice.hangup(); bob.wait_closed(since=mb)
    info = analyze_wav(bob.received_audio(call_id=call["id"]))
    # {'rms': 0.35, 'peak_hz': 1000.0, 'seconds': 2.9, 'active_seconds': 2.9, ...}

Direct calls, no registrar: Baresip(harness, "bob") has a local account
<sip:bob@127.0.0.1:PORT>;regint=0 and answers at bob.uri(). The account is
created with `uanew` once the control connection is up (so the events of
the first registration are never missed); config/accounts only shows it.

Every instance has its own folder (config, accounts, log, snd/), a SIP port
PORT (UDP+TCP; baresip also binds TLS on PORT+1), a ctrl_tcp port and a
private RTP range, all on 127.0.0.1 (DNS goes to 127.0.0.1:53). It runs as
`stdbuf -oL -eL baresip -f DIR -s` (the -s SIP trace is in its log and parsed
by sip_messages()). The harness stops it at the end of the test: `quit` over
ctrl_tcp, then SIGTERM, then SIGKILL to its process group, all bounded.

Audio: the source is a WAV file (S16LE at exactly the codec's rate and
channels: 8 kHz mono for PCMU/PCMA, 16 kHz mono for G.722, 48 kHz stereo for
Opus). baresip HANGS UP when the file ends (CALL_CLOSED param "end of file"),
so make it longer than the call. audio_source=None gives a silent file of
source_seconds (default 60) in the right format; "echo" sends back what it
receives (aubridge). A file in the wrong format makes the call hang (callee)
or close with "Operation not supported": the constructor refuses it.

Recording (record=True): sndfile writes snd/dump-<YYYY-MM-DD-HH-MM-SS>-dec.wav
(what it received and decoded) and -enc.wav (what it sent), one pair per
call, named after the second the audio stream started (at the answer). Two
calls in the same second would share a name, so the harness renames the open
files when the call's CALL_ESTABLISHED (or CALL_CLOSED) arrives, to
rec-NNNN-<call id>-<stamp>-{dec,enc}.wav (sndfile keeps writing to them):
recordings(call_id=...) / received_audio(call_id=...) pick one call's. The
WAV header is finalised only when the call ends (RIFF size 8 / data size 0
before); recordings() lists finalised files only, received_audio() waits
for one. analyze_wav() and harness.audio.read_wav() also read unfinalised
files (baresip killed mid-call). Compare with what was sent using
harness.audio (compare, contains_signal, delay_between...).
Quirk of 1.0: a re-INVITE (hold, resume...) drops the decoder's filter chain:
the dec recording is finalised there and nothing received later is recorded
(decoding and the enc recording go on).

Control (ctrl_tcp, netstring-framed JSON). Commands verified with 1.0.0:
dial, accept, hangup, hold, resume, sndcode, transfer, listcalls, reginfo,
callstat, quit (unknown: ok=false "command not found (x)"; a call command
without a call: ok=false "Invalid argument"). Responses:
  {"response":true,"ok":true,"data":"...","token":"t3"}
Events (pushed on the same socket, collected by a reader thread):
  {"event":true,"type":"CALL_ESTABLISHED","class":"call",
   "accountaor":"sip:bob@127.0.0.1","direction":"incoming",
   "peeruri":"sip:alice@127.0.0.1","id":"2e037c9defd92ac9",
   "param":"sip:alice@127.0.0.1"}
  "id" is the SIP Call-ID (the same on both sides of a direct call).
  CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED (param: peer URI),
  CALL_CLOSED (param: reason, e.g. "Connection reset by peer", "404 Not
  Found", "end of file", "Call transfered"), CALL_DTMF_START (param: the
  digit), CALL_DTMF_END (no param), CALL_MENC (param "0,audio,
  AES_CM_128_HMAC_SHA1_80"), TRANSFER (param: target URI; baresip then dials
  it itself), AUDIO_ERROR (param "0,end of file"), CALL_LOCAL_SDP /
  CALL_REMOTE_SDP (class "other", param "offer"/"answer"; CALL_LOCAL_SDP of
  an outgoing call has no id yet), CALL_RTPESTAB (param "audio"), CALL_RTCP
  (with "rtcp_stats"), REGISTER_OK (param "200 OK"), REGISTER_FAIL (param
  "401 Unauthorized"), REGISTERING, UNREGISTERING (class "register"),
  SHUTDOWN, EXIT (class "application").
  There is no hold event: a re-INVITE shows as CALL_REMOTE_SDP "offer"; look
  at its SDP with sip_messages() (a=sendonly / a=inactive).
Each event gets "_at" (time.monotonic() when it arrived) and "_seq".

API of Baresip (every wait is bounded and raises BaresipError with the
state and the tail of baresip's log):
  uri(), aor(), sip_port, ctrl_port, rtp_ports, dir, snd_dir, log_path
  start(), stop(), restart(), alive()
  command(name, params, check=True) -> response; control: the BaresipControl
  dial(uri), accept(), hangup(), hold(), resume(), send_dtmf("123#"),
    transfer(uri): each returns the event mark from before the command
  mark(), events(type, since), wait_event(type, timeout, predicate, since,
    fail_on), wait_incoming(), wait_established(), wait_closed(),
    dtmf_received(since), wait_dtmf(digits)
  registered(), wait_registered(), reginfo(), listcalls(), calls(), callstat()
  recordings(kind, complete, call_id), received_audio(), sent_audio()
  log(), log_tail(), sip_messages(method, status, direction, since),
    wait_sip_messages(...)
Module functions: make_source_wav(path, codec, kind, seconds), analyze_wav,
wav_complete, wav_header, codec_spec, parse_sip_trace.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import struct
import threading
import time

from .certs import TestPKI
from .core import Process
from .kamailio import unique_dir, unique_port

PEERS_DIR = pathlib.Path(__file__).resolve().parents[1] / "peers" / "baresip"
TEMPLATE = PEERS_DIR / "config.in"
BARESIP = shutil.which("baresip", path="/usr/bin:" + os.environ.get("PATH", "")) \
    or "/usr/bin/baresip"
MODULE_DIR = pathlib.Path("/usr/lib/baresip/modules")

# Short names -> baresip's codec names (what `audio_codecs=` must say: a bare
# "g722" means G722/8000/1, which does not exist) and the WAV format they need.
CODECS = {
    "pcmu": ("PCMU/8000/1", 8000, 1),
    "pcma": ("PCMA/8000/1", 8000, 1),
    "g722": ("G722/16000/1", 16000, 1),
    "opus": ("opus/48000/2", 48000, 2),
}
MEDIAENC_MODULES = {"srtp": "srtp", "srtp-mand": "srtp", "srtp-mandf": "srtp",
                    "dtls_srtp": "dtls_srtp", "dtls_srtpf": "dtls_srtp"}
ANSWERMODES = ("manual", "auto", "early")
TRANSPORTS = ("udp", "tcp", "tls")
RTP_PORTS = 20          # 10 streams (RTP + RTCP each)
READY_LINE = "baresip is ready."
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


class BaresipError(RuntimeError):
    pass


def codec_spec(codec):
    """(baresip name, rate, channels) of a short name (pcmu, pcma, g722,
    opus) or a full name like "PCMU/8000/1"."""
    key = str(codec).lower()
    if key in CODECS:
        return CODECS[key]
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)/(\d+)(?:/(\d+))?", str(codec))
    if not m:
        raise ValueError(f"unknown codec {codec!r}: use {sorted(CODECS)} or NAME/RATE/CHANNELS")
    rate, ch = int(m.group(2)), int(m.group(3) or 1)
    return (str(codec), rate, ch)


def _strip_ansi(text):
    return _ANSI_RE.sub("", text)


# ---------------------------------------------------------------------------
# WAV files: sources in a codec's format, baresip's recordings. The signal
# tools themselves are harness.audio's (compare, align, onsets, pcap...).

def make_source_wav(path, codec="pcmu", kind="tone", seconds=10.0, **kwargs):
    """A source file in the format `codec` needs (S16LE, its rate and
    channels), `seconds` long (baresip hangs up when it ends). kind:
      "tone"     continuous sine: freq=1000, amplitude=0.5
      "bursts"   audio.make_tone_bursts (freq, burst_ms, gap_ms, lead_ms...;
                 count fills `seconds`), sharp onsets for delay checks
      "speech"   audio.make_speech (text, voice...), padded to `seconds`
      "signal"   audio.make_test_signal: speech, chirp and irregular bursts
      "silence"
    Returns the path."""
    import numpy as np

    from . import audio
    _, rate, channels = codec_spec(codec)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "tone":
        x = audio.tone(rate, kwargs.pop("freq", 1000.0), seconds * 1000.0,
                       kwargs.pop("amplitude", 0.5), ramp_ms=5.0)
        if kwargs:
            raise TypeError(f"unexpected arguments for a tone: {sorted(kwargs)}")
        return audio.write_wav(path, x, rate, channels)
    if kind == "bursts":
        if "count" not in kwargs:
            period = (kwargs.get("burst_ms", 100.0) + kwargs.get("gap_ms", 400.0)) / 1000.0
            kwargs["count"] = max(1, int((seconds - kwargs.get("lead_ms", 200.0) / 1000.0)
                                         // period))
        audio.make_tone_bursts(path, rate, channels, **kwargs)
        x, _ = audio.read_wav(path, mono=False)
        n = int(round(seconds * rate))
        padded = np.zeros((n, channels))
        padded[:min(n, len(x))] = x[:n]
        return audio.write_wav(path, padded, rate, channels)
    if kind == "speech":
        return audio.make_speech(path, rate=rate, channels=channels, seconds=seconds, **kwargs)
    if kind == "signal":
        return audio.make_test_signal(path, rate, channels, seconds, **kwargs)
    if kind == "silence":
        return audio.make_silence(path, rate, channels, seconds)
    raise ValueError(f"unknown kind {kind!r}")


def wav_header(path):
    """{'format', 'rate', 'channels', 'bits', 'data_offset', 'data_size'
    (as written in the header), 'file_size', 'riff_size', 'complete'} of a
    WAV file. complete: the header was finalised (the RIFF size matches the
    file; baresip writes 8 / 0 until the call ends)."""
    path = pathlib.Path(path)
    with open(path, "rb") as f:
        data = f.read(4096)
    size = path.stat().st_size
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path} is not a RIFF/WAVE file")
    riff_size = struct.unpack("<I", data[4:8])[0]
    info = {"file_size": size, "riff_size": riff_size, "format": None, "rate": None,
            "channels": None, "bits": None, "data_offset": None, "data_size": None}
    pos = 12
    while pos + 8 <= len(data):
        cid, clen = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            fmt, ch, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8:pos + 24])
            info.update(format=fmt, channels=ch, rate=rate, bits=bits)
        elif cid == b"data":
            info.update(data_offset=pos + 8, data_size=clen)
            break
        pos += 8 + clen + (clen & 1)
    info["complete"] = (riff_size + 8 == size and info["data_offset"] is not None
                        and info["data_offset"] + info["data_size"] <= size)
    return info


def wav_complete(path):
    """True when a WAV's header was finalised (baresip: the call ended)."""
    try:
        return wav_header(path)["complete"]
    except (OSError, ValueError, struct.error):
        return False


def analyze_wav(path, skip=0.0):
    """What a recording contains (harness.audio measures): {'rate',
    'channels', 'frames', 'seconds', 'rms' (0..1 of full scale, channels
    averaged, after `skip` seconds), 'rms_dbfs', 'peak' (max |sample|),
    'peak_hz' (dominant frequency, None when empty), 'active_seconds' (20 ms
    frames at -40 dBFS or more), 'complete' (header finalised)}. Reads
    unfinalised files too (to the end of the file)."""
    import numpy as np

    from . import audio
    info = audio.wav_info(path)
    mono, rate = audio.read_wav(path)
    mono = mono[int(skip * rate):].astype(np.float64)
    frame = max(1, int(round(rate * 0.02)))      # active_ratio's 20 ms frames
    frames = len(mono) // frame
    rms = float(np.sqrt(np.mean(mono ** 2))) if len(mono) else 0.0
    return {
        "rate": rate, "channels": info["channels"], "frames": info["frames"],
        "seconds": info["duration_s"], "rms": rms, "rms_dbfs": audio.rms_dbfs(mono),
        "peak": float(np.max(np.abs(mono))) if len(mono) else 0.0,
        "peak_hz": audio.dominant_frequency(mono, rate) if len(mono) >= 4 else None,
        "active_seconds": audio.active_ratio(mono, rate) * frames * frame / rate,
        "complete": wav_complete(path),
    }


# ---------------------------------------------------------------------------
# SIP trace (-s) in the log.

class SipMessage:
    """One message from baresip's SIP trace: direction ("sent"/"received"),
    transport, src, dst ("ip:port"), text, method (requests), status
    (responses), cseq_method, body, header(name) -> [values]."""

    def __init__(self, direction, transport, src, dst, text):
        self.direction = direction
        self.transport = transport
        self.src = src
        self.dst = dst
        self.text = text
        first = text.split("\n", 1)[0].strip()
        self.first_line = first
        m = re.match(r"SIP/2\.0 (\d{3})", first)
        self.status = int(m.group(1)) if m else None
        m = re.match(r"([A-Z]+) \S+ SIP/2\.0", first)
        self.method = m.group(1) if m else None
        cseq = self.header("CSeq")
        self.cseq_method = cseq[0].split()[-1] if cseq else None
        head, sep, body = text.replace("\r\n", "\n").partition("\n\n")
        self.body = body if sep else ""

    def header(self, name):
        values = []
        for line in self.text.replace("\r\n", "\n").split("\n")[1:]:
            if not line.strip():
                break
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                values.append(value.strip())
        return values

    def __repr__(self):
        return (f"<SipMessage {self.direction} {self.transport} {self.src}->{self.dst} "
                f"{self.first_line!r}>")


_TRACE_RE = re.compile(r"\x1b\[36;1m#\n(\w+) (\S+) -> (\S+)\n(.*?)\x1b\[;m", re.S)


def parse_sip_trace(text, own_ports):
    """SipMessages from baresip -s output. A message is "sent" when its
    source port is one of own_ports (UDP), or, over TCP/TLS, when its top Via
    (requests) is this baresip's / is not (responses)."""
    out = []
    for m in _TRACE_RE.finditer(text):
        transport, src, dst, body = m.groups()
        msg_text = body.strip("\r\n") + "\r\n"
        src_port = src.rsplit(":", 1)[-1]
        dst_port = dst.rsplit(":", 1)[-1]
        if src_port in own_ports:
            direction = "sent"
        elif dst_port in own_ports:
            direction = "received"
        else:
            probe = SipMessage("?", transport, src, dst, msg_text)
            via = probe.header("Via") or probe.header("v")
            ours = bool(via) and any(f":{p}" in via[0].split(";")[0] for p in own_ports)
            is_request = probe.method is not None
            direction = "sent" if ours == is_request else "received"
        out.append(SipMessage(direction, transport, src, dst, msg_text))
    return out


# ---------------------------------------------------------------------------
# ctrl_tcp client

class BaresipControl:
    """A connection to baresip's ctrl_tcp: commands with tokens, responses
    matched by token, pushed events collected in order (thread-safe)."""

    def __init__(self, port, host="127.0.0.1", name="baresip", diagnostics=None,
                 on_event=None):
        self.host = host
        self._on_event = on_event
        self.port = port
        self.name = name
        self._diagnostics = diagnostics or (lambda: "")
        self._sock = None
        self._thread = None
        self._cond = threading.Condition()
        self._events = []
        self._responses = {}
        self._closed = False
        self._close_reason = None
        self._counter = 0

    # -- connection --------------------------------------------------------

    def connect(self, timeout=5, alive=None):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if alive is not None and not alive():
                raise BaresipError(f"{self.name} exited before its control socket "
                                   f"accepted a connection{self._diagnostics()}")
            try:
                sock = socket.create_connection((self.host, self.port), timeout=0.5)
                break
            except OSError as e:
                last = e
            if time.monotonic() > deadline:
                raise BaresipError(f"{self.name}: cannot connect to ctrl_tcp "
                                   f"{self.host}:{self.port} within {timeout} s ({last})"
                                   f"{self._diagnostics()}")
            time.sleep(0.005)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._closed = False
        self._thread = threading.Thread(target=self._reader, name=f"{self.name}-ctrl",
                                        daemon=True)
        self._thread.start()
        return self

    @property
    def connected(self):
        return self._sock is not None and not self._closed

    def close(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        with self._cond:
            if not self._closed:
                self._closed = True
                self._close_reason = self._close_reason or "closed by the test"
            self._cond.notify_all()

    def _reader(self):
        buf = b""
        sock = self._sock
        reason = "connection closed by baresip"
        try:
            while True:
                try:
                    chunk = sock.recv(65536)
                except OSError as e:
                    reason = f"connection error: {e}"
                    break
                if not chunk:
                    break
                # baresip writes each event with Nagle on: without an
                # immediate ACK from us (Linux re-arms delayed ACKs), the
                # next event waits ~40 ms for our delayed ACK.
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                except OSError:
                    pass
                buf += chunk
                while True:
                    colon = buf.find(b":")
                    if colon < 0:
                        if len(buf) > 10:
                            reason = f"bad netstring from baresip: {buf[:60]!r}"
                            return
                        break
                    length = buf[:colon]
                    if not length.isdigit():
                        reason = f"bad netstring from baresip: {buf[:60]!r}"
                        return
                    n = int(length)
                    end = colon + 1 + n
                    if len(buf) < end + 1:
                        break
                    payload, trailer = buf[colon + 1:end], buf[end:end + 1]
                    buf = buf[end + 1:]
                    if trailer != b",":
                        reason = f"bad netstring trailer {trailer!r}"
                        return
                    try:
                        msg = json.loads(payload.decode("utf-8", "replace"))
                    except ValueError:
                        msg = {"event": True, "type": "_UNPARSED",
                               "raw": payload.decode("utf-8", "replace")}
                    self._dispatch(msg)
        finally:
            with self._cond:
                self._closed = True
                self._close_reason = self._close_reason or reason
                self._cond.notify_all()

    def _dispatch(self, msg):
        is_event = not msg.get("response")
        if is_event and self._on_event is not None:
            try:
                self._on_event(msg)     # before waiters see it
            except Exception:           # noqa: BLE001 -- never kill the reader
                pass
        with self._cond:
            if not is_event:
                self._responses[msg.get("token")] = msg
            else:
                msg["_at"] = time.monotonic()
                msg["_seq"] = len(self._events)
                self._events.append(msg)
            self._cond.notify_all()

    # -- commands -------------------------------------------------------

    def send(self, command, params=None, token=None):
        """Sends a command without waiting; returns its token."""
        if not self.connected:
            raise BaresipError(f"{self.name}: control connection is closed "
                               f"({self._close_reason}){self._diagnostics()}")
        with self._cond:
            self._counter += 1
            token = token or f"{self.name}-{self._counter}"
        obj = {"command": command, "token": token}
        if params is not None:
            obj["params"] = str(params)
        data = json.dumps(obj).encode()
        self._sock.sendall(b"%d:%s," % (len(data), data))
        return token

    def command(self, command, params=None, timeout=5, check=True):
        """Sends a command and returns its response {"ok", "data", "token",
        ...}; check=True raises BaresipError when ok is false."""
        token = self.send(command, params)
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._responses:
                left = deadline - time.monotonic()
                if self._closed:
                    raise BaresipError(f"{self.name}: connection closed ({self._close_reason}) "
                                       f"before the response to {command!r}"
                                       f"{self._diagnostics()}")
                if left <= 0:
                    raise BaresipError(f"{self.name}: no response to {command!r} {params!r} "
                                       f"within {timeout} s{self._diagnostics()}")
                self._cond.wait(min(left, 0.5))
            response = self._responses.pop(token)
        if check and not response.get("ok"):
            raise BaresipError(f"{self.name}: {command} {params if params is not None else ''} "
                               f"failed: {response.get('data')!r}{self._diagnostics()}")
        return response

    # -- events ----------------------------------------------------------

    def mark(self):
        """The number of events so far: pass it as `since`."""
        with self._cond:
            return len(self._events)

    def events(self, type=None, since=0, predicate=None):
        types = _types(type)
        with self._cond:
            evs = list(self._events[since:])
        return [e for e in evs if (types is None or e.get("type") in types)
                and (predicate is None or predicate(e))]

    def wait_event(self, type, timeout=10, predicate=None, since=0, fail_on=()):
        """The first event of `type` (a name or a tuple of names) at index
        >= since that satisfies predicate; raises BaresipError when an event
        of a `fail_on` type (that satisfies predicate) comes first, or after
        `timeout` seconds."""
        types = _types(type)
        fails = _types(fail_on) or set()
        deadline = time.monotonic() + timeout
        pos = since
        with self._cond:
            while True:
                while pos < len(self._events):
                    e = self._events[pos]
                    pos += 1
                    if predicate is not None and not predicate(e):
                        continue
                    if e.get("type") in types:
                        return e
                    if e.get("type") in fails:
                        raise BaresipError(f"{self.name}: got {e.get('type')} "
                                           f"({e.get('param')!r}) while waiting for "
                                           f"{'/'.join(sorted(types))}: {_brief(e)}"
                                           f"{self._diagnostics()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [f"{x.get('type')}({x.get('param', '')})"
                            for x in self._events[since:] if x.get("type") != "CALL_RTCP"]
                    raise BaresipError(f"{self.name}: no {'/'.join(sorted(types))} event within "
                                       f"{timeout} s; events since {since}: {seen[-30:]}"
                                       f"{self._diagnostics()}")
                if self._closed:
                    raise BaresipError(f"{self.name}: control connection closed "
                                       f"({self._close_reason}) while waiting for "
                                       f"{'/'.join(sorted(types))}{self._diagnostics()}")
                self._cond.wait(min(left, 0.5))


def _types(type_):
    if type_ is None:
        return None
    if isinstance(type_, str):
        return {type_}
    return set(type_)


def _brief(event):
    return {k: v for k, v in event.items() if k not in ("event", "_at", "_seq", "rtcp_stats")}


# ---------------------------------------------------------------------------

class _HarnessEntry:
    """What a Baresip registers with the harness for each process it starts:
    at cleanup, a graceful quit (bounded) and then SIGKILL to the group."""

    def __init__(self, baresip, process):
        self.baresip = baresip
        self.process = process
        self.name = process.name

    def __getattr__(self, attr):        # pid, popen, log_path... of the Process
        return getattr(self.process, attr)

    def alive(self):
        return self.process.alive()

    def kill(self):
        try:
            if self.baresip.process is self.process and self.process.alive():
                self.baresip.stop(timeout=1.5)
        finally:
            self.process.kill()

    def output(self):
        return self.process.log_path.read_text(errors="replace") \
            if self.process.log_path.exists() else ""


class Baresip:
    """One baresip for a test. See the module docstring.

    registrar: None (local account <sip:USER@127.0.0.1:PORT>;regint=0, dial
    it at uri()), a Kamailio (AOR sip:USER@DOMAIN, outbound proxy
    k.uri(transport), digest password `password`), or a proxy URI string
    (outbound=URI; the AOR's domain is `domain` or the URI's host).
    transport: udp, tcp or tls (tls: ca_file to trust, or the Kamailio's CA;
    certificate: a CertPair or a PEM with certificate and key for its own TLS
    listener on PORT+1; without a registrar one is made, see tls_ca_file).
    codecs: short names (pcmu, pcma, g722, opus) or baresip names
    ("G722/16000/1"); the first decides the source format.
    audio_source: a WAV path, None (silence, source_seconds long) or "echo".
    mediaenc: None, "srtp", "srtp-mand" (or srtp-mandf, dtls_srtp).
    extra_account: more ";key=value" account parameters; extra_config: more
    config lines; args: more baresip options (e.g. "-v" for debug output)."""

    def __init__(self, harness, name="bob", user=None, password=None, registrar=None,
                 port=None, transport="udp", codecs=("pcmu",), ptime=20, answermode="manual",
                 audio_source=None, record=True, mediaenc=None, modules_extra=(), start=True,
                 regint=60, domain=None, ca_file=None, sip_trace=True, source_seconds=60,
                 strict_source=True, extra_account="", extra_config="", ctrl_port=None,
                 certificate=None, args=(), ready_timeout=10):
        self.harness = harness
        self.name, self.dir = unique_dir(harness, name)
        self.user = user or name
        if not re.fullmatch(r"[A-Za-z0-9._~+-]+", self.user):
            raise ValueError(f"bad user name {self.user!r}")
        self.password = password
        self.registrar = registrar
        self.transport = transport.lower()
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}")
        if isinstance(codecs, str):
            codecs = (codecs,)
        self.codecs = [codec_spec(c) for c in codecs]
        if not self.codecs:
            raise ValueError("at least one codec is needed")
        self.ptime = int(ptime)
        if answermode not in ANSWERMODES:
            raise ValueError(f"answermode must be one of {ANSWERMODES}")
        self.answermode = answermode
        self.record = record
        if mediaenc is not None and mediaenc not in MEDIAENC_MODULES:
            raise ValueError(f"mediaenc must be None or one of {sorted(MEDIAENC_MODULES)}")
        self.mediaenc = mediaenc
        self.modules_extra = [m[:-3] if m.endswith(".so") else m for m in modules_extra]
        self.regint = int(regint)
        self.domain = domain
        self.ca_file = ca_file
        self.certificate = certificate
        self.pki = None
        self.sip_trace = sip_trace
        self.extra_account = extra_account
        self.extra_config = extra_config
        self.args = [str(a) for a in args]
        self.ready_timeout = ready_timeout
        self._fixed_port = port
        self._fixed_ctrl_port = ctrl_port

        self.config_dir = self.dir / "config"
        self.config_dir.mkdir(exist_ok=True)
        self.snd_dir = self.dir / "snd"
        self.snd_dir.mkdir(exist_ok=True)
        self.log_path = self.dir / "baresip.log"
        self.process = None
        self.control = None
        self._log_offset = 0      # where the current run's output starts
        self._recording_counter = 0
        self._recording_lock = threading.Lock()

        _, rate, channels = self.codecs[0]
        self.audio_format = (rate, channels)
        self.echo = audio_source == "echo"
        if audio_source is None:
            audio_source = make_source_wav(self.dir / f"silence-{rate}-{channels}.wav",
                                           self.codecs[0][0], "silence", source_seconds)
        self.audio_source = None if self.echo else pathlib.Path(audio_source).resolve()
        if self.audio_source is not None:
            self._check_source(strict_source)

        if self.transport == "tls" and self.registrar is None and certificate is None:
            # A TLS listener needs a certificate: one from a CA of its own
            # (self.pki.ca.cert is what a client must trust).
            self.pki = TestPKI(self.dir / "pki")
            self.certificate = self.pki.server("good")
        self._pick_ports()
        self.write_config()
        if start:
            self.start()

    # -- configuration -----------------------------------------------------

    def _check_source(self, strict):
        info = wav_header(self.audio_source)
        problems = []
        if info["format"] != 1 or info["bits"] != 16:
            problems.append(f"it is not 16-bit PCM (format {info['format']}, "
                            f"{info['bits']} bits)")
        for cname, rate, ch in self.codecs:
            if (info["rate"], info["channels"]) != (rate, ch):
                problems.append(f"{cname} needs {rate} Hz / {ch} channel(s), the file has "
                                f"{info['rate']} Hz / {info['channels']}")
        if problems and strict:
            raise ValueError(f"audio source {self.audio_source}: " + "; ".join(problems) +
                             " (baresip 1.0 does not resample: the call would hang or fail;"
                             " strict_source=False to try anyway)")

    def _pick_ports(self):
        self.sip_port = self._fixed_port or unique_port(count=2)   # PORT (udp/tcp), PORT+1 tls
        self.ctrl_port = self._fixed_ctrl_port or unique_port()
        first = unique_port(count=RTP_PORTS + 1)
        self.rtp_first = first + (first % 2)          # RTP even, RTCP odd
        self.rtp_last = self.rtp_first + RTP_PORTS - 1

    def modules(self):
        mods = ["g711", "g722", "opus", "aufile"]
        if self.echo:
            mods.append("aubridge")
        if self.record:
            mods.append("sndfile")
        if self.mediaenc:
            mods.append(MEDIAENC_MODULES[self.mediaenc])
        for m in self.modules_extra:
            if m not in mods:
                mods.append(m)
        for m in mods:
            if not (MODULE_DIR / f"{m}.so").exists():
                raise ValueError(f"baresip module {m} not found in {MODULE_DIR}")
        return mods

    def _ca(self):
        if self.ca_file:
            return self.ca_file
        return getattr(self.registrar, "ca_file", None)

    def config_text(self):
        if self.echo:
            source = "aubridge,echo"
            player = "audio_player\t\taubridge,echo"
        else:
            source = f"aufile,{self.audio_source}"
            player = ""
        ca = self._ca()
        values = {
            "SIP_PORT": str(self.sip_port),
            "SIP_CAFILE": (f"sip_cafile\t\t{ca}\n" if ca else "") + self._certificate_line(),
            "RTP_FIRST": str(self.rtp_first),
            "RTP_LAST": str(self.rtp_last),
            "AUDIO_SOURCE": source,
            "AUDIO_PLAYER": player,
            "SND_PATH": f"snd_path\t\t{self.snd_dir}" if self.record else "",
            "MODULES": "\n".join(f"module\t\t\t{m}.so" for m in self.modules()),
            "CTRL_PORT": str(self.ctrl_port),
        }
        text = TEMPLATE.read_text()
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", value)
        left = re.findall(r"@@\w+@@", text)
        if left:
            raise RuntimeError(f"unfilled placeholders in {TEMPLATE}: {left}")
        if self.extra_config:
            text += "\n# extra\n" + self.extra_config.rstrip("\n") + "\n"
        return text

    def _certificate_line(self):
        """sip_certificate: one PEM with the chain and the key."""
        cert = self.certificate
        if cert is None:
            return ""
        if hasattr(cert, "key"):
            pem = self.config_dir / "sip-certificate.pem"
            pem.write_text(pathlib.Path(cert.chain).read_text() +
                           pathlib.Path(cert.key).read_text())
            pem.chmod(0o600)
            cert = pem
        return f"sip_certificate\t\t{cert}"

    @property
    def tls_ca_file(self):
        """The CA that signed its own TLS certificate (when it made one)."""
        return self.pki.ca.cert if self.pki else None

    def _registrar_parts(self):
        """(domain, outbound URI) for a registrar."""
        r = self.registrar
        if hasattr(r, "udp_port"):   # a Kamailio
            if self.transport == "tls":
                outbound = r.uri("tls", sips=False)
            else:
                outbound = r.uri(self.transport)
            return self.domain or r.domain, outbound
        text = str(r)
        m = re.match(r"^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>]+)", text)
        if not m:
            raise ValueError(f"registrar {r!r} is neither a Kamailio nor a SIP URI")
        return self.domain or m.group(1), text

    def account_line(self):
        tparam = "" if self.transport == "udp" else f";transport={self.transport}"
        params = []
        if self.registrar is None:
            host = f"127.0.0.1:{self.sip_port + (1 if self.transport == 'tls' else 0)}"
            uri = f"sip:{self.user}@{host}{tparam}"
            params.append("regint=0")
        else:
            domain, outbound = self._registrar_parts()
            uri = f"sip:{self.user}@{domain}{tparam}"
            params.append(f'outbound="{outbound}"')
            params.append(f"regint={self.regint}")
        if self.password is not None:
            pw = str(self.password)
            if re.search(r'[;"\s<>,]', pw):
                if '"' in pw:
                    raise ValueError("passwords with '\"' are not supported")
                pw = f'"{pw}"'
            params.append(f"auth_pass={pw}")
        params.append(f"answermode={self.answermode}")
        params.append("audio_codecs=" + ",".join(c[0] for c in self.codecs))
        params.append(f"ptime={self.ptime}")
        if self.mediaenc:
            params.append(f"mediaenc={self.mediaenc}")
        line = f"<{uri}>;" + ";".join(params)
        if self.extra_account:
            line += ";" + self.extra_account.lstrip(";")
        return line

    def write_config(self):
        (self.config_dir / "config").write_text(self.config_text())
        # The account is not read from this file: start() creates it with
        # `uanew` once the control connection is up, so that no event of the
        # first registration is lost (REGISTER_OK would often come first).
        (self.config_dir / "accounts").write_text(
            "# made by the test harness (harness/baresip.py); the account below is\n"
            "# added with uanew over ctrl_tcp after start:\n# " + self.account_line() + "\n")

    # -- life cycle --------------------------------------------------------

    def argv(self):
        argv = ["stdbuf", "-oL", "-eL", BARESIP, "-f", str(self.config_dir)]
        if self.sip_trace:
            argv.append("-s")
        return argv + self.args

    def start(self, timeout=None):
        """Starts baresip and waits until it is ready and its control socket
        answers (a port taken meanwhile: new ports, up to 3 tries)."""
        assert self.process is None or not self.process.alive(), "already running"
        timeout = timeout or self.harness.timeout(self.ready_timeout)
        for attempt in range(3):
            try:
                self._start_once(timeout)
                return self
            except _PortInUse as e:
                if attempt == 2 or (self._fixed_port and self._fixed_ctrl_port):
                    raise BaresipError(str(e)) from None
                self._pick_ports()
                self.write_config()
        return self

    def _start_once(self, timeout):
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = Process(self.name, self.argv(), self.log_path, env=self.harness.env(),
                               cwd=self.dir)
        self.harness.register(_HarnessEntry(self, self.process))
        self.control = BaresipControl(self.ctrl_port, name=self.name,
                                      diagnostics=self._diagnostics,
                                      on_event=self._on_event)
        deadline = time.monotonic() + timeout
        try:
            self.control.connect(timeout, alive=self.process.alive)
        except BaresipError:
            self._raise_if_port_in_use()
            raise

        def ready():
            if not self.process.alive():
                self._raise_if_port_in_use()
                raise BaresipError(f"{self.name} exited with {self.process.popen.returncode}"
                                   f"{self._diagnostics()}")
            return READY_LINE in self.log()

        while not ready():
            if time.monotonic() > deadline:
                raise BaresipError(f"{self.name} not ready within {timeout} s"
                                   f"{self._diagnostics()}")
            time.sleep(0.01)
        self._raise_if_port_in_use()
        # Make sure the control socket is this baresip's (no UA yet)...
        info = self.control.command("reginfo", timeout=max(1, deadline - time.monotonic()))
        if "User Agents (0)" not in info.get("data", ""):
            raise BaresipError(f"{self.name}: the control socket on {self.ctrl_port} belongs "
                               f"to another baresip: {info.get('data')!r}{self._diagnostics()}")
        # ... then create the account (registration starts now).
        info = self.control.command("uanew", self.account_line(),
                                    timeout=max(1, deadline - time.monotonic()))
        if f"sip:{self.user}@" not in _strip_ansi(info.get("data", "")):
            raise BaresipError(f"{self.name}: uanew did not create the account: "
                               f"{info.get('data')!r}{self._diagnostics()}")

    def _raise_if_port_in_use(self):
        log = self.log()
        if "Address already in use" in log:
            line = next((ln for ln in log.splitlines() if "Address already in use" in ln), "")
            self.control.close()
            _terminate(self.process, 2)
            raise _PortInUse(f"{self.name}: a port was taken ({_strip_ansi(line).strip()}); "
                             f"sip {self.sip_port}, ctrl {self.ctrl_port}, "
                             f"rtp {self.rtp_first}-{self.rtp_last}")

    def alive(self):
        return self.process is not None and self.process.alive()

    def stop(self, timeout=3):
        """`quit` over ctrl_tcp (hangs up, un-registers, exits), waiting up to
        `timeout` s, then SIGTERM and SIGKILL to the group; returns the exit
        status (None if it had to be killed). baresip waits for its
        un-REGISTER to be answered: with the registrar gone, it is killed."""
        if self.process is None:
            return None
        rc = None
        if self.process.alive() and self.control is not None and self.control.connected:
            try:
                self.control.send("quit")
            except (OSError, BaresipError):
                pass
            rc = self.process.wait(timeout)
        if self.control is not None:
            self.control.close()
        if rc is None:
            rc = _terminate(self.process, 0.5)
        else:
            _terminate(self.process, 0.1)
        return rc

    def restart(self):
        self.stop()
        return self.start()

    def _diagnostics(self):
        rc = None
        if self.process is not None:
            rc = self.process.popen.poll()
        state = "running" if rc is None else f"exited with {rc}"
        return (f"\n--- {self.name} ({state}; sip 127.0.0.1:{self.sip_port}, ctrl "
                f"{self.ctrl_port}; folder {self.dir}) log tail ---\n{self.log_tail()}")

    # -- addresses -----------------------------------------------------------

    def uri(self, user=None):
        """The URI that reaches this baresip directly (not via a registrar)."""
        user = user or self.user
        if self.transport == "udp":
            return f"sip:{user}@127.0.0.1:{self.sip_port}"
        if self.transport == "tcp":
            return f"sip:{user}@127.0.0.1:{self.sip_port};transport=tcp"
        return f"sip:{user}@127.0.0.1:{self.sip_port + 1};transport=tls"

    def aor(self):
        """Its address of record: sip:USER@DOMAIN with a registrar, else uri()
        (without transport parameter)."""
        if self.registrar is None:
            port = self.sip_port + (1 if self.transport == "tls" else 0)
            return f"sip:{self.user}@127.0.0.1:{port}"
        return f"sip:{self.user}@{self._registrar_parts()[0]}"

    @property
    def rtp_ports(self):
        return (self.rtp_first, self.rtp_last)

    # -- control -----------------------------------------------------------

    def _ctl(self):
        if self.control is None:
            raise BaresipError(f"{self.name} is not started")
        return self.control

    def command(self, name, params=None, timeout=5, check=True):
        """Any ctrl_tcp command; returns the response dict."""
        return self._ctl().command(name, params, timeout=timeout, check=check)

    def dial(self, uri, timeout=5):
        """Dials (through the registrar's proxy when there is one); returns
        the event mark to pass as `since`."""
        if self.transport != "udp":
            # baresip appends ";transport=X" of the account itself: do not repeat it.
            uri = re.sub(rf";transport={self.transport}(?=;|$)", "", uri, count=1)
        mark = self.mark()
        self.command("dial", uri, timeout=timeout)
        return mark

    def accept(self, timeout=5):
        mark = self.mark()
        self.command("accept", timeout=timeout)
        return mark

    def hangup(self, timeout=5):
        mark = self.mark()
        self.command("hangup", timeout=timeout)
        return mark

    def hold(self, timeout=5):
        mark = self.mark()
        self.command("hold", timeout=timeout)
        return mark

    def resume(self, timeout=5):
        mark = self.mark()
        self.command("resume", timeout=timeout)
        return mark

    def send_dtmf(self, digits, timeout=5):
        """RFC 4733 telephone-events (sndcode); all digits in one command."""
        mark = self.mark()
        self.command("sndcode", str(digits), timeout=timeout)
        return mark

    def transfer(self, uri, timeout=5):
        """Blind transfer (REFER) of the current call to uri."""
        mark = self.mark()
        self.command("transfer", uri, timeout=timeout)
        return mark

    def listcalls(self):
        return _strip_ansi(self.command("listcalls")["data"])

    def calls(self):
        """[(line, duration, state, peer)] from listcalls."""
        out = []
        for line in self.listcalls().splitlines():
            m = re.match(r"\s*>?\s*\[line (\d+)\]\s+(\S+)\s+(\S+)\s+(\S+)", line)
            if m:
                out.append((int(m.group(1)), m.group(2), m.group(3), m.group(4)))
        return out

    def reginfo(self):
        return _strip_ansi(self.command("reginfo")["data"])

    def callstat(self):
        return _strip_ansi(self.command("callstat")["data"])

    def mark(self):
        return self._ctl().mark()

    def events(self, type=None, since=0, predicate=None):
        """Events received so far (all, or of a type/tuple of types)."""
        return self._ctl().events(type, since, predicate)

    def wait_event(self, type, timeout=10, predicate=None, since=0, fail_on=()):
        return self._ctl().wait_event(type, self.harness.timeout(timeout), predicate, since,
                                      fail_on)

    def wait_incoming(self, timeout=10, since=0):
        return self.wait_event("CALL_INCOMING", timeout, since=since)

    def wait_established(self, timeout=10, since=0, call_id=None):
        """CALL_ESTABLISHED; raises at once on CALL_CLOSED."""
        pred = (lambda e: e.get("id") == call_id) if call_id else None
        return self.wait_event("CALL_ESTABLISHED", timeout, pred, since, fail_on="CALL_CLOSED")

    def wait_closed(self, timeout=10, since=0, call_id=None):
        pred = (lambda e: e.get("id") == call_id) if call_id else None
        return self.wait_event("CALL_CLOSED", timeout, pred, since)

    def dtmf_received(self, since=0):
        """The digits of the CALL_DTMF_START events since `since`."""
        return "".join(e.get("param", "") for e in self.events("CALL_DTMF_START", since))

    def wait_dtmf(self, digits, timeout=10, since=0):
        """Waits until the digits received since `since` are `digits` (or
        start with them); returns what was received."""
        deadline = time.monotonic() + self.harness.timeout(timeout)
        while True:
            got = self.dtmf_received(since)
            if got.startswith(digits):
                return got
            if time.monotonic() > deadline:
                raise BaresipError(f"{self.name}: DTMF {digits!r} not received within "
                                   f"{timeout} s (got {got!r}){self._diagnostics()}")
            time.sleep(0.02)

    # -- registration ------------------------------------------------------

    def registered(self):
        """True when reginfo shows this account as registered (OK)."""
        for line in self.reginfo().splitlines():
            if f"sip:{self.user}@" in line:
                return bool(re.search(r"\sOK\s", line + " "))
        return False

    def wait_registered(self, timeout=10, fail_fast=True):
        """Waits until registered; fail_fast: raise on a REGISTER_FAIL event."""
        deadline = time.monotonic() + self.harness.timeout(timeout)
        if self.registrar is None:
            raise BaresipError(f"{self.name} has no registrar")
        while True:
            if self.registered():
                return True
            if fail_fast:
                fails = self.events("REGISTER_FAIL")
                if fails:
                    raise BaresipError(f"{self.name}: registration failed: "
                                       f"{fails[-1].get('param')!r}{self._diagnostics()}")
            if time.monotonic() > deadline:
                raise BaresipError(f"{self.name}: not registered within {timeout} s: "
                                   f"{self.reginfo().strip()!r}{self._diagnostics()}")
            time.sleep(0.05)

    # -- recordings ----------------------------------------------------------

    def _on_event(self, event):
        """Runs in the reader thread, before anyone sees the event."""
        if self.record and event.get("type") in ("CALL_ESTABLISHED", "CALL_CLOSED"):
            self._claim_recordings(event.get("id") or "unknown")

    def _claim_recordings(self, call_id):
        """Gives sndfile's open files (dump-STAMP-KIND.wav) unique names,
        rec-NNN-CALLID-STAMP-KIND.wav: sndfile keeps writing to them, and a
        later call in the same second cannot overwrite them."""
        with self._recording_lock:
            for path in sorted(self.snd_dir.glob("dump-*.wav")):
                m = re.fullmatch(r"dump-(.+)-(dec|enc)\.wav", path.name)
                if not m:
                    continue
                self._recording_counter += 1
                new = path.with_name(f"rec-{self._recording_counter:04d}-"
                                     f"{re.sub(r'[^A-Za-z0-9._-]', '_', call_id)}-"
                                     f"{m.group(1)}-{m.group(2)}.wav")
                try:
                    os.rename(path, new)
                except OSError:
                    pass

    def recordings(self, kind=None, complete=True, call_id=None):
        """sndfile's WAVs, oldest first: kind "dec" (what it received), "enc"
        (what it sent) or None (both); call_id: only that call's (the "id"
        of its events); complete=True: finalised files only. Names:
        rec-NNN-CALLID-YYYY-MM-DD-HH-MM-SS-KIND.wav (dump-STAMP-KIND.wav
        until the call is established or closed)."""
        suffix = f"-{kind}.wav" if kind else ".wav"
        files = [p for p in self.snd_dir.iterdir()
                 if p.name.endswith(suffix) and p.name.startswith(("rec-", "dump-"))]
        if call_id is not None:
            files = [p for p in files if p.name.startswith("rec-")
                     and p.name.split("-", 2)[2].startswith(f"{call_id}-")]

        def order(p):
            # claimed files in claim order, then unclaimed ones by stamp
            if p.name.startswith("rec-"):
                return (0, p.name)
            return (1, p.name)
        files = sorted(files, key=order)
        if complete:
            files = [p for p in files if wav_complete(p)]
        return files

    def _wait_recording(self, kind, timeout, call_id):
        if not self.record:
            raise BaresipError(f"{self.name} was started with record=False")
        deadline = time.monotonic() + self.harness.timeout(timeout)
        while True:
            files = self.recordings(kind, complete=False, call_id=call_id)
            if files and wav_complete(files[-1]):
                return files[-1]
            if time.monotonic() > deadline:
                state = [(p.name, wav_header(p)["riff_size"], p.stat().st_size) for p in files]
                raise BaresipError(f"{self.name}: no finalised {kind} recording"
                                   f"{' of call ' + call_id if call_id else ''} within "
                                   f"{timeout} s (the call must have ended); files: {state}"
                                   f"{self._diagnostics()}")
            time.sleep(0.05)

    def received_audio(self, timeout=10, call_id=None):
        """The latest dec WAV (what this baresip received and decoded), of
        the call call_id or of the last call, once finalised (call ended)."""
        return self._wait_recording("dec", timeout, call_id)

    def sent_audio(self, timeout=10, call_id=None):
        """The latest enc WAV (what this baresip sent), once finalised."""
        return self._wait_recording("enc", timeout, call_id)

    # -- the log ----------------------------------------------------------------

    def log(self, all_runs=False):
        """This run's output (all_runs: every start of this instance)."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            if not all_runs:
                f.seek(self._log_offset)
            return f.read().decode(errors="replace")

    def log_tail(self, chars=4000):
        return _strip_ansi(self.log())[-chars:]

    def sip_messages(self, method=None, status=None, direction=None, since=0):
        """SIP messages from the trace (sip_trace=True), in order: filter by
        method (requests, or responses to that method when status is given),
        status code, direction "sent"/"received"; since: an index in the
        unfiltered list (len(sip_messages()) as a mark)."""
        msgs = parse_sip_trace(self.log(), {str(self.sip_port), str(self.sip_port + 1)})
        msgs = msgs[since:]
        out = []
        for m in msgs:
            if direction and m.direction != direction:
                continue
            if status is not None:
                if m.status != status or (method and m.cseq_method != method):
                    continue
            elif method and m.method != method:
                continue
            out.append(m)
        return out

    def wait_sip_messages(self, method=None, status=None, direction=None, since=0, count=1,
                          timeout=5):
        """Waits until sip_messages(...) has `count` messages (the trace is in
        the log, written a little after the event that caused it); returns
        them."""
        deadline = time.monotonic() + self.harness.timeout(timeout)
        while True:
            msgs = self.sip_messages(method, status, direction, since)
            if len(msgs) >= count:
                return msgs
            if time.monotonic() > deadline:
                raise BaresipError(f"{self.name}: {len(msgs)} of {count} SIP message(s) "
                                   f"method={method} status={status} direction={direction} "
                                   f"within {timeout} s{self._diagnostics()}")
            time.sleep(0.02)

    def __repr__(self):
        return (f"<Baresip {self.name} {self.aor()} sip={self.sip_port} ctrl={self.ctrl_port} "
                f"{'running' if self.alive() else 'stopped'}>")


class _PortInUse(Exception):
    pass


def _terminate(process, timeout):
    """SIGTERM, bounded wait, SIGKILL to the process group; returns the exit
    status (None when it had to be killed)."""
    rc = None
    if process.alive():
        process.signal(signal.SIGTERM)
        rc = process.wait(timeout)
    else:
        rc = process.popen.returncode
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.popen.poll() is None:
        process.popen.wait(timeout=10)
    return rc
