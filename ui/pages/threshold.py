"""Threshold: choose the operating point with the cost of false alarms and escapes in view, and save it."""

from __future__ import annotations

import functools
import shlex

import numpy as np
import streamlit as st

from ui import common
from vqi_core.dashboard.boxes import BOX_SLIDER_STEP, box_figures, box_level_history, box_slider, regions_boxed_frame
from vqi_core.dashboard.image_lists import decisions_csv, without_copies_sentence
from vqi_core.dashboard.overlays import pixel_scope
from vqi_core.dashboard.run_tables import run_name
from vqi_core.dashboard.threshold import DETECTION_INTERVAL, pixel_slider_start, pixel_view, threshold_history_frame, \
    threshold_view
from vqi_core.metrics import MAX_DEFECT_RATE, MIN_DEFECT_RATE, LineCosts
from vqi_core.report import run_report_html
from vqi_core.localisation import boxes_sentence, box_level_warning
from vqi_core.runs import MAX_BOX_LEVEL, MAX_NAME_CHARS, MAX_REASON_CHARS, MIN_BOX_LEVEL, Run, RunError, \
    costs_changed, costs_typed_in, label_values, recorded_costs
from vqi_core.thresholds import ScoreAxis, costlier_than_unchecked, off_slider_sentence, other_saved_costs, \
    false_alarm_preset_name, preset_source, saved_false_alarm_rate, saved_source, threshold_presets
from vqi_core.wording import are, by_whom, counted, exact_number, fraction, percent, saved_time

SLIDER, NUMBER, SOURCE, OWNER = "threshold_slider", "threshold_number", "threshold_source", "threshold_run"
PIXEL_THRESHOLD = "pixel_threshold"
#: the run on whose Threshold page the costs were last typed
COSTS_TYPED_FOR = "threshold_costs_typed_for"
#: what the entry's callback has to say of a typed value beyond the test scores, shown by the fragment's next draw
BEYOND_SCORES = "threshold_beyond_scores"
#: the allowed share of false alarms (%) of the preset that keeps to it
MAX_FALSE_ALARMS = "threshold_max_false_alarms"
#: the run whose saved share the allowed-false-alarms field was last set to, and that share (while the field keeps
#: it, another run's opening sets the field to that run's)
MAX_FALSE_ALARMS_SET_FOR = "threshold_max_false_alarms_set_for"
REASON, SAVE_ERROR, SAVED_BY = "threshold_reason", "threshold_save_error", "threshold_saved_by"
#: the saved threshold the page showed when the reason was last typed (:func:`saved_seen`)
REASON_SEEN = "threshold_reason_seen"
#: the saved threshold this session saved last, and a note of one saved elsewhere that the page follows
SAVED_HERE, FOLLOWED = "threshold_saved_here", "threshold_followed"
BOX_SLIDER, BOX_REASON, BOX_SAVED_BY = "box_level", "box_level_reason", "box_level_saved_by"
#: the tabs' widget key, and the tab last opened, which the page opens again after another page was open
TAB, TAB_OPENED = "threshold_tab", "threshold_tab_opened"
NO_PIXEL_TAB = (":material/info: No Pixel level tab: this run's test images have no ground-truth masks, so how well "
                "the heatmaps outline defects (pixel AUROC, AUPRO) cannot be measured.")
BOX_SAVE_ERROR, BOX_TOAST = "box_level_error", "box_level_toast"
#: what the save callback has to say, toasted by the fragment's next draw (Streamlit does not support a
#: callback of a fragment's widget drawing elements itself)
SAVE_TOAST = "threshold_save_toast"
#: the run and its saved threshold (value, when saved) as this page last showed them
SAVED_SEEN = "threshold_saved_seen"
#: the save that was asked to be pressed again, a threshold that costs more than not inspecting (run, value, costs,
#: and the draw that asked: only the very next press confirms it), and how often the image-level panel was drawn
SAVE_CONFIRM, DRAWS = "threshold_save_confirm", "threshold_draws"
#: the cost fields' keys (the defect rate in percent)
FALSE_ALARM, ESCAPE, DEFECT_RATE = "cost_false_alarm", "cost_escape", "line_defect_rate"
UNDEFINED_RATE_HELP = "Undefined here: no image rejected, or no defective or no good image to count it on."


def show_threshold(value: float, source: str) -> None:
    """Move slider and number entry to ``value`` and say where it comes from."""
    st.session_state[SLIDER] = st.session_state[NUMBER] = value
    st.session_state[SOURCE] = source


def choose_threshold(run: Run, value: float, source: str) -> None:
    """The user chose ``value`` (slider, entry or preset; already snapped to the axis): shown, and kept as the
    threshold being explored for this run, with its source, which Inspect uses and this page returns to (widget
    callback)."""
    show_threshold(value, source)
    st.session_state[common.explored_key(run)] = (value, source)


