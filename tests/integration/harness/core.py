import json
import os
import pathlib
import re
import signal
import socket
import shutil
import subprocess
import tempfile
import time

from gi.repository import Gio, GLib

BUS_NAME = "org.dialtone.Phone1"
ROOT_PATH = "/org/dialtone/Phone1"
IFACE = "org.dialtone.Phone1"
SOURCE_DIR = pathlib.Path(__file__).resolve().parents[3]

# Sanitizer settings for every binary of ours that a test runs; harmless for
# binaries built without sanitizers.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0",
    "LSAN_OPTIONS": f"suppressions={SOURCE_DIR / 'tests' / 'lsan.supp'}:print_suppressions=0",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    "G_SLICE": "always-malloc",
}


# What AddressSanitizer, LeakSanitizer and UBSan print when they find a bug.
SANITIZER_REPORT = re.compile(r"^(==\d+==ERROR: (Address|Leak)Sanitizer|.*: runtime error: )", re.M)


def sanitizer_report(text):
    """The first lines of a sanitizer report in @text, or None."""
    m = SANITIZER_REPORT.search(text)
    return text[m.start():m.start() + 4000] if m else None


def build_dir():
    return pathlib.Path(os.environ.get("DIALTONE_BUILD_DIR", SOURCE_DIR / "build")).resolve()


