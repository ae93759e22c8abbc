"""Accounts: files, persistence, bad input, the CLI and monitor.

A bad account (over D-Bus or in a file) gets a clear error and never
disturbs the accounts that work: each test keeps one registered account
and checks it is still registered at the registrar afterwards.
"""

import json
import os
import shutil
import statistics
import subprocess
import time

import pytest
from gi.repository import GLib

from harness import Kamailio, build_dir

ACCOUNT = "org.dialtone.Phone1.Account"
FAST_SIP = "[sip]\ntransaction-timeout=3\n"


@pytest.fixture
def kamailio(harness):
    return Kamailio(harness, users={"alice": "secret", "bob": "bobpass"})


@pytest.fixture
def phone(harness):
    return harness.daemon("phone", config=FAST_SIP).start()


def account_file(text, mode=0o600):
    return text, mode


def write_account(daemon, account_id, text, mode=0o600):
    folder = daemon.config_dir / "accounts"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{account_id}.account"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def alice_file(k):
    return (f"[account]\naddress=sip:alice@127.0.0.1\nregistrar={k.uri('udp')}\n"
            f"local-address=127.0.0.1\npassword=secret\n")


def dbus_error(excinfo):
    return str(excinfo.value)


def test_account_file_is_loaded_at_start(harness, kamailio):
    d = harness.daemon("phone", config=FAST_SIP)
    write_account(d, "alice", alice_file(kamailio))
    d.start()
    props = d.wait_account("alice", "registered")
    assert props["Id"] == "alice" and props["Address"] == "sip:alice@127.0.0.1"
    assert kamailio.wait_contacts("alice")


BAD_FILES = [
    ("loose", None, 0o644, "other users can access this file (mode 644)"),
    ("truncated", "[account]\naddress=sip:bob@127.0.0.1\nregistrar=sip:127.0.0.1:5\nexpi", 0o600,
     "Key file contains line"),
    ("badkey", "[account]\naddress=sip:bob@127.0.0.1\ncolour=blue\n", 0o600, "[account] colour: unknown key"),
    ("badvalue", "[account]\naddress=sip:bob@127.0.0.1\nexpires=soon\n", 0o600, "[account] expires:"),
    ("badgroup", "[acount]\naddress=sip:bob@127.0.0.1\n", 0o600, "[acount]: unknown group"),
    ("baduri", "[account]\naddress=bob at example dot org\n", 0o600, "[account] address:"),
    ("mismatch", "[account]\nid=someone-else\naddress=sip:bob@127.0.0.1\n", 0o600,
     "id: 'someone-else' does not match the file name"),
    ("..hidden", "[account]\naddress=sip:bob@127.0.0.1\n", 0o600, "file name:"),
    ("empty", "", 0o600, "no [account] group"),
]


