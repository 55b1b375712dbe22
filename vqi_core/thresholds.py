"""Operating thresholds: the slider's axis, the presets (F1-optimal, Youden, minimum cost, at most X % false
alarms) and how they do on images they were not chosen on, each image's outcome at a threshold, and what a
threshold does and costs, in sentences a quality engineer can read aloud.

numpy and pandas only (no plotting): the command line, the report and the pages share these.
"""

from __future__ import annotations

import decimal
import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from .metrics import CONFIDENCE, LineCosts, OperatingPoint, ThresholdEvaluator, ThresholdRule, check_labels_scores, \
    f1_optimal_threshold, held_out_counts, minimum_cost_threshold, rate_interval, rejected, \
    threshold_for_false_alarm_rate, youden_threshold
from .wording import are, counted, entered_amount, entered_rate, exact_number, percent


OUTCOMES = ("TP", "FP", "FN", "TN")
OUTCOME_MEANING = {"TP": "defect caught", "FP": "false alarm", "FN": "escape", "TN": "good passed"}


@dataclass(frozen=True)
class ScoreAxis:
    """Range and step of a threshold control over a set of scores, and how to print a threshold.

    ``decimals`` is fine enough that a value printed with it still separates any two distinct scores
    (up to three decimals finer than the step), so a threshold cut to it with :meth:`snap` rejects
    exactly the images the unrounded one does, and what the page prints is what it applies.
    """

    low: float
    high: float
    step: float
    decimals: int
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)  # sorted, unique

    def text(self, value: float) -> str:
        """``value`` as the page prints it in words, buttons and charts: as the other pages and the command line
        print thresholds (:func:`exact_number`), 24.6 and not the axis's 24.60000, which claimed digits the value
        does not have (numbers review); the slider and the entry field keep the axis's decimals."""
        return exact_number(value)

    def shown_decimals(self, value: float) -> int:
        """The decimals an entry field needs to show ``value`` as :meth:`text` prints it (at most
        :data:`MAX_SHOWN_DECIMALS`): a field printing fewer would round a saved or preset threshold off the grid,
        perhaps above what it rejects (1934.5678 shown as 1934.6)."""
        exponent = decimal.Decimal(self.text(value)).as_tuple().exponent
        needed = -exponent if isinstance(exponent, int) else 0
        return min(max(self.decimals, needed), MAX_SHOWN_DECIMALS)

    def reaches(self, value: float) -> bool:
        """Whether ``value`` lies on the axis (within [low, high])."""
        return self.low <= value <= self.high

    def clamp(self, value: float) -> float:
        """``value`` moved into [low, high]."""
        return min(self.high, max(self.low, float(value)))

    def snap_preset(self, value: float, saved: float) -> float:
        """A preset's threshold as the slider takes it: the ``saved`` threshold itself where the preset gives it
        (not a value near it), else :meth:`snap`; ``value`` unrounded where the printed decimals would move it
        out of the middle half of the gap between the scores it separates (where a part scored again a little
        differently keeps its verdict, see :func:`~vqi_core.metrics.threshold_between`)."""
        if value == saved:
            return value
        snapped = self.snap(value)
        at = int(np.searchsorted(self.scores, value, side="left"))  # scores[:at] < value <= scores[at:]
        if 0 < at < len(self.scores):
            below, above = float(self.scores[at - 1]), float(self.scores[at])
            middle_half = (below + (above - below) / 4, above - (above - below) / 4)
            if middle_half[0] <= value <= middle_half[1] and not middle_half[0] <= snapped <= middle_half[1]:
                return value
        return snapped

    def snap(self, value: float) -> float:
        """``value`` clamped and cut down to the printed decimals (scores >= it: the same images).

        A value just above a score (e.g. "at most X % false alarms" passes that score) is cut down no
        further than the first printed value above the score, so the score stays passed; a value that
        :meth:`_cut`'s rounding tolerance would lift over the next score stays below that score. Where two
        scores lie closer than the printed decimals can tell apart, ``value`` is kept unrounded (printed
        then by :meth:`text` with every digit it needs).
        """
        value = self.clamp(value)
        snapped = self._cut(value)
        at = int(np.searchsorted(self.scores, value, side="left"))  # scores[:at] < value <= scores[at:]
        scale = 10.0 ** self.decimals
        if at and snapped <= self.scores[at - 1]:
            snapped = round(self._cut(float(self.scores[at - 1])) + 1 / scale, self.decimals)
        if at < len(self.scores) and snapped > self.scores[at]:
            snapped = round(math.floor(float(self.scores[at]) * scale) / scale, self.decimals)
        return snapped if int(np.searchsorted(self.scores, snapped, side="left")) == at else value

    def _cut(self, value: float) -> float:
        scale = 10.0 ** self.decimals
        return round(math.floor(float(value) * scale + 1e-6) / scale, self.decimals)


