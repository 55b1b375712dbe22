"""A run's validation report: one self-contained HTML file for a quality record or an audit.

It documents what the run learnt from, how it was tested (and what the
test-set check found), how well it ranks parts, where its threshold is and
what that threshold does: confusion matrix, rates with their exact 95 %
intervals, each defect type, each preset on images it was not chosen on, and
the false alarms and escapes themselves as overlay thumbnails, then a blank
sign-off block. Everything is inside the file (images as base64 JPEG, the ROC curve as SVG): it
opens offline and can be archived as it is.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Callable, Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from . import __version__
from .backbones import backbone_title
from .dashboard.boxes import box_level_history, run_box_counts
from .dashboard.image_lists import without_copies_sentence
from .dashboard.overlays import grid_thumbnail, inspected_text, jpeg_bytes, map_range, pixel_scope, run_overlay
from .dashboard.run_tables import run_notes
from .dashboard.style import DEFECT_CSS, DEFECT_TEXT_CSS, GOOD_CSS
from .dashboard.threshold import confusion_frame, defect_type_frame, prepare_threshold_data, threshold_history_frame
from .images import ImageReadError
from .localisation import BOX_LEVEL, HEATMAP_TOP, OVERLAY_FLOOR, boxes_sentence, box_level_warning
from .metrics import CONFIDENCE, LineCosts, ThresholdEvaluator, interval_text
from .pipeline import source_revision
from .methods import method_title
from .runs import MANIFEST_FILE, Run, RunError, changed_settings, local_time, recorded_costs, saved_costs_entered, \
    saved_costs_typed
from .split_check import findings_line
from .thresholds import chosen_on_the_test_set, cost_sentence, costlier_than_unchecked, costs_assumed, \
    held_out_presets, line_cost_sentence, outcomes, preset_rules, rate_numbers, saved_false_alarm_rate, \
    set_at_training, set_at_training_note
from .wording import counted, decimals_apart, exact_number, figure, fraction, percent, saved_time, score_beside

#: a table of at most this many rows is printed on one page (the six rates had been split over two: report review)
SHORT_TABLE_ROWS = 12
#: where the report sends a reader whose run's threshold nobody has chosen
CHOOSE_ONE = "on the dashboard's Threshold page or with `python -m vqi_core threshold` (see its --help)"

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0; } td, th { border: 1px solid #ddd; padding: 0.25rem 0.6rem; }
th { background: #f5f5f5; text-align: left; } td { white-space: pre-wrap; } .note { background: #fff6e0; padding: 0.5rem 0.8rem; }
.examples { display: flex; flex-wrap: wrap; gap: 0.8rem; } figure { margin: 0; font-size: 0.8rem; }
.examples figure { width: 11rem; } figure.roc { width: 20rem; }
figcaption { overflow-wrap: break-word; }
td, th, li, p { overflow-wrap: anywhere; }
figure img { width: 11rem; height: auto; } .muted { color: #777; font-size: 0.85rem; }
.sign-off td { min-width: 8rem; height: 3.2rem; } .sign-off td:last-child { min-width: 16rem; }
.print-only { display: none; }
@media print {
  body { max-width: none; margin: 0; }
  h1, h2, h2 + p { break-after: avoid; } figure, tr, .note, svg, .sign-off, table.short { break-inside: avoid; }
  details { display: none; } .print-only { display: block; } .print-only > p { break-after: avoid; }
}
"""


#: what the examples' magenta outlines are (one drawn as a rectangle read as a box the model drew: audit review)
OUTLINES_SAID = "; magenta outlines are the annotated defects (the ground-truth masks), not what the model found"

#: how an auditor recomputes the report's digests from the run's files (report review: the data digest is not the
#: manifest file's own, so `sha256sum` could not confirm it)
DIGESTS_SAID = ("How the digests are made: data, the SHA-256 of the UTF-8 lines \"<role>\\t<file>\\t<sha256>\\n\" of "
                f"{MANIFEST_FILE}'s rows, sorted by code point (as LC_ALL=C sort does); model, the SHA-256 of the file "
                "model/model.json; test scores, the SHA-256 of the UTF-8 lines \"<image>\\t<label>\\t<score>\\n\" of "
                "scores.csv in its order, each score as Python's repr() of the number.")