@pytest.mark.parametrize("name,text,mode,problem", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_account_file_is_skipped(harness, kamailio, name, text, mode, problem):
    d = harness.daemon("phone", config=FAST_SIP)
    write_account(d, "alice", alice_file(kamailio))
    bad = write_account(d, name, text if text is not None else alice_file(kamailio), mode)
    before = bad.read_bytes()
    d.start()
    d.wait_account("alice", "registered")
    assert kamailio.wait_contacts("alice")
    assert [d.get(p, ACCOUNT, "Id") for p in d.manager_prop("Accounts")] == ["alice"]
    lines = [l for l in d.output().splitlines() if "Account not loaded" in l]
    assert len(lines) == 1 and str(bad) in lines[0] and problem in lines[0], d.output()
    # The file is reported, never rewritten or deleted.
    assert bad.read_bytes() == before


def test_created_account_survives_restart(harness, kamailio, phone):
    path = phone.add_account("alice", password="secret", address="sip:alice@127.0.0.1",
                             registrar=kamailio.uri("udp"), local_address="127.0.0.1",
                             display_name="Alice Example", expires=120)
    phone.wait_account("alice", "registered")
    phone.call("/org/dialtone/Phone1", "org.freedesktop.DBus.Properties", "Set", "(ssv)",
               ("org.dialtone.Phone1.Manager", "DefaultAccount", GLib.Variant("o", path)))
    folder = phone.config_dir / "accounts"
    assert sorted(p.name for p in folder.iterdir()) == ["alice.account"]  # no temporary files
    assert oct(os.stat(folder / "alice.account").st_mode & 0o777) == oct(0o600)
    assert phone.stop() == 0

    kamailio.remove_contacts("alice")
    phone.start()
    props = phone.wait_account("alice", "registered")  # the stored password works
    assert props["DisplayName"] == "Alice Example"
    assert phone.manager_prop("DefaultAccount") == phone.account_path("alice")
    assert kamailio.wait_contacts("alice")


BAD_SETTINGS = [
    ({"bogus": GLib.Variant("s", "x")}, "InvalidArguments", "bogus: unknown key"),
    ({"expires": GLib.Variant("s", "600")}, "InvalidArguments", "expires: expected an unsigned integer"),
    ({"expires": GLib.Variant("i", -1)}, "InvalidArguments", "expires: -1 is out of range"),
    ({"enabled": GLib.Variant("i", 1)}, "InvalidArguments", "enabled: expected a boolean"),
    ({"transport": GLib.Variant("s", "sctp")}, "InvalidArguments", "transport: 'sctp' is not one of"),
    ({"address": GLib.Variant("s", "sip:")}, "InvalidArguments", "address:"),
    ({"address": GLib.Variant("s", "alice@example.org")}, "InvalidArguments", "address:"),
    ({"address": GLib.Variant("s", "sip:al ice@example.org")}, "InvalidArguments", "address:"),
    ({"registrar": GLib.Variant("s", "http://example.org")}, "InvalidArguments", "registrar:"),
    ({"outbound-proxy": GLib.Variant("s", "sip:<>")}, "InvalidArguments", "outbound-proxy:"),
    ({"id": GLib.Variant("s", "../../etc/passwd")}, "InvalidArguments", "id:"),
    ({"id": GLib.Variant("s", "a/b")}, "InvalidArguments", "id:"),
    ({"id": GLib.Variant("s", ".hidden")}, "InvalidArguments", "id:"),
    ({"id": GLib.Variant("s", "")}, "InvalidArguments", "id: is required"),
    ({"id": GLib.Variant("s", "alice")}, "AlreadyExists", "id: an account 'alice' exists already"),
    ({"password": GLib.Variant("s", "x")}, "InvalidArguments", "password:"),
    ({"tls-ca-file": GLib.Variant("s", "relative.pem")}, "InvalidArguments", "tls-ca-file:"),
    ({"tls-ca-file": GLib.Variant("s", "/nonexistent/ca.pem")}, "InvalidArguments", "tls-ca-file:"),
    ({"local-port": GLib.Variant("u", 70000)}, "InvalidArguments", "local-port:"),
]


@pytest.mark.parametrize("override,error,message", BAD_SETTINGS,
                         ids=[f"{list(b[0])[0]}-{i}" for i, b in enumerate(BAD_SETTINGS)])
def test_bad_settings_are_refused(kamailio, phone, override, error, message):
    phone.add_account("alice", password="secret", address="sip:alice@127.0.0.1",
                      registrar=kamailio.uri("udp"), local_address="127.0.0.1")
    phone.wait_account("alice", "registered")
    before = (phone.config_dir / "accounts" / "alice.account").read_bytes()

    settings = {"id": GLib.Variant("s", "bob"), "address": GLib.Variant("s", "sip:bob@127.0.0.1")}
    settings.update(override)
    with pytest.raises(GLib.Error) as e:
        phone.manager("CreateAccount", "(a{sv})", (settings,), reply="(o)")
    assert f"org.dialtone.Phone1.Error.{error}" in dbus_error(e)
    assert message in dbus_error(e)

    # The same through Update on the existing account (except the id checks).
    if "id" not in override:
        with pytest.raises(GLib.Error) as e:
            phone.call(phone.account_path("alice"), ACCOUNT, "Update", "(a{sv})", (override,))
        assert message in dbus_error(e)

    # Nothing changed: one account, its file as it was, still registered.
    assert len(phone.manager_prop("Accounts")) == 1
    assert sorted(p.name for p in (phone.config_dir / "accounts").iterdir()) == ["alice.account"]
    assert (phone.config_dir / "accounts" / "alice.account").read_bytes() == before
    assert phone.account("alice")["State"] == "registered"
    assert kamailio.contacts("alice")


def test_wrong_argument_types_are_refused(phone):
    # a{ss} instead of a{sv}: GDBus refuses it before our code runs.
    with pytest.raises(GLib.Error) as e:
        phone.manager("CreateAccount", "(a{ss})", ({"id": "x", "address": "sip:x@y"},), reply="(o)")
    assert "org.freedesktop.DBus.Error.InvalidArgs" in str(e.value)
    with pytest.raises(GLib.Error) as e:
        phone.manager("RemoveAccount", "(o)", ("/org/dialtone/Phone1/Account/42",))
    assert "org.dialtone.Phone1.Error.NotFound" in str(e.value)


def test_account_without_registrar(phone):
    phone.add_account("lan", address="sip:me@127.0.0.1", local_address="127.0.0.1")
    phone.wait_account("lan", "unregistered", "no-registrar")
    with pytest.raises(GLib.Error) as e:
        phone.call(phone.account_path("lan"), ACCOUNT, "Register")
    assert "org.dialtone.Phone1.Error.NotSupported" in str(e.value)


def test_disabled_account(kamailio, phone):
    phone.add_account("alice", password="secret", address="sip:alice@127.0.0.1",
                      registrar=kamailio.uri("udp"), local_address="127.0.0.1", enabled=False)
    phone.wait_account("alice", "disabled")
    with pytest.raises(GLib.Error) as e:
        phone.call(phone.account_path("alice"), ACCOUNT, "Register")
    assert "org.dialtone.Phone1.Error.InvalidState" in str(e.value)
    assert kamailio.register_requests("alice") == []
    phone.call(phone.account_path("alice"), "org.freedesktop.DBus.Properties", "Set", "(ssv)",
               (ACCOUNT, "Enabled", GLib.Variant("b", True)))
    phone.wait_account("alice", "registered")
    assert "enabled=true" in (phone.config_dir / "accounts" / "alice.account").read_text()


def test_cli_account_workflow(kamailio, phone):
    r = phone.ctl("account", "add", "alice", "--address", "sip:alice@127.0.0.1",
                  "--registrar", kamailio.uri("udp"), "--local-address", "127.0.0.1",
                  "--expires", "120", "--display-name", "Alice")
    assert r.returncode == 0, r
    assert r.stdout == "/org/dialtone/Phone1/Account/0\n"

    # The secret comes from standard input, never argv.
    r = phone.ctl("account", "password", "alice", input="secret\n")
    assert r.returncode == 0, r
    assert phone.ctl("account", "wait", "alice", "--timeout", "10").returncode == 0
    assert kamailio.wait_contacts("alice")

    r = phone.ctl("account", "list")
    assert r.returncode == 0
    assert "alice" in r.stdout and "registered" in r.stdout
    listing = phone.ctl("--json", "account", "list").json()
    assert [(a["id"], a["state"], a["index"]) for a in listing] == [("alice", "registered", 0)]
    assert listing[0]["last-sip-status"] == 200

    shown = phone.ctl("account", "show", "alice", "--json").json()
    assert shown["settings"]["expires"] == 120
    assert "password" not in shown["settings"] and "secret" not in json.dumps(shown)
    text = phone.ctl("account", "show", "0").stdout
    assert "secret" not in text and "Alice" in text

    assert phone.ctl("account", "set", "alice", "expires=300", "display-name=Ally").returncode == 0
    assert phone.account("alice")["DisplayName"] == "Ally"
    phone.wait_account("alice", "registered")

    for argv, code, message in [
        (("account", "set", "alice", "colour=blue"), 2, "colour: unknown key (org.dialtone.Phone1.Error.InvalidArguments)"),
        (("account", "set", "alice", "expires=soon"), 2, "expires: 'soon' is not a whole number"),
        (("account", "set", "alice", "nonsense"), 2, "'nonsense' is not KEY=VALUE"),
        (("account", "show", "nobody"), 3, "dialtonectl: no account 'nobody'"),
        (("account", "show", "7"), 3, "dialtonectl: no account '7'"),
        (("account", "show", "/org/dialtone/Phone1/Account/9"), 3, "no account"),
        (("account", "add", "bob"), 2, "--address is required"),
        (("account", "add", "bob", "--address", "sip:bob@127.0.0.1", "--expires", "x"), 2, "expires: 'x' is not a whole number"),
        (("account", "add", "alice", "--address", "sip:a@127.0.0.1"), 1, "AlreadyExists"),
        (("account", "frob", "alice"), 2, "unknown verb 'account frob'"),
    ]:
        r = phone.ctl(*argv)
        assert r.returncode == code, (argv, r)
        assert message in r.stderr, (argv, r)
        assert len(r.stderr.strip().splitlines()) <= 2

    assert phone.ctl("account", "default", "alice").returncode == 0
    assert phone.ctl("account", "default").stdout == "alice\n"
    assert phone.ctl("account", "default", "none").returncode == 0
    assert phone.ctl("account", "default").stdout == "none\n"

    assert phone.ctl("account", "unregister", "alice").returncode == 0
    assert phone.ctl("account", "wait", "alice", "--state", "unregistered").returncode == 0
    assert phone.ctl("account", "register", "alice").returncode == 0
    assert phone.ctl("account", "wait", "alice").returncode == 0
    assert phone.ctl("account", "disable", "/org/dialtone/Phone1/Account/0").returncode == 0
    assert phone.ctl("account", "wait", "alice", "--state", "disabled").returncode == 0
    assert phone.ctl("account", "remove", "alice").returncode == 0
    assert phone.ctl("--json", "account", "list").json() == []


def test_cli_wait_reports_final_failure(kamailio, phone):
    phone.ctl("account", "add", "alice", "--address", "sip:alice@127.0.0.1",
              "--registrar", kamailio.uri("udp"), "--local-address", "127.0.0.1")
    phone.ctl("account", "password", "alice", input="wrong\n")
    r = phone.ctl("account", "wait", "alice", "--timeout", "10")
    assert r.returncode == 1
    assert "account alice failed: auth-failed (401" in r.stderr


def test_monitor_shows_registration(harness, kamailio, phone):
    env = harness.env()
    env["DBUS_SESSION_BUS_ADDRESS"] = phone.bus.address
    monitor = subprocess.Popen([str(build_dir() / "tools" / "dialtonectl" / "dialtonectl"),
                                "--json", "monitor", "--timeout", "8"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(0.5)  # let it subscribe
    phone.add_account("alice", password="secret", address="sip:alice@127.0.0.1",
                      registrar=kamailio.uri("udp"), local_address="127.0.0.1")
    phone.wait_account("alice", "registered")
    time.sleep(0.5)
    monitor.terminate()
    out, err = monitor.communicate(timeout=10)
    assert monitor.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    added = [e for e in events if e["event"] == "added"]
    assert added and added[0]["path"] == "/org/dialtone/Phone1/Account/0"
    states = [e["value"] for e in events if e.get("member") == "State"]
    assert "registering" in states and states[-1] == "registered"
    signals = [e["value"] for e in events if e.get("member") == "StateChanged"]
    assert ["registering", "registered", "none"] in signals
    changed = {e["member"] for e in events if e["event"] == "changed"}
    assert {"LastSipStatus", "RegistrationExpiresUSec", "State"} <= changed


@pytest.mark.parametrize("cert,verify,state,reason", [
    ("wrong-host", True, "failed", "tls-error"),
    ("untrusted", True, "failed", "tls-error"),
    ("untrusted", False, "registered", "none"),
])
def test_tls_verification(harness, phone, cert, verify, state, reason):
    k = Kamailio(harness, users={"alice": "secret"}, tls=True, cert=cert)
    phone.add_account("alice", password="secret", address="sip:alice@127.0.0.1",
                      registrar=f"sips:localhost:{k.tls_port};maddr=127.0.0.1", transport="tls",
                      local_address="127.0.0.1", tls_ca_file=k.ca_file, tls_verify=verify)
    phone.wait_account("alice", state, reason, timeout=20)
    if state == "failed":
        assert k.contacts("alice") == []
    else:
        assert k.wait_contacts("alice")


def test_dns_failure(harness):
    """In a network namespace of its own (loopback only), so no query can
    leave the machine: the system's resolver is unreachable from there."""
    if shutil.which("unshare") is None or shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("needs root, unshare and ip to make a private network namespace")
    d = harness.daemon("phone", config=FAST_SIP)
    wrapper = d.dir / "netns.sh"
    wrapper.write_text("#!/bin/sh\nip link set lo up && exec \"$@\"\n")
    wrapper.chmod(0o755)
    d.args = []
    from harness.core import Process
    argv = ["unshare", "--net", str(wrapper), str(build_dir() / "daemon" / "dialtoned"),
            "--config-dir", str(d.config_dir), "--data-dir", str(d.data_dir), "--log-level", "debug"]
    d.process = Process(d.name, argv, d.dir / "dialtoned.log", env=d.env())
    harness.register(d.process)
    d.wait_ready()
    d.add_account("alice", password="secret", address="sip:alice@example.invalid",
                  registrar="sip:registrar.example.invalid")
    props = d.wait_account("alice", "failed", "dns-error", timeout=20)
    assert props["LastSipStatus"] == 0  # no SIP response: the name did not resolve
    assert "Account alice: cannot resolve the registrar" in d.output()
    # The daemon stayed responsive throughout (Sofia's resolver is not used).
    assert d.manager_prop("Version")


def test_create_to_registered_time(kamailio, phone):
    """Prints CreateAccount → registered, median of 20 (a figure, not a gate)."""
    times = []
    for i in range(20):
        t0 = time.monotonic()
        phone.add_account(f"a{i}", password="secret", address="sip:alice@127.0.0.1",
                          registrar=kamailio.uri("udp"), local_address="127.0.0.1")
        phone.wait_account(f"a{i}", "registered")
        times.append(time.monotonic() - t0)
        phone.manager("RemoveAccount", "(o)", (phone.account_path(f"a{i}"),))
    print(f"\nCreateAccount → registered: median {statistics.median(times) * 1000:.1f} ms, "
          f"p90 {sorted(times)[17] * 1000:.1f} ms (includes SetPassword and D-Bus polling)")


def test_second_instance_never_registers(harness, kamailio):
    """A duplicate dialtoned (same accounts, same bus) exits before touching the network."""
    first = harness.daemon("first", config=FAST_SIP)
    write_account(first, "alice", alice_file(kamailio))
    first.start()
    first.wait_account("alice", "registered")
    count = len(kamailio.register_requests("alice"))

    second = harness.daemon("second", bus=first.bus, config=FAST_SIP)
    write_account(second, "alice", alice_file(kamailio))
    second.start(wait=False)
    assert second.wait_exit() == 1
    time.sleep(1)
    assert len(kamailio.register_requests("alice")) == count
    assert first.account("alice")["State"] == "registered"
