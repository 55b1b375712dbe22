"""Inspect: test images of the current run with heatmaps, boxes and outcomes; one image large on demand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ui import common
from vqi_core.dashboard.boxes import boxes_mark, saved_box_counts
from vqi_core.dashboard.image_lists import IMAGE_ORDERS, chosen_images, inspection_frame
from vqi_core.dashboard.overlays import heat_scale_key, heat_scale_note, map_range, own_range_note, region_caption
from vqi_core.dashboard.style import DEFECT_TEXT_CSS, GOOD_CSS
from vqi_core.images import ImageReadError
from vqi_core.localisation import BOX_LEVEL, BROAD_WHY_IN_LARGE_VIEW, HEATMAP_TOP, OVERLAY_FLOOR, OWN_RANGE_HERE, \
    OWN_RANGE_IN_LARGE_VIEW, box_level_warning, box_note, boxes_sentence
from vqi_core.runs import Run, RunError
from vqi_core.thresholds import OUTCOME_MEANING, OUTCOMES
from vqi_core.wording import counted, exact_number, score_beside

PER_PAGE = 12
ORDER_WIDTH = 260  # px: "closest to the threshold first" whole
SELECTED, PAGE = "inspect_selected", "inspect_page"
LOAD_ERRORS = (ImageReadError, RunError, OSError, KeyError)
#: the large view's heatmap colour scales, and the heatmap's caption under each
RUN_SCALE, OWN_RANGE = "Run's scale", "This image's range"
HEAT_SCALES = {RUN_SCALE: "Heatmap (transparent up to half the highest good level)",
               OWN_RANGE: "Heatmap over this image's own range (its lowest third transparent, highest dark red)"}
#: the heatmap's colour key, in words (on the run's scale, over the image's own range)
HEAT_KEYS = {False: f"Colour key: transparent up to {OVERLAY_FLOOR:g}, then blue, green, yellow and red up to "
                    f"{HEATMAP_TOP:g} and dark red above; 1 is the highest good level",
             True: "Colour key: from this image's lowest level to its highest, the lowest third transparent, then "
                   "blue, green, yellow and red up to dark red at its highest"}


def boxes_note(row: pd.Series, boxes: tuple[int, int] | None, box_level: float = BOX_LEVEL,
               own_range: str = OWN_RANGE_IN_LARGE_VIEW, held_out: int | None = None,
               why_in: str | None = None) -> str | None:
    """Why the overlay's ``boxes`` (their number and how many are broad; None: not known) and the verdict seem to
    disagree, or why the boxes cover most of the image (:func:`~vqi_core.localisation.box_note`); None where
    neither."""
    return box_note(row["outcome"] in ("TP", "FP"), boxes[0], box_level, boxes[1], own_range, held_out, why_in) \
        if boxes is not None else None


def unbroken(words: str) -> str:
    """``words`` that a card's line never breaks between ("1 box", "defect caught": a narrow card had left "box"
    alone on a line: QE review)."""
    return words.replace(" ", "\u00a0")


def describe(row: pd.Series, threshold: float, boxes: tuple[int, int] | None = None,
             box_level: float = BOX_LEVEL, own_range: str = OWN_RANGE_IN_LARGE_VIEW,
             held_out: int | None = None, why_in: str | None = None, with_note: bool = True) -> str:
    """One caption: score (beside the working ``threshold``), true label and predicted outcome, coloured
    good/defective, and the overlay's number of ``boxes`` where known (a small box on a hot spot is hard to see on a
    thumbnail: browser review); what the image copies or
    which training image it looks like (when the run's look-alikes stand out); where the overlay's ``boxes``
    (their number and how many are broad, when known; drawn above ``box_level``) and the verdict seem to disagree,
    or the boxes cover most of the image, why (and ``own_range``: how to see where the map is highest;
    ``held_out``: the run's ``normalisation_images``, which box level 1 is above; ``why_in``: where the reason for
    broad boxes is said, for a grid's card, see :func:`~vqi_core.localisation.box_note`; ``with_note``: that reason
    included)."""
    colour = DEFECT_TEXT_CSS if row["label"] == "defective" else GOOD_CSS
    copy = f"  \n:orange[copy of {common.as_code(row['copy_of'])}]" if isinstance(row.get("copy_of"), str) else ""
    if isinstance(row.get("looks_like"), str):
        copy += f"  \n:orange[looks like {common.as_code(row['looks_like'])}]"
    note = boxes_note(row, boxes, box_level, own_range, held_out, why_in) if with_note else None
    tally = f" · {unbroken(counted(boxes[0], 'box', 'boxes'))}" if boxes is not None else ""
    if note:
        copy += f"  \n:grey[{note}]"
    return (f"**{common.as_breakable_text(row['image'])}**  \nscore {score_beside(row['score'], threshold)}  \n"
            f"true <span style='color:{colour}'>**{row['label']}**</span> · "
            f"{row['outcome']} ({unbroken(OUTCOME_MEANING[row['outcome']])}){tally}{copy}")


def filtered_frame(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The test images that pass the defect-type and outcome filters, in the chosen order."""
    types = sorted(frame["defect_type"].unique())
    filters = st.container(horizontal=True)  # the order's box keeps its width in a small window (a quarter of the
    left, right = filters.container(), filters.container(width=ORDER_WIDTH)  # row cut its text: browser review)
    kept = st.session_state.get("inspect_types", [])  # kept while other pages are open; this run's types only
    if any(name not in types for name in kept):
        st.session_state["inspect_types"] = [name for name in kept if name in types]
    chosen_types = left.multiselect("Defect type", types, key="inspect_types", placeholder="all types",
                                    persist_state="session")
    order = right.selectbox("Order", IMAGE_ORDERS, key="inspect_order", persist_state="session",
                            help="Closest to the threshold first: the borderline decisions, where a small change "
                                 "of the threshold or of the part flips the verdict.")
    # the outcomes in a row of their own: beside the filters, in a laptop's window, they were cut off ("TN · good
    # passe…")
    chosen_outcomes = st.pills("Outcome", list(OUTCOMES), selection_mode="multi", key="inspect_outcomes",
                               persist_state="session",
                               format_func=lambda o: f"{o} · {OUTCOME_MEANING[o]}",
                               help="TP defect caught, FP false alarm, FN escape, TN good part passed.")
    return chosen_images(frame, chosen_types, chosen_outcomes, order, threshold)


def close_large_view() -> None:
    """Forget the image shown large (the dialog is drawn only while one is chosen)."""
    st.session_state.pop(SELECTED, None)


@st.dialog("Test image", width="large", icon=":material/zoom_in:", on_dismiss=close_large_view)
def large_view(run: Run, frame: pd.DataFrame, index: int, threshold: float, box_level: float) -> None:
    """One test image large, in a dialog over the grid (where the card's Enlarge was clicked): original, heatmap
    overlay with its opacity, boxes (above the run's ``box_level``) with the ground-truth outline."""
    path = str(run.path)
    row = frame.loc[index]
    masks = bool(run.config.get("has_masks"))
    outlined = masks and row["label"] == "defective"  # a good image has no outline to draw
    head, close = st.columns([5, 1])
    boxes = shown_boxes(run, index, box_level)
    head.markdown(describe(row, threshold, boxes, box_level, with_note=False), unsafe_allow_html=True)
    if close.button("Close", key="inspect_close", icon=":material/close:"):
        close_large_view()
        st.rerun()  # the whole page: the dialog is not drawn again
    opacity, scale = st.columns(2)
    alpha = opacity.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key="inspect_alpha")
    own_range = scale.segmented_control(
        "Heatmap colours", list(HEAT_SCALES), default=RUN_SCALE, required=True, key="inspect_heat_scale",
        help=f"{RUN_SCALE}: the same colours on every image, dark red from {HEATMAP_TOP:g} (the highest good "
             f"level is 1), transparent up to {OVERLAY_FLOOR:g}. {OWN_RANGE}: from this image's lowest level to its "
             f"highest: where in it the map is highest, however high or low; not comparable between images. The "
             f"boxes are the same in both.") == OWN_RANGE
    scale.image(heat_scale_key(own_range), width="content", alt=HEAT_KEYS[own_range])  # beside the controls: in
    try:  # view while they change (under the images, a laptop's window had it out of sight: browser review)
        photo = common.original(path, index, dataset=read_from(run))  # first: a file changed since is said alone
        levels = map_range(run, index, common.normalization(path))  # (browser review: its map's range above it)
        if note := (own_range_note(*levels) if own_range else heat_scale_note(*levels)):
            st.caption(note)
        columns = st.columns(3)
        columns[0].image(photo, caption="Original", width="stretch", alt=f"{row['image']} as photographed")
        columns[1].image(common.overlay(path, index, box_level, alpha=alpha, boxes=False, ground_truth=False,
                                        max_side=768, dataset=read_from(run), own_range=own_range),
                         caption=HEAT_SCALES[OWN_RANGE if own_range else RUN_SCALE], width="stretch",
                         alt=f"Heatmap of {row['image']}")
        columns[2].image(common.overlay(path, index, box_level, heatmap=False, max_side=768,
                                        dataset=read_from(run), shown_side=330),  # a third of the dialog
                         caption=f"Boxes ({boxes_mark([run])})"
                         + (" and ground-truth outline" if outlined else ""),
                         width="stretch",
                         alt=f"Boxes on {row['image']}" + (" and its defect's outline" if outlined else ""))
    except LOAD_ERRORS as exc:
        st.error(common.as_text(f"Cannot show {row['image']}: {exc}"), icon=":material/broken_image:")
    # under the images: above them, a long one had pushed the images out of a laptop's window (browser review)
    if note := boxes_note(row, boxes, box_level, OWN_RANGE_HERE, run.metrics.get("normalisation_images")):
        st.caption(note)
    if masks:
        try:
            run.mask(index)
        except ImageReadError as exc:
            st.warning(f"No ground-truth outline: {common.as_text(exc)}", icon=":material/broken_image:")
    st.markdown(common.legend([run], masks), unsafe_allow_html=True)


