"""Boxes at any box level: counts overall and per defect type, their figures, the box-level slider and history."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..localisation import BOX_LEVEL, STORED_MAP_DTYPE, level_one_maps, map_boxes, normalize_map
from ..metrics import BOX_KEYS, box_hits, regions_boxed_by_type
from ..pipeline import map_box_tally
from ..runs import MAX_BOX_LEVEL, MIN_BOX_LEVEL, Run
from ..wording import exact_number, percent, saved_time
from .overlays import run_ground_truth


@dataclass(frozen=True)
class BoxData:
    """What counting a run's boxes at any level takes: labels, the saved raw maps (at
    :data:`~vqi_core.localisation.STORED_MAP_DTYPE`), the known masks at their size (None where unknown) and the
    normalisation."""

    labels: np.ndarray
    defect_types: tuple[str, ...]
    raw_maps: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray | None, ...]
    normalization: dict[str, float]
    unreadable_masks: tuple[str, ...] = ()

    @functools.cached_property  # read on each move of the Boxes tab's slider: computed once
    def peak(self) -> float:
        """The highest normalised map level of any test image (0 without test images): above it, no box."""
        return max((float(normalize_map(raw, self.normalization).max()) for raw in self.raw_maps), default=0.0)

    def hits(self, level: float) -> tuple[dict[str, int | None], dict[str, dict[str, int]]]:
        """:func:`~vqi_core.metrics.box_hits` of the boxes drawn above ``level``, and per defect type
        :func:`~vqi_core.metrics.regions_boxed_by_type`."""
        boxes = map_boxes(self.raw_maps, self.normalization, level)
        return (box_hits(self.labels, self.masks, boxes),
                regions_boxed_by_type(self.labels, self.masks, boxes, self.defect_types))


def run_box_data(run: Run, normalization: dict[str, float]) -> BoxData:
    """:class:`BoxData` of the run's test images (masks read from its :attr:`~vqi_core.runs.Run.dataset` when one
    is given; one that cannot be read is left out as unknown, and named)."""
    raw_maps = tuple(run.anomaly_map(index).astype(STORED_MAP_DTYPE) for index in range(len(run.scores)))
    unreadable: list[str] = []
    truth = run_ground_truth(run, raw_maps, unreadable)
    return BoxData(run.labels, tuple(run.scores["defect_type"].astype(str)), raw_maps, tuple(truth), normalization,
                   tuple(unreadable))


#: the Threshold page's box figures: name -> (the counted part, the whole it is counted of, what it means)
BOX_FIGURES = {
    "Regions boxed": ("defect_regions_boxed", "defect_regions",
                      "Annotated defect regions (connected regions of the ground-truth masks) with a pixel inside a "
                      "box, a broad one aside: how much of what is marked the boxes find."),
    "Boxes on a defect": ("boxes_on_defects", "defective_image_boxes",
                          "Boxes on defective images that hold a defect pixel: how many of the boxes shown there "
                          "point at a marked defect (a box over more than half of its image points at nothing)."),
    "Broad boxes": ("broad_boxes", "defective_image_boxes",
                    "Boxes on defective images covering more than half of the image: most of the map is above the box "
                    "level there (a defect that large, or a change over the whole part), so they do not say where a "
                    "defect is, and count neither as boxing a region nor as touching a defect. Many of them: the map "
                    "cannot outline these defects at this level."),
    "Good images boxed": ("good_images_boxed", "good_images",
                          "Good test images with at least one box: how often a good part shows a box.")}
#: the figure shown first where no defective test image has a known mask (README review: only the good images' had
#: been shown)
WITHOUT_MASKS_FIGURES = {
    "Defective images boxed": ("defective_images_boxed", "defective_images",
                               "Defective test images with at least one box (broad ones too): without ground-truth "
                               "masks, all that can be said of the boxes on defective images.")}


def box_figures(counts: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The box counts (:func:`~vqi_core.metrics.box_hits`) as the Threshold page's figures: name -> (share or
    "n/a" where there is nothing to count it on, its help: "x of y" and what it means); a figure unknown for
    the run (no ground-truth masks) is left out."""
    figures = {}
    shown = {**WITHOUT_MASKS_FIGURES, **BOX_FIGURES} if counts.get("defect_regions") is None else BOX_FIGURES
    for name, (part, whole, meaning) in shown.items():
        if counts.get(whole) is None:
            continue
        share = percent(counts[part] / counts[whole]) if counts[whole] else "n/a"
        figures[name] = share, f"{counts[part]:,} of {counts[whole]:,}. {meaning}"
    return figures


BOX_SLIDER_STEP = 0.05


@dataclass(frozen=True)
class BoxSlider:
    """The Threshold page's box level slider: from :data:`~vqi_core.runs.MIN_BOX_LEVEL` to ``top``, at
    ``decimals``, starting at the saved level."""

    top: float
    decimals: int
    saved: float

    def level(self, chosen: float) -> float:
        """The level a slider position stands for: the saved level where the slider stands on it (one saved
        with more digits than the slider's step, e.g. 0.725, stays as it is)."""
        chosen = round(float(chosen), 2)
        return self.saved if chosen == round(self.saved, 2) else chosen

    def position(self, level: float) -> float:
        """Where the slider stands for a ``level`` typed exactly: its nearest step, within the slider's range."""
        return min(max(round(round(float(level) / BOX_SLIDER_STEP) * BOX_SLIDER_STEP, 2), MIN_BOX_LEVEL), self.top)


