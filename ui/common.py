"""What every page shares: folders, the current run, cached loading, notes and colours.

Everything here is glue between Streamlit and :mod:`vqi_core`; computations live in
:mod:`vqi_core.dashboard`. Cached values are keyed by the run folder's path, so a
page rerun never reloads a model or re-renders an overlay it already has.
"""

from __future__ import annotations

import hashlib
import html
import math
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Collection, Iterator, NoReturn, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from vqi_core import jobs, thresholds
from vqi_core.archive import export_problem
from vqi_core.dashboard import train_form
from vqi_core.dashboard.boxes import BoxData, boxes_mark, run_box_data, run_box_tally, saved_box_counts
from vqi_core.dashboard.overlays import grid_thumbnail, run_overlay, shrunk_to
from vqi_core.dashboard.run_tables import VERSUS_FIRST, RunComparison, compare_runs, run_notes, trained_at
from vqi_core.dashboard.style import DEFECT_CSS, DEFECT_TEXT_CSS, GOOD_CSS, GROUND_TRUTH_TEXT_CSS, css_color
from vqi_core.dashboard.threshold import PixelData, ThresholdData, prepare_threshold_data, run_pixel_data
from vqi_core.datasets import DatasetError, category_path, load_category
from vqi_core.images import MAX_IMAGE_BYTES, ImageReadError, is_sixteen_bit
from vqi_core.localisation import GROUND_TRUTH_COLOR
from vqi_core.methods import AnomalyModel, method_title
from vqi_core.metrics import LineCosts, ThresholdEvaluator, interval_text
from vqi_core.region import InspectionRegion
from vqi_core.runs import Run, RunError, RunStore, incomplete_run_files, label_values
from vqi_core.split_check import CUE_AUROC, CUE_P_VALUE
from vqi_core.system import home_expanded
from vqi_core.wording import counted, decimals_apart, exact_number, figure, fraction, headline

REPO_ROOT = Path(__file__).resolve().parents[1]
#: the browser tab's icon, shipped: a Material icon there is fetched from Google's font server, which a line PC
#: without internet cannot reach
APP_ICON = REPO_ROOT / "assets" / "icon.png"
RUNS_ENV, DATA_ENV = "VQI_RUNS_DIR", "VQI_DATA_ROOT"
PAGES = {"home": "ui/pages/home.py", "train": "ui/pages/train.py", "inspect": "ui/pages/inspect_images.py",
         "threshold": "ui/pages/threshold.py", "compare": "ui/pages/compare.py", "predict": "ui/pages/predict.py"}
#: a card's width (px) in the grids of Inspect and Predict: four side by side beside the sidebar in a 1400 px window,
#: two in an 800 px one; a fixed number of columns had squeezed each card's text to a few letters a line in a small
#: window ("Enl/arg/e": browser review of 2026-12-06)
CARD_WIDTH = 220
#: the width (px) of a card's image: the card less its padding
CARD_IMAGE_WIDTH = CARD_WIDTH - 32
#: the least width (px) of each half of a row two charts, or the Train form's two columns, share: side by side from
#: a 1280 px window with the sidebar open, one under the other in a smaller one (half of an 800 px window's page cut
#: the charts' titles off and wrapped the form's labels over three lines)
HALF_MIN_WIDTH = 400
#: the least widths (px) a :func:`stretching_row` gives each of its containers, each with the most it may take: a
#: card's (:data:`CARD_WIDTH`; at most half the row, so that a card wrapped onto a row of its own is not drawn twice
#: as large as the others: browser review), a half row's (:data:`HALF_MIN_WIDTH`; the whole row once stacked)
ROW_MIN_WIDTHS = {CARD_WIDTH: "calc(50% - 0.5rem)", HALF_MIN_WIDTH: "none"}
#: the style of every page: a keyboard's focus drawn plainly on links, radio buttons and the images' and charts'
#: toolbar buttons (Streamlit's and Plotly's), and such a toolbar shown while one of its buttons has it (Streamlit's
#: own light grey background was all but invisible, and a focused toolbar stayed hidden: accessibility and browser
#: reviews of 2026-12-06), the containers of a :func:`stretching_row` sharing its width where each gets its
#: least width, else each a row of its own, and the cards of :func:`wrapping_cards` in a grid of equal columns
#: at least :data:`CARD_WIDTH` wide that fills the row (cards of a fixed width left up to 215 px of a laptop's
#: page empty at the right: browser review), the images of a dialog (Inspect's large view) at most half the
#: window high, whole in a laptop's window with the controls above them (they had run 150 px past its foot), and
#: the page's content 40 px nearer the top, still clear of the 60 px header (Streamlit's 96 px left a laptop's
#: window, 657 px high, with the Threshold page's slider at its foot under a run's notes: review)
PAGE_STYLE = "<style>\n" + f"""[data-testid="stMainBlockContainer"] {{ padding-top: 3.5rem !important; }}
[role="dialog"] [data-testid="stImageContainer"] img {{ max-height: 45vh;
    object-fit: contain; }}
[class*="st-key-card_grid_"] {{ display: grid !important;
    grid-template-columns: repeat(auto-fill, minmax({CARD_WIDTH}px, 1fr)); }}
[class*="st-key-card_grid_"] > div {{ width: auto !important; min-width: 0 !important; }}
""" + """a:focus-visible, label:has(input[type="radio"]:focus-visible),
[data-testid="stBaseButton-elementToolbar"]:focus-visible, .modebar-btn:focus-visible {
    outline: 3px solid #0072B2 !important; outline-offset: 2px; }
[data-testid="stElementToolbar"]:has(:focus-visible), .modebar:has(:focus-visible) { opacity: 1 !important; }
""" + "".join(f'[class*="st-key-row_of_{width}_"] > div {{ flex: 1 1 {width}px !important; min-width: 0 !important; '
              f'max-width: {most} !important; }}\n' for width, most in ROW_MIN_WIDTHS.items()) + "</style>"
