"""Test harness for Dialtone: private buses, dialtoned instances, dialtonectl.

Everything a test starts is registered with a Harness, which stops it (and
its whole process group) when the test ends, pass or fail. Nothing listens
anywhere but on loopback and in the test's own temporary folder.
"""

from .core import Harness, Bus, Daemon, CtlResult, build_dir, project_version, free_port, wait_for

__all__ = ["Harness", "Bus", "Daemon", "CtlResult", "build_dir", "project_version",
           "free_port", "wait_for"]