#: the most decimals the exact-threshold field shows (a float's shortest text may have 17 significant digits)
MAX_SHOWN_DECIMALS = 17


def score_axis(scores: Sequence[float] | np.ndarray, include: Sequence[float] = ()) -> ScoreAxis:
    """A slider axis covering every score (and the values in ``include``) with a power-of-ten step, 500 to 5,000
    steps across, printed with the decimals that tell distinct scores apart (see :class:`ScoreAxis`)."""
    scores = np.asarray(scores, np.float64).ravel()
    scores = scores[np.isfinite(scores)]
    values = np.concatenate([scores, np.asarray(include, np.float64)])
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return ScoreAxis(0.0, 1.0, 0.01, 2)
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else max(1.0, abs(high))
    exponent = math.floor(math.log10(span / 500))
    step = 10.0 ** exponent
    low = math.floor(low / step) * step - step
    high = math.ceil(high / step) * step + step
    step_decimals = max(0, -exponent)
    distinct = np.unique(scores)
    gaps = np.diff(distinct)  # between scores only: ``include`` may sit close to one
    needed = math.ceil(-math.log10(gaps.min())) if len(gaps) else 0
    decimals = min(max(step_decimals, needed), step_decimals + 3)
    return ScoreAxis(round(low, step_decimals), round(high, step_decimals), step, decimals, distinct)


def slider_include(scores: Sequence[float] | np.ndarray, saved: float) -> tuple[float, ...]:
    """What a threshold slider over ``scores`` covers besides them (the ``include`` of :func:`score_axis`): the
    ``saved`` threshold, unless it lies farther beyond the lowest or highest score than the scores' spread (or 1
    where they all agree). A threshold saved far away (typed in on the command line) would squeeze every score
    into a sliver of the slider; beyond the slider's end it decides the test images as that end does."""
    values = np.asarray(scores, np.float64).ravel()
    values = values[np.isfinite(values)]
    if len(values) == 0 or not math.isfinite(saved):
        return (saved,)
    low, high = float(values.min()), float(values.max())
    reach = high - low if high > low else 1.0
    return (saved,) if low - reach <= saved <= high + reach else ()


def slider_axis(scores: Sequence[float] | np.ndarray, saved: float) -> ScoreAxis:
    """The Threshold page's slider axis: over the scores and the ``saved`` threshold within reach of them (see
    :func:`slider_include`)."""
    return score_axis(scores, slider_include(scores, saved))


def off_slider_sentence(saved: float, axis: ScoreAxis, scores: Sequence[float] | np.ndarray) -> str | None:
    """What the Threshold page says when the ``saved`` threshold lies beyond its slider (see
    :func:`slider_include`): where it is, what it decides, and that the slider starts at its nearer end; None
    when the slider reaches it."""
    if axis.reaches(saved):
        return None
    values = np.asarray(scores, np.float64)
    above = saved > axis.high
    extreme, decision = (("highest", "passes") if above else ("lowest", "is rejected"))
    nearest = float(np.nanmax(values) if above else np.nanmin(values))
    end = axis.high if above else axis.low
    return (f"The saved threshold, {axis.text(saved)}, lies far {'above' if above else 'below'} every test score "
            f"(the {extreme} is {axis.text(nearest)}): at it every test image {decision}. The slider covers the "
            f"test scores and starts at its {'top' if above else 'bottom'} end, {axis.text(end)}, where every "
            f"test image {decision} too; new parts scoring between the two would be judged differently. Saving "
            f"replaces the saved threshold.")