def type_threshold(run: Run, axis: ScoreAxis) -> None:
    """The user typed a threshold (widget callback): taken on the slider's grid; one beyond the slider's range is
    moved to its nearer end, which judges the test images alike, and said (found by a browser review: a value out
    of range was refused with a red field that kept it while a preset or a save moved the threshold elsewhere)."""
    typed = float(st.session_state[NUMBER])
    taken = axis.snap(typed)
    choose_threshold(run, taken, "manual")
    if axis.low <= typed <= axis.high and taken != typed:  # said, not done silently (QE review: 27.07222 became 27.08)
        st.session_state[BEYOND_SCORES] = (
            f"{exact_number(typed)} is taken as {axis.text(taken)}, on the slider's steps: it passes and rejects the "
            f"same test images. `python -m vqi_core threshold --run {shlex.quote(str(run.path))} --value "
            f"{exact_number(typed)} --save` saves it as typed.")  # a command that runs as shown (browser review)
    if not axis.low <= typed <= axis.high:
        st.session_state[BEYOND_SCORES] = (
            f"{exact_number(typed)} lies {'above' if typed > axis.high else 'below'} every test score: the slider's "
            f"{'top' if typed > axis.high else 'bottom'} end, {axis.text(axis.clamp(typed))}, judges every test image "
            f"the same and is used here. `python -m vqi_core threshold --run {shlex.quote(str(run.path))} --value "
            f"{exact_number(typed)} --save` saves it.")


def init_threshold(run: Run, axis: ScoreAxis, saved_threshold: tuple[float, dict]) -> None:
    """Start at the threshold being explored for this run (with the source it was chosen by), else at its
    saved one: once per run and saved threshold (saved here, in another tab or from the command line: the page
    follows it unless another value is being explored), and again whenever Streamlit has dropped the slider
    (another page was open, or the slider's range changed with the saved threshold). A reason typed for another
    run is cleared: it belongs to one change of one run.

    The saved threshold is taken exactly, not snapped to the axis: opening the page must change nothing (saving
    without moving the slider keeps the very value; new parts scoring between it and a value on the slider's
    grid are judged as before). A threshold saved far beyond the scores, which the slider does not reach (see
    :func:`~vqi_core.thresholds.slider_include`), starts the slider at its nearer end, said above it.
    ``saved_threshold``: the run's (:attr:`~vqi_core.runs.Run.saved_threshold`), read once for the whole draw.
    """
    threshold, saved = saved_threshold
    owner = (run.id, threshold, saved.get("saved_at"), axis.low, axis.high)
    previous = st.session_state.get(OWNER)
    if previous == owner and SLIDER in st.session_state:
        return
    if previous is not None and previous[0] == run.id and previous[1:3] != owner[1:3] and st.session_state.get(
            SAVED_HERE) != saved_seen(run.id, saved):  # saved elsewhere while the page was open: said, not only
        st.session_state[FOLLOWED] = run.id, (  # followed (browser review: it changed without a word)
            f"The saved threshold was changed in another tab or from the command line: it is {exact_number(threshold)} "
            f"now ({changed_by(saved)}).")
    if (previous or (None,))[0] != run.id:
        st.session_state.pop(REASON_SEEN, None)
        st.session_state[REASON] = ""
    explored = st.session_state.get(common.explored_key(run))
    if explored is not None and explored[0] != threshold:
        show_threshold(axis.clamp(explored[0]), explored[1])
    elif not axis.reaches(threshold):  # saved far beyond the scores: the slider starts at its nearer end
        show_threshold(axis.clamp(threshold), "manual")
    else:
        show_threshold(threshold, saved.get("source", "saved"))
    st.session_state[OWNER] = owner