def box_slider(saved: float, peak: float) -> BoxSlider:
    """The box level slider for a run whose box level is ``saved`` and whose test maps reach at most ``peak``
    (:attr:`BoxData.peak`): it reaches just above the peak, where no image has a box any more (at least to 3,
    at most to :data:`~vqi_core.runs.MAX_BOX_LEVEL`, and always to the saved level), with as many decimals as
    the saved level has (2 to 4)."""
    top = min(MAX_BOX_LEVEL, max(3.0, saved, math.ceil(peak * 10) / 10 + 0.1))
    exponent = Decimal(repr(float(saved))).as_tuple().exponent  # a whole number for a finite level
    decimals = max(2, min(4, -exponent if isinstance(exponent, int) else 2))
    return BoxSlider(top, decimals, float(saved))


def regions_boxed_frame(by_type: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Per defect type, its annotated regions, how many get a box (see
    :func:`~vqi_core.metrics.regions_boxed_by_type`) and that share in percent."""
    return pd.DataFrame([{"defect type": name, "regions": entry["defect_regions"],
                          "boxed": entry["defect_regions_boxed"],
                          "share boxed": 100 * entry["defect_regions_boxed"] / entry["defect_regions"]
                          if entry["defect_regions"] else None} for name, entry in by_type.items()],
                        columns=["defect type", "regions", "boxed", "share boxed"])


def box_level_history(info: dict[str, Any]) -> pd.DataFrame:
    """A run's box levels from its :attr:`~vqi_core.runs.Run.box_level_info` (the earlier ones, then the one in
    force), newest first, times as :func:`saved_time` gives them; empty where no level was saved."""
    entries = [*info.get("history", []), info] if info.get("saved_at") else []
    return pd.DataFrame([{"saved": saved_time(entry.get("saved_at")),
                          "box level": exact_number(float(entry["level"])), "by": entry.get("saved_by", ""),
                          "reason": entry.get("reason") or ("" if entry.get("saved_at") else "the level every run "
                                                                                                "starts with")}
                         for entry in reversed(entries)],
                        columns=["saved", "box level", "by", "reason"])


def saved_box_counts(run: Run) -> dict[str, Any] | None:
    """The box counts of the run's ``metrics.json`` where they are at its box level (None where the level was
    changed since, or the run is from before boxes, or broad boxes, were counted: count them with
    :class:`BoxData`)."""
    metrics = run.metrics
    if "broad_boxes" not in metrics or metrics.get("box_level", BOX_LEVEL) != run.box_level:  # or counted before
        return None
    return {key: metrics.get(key) for key in BOX_KEYS}


def run_box_counts(run: Run, normalization: dict[str, float]) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    """The run's box counts at its box level (:func:`~vqi_core.metrics.box_hits`) and per defect type with a known
    mask (:func:`~vqi_core.metrics.regions_boxed_by_type`): from its ``metrics.json`` where they were counted at
    that level, else counted from its maps (:class:`BoxData`)."""
    saved = saved_box_counts(run)  # where given, per type was counted too (since 2026-12-04, before broad boxes)
    if saved is None:
        return run_box_data(run, normalization).hits(run.box_level)
    return saved, {name: {key: entry[key] for key in ("defect_regions", "defect_regions_boxed")}
                   for name, entry in (run.metrics.get("per_defect_type") or {}).items() if "defect_regions" in entry}


def boxes_mark(runs: Sequence[Run], box_level: float | None = None) -> str:
    """What the boxes of these runs' overlays mark: regions above their box level (``box_level`` where the boxes
    shown were drawn at another, e.g. results scored before a level was saved), which at 1 (the default) is
    every good image's map the maps were normalised with, named as the runs' metrics say (held-out good images,
    or the training images where none was held out)."""
    held_out = {run.metrics.get("normalisation_images") != 0 for run in runs}
    whose = (f"{level_one_maps(0)} (none was held out)" if held_out == {False} else
             level_one_maps() if held_out == {True} else
             "every good image's map each run was normalised with")
    levels = {run.box_level for run in runs} if box_level is None else {box_level}
    if levels == {BOX_LEVEL}:
        return f"regions above {whose}"
    level = f"box level {exact_number(levels.pop())}" if len(levels) == 1 else "each run's box level"
    return f"regions above {level}, where 1 is above {whose}"


def run_box_tally(run: Run, index: int, normalization: dict[str, float], box_level: float) -> tuple[int, int]:
    """How many boxes :func:`run_overlay` draws on test image ``index``, and how many of them are broad
    (:func:`~vqi_core.metrics.broad_boxes`), from its map alone (no image is read)."""
    return map_box_tally(normalize_map(run.anomaly_map(index), normalization), box_level)