def rate_numbers(point: OperatingPoint) -> dict[str, float | None]:
    """Precision, recall, F1, accuracy, false-alarm and escape rate (0..1) at an operating point; None where the
    rate is undefined (no image rejected, no defective or no good image), not a misleading 0."""
    rejected, defective, good = point.tp + point.fp, point.tp + point.fn, point.tn + point.fp
    return {"Precision": point.precision if rejected else None, "Recall": point.recall if defective else None,
            "F1": point.f1 if point.tp + rejected + point.fn else None,
            "Accuracy": point.accuracy if defective + good else None,
            "False-alarm rate": point.false_alarm_rate if good else None,
            "Escape rate": point.escape_rate if defective else None}


def cost_sentence(point: OperatingPoint, opens_sentence: bool = True) -> str:
    """What the threshold costs, in one sentence a quality engineer can read aloud, with how sure the
    test set's rates are (exact :data:`CONFIDENCE` intervals). ``opens_sentence=False``: it goes on a sentence begun
    before it, so it does not begin with a capital ("There is no good part ..." had, after a colon: docs review)."""
    n_good, n_defective = point.tn + point.fp, point.tp + point.fn
    no_good = f"{'T' if opens_sentence else 't'}here is no good part to measure false alarms on"  # not "0 of 0"
    false_alarms = (f"{point.fp} of {counted(n_good, 'good part')} would be rejected (false alarms, "  # (browser
                    f"{_share_with_interval(point.fp, n_good)})" if n_good else no_good)  # review)
    escapes = (f"{point.fn} of {counted(n_defective, 'defective part')} would pass (escapes, "
               f"{_share_with_interval(point.fn, n_defective)})" if n_defective else
               "there is no defective part to measure escapes on")
    return f"{false_alarms} and {escapes}."


def other_saved_costs(costs: LineCosts, saved_at: LineCosts | None) -> LineCosts | None:
    """``saved_at``, the costs a threshold was saved at, where they read otherwise than ``costs`` as printed (a
    difference float noise alone cannot make); None where they read alike or none were saved."""
    return saved_at if saved_at is not None and saved_at.summary() != costs.summary() else None


#: how :func:`costs_assumed` names each of :class:`~vqi_core.metrics.LineCosts`' fields
COST_NAMES = {"false_alarm": "the false-alarm cost", "escape": "the escape cost", "defect_rate": "the defect rate"}


def costs_assumed(costs: LineCosts, saved_at: LineCosts | None = None, entered: Collection[str] | None = None,
                  saved_entered: Collection[str] | None = None) -> str:
    """Which costs the cost figures assume, and where they come from: VQI's defaults (which must not read as the
    line's own in a quality record), the costs the saved threshold was saved at (``saved_at``, where they are
    these, whichever threshold the figures are for) or entered; and ``saved_at`` where it differs
    (:func:`other_saved_costs`). ``entered``: the fields entered (:data:`COST_NAMES`' keys), where known, each
    cost's origin then said from it (command review: the defaults typed in were called "not entered", one cost
    typed called all three "as entered"); else guessed from the values. ``saved_entered``: which of ``saved_at``
    were entered when the threshold was saved (``threshold.json``'s ``costs_entered``), where recorded: the others
    were VQI's defaults then, and are said so (report review: a saved escape cost had lent the defaults beside it
    the standing of the line's own figures)."""
    other = other_saved_costs(costs, saved_at)
    kept = ("VQI's defaults, not figures entered for this line" if saved_at is None else
            "those the saved threshold was saved at" + _entered_then(saved_entered))
    if entered is None:
        origin = ("VQI's defaults, not figures entered for this line" if costs == LineCosts() else
                  kept if saved_at is not None and other is None else "as entered")
    elif not entered:
        origin = kept
    elif set(COST_NAMES) <= set(entered):
        origin = "as entered"
    else:
        typed, others = _typed_and_others(entered)
        origin = (f"{typed} as entered; {others} "
                  + ("as the saved threshold was saved at" if saved_at is not None else "VQI's defaults"))
    differs = f" The saved threshold was saved at other costs: {other.summary()}." if other is not None else ""
    return f"Costs assumed: {costs.summary()} ({origin}).{differs}"


def _entered_then(saved_entered: Collection[str] | None) -> str:
    """What of the saved costs was entered then, to follow "those the saved threshold was saved at": "" where all
    were, or where that was not recorded."""
    if saved_entered is None or set(COST_NAMES) <= set(saved_entered):
        return ""
    typed, others = _typed_and_others(saved_entered)
    if not typed:
        return ", VQI's defaults then, none entered for this line"
    return f": {typed} entered then, {others} VQI's defaults"


