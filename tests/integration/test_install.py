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
    for rel in ["bin/dialtoned", "bin/dialtonectl",
                "lib/systemd/user/dialtoned.service",
                "share/dbus-1/services/org.dialtone.Phone1.service",
                "share/dbus-1/interfaces/org.dialtone.Phone1.Manager.xml",
                "share/man/man8/dialtoned.8", "share/man/man1/dialtonectl.1",
                "share/man/man5/dialtoned.conf.5"]:
        assert (root / rel).exists(), rel
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
