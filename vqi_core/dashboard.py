"""Tables, figures and overlays of the dashboard: numpy, pandas and plotly only, no Streamlit.

The pages call these functions and draw what they return, so everything the
dashboard shows can be tested and benchmarked without a browser. Colours come
from :mod:`vqi_core.localisation`, so good and defective look the same in the
overlays and in every plot.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
import textwrap
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import localisation
from .datasets import Sample, category_path, load_category
from .images import ImageReadError, read_image, stored_size
from .localisation import BOX_LEVEL, HEATMAP_TOP, OVERLAY_FLOOR, STORED_MAP_DTYPE, boxes_from_map, map_boxes, \
    normalize_map, own_range_map, render_overlay
from .methods import AnomalyModel, method_class
from .methods.base import MODEL_JSON
from .metrics import BOX_KEYS, CONFIDENCE, LineCosts, OperatingPoint, ThresholdEvaluator, auroc_interval, \
    bootstrap_aurocs, box_hits, f1_optimal_threshold, image_auroc, interval_note, interval_text, percentile_interval, \
    rate_interval, regions_boxed_by_type, rejected, roc_curve
from .pipeline import NOT_SCORED, SEEN_DEFECTS_NOTE, ImageResult, ImageSource, RunConfig, check_dataset, \
    check_decisions, evaluate_run, inspected_pixels, iter_score, label_name, map_box_tally, model_for, \
    prediction_table, result_row
from .preprocessing import Preprocessing, fixed_scale_size, visible_area
from .progress import ProgressCallback
from .provenance import data_label
from .region import InspectionRegion
from .resplit import DEFAULT_TEST_FRACTION, check_split_target, split_by_part, write_split
from .runs import MAX_BOX_LEVEL, MODEL_DIR, REGIONS_FOLDER, Run, RunError, changed_settings, ground_truth_masks, \
    label_values, predictions_frame, spreadsheet_csv, write_bytes_atomic
from .split_check import findings_line, look_alike_finding, one_class_note
from .thresholds import ScoreAxis, cost_sentence, costlier_than_unchecked, line_cost_sentence, outcomes, rate_numbers, \
    score_axis
from .wording import counted, exact_number, figure, saved_time


def css_color(rgb: Sequence[int]) -> str:
    """A plotly/CSS colour string for an RGB triple."""
    return f"rgb({int(rgb[0])},{int(rgb[1])},{int(rgb[2])})"


GOOD_CSS = css_color(localisation.GOOD_RGB)
DEFECT_CSS = css_color(localisation.DEFECT_RGB)
#: one colour per run on Compare's ROC chart, none of them near the blue of good, the orange of defective or the
#: magenta of the ground truth (found by review: plotly's own light blue, red and pink): green, purple, black, brown,
#: olive, grey, teal
RUN_COLORS = ("#009E73", "#6A3D9A", "#000000", "#8C564B", "#808000", "#7F7F7F", "#17BECF")
#: each compared run's curve its own dash and a width that shrinks down the list, so that curves that coincide
#: (runs that all separate the test set) still show every run: the later, thinner ones drawn over the first
RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
RUN_LINE_WIDTHS = (5.0, 3.5, 2.0)
OPERATING_POINT_COLOR = "rgb(0,0,0)"
ACTUAL_ROWS = ("Good part", "Defective part")
PREDICTED_COLUMNS = ("Passed", "Rejected")
THUMBNAIL_BACKGROUND = (240, 242, 246)
PLOT_MARGIN = dict(l=10, r=10, t=40, b=10)


# ---------------------------------------------------------------------- threshold page


@dataclass(frozen=True)
class ThresholdData:
    """Everything the threshold view draws that does not depend on the threshold (computed once per run)."""

    n_good: int
    n_defective: int
    fpr: np.ndarray  # ROC curve, empty unless both classes are present
    tpr: np.ndarray
    auroc: float | None
    bin_edges: np.ndarray
    good_counts: np.ndarray
    defective_counts: np.ndarray
    axis: ScoreAxis
    defect_type_scores: dict[str, np.ndarray] = field(default_factory=dict)  # sorted, per defect type
    auroc_interval: tuple[float, float] | None = None  # CONFIDENCE bootstrap interval of ``auroc``
    log_scale: bool = False  # bins of equal ratio, drawn on a log axis (see :func:`score_bin_edges`)


def score_bin_edges(scores: np.ndarray, low: float, high: float, bins: int) -> tuple[np.ndarray, bool]:
    """Histogram bin edges over the scores, and whether they are of equal ratio (for a log axis) rather than of
    equal width from ``low`` to ``high`` (the slider's ends): equal ratio, from the lowest score to ``high``, where
    every score is positive, the highest is at least 10 times the lowest and those bins spread the scores over more
    bars (a few far scores, 200 to 8,755, packed 14 good images into the first of 40 equal bars: browser review)."""
    linear = np.linspace(low, high, bins + 1)
    lowest = float(np.min(scores)) if len(scores) else 0.0
    if lowest <= 0 or high / lowest < 10:  # (the slider's low end lies a step below the lowest score, often at 0)
        return linear, False
    ratio = np.geomspace(lowest, high, bins + 1)
    bars = [np.count_nonzero(np.histogram(scores, edges)[0]) for edges in (linear, ratio)]
    return (ratio, True) if bars[1] > bars[0] else (linear, False)


def prepare_threshold_data(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                           bins: int = 40, include: Sequence[float] = (),
                           defect_types: Sequence[str] | None = None) -> ThresholdData:
    """ROC curve and AUROC (with its bootstrap interval), score histograms and slider axis of a labelled test
    set (and, given the defect type of each image, the defective images' scores per type). The slider axis also
    covers the values in ``include`` (the saved threshold); the histograms' bins cover the scores alone, so that a
    threshold far from every score does not pack them into one bar."""
    labels = np.asarray(labels, int)
    scores = np.asarray(scores, np.float64)
    type_scores: dict[str, np.ndarray] = {}
    if defect_types is not None:
        types = np.asarray(defect_types, dtype=object)
        if len(types) != len(labels):
            raise ValueError(f"{len(types)} defect types but {len(labels)} labels")
        defective = labels == 1
        type_scores = {str(name): np.sort(scores[defective & (types == name)])
                       for name in sorted(set(types[defective]))}
    both = bool((labels == 0).any() and (labels == 1).any())
    fpr, tpr, _ = roc_curve(labels, scores) if both else (np.zeros(0), np.zeros(0), None)
    axis = score_axis(scores, include)
    scores_axis = score_axis(scores)
    edges, log_scale = score_bin_edges(scores, scores_axis.low, scores_axis.high, bins)
    return ThresholdData(
        n_good=int((labels == 0).sum()), n_defective=int((labels == 1).sum()), fpr=fpr, tpr=tpr,
        auroc=image_auroc(labels, scores) if both else None, bin_edges=edges,
        good_counts=np.histogram(scores[labels == 0], edges)[0],
        defective_counts=np.histogram(scores[labels == 1], edges)[0], axis=axis, defect_type_scores=type_scores,
        auroc_interval=auroc_interval(labels, scores, CONFIDENCE), log_scale=log_scale)


#: the By-defect-type column with the interval of each type's detection rate
DETECTION_INTERVAL = f"detection {CONFIDENCE:.0%} interval"


def defect_type_frame(data: ThresholdData, threshold: float,
                      per_type_metrics: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """Per defect type at ``threshold``: defective test images, how many are caught and escape, the
    detection rate with its exact :data:`CONFIDENCE` interval, and (from the run's ``per_defect_type``
    metrics) its image and pixel AUROC."""
    rows = []
    for name, scores in data.defect_type_scores.items():
        caught = int(rejected(scores, threshold).sum())
        interval = rate_interval(caught, len(scores), CONFIDENCE)
        assert interval is not None  # a defect type is listed because it has images
        low, high = interval
        row = {"defect type": name, "images": len(scores), "caught": caught, "escaped": len(scores) - caught,
               "detection rate": caught / len(scores), DETECTION_INTERVAL: f"{low:.1%}–{high:.1%}"}
        if per_type_metrics:
            entry = per_type_metrics.get(name, {})
            row["image AUROC"] = entry.get("image_auroc")
            if any("pixel_auroc" in e for e in per_type_metrics.values()):  # the run's dataset has masks
                row["pixel AUROC"] = entry.get("pixel_auroc")
        rows.append(row)
    return pd.DataFrame(rows)


def confusion_frame(point: OperatingPoint) -> pd.DataFrame:
    """The confusion matrix in plain words: rows the actual part (good/defective), columns the decision."""
    return pd.DataFrame(point.confusion_matrix(), index=pd.Index(ACTUAL_ROWS, name="actual"),
                        columns=list(PREDICTED_COLUMNS))


#: characters per line of a chart's subtitle: plotly does not wrap titles, and a chart half the page wide cut a
#: long one off (the AUROC interval's note, found by a browser review)
SUBTITLE_LINE_CHARS = 64


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, point: tuple[float, float] | None, title: str,
               x_title: str = "False-alarm rate (good parts rejected)",
               y_title: str = "Detection rate (defective parts caught)", subtitle: str | None = None) -> go.Figure:
    """A ROC curve with the chance diagonal and, if given, the operating point (x, y) marked; a ``subtitle`` in
    smaller type under the title, wrapped into lines."""
    margin = PLOT_MARGIN
    if subtitle:
        lines = textwrap.wrap(subtitle, SUBTITLE_LINE_CHARS)
        title += "".join(f"<br><sup>{line}</sup>" for line in lines)
        # room for each line and a gap above the plot's top tick (the last line sat on "100%": browser review)
        margin = {**PLOT_MARGIN, "t": PLOT_MARGIN["t"] + 20 * len(lines) + 12}
    traces = [go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="lightgrey", dash="dot"),
                         hoverinfo="skip", showlegend=False),
              go.Scatter(x=fpr, y=tpr, mode="lines", name="ROC", line=dict(color=DEFECT_CSS, width=2),
                         showlegend=False)]
    if point is not None:
        traces.append(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name="operating point",
                                 marker=dict(color=OPERATING_POINT_COLOR, size=12, symbol="x"), showlegend=False))
    return go.Figure(traces, dict(title=title, xaxis=dict(title=x_title, range=[-0.02, 1.02], tickformat=".0%"),
                                  yaxis=dict(title=y_title, range=[-0.02, 1.02], tickformat=".0%"),
                                  margin=margin, height=360 + margin["t"] - PLOT_MARGIN["t"]))


def _whole_number_ticks(data: ThresholdData) -> dict[str, Any]:
    """Y-axis ticks of a histogram at whole numbers (plotly ticks counts up to 3 at 0.5, 1, 1.5 ...): every
    image where the tallest bar holds at most 10; plotly's own ticks, whole numbers there, above that."""
    tallest = max(int(np.max(data.good_counts, initial=0)), int(np.max(data.defective_counts, initial=0)))
    return dict(tick0=0, dtick=1) if tallest <= 10 else {}


def histogram_figure(data: ThresholdData, threshold: float) -> go.Figure:
    """Score histograms of good vs defective test images with the threshold as a vertical line, or, where it lies
    beyond the bins (a threshold saved far from every score), said in a corner instead."""
    edges = data.bin_edges
    centers, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)  # plotly spans centre ± width / 2 in data
    # units, on a log axis too: each bar covers its bin exactly
    bars = [go.Bar(x=centers, y=data.good_counts, width=widths, name=f"good ({data.n_good})",
                   marker_color=GOOD_CSS, opacity=0.65),
            go.Bar(x=centers, y=data.defective_counts, width=widths, name=f"defective ({data.n_defective})",
                   marker_color=DEFECT_CSS, opacity=0.65)]
    low, high = float(edges[0]), float(edges[-1])
    shapes, annotations, shown = [], [], {}
    if low <= threshold <= high:
        shapes.append(dict(type="line", x0=threshold, x1=threshold, y0=0, y1=1, yref="paper",
                           line=dict(color=OPERATING_POINT_COLOR, width=2, dash="dash")))
        annotations.append(dict(text=f"threshold {data.axis.text(threshold)}", xref="x", y=1,
                                x=math.log10(threshold) if data.log_scale else threshold,  # plotly: log units
                                yref="paper", yanchor="bottom", showarrow=False,
                                font=dict(color=OPERATING_POINT_COLOR)))  # which line it is: browser review
    else:
        above = threshold > high
        annotations.append(dict(text=f"threshold {exact_number(threshold)} lies {'above' if above else 'below'} "
                                     f"every score {'→' if above else '←'}", xref="paper", yref="paper",
                                x=1 if above else 0, xanchor="right" if above else "left", y=1, yanchor="bottom",
                                showarrow=False, font=dict(color=OPERATING_POINT_COLOR)))
        shown = dict(range=[math.log10(low), math.log10(high)] if data.log_scale else [low, high])
    if data.log_scale:  # ticks at 1, 2 and 5 times powers of ten, printed whole (plotly's read "2 3 4 ... 1000 2")
        ticks = [step * 10.0 ** power for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
                 for step in (1, 2, 5) if low <= step * 10.0 ** power <= high]
        scale = dict(type="log", title="Anomaly score, log scale (≥ threshold: defective)", tickvals=ticks,
                     ticktext=[f"{tick:,.10g}" for tick in ticks])
    else:
        scale = dict(title="Anomaly score (≥ threshold: defective)")
    return go.Figure(bars, dict(
        title="Scores of good and defective test images", barmode="overlay", shapes=shapes,
        annotations=annotations, xaxis=dict(**scale, **shown),
        yaxis=dict(title="Images", rangemode="tozero", **_whole_number_ticks(data)),
        legend=dict(orientation="h", y=-0.28, yanchor="top", x=0.5, xanchor="center"),
        margin=PLOT_MARGIN, height=360))


def threshold_view(evaluator: ThresholdEvaluator, threshold: float, data: ThresholdData,
                   per_type_metrics: dict[str, dict[str, Any]] | None = None,
                   costs: LineCosts | None = None, source: str = "") -> dict[str, Any]:
    """Everything the threshold panel shows at ``threshold``: operating point, numbers and figures, from the
    ``evaluator`` and the threshold-free parts of :func:`prepare_threshold_data` (``data``) of the same scores;
    ``source``: where the threshold came from (a preset's name, "manual").

    Keys: ``point`` (:class:`OperatingPoint`), ``confusion`` (DataFrame), ``numbers``
    (rates 0..1), ``cost`` (a sentence), ``line_cost`` (:func:`line_cost_sentence` with ``costs``, else
    None), ``costlier`` (:func:`costlier_than_unchecked` with ``costs``, else None), ``roc`` and ``histogram``
    (plotly figures), ``by_type`` (:func:`defect_type_frame`, empty unless ``data`` holds defect types).
    """
    point = evaluator.evaluate(threshold)
    auroc = "n/a (needs good and defective images)" if data.auroc is None else f"{data.auroc:.3f}"
    interval = None if data.auroc_interval is None else interval_text(data.auroc_interval, 3, confidence=CONFIDENCE)
    roc = roc_figure(data.fpr, data.tpr, (point.false_alarm_rate, point.recall), f"Image ROC, AUROC {auroc}",
                     subtitle=interval)
    return {"point": point, "confusion": confusion_frame(point), "numbers": rate_numbers(point),
            "cost": cost_sentence(point), "line_cost": line_cost_sentence(point, costs) if costs else None,
            "costlier": costlier_than_unchecked(point, costs, source) if costs else None,
            "roc": roc, "histogram": histogram_figure(data, threshold),
            "by_type": defect_type_frame(data, threshold, per_type_metrics)}


# ---------------------------------------------------------------------- pixel level
@dataclass(frozen=True)
class PixelData:
    """A seeded sample of test pixels (normalised map values, defect or not) for the pixel-level view."""

    evaluator: ThresholdEvaluator
    fpr: np.ndarray
    tpr: np.ndarray
    n_pixels: int  # all evaluated pixels
    n_sampled: int
    unreadable_masks: tuple[str, ...] = ()  # masks left out because they cannot be read, with the reason


def prepare_pixel_data(masks: Sequence[np.ndarray], norm_maps: Sequence[np.ndarray],
                       max_pixels: int = 300_000, seed: int = 0, unreadable_masks: Sequence[str] = (),
                       inspected: Sequence[np.ndarray] | None = None) -> PixelData:
    """Pixel labels and normalised values of all images, sampled down to ``max_pixels`` with ``seed``.
    ``inspected``: per image, the pixels an inspection region inspects; defect-free pixels outside it are left
    out (see :func:`vqi_core.metrics.pixel_auroc`)."""
    if inspected is None:
        counted_pixels = [np.ones(np.shape(mask), bool) for mask in masks]
    else:  # defect pixels wherever they are, defect-free ones where inspected
        counted_pixels = [np.asarray(mask, bool) | np.asarray(area, bool) for mask, area in zip(masks, inspected)]
    truth = np.concatenate([np.asarray(m, bool)[kept] for m, kept in zip(masks, counted_pixels)])
    values = np.concatenate([np.asarray(m, np.float32)[kept] for m, kept in zip(norm_maps, counted_pixels)]
                            ).astype(np.float64)
    n_pixels = len(truth)
    if len(truth) > max_pixels:
        keep = np.sort(np.random.default_rng(seed).choice(len(truth), max_pixels, replace=False))
        truth, values = truth[keep], values[keep]
    labels = truth.astype(int)
    both = bool(truth.any() and not truth.all())
    fpr, tpr, _ = roc_curve(labels, values) if both else (np.zeros(0), np.zeros(0), None)
    return PixelData(ThresholdEvaluator(labels, values), fpr, tpr, n_pixels, len(labels), tuple(unreadable_masks))


def pixel_view(data: PixelData, threshold: float, pixel_auroc: float | None) -> dict[str, Any]:
    """Pixel-level operating point at a normalised-map ``threshold``, its numbers and the pixel ROC."""
    point = data.evaluator.evaluate(threshold)
    roc = roc_figure(data.fpr, data.tpr, (point.false_alarm_rate, point.recall),
                     f"Pixel ROC, pixel AUROC {figure(pixel_auroc, 3)}",
                     x_title="Good pixels flagged", y_title="Defect pixels flagged")
    rates = rate_numbers(point)
    numbers = {"Defect pixels flagged": rates["Recall"], "Good pixels flagged": rates["False-alarm rate"],
               "Pixel precision": rates["Precision"], "Pixel F1": rates["F1"]}
    return {"point": point, "numbers": numbers, "roc": roc}


# ---------------------------------------------------------------------- inspect page


#: orders of the Inspect grid; "closest to the threshold" puts the borderline decisions first
IMAGE_ORDERS = ("highest score first", "lowest score first", "closest to the threshold first", "file name")


def order_images(frame: pd.DataFrame, order: str, threshold: float) -> pd.DataFrame:
    """``frame`` (columns ``image``, ``score``) sorted by one of :data:`IMAGE_ORDERS` (stable, ties by position)."""
    if order == "file name":
        return frame.sort_values("image", kind="stable")
    if order == "closest to the threshold first":
        distance = (frame["score"] - threshold).abs()
        return frame.iloc[np.argsort(distance.to_numpy(), kind="stable")]
    if order in IMAGE_ORDERS:
        return frame.sort_values("score", ascending=order == "lowest score first", kind="stable")
    raise ValueError(f"unknown order {order!r}; choose from {', '.join(IMAGE_ORDERS)}")


def chosen_images(frame: pd.DataFrame, defect_types: Sequence[str], outcomes: Sequence[str], order: str,
                  threshold: float) -> pd.DataFrame:
    """The test images (columns ``defect_type``, ``outcome``, ``image``, ``score``) of the chosen defect types and
    outcomes, every one where none is chosen, in ``order`` (:func:`order_images`)."""
    if defect_types:
        frame = frame[frame["defect_type"].isin(defect_types)]
    if outcomes:
        frame = frame[frame["outcome"].isin(outcomes)]
    return order_images(frame, order, threshold)


def decisions_csv(run: Run, threshold: float) -> bytes:
    """The run's test images with score, threshold, decision and outcome (TP/FP/FN/TN) at ``threshold``, as CSV."""
    frame = run.predictions(threshold)
    frame["outcome"] = outcomes(run.labels, run.score_values, threshold)
    columns = ["image", "label", "defect_type", "score", "threshold", "prediction", "outcome", "path"]
    return spreadsheet_csv(frame[columns])


def run_inspected_areas(run: Run, maps: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """Per test map of the run, the pixels its model inspects (inside its centre crop and inspection region, as
    :meth:`~vqi_core.methods.base.AnomalyModel.inspected_area`; all True where that is every pixel), read without
    loading the model; None when it inspects every pixel of every image. A test image that is no longer there is
    taken at its map's size (exact for the squash and letterbox resizes, which depend on the aspect alone)."""
    path = run.path / MODEL_DIR / MODEL_JSON
    try:
        preprocessing = Preprocessing.from_dict(json.loads(path.read_text())["preprocessing"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:  # JSONDecodeError: a ValueError
        raise RunError(f"{path} is damaged: its preprocessing cannot be read ({exc})") from exc
    region, paths = run.region, run.scores["path"].tolist()
    if region is None and preprocessing.crop >= 1:  # nothing cut off: no image header needs reading
        return None
    areas: list[np.ndarray | None] = []
    for anomaly_map, image_path in zip(maps, paths):
        hw = anomaly_map.shape
        try:
            original_hw = stored_size(run.data_path(image_path))
        except (OSError, ImageReadError, ValueError):
            original_hw = hw
        area = visible_area(preprocessing.geometry(original_hw), preprocessing.input_hw, hw)
        if region is not None:
            area = region.mask_for(hw) if area is None else area & region.mask_for(hw)
        areas.append(area)
    return inspected_pixels(maps, areas)


def run_pixel_data(run: Run, normalization: dict[str, float]) -> PixelData:
    """:func:`prepare_pixel_data` of the run's test images with known masks, their maps normalised with
    ``normalization``; pixels counted as the run's own pixel figures count them (runs trained before 2026-12-03
    counted pixels never inspected too). Masks that cannot be read are left out and named. Masks and images are
    read from the run's :attr:`~vqi_core.runs.Run.dataset` when one is given (a dataset moved since training)."""
    maps = [normalize_map(run.anomaly_map(index), normalization) for index in range(len(run.scores))]
    unreadable: list[str] = []
    truth = run_ground_truth(run, maps, unreadable)
    known = [index for index, mask in enumerate(truth) if mask is not None]
    areas = run_inspected_areas(run, maps) if run.metrics.get("pixel_metrics_inspected_only") else None
    return prepare_pixel_data([mask for mask in truth if mask is not None], [maps[index] for index in known],
                              unreadable_masks=unreadable,
                              inspected=[areas[index] for index in known] if areas is not None else None)


def run_ground_truth(run: Run, maps: Sequence[np.ndarray], unreadable: list[str]) -> list[np.ndarray | None]:
    """:func:`~vqi_core.runs.ground_truth_masks` of the run's test images at their maps' sizes, read from its
    :attr:`~vqi_core.runs.Run.dataset` when one is given; a mask that cannot be read is None, its problem appended
    to ``unreadable``."""
    scores = run.scores.assign(mask_path=[run.data_path(path) if isinstance(path, str) and path else path
                                          for path in run.scores["mask_path"]])
    return ground_truth_masks(scores, list(maps), unreadable)


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
                    "level there, so they locate nothing, and count neither as boxing a region nor as touching a "
                    "defect. Many of them: the map cannot outline these defects at this level."),
    "Good images boxed": ("good_images_boxed", "good_images",
                          "Good test images with at least one box: how often a good part shows a box.")}


def box_figures(counts: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The box counts (:func:`~vqi_core.metrics.box_hits`) as the Threshold page's figures: name -> (share or
    "n/a" where there is nothing to count it on, its help: "x of y" and what it means); a figure unknown for
    the run (no ground-truth masks) is left out."""
    figures = {}
    for name, (part, whole, meaning) in BOX_FIGURES.items():
        if counts.get(whole) is None:
            continue
        share = f"{counts[part] / counts[whole]:.1%}" if counts[whole] else "n/a"
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


def threshold_history_frame(run: Run) -> pd.DataFrame:
    """The run's :attr:`~vqi_core.runs.Run.threshold_history` as pages and the report show it: newest first (the
    first row in effect, as the box level history), each threshold with all its digits, times as
    :func:`saved_time` gives them."""
    history = run.threshold_history.iloc[::-1]
    return history.assign(saved_at=history["saved_at"].map(saved_time),
                          threshold=history["threshold"].map(exact_number)).rename(columns={"saved_at": "saved"})


def box_level_history(info: dict[str, Any]) -> pd.DataFrame:
    """A run's box levels from its :attr:`~vqi_core.runs.Run.box_level_info` (the earlier ones, then the one in
    force), newest first, times as :func:`saved_time` gives them; empty where no level was saved."""
    entries = [*info.get("history", []), info] if info.get("saved_at") else []
    return pd.DataFrame([{"saved": saved_time(entry.get("saved_at")),
                          "box level": exact_number(float(entry["level"])),
                          "reason": entry.get("reason") or ("" if entry.get("saved_at") else "the level every run "
                                                                                                "starts with")}
                         for entry in reversed(entries)],
                        columns=["saved", "box level", "reason"])


def saved_box_counts(run: Run) -> dict[str, Any] | None:
    """The box counts of the run's ``metrics.json`` where they are at its box level (None where the level was
    changed since, or the run is from before boxes, or broad boxes, were counted: count them with
    :class:`BoxData`)."""
    metrics = run.metrics
    if "broad_boxes" not in metrics or metrics.get("box_level", BOX_LEVEL) != run.box_level:  # or counted before
        return None
    return {key: metrics.get(key) for key in BOX_KEYS}


def shrunk_to(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """``image`` scaled down so that its longer side is at most ``max_side`` (unchanged when None or smaller)."""
    h, w = image.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def jpeg_bytes(image: np.ndarray, quality: int = 90) -> bytes:
    """An RGB uint8 image as JPEG bytes: a compact form for keeping many result cards in a session."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return data.tobytes()


