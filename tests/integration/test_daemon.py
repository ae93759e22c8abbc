"""dialtoned's life cycle: the bus name, configuration, the store, signals."""

import hashlib
import json
import os
import pathlib
import resource
import signal
import socket
import sqlite3
import stat
import subprocess

import pytest

from harness import build_dir, project_version, wait_for

DIALTONED = build_dir() / "daemon" / "dialtoned"
MANAGER = "org.dialtone.Phone1.Manager"


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_owns_name_and_exports_manager(daemon):
    assert daemon.bus.name_owner() is not None
    xml = daemon.call("/org/dialtone/Phone1", "org.freedesktop.DBus.Introspectable",
                      "Introspect", reply="(s)")[0]
    assert f'<interface name="{MANAGER}">' in xml
    assert '<interface name="org.freedesktop.DBus.ObjectManager">' in xml
    props = daemon.get_all("/org/dialtone/Phone1", MANAGER)
    assert props["Accounts"] == []
    assert props["Calls"] == []
    assert props["LogLevel"] == "debug"
    managed = daemon.call("/org/dialtone/Phone1", "org.freedesktop.DBus.ObjectManager",
                          "GetManagedObjects", reply="(a{oa{sa{sv}}})")[0]
    assert managed == {}


def test_version_matches_build(daemon):
    version = project_version()
    assert daemon.manager_prop("Version") == version
    out = subprocess.run([DIALTONED, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"dialtoned {version}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_cleanly_and_releases_name(daemon, sig):
    assert daemon.bus.name_owner() is not None
    assert daemon.stop(sig) == 0, daemon.output()
    assert daemon.bus.name_owner() is None
    # The store was closed: SQLite removes the write-ahead log on the last close.
    assert daemon.db_path.exists()
    assert not daemon.db_path.with_name("dialtone.db-wal").exists()
    assert "Shutting down" in daemon.output()


def test_second_instance_is_refused(harness, daemon):
    first_owner = daemon.bus.name_owner()
    second = harness.daemon("second", bus=daemon.bus)
    second.start(wait=False)
    assert second.wait_exit() == 1
    assert "org.dialtone.Phone1 is already owned by another process (use --replace" in second.output()
    assert daemon.bus.name_owner() == first_owner
    assert daemon.process.alive()


def test_replace_takes_over(harness, daemon):
    first_owner = daemon.bus.name_owner()
    second = harness.daemon("second", bus=daemon.bus, args=["--replace"])
    second.start(wait=False)
    wait_for(lambda: daemon.bus.name_owner() not in (None, first_owner), harness.timeout(10),
             what="the replacement to own the name")
    assert daemon.wait_exit() == 0
    assert "Replaced by another instance" in daemon.output()
    assert second.stop() == 0


BAD_CONFIGS = [
    ("[daemon]\nlog-level=loud\n", "[daemon] log-level: 'loud' is not one of"),
    ("[daemon]\nlog-levle=debug\n", "[daemon] log-levle: unknown key"),
    ("[phone]\nport=5060\n", "[phone]: unknown group"),
    ("[sip]\nport=5060\n", "[sip] port: unknown key"),
    ("[sip]\ntransaction-timeout=0\n", "[sip] transaction-timeout: '0' is not a whole number from 1 to 64"),
    ("[sip]\nrequest-burst=0\n", "[sip] request-burst: '0' is not a whole number from 1 to 100000"),
    ("[media]\ncodecs=opus,gsm\n", "[media] codecs: 'gsm' is not a codec"),
    ("[media]\naudio-source=speaker\n", "[media] audio-source: "),
    ("[media]\nrtp-port-min=40000\n", "[media] rtp-port-min: set both rtp-port-min and rtp-port-max"),
    ("[media]\nrtp-port-min=40001\nrtp-port-max=40002\n", "[media] rtp-port-max: must leave room"),
    ("[calls]\nno-answer-timeout=-1\n", "[calls] no-answer-timeout: "),
    ("log-level=debug\n", "Key file does not start with a group"),
    ("[daemon]\nno equals sign here\n", "which is not a key-value pair"),
]


@pytest.mark.parametrize("text,problem", BAD_CONFIGS)
def test_bad_config_stops_startup(harness, text, problem):
    d = harness.daemon(config=text)
    d.start(wait=False)
    assert d.wait_exit() == 78
    lines = [l for l in d.output().splitlines() if l.startswith("dialtoned: ")]
    assert len(lines) == 1, d.output()
    assert lines[0].startswith(f"dialtoned: {d.config_dir / 'dialtoned.conf'}: ")
    assert problem in lines[0]
    assert d.bus.name_owner() is None


def test_config_log_level_applies_and_option_overrides(harness):
    d = harness.daemon(config="[daemon]\nlog-level = warning\n", log_level=None)
    d.start()
    assert d.manager_prop("LogLevel") == "warning"
    # Messages below warning are not written.
    assert "Ready on the session bus" not in d.output()
    assert d.stop() == 0

    d.log_level = "debug"
    d.start()
    assert d.manager_prop("LogLevel") == "debug"
    assert "Ready on the session bus" in d.output()


def test_set_log_level_at_run_time(daemon):
    daemon.manager("SetLogLevel", "(s)", ("info",))
    assert daemon.manager_prop("LogLevel") == "info"
    with pytest.raises(Exception) as err:
        daemon.manager("SetLogLevel", "(s)", ("chatty",))
    assert "org.dialtone.Phone1.Error.InvalidArguments" in str(err.value)
    assert daemon.manager_prop("LogLevel") == "info"


def test_folders_and_database_are_private(daemon):
    for folder in (daemon.config_dir, daemon.data_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(daemon.db_path.stat().st_mode) == 0o600


def test_raises_its_open_file_limit(harness):
    # Each call holds about a dozen descriptors: under a soft limit of 256
    # a daemon would turn calls away after twenty. It takes the hard limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= 256 or hard == resource.RLIM_INFINITY:
        pytest.skip(f"the hard open file limit ({hard}) leaves nothing to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        d = harness.daemon().start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    limits = pathlib.Path(f"/proc/{d.process.popen.pid}/limits").read_text()
    line = next(li for li in limits.splitlines() if li.startswith("Max open files"))
    assert line.split()[3:5] == [str(hard), str(hard)], line


def test_database_survives_restart(harness, daemon):
    assert daemon.stop() == 0
    with sqlite3.connect(daemon.db_path) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        assert version >= 1
        db.execute("INSERT INTO calls (account_id, direction, remote_uri, state, created_usec) "
                   "VALUES ('work', 'incoming', 'sip:carol@example.org', 'terminated', 42)")
    db.close()
    daemon.start()
    assert daemon.stop() == 0
    with sqlite3.connect(daemon.db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == version
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT remote_uri, created_usec FROM calls").fetchall()
    db.close()
    assert rows == [("sip:carol@example.org", 42)]


def test_corrupt_database_is_kept_and_refused(harness):
    d = harness.daemon()
    d.data_dir.mkdir(parents=True, mode=0o700)
    d.db_path.write_bytes(b"this is not a database, but somebody's data" * 200)
    before = sha256(d.db_path)
    d.start(wait=False)
    assert d.wait_exit() == 65
    assert f"dialtoned: {d.db_path}: " in d.output()
    assert "left untouched" in d.output()
    assert sha256(d.db_path) == before
    assert sorted(p.name for p in d.data_dir.iterdir()) == ["dialtone.db"]
    assert d.bus.name_owner() is None


def test_database_from_newer_release_is_refused(harness, daemon):
    assert daemon.stop() == 0
    with sqlite3.connect(daemon.db_path) as db:
        db.execute("PRAGMA user_version = 1000")
    db.close()
    before = sha256(daemon.db_path)
    daemon.start(wait=False)
    assert daemon.wait_exit() == 65
    assert "newer than this dialtoned understands" in daemon.output()
    assert sha256(daemon.db_path) == before


def test_losing_the_bus_exits_non_zero(daemon):
    daemon.bus.process.kill()
    rc = daemon.wait_exit()
    assert rc == 69, daemon.output()


@pytest.mark.parametrize("argv,code,text", [
    (["--help"], 0, "--replace"),
    (["--frobnicate"], 64, "Unknown option --frobnicate"),
    (["--session", "--system"], 64, "mutually exclusive"),
    (["stray"], 64, "unexpected argument 'stray'"),
    (["--log-level", "shouty", "--config-dir", "CFG", "--data-dir", "DATA"], 64,
     "--log-level: 'shouty' is not a log level"),
])
def test_command_line(harness, argv, code, text):
    cfg, data = harness.mkdir("cfg"), harness.mkdir("data")
    argv = [str(cfg) if a == "CFG" else str(data) if a == "DATA" else a for a in argv]
    env = harness.env()
    env["DBUS_SESSION_BUS_ADDRESS"] = harness.bus().address
    out = subprocess.run([DIALTONED, *argv], capture_output=True, text=True, env=env,
                         timeout=harness.timeout(10))
    assert out.returncode == code, out
    assert text in out.stdout + out.stderr


def test_early_exit_is_clean_every_time(harness):
    """A start-up that fails after GLib's signal thread exists (a bad log
    level) exits with its code every time: no crash in a library
    destructor racing that thread, no sanitizer report. It was a race, so
    it is tried many times."""
    from harness.core import sanitizer_report
    cfg, data = harness.mkdir("cfg"), harness.mkdir("data")
    env = harness.env()
    env["DBUS_SESSION_BUS_ADDRESS"] = harness.bus().address
    for _ in range(40):
        out = subprocess.run([DIALTONED, "--log-level", "shouty", "--config-dir", cfg, "--data-dir", data],
                             capture_output=True, text=True, env=env, timeout=harness.timeout(10))
        assert out.returncode == 64 and not sanitizer_report(out.stderr), out


def test_startup_time_to_name(harness):
    """Prints how long dialtoned takes from exec to owning its name (a figure, not a gate)."""
    times = []
    for i in range(5):
        d = harness.daemon(f"d{i}")
        d.start(wait=False)
        times.append(d.wait_ready())
        assert d.stop() == 0
    times.sort()
    print(f"\nstart-up to name acquired: median {times[2] * 1000:.1f} ms "
          f"(min {times[0] * 1000:.1f}, max {times[-1] * 1000:.1f})")


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_readiness_and_stopping_reach_the_service_manager(harness, abstract):
    """sd_notify's protocol, spoken without libsystemd: READY=1 once the
    name is owned, STOPPING=1 on SIGTERM, to a socket path or an abstract
    name in $NOTIFY_SOCKET, as systemd gives it."""
    opts = {o["name"]: o["value"] for o in json.loads(subprocess.run(
        ["meson", "introspect", "--buildoptions", str(build_dir())],
        check=True, capture_output=True, text=True).stdout)}
    if opts["systemd"] == "disabled":
        pytest.skip("built with -Dsystemd=disabled: no service manager notifications")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.settimeout(harness.timeout(10))
    if abstract:
        name = f"dialtone-test-notify-{os.getpid()}-{id(sock)}"
        sock.bind("\0" + name)
        address = "@" + name
    else:
        address = str(harness.mkdir("notify") / "socket")
        sock.bind(address)
    with sock:
        d = harness.daemon("d", env={"NOTIFY_SOCKET": address}).start()
        ready = sock.recv(4096).decode().split("\n")
        assert "READY=1" in ready and "STATUS=Ready" in ready, ready
        assert d.bus.name_owner() is not None
        assert d.stop() == 0, d.output()
        assert "STOPPING=1" in sock.recv(4096).decode().split("\n")
