"""Datasets in MVTec AD folder layout, with optional masks.

Expected layout of one category::

    <category>/train/good/*              defect-free images for fitting
    <category>/test/good/*               defect-free test images
    <category>/test/<defect_type>/*      defective test images
    <category>/ground_truth/<defect_type>/<stem>_mask.png   optional masks

A mask may also be named ``<stem>.png``, and be any image kind VQI reads
(``.bmp``, ``.tif``, ...); of several masks for one image, a ``_mask`` name
is used first, then a PNG, then the first by name. Mask
files that match no test image, and mask folders of no test folder, are
listed with the skipped files, so a naming mistake does not silently leave
the pixel metrics out.

A dataset root is either one category itself or a folder of categories.
"""

from __future__ import annotations

import errno
import functools
import os
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ParamSpec, Sequence, TypeVar

from PIL import Image

from .images import (EMPTY_FILE, IMAGE_SUFFIXES, READ_FORMATS, is_image_path, is_sixteen_bit, read_mask,
                     stacked_images_problem, stored_sideways, stored_size, too_many_pixels, unreadable_reason)
from .system import home_expanded
from .wording import counted

GOOD = "good"
EXPECTED_LAYOUT = (
    "expected MVTec AD layout: <category>/train/good/<images>, <category>/test/good/<images>, "
    "<category>/test/<defect_type>/<images>, optional <category>/ground_truth/<defect_type>/<stem>_mask.png"
)


class DatasetError(ValueError):
    """The folder is missing, has the wrong layout, or holds no usable training images."""


@dataclass(frozen=True)
class Sample:
    """One image of a dataset: label 0 is good, 1 is defective."""

    path: Path
    label: int
    defect_type: str
    mask_path: Path | None = None

    @property
    def name(self) -> str:
        """Identifier unique within a category: ``<defect_type>/<file name>``."""
        return f"{self.defect_type}/{self.path.name}"


@dataclass
class Category:
    """The samples of one category, and the files that were skipped with the reason why."""

    root: Path
    name: str
    train: list[Sample]
    test: list[Sample]
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def has_masks(self) -> bool:
        """True when at least one defective test image has a ground-truth mask."""
        return any(s.mask_path is not None for s in self.test if s.label == 1)

    @property
    def defect_types(self) -> list[str]:
        """Sorted defect type names found in the test set (``good`` excluded)."""
        return sorted({s.defect_type for s in self.test if s.label == 1})

    @property
    def image_counts(self) -> dict[str, int]:
        """How many images it has: ``train`` (good), ``test_good``, ``test_defective`` and ``test_masked``
        (defective test images with a mask)."""
        return {"train": len(self.train), "test_good": sum(s.label == 0 for s in self.test),
                "test_defective": sum(s.label == 1 for s in self.test),
                "test_masked": sum(s.label == 1 and s.mask_path is not None for s in self.test)}


_Parameters = ParamSpec("_Parameters")
_Result = TypeVar("_Result")


def _names_unreadable_folders(function: Callable[_Parameters, _Result]) -> Callable[_Parameters, _Result]:
    """``function`` with an operating-system error met while listing a dataset's folders (a folder without read
    permission) turned into a ``DatasetError`` that names the folder or file and what to do."""
    @functools.wraps(function)
    def listing(*args: _Parameters.args, **kwargs: _Parameters.kwargs) -> _Result:
        try:
            return function(*args, **kwargs)
        except OSError as exc:
            if exc.errno is None:  # VQI's own message (a home folder of no user): said as it is (browser review:
                raise DatasetError(str(exc)) from exc  # "cannot read a dataset folder" of a folder to score)
            where = exc.filename if exc.filename is not None else "a dataset folder"
            advice = ": the user running VQI needs permission to read it and its folders" \
                if isinstance(exc, PermissionError) else ""
            raise DatasetError(f"cannot read {where} ({exc.strerror or exc}){advice}") from exc
    return listing


def is_category_folder(path: Path) -> bool:
    """True when ``path`` has a ``train/good`` folder."""
    return (path / "train" / GOOD).is_dir()


def _is_category_or_test_set(path: Path) -> bool:
    """True for a category folder or a labelled test set (``test/good`` without ``train``)."""
    return is_category_folder(path) or (path / "test" / GOOD).is_dir()


def category_holding(path: Path | str) -> tuple[Path, str] | None:
    """The category folder (or labelled test set: ``test/good`` without ``train``) and its sub-folder (``train``,
    ``test`` or ``ground_truth``) that ``path`` is or lies inside, where files written would be read as training
    images, test images of a defect type or masks; None elsewhere."""
    resolved = home_expanded(path).resolve()
    for folder in (resolved, *resolved.parents):
        if folder.name in ("train", "test", "ground_truth") and _is_category_or_test_set(folder.parent):
            return folder.parent, folder.name
    return None


def category_around(path: Path | str) -> Path | None:
    """The category folder (or labelled test set) that ``path`` is or lies inside, anywhere in it; None
    elsewhere (see :func:`category_holding` for its image folders)."""
    resolved = home_expanded(path).resolve()
    return next((folder for folder in (resolved, *resolved.parents) if _is_category_or_test_set(folder)), None)


def existing_folder(root: Path | str) -> Path:
    """``root`` as a Path (``~`` read as the home folder); ``DatasetError`` when it does not exist or is a file, or
    names the home folder of a user there is none of."""
    try:
        root = home_expanded(root)
    except FileNotFoundError as exc:
        raise DatasetError(str(exc)) from None
    if (absent := absent_reason(root)) is not None:
        raise DatasetError(f"dataset folder {root} {absent}")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a dataset folder")
    return root


@_names_unreadable_folders
def list_categories(root: Path | str) -> list[str]:
    """Names of the categories under ``root``; ``[root.name]`` when root is a category itself. A category
    folder whose name is not valid UTF-8 is left out (:func:`misnamed_categories` names it)."""
    root = existing_folder(root)
    if is_category_folder(root):
        return [root.name]
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and is_category_folder(p)
                   and file_name_problem(p) is None)
    if not names:
        inside = next((folder for folder in list(root.resolve().parents)[:3] if is_category_folder(folder)), None)
        if inside is not None:  # e.g. base/train or base/test/good given (bad-input review)
            raise DatasetError(f"{root} lies inside the category {inside}, and holds no category itself: give the "
                               f"category folder {inside}")
        misnamed = "; ".join(f"{item['file']}: {item['reason']}" for item in misnamed_categories(root))
        named = [folder for folder in (root, *sorted(p for p in root.iterdir() if p.is_dir()))
                 if folder is root or file_name_problem(folder) is None]  # a name a message can hold
        unsorted = next((folder for folder in named
                         if not is_category_folder(folder) and stray_images(folder, "train")), None)
        lacking = None if unsorted is not None else next(  # test/ or train/ there, train/good not (review)
            (folder for folder in named if (folder / "train").is_dir() or (folder / "test").is_dir()), None)
        raise DatasetError(f"{root} holds no category" + (f" VQI can read ({misnamed})" if misnamed else "") +
                           (f" ({unsorted / 'train'} holds images directly and no good/ folder: "
                            f"{_STRAY_HINTS['train']})" if unsorted is not None else "") +
                           (f" ({lacking} has no {Path('train') / GOOD} folder of good training images)"
                            if lacking is not None else "") + f": {EXPECTED_LAYOUT}")
    return names


@_names_unreadable_folders
def misnamed_categories(root: Path | str) -> list[dict[str, str]]:
    """A skipped entry for each category folder under ``root`` whose name is not valid UTF-8: no page, CSV or
    report could name it, so it is not offered (empty when root is a category itself or cannot be read)."""
    root = Path(root)
    if not root.is_dir() or is_category_folder(root):
        return []
    return [named for path in sorted(root.iterdir())
            if path.is_dir() and is_category_folder(path) and (named := file_name_problem(path)) is not None]


@_names_unreadable_folders
def incomplete_categories(root: Path | str) -> list[dict[str, str]]:
    """A skipped entry for each folder under ``root`` laid out like a category (a ``train``, ``test`` or
    ``ground_truth`` folder in it) without the ``train/good`` folder a category needs: not offered, and said so
    (such a folder had disappeared from the list without a word: browser review). Empty when root is a category
    itself or cannot be read."""
    root = Path(root)
    if not root.is_dir() or is_category_folder(root):
        return []
    found = []
    for path in sorted(root.iterdir()):
        if (not path.is_dir() or path.name.startswith(".") or is_category_folder(path) or file_name_problem(path)
                or not any((path / part).is_dir() for part in ("train", "test", "ground_truth"))):
            continue
        test_set = (path / "test" / GOOD).is_dir()
        found.append({"file": str(path), "reason": "no train/good folder of defect-free training images, which a "
                      "category needs" + ("; as a labelled test set it can check a run (Predict)" if test_set else "")})
    return found


def several_categories(root: Path, names: Sequence[str]) -> DatasetError:
    """The error for a dataset ``root`` of several categories (``names``) where one is needed: in words that fit the
    dashboard too (the folder first, the command line's option beside)."""
    return DatasetError(f"{root} holds several categories ({', '.join(names)}): choose one by giving its own folder, "
                        f"e.g. {root / names[0]} (the command line also takes --category <name>)")


@_names_unreadable_folders
def category_path(root: Path | str, category: str | None = None) -> Path:
    """The folder of ``category`` under ``root`` (or root itself when it is one category)."""
    root = Path(root)
    if is_category_folder(root):
        if category not in (None, root.name):
            if category is not None and is_category_folder(root / category):
                raise DatasetError(f"{root} is itself a category ({root.name}) and also holds a category folder "
                                   f"{category!r}: give {root / category} as the dataset folder to use that one")
            raise DatasetError(f"{root} is itself a category ({root.name}), not a folder holding {category!r}")
        return root
    names = list_categories(root)
    if category is None:
        if len(names) == 1 and not misnamed_categories(root):
            return root / names[0]
        names += [Path(item["file"]).name for item in misnamed_categories(root)]
        raise several_categories(root, names)
    if category not in names:
        if Path(category).name != category:  # a path, such as line2/B or ../other: categories are names in root
            raise DatasetError(f"the category {category!r} is a path, but a category is named by its folder directly "
                               f"in {root} ({', '.join(names) or 'none'}): give the folder that holds it as the "
                               f"dataset folder instead (e.g. {root / Path(category).parent})")
        if (root / category).is_dir():  # a folder, but not a category: e.g. a lot of test images only
            raise DatasetError(f"{root / category} has no train/good folder, so it is not a category to train or "
                               f"check ({EXPECTED_LAYOUT}); to score a lot of labelled test images with a run, use "
                               f"evaluate --data {root} --category {category}")
        raise DatasetError(f"category {category!r} not found in {root}; found: {', '.join(names)}")
    return root / category


@_names_unreadable_folders
def list_images(folder: Path | str) -> tuple[list[Path], list[dict[str, str]]]:
    """Image files directly in ``folder`` (sorted), and the other files skipped with a reason (hidden images
    too; other hidden files, such as ``.DS_Store``, are passed over)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder")
    images, skipped = [], []
    for path in sorted(folder.iterdir()):
        if path.is_dir() or (path.name.startswith(".") and not is_image_path(path)):  # e.g. .DS_Store
            continue
        if (misnamed := file_name_problem(path)) is not None:
            skipped.append(misnamed)
            continue
        if path.name.startswith("."):  # an image nobody would find among the parts: said, not silently left out
            skipped.append({"file": str(path), "reason": "a hidden file (its name starts with a dot): not read; "
                                                         "rename it to include it"})
            continue
        if not path.is_file():  # a named pipe or a device: opening it to read a header could wait forever
            skipped.append({"file": str(path), "reason": broken_link_reason(path) or "not a regular file"})
            continue
        if not is_image_path(path):
            skipped.append({"file": str(path), "reason": not_an_image_reason(path)})
            continue
        problem = _header_problem(path)
        if problem:
            skipped.append({"file": str(path), "reason": problem})
            continue
        images.append(path)
    return images, skipped


def file_name_problem(path: Path) -> dict[str, str] | None:
    """A skipped entry for a file or folder whose name is not valid UTF-8 (e.g. Latin-1 bytes from an archive
    unpacked elsewhere): no CSV, report or overlay could name it. None for any other name."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        printable = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return {"file": str(path.parent / printable), "reason": "its name is not valid UTF-8 (shown here with \\x "
                                                                "escapes): not read; rename it"}
    return None


def not_an_image_reason(path: Path) -> str:
    """Why a file is not taken as an image: its suffix, and the suffixes VQI reads."""
    suffix = repr(path.suffix) if path.suffix else "none"
    return f"not an image file VQI reads (suffix {suffix}; it reads {', '.join(sorted(IMAGE_SUFFIXES))})"


def _header_problem(path: Path) -> str | None:
    """A reason why the file is not a readable image, judged from its header; None when fine."""
    try:
        if path.stat().st_size == 0:
            return EMPTY_FILE
        with Image.open(path, formats=READ_FORMATS) as image:
            if getattr(image, "n_frames", 1) <= 1:  # one image: its header is checked on this opening
                image.verify()
                return None
            stacked = stacked_images_problem(image)  # seeks through the pages
        if stacked:
            return stacked
        with Image.open(path, formats=READ_FORMATS) as image:  # verify() needs an image that has not been seeked
            image.verify()
    except Image.DecompressionBombError as exc:  # Pillow's own, far above VQI's limit: not decoded, not corrupt
        return too_many_pixels(exc)
    except Exception as exc:  # PIL raises many types for corrupt files
        return unreadable_reason(exc, path)
    return None


def check_bit_depth_used(bit_depth: int, good_train: Sequence[Sample]) -> None:
    """``ValueError`` for a bit depth other than 16 where no good training image is a 16-bit file (headers only):
    it changes nothing of them, and a run trained so would refuse the full-range 16-bit images of other cameras
    (bad-input review: ``--bit-depth 12`` on 8-bit images was taken without a word)."""
    if bit_depth != 16 and good_train and not any(is_sixteen_bit(sample.path) for sample in good_train):
        article = "an" if bit_depth in (8, 11) else "a"  # "an 8-bit", "an 11-bit" (code review)
        raise ValueError(f"a bit depth of {bit_depth} is for 16-bit image files (those of {article} {bit_depth}-bit "
                         f"camera), and none of the good training images is one: leave it out (--bit-depth)")


@_names_unreadable_folders
def load_category(path: Path | str) -> Category:
    """Discover the samples of one category folder; raise ``DatasetError`` on a wrong layout."""
    path = Path(path)
    if (absent := absent_reason(path)) is not None:
        raise DatasetError(f"dataset folder {path} {absent}")
    if not is_category_folder(path):
        good = path / "train" / GOOD
        stray = f" ({good} is a file, not a folder)" if good.exists() else \
            f" ({path / 'train'} holds images directly: {_STRAY_HINTS['train']})" if stray_images(path, "train") else ""
        raise DatasetError(f"{path} has no train/good folder{stray}: {EXPECTED_LAYOUT}")
    train_paths, skipped = list_images(path / "train" / GOOD)
    skipped.extend(nested_folders(path / "train" / GOOD))
    skipped.extend(stray_images(path, "train"))
    skipped.extend(unread_folders(path))
    if not train_paths:
        raise DatasetError(f"{path / 'train' / GOOD} holds no readable training image{passed_over(skipped)}")
    train = [Sample(p, 0, GOOD) for p in train_paths]
    test = _test_samples(path, skipped)
    return Category(root=path, name=path.name, train=train, test=test, skipped=skipped)


@_names_unreadable_folders
def load_test_set(root: Path | str, category: str | None = None) -> tuple[list[Sample], list[dict[str, str]]]:
    """The labelled test images (with their masks) of a category folder, and the files skipped, for scoring
    with a model trained before: ``train/good`` may be absent. ``root`` is the category folder itself (it has a
    ``test`` folder) or a root holding several, of which ``category`` is chosen."""
    root = existing_folder(root)
    names = [p.name for p in sorted(root.iterdir())  # categories to test: no train/good needed
             if p.is_dir() and not p.name.startswith(".") and (p / "test").is_dir()]
    if (root / "test").is_dir():  # the category folder itself
        if category not in (None, root.name):
            raise DatasetError(f"{root} is itself a category ({root.name}), not a folder holding {category!r}")
        path = root
    elif category is not None:
        if category not in names:
            raise DatasetError(f"category {category!r} not found in {root} (a folder with a test folder in it); "
                               f"found: {', '.join(names) or 'none'}")
        path = root / category
    elif len(names) > 1:
        raise several_categories(root, names)
    else:
        path = root / names[0] if names else root
    if path.name == "test" and (path / GOOD).is_dir():
        raise DatasetError(f"{path} is a test folder itself: give the folder that holds it, {path.parent}")
    if not (path / "test").is_dir():
        raise DatasetError(f"{path} has no test folder: expected {path.name}/test/good/<images> and "
                           f"{path.name}/test/<defect_type>/<images>, optional "
                           f"{path.name}/ground_truth/<defect_type>/<stem>_mask.png")
    skipped: list[dict[str, str]] = []
    return _test_samples(path, skipped), skipped


def _test_samples(path: Path, skipped: list[dict[str, str]]) -> list[Sample]:
    """The samples of ``path``/test (good, and each defect type with its mask if any); problems go to ``skipped``."""
    test: list[Sample] = []
    test_root = path / "test"
    if not test_root.is_dir():
        return test
    type_dirs = sorted(p for p in test_root.iterdir() if p.is_dir())
    has_good = (test_root / GOOD).is_dir()
    skipped.extend(stray_images(path, "test"))
    misnamed = next((p for p in type_dirs if p.name != GOOD and p.name.lower() in (GOOD, "ok", "normal")), None)
    if misnamed is not None:
        move = f"move them into {test_root / GOOD}" if has_good else f"that folder must be named {test_root / GOOD}"
        raise DatasetError(f"{misnamed} looks like a folder of good test images, but {move}: as it is, its images "
                           f"would be taken as defects of a type {misnamed.name!r}")
    if type_dirs and not has_good:
        skipped.append({"file": str(test_root / GOOD), "reason": "missing: there is no good test image, so false "
                                                                  "alarms cannot be measured"})
    for type_dir in type_dirs:
        if (misnamed_type := file_name_problem(type_dir)) is not None:  # no report could name its type
            skipped.append(misnamed_type)
            continue
        defect_type = type_dir.name
        paths, bad = list_images(type_dir)
        skipped.extend(bad)
        skipped.extend(nested_folders(type_dir))
        if not paths and not type_dir.name.startswith("."):  # hidden: a tool's folder, not a defect type
            unread = sum(is_image_path(Path(item["file"])) for item in bad)  # images that could not be read
            empty = (f"no readable image ({counted(unread, 'unreadable image')}, listed)" if unread else
                     "no image (only other files, listed)" if bad else "an empty folder")
            skipped.append({"file": str(type_dir), "reason": f"{empty}: no {defect_type} test image is there to "
                                                             f"test on"})  # (bad-input review: "an empty folder")
        truth = _ground_truth_folder(path, defect_type)
        masks, outranked = _mask_files(truth) if defect_type != GOOD else ({}, [])
        skipped.extend(_misnamed_masks(truth) if defect_type != GOOD else [])
        skipped.extend(nested_folders(truth) if defect_type != GOOD else [])
        stems = Counter(stem_key(image_path) for image_path in paths)
        matched: set[Path] = set()
        refused: set[Path] = set()  # chosen masks that could not be used (their reason said with them)
        for stem, count in sorted(stems.items()):
            if count > 1 and stem in masks:  # e.g. dup.png and dup.jpg: the mask could be either one's
                matched.add(masks[stem])
                refused.add(masks[stem])
                skipped.append({"file": str(masks[stem]), "reason": (
                    f"matches {count} images of {defect_type} "
                    f"({', '.join(p.name for p in paths if stem_key(p) == stem)})"
                    f", so which one it marks is unknown: left out; rename the images so that each stem is one "
                    f"image's")})
        for image_path in paths:
            if defect_type == GOOD:
                test.append(Sample(image_path, 0, GOOD))
                continue
            stem = stem_key(image_path)
            mask_path = masks.get(stem) if stems[stem] == 1 else None
            if mask_path is not None:
                matched.add(mask_path)
                problem = mask_problem(mask_path, image_path)
                if problem:
                    skipped.append({"file": str(mask_path), "reason": problem})
                    refused.add(mask_path)
                    mask_path = None
            test.append(Sample(image_path, 1, defect_type, mask_path))
        unreadable = {stem_key(Path(item["file"])): Path(item["file"]).name for item in bad}
        skipped.extend({"file": str(mask), "reason": _unmatched_mask_reason(mask, defect_type, unreadable)}
                       for mask in sorted((set(masks.values()) - matched)
                                          | {mask for mask, used in outranked if used not in matched}))
        order = "a <stem>_mask name first, then a PNG, then the first by name"

        def twin(mask: Path, used: Path) -> str:  # names that look the same (bad-input review: one name twice)
            return ("; the two names differ only in Unicode form (one written on macOS): remove one of them"
                    if mask.name != used.name and unicodedata.normalize("NFC", mask.name)
                    == unicodedata.normalize("NFC", used.name) else "")
        skipped.extend({"file": str(mask), "reason": (
            f"another mask for the same image comes first: {used.name} ({order}), but it cannot be used (see its "
            f"own reason), so the image has no mask: fix or remove it" if used in refused else
            f"another mask for the same image comes first: {used.name} ({order}){twin(mask, used)}")}
                       for mask, used in outranked if used in matched)
    skipped.extend(_unused_mask_folders(path, {p.name for p in type_dirs}))
    skipped.extend(stray_images(path, "ground_truth"))
    return test


def stem_key(path: Path) -> str:
    """``path``'s stem as masks and images are matched by: in Unicode's composed form (NFC), so that "café" typed
    on Linux (é one character) and written by macOS (e and a combining accent) match; the two had been called a
    mask without an image, under two names that look alike (bad-input review)."""
    return unicodedata.normalize("NFC", path.stem)


def _mask_files(mask_dir: Path) -> tuple[dict[str, Path], list[tuple[Path, Path]]]:
    """The masks in ``mask_dir`` by the stem of the image they belong to (``<stem>_mask`` before ``<stem>``, a
    PNG before other kinds, then the first by name), and each outranked mask with the one used instead; empty
    when the folder does not exist."""
    if not mask_dir.is_dir():
        return {}, []
    by_stem: dict[str, list[tuple[tuple[bool, bool, str], Path]]] = {}
    for mask in mask_dir.iterdir():
        if mask.name.startswith(".") or not is_image_path(mask) or mask.is_dir() or file_name_problem(mask):
            continue  # a broken link is said with its image, a name that is not UTF-8 by _misnamed_masks
        named_mask = mask.stem.endswith("_mask")
        stem = stem_key(mask).removesuffix("_mask") if named_mask else stem_key(mask)
        by_stem.setdefault(stem, []).append(((not named_mask, mask.suffix.lower() != ".png", mask.name), mask))
    chosen, outranked = {}, []
    for stem, ranked in by_stem.items():
        ranked.sort()
        chosen[stem] = ranked[0][1]
        outranked += [(mask, ranked[0][1]) for _, mask in ranked[1:]]
    return chosen, sorted(outranked)


def _misnamed_masks(mask_dir: Path) -> list[dict[str, str]]:
    """A skipped entry for each file in ``mask_dir`` whose name is not valid UTF-8 (it matches no image)."""
    if not mask_dir.is_dir():
        return []
    return [named for mask in sorted(mask_dir.iterdir()) if (named := file_name_problem(mask)) is not None]


def _unmatched_mask_reason(mask: Path, defect_type: str, unreadable: dict[str, str]) -> str:
    """Why a mask of ``test/<defect_type>`` is used for no image: its image is among the files skipped
    (``unreadable``: name by stem; the mask's name is right), or no image has its name."""
    image = unreadable.get(stem_key(mask).removesuffix("_mask"))
    if image is not None:
        return f"the mask of test/{defect_type}/{image}, which is skipped (see its own reason)"
    return (f"mask matches no image in test/{defect_type} (the mask of an image <stem>.<ext> is <stem>_mask.png or "
            f"<stem>.png, or the same names with another image suffix such as .bmp or .tif)")


def broken_link_reason(path: Path) -> str | None:
    """"a broken link to <target>" for a symbolic link whose target is gone, "a link that leads into a loop of
    links (...)" for one whose links go round (it was called broken, its target being there: bad-input review);
    None for anything else."""
    if not path.is_symlink() or path.exists():
        return None
    try:
        path.resolve(strict=True)
    except (RuntimeError, OSError) as exc:  # a loop: RuntimeError up to Python 3.12, OSError ELOOP after
        if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:  # (or a chain too long to follow)
            return f"a link that leads into a loop of links (through {os.readlink(path)})"
    return f"a broken link to {os.readlink(path)}"


def absent_reason(path: Path) -> str | None:
    """Why ``path``, given to be read, is not there: "is a broken link to <target>" (or into a loop of links, see
    :func:`broken_link_reason`), else "does not exist"; None where it is there. One wording for dataset folders,
    folders to score and run folders (reviews: "does not exist" had been said of a link whose target is gone)."""
    if path.exists():
        return None
    broken = broken_link_reason(path)
    return f"is {broken}" if broken is not None else "does not exist"


def mask_problem(mask_path: Path, image_path: Path) -> str | None:
    """Why ``mask_path`` cannot be the mask of ``image_path`` (missing, unreadable, another size); None when it
    can, or when the image itself cannot be read (its own problem is said with the image)."""
    if not mask_path.is_file():
        if mask_path.exists():  # a named pipe or a device, which opening could wait on forever
            return "mask ignored: not a regular file (a named pipe or a device)"
        return f"mask ignored: {broken_link_reason(mask_path) or 'the file is missing'}"
    damaged = _header_problem(mask_path)  # a damaged file, found without decoding (as training images are)
    if damaged:
        return f"mask ignored: {damaged}"
    try:
        mask_size = stored_size(mask_path)
        with Image.open(mask_path, formats=READ_FORMATS) as image:
            if image.mode in ("I", "F"):  # 32-bit or float pixels: decoded, as only their values tell if VQI reads them
                read_mask(mask_path)
    except Exception as exc:
        return f"mask ignored: unreadable ({exc.__class__.__name__}: {exc})"
    try:
        image_size = stored_size(image_path)
    except Exception:
        return None
    if mask_size != image_size:
        turned = mask_size == image_size[::-1] and stored_sideways(image_path)
        sideways = ("; the image is stored sideways and shown turned by its EXIF orientation: draw the mask on the "
                    "image as a viewer shows it") if turned else ""
        return (f"mask ignored: it is {mask_size[1]}x{mask_size[0]} px but its image "
                f"{image_path.name} is {image_size[1]}x{image_size[0]} px{sideways}")  # (bad-input review)
    return None


def _unused_mask_folders(path: Path, test_types: set[str]) -> list[dict[str, str]]:
    """A skipped entry for each ``ground_truth/<type>`` folder that has no ``test/<type>`` folder, and for a
    ``ground_truth/good`` folder that holds files (a good image has no defect pixel to mark)."""
    ground_truth = path / "ground_truth"
    if not ground_truth.is_dir():
        return []
    skipped = []
    for folder in sorted(ground_truth.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        if (named := file_name_problem(folder)) is not None:
            skipped.append(named)
        elif folder.name == GOOD and any(not name.startswith(".") for name in os.listdir(folder)):
            skipped.append({"file": str(folder), "reason": "masks of good test images are not used: a good image has "
                                                           "no defect pixel to mark (an image whose mask marks one is "
                                                           "labelled good by mistake, or its mask is in the wrong "
                                                           "folder)"})
        elif unicodedata.normalize("NFC", folder.name) not in {unicodedata.normalize("NFC", t) for t in test_types}:
            near = next((t for t in sorted(test_types) if _loose_name(t) == _loose_name(folder.name)), None)
            hint = (f"; test/{near} differs from it only in letter case or in spaces at its ends: rename one of the two"
                    if near is not None else "")  # (bad-input review: "Crack" beside "crack" said nothing)
            skipped.append({"file": str(folder), "reason": f"no test/{folder.name} folder: masks are matched to the "
                                                           f"test images of the defect type of the same name{hint}"})
    return skipped


def _loose_name(name: str) -> str:
    """A folder name without what a reader does not see or notice: Unicode form, letter case, outer spaces."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def _ground_truth_folder(path: Path, defect_type: str) -> Path:
    """``ground_truth/<defect_type>`` of the category at ``path``, or the folder there whose name is the same in
    another Unicode form (a name written on macOS, NFD, beside one written elsewhere, NFC: bad-input review, every
    mask was lost without a word that could be understood)."""
    exact = path / "ground_truth" / defect_type
    if exact.is_dir() or not (path / "ground_truth").is_dir():
        return exact
    wanted = unicodedata.normalize("NFC", defect_type)
    return next((folder for folder in sorted((path / "ground_truth").iterdir())
                 if folder.is_dir() and unicodedata.normalize("NFC", folder.name) == wanted), exact)


@_names_unreadable_folders
def load_folder(folder: Path | str) -> tuple[list[Sample], list[dict[str, str]]]:
    """Unlabelled samples (label -1) for every image in a plain folder (not its sub-folders, see
    :func:`sub_folders`), or a single image file, and the files skipped with a reason (a file that is no readable
    image, given alone, is skipped too: every file given is accounted for); ``~`` is the user's home folder.
    ``DatasetError`` for a folder that is missing or holds no file to score."""
    folder = home_expanded(folder)
    if (absent := absent_reason(folder)) is not None:
        raise DatasetError(f"{folder} {absent}")
    if not folder.is_dir() and not folder.is_file():  # a named pipe or a device: reading it could wait forever
        return [], [{"file": str(folder), "reason": "not a regular file (a named pipe or a device)"}]
    if folder.is_file():
        if (named := file_name_problem(folder)) is not None:
            return [], [named]
        problem = _header_problem(folder) if is_image_path(folder) else not_an_image_reason(folder)
        if problem:
            return [], [{"file": str(folder), "reason": problem}]
        return [Sample(folder, -1, "unknown")], []
    paths, skipped = list_images(folder)
    if not paths and not skipped:
        sub_folders = any(path.is_dir() and not path.name.startswith(".") for path in folder.iterdir())
        # empty, or sub-folders and hidden files: "no readable image" had read as files refused (review)
        raise DatasetError(f"{folder} holds no image file" +
                           (" (its sub-folders are not searched: name one of them)" if sub_folders else ""))
    return [Sample(p, -1, "unknown") for p in paths], skipped


def nested_folders(image_folder: Path) -> list[dict[str, str]]:
    """The sub-folders of a dataset's image folder (``train/good``, ``test/<type>``) as skipped entries: their
    images are not read, and saying so keeps a lot sorted into a sub-folder from going missing unnoticed."""
    return [file_name_problem(folder) or {"file": str(folder), "reason": f"a sub-folder: the images in it are not "
                                                                         f"read (only those directly in "
                                                                         f"{image_folder.parent.name}/"
                                                                         f"{image_folder.name})"}
            for folder in sub_folders(image_folder)]


#: the folders of a category VQI reads, and in its train folder
CATEGORY_FOLDERS = ("train", "test", "ground_truth")


def unread_folders(category: Path) -> list[dict[str, str]]:
    """The folders of ``category`` other than train, test and ground_truth, and of its train folder other than
    good (hidden ones left out), as skipped entries: nothing in them is read, and a category (or a lot of
    training images) put there would otherwise go missing unnoticed (found by review)."""
    found = [(folder, f"a folder VQI does not read: a category holds {', '.join(CATEGORY_FOLDERS)} (a category "
                      f"inside another is not searched)") for folder in sub_folders(category)
             if folder.name not in CATEGORY_FOLDERS]
    found += [(folder, "a folder VQI does not read: training images go in train/good")
              for folder in sub_folders(category / "train") if folder.name != GOOD]
    return [file_name_problem(folder) or {"file": str(folder), "reason": reason} for folder, reason in found]


#: where the images found directly in a category's train, test and ground_truth folders belong
_STRAY_HINTS = {"train": "training images go in train/good",
                "test": "test images go in test/good or test/<defect_type>",
                "ground_truth": "masks go in ground_truth/<defect_type>"}


def stray_images(category: Path, folder: str) -> list[dict[str, str]]:
    """The image files lying directly in ``category``/``folder`` (train, test or ground_truth), one level too
    high to be read, as skipped entries that say where they belong."""
    where = category / folder
    if not where.is_dir():
        return []
    return [file_name_problem(path) or {"file": str(path), "reason": f"directly in {folder}/, not read: "
                                                                     f"{_STRAY_HINTS[folder]}"}
            for path in sorted(where.iterdir())
            if path.is_file() and is_image_path(path) and not path.name.startswith(".")]


def passed_over(skipped: Sequence[dict[str, str]], shown: int = 10) -> str:
    """``skipped`` for an error message: how many, grouped by reason, up to ``shown`` names under each (the first two
    with their reasons had left the others, and another reason among them, unnamed, where no run is written to list
    them: bad-input review)."""
    if not skipped:
        return ""
    by_reason: dict[str, list[str]] = {}
    for item in skipped:
        by_reason.setdefault(item["reason"], []).append(Path(item["file"]).name)
    groups = "; ".join(f"{', '.join(names[:shown])}{f' and {len(names) - shown} more' if len(names) > shown else ''}"
                       f": {reason}" for reason, names in by_reason.items())
    return f" ({counted(len(skipped), 'file or folder', 'files or folders')} passed over: {groups})"


def sub_folders(folder: Path | str) -> list[Path]:
    """The sub-folders of ``folder`` (hidden ones left out), sorted; none for a file. Scoring a folder does not
    search them, so they are named to the user."""
    folder = home_expanded(folder)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))


def supervised_split(category: Category, train_fraction: float = 0.5, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """Split the test set into a labelled training part and an evaluated part, for supervised methods.

    The MVTec layout has no labelled defective training images, so a supervised
    method must learn from part of the test set. The split is stratified: each
    defect type, and ``good``, contributes ``train_fraction`` of its images
    (rounded, at least one to each part when it has two or more; a type with a
    single image is only evaluated), chosen with a ``seed``-ed generator. Both
    parts keep the test set's order.
    """
    import numpy as np

    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be between 0 and 1 (exclusive), not {train_fraction}")
    from .samplers import stratified_pick

    types = [sample.defect_type for sample in category.test]
    labelled = set(stratified_pick(types, train_fraction, np.random.default_rng(seed)).tolist())
    if set(types) - {GOOD} and not any(category.test[i].label == 1 for i in labelled):
        raise DatasetError(f"no defective test image of {category.root} can be learnt from: every defect type has "
                           f"a single image, which is only evaluated; a method that learns from labelled defects "
                           f"needs two or more images of a defect type (one to learn from, one to evaluate on)")
    return ([s for i, s in enumerate(category.test) if i in labelled],
            [s for i, s in enumerate(category.test) if i not in labelled])