def result_cards_order(cards: Sequence[dict[str, Any]], show: str | None = None) -> list[dict[str, Any]]:
    """Scored-image cards (``defective``, ``score``) with the defective ones first, highest score first;
    ``show`` "defective" or "good" keeps only those."""
    kept = [c for c in cards if show not in ("defective", "good") or c["defective"] == (show == "defective")]
    return sorted(kept, key=lambda c: (not c["defective"], -c["score"]))


def judged_again(cards: Sequence[dict[str, Any]], frame: pd.DataFrame,
                 threshold: float) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Scored-image cards (``defective``, ``score``) and their predictions table (the columns of
    :data:`vqi_core.pipeline.RESULT_COLUMNS`) judged at ``threshold`` instead: a score does not depend on the
    threshold, so each verdict follows the rule scoring applies (at or above it: defective); a file that could
    not be scored stays not scored, with the new threshold in its row."""
    judged = predictions_frame(frame, threshold)
    judged.loc[frame["prediction"] == NOT_SCORED, "prediction"] = NOT_SCORED
    return [{**card, "defective": bool(rejected(card["score"], threshold))} for card in cards], judged


def boxes_mark(runs: Sequence[Run], box_level: float | None = None) -> str:
    """What the boxes of these runs' overlays mark: regions above their box level (``box_level`` where the boxes
    shown were drawn at another, e.g. results scored before a level was saved), which at 1 (the default) is
    every good image's map the maps were normalised with, named as the runs' metrics say (held-out good images,
    or the training images where none was held out)."""
    held_out = {run.metrics.get("normalisation_images") != 0 for run in runs}
    whose = ("every good training image's map (none was held out)" if held_out == {False} else
             "every held-out good image's map" if held_out == {True} else
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


def square_thumbnail(image: np.ndarray, side: int = 320) -> np.ndarray:
    """``image`` scaled so its longer side is ``side`` (small images enlarged too) and centred on a light
    ``side`` x ``side`` background, for even grids."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    fitted = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    h, w = fitted.shape[:2]
    canvas = np.empty((side, side, 3), np.uint8)
    canvas[:] = THUMBNAIL_BACKGROUND
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top:top + h, left:left + w] = fitted
    return canvas