def shown_boxes(run: Run, index: int, box_level: float) -> tuple[int, int] | None:
    """How many boxes image ``index``'s overlay shows, and how many are broad (None when its map cannot be read:
    its card says why)."""
    try:
        return common.box_tally(str(run.path), index, box_level)
    except LOAD_ERRORS:
        return None


def grid(run: Run, frame: pd.DataFrame, images_here: bool, threshold: float, box_level: float) -> None:
    """Thumbnails with overlays (where the test images are on this machine), PER_PAGE at a time, in
    :func:`~ui.common.wrapping_cards` (as many to a row as the window has room for; read across, they keep the
    order)."""
    showing = (run.id, tuple(st.session_state.get("inspect_types") or ()),  # the threshold moves outcomes and order
               tuple(st.session_state.get("inspect_outcomes") or ()), st.session_state.get("inspect_order"), threshold)
    page = common.page_number(len(frame), PER_PAGE, PAGE, showing)
    shown = list(frame.iloc[(page - 1) * PER_PAGE: page * PER_PAGE].iterrows())
    held_out = run.metrics.get("normalisation_images")  # read once for the page's cards
    for card, (index, row) in common.wrapping_cards(shown, "inspect"):
        with card:
            if images_here:
                try:
                    st.image(common.thumbnail(str(run.path), int(index), box_level, dataset=read_from(run)),
                             width="stretch", alt=f"{row['image']} with its heatmap and boxes")
                except LOAD_ERRORS as exc:
                    st.warning(common.as_text(f"Cannot show {row['image']}: {exc}"), icon=":material/broken_image:")
            st.markdown(describe(row, threshold, shown_boxes(run, int(index), box_level) if images_here else None,
                                 box_level, held_out=held_out, why_in=BROAD_WHY_IN_LARGE_VIEW),
                        unsafe_allow_html=True)
            if images_here:  # nothing to enlarge otherwise
                st.button("Enlarge", key=f"inspect_open_{index}", icon=":material/zoom_in:",
                          on_click=lambda i=int(index): st.session_state.update({SELECTED: (run.id, i)}))
    common.pager_below(len(frame), PER_PAGE, PAGE)


