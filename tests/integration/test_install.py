"""What `meson install` puts on a machine: units, activation file, interfaces, man pages."""

import json
import os
import re
import shutil
import subprocess

import pytest

from harness import build_dir


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    subprocess.run(["meson", "install", "-C", str(build_dir()), "--destdir", str(dest),
                    "--no-rebuild", "--quiet"], check=True, capture_output=True)
    opts = {o["name"]: o["value"] for o in json.loads(subprocess.run(
        ["meson", "introspect", "--buildoptions", str(build_dir())],
        check=True, capture_output=True, text=True).stdout)}
    prefix = opts["prefix"]
    return dest, dest / prefix.lstrip("/"), prefix


def test_installed_files(staged):
    dest, root, prefix = staged
    opts = {o["name"]: o["value"] for o in json.loads(subprocess.run(
        ["meson", "introspect", "--buildoptions", str(build_dir())],
        check=True, capture_output=True, text=True).stdout)}
    for rel in ["bin/dialtoned", "bin/dialtonectl",
                "lib/systemd/user/dialtoned.service",
                "share/dbus-1/services/org.dialtone.Phone1.service",
                "share/dbus-1/interfaces/org.dialtone.Phone1.Manager.xml",
                "share/man/man8/dialtoned.8", "share/man/man1/dialtonectl.1",
                "share/man/man5/dialtoned.conf.5"]:
        assert (root / rel).exists(), rel
    # The system-bus (appliance) files come only with -Dsystem_bus=true.
    system_bus = opts["system_bus"]
    for rel in ["share/dbus-1/system.d/org.dialtone.Phone1.conf", "lib/systemd/system/dialtoned.service",
                "lib/sysusers.d/dialtone.conf", "lib/tmpfiles.d/dialtone.conf"]:
        assert (root / rel).exists() == system_bus, rel
    # The media module (GStreamer), loaded at the first call from the
    # folder compiled into dialtoned.
    libdir = opts["libdir"]
    module_dir = f"{prefix}/{libdir}" if not libdir.startswith("/") else libdir
    module_dir += "/dialtone"
    assert (dest / module_dir.lstrip("/") / "dt-media-gst.so").exists(), module_dir
    assert (module_dir + "\0").encode() in (root / "bin/dialtoned").read_bytes()
    assert b"libgstreamer" not in subprocess.run(["readelf", "-d", str(root / "bin/dialtoned")],
                                                 check=True, capture_output=True).stdout
    activation = (root / "share/dbus-1/services/org.dialtone.Phone1.service").read_text()
    assert f"Exec={prefix}/bin/dialtoned --session" in activation
    assert "SystemdService=dialtoned.service" in activation


def test_systemd_analyze_verify(staged, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    dest, root, prefix = staged
    unit = (root / "lib/systemd/user/dialtoned.service").read_text()
    assert "Type=dbus" in unit and "BusName=org.dialtone.Phone1" in unit
    # verify checks that ExecStart= exists: point it at the staged binary.
    # Nothing else changes.
    unit = unit.replace(f"{prefix}/bin/dialtoned", f"{root}/bin/dialtoned")
    (tmp_path / "dialtoned.service").write_text(unit)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), MANPATH=str(root / "share/man"))
    out = subprocess.run(["systemd-analyze", "--user", "verify", str(tmp_path / "dialtoned.service")],
                         capture_output=True, text=True, env=env, timeout=60)
    # verify exits 0 on unknown keys, so any output at all is a failure.
    assert out.returncode == 0 and out.stdout + out.stderr == "", out.stdout + out.stderr


def test_readme_demo_places_a_call():
    """The README's first command, on this build (packages are already in):
    status, then a call between two dialtoned on loopback, recorded."""
    from harness import project_version
    from harness.core import SOURCE_DIR, SANITIZER_ENV, sanitized
    env = dict(os.environ, DIALTONE_BUILD_DIR=str(build_dir()), **SANITIZER_ENV)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    r = subprocess.run([str(SOURCE_DIR / "scripts" / "demo.sh")], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL, timeout=180 if sanitized() else 60)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert f"dialtoned {project_version()} on the session bus" in out, out
    assert re.search(r"0\s+active\s+outgoing", out), out
    assert "remote-hangup" in out and "local-hangup" in out, out
    recorded = re.search(r"bob recorded ([\d.]+) s of what he heard", out)
    assert recorded and float(recorded.group(1)) >= 2.0, out
    assert "stopped with exit status 0" in out, out
    assert not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error", out + r.stderr), out + r.stderr