#: how wide boxes and outlines look on screen, whatever the size an overlay is drawn at
SHOWN_LINE_PX = 2


def shown_line_width(drawn_side: int, shown_side: int | None) -> int | None:
    """The line width to draw on an overlay whose longer side is ``drawn_side`` px so that its lines look
    :data:`SHOWN_LINE_PX` wide when it is shown ``shown_side`` px large (None: the default width for its size,
    :func:`~vqi_core.localisation.line_thickness`). A 320-px thumbnail shown at 160 px needs 4-px lines: the
    default 2 px became one faint pixel (browser review)."""
    return None if shown_side is None else max(1, math.ceil(SHOWN_LINE_PX * drawn_side / shown_side))


def run_overlay(run: Run, index: int, normalization: dict[str, float], box_level: float, *, alpha: float = 0.5,
                heatmap: bool = True, boxes: bool = True, ground_truth: bool = True,
                max_side: int | None = None, shown_side: int | None = None, own_range: bool = False) -> np.ndarray:
    """Test image ``index`` of a run with its heatmap, defect boxes (above ``box_level``, the run's
    :attr:`~vqi_core.runs.Run.box_level`) and ground-truth outline (RGB uint8), its longer side at most
    ``max_side`` (drawn at that size: a large image is not blended at full size first); lines as wide as
    :func:`shown_line_width` for ``shown_side``; ``own_range``: the heatmap's colours spread over the image's
    own range (:func:`~vqi_core.localisation.own_range_map`), the boxes as ever."""
    image = shrunk_to(run.image(index), max_side)
    norm_map = normalize_map(run.anomaly_map(index), normalization)
    found = boxes_from_map(norm_map, box_level, image_hw=image.shape[:2]) if boxes else ()
    try:
        mask = run.mask(index) if ground_truth else None
    except ImageReadError:  # the image and its heatmap still show; the large view says why the outline is missing
        mask = None
    region = run.region
    return render_overlay(image, own_range_map(norm_map) if own_range else norm_map, found, mask=mask, alpha=alpha,
                          show_heatmap=heatmap, region=region.mask if region is not None else None,
                          line_width=shown_line_width(max(image.shape[:2]), shown_side))


