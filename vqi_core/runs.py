"""Persisted runs: one folder per fit + evaluation, written atomically.

A run folder holds::

    config.json     method, backbone, parameters, seed, dataset, package versions
    model/          model.json + arrays.npz (+ backbone.pt tensors): no pickle
    scores.csv      image, path, label, defect_type, score, threshold, prediction
    maps.npz        per-image anomaly maps (float16, compressed), key m<index>
    metrics.json    image_auroc, pixel_auroc, aupro, F1-optimal threshold, timings
    report.json     skipped files with reasons, notes (e.g. a supervised split)
    threshold.json  the operating threshold and where it came from
    data_manifest.csv  every training, test and mask file used: size and SHA-256
    description.json   what the run is for, as its users wrote it (optional)

A run's files are written into a hidden ``.incomplete-*`` folder, created
once the model is fitted and evaluated, and renamed into place only when every
file is written, so an interrupted run never looks complete and never touches
an earlier one. What a killed process leaves behind is removed by
:meth:`RunStore.remove_leftovers` when the next run is trained or deleted.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import json
import logging
import math
import os
import shlex
import shutil
import stat
import tempfile
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Collection, Iterable, Iterator, TypeGuard

import numpy as np
import pandas as pd
from numpy.lib.npyio import NpzFile

from .backbones import DEFAULT_BACKBONE
from .datasets import GOOD, absent_reason, category_around, category_holding
from .images import ImageReadError, read_file_bytes, read_image, read_mask
from .methods import AnomalyModel, create_model, load_model
from .methods.base import (ARRAYS_FILE, BACKBONE_FILE, CONTENT_DIGEST_KEY, MODEL_JSON, DamagedModel,
                           check_file_digests, content_sha256, finite_number, saved_normalization, saved_preprocessing)
from .metrics import LineCosts, defect_type_metrics, image_auroc, mask_to_eval_size
from .progress import MAX_SEED
from .provenance import MANIFEST_COLUMNS, file_sha256, manifest_digest, relative_name
from .localisation import BOX_LEVEL, STORED_MAP_DTYPE
from .region import REGION_FILE, InspectionRegion
from .system import PROCESS_LOCKS, FolderBusy, file_above, home_expanded, interrupts_held, locked, unwritable_reason
from .thresholds import set_at_training, verdicts
from .wording import counted, exact_number, percent

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
SCORES_FILE = "scores.csv"
MAPS_FILE = "maps.npz"
REPORT_FILE = "report.json"
THRESHOLD_FILE = "threshold.json"
THRESHOLD_HISTORY_COLUMNS = ["saved_at", "threshold", "source", "costs", "reason", "saved_by"]
#: the texts of a threshold entry
THRESHOLD_TEXTS = ("saved_at", "source", "reason", "saved_by")
#: the line's costs as ``threshold.json`` records them: the fields of :class:`~vqi_core.metrics.LineCosts`
COST_FIELDS = ("false_alarm", "escape", "defect_rate")
MAX_REASON_CHARS = 500
DESCRIPTION_FILE = "description.json"
#: the level boxes are drawn at, when saved (without it: :data:`~vqi_core.localisation.BOX_LEVEL`)
BOX_LEVEL_FILE = "box_level.json"
MAX_DESCRIPTION_CHARS = 2000
#: the largest run JSON file read (a report of 100,000 images takes a few MB); a larger one, as an archive could
#: bring, is damaged rather than read in full by every listing
MAX_JSON_BYTES = 64 * 2**20
#: the largest description file: its text of at most MAX_DESCRIPTION_CHARS characters, escaped
MAX_DESCRIPTION_BYTES = 64 * 2**10
#: the box levels a run takes (normalised map levels; 1 is the highest level any good image reached)
MIN_BOX_LEVEL, MAX_BOX_LEVEL = 0.05, 100.0
MANIFEST_FILE = "data_manifest.csv"
MODEL_DIR = "model"
#: the yes/no entries of ``metrics.json``; every other entry is a number, null, a list of numbers or per_defect_type
METRICS_FLAGS = ("seen_defects", "pixel_metrics_inspected_only")
#: columns every ``scores.csv`` has (the pages and evaluation read them)
SCORE_COLUMNS = ("image", "path", "label", "defect_type", "mask_path", "score")
INCOMPLETE_PREFIX = ".incomplete-"
#: folder of uploaded inspection regions waiting for a training job (hidden: not a run)
REGIONS_FOLDER = ".regions"
DELETED_PREFIX = f"{INCOMPLETE_PREFIX}deleted-"
#: run parameters a settings summary leaves out: the backbone is shown apart, ``scale`` is fitted
FITTED_OR_SHOWN_APART = frozenset({"backbone", "scale"})
#: a staging folder older than this is abandoned: runs are written within seconds of its creation
STALE_STAGING_SECONDS = 3600.0
#: how a zip archive (an ``.npz`` file, a torch file) begins: a local file header, or the end of an empty one's
ZIP_PREFIXES = (b"PK\x03\x04", b"PK\x05\x06")
#: the files :meth:`Run.check` reads past the JSON ones, and ``config.json`` (whether a manifest is needed)
CHECKED_FILES = (CONFIG_FILE, METRICS_FILE, SCORES_FILE, MAPS_FILE, MANIFEST_FILE, f"{MODEL_DIR}/{MODEL_JSON}",
                 f"{MODEL_DIR}/{ARRAYS_FILE}", f"{MODEL_DIR}/{BACKBONE_FILE}", f"{MODEL_DIR}/{REGION_FILE}")
#: every file a run folder holds (those of a run without fine-tuning, a region or a saved box level are fewer)
RUN_FILES = frozenset({*CHECKED_FILES, METRICS_FILE, REPORT_FILE, THRESHOLD_FILE, DESCRIPTION_FILE, BOX_LEVEL_FILE})
#: a file changed less than this long ago may change again within the file system's clock tick, its signature
#: (inode, size, times) unchanged: checked again each time until it is older ("racily clean", as git says)
RACY_SECONDS = 2.0
MAX_PASSED_CHECKS = 4096

log = logging.getLogger(__name__)
#: what reading a damaged array file (``.npz``, a zip archive) can raise: a cut-short file, a broken table of
#: contents, a failed checksum, compressed data that does not decompress (``zlib.error`` is not an OSError), a
#: header claiming a shape numpy cannot allocate (``MemoryError``, raised before anything is read)
ARRAY_FILE_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, MemoryError)
#: run folder -> the signature of its :data:`CHECKED_FILES` when they last passed :meth:`Run.check`
_passed_checks: dict[Path, tuple] = {}
#: (maps file, the SHA-256 its run records) -> the file's signature when its SHA-256 was last found to be that one
_verified_maps: dict[tuple[Path, str], tuple] = {}


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a complete run (its ``config.json`` and ``metrics.json``, written last)."""
    return (folder / CONFIG_FILE).is_file() and (folder / METRICS_FILE).is_file()


def incomplete_run_files(folder: Path) -> str:
    """What keeps ``folder`` from being a complete run, file by file: "metrics.json missing", "config.json not a
    regular file" (a folder, or a link to a device, in its place: it had been said "missing" as well)."""
    return " and ".join(f"{name} {'not a regular file' if (folder / name).exists() else 'missing'}"
                        for name in (CONFIG_FILE, METRICS_FILE) if not (folder / name).is_file())


def runs_held(folder: Path) -> list[str]:
    """The names of the complete runs directly in ``folder``, sorted (none where it cannot be listed)."""
    try:
        return sorted(child.name for child in folder.iterdir() if is_run_folder(child))
    except OSError:  # not a folder, or not readable: not a runs folder to point at
        return []


def run_folder_holding(path: Path) -> Path | None:
    """The run folder that ``path`` is, or lies inside (``~`` expanded, links resolved); None when none."""
    resolved = home_expanded(path).resolve()
    return next((folder for folder in (resolved, *resolved.parents) if is_run_folder(folder)), None)


class InterruptedOnceWritten(KeyboardInterrupt):
    """Ctrl+C or SIGTERM received while a run was being moved into place: the run (``run``) is complete."""

    def __init__(self, run: "Run") -> None:
        super().__init__(f"interrupted once the run was written: {run.path}")
        self.run = run


class RunError(RuntimeError):
    """A run folder is missing, incomplete or unreadable."""


def missing_run_file(path: Path) -> RunError:
    """The error for a run file that is not there: the run deleted from disk, or (its folder still there) this
    file alone gone."""
    if path.parent.is_dir():
        return RunError(f"{path} is missing: the run's folder is there without it (deleted, or left out when the run "
                        f"was copied)")
    return RunError(f"{path} is missing (run deleted from disk?)")


def local_time() -> str:
    """Now, as ISO 8601 local time with its UTC offset (e.g. ``2026-12-02T08:15:00+01:00``)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def write_json_atomic(path: Path, data: Any, create_folder: bool = True, follow_link: bool = True) -> None:
    """Write JSON to ``path`` through a temporary file and an atomic rename (``create_folder``, ``follow_link``: see
    :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, json.dumps(data, indent=2, default=_json_default).encode(), create_folder, follow_link)


@functools.cache
def _default_modes() -> tuple[int, int]:
    """The permissions a new file and a new folder get from the process's umask, found by creating both
    (reading the umask means setting it, process-wide, which a worker thread could race)."""
    with tempfile.TemporaryDirectory() as folder:
        file, subfolder = Path(folder) / "file", Path(folder) / "folder"
        os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o666))
        subfolder.mkdir(0o777)
        return file.stat().st_mode & 0o777, subfolder.stat().st_mode & 0o777


def missing_folders(path: Path) -> list[Path]:
    """``path`` and its parents that do not exist yet, ``path`` first: the last is the folder to remove again to
    undo creating ``path`` with ``mkdir(parents=True)``."""
    return [folder for folder in (path, *path.absolute().parents) if not folder.exists()]


@contextlib.contextmanager
def created_folders_undone_on_failure(folder: Path) -> Iterator[None]:
    """Remove ``folder`` (a runs folder, the folder a split is written into) again, with the parents this block
    created for it, when the block fails and left them empty: a refused training, import or split changes nothing.
    Anything another process put there meanwhile stays."""
    created = missing_folders(folder)
    try:
        yield
    except BaseException:
        for folder in created:  # the folder first, then the parents made for it
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone): leave it and what holds it
                break
        raise


def check_output_file(path: Path, follow_link: bool = True) -> Path:
    """The file :func:`write_bytes_atomic` would write for ``path`` (a symbolic link's target, unless
    ``follow_link`` is False), checked before the work that produces it: ``OSError`` when it is a folder, or anything
    but a regular file (a pipe, a device), or a folder above it is a file."""
    if follow_link and path.is_symlink():
        path = path.resolve()
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: name a file to write")
    if path.exists() and not path.is_file():
        raise OSError(f"cannot write {path}: it is not a regular file (a pipe, a device or a socket), which "
                      f"writing would replace: name a file")
    try:
        blocking = file_above(path)
    except OSError:  # not allowed to look: writing will say so
        blocking = None
    if blocking is not None:
        raise NotADirectoryError(f"cannot write {path}: {blocking} is a file, not a folder")
    return path


def write_bytes_atomic(path: Path, payload: bytes, create_folder: bool = True, follow_link: bool = True) -> None:
    """Write ``payload`` to ``path`` atomically (temporary file in the same folder, then rename), with the
    permissions of a file created the usual way (the temporary file's own are private). A symbolic link is
    kept: the file it points to is written; with ``follow_link=False`` the link itself is replaced by the file (a
    run's own files: a linked copy of a run had saved its threshold into the original, and a listing had written
    outside the runs folder: robustness review). Anything but a regular file there (a pipe, a device) is refused:
    renaming onto it would replace it (:func:`check_output_file`). ``create_folder``: create the folders above it
    that are missing (else ``OSError``)."""
    path = check_output_file(path, follow_link)
    try:
        if create_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except FileExistsError:
        raise NotADirectoryError(f"cannot write {path}: {path.parent} is a file, not a folder") from None
    except OSError as exc:  # e.g. no permission: named by the file asked for, not the temporary one
        raise OSError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _default_modes()[0])
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk, a file locked by another program: named, not the temporary one
            raise OSError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@functools.lru_cache(maxsize=32)