def save(run: Run, axis: ScoreAxis) -> None:
    """Save the threshold shown, with the reason entered, into the run (button callback); the outcome shows on the
    next draw. The threshold is read now, not when the button was drawn: an exact value typed in and the click
    that leaves its field reach the server together, and the entry's own callback may not have run yet."""
    if st.session_state.get(NUMBER) != st.session_state.get(SLIDER):
        choose_threshold(run, axis.snap(st.session_state[NUMBER]), "manual")
    value, source = float(st.session_state[SLIDER]), st.session_state.get(SOURCE, "manual")
    try:
        costs: LineCosts | None = entered_costs()
    except ValueError:  # said beside the fields: the threshold is saved without costs
        costs = None
    try:
        saved = run.threshold_info
        typed_at = st.session_state.get(REASON_SEEN)
        if (st.session_state.get(REASON, "").strip() and typed_at is not None and typed_at[0] == run.id
                and typed_at != saved_seen(run.id, saved)):  # the page followed a save from elsewhere meanwhile
            st.session_state[REASON_SEEN] = saved_seen(run.id, saved)  # said once: the next press saves
            st.session_state[SAVE_ERROR] = run.id, (
                f"Not saved: the reason was typed while the saved threshold was {exact_number(typed_at[1])}; it has "
                f"changed since, to {exact_number(saved['threshold'])} ({changed_by(saved)}), in another tab or from "
                f"the command line. Check that the reason still holds, then save again.")  # (browser review: saved
            return  # with the threshold saved elsewhere, without a word)
        if st.session_state.get(SAVED_SEEN) != saved_seen(run.id, saved):  # saved elsewhere since the page showed it
            st.session_state[SAVE_ERROR] = run.id, (
                f"Not saved: the saved threshold has changed since this page was shown, to "
                f"{exact_number(saved['threshold'])} ({changed_by(saved)}), in another "
                f"tab or from the command line. Look at it above, then save again to replace it.")
            st.session_state[common.explored_key(run)] = (value, source)  # kept shown, not the one saved elsewhere
            return
        point = common.evaluator(str(run.path)).evaluate(value)
        costlier = costlier_than_unchecked(point, costs, source) if costs is not None else None
        draws = st.session_state.get(DRAWS, 0)  # the press asking is in the draw before this one's
        if costlier and st.session_state.get(SAVE_CONFIRM) != (run.id, value, costs, draws - 1):  # review
            st.session_state[SAVE_CONFIRM] = run.id, value, costs, draws
            why = ("with the reason entered" if st.session_state.get(REASON, "").strip()  # typed: not asked for
                   else "say why in the reason field")
            st.session_state[SAVE_ERROR] = run.id, (f"Not saved yet: {costlier[0].lower()}{costlier[1:]} Press "
                                                    f"\"Save threshold\" again to save it all the same ({why}).")
            return
        st.session_state.pop(SAVE_CONFIRM, None)
        saved_costs = recorded_costs(saved)  # the fields start at them: those changed were typed in, the others
        typed = costs_changed(costs, saved_costs)  # carried over (code review: a page save called costs typed in
        written = run.save_threshold(value, source, st.session_state.get(REASON, ""), costs=costs,  # "VQI's
                                     saved_by=st.session_state.get(SAVED_BY, ""),  # defaults")
                                     costs_entered=costs_typed_in(typed, saved_costs, saved) if costs else None)
    except (RunError, OSError, ValueError) as exc:
        st.session_state[SAVE_ERROR] = run.id, f"Could not save the threshold: {common.as_text(exc)}"
    else:
        if not written:
            st.session_state[SAVE_TOAST] = (f"{exact_number(value)} is the saved threshold already: nothing "
                                            f"changed. To record why it stays, enter a reason and save again.",
                                            ":material/info:")
            return
        st.session_state[REASON] = ""  # a reason belongs to one change
        st.session_state.pop(REASON_SEEN, None)
        st.session_state[SAVED_HERE] = saved_seen(run.id, run.threshold_info)  # not one to announce as from elsewhere
        st.session_state.pop(common.explored_key(run), None)  # what was explored is saved: in use everywhere
        dearer = " It costs more than not inspecting at the costs entered." if costlier else ""
        without = (" The costs entered cannot be used: none were recorded with it." if costs is None else "")
        st.session_state[SAVE_TOAST] = (  # what the save changes first: a toast shows 3 lines, then "view more"
            f"Saved threshold {exact_number(value)} ({source}){by_whom(st.session_state.get(SAVED_BY, ''))}: Predict "
            f"and scores.csv use it from now on.{dearer}"
            f"{without} Run: {common.as_text(run_name(run))}.", ":material/save:")  # (QE review)


def changed_by(saved: dict) -> str:
    """A saved threshold's source, who saved it where recorded, and when, for the notes on a save from elsewhere."""
    by = f", by {saved['saved_by']}" if saved.get("saved_by") else ""
    when = saved_time(saved.get("saved_at")) or "when not recorded"
    return common.as_text(f"{saved.get('source', 'unknown')}{by}, {when}")


def name_typed(key: str, other: str) -> None:
    """One name for the session's saves: a name typed on one tab is the other tab's too (browser review: the Boxes
    tab kept the first name given, so a box level was recorded under a name changed since)."""
    st.session_state[other] = st.session_state.get(key, "")


def reason_typed() -> None:
    """Remember which saved threshold the page showed while the reason was typed (see :func:`save`)."""
    st.session_state[REASON_SEEN] = st.session_state.get(SAVED_SEEN)


def saved_seen(run_id: str, saved: dict) -> tuple:
    """What identifies a run's saved threshold: the run, the value and when it was saved."""
    return run_id, saved.get("threshold"), saved.get("saved_at")


def cost_fields(costs: LineCosts) -> dict[str, float]:
    """The cost fields' values for ``costs`` (the rate in percent, without float noise: 0.029 as 2.9)."""
    return {FALSE_ALARM: costs.false_alarm, ESCAPE: costs.escape, DEFECT_RATE: float(f"{100 * costs.defect_rate:.12g}")}


def entered_costs() -> LineCosts:
    """The costs in the cost fields; ``ValueError`` (with the reason) where they are not valid costs."""
    return LineCosts(st.session_state[FALSE_ALARM], st.session_state[ESCAPE], st.session_state[DEFECT_RATE] / 100)


