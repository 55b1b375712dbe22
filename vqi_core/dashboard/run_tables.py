"""Runs side by side: the runs table, run labels and notes, and the comparison of runs on the test images they share."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Collection, Sequence

import pandas as pd
import plotly.graph_objects as go

from ..backbones import backbone_title
from ..datasets import DatasetError, category_path
from ..metrics import CONFIDENCE, ThresholdEvaluator, auroc_interval, bootstrap_aurocs, f1_optimal_threshold, \
    image_auroc, interval_note, percentile_interval, roc_curve
from ..methods import method_title
from ..pipeline import RUN_ID_TIME, SEEN_DEFECTS_NOTE
from ..provenance import data_label
from ..runs import Run, changed_settings, label_values
from ..split_check import findings_line
from ..thresholds import NOT_CHOSEN, TRAINING_F1, rate_interval_text, saved_source
from ..wording import fraction, fraction_decimals, interval_bounds, readable_time
from .style import PLOT_MARGIN, RUN_COLORS, RUN_DASHES, RUN_LINE_WIDTHS


def _rounded(value: Any, digits: int) -> float | None:
    """``value`` rounded to ``digits`` decimals."""
    return None if value is None else round(float(value), digits)


def _fraction(value: Any) -> float | None:
    """An AUROC, AUPRO or F1 (or a difference of two) rounded to four decimals, or more where it would round to 0
    or 1 and is not (:func:`~vqi_core.wording.decimals_apart`): an image AUROC of 0.99998 is not a perfect 1."""
    return None if value is None else _rounded(*fraction_decimals(value, 4))


def _run_setup(run: Run) -> dict[str, Any]:
    """The run-table columns that say how a run was made: method, backbone, settings changed from the defaults."""
    config = run.config
    return {"method": method_title(config.get("method")),
            "backbone": backbone_title(config.get("params", {}).get("backbone")),
            "settings": changed_settings(config)}


def _run_figures(run: Run, saved_threshold: tuple[float, dict] | None = None) -> dict[str, Any]:
    """The run-table columns after the image AUROC: pixel AUROC, AUPRO, fit s, ms/image, the saved threshold, where
    it came from (and whether anyone chose it) and the box level, whether it has seen defects and what the
    test-set check found. ``saved_threshold``: :attr:`~vqi_core.runs.Run.saved_threshold` where the caller has read
    it already (for other columns: one reading for all)."""
    metrics, (threshold, saved) = run.metrics, saved_threshold or run.saved_threshold
    return {"pixel AUROC": _fraction(metrics.get("pixel_auroc")), "AUPRO": _fraction(metrics.get("aupro")),
            "fit s": _rounded(metrics.get("fit_seconds"), 1), "ms/image": _rounded(metrics.get("ms_per_image"), 1),
            "saved threshold": threshold, "threshold from": saved_source(saved),
            "box level": run.box_level,
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
                     **_run_setup(run), "image AUROC": _fraction(run.metrics.get("image_auroc")), **_run_figures(run),
                     "created": readable_time(run.config.get("created"))})
    # what a run is worth and whether its threshold was chosen first: at 1440 px the table showed the columns up to
    # AUPRO, and the threshold's origin and the test-set check lay out of view to the right (browser review)
    columns = ["run", "description", "category", "method", "image AUROC", "saved threshold", "threshold from",
               "test set check", "pixel AUROC", "AUPRO", "backbone", "settings", "fit s", "ms/image", "box level",
               "seen defects", "created"]
    return pd.DataFrame(rows, columns=columns)


#: Compare table columns: the interval of a run's image AUROC, and its difference from the first run's
AUROC_INTERVAL = f"image AUROC {CONFIDENCE:.0%} interval"
VERSUS_FIRST = "AUROC minus the first run's"  # a number: the column sorts by it
VERSUS_FIRST_INTERVAL = f"AUROC difference's {CONFIDENCE:.0%} interval"  # not "that difference's": it stands after
# the escapes and was read as theirs (browser review)
#: Compare table columns: what each run's saved threshold does on the images compared
FALSE_ALARMS_SAVED, ESCAPES_SAVED = "false alarms", "escapes"  # short: the escapes column had been scrolled out of a
# 1600 px window (browser review); the saved threshold's column stands just before them, and the help says so too
#: Compare table columns: where the false-alarm and escape rates of those counts could lie on the line (2 of 14
#: and 4 of 14 false alarms read as one run rejecting half as many good parts: review)
FALSE_ALARM_INTERVAL = f"false-alarm rate {CONFIDENCE:.0%} interval"
ESCAPE_INTERVAL = f"escape rate {CONFIDENCE:.0%} interval"
#: the Compare table's columns, what answers "which run is better" first (the figures a wide table hid to the right
#: of the run's setup: browser review), the false alarms and escapes before the difference's wide interval (they
#: had been cut off at 1400 px: browser review), the saved threshold beside them (they were read as the F1-best
#: threshold's, the only threshold in view: browser review); the page puts each run's description second
COMPARE_COLUMNS = ["run", "method", "image AUROC", VERSUS_FIRST, "saved threshold", FALSE_ALARMS_SAVED, ESCAPES_SAVED,
                   VERSUS_FIRST_INTERVAL, "threshold from", FALSE_ALARM_INTERVAL, ESCAPE_INTERVAL, AUROC_INTERVAL,
                   "pixel AUROC", "AUPRO",
                   "F1 at best threshold", "best threshold", "backbone", "settings", "fit s", "ms/image", "box level",
                   "seen defects", "test set check", "data"]


def _interval_text(interval: tuple[float, float], signed: bool = False, digits: int = 3) -> str:
    """An interval of the Compare table: "0.963 to 0.990", "-0.012 to +0.004" (``signed``; a dash beside a
    minus sign would read as a subtraction, so not :func:`~vqi_core.metrics.interval_text`'s "0.96–0.99");
    three decimals, as every page shows AUROCs, unless ``digits`` asks for more; rounded outwards."""
    return " to ".join(interval_bounds(interval[0], interval[1], digits, signed))


def run_label(run: Run, readable: bool | None = None, category_first: bool = False, tag: str | None = None) -> str:
    """A short human label: method, when it was trained (time first), image AUROC, category and backbone, what
    tells runs apart first (a narrow picker, such as the sidebar's, cuts the end off: two runs of one method trained
    the same day read alike when the time came after the AUROC and the date). ``category_first``: the category
    leads instead (a run of another category than the one being worked on, which a cut label had hidden: browser
    review). ``readable``: whether the run's files can be read, where the caller has checked already
    (:meth:`~vqi_core.runs.Run.problem`); checked here if None. ``tag``: written after the time, in brackets
    (see :func:`run_labels`)."""
    if not (run.problem() is None if readable is None else readable):
        return f"{run.id} (missing)" if not run.path.is_dir() else f"{run.id} (cannot be read)"
    config, metrics = run.config, run.metrics
    auroc = metrics.get("image_auroc")
    parts = [method_title(config.get("method")), trained_at(run.id) + (f" ({tag})" if tag else ""),
             f"AUROC {fraction(auroc, 3)}", str(config.get("category")),
             backbone_title(config.get("params", {}).get("backbone"))]
    if category_first:
        parts.insert(0, parts.pop(3))
    return " · ".join(parts)


def run_labels(runs: Sequence[Run], readable: Collection[str] | None = None, category_first: Collection[str] = (),
               tag_all: bool = False) -> dict[str, str]:
    """:func:`run_label` of each run, by id, each naming one run: where runs' labels are alike (one method trained
    on one category in the same second, with the same AUROC), or for every run with ``tag_all``, the end of its id
    (the random part VQI gives it; the whole id of a folder renamed otherwise) follows the time in brackets; the
    whole id where even those are alike. A picker matches a choice to its option by the label: of two alike, the
    first could not be chosen; and a choice whose label changes while the page is open is lost (review: a run
    copied beside a chosen one dropped it from Compare's choice), which ``tag_all`` rules out.
    ``readable``: the ids of the runs whose files can be read (checked here if None); ``category_first``: the ids
    whose label begins with the category."""
    def label(run: Run, tag: str | None = None) -> str:
        return run_label(run, None if readable is None else run.id in readable, run.id in category_first, tag)

    labels = {run.id: label(run) for run in runs}
    alike = Counter(labels.values())
    tagged = {run.id: label(run, id_end(run.id)) for run in runs
              if alike[labels[run.id]] > 1 or (tag_all and trained_at(run.id) != run.id)}  # not its whole id twice
    still_alike = Counter(tagged.values())
    return {run.id: labels[run.id] if run.id not in tagged
            else tagged[run.id] if still_alike[tagged[run.id]] == 1 else label(run, run.id) for run in runs}


def id_end(run_id: str) -> str:
    """What tells a run's id from those of runs trained in the same second: its random end ("0531" of
    ``20261207-031405-bottle-padim-0531``); the whole id where it does not end as :func:`~vqi_core.pipeline.new_run_id`
    ends it."""
    end = run_id.rsplit("-", 1)[-1]
    return end if re.fullmatch(r"[0-9a-f]{4}", end) and end != run_id else run_id


def run_name(run: Run) -> str:
    """A run named in a sentence: method, when it was trained and category ("PatchCore · 01:11:53 2026-12-05 ·
    bottle")."""
    return f"{method_title(run.config.get('method'))} · {trained_at(run.id)} · {run.config.get('category')}"


def trained_at(run_id: str) -> str:
    """When a run was trained, time first, from its id (``20261205-011153-...``): "01:11:53 2026-12-05"; the id's
    start where it does not begin so (a folder renamed by hand)."""
    stamp = run_id[:15]  # as new_run_id writes it (RUN_ID_TIME)
    try:
        when = datetime.strptime(stamp, RUN_ID_TIME)
    except ValueError:
        return stamp
    return f"{when:%H:%M:%S %Y-%m-%d}"


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


@dataclass(frozen=True)
class SharedTestImages:
    """The test images runs can be compared on (see :func:`common_test_images`)."""

    names: list[str]  # ``<defect_type>/<file>``, in the first run's order
    changed: list[str] = field(default_factory=list)  # evaluated by every run, but not the same file in each
    #: the same file (by its SHA-256) under another name, so another label or defect type, in another run: the
    #: first run's name, the other's and that run's id (left out: the runs disagree on what the part is)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    by_folder: bool = False  # decided by the category folder: a run recorded no file digests


def same_data_runs(first: Run, runs: Sequence[Run]) -> list[Run]:
    """The runs other than ``first`` of its category trained on the same dataset folder or on the same files (by
    the SHA-256 over them each run recorded): those Compare offers beside it."""
    digest = first.config.get("data_sha256")
    return [run for run in runs if run.id != first.id and run.config.get("category") == first.config.get("category")
            and (run.config.get("dataset") == first.config.get("dataset")
                 or (digest is not None and run.config.get("data_sha256") == digest))]


def defective_first(run: Run, images: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """``images`` (test image names of ``run``) with the defective ones first, in their order otherwise, and each
    image's label ("good" or "defective") as the run records it."""
    labels = dict(zip(run.scores["image"], run.scores["label"]))
    return sorted(images, key=lambda name: labels[name] != "defective"), labels


def index_of_test_image(run: Run, name: str) -> int:
    """The index of the test image named ``name`` (as ``scores.csv`` names it) among ``run``'s test images."""
    return int(run.scores.index[run.scores["image"] == name][0])


def threshold_sources_note(sources: Sequence[str]) -> str | None:
    """A note where the compared runs' saved thresholds were chosen in different ways (their ``threshold from``):
    their false alarms and escapes then compare the thresholds as much as the models (QE review: the column that
    says so was off the table's right edge), or where all are the ones set at training, F1-optimal on the very
    images compared; None where all were chosen alike otherwise."""
    ways = list(dict.fromkeys(sources))
    if ways == [f"{TRAINING_F1}; {NOT_CHOSEN}"]:  # alike, and flattering (archive review: no note at all)
        return ("Every run's saved threshold is the one set at training, F1-optimal on its own test set (the images "
                "compared here, or most of them), and nobody has chosen it: chosen on these very images, it flatters "
                "the false alarms and escapes below, which are likely to be more on new parts. Choose each run's "
                "threshold on the Threshold page (e.g. its minimum-cost preset) before comparing them there; the "
                "image AUROCs compare the runs at every threshold.")
    if len(ways) < 2:
        return None
    listed = ", ".join(f"“{way}”" for way in ways)  # a way may hold "; " itself (browser review: 2 read as 3)
    return (f"The runs' saved thresholds were chosen in different ways ({listed}): their false alarms and "
            f"escapes compare the thresholds as much as the models. To compare the models there, choose each run's "
            f"threshold the same way on the Threshold page; the image AUROCs compare them at every threshold.")


def left_out_of_comparison(runs: Sequence[Run]) -> tuple[Run, list[Run]]:
    """For a comparison that all of ``runs`` cannot make: the run that shares test images
    (:func:`common_test_images`) with the most others (the earliest of equals), and the runs that share none with
    it, to drop. The first run had been that reference, so that picking a run of another part first compared
    nothing, and last, compared the others (QE review)."""
    sharing = [{other.id for other in runs if other is not run and common_test_images([run, other]).names}
               for run in runs]
    hub = max(range(len(runs)), key=lambda index: (len(sharing[index]), -index))
    return runs[hub], [run for index, run in enumerate(runs) if index != hub and run.id not in sharing[hub]]


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
    renamed = []  # (review: such a file was left out without being named)
    for run, run_digests in zip(runs[1:], digests[1:]):
        named_as = {digest: name for name, digest in (run_digests or {}).items()}
        renamed += [(name, named_as[digest], run.id) for name, digest in (digests[0] or {}).items()
                    if name not in same and digest in named_as and named_as[digest] != name]
    return SharedTestImages(same, changed, renamed=renamed)


@dataclass(frozen=True)
class RunComparison:
    """What :func:`compare_runs` found: the metrics table, the overlaid ROC curves (None where there are none to
    draw) and, where the images compared are all of one label, the label none of them has."""

    table: pd.DataFrame
    roc: go.Figure | None
    missing_label: str | None = None  # "defective" or "good": no ROC, image AUROC or F1 on these images
    #: one sentence per run after the first: what its AUROC difference from the first run's says
    verdicts: tuple[str, ...] = ()
    #: good and defective images compared (what the false alarms and escapes are counted among)
    good_images: int = 0
    defective_images: int = 0
    #: what the ROC curves show, in words (for screen readers)
    roc_alt: str = ""


def compared_name(run: Run) -> str:
    """How Compare's sentences name a run: its method, backbone, the settings it changed and its id ("PaDiM ·
    EfficientNet-Lite0 (image_size=[160, 224]) 20261205-190812-bottle-padim-3ec4"): runs named by id alone could
    not be told apart (browser review)."""
    backbone = backbone_title(run.config.get("params", {}).get("backbone"))
    return f"{method_title(run.config.get('method'))} · {backbone} ({changed_settings(run.config)}) {run.id}"


def difference_verdict(name: str, first_name: str, difference: float, gap: tuple[float, float]) -> str:
    """What the image AUROC difference of a run (``name``, see :func:`compared_name`) from the first run's
    (``first_name``) says, with its paired interval ``gap``: told apart
    only where the interval leaves out 0; with the decimals that show an interval bound that is not 0 as such
    ("+0.000 to +0.001" read as a contradiction beside "better": review)."""
    judged = ("this test set cannot tell the two apart" if gap[0] <= 0 <= gap[1] else
              f"it tells good from defective parts {'better' if gap[0] > 0 else 'worse'} than {first_name}")
    digits = 3
    while digits < 6 and any(0 < abs(value) < 0.5 * 10.0 ** -digits for value in (difference, *gap)):
        digits += 1
    return (f"{name} against {first_name}: image AUROC {difference + 0.0:+.{digits}f} ({CONFIDENCE:.0%} interval "
            f"{_interval_text(gap, signed=True, digits=digits)}): {judged}.")


def compare_runs(runs: Sequence[Run], images: Sequence[str]) -> RunComparison:
    """Metrics table and overlaid ROC curves of ``runs`` on the test images named ``images``.

    Image AUROC (with its :data:`CONFIDENCE` interval, :func:`~vqi_core.metrics.auroc_interval`, and the paired
    bootstrap interval of its difference from the first run's, said in :attr:`RunComparison.verdicts`), best F1
    and each run's false alarms and escapes at its saved threshold are computed on ``images``; pixel AUROC, AUPRO
    and timings are each run's own (on the images it evaluated). Where ``images`` hold no defective or no good
    image, those are None, there is no ROC curve and :attr:`RunComparison.missing_label` says which label is missing.
    """
    roc = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="lightgrey", dash="dot"),
                               hoverinfo="skip", showlegend=False))
    frames = [run.scores.set_index("image").loc[list(images)] for run in runs]
    labels = label_values(frames[0])
    score_sets = [frame["score"].to_numpy(float) for frame in frames]
    both = bool((labels == 0).any() and (labels == 1).any())
    resampled = bootstrap_aurocs(labels, score_sets) if both else None
    reference = image_auroc(labels, score_sets[0]) if both else None
    rows, verdicts, curves = [], [], []
    for column, (run, scores) in enumerate(zip(runs, score_sets)):
        auroc = image_auroc(labels, scores) if both else None
        best_threshold, best_f1 = f1_optimal_threshold(labels, scores) if both else (None, None)
        interval, difference, difference_interval = None, None, "reference" if column == 0 else None
        if resampled is not None:
            fpr, tpr, _ = roc_curve(labels, scores)
            curves.append(f"{compared_name(run)}, AUROC {fraction(auroc, 3)}")
            roc.add_trace(go.Scatter(  # the AUROC of this curve: on ``images``, not the run's own
                x=fpr, y=tpr, mode="lines", line=dict(color=RUN_COLORS[column % len(RUN_COLORS)],
                                                      dash=RUN_DASHES[column % len(RUN_DASHES)],
                                                      width=RUN_LINE_WIDTHS[min(column, len(RUN_LINE_WIDTHS) - 1)]),
                name=f"{method_title(run.config.get('method'))} · "
                f"{backbone_title(run.config.get('params', {}).get('backbone'))} · AUROC {fraction(auroc, 3)} · "
                f"{run.id[:15]}"))
            bounds = auroc_interval(labels, scores, CONFIDENCE)
            assert bounds is not None  # both labels are present
            interval = _interval_text(bounds) + (" (perfect separation: too few images)" if auroc == 1.0
                                                 else " (below chance)" if interval_note(bounds, auroc) else "")
            if auroc is not None and reference is not None and column > 0:  # the first is the reference, said
                difference = _fraction(auroc - reference)  # beside it ("+0.000" read as a measured difference: review)
            if column > 0:
                gap = percentile_interval(resampled[:, column] - resampled[:, 0], CONFIDENCE)
                difference_interval = _interval_text(gap, signed=True)
                if difference is not None:
                    verdicts.append(difference_verdict(compared_name(run), compared_name(runs[0]), difference, gap))
        saved_threshold = run.saved_threshold  # one reading for these columns and the saved threshold's own
        saved = ThresholdEvaluator(labels, scores).evaluate(saved_threshold[0])
        rows.append({"run": run.id, **_run_setup(run),  # counts, not "3 of 14" texts: they sort as numbers
                     FALSE_ALARMS_SAVED: saved.fp if saved.fp + saved.tn else None,
                     ESCAPES_SAVED: saved.fn if saved.fn + saved.tp else None,
                     FALSE_ALARM_INTERVAL: rate_interval_text(saved.fp, saved.fp + saved.tn),
                     ESCAPE_INTERVAL: rate_interval_text(saved.fn, saved.fn + saved.tp),
                     "image AUROC": _fraction(auroc), AUROC_INTERVAL: interval, VERSUS_FIRST: difference,
                     VERSUS_FIRST_INTERVAL: difference_interval,
                     "F1 at best threshold": _fraction(best_f1), "best threshold": best_threshold,
                     **_run_figures(run, saved_threshold), "data": data_label(run.config)})
    roc.update_layout(title="Image ROC curves", margin=PLOT_MARGIN, height=420,
                      xaxis=dict(title="False-alarm rate (good parts rejected)", tickformat=".0%",
                                 range=[-0.02, 1.02]),  # to 100 %, as the Threshold page's (it stopped at 80 %)
                      yaxis=dict(title="Detection rate (defective parts caught)", tickformat=".0%",
                                 range=[-0.02, 1.02]),
                      legend=dict(orientation="h", y=-0.25))
    missing = None if both else "good" if (labels == 1).any() else "defective"
    alt = f"Image ROC curves of {len(curves)} runs on the {len(labels)} test images compared: {'; '.join(curves)}."
    return RunComparison(pd.DataFrame(rows, columns=COMPARE_COLUMNS), roc if both else None, missing,
                         tuple(verdicts), int((labels == 0).sum()), int((labels == 1).sum()), alt if both else "")


def dataset_folder_of(run: Run, shown: str) -> str | None:
    """The dataset folder to show for ``run`` when the folder ``shown`` does not hold the category folder it was
    trained on: the folder above that category folder where it lists it as a category, else the category folder
    itself; None where ``shown`` holds it, or the run's folder is not here (a link opened on another machine)."""
    dataset, category = run.config.get("dataset"), run.config.get("category")
    if not isinstance(dataset, str) or not isinstance(category, str):
        return None
    trained = Path(dataset)

    def holds(folder: Path | str) -> bool:
        try:
            return category_path(folder, category).resolve() == trained.resolve()
        except (DatasetError, OSError, ValueError):
            return False

    if holds(shown):
        return None
    return next((str(folder) for folder in (trained.parent, trained) if holds(folder)), None)
