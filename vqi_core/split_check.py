"""Checks of a test set before its figures are trusted: copies across the split, and capture cues.

**Copies.** A model that has seen a photo during training scores that photo as perfectly
normal, so a good test image that is a copy of a training image is an easy
true negative and flatters the AUROCs and the false-alarm rate; a defective
test image that is a copy of a ``train/good`` image contradicts its label. The
check finds copies by their decoded pixels (the same RGB conversion as
training): two images are copies when they have the same size and the
root-mean-square difference of their grey levels (luma, 0.299 R + 0.587 G +
0.114 B) is at most ``tolerance`` (0 for identical files; at most 0.3 for the
same photo re-saved as a JPEG of quality 100, 1.2 at quality 95, measured on
the shared bottle, glass and magnetic-tile images; different photos of one
part differ by 2.2 or more there, from sensor noise alone). Grey levels, not
the colour channels: a JPEG stores colour at half resolution, which moves a
colour photo's channels by up to 2.5 levels at quality 95 but its grey levels
by at most 1.05.

Candidates are found on 32 px area-averaged thumbnails, whose RMSE never
exceeds the full images' (a mean of differences is at most their root mean
square), then confirmed on 128 px and 512 px thumbnails and at full size, so
the check is exact and costs about one resize per image plus a matrix product
of thumbnails (more only where many images look alike at 32 px).

**Look-alikes.** A dataset that photographs each part several times (another
exposure, angle or session) and splits the photos at random puts other photos of
a test part into training: no copy, yet a part the model has seen. Each test
image that is not a copy gets the closest training image by its likeness: the
correlation of 32 px grey-level thumbnails (brightness and contrast do not
count) over the ``LOOK_ALIKE_CELLS`` share of the thumbnail where the two agree
best (a defect in the rest does not count); at ``LOOK_ALIKE_LIKENESS`` or above
it has a look-alike (different photos of one magnetic tile reach 0.99, two
different tiles about 0.96). Parts that all look the same (bottles from one
fixture) give every test image a look-alike, good or defective, so only a much
larger share among the good test images than among the defective ones
(``LOOK_ALIKE_GAP``) gets a note; a defect that changes most of the image also
lowers its image's share, so the note asks to check.

**Capture cues.** When a whole-image statistic (mean grey level, grey-level
spread, colourfulness, red-blue balance, size, aspect ratio) alone separates the good test images from the
defective ones, a model can score well by noticing how the images were
captured (another day, light, exposure, camera or crop) rather than the
defects. Each statistic's AUROC is reported (direction-free, 0.5-1; see
:func:`vqi_core.capture.capture_cues`); at ``CUE_AUROC`` or above, where chance
alone would do so at most ``CUE_P_VALUE`` of the time, it gets a note. Some
defects do change the whole image (a missing part, a broken bottle), so the
note asks to check, it does not conclude.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import cv2
import numpy as np

from .capture import capture_cues, format_cue
from .images import image_shapes
from .metrics import image_auroc
from .wording import are, counted

#: the largest RMSE of their grey levels (luma, 0-255) at which two images count as copies
COPY_RMSE = 1.5
THUMBNAIL_SIDE = 32
#: larger thumbnails that confirm a candidate before the full-size comparison
CONFIRMATION_SIDES = (128, 512)
_QUERY_CHUNK = 512
#: two images whose grey-level thumbnails correlate this well (where they agree best) look alike
LOOK_ALIKE_LIKENESS = 0.98
#: the share of the good images ``split`` puts into test/good unless told otherwise
DEFAULT_TEST_FRACTION = 0.2
#: the share of a thumbnail compared for likeness: where two images differ most (a defect's worth) is left out
LOOK_ALIKE_CELLS = 0.8
#: references per query whose likeness is computed: those with the highest plain correlation
_LOOK_CANDIDATES = 10
#: the same when grouping a set of images: more, as a photo's own group mates come first among them
_GROUP_CANDIDATES = 50
#: good test images have a look-alike this much more often (a share, 0-1) than defective ones -> a note
LOOK_ALIKE_GAP = 0.3
#: where at least this share of the good and of the defective test images have a look-alike, the parts all look
#: alike and the measure tells nothing ("14 of 14 good, 21 of 21 defective" then "no sign that ..." read as a
#: contradiction on bottle: browser review)
ALL_LOOK_ALIKE = 0.9
#: a whole-image statistic that alone separates good from defective test images this well gets a note, where
#: chance alone would separate them so with a probability of at most CUE_P_VALUE (two-sided Mann-Whitney test): one
#: good and one defective image are always separated perfectly, and 2 against 2 often are (split review)
CUE_AUROC, CUE_P_VALUE = 0.95, 0.01


def is_strong_cue(cue: dict[str, Any]) -> bool:
    """Whether a capture cue (:func:`~vqi_core.capture.capture_cues`' entry) gets a note: it reaches
    :data:`CUE_AUROC`, and chance alone would not have separated the images so (a cue recorded before its p-value
    was: by its AUROC alone)."""
    return cue["auroc"] >= CUE_AUROC and cue.get("p_value", 0.0) <= CUE_P_VALUE


@dataclass(frozen=True)
class CopyPair:
    """``query`` is a copy of ``reference`` (indices into the two lists), ``rmse`` grey levels apart."""

    query: int
    reference: int
    rmse: float


def _thumbnail(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """Area-averaged thumbnail (at most ``side`` px a side, never enlarged), float32."""
    height, width = image.shape[:2]
    size = (min(side, width), min(side, height))
    small = image if size == (width, height) else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def _look(thumbnail: np.ndarray) -> np.ndarray:
    """A thumbnail's grey levels on a ``THUMBNAIL_SIDE`` square, centred and scaled to unit length (zeros for
    a flat image): the dot product of two is the correlation of their thumbnails."""
    grey = thumbnail.mean(axis=2) if thumbnail.ndim == 3 else thumbnail
    grey = cv2.resize(grey, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), interpolation=cv2.INTER_AREA)
    centred = grey.ravel() - grey.mean()
    norm = float(np.linalg.norm(centred))
    return centred / norm if norm > 1e-6 else np.zeros_like(centred)


def _luma(image: np.ndarray) -> np.ndarray:
    """The grey levels (luma, ITU-R BT.601) of an RGB image or thumbnail, float32; a grey one as it is."""
    if image.ndim == 2:
        return image.astype(np.float32)
    return image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


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
            self._made[key] = _luma(_thumbnail(self.images[index], side)).ravel()
        return self._made[key]


def _rmse_if_within(queries: _Thumbnails, query: int, references: _Thumbnails, reference: int,
                    tolerance: float) -> float | None:
    """The full-size grey-level RMSE of two same-shape images if it is at most ``tolerance``, else None; larger
    thumbnails first (each one's RMSE is a lower bound of the full size's), so that different photos of
    one scene, whose sensor noise averages out in small thumbnails, are set apart before full size."""
    for side in CONFIRMATION_SIDES:
        if _rmse(queries.get(query, side), references.get(reference, side)) > tolerance:
            return None
    rmse = _rmse(_luma(queries.images[query]), _luma(references.images[reference]))
    return rmse if rmse <= tolerance else None


def find_copies(queries: Sequence[np.ndarray], references: Sequence[np.ndarray] | None = None,
                tolerance: float = COPY_RMSE) -> list[CopyPair]:
    """For each query image, the closest reference image it is a copy of (grey-level RMSE ≤ ``tolerance``).

    ``references=None`` looks for copies within ``queries`` itself: each image
    is matched to the closest *earlier* image, so every repeat is reported once
    (the first occurrence is not). Images must share their shape to be copies.
    """
    query_thumbs = [_thumbnail(image) for image in queries]
    if references is None:
        return _find_copies(queries, query_thumbs, queries, query_thumbs, tolerance, within=True)
    return _find_copies(queries, query_thumbs, references, [_thumbnail(image) for image in references], tolerance,
                        within=False)


def _find_copies(queries: Sequence[np.ndarray], query_thumbs: Sequence[np.ndarray],
                 references: Sequence[np.ndarray], reference_thumbs: Sequence[np.ndarray], tolerance: float,
                 within: bool) -> list[CopyPair]:
    """:func:`find_copies` with each image's :func:`_thumbnail` made beforehand (each image is decoded once
    for them, which matters when images are decoded on demand)."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    by_shape: dict[tuple[int, int], list[int]] = {}
    for index, shape in enumerate(image_shapes(references)):
        by_shape.setdefault(shape, []).append(index)
    targets_by_shape = {shape: np.stack([_luma(reference_thumbs[i]).ravel() for i in indices]).astype(np.float64)
                        for shape, indices in by_shape.items()}
    query_groups: dict[tuple[int, int], list[int]] = {}
    for index, shape in enumerate(image_shapes(queries)):
        if shape in by_shape:
            query_groups.setdefault(shape, []).append(index)
    query_levels, reference_levels = _Thumbnails(queries), _Thumbnails(references)
    # the largest squared RMSE of 32 px thumbnails that still allows a copy (with the expanded square's slack)
    bound = (tolerance + 1e-6) ** 2 + 1e-6
    pairs = []
    for shape, query_indices in query_groups.items():
        candidates = by_shape[shape]
        targets = targets_by_shape[shape]
        target_norms = np.einsum("ij,ij->i", targets, targets)
        for start in range(0, len(query_indices), _QUERY_CHUNK):
            chunk = query_indices[start:start + _QUERY_CHUNK]
            thumbs = np.stack([_luma(query_thumbs[i]).ravel() for i in chunk]).astype(np.float64)
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
                    rmse = _rmse_if_within(query_levels, query, reference_levels, reference, tolerance)
                    if rmse is not None and (best is None or rmse < best.rmse):
                        best = CopyPair(query, reference, rmse)
                        if rmse == 0.0:
                            break
                if best is not None:
                    pairs.append(best)
    return sorted(pairs, key=lambda pair: pair.query)