#: the charts' toolbars keep download, zoom, pan and reset: each button is a stop for the Tab key, and a keyboard
#: passed eight per chart on the way to "Save threshold" (accessibility review)
CHART_CONFIG = {"modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"],
                "displaylogo": False}
#: an image upload's size limit in MB, told to the browser so that it refuses a larger file before sending it
IMAGE_UPLOAD_MB = MAX_IMAGE_BYTES // 2**20
#: session-state keys shared between the sidebar and the pages
CURRENT_RUN, DATA_ROOT, CATEGORY = "current_run_id", "data_root", "category"
#: the page address's parameter that holds the current run (a reload or a link opens it: see app.py)
RUN_PARAMETER = "run"
#: the training job this session started: its run becomes the current run when it is done
STARTED_HERE = "train_started_here"


#: what markdown (and Streamlit's) could read inside a line: emphasis, code, links, LaTeX, colour directives
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]~$:])")
#: what makes a line a heading, list item or table row where it starts one (a number only with its . or ))
_BLOCK_STARTS = re.compile(r"(?m)^(\s*(?:\d+(?=[.)]))?)([.)#+\-=|])")


def as_text(text: object) -> str:
    """``text`` (a file name, anything from outside) to put into markdown that allows HTML: shown as written,
    never as HTML, emphasis, a link, a Streamlit colour directive, or, where it starts a line, a heading or a
    list item (a file named ``# 1.png`` or ``1. first.png``)."""
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(str(text), quote=False))
    return _BLOCK_STARTS.sub(r"\1\\\2", escaped)


def as_breakable_text(name: object) -> str:
    """A file name as :func:`as_text` shows it, with a line-break opportunity (``<wbr>``, not copied with the
    name) after each folder separator and underscore, and after a dot or hyphen that no digit follows and that is
    not the extension's dot (``0.75``, ``-12`` and ``.png`` stay whole): a card's narrow column had broken
    ``exp1_num_108719.jpg`` inside the number. A browser may still break after any hyphen itself."""
    return "<wbr>".join(as_text(part) for part in
                        re.split(r"(?<=[/\\_])(?=.)|(?<=[.-])(?=[^\d])(?=.*[/\\_.-])", str(name)))


def as_code(text: str) -> str:
    """``text`` as a markdown code span, shown as written (markdown and HTML are not interpreted there): the
    span is fenced by one backtick more than the longest run inside, and padded where CommonMark would
    otherwise read a backtick at an end as part of the fence or strip a space from each end."""
    text = str(text)
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " " and text.strip()) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def legend(runs: Sequence[Run], ground_truth: bool, box_level: float | None = None) -> str:
    """The overlay colours of these runs' images as HTML; the ground-truth outline only where they have masks;
    ``box_level``: the one the boxes shown were drawn at, where it is not the runs' saved one."""
    mark = boxes_mark(runs, box_level)
    parts = [f"<span style='color:{GOOD_CSS}'>■ good</span>",  # each mark in its drawing colour, words darker
             f"<span style='color:{DEFECT_CSS}'>■</span> <span style='color:{DEFECT_TEXT_CSS}'>defective / boxes "
             f"({mark}, whatever the threshold)</span>"]
    if ground_truth:
        parts.append(f"<span style='color:{css_color(GROUND_TRUTH_COLOR)}'>■</span> "
                     f"<span style='color:{GROUND_TRUTH_TEXT_CSS}'>ground-truth outline</span>")
    return " · ".join(parts)


#: what a table shows for a figure that does not exist (pixel metrics without masks, rates without a class)
NO_VALUE = "n/a"  # as the metrics above the tables, the CLI and the HTML report
_NO_MASKS = f"{NO_VALUE} where the run's dataset has no ground-truth masks."
#: a number in a table with every digit it needs and no more, as Python prints it (Streamlit's "plain" format showed
#: a threshold of 500 as 499.99999999999994: its rounding to 20 decimals is done in floating point; browser review)
EVERY_DIGIT = "%.17g"
#: what a run's timings are (numbers review: two runs of one setting, one trained while the machine was busy, read
#: 67.9 and 7.4 ms/image side by side, as if one were ten times slower)
TIMED_ONCE = ("Timed once, as the run was trained: other work on the machine then slows it, so compare runs' "
              "timings only where they were trained on the same machine under the same load (`python -m "
              "vqi_core.bench` repeats its timings).")
SCORING_TIMED = ("Scoring per test image (resizing, features, the method's comparison with the good images, map) "
                 "with the images already read from disk: reading the files and writing overlays, as `predict` does, "
                 "take more.")
