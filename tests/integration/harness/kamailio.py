"""Kamailio as the tests' registrar and proxy, on loopback ports of its own.

    k = Kamailio(harness, users={"alice": "secret", "bob": "s3cret"}, tls=True)
    k.uri("udp")            # "sip:127.0.0.1:PORT"
    k.uri("tcp")            # "sip:127.0.0.1:PORT;transport=tcp"
    k.uri("tls")            # "sips:127.0.0.1:TLSPORT" (sips=False: sip:...;transport=tls)
    k.contacts("alice")     # [{'contact': 'sip:alice@127.0.0.1:5070', 'expires': 3597, ...}]
    k.register_requests("alice")  # [{'auth': 'no', 'code': 401, ...}, {'auth': 'yes', 'code': 200}]
    k.stop(); k.start()     # same ports, empty location table

The configuration comes from peers/kamailio.cfg.in (see the comments there).
Every request Kamailio receives is logged as a "DTREQ key=value ..." line and
every reply it sends itself (401/407, 403, 404, 423, 200 to REGISTER, ...) as
a "DTRES ..." line; requests() and register_requests() parse them, in order,
and attach the reply code to its request.

Options: min_expires=N makes REGISTERs with a shorter Expires get "423
Interval Too Brief" + "Min-Expires: N" (None: any Expires is accepted);
max_expires=N caps granted expiries; forbidden_users=[...] get "403
Forbidden" AFTER a successful digest check (the first REGISTER still gets
401); tls=True adds a TLS listener whose certificate is cert="good" (SAN
IP:127.0.0.1, IP:::1, DNS:localhost, issued by the CA in k.ca_file),
"wrong-host" (SAN DNS:wrong.example only, same CA) or "untrusted" (good
names, issued by another CA); ipv6=True listens on [::1] too.
"""

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

from .certs import CERT_KINDS, TestPKI
from .core import Process, free_port, wait_for

