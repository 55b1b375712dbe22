"""Checks of a test set before its figures are trusted: copies across the split, and capture cues.

**Copies.** A model that has seen a photo during training scores that photo as perfectly
normal, so a good test image that is a copy of a training image is an easy
true negative and flatters the AUROCs and the false-alarm rate; a defective
test image that is a copy of a ``train/good`` image contradicts its label. The
check finds copies by their decoded pixels (the same RGB conversion as
training): two images are copies when they have the same size and the
root-mean-square difference of their pixels is at most ``tolerance`` grey
levels (0 for identical files, about 0.5-1 for the same photo re-saved
losslessly or as a high-quality JPEG; two different photos of the same part
under the same camera differ by several grey levels from sensor noise alone).

Candidates are found on 32 px area-averaged thumbnails, whose RMSE never
exceeds the full images' (a mean of differences is at most their root mean
square), then confirmed on 128 px and 512 px thumbnails and at full size, so
the check is exact and costs about one resize per image plus a matrix product
of thumbnails (more only where many images look alike at 32 px).

**Capture cues.** When a whole-image statistic (mean grey level, grey-level
spread, size, aspect ratio) alone separates the good test images from the
defective ones, a model can score well by noticing how the images were
captured (another day, light, exposure, camera or crop) rather than the
defects. Each statistic's AUROC is reported (direction-free, 0.5-1; see
:func:`vqi_core.capture.capture_cues`); at ``CUE_AUROC`` or above it gets a note. Some defects do change the whole image
(a missing part, a broken bottle), so the note asks to check, it does not
conclude.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import cv2
import numpy as np

from .capture import capture_cues, format_cue
from .images import image_shapes
from .metrics import image_auroc

#: the largest pixel RMSE (grey levels, 0-255) at which two images count as copies
COPY_RMSE = 1.0
THUMBNAIL_SIDE = 32
#: larger thumbnails that confirm a candidate before the full-size comparison
CONFIRMATION_SIDES = (128, 512)
_QUERY_CHUNK = 512
#: a whole-image statistic that alone separates good from defective test images this well gets a note
CUE_AUROC = 0.95


@dataclass(frozen=True)
class CopyPair:
    """``query`` is a copy of ``reference`` (indices into the two lists), ``rmse`` grey levels apart."""

    query: int
    reference: int
    rmse: float


def _thumbnail(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """Area-averaged thumbnail (at most ``side`` px a side, never enlarged), flattened, float64."""
    height, width = image.shape[:2]
    size = (min(side, width), min(side, height))
    small = image if size == (width, height) else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small.astype(np.float64).ravel()


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    difference = a.astype(np.float32) - b.astype(np.float32)
    return float(np.sqrt(np.mean(difference * difference)))


class _Thumbnails:
    """Thumbnails of a list of images at the confirmation sides, made once when first asked for."""

    def __init__(self, images: Sequence[np.ndarray]):
        self.images = images
        self._made: dict[tuple[int, int], np.ndarray] = {}

    def get(self, index: int, side: int) -> np.ndarray:
        key = (index, side)
        if key not in self._made:
            self._made[key] = _thumbnail(self.images[index], side).astype(np.float32)
        return self._made[key]


def _within(queries: _Thumbnails, query: int, references: _Thumbnails, reference: int,
            tolerance: float) -> float | None:
    """The full-size RMSE of two same-shape images if it is at most ``tolerance``, else None; larger
    thumbnails first (each one's RMSE is a lower bound of the full size's), so that different photos of
    one scene, whose sensor noise averages out in small thumbnails, are set apart before full size."""
    for side in CONFIRMATION_SIDES:
        if _rmse(queries.get(query, side), references.get(reference, side)) > tolerance:
            return None
    rmse = _rmse(queries.images[query], references.images[reference])
    return rmse if rmse <= tolerance else None


def find_copies(queries: Sequence[np.ndarray], references: Sequence[np.ndarray] | None = None,
                tolerance: float = COPY_RMSE) -> list[CopyPair]:
    """For each query image, the closest reference image it is a copy of (pixel RMSE ≤ ``tolerance``).

    ``references=None`` looks for copies within ``queries`` itself: each image
    is matched to the closest *earlier* image, so every repeat is reported once
    (the first occurrence is not). Images must share their shape to be copies.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    within = references is None
    references = queries if references is None else references
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, shape in enumerate(image_shapes(references)):
        by_shape.setdefault(shape, []).append(index)
    reference_thumbs = {shape: np.stack([_thumbnail(references[i]) for i in indices])
                        for shape, indices in by_shape.items()}
    query_groups: dict[tuple[int, ...], list[int]] = {}
    for index, shape in enumerate(image_shapes(queries)):
        if shape in by_shape:
            query_groups.setdefault(shape, []).append(index)
    query_thumbs, reference_levels = _Thumbnails(queries), _Thumbnails(references)
    # the largest squared RMSE of 32 px thumbnails that still allows a copy (with the expanded square's slack)
    bound = (tolerance + 1e-6) ** 2 + 1e-6
    pairs = []
    for shape, query_indices in query_groups.items():
        candidates = by_shape[shape]
        targets = reference_thumbs[shape]
        target_norms = np.einsum("ij,ij->i", targets, targets)
        for start in range(0, len(query_indices), _QUERY_CHUNK):
            chunk = query_indices[start:start + _QUERY_CHUNK]
            thumbs = np.stack([_thumbnail(queries[i]) for i in chunk])
            squared = (np.einsum("ij,ij->i", thumbs, thumbs)[:, None] + target_norms[None, :]
                       - 2.0 * thumbs @ targets.T) / thumbs.shape[1]
            for row, query in enumerate(chunk):
                order = np.argsort(squared[row], kind="stable")
                best: CopyPair | None = None
                for column in order:
                    if squared[row, column] > bound:
                        break
                    reference = candidates[column]
                    if within and reference >= query:
                        continue
                    rmse = _within(query_thumbs, query, reference_levels, reference, tolerance)
                    if rmse is not None and (best is None or rmse < best.rmse):
                        best = CopyPair(query, reference, rmse)
                        if rmse == 0.0:
                            break
                if best is not None:
                    pairs.append(best)
    return sorted(pairs, key=lambda pair: pair.query)