def _typed_and_others(entered: Collection[str]) -> tuple[str, str]:
    """The costs named in ``entered`` (:data:`COST_NAMES`' keys) and the others, each as "the ... and the ..."."""
    return (" and ".join(name for key, name in COST_NAMES.items() if key in entered),
            " and ".join(name for key, name in COST_NAMES.items() if key not in entered))


def line_cost_sentence(point: OperatingPoint, costs: LineCosts, parts: int = 1000) -> str:
    """What the threshold would cost per ``parts`` parts made (more, by powers of ten, where the line's defect rate
    would leave fewer than one defective part among them), at the test set's false-alarm and escape rates
    but the line's own defect rate, against passing every part unchecked; and at the upper ends of the
    rates' :data:`CONFIDENCE` intervals. Without good or without defective test images a rate is unknown, and
    the sentence says so instead of counting it as 0."""
    false_alarm_interval = rate_interval(point.fp, point.fp + point.tn, CONFIDENCE)  # None: no good test image
    escape_interval = rate_interval(point.fn, point.fn + point.tp, CONFIDENCE)  # None: no defective one
    if false_alarm_interval is None or escape_interval is None:
        lacking = [(kind, rate) for kind, rate, interval in (("good", "false-alarm rate", false_alarm_interval),
                                                              ("defective", "escape rate", escape_interval))
                   if interval is None]
        return (f"No expected cost per {parts:,} parts: the test set has "
                f"{' and '.join(f'no {kind} image' for kind, _ in lacking)}, so the "
                f"{' and '.join(rate for _, rate in lacking)} {are(len(lacking))} unknown. Check the run on "
                f"labelled images from the line (Predict's check, or evaluate --data).")
    parts = max(parts, 10 ** math.ceil(math.log10(1 / costs.defect_rate)))  # at least one defective part
    good, defective = parts * (1 - costs.defect_rate), parts * costs.defect_rate
    false_alarms, escapes = good * point.false_alarm_rate, defective * point.escape_rate
    total = parts * float(costs.per_part(point.false_alarm_rate, point.escape_rate))
    unchecked = parts * float(costs.per_part(0.0, 1.0))
    false_alarms_text = _expected_count(false_alarms, costs.false_alarm)
    escapes_text = _expected_count(escapes, costs.escape)
    sentence = (f"Per {parts:,} parts made with {entered_rate(costs.defect_rate)} defective: about "
                f"{false_alarms_text} false alarms and {escapes_text} escapes, an expected cost of {_cost(total)} "
                f"({false_alarms_text} × {entered_amount(costs.false_alarm)} + {escapes_text} × "
                f"{entered_amount(costs.escape)}); passing every "
                f"part unchecked would cost {_cost(unchecked)}. Rates from the test set.")
    worst_false_alarm, worst_escape = false_alarm_interval[1], escape_interval[1]
    worst_total = parts * float(costs.per_part(worst_false_alarm, worst_escape))
    worst_false_alarms = _expected_count(good * worst_false_alarm, costs.false_alarm)
    worst_escapes = _expected_count(defective * worst_escape, costs.escape)
    return (f"{sentence} At the upper ends of their {CONFIDENCE:.0%} intervals ({percent(worst_false_alarm)} false "
            f"alarms, {percent(worst_escape)} escapes): up to {worst_false_alarms} false alarms and {worst_escapes} "
            f"escapes, a cost of up to {_cost(worst_total)} ({worst_false_alarms} × {entered_amount(costs.false_alarm)} "
            f"+ {worst_escapes} × {entered_amount(costs.escape)}).")


def costlier_than_unchecked(point: OperatingPoint, costs: LineCosts, source: str) -> str | None:
    """A warning where the threshold's expected cost on the line (:func:`line_cost_sentence`) is above that of
    passing every part unchecked; None where it is not, or where the test set leaves a rate unknown. ``source``:
    where the threshold came from (a preset's name, "manual"); the F1-optimal one is said to follow the test set's
    mix of parts."""
    if point.fp + point.tn == 0 or point.fn + point.tp == 0:
        return None
    total = float(costs.per_part(point.false_alarm_rate, point.escape_rate))
    unchecked = float(costs.per_part(0.0, 1.0))  # computed alike: equal costs compare equal
    if total <= unchecked * (1 + 1e-9):
        return None
    why = (" it is the F1-optimal one, which follows the test set's mix of good and defective parts, not the "
           "line's;" if source.startswith(F1_OPTIMAL) else "")
    return (f"This threshold costs more than not inspecting at all at these costs and this share of defective "
            f"parts:{why} the minimum-cost preset chooses one for these costs.")


