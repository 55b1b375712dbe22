"""The README's Python example runs as written (on the bundled demo, into a temporary runs folder)."""

from __future__ import annotations

import re

from synthetic import REPO_ROOT


def python_example() -> str:
    """The code block of the README's "## Python" section."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_example_runs(tmp_path, monkeypatch, capsys):
    code = python_example()
    assert code.count('"runs"') == 2  # both places that name the runs folder
    monkeypatch.chdir(REPO_ROOT)
    exec(compile(code.replace('"runs"', repr(str(tmp_path / "runs"))), "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    auroc, threshold = (float(value) for value in lines[0].split())
    assert auroc > 0.9 and threshold > 0
    scored = lines[1:-2]
    assert scored and all(line.split()[2] in ("True", "False") for line in scored)
    assert sum(line.split()[2] == "True" for line in scored) >= len(scored) - 1  # broken bottles are caught
    assert lines[-2].endswith("(256, 256)")
    whole_image = float(lines[-2].split("]")[0].strip("[ "))
    in_region = float(lines[-1].strip("[] "))
    assert in_region > 0.9 * whole_image  # the break lies inside the disc: the region keeps it
