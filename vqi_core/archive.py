"""Run archives: a whole run folder as one ``.zip``, to move a validated model to the line's machine.

The archive holds the run exactly as saved (model, scores, maps, threshold, reports, data manifest) under
one folder named after the run. Importing one is careful with a file that comes from elsewhere: every
member must be one of a run's own files (:data:`~vqi_core.runs.RUN_FILES`) inside that folder (no absolute paths,
``..``, links or other files), the unpacked size and the
number of files are bounded, and so is what its array files say they hold once read (a compressed array
or zip member can claim a thousand times its packed size), the run's own files must be there, and the
model must load (from JSON and arrays only, never unpickling) before the run is listed; until then it is
built in a hidden staging folder, so a failed import leaves nothing behind.

The SHA-256 digests inside a run catch damage, not a deliberate edit: whoever edits a file can edit its
digest too. To know that a run is the one that was approved, compare the archive's own SHA-256
(:func:`archive_sha256`, printed on export and import) with the one recorded when it was approved.
"""

from __future__ import annotations

import errno
import io
import shutil
import stat
import unicodedata
import zipfile
import zlib
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pandas as pd

from .backbones import backbone_available
from .methods.base import ARRAYS_FILE, MODEL_JSON
from .provenance import bytes_sha256, file_sha256
from .runs import (ARRAY_FILE_ERRORS, CONFIG_FILE, DESCRIPTION_FILE, MAPS_FILE, MAX_DESCRIPTION_BYTES,
                   MAX_JSON_BYTES, METRICS_FILE, MODEL_DIR, RUN_FILES, SCORES_FILE, THRESHOLD_FILE, ZIP_PREFIXES, Run,
                   RunError, RunStore, array_file_problem, incomplete_run_files, is_run_folder, npy_header,
                   read_scores_file, created_folders_undone_on_failure, write_bytes_atomic, zip_members)
from .thresholds import verdicts
from .wording import exact_number

#: the largest unpacked size and number of files an imported archive may have
MAX_UNPACKED_BYTES = 4 * 1024 ** 3
MAX_FILES = 10_000
#: the largest anomaly map an imported run may hold (a 4096 x 4096 float32 map; VQI's are far smaller)
MAX_MAP_BYTES = 64 * 1024 ** 2
#: what writing an unpacked file can fail with where the runs folder, not the archive, is at fault
FOLDER_FAULTS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
#: files every run archive must hold, relative to its run folder
REQUIRED_FILES = (CONFIG_FILE, METRICS_FILE, THRESHOLD_FILE, SCORES_FILE, MAPS_FILE, f"{MODEL_DIR}/{MODEL_JSON}")


#: every member's time and permissions in an archive: its bytes, and so its SHA-256, depend on the run's files alone
#: (an imported, copied or restored run had given another digest than the one recorded with the approval: review)
MEMBER_TIME, MEMBER_MODE = (1980, 1, 1, 0, 0, 0), 0o644


def export_run(run: Run, target: Path | str | BinaryIO) -> None:
    """Write ``run``'s folder to a zip archive at ``target`` (members ``<run id>/...``, in name order, each with
    :data:`MEMBER_TIME` and :data:`MEMBER_MODE`: the same files give the same bytes wherever they lie); ``RunError``
    saying why for a run whose archive an import would refuse (see :func:`export_problem`)."""
    if (problem := export_problem(run)) is not None:
        raise RunError(problem)
    files = sorted(run.path / name for name in RUN_FILES if (run.path / name).is_file())  # nothing else is the run's
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            member = zipfile.ZipInfo(f"{run.id}/{path.relative_to(run.path).as_posix()}", date_time=MEMBER_TIME)
            member.compress_type, member.external_attr = zipfile.ZIP_DEFLATED, (stat.S_IFREG | MEMBER_MODE) << 16
            large = path.stat().st_size >= zipfile.ZIP64_LIMIT
            with open(path, "rb") as source, archive.open(member, "w", force_zip64=large) as packed:
                shutil.copyfileobj(source, packed, 1024 * 1024)


