"""What a run learnt from and was tested on, file by file: a manifest of SHA-256 digests.

A validation record must say exactly which images a model learnt "good" from and
which it was tested on. Each run writes ``data_manifest.csv`` (role ``train``,
``test`` or ``mask``; the file relative to the category folder; its size; its
SHA-256) for the files it used, and ``config.json`` records the manifest's own
digest: two runs with the same digest saw the same bytes, whatever the folder
was called, and a re-evaluation names the files that changed since training.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from .datasets import Sample

MANIFEST_COLUMNS = ["role", "file", "bytes", "sha256"]
_READ_CHUNK = 1 << 20


def bytes_sha256(data: bytes) -> str:
    """The SHA-256 of ``data``, as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path | str) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_READ_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def relative_name(path: Path, root: Path) -> str:
    """How the manifest names ``path``: relative to the category folder ``root`` (both resolved), in full when it
    lies outside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:  # a file outside the category folder: named in full
        return str(path)


def _entries(root: Path, role: str, paths: Iterable[Path]) -> list[dict[str, object]]:
    """Rows of the files that exist (a missing one shows as missing when manifests are compared)."""
    return [{"role": role, "file": relative_name(path, root), "bytes": path.stat().st_size,
             "sha256": file_sha256(path)} for path in paths if path.is_file()]


def data_manifest(root: Path | str, train: Sequence[Sample], test: Sequence[Sample]) -> pd.DataFrame:
    """One row per file a run uses: its training images (``train``), test images (``test``) and their masks
    (``mask``), named relative to the category folder ``root``."""
    root = Path(root)
    rows = (_entries(root, "train", [s.path for s in train]) + _entries(root, "test", [s.path for s in test])
            + _entries(root, "mask", [s.mask_path for s in test if s.mask_path is not None]))
    return pd.DataFrame(rows, columns=MANIFEST_COLUMNS)


def manifest_digest(manifest: pd.DataFrame) -> str:
    """One SHA-256 over every row's role, file and digest, in a fixed order: equal for the same files."""
    digest = hashlib.sha256()
    for role, name, sha in sorted(zip(manifest["role"], manifest["file"], manifest["sha256"])):
        digest.update(f"{role}\t{name}\t{sha}\n".encode())
    return digest.hexdigest()


def manifest_changes(saved: pd.DataFrame, current: pd.DataFrame) -> dict[str, list[str]]:
    """Files of ``saved`` whose bytes differ in ``current`` (``changed``) or that it lacks (``missing``), and
    files only ``current`` has (``added``), each sorted."""
    before = {(role, name): sha for role, name, sha in zip(saved["role"], saved["file"], saved["sha256"])}
    after = {(role, name): sha for role, name, sha in zip(current["role"], current["file"], current["sha256"])}
    return {"changed": sorted(key[1] for key in before.keys() & after.keys() if before[key] != after[key]),
            "missing": sorted(key[1] for key in before.keys() - after.keys()),
            "added": sorted(key[1] for key in after.keys() - before.keys())}


def describe_changes(changes: dict[str, list[str]] | None, examples: int = 3) -> str:
    """:func:`manifest_changes` in one sentence ("" when nothing changed), naming a few files of each kind."""
    if not changes:
        return ""
    parts = []
    for kind in ("changed", "missing", "added"):
        files = changes.get(kind, [])
        if files:
            shown = ", ".join(files[:examples]) + (", …" if len(files) > examples else "")
            # a file that is there but can no longer be read is left out of the test set like a missing one
            parts.append(f"{len(files)} {'missing or unreadable' if kind == 'missing' else kind} ({shown})")
    return f"Since the run was trained, its data files differ: {'; '.join(parts)}." if parts else ""


def data_label(config: dict) -> str:
    """A run's data in a few characters: the first 12 hex digits of its ``data_sha256`` (runs with the same
    label saw the same files), or "not recorded" for runs trained before manifests existed."""
    digest = config.get("data_sha256")
    return f"{digest[:12]} ({config.get('data_files')} files)" if digest else "not recorded"