def _likeness(queries: np.ndarray, references: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The likeness of each query to each of its ``candidates`` (indices into ``references``), shape (q, k):
    the correlation of their grey levels (rows of :func:`_look`, scaled to unit variance) over the
    :data:`LOOK_ALIKE_CELLS` share of the thumbnail where they agree best, so that a defect in the rest does
    not count."""
    kept = max(1, int(LOOK_ALIKE_CELLS * queries.shape[1]))
    squared = (queries[:, None, :] - references[candidates]) ** 2
    # the mean squared difference of unit-variance grey levels is 2 - 2 x their correlation
    return 1.0 - np.partition(squared, kept - 1, axis=2)[:, :, :kept].mean(axis=2) / 2.0


def _candidate_likeness(queries: np.ndarray, references: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the ``count`` references with the highest plain correlation and their :func:`_likeness`
    (both shape (q, count))."""
    candidates = np.argsort(-(queries @ references.T), axis=1, kind="stable")[:, :count]
    return candidates, _likeness(queries, references, candidates)


def _looks(thumbnails: Iterable[np.ndarray]) -> np.ndarray:
    """:func:`_look` of each thumbnail, scaled to unit variance, one row each."""
    rows = [_look(thumb) for thumb in thumbnails]
    return np.stack(rows) * np.sqrt(THUMBNAIL_SIDE * THUMBNAIL_SIDE) if rows else np.zeros((0, 0), np.float32)


def _closest_looks(query_thumbs: Sequence[np.ndarray],
                   reference_thumbs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """For each query thumbnail, the index of the reference that looks most alike and their
    :func:`_likeness`: the best of the :data:`_LOOK_CANDIDATES` references with the highest plain
    correlation."""
    if not len(query_thumbs) or not len(reference_thumbs):
        return np.zeros(0, int), np.zeros(0)
    references = _looks(reference_thumbs)
    nearest, likeness = [], []
    for start in range(0, len(query_thumbs), _QUERY_CHUNK):
        queries = _looks(query_thumbs[start:start + _QUERY_CHUNK])
        candidates, alike = _candidate_likeness(queries, references, _LOOK_CANDIDATES)
        best = alike.argmax(axis=1)
        rows = np.arange(len(best))
        nearest.append(candidates[rows, best])
        likeness.append(alike[rows, best])
    return np.concatenate(nearest), np.concatenate(likeness).astype(np.float64)


def look_alike_groups(images: Iterable[np.ndarray]) -> list[list[int]]:
    """Indices of ``images`` in groups of look-alikes: two images whose likeness reaches
    :data:`LOOK_ALIKE_LIKENESS` share a group, and so does a chain of them. Each group is sorted, the groups
    by their first index. ``images`` is read once (a generator may decode them one at a time)."""
    return _groups_of_looks(_looks(_thumbnail(image) for image in images))


def _groups_of_looks(looks: np.ndarray) -> list[list[int]]:
    """:func:`look_alike_groups` of images' :func:`_looks`."""
    parent = list(range(len(looks)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    chunk = _QUERY_CHUNK // 8  # a chunk's differences to its candidates: chunk x 50 x 1024 floats
    for start in range(0, len(looks), chunk):
        queries = looks[start:start + chunk]
        candidates, alike = _candidate_likeness(queries, looks, _GROUP_CANDIDATES)
        for row, column in zip(*np.nonzero(alike >= LOOK_ALIKE_LIKENESS)):
            first, second = root(start + int(row)), root(int(candidates[row, column]))
            parent[max(first, second)] = min(first, second)
    groups: dict[int, list[int]] = {}
    for index in range(len(looks)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


@dataclass
class SplitCheck:
    """Copies found between a test set and its training images and within the test set; look-alikes; capture
    cues.

    Each copy entry names the test image (``test/<defect_type>/<file>``), its
    label, the image it copies (``train/...`` or ``test/...``), that image's
    label and the pixel RMSE between them. Each look-alike entry names a test
    image that is not a copy, its label, the training image it looks most like
    and their likeness (at least ``LOOK_ALIKE_LIKENESS``, see :func:`_closest_looks`);
    ``look_alike_summary`` gives per label (``good``, ``defective``) the test
    images that are not copies, how many have a look-alike, and the median
    likeness of the closest training image. ``capture_cues`` is
    :func:`capture_cues` of the test images.
    """

    test_images: int
    train_images: int
    copies_of_train: list[dict[str, Any]] = field(default_factory=list)
    repeats_in_test: list[dict[str, Any]] = field(default_factory=list)
    look_alikes: list[dict[str, Any]] = field(default_factory=list)
    look_alike_summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    capture_cues: list[dict[str, Any]] = field(default_factory=list)
    #: where look-alikes stand out: the good images (training and test) and the smallest group of look-alike photos
    #: among them, which tell whether ``split`` can split them by part (None: not grouped)
    good_images: int | None = None
    smallest_look_alike_group: int | None = None

    @property
    def flagged_test_names(self) -> set[str]:
        """Test images that are copies of a training image or of an earlier test image."""
        return {entry["test"] for entry in self.copies_of_train + self.repeats_in_test}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``report.json``)."""
        return {"tolerance_rmse": COPY_RMSE, "test_images": self.test_images, "train_images": self.train_images,
                "copies_of_train": self.copies_of_train, "repeats_in_test": self.repeats_in_test,
                "look_alike_likeness": LOOK_ALIKE_LIKENESS, "look_alikes": self.look_alikes,
                "look_alike_summary": self.look_alike_summary, "capture_cues": self.capture_cues,
                "good_images": self.good_images, "smallest_look_alike_group": self.smallest_look_alike_group}

    @property
    def part_split_possible(self) -> bool:
        """Whether ``split`` (at :data:`DEFAULT_TEST_FRACTION`) finds a group of look-alike good photos that fits
        into its test side; True where the groups were not counted."""
        if self.smallest_look_alike_group is None or self.good_images is None:
            return True
        return self.smallest_look_alike_group <= round(DEFAULT_TEST_FRACTION * self.good_images)

    def _how_to_split(self) -> str:
        """How to split the good images by part: with VQI where a group of look-alikes fits a test side, else by
        hand (command review: check sent to split, which then refused glass's good images, all one group)."""
        if self.part_split_possible:
            return ("(on the Train page, \"Check the test set\", then \"Split the good images by part\"; or the "
                    "command python -m vqi_core split: both keep look-alike photos together)")
        assert self.good_images is not None  # counted where a split is not possible
        target = round(DEFAULT_TEST_FRACTION * self.good_images)
        return (f"by hand: VQI's split keeps look-alike photos together, and here the smallest group of them holds "
                f"{self.smallest_look_alike_group} of the {counted(self.good_images, 'good image')}, more than its "
                f"test side of {target}; parts that all look the same need a part number to tell them apart")

    @property
    def look_alikes_stand_out(self) -> bool:
        """Good test images have a training look-alike :data:`LOOK_ALIKE_GAP` more often than defective ones."""
        return _look_alikes_stand_out(self.look_alike_summary)

    @property
    def strong_cues(self) -> list[dict[str, Any]]:
        """The capture cues that get a note (:func:`is_strong_cue`)."""
        return [cue for cue in self.capture_cues if is_strong_cue(cue)]

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
                f"{len(good_copies)} of {counted(good_total, 'good test image')} "
                f"{'is a copy of a training image' if len(good_copies) == 1 else 'are copies of training images'} "
                f"(same pixels, "
                f"at most {COPY_RMSE:g} grey levels apart; e.g. {example['test']} is {example['copy']}). A model "
                f"scores a photo it was trained on as perfectly normal, so these copies make the AUROCs and the "
                f"false-alarm rate look better than they will be on new parts.")
        if contradicting:
            example = contradicting[0]
            sentences.append(
                f"{counted(len(contradicting), 'defective test image')} "
                f"{'is a copy of a train/good image' if len(contradicting) == 1 else 'are copies of train/good images'}"
                f" (e.g. {example['test']} is {example['copy']}): the same photo is taught as good and tested as "
                f"defective, so one of the two labels is wrong.")
        conflicts = [e for e in self.repeats_in_test if e["label"] != e["copy_label"]]
        if conflicts:
            example = conflicts[0]
            sentences.append(
                f"{counted(len(conflicts), 'test image')} "
                f"{'is a copy of another test image' if len(conflicts) == 1 else 'are copies of other test images'}"
                f" with another label (e.g. {example['test']} is {example['copy']}, labelled "
                f"{example['copy_label']}).")
        repeats = len(self.repeats_in_test) - len(conflicts)
        if repeats:
            sentences.append(f"{counted(repeats, 'test image')} {'appears' if repeats == 1 else 'appear'} more than "
                             f"once in the test set (same pixels): each copy counts again in every figure.")
        flagged = self.copies_of_train + self.repeats_in_test
        if flagged and auroc is not None:
            if auroc_without is not None:
                sentences.append(f"Image AUROC without the {counted(len(flagged), 'copied test image')}: "
                                 f"{auroc_without:.4f} (with them {auroc:.4f}).")
            else:
                left = {label: sum(item == label for item in test_labels)
                        - sum(e["label"] == label for e in flagged) for label in ("good", "defective")}
                empty = "good" if left["good"] == 0 else "defective"
                sentences.append(f"Image AUROC {auroc:.4f} cannot be checked without the copies: no {empty} test "
                                 f"image is left once the {counted(len(flagged), 'copied test image')} "
                                 f"{are(len(flagged))} set aside.")
        notes = [" ".join(sentences)] if sentences else []
        if self.look_alikes_stand_out:
            good, defective = self.look_alike_summary["good"], self.look_alike_summary["defective"]
            example = next(e for e in self.look_alikes if e["label"] == "good")
            notes.append(
                f"{good['with_look_alike']} of {counted(good['images'], 'good test image')} "
                f"({good['with_look_alike'] / good['images']:.0%}) look almost like a training image (grey-level "
                f"thumbnails correlate at {LOOK_ALIKE_LIKENESS:g} or more over the {LOOK_ALIKE_CELLS:.0%} where "
                f"they agree best; e.g. {example['test']} and {example['look_alike']}, {example['likeness']:.3f}), "
                f"against {defective['with_look_alike']} of {defective['images']} defective ones "
                f"({defective['with_look_alike'] / defective['images']:.0%}): if they are other photos of the same "
                f"parts, the figures here are better than on new parts. Median likeness of the closest training "
                f"image {good['median_likeness']:.3f} good, {defective['median_likeness']:.3f} defective. Other "
                f"photos of a part (another exposure, angle or session) show the model parts it has seen in "
                f"training, and the false-alarm rate and the AUROCs are better here than they will be: split the "
                f"good images by part, not by photo {self._how_to_split()}. (Defects that change most of an image "
                f"also make it look less like any training image: with such defects, this can be expected.)")
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

    def seen_defect_look_alikes_note(self) -> str:
        """For a method that trained on labelled defective images (the CAM classifier): a note when
        :data:`LOOK_ALIKE_GAP` or more of the evaluated defective images look almost like a defective image it
        trained on (other photos of the same defective part, in a dataset that photographs each part several
        times: the labelled part is drawn image by image); "" otherwise."""
        defective = self.look_alike_summary.get("defective")
        seen = [entry for entry in self.look_alikes
                if entry["label"] == "defective" and entry.get("look_alike_label") == "defective"]
        if not defective or not seen or len(seen) / defective["images"] < LOOK_ALIKE_GAP:
            return ""
        example = seen[0]
        return (f"{len(seen)} of {counted(defective['images'], 'evaluated defective test image')} "
                f"({len(seen) / defective['images']:.0%}) look almost like a defective image the method trained on "
                f"(likeness {LOOK_ALIKE_LIKENESS:g} or more; e.g. {example['test']} and {example['look_alike']}, "
                f"{example['likeness']:.3f}). If they are other photos of the same defective parts, it has seen "
                f"those defects, and its figures here are better than on new defects: the labelled images are "
                f"drawn image by image, not part by part.")

    def look_alike_line(self) -> str:
        """The look-alike shares of both labels in one line ("" without both classes)."""
        summary = self.look_alike_summary
        if not {"good", "defective"} <= summary.keys():
            return ""
        verdict = "" if self.look_alikes_stand_out else (  # read as a contradiction beside "no copies" (review)
            " Nearly every test image, good or defective, looks almost like a training image: these parts look "
            "alike, so this measure cannot tell whether the good test images are other photos of parts the model "
            "trained on." if _look_alikes_cannot_tell(summary) else
            f" Look-alikes are not {100 * LOOK_ALIKE_GAP:.0f} percentage points more common among the good images "
            f"than among the defective ones: no sign that the good test images are other photos of parts the model "
            f"trained on.")
        return ("Test images that look almost like a training image (likeness ≥ "
                f"{LOOK_ALIKE_LIKENESS:g}, copies aside): " + ", ".join(
                    f"{entry['with_look_alike']} of {entry['images']} {label} (median likeness "
                    f"{entry['median_likeness']:.3f})" for label, entry in summary.items()) + "." + verdict)

    def cues_line(self) -> str:
        """Every capture cue's AUROC in one line ("" without both classes)."""
        if not self.capture_cues:
            return ""
        return ("Each whole-image statistic alone, AUROC good vs defective (0.5 = no hint): "
                + ", ".join(f"{cue['cue']} {cue['auroc']:.3f}" for cue in self.capture_cues) + ".")


def _look_alikes_stand_out(summary: dict[str, dict[str, Any]]) -> bool:
    if not {"good", "defective"} <= summary.keys():
        return False
    shares = {label: entry["with_look_alike"] / entry["images"] for label, entry in summary.items()}
    return shares["good"] - shares["defective"] >= LOOK_ALIKE_GAP


def _look_alikes_cannot_tell(summary: dict[str, dict[str, Any]]) -> bool:
    """Whether nearly every test image of both labels looks like a training image (parts that all look alike),
    so that look-alikes cannot show whether the good test images are other photos of training parts."""
    return ({"good", "defective"} <= summary.keys()  # (both shares that high: their gap cannot stand out)
            and min(entry["with_look_alike"] / entry["images"] for entry in summary.values()) >= ALL_LOOK_ALIKE)


def look_alike_finding(summary: dict[str, dict[str, Any]]) -> str:
    """Look-alikes in a few words when they stand out (``SplitCheck.look_alike_summary``, or
    ``report.json``'s), e.g. ``"training look-alikes for 122 of 190 good, 5 of 392 defective test images"``;
    "" otherwise."""
    if not _look_alikes_stand_out(summary):
        return ""
    good, defective = summary["good"], summary["defective"]
    return (f"training look-alikes for {good['with_look_alike']} of {good['images']} good, "
            f"{defective['with_look_alike']} of {counted(defective['images'], 'defective test image')}")


def _cue_value(cue: dict[str, Any], key: str) -> str:
    return format_cue(cue["cue"], cue[key])


def one_class_note(test_labels: Sequence[str], test_images: int) -> str | None:
    """What the check could not look at when the test set holds one class only (``test_labels``: ``"good"`` /
    ``"defective"`` per test image; ``test_images``: how many could be read); None otherwise."""
    if not test_images or len(set(test_labels)) != 1:
        return None
    missing = "defective" if test_labels[0] == "good" else "good"
    return (f"The look-alike and capture-cue checks compare good with defective test images: there is no "
            f"{missing} test image, so they were not made.")


def no_copies_line(test_images: int, train_images: int) -> str:
    """What the check says when no test image copies another image, with how many images it compared."""
    return (f"No copies: no test image copies a training image or another test image "
            f"({counted(test_images, 'readable test image')} and {counted(train_images, 'training image')} "
            f"compared).")


def findings_line(check: dict[str, Any] | None) -> str:
    """A run's test-set findings in a few words (for run tables), from ``report.json``'s ``split_check``:
    ``"18 copied test images; mean grey level alone 0.988"``, ``"none"``, what could not be checked (no test
    image, one class only, or look-alikes where nearly every test image looks like a training image: "none" would
    read as all clear; found by review), or ``"not checked"`` (older runs)."""
    if check is None:
        return "not checked"
    findings = []
    copies = len(check.get("copies_of_train", [])) + len(check.get("repeats_in_test", []))
    if copies:
        findings.append(f"{copies} copied test image{'s' if copies > 1 else ''}")
    if finding := look_alike_finding(check.get("look_alike_summary", {})):
        findings.append(finding)
    if _look_alikes_cannot_tell(check.get("look_alike_summary", {})):
        findings.append(("" if copies else "no copies; ")
                        + "look-alikes cannot tell (nearly every test image looks like a training image)")
    findings += [f"{cue['cue']} alone {cue['auroc']:.3f}" for cue in check.get("capture_cues", [])
                 if is_strong_cue(cue)]
    findings += [f"{cue['cue']} alone {cue['auroc']:.3f}, too few test images to tell it from chance"
                 for cue in check.get("capture_cues", [])  # not "none": it could not tell (code review)
                 if cue["auroc"] >= CUE_AUROC and not is_strong_cue(cue)]
    if findings:
        return "; ".join(findings)
    if check.get("test_images") == 0:
        return "nothing to check (no test image)"
    summary = check.get("look_alike_summary")
    if summary is not None and not {"good", "defective"} <= summary.keys():  # "none" would read as all clear
        return "no copies (one class only: look-alikes and capture cues not checked)"
    return "none"


def check_split(train_names: Sequence[str], train_labels: Sequence[str], train_images: Sequence[np.ndarray],
                test_names: Sequence[str], test_labels: Sequence[str], test_images: Sequence[np.ndarray],
                tolerance: float = COPY_RMSE) -> SplitCheck:
    """Copies between test and training images and within the test images, look-alikes of training images, and
    the test images' capture cues (see the module docstring).

    Names are shown as given (use ``train/...`` and ``test/...`` so that they
    cannot be confused); labels are ``"good"`` or ``"defective"``.
    """
    check = SplitCheck(len(test_images), len(train_images))
    train_thumbs = [_thumbnail(image) for image in train_images]
    test_thumbs = [_thumbnail(image) for image in test_images]
    for pair in _find_copies(test_images, test_thumbs, train_images, train_thumbs, tolerance, within=False):
        check.copies_of_train.append({
            "test": test_names[pair.query], "label": test_labels[pair.query], "copy": train_names[pair.reference],
            "copy_label": train_labels[pair.reference], "rmse": round(pair.rmse, 3)})
    in_train = {entry["test"] for entry in check.copies_of_train}
    for pair in _find_copies(test_images, test_thumbs, test_images, test_thumbs, tolerance, within=True):
        if test_names[pair.query] not in in_train:
            check.repeats_in_test.append({
                "test": test_names[pair.query], "label": test_labels[pair.query], "copy": test_names[pair.reference],
                "copy_label": test_labels[pair.reference], "rmse": round(pair.rmse, 3)})
    _add_look_alikes(check, train_names, train_labels, train_thumbs, test_names, test_labels, test_thumbs)
    if check.look_alikes_stand_out:  # its note advises a split by part: whether split can make one
        good = [thumb for thumbs, labels in ((train_thumbs, train_labels), (test_thumbs, test_labels))
                for thumb, label in zip(thumbs, labels) if label == "good"]
        check.good_images = len(good)
        check.smallest_look_alike_group = min(len(group) for group in _groups_of_looks(_looks(good)))
    check.capture_cues = capture_cues(test_images, test_labels)
    return check


def _add_look_alikes(check: SplitCheck, train_names: Sequence[str], train_labels: Sequence[str],
                     train_thumbs: Sequence[np.ndarray], test_names: Sequence[str], test_labels: Sequence[str],
                     test_thumbs: Sequence[np.ndarray]) -> None:
    """Fill ``check.look_alikes`` and ``check.look_alike_summary`` for the test images that are not copies."""
    copies = check.flagged_test_names
    kept = [i for i, name in enumerate(test_names) if name not in copies]
    nearest, likeness = _closest_looks([test_thumbs[i] for i in kept], train_thumbs)
    for row, index in enumerate(kept):
        if likeness[row] >= LOOK_ALIKE_LIKENESS:
            check.look_alikes.append({"test": test_names[index], "label": test_labels[index],
                                      "look_alike": train_names[nearest[row]],
                                      "look_alike_label": train_labels[nearest[row]],
                                      "likeness": round(float(likeness[row]), 4)})
    for label in ("good", "defective"):
        rows = [row for row, index in enumerate(kept) if test_labels[index] == label]
        if rows:
            check.look_alike_summary[label] = {
                "images": len(rows), "with_look_alike": int((likeness[rows] >= LOOK_ALIKE_LIKENESS).sum()),
                "median_likeness": round(float(np.median(likeness[rows])), 4)}


def auroc_without_copies(check: SplitCheck, test_names: Sequence[str], labels: Sequence[int] | np.ndarray,
                         scores: Sequence[float] | np.ndarray) -> float | None:
    """Image AUROC on the test images that are not copies; ``None`` when a class has no image left."""
    flagged = check.flagged_test_names
    keep = np.array([name not in flagged for name in test_names], bool)
    return image_auroc(np.asarray(labels)[keep], np.asarray(scores)[keep])
