"""SIPp runs for tests: a UAC against a peer, or a UAS standing in for one.

    # UAC: register alice with digest auth through Kamailio, then wait.
    s = Sipp(harness, "uac-register-auth.xml", remote=k, transport="tcp",
             keys={"user": "alice", "password": "secret"})
    assert s.wait() == 0, s.report()
    s.stats()["SuccessfulCall(C)"]   # parsed from the -trace_stat CSV
    s.responses()                     # [401, 200]: status codes sipp received

    # UAS: a "registrar" on its own port that answers each REGISTER with 423.
    r = Sipp.register_replier(harness, 423, headers=["Min-Expires: 120"])
    # ... which is short for:
    r = Sipp.uas(harness, "uas-register-reply.xml", variables={"status": 423},
                 keys={"reason": "Interval Too Brief", "header1": "Min-Expires: 120"})
    r.uri()                           # sip:127.0.0.1:PORT (transport="tcp": ;transport=tcp)
    ...; r.requests("REGISTER")       # the REGISTERs it received (text of each)
    r.stop()

Every run has -i/-mi 127.0.0.1, its own free SIP, media and control ports, a
global -timeout, and its messages (-trace_msg), errors (-trace_err),
statistics (-trace_stat) and final screen (-trace_screen) in a folder of the
test's. Scenario names ending in .xml are looked up in peers/ unless they are
paths; other names are sipp's built-ins (-sn uac, uas, ...).

Scenarios in peers/ (each file's header comment has the details):
  uac-register-auth.xml          REGISTER, 401, REGISTER with credentials, 200.
                                 keys user, password, domain, expires (0: unregister)
  uac-register-auth-refused.xml  the same, but the second REGISTER must be refused
                                 (401/403/404/423/480/500/503); see responses()
  uac-invite-auth.xml            INVITE, 407, ACK, INVITE with credentials, 200, ACK,
                                 pause (-d MS), BYE via the Record-Route set.
                                 keys user, password, domain; callee: service="bob"
  uas-answer.xml                 callee: INVITE, 180, 200 (copies Record-Route), ACK,
                                 BYE, 200
  uas-register-reply.xml         stand-in registrar: every REGISTER gets -set status N
                                 (REGISTER_REPLY_CODES) with -key reason, header1,
                                 header2; see register_replier()
  uas-register-silent.xml        stand-in registrar that never answers
sipp takes [authentication] credentials from -au/-ap: the harness passes the
user and password keys there.
"""

import csv
import pathlib
import re
import socket

from .core import Process, wait_for
from .kamailio import _terminate, unique_dir, unique_port

PEERS_DIR = pathlib.Path(__file__).resolve().parents[1] / "peers"
SIPP = "sipp"
BUILTINS = ("uac", "uas", "regexp", "3pcc-C-A", "3pcc-C-B", "3pcc-A", "3pcc-B",
            "branchc", "branchs", "uac_pcap")
TRANSPORTS = {"udp": "u1", "tcp": "t1", "u1": "u1", "t1": "t1", "un": "un", "tn": "tn"}

# Defaults for the -key parameters of our own scenarios (a scenario that uses
# an undefined [key] is refused by sipp, so every one gets a value).
DEFAULT_KEYS = {
    "user": "alice",
    "password": "secret",
    "domain": "127.0.0.1",
    "expires": "3600",
    "reason": "OK",
    "header1": "X-Dialtone-Test: 1",
    "header2": "X-Dialtone-Test: 2",
}

# The codes peers/uas-register-reply.xml can send (-set status N).
REGISTER_REPLY_CODES = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                        408: "Request Timeout", 423: "Interval Too Brief",
                        480: "Temporarily Unavailable", 500: "Server Internal Error",
                        503: "Service Unavailable", 504: "Server Time-out"}

SIPP_EXIT = {0: "all calls succeeded", 1: "at least one call failed",
             97: "exit on internal command", 99: "normal exit without calls processed",
             255: "fatal error", 254: "fatal error binding a socket"}


def _scenario_args(scenario):
    scenario = str(scenario)
    if scenario in BUILTINS:
        return ["-sn", scenario], scenario
    path = pathlib.Path(scenario)
    if not path.is_absolute() and not path.exists():
        path = PEERS_DIR / scenario
    if not path.exists():
        raise FileNotFoundError(f"no sipp scenario {scenario} (looked in {PEERS_DIR})")
    return ["-sf", path], path.stem


def _remote(remote, transport):
    if remote is None:
        return None
    if hasattr(remote, "udp_port"):  # a Kamailio
        return f"127.0.0.1:{remote.udp_port}"
    if isinstance(remote, tuple):
        host, port = remote
        return f"{host}:{port}"
    text = str(remote)
    m = re.match(r"^sips?:(?:[^@]*@)?([^;>]+)", text)
    return m.group(1) if m else text