#: the blank sign-off block at the end of a report (found by an audit review: a quality record needs one)
SIGN_OFF_TABLE = ("<table class=\"sign-off\"><tr><th></th><th>name</th><th>role</th><th>date</th><th>signature</th>"
                  "</tr>" + "".join(f"<tr><th>{step}</th><td></td><td></td><td></td><td></td></tr>"
                                    for step in ("prepared by", "reviewed by", "approved by")) + "</table>")


def _table(frame: pd.DataFrame, index: bool = False) -> str:
    if index:  # the index as a first column, its name as that column's header (no extra header row)
        frame = frame.reset_index()
    frame = frame.copy()
    for name in frame.columns[(frame.dtypes == object).to_numpy()]:  # None there is missing too, not "None"
        frame[name] = frame[name].where(frame[name].notna(), "n/a")
    # the tables' fractional figures are AUROCs: four decimals, as the command line prints them (1.0000, not 1), or
    # the more that keep one below 1 from reading 1 (a type's 0.99996 read 1.0000: code review), a column alike
    formatters = {name: _decimals_of(decimals_apart(frame[name].tolist(), 4))
                  for name in frame.columns if pd.api.types.is_float_dtype(frame[name])}
    return frame.to_html(index=False, escape=True, border=0, na_rep="n/a", formatters=formatters,
                         classes="short" if len(frame) <= SHORT_TABLE_ROWS else None)


def held_out_said(threshold: float, source: str, presets: Mapping[str, float]) -> str:
    """Which held-out row, if any, tells what the threshold in effect (``threshold``, from ``source``) will do on
    new parts: the row of a preset that gives this very threshold on the test images (``presets``: each row's
    preset and the threshold it gives), not one named alike at other costs or another rate (report reviews: the
    table did not say; a typed threshold had no held-out figure without a word)."""
    same = [name for name, value in presets.items() if value == threshold]
    if len(same) == 1:
        return (f"The threshold in effect is the one the {same[0]} preset gives on these test images: its held-out "
                f"row is what to expect of it on new parts.")
    if same:
        return (f"The threshold in effect is the one the {', '.join(same[:-1])} and {same[-1]} presets give on these "
                f"test images: their held-out rows are what to expect of it on new parts.")
    chosen = chosen_on_the_test_set(source)
    if chosen is False:
        return "The threshold in effect was set from the good training images, not chosen on these test images."
    how = (f"was chosen on these test images ({source}) with other settings than the rows above" if chosen else
           f"({source}) is not the one any of these presets gives")
    return (f"The threshold in effect {how}, so no held-out figure can be given for it: chosen by looking at these "
            f"test images, it may fare worse on new parts than the rates above, as the presets do.")


def _test_images_learnt_from(run: Run) -> list[str]:
    """The test images a supervised method (the CAM classifier) was trained on, as its data manifest lists them
    (the report had said only how many: report review); none for the other methods, or where no manifest can be
    read (said elsewhere in the report)."""
    try:
        manifest = run.data_manifest
    except RunError:
        return []
    if manifest is None:
        return []
    return sorted(name for role, name in zip(manifest["role"], manifest["file"])
                  if role == "train" and str(name).startswith("test/"))


def _decimals_of(digits: int) -> Callable[[float], str]:
    """A table cell's text of a float with ``digits`` decimals ("n/a" where it is missing)."""
    return lambda value: "n/a" if pd.isna(value) else f"{value:.{digits}f}"


def _names_list(title: str, names: Sequence[str]) -> str:
    """``names`` in a collapsed list under ``title`` ("" when there are none); printed, the list is open (a closed
    one printed without its names: audit review)."""
    if not names:
        return ""
    heading = f"{html.escape(title)} ({len(names):,})"
    items = "".join(f"<li>{html.escape(name)}</li>" for name in names)
    return (f"<details><summary>{heading}</summary><ul>{items}</ul></details>"
            f'<div class="print-only"><p>{heading}:</p><ul>{items}</ul></div>')


def _share_of(counts: dict[str, int] | None) -> str | None:
    """A defect type's annotated regions with a box, as "share (boxed of regions)"; None without regions."""
    if not counts or not counts["defect_regions"]:
        return None
    boxed, regions = counts["defect_regions_boxed"], counts["defect_regions"]
    return f"{percent(boxed / regions)} ({boxed:,} of {regions:,})"