#: how the run tables (Home, Train, Compare) show their columns
RUN_TABLE_COLUMNS = {
    "run": st.column_config.TextColumn(  # kept in view while the figures scroll by (browser review)
        pinned=True, help="The run's id: its folder's name in the runs folder."),
    "description": st.column_config.TextColumn(
        help="What the run is for and what was decided about it, as written on the Home page (or with `runs "
             "--describe`)."),
    "settings": st.column_config.TextColumn(
        help="Parameters and seed that differ from the method's defaults (the backbone has its own column)."),
    # AUROCs and AUPRO with three decimals, as on every page (1.0000 here, 1.000 in the chips: browser review)
    "image AUROC": st.column_config.NumberColumn(format="%.3f", help="On the run's evaluated test images."),
    "pixel AUROC": st.column_config.NumberColumn(format="%.3f", help=_NO_MASKS),
    "AUPRO": st.column_config.NumberColumn(
        format="%.3f", help=f"Area under the per-region overlap curve up to 30 % false-positive pixels. {_NO_MASKS}"),
    "fit s": st.column_config.NumberColumn(format="%.1f", help=f"Seconds to fit (fine-tuning included). {TIMED_ONCE}"),
    "ms/image": st.column_config.NumberColumn(format="%.1f", help=f"{SCORING_TIMED} {TIMED_ONCE}"),
    "saved threshold": st.column_config.NumberColumn(
        format=EVERY_DIGIT, help="The operating threshold saved with the run (an image scoring at or above it "
                                 "is rejected as defective), every digit shown."),
    "threshold from": st.column_config.TextColumn(
        help="Where the saved threshold came from (a preset, typed in, the one the run was trained with) and, for "
             "the one it was trained with, that nobody has chosen it yet: runs compared at thresholds chosen by "
             "different rules are not compared alike."),
    "box level": st.column_config.NumberColumn(
        format=EVERY_DIGIT, help="The normalised map level the run's boxes are drawn above (1, the highest level "
                                 "any held-out good image reached, unless another was saved on the Threshold page)."),
    "seen defects": st.column_config.CheckboxColumn(
        help="Whether the method learnt from labelled defective images (the CAM classifier): its figures are then "
             "measured on the test images it did not train on, and are not those of a method that learnt what good "
             "looks like from good images alone."),
    "test set check": st.column_config.TextColumn(
        help="What the run's test-set check found: test images that copy training or other test images, good "
             "test images that look like training images far more often than defective ones (other photos of "
             f"the same parts), and whole-image statistics that alone tell good from defective (AUROC ≥ "
             f"{CUE_AUROC}, where chance alone would do so at most {CUE_P_VALUE:.0%} of the time; with fewer test "
             f"images, said to be too few to tell); \"none\" if none of these; what could not be checked where it "
             f"could not (\"look-alikes cannot tell\" where nearly every test image looks like a training image)."),
    "created": st.column_config.TextColumn(
        help="When the run was trained: the local time of the machine that trained it, with its offset from UTC."),
    "data": st.column_config.TextColumn(
        help="The start of the SHA-256 over every training, test and mask file the run used (the run folder's "
             "data_manifest.csv lists them): runs with the same value learnt from and were tested on the same "
             "bytes."),
}
#: errors caused by the input or by files changing on disk: shown as a message, never as a traceback
USER_ERRORS = (RunError, DatasetError, ImageReadError, OSError)


def show_run_error(key: str, run: Run) -> None:
    """Show, once, the error a widget callback kept under ``key`` as (run id, message), where it is ``run``'s; an
    error of another run (deleted meanwhile, or another one chosen) is dropped, not shown under this one."""
    failed_run, message = st.session_state.pop(key, (None, ""))
    if failed_run == run.id:
        st.error(message, icon=":material/error:")


#: the table columns of figures from 0 to 1 (and AUROC differences, signed) shown with three decimals, or more where
#: one would read 0 or 1, by their format
FRACTION_COLUMNS = {"image AUROC": "%.{}f", "pixel AUROC": "%.{}f", "AUPRO": "%.{}f", "F1 at best threshold": "%.{}f",
                    VERSUS_FIRST: "%+.{}f"}


def apart_from_one(table: pd.DataFrame, column_config: dict[str, Any]) -> dict[str, Any]:
    """``column_config`` with the decimals of each of :data:`FRACTION_COLUMNS` in ``table`` that keep its values
    from reading 0 or 1 where they are not (:func:`~vqi_core.wording.decimals_apart`): an image AUROC of 0.9996
    read 1.000 beside a perfect run's (numbers review); every value of a column with the same decimals."""
    adapted = dict(column_config)
    for column, template in FRACTION_COLUMNS.items():
        if column in table.columns:
            config: dict[str, Any] = dict(adapted.get(column) or st.column_config.NumberColumn())
            digits = decimals_apart(pd.to_numeric(table[column], errors="coerce").dropna().tolist())
            adapted[column] = {**config, "type_config": {**config.get("type_config", {}), "type": "number",
                                                         "format": template.format(digits)}}
    return adapted


