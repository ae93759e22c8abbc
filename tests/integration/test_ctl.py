"""dialtonectl: output, exit codes and messages, as a script would see them."""

import re

import pytest

from harness import build_dir, project_version


def test_status_text(daemon):
    r = daemon.ctl("status")
    assert r.returncode == 0, r
    assert r.stdout.splitlines()[0] == f"dialtoned {project_version()} on the session bus"
    assert re.search(r"^Accounts\s+none$", r.stdout, re.M)
    assert re.search(r"^Calls\s+none$", r.stdout, re.M)
    assert r.stderr == ""


@pytest.mark.parametrize("argv", [("--json", "status"), ("status", "--json"), ("-j", "status")])
def test_status_json(daemon, argv):
    r = daemon.ctl(*argv)
    assert r.returncode == 0, r
    assert r.json() == {"version": project_version(), "bus": "session", "log-level": "debug",
                        "accounts": [], "calls": []}


def test_no_daemon_on_the_bus(harness):
    bus = harness.bus()
    r = harness.ctl("status", bus=bus)
    assert r.returncode == 4
    assert r.stdout == ""
    assert r.stderr.startswith("dialtonectl: dialtoned is not running on the session bus")
    assert len(r.stderr.splitlines()) == 1


def test_no_bus_at_all(harness, tmp_path):
    r = harness.ctl("status", env={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/nothing"})
    assert r.returncode == 4
    assert r.stderr.startswith("dialtonectl: cannot connect to the session bus:")
    assert len(r.stderr.splitlines()) == 1


def test_named_error_is_one_line(daemon):
    r = daemon.ctl("log-level", "shouty")
    assert r.returncode == 2
    assert r.stderr == ("dialtonectl: 'shouty' is not a log level (expected one of error, "
                        "critical, warning, message, info, debug) "
                        "(org.dialtone.Phone1.Error.InvalidArguments)\n")


def test_log_level_get_and_set(daemon):
    assert daemon.ctl("log-level", "warning").returncode == 0
    r = daemon.ctl("log-level")
    assert (r.returncode, r.stdout) == (0, "warning\n")
    assert daemon.manager_prop("LogLevel") == "warning"
    assert daemon.ctl("--json", "log-level").json() == "warning"


def test_help_lists_every_command(harness):
    r = harness.ctl("--help")
    assert r.returncode == 0
    commands = re.findall(r"^  ([a-z][a-z-]*(?: [a-z-]+)?)", r.stdout.split("Commands:")[1], re.M)
    assert "status" in commands and "log-level" in commands
    for command in commands:
        words = [w for w in command.split() if w.islower() and not w.startswith("[")]
        sub = harness.ctl(*words, "--help")
        assert sub.returncode == 0, sub
        assert "Usage:" in sub.stdout


@pytest.mark.parametrize("argv,message", [
    (("frobnicate",), "dialtonectl: unknown command 'frobnicate'"),
    (("status", "extra"), "dialtonectl: status: expected fewer arguments"),
    (("status", "--bogus"), "dialtonectl: Unknown option --bogus"),
    (("--session", "--system", "status"), "dialtonectl: --session and --system are mutually exclusive"),
    ((), "Usage: dialtonectl"),
    (("wait", "--timeout", "-1"), "dialtonectl: --timeout: -1 is not a number of seconds"),
    (("monitor", "--timeout", "1e12"), "dialtonectl: --timeout: 1e+12 is not a number of seconds"),
    (("account", "wait", "work", "--timeout", "nan"), "dialtonectl: --timeout: nan is not"),
    (("call", "sip:bob@127.0.0.1", "--wait", "--timeout", "-5"), "dialtonectl: --timeout: -5 is not"),
])
def test_usage_errors(harness, argv, message):
    r = harness.ctl(*argv, bus=harness.bus())
    assert r.returncode == 2, r
    assert r.stderr.startswith(message)


def test_version(harness):
    r = harness.ctl("--version")
    assert (r.returncode, r.stdout) == (0, f"dialtonectl {project_version()}\n")


def test_dbus_activation_starts_the_daemon(harness):
    """With the activation file installed, the CLI's first call starts dialtoned."""
    services = harness.mkdir("services")
    cfg, data = harness.mkdir("act-config"), harness.mkdir("act-data")
    template = (build_dir() / "systemd" / "org.dialtone.Phone1.service").read_text()
    assert "SystemdService=dialtoned.service" in template
    exec_line = (f"Exec={build_dir() / 'daemon' / 'dialtoned'} --session "
                 f"--config-dir {cfg} --data-dir {data}")
    (services / "org.dialtone.Phone1.service").write_text(
        re.sub(r"^Exec=.*$", exec_line, template, flags=re.M)
        # No systemd user manager on this bus: let dbus-daemon spawn it.
        .replace("SystemdService=dialtoned.service\n", ""))
    bus = harness.bus("activation-bus", service_dirs=[services])
    assert bus.name_owner() is None

    r = harness.ctl("status", bus=bus)
    assert r.returncode == 0, r
    assert r.stdout.startswith(f"dialtoned {project_version()}")
    assert bus.name_owner() is not None
    assert (data / "dialtone.db").exists()