def map_range(run: Run, index: int, normalization: dict[str, float]) -> tuple[float, float]:
    """The lowest and highest normalised level of test image ``index``'s map."""
    norm_map = normalize_map(run.anomaly_map(index), normalization)
    return float(np.nanmin(norm_map)), float(np.nanmax(norm_map))


def heat_scale_note(low: float, high: float) -> str | None:
    """What the run's colour scale hides on a map from ``low`` to ``high`` (normalised levels), and what to do
    about it; None where the scale shows it."""
    if low >= HEATMAP_TOP:
        return (f"This image's whole map lies above the top of the colour scale ({low:.3g} to {high:.3g}; dark red "
                f"from {HEATMAP_TOP:g}): the heatmap is one flat colour. Colour it by its own range to see where it "
                f"is highest.")
    if high < OVERLAY_FLOOR:
        return (f"This image's whole map lies below {OVERLAY_FLOOR:g}, where the heatmap is transparent (highest "
                f"{high:.3g}). Colour it by its own range to see where it is highest.")
    return None


def result_card(result: ImageResult, side: int) -> dict[str, Any]:
    """What one scored image's card shows: name, verdict, score, box count (and how many of the boxes are broad),
    the overlay as a ``side`` px square JPEG (lines as wide on a card two thirds that size), how it was read where
    that bears on its verdict (transparency) and how the image is unlike the training images."""
    overlay = square_thumbnail(result_overlay(result, side, shown_side=side * 2 // 3), side)
    return {"name": result.name, "defective": result.defective, "score": result.score,
            "boxes": len(result.boxes), "overlay": jpeg_bytes(overlay), "unlike_training": result.unlike_training,
            "broad": result.broad_boxes, "read_note": result.read_note}


def scored_cards(run: Run, model: AnomalyModel, sources: Sequence[ImageSource], skipped: list[dict[str, str]],
                 progress: ProgressCallback | None, card_side: int, threshold: float,
                 box_level: float) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Score ``sources`` with the run's ``model`` at ``threshold``, boxes drawn above ``box_level`` (the run's
    saved ones, read once by the caller, which shows them: one saved meanwhile elsewhere would not match the
    cards), a chunk at a time: each image's :func:`result_card` and the predictions table (a row for every file
    given; those not scored, appended to ``skipped`` as they are found, with the reason)."""
    cards, rows = [], []
    for result in iter_score(model, sources, threshold, skipped, progress,
                             training_ranges=run.report.get("training_capture_ranges"), box_level=box_level):
        cards.append(result_card(result, card_side))
        rows.append(result_row(result, threshold, run.id, box_level))
    return cards, prediction_table(rows, skipped, threshold, run.id, box_level)


def labelled_check(run: Run, model: AnomalyModel, folder: str,
                   progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Score a labelled test set (test/good, test/<defect type>, optional masks) with the run at its saved
    threshold: ``threshold`` (read once, before scoring), ``view`` (:func:`threshold_view`), ``images``,
    ``metrics``, ``skipped``, ``notes`` and ``judged`` (:func:`~vqi_core.pipeline.check_decisions`)."""
    threshold = run.threshold
    result = evaluate_run(run, folder, progress, model=model)
    labels, scores = result["labels"], result["scores"]
    data = prepare_threshold_data(labels, scores, include=(threshold,), defect_types=result["defect_types"])
    view = threshold_view(ThresholdEvaluator(labels, scores), threshold, data, result["metrics"].get("per_defect_type"))
    return {"threshold": threshold, "view": view, "images": len(labels), "metrics": result["metrics"],
            "skipped": result["skipped"], "notes": result["notes"],
            "judged": check_decisions(result, run.id, threshold)}


