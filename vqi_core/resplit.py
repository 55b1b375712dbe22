"""A new split of a category's good images by part, not by photo: look-alike photos stay on one side.

When a dataset photographs each part several times (another exposure, angle or
session) and its good photos were split at random, the test set holds parts the
model has seen, and every figure looks better than it will be on new parts (the
look-alikes of :mod:`vqi_core.split_check`). :func:`split_by_part` pools
``train/good`` and ``test/good``, joins look-alike photos into groups (a chain
of look-alikes is one group) and draws whole groups, seeded, into ``test/good``
until it holds ``test_fraction`` of the good images. :func:`write_split` writes
the new category: the good images on their new sides, the defective test images
with their masks as they were, and ``split.json`` with the source, the seed and
every group. It is written under a temporary name beside ``out`` and renamed
into place when complete.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .datasets import GOOD, Category, DatasetError, check_bit_depth_used
from .images import BitDepthError, ImageReadError, bit_depth_too_low, read_image
from .progress import ProgressCallback, check_seed, report
from .provenance import file_sha256
from .runs import created_folders_undone_on_failure
from .split_check import DEFAULT_TEST_FRACTION, LOOK_ALIKE_LIKENESS, look_alike_groups
from .system import unwritable_reason
from .wording import counted

SPLIT_FILE = "split.json"


@dataclass
class PartSplit:
    """Good images (paths in the source category) on each side, the look-alike groups they came in, the
    files left out with the reason (the category's skipped files and the good images that could not be decoded),
    and the test fraction and seed of the draw."""

    train: list[Path]
    test: list[Path]
    groups: list[list[Path]]
    skipped: list[dict[str, str]]
    test_fraction: float
    seed: int


def split_by_part(category: Category, test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0,
                  progress: ProgressCallback | None = None, bit_depth: int = 16) -> PartSplit:
    """Pool the category's good images, group look-alike photos and draw whole groups into the test side
    (``bit_depth``: of 16-bit images, see :func:`~vqi_core.images.read_image`).

    Raises ``DatasetError`` when no group fits into the test side (every good image looks like the others:
    parts that look the same cannot be told apart by their photos).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test fraction must lie between 0 and 1, not {test_fraction}")
    check_seed(seed)
    check_bit_depth_used(bit_depth, category.train)  # as train and check refuse it (code review)
    pooled = [s.path for s in category.train] + [s.path for s in category.test if s.defect_type == GOOD]
    paths: list[Path] = []
    skipped: list[dict[str, str]] = list(category.skipped)  # the files refused when the category was listed too
    first_of: dict[str, Path] = {}  # SHA-256 -> the first good image with those bytes
    copies: list[Path] = []  # the byte copies of those left out

    def readable_images() -> Iterator[np.ndarray]:  # decoded one at a time; unreadable files and copies are skipped
        for index, path in enumerate(pooled):
            report(progress, "grouping look-alike photos", index, len(pooled))
            try:  # a byte copy of an image pooled before is left out: kept, it would stand beside its original in
                digest = file_sha256(path)  # the new test set, which the check flags (split review)
            except OSError:
                digest = None  # said as reading it says it
            if digest is not None and digest in first_of:
                skipped.append({"file": str(path), "reason": f"a copy of {first_of[digest]}: the images are "
                                                             f"written once"})
                copies.append(path)
                continue
            try:
                image = read_image(path, bit_depth=bit_depth)
            except BitDepthError as exc:
                raise DatasetError(bit_depth_too_low(exc, bit_depth)) from None
            except ImageReadError as exc:
                skipped.append({"file": str(path), "reason": exc.reason_for(path)})
                continue
            paths.append(path)
            if digest is not None:
                first_of[digest] = path
            yield image
        report(progress, "grouping look-alike photos", len(pooled), len(pooled))

    groups = [[paths[i] for i in group] for group in look_alike_groups(readable_images())]
    if len(paths) < 2:  # "choose a larger test fraction (at least 1)" could not be followed (split review)
        copied = f" ({counted(len(copies), 'byte copy', 'byte copies')} left out)" if copies else ""
        raise DatasetError(f"{category.root} has {counted(len(paths), 'distinct readable good image')}{copied} to "
                           f"split: a split needs at least 2, one for each side")
    target = round(test_fraction * len(paths))
    if target == 0:  # the least fraction is one image's: half of one, suggested before, rounds to none (review)
        raise DatasetError(f"a test fraction of {test_fraction:g} of {counted(len(paths), 'good image')} is no "
                           f"image: choose a larger test fraction (at least {1 / len(paths):.2g})")
    order = np.random.default_rng(seed).permutation(len(groups))
    test_groups, held = set(), 0
    for index in order:
        if held + len(groups[index]) <= target:
            test_groups.add(int(index))
            held += len(groups[index])
    if held == 0:
        largest = max(len(group) for group in groups)
        in_test = sum(path.parent.parent.name == "test" for path in copies)  # the test set's own (code review)
        kept = (f"group the images by a part number yourself; the category as it is holds "
                f"{counted(in_test, 'good image')} that {'copies' if in_test == 1 else 'copy'} another, so collect new "
                f"good parts for testing rather than keep its split" if in_test
                else "keep the split, or group the images by a part number yourself")
        raise DatasetError(
            f"no group of look-alike photos fits into a test side of {target} of the "
            f"{counted(len(paths), 'distinct good image')}: "
            f"the largest group holds {largest} (likeness {LOOK_ALIKE_LIKENESS:g} or more joins photos). Parts "
            f"that all look the same cannot be split by their photos: {kept}.")  # "keep the split" had been said
        # where every good test image copied a training image (split review)
    test = [path for i, group in enumerate(groups) if i in test_groups for path in group]
    train = [path for i, group in enumerate(groups) if i not in test_groups for path in group]
    if not train:
        raise DatasetError(f"a test fraction of {test_fraction:g} puts all {counted(len(paths), 'good image')} "
                           f"into test/good: no training image would be left; choose a smaller test fraction")
    return PartSplit(sorted(train), sorted(test), groups, skipped, test_fraction, seed)


def check_split_target(category: Category, out: Path) -> None:
    """Refuse ``out`` as the folder of a split of ``category``: it exists, or lies inside the category (before
    any image is read, and again when the split is written)."""
    if out.is_symlink() and not out.exists():  # it had failed after every image was grouped (split review)
        raise FileExistsError(f"{out} is a link to a folder that does not exist: choose a new folder for the split")
    if out.exists():
        raise FileExistsError(f"{out} already exists: choose a new folder for the split")
    if out.resolve().is_relative_to(category.root.resolve()):
        raise ValueError(f"{out} lies inside the category {category.root} that is split: it would become part of "
                         f"it (e.g. a defect type); choose a folder outside it")
    existing = next(folder for folder in out.absolute().parents if folder.exists())
    if not existing.is_dir():
        raise ValueError(f"{out} cannot be made: {existing} is a file, not a folder")
    if (reason := unwritable_reason(existing)) is not None:  # found before every image is decoded and grouped
        raise PermissionError(f"{out} cannot be made: {existing} cannot be written ({reason})")


def write_split(category: Category, split: PartSplit, out: Path | str) -> Path:
    """Write ``split`` as a new category folder ``out`` (which must not exist): ``train/good`` and ``test/good``
    from the split, the defective test images as they were with their masks, and ``split.json``."""
    out = Path(out)
    check_split_target(category, out)
    staging = out.parent / f".{out.name}.incomplete"
    shutil.rmtree(staging, ignore_errors=True)
    with created_folders_undone_on_failure(out.parent):  # a failed split leaves no folder it made (code review)
        root = category.root
        files: dict[str, str] = {}
        try:
            for side, paths in (("train", split.train), ("test", split.test)):
                for path in sorted(paths, key=lambda path: path.parent.parent.name != side):  # those that stay first:
                    target = _free_name(staging / side / GOOD, path)  # they keep their names, moved ones are prefixed
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
                    files[target.relative_to(staging).as_posix()] = path.relative_to(root).as_posix()
            for sample in category.test:
                if sample.defect_type == GOOD:
                    continue
                target = staging / "test" / sample.defect_type / sample.path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(sample.path, target)
                if sample.mask_path is not None:  # each image's own mask (the folder had been copied whole, with
                    mask = staging / sample.mask_path.relative_to(root)  # the masks matching no image, listed as
                    mask.parent.mkdir(parents=True, exist_ok=True)  # left out all the same: split review)
                    try:
                        shutil.copy2(sample.mask_path, mask)
                    except OSError as exc:
                        raise OSError(f"could not copy {sample.mask_path} into the split: {exc.strerror or exc}") \
                            from None
            record = {"source": str(root.resolve()), "seed": split.seed, "test_fraction": split.test_fraction,
                      "likeness": LOOK_ALIKE_LIKENESS, "good_images": len(split.train) + len(split.test),
                      "train_good": len(split.train), "test_good": len(split.test),
                      "groups": [[path.relative_to(root).as_posix() for path in group] for group in split.groups],
                      "files": files, "skipped": split.skipped}
            (staging / SPLIT_FILE).write_text(json.dumps(record, indent=1))
            staging.rename(out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return out


def _free_name(folder: Path, path: Path) -> Path:
    """Where ``path`` goes in ``folder``: under its own name, else prefixed with the side it came from
    (``train_`` / ``test_``: the same name in train/good and test/good), else numbered: never over another."""
    side = path.parent.parent.name
    candidates = [path.name, f"{side}_{path.name}"]
    candidates += (f"{side}_{path.stem}_{number}{path.suffix}" for number in range(2, 10_000))
    return next(folder / name for name in candidates if not (folder / name).exists())