def _port_taken(port, kind):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Sipp:
    """One sipp process. remote: "host:port", (host, port), a SIP URI or a
    Kamailio (its UDP/TCP port); None for a UAS. calls: -m (None: run until
    stop() or the global timeout). keys: -key name value (defaults in
    DEFAULT_KEYS are added). variables: -set name value (global variables a
    scenario declares). timeout: the global -timeout in seconds (the run
    fails if a UAC reaches it). recv_timeout: -recv_timeout in ms (UAC
    default 5000). args: more sipp options."""

    def __init__(self, harness, scenario, remote=None, name="sipp", transport="udp",
                 calls=1, keys=None, variables=None, port=None, service=None, rate=None,
                 timeout=20, recv_timeout=None, args=(), start=True, wait_bound=None):
        self.harness = harness
        self.name, self.dir = unique_dir(harness, name)
        self.scenario_args, self.scenario_name = _scenario_args(scenario)
        self.transport = transport.lower()
        if self.transport not in TRANSPORTS:
            raise ValueError(f"unknown sipp transport {transport!r}")
        self.remote = _remote(remote, transport)
        self.uas_mode = self.remote is None
        self.port = port or unique_port()
        self.control_port = unique_port()
        self.media_port = unique_port(count=4)  # RTP/RTCP, audio and video
        self.calls = calls
        self.keys = dict(DEFAULT_KEYS)
        self.keys.update({k: str(v) for k, v in (keys or {}).items()})
        self.variables = {k: str(v) for k, v in (variables or {}).items()}
        self.timeout = timeout
        self.process = None
        self.messages_path = self.dir / "messages.log"
        self.errors_path = self.dir / "errors.log"
        self.stats_path = self.dir / "stats.csv"
        self.screen_path = self.dir / "screen.log"
        self.log_actions_path = self.dir / "actions.log"
        self.log_path = self.dir / "sipp.out"

        argv = [SIPP]
        if self.remote:
            argv.append(self.remote)
        argv += self.scenario_args
        argv += ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", self.port,
                 "-mp", self.media_port, "-ci", "127.0.0.1", "-cp", self.control_port,
                 "-t", TRANSPORTS[self.transport], "-nostdin",
                 "-timeout", f"{int(timeout)}s",
                 "-trace_msg", "-message_file", self.messages_path,
                 "-trace_err", "-error_file", self.errors_path,
                 "-trace_stat", "-stf", self.stats_path, "-fd", "1",
                 "-trace_screen", "-screen_file", self.screen_path,
                 "-trace_logs", "-log_file", self.log_actions_path]
        if not self.uas_mode:
            argv.append("-timeout_error")
            argv += ["-recv_timeout", str(recv_timeout or 5000)]
        elif recv_timeout:
            argv += ["-recv_timeout", str(recv_timeout)]
        # A new REGISTER with a Call-ID seen before must start a new call.
        argv += ["-deadcall_wait", "0"] if self.uas_mode else []
        if calls is not None:
            argv += ["-m", str(calls)]
        if rate is not None:
            argv += ["-r", str(rate)]
        if service is not None:
            argv += ["-s", service]
        for key, value in self.keys.items():
            argv += ["-key", key, value]
        for name_, value in self.variables.items():
            argv += ["-set", name_, value]
        # [authentication] takes its credentials from -au/-ap.
        argv += ["-au", self.keys["user"], "-ap", self.keys["password"]]
        # No BYE when a call is aborted: most of our scenarios have no dialog.
        argv += ["-default_behaviors", "all,-bye"]
        argv += list(args)
        self.argv = [str(a) for a in argv]
        self.wait_bound = self.uas_mode if wait_bound is None else wait_bound
        if start:
            self.start()

    @classmethod
    def uas(cls, harness, scenario="uas-register-reply.xml", name="sipp-uas", calls=None,
            timeout=60, **kwargs):
        """A sipp server on its own port (see uri()), running until stop() or
        `timeout` seconds."""
        return cls(harness, scenario, remote=None, name=name, calls=calls, timeout=timeout,
                   **kwargs)

    @classmethod
    def register_replier(cls, harness, status, reason=None, headers=(), transport="udp",
                         name="sipp-registrar", expires=3600, **kwargs):
        """A stand-in registrar answering every REGISTER with `status` (one of
        REGISTER_REPLY_CODES) and up to two extra header lines, e.g.
        register_replier(h, 423, headers=["Min-Expires: 120"])."""
        status = int(status)
        if status not in REGISTER_REPLY_CODES:
            raise ValueError(f"uas-register-reply.xml sends only {sorted(REGISTER_REPLY_CODES)}")
        headers = list(headers)
        if len(headers) > 2:
            raise ValueError("at most two extra headers")
        keys = {"reason": reason or REGISTER_REPLY_CODES[status], "expires": expires}
        for i, line in enumerate(headers, 1):
            keys[f"header{i}"] = line
        keys.update(kwargs.pop("keys", {}))
        return cls.uas(harness, "uas-register-reply.xml", name=name, transport=transport,
                       variables={"status": status}, keys=keys, **kwargs)

    def start(self):
        for path in (self.messages_path, self.errors_path, self.stats_path, self.screen_path):
            if path.exists():
                path.unlink()
        self.process = Process(self.name, self.argv, self.log_path, env=self.harness.env(),
                               cwd=self.dir)
        self.harness.register(self.process)
        if self.wait_bound:
            self.wait_listening()
        return self

    def wait_listening(self, timeout=5):
        kind = socket.SOCK_STREAM if self.transport.startswith("t") else socket.SOCK_DGRAM

        def bound():
            if not self.process.alive():
                raise RuntimeError(f"{self.name} exited with {self.process.popen.returncode}:"
                                   f"\n{self.report()}")
            return _port_taken(self.port, kind)
        wait_for(bound, self.harness.timeout(timeout), what=f"{self.name} to bind {self.port}")

    # -- addresses -------------------------------------------------------

    def uri(self, user=None):
        who = f"{user}@" if user else ""
        suffix = ";transport=tcp" if self.transport.startswith("t") else ""
        return f"sip:{who}127.0.0.1:{self.port}{suffix}"

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    # -- life cycle ----------------------------------------------------------

    def alive(self):
        return self.process is not None and self.process.alive()

    def wait(self, timeout=None):
        """Waits for sipp to end; returns its exit code (0: every call
        succeeded, 1: some failed; see SIPP_EXIT). Raises TimeoutError."""
        timeout = timeout or self.harness.timeout(self.timeout + 10)
        rc = self.process.wait(timeout)
        if rc is None:
            raise TimeoutError(f"{self.name} still running after {timeout} s:\n{self.report()}")
        return rc

    @property
    def returncode(self):
        return self.process.popen.returncode if self.process else None

    def stop(self, timeout=3):
        """SIGTERM (sipp ends its calls and writes its final statistics), then
        SIGKILL to the group. Returns the exit code, None if it had to be killed."""
        if self.process is None:
            return None
        return _terminate(self.process, timeout)

    # -- results ---------------------------------------------------------

    def stats(self):
        """The last row of the -trace_stat CSV as {name: value} (ints where
        possible), e.g. 'SuccessfulCall(C)', 'FailedCall(C)',
        'TotalCallCreated', 'FailedUnexpectedMessage(C)'. {} if none yet."""
        if not self.stats_path.exists():
            return {}
        lines = [line for line in self.stats_path.read_text(errors="replace").splitlines()
                 if line.strip()]
        if len(lines) < 2:
            return {}
        rows = list(csv.reader(lines, delimiter=";"))
        header, last = rows[0], rows[-1]
        out = {}
        for name, value in zip(header, last):
            name = name.strip()
            if not name:
                continue
            value = value.strip()
            out[name] = int(value) if re.fullmatch(r"-?\d+", value) else value
        return out

    @property
    def successful(self):
        return self.stats().get("SuccessfulCall(C)", 0)

    @property
    def failed(self):
        return self.stats().get("FailedCall(C)", 0)

    def messages(self):
        """[(direction, text)] from the message trace, direction "sent" or
        "received", in order."""
        if not self.messages_path.exists():
            return []
        text = self.messages_path.read_text(errors="replace")
        out = []
        blocks = re.split(r"^-{20,}.*$", text, flags=re.M)
        for block in blocks:
            block = block.strip("\r\n")
            if not block.strip():
                continue
            head, _, body = block.partition("\n")
            if "message sent" in head:
                direction = "sent"
            elif "message received" in head:
                direction = "received"
            else:
                continue
            out.append((direction, body.strip("\r\n") + "\n"))
        return out

    def received(self):
        return [text for d, text in self.messages() if d == "received"]

    def sent(self):
        return [text for d, text in self.messages() if d == "sent"]

    def responses(self):
        """Status codes of the responses sipp received, in order
        (retransmissions included)."""
        codes = []
        for text in self.received():
            m = re.match(r"\s*SIP/2\.0 (\d{3})", text)
            if m:
                codes.append(int(m.group(1)))
        return codes

    def requests(self, method=None):
        """Texts of the requests sipp received (method filter optional)."""
        out = []
        for text in self.received():
            m = re.match(r"\s*([A-Z]+) \S+ SIP/2\.0", text)
            if m and (method is None or m.group(1) == method):
                out.append(text)
        return out

    def report(self):
        """Everything useful for an assertion message."""
        parts = [f"argv: {' '.join(self.argv)}", f"rc: {self.returncode}"]
        for title, path in (("output", self.log_path), ("errors", self.errors_path),
                            ("screen", self.screen_path)):
            if path.exists():
                text = path.read_text(errors="replace")
                parts.append(f"--- {title} ---\n{text[-3000:]}")
        return "\n".join(parts)


def header(message, name):
    """The values of a header (case-insensitive, compact forms not handled)
    in a SIP message's text."""
    values = []
    for line in message.splitlines():
        if not line.strip():
            break
        if ":" in line:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                values.append(value.strip())
    return values
