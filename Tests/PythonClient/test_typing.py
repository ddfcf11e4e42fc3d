"""The package's types hold: `mypy --strict` on its sources (its `py.typed` promises them)."""

import os
import subprocess
import sys

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "Sources", "tenantbreaker-python", "tenantbreaker")


def test_mypy_strict_passes_on_the_package():
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", PACKAGE], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_package_ships_its_type_marker():
    assert os.path.exists(os.path.join(PACKAGE, "py.typed"))