def _cost(amount: float) -> str:
    """A cost on the line: one decimal, thousands grouped; one too small for a decimal in two significant digits
    (costs of 1e-300 had made "would cost 0.0": command review)."""
    return f"{amount:.2g}" if 0 < abs(amount) < 0.05 else f"{amount:,.1f}"


def _expected_count(count: float, cost: float = 1.0) -> str:
    """An expected number of parts that cost ``cost`` each, printed so that the cost worked out from it agrees with
    the total given beside it: one decimal, three significant digits below 10 (0.476 escapes at 10 each, a cost of
    4.8; not 0.5), and as many decimals as the cost needs for its product to be off by 0.05 at most (0.784712
    escapes at 100,000 each, not 0.8: numbers review), trailing zeros dropped; never without a decimal (1.0 escapes
    beside 396.0 false alarms, not "1 escapes")."""
    decimals = max(1, math.ceil(math.log10(cost)) + 1) if cost > 1 else 1
    if count >= 10 or count == 0:
        text = f"{count:,.{decimals}f}"
    else:
        text = np.format_float_positional(count, precision=3, unique=False, fractional=False, trim="-")  # not 5e-05
        if len(text.partition(".")[2]) < decimals:
            text = f"{count:.{decimals}f}"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}"


def rate_interval_text(count: int, total: int) -> str | None:
    """The exact :data:`CONFIDENCE` interval of the rate ``count`` of ``total`` as percentages, "0.0%–23.2%";
    None where ``total`` is 0."""
    interval = rate_interval(count, total, CONFIDENCE)
    return None if interval is None else f"{percent(interval[0])}–{percent(interval[1])}"


def _share_with_interval(count: int, total: int) -> str:
    interval = rate_interval_text(count, total)
    return "n/a" if interval is None else f"{percent(count / total)}; {CONFIDENCE:.0%} interval {interval}"


#: preset names (the page's buttons, the source of a saved threshold; the CLI's --preset maps onto them)
F1_OPTIMAL, YOUDEN, MINIMUM_COST = "F1-optimal", "Youden", "Minimum cost"
#: the sources of the threshold a run is trained with: F1-optimal on its test set, or where that set cannot
#: choose one, the highest score of the held-out good images (of the training images where none were held out)
TRAINING_F1, TRAINING_HELD_OUT, TRAINING_SELF = ("F1-optimal on the evaluated test set", "highest held-out good score",
                                                 "highest training-image score (none held out)")


#: said after a saved threshold's source where nobody has chosen it (:func:`set_at_training`)
NOT_CHOSEN = "set at training, not chosen yet"


def saved_source(entry: dict) -> str:
    """Where a ``threshold.json`` entry's threshold came from, as the pages give it: its source, and that nobody
    has chosen it where it is the one its run was trained with (the pages named only its source: browser
    review)."""
    source = str(entry.get("source", "unknown"))
    return f"{source}; {NOT_CHOSEN}" if set_at_training(entry) else source


def set_at_training(entry: dict) -> bool:
    """Whether a ``threshold.json`` entry is the threshold its run was trained with, which nobody has chosen: no
    threshold saved before it and a training source (a threshold saved by hand before histories were recorded
    has no history either)."""
    return not entry.get("history") and entry.get("source") in (TRAINING_F1, TRAINING_HELD_OUT, TRAINING_SELF)


#: the false-alarm preset's allowed share of good parts rejected (%) where none is given (the command line's
#: --max-false-alarms, the Threshold page's field)
DEFAULT_MAX_FALSE_ALARMS = 1.0


def false_alarm_preset_name(max_false_alarm_rate: float) -> str:
    """The name of the "at most X % false alarms" preset."""
    return f"≤ {entered_rate(max_false_alarm_rate)} false alarms"