def export_problem(run: Run) -> str | None:
    """Why an import would refuse ``run``'s archive, so that it is not exported: a folder renamed since it was
    saved, a file missing or damaged (every file is read in full, as an import reads it), a model that does not
    load; None when it can be exported."""
    if run.renamed:
        return (f"the run folder {run.id} was renamed since it was saved (its {CONFIG_FILE} says it is run "
                f"{run.config.get('run_id')!r}): an import would refuse its archive; give it its name back to "
                f"export it")
    try:
        _check_whole_run(run, run.id)
    except (RunError, *ARRAY_FILE_ERRORS, KeyError, TypeError, RuntimeError) as exc:
        return f"run {run.id} is not exported, as an import would refuse it: {str(exc) or exc.__class__.__name__}"
    return None


def archive_sha256(source: Path | str | bytes) -> str:
    """The SHA-256 of a run archive (a path or its bytes), to compare with the one recorded when it was approved."""
    return bytes_sha256(source) if isinstance(source, bytes) else file_sha256(source)


def run_archive_bytes(run: Run) -> bytes:
    """The run as zip archive bytes (for a download button)."""
    buffer = io.BytesIO()
    export_run(run, buffer)
    return buffer.getvalue()


#: the one file of what a download of a run gives where the run cannot be exported any more
EXPORT_FAILED_FILE = "EXPORT_FAILED.txt"


def run_archive_or_note(run: Run) -> bytes:
    """:func:`run_archive_bytes`, or where the run cannot be exported now (deleted or damaged since the page offered
    it) a zip holding only :data:`EXPORT_FAILED_FILE`, which says why: a download is made after its page is drawn,
    where no message can be shown (archive review: the click did nothing visible), and importing that zip is
    refused as no run archive."""
    try:
        return run_archive_bytes(run)
    except (RunError, OSError) as exc:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(EXPORT_FAILED_FILE, f"The run {run.id} could not be exported: {exc}. Reload the page: "
                                                 f"it says what became of the run.\n")
        return buffer.getvalue()


def export_run_file(run: Run, target: Path | str) -> Path:
    """The run's archive written to the file ``target`` atomically (an interrupted export leaves no half file)."""
    target = Path(target)
    write_bytes_atomic(target, run_archive_bytes(run))
    return target


def import_run(source: Path | str | bytes | BinaryIO, store: RunStore) -> Run:
    """Add the run in archive ``source`` (a path, the bytes or a binary stream) to ``store``.

    Raises ``RunError`` saying what is wrong with an archive that is not a zip file, holds anything but
    one run folder, reaches outside it, is too large (packed or once its arrays are read), lacks a run's
    files, holds a run that already exists in ``store`` or whose folder is not named as its ``config.json``
    says, a model that does not load or any other file that cannot be read (see :meth:`Run.check`); nothing
    is added then (nor the runs folder, where the import created it).
    """
    with created_folders_undone_on_failure(store.root):
        return _import_run(source, store)


