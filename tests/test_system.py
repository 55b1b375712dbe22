"""What differs between operating systems: peak memory and folder locks, with and without POSIX-only modules."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from synthetic import DAMAGED_EXIF, jpeg_with_damaged_exif
from vqi_core import system

ROOT = Path(__file__).resolve().parents[1]
#: standard-library modules that exist on POSIX systems only
POSIX_ONLY = ("fcntl", "resource", "pwd", "grp", "termios", "tty", "pty", "syslog")


def test_peak_memory_is_reported_in_mebibytes_on_linux_and_macos(monkeypatch):
    assert system.peak_memory_mb() > 10  # this Python process, with numpy and torch loaded
    fake = SimpleNamespace(RUSAGE_SELF=0, getrusage=lambda who: SimpleNamespace(ru_maxrss=3 * 2 ** 30))
    monkeypatch.setattr(system, "resource", fake)
    monkeypatch.setattr(system.sys, "platform", "linux")
    assert system.peak_memory_mb() == 3 * 2 ** 20  # KiB on Linux
    monkeypatch.setattr(system.sys, "platform", "darwin")
    assert system.peak_memory_mb() == 3 * 2 ** 10  # bytes on macOS
    monkeypatch.setattr(system, "resource", None)
    assert system.peak_memory_mb() is None  # not reported where the system has no getrusage


def _lock_spans(folder: Path) -> list[tuple[float, float]]:
    """Four threads hold ``locked(folder)`` for 50 ms each, started together; each one's (start, end)."""
    spans: list[tuple[float, float]] = []
    start = threading.Barrier(4)

    def hold() -> None:
        start.wait()
        with system.locked(folder):
            began = time.monotonic()
            time.sleep(0.05)
            spans.append((began, time.monotonic()))

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(spans)


@pytest.mark.parametrize("with_fcntl", [True, False], ids=["flock", "no fcntl"])
def test_a_folder_lock_lets_one_thread_in_at_a_time(tmp_path, monkeypatch, with_fcntl):
    if not with_fcntl:
        monkeypatch.setattr(system, "fcntl", None)
    spans = _lock_spans(tmp_path)
    assert len(spans) == 4
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:]))  # one after another
    assert list(tmp_path.iterdir()) == []  # no lock file left in the folder
    with system.locked(tmp_path):  # held: one that does not wait is refused at once, and gets it once released
        with pytest.raises(system.FolderBusy):
            with system.locked(tmp_path, wait=False):
                pass
    with system.locked(tmp_path, wait=False):
        pass