def line_costs(saved: LineCosts | None, run_id: str) -> LineCosts | None:
    """The costs of a false alarm and of an escape and the line's defect rate, as entered (None if invalid).

    A session that has entered no costs yet starts at the costs the run's threshold was saved with (VQI's
    defaults where none were recorded); costs entered since that differ from them are said, with a button that
    takes them (found by a browser review: a minimum-cost threshold saved at other costs than the fields showed,
    and the validation report gave both without a word); where none were recorded, costs other than VQI's defaults
    are said to be this session's (they had carried over from another part's run without a word: browser review).
    ``saved``: the costs the saved threshold was saved at; ``run_id``: the run shown, for which costs typed now are
    typed (those are not said to be perhaps another run's: browser review)."""
    for key, value in cost_fields(saved or LineCosts()).items():  # a field not entered yet in this session
        st.session_state.setdefault(key, value)
    with st.expander("Costs on the line: what a false alarm and an escape cost, how many parts are defective"):
        left, middle, right = st.columns(3)  # costs unbounded here: LineCosts says what is wrong with one (the
        # field's own "Please enter a value between 0.00 and 1000000000000000.00" did not: browser review)
        # "%g": each field shows the value the figures use, as typed (0.0015 % had shown as 0.002, a cost of 0.125 as
        # 0.13: browser review); steps that binary fractions hold exactly, so a step never shows float noise
        typed_here = (COSTS_TYPED_FOR, run_id)  # set by each field's change: costs typed for this run
        left.number_input("Cost of a false alarm", None, None, step=0.5, format="%g", key=FALSE_ALARM,
                          persist_state="session", on_change=st.session_state.__setitem__, args=typed_here,
                          help="Rejecting a good part: re-inspection, scrap. Any unit, the same for both costs.")
        middle.number_input("Cost of an escape", None, None, step=1.0, format="%g", key=ESCAPE, persist_state="session",
                            on_change=st.session_state.__setitem__, args=typed_here,
                            help="Passing a defective part: rework downstream, a complaint, a recall.")
        right.number_input("Defective parts on the line (%)", None, None, step=0.25, format="%g", key=DEFECT_RATE,
                           persist_state="session", on_change=st.session_state.__setitem__, args=typed_here,
                           help=f"The share the line makes, not the test set's (usually far higher), from "
                                f"{100 * MIN_DEFECT_RATE:g} % to {100 * MAX_DEFECT_RATE:g} %. Used with the test set's "
                                f"rates to estimate the cost.")
    try:
        costs = entered_costs()
    except ValueError as exc:
        st.warning(f"These costs cannot be used: {common.as_text(exc)}. The minimum-cost preset and the expected cost "
                   f"are hidden until they can.",
                   icon=":material/warning:")
        return None
    if (other := other_saved_costs(costs, saved)) is not None:
        st.info(f"The saved threshold was saved at other costs: {other.summary()}. The figures here are worked "
                f"out with the costs entered: {costs.summary()}.", icon=":material/payments:")
        st.button("Use the saved threshold's costs", key="threshold_saved_costs", icon=":material/undo:",
                  on_click=st.session_state.update, args=(cost_fields(other),))
    elif saved is None and costs != LineCosts():  # entered for another run, maybe another part (browser review)
        elsewhere = st.session_state.get(COSTS_TYPED_FOR) != run_id  # typed on another run's page, or not typed
        st.info(f"No costs were saved with this run's threshold. The figures here are worked out with the costs "
                f"entered in this session: {costs.summary()}."
                + (" Where they were entered for another run or part, enter this line's, or take VQI's defaults."
                   if elsewhere else ""), icon=":material/payments:")  # (browser review: costs just typed on this
        # run's page had been said to be perhaps another run's)
        st.button("Use VQI's default costs", key="threshold_default_costs", icon=":material/undo:",
                  on_click=st.session_state.update, args=(cost_fields(LineCosts()),))
    return costs


def held_out_panel(path: str, max_rate: float, costs: LineCosts | None) -> None:
    """Each preset's errors when chosen on the test images themselves and on images it was not chosen on."""
    entered = (costs.false_alarm, costs.escape, costs.defect_rate) if costs else None
    table, folds = common.held_out_presets(path, max_rate, entered)
    if table.empty:
        return
    with st.expander("How the presets do on images they were not chosen on"):
        st.caption(f"A preset chosen on these test images and measured on them looks better than it will on new "
                   f"parts. Held out: each class split into {folds} seeded parts; each part is decided by the "
                   f"preset chosen on the other {folds - 1}, and the errors are summed.")
        st.dataframe(table, hide_index=True, key="held_out_presets", placeholder=common.NO_VALUE)


def presets(run: Run, axis: ScoreAxis, labels: np.ndarray, scores: np.ndarray, costs: LineCosts | None,
            saved_threshold: tuple[float, dict]) -> float:
    """The preset thresholds' buttons in a row, the allowed share of false alarms beside the preset it sets (the
    share the run's saved threshold was chosen with, else 1 %, until one is entered: the report had checked the 1 %
    preset where 30 % was in effect; a share entered stays while other runs are opened); that share (0 to 1).
    ``saved_threshold``: the draw's one reading of :attr:`~vqi_core.runs.Run.saved_threshold`."""
    saved_value, saved = saved_threshold
    share = 100 * saved_false_alarm_rate(saved)
    set_for = st.session_state.get(MAX_FALSE_ALARMS_SET_FOR)  # (run id, share) the field was last set to
    if set_for is None or (set_for != (run.id, share) and st.session_state.get(MAX_FALSE_ALARMS) == set_for[1]):
        st.session_state[MAX_FALSE_ALARMS] = share  # not entered by hand: this run's (code review: the first run
        st.session_state[MAX_FALSE_ALARMS_SET_FOR] = (run.id, share)  # opened had set it for every run)
    max_rate = st.session_state[MAX_FALSE_ALARMS] / 100
    chosen = threshold_presets(labels, scores, max_rate, costs)
    if chosen:  # none for a test set of defective images alone
        st.caption("Presets: each moves the threshold to its value")
    rate_preset = false_alarm_preset_name(max_rate)
    buttons = st.container(horizontal=True, wrap=True, gap="small")
    for name, value in chosen.items():
        value = axis.snap_preset(value, saved_value)
        if name == rate_preset:  # its allowed share beside it (at the head of the presets it read as a setting of
            buttons = st.container(horizontal=True, vertical_alignment="bottom", gap="small")  # all: review)
            buttons.number_input("Allowed false alarms (%)", 0.0, 100.0, step=0.5, format="%g", key=MAX_FALSE_ALARMS,
                                 persist_state="session", width=230,
                                 help="Of the good parts, for the preset beside it: the threshold that catches the "
                                      "most defective test images while rejecting at most this share of the good "
                                      "ones (of those, the one with the fewest false alarms: between the lowest "
                                      "defective score it catches and the next lower test score, or the saved "
                                      "threshold where that passes and rejects the same test images; new images may "
                                      "do worse: see how the presets do on images they were not chosen on).")
        buttons.button(f"{name}: {axis.text(value)}", key=f"preset_{name}", on_click=choose_threshold,
                       args=(run, value, preset_source(name, costs)))
    return max_rate