def by_type_table(by_type: pd.DataFrame, column_config: dict[str, Any]) -> None:
    """The by-defect-type table (:func:`vqi_core.dashboard.threshold.defect_type_frame`): detection rates as percentages
    with one decimal, as the rates shown beside it, and AUROCs with three decimals on every page (the Predict
    page's check showed 1 where the Threshold page showed 1.000: browser review), or more (:func:`apart_from_one`)."""
    st.dataframe(by_type.assign(**{"detection rate": by_type["detection rate"] * 100}), hide_index=True,
                 column_config=apart_from_one(by_type, {
                     "detection rate": st.column_config.NumberColumn(format="%.1f%%"), **column_config}),
                 placeholder=NO_VALUE)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a user error raised inside the block as ``st.error`` (pages and fragment reruns alike)."""
    try:
        yield
    except USER_ERRORS as exc:
        st.error(as_text(exc), icon=":material/error:")


def runs_dir() -> Path:
    """Folder of saved runs: ``$VQI_RUNS_DIR`` or ``runs/`` in the repository."""
    return Path(os.environ.get(RUNS_ENV) or REPO_ROOT / "runs")


def default_data_root() -> str:
    """Dataset folder shown first: ``$VQI_DATA_ROOT`` or the bundled demo data."""
    return os.environ.get(DATA_ENV) or str(REPO_ROOT / "assets" / "demo")


def store() -> RunStore:
    """The run store of :func:`runs_dir`."""
    return RunStore(runs_dir())


def saved_runs() -> tuple[list[Run], str | None]:
    """The saved runs, newest first, and why the runs folder cannot be read (then no runs: the sidebar says
    why, and a page says only that none can be listed, see :data:`RUNS_UNLISTED`)."""
    try:
        return store().list(), None
    except RunError as exc:  # it says which folder and why
        return [], str(exc)[:1].upper() + str(exc)[1:]
    except OSError as exc:
        return [], f"The runs folder {runs_dir()} cannot be read: {exc}"


def incomplete_runs_note() -> str | None:
    """What the sidebar says of the folders in the runs folder that hold part of a run but not a complete one
    (a run whose ``metrics.json`` was removed, or an interrupted copy): they are not listed, and had vanished from
    the sidebar without a word while ``runs`` named them (robustness review); None where there are none."""
    try:
        folders = store().incomplete_folders()
    except OSError:  # the listing's own error says why the folder cannot be read
        return None
    if not folders:
        return None
    named = "; ".join(f"{as_code(folder.name)} ({incomplete_run_files(folder)})" for folder in folders[:3])
    more = f"; and {len(folders) - 3} more" if len(folders) > 3 else ""
    one = len(folders) == 1
    return (f"{counted(len(folders), 'folder')} in {as_code(str(runs_dir()))} {'holds' if one else 'hold'} part of a "
            f"run, not a complete one, so {'it is' if one else 'they are'} not listed: {named}{more}. Remove "
            f"{'it' if one else 'them'} by hand if {'it' if one else 'they'} should go.")


#: what a page says where the runs folder cannot be read (the sidebar's error says why)
RUNS_UNLISTED = "No saved run can be listed: the runs folder cannot be read (the sidebar says why)."


def stop_with_error(message: str) -> NoReturn:
    """Show ``message`` as an error and end this page's run."""
    st.error(message, icon=":material/error:")
    st.stop()


def require_run() -> Run:
    """The current run; otherwise explain what to do (or why it is gone) and stop the page."""
    run_id = st.session_state.get(CURRENT_RUN)
    if not run_id:
        st.info("No run is selected. Train one on the Train page, or pick a saved run in the sidebar.",
                icon=":material/info:")
        st.page_link(PAGES["train"], label="Go to Train", icon=":material/model_training:")
        st.stop()
    try:
        run = store().get(run_id)
    except RunError as exc:  # its folder is gone (or no longer a run): nothing the Train page could delete
        stop_with_error(f"The current run cannot be opened: {as_text(exc)}. Choose another run in the sidebar.")
    try:
        run.check()
        return run
    except RunError as exc:
        stop_with_error(f"The current run cannot be opened: {as_text(exc)}. Choose another run in the sidebar (or "
                        f"delete this one on the Train page).")


def set_current_run(run_id: str | None) -> None:
    """Make ``run_id`` the current run (use in widget callbacks). A training job this session started that has
    ended meanwhile no longer takes its place (see :func:`adopt_finished_training`): this choice came after it."""
    st.session_state[CURRENT_RUN] = run_id
    job = jobs.get_job(st.session_state.get(STARTED_HERE))
    if job is None or not job.status().running:
        st.session_state.pop(STARTED_HERE, None)


def training_started_here() -> jobs.TrainingJob | None:
    """The training job this session started, while it runs (None otherwise)."""
    job = jobs.get_job(st.session_state.get(STARTED_HERE))
    return job if job is not None and job.status().running else None


def adopt_finished_training() -> None:
    """The run of the training job this session started becomes the current run once, when the job is done, on
    whichever page is open then (not when the Train page is opened again, over a run chosen since); a toast
    says so (or that the training failed), as the page open may be showing the run it replaces."""
    job = jobs.get_job(st.session_state.get(STARTED_HERE))
    if job is None:
        st.session_state.pop(STARTED_HERE, None)
        return
    status = job.status()
    if status.running:
        return
    del st.session_state[STARTED_HERE]
    if status.state == jobs.DONE and status.run_id:
        replaced = st.session_state.get(CURRENT_RUN)
        st.session_state[CURRENT_RUN] = status.run_id
        st.toast(f"Training finished: run {as_code(status.run_id)} is now the current run."
                 + replaced_run_sentence(replaced, status.run_id), icon=":material/done:", duration="long")
    elif status.state == jobs.FAILED:
        st.toast("Training failed: the Train page says why.", icon=":material/error:", duration="long")


def replaced_run_sentence(run_id: str | None, new_run_id: str) -> str:
    """What the toast of a finished training adds when the run it replaces as the current run has a threshold
    someone chose (the new run's is not chosen yet): where that run is (a new run silently took the place of a
    tuned one: browser review), short enough for a toast to show whole (with both runs' ids it was cut); empty
    otherwise."""
    if run_id is None or run_id == new_run_id:
        return ""
    try:
        run = Run(runs_dir() / run_id)
        if run.problem() is not None:
            return ""
        threshold, saved = run.saved_threshold  # whether anyone chose it, and which it is: one reading
        if thresholds.set_at_training(saved):
            return ""
    except (RunError, OSError):
        return ""
    return (f" The run that was current ({method_title(run.config.get('method'))} · {trained_at(run.id)}), whose "
            f"threshold {exact_number(threshold)} was chosen, is still in the sidebar.")