def _named_with_scores(run: Run, indices: Sequence[int], threshold: float) -> list[str]:
    """The test images ``indices`` of ``run`` as "<defect type>/<file> (score ...)", in that order."""
    return [f"{run.scores['image'].iloc[index]} (score {score_beside(run.scores['score'].iloc[index], threshold)})"
            for index in indices]


def missing_dataset_note(run: Run) -> str | None:
    """A note when the run's dataset folder is no longer where it was trained (the report shows the example
    images from there); None when it is."""
    dataset = run.config.get("dataset")
    if not dataset or Path(str(dataset)).is_dir() or (run.dataset is not None and run.dataset.is_dir()):
        return None  # where it was, or found elsewhere (a page's run whose category was chosen where it is now)
    return (f"The run's dataset folder {dataset} is no longer there (moved or deleted?): the example images of "
            f"false alarms and escapes cannot be shown in the report.")


def training_images_line(metrics: dict) -> str:
    """How many training images a run had, good and labelled defective, and how many of the good ones were held
    out of the fit to normalise its maps (runs trained before 2026-12-04 recorded only the total)."""
    total = metrics.get("train_images")
    if total is None or metrics.get("normalisation_images") is None:
        return figure(total, 0)
    defective = metrics.get("train_defective_images", 0)
    held = metrics["normalisation_images"]
    line = f"{total - defective:,} good" + (f" and {defective:,} labelled defective" if defective else "")
    if held:
        return f"{line}; {held:,} of the good ones held out of the fit to normalise the heatmaps (listed below)"
    return f"{line}; none held out, the heatmaps are normalised with the good training images themselves"


