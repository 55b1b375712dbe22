"""What differs between operating systems: the process's peak memory and an exclusive lock on a folder.

VQI is developed and tested on Linux. The two POSIX-only modules it uses, ``resource`` and ``fcntl``, are
imported here only when present, so that the engine still imports on a system without them (Windows),
where peak memory is not reported and a folder lock only excludes the threads of one process (the
dashboard's sessions), not other processes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Iterator

resource: ModuleType | None
fcntl: ModuleType | None
try:
    import resource
except ImportError:  # not POSIX
    resource = None
try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None
#: whether folder locks exclude other processes (:func:`locked`), not only this process's threads
PROCESS_LOCKS = fcntl is not None

#: serialises folder locks between the threads of this process where ``fcntl`` is missing
_PROCESS_LOCK = threading.Lock()


def peak_memory_mb() -> float | None:
    """This process's peak resident memory so far, in MiB (1 decimal); None where the system does not report
    it. ``ru_maxrss`` counts KiB on Linux and bytes on macOS."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2 ** 20 if sys.platform == "darwin" else 2 ** 10), 1)


@contextmanager
def interrupts_held(received: list[int]) -> Iterator[None]:
    """Hold Ctrl+C (SIGINT) and SIGTERM off until the block is done, noting each in ``received``: for the renames
    that must all happen. Signals reach only the main thread; in another the block simply runs. A signal the
    process ignores (a shell's background job ignores SIGINT) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, lambda signum, frame: received.append(signum))
                for number in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(number) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """Within the block, SIGTERM (``timeout``, systemd, a CI runner stopping a job) ends a command as Ctrl+C does:
    its clean-up runs and nothing half-written is left behind (Python's default would end the process on the spot);
    the earlier handler afterwards. In a thread other than the main one the block simply runs, and a SIGTERM the
    caller chose to ignore stays ignored."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def file_above(path: Path) -> Path | None:
    """The nearest folder above ``path`` that exists as a file, not a folder, so that ``path`` cannot be made;
    None where there is none."""
    return next((folder for folder in path.absolute().parents if folder.exists() and not folder.is_dir()), None)


def unwritable_reason(folder: Path) -> str | None:
    """Why this process cannot add files to the existing ``folder`` ("its file system is mounted read-only",
    "no permission"); None when it can."""
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    read_only = hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY
    return "its file system is mounted read-only" if read_only else "no permission"


class FolderBusy(Exception):
    """Another process or thread holds the lock on a folder that was not to be waited for."""


@contextmanager
def locked(folder: Path, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while the block runs: other threads and processes that lock it wait
    (an advisory ``flock`` on the folder itself, so no lock file is left in it), or, without ``wait``, get
    :class:`FolderBusy` at once. Without ``fcntl`` only the threads of this process are excluded."""
    if fcntl is None:
        if not _PROCESS_LOCK.acquire(blocking=wait):
            raise FolderBusy(folder)
        try:
            yield
        finally:
            _PROCESS_LOCK.release()
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise FolderBusy(folder) from None
        yield
    finally:
        os.close(handle)  # releases the lock


def home_expanded(path: Path | str) -> Path:
    """``path`` with a leading ``~`` or ``~user`` read as that home folder, as a shell reads it;
    ``FileNotFoundError`` naming the user where there is none (bad-input review: ``~nouser/x`` ended in
    Path.expanduser's RuntimeError, "Could not determine home directory", a traceback on every page)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        user = Path(path).parts[0]
        raise FileNotFoundError(f"{path}: there is no user {user[1:]!r} on this machine, so {user} is no home "
                                f"folder (write the path in full, or ~/ for your own home folder)") from None


def same_path(first: str, second: str) -> bool:
    """Whether two path texts name the same file or folder (``~``, ``..``, a trailing slash and links resolved);
    False when either is empty or cannot be resolved."""
    if not first.strip() or not second.strip():
        return False
    try:
        return home_expanded(first).resolve() == home_expanded(second).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a loop of links (before Python 3.13)
        return False