NOTE_DETAILS = "Details: what this means and what to do"


def note_banner(note: str, holders: str = "") -> None:
    """A run's note as a warning (after ``holders``, the runs it is of): a long one as its headline, the whole
    note in an expander under it (a look-alike note of 129 words filled a narrow screen on every page: browser
    review). Read from the run's files: shown as written, never as markdown."""
    short = headline(note)
    st.warning(f"{holders}{as_text(note if short is None else short)}", icon=":material/warning:")
    if short is not None:
        with st.expander(NOTE_DETAILS):
            st.markdown(as_text(note))


def show_run_notes(run: Run, shown_above: Collection[str] = ()) -> None:
    """Prominent notes about the run: the CAM classifier has seen labelled defects, test images copy others (read
    from the run's files: shown as written, never as markdown); a note in ``shown_above`` (the same words on the
    same page) is referred to, not repeated."""
    notes = run_notes(run)
    for note in notes:
        if note not in shown_above:
            note_banner(note)
    if repeated := sum(note in shown_above for note in notes):
        st.caption(f"{'The warning' if repeated == 1 else 'The warnings'} of the test-set check above "
                   f"{'holds' if repeated == 1 else 'hold'} for this run too.")


def explored_key(run: Run) -> str:
    """Session-state key of the threshold being explored for ``run`` on the Threshold page."""
    return f"explored_threshold:{run.id}"


def working_threshold(run: Run) -> tuple[float, str]:
    """The threshold chosen on the Threshold page and not saved, else the run's saved one, with its source (as
    markdown: a saved source, from the run's files, is escaped)."""
    threshold, saved = run.saved_threshold
    explored = st.session_state.get(explored_key(run))  # (value, source), set when the user chooses one
    if explored is not None and explored[0] != threshold:
        return float(explored[0]), "explored on the Threshold page, not saved"
    return threshold, f"saved: {as_text(thresholds.saved_source(saved))}"


def metric_row() -> Any:
    """A row for metrics, each as wide as it needs, that wraps where the window is narrow (five columns of an 800 px
    window's page cut labels to "Not sco…": browser review of 2026-12-06)."""
    return st.container(horizontal=True, wrap=True, gap="medium")


def headline_metrics(metrics: dict[str, Any]) -> None:
    """Image AUROC, pixel AUROC, AUPRO, fit time and ms/image as a row of metrics, and the image AUROC's interval
    under it in view (an "Image AUROC 1.000" from a test set too small to show misses had said so
    only in its help: QE review)."""
    row = metric_row()
    interval = metrics.get("image_auroc_interval")
    said = interval_text(interval, 3, " on the test images", auroc=metrics.get("image_auroc")) if interval else ""
    spread = f" ({said})" if said else ""
    row.metric("Image AUROC", fraction(metrics.get("image_auroc"), 3), width="content",
               help=f"1.0 = every defective image scores above every good one{spread}.")
    row.metric("Pixel AUROC", fraction(metrics.get("pixel_auroc"), 3), width="content",
               help="n/a without ground-truth masks")
    row.metric("AUPRO", fraction(metrics.get("aupro"), 3), width="content",
               help="per-region overlap up to 30 % false-positive pixels; n/a without masks")
    row.metric("Fit time (s)", f"{metrics.get('fit_seconds', 0):.1f}", width="content",
               help=f"Fine-tuning included. {TIMED_ONCE}")
    row.metric("Inference (ms/image)", figure(metrics.get("ms_per_image"), 1), width="content",
               help=f"{SCORING_TIMED} {TIMED_ONCE} n/a without test images.")
    if said:
        st.caption(f"Image AUROC {said}.")


# ---------------------------------------------------------------------- cached loading
@st.cache_data(ttl=30, show_spinner=False)
def dataset_summary(root: str, category: str | None) -> dict[str, Any]:
    """Image counts of a category (``test_masked``: defective test images with a usable mask), and whether its
    training images are 16-bit files (read from the first one's header); raises ``DatasetError`` for a missing
    folder or wrong layout."""
    found = load_category(category_path(root, category))
    return {"path": str(found.root), **found.image_counts, "defect_types": found.defect_types,
            "has_masks": found.has_masks, "skipped": found.skipped,
            "sixteen_bit": bool(found.train) and is_sixteen_bit(found.train[0].path)}


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def region_preview(root: str, category: str | None, region_digest: str,
                   _region: InspectionRegion, bit_depth: int = 16) -> tuple[np.ndarray, str | None]:
    """:func:`vqi_core.dashboard.train_form.region_preview`, once per region (by its digest) and category, not at every
    rerun of the Train page (it reads every training image's header)."""
    return train_form.region_preview(root, category, _region, bit_depth=bit_depth)


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def run_model(run_path: str) -> AnomalyModel:
    """The fitted model of a run (one copy per run folder)."""
    return Run(Path(run_path)).load_model()


@st.cache_data(max_entries=32, show_spinner=False)
def test_frame(run_path: str) -> pd.DataFrame:
    """The run's evaluated test images: image, path, label, defect_type, mask_path, score."""
    return Run(Path(run_path)).scores