def result_overlay(result: ImageResult, max_side: int, shown_side: int | None = None) -> np.ndarray:
    """A scored image with its heatmap and boxes (RGB uint8), drawn with its longer side at most ``max_side``
    (lines as wide as :func:`shown_line_width` for ``shown_side``)."""
    image = shrunk_to(result.image, max_side)
    across, down = image.shape[1] / result.image.shape[1], image.shape[0] / result.image.shape[0]  # each rounded
    boxes = [replace(box, x0=math.floor(box.x0 * across), y0=math.floor(box.y0 * down),
                     x1=math.ceil(box.x1 * across), y1=math.ceil(box.y1 * down)) for box in result.boxes]
    return render_overlay(image, result.anomaly_map, boxes, region=result.region,
                          line_width=shown_line_width(max(image.shape[:2]), shown_side))


# ---------------------------------------------------------------------- inspection region
def store_region_upload(runs_dir: Path | str, name: str, data: bytes) -> tuple[InspectionRegion, Path]:
    """Check an uploaded region mask and keep it as ``<runs>/.regions/<digest>-<name>.png`` for a training job.

    Raises ``ValueError`` (with the reason) for a file that is not an image or marks nothing as inspected.
    """
    region = InspectionRegion.read(data, name)
    folder = Path(runs_dir) / REGIONS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem)[:60] or "region"
    path = folder / f"{region.digest()[:12]}-{stem}.png"
    if not path.is_file():  # named by its content: written once, whatever the reruns
        write_bytes_atomic(path, region.to_png())
    return region, path


def centre_crop(config: dict[str, Any]) -> float:
    """The centre crop a run's config sets (1: none)."""
    return float((config.get("params") or {}).get("crop", 1.0))


