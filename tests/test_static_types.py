"""The engine and the dashboard type-check: mypy with the repository's mypy.ini finds no error."""

from __future__ import annotations

import subprocess
import sys

from synthetic import REPO_ROOT


def test_mypy_finds_no_type_error(tmp_path):
    checked = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found" in checked.stdout
