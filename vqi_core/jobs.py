"""Training jobs in worker threads: progress per stage, elapsed time, ETA and cancellation.

The dashboard starts :func:`pipeline.train_run` with :func:`start_training` and
polls :meth:`TrainingJob.status`; jobs live in a module-level registry, so a
page rerun (or another browser tab) finds the running job again. One job runs
at a time: fitting already uses every CPU core.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from .backbones import BackboneUnavailable
from .datasets import DatasetError
from .images import ImageReadError
from .pipeline import RunConfig, train_run
from .progress import Cancelled, ProgressCallback
from .runs import Run, RunError

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
#: errors whose message alone tells the user what is wrong (others get their type name too)
EXPECTED_ERRORS = (DatasetError, ImageReadError, RunError, BackboneUnavailable, ValueError, FileNotFoundError)

TrainFunction = Callable[[RunConfig, Path, ProgressCallback], Run]


class JobError(RuntimeError):
    """A job cannot be started (another one is running)."""


@dataclass(frozen=True)
class StageProgress:
    """Progress of one stage (e.g. "feature extraction"): done of total, with timing."""

    name: str
    done: int
    total: int
    started: float  # time.monotonic()
    updated: float
    finished: bool = False

    @property
    def elapsed(self) -> float:
        """Seconds spent in this stage: up to its last report, or in a :meth:`TrainingJob.status` snapshot of a
        stage under way, up to the snapshot."""
        return self.updated - self.started

    @property
    def fraction(self) -> float:
        """Share of the stage done, 0..1."""
        return 1.0 if self.finished else (min(1.0, self.done / self.total) if self.total > 0 else 0.0)

    @property
    def eta(self) -> float | None:
        """Estimated seconds left in this stage at its rate so far; None before the first item is done."""
        if self.finished or (self.total > 0 and self.done >= self.total):
            return 0.0
        if self.done <= 0 or self.elapsed <= 0:
            return None
        return (self.total - self.done) * self.elapsed / self.done


@dataclass(frozen=True)
class JobStatus:
    """A consistent snapshot of a job for display."""

    job_id: str
    state: str
    stages: tuple[StageProgress, ...]
    elapsed: float
    error: str | None
    run_id: str | None
    cancel_requested: bool
    config: RunConfig

    @property
    def running(self) -> bool:
        """True while the worker thread is working."""
        return self.state == RUNNING

    @property
    def current(self) -> StageProgress | None:
        """The stage reported last."""
        return self.stages[-1] if self.stages else None


class TrainingJob:
    """One :func:`pipeline.train_run` call in a daemon thread."""

    def __init__(self, config: RunConfig, runs_dir: Path | str, train: TrainFunction = train_run):
        self.job_id = secrets.token_hex(4)
        self.config = config
        self.runs_dir = Path(runs_dir)
        self._train = train
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._cancelled_elsewhere = False
        self._stages: dict[str, StageProgress] = {}
        self._state = RUNNING
        self._error: str | None = None
        self._run: Run | None = None
        self._started = time.monotonic()
        self._finished: float | None = None
        self._thread = threading.Thread(target=self._work, name=f"vqi-train-{self.job_id}", daemon=True)

    def start(self) -> "TrainingJob":
        """Start the worker thread."""
        self._started = time.monotonic()
        self._thread.start()
        return self

    def cancel(self, from_elsewhere: bool = False) -> None:
        """Ask the job to stop at its next progress report; the pipeline then removes the partial run.

        ``from_elsewhere``: asked by a session that did not start the job, which the outcome then says (the one
        who started it had read the words of their own cancel: browser review)."""
        with self._lock:
            if not self._cancel.is_set():
                self._cancelled_elsewhere = from_elsewhere
            self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (or ``timeout`` seconds pass); True when it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def run(self) -> Run | None:
        """The finished run, once the job is done."""
        return self._run

    def status(self) -> JobStatus:
        """A snapshot of state, stages and timings; a stage still under way is timed up to now (not to its last
        report: a slow step would show a frozen time and estimate)."""
        with self._lock:
            end = self._finished if self._finished is not None else time.monotonic()
            stages = tuple(stage if stage.finished else replace(stage, updated=max(stage.updated, end))
                           for stage in self._stages.values())
            return JobStatus(self.job_id, self._state, stages, end - self._started,
                             self._error, self._run.id if self._run else None, self._cancel.is_set(), self.config)

    def _progress(self, stage: str, done: int, total: int) -> None:
        """The pipeline's progress callback: records the stage, raises ``Cancelled`` when asked to stop."""
        if self._cancel.is_set():
            raise Cancelled("training cancelled by the user")
        now = time.monotonic()
        with self._lock:
            for name, previous in self._stages.items():
                if name != stage and not previous.finished:
                    self._stages[name] = replace(previous, finished=True, updated=now)
            current = self._stages.get(stage)
            if current is None or current.finished:
                current = StageProgress(stage, done, total, now, now)
            self._stages[stage] = replace(current, done=done, total=total, updated=now)

    def _work(self) -> None:
        try:
            run = self._train(self.config, self.runs_dir, self._progress)
        except Cancelled:
            self._end(CANCELLED, "Training was cancelled from another tab or session; no run was written."
                      if self._cancelled_elsewhere else "Training was cancelled; no run was written.")
        except EXPECTED_ERRORS as exc:
            self._end(FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure must reach the page as a message
            log.exception("training job %s failed", self.job_id)
            self._end(FAILED, f"{type(exc).__name__}: {exc}")
        else:
            self._run = run
            self._end(DONE, None)

    def _end(self, state: str, error: str | None) -> None:
        with self._lock:
            now = time.monotonic()
            if state == DONE:
                self._stages = {name: replace(s, finished=True) for name, s in self._stages.items()}
            self._state, self._error, self._finished = state, error, now


_JOBS: dict[str, TrainingJob] = {}
_REGISTRY_LOCK = threading.Lock()
#: finished jobs kept for the sessions that started them (the oldest go first): a server that trains for months
#: does not hold every job it ever ran
KEPT_FINISHED_JOBS = 20


def start_training(config: RunConfig, runs_dir: Path | str, train: TrainFunction = train_run) -> TrainingJob:
    """Start a training job; raises :class:`JobError` while another one is running."""
    with _REGISTRY_LOCK:
        active = _running_job(_JOBS.values())
        if active is not None:
            raise JobError(f"a training job is already running ({active.config.method} on "
                           f"{active.config.category or active.config.data}); wait for it or cancel it")
        finished = [job_id for job_id, job in _JOBS.items() if not job.status().running]  # oldest first
        for job_id in finished[:max(0, len(finished) - KEPT_FINISHED_JOBS + 1)]:
            del _JOBS[job_id]
        job = TrainingJob(config, runs_dir, train)
        _JOBS[job.job_id] = job
        return job.start()


def get_job(job_id: str | None) -> TrainingJob | None:
    """The job with this id, or None."""
    with _REGISTRY_LOCK:
        return _JOBS.get(job_id) if job_id else None


def running_job() -> TrainingJob | None:
    """The job that is running now, if any."""
    with _REGISTRY_LOCK:  # another session may be starting one: the registry would change while it is read
        jobs = list(_JOBS.values())
    return _running_job(jobs)


def _running_job(jobs: Iterable[TrainingJob]) -> TrainingJob | None:
    return next((job for job in jobs if job.status().running), None)