def pixel_scope(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """Which pixels a run's pixel metrics count, to follow "Pixels" in a caption: "" for whole images, else the
    inspected ones (a run with an inspection region or a centre crop below 1, scored inside them)."""
    if (config.get("region") or centre_crop(config) < 1) and metrics.get("pixel_metrics_inspected_only"):
        return (" inspected (inside the inspection region and the centre crop; defect pixels outside count as "
                "missed)")
    return ""


def region_caption(config: dict[str, Any]) -> str:
    """How much of each image a run inspects, for a page caption: its inspection region and its centre crop,
    whose border is never inspected (empty for a run that inspects whole images)."""
    region, crop = config.get("region"), centre_crop(config)
    cropped = (f"the centre crop ({crop:g} of the resized image's height and width; the border outside it is never "
               f"inspected)") if crop < 1 else ""
    if region and cropped:
        return (f"inspected: the region ({region['inspected_share']:.0%} of each image; the darkened area is "
                f"ignored) within {cropped}")
    if region:
        return f"inspected: {region['inspected_share']:.0%} of each image (the darkened area is ignored)"
    return f"inspected: {cropped}" if cropped else ""


def _header_sizes(samples: Sequence[Sample]) -> list[tuple[int, int]]:
    """The (H, W) of each readable image of ``samples``, from its file's header (an unreadable one, which training
    skips too, left out)."""
    sizes = []
    for sample in samples:
        try:
            sizes.append(stored_size(sample.path))
        except ImageReadError:
            continue
    return sizes


def training_input_size(root: str, category: str | None, height: int, width: int) -> tuple[int, int] | None:
    """The input a ``fixed_scale`` model asked for about ``height x width`` px will use on the category's training
    images (from the sizes in their headers; None without a readable one)."""
    sizes = _header_sizes(load_category(category_path(root, category)).train)
    return fixed_scale_size(sizes, height, width) if sizes else None


def region_preview(root: str, category: str | None, region: InspectionRegion,
                   max_side: int | None = 480, bit_depth: int = 16) -> tuple[np.ndarray, str | None]:
    """The category's first training image (read at ``bit_depth``) with the area outside ``region`` darkened,
    as a model will ignore it, and why the region does not fit the training images (None when it does: the
    check training makes, on the sizes in the files' headers)."""
    found = load_category(category_path(root, category))
    image = read_image(found.train[0].path, bit_depth=bit_depth)
    problem = None
    try:
        region.check_fits(_header_sizes(found.train))
    except ValueError as exc:
        problem = str(exc)
    overlay = render_overlay(image, np.zeros(image.shape[:2], np.float32), show_heatmap=False,
                             region=region.mask)
    return shrunk_to(overlay, max_side), problem


# ---------------------------------------------------------------------- runs and comparison
def _rounded(value: Any, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _run_setup(run: Run) -> dict[str, Any]:
    """The run-table columns that say how a run was made: method, backbone, settings changed from the defaults."""
    config = run.config
    return {"method": config.get("method"), "backbone": config.get("params", {}).get("backbone"),
            "settings": changed_settings(config)}


def _run_figures(run: Run) -> dict[str, Any]:
    """The run-table columns after the image AUROC: pixel AUROC, AUPRO, fit s, ms/image, the saved threshold and
    box level, whether it has seen defects and what the test-set check found."""
    metrics = run.metrics
    return {"pixel AUROC": _rounded(metrics.get("pixel_auroc")), "AUPRO": _rounded(metrics.get("aupro")),
            "fit s": _rounded(metrics.get("fit_seconds"), 1), "ms/image": _rounded(metrics.get("ms_per_image"), 1),
            "saved threshold": run.threshold, "box level": run.box_level,
            "seen defects": bool(metrics.get("seen_defects")),
            "test set check": findings_line(run.report.get("split_check"))}


def runs_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run with its headline metrics; a run whose files cannot be read has only its id and the
    problem (as its description), so that it can be found and deleted; runs that vanished from disk meanwhile
    are left out."""
    rows: list[dict[str, Any]] = []
    for run in runs:
        problem = run.problem()
        if problem is not None:
            if run.path.is_dir():
                rows.append({"run": run.id, "description": f"cannot be read: {problem}"})
            continue
        rows.append({"run": run.id, "description": run.description, "category": run.config.get("category"),
                     **_run_setup(run), "image AUROC": _rounded(run.metrics.get("image_auroc")), **_run_figures(run),
                     "created": run.config.get("created")})
    columns = ["run", "description", "category", "method", "backbone", "settings", "image AUROC", "pixel AUROC",
               "AUPRO", "fit s", "ms/image", "saved threshold", "box level", "seen defects", "test set check",
               "created"]
    return pd.DataFrame(rows, columns=columns)


#: Compare table columns: the bootstrap interval of a run's image AUROC, and its difference from the first run's
AUROC_INTERVAL = f"image AUROC {CONFIDENCE:.0%} interval"
VERSUS_FIRST = "AUROC minus the first run's"  # a number: the column sorts by it
VERSUS_FIRST_INTERVAL = f"that difference's {CONFIDENCE:.0%} interval"


def _interval_text(interval: tuple[float, float], signed: bool = False) -> str:
    """An interval of the Compare table: "0.9630 to 0.9896", "-0.0120 to +0.0040" (``signed``; a dash beside a
    minus sign would read as a subtraction, so not :func:`~vqi_core.metrics.interval_text`'s "0.96–0.99")."""
    number = "{:+.4f}" if signed else "{:.4f}"
    return f"{number.format(interval[0])} to {number.format(interval[1])}"


def run_label(run: Run, readable: bool | None = None) -> str:
    """A short human label: method, when it was trained (time first), image AUROC, category and backbone, what
    tells runs apart first (a narrow picker, such as the sidebar's, cuts the end off: two runs of one method trained
    the same day read alike when the time came after the AUROC and the date). ``readable``: whether the run's files
    can be read, where the caller has checked already (:meth:`~vqi_core.runs.Run.problem`); checked here if
    None."""
    if not (run.problem() is None if readable is None else readable):
        return f"{run.id} (missing)" if not run.path.is_dir() else f"{run.id} (cannot be read)"
    config, metrics = run.config, run.metrics
    auroc = metrics.get("image_auroc")
    quality = "AUROC n/a" if auroc is None else f"AUROC {auroc:.3f}"
    return f"{config.get('method')} · {trained_at(run.id)} · {quality} · {config.get('category')} · " \
           f"{config.get('params', {}).get('backbone')}"


def trained_at(run_id: str) -> str:
    """When a run was trained, time first, from its id (``20261205-011153-...``): "01:11:53 2026-12-05"; the id's
    start where it does not begin so (a folder renamed by hand)."""
    found = re.match(r"(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})", run_id)
    if found is None:
        return run_id[:15]
    year, month, day, hour, minute, second = found.groups()
    return f"{hour}:{minute}:{second} {year}-{month}-{day}"


def run_notes(run: Run) -> list[str]:
    """Notes to show prominently: the method saw labelled defects (CAM), so its figures are not unsupervised;
    test images are copies of training images (see :mod:`vqi_core.split_check`)."""
    notes = list(run.report.get("notes", []))
    if run.metrics.get("seen_defects") and not any(note.startswith(SEEN_DEFECTS_NOTE) for note in notes):
        notes.insert(0, f"{SEEN_DEFECTS_NOTE}: it was trained on labelled defective images.")
    return notes


def notes_of_runs(runs: Sequence[Run]) -> list[tuple[list[str], str]]:
    """Each distinct :func:`run_notes` note of ``runs`` once, with the ids of the runs that have it (in the runs'
    order): runs on one test set share its notes, which would otherwise be said once per run."""
    holders: dict[str, list[str]] = {}
    for run in runs:
        for note in run_notes(run):
            holders.setdefault(note, []).append(run.id)
    return [(ids, note) for note, ids in holders.items()]


def split_check_summary(root: str, category: str | None, bit_depth: int = 16) -> dict[str, Any]:
    """:func:`vqi_core.pipeline.check_dataset` for a page: ``notes`` (copies, look-alikes that stand out, strong
    capture cues), ``copies`` (test image, label, copied image, its label, RMSE), ``look_alikes`` (test image,
    label, training look-alike, likeness; empty unless they stand out), ``lines`` (the look-alike shares and
    every cue's AUROC, a line each), image counts, unreadable files and ``bit_depth_note`` (16-bit training images
    so dark they look like a camera of fewer bits; None otherwise). ``bit_depth``: of 16-bit images
    (:func:`vqi_core.images.read_image`)."""
    found, check, dark = check_dataset(root, category, bit_depth=bit_depth)
    labels = [label_name(s) for s in found.test]
    return {"notes": check.notes(labels), "one_class": one_class_note(labels, check.test_images),
            "copies": pd.DataFrame(check.copies_of_train + check.repeats_in_test,
                                   columns=["test", "label", "copy", "copy_label", "rmse"]),
            "look_alikes": pd.DataFrame(check.look_alikes if check.look_alikes_stand_out else [],
                                        columns=["test", "label", "look_alike", "likeness"]
                                        ).sort_values("label", key=lambda label: label != "good", kind="stable"),
            "lines": [line for line in (check.look_alike_line(), check.cues_line()) if line],
            "test_images": check.test_images, "train_images": check.train_images,
            "skipped": found.skipped, "bit_depth_note": dark}


def split_category_by_part(root: str, category: str | None, seed: int = 0, bit_depth: int = 16) -> dict[str, Any]:
    """:func:`vqi_core.resplit.split_by_part` of the chosen category, written beside it as
    ``<category>_by_part``: the new folder (``path``), its good ``train`` and ``test`` images and the ``groups``
    of look-alike photos, and the files left out (``skipped``: file, reason). Raises ``DatasetError`` when the photos cannot be grouped, ``FileExistsError`` when
    the folder exists. ``bit_depth``: of 16-bit images."""
    found = load_category(category_path(root, category))
    out = found.root.parent / f"{found.root.name}_by_part"
    check_split_target(found, out)  # before every image is decoded and grouped
    split = split_by_part(found, DEFAULT_TEST_FRACTION, seed, bit_depth=bit_depth)
    out = write_split(found, split, out)
    return {"path": str(out), "train": len(split.train), "test": len(split.test), "groups": len(split.groups),
            "skipped": split.skipped}


def copied_images(run: Run) -> dict[str, str]:
    """Test images (``<defect_type>/<file>``, as in ``scores.csv``) that copy another image, and what they copy."""
    check = run.report.get("split_check") or {}
    return {entry["test"].removeprefix("test/"): entry["copy"]
            for entry in check.get("copies_of_train", []) + check.get("repeats_in_test", [])}


def inspection_frame(run: Run, test: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The run's test images (``test``: its scores table) as Inspect's grid shows them: each with its ``outcome``
    at ``threshold`` (TP, FP, FN, TN), the image it copies (``copy_of``) and its training look-alike when the
    look-alikes stand out (``looks_like``; NaN where there is none)."""
    return test.assign(outcome=outcomes(label_values(test), test["score"].to_numpy(float), threshold),
                       copy_of=test["image"].map(copied_images(run)),
                       looks_like=test["image"].map(look_alike_images(run)))


def without_copies_sentence(run: Run, threshold: float) -> str | None:
    """What ``threshold`` does on the run's test images that copy no other image (:func:`copied_images`), where
    some do: a copy of a training image scores about as its original, so it flatters the false-alarm or escape
    figures (audit review: the report named copies in its banner only, not beside the figures); None without
    copies."""
    copies = run.scores["image"].isin(copied_images(run)).to_numpy()
    if not copies.any():
        return None
    count = int(copies.sum())
    flagged = (f"{counted(count, 'test image')} {'copies' if count == 1 else 'copy'} another image (see the test-set "
               f"check): a copy scores about as its original, so the figures above may flatter the model")
    if copies.all():
        return f"{flagged}, and no test image is left without them."
    point = ThresholdEvaluator(run.labels[~copies], run.score_values[~copies]).evaluate(threshold)
    costs = cost_sentence(point)  # "There is no good part ..." begins a sentence; here it goes on one
    return f"{flagged}; without {'it' if count == 1 else 'them'}, {costs[0].lower()}{costs[1:]}"


def look_alike_images(run: Run) -> dict[str, str]:
    """Test images (``<defect_type>/<file>``) with a training look-alike, and the look-alike, when the run's
    test-set check found that they stand out (good test images have far more of them than defective ones;
    see :mod:`vqi_core.split_check`); empty otherwise."""
    check = run.report.get("split_check") or {}
    if not look_alike_finding(check.get("look_alike_summary", {})):
        return {}
    return {entry["test"].removeprefix("test/"): entry["look_alike"] for entry in check.get("look_alikes", [])}


@dataclass(frozen=True)
class SharedTestImages:
    """The test images runs can be compared on (see :func:`common_test_images`)."""

    names: list[str]  # ``<defect_type>/<file>``, in the first run's order
    changed: list[str] = field(default_factory=list)  # evaluated by every run, but not the same file in each
    by_folder: bool = False  # decided by the category folder: a run recorded no file digests


def same_data_runs(first: Run, runs: Sequence[Run]) -> list[Run]:
    """The runs other than ``first`` of its category trained on the same dataset folder or on the same files (by
    the SHA-256 over them each run recorded): those Compare offers beside it."""
    digest = first.config.get("data_sha256")
    return [run for run in runs if run.id != first.id and run.config.get("category") == first.config.get("category")
            and (run.config.get("dataset") == first.config.get("dataset")
                 or (digest is not None and run.config.get("data_sha256") == digest))]


def runs_of_category(runs: Sequence[Run], folder: str | None, name: str | None) -> list[Run]:
    """The ``runs`` of the category the sidebar chose, in their order: those trained on its very ``folder``, else
    (a copied or moved dataset) those trained on a category of its ``name``."""
    same_folder = [run for run in runs if folder is not None and run.config.get("dataset") == folder]
    return same_folder or [run for run in runs if run.config.get("category") == name]


def common_test_images(runs: Sequence[Run]) -> SharedTestImages:
    """The test images every run evaluated with the very same bytes (by the SHA-256 in each run's manifest),
    wherever each run found them: a copied or imported dataset compares, a file replaced between two trainings
    does not (it is listed in ``changed``). Runs without a manifest (trained before manifests existed) compare
    on the names they share only when all were trained on the same category folder."""
    if not runs:
        return SharedTestImages([])
    evaluated = set(runs[0].scores["image"])
    for run in runs[1:]:
        evaluated &= set(run.scores["image"])
    names = [name for name in runs[0].scores["image"] if name in evaluated]
    digests = [run.test_image_digests() for run in runs]
    if any(run_digests is None for run_digests in digests):
        same_folder = len({run.config.get("dataset") for run in runs}) == 1
        return SharedTestImages(names if same_folder else [], by_folder=True)
    same: list[str] = []
    changed: list[str] = []
    for name in names:
        found = {run_digests.get(name) for run_digests in digests if run_digests is not None}
        (same if len(found) == 1 and None not in found else changed).append(name)
    return SharedTestImages(same, changed)


@dataclass(frozen=True)
class RunComparison:
    """What :func:`compare_runs` found: the metrics table, the overlaid ROC curves (None where there are none to
    draw) and, where the images compared are all of one label, the label none of them has."""

    table: pd.DataFrame
    roc: go.Figure | None
    missing_label: str | None = None  # "defective" or "good": no ROC, image AUROC or F1 on these images


def compare_runs(runs: Sequence[Run], images: Sequence[str]) -> RunComparison:
    """Metrics table and overlaid ROC curves of ``runs`` on the test images named ``images``.

    Image AUROC (with its bootstrap :data:`CONFIDENCE` interval, and the paired interval of its difference
    from the first run's) and best F1 are computed on ``images``; pixel AUROC, AUPRO and timings are each
    run's own (on the images it evaluated). Where ``images`` hold no defective or no good image, those are
    None, there is no ROC curve and :attr:`RunComparison.missing_label` says which label is missing.
    """
    figure = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="lightgrey", dash="dot"),
                                  hoverinfo="skip", showlegend=False))
    frames = [run.scores.set_index("image").loc[list(images)] for run in runs]
    labels = label_values(frames[0])
    score_sets = [frame["score"].to_numpy(float) for frame in frames]
    both = bool((labels == 0).any() and (labels == 1).any())
    resampled = bootstrap_aurocs(labels, score_sets) if both else None
    reference = image_auroc(labels, score_sets[0]) if both else None
    rows = []
    for column, (run, scores) in enumerate(zip(runs, score_sets)):
        auroc = image_auroc(labels, scores) if both else None
        best_threshold, best_f1 = f1_optimal_threshold(labels, scores) if both else (None, None)
        interval, difference, difference_interval = None, None, "reference" if column == 0 else None
        if resampled is not None:
            fpr, tpr, _ = roc_curve(labels, scores)
            figure.add_trace(go.Scatter(  # the AUROC of this curve: on ``images``, not the run's own
                x=fpr, y=tpr, mode="lines", line=dict(color=RUN_COLORS[column % len(RUN_COLORS)],
                                                      dash=RUN_DASHES[column % len(RUN_DASHES)],
                                                      width=RUN_LINE_WIDTHS[min(column, len(RUN_LINE_WIDTHS) - 1)]),
                name=f"{run.config.get('method')} · "
                f"{run.config.get('params', {}).get('backbone')} · AUROC {auroc:.3f} · {run.id[:15]}"))
            bounds = percentile_interval(resampled[:, column], CONFIDENCE)
            interval = _interval_text(bounds) + (" (every resample perfect: too few images)" if interval_note(bounds)
                                                 else "")
            if auroc is not None and reference is not None:
                difference = round(auroc - reference, 4)
            if column > 0:
                gap = percentile_interval(resampled[:, column] - resampled[:, 0], CONFIDENCE)
                difference_interval = _interval_text(gap, signed=True)
        rows.append({"run": run.id, **_run_setup(run),
                     "image AUROC": _rounded(auroc), AUROC_INTERVAL: interval, VERSUS_FIRST: difference,
                     VERSUS_FIRST_INTERVAL: difference_interval,
                     "F1 at best threshold": _rounded(best_f1), "best threshold": best_threshold,
                     **_run_figures(run), "data": data_label(run.config)})
    figure.update_layout(title="Image ROC curves", margin=PLOT_MARGIN, height=420,
                         xaxis=dict(title="False-alarm rate (good parts rejected)", tickformat=".0%",
                                    range=[-0.02, 1.02]),  # to 100 %, as the Threshold page's (it stopped at 80 %)
                         yaxis=dict(title="Detection rate (defective parts caught)", tickformat=".0%",
                                    range=[-0.02, 1.02]),
                         legend=dict(orientation="h", y=-0.25))
    missing = None if both else "good" if (labels == 1).any() else "defective"
    return RunComparison(pd.DataFrame(rows), figure if both else None, missing)


# ---------------------------------------------------------------------- train page
@dataclass(frozen=True)
class MethodParameter:
    """A method-specific constructor parameter with its default, what it does and, for a text, its values."""

    name: str
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name in words, for a form (``knn`` -> "kNN", ``n_features`` -> "Number of features", ``lr`` ->
        "Learning rate"; it read "Knn", "N features", "Lr": browser review)."""
        words = [_PARAMETER_WORDS.get(word, word) for word in self.name.split("_")]
        text = " ".join(words)
        return text if words[0] in ("kNN", "k") else text[:1].upper() + text[1:]


#: words of parameter names that read badly capitalised or abbreviated (the names stay: ``--param`` takes them)
_PARAMETER_WORDS = {"knn": "kNN", "k": "k", "n": "number of", "lr": "learning rate", "dim": "dimension",
                    "neighbors": "neighbours"}


def settings_problem(config: RunConfig) -> str | None:
    """Why a run of ``config`` could not start: a parameter its method refuses (the method's own check, e.g.
    ``coreset_fraction must be in (0, 1]``), or None. Said beside the form before training, not once the job has
    begun (found by a browser review: a coreset fraction of 0 was taken and failed after Train was pressed)."""
    try:
        model_for(config)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def method_parameters(method: str) -> list[MethodParameter]:
    """The method's own scalar keyword parameters (not the shared backbone/preprocessing ones) with defaults."""
    shared = set(inspect.signature(AnomalyModel.__init__).parameters) | {"layers"}
    cls = method_class(method)
    parameters = inspect.signature(cls.__init__).parameters.values()
    return [MethodParameter(p.name, p.default, cls.parameter_help.get(p.name, ""),
                            tuple(cls.parameter_choices.get(p.name, ())))
            for p in parameters
            if p.name not in shared and p.kind == p.KEYWORD_ONLY and isinstance(p.default, (bool, int, float, str))]


def masks_phrase(masked: int, defective: int) -> str:
    """How a category's defective test images are covered by ground-truth masks, as the end of a sentence."""
    if masked == 0:
        return "without ground-truth masks"
    if masked < defective:
        return (f"with ground-truth masks for {masked} of {counted(defective, 'defective image')} (pixel AUROC and "
                f"AUPRO cover those only)")
    return "with ground-truth masks"


def method_description(method: str) -> str:
    """First paragraph of the method module's docstring (what the method does, and its paper)."""
    cls = method_class(method)
    text = inspect.getdoc(inspect.getmodule(cls)) or inspect.getdoc(cls) or method
    return " ".join(text.split("\n\n")[0].split())