def saved_false_alarm_rate(saved: Mapping[str, Any]) -> float:
    """The allowed share of false alarms (0 to 1) the "at most X % false alarms" preset starts at for a run: the one
    its saved threshold (``saved``, its ``threshold.json`` entry) was chosen with, read from the entry's ``source``
    (:func:`false_alarm_preset_name`, perhaps with the costs after it), else VQI's default,
    :data:`DEFAULT_MAX_FALSE_ALARMS` %. The held-out check of the presets starts at it, as the costs start at the
    saved ones (the report had checked the 1 % preset where 30 % was in effect: audit review)."""
    found = re.match(r"≤ ([0-9.e+-]+)% false alarms", str(saved.get("source", "")))
    try:
        rate = float(found.group(1)) / 100 if found else None
    except ValueError:
        rate = None
    return rate if rate is not None and 0 <= rate <= 1 else DEFAULT_MAX_FALSE_ALARMS / 100


def chosen_on_the_test_set(source: str) -> bool | None:
    """Whether a saved threshold of this ``source`` was chosen on the run's test set (a preset, or the F1-optimal
    one a run starts with): True; set from good training images (a run whose test set could not choose one):
    False; typed in or given otherwise: None (unknown)."""
    if source.startswith((F1_OPTIMAL, YOUDEN, MINIMUM_COST, "≤ ")):
        return True
    if source.startswith("highest "):  # see pipeline.fallback_threshold
        return False
    return None


def set_at_training_note(source: str, point: OperatingPoint, where_to_choose: str) -> str:
    """What a threshold that nobody has chosen yet (the one a run is trained with: F1-optimal on its test set, or
    set from good training images) does on the run's test set (``point``: the test set's operating point at it),
    and where to choose one for the line (``where_to_choose``: "on the Threshold page", a command). A new part is
    judged at it all the same."""
    n_good, n_defective = point.tn + point.fp, point.tp + point.fn
    counts = [f"rejects {point.fp} of {counted(n_good, 'good image')} ({percent(point.false_alarm_rate)})" if n_good
              else "", f"passes {point.fn} of {counted(n_defective, 'defective image')} ({percent(point.escape_rate)})"
              if n_defective else ""]
    done = " and ".join(text for text in counts if text)
    mix = (f" An F1-optimal threshold follows the test set's mix of parts ({n_defective / (n_good + n_defective):.0%} "
           f"defective), not the line's." if source.startswith(F1_OPTIMAL) and n_good and n_defective else "")
    return (f"Nobody has chosen this threshold yet: it was set when the run was trained ({source})"
            + (f"; on the run's test set it {done}." if done else ".") + mix
            + f" Choose one for the line's costs {where_to_choose}.")


def preset_source(name: str, costs: LineCosts | None) -> str:
    """What a threshold saved from preset ``name`` records as its source (the minimum-cost one with its costs)."""
    return f"{name}: {costs.summary()}" if name == MINIMUM_COST and costs is not None else name


def _f1_optimal(labels: np.ndarray, scores: np.ndarray) -> float:
    return f1_optimal_threshold(labels, scores)[0]


def preset_rules(labels: Sequence[int] | np.ndarray, max_false_alarm_rate: float,
                 costs: LineCosts | None = None) -> dict[str, ThresholdRule]:
    """The preset threshold rules by name (with ``costs``, also the minimum-cost one); presets that the
    labels cannot support (one class only) are left out."""
    labels = np.asarray(labels, int)
    rules: dict[str, ThresholdRule] = {}
    if (labels == 1).any() and (labels == 0).any():
        rules[F1_OPTIMAL] = _f1_optimal
        rules[YOUDEN] = youden_threshold
        if costs is not None:
            rules[MINIMUM_COST] = functools.partial(minimum_cost_threshold, costs=costs)
    if (labels == 0).any():
        rules[false_alarm_preset_name(max_false_alarm_rate)] = functools.partial(
            threshold_for_false_alarm_rate, max_rate=max_false_alarm_rate)
    return rules


def threshold_presets(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                      max_false_alarm_rate: float, costs: LineCosts | None = None) -> dict[str, float]:
    """Preset thresholds by name (:func:`preset_rules` applied to the whole test set)."""
    labels = np.asarray(labels, int)
    return {name: rule(labels, np.asarray(scores, float))
            for name, rule in preset_rules(labels, max_false_alarm_rate, costs).items()}