def _default_params(method: str, backbone: str) -> tuple[tuple[str, str], ...]:
    params = create_model(method, backbone=backbone).get_params()
    return tuple((name, json.dumps(value, sort_keys=True)) for name, value in params.items())


def changed_settings(config: dict[str, Any]) -> str:
    """A run's parameters (seed included) that differ from its method's defaults for its backbone, as
    ``name=value, ...``, and its inspection region, or ``"defaults"``; the backbone (shown apart) and fitted
    values are left out."""
    params = config.get("params", {})
    try:
        defaults = dict(_default_params(config["method"], params.get("backbone", DEFAULT_BACKBONE)))
    except (KeyError, ValueError):  # a method or backbone this version does not know
        return "unknown"
    if params.get("resize") == "fixed_scale":  # the input's shape was fitted to the images: show what was asked
        asked = (config.get("request") or {}).get("params", {})
        params = {name: asked[name] if name == "image_size" else value for name, value in params.items()
                  if name != "image_size" or "image_size" in asked}
    changed = [f"{name}={json.dumps(value, sort_keys=True)}" for name, value in params.items()
               if name not in FITTED_OR_SHOWN_APART and name in defaults
               and json.dumps(value, sort_keys=True) != defaults[name]]
    if config.get("region"):
        changed.append(f"region={percent(config['region']['inspected_share'], 0)} of the image")  # 0.15 %: not 0%
    return ", ".join(changed) or "defaults"


def _label_problem(scores: pd.DataFrame) -> str | None:
    """What is wrong with the labels of a ``scores.csv`` frame: one neither good nor defective, or one that its
    defect type contradicts (the good test images are those of ``test/good``; found by review: a label edited by
    hand was counted as good, and every figure and preset moved); None when they are right."""
    labels, types = scores["label"], scores["defect_type"]
    unknown = scores[~labels.isin(["good", "defective"])]
    if len(unknown):
        return f"{unknown['image'].iloc[0]} is labelled {unknown['label'].iloc[0]!r}, neither good nor defective"
    contradicted = scores[(labels == "good") != (types == GOOD)]
    if len(contradicted):
        row = contradicted.iloc[0]
        return f"{row['image']} is labelled {row['label']} but its defect type is {row['defect_type']!r}"
    return None


def _place_problem(scores: pd.DataFrame) -> str | None:
    """What is wrong with where a ``scores.csv`` frame says its files are: each test image is named
    ``<defect type>/<file>`` and lies at ``.../test/<defect type>/<file>``, each mask at
    ``.../ground_truth/<defect type>/<file>`` (the type's name in either Unicode form: the datasets match a mask
    folder named on macOS, NFD, to its test folder), with no ``..`` (found by the security review: an imported
    run's edited paths made the pages and the report read, and show, any image on the machine; runs trained before
    2026-12-03 recorded the category folder as typed, so the folder itself is not compared); None when they do.
    An empty path (a run without its images) is not read."""
    for image, defect_type, path, mask in zip(scores["image"], scores["defect_type"], scores["path"],
                                              scores["mask_path"]):
        name = PurePosixPath(image)
        if len(name.parts) != 2 or name.parts[0] != defect_type or name.name in ("", ".", ".."):
            return f"{image!r} is not a test image's name, <defect type>/<file>, of defect type {defect_type!r}"
        if path and (".." in Path(path).parts or Path(path).parts[-3:] != ("test", *name.parts)):
            return f"{image} is read from {path!r}, not from a category's test/{image}"
        folders = [unicodedata.normalize("NFC", part) for part in Path(mask).parts[-3:-1]] if mask else []
        expected = ["ground_truth", unicodedata.normalize("NFC", defect_type)]
        if mask and (".." in Path(mask).parts or folders != expected):
            return f"the mask of {image} is read from {mask!r}, not from a category's ground_truth/{defect_type}"
    return None


def _is_number(value: object) -> bool:
    """Whether a JSON value is a number (true and false are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value: object) -> TypeGuard[float]:
    """Whether a JSON value is a finite number (VQI writes null for a figure it has not: NaN in
    ``metrics.json`` was edited in, and would be printed and compared as a figure; found by review)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


