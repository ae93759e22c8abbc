"""dialtoned on the system bus (appliance mode): the bus policy the build
generates, the restriction of files to configured folders that --system
forces, and the daemon running as an unprivileged user.

The bus is a private dbus-daemon configured like Debian's system bus (method
calls and name ownership denied by default) that includes the policy file
from the build, listening in a folder every user can reach. The policy's
user and group (meson's system_user and system_bus_group, 'dialtone' by
default, which need not exist here) are swapped for ones that do; nothing
else of the file changes. Clients and the daemon run as other users through
setpriv with numeric ids, which needs root: those tests say so and skip
otherwise.
"""

import grp
import json
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import pytest

from harness import Bus, build_dir, free_port, project_version, wait_for
from harness.core import Process
from test_dbus_input import CALL, ERR, MANAGER, ROOT, S, connect, error_of, lan_daemon, set_prop, write_wav

BUS_NAME = "org.dialtone.Phone1"
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
NOBODY = 65534

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="runs clients and the daemon as other users with setpriv: needs root")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={socket}</listen>
  <!-- The default policy of Debian's /usr/share/dbus-1/system.conf. -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


def build_option(name):
    opts = subprocess.run(["meson", "introspect", "--buildoptions", str(build_dir())],
                          check=True, capture_output=True, text=True).stdout
    return {o["name"]: o["value"] for o in json.loads(opts)}[name]


class SystemBus(Bus):
    """A private bus shaped like the system bus, with our policy in it."""

    def __init__(self, harness, folder, user, group):
        self.harness = harness
        self.dir = folder
        built = (build_dir() / "systemd" / "org.dialtone.Phone1.conf").read_text()
        want_user, want_group = build_option("system_user"), build_option("system_bus_group")
        # The file says what meson was told, once each.
        assert built.count(f'<policy user="{want_user}">') == 1, built
        assert built.count(f'<policy group="{want_group}">') == 1, built
        self.policy = folder / "org.dialtone.Phone1.conf"
        self.policy.write_text(built.replace(f'<policy user="{want_user}">', f'<policy user="{user}">')
                               .replace(f'<policy group="{want_group}">', f'<policy group="{group}">'))
        self.config = folder / "system-bus.conf"
        self.config.write_text(BUS_CONFIG.format(socket=folder / "system_bus_socket", policy=self.policy))
        r, w = os.pipe()
        self.process = Process("system-bus", ["dbus-daemon", "--nofork", f"--config-file={self.config}",
                                              f"--print-address={w}"],
                               harness.mkdir("system-bus") / "dbus-daemon.log", env=harness.env(), pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            self.address = f.readline().strip()
        if not self.address:
            raise RuntimeError(f"dbus-daemon did not start: {self.process.output()}")
        harness.register(self.process)
        harness.buses.append(self)
        self._connection = None

    def run_as(self, uid, gid, groups, *argv):
        """@argv as another user, with exactly @groups, as a client of this bus."""
        env = self.harness.env()
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}",
                               f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups",
                               *map(str, argv)],
                              capture_output=True, text=True, env=env, timeout=self.harness.timeout(10))

    def gdbus(self, uid, gid, groups, method, *args, dest=BUS_NAME, path=ROOT):
        return self.run_as(uid, gid, groups, "gdbus", "call", "--system", "--dest", dest,
                           "--object-path", path, "--method", method, *args)


