"""The Threshold page's views: score histograms, ROC curve, confusion matrix, per-defect-type table, the pixel-level
view and the threshold history."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..localisation import map_levels
from ..metrics import CONFIDENCE, LineCosts, OperatingPoint, ThresholdEvaluator, auroc_interval, image_auroc, \
    interval_text, operating_point, rejected, roc_curve
from ..runs import Run
from ..thresholds import ScoreAxis, cost_sentence, costlier_than_unchecked, line_cost_sentence, rate_interval_text, \
    rate_numbers, score_axis
from ..wording import exact_number, fraction, percent, saved_time
from .overlays import run_ground_truth, run_inspected_areas
from .style import DEFECT_CSS, GOOD_CSS, OPERATING_POINT_COLOR, PLOT_MARGIN


ACTUAL_ROWS = ("Good part", "Defective part")
PREDICTED_COLUMNS = ("Passed", "Rejected")


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
    auroc_interval: tuple[float, float] | None = None  # CONFIDENCE interval of ``auroc`` (auroc_interval)
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
    """ROC curve and AUROC (with its interval), score histograms and slider axis of a labelled test
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
        caught = int(rejected(scores, threshold).sum())  # a defect type is listed because it has images
        row = {"defect type": name, "images": len(scores), "caught": caught, "escaped": len(scores) - caught,
               "detection rate": caught / len(scores), DETECTION_INTERVAL: rate_interval_text(caught, len(scores))}
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
#: a chart subtitle's colour: the grey of the page's captions
SUBTITLE_COLOR = "#555867"


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, point: tuple[float, float] | None, title: str,
               x_title: str = "False-alarm rate (good parts rejected)",
               y_title: str = "Detection rate (defective parts caught)", subtitle: str | None = None) -> go.Figure:
    """A ROC curve with the chance diagonal and, if given, the operating point (x, y) marked; a ``subtitle`` in
    plotly's subtitle, smaller, grey and not bold, under the title, wrapped into lines (as a bold superscript of
    the title, two lines of it read cramped: browser review)."""
    margin, heading = PLOT_MARGIN, dict[str, Any](text=title)
    if subtitle:
        lines = textwrap.wrap(subtitle, SUBTITLE_LINE_CHARS)
        heading.update(subtitle=dict(text="<br>".join(lines), font=dict(size=12, color=SUBTITLE_COLOR)),
                       yref="container", y=1, yanchor="top", pad=dict(t=12))  # at the top, the subtitle under it
        # room for each line and a gap above the plot's top tick (the last line sat on "100%": browser review)
        margin = {**PLOT_MARGIN, "t": PLOT_MARGIN["t"] + 18 * len(lines) + 8}
    traces = [go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="lightgrey", dash="dot"),
                         hoverinfo="skip", showlegend=False),
              go.Scatter(x=fpr, y=tpr, mode="lines", name="ROC", line=dict(color=DEFECT_CSS, width=2),
                         showlegend=False)]
    if point is not None:
        traces.append(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name="operating point",
                                 marker=dict(color=OPERATING_POINT_COLOR, size=12, symbol="x"), showlegend=False))
    return go.Figure(traces, dict(title=heading, xaxis=dict(title=x_title, range=[-0.02, 1.02], tickformat=".0%"),
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
    (plotly figures) with ``roc_alt`` and ``histogram_alt`` (what they show, in words, for screen readers),
    ``by_type`` (:func:`defect_type_frame`, empty unless ``data`` holds defect types).
    """
    point = evaluator.evaluate(threshold)
    auroc = "n/a (needs good and defective images)" if data.auroc is None else fraction(data.auroc, 3)
    interval = None if data.auroc_interval is None else interval_text(data.auroc_interval, 3, confidence=CONFIDENCE,
                                                                      auroc=data.auroc)
    roc = roc_figure(data.fpr, data.tpr, (point.false_alarm_rate, point.recall), f"Image ROC, AUROC {auroc}",
                     subtitle=interval)
    return {"point": point, "confusion": confusion_frame(point), "numbers": rate_numbers(point),
            "cost": cost_sentence(point), "line_cost": line_cost_sentence(point, costs) if costs else None,
            "costlier": costlier_than_unchecked(point, costs, source) if costs else None,
            "roc": roc, "histogram": histogram_figure(data, threshold),
            "roc_alt": f"Image ROC curve, AUROC {auroc}" + (f" ({interval})" if interval else "")
            + f": {_at_the_threshold(point, 'defective parts caught', 'good parts rejected')}",
            "histogram_alt": f"Histograms of the test scores of {data.n_good} good and {data.n_defective} defective "
                             f"images, with the threshold {exact_number(threshold)}: it rejects {point.fp} of the good "
                             f"and {point.tp} of the defective images.",
            "by_type": defect_type_frame(data, threshold, per_type_metrics)}


def _at_the_threshold(point: OperatingPoint, caught: str, flagged: str) -> str:
    """Where a ROC curve's operating point lies, in words: "at the threshold, 95.7% of defective parts caught
    and 6.3% of good parts rejected"; a class the images lack is said to be missing (not "0.0% caught")."""
    def missing(what: str) -> str:  # "defective parts caught" -> "no defective parts"
        return "no " + " ".join(what.split()[:2])

    positives = f"{percent(point.recall)} of {caught}" if point.tp + point.fn else missing(caught)
    negatives = f"{percent(point.false_alarm_rate)} of {flagged}" if point.fp + point.tn else missing(flagged)
    return f"at the threshold, {positives} and {negatives}."


#: the pixel tab's slider over normalised map levels: where it starts, its finest step, the least range it spans,
#: and the most steps it has (a wider range takes a coarser step, ten times at a time)
PIXEL_SLIDER_START, PIXEL_SLIDER_STEP, PIXEL_SLIDER_SPAN, PIXEL_SLIDER_STEPS = 1.0, 0.01, (0.0, 3.0), 2000


def pixel_slider_range(lowest: float, highest: float) -> tuple[float, float, float]:
    """The pixel slider's (low, high, step) for map levels from ``lowest`` to ``highest``: from the lowest level
    (where every pixel is flagged) to just above the highest (where none is), at least 0 to 3 (a fixed 0 to 3 had
    stopped below the levels of a run whose maps reach 12.8, and merged every level below 0: reviews), in steps of
    0.01, coarser where that would make more than :data:`PIXEL_SLIDER_STEPS` (levels of 10^9, from good maps that were
    all alike, had asked for 10^11 thresholds: code review)."""
    low = min(PIXEL_SLIDER_SPAN[0], lowest) if math.isfinite(lowest) else PIXEL_SLIDER_SPAN[0]
    high = max(PIXEL_SLIDER_SPAN[1], highest) if math.isfinite(highest) else PIXEL_SLIDER_SPAN[1]
    step = PIXEL_SLIDER_STEP
    while (high - low) / step > PIXEL_SLIDER_STEPS:
        step *= 10
    return (round(math.floor(low / step) * step, 10), round((math.ceil(high / step) + 1) * step, 10),
            round(step, 10))


def pixel_slider_start(slider: tuple[float, float, float], kept: float | None = None) -> float:
    """Where a pixel slider (:func:`pixel_slider_range`) starts: at ``kept`` (a value the session kept) where it
    is one of its thresholds, else at the threshold nearest :data:`PIXEL_SLIDER_START`."""
    low, high, step = slider
    thresholds = pixel_slider_thresholds(low, high, step)
    if kept is not None and np.isclose(thresholds, kept, rtol=0, atol=1e-9).any():
        return float(kept)
    return float(thresholds[int(np.abs(thresholds - PIXEL_SLIDER_START).argmin())])


def pixel_slider_thresholds(low: float, high: float, step: float) -> np.ndarray:
    """Every threshold a pixel slider from ``low`` to ``high`` offers, ``step`` apart (:func:`pixel_slider_range`),
    at each of which the pixel tab counts every pixel."""
    return np.round(np.arange(round((high - low) / step) + 1) * step + low, 10)


#: the pixel ROC is drawn through the exact counts at this many levels: quantiles of a seeded sample of the pixels
ROC_LEVELS, ROC_SAMPLE = 2000, 300_000


@dataclass(frozen=True)
class PixelData:
    """Every test pixel with known ground truth counted at each threshold the pixel slider offers and at the levels
    the pixel ROC is drawn through: the defect pixels and the good pixels at or above each (a sample of pixels had
    given estimates shown as exact, and a rate of 477 good pixels as 0.0 %: numbers review)."""

    thresholds: np.ndarray  # ascending
    slider: tuple[float, float, float]  # the pixel slider's range and step (:func:`pixel_slider_range`)
    defect_flagged: np.ndarray  # defect pixels at or above each threshold
    good_flagged: np.ndarray
    n_defect: int
    n_good: int
    fpr: np.ndarray
    tpr: np.ndarray
    unreadable_masks: tuple[str, ...] = ()  # masks left out because they cannot be read, with the reason

    @property
    def n_pixels(self) -> int:
        """All evaluated pixels."""
        return self.n_defect + self.n_good

    def evaluate(self, threshold: float) -> OperatingPoint:
        """The exact pixel counts at one of the slider's thresholds (or a level the ROC is drawn through)."""
        index = int(np.searchsorted(self.thresholds, threshold))
        near = [i for i in (index, index - 1) if 0 <= i < len(self.thresholds)
                and abs(self.thresholds[i] - threshold) <= 1e-9]
        if not near:
            raise ValueError(f"pixels are counted at the pixel slider's thresholds, not at {threshold!r}")
        tp, fp = int(self.defect_flagged[near[0]]), int(self.good_flagged[near[0]])
        return operating_point(float(threshold), tp, fp, self.n_good - fp, self.n_defect - tp)


def prepare_pixel_data(masks: Sequence[np.ndarray], norm_maps: Sequence[np.ndarray], seed: int = 0,
                       unreadable_masks: Sequence[str] = (),
                       inspected: Sequence[np.ndarray] | None = None) -> PixelData:
    """Every pixel of the images (map levels, :func:`~vqi_core.localisation.map_levels`, defect or not by its mask)
    counted at each threshold of the pixel slider (:func:`pixel_slider_range`) and at :data:`ROC_LEVELS`
    quantiles of a sample of ``ROC_SAMPLE`` pixels drawn with ``seed``, through which the pixel ROC is drawn.
    ``inspected``: per image, the pixels an inspection region inspects; defect-free pixels outside it are left out
    (see :func:`vqi_core.metrics.pixel_auroc`)."""
    pixels = []
    for index, (mask, norm_map) in enumerate(zip(masks, norm_maps)):
        truth = np.asarray(mask, bool)
        counted = truth | np.asarray(inspected[index], bool) if inspected is not None else np.ones(truth.shape, bool)
        pixels.append((np.asarray(norm_map, np.float32)[counted], truth[counted]))  # compared as float64 below
    n_all = sum(len(values) for values, _ in pixels)
    rng = np.random.default_rng(seed)
    sample = [values[rng.random(len(values)) < ROC_SAMPLE / n_all] for values, _ in pixels] if n_all else []
    levels = [np.quantile(np.concatenate(sample), np.linspace(0, 1, ROC_LEVELS))] if sum(map(len, sample)) else []
    lowest = [min(float(values.min()) for values, _ in pixels if len(values))] if n_all else []  # all flagged
    highest = max((float(values.max()) for values, _ in pixels if len(values)), default=math.nan)
    slider = pixel_slider_range(lowest[0] if lowest else math.nan, highest)
    thresholds = np.unique(np.concatenate([pixel_slider_thresholds(*slider), *levels, lowest]))
    # pixels by how many thresholds lie at or below their value (they are flagged at those), defect and good apart
    positions = len(thresholds) + 1
    defect_by_position, good_by_position = np.zeros(positions, np.int64), np.zeros(positions, np.int64)
    for values, truth in pixels:
        position = np.searchsorted(thresholds, values, side="right")
        defect_by_position += np.bincount(position[truth], minlength=positions)
        good_by_position += np.bincount(position[~truth], minlength=positions)
    # flagged at threshold k: the pixels at positions above k
    defect_flagged, good_flagged = (by_position[::-1].cumsum()[::-1][1:]
                                    for by_position in (defect_by_position, good_by_position))
    n_defect, n_good = int(defect_by_position.sum()), int(good_by_position.sum())
    fpr, tpr = np.zeros(0), np.zeros(0)
    if n_defect and n_good:  # from the highest level down, from nothing flagged
        fpr = np.concatenate([[0.0], good_flagged[::-1] / n_good])
        tpr = np.concatenate([[0.0], defect_flagged[::-1] / n_defect])
    return PixelData(thresholds, slider, defect_flagged, good_flagged, n_defect, n_good, fpr, tpr,
                     tuple(unreadable_masks))


def pixel_view(data: PixelData, threshold: float, pixel_auroc: float | None) -> dict[str, Any]:
    """Pixel-level operating point at a normalised-map ``threshold``, its numbers and the pixel ROC (with
    ``roc_alt``, what it shows in words)."""
    point = data.evaluate(threshold)
    roc = roc_figure(data.fpr, data.tpr, (point.false_alarm_rate, point.recall),
                     f"Pixel ROC, pixel AUROC {fraction(pixel_auroc, 3)}",
                     x_title="Good pixels flagged", y_title="Defect pixels flagged")
    rates = rate_numbers(point)
    numbers = {"Defect pixels flagged": rates["Recall"], "Good pixels flagged": rates["False-alarm rate"],
               "Pixel precision": rates["Precision"], "Pixel F1": rates["F1"]}
    return {"point": point, "numbers": numbers, "roc": roc,
            "roc_alt": f"Pixel ROC curve, pixel AUROC {fraction(pixel_auroc, 3)}: "
                       f"{_at_the_threshold(point, 'defect pixels', 'good pixels flagged')}"}


def run_pixel_data(run: Run, normalization: dict[str, float]) -> PixelData:
    """:func:`prepare_pixel_data` of the run's test images with known masks, their maps normalised with
    ``normalization``; pixels counted as the run's own pixel figures count them (runs trained before 2026-12-03
    counted pixels never inspected too). Masks that cannot be read are left out and named. Masks and images are
    read from the run's :attr:`~vqi_core.runs.Run.dataset` when one is given (a dataset moved since training)."""
    maps = [map_levels(run.anomaly_map(index), normalization) for index in range(len(run.scores))]  # not clipped:
    unreadable: list[str] = []  # the ROC drawn is the pixel AUROC's (numbers review: 0.832 under "0.841")
    truth = run_ground_truth(run, maps, unreadable)
    known = [index for index, mask in enumerate(truth) if mask is not None]
    areas = run_inspected_areas(run, maps) if run.metrics.get("pixel_metrics_inspected_only") else None
    return prepare_pixel_data([mask for mask in truth if mask is not None], [maps[index] for index in known],
                              unreadable_masks=unreadable,
                              inspected=[areas[index] for index in known] if areas is not None else None)


def threshold_history_frame(run: Run) -> pd.DataFrame:
    """The run's :attr:`~vqi_core.runs.Run.threshold_history` as pages and the report show it: newest first (the
    first row in effect, as the box level history), each threshold with all its digits, times as
    :func:`saved_time` gives them, who saved it (``by``: empty where no name was given); the reason beside the
    threshold (after the source and the costs, which a
    minimum-cost source repeats, it was off the table's right edge: browser review)."""
    history = run.threshold_history.iloc[::-1]
    return history.assign(saved_at=history["saved_at"].map(saved_time),
                          threshold=history["threshold"].map(exact_number)).rename(
        columns={"saved_at": "saved", "saved_by": "by"})[["saved", "threshold", "by", "reason", "source", "costs"]]