@st.cache_data(max_entries=16, show_spinner="Comparing the runs…")
def comparison(run_paths: tuple[str, ...], images: tuple[str, ...], saved: tuple[tuple[float, float], ...]
               ) -> RunComparison:
    """:func:`vqi_core.dashboard.run_tables.compare_runs` of saved runs, computed once per choice of runs and
    their ``saved`` thresholds and box levels (only a key of the cache: a threshold saved since is in the table at
    once)."""
    return compare_runs([Run(Path(path)) for path in run_paths], list(images))


@st.cache_data(max_entries=32, show_spinner=False)
def normalization(run_path: str) -> dict[str, float]:
    """The run's map normalisation statistics."""
    return Run(Path(run_path)).normalization


def warn_if_set_at_training(run: Run, value: float, saved: dict[str, Any]) -> None:
    """Where the run's saved threshold ``value`` (with its ``threshold.json`` entry ``saved``) is the one it was
    trained with and nobody has chosen, a warning with what it does on the run's test set and where to choose one
    (Predict judges new parts at it, and the Train page shows a run just trained with it: browser reviews)."""
    if thresholds.set_at_training(saved):
        st.warning(thresholds.set_at_training_note(str(saved.get("source", "unknown")),
                                                   evaluator(str(run.path)).evaluate(value), "on the Threshold page"),
                   icon=":material/warning:")


@st.cache_resource(max_entries=8, show_spinner=False)
def evaluator(run_path: str) -> ThresholdEvaluator:
    """Operating points of the run's test set at any threshold."""
    frame = test_frame(run_path)
    return ThresholdEvaluator(label_values(frame), frame["score"].to_numpy(float))


@st.cache_data(max_entries=32, show_spinner=False)
def held_out_presets(run_path: str, max_false_alarm_rate: float,
                     costs: tuple[float, float, float] | None) -> tuple[pd.DataFrame, int]:
    """:func:`vqi_core.thresholds.held_out_presets` of the run's test set (``costs``: false alarm, escape,
    defect rate), computed once per setting."""
    frame = test_frame(run_path)
    return thresholds.held_out_presets(label_values(frame), frame["score"].to_numpy(float), max_false_alarm_rate,
                                      LineCosts(*costs) if costs else None)


@st.cache_data(max_entries=16, show_spinner=False)
def threshold_data(run_path: str, saved_threshold: float) -> ThresholdData:
    """ROC, histograms, slider axis and per-type scores of the run's test set (the axis includes the saved
    threshold where it lies within reach of the scores, see :func:`~vqi_core.thresholds.slider_include`)."""
    frame = test_frame(run_path)
    scores = frame["score"].to_numpy(float)
    return prepare_threshold_data(label_values(frame), scores,
                                  include=thresholds.slider_include(scores, saved_threshold),
                                  defect_types=frame["defect_type"].tolist())


@st.cache_resource(max_entries=4, show_spinner="Collecting pixel statistics…")
def pixel_data(run_path: str, dataset: str | None = None) -> PixelData:
    """Every pixel of the run's test images with known masks counted at each pixel-slider threshold; ``dataset``:
    their category folder when it is not where the run found them (see :func:`images_folder`)."""
    return run_pixel_data(Run(Path(run_path), Path(dataset) if dataset else None), normalization(run_path))


#: large views (768 px, about 1.8 MB each) kept at once: each opacity of the large view is one, so a cache as
#: large as the thumbnails' could grow to a gigabyte
LARGE_VIEWS_KEPT = 32


def image_stamp(run_path: str, index: int, dataset: str | None) -> tuple[int, int] | None:
    """Test image ``index``'s file's modification time and size (None where it cannot be read), part of the cache
    keys of what is drawn from it: a file replaced since is read again, and found changed, instead of its earlier
    picture being shown (browser review: Inspect's card showed the earlier file's heatmap until a restart)."""
    path = Run(Path(run_path), Path(dataset) if dataset else None).data_path(test_frame(run_path)["path"].iloc[index])
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return status.st_mtime_ns, status.st_size


def overlay(run_path: str, index: int, box_level: float, alpha: float = 0.5, heatmap: bool = True,
            boxes: bool = True, ground_truth: bool = True, max_side: int | None = 768,
            dataset: str | None = None, shown_side: int | None = None, own_range: bool = False) -> np.ndarray:
    """Test image ``index`` with heatmap, boxes above ``box_level`` (the run's) and ground-truth outline (RGB
    uint8, longer side <= max_side; lines that look 2 px wide at about ``shown_side`` px on screen); ``dataset``:
    read from this category folder instead of the run's (see :class:`~vqi_core.runs.Run`); ``own_range``: the
    heatmap coloured over the image's own range. For large views; grids use :func:`thumbnail`."""
    return _kept_overlay(run_path, index, box_level, alpha, heatmap, boxes, ground_truth, max_side, dataset,
                         shown_side, own_range, image_stamp(run_path, index, dataset))


@st.cache_data(max_entries=LARGE_VIEWS_KEPT, show_spinner=False)
def _kept_overlay(run_path: str, index: int, box_level: float, alpha: float, heatmap: bool, boxes: bool,
                  ground_truth: bool, max_side: int | None, dataset: str | None, shown_side: int | None,
                  own_range: bool, stamp: tuple[int, int] | None) -> np.ndarray:
    """:func:`overlay`, cached while the image file stays as it is (``stamp``)."""
    return _overlay(run_path, index, box_level, alpha=alpha, heatmap=heatmap, boxes=boxes, ground_truth=ground_truth,
                    max_side=max_side, dataset=dataset, shown_side=shown_side, own_range=own_range)