@dataclass
class SplitCheck:
    """Copies found between a test set and its training images and within the test set; capture cues.

    Each copy entry names the test image (``test/<defect_type>/<file>``), its
    label, the image it copies (``train/...`` or ``test/...``), that image's
    label and the pixel RMSE between them; ``capture_cues`` is
    :func:`capture_cues` of the test images.
    """

    test_images: int
    train_images: int
    copies_of_train: list[dict[str, Any]] = field(default_factory=list)
    repeats_in_test: list[dict[str, Any]] = field(default_factory=list)
    capture_cues: list[dict[str, Any]] = field(default_factory=list)

    @property
    def flagged_test_names(self) -> set[str]:
        """Test images that are copies of a training image or of an earlier test image."""
        return {entry["test"] for entry in self.copies_of_train + self.repeats_in_test}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``report.json``)."""
        return {"tolerance_rmse": COPY_RMSE, "test_images": self.test_images, "train_images": self.train_images,
                "copies_of_train": self.copies_of_train, "repeats_in_test": self.repeats_in_test,
                "capture_cues": self.capture_cues}

    @property
    def strong_cues(self) -> list[dict[str, Any]]:
        """The capture cues that alone reach :data:`CUE_AUROC`."""
        return [cue for cue in self.capture_cues if cue["auroc"] >= CUE_AUROC]

    def notes(self, test_labels: Sequence[str], auroc: float | None = None,
              auroc_without: float | None = None) -> list[str]:
        """Plain notes for the run report and the pages: one about copies, one about strong capture cues.

        With the run's image AUROC (``auroc``) the copies note ends with the AUROC
        without the copies (``auroc_without``, see :func:`auroc_without_copies`).
        Empty when there is neither.
        """
        sentences = []
        good_total = sum(label == "good" for label in test_labels)
        good_copies = [e for e in self.copies_of_train if e["label"] == "good"]
        contradicting = [e for e in self.copies_of_train if e["label"] != e["copy_label"]]
        if good_copies:
            example = good_copies[0]
            sentences.append(
                f"{len(good_copies)} of {good_total} good test images are copies of training images (same pixels, "
                f"at most {COPY_RMSE:g} grey level apart; e.g. {example['test']} is {example['copy']}). A model "
                f"scores a photo it was trained on as perfectly normal, so these copies make the AUROCs and the "
                f"false-alarm rate look better than they will be on new parts.")
        if contradicting:
            example = contradicting[0]
            sentences.append(
                f"{len(contradicting)} defective test image(s) are copies of train/good images (e.g. "
                f"{example['test']} is {example['copy']}): the same photo is taught as good and tested as "
                f"defective, so one of the two labels is wrong.")
        conflicts = [e for e in self.repeats_in_test if e["label"] != e["copy_label"]]
        if conflicts:
            example = conflicts[0]
            sentences.append(
                f"{len(conflicts)} test image(s) are copies of other test images with another label (e.g. "
                f"{example['test']} is {example['copy']}, labelled {example['copy_label']}).")
        repeats = len(self.repeats_in_test) - len(conflicts)
        if repeats:
            sentences.append(f"{repeats} test image(s) appear more than once in the test set (same pixels): each "
                         f"copy counts again in every figure.")
        flagged = self.copies_of_train + self.repeats_in_test
        if flagged and auroc is not None:
            if auroc_without is not None:
                sentences.append(f"Image AUROC without the {len(flagged)} copied test image(s): {auroc_without:.4f} "
                             f"(with them {auroc:.4f}).")
            else:
                left = {label: sum(item == label for item in test_labels)
                        - sum(e["label"] == label for e in flagged) for label in ("good", "defective")}
                empty = "good" if left["good"] == 0 else "defective"
                sentences.append(f"Image AUROC {auroc:.4f} cannot be checked without the copies: no {empty} test "
                             f"image is left once the {len(flagged)} copied test image(s) are set aside.")
        notes = [" ".join(sentences)] if sentences else []
        if self.strong_cues:
            found = "; ".join(
                f"{cue['cue']} (AUROC {cue['auroc']:.3f}; median {_cue_value(cue, 'good_median')} good, "
                f"{_cue_value(cue, 'defective_median')} defective)" for cue in self.strong_cues)
            subject = "A whole-image statistic alone separates" if len(self.strong_cues) == 1 else \
                "Whole-image statistics alone separate"
            notes.append(
                f"{subject} the good test images from the defective ones: {found}. A "
                f"model can score well on this test set by noticing how the images were captured (light, exposure, "
                f"camera, crop) rather than the defects: check that good and defective parts were photographed "
                f"the same way, unless the defects themselves change the whole image.")
        return notes


    def cues_line(self) -> str:
        """Every capture cue's AUROC in one line ("" without both classes)."""
        if not self.capture_cues:
            return ""
        return ("Each whole-image statistic alone, AUROC good vs defective (0.5 = no hint): "
                + ", ".join(f"{cue['cue']} {cue['auroc']:.3f}" for cue in self.capture_cues) + ".")