@st.fragment
def image_level(run: Run) -> None:
    """Slider, presets, confusion matrix, rates, ROC and histograms; reruns alone on every change."""
    with common.user_errors():
        image_level_body(run)


def image_level_body(run: Run) -> None:
    """The content of :func:`image_level`."""
    st.session_state[DRAWS] = st.session_state.get(DRAWS, 0) + 1  # a confirmation holds for the next press only
    path = str(run.path)
    frame = common.test_frame(path)
    labels, scores = label_values(frame), frame["score"].to_numpy(float)
    saved_threshold = run.saved_threshold  # one reading for the whole draw: what the slider starts at, the presets,
    saved_value, saved = saved_threshold  # the caption and what a save checks against agree (review)
    data = common.threshold_data(path, saved_value)
    axis = data.axis
    init_threshold(run, axis, saved_threshold)
    costs = line_costs(recorded_costs(saved), run.id)

    exact = f"%.{axis.shown_decimals(st.session_state[SLIDER])}f"  # a saved or preset value with all its digits

    # the slider with what it decides beside the ROC curve and the histogram, so that all follow it in one view
    # (below the presets, a laptop's window had the confusion matrix 460 px and the ROC curve 910 px under the
    # slider: browser review); under 2 x 400 px the charts go below
    controls, charts = common.stretching_row(2, common.HALF_MIN_WIDTH, "threshold_charts")
    with controls:
        if (off_slider := off_slider_sentence(saved_value, axis, scores)) is not None:
            st.info(off_slider, icon=":material/info:")
        st.slider("Threshold: images scoring at or above it are rejected as defective", axis.low, axis.high,
                  step=axis.step, format=f"%.{axis.decimals}f", key=SLIDER,
                  on_change=lambda: choose_threshold(run, axis.snap(st.session_state[SLIDER]), "manual"))
        st.number_input("Exact threshold", step=axis.step, format=exact,
                        key=NUMBER, help=f"From {axis.text(axis.low)} to {axis.text(axis.high)}, the slider's range: "
                                         f"just below the lowest test score (every image rejected) to just above "
                                         f"the highest (every image passed). A value beyond it is moved to its "
                                         f"nearer end, which judges every test image alike, and said; `python -m "
                                         f"vqi_core threshold --run <run folder> --value <threshold> --save` saves "
                                         f"any finite threshold.",
                        on_change=type_threshold, args=(run, axis))
        if (beyond := st.session_state.pop(BEYOND_SCORES, None)) is not None:
            st.info(beyond, icon=":material/info:")
        threshold = float(st.session_state[SLIDER])
        view = threshold_view(common.evaluator(path), threshold, data, run.metrics.get("per_defect_type"), costs,
                              st.session_state.get(SOURCE, "manual"))
        st.markdown(f"**At {axis.text(threshold)}:** {view['cost']}")
        st.caption("Confusion matrix: rows the actual part, columns the decision (test images)")
        st.dataframe(view["confusion"])
        # a row that wraps: each figure as wide as it needs (in equal columns of a narrow window, "84.…" and
        # "False-alar…" were cut off: browser review)
        shown = st.container(horizontal=True, wrap=True, gap="medium")
        for name, value in view["numbers"].items():
            shown.metric(name, percent(value), help=None if value is not None else UNDEFINED_RATE_HELP,
                         width="content")
        if view["line_cost"]:  # the cost on the line beside the curve too, in plain view while the slider moves
            st.markdown(view["line_cost"])
        if view["costlier"]:  # not the end of a paragraph: the saved F1-optimal threshold can be such (review)
            st.warning(view["costlier"], icon=":material/money_off:")
        max_rate = presets(run, axis, labels, scores, costs, saved_threshold)
    with charts:
        st.plotly_chart(view["roc"], key="roc_chart", alt=view["roc_alt"], config=common.CHART_CONFIG)
        st.plotly_chart(view["histogram"], key="histogram_chart", alt=view["histogram_alt"],
                        config=common.CHART_CONFIG)
    point = view["point"]
    if copies := without_copies_sentence(run, threshold):  # not a faint caption: the figures to trust (review)
        st.info(copies, icon=":material/content_copy:")
    if not view["by_type"].empty:
        st.caption("By defect type: defective test images caught and escaped at this threshold; AUROCs of the "
                   "run (each type against the good images)")
        common.by_type_table(view["by_type"], {
            DETECTION_INTERVAL: st.column_config.TextColumn(
                help="Where this type's detection rate could lie (exact binomial interval): few images of a type "
                     "mean a wide interval.")})
    held_out_panel(path, max_rate, costs)

    source = st.session_state.get(SOURCE, "manual")
    st.session_state[SAVED_SEEN] = saved_seen(run.id, saved)
    who = by_whom(saved.get("saved_by", ""))
    st.caption(f"Saved threshold: {axis.text(saved['threshold'])} ({common.as_text(saved_source(saved))})"
               f"{common.as_text(who)}{'' if who.endswith('.') else '.'} "
               f"Current: {axis.text(point.threshold)} ({common.as_text(source)}).")
    common.show_run_error(SAVE_ERROR, run)
    followed_run, followed = st.session_state.pop(FOLLOWED, (None, ""))
    if followed_run == run.id:
        st.info(followed, icon=":material/sync:")
    if SAVE_TOAST in st.session_state:
        message, icon = st.session_state.pop(SAVE_TOAST)
        st.toast(message, icon=icon, duration="long")  # the 4 s default was gone before a slow reader was done
    # no max_chars on the texts kept: the browser dropped a longer paste whole, without a word, and the save then
    # kept none (browser review); saving says why it refuses one too long
    st.text_input("Reason for saving (optional)", key=REASON, persist_state="session",
                  placeholder="e.g. customer complaint 4711, new supplier lot", on_change=reason_typed,
                  help=f"At most {MAX_REASON_CHARS} characters. Kept in the run's threshold history with the date "
                       f"and the threshold it replaces, and shown in the validation report.")
    st.text_input("Your name (optional)", key=SAVED_BY, persist_state="session", on_change=name_typed,
                  args=(SAVED_BY, BOX_SAVED_BY),
                  help=f"At most {MAX_NAME_CHARS} characters. Kept with the threshold in the run's history and the "
                       f"validation report: who changed the decision, not only when (the command line records the "
                       f"account that saves).")
    buttons = st.container(horizontal=True)
    buttons.button("Save threshold", key="threshold_save", type="primary", icon=":material/save:", on_click=save,
                   args=(run, axis), help="Store it in the run: Predict and the exported scores.csv use it.")
    buttons.download_button(
        "Decisions at this threshold (CSV)", functools.partial(decisions_csv, run, threshold),
        file_name=f"{run.id}-decisions-{axis.text(threshold)}.csv", mime="text/csv", on_click="ignore",
        key="threshold_download", icon=":material/download:",
        help="Every test image with its score, the threshold, the decision and the outcome (TP, FP, FN, TN).")
    if (report_problem := common.problem_read_in_full(run)) is not None:
        st.warning(f"No validation report can be written for this run: {common.as_text(report_problem)}.",
                   icon=":material/warning:")
    else:
        buttons.download_button(
            "Validation report (HTML)",
            functools.partial(run_report_html, common.run_with_images(run), threshold, costs, max_rate,
                              source=source if threshold == saved_value else f"{source}, explored here, not saved",
                              costs_entered=costs_changed(costs, run.threshold_costs) if costs else None),  # each
            # cost's origin, as the command line says it (code review: one typed had made all three "as entered")
            file_name=f"{run.id}-report-{axis.text(threshold)}.html", mime="text/html", on_click="ignore",
            key="threshold_report", icon=":material/description:",
            help="One self-contained HTML file for the quality record: what the run learnt from, how it was "
                 "tested, how well it ranks parts, what this threshold does (with intervals, per defect type, the "
                 "presets on held-out images) and its false alarms and escapes as thumbnails.")
    history = threshold_history_frame(run)
    with st.expander(f"Threshold history ({counted(len(history), 'threshold')})"):
        st.table(history.map(common.as_text), hide_index=True)  # a static table wraps its texts (in a data grid
        # the costs, the last column, were cut off at 1440 px: browser review); its cells are markdown, so each shown
        # as typed (code review: a reason's *asterisks* and links had been rendered)
        st.caption("Newest first; the first row is in effect. A run trained before VQI kept this history lists "
                   "only its current threshold.")