def read_from(run: Run) -> str | None:
    """The category folder the run's test images are read from when not where it found them (cache key)."""
    return str(run.dataset) if run.dataset is not None else None


st.title("Inspect")
current = common.require_run()
common.show_run_notes(current)
dataset = Path(current.config.get("dataset", ""))
images_here, moved_to = dataset.is_dir(), None
if not images_here:
    moved_to = common.images_folder(current)
    images_here = moved_to is not None
    if moved_to is not None:
        st.info(f"This run's test images are read from the folder chosen in the sidebar, {common.as_code(moved_to)}: "
                f"the run found them in {common.as_code(str(dataset))}, which is not here. Each is checked against the "
                "run's record of the file it scored.", icon=":material/drive_file_move:")
        current = Run(current.path, Path(moved_to))
    else:
        st.warning(f"This run's test images are not where it found them: {common.as_code(str(dataset))} does not "
                   "exist here (moved, renamed or deleted since, or the run was imported from another machine). "
                   "Their scores and outcomes are listed without the images; choose the folder that holds them now "
                   "in the sidebar to see them.", icon=":material/folder_off:")
threshold, source = common.working_threshold(current)
test = common.test_frame(str(current.path))
if test.empty:
    common.stop_with_error("This run has no evaluated test image.")
if images_here:
    try:
        current.anomaly_map(0)
    except RunError as exc:  # said once here, not once per card
        images_here = False
        st.warning(f"The heatmaps cannot be shown: {common.as_text(exc)}. The scores and outcomes are listed "
                   f"without the images.", icon=":material/broken_image:")
