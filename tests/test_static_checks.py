"""Static checks: mypy (with the repository's mypy.ini) finds no type error in the engine and the dashboard,
pyflakes finds no unused import, unused variable or undefined name anywhere in the code or the tests, and the
repository's top level holds only what the README describes (no scratch file committed by mistake), and the
engine depends on neither Streamlit nor the app."""

from __future__ import annotations

import ast
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


def imported_modules(source: str) -> set[str]:
    """The top-level names of every module a Python source imports, at any depth (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_engine_imports_neither_streamlit_nor_the_app():
    """vqi_core is importable and testable without the app: its dashboard benchmark, which drives app.py in
    AppTest, lives in ui/."""
    offending = {path.relative_to(REPO_ROOT).as_posix(): sorted(found)
                 for path in sorted((REPO_ROOT / "vqi_core").rglob("*.py"))
                 if (found := imported_modules(path.read_text(encoding="utf-8")) & {"streamlit", "ui", "app"})}
    assert not offending, offending
