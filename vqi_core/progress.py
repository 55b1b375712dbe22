"""Progress reporting and cancellation shared by every long-running step.

A progress callback receives ``(stage, done, total)``; it cancels the work by
raising :class:`Cancelled`, which the step lets through unchanged.
"""

from __future__ import annotations

from typing import Callable, Optional

ProgressCallback = Callable[[str, int, int], None]

#: the stages that count images (the others count steps: coreset selections, fine-tuning batches, positions)
IMAGE_STAGES = frozenset({"loading training images", "loading test images", "feature extraction", "normalisation",
                          "evaluation", "scoring", "grouping look-alike photos"})


class Cancelled(Exception):
    """Raised by a progress callback to stop the running job."""


def report(progress: Optional[ProgressCallback], stage: str, done: int, total: int) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(stage, done, total)


MAX_SEED = 2 ** 32 - 1


def check_seed(seed: object) -> None:
    """Raise ``ValueError`` unless ``seed`` is a whole number from 0 to ``MAX_SEED`` (what NumPy accepts)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, not {seed!r}")