test = inspection_frame(current, test, threshold)
counts = test["outcome"].value_counts()
region = region_caption(current.config)
st.caption(f"Run {common.as_code(current.id)} · threshold {exact_number(threshold)} ({source}) · "
           + " · ".join(f"{o} {int(counts.get(o, 0))}" for o in OUTCOMES) + (f" · {region}" if region else ""))
st.markdown(common.legend([current], bool(current.config.get("has_masks"))), unsafe_allow_html=True)
box_level = current.box_level  # read once: every card draws and counts its boxes above it
try:  # counting again (a box level saved since training, or an older run) reads every map and mask
    box_counts = common.box_counts(current) if images_here else saved_box_counts(current)
except LOAD_ERRORS:  # a damaged map or mask: its card says so; the grid is still drawn
    box_counts = None
if box_counts is not None and (boxes_found := boxes_sentence(box_counts, box_level)) is not None:
    st.caption(boxes_found)
if box_counts is not None and (low_level := box_level_warning(box_counts, box_level,
                                                              current.metrics.get("normalisation_images"))):
    st.warning(low_level, icon=":material/crop_free:")  # a grey caption was all (browser review)
selected_run, selected = st.session_state.get(SELECTED, (None, None))
if images_here and selected_run == current.id and selected in test.index:
    large_view(current, test, selected, threshold, box_level)
matching = filtered_frame(test, threshold)
st.caption(f"{len(matching)} of {counted(len(test), 'test image')} {'matches' if len(matching) == 1 else 'match'}.")
if matching.empty:
    st.info("No test image matches these filters.", icon=":material/filter_alt_off:")
else:
    grid(current, matching, images_here, threshold, box_level)