def project_version():
    out = subprocess.run(["meson", "introspect", "--projectinfo", str(build_dir())],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["version"]


def sanitized():
    """True when the build under test uses sanitizers (slower: stretch timeouts)."""
    opts = subprocess.run(["meson", "introspect", "--buildoptions", str(build_dir())],
                          check=True, capture_output=True, text=True).stdout
    for opt in json.loads(opts):
        if opt["name"] == "b_sanitize":
            return opt["value"] not in ("none", "")
    return False


def free_port(kind=socket.SOCK_DGRAM, family=socket.AF_INET):
    """A port that is free for both UDP and TCP on loopback right now."""
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    for _ in range(100):
        with socket.socket(family, kind) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        try:
            with socket.socket(family, other) as s:
                s.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port found")


def to_variant(value):
    if isinstance(value, GLib.Variant):
        return value
    if isinstance(value, bool):
        return GLib.Variant("b", value)
    if isinstance(value, int):
        return GLib.Variant("u", value)
    if isinstance(value, (list, tuple)):
        return GLib.Variant("as", list(value))
    return GLib.Variant("s", str(value))


def wait_for(predicate, timeout, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Process:
    """A child in its own process group, its output captured to a file."""

    def __init__(self, name, argv, log_path, env=None, cwd=None, pass_fds=()):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = pathlib.Path(log_path)
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                      start_new_session=True, pass_fds=pass_fds)
        self.started = time.monotonic()

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            self.popen.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """Stops the whole group, leaving nothing behind whatever state it is in."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=10)
        self._log.close()

    def output(self):
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


class Bus:
    """A private dbus-daemon (session type) on a unix socket in the test's folder."""

    def __init__(self, harness, name="bus", service_dirs=()):
        self.harness = harness
        self.dir = harness.mkdir(name)
        self.config = self.dir / "bus.conf"
        # A unix socket's path is at most 107 bytes, and test folders (the
        # more so under pytest-xdist) can be longer: the socket lives in a
        # short folder of its own, removed when the test ends.
        self.socket_dir = pathlib.Path(tempfile.mkdtemp(prefix="dt-bus-", dir="/tmp"))
        services = "".join(f"<servicedir>{d}</servicedir>" for d in service_dirs)
        self.config.write_text(f"""<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={self.socket_dir}</listen>
  <auth>EXTERNAL</auth>
  {services}
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""")
        r, w = os.pipe()
        self.process = Process(name, ["dbus-daemon", "--nofork", f"--config-file={self.config}",
                                      f"--print-address={w}"],
                               self.dir / "dbus-daemon.log", env=harness.env(), pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            self.address = f.readline().strip()
        if not self.address:
            raise RuntimeError(f"dbus-daemon did not start: {self.process.output()}")
        harness.register(self.process)
        self._connection = None

    @property
    def connection(self):
        if self._connection is None:
            self._connection = Gio.DBusConnection.new_for_address_sync(
                self.address,
                Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
                Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        return self._connection

    def name_owner(self, name=BUS_NAME):
        try:
            reply = self.connection.call_sync(
                "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetNameOwner", GLib.Variant("(s)", (name,)), GLib.VariantType("(s)"),
                Gio.DBusCallFlags.NONE, 5000, None)
            return reply.unpack()[0]
        except GLib.Error:
            return None

    def stop(self):
        if self._connection is not None:
            try:
                self._connection.close_sync(None)
            except GLib.Error:
                pass
            self._connection = None
        self.process.kill()


class CtlResult:
    def __init__(self, completed):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return f"<dialtonectl rc={self.returncode} stdout={self.stdout!r} stderr={self.stderr!r}>"


class Daemon:
    """One dialtoned with its own bus (unless given one) and throwaway folders."""

    def __init__(self, harness, name="dialtoned", bus=None, config=None, args=(), env=None,
                 log_level="debug", wrapper=()):
        self.harness = harness
        self.name = name
        self.dir = harness.mkdir(name)
        self.config_dir = self.dir / "config"
        self.data_dir = self.dir / "data"
        self.bus = bus if bus is not None else harness.bus(name + "-bus")
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.wrapper = list(wrapper)  # a command the daemon runs under (setpriv ...)
        self.log_level = log_level  # None: leave it to dialtoned.conf
        self.process = None
        if config is not None:
            self.write_config(config)

    def write_config(self, text):
        self.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.config_dir / "dialtoned.conf").write_text(text)

    @property
    def db_path(self):
        return self.data_dir / "dialtone.db"

    def env(self):
        env = self.harness.env()
        env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.address
        env.update(self.extra_env)
        return env

    def start(self, wait=True, args=()):
        assert self.process is None or not self.process.alive(), "already running"
        argv = [*self.wrapper, build_dir() / "daemon" / "dialtoned", "--config-dir", self.config_dir,
                "--data-dir", self.data_dir, *self.args, *args]
        if self.log_level is not None:
            argv += ["--log-level", self.log_level]
        self.process = Process(self.name, argv, self.dir / "dialtoned.log", env=self.env())
        self.harness.register(self.process)
        if self not in self.harness.daemons:
            self.harness.daemons.append(self)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=None):
        timeout = timeout or self.harness.timeout(10)

        def ready():
            if not self.process.alive():
                raise RuntimeError(f"{self.name} exited with {self.process.popen.returncode}:\n"
                                   f"{self.process.output()}")
            return self.bus.name_owner() is not None
        wait_for(ready, timeout, what=f"{self.name} to own {BUS_NAME}")
        return time.monotonic() - self.process.started

    def wait_exit(self, timeout=None):
        rc = self.process.wait(timeout or self.harness.timeout(15))
        if rc is None:
            raise TimeoutError(f"{self.name} did not exit:\n{self.process.output()}")
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signals the daemon and returns its exit status."""
        self.process.signal(sig)
        return self.wait_exit(timeout)

    def output(self):
        return self.process.output() if self.process else ""

    # D-Bus access, through our own connection to the daemon's bus.
    def call(self, path, iface, method, signature=None, args=(), reply=None, timeout_ms=10000):
        params = GLib.Variant(signature, tuple(args)) if signature else None
        result = self.bus.connection.call_sync(
            BUS_NAME, path, iface, method, params,
            GLib.VariantType(reply) if reply else None, Gio.DBusCallFlags.NO_AUTO_START,
            timeout_ms, None)
        return result.unpack() if result is not None else None

    def get(self, path, iface, prop):
        return self.call(path, "org.freedesktop.DBus.Properties", "Get", "(ss)",
                         (iface, prop))[0]

    def get_all(self, path, iface):
        return self.call(path, "org.freedesktop.DBus.Properties", "GetAll", "(s)", (iface,))[0]

    def manager(self, method, signature=None, args=(), reply=None):
        return self.call(ROOT_PATH, IFACE + ".Manager", method, signature, args, reply)

    def manager_prop(self, prop):
        return self.get(ROOT_PATH, IFACE + ".Manager", prop)

    def ctl(self, *args, env=None, timeout=30, input=None):
        return self.harness.ctl(*args, bus=self.bus, env=env, timeout=timeout, input=input)

    # Accounts
    def add_account(self, account_id, password=None, **settings):
        """CreateAccount with kebab-case settings given as Python keywords
        (address_of_record → address-of-record); returns the object path."""
        values = {"id": GLib.Variant("s", account_id)}
        for key, value in settings.items():
            values[key.replace("_", "-")] = to_variant(value)
        path = self.manager("CreateAccount", "(a{sv})", (values,), reply="(o)")[0]
        if password is not None:
            self.call(path, IFACE + ".Account", "SetPassword", "(s)", (password,))
        return path

    def account_path(self, account_id):
        for path in self.manager_prop("Accounts"):
            if self.get(path, IFACE + ".Account", "Id") == account_id:
                return path
        raise KeyError(account_id)

    def account(self, account_id_or_path):
        path = account_id_or_path if account_id_or_path.startswith("/") \
            else self.account_path(account_id_or_path)
        return self.get_all(path, IFACE + ".Account")

    def wait_account(self, account_id, state="registered", reason=None, timeout=None):
        """Waits for State (and StateReason) and returns the properties."""
        path = self.account_path(account_id)
        last = {}

        def reached():
            last.update(self.get_all(path, IFACE + ".Account"))
            return last["State"] == state and (reason is None or last["StateReason"] == reason)
        try:
            wait_for(reached, timeout or self.harness.timeout(15), interval=0.05,
                     what=f"account {account_id} to be {state}/{reason}")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; last seen {last.get('State')}/{last.get('StateReason')} "
                               f"({last.get('LastSipStatus')} {last.get('LastSipReason')})") from None
        return dict(last)


class Harness:
    """Owns every process and folder a test creates."""

    def __init__(self, tmp_path):
        self.tmp = pathlib.Path(tmp_path)
        self.processes = []
        self.buses = []
        self.daemons = []
        self._slow = None

    def mkdir(self, name):
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def env(self):
        env = dict(os.environ)
        env.update(SANITIZER_ENV)
        # Never reach a user's own session or configuration.
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        env["XDG_CONFIG_HOME"] = str(self.tmp / "xdg-config")
        env["XDG_DATA_HOME"] = str(self.tmp / "xdg-data")
        env["XDG_RUNTIME_DIR"] = str(self.mkdir("xdg-runtime"))
        env.pop("DIALTONE_CONFIG_DIR", None)
        env.pop("DIALTONE_DATA_DIR", None)
        # The media module built with the daemon under test (dialtoned loads
        # it at the first call; installed, it looks in $libdir/dialtone).
        env["DIALTONE_MEDIA_MODULE_DIR"] = str(build_dir() / "daemon" / "media")
        return env

    def timeout(self, seconds):
        """Stretches a bound for sanitizer builds, which run several times slower."""
        if self._slow is None:
            self._slow = sanitized()
        return seconds * (3 if self._slow else 1)

    def register(self, process):
        self.processes.append(process)

    def bus(self, name="bus", service_dirs=()):
        bus = Bus(self, name, service_dirs)
        self.buses.append(bus)
        return bus

    def daemon(self, name="dialtoned", **kwargs):
        return Daemon(self, name, **kwargs)

    def ctl(self, *args, bus=None, env=None, timeout=30, input=None):
        full_env = self.env()
        if bus is not None:
            full_env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
        if env:
            full_env.update(env)
        completed = subprocess.run([str(build_dir() / "tools" / "dialtonectl" / "dialtonectl"),
                                    *map(str, args)],
                                   capture_output=True, text=True, env=full_env,
                                   timeout=self.timeout(timeout), input=input,
                                   stdin=None if input is not None else subprocess.DEVNULL)
        report = sanitizer_report(completed.stderr)
        if report:
            raise AssertionError(f"dialtonectl {' '.join(map(str, args))}: sanitizer report:\n{report}")
        return CtlResult(completed)

    def logs(self):
        return [(p.name, p.output()) for p in self.processes]

    def cleanup(self):
        for bus in self.buses:
            if bus._connection is not None:
                try:
                    bus._connection.close_sync(None)
                except GLib.Error:
                    pass
                bus._connection = None
        # Daemons still running are stopped as a user would, so that a
        # sanitizer build reports leaks and errors of the whole run.
        problems = []
        for d in self.daemons:
            if d.process.alive():
                d.process.signal(signal.SIGTERM)
                rc = d.process.wait(self.timeout(15))
                if rc is None:
                    problems.append(f"{d.name} did not stop on SIGTERM")
                elif rc != 0:
                    problems.append(f"{d.name} exited with {rc} on SIGTERM")
        for p in reversed(self.processes):
            p.kill()
        for bus in self.buses:
            if getattr(bus, "socket_dir", None) is not None:
                shutil.rmtree(bus.socket_dir, ignore_errors=True)
        for d in self.daemons:
            report = sanitizer_report(d.output())
            if report:
                problems.append(f"{d.name}: sanitizer report:\n{report}")
        if problems:
            raise AssertionError("\n".join(problems))