@pytest.fixture
def shared_dir():
    """A folder every user can reach (pytest's own are private to root).
    Requested before `harness`, so it goes only once everything stopped."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="dialtone-system-bus-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


MEDIA = "[media]\naudio-source=silence\naudio-sink=null\ncodecs=pcmu\n"


def system_daemon(harness, bus, name="dialtoned", config=MEDIA, wrapper=(), env=None):
    return harness.daemon(name, bus=bus, args=["--system"], wrapper=wrapper, config=config,
                          env=dict(env or {}, DBUS_SYSTEM_BUS_ADDRESS=bus.address))


def some_group():
    """An existing group that nobody is not in by default."""
    for name in ("voice", "fax", "dialout", "audio", "users"):
        try:
            return grp.getgrnam(name)
        except KeyError:
            continue
    pytest.skip("no spare group (voice, fax, dialout, audio, users) to stand for the allowed group")


def test_system_bus_forces_restricted_paths(shared_dir, harness):
    me = pwd.getpwuid(os.getuid()).pw_name
    bus = SystemBus(harness, shared_dir, user=me, group=grp.getgrgid(os.getgid()).gr_name)
    # restrict-paths=false cannot open up the system bus.
    d = system_daemon(harness, bus, config=MEDIA + "restrict-paths=false\n").start()
    out = d.output()
    assert f"Ready on the system bus as {BUS_NAME}" in out
    assert f"restricted: play from {d.data_dir / 'prompts'}; record to {d.data_dir / 'recordings'}" in out
    write_wav(d.data_dir / "prompts" / "ok.wav")
    set_prop(d, ROOT, MANAGER, "AudioSource", S("s", f"file:{d.data_dir / 'prompts' / 'ok.wav'}"))
    for prop, path in (("AudioSource", pathlib.Path(__file__)), ("AudioSink", shared_dir / "out.wav")):
        name, message = error_of(d, ROOT, "org.freedesktop.DBus.Properties", "Set", "(ssv)",
                                 (MANAGER, prop, S("s", f"file:{path}")))
        assert name == ERR + "AccessDenied", message
    assert not (shared_dir / "out.wav").exists()


@needs_root
def test_bus_policy_admits_only_the_group(shared_dir, harness):
    group = some_group()
    other = grp.getgrnam("nogroup").gr_gid if "nogroup" in {g.gr_name for g in grp.getgrall()} else 0
    bus = SystemBus(harness, shared_dir, user="nobody", group=group.gr_name)
    d = system_daemon(harness, bus).start()  # as root, which may own the name
    version = project_version()

    # A member of the group talks to it like any client.
    r = bus.gdbus(NOBODY, NOBODY, [group.gr_gid], "org.freedesktop.DBus.Properties.Get", MANAGER, "Version")
    assert r.returncode == 0 and f"'{version}'" in r.stdout, r
    r = bus.gdbus(NOBODY, NOBODY, [other, group.gr_gid], f"{MANAGER}.SetLogLevel", "info")
    assert r.returncode == 0, r
    assert d.manager_prop("LogLevel") == "info"
    r = bus.run_as(NOBODY, NOBODY, [group.gr_gid], build_dir() / "tools" / "dialtonectl" / "dialtonectl",
                   "--system", "--json", "status")
    assert r.returncode == 0 and json.loads(r.stdout)["version"] == version, r
    # Its mistakes reach the daemon and get the daemon's own errors.
    r = bus.gdbus(NOBODY, NOBODY, [group.gr_gid], f"{MANAGER}.SetLogLevel", "loud")
    assert r.returncode != 0 and f"{ERR}InvalidArguments" in r.stderr, r

    # Anyone else is turned away by the bus itself, whatever they ask.
    for groups in ([], [other]):
        for args in (("org.freedesktop.DBus.Properties.Get", MANAGER, "Version"),
                     ("org.freedesktop.DBus.Introspectable.Introspect",),
                     (f"{MANAGER}.SetLogLevel", "debug"),
                     (f"{MANAGER}.Dial", "'sip:premium@127.0.0.1'", "@a{sv} {}")):
            r = bus.gdbus(NOBODY, NOBODY, groups, *args)
            assert r.returncode != 0 and ACCESS_DENIED in r.stderr, (groups, args, r)
    r = bus.run_as(NOBODY, NOBODY, [], build_dir() / "tools" / "dialtonectl" / "dialtonectl", "--system", "status")
    assert r.returncode != 0 and "AccessDenied" in r.stderr, r
    assert d.manager_prop("LogLevel") == "info"
    assert d.manager_prop("Calls") == []

    # Only root and the daemon's user may own the name: not a member.
    daemon_user = pwd.getpwnam("daemon") if "daemon" in {p.pw_name for p in pwd.getpwall()} else None
    if daemon_user is not None:
        r = bus.gdbus(daemon_user.pw_uid, daemon_user.pw_gid, [group.gr_gid], "org.freedesktop.DBus.RequestName",
                      BUS_NAME, "4", dest="org.freedesktop.DBus", path="/org/freedesktop/DBus")
        assert r.returncode != 0 and ACCESS_DENIED in r.stderr and "not allowed to own" in r.stderr, r
    assert d.process.alive()
    assert bus.name_owner() is not None


@needs_root
def test_unprivileged_daemon_opens_only_what_its_user_may(shared_dir, harness):
    """The daemon as its own user (nobody stands for 'dialtone'): a file
    inside the allowed folders that this user cannot read or write is
    AccessDenied too, from the file system rather than the policy."""
    group = some_group()
    bus = SystemBus(harness, shared_dir, user="nobody", group=group.gr_name)
    home = shared_dir / "home"  # GStreamer keeps its plugin registry there
    a = system_daemon(harness, bus, name="appliance", config=None, env={"HOME": str(home)},
                      wrapper=["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"])
    a.config_dir, a.data_dir = shared_dir / "config", shared_dir / "data"
    a.write_config(MEDIA)
    for folder in (a.data_dir, home):
        folder.mkdir(mode=0o700)
    for path in (a.config_dir, a.config_dir / "dialtoned.conf", a.data_dir, home):
        os.chown(path, NOBODY, NOBODY)
    a.start()
    assert bus.name_owner() is not None
    a.port = free_port()
    a.add_account("lan", address="sip:a@127.0.0.1", local_address="127.0.0.1", local_port=a.port)
    a.wait_account("lan", "unregistered", "no-registrar")
    assert (a.config_dir / "accounts" / "lan.account").stat().st_uid == NOBODY
    b = lan_daemon(harness, "b")
    call, _ = connect(a, b)

    prompts, recordings = a.data_dir / "prompts", a.data_dir / "recordings"
    private = write_wav(prompts / "private.wav")
    private.chmod(0o600)  # root's: its owner only
    (recordings / "locked").mkdir(mode=0o755)  # root's: nobody may write in it
    name, message = error_of(a, call, CALL, "PlayFile", "(sa{sv})", (str(private), {}))
    assert name == ERR + "AccessDenied" and "Permission denied" in message, message
    name, message = error_of(a, call, CALL, "StartRecording", "(sa{sv})", (str(recordings / "locked" / "x.wav"), {}))
    assert name == ERR + "AccessDenied" and "Permission denied" in message, message
    assert not (recordings / "locked" / "x.wav").exists()

    # What its user may touch works as usual; the recording is its own.
    write_wav(prompts / "open.wav", seconds=5).chmod(0o644)
    a.call(call, CALL, "PlayFile", "(sa{sv})", (str(prompts / "open.wav"), {}))
    out = recordings / "call.wav"
    a.call(call, CALL, "StartRecording", "(sa{sv})", (str(out), {}))
    wait_for(out.exists, harness.timeout(5), what="the recording")
    assert out.stat().st_uid == NOBODY and (out.stat().st_mode & 0o777) == 0o600
    a.call(call, CALL, "Hangup")
    assert a.stop() == 0, a.output()


def test_system_unit_verifies(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    if not build_option("docs"):
        pytest.skip("built without -Ddocs: no man pages for the unit's Documentation=")
    unit = (build_dir() / "systemd" / "dialtoned-system.service").read_text()
    assert "ExecStart=" in unit and " --system " in unit and "Type=dbus" in unit
    assert f"User={build_option('system_user')}" in unit
    prefix = build_option("prefix")
    (tmp_path / "dialtoned.service").write_text(
        unit.replace(f"{prefix}/bin/dialtoned", str(build_dir() / "daemon" / "dialtoned")))
    # verify also opens the Documentation= man pages: the built ones.
    for page, section in (("dialtoned.8", "man8"), ("dialtoned.conf.5", "man5")):
        (tmp_path / "man" / section).mkdir(parents=True, exist_ok=True)
        shutil.copy(build_dir() / "docs" / page, tmp_path / "man" / section / page)
    out = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "dialtoned.service")],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, MANPATH=str(tmp_path / "man")))
    assert out.returncode == 0 and out.stdout + out.stderr == "", out.stdout + out.stderr