#: columns of :func:`held_out_presets`
IN_SAMPLE_FALSE_ALARMS, IN_SAMPLE_ESCAPES = "false alarms, chosen on these images", "escapes, chosen on these images"


HELD_OUT_FALSE_ALARMS, HELD_OUT_ESCAPES = "false alarms, held out", "escapes, held out"


def _count_text(count: int, total: int) -> str:
    return f"{count} of {total} ({percent(count / total)})" if total else "n/a"


def held_out_presets(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                     max_false_alarm_rate: float, costs: LineCosts | None = None, folds: int = 5,
                     seed: int = 0) -> tuple[pd.DataFrame, int]:
    """Each preset's false alarms and escapes when chosen on the test images themselves, and when chosen
    on the other folds and applied to held-out images (:func:`vqi_core.metrics.held_out_counts`); and the
    number of folds used (0 when a class has fewer than 2 images: the table is then empty)."""
    labels, scores = np.asarray(labels, int), np.asarray(scores, float)
    evaluator, rows, used = ThresholdEvaluator(labels, scores), [], 0
    for name, rule in preset_rules(labels, max_false_alarm_rate, costs).items():
        held = held_out_counts(labels, scores, rule, folds, seed)
        if held is None:
            continue
        used, point = held.folds, evaluator.evaluate(rule(labels, scores))
        rows.append({"preset": name, IN_SAMPLE_FALSE_ALARMS: _count_text(point.fp, held.good),
                     IN_SAMPLE_ESCAPES: _count_text(point.fn, held.defective),
                     HELD_OUT_FALSE_ALARMS: _count_text(held.false_alarms, held.good),
                     HELD_OUT_ESCAPES: _count_text(held.escapes, held.defective)})
    columns = ["preset", IN_SAMPLE_FALSE_ALARMS, IN_SAMPLE_ESCAPES, HELD_OUT_FALSE_ALARMS, HELD_OUT_ESCAPES]
    return pd.DataFrame(rows, columns=columns), used


def verdict(score: float, threshold: float) -> str:
    """"defective" where ``score >= threshold`` (the rule of :func:`outcomes` and of every saved prediction), else
    "good": how a page judges one image."""
    return "defective" if rejected(score, threshold) else "good"


def verdicts(scores: Sequence[float] | np.ndarray, threshold: float) -> np.ndarray:
    """:func:`verdict` of every score at once."""
    return np.where(rejected(scores, threshold), "defective", "good")


def outcomes(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
             threshold: float) -> np.ndarray:
    """"TP", "FP", "FN" or "TN" per image with the rule ``score >= threshold`` is defective; ``ValueError`` for a
    label other than 0 or 1 (-1 had counted as good, 0.7 as 0: API review) or a score that is not finite."""
    labels, scores = check_labels_scores(labels, scores)
    predicted = rejected(scores, threshold)
    return np.where(labels == 1, np.where(predicted, "TP", "FN"), np.where(predicted, "FP", "TN"))


def judged_frame(names: Sequence[str], paths: Sequence[str], labels: Sequence[int] | np.ndarray,
                 defect_types: Sequence[str], scores: Sequence[float] | np.ndarray, threshold: float) -> pd.DataFrame:
    """Labelled images judged at ``threshold``: image (its ``names``, :attr:`~vqi_core.datasets.Sample.name`, as a
    run's ``scores.csv`` names its test images: a file name alone can stand in several defect types' folders),
    label, defect type, score, decision, outcome (:func:`outcomes`) and path, the misjudged ones (false alarms, then
    escapes) first, each highest score first."""
    labels, scores = np.asarray(labels, int), np.asarray(scores, np.float64)
    frame = pd.DataFrame({"image": list(names),
                          "label": np.where(labels == 1, "defective", "good"), "defect_type": list(defect_types),
                          "score": scores, "threshold": threshold,
                          "prediction": verdicts(scores, threshold),
                          "outcome": outcomes(labels, scores, threshold), "path": list(paths)})
    rank = frame["outcome"].map({"FP": 0, "FN": 1, "TP": 2, "TN": 3})
    return frame.assign(rank=rank).sort_values(["rank", "score"], ascending=[True, False],
                                               kind="stable").drop(columns="rank").reset_index(drop=True)