def _overlay(run_path: str, index: int, box_level: float, *, alpha: float = 0.5, heatmap: bool = True,
             boxes: bool = True, ground_truth: bool = True, max_side: int | None, dataset: str | None,
             shown_side: int | None, own_range: bool = False) -> np.ndarray:
    """:func:`overlay`, uncached."""
    run = Run(Path(run_path), Path(dataset) if dataset else None)
    return run_overlay(run, index, normalization(run_path), box_level, alpha=alpha, heatmap=heatmap,
                       boxes=boxes, ground_truth=ground_truth, max_side=max_side, shown_side=shown_side,
                       own_range=own_range)


@st.cache_data(max_entries=2000, show_spinner=False)
def box_tally(run_path: str, index: int, box_level: float) -> tuple[int, int]:
    """How many boxes the overlay of test image ``index`` shows, and how many of them are broad (see
    :func:`vqi_core.dashboard.boxes.run_box_tally`)."""
    return run_box_tally(Run(Path(run_path)), index, normalization(run_path), box_level)


@st.cache_resource(max_entries=2, show_spinner="Reading the maps and masks…")
def box_data(run_path: str, dataset: str | None = None) -> BoxData:
    """What counting the run's boxes at any level takes (see :class:`vqi_core.dashboard.boxes.BoxData`)."""
    return run_box_data(Run(Path(run_path), Path(dataset) if dataset else None), normalization(run_path))


@st.cache_data(max_entries=64, show_spinner=False)
def box_hits(run_path: str, level: float, dataset: str | None = None) -> tuple[dict, dict]:
    """The run's box counts at ``level``, overall and per defect type (see
    :meth:`vqi_core.dashboard.boxes.BoxData.hits`)."""
    return box_data(run_path, dataset).hits(level)


def box_counts(run: Run) -> dict:
    """The run's box counts at its box level: from its ``metrics.json`` where they are at that level, else
    counted."""
    return saved_box_counts(run) or box_hits(str(run.path), run.box_level, images_folder(run))[0]


def thumbnail(run_path: str, index: int, box_level: float, side: int = 320, dataset: str | None = None) -> np.ndarray:
    """Test image ``index`` with heatmap, boxes above ``box_level`` and ground-truth outline, for grids
    (:func:`~vqi_core.dashboard.overlays.grid_thumbnail`)."""
    return _kept_thumbnail(run_path, index, box_level, side, dataset, image_stamp(run_path, index, dataset))


@st.cache_data(max_entries=600, show_spinner=False)
def _kept_thumbnail(run_path: str, index: int, box_level: float, side: int, dataset: str | None,
                    stamp: tuple[int, int] | None) -> np.ndarray:
    """:func:`thumbnail`, cached while the image file stays as it is (``stamp``)."""
    return grid_thumbnail(_overlay(run_path, index, box_level, max_side=side, dataset=dataset,
                                   shown_side=CARD_IMAGE_WIDTH), side)  # as wide as a card shows it


def original(run_path: str, index: int, max_side: int | None = 768, dataset: str | None = None) -> np.ndarray:
    """Test image ``index`` as stored on disk (RGB uint8, longer side <= max_side)."""
    return _kept_original(run_path, index, max_side, dataset, image_stamp(run_path, index, dataset))


@st.cache_data(max_entries=64, show_spinner=False)
def _kept_original(run_path: str, index: int, max_side: int | None, dataset: str | None,
                   stamp: tuple[int, int] | None) -> np.ndarray:
    """:func:`original`, cached while the image file stays as it is (``stamp``)."""
    return shrunk_to(Run(Path(run_path), Path(dataset) if dataset else None).image(index), max_side)


def problem_read_in_full(run: Run, export: bool = False) -> str | None:
    """Why the run's validation report (``export``: its archive) cannot be written, found by reading every file
    in full (:meth:`Run.problem`, :func:`~vqi_core.archive.export_problem`); said instead of offering a download
    that would fail with nothing but "Failed to generate file for download". For a run that passed the cheap
    check (its JSON files are read there, not remembered here). A pass is not read again while the run's files
    stay as they are; a problem is, at the next rerun (it may have been the machine's, such as too many open
    files, and not the run's)."""
    signature = run.files_signature()
    try:
        if signature is None:
            _read_in_full(str(run.path), export)
        else:
            _remembered_read_in_full(str(run.path), export, signature)
    except RunError as exc:
        return str(exc)
    return None


def _read_in_full(run_path: str, export: bool) -> None:
    """``RunError`` saying why the run's report (``export``: archive) cannot be written."""
    run = Run(Path(run_path))
    if (problem := export_problem(run) if export else run.problem(data=True)) is not None:
        raise RunError(problem)


@st.cache_data(max_entries=64, show_spinner="Checking the run's files…")
def _remembered_read_in_full(run_path: str, export: bool, signature: tuple) -> None:
    """:func:`_read_in_full`, once per state of the run's files: Streamlit keeps no exception, so only a pass."""
    _read_in_full(run_path, export)


def clear_run_caches() -> None:
    """Forget every cached model and array, and every ``st.cache_data`` entry of every session (after a run was
    deleted or replaced: any cached figure may be of it)."""
    run_model.clear()
    evaluator.clear()
    pixel_data.clear()
    box_data.clear()
    st.cache_data.clear()


def page_count(items: int, per_page: int) -> int:
    """How many pages ``items`` take, ``per_page`` to a page (one for none)."""
    return max(1, math.ceil(items / per_page))


