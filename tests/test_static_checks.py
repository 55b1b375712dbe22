"""Static checks: mypy (with the repository's mypy.ini) finds no type error in the engine and the dashboard,
pyflakes finds no unused import, unused variable or undefined name anywhere in the code or the tests, and the
repository's top level holds only what the README describes (no scratch file committed by mistake)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

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


TOP_LEVEL_ENTRIES = {".ci", ".gitignore", ".streamlit", "Makefile", "README.md", "app.py", "assets", "docs",
                     "mypy.ini", "pytest.ini", "requirements.txt", "tests", "ui", "vqi_core"}


def test_repository_top_level_holds_only_the_project_entries():
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                            check=True)
    top_level = {line.split("/", 1)[0] for line in listed.stdout.splitlines() if line}
    assert top_level == TOP_LEVEL_ENTRIES, f"unexpected: {sorted(top_level - TOP_LEVEL_ENTRIES)}, " \
                                           f"missing: {sorted(TOP_LEVEL_ENTRIES - top_level)}"