#: how a text cell starts that a spreadsheet would run as a formula (and the quote that keeps one as text)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def spreadsheet_csv(frame: pd.DataFrame) -> bytes:
    """``frame`` as CSV for people to open in a spreadsheet: a text cell that would start a formula there (a file
    named ``=HYPERLINK(...).png``) is written after a quote, which keeps it text (read back by
    :func:`spreadsheet_text`). Lines end in CR LF, as RFC 4180 has it, so that a cell holding a carriage return
    (macOS leaves a file named ``Icon\r`` in folders) is quoted, not read as a line break. A run's own
    ``scores.csv`` is its record, written as it is (:func:`record_csv`)."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(
                lambda value: "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value)
    return record_csv(safe)


def record_csv(frame: pd.DataFrame) -> bytes:
    """``frame`` as a run's own CSV record (``scores.csv``, ``data_manifest.csv``): every cell as it is, lines
    ending in CR LF, so that a cell holding a carriage return is quoted (with LF endings it was written bare, and
    a test image named with one made the run's scores unreadable: security review)."""
    return frame.to_csv(index=False, lineterminator="\r\n").encode()


def spreadsheet_text(cell: str) -> str:
    """A text cell of :func:`spreadsheet_csv`'s CSV as it was before it was written."""
    return cell[1:] if cell.startswith("'") else cell


def predictions_frame(scores: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """``scores`` with the threshold and the prediction (defective when score >= threshold); a row without a score
    (a file given to predict that could not be scored) gets none here, for its caller to name."""
    frame = scores.copy()
    frame["threshold"] = float(threshold)  # as threshold.json records it (a float32 had been written "0.35")
    values = frame["score"].to_numpy(np.float64)
    scored = ~np.isnan(values)
    prediction = np.full(len(frame), "", dtype=object)
    prediction[scored] = verdicts(values[scored], threshold)
    frame["prediction"] = prediction
    return frame


def unreadable_table(path: Path, exc: BaseException) -> RunError:
    """The error for a run's CSV record that cannot be read: the system's reason (permission denied), "is empty",
    or pandas' parser's words on one line (they ended in a literal line break: run-integrity review)."""
    if isinstance(exc, OSError):  # not damage (code review: "not a table VQI wrote ([Errno 13] ...)")
        return RunError(f"{path} cannot be read: {exc.strerror or exc}")
    if isinstance(exc, pd.errors.EmptyDataError):
        return RunError(f"{path} is damaged: it is empty")
    return RunError(f"{path} is damaged: not a table VQI wrote ({' '.join(str(exc).split())})")


def read_scores_file(path: Path) -> pd.DataFrame:
    """A run's ``scores.csv``, every column as written but the scores (numbers); ``RunError`` naming it where it is
    missing or damaged (a column missing, a score not a finite number, an image listed twice, a label or a place
    that is not one)."""
    try:  # every column as text, as written: a defect type or file named NA or None is not a missing value
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise missing_run_file(path) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise unreadable_table(path, exc) from exc
    missing = [column for column in SCORE_COLUMNS if column not in frame]
    if missing:
        raise RunError(f"{path} is damaged: column {', '.join(missing)} missing")
    written = frame["score"].str.strip()
    frame["score"] = pd.to_numeric(written, errors="coerce").astype(float)  # "" and "nan" become NaN
    if (frame["score"].isna() & ~written.str.lower().isin(["", "nan"])).any():
        raise RunError(f"{path} is damaged: its scores are not all numbers")
    if not np.isfinite(frame["score"].to_numpy(float)).all():
        raise RunError(f"{path} is damaged: a score is missing, NaN or infinite (every test image the run "
                       f"evaluated has a finite score)")
    repeated = frame.loc[frame["image"].duplicated(), "image"]
    if len(repeated):
        raise RunError(f"{path} is damaged: {repeated.iloc[0]} is listed twice")
    if (problem := _label_problem(frame)) is not None:  # every figure would count it in the wrong class
        raise RunError(f"{path} is damaged: {problem}")
    if (problem := _place_problem(frame)) is not None:
        raise RunError(f"{path} is damaged: {problem}")
    return frame


def scores_digest(scores: pd.DataFrame) -> str:
    """The SHA-256 over each scored image's name, true label and score (as :func:`read_scores_file` reads them), in
    order: what a run's figures are computed from, and what a threshold save, which rewrites ``scores.csv``'s
    threshold and prediction, leaves as it is."""
    digest = hashlib.sha256()
    for image, label, score in zip(scores["image"], scores["label"], scores["score"]):
        digest.update(f"{image}\t{label}\t{float(score)!r}\n".encode())
    return digest.hexdigest()


@dataclass
class Run:
    """A completed run folder, read lazily. ``dataset``: a category folder to read the test images and masks from
    instead of the one the run was trained on (moved, or on another machine); each image is still checked
    against the run's record of it (see :meth:`image`)."""

    path: Path
    dataset: Path | None = None

    def __post_init__(self) -> None:
        self.path = home_expanded(self.path)  # "~/runs/<id>" as RunStore takes it (code review)
        self.dataset = Path(self.dataset) if self.dataset is not None else None
        if not is_run_folder(self.path):
            if (absent := absent_reason(self.path)) is not None:  # as a dataset's is said (code review)
                raise RunError(f"run folder {self.path} {absent}" + (" (deleted from disk, or a mistyped path?)"
                                                                     if absent == "does not exist" else ""))
            if (holding := run_folder_holding(self.path)) is not None:  # a file of a run given (code review)
                raise RunError(f"{self.path} lies inside the run {holding}: give the run's folder, {holding}")
            if held := runs_held(self.path):  # a runs folder given for a run (review)
                raise RunError(f"{self.path} is a runs folder holding {counted(len(held), 'run')}, not a run: give "
                               f"one of them, such as {self.path / held[-1]} (`python -m vqi_core runs --runs "
                               f"{shlex.quote(str(self.path))}` lists them)")
            raise RunError(f"{self.path} is not a complete run ({incomplete_run_files(self.path)})")
        self._scores: pd.DataFrame | None = None
        self._judged_at: list[str] | None = None  # scores.csv's threshold column as written (None: it has none)
        self._maps: NpzFile | None = None  # maps.npz, opened on first use
        self._maps_digest_checked = False  # on the first map read whole (:meth:`_check_maps_digest`)
        self._mask_digests: dict[str, str] | None = None
        self._test_digests: dict[str, str] | None = None  # from data_manifest.csv, read on first use

    @property
    def id(self) -> str:
        """The run's folder name."""
        return self.path.name

    @property
    def renamed(self) -> bool:
        """Whether the run's folder no longer has the name of the run id its ``config.json`` records."""
        return self.config.get("run_id") != self.id

    @property
    def config(self) -> dict:
        """Method, parameters, dataset, seed and package versions."""
        return self._read_json(CONFIG_FILE)

    @property
    def metrics(self) -> dict:
        """Evaluation metrics and timings."""
        return self._read_json(METRICS_FILE)

    @property
    def report(self) -> dict:
        """Skipped files (``file``, ``reason``), notes, the test-set check (``split_check``, runs since it exists)
        and the training images' ``training_capture_ranges`` (runs since they exist); ``RunError`` naming
        ``report.json`` when it is damaged: any of these not as the pages and commands read it (see
        :func:`report_problem`) or missing from a run that recorded its data files (older runs had none).
        ``skipped`` and ``notes`` are always there, ``split_check`` only when not null."""
        if not (self.path / REPORT_FILE).is_file():
            if self.data_files_recorded:  # every run since then writes one: deleted, it would silently turn off the
                raise missing_run_file(self.path / REPORT_FILE)  # check that images are unlike the training ones
            return {"skipped": [], "notes": []}
        report = self._read_json(REPORT_FILE)
        problem = report_problem(report)
        if problem is not None:
            raise RunError(f"{self.path / REPORT_FILE} is damaged: {problem}")
        if report.get("split_check", {}) is None:  # not checked, as for runs without the entry
            del report["split_check"]
        return {"skipped": [], "notes": [], **report}

    def _read_json(self, name: str) -> dict:
        """A JSON object file of the run; ``RunError`` saying which file is missing or damaged."""
        path = self.path / name
        limit = MAX_DESCRIPTION_BYTES if name == DESCRIPTION_FILE else MAX_JSON_BYTES
        try:
            if (size := path.stat().st_size) > limit:
                raise RunError(f"{path} is damaged: it holds {size:,} bytes, more than the {limit:,} such a file "
                               f"may have")
            value = json.loads(path.read_text())
        except FileNotFoundError:
            raise missing_run_file(path) from None
        except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError and a 5,000-digit number: ValueError;
            raise RunError(f"{path} is damaged: not readable JSON ({exc})") from exc  # nesting 100,000 deep: Recursion
        if not isinstance(value, dict):
            raise RunError(f"{path} is damaged: it holds a JSON {type(value).__name__}, not an object")
        return value

    def problem(self, data: bool = False) -> str | None:
        """Why the run cannot be shown or used (a file missing or damaged, see :meth:`check`; ``data``: found
        by reading every file in full); None when it can."""
        try:
            self.check(data=data)
        except RunError as exc:
            return str(exc)
        return None

    def check(self, data: bool = False, manifest: bool = True) -> None:
        """Raise ``RunError`` naming the first run file that the pages and the CLI could not read: the JSON
        files (config, metrics, threshold with its history, box level, report, description), ``scores.csv`` (its
        columns), ``maps.npz`` (one map per scored image), the model (``model.json``, its array files, its
        region) and, with ``manifest``, ``data_manifest.csv`` (its columns, and the order of its test images,
        which must be ``scores.csv``'s: the maps are stored in it). ``evaluate`` goes on without a readable
        manifest (``manifest=False``).

        Cheap enough to list runs with: of the array files only their table of contents is read (nothing is
        decompressed), and the files past the JSON ones only when they changed since they last passed (see
        :func:`_files_signature`). With ``data`` (for a run that comes from elsewhere, or before its report or
        archive is written) every map is read too."""
        self._check_regular_files()
        self._check_config()
        self._check_metrics()
        for small_file in ("report", "threshold_history", "description", "box_level"):
            getattr(self, small_file)  # each property reads and checks its file: RunError where it is damaged
        if data:
            self._check_files(manifest)
            for index in range(len(self.scores)):
                self._read_map(index)  # each map's own checks first: they say more of what is wrong with it
            self._check_maps_digest(self.path / MAPS_FILE)
            self._check_model_arrays()
            return
        signature = self.files_signature()
        if signature is None or _passed_checks.get(self.path) != signature:
            settled = self._check_files(manifest)
            if signature is not None and manifest and settled:  # else: a save in progress, undone once it is free
                if len(_passed_checks) >= MAX_PASSED_CHECKS:
                    _passed_checks.clear()
                _passed_checks[self.path] = signature

    def _scores_judged_at(self, threshold: float) -> bool:
        """Whether ``scores.csv``'s predictions were made at ``threshold`` (a run written before they were
        recorded, without its threshold column: taken as yes)."""
        self.scores
        return self._judged_at is None or all(_as_float(value) == threshold for value in self._judged_at)

    def _finish_interrupted_save(self) -> bool:
        """Undo a threshold save stopped between its two files (SIGKILL, a power cut: Ctrl+C and SIGTERM wait for
        both, see :meth:`save_threshold`). ``scores.csv`` is written first, ``threshold.json``, the record of the
        threshold in effect, last: where ``scores.csv`` was judged at another threshold, it is written again at the
        recorded one, and the save's leftover temporary files are removed, under the run's lock. A lock held
        elsewhere is a save in progress, which is left alone (not waited for: a save stopped with Ctrl+Z would
        hold up every listing); without locks between processes (no ``fcntl``) nothing is undone, as a save in
        progress could not be told from a stopped one. Nothing that VQI reads depends on ``scores.csv``'s threshold
        and prediction columns, so a run folder that cannot be written, or a run deleted meanwhile, is left as it
        is (with a warning for the former; such a run's check is remembered as any other, so it is said once per
        change of its files). False where a save in progress holds the lock (the check is then not remembered)."""
        if not PROCESS_LOCKS or self._scores_judged_at(self.threshold):
            return True
        try:
            with locked(self.path, wait=False):
                self._scores = None  # read again: the save may have finished meanwhile
                threshold = self.threshold
                if self._scores_judged_at(threshold) or not is_run_folder(self.path):
                    return True  # deleted meanwhile: writing would bring back its folder
                write_bytes_atomic(self.path / SCORES_FILE, record_csv(self.predictions(threshold)),
                                   create_folder=False, follow_link=False)  # deleted from here on: not brought back
                self._scores = None  # as written: read again when next used
                _remove_save_leftovers(self.path)
        except FolderBusy:
            return False
        except OSError as exc:
            if is_run_folder(self.path):  # else renamed (deleted) before it was locked, or while it was written
                log.warning("%s: its predictions were not made at the saved threshold %s (a threshold save was "
                            "stopped between its two files), and it cannot be written again: %s",
                            self.path / SCORES_FILE, exact_number(self.threshold), exc)
            return True
        log.warning("%s: a threshold save had been stopped between its two files; its predictions were made at the "
                    "saved threshold %s again", self.path / SCORES_FILE, exact_number(threshold))
        return True

    def _check_model_arrays(self) -> None:
        """The check of loading the model that needs no backbone (whose pretrained weights a machine may lack) and
        reads the files in full: they are the ones it saved (by the SHA-256 that ``model.json`` records; that no
        array asks for objects is checked from their headers with every check); ``RunError`` saying what is
        wrong."""
        folder = self.path / MODEL_DIR
        try:
            check_file_digests(folder, self._read_json(f"{MODEL_DIR}/{MODEL_JSON}"))
        except DamagedModel as exc:  # worded as when the model is loaded
            raise RunError(f"the model in {folder} cannot be loaded: {exc}") from exc
        except OSError as exc:
            raise RunError(f"the model in {folder} cannot be loaded: {exc.strerror or exc}") from exc

    def _check_regular_files(self) -> None:
        """``RunError`` when a run file is there but is not a regular file (a pipe would stop every reader, a
        link to a device would be read for ever); a missing file is left to the checks that read it."""
        for name in sorted(RUN_FILES):
            path = self.path / name
            try:
                mode = path.stat().st_mode
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise RunError(f"{path} cannot be read: {exc.strerror or exc}") from exc
            if not stat.S_ISREG(mode):
                raise RunError(f"{path} is damaged: it is not a regular file (a pipe, a device or a folder)")

    def files_signature(self) -> tuple | None:
        """Changes whenever the run's config, scores, saved threshold, maps, data manifest or a model file is
        written, replaced, created or removed (None while one changed a moment ago, see :func:`_files_signature`):
        a check of them that passed need not be repeated while it stays the same."""
        return _files_signature([self.path / name for name in (*CHECKED_FILES, THRESHOLD_FILE)])

    def _check_metrics(self) -> None:
        """``RunError`` when a figure of ``metrics.json`` is not a number or null (a list: not all numbers; a
        defect type's entry: not figures), or a yes/no entry not true or false: every page and the ``runs``
        listing print them as numbers (the sidebar's run labels on every page)."""
        path = self.path / METRICS_FILE
        for key, value in self.metrics.items():
            if key in METRICS_FLAGS:
                if not isinstance(value, bool):
                    raise RunError(f"{path} is damaged: {key} is {value!r}, not true or false")
            elif key == "per_defect_type":
                if not isinstance(value, dict) or not all(
                        isinstance(entry, dict) and all(_is_finite(item) or item is None for item in entry.values())
                        for entry in value.values()):
                    raise RunError(f"{path} is damaged: per_defect_type is not one entry of figures per defect type")
            elif not (value is None or _is_finite(value)
                      or isinstance(value, list) and all(_is_finite(item) for item in value)):
                raise RunError(f"{path} is damaged: {key} is {value!r}, not a number")
        # figures that cannot be: shown beside the run's own counts, they had contradicted them (robustness review)
        interval = self.metrics.get("image_auroc_interval")
        if interval is not None and not (isinstance(interval, list) and len(interval) == 2
                                         and 0 <= interval[0] <= interval[1] <= 1):
            raise RunError(f"{path} is damaged: image_auroc_interval is {interval!r}, not a lower and an upper bound "
                           f"from 0 to 1")
        if self.config.get("has_masks") is False:
            for key in ("pixel_auroc", "aupro"):
                if self.metrics.get(key) is not None:
                    raise RunError(f"{path} is damaged: it gives a {key} of {self.metrics[key]!r} for a category "
                                   f"without ground-truth masks, which has none")

    def _check_config(self) -> None:
        """``RunError`` when ``config.json`` lacks its method or parameters, or holds a backbone, an inspection
        region or a seed that the pages, the ``runs`` listing and the report cannot show."""
        config = self.config
        if not isinstance(config.get("method"), str) or not isinstance(config.get("params", {}), dict):
            raise RunError(f"{self.path / CONFIG_FILE} is damaged: no method or parameters")
        seed = config.get("seed")  # the report had printed "zero" as the seed the run was trained with (review)
        if seed is not None and not (type(seed) is int and 0 <= seed <= MAX_SEED):
            raise RunError(f"{self.path / CONFIG_FILE} is damaged: its seed is {seed!r}, not a whole number from 0 to "
                           f"{MAX_SEED}")
        backbone = config.get("params", {}).get("backbone", DEFAULT_BACKBONE)
        if not isinstance(backbone, str):
            raise RunError(f"{self.path / CONFIG_FILE} is damaged: its backbone is {backbone!r}, not a name")
        region = config.get("region")
        if region is not None and not (isinstance(region, dict) and _is_number(region.get("inspected_share"))):
            raise RunError(f"{self.path / CONFIG_FILE} is damaged: its inspection region is {region!r}, without the "
                           f"share of the image it inspects")

    def _check_files(self, manifest: bool = True) -> bool:
        """:meth:`check` past the JSON files: ``scores.csv``, the maps' table of contents, the model and the
        manifest (its columns, and the order of its test images against ``scores.csv``'s). False where a threshold
        save in progress leaves ``scores.csv`` ahead of ``threshold.json`` (:meth:`_finish_interrupted_save`)."""
        count = len(self.scores)
        # a row deleted or moved is named in scores.csv, before the maps are counted against its rows (a deleted row had
        # been blamed on maps.npz, and re-sorted rows went unnamed by evaluate: run-integrity review)
        self._check_scores_order(manifest_required=manifest)
        recorded = self.config.get("scores_sha256")  # runs since 2026-12-06 (an earlier run's scores: unchecked)
        if recorded is not None and scores_digest(self.scores) != recorded:  # a score edited by hand (review)
            raise RunError(f"{self.path / SCORES_FILE} is damaged: its images, labels or scores are not the ones the "
                           f"run wrote (their SHA-256 is not the one {CONFIG_FILE} recorded), so its figures and "
                           f"metrics.json would disagree; restore it from a copy, or train again")
        headers = {name.removesuffix(".npy"): header
                   for name, header in self._array_file_headers(self.path / MAPS_FILE).items()}
        if set(headers) != {f"m{index:05d}" for index in range(count)}:
            raise RunError(f"{self.path / MAPS_FILE} is damaged: it holds {counted(len(headers), 'map')} for "
                           f"{counted(count, 'scored image')}")
        for index in range(count):
            header = headers[f"m{index:05d}"]
            if header is None or not holds_a_map(*header):  # as anomaly_map reads it
                raise RunError(f"{self.path / MAPS_FILE} is damaged: the map of image {index} is not an image's map")
        self._check_model()
        settled = self._finish_interrupted_save()
        if recorded is not None and "image_auroc" not in self.metrics:  # every run writes it, None or a figure: read
            raise RunError(f"{self.path / METRICS_FILE} is damaged: it has no image_auroc")  # as n/a (review)
        saved = self.metrics.get("image_auroc")  # the headline figure, which `runs` and every page show: an edit or a
        if recorded is not None and _is_finite(saved) and (found := image_auroc(self.labels, self.score_values)) \
                is not None and abs(found - saved) > 1e-9:  # flipped bit had gone unseen (robustness review)
            raise RunError(f"{self.path / METRICS_FILE} is damaged: its image AUROC {saved:.4f} is not the {found:.4f} "
                           f"that the run's scores give; restore it from a copy, or train again")
        if recorded is not None:
            self._check_defect_type_aurocs()
        return settled

    def _check_defect_type_aurocs(self) -> None:
        """``RunError`` where a defect type's image AUROC in ``metrics.json`` is not the one the run's scores give
        (its images against every good image): the report had shown 0.1000 beside 7 of 7 caught (robustness
        review)."""
        given = defect_type_metrics(self.scores["defect_type"].astype(str).tolist(), self.labels, self.score_values)
        for name, entry in (self.metrics.get("per_defect_type") or {}).items():
            saved, found = entry.get("image_auroc"), given.get(name, {}).get("image_auroc")  # as the run counted it
            if _is_finite(saved) and found is not None and abs(found - saved) > 1e-9:
                raise RunError(f"{self.path / METRICS_FILE} is damaged: the image AUROC of defect type {name!r}, "
                               f"{saved:.4f}, is not the {found:.4f} that the run's scores give; restore it from a "
                               f"copy, or train again")

    def _check_scores_order(self, manifest_required: bool = True) -> None:
        """``RunError`` when ``scores.csv`` lists the test images that ``data_manifest.csv`` lists in another order
        (re-sorted in a spreadsheet): its maps are stored in the order the run wrote the rows, so every image would
        be shown with another image's heatmap. Runs without a manifest cannot be checked. Of the manifest, its
        header and its role, file and SHA-256 columns are read (a listing of many runs reads every run's), and
        checked against the digest ``config.json`` recorded: ``RunError`` where it is missing or damaged, unless
        not ``manifest_required`` (``evaluate`` goes on without it: then the order is not checked)."""
        path = self.path / MANIFEST_FILE
        if not self.data_files_recorded:
            return
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                self._check_manifest_columns(next(csv.reader(handle), []))
            manifest = self._read_manifest(usecols=["role", "file", "sha256"], dtype=str)
        except (RunError, OSError, ValueError, UnicodeDecodeError, csv.Error) as exc:  # pandas' errors: ValueErrors
            if not manifest_required:
                return
            if isinstance(exc, RunError):
                raise
            if isinstance(exc, FileNotFoundError):
                raise missing_run_file(path) from None
            raise unreadable_table(path, exc) from exc
        written = ["/".join(name.split("/")[-2:]) for name in manifest.loc[manifest["role"] == "test", "file"]]
        listed = self.scores["image"].astype(str).tolist()
        if self.config.get("scores_sha256") is None and len(set(written)) == len(written) \
                and set(listed) < set(written):  # a run trained before the scores' digest was recorded (code review)
            lost = [name for name in written if name not in set(listed)]
            raise RunError(f"{self.path / SCORES_FILE} is damaged: it lists {len(listed)} of the {len(written)} test "
                           f"images the run wrote (not {lost[0]}{', ...' if len(lost) > 1 else ''}: a row deleted?); "
                           f"restore it from a copy of the run")
        if written != listed and len(set(written)) == len(written) and sorted(written) == sorted(listed):
            raise RunError(f"{self.path / SCORES_FILE} is damaged: its rows are not in the order the run wrote them "
                           f"(re-sorted, in a spreadsheet?), and its maps are stored in that order, so every image "
                           f"would be shown with another image's heatmap; put the rows back in the order of the test "
                           f"images in {MANIFEST_FILE}, or restore {SCORES_FILE} from a copy")

    def _array_file_headers(self, path: Path, model: bool = False) -> dict[str, NpyHeader | None]:
        """The members of the run's array file ``path`` (``.npz``, or with ``model`` a torch file) with what each
        ``.npy`` member's header says it holds (:func:`npy_header`; None for another member): headers alone are
        read, a few bytes each (the maps of 582 images: 50 ms). ``RunError`` naming the file when it is missing,
        cannot be opened or a member asks for objects, which only pickle could read (found by review: such maps
        were listed with a healthy run); ``model``: said as the model that cannot be loaded."""
        try:
            members = zip_members(path)  # its own messages for a file that is not a zip archive or is cut short
            if path.suffix != ".npz":
                return dict.fromkeys(members)
            with zipfile.ZipFile(path) as packed:
                headers = {info.filename: npy_header(packed, info) for info in packed.infolist()}
        except FileNotFoundError:
            if model:
                raise RunError(f"the model in {path.parent} cannot be loaded ({path.name} is missing)") from None
            raise missing_run_file(path) from None
        except ARRAY_FILE_ERRORS as exc:  # a header cut short: EOFError; a damaged compressed one: zlib.error
            problem = str(exc) if isinstance(exc, (OSError, ValueError)) and str(exc) else array_file_problem(exc)
            if model:  # worded as when the model is loaded
                raise RunError(f"the model in {path.parent} cannot be loaded ({problem}: {path.name})") from exc
            raise RunError(f"{path} is damaged: {problem}") from exc
        if any(header and header[1].hasobject for header in headers.values()):  # only pickle could read them
            damaged = f"{path.name if model else path} is damaged: {NOT_VQI_ARRAYS}"
            raise RunError(f"the model in {path.parent} cannot be loaded: {damaged}" if model else damaged)
        return headers

    def _check_model(self) -> None:
        """``RunError`` when ``model.json`` does not parse or lacks what loading the model and normalising its
        maps read, disagrees with ``config.json`` or is not the file the run wrote (the SHA-256 ``config.json``
        records; it records the other model files' own), or when one of the model's files is missing or its array
        files cannot be opened (read from their table of contents: the model is not loaded)."""
        folder = self.path / MODEL_DIR
        meta = self._read_json(f"{MODEL_DIR}/{MODEL_JSON}")
        if (not isinstance(meta.get("method"), str) or not isinstance(meta.get("params"), dict)
                or not isinstance(meta.get("preprocessing"), dict)):
            raise RunError(f"{folder / MODEL_JSON} is damaged: no method, parameters or preprocessing")
        self._normalization(meta)
        try:
            saved_preprocessing(meta)  # as loading reads it (a hand edit listed the run, then failed to load it)
        except DamagedModel as exc:
            raise RunError(f"the model in {folder} cannot be loaded: {exc}") from None
        disagree = f"{self.path / CONFIG_FILE} or {folder / MODEL_JSON} is damaged (edited?)"  # not config alone
        if meta["method"] != self.config.get("method"):  # listed as one method, scoring as another (review)
            raise RunError(f"{disagree}: {CONFIG_FILE} names method {self.config.get('method')!r}, the model "
                           f"{meta['method']!r}")
        listed = self.config.get("params", meta["params"])  # a dict (checked with the config)
        if listed != meta["params"]:  # both written from the fitted model: shown as one setting, scoring with another
            differing = sorted(key for key in {*listed, *meta["params"]} if listed.get(key) != meta["params"].get(key))
            shown = "; ".join(f"{key}: {listed.get(key)!r} in {CONFIG_FILE}, {meta['params'].get(key)!r} in the "
                              f"model" for key in differing[:3])
            raise RunError(f"{disagree}: their settings differ ({shown}{'; ...' if len(differing) > 3 else ''})")
        self._check_model_json_digest()
        self._array_file_headers(folder / ARRAYS_FILE, model=True)
        if meta.get("fine_tuned_backbone"):
            self._array_file_headers(folder / BACKBONE_FILE, model=True)
        if meta.get("region") and not (folder / REGION_FILE).is_file():
            raise RunError(f"the model in {folder} cannot be loaded ({REGION_FILE} is missing)")

    @property
    def normalization(self) -> dict[str, float]:
        """The held-out good-image statistics that normalise this run's maps, read from ``model.json`` without
        loading the model; ``RunError`` naming the file when they cannot be read."""
        return self._normalization(self._read_json(f"{MODEL_DIR}/{MODEL_JSON}"))

    def _normalization(self, meta: dict[str, Any]) -> dict[str, float]:
        """:func:`~vqi_core.methods.base.saved_normalization` of the run's ``model.json`` ``meta``, worded as when
        the model is loaded."""
        try:
            return saved_normalization(meta)
        except DamagedModel as exc:
            raise RunError(f"the model in {self.path / MODEL_DIR} cannot be loaded: {exc}") from None

    @property
    def threshold_info(self) -> dict:
        """``{"threshold": float, "source": str}``, with ``saved_at``, ``reason`` and the earlier thresholds'
        ``history`` where they were recorded. Control characters in their texts (a tab pasted into a reason
        before reasons refused one) are given as escapes (``\\t``), so that no terminal or page runs them.
        ``RunError`` where the file is not the content whose SHA-256 it records (edited by hand: the threshold that
        decides every part had been taken as saved, under the last save's name and reason: audit review)."""
        info = self._read_json(THRESHOLD_FILE)
        _check_saved_content(self.path / THRESHOLD_FILE, info, self._records_digests, "the threshold in effect",
                             "thresholds are changed with `threshold --save` or on the Threshold page",
                             self._check_threshold_record)
        history = info.get("history", [])
        for entry in [info, *(history if isinstance(history, list) else [])]:  # a wrong history: threshold_history
            for key in THRESHOLD_TEXTS:
                if isinstance(entry, dict) and isinstance(entry.get(key), str):
                    entry[key] = escaped_controls(entry[key])
        return info

    def _records_digests(self, info: dict) -> bool:
        """Whether a saved record (``threshold.json``, ``box_level.json``; content ``info``) was written by a VQI
        that records its SHA-256: its history's entries record theirs, or the run was trained by one (its
        ``config.json`` names the source revision, recorded since the same day)."""
        history = info.get("history", [])
        return (any(isinstance(entry, dict) and CONTENT_DIGEST_KEY in entry for entry in history)
                if isinstance(history, list) else False) or "vqi_core source" in self.config.get("versions", {})

    @property
    def threshold_history(self) -> pd.DataFrame:
        """Every threshold the run has had, oldest first, the one in effect last: ``saved_at``, ``threshold``,
        ``source``, ``costs`` (the line's costs it was saved at, in words), ``reason`` and ``saved_by`` (empty where
        not recorded: runs trained before the history existed, thresholds saved before costs or names were
        recorded, the threshold set at training, a name not given)."""
        info = self.threshold_info
        history = self._check_threshold_record(info)
        return pd.DataFrame([{"saved_at": entry.get("saved_at", ""), "threshold": self._threshold_of(entry),
                              "source": entry.get("source", ""),
                              "costs": _costs_text(recorded_costs(entry), entry.get("costs_entered")),
                              "reason": entry.get("reason", ""), "saved_by": entry.get("saved_by", "")}
                             for entry in [*history, info]], columns=THRESHOLD_HISTORY_COLUMNS)

    def _check_threshold_record(self, info: dict) -> list[dict]:
        """``RunError`` saying what is wrong with ``threshold.json``'s content ``info`` (its history not a list of
        thresholds, a text that is none, a threshold that is no finite number); its history where nothing is."""
        history = info.get("history", [])
        if not isinstance(history, list) or not all(isinstance(entry, dict) for entry in history):
            raise RunError(f"{self.path / THRESHOLD_FILE} is damaged: its history is not a list of thresholds")
        for entry in [*history, info]:
            for key in THRESHOLD_TEXTS:
                if not isinstance(entry.get(key, ""), str):
                    raise RunError(f"{self.path / THRESHOLD_FILE} is damaged: a threshold's {key} is not a text")
            self._threshold_of(entry)
        return history

    def _threshold_of(self, entry: dict) -> float:
        value = entry.get("threshold")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise RunError(f"{self.path / THRESHOLD_FILE} is damaged: a threshold is {value!r}, not a finite "
                           f"number")
        return float(value)

    @property
    def description(self) -> str:
        """What the run is for and what was decided about it, as its users wrote it ("" when nothing was)."""
        path = self.path / DESCRIPTION_FILE
        if not path.is_file():
            return ""
        text = self._read_json(DESCRIPTION_FILE).get("text")
        if not isinstance(text, str):
            raise RunError(f"{path} is damaged: the description is not a text")
        if len(text) > MAX_DESCRIPTION_CHARS:
            raise RunError(f"{path} is damaged: the description has {len(text):,} characters, more than the "
                           f"{MAX_DESCRIPTION_CHARS:,} a description keeps")
        return escaped_controls(text, allowed="\n\t")  # as describe() refuses: one written before it did

    def describe(self, text: str) -> bool:
        """Replace the run's description (written atomically; an empty text removes it); False, writing nothing,
        where it is the description already (its time kept, so a run archive exported again keeps its SHA-256:
        archive review). ``ValueError`` for a text too long or holding a control character other than a line break
        or a tab (a terminal escape would garble the terminal where ``runs`` prints it)."""
        text = text.strip().replace("\r\n", "\n")
        if len(text) > MAX_DESCRIPTION_CHARS:
            raise ValueError(too_long("description", len(text), MAX_DESCRIPTION_CHARS))
        control = control_character(text, allowed="\n\t")
        if control is not None:
            raise ValueError(f"the description holds a control character ({control!r}): write plain text")
        path = self.path / DESCRIPTION_FILE
        with self._held_for_saving("its description was not saved"):
            if text == self.description:
                return False
            if text:
                write_json_atomic(path, {"text": text, "saved_at": local_time()}, create_folder=False,
                                  follow_link=False)
            else:
                path.unlink(missing_ok=True)
        return True

    @property
    def box_level_info(self) -> dict:
        """``{"level": float}`` with ``saved_at``, ``reason``, ``saved_by`` and the earlier levels' ``history`` where a
        level was saved; ``{"level": BOX_LEVEL}`` where none was (every run trained before box levels could be saved).
        ``RunError`` when the file holds no level above 0 (see :func:`checked_box_level`)."""
        if not (self.path / BOX_LEVEL_FILE).exists():
            return {"level": BOX_LEVEL}
        info = self._read_json(BOX_LEVEL_FILE)
        _check_saved_content(self.path / BOX_LEVEL_FILE, info, self._records_digests, "the box level in effect",
                             "box levels are changed with `boxes --save` or on the Threshold page's Boxes tab",
                             self._check_box_level_record)
        for entry in [*self._check_box_level_record(info), info]:
            for key in ("saved_at", "reason", "saved_by"):
                if key in entry:
                    entry[key] = escaped_controls(entry[key])
        return info

    def _check_box_level_record(self, info: dict) -> list[dict]:
        """``RunError`` saying what is wrong with ``box_level.json``'s content ``info`` (its history not a list of
        box levels, a level out of range, a text that is none); its history where nothing is."""
        path = self.path / BOX_LEVEL_FILE
        history = info.get("history", [])
        if not isinstance(history, list) or not all(isinstance(entry, dict) for entry in history):
            raise RunError(f"{path} is damaged: its history is not a list of box levels")
        for entry in [*history, info]:
            try:
                checked_box_level(entry.get("level"))
            except ValueError as exc:
                raise RunError(f"{path} is damaged: {exc}") from None
            for key in ("saved_at", "reason", "saved_by"):
                if not isinstance(entry.get(key, ""), str):
                    raise RunError(f"{path} is damaged: a box level's {key} is not a text")
        return history

    @property
    def box_level(self) -> float:
        """The normalised map level boxes are drawn above (1: the highest level any good image the maps were
        normalised with reached)."""
        return float(self.box_level_info["level"])

    def save_box_level(self, level: float, reason: str = "", saved_by: str = "") -> bool:
        """Store the level boxes are drawn above, atomically, with why and by whom (``saved_by``: a name; the level
        it replaces kept in its ``history``); False (nothing written) when it is the saved one already and no
        ``reason`` is given."""
        level, reason, saved_by = checked_box_level(level), checked_reason(reason), checked_name(saved_by)
        with self._held_for_saving("the box level was not saved"):
            previous = self.box_level_info
            if previous["level"] == level and not reason:
                return False
            history = [*previous.pop("history", []), previous]
            entry: dict[str, Any] = {"level": level, "saved_at": local_time(), "history": history}
            if reason:
                entry["reason"] = reason
            if saved_by:
                entry["saved_by"] = saved_by
            entry[CONTENT_DIGEST_KEY] = content_sha256(entry)  # a hand edit is told from a save, as a threshold's
            write_json_atomic(self.path / BOX_LEVEL_FILE, entry, create_folder=False, follow_link=False)
        return True

    @contextlib.contextmanager
    def _held_for_saving(self, not_saved: str) -> Iterator[None]:
        """Hold the run's lock while a save writes into it (a deletion waits for it: :meth:`RunStore.delete`);
        ``RunError`` ending in ``not_saved`` when the run was deleted before or while waiting, as writing would
        bring back a folder of its saved files alone."""
        gone = RunError(f"run {self.id} no longer exists in {self.path.parent}: {not_saved}")
        if not is_run_folder(self.path):  # deleted meanwhile (another tab): there is no folder to lock
            raise gone
        with locked(self.path):
            if not is_run_folder(self.path):  # deleted while waiting
                raise gone
            _remove_save_leftovers(self.path)  # of a save stopped by SIGKILL or a power cut
            yield

    @property
    def threshold(self) -> float:
        """The saved operating threshold (images with score >= it are defective)."""
        return self.saved_threshold[0]

    @property
    def saved_threshold(self) -> tuple[float, dict]:
        """The saved threshold and its record (:attr:`threshold_info`) from one reading of ``threshold.json``:
        read apart, a threshold saved in between would pair one threshold with another's source."""
        info = self.threshold_info
        return self._threshold_of(info), info

    @property
    def threshold_costs(self) -> LineCosts | None:
        """The line's costs assumed when the saved threshold was saved (its cost figures were worked out with
        them); None where none were recorded (the threshold training chose, or one saved before costs were
        recorded) or the recorded ones are not valid costs (a hand-edited file)."""
        return recorded_costs(self.threshold_info)

    @property
    def data_files_recorded(self) -> bool:
        """Whether the run recorded the files it learnt from and was tested on (``config.json``'s ``data_sha256``,
        ``data_manifest.csv``): False for runs trained before runs listed their files. Where it is True and
        :attr:`data_manifest` raises, the manifest is missing or damaged."""
        return bool(self.config.get("data_sha256")) or (self.path / MANIFEST_FILE).exists()

    @property
    def data_manifest(self) -> pd.DataFrame | None:
        """Every file the run learnt from and was tested on, with its SHA-256 (see
        :mod:`vqi_core.provenance`); None for runs trained before manifests existed (see
        :attr:`data_files_recorded`). ``RunError`` naming ``data_manifest.csv`` when it cannot be read, lacks
        its columns, or is missing from a run that recorded its files."""
        path = self.path / MANIFEST_FILE
        if not self.data_files_recorded:
            return None
        try:
            frame = self._read_manifest(dtype={"role": str, "file": str, "sha256": str}, columns_checked=False)
        except FileNotFoundError:
            raise missing_run_file(path) from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
            raise unreadable_table(path, exc) from exc
        return frame

    def _read_manifest(self, columns_checked: bool = True, **read: Any) -> pd.DataFrame:
        """``data_manifest.csv`` read with pandas' ``read`` options, its columns (unless ``columns_checked``) and
        its digest checked: ``RunError`` when it does not list the files ``config.json`` recorded (their count and
        the SHA-256 over them, :func:`~vqi_core.provenance.manifest_digest`): cut short or edited, it would name
        files the run used as added since, or vouch for files it did not use (review: never compared). A file name
        with a carriage return, which the manifest was written without quoting, is read as one row (review)."""
        path = self.path / MANIFEST_FILE
        frame = pd.read_csv(path, keep_default_na=False, **read)
        if not columns_checked:
            self._check_manifest_columns(frame.columns)
        problem = self._manifest_digest_problem(frame)
        if problem is not None and b"\r" in path.read_bytes():
            try:  # written with LF line ends before VQI quoted a carriage return: \r part of a name
                lines = pd.read_csv(path, keep_default_na=False, lineterminator="\n", **read)
                if self._manifest_digest_problem(lines) is None:
                    return lines
            except (KeyError, ValueError):  # not that either (a damaged manifest had raised pandas' KeyError: review)
                pass
        if problem is not None:
            raise RunError(f"{path} is damaged: {problem}; restore it from a copy of the run")
        return frame

    def _manifest_digest_problem(self, frame: pd.DataFrame) -> str | None:
        """How the manifest ``frame`` differs from the files ``config.json`` recorded; None where it lists them
        (or the run is from before the digest was recorded)."""
        recorded, count = self.config.get("data_sha256"), self.config.get("data_files")
        if not isinstance(recorded, str):
            return None
        listed = manifest_digest(frame.astype({"role": str, "file": str, "sha256": str}))
        files = counted(int(count), "file") if isinstance(count, int) and not isinstance(count, bool) else "files"
        if listed == recorded and not (isinstance(count, int) and count != len(frame)):
            return None
        return (f"it lists {counted(len(frame), 'file')} whose SHA-256 together is {listed[:12]}…, where "
                f"{CONFIG_FILE} recorded {files} with {recorded[:12]}… (cut short or edited)")

    def _check_manifest_columns(self, columns: Iterable[str]) -> None:
        present = set(columns)
        missing = [column for column in MANIFEST_COLUMNS if column not in present]
        if missing:
            raise RunError(f"{self.path / MANIFEST_FILE} is damaged: column {', '.join(missing)} missing")

    @property
    def scores(self) -> pd.DataFrame:
        """Per-image results of the evaluated test set (without threshold columns)."""
        if self._scores is None:
            frame = read_scores_file(self.path / SCORES_FILE)
            self._judged_at = frame["threshold"].unique().tolist() if "threshold" in frame else None
            self._scores = frame.drop(columns=[c for c in ("threshold", "prediction") if c in frame])
        return self._scores

    def predictions(self, threshold: float | None = None) -> pd.DataFrame:
        """Scores with threshold and prediction at ``threshold`` (default: the saved one)."""
        return predictions_frame(self.scores, self.threshold if threshold is None else threshold)

    @property
    def labels(self) -> np.ndarray:
        """True labels (0 good, 1 defective) of the evaluated images."""
        return label_values(self.scores)

    @property
    def score_values(self) -> np.ndarray:
        """Scores of the evaluated images."""
        return self.scores["score"].to_numpy(dtype=float)

    def anomaly_map(self, index: int) -> np.ndarray:
        """Raw anomaly map (float32, eval size) of evaluated image ``index``, from the maps file the run wrote
        (:meth:`_check_maps_digest`, on the first map read)."""
        value = self._read_map(index)
        if not self._maps_digest_checked:  # after the map's own checks, which say more of what is wrong with it
            self._check_maps_digest(self.path / MAPS_FILE)
            self._maps_digest_checked = True
        return value

    def _read_map(self, index: int) -> np.ndarray:
        """:meth:`anomaly_map` as the maps file holds it, checked to be an image's map (not against the digest)."""
        try:
            value = self._open_maps()[f"m{index:05d}"]
        except KeyError:
            raise RunError(f"{self.path / MAPS_FILE} is damaged: no map for image {index}") from None
        except ARRAY_FILE_ERRORS as exc:
            raise RunError(f"{self.path / MAPS_FILE} is damaged: {array_file_problem(exc)}") from exc
        if not isinstance(value, np.ndarray) or not holds_a_map(value.shape, value.dtype):  # no .npy: bytes
            raise RunError(f"{self.path / MAPS_FILE} is damaged: the map of image {index} is not an image's map")
        if np.isnan(value).any():  # boxes and figures quietly left such pixels out (bad-input review); an infinite
            raise RunError(f"{self.path / MAPS_FILE} is damaged: the map of image {index} holds values that are "
                           f"not numbers (NaN)")  # value is a score too high for the maps' float16, not damage
        return value.astype(np.float32)

    def _open_maps(self) -> NpzFile:
        if self._maps is None:
            path = self.path / MAPS_FILE
            try:
                maps = np.load(path, allow_pickle=False)
            except FileNotFoundError:
                raise missing_run_file(path) from None
            except ARRAY_FILE_ERRORS as exc:
                raise RunError(f"{path} is damaged: {array_file_problem(exc)}") from exc
            if not isinstance(maps, NpzFile):
                raise RunError(f"{path} is damaged: it holds one array, not the maps of the scored images")
            self._maps = maps
        return self._maps

    def _check_maps_digest(self, path: Path) -> None:
        """``RunError`` when the maps file is not the one the run wrote, by the SHA-256 ``config.json`` records
        (an earlier run, trained before it was recorded, holds none: its maps are unchecked): another run's maps, or
        maps edited, had been shown as this run's heatmaps and counted in its box and pixel figures (robustness
        review). Hashed once per state of the file and digest recorded (about 0.1 s for 582 maps)."""
        recorded = self.config.get("maps_sha256")
        signature = _files_signature([path])
        if recorded is None or (signature is not None and _verified_maps.get((path, recorded)) == signature):
            return
        try:
            found = file_sha256(path)
        except OSError as exc:
            raise RunError(f"{path} cannot be read: {exc.strerror or exc}") from exc
        if found != recorded:
            raise RunError(f"{path} is damaged: its maps are not the ones the run wrote (their SHA-256 is not the one "
                           f"{CONFIG_FILE} recorded), so its heatmaps, boxes and pixel figures would not be this "
                           f"run's; restore it from a copy, or train again")
        if signature is not None:
            if len(_verified_maps) >= MAX_PASSED_CHECKS:
                _verified_maps.clear()
            _verified_maps[path, recorded] = signature

    def test_image_digests(self) -> dict[str, str] | None:
        """SHA-256 of each test image the run evaluated, by its ``scores.csv`` name (``<defect_type>/<file>``),
        from the data manifest; None for a run trained before manifests existed."""
        if self._test_digests is None:
            digests = self._manifest_digests("test")
            if digests is None:
                return None
            self._test_digests = {file.removeprefix("test/"): digest for file, digest in digests.items()}
        return self._test_digests

    def _manifest_digests(self, role: str) -> dict[str, str] | None:
        """SHA-256 of each file of ``role`` (``test``, ``mask``) in the data manifest, by its path in the category
        folder; None for a run trained before manifests existed."""
        manifest = self.data_manifest
        if manifest is None:
            return None
        rows = manifest[manifest["role"] == role]
        return dict(zip(rows["file"].astype(str), rows["sha256"].astype(str)))

    def image(self, index: int) -> np.ndarray:
        """The evaluated image ``index`` (RGB uint8) read from its dataset path; ``ImageReadError`` when the file
        is no longer the one the run scored (its SHA-256 differs from the manifest's): its score and heatmap
        belong to the earlier file, and drawn over this one they would mislead."""
        path = self.data_path(self.scores["path"].iloc[index])
        data = read_file_bytes(path)
        recorded = (self.test_image_digests() or {}).get(self.scores["image"].iloc[index])
        if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
            raise ImageReadError(f"{path} has changed since the run scored it (not the file the run recorded): "
                                 f"its score and heatmap belong to the earlier file")
        return read_image(data, name=str(path), max_bytes=None,
                          bit_depth=self.config.get("params", {}).get("bit_depth", 16))

    def mask(self, index: int) -> np.ndarray | None:
        """Ground-truth mask at full image size, or None where the image has none (:meth:`read_recorded_mask`)."""
        mask_path = self.scores.iloc[index].get("mask_path")
        return self.read_recorded_mask(mask_path) if isinstance(mask_path, str) and mask_path else None

    def read_recorded_mask(self, recorded: str) -> np.ndarray:
        """The ground-truth mask the run recorded at ``recorded`` (a ``scores.csv`` mask path), read where
        :meth:`data_path` says; ``ImageReadError`` when it is no longer the file the run was evaluated with (its
        SHA-256 differs from the manifest's): a mask blanked after training had silently changed the box and pixel
        figures, and the outline drawn (robustness review)."""
        path = self.data_path(recorded)
        expected = self.mask_digests().get(relative_name(Path(recorded), Path(str(self.config.get("dataset", "")))))
        try:
            found = file_sha256(path) if expected is not None else None
        except OSError:  # said as reading it says it
            found = None
        if found is not None and found != expected:
            raise ImageReadError(f"{path} has changed since the run was evaluated with it (not the mask the run "
                                 f"recorded), so it is not used: the figures the run counted with it belong to the "
                                 f"earlier file")
        return read_mask(path)

    def mask_digests(self) -> dict[str, str]:
        """SHA-256 of each ground-truth mask the run was evaluated with, by its path in the category folder
        (``ground_truth/<type>/<name>``), from the data manifest; empty for a run trained before manifests."""
        if self._mask_digests is None:
            self._mask_digests = self._manifest_digests("mask") or {}
        return self._mask_digests

    def data_path(self, recorded: str) -> str:
        """Where a test image or mask the run recorded at ``recorded`` is read from: inside :attr:`dataset`
        when one is given, at the same place relative to the category folder."""
        if self.dataset is None:
            return recorded
        try:
            return str(self.dataset / Path(recorded).relative_to(str(self.config.get("dataset", ""))))
        except ValueError:  # not inside the folder the run recorded: read where it was
            return recorded

    def images_moved_to(self, folder: str | None) -> str | None:
        """``folder``, a category folder to read the run's test images from when the one it found them in is not
        here: where it is another folder and holds the run's first test image at the same place (each image is
        still checked against the run's record of it); None otherwise, and for a run without test images."""
        if folder is None or folder == self.config.get("dataset") or self.scores.empty \
                or Path(str(self.config.get("dataset", ""))).is_dir():
            return None
        recorded = str(self.scores["path"].iloc[0])
        first = Run(self.path, Path(folder)).data_path(recorded)
        return folder if first != recorded and Path(first).is_file() else None

    def _check_model_json_digest(self) -> None:
        """``RunError`` when ``model.json`` is not the file the run recorded the SHA-256 of (runs since 2026-12-06;
        an earlier run's is not checked)."""
        recorded = self.config.get("model_sha256")
        path = self.path / MODEL_DIR / MODEL_JSON
        if recorded is not None and file_sha256(path) != recorded:  # e.g. its preprocessing edited: listed as
            raise RunError(f"{path} is damaged: it has changed since the run was trained (its SHA-256 is not the one "
                           f"{CONFIG_FILE} recorded), so the model would not score as the run's figures say; restore "
                           f"it from a copy, or train again")  # sound, every verdict changed (review)

    def load_model(self) -> AnomalyModel:
        """The fitted model of this run; ``RunError`` saying why when its files cannot be loaded or ``model.json``
        is not the one the run was trained with."""
        folder = self.path / MODEL_DIR
        try:
            self._check_model_json_digest()  # the Python API's load, too (API review: only the checks verified it)
        except OSError as exc:
            raise RunError(f"the model in {folder} cannot be loaded ({exc})") from exc
        try:
            return load_model(folder)
        except DamagedModel as exc:  # says which file and what is wrong with it
            raise RunError(str(exc)) from exc
        except (*ARRAY_FILE_ERRORS, KeyError, TypeError, RuntimeError) as exc:
            raise RunError(f"the model in {folder} cannot be loaded ({array_file_problem(exc)})") from exc

    @property
    def region(self) -> InspectionRegion | None:
        """The run's inspection region (see :mod:`vqi_core.region`), or None when it inspects whole images."""
        path = self.path / MODEL_DIR / REGION_FILE
        return InspectionRegion.read(path, (self.config.get("region") or {}).get("source")) if path.is_file() else None

    def save_threshold(self, threshold: float, source: str = "user", reason: str = "",
                       interrupted: list[int] | None = None, costs: LineCosts | None = None,
                       saved_by: str = "", costs_entered: Collection[str] | None = None) -> bool:
        """Store a new operating threshold and rewrite ``scores.csv``'s predictions, each file atomically; False
        (nothing written) when ``threshold`` is the saved one already and no ``reason`` is given. ``costs``: the
        line's costs its cost figures were shown with, recorded beside it (:attr:`threshold_costs`), with which of
        them were entered (``costs_entered``, names of :data:`COST_FIELDS`, where known); ``saved_by``:
        who saves it, a name kept beside it (an audit trail says who changed a decision, not only when).

        The threshold it replaces moves into the threshold's history (see :attr:`threshold_history`), with
        ``reason``, why it changed, kept beside the new one. Ctrl+C and SIGTERM wait while the two files are
        written (not while another save holds the run): one received then is appended to ``interrupted``, or,
        without it, raised as ``KeyboardInterrupt`` once both are written.
        """
        if not np.isfinite(threshold):
            raise ValueError("threshold must be a finite number")
        reason, saved_by = checked_reason(reason), checked_name(saved_by)
        with self._held_for_saving("the threshold was not saved"):  # another save meanwhile would otherwise drop
            previous = self.threshold_info  # this one's entry or the other's
            if previous.get("threshold") == float(threshold) and not reason and not set_at_training(previous):
                return False  # a history row that changes nothing would only hide the real changes (choosing the
                # threshold the run was trained with is a change: it has been chosen now)
            history = [*previous.pop("history", []), previous]
            scores = record_csv(self.predictions(threshold))
            received: list[int] = []
            self._scores = None  # written below: read again when next used
            with interrupts_held(received):  # scores.csv and threshold.json agree, whatever stops the command
                write_bytes_atomic(self.path / SCORES_FILE, scores, create_folder=False, follow_link=False)
                write_json_atomic(self.path / THRESHOLD_FILE,
                                  threshold_entry(threshold, source, reason, history, costs, saved_by,
                                                  costs_entered),
                                  create_folder=False, follow_link=False)
        if received and interrupted is None:
            raise KeyboardInterrupt
        if interrupted is not None:
            interrupted += received
        return True


def _remove_save_leftovers(folder: Path) -> None:
    """Remove the temporary files (:func:`write_bytes_atomic`'s) of a save stopped in ``folder`` (a threshold, a box
    level, a description); for the run's lock holder only: a save in progress writes them."""
    for name in (SCORES_FILE, THRESHOLD_FILE, BOX_LEVEL_FILE, DESCRIPTION_FILE):
        for leftover in folder.glob(f".{name}.*"):
            leftover.unlink(missing_ok=True)


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def readable_runs(runs: Iterable[Run]) -> list[Run]:
    """The runs whose files can be read (:meth:`Run.problem` is None; each run's small files are read), in order."""
    return [run for run in runs if run.problem() is None]


def write_protected_folder(folder: Path) -> Path | None:
    """The first folder in ``folder`` (itself included, symbolic links not followed) whose entries this process
    may not list, remove or add, or that its owner may not write by its mode bits (``chmod -w``: someone froze
    it, which root, who may write anyway, honours too); None when everything in it can be removed."""
    def protected(path: Path) -> bool:
        return not os.access(path, os.R_OK | os.W_OK | os.X_OK) or not path.stat().st_mode & stat.S_IWUSR

    if protected(folder):
        return folder
    for directory, subfolders, _ in os.walk(folder):
        for name in subfolders:
            path = Path(directory, name)
            if not path.is_symlink() and protected(path):
                return path
    return None


def label_values(scores: pd.DataFrame) -> np.ndarray:
    """0 (good) / 1 (defective) per row of a ``scores.csv`` frame, from its ``label`` column."""
    return (scores["label"] == "defective").to_numpy().astype(int)


def escaped_controls(text: str, allowed: str = "") -> str:
    """``text`` with each control character not in ``allowed`` written as its escape (``\\x1b``, ``\\t``): text
    read from a run's files, printed as it is, could move a terminal's cursor and overwrite what was printed."""
    return "".join(repr(char)[1:-1] if _is_control(char) and char not in allowed else char for char in text)


#: characters that reorder or break the text around them where it is shown: bidirectional embeddings, overrides
#: and isolates, and the line and paragraph separators ("approved\u202e gnidnep ton" reads "approved not pending" in
#: a bidi-aware terminal: bad-input review). The direction marks (U+200E, U+200F, U+061C), which Hebrew and Arabic
#: keyboards type and which cannot turn a text around, are text.
TEXT_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def _is_control(char: str) -> bool:
    return ord(char) < 32 or 127 <= ord(char) < 160 or char in TEXT_DIRECTION_CONTROLS


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character of ``text`` not in ``allowed``, None when there is none: a line break or a
    terminal escape would garble a terminal or a one-line listing where the text is printed."""
    return next((char for char in text if _is_control(char) and char not in allowed), None)


def checked_box_level(level: object) -> float:
    """``level`` as a box level: a number from :data:`MIN_BOX_LEVEL` to :data:`MAX_BOX_LEVEL` (``ValueError``
    otherwise: at 0 or below every pixel of every image would be one box)."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not MIN_BOX_LEVEL <= level <= MAX_BOX_LEVEL:
        raise ValueError(f"a box level is a number from {MIN_BOX_LEVEL:g} to {MAX_BOX_LEVEL:g}, not {level!r}")
    return float(level)


def too_long(what: str, length: int, most: int) -> str:
    """Why a text of ``length`` characters is refused where ``most`` are allowed: nothing of it is kept (browser
    review: "at most 2,000 are kept" read as if 2,000 had been)."""
    return (f"a {what} may have at most {most:,} characters, and this one has {length:,}: shorten it by "
            f"{length - most:,}")


#: the most characters of a name kept with a save (:func:`checked_name`)
MAX_NAME_CHARS = 100


def checked_name(name: str) -> str:
    """The name of who saves a threshold or a box level, as :func:`checked_reason` checks a reason, at most
    :data:`MAX_NAME_CHARS` characters."""
    return _checked_line(name, "name", MAX_NAME_CHARS)


def checked_reason(reason: str) -> str:
    """A threshold's reason, stripped; ``ValueError`` when it is longer than ``MAX_REASON_CHARS`` or holds a
    control character (a line break or a terminal escape would garble the history where it is printed)."""
    return _checked_line(reason, "reason", MAX_REASON_CHARS)


def _checked_line(text: str, what: str, most: int) -> str:
    """``text`` kept with a save (its ``what``: a reason, a name), stripped; ``ValueError`` when it is longer than
    ``most`` characters or holds a control character."""
    text = text.strip()
    if len(text) > most:
        raise ValueError(too_long(what, len(text), most))
    if (control := control_character(text)) is not None:
        raise ValueError(f"the {what} holds a control character ({control!r}): write it on one line of plain text")
    return text


def array_file_problem(exc: BaseException) -> str:
    """What is wrong with a file that numpy (or the model loader) could not read, in words. numpy's own message
    for an array file that is not what it expects suggests unpickling it: that would run whatever it holds."""
    if isinstance(exc, ValueError) and "pickle" in str(exc):
        return NOT_VQI_ARRAYS
    if isinstance(exc, MemoryError):  # numpy refuses the allocation its header asks for before reading anything
        return "an array in it needs more memory than this computer can give (a damaged file can claim that too)"
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__


#: what is said of a file that is not an array file VQI wrote (not a zip archive, or an array of objects)
NOT_VQI_ARRAYS = "not an array file written by VQI (damaged or replaced)"
#: the shape and type an ``.npy`` array's header says it holds
NpyHeader = tuple[tuple[int, ...], np.dtype]


def holds_a_map(shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """Whether an array of ``shape`` and ``dtype`` can be an image's anomaly map (2-D, numbers), the one rule for
    a map read and for the header the run's check reads."""
    return len(shape) == 2 and dtype.kind in "fiu"


def npy_header(packed: zipfile.ZipFile, info: zipfile.ZipInfo) -> NpyHeader | None:
    """The shape and type the ``.npy`` member ``info`` of an array file says it holds, read from its header alone;
    None for another member or one without the ``.npy`` prefix (numpy reads those as the bytes they are).
    ``ValueError`` for a header numpy cannot read."""
    if not info.filename.endswith(".npy"):
        return None
    with packed.open(info) as member:
        if member.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
            return None
        version = tuple(member.read(2))
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"{info.filename} is not an array written by VQI (.npy version {version})")
    return shape, dtype


def zip_members(path: Path) -> list[str]:
    """The member names of the zip archive ``path`` (an ``.npz`` file, a torch file), read from its table of
    contents at its end: nothing is decompressed. ``FileNotFoundError`` when it is missing; ``ValueError`` saying
    what is wrong when it is not a zip archive or is cut short."""
    with open(path, "rb") as handle:
        if handle.read(4) not in ZIP_PREFIXES:
            raise ValueError(NOT_VQI_ARRAYS)
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                return archive.namelist()
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise ValueError(f"table of contents unreadable, as in a file cut short ({array_file_problem(exc)})"
                             ) from exc


def _files_signature(paths: Iterable[Path]) -> tuple | None:
    """Inode, size, modification and change time of each file (None where missing): equal as long as no file
    was written, replaced, created or removed; None when a file changed less than :data:`RACY_SECONDS` ago, or
    cannot be looked at."""
    signature: list[tuple[int, int, int, int] | None] = []
    recent = time.time_ns() - int(RACY_SECONDS * 1e9)
    for path in paths:
        try:
            info = path.stat()
        except FileNotFoundError:
            signature.append(None)
            continue
        except OSError:
            return None
        if max(info.st_mtime_ns, info.st_ctime_ns) > recent:
            return None
        signature.append((info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return tuple(signature)


def _objects_with_texts(value: Any, *keys: str) -> bool:
    """Whether ``value`` is a list of JSON objects, each with a text under every one of ``keys``."""
    return isinstance(value, list) and all(
        isinstance(entry, dict) and all(isinstance(entry.get(key), str) for key in keys) for entry in value)


def _split_check_problem(check: Any) -> str | None:
    """What is wrong with ``report.json``'s ``split_check`` (see :meth:`vqi_core.split_check.SplitCheck.to_dict`)
    for its readers (the run tables, Inspect, the report, the benchmark); None when nothing is."""
    if not isinstance(check, dict):
        return '"split_check" is not an object'
    for key in ("copies_of_train", "repeats_in_test"):
        if not _objects_with_texts(check.get(key, []), "test", "copy"):
            return f'"split_check.{key}" is not a list of test images ("test") with the image they copy ("copy")'
    if not _objects_with_texts(check.get("look_alikes", []), "test", "look_alike"):
        return '"split_check.look_alikes" is not a list of test images ("test") with their look-alike ("look_alike")'
    summary = check.get("look_alike_summary", {})
    if not isinstance(summary, dict) or not all(
            isinstance(entry, dict) and finite_number(entry.get("images")) and entry["images"] > 0
            and finite_number(entry.get("with_look_alike")) for entry in summary.values()):
        return '"split_check.look_alike_summary" is not a count of images ("images", "with_look_alike") per label'
    cues = check.get("capture_cues", [])
    if not _objects_with_texts(cues, "cue") or not all(finite_number(cue.get("auroc")) for cue in cues):
        return '"split_check.capture_cues" is not a list of cues ("cue") with their AUROC ("auroc")'
    if not all("p_value" not in cue or finite_number(cue["p_value"]) for cue in cues):  # none: an older run's
        return '"split_check.capture_cues" holds a p-value ("p_value") that is not a number'
    return None


def report_problem(report: dict) -> str | None:
    """What is wrong with the content of a run's ``report.json`` for the pages and commands that read it, in
    words; None when nothing is. Every entry may be absent (runs from before it existed)."""
    if not _objects_with_texts(report.get("skipped", []), "file", "reason"):
        return '"skipped" is not a list of files left out, each with its "file" and "reason"'
    if not _is_list_of_texts(report.get("notes", [])):
        return '"notes" is not a list of texts'
    check = report.get("split_check")
    if check is not None and (problem := _split_check_problem(check)) is not None:
        return problem
    ranges = report.get("training_capture_ranges")
    if ranges is not None and not (isinstance(ranges, dict) and all(
            isinstance(bounds, list) and len(bounds) == 2 and all(finite_number(bound) for bound in bounds)
            for bounds in ranges.values())):
        return '"training_capture_ranges" is not the lowest and highest value of each statistic'
    if not _is_list_of_texts(report.get("training_file_formats", [])):
        return '"training_file_formats" is not a list of file formats'
    depths = report.get("training_bit_depths", [])
    if not (isinstance(depths, list) and all(depth in (8, 16) and not isinstance(depth, bool) for depth in depths)):
        return '"training_bit_depths" is not a list of the bit depths 8 and 16'
    if not _is_list_of_texts(report.get("normalisation_images", [])):
        return '"normalisation_images" is not a list of file names'
    return None


def _is_list_of_texts(value: Any) -> bool:
    """Whether ``value`` is a list of strings."""
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _costs_text(costs: LineCosts | None, entered: Any = None) -> str:
    """Recorded costs as the threshold history gives them: VQI's defaults said as such, as the cost figures say
    them (a threshold saved without costs had read as if someone had entered 1, 10 and 1 %: numbers review); not
    where the entry records that any of them was entered (``costs_entered``: the command line's defaults typed
    in had read as "VQI's defaults": command review)."""
    if costs is None:
        return ""
    typed = _is_list_of_texts(entered) and bool(entered)
    return f"VQI's defaults: {costs.summary()}" if costs == LineCosts() and not typed else costs.summary()


def recorded_costs(entry: dict) -> LineCosts | None:
    """The line's costs a ``threshold.json`` entry (the threshold in force, or one of its history) was saved at;
    None where none were recorded or they are not valid costs (a hand-edited file)."""
    costs = entry.get("costs")
    if not isinstance(costs, dict):
        return None
    try:
        return LineCosts(*(costs[name] for name in COST_FIELDS))
    except (KeyError, TypeError, ValueError):
        return None


def costs_changed(costs: LineCosts | None, saved_costs: LineCosts | None) -> set[str]:
    """The cost fields (:data:`COST_FIELDS`) of ``costs`` that differ from where the Threshold page's fields start,
    the saved threshold's costs (VQI's defaults where none were saved): those typed in."""
    start = saved_costs or LineCosts()
    return {name for name in COST_FIELDS if costs is not None and getattr(costs, name) != getattr(start, name)}


def costs_typed_in(entered: set[str], saved_costs: LineCosts | None, saved_entry: dict) -> set[str] | None:
    """Which of the costs a threshold is saved with were typed in (recorded with it): those ``entered`` now, and
    those carried over from the saved threshold's costs that were typed in for it (code review: carried-over
    typed-in defaults were called VQI's defaults in the history); None where that is not known (the saved
    threshold records costs but not which were typed in)."""
    if saved_costs is None or entered >= set(COST_FIELDS):
        return entered
    typed_before = saved_entry.get("costs_entered")
    return entered | set(typed_before) if isinstance(typed_before, list) else None


def saved_costs_typed(entry: dict, costs: LineCosts) -> set[str] | None:
    """For :func:`~vqi_core.thresholds.costs_assumed` of ``costs`` shown with a saved threshold's
    ``threshold.json`` ``entry``: none entered now (an empty set) where they are the costs it was saved at and it
    records that some of them were typed in (``costs_entered``), so that they are not called VQI's defaults (code
    review: the report called typed-in defaults so); None (not known) otherwise."""
    typed = entry.get("costs_entered")
    return set() if isinstance(typed, list) and typed and costs == recorded_costs(entry) else None


def saved_costs_entered(entry: dict) -> set[str] | None:
    """Which of the costs a ``threshold.json`` ``entry`` was saved at were entered then (its ``costs_entered``, of
    :data:`COST_FIELDS`); None where that was not recorded."""
    typed = entry.get("costs_entered")
    return {name for name in typed if name in COST_FIELDS} if isinstance(typed, list) else None


def _check_saved_content(path: Path, info: dict, expected: Callable[[dict], bool], in_effect: str, how_changed: str,
                         check_record: Callable[[dict], object]) -> None:
    """``RunError`` where a saved record (``threshold.json``, ``box_level.json``) is not the content whose SHA-256 it
    records (a hand edit had been taken as a save, under the last save's name and reason: report review), or records
    none where one is ``expected`` (its digest removed with the edit: code review; asked only of a record without
    one, as it may read the run's ``config.json``): what ``check_record`` finds wrong with its content first, where
    it finds something (more telling than the digest); records from before 2026-12-07 hold none and are not
    checked."""
    recorded = info.get(CONTENT_DIGEST_KEY)
    if (recorded is not None or expected(info)) and recorded != content_sha256(info):
        check_record(info)
        raise RunError(f"{path} is damaged or was edited by hand: its content is not the one VQI saved (whose "
                       f"SHA-256 it records), so neither {in_effect} nor its history can be trusted; restore it from "
                       f"a copy (a run archive holds one), or train again ({how_changed})")


def threshold_entry(threshold: float, source: str, reason: str = "", history: list[dict] | None = None,
                    costs: LineCosts | None = None, saved_by: str = "",
                    costs_entered: Collection[str] | None = None) -> dict:
    """The content of ``threshold.json``: the threshold, where it came from, when (local time with its UTC
    offset), why and by whom it was saved, the line's costs assumed then (with ``costs_entered``, which of
    :data:`COST_FIELDS` were entered for it, where that is known), and the thresholds before it."""
    entry: dict[str, Any] = {"threshold": float(threshold), "source": source,
                             "saved_at": local_time()}
    if reason:
        entry["reason"] = reason
    if saved_by:
        entry["saved_by"] = saved_by
    if costs is not None:
        entry["costs"] = {name: float(getattr(costs, name)) for name in COST_FIELDS}
        if costs_entered is not None:
            entry["costs_entered"] = [name for name in COST_FIELDS if name in costs_entered]
    if history:
        entry["history"] = history
    entry[CONTENT_DIGEST_KEY] = content_sha256(entry)  # a hand edit is told from a save (audit review)
    return entry


class RunStore:
    """A folder of runs."""

    def __init__(self, root: Path | str):
        self.root = home_expanded(root)  # "~/runs" as the command line takes it (API review)

    def list(self) -> list[Run]:
        """Completed runs, newest first; incomplete and foreign folders are ignored."""
        if self.root.exists() and not self.root.is_dir():
            raise RunError(f"the runs folder {self.root} is a file, not a folder")
        if not self.root.is_dir():
            return []
        runs = []
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            try:
                runs.append(Run(folder))
            except RunError:
                continue
        return sorted(runs, key=lambda run: run.id, reverse=True)

    def incomplete_folders(self) -> tuple[Path, ...]:
        """Visible folders that hold part of a run (its ``config.json``, ``scores.csv`` or model) but not a complete
        one, sorted: a run whose ``metrics.json`` or ``config.json`` was removed by hand. :meth:`list` leaves them
        out and :meth:`delete` refuses them (a folder that is not a run may hold anything); they are named so that
        they can be found."""
        if not self.root.is_dir():
            return ()
        return tuple(sorted(folder for folder in self.root.iterdir()
                            if not folder.name.startswith(".") and folder.is_dir() and not is_run_folder(folder)
                            and any((folder / name).exists() for name in (CONFIG_FILE, SCORES_FILE, MODEL_DIR))))

    def staging_folders(self) -> tuple[Path, ...]:
        """The hidden folders in which runs are built or imported, or that interrupted commands left (sorted):
        :meth:`remove_leftovers` removes them once :data:`STALE_STAGING_SECONDS` old; a listing names them, as
        a killed import of a large run leaves a copy of all of it."""
        if not self.root.is_dir():
            return ()
        return tuple(sorted(folder for folder in self.root.iterdir()
                            if folder.name.startswith(INCOMPLETE_PREFIX) and folder.is_dir()))

    def check_not_in_a_run(self) -> None:
        """``RunError`` when the runs folder is a run folder or lies inside one: a run written there would be
        carried along by that run's export and deleted with it."""
        inside = run_folder_holding(self.root)
        if inside is not None:
            what = "a run folder" if inside == self.root.resolve() else f"inside the run folder {inside}"
            raise RunError(f"{self.root} is {what}, not a runs folder: give the folder that holds the runs, e.g. "
                           f"{inside.parent}")

    def check_writable(self) -> None:
        """Create the runs folder if needed; ``RunError`` when it is a file, a run folder (or inside one), a dataset
        category's folder or lies inside one, or cannot be written."""
        self.check_not_in_a_run()
        if (holding := category_holding(self.root)) is not None:  # found by review: a test/<run id> defect type
            raise RunError(f"the runs folder {self.root} is inside the {holding[1]} folder of the dataset category "
                           f"{holding[0]}: each run written there would be read as that category's images (in test, "
                           f"a defect type of its own); give a runs folder outside the category")
        if (category := category_around(self.root)) is not None:  # its runs were listed as its folders (review)
            where = "the folder of" if category == self.root.resolve() else "inside"
            raise RunError(f"the runs folder {self.root} is {where} the dataset category {category}: its runs would "
                           f"be listed among the category's folders; give a runs folder outside the category")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise RunError(f"the runs folder {self.root} is a file, not a folder") from None
        except OSError as exc:
            raise RunError(f"the runs folder {self.root} cannot be created: {exc.strerror or exc}") from exc
        if (reason := unwritable_reason(self.root)) is not None:
            raise RunError(f"the runs folder {self.root} cannot be written ({reason})")

    def run_name(self, run_id: str) -> str:
        """``run_id`` as the name of a run folder in this store; a path to a folder directly in it (as a shell's
        completion gives, with its trailing slash) is taken as that folder's name. ``RunError`` for anything else
        (another folder's path, ``..``, a hidden name)."""
        path = Path(run_id)
        if run_id and path.name and (path.parent == Path(".") or path.parent.resolve() == self.root.resolve()):
            run_id = path.name
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise RunError(f"{run_id!r} is not a run id (a run folder's name in {self.root})")
        return run_id

    def get(self, run_id: str) -> Run:
        """The run named ``run_id`` (see :meth:`run_name`)."""
        return Run(self.root / self.run_name(run_id))

    def delete(self, run_id: str) -> str:
        """Remove a run folder (renamed aside first, so a half-deleted run never lists) and return its name (see
        :meth:`run_name`); a folder that is not a
        run (no ``config.json`` and ``metrics.json``) is refused, whatever it holds, and so is a write-protected
        run (one of its folders read-only: someone froze it), which would otherwise vanish from the list but stay
        on disk, half deleted."""
        try:
            folder = self.get(run_id).path
        except RunError as exc:
            raise RunError(f"no run {run_id!r} in {self.root}, nothing deleted: {exc}") from None
        run_id = folder.name
        if folder.is_symlink():  # the rename aside failed with a raw "[Errno 21] Is a directory" (run-integrity review)
            raise RunError(f"run {run_id} is a link to {os.readlink(folder)}, nothing deleted: remove the link by hand "
                           f"to take the run off this list, or delete the run in the runs folder that holds it")
        protected = write_protected_folder(folder)
        if protected is not None:
            raise RunError(f"run {run_id} is write-protected ({protected} is read-only), nothing deleted: make it "
                           f"writable first if it should go")
        with locked(folder):  # a save writing into the run finishes first; one waiting then finds it gone
            trash = Path(tempfile.mkdtemp(prefix=f"{DELETED_PREFIX}{run_id}-", dir=self.root))
            try:
                os.replace(folder, trash)  # onto the new empty folder: never collides with an earlier leftover
            except OSError as exc:
                trash.rmdir()
                raise RunError(f"could not delete run {run_id}: {exc}") from exc
        self.remove_leftovers()  # the renamed-aside folder, and any earlier one that could not be removed
        return run_id

    def remove_leftovers(self, stale_after_s: float = STALE_STAGING_SECONDS) -> None:
        """Remove what interrupted processes left: unfinished deletions, and staging folders older
        than ``stale_after_s`` (younger ones may belong to a run being saved right now); and uploaded
        inspection regions older than that (a run keeps its own copy; the Train page stores an upload again
        when it trains with it).

        A folder that cannot be removed is logged and kept.
        """
        if not self.root.is_dir():
            return
        now = time.time()
        for upload in (self.root / REGIONS_FOLDER).glob("*.png"):
            try:
                if now - upload.stat().st_mtime > stale_after_s:
                    upload.unlink()
            except FileNotFoundError:  # removed meanwhile by another process
                continue
        for folder in self.staging_folders():
            try:
                abandoned = folder.name.startswith(DELETED_PREFIX) or now - folder.stat().st_mtime > stale_after_s
            except FileNotFoundError:  # removed meanwhile by another process
                continue
            if not abandoned:
                continue
            failures: list[str] = []
            shutil.rmtree(folder, onerror=lambda _function, path, info: (
                None if issubclass(info[0], FileNotFoundError) else failures.append(path)))
            if failures:
                log.warning("could not remove the leftover %s (%d entries)", folder, len(failures))

    def new_staging_folder(self, run_id: str) -> Path:
        """A hidden folder in which a run is built before :meth:`publish` (with the permissions of a folder
        created the usual way, not the private ones of a temporary folder)."""
        self.root.mkdir(parents=True, exist_ok=True)
        received: list[int] = []
        with interrupts_held(received):  # an interrupt between creating it and handing it over left it behind
            staging = Path(tempfile.mkdtemp(prefix=f"{INCOMPLETE_PREFIX}{run_id}-", dir=self.root))
            staging.chmod(_default_modes()[1])
        if received:
            staging.rmdir()
            raise KeyboardInterrupt
        return staging

    def publish(self, staging: Path, run_id: str) -> Run:
        """Move a fully written staging folder into place as run ``run_id``, Ctrl+C and SIGTERM held off meanwhile:
        one received then raises :class:`InterruptedOnceWritten` (a ``KeyboardInterrupt``) with the run."""
        target = self.root / run_id
        if target.exists():
            raise RunError(f"run {run_id} already exists")
        synced_to_disk(staging)  # a power cut after the rename cannot leave a listed run with cut-short files
        received: list[int] = []
        with interrupts_held(received):
            os.replace(staging, target)
            _sync_folder_entry(self.root)
            run = Run(target)
        if received:
            raise InterruptedOnceWritten(run)
        return run


def synced_to_disk(folder: Path) -> None:
    """Flush every file under ``folder``, and the folders' entries, to the disk (found by review: the model's
    arrays and the maps were written without it, so a power cut just after a run was published could leave it
    listed with files cut short)."""
    for path in [folder, *sorted(folder.rglob("*"))]:  # one walk of the folder
        if path.is_symlink():
            continue
        if path.is_dir():
            _sync_folder_entry(path)
        elif path.is_file():
            descriptor = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)  # Windows flushes writable ones
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _sync_folder_entry(folder: Path) -> None:
    """Flush ``folder``'s own entries (files renamed or created in it) to the disk, where the system allows a
    folder to be opened (not on Windows)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def save_maps(path: Path, maps: list[np.ndarray]) -> None:
    """Store anomaly maps as compressed float16 arrays keyed ``m<index>`` (a value above float16's 65,504 is kept
    as infinity, without numpy's overflow warning: a map that high is simply very high)."""
    with np.errstate(over="ignore"):
        stored = {f"m{i:05d}": m.astype(STORED_MAP_DTYPE) for i, m in enumerate(maps)}
    np.savez_compressed(path, allow_pickle=False, **stored)


def ground_truth_masks(scores: pd.DataFrame, maps: list[np.ndarray], unreadable: list[str] | None = None,
                       read: Callable[[str], np.ndarray] | None = None) -> list[np.ndarray | None]:
    """One mask per image at its map's size: empty for good images, None where a defect's mask is unknown.

    A mask file that cannot be read raises ``ImageReadError``; with ``unreadable`` given, it is left out
    (None) and its problem appended there instead (a view that should still show the other images). ``read``:
    reads the mask at a ``mask_path`` (a run's :meth:`Run.read_recorded_mask` checks it is the one it recorded;
    default :func:`~vqi_core.images.read_mask`).
    """
    read = read or read_mask
    masks: list[np.ndarray | None] = []
    for (_, row), anomaly_map in zip(scores.iterrows(), maps):
        if row["label"] == "good":
            masks.append(np.zeros(anomaly_map.shape, bool))
        elif isinstance(row.get("mask_path"), str) and row["mask_path"]:
            try:
                masks.append(mask_to_eval_size(read(row["mask_path"]), anomaly_map.shape))
            except ImageReadError as exc:
                if unreadable is None:
                    raise
                unreadable.append(str(exc))
                masks.append(None)
        else:
            masks.append(None)
    return masks