PEERS_DIR = pathlib.Path(__file__).resolve().parents[1] / "peers"
TEMPLATE = PEERS_DIR / "kamailio.cfg.in"
KAMAILIO = shutil.which("kamailio", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")) \
    or "/usr/sbin/kamailio"
KAMCMD = shutil.which("kamcmd", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")) \
    or "/usr/sbin/kamcmd"

_USER_RE = re.compile(r"^[A-Za-z0-9._~+-]+$")
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes; keep a margin


def _quote(value):
    """A Kamailio config string literal."""
    value = str(value)
    if any(ord(c) < 0x20 for c in value):
        raise ValueError(f"control characters are not allowed: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_host(name):
    if not re.match(r"^[A-Za-z0-9.:\[\]_-]+$", name):
        raise ValueError(f"{name!r} is not a plain domain name or address")
    return name


def _check_user(name):
    if not _USER_RE.match(name):
        raise ValueError(f"user name {name!r} must match {_USER_RE.pattern}")
    return name


_handed_out = set()


def unique_dir(harness, name):
    """harness.mkdir(name), or name-2, name-3... if a peer of that name
    already has a folder in this test; returns (name, path)."""
    candidate, n = name, 1
    while (harness.tmp / candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate, harness.mkdir(candidate)


def _bindable(port, ipv6=False):
    hosts = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if ipv6 else [])
    try:
        for family, host in hosts:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(family, kind) as s:
                    s.bind((host, port))
    except OSError:
        return False
    return True


def unique_port(count=1, ipv6=False):
    """Like core.free_port (free for UDP and TCP on loopback, and on ::1 when
    ipv6), but never a port this test process handed out before, so that
    peers started together cannot pick the same one; count > 1 gives the
    first of that many consecutive free ports (e.g. sipp's media ports)."""
    if len(_handed_out) > 20000:
        _handed_out.clear()
    for _ in range(500):
        first = free_port()
        block = range(first, first + count)
        if block[-1] > 65535 or any(p in _handed_out for p in block):
            continue
        if all(_bindable(p, ipv6) for p in block):
            _handed_out.update(block)
            return first
    raise RuntimeError("no free port found")


# ---------------------------------------------------------------------------
# kamcmd's text output: "key: value" lines, "key: {" / "{" ... "}" blocks.

def parse_kamcmd(text):
    """Turns kamcmd's indented text into nested Python values. A block whose
    entries are all anonymous becomes a list; otherwise a dict (a key seen
    twice collects its values in a list)."""
    tokens = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        tokens.append(line)
    pos = 0

    def add(container, key, value):
        if key is None:
            container.setdefault(None, []).append(value)
        elif key in container:
            prev = container[key]
            if isinstance(prev, list) and getattr(prev, "_multi", False):
                prev.append(value)
            else:
                multi = _Multi([prev, value])
                container[key] = multi
        else:
            container[key] = value

    def block():
        nonlocal pos
        entries = {}
        while pos < len(tokens):
            line = tokens[pos]
            pos += 1
            if line == "}":
                break
            if line == "{":
                add(entries, None, block())
                continue
            m = re.match(r"^([^:{}]+?):\s*(.*)$", line)
            if m:
                key, value = m.group(1).strip(), m.group(2).strip()
                if value == "{":
                    add(entries, key, block())
                else:
                    add(entries, key, _scalar(value))
            else:
                add(entries, None, _scalar(line))
        return _finish(entries)

    result = []
    while pos < len(tokens):
        line = tokens[pos]
        if line == "{":
            pos += 1
            result.append(block())
        else:
            # top-level "key: value" lines (or "key: {" blocks)
            result.append(block())
    if len(result) == 1:
        return result[0]
    return result


class _Multi(list):
    _multi = True


def _finish(entries):
    anon = entries.pop(None, None)
    if anon is not None and not entries:
        return anon
    if anon is not None:
        entries["_items"] = anon
    return {k: (list(v) if isinstance(v, _Multi) else v) for k, v in entries.items()}


def _scalar(value):
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _walk_contacts(node, out):
    """Finds every 'Contact' block (a dict with an 'Address') in a parsed dump."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Contact":
                for c in (value if isinstance(value, list) else [value]):
                    if isinstance(c, dict) and "Address" in c:
                        out.append(c)
            else:
                _walk_contacts(value, out)
    elif isinstance(node, list):
        for item in node:
            _walk_contacts(item, out)


def _aor_blocks(node, out):
    if isinstance(node, dict):
        if "AoR" in node:
            out.append(node)
        for value in node.values():
            _aor_blocks(value, out)
    elif isinstance(node, list):
        for item in node:
            _aor_blocks(item, out)


def _not_set(value):
    return None if value in ("[not set]", "", None) else value


def _contact_dict(c, aor=None):
    expires = c.get("Expires")
    if isinstance(expires, str):
        if expires == "permanent":
            expires_int = None
        else:
            m = re.match(r"-?\d+", expires)
            expires_int = int(m.group(0)) if m else None
    else:
        expires_int = expires
    socket_ = _not_set(c.get("Socket"))
    transport = None
    if socket_ and ":" in socket_:
        transport = socket_.split(":", 1)[0].lower()
    return {
        "aor": aor,
        "contact": c.get("Address"),
        "expires": expires_int,
        "expires_raw": expires,
        "received": _not_set(c.get("Received")),
        "socket": socket_,
        "transport": transport,
        "path": _not_set(c.get("Path")),
        "user_agent": _not_set(c.get("User-Agent")),
        "call_id": _not_set(c.get("Call-ID")),
        "cseq": c.get("CSeq"),
        "q": c.get("Q"),
        "instance": _not_set(c.get("Instance")),
        "reg_id": c.get("Reg-Id"),
        "tcpconn_id": c.get("Tcpconn-Id"),
        "state": c.get("State"),
        "raw": c,
    }


# ---------------------------------------------------------------------------
# The "DTREQ k=v ... contact=REST" and "DTRES k=v ..." log lines.

_LOG_RE = re.compile(r"\b(DTREQ|DTRES) (.*)$")
_KV_RE = re.compile(r"(\w+)=(\S*)")


def _log_value(value):
    if value in ("<null>", "", "<none>"):
        return None
    return value


def parse_log(text):
    """Returns the requests Kamailio logged (dicts, in order). The replies it
    sent itself are attached: 'replies' lists their codes, 'code' is the
    final one (None when the request was relayed, or no reply was logged
    yet), 'reason' its reason phrase."""
    requests = []
    pending = {}
    for line in text.splitlines():
        m = _LOG_RE.search(line)
        if not m:
            continue
        kind, rest = m.groups()
        tail_key = " contact=" if kind == "DTREQ" else " reason="
        head, sep, tail = (" " + rest).partition(tail_key)
        fields = {k: _log_value(v) for k, v in _KV_RE.findall(head)}
        tail = _log_value(tail.strip()) if sep else None
        key = (fields.get("callid"), fields.get("cseq"), fields.get("method"))
        if kind == "DTREQ":
            fields["contact"] = tail
            exp = fields.get("expires")
            fields["expires"] = int(exp) if exp is not None and exp.isdigit() else exp
            fields.update(code=None, reason=None, replies=[], line=line)
            requests.append(fields)
            pending.setdefault(key, []).append(fields)
        else:
            code = fields.get("code")
            code = int(code) if code and code.isdigit() else code
            for req in pending.get(key, []):
                if req["code"] is None:
                    req["replies"].append(code)
                    if isinstance(code, int) and code >= 200:
                        req["code"] = code
                        req["reason"] = tail
                    break
    return requests


def _terminate(process, timeout):
    """SIGTERM, wait, then SIGKILL to the process group so that no child
    survives. Leaves the Process object to the harness (its log stays open
    for the failure report)."""
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


class _Graceful:
    """What Kamailio registers with the harness instead of its bare Process:
    at cleanup, SIGTERM first (the main process then reaps its workers),
    SIGKILL to the group after a short wait."""

    def __init__(self, process):
        self.process = process
        self.name = process.name

    def __getattr__(self, attr):
        return getattr(self.process, attr)

    def kill(self):
        _terminate(self.process, 3)
        self.process.kill()

    def output(self):
        return self.process.log_path.read_text(errors="replace")


class _RemoveDir:
    """Registered with the harness like a process: removes a folder at cleanup."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.name = f"remove {path}"

    def alive(self):
        return False

    def kill(self):
        shutil.rmtree(self.path, ignore_errors=True)

    def output(self):
        return ""


class Kamailio:
    """One Kamailio registrar/proxy for a test. See the module docstring."""

    def __init__(self, harness, users=None, tls=False, ipv6=False, name="kamailio",
                 domain="127.0.0.1", realm=None, min_expires=None, max_expires=None,
                 forbidden_users=(), cert="good", qop=True, debug=2, start=True):
        if cert not in CERT_KINDS:
            raise ValueError(f"cert must be one of {CERT_KINDS}")
        self.harness = harness
        self.name, self.dir = unique_dir(harness, name)
        self.users = {_check_user(u): str(p) for u, p in (users or {}).items()}
        self.forbidden_users = {_check_user(u) for u in forbidden_users}
        self.tls = tls
        self.ipv6 = ipv6
        self.domain = _check_host(domain)
        self.realm = _check_host(realm or domain)
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.cert_kind = cert
        self.qop = qop
        self.debug = debug
        self.process = None
        self._short_dir = None

        self.udp_port = unique_port(ipv6=ipv6)
        self.tcp_port = self.udp_port
        self.tls_port = unique_port(ipv6=ipv6) if tls else None

        self.rundir = self.dir / "run"
        self.rundir.mkdir(exist_ok=True)
        self.ctl_socket = self.rundir / "kamailio_ctl"
        if len(str(self.ctl_socket)) > _UNIX_PATH_MAX:
            # unix socket paths are limited: fall back to a short folder.
            self._short_dir = pathlib.Path(tempfile.mkdtemp(prefix="dt-kam-"))
            self.rundir = self._short_dir
            self.ctl_socket = self.rundir / "kamailio_ctl"
            harness.register(_RemoveDir(self._short_dir))

        self.pki = None
        self.server_cert = None
        if tls:
            self.pki = TestPKI(self.dir / "pki")
            self.server_cert = self.pki.server(cert)
        self.cfg_path = self.dir / "kamailio.cfg"
        self.log_path = self.dir / "kamailio.log"
        self.write_config()
        if start:
            self.start()

    # -- configuration -----------------------------------------------------

    @property
    def ca_file(self):
        """PEM of the CA clients should trust (None without TLS). For
        cert="untrusted" the server's real issuer is self.pki.untrusted_ca."""
        return self.pki.ca.cert if self.pki else None

    def config_text(self):
        defines = []
        if self.tls:
            defines.append("#!define WITH_TLS")
        if self.ipv6:
            defines.append("#!define WITH_IPV6")
        users = [f"\t$sht(users=>{u}) = {_quote(p)};" for u, p in sorted(self.users.items())]
        users += [f"\t$sht(forbidden=>{u}) = 1;" for u in sorted(self.forbidden_users)]
        qop = 1 if self.qop else 0
        values = {
            "DEFINES": "\n".join(defines),
            "DEBUG": str(int(self.debug)),
            "SIP_PORT": str(self.udp_port),
            "TLS_PORT": str(self.tls_port or 0),
            "TLS_CFG": str(self.dir / "tls.cfg"),
            "CTL_SOCKET": str(self.ctl_socket),
            "DOMAIN": self.domain,
            "REALM": self.realm,
            "MIN_EXPIRES": str(int(self.min_expires or 0)),
            "MAX_EXPIRES": str(int(self.max_expires or 0)),
            "QOP_FLAGS": str(qop),
            "QOP_STALE_FLAGS": str(qop | 16),
            "USERS": "\n".join(users),
        }
        text = TEMPLATE.read_text()
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", value)
        left = re.findall(r"@@\w+@@", text)
        if left:
            raise RuntimeError(f"unfilled placeholders in {TEMPLATE}: {left}")
        return text

    def write_config(self):
        self.cfg_path.write_text(self.config_text())
        if self.tls:
            c = self.server_cert
            (self.dir / "tls.cfg").write_text(f"""# Kamailio tls module configuration (made by the test harness)
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = {c.chain}
private_key = {c.key}

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
""")

    # -- life cycle --------------------------------------------------------

    def check_config(self):
        done = subprocess.run([KAMAILIO, "-c", "-f", self.cfg_path], capture_output=True,
                              text=True, timeout=self.harness.timeout(20),
                              stdin=subprocess.DEVNULL, env=self.harness.env())
        if done.returncode != 0:
            raise RuntimeError(f"kamailio -c rejects {self.cfg_path}:\n"
                               f"{done.stdout}{done.stderr}")

    def start(self, wait=True):
        assert self.process is None or not self.process.alive(), "already running"
        self.check_config()
        if self.ctl_socket.exists():
            self.ctl_socket.unlink()
        argv = [KAMAILIO, "-f", self.cfg_path, "-Y", self.rundir, "-DD", "-E",
                "-m", "64", "-M", "8"]
        self.process = Process(self.name, argv, self.log_path, env=self.harness.env(),
                               cwd=self.dir)
        self.harness.register(_Graceful(self.process))
        if wait:
            self.wait_ready()
        return self

    def alive(self):
        return self.process is not None and self.process.alive()

    def wait_ready(self, timeout=None):
        """Waits until SIP over UDP answers an OPTIONS, the TCP (and TLS) port
        accepts connections and the control socket answers."""
        timeout = timeout or self.harness.timeout(15)
        stage = {"udp": False, "tcp": False, "tls": not self.tls, "ctl": False}

        def ready():
            if not self.process.alive():
                raise RuntimeError(f"{self.name} exited with {self.process.popen.returncode}:"
                                   f"\n{self.process.output()[-4000:]}")
            if not stage["udp"]:
                stage["udp"] = self._probe_udp()
            if not stage["tcp"]:
                stage["tcp"] = self._probe_connect(self.tcp_port)
            if not stage["tls"]:
                stage["tls"] = self._probe_connect(self.tls_port)
            if not stage["ctl"]:
                stage["ctl"] = self._probe_ctl()
            return all(stage.values())
        wait_for(ready, timeout, interval=0.05, what=f"{self.name} to answer ({stage})")
        return time.monotonic() - self.process.started

    def _probe_udp(self):
        tag = uuid.uuid4().hex[:12]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.3)
            lport = s.getsockname()[1]
            msg = (f"OPTIONS sip:127.0.0.1:{self.udp_port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{tag};rport\r\n"
                   "Max-Forwards: 70\r\n"
                   f"From: <sip:harness-probe@127.0.0.1:{lport}>;tag={tag}\r\n"
                   f"To: <sip:127.0.0.1:{self.udp_port}>\r\n"
                   f"Call-ID: probe-{tag}@127.0.0.1\r\n"
                   "CSeq: 1 OPTIONS\r\n"
                   "Content-Length: 0\r\n\r\n")
            try:
                s.sendto(msg.encode(), ("127.0.0.1", self.udp_port))
                data = s.recv(65535)
            except OSError:
                return False
            return data.startswith(b"SIP/2.0 200")

    @staticmethod
    def _probe_connect(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return True
        except OSError:
            return False

    def _probe_ctl(self):
        if not self.ctl_socket.exists():
            return False
        try:
            self.kamcmd("core.version", timeout=2)
            return True
        except (RuntimeError, subprocess.TimeoutExpired):
            return False

    def stop(self, timeout=None):
        """SIGTERM, then SIGKILL to the whole process group (bounded); returns
        the exit status (None if it had to be killed). The ports stay this
        instance's: start() binds the same ones again."""
        if self.process is None:
            return None
        rc = _terminate(self.process, timeout or self.harness.timeout(5))
        if self.ctl_socket.exists():
            try:
                self.ctl_socket.unlink()
            except OSError:
                pass
        return rc

    def restart(self):
        self.stop()
        return self.start()

    # -- addresses -----------------------------------------------------------

    def host(self, ipv6=False):
        return "[::1]" if ipv6 else "127.0.0.1"

    def uri(self, transport="udp", user=None, sips=True, ipv6=False):
        """The proxy's URI: udp -> sip:H:P, tcp -> sip:H:P;transport=tcp,
        tls -> sips:H:TLSPORT (sips=False: sip:H:TLSPORT;transport=tls)."""
        transport = transport.lower()
        who = f"{user}@" if user else ""
        host = self.host(ipv6)
        if transport == "udp":
            return f"sip:{who}{host}:{self.udp_port}"
        if transport == "tcp":
            return f"sip:{who}{host}:{self.tcp_port};transport=tcp"
        if transport in ("tls", "sips"):
            if not self.tls:
                raise ValueError(f"{self.name} was started without tls=True")
            if sips:
                return f"sips:{who}{host}:{self.tls_port}"
            return f"sip:{who}{host}:{self.tls_port};transport=tls"
        raise ValueError(f"unknown transport {transport!r}")

    def port(self, transport="udp"):
        return self.tls_port if transport.lower() in ("tls", "sips") else self.udp_port

    def aor(self, user):
        return f"sip:{user}@{self.domain}"

    # -- control socket ------------------------------------------------------

    def kamcmd(self, *args, timeout=5):
        """Runs kamcmd against this instance; returns stdout, raises
        RuntimeError (with kamcmd's message) on failure."""
        done = subprocess.run([KAMCMD, "-s", f"unix:{self.ctl_socket}", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0 or done.stdout.startswith("error:"):
            raise RuntimeError(f"kamcmd {' '.join(map(str, args))}: "
                               f"{(done.stdout + done.stderr).strip()}")
        return done.stdout

    def rpc(self, *args, timeout=5):
        return parse_kamcmd(self.kamcmd(*args, timeout=timeout))

    # -- the location table -----------------------------------------------

    def contacts(self, user, include_expired=False):
        """The contacts registered for `user` (a user name, or user@domain),
        from the registrar's memory: dicts with 'contact', 'expires' (seconds
        left), 'received', 'socket', 'transport', 'user_agent', 'call_id',
        'cseq', 'q', 'instance', 'reg_id', 'raw' (kamcmd's fields)."""
        aor = re.sub(r"^sips?:", "", user).split("@", 1)[0]
        try:
            out = self.kamcmd("ul.lookup", "location", aor)
        except RuntimeError as e:
            if "not found" in str(e).lower() or "404" in str(e):
                return []
            raise
        found = []
        _walk_contacts(parse_kamcmd(out), found)
        result = [_contact_dict(c, aor) for c in found]
        if not include_expired:
            result = [c for c in result
                      if c["expires"] is None or c["expires"] > 0]
        return result

    def all_contacts(self, include_expired=False):
        """{aor: [contacts]} for the whole location table (ul.dump)."""
        parsed = self.rpc("ul.dump")
        result = {}
        blocks = []
        _aor_blocks(parsed, blocks)
        for block in blocks:
            found = []
            _walk_contacts(block, found)
            contacts = [_contact_dict(c, block["AoR"]) for c in found]
            if not include_expired:
                contacts = [c for c in contacts if c["expires"] is None or c["expires"] > 0]
            if contacts:
                result[str(block["AoR"])] = contacts
        return result

    def wait_contacts(self, user, predicate=None, timeout=5):
        """Waits until predicate(contacts) is true (default: at least one
        contact); returns the contacts."""
        predicate = predicate or (lambda cs: len(cs) > 0)
        box = {}

        def check():
            box["c"] = self.contacts(user)
            return predicate(box["c"])
        try:
            wait_for(check, self.harness.timeout(timeout), interval=0.05,
                     what=f"contacts of {user} at {self.name}")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; last seen: {box.get('c')}") from None
        return box["c"]

    def remove_contacts(self, user):
        try:
            self.kamcmd("ul.rm", "location", user)
        except RuntimeError as e:
            if "not found" not in str(e).lower():
                raise

    # -- users -------------------------------------------------------------

    def add_user(self, user, password):
        """Adds (or changes) a user at run time; kept across restarts."""
        self.users[_check_user(user)] = str(password)
        self.write_config()
        if self.alive():
            self.kamcmd("htable.sets", "users", user, str(password))

    def remove_user(self, user):
        self.users.pop(user, None)
        self.write_config()
        if self.alive():
            self.kamcmd("htable.delete", "users", user)

    def set_forbidden(self, user, forbidden=True):
        _check_user(user)
        if forbidden:
            self.forbidden_users.add(user)
        else:
            self.forbidden_users.discard(user)
        self.write_config()
        if self.alive():
            if forbidden:
                self.kamcmd("htable.seti", "forbidden", user, 1)
            else:
                self.kamcmd("htable.delete", "forbidden", user)

    # -- the log -------------------------------------------------------------

    def log(self):
        """Everything Kamailio wrote (all runs of this instance)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def mark(self):
        """A position in the log: pass it as `since` to count only later requests."""
        return len(self.log())

    def requests(self, method=None, user=None, since=0):
        """Requests Kamailio received (in order, retransmissions included),
        as dicts: method, user (To user), from (From user), auth ('yes' if an
        Authorization/Proxy-Authorization header was present, else 'no'),
        expires (Expires header as int, None if absent), transport (udp, tcp,
        tls), src ("ip:port"), callid, cseq (number, str), ruri, contact
        (the first Contact header as received), code and reason (the final
        reply Kamailio sent itself: 401, 407, 403, 423, 200 for REGISTER...;
        None when relayed), replies (all local reply codes), line."""
        reqs = parse_log(self.log()[since:])
        if method is not None:
            reqs = [r for r in reqs if r.get("method") == method]
        if user is not None:
            reqs = [r for r in reqs if r.get("user") == user]
        return reqs

    def register_requests(self, user=None, since=0, settle=1.0):
        """The REGISTERs received (see requests()). Kamailio logs its reply
        just after sending it, so a client may see a reply before its line
        is written: this waits up to `settle` seconds until every REGISTER
        listed has its code (Kamailio always answers REGISTER itself)."""
        deadline = time.monotonic() + settle
        while True:
            regs = self.requests("REGISTER", user, since)
            if all(r["code"] is not None for r in regs) or time.monotonic() > deadline:
                return regs
            time.sleep(0.02)

    def wait_register_requests(self, user=None, count=1, timeout=5, since=0):
        """Waits until at least `count` REGISTERs (with their replies logged)
        were received; returns them all."""
        box = {}

        def check():
            regs = self.register_requests(user, since, settle=0)
            box["r"] = regs
            return len(regs) >= count and all(r["code"] is not None for r in regs[:count])
        try:
            wait_for(check, self.harness.timeout(timeout), interval=0.05,
                     what=f"{count} REGISTER(s) of {user} at {self.name}")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; seen: {len(box.get('r', []))}") from None
        return box["r"]

    def __repr__(self):
        return (f"<Kamailio {self.name} udp/tcp={self.udp_port} tls={self.tls_port} "
                f"{'running' if self.alive() else 'stopped'}>")