@st.fragment(run_every=5)
def follow_saved_elsewhere(run: Run) -> None:
    """Every 5 s, whether a threshold was saved for the run elsewhere (another tab, the command line) since the page
    showed its saved one: the whole page is drawn again then, and follows it with a note (browser review: it showed
    the earlier one until the next click). Draws nothing."""
    try:
        now = saved_seen(run.id, run.threshold_info)
    except RunError:  # deleted or damaged meanwhile: the next draw of the page says so
        return
    seen = st.session_state.get(SAVED_SEEN)
    if seen is not None and seen[0] == run.id and seen != now:
        st.rerun()


@st.fragment
def pixel_level(run: Run) -> None:
    """Pixel ROC and the share of defect / good pixels flagged at a per-pixel threshold."""
    with common.user_errors():
        pixel_level_body(run)


def pixel_level_body(run: Run) -> None:
    """The content of :func:`pixel_level`."""
    data = common.pixel_data(str(run.path), common.images_folder(run))
    if data.unreadable_masks:
        st.warning(f"{counted(len(data.unreadable_masks), 'ground-truth mask')} cannot be used (unreadable, or "
                   f"changed since training) and {are(len(data.unreadable_masks))} left out: "
                   + common.as_text("; ".join(data.unreadable_masks)), icon=":material/broken_image:")
    # (reviews: the slider was read as moving the boxes; the tab said neither what it is for nor that nothing on it
    # is saved, and its pixel count was taken for the photos')
    st.caption(f"How well the heatmaps outline defects (the run's pixel AUROC and AUPRO, below): a pixel "
               f"is flagged where its map level is at or above the slider. Nothing here is saved or changes a "
               f"decision: verdicts compare each image's score with the threshold of the Image level tab, and boxes "
               f"are drawn above the box level, {exact_number(run.box_level)}, set on the Boxes tab.")
    st.caption(f"Pixels{pixel_scope(run.config, run.metrics)} of the anomaly maps of all test images with known "
               f"ground truth (good images count as all-good), at the size the pixel metrics are computed at (each "
               f"map's longer side at most 256 px, its mask resized to it): rates counted over all "
               f"{data.n_pixels:,} of them ({data.n_defect:,} defect pixels), not over the photos' own pixels. The "
               f"map is normalised: 1 is the highest level any held-out good image reached, 0 their median level "
               f"(below it, levels are negative); the slider spans this run's levels, from the lowest, where every "
               f"pixel is flagged, to above the highest.")
    summary = common.metric_row()  # the AUPRO had been only on the Train page and in the report (browser review)
    summary.metric("Pixel AUROC", fraction(run.metrics.get("pixel_auroc"), 3), width="content",
                   help="As the run measured it at training (metrics.json): every defect pixel against every good "
                        "pixel, over all levels; 1 ranks each defect pixel above each good one, 0.5 is chance.")
    summary.metric("AUPRO", fraction(run.metrics.get("aupro"), 3), width="content",
                   help="As the run measured it at training: the area under the per-region overlap curve up to 30 % "
                        "good pixels flagged, divided by 0.3; the share of each annotated defect region flagged, each "
                        "region counting alike whatever its size (a large region does not outweigh small ones).")
    low, high, step = data.slider
    kept = st.session_state.get(PIXEL_THRESHOLD)
    start = pixel_slider_start(data.slider, kept)
    if kept is not None and kept != start:  # kept from a run whose levels lie elsewhere: this run's slider starts
        del st.session_state[PIXEL_THRESHOLD]  # afresh
    threshold = st.slider("Pixel threshold (normalised anomaly map)", low, high, start, step, key=PIXEL_THRESHOLD,
                          persist_state="session",
                          help="Measures the heatmaps only; kept while this session lasts, never saved with the run.")
    view = pixel_view(data, threshold, run.metrics.get("pixel_auroc"))
    numbers = common.metric_row()
    for name, value in view["numbers"].items():
        numbers.metric(name, percent(value), help=None if value is not None else UNDEFINED_RATE_HELP, width="content")
    st.plotly_chart(view["roc"], key="pixel_roc_chart", alt=view["roc_alt"], config=common.CHART_CONFIG)