def page_number(items: int, per_page: int, key: str, showing: Any = None) -> int:
    """The page (from 1) of ``items`` to show, chosen with an ``st.pagination`` when there is more than one.

    The page outlives a visit to another page (``persist_state``); it falls back to the first when the list
    changes (``showing``: what the list is of, e.g. its run, filters and order; the first results are never
    passed over unseen) or its number of pages does. The widget's key, kept under ``key``, is then a new one, so
    the browser shows page 1 as well: a value deleted from the session resets the server's page alone, and the
    browser kept highlighting the earlier page, cut to the new count (a value set to 1 instead would be a value
    set beside the widget's default)."""
    pages = page_count(items, per_page)
    widget_key = f"{key}:{hashlib.sha256(repr((showing, pages)).encode()).hexdigest()[:16]}"
    earlier = st.session_state.get(key)
    if isinstance(earlier, str) and earlier != widget_key and earlier in st.session_state:
        del st.session_state[earlier]  # another list: its page is not remembered
    st.session_state[key] = widget_key
    return st.pagination(pages, key=widget_key, persist_state="session") if pages > 1 else 1


def pager_below(items: int, per_page: int, key: str) -> None:
    """A second pager under a list of ``items``, in step with the one :func:`page_number` drew above it (the same
    ``per_page`` and ``key``): a click on either shows that page, with both pagers on it. The pager was above the
    cards alone, and the last card of a page was several screens below it (browser review)."""
    pages = page_count(items, per_page)
    above = st.session_state.get(key)
    if pages == 1 or not isinstance(above, str) or above not in st.session_state:  # one page: no pager above either
        return
    page = st.session_state[above]  # a pager of its own for each page shown, starting at it (a value set beside
    below = f"{above}:below:{page}"  # the widget's default is refused)
    st.pagination(pages, default=page, key=below,
                  on_change=lambda: st.session_state.update({above: st.session_state[below]}))


def wrapping_cards(items: Sequence[Any], key: str) -> Iterator[tuple[Any, Any]]:
    """(card, item) for each of ``items``, in order: bordered containers at least :data:`CARD_WIDTH` px wide in a
    grid keyed ``key`` (unique on its page) of as many equal columns as the window has room for, filling its width
    (:data:`PAGE_STYLE`); read across, they keep the order, and a taller card never pushes the next row out of
    line."""
    grid = st.container(horizontal=True, wrap=True, key=f"card_grid_{key}")
    for item in items:
        yield grid.container(border=True, width=CARD_WIDTH), item


def stretching_row(count: int, min_width: int, key: str, border: bool = False) -> list[Any]:
    """``count`` containers in one row keyed ``key`` (unique on its page): side by side, sharing the page's width,
    where each gets at least ``min_width`` px (a key of :data:`ROW_MIN_WIDTHS`), else wrapped onto the next row, each
    as wide as its value there allows (:data:`PAGE_STYLE` sets it: Streamlit's own containers either keep a fixed
    width, leaving a wide window half empty, or shrink to any width); ``border``: each in a frame."""
    if min_width not in ROW_MIN_WIDTHS:
        raise ValueError(f"a stretching row's least width is one of {tuple(ROW_MIN_WIDTHS)}, not {min_width}")
    row = st.container(horizontal=True, wrap=True, key=f"row_of_{min_width}_{key}")
    return [row.container(border=border) for _ in range(count)]


def typed_path(text: str) -> str:
    """A folder or file path as typed or pasted into a field: without the spaces around it and one pair of quotes
    around it, as a file manager's "Copy as path" gives it (browser review: it was said not to exist)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def data_choice() -> tuple[str, str | None]:
    """Dataset root chosen in the sidebar (``~`` expanded, made absolute so runs record absolute paths) and category."""
    typed = typed_path(st.session_state.get(DATA_ROOT) or "") or default_data_root()
    try:
        return str(home_expanded(typed).resolve()), st.session_state.get(CATEGORY)
    except (OSError, ValueError):  # a name the system refuses: the folder checks then say what is wrong
        return typed, st.session_state.get(CATEGORY)


def chosen_category_folder() -> str | None:
    """The category folder chosen in the sidebar, resolved as runs record it (None when there is none)."""
    root, category = data_choice()
    try:
        return str(category_path(root, category).resolve()) if category else None
    except (DatasetError, OSError, ValueError):
        return None


def images_folder(run: Run) -> str | None:
    """The category folder to read the run's test images from when the one it found them in is not here: the
    folder chosen in the sidebar, where it holds them (:meth:`~vqi_core.runs.Run.images_moved_to`)."""
    return run.images_moved_to(chosen_category_folder())


def run_with_images(run: Run) -> Run:
    """``run``, reading its test images from the sidebar's category folder when its own is not here (as Inspect
    does; see :func:`images_folder`)."""
    moved_to = images_folder(run)
    return Run(run.path, Path(moved_to)) if moved_to is not None else run


def dataset_or_error(root: str, category: str | None) -> dict[str, Any] | None:
    """The chosen category's summary, or None with an error message (never a traceback)."""
    try:
        return dataset_summary(root, category)
    except DatasetError as exc:
        st.error(f"Dataset problem: {as_text(exc)}", icon=":material/error:")
    except (OSError, ValueError) as exc:  # e.g. no permission, a name too long, a NUL character
        st.error(f"Dataset problem: the folder cannot be read: {as_text(exc)}", icon=":material/error:")
    return None