def _import_run(source: Path | str | bytes | BinaryIO, store: RunStore) -> Run:
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        raise RunError(f"{source!s}: no such file") from None
    except IsADirectoryError:
        raise RunError(f"{source!s} is a folder, not a run archive (.zip)") from None
    except zipfile.BadZipFile as exc:  # what a download or copy cut short gives too (archive review)
        raise RunError(f"not a run archive (.zip): {exc}; an archive whose copy or download was cut short reads so: "
                       f"copy it again") from exc
    except OSError as exc:
        raise RunError(f"not a run archive (.zip): {exc.strerror or exc}") from exc
    with archive:
        # hidden files are left out, not refused: an archive exported before only the run's files were exported may
        # hold a .DS_Store, or a .threshold.json.* left by a write a killed process never finished (review)
        members = [info for info in archive.infolist()
                   if not info.is_dir() and not PurePosixPath(info.filename).name.startswith(".")]
        if [info.filename for info in members] == [EXPORT_FAILED_FILE]:  # (code review: a generic refusal)
            note = archive.read(members[0]).decode("utf-8", "replace").strip()
            raise RunError(f"this is not a run archive but the note of an export that failed: {note}")
        run_id, relative = _checked_members(members)
        # "delete it first" could not be followed for a folder that is not a complete run: `runs --delete` refuses it
        if (store.root / run_id).is_dir() and not is_run_folder(store.root / run_id):  # (robustness review)
            raise RunError(f"{store.root / run_id} is there already but is not a complete run "
                           f"({incomplete_run_files(store.root / run_id)}): remove that folder by hand (`runs "
                           f"--delete` deletes complete runs only), then import the archive again")
        if (store.root / run_id).exists():
            problem = _already_there(archive, members, relative, store.root / run_id)
            if problem is None:  # the very run, imported before: nothing to do, and no failure (a deployment
                raise AlreadyImported(run_id, store.root)  # script re-importing a validated archive: review)
            raise RunError(problem)
        if (twin := _look_alike_run(run_id, store)) is not None:
            raise RunError(f"the archive's run {run_id!r} reads like the run {twin!r} already in {store.root} (it "
                           f"differs only by spaces, letters of another script that look alike, or characters that "
                           f"show alike): listed beside it, neither could be told apart; delete {twin} first to import "
                           f"it, or rename the archive's run")
        store.check_writable()
        store.remove_leftovers()  # of imports and trainings interrupted here an hour ago or more
        try:
            staging = store.new_staging_folder(run_id)
        except OSError as exc:  # e.g. a run name too long for this file system
            raise RunError(f"the run {run_id} cannot be unpacked into {store.root}: {exc.strerror or exc}") from exc
        try:
            for info, path in zip(members, relative):
                target = staging.joinpath(*path.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with archive.open(info) as packed, open(target, "wb") as unpacked:
                        shutil.copyfileobj(packed, unpacked)
                except (zlib.error, zipfile.BadZipFile) as exc:  # named (zlib's "invalid code lengths set" had
                    raise RunError(f"its {path.as_posix()} cannot be unpacked (damaged): {exc}") from exc  # been all)
            _check_array_claims(staging)
            _check_decisions(staging)
            _check_whole_run(Run(staging), run_id)
            return store.publish(staging, run_id)  # refuses a run of that name saved meanwhile
        except (RunError, *ARRAY_FILE_ERRORS, KeyError, TypeError, RuntimeError) as exc:
            if isinstance(exc, OSError) and exc.errno in FOLDER_FAULTS:  # a full disk is not the archive's fault
                raise RunError(f"the run {run_id} could not be written into the runs folder {store.root}: "
                               f"{exc.strerror or exc}") from exc
            # named inside the hidden staging folder: name it inside the archive instead
            raise RunError(f"the archive's run {run_id} cannot be used: "
                           f"{str(exc).replace(str(staging), run_id)}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # nothing left there once published


class AlreadyImported(RunError):
    """The archive's run is in the runs folder already, every file as in the archive: nothing to import."""

    def __init__(self, run_id: str, root: Path):
        super().__init__(f"run {run_id} is already in {root}, every file as in the archive: there is nothing to "
                         f"import")
        self.run_id = run_id


def _already_there(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], relative: list[PurePosixPath],
                   folder: Path) -> str | None:
    """Why an archive's run is not imported where ``folder`` holds a run of its name: None for the same run, every
    file of it alike (nothing to do), else another, whose first differing file is named (the advice to delete it
    first had been given for an identical, validated run too: archive review)."""
    def differs(name: str) -> str:
        return (f"run {folder.name} already exists in {folder.parent} and differs from the archive's ({name}): to "
                f"replace it, delete it first (keep the one that was validated)")

    for info, path in zip(members, relative):
        kept = folder.joinpath(*path.parts)
        try:
            packed = archive.read(info)
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:  # (code review: "delete it first" had been said)
            return (f"run {folder.name} is already in {folder.parent}, and the archive's {path.as_posix()} cannot be "
                    f"unpacked (damaged: {exc}): copy the archive again; the run there stays as it is")
        try:
            if not kept.is_file() or kept.stat().st_size != info.file_size or kept.read_bytes() != packed:
                return differs(path.as_posix())
        except OSError:
            break
    else:
        extra = sorted(name for name in RUN_FILES if (folder / name).is_file()) if folder.is_dir() else []
        archived = {path.as_posix() for path in relative}
        if not (unpacked := [name for name in extra if name not in archived]):
            return None
        return differs(unpacked[0])
    return f"run {folder.name} already exists in {folder.parent}: delete it first to import it again"


def _check_decisions(folder: Path) -> None:
    """``RunError`` unless every prediction of the unpacked run's ``scores.csv`` was made at the threshold its
    ``threshold.json`` saves, as score >= threshold. An export holds no threshold save half done, so an edited
    threshold had been taken for one and ``scores.csv`` judged again at it, under the history's last reason, and an
    edited prediction had been kept (command review). Files too damaged to tell are named by :meth:`Run.check`."""
    try:
        frame = read_scores_file(folder / SCORES_FILE)
        saved = Run(folder).threshold
    except RunError:  # a damaged file: named by the whole run's check, in its order
        return
    if "threshold" not in frame or "prediction" not in frame:  # a run from before they were written
        return
    judged_elsewhere = np.flatnonzero(pd.to_numeric(frame["threshold"], errors="coerce").to_numpy(float) != saved)
    if len(judged_elsewhere):
        other = frame["threshold"].iloc[int(judged_elsewhere[0])]
        raise RunError(f"its {SCORES_FILE} judged the images at the threshold {other}, but its {THRESHOLD_FILE} "
                       f"saves {exact_number(float(saved))}: an exported run holds no threshold save half done, so "
                       f"one of the two files was edited")
    expected = verdicts(frame["score"].to_numpy(float), float(saved))
    wrong = np.flatnonzero(frame["prediction"].to_numpy() != expected)
    if len(wrong):
        row = frame.iloc[int(wrong[0])]
        raise RunError(f"its {SCORES_FILE} says {row['image']} is {row['prediction']!r}, but its score "
                       f"{exact_number(float(row['score']))} at the threshold {exact_number(float(saved))} makes it "
                       f"{expected[wrong[0]]}: the file was edited")


def _check_whole_run(run: Run, run_id: str) -> None:
    """``RunError`` (or an array file's error) unless every file the pages read can be read, as they read it,
    its ``config.json`` says it is run ``run_id``, the model loads (its files the ones it saved, by their
    SHA-256) and it scores an image (a mid-grey one of its input size) with a finite score, where its backbone's
    weights are here (elsewhere they would be downloaded; such a run is checked where it scores)."""
    if _holds_faiss_index(run.path / MODEL_DIR / ARRAYS_FILE):
        raise RunError("its model's nearest-neighbour index is in faiss's own format (an HNSW index, or an IVF index "
                       "saved before 2026-12-03), which faiss reads allocating whatever the file claims: an import "
                       "does not read one. Train the run again (an IVF index is now saved as checked arrays) or use "
                       "it where it was trained")
    run.check(data=True)
    if (recorded := run.config.get("run_id")) != run_id:
        raise RunError(f"its folder is named {run_id}, but its {CONFIG_FILE} says it is run {recorded!r}: "
                       f"renamed after it was saved" if recorded else f"its {CONFIG_FILE} names no run")
    model = run.load_model()
    if not backbone_available(model.backbone):
        return
    model.jit = False  # a check of the model's state: no need to compile the backbone
    grey = np.full((model.preprocessing.height, model.preprocessing.width, 3), 128, np.uint8)
    try:
        score = float(model.predict([grey]).scores[0])
    except (ValueError, RuntimeError) as exc:  # DamagedModel is a ValueError: its state does not fit its method
        raise RunError(f"its model cannot score an image: {exc}") from None
    if not np.isfinite(score):
        raise RunError(f"its model scores an image {score}: its saved state is damaged")


def _checked_members(members: list[zipfile.ZipInfo]) -> tuple[str, list[PurePosixPath]]:
    """The run id and each member's path inside the run folder, or ``RunError`` for an unsafe archive."""
    if not members:
        raise RunError("the archive is empty")
    if len(members) > MAX_FILES:
        raise RunError(f"the archive holds {len(members):,} files; a run archive holds at most {MAX_FILES:,}")
    unpacked = sum(info.file_size for info in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise RunError(f"the archive unpacks to {unpacked:,} bytes; at most {MAX_UNPACKED_BYTES:,} bytes "
                       f"({MAX_UNPACKED_BYTES / 1024 ** 3:.0f} GiB) are accepted")  # "4.0 GiB; at most 4 GiB" (review)
    unpacked_as = [str(PurePosixPath(info.filename)).casefold() for info in members]  # a//b, a/./b, A/b: one file
    counts = Counter(unpacked_as)
    duplicate = next((info.filename for info, name in zip(members, unpacked_as) if counts[name] > 1), None)
    if duplicate is not None:
        raise RunError(f"the archive holds {duplicate!r} twice: zip tools may show either copy, so neither is trusted")
    run_ids, relative = set(), []
    for info in members:
        path = PurePosixPath(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):  # (bad-input review: "not a file inside one run folder")
            raise RunError(f"the archive holds {info.filename!r} as a symbolic link: a run archive holds files "
                           f"only, and a link could point anywhere on this machine")
        if (path.is_absolute() or "\\" in info.filename or ".." in path.parts or len(path.parts) < 2
                or path.parts[0].startswith(".")):
            raise RunError(f"the archive holds {info.filename!r}, which is not a file inside one run folder")
        run_ids.add(path.parts[0])
        relative.append(PurePosixPath(*path.parts[1:]))
    if len(run_ids) != 1:
        raise RunError(f"a run archive holds one run folder; this one holds {len(run_ids)}: "
                       f"{', '.join(sorted(run_ids)[:3])}")
    hidden = next((char for char in next(iter(run_ids)) if _is_hidden_character(char)), None)
    if hidden is not None:
        raise RunError(f"the archive's run folder name holds the control character {hidden!r}: where runs are "
                       f"listed it could pass for another run")
    present = {path.as_posix() for path in relative}
    nested = sorted(path.parent.as_posix() for path in relative if len(path.parts) > 1 and path.name == CONFIG_FILE
                    and (path.parent / METRICS_FILE).as_posix() in present)
    if nested:
        raise RunError(f"a run archive holds one run folder; this one's run holds another run inside it, "
                       f"{nested[0]}")
    stray = sorted(present - RUN_FILES)
    if stray:  # found by the security review: kept for ever, a few MB packed could leave gigabytes on the disk
        raise RunError(f"the archive's run holds {stray[0]!r}{f' and {len(stray) - 1} more' if len(stray) > 1 else ''}"
                       f", which is not a file of a VQI run: only the run's own files are imported")
    missing = [name for name in REQUIRED_FILES if name not in present]
    if missing:
        raise RunError(f"not a run archive: {', '.join(missing)} missing")
    for info, path in zip(members, relative):  # before anything is unpacked: a 2.5 GiB report.json packed into 8 MB
        limit = MAX_DESCRIPTION_BYTES if path.name == DESCRIPTION_FILE else MAX_JSON_BYTES  # had been written to the
        if path.suffix == ".json" and info.file_size > limit:  # disk first (archive review)
            raise RunError(f"the archive's {path.as_posix()} unpacks to {info.file_size:,} bytes, more than the "
                           f"{limit:,} such a file may have")
    return run_ids.pop(), relative


#: letters of other scripts that look like Latin ones, as a run id could be spelt to pass for another (a Cyrillic
#: "е" in "bottle": archive review); what a run id's Latin letters, digits and hyphens may be confused with
_LOOK_ALIKE_LETTERS = str.maketrans("аеорсухіјѕԁԛԝвнкмтАВЕЗНІЈКМНОРСТУХЅαβεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
                                    "aeopcyxijsdqwbhkmtABE3HIJKMHOPCTYXSaBeikvoptuxABEZHIKMNOPTYX")


def _id_as_seen(run_id: str) -> str:
    """What a run id looks like where runs are listed: compatibility forms folded (NFKC), every kind of space and
    dash made one, spaces at its ends dropped, letters of other scripts that look like Latin ones made Latin."""
    folded = unicodedata.normalize("NFKC", run_id).translate(_LOOK_ALIKE_LETTERS)
    folded = "".join(" " if unicodedata.category(c) == "Zs" else "-" if unicodedata.category(c) == "Pd" else c
                     for c in folded)
    return folded.strip().casefold()


def _look_alike_run(run_id: str, store: RunStore) -> str | None:
    """The run of ``store`` whose id reads like ``run_id`` without being it; None where none does."""
    seen = _id_as_seen(run_id)
    try:
        others = [child.name for child in store.root.iterdir() if child.name != run_id]
    except OSError:  # no runs folder yet: nothing to confuse it with
        return None
    return next((name for name in others if _id_as_seen(name) == seen), None)


def _is_hidden_character(char: str) -> bool:
    """A control or format character (a line break, a terminal escape, a right-to-left override), the zero-width
    joiner of emoji sequences excepted."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") and char != "\u200d"


def _check_array_claims(staging: Path) -> None:
    """``RunError`` when the run's zip-based files (``.npz`` arrays, fine-tuned weights) say they hold more than an
    import may read: a map over ``MAX_MAP_BYTES`` or over ``MAX_UNPACKED_BYTES`` in all. Only their tables of
    contents and the arrays' headers are read, nothing is loaded."""
    total = 0
    for path in sorted(staging.rglob("*")):
        if not path.is_file():
            continue
        with open(path, "rb") as handle:
            if handle.read(4) not in ZIP_PREFIXES:
                continue
        name = path.relative_to(staging).as_posix()  # messages name the path, said inside the archive by import_run
        try:
            with zipfile.ZipFile(path) as packed:
                for info in packed.infolist():
                    claimed = max(info.file_size, _array_header_bytes(packed, info))
                    if name == MAPS_FILE and claimed > MAX_MAP_BYTES:
                        raise RunError(f"{path} is damaged: its member {info.filename} says it holds "
                                       f"{claimed / 1024 ** 2:,.0f} MB, more than a map "
                                       f"({MAX_MAP_BYTES / 1024 ** 2:.0f} MB at most)")
                    total += claimed
        except ARRAY_FILE_ERRORS as exc:
            raise RunError(f"{path} is damaged: {array_file_problem(exc)}") from exc
    if total > MAX_UNPACKED_BYTES:
        raise RunError(f"its array files say they hold {total / 1024 ** 3:.1f} GiB once read; at most "
                       f"{MAX_UNPACKED_BYTES / 1024 ** 3:.0f} GiB are accepted")


def _array_header_bytes(packed: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The bytes the ``.npy`` member ``info`` says it holds (shape x item size, from its header); 0 for another
    member or one without the ``.npy`` prefix (numpy reads those as the bytes they are)."""
    header = npy_header(packed, info)
    if header is None:
        return 0
    shape, dtype = header
    return int(np.prod(shape, dtype=object)) * dtype.itemsize


def _holds_faiss_index(arrays: Path) -> bool:
    """Whether the model's array file holds an index in faiss's own format (``knn_index``); False for a file that
    cannot be opened, which the run's check then names."""
    try:
        return any(name.removesuffix(".npy") == "knn_index" for name in zip_members(arrays))
    except (OSError, ValueError):
        return False