def save_box_level(run: Run, exact_key: str) -> None:
    """Save the box level in the exact entry (``exact_key``), with the reason entered (button callback; the outcome
    shows on the next draw). The level is read now, not when the button was drawn: a level typed in and the click
    that leaves its field reach the server together (review: the level shown before it was typed was saved)."""
    level = float(st.session_state[exact_key])
    try:
        written = run.save_box_level(level, st.session_state.get(BOX_REASON, ""),
                                     st.session_state.get(BOX_SAVED_BY, ""))
    except (RunError, OSError, ValueError) as exc:
        st.session_state[BOX_SAVE_ERROR] = run.id, f"Could not save the box level: {common.as_text(exc)}"
        return
    if written:
        st.session_state[BOX_REASON] = ""
    st.session_state[BOX_TOAST] = (
        f"Saved box level {exact_number(level)}{by_whom(st.session_state.get(BOX_SAVED_BY, ''))}: Inspect, Compare "
        f"and Predict draw boxes above it. Run: "
        f"{common.as_text(run_name(run))}."  # the run named (review), after what the save changes (QE review)
        if written else f"{exact_number(level)} is the saved box level already: nothing changed.", ":material/save:")


@st.fragment
def box_level_panel(run: Run) -> None:
    """The level boxes are drawn above: what the boxes find on the test set at a level, and saving it."""
    with common.user_errors():
        box_level_body(run)