@pytest.mark.skipif(system.fcntl is None, reason="without fcntl a lock excludes this process's threads only")
def test_a_folder_lock_held_by_another_process_keeps_this_one_out(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from vqi_core import system\n"
         "with system.locked(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()", str(tmp_path)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(system.FolderBusy):
            with system.locked(tmp_path, wait=False):
                pass
    finally:
        holder.communicate("", timeout=60)  # closing its stdin ends the other process, which releases the lock
    assert holder.returncode == 0
    with system.locked(tmp_path, wait=False):
        pass


def test_the_engine_and_dashboard_import_without_posix_only_modules():
    """As on Windows: every module of the engine and the dashboard imports."""
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in POSIX_ONLY)
    script = (f"import sys; {blocked}\n"
              "import importlib, pkgutil, vqi_core, ui\n"
              "names = [m.name for package in (vqi_core, ui) for m in pkgutil.walk_packages(package.__path__, "
              "package.__name__ + '.')]\n"
              "names = [n for n in names if not n.endswith('__main__')]\n"
              "for name in names: importlib.import_module(name)\n"
              "from vqi_core import system\n"
              "assert system.fcntl is None and system.resource is None and system.peak_memory_mb() is None\n"
              "print(len(names))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) > 30


FAULTS_OF_A_64_MIB_TENSOR = """
import resource, sys
import vqi_core
import torch
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
torch.ones(16 * 2 ** 20)  # 64 MiB, written once
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults_of_a_large_tensor(**environment: str) -> int:
    """Minor page faults while a fresh Python that imports vqi_core, then torch, fills a 64 MiB tensor."""
    env = {key: value for key, value in os.environ.items() if key != "THP_MEM_ALLOC_ENABLE"}
    done = subprocess.run([sys.executable, "-c", FAULTS_OF_A_64_MIB_TENSOR], cwd=ROOT, env={**env, **environment},
                          capture_output=True, text=True, timeout=120, check=True)
    return int(done.stdout.split()[-1])


def test_importing_vqi_core_gives_large_tensors_huge_pages_unless_the_environment_says_otherwise():
    """16,384 faults of 4 KiB for 64 MiB without huge pages; far fewer with 2 MiB ones (582 here: torch's own
    start-up faults some pages too)."""
    modes = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not modes.is_file() or "[never]" in modes.read_text():
        pytest.skip("this kernel gives no transparent huge pages")
    small_pages = 64 * 2 ** 20 // 4096
    assert _faults_of_a_large_tensor(THP_MEM_ALLOC_ENABLE="0") >= 0.9 * small_pages
    assert _faults_of_a_large_tensor() < small_pages / 4


@pytest.mark.parametrize("interrupt", ["raise KeyboardInterrupt", "os.kill(os.getpid(), signal.SIGTERM)"],
                         ids=["ctrl-c", "sigterm"])
def test_an_interrupt_while_the_command_line_is_still_loading_says_nothing_was_done_without_a_traceback(interrupt):
    """Ctrl+C during ``python -m vqi_core``'s imports (a few seconds while torch loads) ends it quietly; so does
    SIGTERM (found by review: ``timeout`` stopping it in its first seconds ended it with status 143 and no
    message)."""
    script = ("import os, runpy, signal, sys\n"
              "class InterruptTheImport:  # stands in for Ctrl+C or SIGTERM arriving while OpenCV loads\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              "        if name == 'cv2':\n"
              f"            {interrupt}\n"
              "sys.meta_path.insert(0, InterruptTheImport())\n"
              "sys.argv = ['vqi_core', 'runs', '--runs', 'nowhere']\n"
              "runpy.run_module('vqi_core', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "interrupted: nothing was done\n"


def test_same_path_resolves_home_dots_slashes_and_links(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "line").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "line")
    assert system.same_path("~/line", f"{tmp_path}/line/")
    assert system.same_path(f"{tmp_path}/x/../line", str(tmp_path / "link"))
    assert not system.same_path(str(tmp_path / "line"), str(tmp_path / "other"))
    assert not system.same_path("", str(tmp_path)) and not system.same_path("  ", "  ")  # not the working folder


def test_ctrl_c_while_the_command_line_exits_after_its_work_changes_nothing():
    """Found by review: Ctrl+C just after `train` printed its run's folder ended the process by the signal, or
    printed a KeyboardInterrupt traceback from an exit handler, though everything was done and said."""
    script = ("import atexit, os, runpy, signal, sys, time\n"
              "import vqi_core.cli\n"
              "vqi_core.cli.main = lambda: print('done') or 0  # a command that has finished\n"
              "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(0.2)))  # Ctrl+C at exit\n"
              "sys.argv = ['vqi_core']\n"
              "runpy.run_module('vqi_core', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout, done.stderr) == (0, "done\n", "")


def test_the_command_line_names_a_huge_image_without_pillows_warning(tmp_path):
    """Found by review: an image of 89-179 megapixels (Pillow's warning range) printed Pillow's
    DecompressionBombWarning and a line of its source code beside VQI's own message."""
    for folder in ("train/good", "test/good"):
        (tmp_path / "part" / folder).mkdir(parents=True)
        Image.new("RGB", (64, 64), (90, 90, 90)).save(tmp_path / "part" / folder / "plain.png")
    Image.new("1", (9500, 9500)).save(tmp_path / "part" / "train" / "good" / "huge.png")  # 90 megapixels, a few kB
    for index, exif in enumerate(DAMAGED_EXIF):  # Pillow's UserWarnings of EXIF it cannot parse name no file either
        (tmp_path / "part" / "test" / "good" / f"exif{index}.jpg").write_bytes(jpeg_with_damaged_exif(exif))
    done = subprocess.run([sys.executable, "-m", "vqi_core", "check", "--data", str(tmp_path / "part")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "huge.png" in done.stdout and "9500x9500 pixels is larger than the 64,000,000 pixel limit" in done.stdout
    assert "DecompressionBombWarning" not in done.stderr + done.stdout and "warnings.warn" not in done.stderr
    assert "EXIF" not in done.stderr and "Skipping tag" not in done.stderr, done.stderr
    assert "skipped" not in "".join(line for line in done.stdout.splitlines() if "exif" in line)  # read, as stored


@pytest.mark.parametrize("ignored", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_the_process_ignores_stays_ignored_while_files_are_renamed_and_a_command_runs(ignored):
    """Found by review: the rename window and the command line caught SIGINT and SIGTERM even where the process
    had them ignored (a shell's background job ignores SIGINT), so such a signal stopped the command with 130 after
    its writes. The other signal is still held off and noted."""
    other = signal.SIGTERM if ignored == signal.SIGINT else signal.SIGINT
    before = {number: signal.signal(number, signal.SIG_IGN if number == ignored else signal.default_int_handler)
              for number in (ignored, other)}
    try:
        received: list[int] = []
        with system.interrupts_held(received):
            signal.raise_signal(ignored)
            signal.raise_signal(other)
        assert received == [other]
        assert signal.getsignal(ignored) is signal.SIG_IGN
        with system.sigterm_as_ctrl_c():
            assert (signal.getsignal(signal.SIGTERM) is signal.SIG_IGN) == (ignored == signal.SIGTERM)
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def test_a_folder_counts_as_writable_only_when_it_may_also_be_entered(tmp_path, monkeypatch):
    """Found by mutation testing: a folder that may be written but not searched (mode -wx without x) would count as
    writable, and the failure come late as a raw PermissionError. The tests run as root, whom modes do not stop:
    the system's answer is stood in for."""
    asked: list[int] = []
    monkeypatch.setattr(os, "access", lambda path, mode: asked.append(mode) or mode & os.X_OK == 0)
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_flag=0))
    assert system.unwritable_reason(tmp_path) == "no permission" and asked == [os.W_OK | os.X_OK]