def _pairs(rows: Sequence[tuple[str, object]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>"
                    for key, value in rows)
    short = ' class="short"' if len(rows) <= SHORT_TABLE_ROWS else ""
    return f"<table{short}>{cells}</table>"


def roc_svg(fpr: np.ndarray, tpr: np.ndarray, point: tuple[float, float] | None, size: int = 320,
            auroc: float | None = None) -> str:
    """The ROC curve as an inline SVG (false-alarm rate across, detection rate up), with the operating point, a
    title with the ``auroc`` and a key under it (the chart had no title, no AUROC and no key, and was named only
    "ROC curve" to a screen reader: command review)."""
    pad = 40
    span = size - 2 * pad

    def xy(x: float, y: float) -> str:
        return f"{pad + x * span:.1f},{pad + (1 - y) * span:.1f}"

    curve = " ".join(xy(x, y) for x, y in zip(fpr, tpr))
    title = f"Image ROC curve, AUROC {fraction(auroc, 4)}" if auroc is not None else "Image ROC curve"
    at = (f": at the threshold, {percent(point[1])} of defective parts caught and {percent(point[0])} of good parts "
          f"rejected" if point is not None else "")
    parts = [f'<figure class="roc"><svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
             f'aria-label="{html.escape(title + at)}">',
             f'<text x="{size / 2}" y="{pad - 14}" text-anchor="middle" font-size="13" font-weight="bold">'
             f'{html.escape(title)}</text>',
             f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" stroke="#bbb"/>',
             f'<polyline points="{xy(0, 0)} {xy(1, 1)}" fill="none" stroke="#ccc" stroke-dasharray="4 4"/>',
             f'<polyline points="{curve}" fill="none" stroke="{DEFECT_CSS}" stroke-width="2"/>']
    if point is not None:
        cx, cy = (float(v) for v in xy(*point).split(","))
        parts.append(f'<path d="M{cx - 6},{cy - 6} L{cx + 6},{cy + 6} M{cx - 6},{cy + 6} L{cx + 6},{cy - 6}" '
                     f'stroke="black" stroke-width="2.5"/>')
    parts += [f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle" font-size="11">false-alarm rate '
              f'(good parts rejected)</text>',
              f'<text x="12" y="{size / 2}" text-anchor="middle" font-size="11" '
              f'transform="rotate(-90 12 {size / 2})">detection rate (defective parts caught)</text>',
              f'<text x="{pad}" y="{size - pad + 14}" font-size="10">0%</text>',
              f'<text x="{size - pad}" y="{size - pad + 14}" font-size="10" text-anchor="end">100%</text>',
              f'<text x="{pad - 4}" y="{pad + 4}" font-size="10" text-anchor="end">100%</text>', "</svg>",
              '<figcaption class="note">× the threshold below; dashed: chance (a model that tells nothing)'
              '</figcaption></figure>']
    return "".join(parts)


def _left_out_table(skipped: Sequence[dict], dataset: str | None) -> pd.DataFrame:
    """The files a run left out, named in its category folder ``dataset`` as the report names every other file
    (they had been named in full: report review), with why."""
    def named(file: str) -> str:  # the file left out itself, not a link's target (code review)
        return Path(file).relative_to(dataset).as_posix() if dataset and Path(file).is_relative_to(dataset) else file

    return pd.DataFrame([{"file": named(str(entry.get("file"))), "reason": entry.get("reason")} for entry in skipped],
                        columns=["file", "reason"])


def _examples(run: Run, indices: Sequence[int], normalization: dict[str, float], threshold: float) -> str:
    figures = []
    for index in indices:
        row = run.scores.iloc[index]
        caption = f"{html.escape(str(row['image']))}<br>score {score_beside(row['score'], threshold)}"
        try:
            thumbnail = grid_thumbnail(run_overlay(run, index, normalization, run.box_level, max_side=256,
                                                   shown_side=176), 256)  # shown 11rem wide
        except (ImageReadError, OSError) as exc:  # the test image moved or changed; a damaged run raises RunError
            figures.append(f"<figure><figcaption>{caption}<br>(image not shown: {html.escape(str(exc))})"
                           f"</figcaption></figure>")  # not "not readable": a changed file reads (report review)
            continue
        low, high = map_range(run, index, normalization)  # a map the scale hides, said (command review: six escapes
        if high <= OVERLAY_FLOOR:  # showed no heatmap at all, without a word)
            caption += f"<br>no heatmap: its whole map lies at or below {OVERLAY_FLOOR:g} (highest {high:.3g})"
        elif low >= HEATMAP_TOP:
            caption += f"<br>one flat colour: its whole map lies above {HEATMAP_TOP:g} (lowest {low:.3g})"
        data = base64.b64encode(jpeg_bytes(thumbnail, quality=85)).decode("ascii")
        figures.append(f'<figure><img alt="{html.escape(str(row["image"]))}" src="data:image/jpeg;base64,{data}">'
                       f"<figcaption>{caption}</figcaption></figure>")
    return f'<div class="examples">{"".join(figures)}</div>' if figures else "<p>None.</p>"


def region_line(config: dict) -> str:
    """What part of each image a run inspects, as the pages say it (:func:`~vqi_core.dashboard.overlays.
    inspected_text`: a crop of 0.8 had been reported as "the whole image": browser review), and where its inspection
    region (``config.json``'s ``region``) came from."""
    region = config.get("region")
    source = (f"; the region from {region['source']} ({region['width']}x{region['height']} px mask whose shape and "
              f"pixels have the SHA-256 {region['sha256']}, whatever file held it; the run keeps it as "
              f"model/region.png)") if region else ""
    return (inspected_text(config) or "the whole image") + source


def run_report_html(run: Run, threshold: float | None = None, costs: LineCosts | None = None,
                    max_false_alarm_rate: float | None = None, examples: int = 6, source: str | None = None,
                    costs_entered: Collection[str] | None = None) -> str:
    """The validation report of ``run`` at ``threshold`` (default: its saved one) as one HTML document.

    ``costs_entered``: which of ``costs`` were entered for this report (:data:`~vqi_core.runs.COST_FIELDS`),
    where known, so that each cost's origin is said (one typed had called all three "as entered": report review).
    ``source`` says where a given threshold comes from (e.g. a preset's name; the saved threshold, given or not, is
    said as saved, with its own source); ``costs`` adds the
    expected cost per 1,000 parts on the line (or more, see :func:`~vqi_core.thresholds.line_cost_sentence`);
    ``max_false_alarm_rate`` is the "at most X % false alarms" preset's rate (None: the one it starts at for the
    run, :func:`~vqi_core.thresholds.saved_false_alarm_rate`); ``examples``: how many false alarms
    and escapes are shown (the ones farthest on the wrong side of the threshold). ``RunError`` naming the file
    when one of the run's files is missing or damaged (every file read in full, see
    :meth:`~vqi_core.runs.Run.check`): a report is never written from half a run.
    """
    run.check(data=True)
    config, metrics, scores = run.config, run.metrics, run.scores
    saved_threshold, info = run.saved_threshold  # with its source, costs and whether anyone chose it: one reading
    saved = threshold is None or float(threshold) == saved_threshold  # the saved one given again (the Threshold
    threshold = saved_threshold if threshold is None else float(threshold)  # page's download, `--threshold`) had
    # lost "Nobody has chosen this threshold yet" (report review)
    not_chosen = False  # the saved threshold, where nobody has chosen it
    if saved:
        source, not_chosen = info.get("source", "saved"), set_at_training(info)
    source = source or "chosen for this report"
    saved_costs = recorded_costs(info)  # what the saved threshold was saved at, and which of them were typed in
    entered = costs_entered if costs_entered is not None else saved_costs_typed(info, costs) if costs else None
    if max_false_alarm_rate is None:
        max_false_alarm_rate = saved_false_alarm_rate(info)
    labels, values = run.labels, run.score_values
    data = prepare_threshold_data(labels, values, include=(threshold,), defect_types=scores["defect_type"].tolist())
    point = ThresholdEvaluator(labels, values).evaluate(threshold)
    category, method = config.get("category", "?"), method_title(config.get("method", "?"))
    versions = config.get("versions", {})
    check = run.report.get("split_check")
    skipped = run.report.get("skipped", [])

    counts = scores.groupby("defect_type", sort=True).size()
    masked = scores["mask_path"].map(lambda path: isinstance(path, str) and path != "")
    test_set = pd.DataFrame({"images": counts,
                             "with a mask": scores.assign(masked=masked).groupby("defect_type")["masked"].sum()})
    test_set.index.name = "test folder"

    auroc = fraction(data.auroc)
    if data.auroc_interval is not None:
        auroc += f" ({interval_text(data.auroc_interval, 4, confidence=CONFIDENCE, auroc=data.auroc)})"
    mix = percent((labels == 1).mean(), 0) if len(labels) else "n/a"
    rate_names = {"Recall": "Detection rate (recall)",  # as the report calls it elsewhere (report review)
                  "Precision": f"Precision (at this test set's mix, {mix} defective, not the line's)",
                  "F1": f"F1 (at this test set's mix, {mix} defective, not the line's)",
                  "Accuracy": f"Accuracy (at this test set's mix, {mix} defective, not the line's)"}
    rates = "".join(f"<tr><th>{rate_names.get(name, name)}</th><td>{percent(value)}</td></tr>"
                    for name, value in rate_numbers(point).items())
    by_type = defect_type_frame(data, threshold, metrics.get("per_defect_type"))
    if "detection rate" in by_type:
        by_type["detection rate"] = by_type["detection rate"].map(percent)
    presets, folds = held_out_presets(labels, values, max_false_alarm_rate, costs)
    preset_thresholds = {name: rule(labels, values) for name, rule
                         in preset_rules(labels, max_false_alarm_rate, costs).items() if name in set(presets["preset"])}
    outcome = outcomes(labels, values, threshold)
    false_alarms = [int(i) for i in np.argsort(-values, kind="stable") if outcome[i] == "FP"]
    escapes = [int(i) for i in np.argsort(values, kind="stable") if outcome[i] == "FN"]
    normalization = run.normalization
    box_counts, boxed_by_type = run_box_counts(run, normalization)
    if boxed_by_type and not by_type.empty:  # per type, as the Threshold page's Boxes tab (report review)
        by_type["regions boxed"] = by_type["defect type"].map(lambda name: _share_of(boxed_by_type.get(name)))

    notes = "".join(f'<p class="note">{html.escape(note)}</p>' for note in run_notes(run))
    missing = missing_dataset_note(run)  # the examples' images are read from there
    sections = [
        f"<h1>VQI validation report: {html.escape(str(category))} · {html.escape(str(method))}</h1>",
        f'<p class="muted">Generated {saved_time(local_time())} by VQI {__version__} '
        f"({html.escape(source_revision())}) from run "
        f"<code>{html.escape(run.id)}</code>.</p>",
        f"<p><strong>{html.escape(missing)}</strong></p>" if missing else "",
        notes,
        "<h2>What the model learnt from</h2>",
        _pairs([("run", run.id), ("description", run.description or "none written"),
                ("created", saved_time(config.get("created", "?"))), ("method", method),
                ("backbone", backbone_title(config.get("params", {}).get("backbone"))),
                ("settings changed from the defaults", changed_settings(config)),
                ("every setting as the run used it", ", ".join(  # the defaults may change from one VQI to the next
                    f"{name}={json.dumps(value, sort_keys=True)}" for name, value in config.get("params", {}).items())),
                ("inspected", region_line(config)),
                ("seed", config.get("seed")), ("dataset", config.get("dataset")), ("category", category),
                ("data (SHA-256 of every file used)", f"{config['data_sha256']} over {config['data_files']} files "
                 f"(listed in {MANIFEST_FILE})" if config.get("data_sha256") else "not recorded"),
                ("model (SHA-256 of model/model.json, which records its other files' own)",  # which model is
                 config.get("model_sha256") or "not recorded (a run trained before 2026-12-06)"),  # signed off
                ("test scores (SHA-256 of scores.csv's images, labels and scores)",  # (audit review)
                 config.get("scores_sha256") or "not recorded (a run trained before 2026-12-06)"),
                ("training images", training_images_line(metrics)),
                ("fit time (s; timed once, as the run was trained)", figure(metrics.get("fit_seconds"), 1)),
                ("scoring (ms per image, its file already read; timed once, as the run was trained)",
                 figure(metrics.get("ms_per_image"), 1)),
                ("versions", ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))]),
        f'<p class="muted">{html.escape(DIGESTS_SAID)}</p>',
        _names_list("The good training images held out to normalise the heatmaps",
                    run.report.get("normalisation_images", [])),
        _names_list("The labelled test images it learnt from (not evaluated)", _test_images_learnt_from(run)),
        "<h2>How it was tested</h2>",
        _table(test_set, index=True),
        _pairs([("test-set check", "nothing found: no copied test image, no sign that good test images are other "
                                   "photos of training parts, no whole-image statistic that alone tells good from "
                                   "defective" if (found := findings_line(check)) == "none" else found),
                ("files left out", f"{counted(len(skipped), 'file')}, listed below: "
                                   f"{'it was' if len(skipped) == 1 else 'they were'} not evaluated" if skipped
                 else "none")]),
        _table(_left_out_table(skipped, config.get("dataset"))) if skipped else "",
        _names_list("Test images that copy another image, left out of the figures without copies", [  # each one
            f"{entry['test']} is {entry['copy']}" for entry in  # named (one example had been all: audit review)
            [*(check or {}).get("copies_of_train", []), *(check or {}).get("repeats_in_test", [])]]),
        "<h2>How well it ranks parts</h2>",
        _pairs([("image AUROC", auroc), ("pixel AUROC", fraction(metrics.get("pixel_auroc"))),
                ("AUPRO (to 30 % false-positive pixels)", fraction(metrics.get("aupro")))]),
        f"<p>The pixel AUROC and the AUPRO count the pixels{html.escape(scope)}.</p>"
        if (scope := pixel_scope(config, metrics)) and metrics.get("pixel_auroc") is not None else "",
        roc_svg(data.fpr, data.tpr, (point.false_alarm_rate, point.recall), auroc=data.auroc)
        if data.auroc is not None else "",
        f"<p>{html.escape(boxes)}</p>" if (boxes := boxes_sentence(box_counts, run.box_level)) is not None else "",
        f'<p class="note">{html.escape(low_level)}</p>' if (low_level := box_level_warning(
            box_counts, run.box_level, metrics.get("normalisation_images"))) else "",
        f"<h2>At the threshold {exact_number(threshold)} ({html.escape(source)})</h2>",
        "<p>Images scoring at or above the threshold are rejected as defective.</p>",
        f'<p class="note">This is not the run\'s saved threshold: Predict and scores.csv judge parts at '
        f"{exact_number(saved_threshold)} ({html.escape(str(info.get('source', 'saved')))}).</p>"
        if threshold != saved_threshold else "",  # said in words, not left to the history table (audit review)
        f'<p class="note">{html.escape(set_at_training_note(source, point, CHOOSE_ONE))}</p>'
        if not_chosen else "",  # a report to sign off on an unchosen one (review)
        _table(confusion_frame(point), index=True),
        f"<p>{html.escape(cost_sentence(point))}</p>",
        f'<p class="note">{html.escape(copies)}</p>' if (copies := without_copies_sentence(run, threshold)) else "",
        f"<p>{html.escape(line_cost_sentence(point, costs))} "
        f"{html.escape(costs_assumed(costs, saved_costs, entered, saved_costs_entered(info)))}</p>" if costs else "",
        f'<p class="note">{html.escape(costlier)}</p>'
        if costs and (costlier := costlier_than_unchecked(point, costs, source)) else "",
        f"<table class=\"short\">{rates}</table>",
        _table(by_type) if not by_type.empty else "",
        f'<p class="muted">Regions boxed: the annotated defect regions of each type with a box drawn above box level '
        f"{exact_number(run.box_level)}, whatever the threshold; a box over more than half of its image counts as "
        f"finding none.</p>" if "regions boxed" in by_type else "",  # the column said (code review)
        "<h2>Threshold history</h2>",
        "<p>Every threshold saved in the run, newest first; the first row is in effect.</p>",
        _table(threshold_history_frame(run)),
    ]
    box_levels = box_level_history(run.box_level_info)
    if not box_levels.empty:  # the level every overlay below is drawn at, with why (found by an audit review)
        sections += [
            "<h2>Box level history</h2>",
            "<p>The normalised map level the run's boxes are drawn above (1, the highest level any held-out good "
            "image reached, unless another was saved), newest first; the first row is in effect.</p>",
            _table(box_levels)]
    if folds:
        sections += [
            "<h2>The presets on images they were not chosen on</h2>",
            f"<p>A threshold chosen on the test images and measured on them looks better than it will on new "
            f"parts. Held out: each class split into {folds} seeded parts, each part decided by the preset chosen "
            f"on the other {folds - 1}, errors summed.</p>",
            _table(presets),
            f"<p>{html.escape(held_out_said(threshold, source, preset_thresholds))}</p>"]
    held_out = metrics.get("normalisation_images")
    normalised_with = ("the good training images themselves (none was held out)" if held_out == 0 else
                       "held-out good training images")
    sections += [
        f'<h2>False alarms at this threshold: {len(false_alarms)} <span style="color:{GOOD_CSS}">good</span> '
        f"{'part' if len(false_alarms) == 1 else 'parts'} rejected</h2>",
        _examples(run, false_alarms[:examples], normalization, threshold),
        _names_list("Every false alarm, with its score", _named_with_scores(run, false_alarms, threshold))
        if len(false_alarms) > examples else "",  # each one named, as `evaluate` names them (report review)
        f'<h2>Escapes at this threshold: {len(escapes)} <span style="color:{DEFECT_TEXT_CSS}">defective</span> '
        f"{'part' if len(escapes) == 1 else 'parts'} passed</h2>",
        _examples(run, escapes[:examples], normalization, threshold),
        _names_list("Every escape, with its score", _named_with_scores(run, escapes, threshold))
        if len(escapes) > examples else "",
        f'<p class="muted">Shown: at most {examples} of each, farthest on the wrong side of the threshold first. '
        f"Heatmaps are normalised with {normalised_with}; boxes mark what lies above "
        f"{'every one of them' if run.box_level == BOX_LEVEL else f'box level {exact_number(run.box_level)}'}"
        f"{'' if run.box_level == BOX_LEVEL else ' (level 1 is the highest any of them reached)'}"
        f"{OUTLINES_SAID if config.get('has_masks') else ''}.</p>",
        "<h2>Sign-off</h2>",
        "<p>To be completed by hand on the printed or archived report: VQI does not record who trained, reviewed or "
        "approved a run.</p>",
        SIGN_OFF_TABLE,
    ]
    title = html.escape(f"VQI report {run.id}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(sections)}</body></html>")