def box_level_body(run: Run) -> None:
    """The content of :func:`box_level_panel`."""
    info, dataset = run.box_level_info, common.images_folder(run)
    saved = float(info["level"])
    st.caption("Boxes on Inspect, Compare and Predict (and from the command line's predict) mark the regions above "
               "the box level on the normalised map: at 1, the highest level any held-out good image reached. A "
               "lower level boxes fainter defects and puts boxes on more good parts; the verdicts do not change "
               "(they compare each image's score with the threshold). Counted on this run's test images.")
    data = common.box_data(str(run.path), dataset)
    slider = box_slider(saved, data.peak)
    # the slider and an exact entry that follow each other; the entry holds the level (any the command line takes:
    # the slider alone could not be set to one between its steps, nor quickly far: review)
    slider_key, exact_key = f"{BOX_SLIDER}_{run.id}", f"{BOX_SLIDER}_exact_{run.id}"
    st.session_state.setdefault(slider_key, saved)
    st.session_state.setdefault(exact_key, saved)
    st.slider("Box level (normalised anomaly map)", MIN_BOX_LEVEL, slider.top, step=BOX_SLIDER_STEP, key=slider_key,
              format=f"%.{slider.decimals}f", on_change=lambda: st.session_state.update(
                  {exact_key: slider.level(st.session_state[slider_key])}),
              help=f"Up to {slider.top:g}: no test image's map goes above {data.peak:.3g}.")
    level = float(st.number_input(
        "Exact box level", MIN_BOX_LEVEL, MAX_BOX_LEVEL, step=BOX_SLIDER_STEP, format="%g", key=exact_key,
        on_change=lambda: st.session_state.update({slider_key: slider.position(st.session_state[exact_key])}),
        help=f"From {MIN_BOX_LEVEL:g} to {MAX_BOX_LEVEL:g}, as `python -m vqi_core boxes --level` takes it; the "
             f"slider moves to the nearest of its steps."))
    if data.unreadable_masks:
        st.warning(f"{counted(len(data.unreadable_masks), 'ground-truth mask')} cannot be used (unreadable, or "
                   f"changed since training) and {are(len(data.unreadable_masks))} counted as unknown: "
                   + common.as_text("; ".join(data.unreadable_masks)),
                   icon=":material/broken_image:")
    counts, by_type = common.box_hits(str(run.path), float(level), dataset)
    figures = box_figures(counts)
    shown = st.container(horizontal=True, wrap=True, gap="medium")  # wraps in a narrow window (as the rates)
    for name, (share, meaning) in figures.items():
        shown.metric(name, share, help=meaning, width="content")
    if (found := boxes_sentence(counts, level)) is not None:
        st.caption(found)
    if low_level := box_level_warning(counts, level, run.metrics.get("normalisation_images"), "the slider above"):
        st.warning(low_level, icon=":material/crop_free:")
    if by_type:
        st.dataframe(regions_boxed_frame(by_type), hide_index=True, key="regions_boxed_by_type",
                     column_config={"share boxed": st.column_config.NumberColumn(format="%.1f%%")})  # as the figures
    why = f": {common.as_text(info['reason'])}" if info.get("reason") else ""
    when = common.as_text(saved_time(info["saved_at"])) if info.get("saved_at") else None
    who = common.as_text(by_whom(info.get("saved_by", "")))
    st.caption(f"Saved box level: {exact_number(saved)} "
               + (f"(saved {when}{who}{why})." if when else "(the default)."))
    common.show_run_error(BOX_SAVE_ERROR, run)
    if BOX_TOAST in st.session_state:
        message, icon = st.session_state.pop(BOX_TOAST)
        st.toast(message, icon=icon, duration="long")  # the 4 s default was gone before a slow reader was done
    st.text_input("Reason for saving the box level (optional)", key=BOX_REASON,
                  placeholder="e.g. box the faint cracks too",
                  help=f"At most {MAX_REASON_CHARS} characters. Kept in the run's box level history with the date "
                       f"and the level it replaces.")
    st.session_state.setdefault(BOX_SAVED_BY, st.session_state.get(SAVED_BY, ""))  # the name given for thresholds
    st.text_input("Your name (optional)", key=BOX_SAVED_BY, persist_state="session", on_change=name_typed,
                  args=(BOX_SAVED_BY, SAVED_BY),
                  help=f"At most {MAX_NAME_CHARS} characters, the same name as on the image-level tab. Kept with the "
                       f"box level in the run's box level history: who changed it.")
    st.button("Save box level", key="box_level_save", type="primary", icon=":material/save:",
              on_click=save_box_level, args=(run, exact_key),
              help="Store it in the run: every overlay of this run draws boxes above it.")
    history = box_level_history(info)
    if not history.empty:
        with st.expander(f"Box level history ({counted(len(history), 'level')})"):
            st.table(history.map(common.as_text), hide_index=True)  # wrapped and as typed, as the threshold history


st.title("Threshold")
current = common.require_run()
common.show_run_notes(current)
st.caption(f"Run {common.as_code(current.id)} · "
           f"{counted(len(common.test_frame(str(current.path))), 'evaluated test image')} · "
           "defective = positive: a false alarm rejects a good part, an escape passes a defective one.")
# lazy tabs: pixel statistics and box counts (every map read) are only collected when their tab is open
masks = bool(current.config.get("has_masks"))
labels = ["Image level", *(["Pixel level"] if masks else []), "Boxes"]
if TAB in st.session_state:  # kept apart from the widget's state, which Streamlit drops while another page is open
    st.session_state[TAB_OPENED] = st.session_state[TAB]
opened = st.session_state.get(TAB_OPENED)
if not masks:  # said where the tab would be (at the page's foot it went unseen: browser review)
    st.caption(NO_PIXEL_TAB)
tabs = st.tabs(labels, key=TAB, default=opened if opened in labels else None, on_change="rerun")
if tabs[0].open:
    with tabs[0]:
        image_level(current)
    follow_saved_elsewhere(current)
if masks and tabs[1].open:
    with tabs[1]:
        pixel_level(current)
if tabs[-1].open:
    with tabs[-1]:
        box_level_panel(current)
