"""What differs between operating systems: the process's peak memory and an exclusive lock on a folder.

VQI is developed and tested on Linux. The two POSIX-only modules it uses, ``resource`` and ``fcntl``, are
imported here only when present, so that the engine still imports on a system without them (Windows),
where peak memory is not reported and a folder lock only excludes the threads of one process (the
dashboard's sessions), not other processes.
"""

from __future__ import annotations

import os
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
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while the block runs: other threads and processes that lock it wait
    (an advisory ``flock`` on the folder itself, so no lock file is left in it). Without ``fcntl`` only the
    threads of this process wait."""
    if fcntl is None:
        with _PROCESS_LOCK:
            yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock
