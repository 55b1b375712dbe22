"""Orchestration: fit a method on a category, evaluate it, write a run; score new images.

This is the one place where datasets, methods, metrics, localisation and the
run store meet; the CLI and the dashboard call these functions.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import platform
import secrets
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
import torch

from . import __version__
from .capture import (FORMAT_SUFFIXES, capture_statistics, file_format, file_format_of, odd_ones_out,
                      statistics_ranges, unlike_bit_depth, unlike_format, unlike_training)
from .datasets import (Category, DatasetError, Sample, category_path, check_bit_depth_used, load_category, load_folder,
                       load_test_set, mask_problem, not_an_image_reason, passed_over)
from .images import (MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, BitDepthError, ImageFiles, ImageReadError, bit_depth_too_low,
                     image_shapes, image_subset, is_image_path, is_sixteen_bit, read_file_bytes, read_mask,
                     read_image_and_transparency, transparency_note, transparent_share_text)
from .localisation import BOX_LEVEL, CAPTION_TEXT_COLOR, DEFECT_TEXT_RGB, GOOD_RGB, STORED_MAP_DTYPE, Box, \
    box_note, boxes_from_map, captioned, map_boxes, normalize_map, render_overlay
from .methods import AnomalyModel, check_params, create_model, method_class
from .methods.base import MIN_GOOD_FOR_HOLDOUT, MODEL_JSON
from .metrics import (BELOW_CHANCE, box_hits, broad_boxes, defect_type_metrics, regions_boxed_by_type, rejected,
                      summary_metrics)
from .progress import ProgressCallback, report
from .region import InspectionRegion
from .provenance import bytes_sha256, data_manifest, file_sha256, manifest_changes, manifest_digest
from .wording import are, counted, exact_number, percent, told_apart
from .split_check import SplitCheck, auroc_without_copies, check_split
from .system import peak_memory_mb
from .thresholds import TRAINING_F1, TRAINING_HELD_OUT, TRAINING_SELF, judged_frame
from .runs import (CONFIG_FILE, MANIFEST_FILE, MAPS_FILE, METRICS_FILE, MODEL_DIR, REPORT_FILE, SCORES_FILE,
                   THRESHOLD_FILE, Run, RunError, RunStore, ground_truth_masks, local_time, predictions_frame,
                   read_scores_file, record_csv, created_folders_undone_on_failure, save_maps, scores_digest,
                   threshold_entry, write_bytes_atomic, write_json_atomic)

PACKAGES = ("torch", "torchvision", "numpy", "scikit-learn", "scikit-learn-intelex", "faiss-cpu", "opencv-python-headless")


#: decoded images of one set (training or test) held in memory up to this many MiB; beyond it they are
#: decoded from their files whenever they are needed (slower, as each training pass decodes them again)
IMAGE_MEMORY_MB = 1024


#: the share of each defect type and of the good test images a supervised method (cam) trains on by default
SUPERVISED_TRAIN_FRACTION = 0.5


@dataclass
class RunConfig:
    """What to train: a category folder (or a root plus category), a method and its parameters."""

    data: str
    method: str = "patchcore"
    params: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    seed: int = 0
    supervised_train_fraction: float = SUPERVISED_TRAIN_FRACTION
    #: decoded images of each set held in memory up to this many MiB (:func:`read_samples`); no effect on results
    image_memory_mb: float = IMAGE_MEMORY_MB
    #: a mask image of the inspection region (white = inspected; :mod:`vqi_core.region`); None: whole images
    region: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine a run's numbers, VQI's with the source revision it runs from
    (:func:`source_revision`)."""
    versions = {"vqi_core": __version__, "vqi_core source": source_revision(), "python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@functools.lru_cache(maxsize=1)
def source_revision() -> str:
    """The git commit VQI runs from (:func:`revision_of` its folder): VQI's version number stays the same from one
    commit to the next, so a run (and its report) names the code that scored it by this (report review)."""
    return revision_of(Path(__file__).resolve().parent.parent)


def revision_of(folder: Path) -> str:
    """The git commit checked out at ``folder``, with "modified" where its tracked files differ from it; "not a git
    checkout" where ``folder`` is not the top of a git repository (copied, or lying inside another project's
    repository, whose commit is not VQI's: code review); "unknown (...)" where git cannot say (not installed, or
    failing: the first line it printed)."""
    if not (folder / ".git").exists():
        return "not a git checkout"

    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("GIT_")}  # GIT_DIR and the like point git at another repository

    def git(*arguments: str) -> str:  # the folder's own repository, whoever owns it (a service account's checkout)
        command = ["git", "-c", f"safe.directory={folder}", "-C", str(folder), *arguments]
        return subprocess.run(command, capture_output=True, text=True, timeout=10, check=True,
                              env=environment).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except FileNotFoundError:
        return "unknown (git is not installed)"
    except subprocess.CalledProcessError as exc:
        said = (exc.stderr or "").strip().splitlines()
        return f"unknown (git: {said[0] if said else f'exit status {exc.returncode}'})"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown (git: {exc})"
    return f"git {commit}" + (" (modified)" if changed else "")


def compute_setting() -> dict[str, Any]:
    """What besides the packages moves a run's numbers: torch's thread count and the CPU instructions its kernels
    use change how sums are rounded (the last digits of most scores; fine-tuning and CAM training compound it)."""
    return {"torch_threads": torch.get_num_threads(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "machine": platform.machine()}


def compute_note(recorded: dict[str, Any] | None) -> str | None:
    """A note when the run was trained with another :func:`compute_setting` than this process has; None when the
    same, or not recorded (runs before 2026-12-03)."""
    if not isinstance(recorded, dict):
        return None
    now = compute_setting()
    differing = [f"{key} {recorded.get(key)!s} then, {value!s} now" for key, value in now.items()
                 if recorded.get(key) != value]
    if not differing:
        return None
    return (f"the run was trained with other compute settings ({'; '.join(differing)}): scores computed here may "
            f"differ from the saved ones in their last digits, a fine-tuned or CAM model's by more")


def read_samples(samples: Sequence[Sample], progress: ProgressCallback | None, stage: str,
                 skipped: list[dict[str, str]], memory_mb: float = IMAGE_MEMORY_MB, bit_depth: int = 16,
                 transparent: list[tuple[Sample, float]] | None = None) -> tuple[list[Sample], Sequence[np.ndarray]]:
    """Decode every image once to check it; unreadable ones are appended to ``skipped`` and left out; a
    :class:`~vqi_core.images.BitDepthError` stops it (``DatasetError``): the bit depth is wrong for the set;
    each image with (partly) transparent pixels, read over black, is appended to ``transparent`` with their share.

    The images come back decoded in a list while they fit in ``memory_mb`` MiB, otherwise as
    :class:`~vqi_core.images.ImageFiles` that decode each image again when it is needed, so that a
    training set of any size fits in memory. ``bit_depth``: see :func:`~vqi_core.images.read_image`.
    """
    kept: list[Sample] = []
    images: list[np.ndarray] = []
    shapes: list[tuple[int, int]] = []
    budget, held = memory_mb * 2 ** 20, 0
    report(progress, stage, 0, len(samples))
    for index, sample in enumerate(samples):
        try:
            image, share = read_image_and_transparency(sample.path, bit_depth=bit_depth)
        except BitDepthError as exc:
            raise DatasetError(bit_depth_too_low(exc, bit_depth)) from None
        except ImageReadError as exc:
            skipped.append({"file": str(sample.path), "reason": exc.reason_for(sample.path)})
        else:
            kept.append(sample)
            if share > 0 and transparent is not None:
                transparent.append((sample, share))
            shapes.append(image.shape[:2])
            held += image.nbytes
            if held <= budget:
                images.append(image)
            else:
                images.clear()  # over budget: keep paths and sizes only
        report(progress, stage, index + 1, len(samples))
    if held <= budget:
        return kept, images
    return kept, ImageFiles([s.path for s in kept], shapes, bit_depth)


#: the highest grey level (0-255) a 12-bit image reaches when it is read as 16 bits (4095 / 65535 * 255)
TWELVE_BITS_READ_AS_SIXTEEN = 16.0


def fewer_bits_note(bit_depth: int, good_train: Sequence[Sample], ranges: dict[str, list[float]]) -> str | None:
    """A note when the good training images are 16-bit files so dark that they probably come from a
    camera of 12 bits or fewer read as 16 bits (``bit_depth`` 16): each then keeps at most 16 grey levels, and
    distinct images can look like copies."""
    brightest = ranges["mean grey level"][1]
    if bit_depth != 16 or brightest >= TWELVE_BITS_READ_AS_SIXTEEN or not good_train:
        return None
    if not all(is_sixteen_bit(sample.path) for sample in good_train):  # headers only
        return None
    return (f"Every good training image is a 16-bit file and very dark (mean grey level at most "
            f"{brightest:.1f} of 255): images of a 10- or 12-bit camera read as 16 bits keep only 4 or 16 grey "
            f"levels, and distinct images can look like copies. If that is the camera, give its bit depth "
            f"(`--bit-depth 12` on the command line, or the bit depth the Train page asks for).")


def scored_unlike_training_note(unlike: int, scored: int, said_where: str) -> str:
    """What ``predict`` and the Predict page say when ``unlike`` of the ``scored`` images are unlike the good
    training images (said for each image ``said_where``)."""
    return (f"{unlike} of {counted(scored, 'image')} {are(unlike)} unlike the good training images (brightness, "
            f"contrast, colour, size, shape, file format or bit depth; {said_where}): the model never learnt what good "
            f"looks like under these conditions, so check the lighting, the camera and how the images are saved before "
            f"trusting their scores.")


def _recorded_digests(run: Run) -> dict[str, set[str]] | None:
    """The SHA-256 of the files of each role ("train", "test", "mask") in the run's data manifest, read once; None
    where the run did not record its files, or its manifest cannot be read."""
    try:
        manifest = run.data_manifest
    except RunError:
        return None
    if manifest is None:
        return None
    return {role: set(manifest.loc[manifest["role"] == role, "sha256"]) for role in ("train", "test", "mask")}


def learnt_from_note(run: Run, predictions: pd.DataFrame) -> str | None:
    """What ``predict`` and the Predict page say when files a predictions table scored (by their SHA-256) are images
    the run learnt from, by its data manifest (its own train/good had been scored as new parts without a word: QE
    review); None where none is, or where the run did not record its files."""
    recorded = _recorded_digests(run)
    if recorded is None:
        return None
    learnt = recorded["train"]
    digests = predictions.loc[predictions["prediction"] != NOT_SCORED, "sha256"]
    seen = sum(digest in learnt for digest in digests)
    if not seen:
        return None
    return (f"{seen} of {counted(len(digests), 'scored image')} {'is an image' if seen == 1 else 'are images'} the "
            f"run learnt from (the same bytes as its training images, by SHA-256): they score lower than new parts "
            f"would, so their verdicts say little about new parts.")


#: what ``predict`` and the Predict page say when the run cannot tell whether images are unlike its training images
CAPTURE_NOT_CHECKED_NOTE = ("Not checked: whether the images are unlike the good training images (brightness, "
                            "contrast, colour, size or shape). The run holds no record of them: it was trained before "
                            "runs kept one.")


#: a grey-level spread below this is one flat grey level: a blank capture (a lens cap on, no part in view)
BLANK_SPREAD = 1.0
#: the good training images a note on those unlike all the others names, at most
ODD_ONES_NAMED = 5


def odd_training_images_note(names: Sequence[str], odd: Mapping[int, list[str]]) -> str | None:
    """A note naming the good training images that a capture statistic sets apart from all the others
    (:func:`~vqi_core.capture.odd_ones_out`, indices into ``names``), which alone widen the ranges new images are
    checked against; None where there is none (command review: one grey photo among colour ones let every grey
    image pass predict --fail-on-defect without a word)."""
    if not odd:
        return None
    one = len(odd) == 1
    shown = "; ".join(f"{names[index]} ({'; '.join(how)})" for index, how in sorted(odd.items())[:ODD_ONES_NAMED])
    more = f"; and {len(odd) - ODD_ONES_NAMED} more" if len(odd) > ODD_ONES_NAMED else ""
    return (f"{counted(len(odd), 'good training image')} {'is' if one else 'are'} unlike all the others: {shown}"
            f"{more}. {'It alone widens' if one else 'They alone widen'} the ranges new images are checked against, "
            f"so images captured like {'it' if one else 'them'} are not called unlike the training images; if "
            f"{'it is' if one else 'they are'} not how the line photographs parts, remove {'it' if one else 'them'} "
            f"from train/good and train again.")


def blank_training_images_note(ranges: dict[str, list[float]]) -> str | None:
    """A note where every good training image, or at least one, is one flat grey level (their
    :func:`~vqi_core.capture.capture_ranges`); None otherwise. Twelve black images had trained a run without a word
    (bad-input review)."""
    lowest, highest = ranges["grey-level spread"]
    if highest < BLANK_SPREAD:
        return (f"Every good training image is blank, one flat grey level (grey-level spread at most {highest:.1f}), "
                f"as with a lens cap on or no part in view: the model has learnt nothing of the part, so its scores "
                f"say nothing about defects. Train on photos of good parts.")
    if lowest < BLANK_SPREAD:
        return (f"At least one good training image is blank, one flat grey level (grey-level spread {lowest:.1f}), "
                f"as with a lens cap on or no part in view: a blank part would pass as good. Check train/good.")
    return None


def below_chance_note(metrics: dict[str, Any]) -> str | None:
    """A note where the image AUROC's interval lies below chance (0.5): the run ranks good test images above
    defective ones (a coreset of one patch had given 0.0000 without a word: bad-input review); None otherwise."""
    interval = metrics.get("image_auroc_interval")
    if not interval or interval[1] > BELOW_CHANCE:
        return None
    return (f"The image AUROC {metrics['image_auroc']:.4f} lies below chance, with all of its 95% interval: the run "
            f"scores the good test images above the defective ones, and judges parts the wrong way round. Check the "
            f"test folders' labels (good images in a defect folder?) and the settings (a memory bank of a few "
            f"patches?).")


def few_training_images_note(n_good: int) -> str | None:
    """A note when there are too few good training images to show how good parts vary (and to hold any out to
    calibrate the maps); None with :data:`~vqi_core.methods.base.MIN_GOOD_FOR_HOLDOUT` or more."""
    if n_good >= MIN_GOOD_FOR_HOLDOUT:
        return None
    these = "it" if n_good == 1 else "these"
    return (f"Only {counted(n_good, 'good training image')}: a model knows good parts from {these} alone, so the "
            f"normal differences between parts (position, lighting, surface) can score as defects, and with fewer "
            f"than {MIN_GOOD_FOR_HOLDOUT} none is held out to calibrate the maps (the training images themselves "
            f"do, and new good parts score higher than they do). Collect dozens of good images before trusting the "
            f"threshold on the line.")


def transparent_images_note(transparent: Sequence[tuple[str, float]], role: str) -> str | None:
    """A note naming the images of ``role`` ("training", "test") that hold (partly) transparent pixels (their names
    and shares): VQI reads every image over black, so a part cut out on a transparent background is learnt or
    judged as that part on black, which ``predict`` says of each new image and training and evaluation had not said
    (bad-input review: a wholly transparent training image was learnt as a black part without a word). None
    without such images."""
    if not transparent:
        return None
    named = ", ".join(f"{name} ({transparent_share_text(share)})" for name, share in transparent[:3])
    more = f" and {len(transparent) - 3} more" if len(transparent) > 3 else ""
    return (f"{counted(len(transparent), role + ' image')} with (partly) transparent pixels, read over black as VQI "
            f"reads every image: {named}{more}. A part photographed on a transparent background is "
            f"{'learnt' if role == 'training' else 'judged'} as that part on black; give the images as the line's "
            f"camera takes them")


#: how far a training image's area (or aspect ratio) may lie from the median one's before it is named: a factor
ODD_SIZE_FACTOR = 4.0


#: the shorter side, in pixels, below which the median training image is too small to show a part's detail
TINY_IMAGE_SIDE = 16


def _median_shape(shapes: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The median height and the median width of (height, width) ``shapes`` (whole pixels)."""
    median_h, median_w = (int(np.median([shape[i] for shape in shapes])) for i in (0, 1))
    return median_h, median_w


def _first_few(names: Sequence[str], shown: int = 5, separator: str = ", ") -> str:
    """The first ``shown`` of ``names`` joined by ``separator``, then "..." where there are more (a note's list)."""
    return separator.join(names[:shown]) + (f"{separator}..." if len(names) > shown else "")


def tiny_training_images_note(shapes: Sequence[tuple[int, int]]) -> str | None:
    """A note where the median good training image's shorter side is under :data:`TINY_IMAGE_SIDE` px (a set of
    1 x 1 px images trained without a word: bad-input review); None otherwise."""
    if not shapes:
        return None
    median_h, median_w = _median_shape(shapes)
    if min(median_h, median_w) >= TINY_IMAGE_SIDE:
        return None
    return (f"The training images are tiny (median {median_w}x{median_h} px): enlarged to the network's input, "
            f"they hold little of a part's detail, and a defect smaller than a few of their pixels cannot be found. "
            f"Photograph the parts at a higher resolution if this is not what the line's camera gives.")


def odd_sized_training_images_note(names: Sequence[str], shapes: Sequence[tuple[int, int]],
                                   resize: str | None) -> str | None:
    """A note naming the training images whose area or aspect ratio lies more than :data:`ODD_SIZE_FACTOR`
    times from the median one (a stray crop, another camera); None when there is none. With ``fixed_scale``
    resizing the largest image sets the scale of every image, so one such image can shrink all parts (said only
    where ``resize`` is known: None before a run)."""
    if len(shapes) < 3:
        return None
    areas = np.array([h * w for h, w in shapes], float)
    aspects = np.array([w / h for h, w in shapes], float)
    median_h, median_w = _median_shape(shapes)
    limit = np.log(ODD_SIZE_FACTOR)
    odd = [i for i in range(len(shapes)) if abs(np.log(areas[i] / np.median(areas))) > limit
           or abs(np.log(aspects[i] / np.median(aspects))) > limit]
    if not odd:
        return None
    named = _first_few([f"{names[i]} ({shapes[i][1]}x{shapes[i][0]} px)" for i in odd])
    scale = (" With fixed_scale resizing the largest training image sets the scale of every image, so such an "
             "image can shrink every part." if resize == "fixed_scale" else "")
    return (f"{counted(len(odd), 'training image')} {are(len(odd))} far from the others' size or shape (area or "
            f"aspect ratio more than {ODD_SIZE_FACTOR:g}x off the median image's, {median_w}x{median_h} px): {named}. "
            f"A stray crop or another camera's image teaches the model parts it will not see, and widens the sizes "
            f"new images are checked against.{scale} Remove {'it' if len(odd) == 1 else 'them'} from train/good if "
            f"{'it is' if len(odd) == 1 else 'they are'} not of this line's parts.")


def good_training_images_notes(names: Sequence[str], good_samples: Sequence[Sample],
                                statistics: Sequence[dict[str, float]], shapes: Sequence[tuple[int, int]],
                                bit_depth: int, resize: str | None) -> list[str]:
    """The notes on the good training images (``names``, their ``good_samples``, their
    :func:`~vqi_core.capture.capture_statistics` and (H, W) ``shapes``) that training gives and ``check`` gives
    before it: a 16-bit camera of fewer bits, blank images, images unlike all the others, too few images, images
    of another size or shape, tiny images. ``resize`` is the run's (None where there is no run yet). One function
    for both, so that a check cannot pass in silence what training names (command review: check left out the
    blank, the few, the odd-sized and the tiny images)."""
    if not statistics:
        return []
    ranges = statistics_ranges(statistics)
    notes = [fewer_bits_note(bit_depth, good_samples, ranges), blank_training_images_note(ranges),
             odd_training_images_note(names, odd_ones_out(statistics)), few_training_images_note(len(good_samples)),
             odd_sized_training_images_note(names, shapes, resize), tiny_training_images_note(shapes)]
    return [note for note in notes if note is not None]


def missing_masks_note(test_samples: Sequence[Sample], truth: Sequence[np.ndarray | None]) -> str | None:
    """A note when some defective test images have a usable mask and others not: the pixel metrics cover only the
    first (None when all or none have one). ``truth``: the masks as read for the metrics, None where one could not
    be read (a 0/1 mask, a file changed since the category was checked): those images are not covered either."""
    defective = [s for s in test_samples if s.label == 1]
    without = [s for s, mask in zip(test_samples, truth) if s.label == 1 and (s.mask_path is None or mask is None)]
    marking = any(mask is not None and s.mask_path is not None and mask.any()
                  for s, mask in zip(test_samples, truth) if s.label == 1)
    if not without or len(without) == len(defective) or not marking:  # no mask marks a pixel: nothing is covered,
        return None  # as the note of masks marking no defect pixel says (command review: "cover 1 of 3" beside it)
    by_type = ", ".join(f"{defect_type} {sum(s.defect_type == defect_type for s in without)}"
                        for defect_type in sorted({s.defect_type for s in without}))
    verb = "has" if len(without) == 1 else "have"
    return (f"Pixel AUROC and AUPRO cover {len(defective) - len(without)} of "
            f"{counted(len(defective), 'defective test image')}: {len(without)} {verb} no usable mask ({by_type}; "
            f"the skipped files and the notes name masks that were there but could not be used, or matched no "
            f"image)")


def unreadable_masks_note(problems: Sequence[str]) -> str:
    """A note for masks that passed the check of the category yet could not be read when the pixel metrics
    were computed (changed since, or damaged beyond their header): left out, not the end of the run."""
    named = _first_few(problems, 3, "; ")  # (browser review: "... as the images of unknown masks are: <path>: ...")
    one = len(problems) == 1
    return (f"{counted(len(problems), 'mask')} could not be read, so {'its image is' if one else 'their images are'} "
            f"left out of pixel AUROC and AUPRO, as an image without a mask is. {named}.")


def empty_masks_note(test_samples: Sequence[Sample], truth: Sequence[np.ndarray | None]) -> str | None:
    """A note naming the defective test images whose mask marks no defect pixel (all black: their pixels count
    as defect-free), saying that the pixel metrics cannot be measured when every mask is so; None when none is."""
    empty = [s.name for s, mask in zip(test_samples, truth) if s.label == 1 and mask is not None and not mask.any()]
    if not empty:
        return None
    masked = sum(s.label == 1 and mask is not None for s, mask in zip(test_samples, truth))
    named = _first_few(empty)
    if len(empty) == masked:
        return (f"Every mask of the defective test images marks no defect pixel (all black: {named}), so pixel "
                f"AUROC and AUPRO cannot be measured: check that the masks mark defects white (> 127)")
    return (f"{counted(len(empty), 'mask')} of defective test images {are(len(empty))} all black, marking no defect "
            f"pixel ({named}): those images' pixels count as defect-free in pixel AUROC and AUPRO")


def outside_inspected_note(test_samples: Sequence[Sample], truth: Sequence[np.ndarray | None],
                           inspected: Sequence[np.ndarray] | None,
                           limited_by: str = "its inspection region or centre crop") -> str | None:
    """A note saying how many annotated defective test images have defect pixels outside what the run inspects
    (``limited_by``: see :func:`inspection_limits`), and what share of all defect pixels lie there: never flagged,
    they count as missed (report review: 50 of 80 glass defects reached outside a region, said nowhere); None when
    none do."""
    if inspected is None:
        return None
    counted_pixels = [(int(mask.sum()), int((mask & ~area).sum()))
                      for s, mask, area in zip(test_samples, truth, inspected)
                      if s.label == 1 and mask is not None and mask.any()]
    outside_images = sum(outside > 0 for _, outside in counted_pixels)
    if not outside_images:
        return None
    total, outside = sum(all_pixels for all_pixels, _ in counted_pixels), sum(part for _, part in counted_pixels)
    return (f"{outside_images} of {counted(len(counted_pixels), 'annotated defective test image')} "
            f"{'has' if outside_images == 1 else 'have'} defect pixels outside what the run inspects ({limited_by}), "
            f"{percent(outside / total)} of all defect pixels: never flagged, they count as missed in pixel AUROC and "
            f"AUPRO, and a defect there is not found")


def limit_names(has_region: bool, crop: float) -> list[str]:
    """What limits the pixels a run inspects, by name: "inspection region", "centre crop" (below 1), both or
    neither."""
    return [name for name, applies in (("inspection region", has_region), ("centre crop", crop < 1)) if applies]


def inspection_limits(model: AnomalyModel) -> str:
    """What limits the pixels ``model`` inspects, named for a note: "its inspection region", "its centre crop"
    or both (code review: the note named both where the run had one)."""
    limits = limit_names(model.region is not None, model.crop)
    return f"its {' and '.join(limits)}" if limits else "its inspection region or centre crop"


def full_masks_note(test_samples: Sequence[Sample], truth: Sequence[np.ndarray | None]) -> str | None:
    """A note naming the defective test images whose mask marks every pixel (all white: most likely inverted, or a
    placeholder; pixel AUROC fell from 0.96 to 0.72 with one such mask and nothing said: bad-input review); None
    when none is."""
    full = [s.name for s, mask in zip(test_samples, truth) if s.label == 1 and mask is not None and mask.all()]
    if not full:
        return None
    named = _first_few(full)
    return (f"{counted(len(full), 'mask')} of defective test images {'marks' if len(full) == 1 else 'mark'} every "
            f"pixel as defect (all white: {named}): an inverted mask (defects are white on black) or a placeholder? "
            f"Pixel AUROC and AUPRO count every pixel of {'that image' if len(full) == 1 else 'those images'} as "
            f"defective")


#: how the note of a method that has seen labelled defects begins (report.json, the pages)
SEEN_DEFECTS_NOTE = "This method has seen defects"


def location(sample: Sample, root: Path) -> str:
    """Where a sample lies in its category: ``train/good/<file>``, ``test/<defect_type>/<file>``."""
    try:
        return sample.path.relative_to(root).as_posix()
    except ValueError:
        return sample.name


def label_name(sample: Sample) -> str:
    """``"good"`` or ``"defective"``."""
    return "defective" if sample.label == 1 else "good"


def split_for_method(category: Category, method: str, config: RunConfig) -> tuple[list[Sample], list[Sample], list[str]]:
    """Training and evaluated samples; supervised methods get a labelled part of the test set."""
    if not method_class(method).supervised:
        return category.train, category.test, []
    from .datasets import supervised_split

    labelled, evaluated = supervised_split(category, config.supervised_train_fraction, config.seed)
    note = (f"{SEEN_DEFECTS_NOTE}: {sum(s.label == 1 for s in labelled)} labelled defective and "
            f"{counted(sum(s.label == 0 for s in labelled), 'good test image')} (stratified by defect type, seed "
            f"{config.seed}) were used for training, together with the train/good images; it is evaluated on "
            f"the other {counted(len(evaluated), 'test image')} only. The unsupervised methods have seen no defect.")
    return category.train + labelled, evaluated, [note]


def check_samples(root: Path, train_samples: Sequence[Sample], train_images: Sequence[np.ndarray],
                  test_samples: Sequence[Sample], test_images: Sequence[np.ndarray]) -> SplitCheck:
    """:func:`vqi_core.split_check.check_split` of decoded samples, named by where they lie under ``root``."""
    return check_split([location(s, root) for s in train_samples], [label_name(s) for s in train_samples],
                       train_images, [location(s, root) for s in test_samples],
                       [label_name(s) for s in test_samples], test_images)


def check_dataset(data: Path | str, category: str | None = None, progress: ProgressCallback | None = None,
                  bit_depth: int = 16) -> tuple[Category, SplitCheck, list[str]]:
    """Decode a category's images (``bit_depth``: see :func:`~vqi_core.images.read_image`) and look for test
    images that copy training images or each other.

    Unreadable files are added to the returned category's ``skipped`` list. The third item holds the notes on the
    images and masks that training would give without a model: those of :func:`good_training_images_notes`
    (16-bit training images so dark they look like a camera of fewer bits, blank ones, ones unlike all the others,
    too few, odd sizes, tiny ones), images with transparent pixels, masks that cannot be read (a 0/1 mask), mark
    nothing or everything, and good test images unlike the training images (a check had passed these in silence
    where training named them: command reviews).
    """
    found = load_category(category_path(data, category))
    check_bit_depth_used(bit_depth, [sample for sample in found.train if sample.label == 0])
    transparent: dict[str, list[tuple[Sample, float]]] = {"training": [], "test": []}
    train_samples, train_images = read_samples(found.train, progress, "loading training images", found.skipped,
                                               bit_depth=bit_depth, transparent=transparent["training"])
    test_samples, test_images = read_samples(found.test, progress, "loading test images", found.skipped,
                                             bit_depth=bit_depth, transparent=transparent["test"])
    report(progress, "checking the split for copies", 0, 1)
    check = check_samples(found.root, train_samples, train_images, test_samples, test_images)
    report(progress, "checking the split for copies", 1, 1)
    report(progress, "checking images and masks", 0, 1)  # its own stage: about as long again (code review)
    good = [index for index, sample in enumerate(train_samples) if sample.label == 0]
    good_samples = [train_samples[i] for i in good]
    good_images = image_subset(train_images, good)
    statistics = [capture_statistics(image) for image in good_images]
    ranges = statistics_ranges(statistics) if statistics else None
    notes: list[str | None] = [*good_training_images_notes([location(s, found.root) for s in good_samples],
                                                           good_samples, statistics, image_shapes(good_images),
                                                           bit_depth, resize=None)]
    notes += [transparent_images_note([(location(s, found.root), share) for s, share in items], role)
              for role, items in transparent.items()]
    notes += masks_notes(test_samples)
    notes.append(unlike_training_note(test_samples, test_images, ranges,  # None without ranges
                                      training_formats=file_formats(good_samples),
                                      training_bit_depths=file_bit_depths(good_samples)))
    notes.append(format_cue_note(test_samples))
    report(progress, "checking images and masks", 1, 1)
    return found, check, [note for note in notes if note is not None]


def masks_notes(samples: Sequence[Sample]) -> list[str]:
    """What training would say of the defective test images' masks, read as the pixel metrics read them: those that
    cannot be read (a 0/1 mask, a photo), mark no defect pixel or mark every pixel (:func:`unreadable_masks_note`,
    :func:`empty_masks_note`, :func:`full_masks_note`)."""
    problems: list[str] = []
    truth: list[np.ndarray | None] = []
    for sample in samples:
        mask = None
        if sample.label == 1 and sample.mask_path is not None:
            try:
                mask = read_mask(sample.mask_path)
            except ImageReadError as exc:
                problems.append(str(exc))
        truth.append(mask)
    notes = [unreadable_masks_note(problems)] if problems else []
    return notes + [note for note in (empty_masks_note(samples, truth), full_masks_note(samples, truth)) if note]


#: the most bytes of a category's name kept in a run name (with the date, the method, the suffix and the staging
#: folder's prefix, a name stays far below the 255 bytes a file name may have)
RUN_ID_CATEGORY_BYTES = 80
#: the date and time a run id starts with (when its training started, local time), as written and read back
RUN_ID_TIME = "%Y%m%d-%H%M%S"


def new_run_id(category: str, method: str) -> str:
    """A sortable, unique run name: date-time, category (its first :data:`RUN_ID_CATEGORY_BYTES` bytes: a longer
    one failed only when the finished run was saved; a backslash as ``_``: a run id that holds one is read as a
    path, and such a run could not be deleted or exported by its id), method, random suffix."""
    short = category.encode()[:RUN_ID_CATEGORY_BYTES].decode(errors="ignore").replace("\\", "_")
    return f"{time.strftime(RUN_ID_TIME)}-{short}-{method}-{secrets.token_hex(2)}"


def train_run(config: RunConfig, runs_dir: Path | str, progress: ProgressCallback | None = None) -> Run:
    """Fit ``config.method`` on the category's good images, evaluate on its test set, write a run.

    Raises ``DatasetError`` for a wrong layout or an empty training set, and lets
    ``Cancelled`` through after removing the partial run. A run that fails or is refused leaves nothing: the
    runs folder too is removed again when this call created it.
    """
    with created_folders_undone_on_failure(Path(runs_dir)):
        return _train_run(config, Path(runs_dir), progress)


def model_for(config: RunConfig) -> AnomalyModel:
    """The unfitted model a run of ``config`` trains; ``ValueError`` for a parameter its method cannot take, or a
    seed among them (the seed is a run setting)."""
    if "seed" in config.params:
        raise ValueError("the seed is a run setting (--seed, RunConfig.seed), not a method parameter")
    check_params(config.method, config.params, set_elsewhere=("seed",))
    return create_model(config.method, **{**config.params, "seed": config.seed})


def _train_run(config: RunConfig, runs_dir: Path, progress: ProgressCallback | None) -> Run:
    if not config.image_memory_mb >= 0:
        raise ValueError(f"the memory for decoded images (--image-memory-mb) must be 0 or more MiB, not "
                         f"{config.image_memory_mb}")
    model = model_for(config)  # a bad parameter ends it here
    folder = category_path(config.data, config.category).resolve()  # scores.csv's paths hold from any folder
    category = load_category(folder)
    region = InspectionRegion.read(config.region) if config.region else None
    store = RunStore(runs_dir)
    store.check_writable()  # before minutes of fitting, not after
    store.remove_leftovers()
    run_id = new_run_id(category.name, config.method)
    skipped = list(category.skipped)
    train_samples, test_samples, notes = split_for_method(category, config.method, config)
    check_bit_depth_used(model.bit_depth, [sample for sample in train_samples if sample.label == 0])
    transparent: dict[str, list[tuple[Sample, float]]] = {"training": [], "test": []}
    train_samples, train_images = read_samples(train_samples, progress, "loading training images", skipped,
                                               config.image_memory_mb, model.bit_depth, transparent["training"])
    if not any(s.label == 0 for s in train_samples):  # before the test images are decoded
        unread = [item for item in skipped if Path(item["file"]).parent == category.root / "train" / "good"]
        raise ValueError(f"no readable defect-free training image in {category.root / 'train' / 'good'}"
                         + passed_over(unread))
    good_train_images = image_subset(train_images, [i for i, s in enumerate(train_samples) if s.label == 0])
    good_shapes = image_shapes(good_train_images)
    if region is not None:  # before the test images are decoded: a region for other images ends the run here
        region.check_fits(good_shapes)
    test_samples, test_images = read_samples(test_samples, progress, "loading test images", skipped,
                                             config.image_memory_mb, model.bit_depth, transparent["test"])
    for role, items in transparent.items():
        if (see_through := transparent_images_note([(location(s, category.root), share) for s, share in items],
                                                   role)) is not None:
            notes.append(see_through)
    report(progress, "checking the split for copies", 0, 1)
    split = check_samples(category.root, train_samples, train_images, test_samples, test_images)
    manifest = data_manifest(category.root, train_samples, test_samples)
    report(progress, "checking the split for copies", 1, 1)  # each stage ends at its total: a terminal log showed
    def captured(image: np.ndarray) -> np.ndarray:  # what the capture checks see: the inspection region (outside it
        return model.inspected(image, region)  # labels and fixtures vary: a part with a tag had failed predict
        # --fail-on-defect as unlike the training images: region review), as the model sees it

    good_train = [s for s in train_samples if s.label == 0]
    statistics = [capture_statistics(captured(image)) for image in good_train_images]  # one image at a time: see
    notes += good_training_images_notes([location(s, category.root) for s in good_train], good_train,  # the memory
                                        statistics, good_shapes, model.bit_depth, model.preprocessing.resize)  # budget
    ranges, formats, depths = statistics_ranges(statistics), file_formats(good_train), file_bit_depths(good_train)
    unlike = unlike_training_note(test_samples, test_images, ranges, captured, formats, depths)
    for test_note in (unlike, format_cue_note(test_samples)):  # the test images unlike the training ones too
        if test_note is not None:  # (bad-input review), and a format that tells the classes apart
            notes.append(test_note)

    started = time.perf_counter()
    labels = [s.label for s in train_samples] if model.supervised else None
    model.fit(train_images, progress, labels=labels, region=region)
    fit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    prediction = model.predict(test_images, progress, stage="evaluation") if test_images else None
    predict_seconds = time.perf_counter() - started
    report(progress, "metrics", 0, 1)
    scores = pd.DataFrame({
        "image": [s.name for s in test_samples],
        "path": [str(s.path) for s in test_samples],
        "label": [label_name(s) for s in test_samples],
        "defect_type": [s.defect_type for s in test_samples],
        "mask_path": [str(s.mask_path) if s.mask_path else "" for s in test_samples],
        "score": prediction.scores if prediction is not None else [],
    })
    maps = prediction.maps if prediction is not None else []
    labels_array = np.array([s.label for s in test_samples], int)
    if (same := one_score_note(scores["score"].to_numpy())) is not None:
        notes.append(same)
    metrics = test_set_metrics(test_samples, scores["score"].to_numpy(), maps,
                               prediction.inspected if prediction is not None else [], notes, model.normalization,
                               limited_by=inspection_limits(model))
    metrics.update({
        "fit_seconds": round(fit_seconds, 3),
        "ms_per_image": round(1000 * predict_seconds / len(test_images), 2) if test_images else None,  # no image
        # scored: no time per image (command review: 0.0 beside an image AUROC of n/a)
        "train_images": len(train_images), "test_images": len(test_images),
        "train_defective_images": sum(s.label == 1 for s in train_samples),  # labelled, for a supervised method
        "normalisation_images": len(model.fit_info["holdout_indices"]),
        "peak_rss_mb": peak_memory_mb(),
        "seen_defects": model.supervised,
        "pixel_metrics_inspected_only": True,  # runs before 2026-12-03 also counted pixels never inspected
        "copied_test_images": len(split.flagged_test_names),
        "image_auroc_without_copies": auroc_without_copies(
            split, [location(s, category.root) for s in test_samples], labels_array, scores["score"].to_numpy())
        if split.flagged_test_names else None,
    })
    if (inverted := below_chance_note(metrics)) is not None:
        notes.append(inverted)
    report(progress, "metrics", 1, 1)  # (the stages left at 0/1 as unfinished: command review)
    threshold = metrics.get("f1_threshold")
    source = TRAINING_F1
    if threshold is None:
        threshold, source, note = fallback_threshold(model, int((labels_array == 0).sum()),
                                                     int((labels_array == 1).sum()))
        notes.append(note)
    report(progress, "saving", 0, 1)
    staging = store.new_staging_folder(run_id)
    try:
        model.save(staging / MODEL_DIR)
        save_maps(staging / MAPS_FILE, maps)
        write_bytes_atomic(staging / SCORES_FILE, record_csv(predictions_frame(scores, threshold)))
        written_scores = scores_digest(read_scores_file(staging / SCORES_FILE))  # as a check reads them back
        write_json_atomic(staging / THRESHOLD_FILE, threshold_entry(threshold, source))
        write_bytes_atomic(staging / MANIFEST_FILE, record_csv(manifest))
        notes += split.notes(scores["label"].tolist(), metrics["image_auroc"], metrics["image_auroc_without_copies"])
        if model.supervised and (seen := split.seen_defect_look_alikes_note()):
            notes.append(seen)
        write_json_atomic(staging / REPORT_FILE, {
            "skipped": skipped, "notes": notes, "split_check": split.to_dict(), "training_capture_ranges": ranges,
            "training_file_formats": formats,
            "training_bit_depths": depths,
            "capture_inspected": region is not None,  # the ranges are of the inspection region (runs since 2026-12-06)
            "normalisation_images": [location(train_samples[i], category.root)
                                     for i in model.fit_info["holdout_indices"]]})
        write_json_atomic(staging / CONFIG_FILE, {
            "run_id": run_id, "method": config.method, "params": model.get_params(), "seed": config.seed,
            "dataset": str(category.root.resolve()), "category": category.name, "request": config.to_dict(),
            "has_masks": category.has_masks, "defect_types": category.defect_types,
            "data_sha256": manifest_digest(manifest), "data_files": len(manifest),
            "model_sha256": file_sha256(staging / MODEL_DIR / MODEL_JSON),  # model.json checks its other files
            "scores_sha256": written_scores, "maps_sha256": file_sha256(staging / MAPS_FILE),
            "region": region.describe() if region is not None else None,
            "created": local_time(), "versions": package_versions(), "compute": compute_setting(),
        })
        write_json_atomic(staging / METRICS_FILE, metrics)  # written last: its presence marks a complete run
        report(progress, "saving", 1, 1)
        report(progress, "done", 1, 1)  # before publishing: a cancel here leaves no run, as the caller is told
        run = store.publish(staging, run_id)
    except BaseException as exc:  # failed or interrupted: leave nothing half-written behind
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk says only "No space left on device": where, is said here
            raise OSError(f"the run could not be written into the runs folder {store.root}: "
                          f"{exc.strerror or exc}") from exc
        raise
    return run


def missing_test_images(n_good: int, n_defective: int) -> str | None:
    """What a test set lacks to choose a threshold on ("no test images", "no defective test image", "no good
    test image"); None when it has both classes."""
    if n_good + n_defective == 0:
        return "no test images"
    if n_defective == 0:
        return "no defective test image"
    return "no good test image" if n_good == 0 else None


def one_score_note(scores: np.ndarray) -> str | None:
    """A note where every one of two or more test images got the same score: the model tells no part from
    another, and any threshold passes or rejects them all (PaDiM with epsilon=1e300 scored every image 0, and the
    run was written without a word: bad-input review); None otherwise."""
    if len(scores) < 2 or np.ptp(scores) != 0:  # (NaN scores are named elsewhere)
        return None
    return (f"Every test image scored the same ({exact_number(float(scores[0]))}): the model tells no part from "
            f"another, so any threshold passes or rejects them all. Check the method's parameters and the images "
            f"(a flat or blank set, an input far too small).")


def fallback_threshold(model: AnomalyModel, n_good: int, n_defective: int) -> tuple[float, str, str]:
    """The threshold of a run whose test set cannot choose one (no test image, or only one class): the highest
    score of the good images held out of the fit (of the training images themselves when too few were there to
    hold any out); with its source and a note that says why and what to do."""
    held_out = int(model.fit_info.get("holdout_images", 0))
    threshold = float(model.normalization.get("score_max", 0.0))
    source = TRAINING_HELD_OUT if held_out else TRAINING_SELF
    missing = missing_test_images(n_good, n_defective)
    scored_on = f"{counted(held_out, 'held-out good training image')}, {exact_number(threshold)}" if held_out else \
        f"the training images themselves, {exact_number(threshold)} (none held out: fewer than " \
        f"{MIN_GOOD_FOR_HOLDOUT} good ones, or holdout_fraction 0; a model scores its training images low, so " \
        f"expect false alarms)"
    note = (f"The test set has {missing}, so no threshold could be chosen on it: the threshold the run was trained "
            f"with is the highest score of {scored_on}. Check it on labelled images from the line (the "
            f"dashboard's Predict page, \"Labelled images: check the run\", or `evaluate --data`) before trusting "
            f"it.")
    return threshold, source, note


@dataclass
class ImageResult:
    """Verdict for one scored image."""

    name: str
    score: float
    defective: bool
    anomaly_map: np.ndarray  # normalised, eval size
    boxes: list[Box]
    image: np.ndarray  # the scored image, RGB uint8
    unlike_training: list[str] = field(default_factory=list)  # see vqi_core.capture.unlike_training
    region: np.ndarray | None = None  # the inspected part of the image (its inspection region and centre crop; bool,
    # image size); None: all of it
    sha256: str = ""  # of the scored file's bytes (set by iter_score)
    broad_boxes: int = 0  # how many of ``boxes`` cover more than half of the image (judged in the map's pixels)
    read_note: str | None = None  # how the file was read where that bears on its verdict (transparency; set by
    # iter_score: see vqi_core.images.transparency_note)


def capture_view(run: Run, model: AnomalyModel) -> Callable[[np.ndarray], np.ndarray] | None:
    """What of an image a run's training capture ranges were taken of: its inspection region as the model sees it
    (:meth:`~vqi_core.methods.base.AnomalyModel.inspected`), for runs that recorded so; None for the whole image."""
    return model.inspected if run.report.get("capture_inspected") else None


def score_images(model: AnomalyModel, images: Sequence[np.ndarray], names: Sequence[str], threshold: float,
                 progress: ProgressCallback | None = None,
                 training_ranges: dict[str, Sequence[float]] | None = None,
                 box_level: float = BOX_LEVEL,
                 captured: Callable[[np.ndarray], np.ndarray] | None = None) -> list[ImageResult]:
    """Score already decoded images with a fitted model at ``threshold``, boxes drawn above ``box_level`` (the
    run's :attr:`~vqi_core.runs.Run.box_level`); with the run's ``training_ranges`` (``report.json``), each result
    also says how its image is unlike the training images (``captured``: what of it the ranges are of, see
    :func:`capture_view`)."""
    prediction = model.predict(list(images), progress)
    results = []
    for name, image, score, raw_map in zip(names, images, prediction.scores, prediction.maps):
        # rounded as a run stores its maps: a test image scored here gets the boxes Inspect draws on it
        norm_map = normalize_map(np.asarray(raw_map, STORED_MAP_DTYPE), model.normalization)
        results.append(ImageResult(name, float(score), bool(rejected(score, threshold)), norm_map,
                                   boxes_from_map(norm_map, box_level, image_hw=image.shape[:2]),
                                   image, unlike_training(image if captured is None else captured(image),
                                                          training_ranges),
                                   model.image_inspected_area(image.shape[:2]),
                                   broad_boxes=map_box_tally(norm_map, box_level)[1]))
    return results


#: images decoded and scored at a time by :func:`iter_score`: memory stays bounded whatever their number
SCORING_CHUNK = 32
#: and their pixels at most (unless one image alone has more): each image may hold up to MAX_IMAGE_PIXELS
SCORING_CHUNK_PIXELS = MAX_IMAGE_PIXELS


@dataclass(frozen=True)
class ImageSource:
    """An image to score: its name in the results, where it comes from (for messages), how to get its
    encoded bytes and the most bytes accepted (``None``: no limit).

    The bytes are read once, then decoded and hashed (SHA-256), so that the hash in the results is the hash
    of exactly the bytes that were judged, even if the file is replaced while it is scored.
    """

    name: str
    origin: str
    read_bytes: Callable[[], bytes]
    max_bytes: int | None = MAX_IMAGE_BYTES

    def read(self, bit_depth: int = 16) -> tuple[np.ndarray, str, str | None, str | None, bool]:
        """The decoded image (``bit_depth``: see :func:`~vqi_core.images.read_image`), the SHA-256 of its
        bytes, how it was read where that bears on its verdict (:func:`~vqi_core.images.transparency_note`),
        its file format (:func:`~vqi_core.capture.file_format`) and whether it is a 16-bit file;
        ``ImageReadError`` if it cannot be read, with the SHA-256 as its ``sha256`` where the bytes were read but
        do not decode (a file not scored is still tied to its bytes in the results: audit review)."""
        data = self.read_bytes()
        digest = bytes_sha256(data)
        try:
            image, transparent = read_image_and_transparency(data, self.origin, self.max_bytes, bit_depth)
        except ImageReadError as exc:
            exc.sha256 = digest
            raise
        return image, digest, transparency_note(transparent), file_format(data), is_sixteen_bit(io.BytesIO(data))


def folder_sources(source: Path | str) -> tuple[list[ImageSource], list[dict[str, str]]]:
    """The images of a plain folder (or one image file), and the files skipped with a reason."""
    samples, skipped = load_folder(source)
    return [ImageSource(s.path.name, str(s.path), functools.partial(read_file_bytes, s.path), None)
            for s in samples], skipped


def upload_sources(uploads: Sequence[tuple[str, bytes]]) -> list[ImageSource]:
    """Images given as (file name, encoded bytes), e.g. uploaded in the dashboard."""
    return [ImageSource(name, name, functools.partial(bytes, data)) for name, data in uploads]


def iter_score(model: AnomalyModel, sources: Sequence[ImageSource], threshold: float,
               skipped: list[dict[str, str]], progress: ProgressCallback | None = None,
               chunk_size: int = SCORING_CHUNK,
               training_ranges: dict[str, Sequence[float]] | None = None,
               box_level: float = BOX_LEVEL, chunk_pixels: int = SCORING_CHUNK_PIXELS,
               captured: Callable[[np.ndarray], np.ndarray] | None = None,
               training_formats: Sequence[str] | None = None,
               training_bit_depths: Sequence[int] | None = None) -> Iterator[ImageResult]:
    """Decode and score ``sources`` a chunk at a time, yielding each result with its image.

    A chunk is ``chunk_size`` images, fewer where they would hold more than ``chunk_pixels`` pixels (one image
    larger than that is a chunk of its own): only one chunk of decoded images is held at a time. Undecodable images,
    and files whose suffix is not an image suffix VQI reads (an upload of any kind, refused as a folder's file is even
    when Pillow could decode it), are appended to ``skipped`` (``file``, ``reason``) and left out.
    ``training_ranges``, ``box_level`` and ``captured``: see :func:`score_images`; with the run's
    ``training_formats``, a file of another format is unlike the training images too
    (:func:`~vqi_core.capture.unlike_format`), and with their ``training_bit_depths`` a file of another bit depth
    (:func:`~vqi_core.capture.unlike_bit_depth`).
    """
    report(progress, "scoring", 0, len(sources))
    chunk: list[_Decoded] = []

    def scored_chunk() -> list[ImageResult]:
        results = score_images(model, [item.image for item in chunk], [item.name for item in chunk], threshold,
                               training_ranges=training_ranges, box_level=box_level, captured=captured) if chunk else []
        return [replace(result, sha256=item.sha256, read_note=item.read_note,
                        unlike_training=[*unlike_bit_depth(item.sixteen_bit, training_bit_depths),  # the file's
                                         *unlike_format(item.file_format, training_formats),  # own first: what
                                         *result.unlike_training])  # the statistics then follow from (browser review)
                for result, item in zip(results, chunk)]

    for done, source in enumerate(sources, 1):
        decoded = _decoded(source, model.bit_depth, skipped)
        if decoded is not None and chunk and (sum(item.image.shape[0] * item.image.shape[1] for item in chunk)
                                              + decoded.image.shape[0] * decoded.image.shape[1] > chunk_pixels):
            yield from scored_chunk()  # found by review: 32 photos of 62 megapixels took about 10 GB at once
            chunk = []
            report(progress, "scoring", done - 1, len(sources))
        if decoded is not None:
            chunk.append(decoded)
        if done % chunk_size == 0 or done == len(sources):
            yield from scored_chunk()
            chunk = []
            report(progress, "scoring", done, len(sources))


def iter_run_scores(run: Run, sources: Sequence[ImageSource], skipped: list[dict[str, str]],
                    progress: ProgressCallback | None = None, model: AnomalyModel | None = None,
                    threshold: float | None = None, box_level: float | None = None) -> Iterator[ImageResult]:
    """Score ``sources`` as ``predict`` and the Predict page do with a saved run (see :func:`iter_score`): its model
    (``model``: one loaded from it already), its saved threshold and box level (unless given: a caller that shows
    them reads them once), each result saying how its image is unlike the run's good training images, measured on
    what of it they were measured on (its inspection region, where the run took them so), and whether its file
    format is another than theirs."""
    model = run.load_model() if model is None else model
    return iter_score(model, sources, run.threshold if threshold is None else threshold, skipped, progress,
                      training_ranges=run.report.get("training_capture_ranges"),
                      box_level=run.box_level if box_level is None else box_level, captured=capture_view(run, model),
                      training_formats=run.report.get("training_file_formats"),
                      training_bit_depths=run.report.get("training_bit_depths"))


class _Decoded(NamedTuple):
    """An image to score, as :meth:`ImageSource.read` gives it, with its name."""

    name: str
    image: np.ndarray
    sha256: str
    read_note: str | None
    file_format: str | None
    sixteen_bit: bool


def _decoded(source: ImageSource, bit_depth: int, skipped: list[dict[str, str]]) -> _Decoded | None:
    """``source`` decoded; None when it is not an image file or cannot be decoded, appended to ``skipped`` with
    the reason (and the SHA-256 of its bytes where they were read)."""
    if not is_image_path(Path(source.name)):
        try:  # tied to its bytes all the same (an upload's name is no path to read them from later)
            digest = bytes_sha256(source.read_bytes())
        except (ImageReadError, OSError):
            digest = ""
        skipped.append({"file": source.origin, "reason": not_an_image_reason(Path(source.name)),
                        **({"sha256": digest} if digest else {})})
        return None
    try:
        image, digest, read_note, found_format, sixteen_bit = source.read(bit_depth)
    except ImageReadError as exc:
        skipped.append({"file": source.origin, "reason": exc.reason_for(source.origin),
                        **({"sha256": exc.sha256} if exc.sha256 else {})})
        return None
    return _Decoded(source.name, image, digest, read_note, found_format, sixteen_bit)


#: columns of a predictions table (the CLI's predictions.csv, the Predict page's CSV): see :func:`result_row` and
#: :func:`not_scored_row`
RESULT_COLUMNS = ["image", "score", "threshold", "prediction", "boxes", "broad_boxes", "box_level",
                  "unlike_training", "read_as", "sha256", "run", "scored_at", "problem"]
#: the prediction of a file that could not be scored (see :func:`not_scored_row`)
NOT_SCORED = "not scored"


#: the longest file name, in bytes, that common file systems (ext4, NTFS, APFS) accept
MAX_FILE_NAME_BYTES = 255
OVERLAY_SUFFIX = "_overlay.png"


def overlay_file_name(image_name: str) -> str:
    """The file name of ``image_name``'s overlay: the whole name (``a.png`` and ``a.jpg`` both kept) plus
    ``_overlay.png``; where that is too long for a file system, the name is shortened and a digest of the whole
    name keeps it unique."""
    name = f"{image_name}{OVERLAY_SUFFIX}"
    if len(name.encode()) <= MAX_FILE_NAME_BYTES:
        return name
    digest = hashlib.sha256(image_name.encode()).hexdigest()[:12]
    room = MAX_FILE_NAME_BYTES - len(f"~{digest}{OVERLAY_SUFFIX}".encode())
    kept = image_name.encode()[:room].decode(errors="ignore")  # never half a character
    return f"{kept}~{digest}{OVERLAY_SUFFIX}"


def map_box_tally(norm_map: np.ndarray, box_level: float) -> tuple[int, int]:
    """How many boxes a normalised map gets above ``box_level``, and how many of them are broad, judged in the
    map's pixels as :func:`~vqi_core.metrics.box_hits` judges them (boxes scaled out to an image's pixels grow by
    a rounding)."""
    found = boxes_from_map(norm_map, box_level)
    return len(found), broad_boxes([(box.x0, box.y0, box.x1, box.y1) for box in found], norm_map.shape)


def result_row(result: ImageResult, threshold: float, run_id: str, box_level: float = BOX_LEVEL) -> dict[str, Any]:
    """One CSV row for a scored image: name, score, threshold, prediction, boxes as x0,y0,x1,y1;..., how many of
    them are broad (over more than half of the image: they do not say where a defect is) and the box level they
    were drawn above (so that a row can be drawn again from the file alone: audit review), how the image is unlike
    the training images and how it was read where that bears on its verdict (transparency; each empty when there
    is nothing to say), and for the quality record the SHA-256 of the file, the run that judged it and when."""
    return {"image": result.name, "score": result.score, "threshold": threshold,
            "prediction": "defective" if result.defective else "good",
            "boxes": ";".join(f"{b.x0},{b.y0},{b.x1},{b.y1}" for b in result.boxes),
            "broad_boxes": result.broad_boxes, "box_level": box_level,
            "unlike_training": "; ".join(result.unlike_training), "read_as": result.read_note or "",
            "sha256": result.sha256, "run": run_id,
            "scored_at": local_time(), "problem": ""}


def caption_lines(result: ImageResult, threshold: float, run_id: str, box_level: float = BOX_LEVEL,
                  held_out: int | None = None) -> list[tuple[str, tuple[int, int, int]]]:
    """The lines of a saved overlay's caption, each with its colour: the verdict, the score beside the threshold
    (with the digits that tell them apart), the boxes with their level and where they and the verdict seem to
    disagree or cover most of the image, why (:func:`~vqi_core.localisation.box_note`, as the pages' cards say it),
    how it was read where that bears on its verdict (transparency), whether the image is unlike the training
    images, and the run that judged it (``held_out``: its ``normalisation_images``, for the box note)."""
    score = exact_number(result.score) if result.score == threshold else told_apart(result.score, threshold)[0]
    lines = [("DEFECTIVE" if result.defective else "GOOD", DEFECT_TEXT_RGB if result.defective else GOOD_RGB),
             (f"score {score} {'>=' if result.defective else '<'} threshold {exact_number(threshold)}",
              CAPTION_TEXT_COLOR),
             (f"{counted(len(result.boxes), 'box', 'boxes')} above box level {exact_number(box_level)}",
              CAPTION_TEXT_COLOR)]
    # as the pages' cards say it
    if note := box_note(result.defective, len(result.boxes), box_level, result.broad_boxes, held_out=held_out):
        lines.append((note, CAPTION_TEXT_COLOR))
    if result.read_note:
        lines.append((result.read_note, CAPTION_TEXT_COLOR))
    if result.unlike_training:  # how, as the cards say it (QE review: the caption sent to predictions.csv, which
        lines += [("unlike the training images:", DEFECT_TEXT_RGB),  # the dashboard's ZIP holds not), said once
                  *((f"  {text}", DEFECT_TEXT_RGB) for text in result.unlike_training)]  # (browser review)
    return [*lines, (f"run {run_id}", CAPTION_TEXT_COLOR)]


def captioned_overlay(result: ImageResult, threshold: float, run_id: str, box_level: float = BOX_LEVEL,
                      held_out: int | None = None) -> np.ndarray:
    """The overlay ``predict`` saves for a scored image: heatmap, boxes and the inspection region, above its
    :func:`caption_lines`, so that the image file alone says what was decided (audit review: the overlays carried
    no verdict)."""
    overlay = render_overlay(result.image, result.anomaly_map, result.boxes, region=result.region)
    return captioned(overlay, caption_lines(result, threshold, run_id, box_level, held_out))


def not_scored_row(skipped: dict[str, str], threshold: float, run_id: str,
                   box_level: float = BOX_LEVEL) -> dict[str, Any]:
    """One CSV row for a file that was given to score but could not be (``skipped``: ``file``, ``reason``): no
    score, the prediction :data:`NOT_SCORED` and the reason as its ``problem``, so that the table accounts for
    every part and a part that was not inspected is never taken for a good one."""
    return {"image": Path(skipped["file"]).name, "score": None, "threshold": threshold, "prediction": NOT_SCORED,
            "boxes": "", "broad_boxes": None, "box_level": box_level, "unlike_training": "", "read_as": "",
            "sha256": skipped.get("sha256") or _readable_file_sha256(skipped["file"]), "run": run_id,
            "scored_at": local_time(),
            "problem": skipped["reason"]}


def _readable_file_sha256(file: str) -> str:
    """The SHA-256 of a regular file that is there (not a pipe or device, not over the size limit), "" otherwise:
    a file of a folder skipped before its bytes were read, such as one whose header is not an image's, is still
    tied to its bytes (:func:`iter_score` gives the SHA-256 of every upload it skips)."""
    if not is_image_path(Path(file)):  # not a part's image (notes, a video): not read for it
        return ""
    try:
        return bytes_sha256(read_file_bytes(file))
    except (ImageReadError, OSError):
        return ""


def check_decisions(evaluation: dict[str, Any], run_id: str, threshold: float) -> pd.DataFrame:
    """Every image of an evaluation on labelled images (:func:`evaluate_run`'s result) judged at ``threshold``
    (:func:`~vqi_core.thresholds.judged_frame`: label, defect type, score, decision, outcome), then a row for each
    file of its test folders that could not be scored (prediction :data:`NOT_SCORED`, no score or outcome, the
    reason as its ``problem``: found by review, the record left them out), each with its file's SHA-256, the run
    that judged it and when: the record of a check (``evaluate --decisions``, the Predict page's check CSV)."""
    judged = judged_frame(evaluation["names"], evaluation["paths"], evaluation["labels"], evaluation["defect_types"],
                          evaluation["scores"], threshold).assign(problem="")
    not_scored = []
    for item in evaluation["skipped"]:
        path = Path(item["file"])
        if path.parent.parent.name != "test" or path.is_dir():  # a mask left out (its image is scored), a file of
            continue  # another folder, or a sub-folder of a defect type's (named, not searched; review: a "part")
        sample = Sample(path, 0 if path.parent.name == "good" else 1, path.parent.name)  # named as a scored one
        not_scored.append({"image": sample.name, "label": label_name(sample), "defect_type": sample.defect_type,
                           "score": None, "threshold": threshold, "prediction": NOT_SCORED, "outcome": "",
                           "path": str(path), "problem": item["reason"]})
    if not_scored:
        judged = pd.concat([judged, pd.DataFrame(not_scored, columns=judged.columns)], ignore_index=True)
    hashed = dict(zip(evaluation["paths"], evaluation.get("sha256") or []))  # hashed by evaluate_run already
    return judged.assign(sha256=[hashed.get(path) or _readable_file_sha256(path) for path in judged["path"]],
                         run=run_id, evaluated_at=local_time())  # as predict's records have them: an image file's
    # (QE review: the check's had none), not a text file's (command review: predict left it out, the check not)


def prediction_table(scored_rows: Sequence[dict[str, Any]], skipped: Sequence[dict[str, str]], threshold: float,
                     run_id: str, box_level: float = BOX_LEVEL) -> pd.DataFrame:
    """The predictions table (:data:`RESULT_COLUMNS`; the CLI's ``predictions.csv``, the Predict page's CSV): the
    scored images' rows (:func:`result_row`), then a row for every file that could not be scored."""
    rows = [*scored_rows, *(not_scored_row(item, threshold, run_id, box_level) for item in skipped)]
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    # a count stays a whole number beside rows that have none (found by review: 1.0 once a row was not scored)
    return frame.astype({"broad_boxes": "Int64"})


def usable_mask(sample: Sample, skipped: list[dict[str, str]]) -> Sample:
    """``sample`` without its mask where the mask file has gone, cannot be read or is no longer of its image's
    size (listed in ``skipped`` with the reason), as a test set's masks are checked when it is loaded."""
    if sample.mask_path is None:
        return sample
    problem = mask_problem(sample.mask_path, sample.path)
    if problem is None:
        return sample
    skipped.append({"file": str(sample.mask_path), "reason": problem})
    return replace(sample, mask_path=None)


def seen_before(run: Run, samples: Sequence[Sample], digests: Sequence[str]) -> tuple[list[str], int]:
    """Notes naming the images among ``samples`` (their files' SHA-256 ``digests``) that the run has seen (the same
    bytes, by the SHA-256 of its data manifest): those it learnt from (its training images, and for a method that
    learns from labelled defects its labelled test images) and those it was tested on (its own test images, on
    which a threshold chosen on its test set was chosen: found by review, evaluate called them new images); and how
    many are among its test images (those that copy a training image too, which the first note counts). No note
    where there is none, or the run did not record its files."""
    recorded = _recorded_digests(run)
    if recorded is None:
        return [], 0
    learnt, test_set = recorded["train"], recorded["test"]
    seen = [sample for sample, digest in zip(samples, digests) if digest in learnt]
    own = [sample for sample, digest in zip(samples, digests) if digest in test_set - learnt]
    # a test image that copies a training image is named as one the run learnt from, and is still one of the test
    # images its threshold was chosen on (found by review: glass's copies were "not chosen on these images")
    in_test_set = sum(digest in test_set for digest in digests)
    both = sum(digest in learnt and digest in test_set for digest in digests)  # said, so that the notes' counts add
    also = ("" if not both else "; it is also one of its test images" if len(seen) == 1  # up to the test images'
            else f"; all {both} are also among its test images" if both == len(seen)  # count said after them
            else f"; {both} of them are also among its test images")  # (command review: "5 of these 10" beside 10)
    notes = []
    if seen:
        notes.append(f"{len(seen)} of these {counted(len(samples), 'image')} "
                     f"{'is an image' if len(seen) == 1 else 'are images'} the run learnt from "
                     f"(the same bytes as its training images, by SHA-256; e.g. {seen[0].path}{also}): the figures "
                     f"on them are better than on new parts")
    if own:
        notes.append(f"{len(own)} of these {counted(len(samples), 'image')} "
                     f"{'is one' if len(own) == 1 else 'are'} of the run's own test images (the same bytes, by "
                     f"SHA-256; e.g. {own[0].path}): a threshold chosen on its test set was chosen on them, and the "
                     f"figures on them are not those of new parts")
    return notes, in_test_set


def inspected_pixels(maps: Sequence[np.ndarray], areas: Sequence[np.ndarray | None]) -> list[np.ndarray] | None:
    """Per map, the pixels the model inspects (``areas``, as :attr:`Prediction.inspected`: None where it inspects
    all of a map), all True where it inspects the whole image; None when it inspects every pixel of every map.
    Pixel metrics leave out the defect-free pixels outside, which no model would flag."""
    if all(area is None for area in areas):
        return None
    return [np.ones(m.shape, bool) if area is None else area for m, area in zip(maps, areas)]


def test_set_metrics(samples: Sequence[Sample], scores: np.ndarray, maps: Sequence[np.ndarray],
                     inspected_areas: Sequence[np.ndarray | None], notes: list[str],
                     normalization: Mapping[str, float], box_level: float = BOX_LEVEL,
                     limited_by: str = "its inspection region or centre crop") -> dict[str, Any]:
    """Image and pixel metrics of a scored test set (:func:`vqi_core.metrics.summary_metrics`) with
    ``per_defect_type`` ones, and how the boxes drawn above ``box_level`` of the model's map ``normalization``
    (recorded as ``box_level``) meet the ground truth (:func:`vqi_core.metrics.box_hits`; per defect type with a
    known mask, its regions boxed). Pixel metrics count the images whose mask is known (good images count as all
    good); a mask that cannot be read is left out and named in a note, as is a mask that marks no defect pixel,
    and a mask that marks every pixel is named (all appended to ``notes``). ``inspected_areas``: as
    :attr:`Prediction.inspected`."""
    labels = np.array([s.label for s in samples], int)
    frame = pd.DataFrame({"label": [label_name(s) for s in samples],
                          "mask_path": [str(s.mask_path) if s.mask_path else "" for s in samples]})
    unreadable: list[str] = []
    truth = ground_truth_masks(frame, list(maps), unreadable) if any(s.mask_path for s in samples) else None
    if unreadable:
        notes.append(unreadable_masks_note(unreadable))
    unmasked = missing_masks_note(samples, truth) if truth else None
    if unmasked is not None:
        notes.append(unmasked)
    for mask_note in (empty_masks_note, full_masks_note):
        if truth and (note := mask_note(samples, truth)) is not None:
            notes.append(note)
    masks = [mask for mask in truth or [] if mask is not None]
    types = [s.defect_type for s in samples]
    if truth is None or not masks:
        metrics = summary_metrics(labels, scores)
        metrics["per_defect_type"] = defect_type_metrics(types, labels, scores)
    else:
        inspected = inspected_pixels(maps, inspected_areas)
        if (outside := outside_inspected_note(samples, truth, inspected, limited_by)) is not None:
            notes.append(outside)
        known = [i for i, mask in enumerate(truth) if mask is not None]
        metrics = summary_metrics(labels, scores, masks, [maps[i] for i in known],
                                  [inspected[i] for i in known] if inspected else None)
        metrics["per_defect_type"] = defect_type_metrics(types, labels, scores, truth, maps, inspected)
    boxes = map_boxes(maps, normalization, box_level)
    truths: Sequence[np.ndarray | None] = truth or [None] * len(samples)
    metrics.update(box_hits(labels, truths, boxes), box_level=box_level)
    for name, regions in regions_boxed_by_type(labels, truths, boxes, types).items():
        metrics["per_defect_type"][name].update(regions)
    return metrics


def file_formats(samples: Sequence[Sample]) -> list[str]:
    """The file formats of ``samples``' files (:func:`~vqi_core.capture.file_format_of`), sorted."""
    return sorted({found for sample in samples if (found := file_format_of(sample.path)) is not None})


def _formats_as_named(found: Sequence[tuple[Sample, str]]) -> str:
    """The file formats of ``found`` (samples with their files' formats), each with the suffixes of its files where
    they are another format's ("BMP files named .png": glass's good images, whose names hid the format a note
    named: browser review)."""
    named: dict[str, set[str]] = {}
    for sample, file_format_found in found:
        suffix = sample.path.suffix.lower()
        named.setdefault(file_format_found, set())
        if suffix not in FORMAT_SUFFIXES.get(file_format_found.split()[0], (suffix,)):
            named[file_format_found].add(suffix)
    return ", ".join(f"{name} files named {' / '.join(sorted(suffixes))}" if suffixes else name
                     for name, suffixes in sorted(named.items()))


def file_bit_depths(samples: Sequence[Sample]) -> list[int]:
    """The bit depths of ``samples``' files, 8 and / or 16 (:func:`~vqi_core.images.is_sixteen_bit`, headers only)."""
    return sorted({16 if is_sixteen_bit(sample.path) else 8 for sample in samples})


def format_cue_note(test_samples: Sequence[Sample]) -> str | None:
    """A note where the file format alone tells the good test images from the defective ones (no format shared:
    glass's good images are BMP files, its defective ones PNG, and no check said so: command review); None
    otherwise, and without both kinds of test image."""
    found = {label: [(sample, name) for sample in test_samples if sample.label == label  # each header read once
                     and (name := file_format_of(sample.path)) is not None] for label in (0, 1)}
    good, defective = ({name for _, name in found[label]} for label in (0, 1))
    if not good or not defective or good & defective:
        return None
    return (f"The file format alone tells the good test images from the defective ones: good "
            f"{_formats_as_named(found[0])}, defective {_formats_as_named(found[1])}. Images saved by another tool or "
            f"at another time may have been captured or processed otherwise (light, exposure, compression), and a "
            f"model can score well on this test set by noticing that rather than the defects: check that good and "
            f"defective parts were photographed and saved the same way.")


def unlike_training_note(samples: Sequence[Sample], images: Sequence[np.ndarray],
                         training_ranges: Mapping[str, Sequence[float]] | None,
                         captured: Callable[[np.ndarray], np.ndarray] | None = None,
                         training_formats: Sequence[str] | None = None,
                         training_bit_depths: Sequence[int] | None = None) -> str | None:
    """A note naming how many of the labelled good ``images`` lie outside the run's good training images' capture
    ranges (:func:`vqi_core.capture.unlike_training`; ``captured``: what of an image the ranges were taken of, see
    :func:`capture_view`), or whose file format or bit depth is not theirs (``training_formats``,
    ``training_bit_depths``), with an example; None when
    none does or the run holds no ranges. Defective images are not counted: a large defect alone can move an
    image's brightness or contrast."""
    if not training_ranges:
        return None
    good = [index for index, sample in enumerate(samples) if sample.label == 0]  # defective ones are not decoded
    unlike = [(samples[index], found) for index, image in zip(good, image_subset(images, good))
              if (found := [*unlike_training(captured(image) if captured else image, training_ranges),
                            *unlike_format(file_format_of(samples[index].path), training_formats),
                            *unlike_bit_depth(is_sixteen_bit(samples[index].path), training_bit_depths)])]
    if not unlike:
        return None
    sample, found = unlike[0]
    return (f"{len(unlike)} of {counted(len(good), 'good image')} {are(len(unlike))} unlike the good training "
            f"images (brightness, contrast, colour, size, shape, file format or bit depth; e.g. {sample.path.name}: "
            f"{'; '.join(found)}): "
            f"the model never learnt what good looks like under these conditions, so their verdicts, good or "
            f"defective, say little about the parts; check the capture before reading these figures as the "
            f"model's.")  # (it had said they score as defective, beside one passed: QE review)


def evaluate_run(run: Run, data: Path | str | None = None, progress: ProgressCallback | None = None,
                 model: AnomalyModel | None = None, category: str | None = None) -> dict[str, Any]:
    """Score a test set again with the run's saved model: its own test set, or another category's.

    Returns ``metrics``, the new ``scores``, their ``labels`` (0 good, 1 defective), ``defect_types``
    (``good`` for good images), ``paths``, ``names`` (as ``scores.csv`` names test images), ``sha256`` (each file's,
    for another test set; None for the run's own), ``notes`` (masks unreadable or marking no defect pixel, images the
    run learnt from, good images unlike its good training images, compute settings other than the run's), and for
    the run's own test set the largest absolute difference from the saved scores (0 when the run reproduces
    exactly; over the ``scored_again`` images still readable) and
    ``data_changes``: the test and mask files changed or missing since training
    (:func:`vqi_core.provenance.manifest_changes`; None for another test set, or a run without a data manifest);
    ``data_manifest_problem``: why the run's own ``data_manifest.csv`` cannot be read (missing or damaged: the test
    set is evaluated all the same, without ``data_changes``), else None; ``skipped``: the test images that could
    not be read, with the reason. ``category``: the category of ``data`` when it holds several. ``DatasetError``
    when no test image can be read.
    """
    model = model or run.load_model()
    if data is None:
        frame = run.scores
        skipped: list[dict[str, str]] = []
        samples = [usable_mask(Sample(Path(p), 1 if lab == "defective" else 0, t,
                                      Path(m) if isinstance(m, str) and m else None), skipped)
                   for p, lab, t, m in zip(frame["path"], frame["label"], frame["defect_type"], frame["mask_path"])]
    else:
        samples, skipped = load_test_set(data, category)
    changes, manifest_problem = None, None
    if data is None:
        try:
            saved_manifest = run.data_manifest
        except RunError as exc:  # missing or damaged: evaluated all the same, without naming the changed files
            saved_manifest, manifest_problem = None, str(exc)
        if saved_manifest is not None:
            changes = manifest_changes(saved_manifest[saved_manifest["role"] != "train"],
                                       data_manifest(run.config["dataset"], [], samples))
    transparent: list[tuple[Sample, float]] = []
    samples, images = read_samples(samples, progress, "loading test images", skipped, bit_depth=model.bit_depth,
                                   transparent=transparent)
    if not samples:
        where = data if data is not None else f"run {run.id}'s test set"
        dataset = Path(str(run.config.get("dataset", "")))
        moved = ""
        if data is None and not dataset.is_dir():
            moved = (f": its dataset folder {dataset} is no longer there (moved or deleted?); to evaluate on the "
                     f"images where they are now, give their category folder as --data")
        raise DatasetError(f"{where} has no readable test image to evaluate on{passed_over(skipped)}{moved}")
    prediction = model.predict(images, progress, stage="evaluation")
    labels = np.array([s.label for s in samples], int)
    notes: list[str] = []
    if (see_through := transparent_images_note([(str(s.path), share) for s, share in transparent], "test")):
        notes.append(see_through)
    metrics = test_set_metrics(samples, prediction.scores, prediction.maps, prediction.inspected, notes,
                               model.normalization, run.box_level, inspection_limits(model))
    difference, matched = None, list[tuple[float, float]]()
    if data is None:  # over the images still there (one gone or unreadable since training is left out)
        saved = dict(zip(run.scores["path"], run.score_values))
        matched = [(score, saved[str(s.path)]) for s, score in zip(samples, prediction.scores) if str(s.path) in saved]
        difference = float(max(abs(new - old) for new, old in matched)) if matched else None
    for label, missing, lost in ((0, "good", "false alarms"), (1, "defective", "escapes")):  # said as a note, not
        if not (labels == label).any():  # only as a folder skipped or as "0 of 0" (found by an audit review)
            notes.append(f"no {missing} image among these: {lost} cannot be measured here, nor the image AUROC")
    own_test_images, digests = 0, None
    if data is not None:  # each file hashed once: for these notes and for the check's record (check_decisions)
        digests = [file_sha256(sample.path) for sample in samples]
        seen_notes, own_test_images = seen_before(run, samples, digests)
        notes.extend(seen_notes)
    unlike = unlike_training_note(samples, images, run.report.get("training_capture_ranges"), capture_view(run, model),
                                  run.report.get("training_file_formats"), run.report.get("training_bit_depths"))
    if unlike is not None:
        notes.append(unlike)
    if data is not None and (by_format := format_cue_note(samples)) is not None:  # on other labelled images too
        notes.append(by_format)  # (code review: said by check and train only)
    if data is None and (compute := compute_note(run.config.get("compute"))) is not None:
        notes.append(compute)
    elif data is None and "compute" not in run.config and difference:
        notes.append(f"the scores computed here differ from the saved ones by up to {difference:.3g}, and the run was "
                     f"trained before runs recorded their compute settings: another thread count or CPU moves scores "
                     f"in their last digits, and so does a later VQI (SPADE's image distances since 2026-12-03)")
    return {"metrics": metrics, "scores": prediction.scores, "labels": labels,
            "defect_types": [s.defect_type for s in samples], "paths": [str(s.path) for s in samples],
            "names": [s.name for s in samples], "sha256": digests,
            "max_score_difference": difference, "scored_again": len(matched), "notes": notes,
            "own_test_images": own_test_images,
            "skipped": skipped, "data_changes": changes, "data_manifest_problem": manifest_problem}
