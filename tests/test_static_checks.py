"""Static checks: mypy (with the repository's mypy.ini) finds no type error in the engine and the dashboard,
and pyflakes finds no unused import, unused variable or undefined name anywhere in the code or the tests."""

from __future__ import annotations

import subprocess
import sys

from synthetic import REPO_ROOT


def test_mypy_finds_no_type_error(tmp_path):
    checked = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found" in checked.stdout


def test_pyflakes_finds_nothing():
    checked = subprocess.run([sys.executable, "-m", "pyflakes", "vqi_core", "ui", "tests", "app.py"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0 and not checked.stdout, checked.stdout + checked.stderr