def _cue_value(cue: dict[str, Any], key: str) -> str:
    return format_cue(cue["cue"], cue[key])


def findings_line(check: dict[str, Any] | None) -> str:
    """A run's test-set findings in a few words (for run tables), from ``report.json``'s ``split_check``:
    ``"18 copied test images; mean grey level alone 0.988"``, ``"none"``, or ``"not checked"`` (older runs)."""
    if check is None:
        return "not checked"
    findings = []
    copies = len(check.get("copies_of_train", [])) + len(check.get("repeats_in_test", []))
    if copies:
        findings.append(f"{copies} copied test image{'s' if copies > 1 else ''}")
    findings += [f"{cue['cue']} alone {cue['auroc']:.3f}" for cue in check.get("capture_cues", [])
                 if cue["auroc"] >= CUE_AUROC]
    return "; ".join(findings) or "none"


def check_split(train_names: Sequence[str], train_labels: Sequence[str], train_images: Sequence[np.ndarray],
                test_names: Sequence[str], test_labels: Sequence[str], test_images: Sequence[np.ndarray],
                tolerance: float = COPY_RMSE) -> SplitCheck:
    """Copies between test and training images and within the test images, and the test images' capture cues
    (see the module docstring).

    Names are shown as given (use ``train/...`` and ``test/...`` so that they
    cannot be confused); labels are ``"good"`` or ``"defective"``.
    """
    check = SplitCheck(len(test_images), len(train_images))
    for pair in find_copies(test_images, train_images, tolerance):
        check.copies_of_train.append({
            "test": test_names[pair.query], "label": test_labels[pair.query], "copy": train_names[pair.reference],
            "copy_label": train_labels[pair.reference], "rmse": round(pair.rmse, 3)})
    in_train = {entry["test"] for entry in check.copies_of_train}
    for pair in find_copies(test_images, None, tolerance):
        if test_names[pair.query] not in in_train:
            check.repeats_in_test.append({
                "test": test_names[pair.query], "label": test_labels[pair.query], "copy": test_names[pair.reference],
                "copy_label": test_labels[pair.reference], "rmse": round(pair.rmse, 3)})
    check.capture_cues = capture_cues(test_images, test_labels)
    return check


def auroc_without_copies(check: SplitCheck, test_names: Sequence[str], labels: Sequence[int] | np.ndarray,
                         scores: Sequence[float] | np.ndarray) -> float | None:
    """Image AUROC on the test images that are not copies; ``None`` when a class has no image left."""
    flagged = check.flagged_test_names
    keep = np.array([name not in flagged for name in test_names], bool)
    return image_auroc(np.asarray(labels)[keep], np.asarray(scores)[keep])
