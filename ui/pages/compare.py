"""Compare: runs on the same test set side by side: ROC curves, metrics, one image across runs."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import common
from vqi_core.backbones import backbone_title
from vqi_core.dashboard.overlays import region_caption
from vqi_core.dashboard.run_tables import AUROC_INTERVAL, ESCAPE_INTERVAL, ESCAPES_SAVED, FALSE_ALARM_INTERVAL, \
    FALSE_ALARMS_SAVED, VERSUS_FIRST, VERSUS_FIRST_INTERVAL, common_test_images, defective_first, notes_of_runs, \
    run_labels, run_name, same_data_runs, left_out_of_comparison, index_of_test_image, threshold_sources_note
from vqi_core.dashboard.style import DEFECT_TEXT_CSS, GOOD_CSS
from vqi_core.images import ImageReadError
from vqi_core.localisation import BOX_LEVEL, OWN_RANGE_IN_INSPECT, box_note
from vqi_core.methods import method_title
from vqi_core.runs import Run, RunError, changed_settings, readable_runs
from vqi_core.thresholds import verdict
from vqi_core.wording import are, counted, exact_number, told_apart

#: the most runs whose cards share the page's width (each at least as wide as Inspect's cards: two side by side in an
#: 800 px window with the sidebar open, three from 1280 px, wider in a wider one); more go in Inspect's cards, four
#: to a row at 1400 px (a column per run had squeezed five runs' cards to a few words a line, and four in an 800 px
#: window; cards sized for 1280 px stacked two runs at 1024 px: browser reviews of 2026-12-06)
MOST_SHARING = 3
#: the page's width (px) in a 1400 px window with the sidebar open: shared cards' lines are drawn for it
SHARED_WIDTH = 940


def run_cards(runs: list[Run]) -> tuple[list[tuple[Any, Run]], int]:
    """(card, run) for each of ``runs``, in order, and the width (px) a card's image is drawn to be seen at."""
    if len(runs) > MOST_SHARING:
        return list(common.wrapping_cards(runs, "compare")), common.CARD_IMAGE_WIDTH
    cards = common.stretching_row(len(runs), common.CARD_WIDTH, "compare_cards", border=True)
    return list(zip(cards, runs)), SHARED_WIDTH // len(runs) - 48  # less the gap and the card's padding


def default_selection(runs: list[Run]) -> list[str]:
    """The current run and up to two others of the same category, trained on the same folder or the same
    files."""
    current = st.session_state.get(common.CURRENT_RUN)
    first = next((run for run in runs if run.id == current), runs[0])
    return [first.id, *(run.id for run in same_data_runs(first, runs)[:2])]


#: the most of a run's description its card shows
CARD_DESCRIPTION_CHARS = 160


def card_heading(run: Run) -> str:
    """What tells the runs' cards apart: the run's id and description, method, backbone and changed settings."""
    heading = (f"{common.as_code(run.id)} · **{common.as_text(method_title(run.config.get('method')))}** · "
               f"{common.as_text(backbone_title(run.config.get('params', {}).get('backbone')))} · "
               f"{common.as_text(changed_settings(run.config))}")
    description = run.description
    if len(description) > CARD_DESCRIPTION_CHARS:  # a long one pushed the verdict a screen down (archive review)
        cut = description[:CARD_DESCRIPTION_CHARS]
        mid_word = not (cut[-1].isspace() or description[CARD_DESCRIPTION_CHARS].isspace())
        if mid_word and " " in cut.strip():  # cut at a word's end (browser review: mid-word)
            cut = cut.rsplit(maxsplit=1)[0]
        description = f"{cut.rstrip()} … (the whole description: double-click its cell in the table)"
    description = common.as_text(description).replace("\n", "  \n")  # each of its lines kept a line
    return f"{heading}  \n{description}" if description else heading


@st.fragment
def image_across_runs(runs: list[Run], images: list[str], judged_at: list[tuple[float, float]]) -> None:
    """One chosen test image as each run sees it, judged at each run's saved threshold and box level as the table
    above read them (``judged_at``; Inspect judges at the threshold being tried on the Threshold page), each card
    naming its run; a fragment: choosing another image redraws the cards alone. A run deleted, damaged or given
    another threshold or box level since the page was drawn reruns the whole page, which names a run deleted or
    damaged and judges at the new threshold everywhere (browser review: a traceback, and cards judged at a threshold
    the table did not show)."""
    if any(run.problem() is not None or (run.threshold, run.box_level) != at for run, at in zip(runs, judged_at)):
        st.rerun()
    ordered, labels = defective_first(runs[0], images)
    if st.session_state.get("compare_image", ordered[0]) not in ordered:  # other runs' images
        del st.session_state["compare_image"]
    name = st.selectbox("Test image", ordered, format_func=lambda n: f"{n} ({labels[n]})",
                        key="compare_image", persist_state="session")
    colour = DEFECT_TEXT_CSS if labels[name] == "defective" else GOOD_CSS
    legend = common.legend(runs, any(run.config.get("has_masks") for run in runs))  # any card may draw an outline
    st.markdown(f"True label: <span style='color:{colour}'>**{labels[name]}**</span> · each run judges it at its "
                f"saved threshold · {legend}", unsafe_allow_html=True)
    cards, shown_width = run_cards(runs)
    for (card, run), (threshold, box_level) in zip(cards, judged_at):
        index = index_of_test_image(run, name)
        score = float(run.scores["score"].iloc[index])
        judged = verdict(score, threshold)
        with card:
            note = None
            try:
                st.image(common.overlay(str(run.path), index, box_level, max_side=512,
                                        dataset=common.images_folder(run), shown_side=shown_width),
                         width="stretch",
                         alt=f"{name} with the heatmap and boxes of run {run.id} "
                             f"({method_title(run.config.get('method'))})")
                boxes, broad = common.box_tally(str(run.path), index, box_level)
                note = box_note(judged == "defective", boxes, box_level, broad, OWN_RANGE_IN_INSPECT,
                                run.metrics.get("normalisation_images"))
            except (ImageReadError, RunError, OSError) as exc:
                st.warning(f"Cannot show the image: {common.as_text(exc)}", icon=":material/broken_image:")
            # the score with the digits that tell it from the threshold, as the threshold where they are equal
            score_text = exact_number(score) if score == threshold else told_apart(score, threshold)[0]
            judged_colour = DEFECT_TEXT_CSS if judged == "defective" else GOOD_CSS  # as Predict's (browser review)
            st.markdown(f"{card_heading(run)}  \n"
                        f"score {score_text} · saved threshold {exact_number(threshold)} → "
                        f"<span style='color:{judged_colour}'>**{judged}**</span>"
                        + ("" if box_level == BOX_LEVEL else f" · boxes above {exact_number(box_level)}")
                        + (f"  \n:grey[{note}]" if note else "")
                        + (f"  \n:grey[{inspected}]" if (inspected := region_caption(run.config)) else ""),
                        unsafe_allow_html=True)


st.title("Compare")
listed, runs_problem = common.saved_runs()
if runs_problem is not None:
    st.info(common.RUNS_UNLISTED, icon=":material/folder_off:")
    st.stop()
saved = readable_runs(listed)  # the unreadable ones: see Home
unreadable = {run.id for run in listed} - {run.id for run in saved}
dropped = [run_id for run_id in st.session_state.get("compare_runs", []) if run_id in unreadable]
if dropped:  # chosen here, then damaged: said, not silently left out
    st.warning(f"{', '.join(common.as_code(run_id) for run_id in dropped)} cannot be read any more and "
               f"{are(len(dropped))} left out of the comparison (Home says why).",
               icon=":material/broken_image:")
gone = [run_id for run_id in st.session_state.get("compare_runs", []) if run_id not in {run.id for run in listed}]
if gone:  # chosen here, then deleted (or renamed) in the runs folder: said too
    st.warning(f"{', '.join(common.as_code(run_id) for run_id in gone)} no longer "
               f"{'exists' if len(gone) == 1 else 'exist'} in the runs folder (deleted or renamed since "
               f"{'it was' if len(gone) == 1 else 'they were'} chosen) and {are(len(gone))} left out of the "
               "comparison.", icon=":material/delete:")
if len(saved) < 2:
    st.info("Comparing needs at least two saved runs of the same category: train another method or backbone "
            "on the Train page.", icon=":material/info:")
    st.stop()
labels = run_labels(saved, readable=[run.id for run in saved], tag_all=True)  # never changing while shown
if "compare_runs" not in st.session_state:  # the choice is then kept while other pages are open
    st.session_state["compare_runs"] = default_selection(saved)
elif any(run_id not in labels for run_id in st.session_state["compare_runs"]):  # deleted meanwhile
    st.session_state["compare_runs"] = [run_id for run_id in st.session_state["compare_runs"] if run_id in labels]
chosen_ids = st.multiselect("Runs to compare (same test set)", list(labels), format_func=labels.__getitem__,
                            key="compare_runs", persist_state="session")
if len(chosen_ids) < 2:
    st.info("Choose two or more runs.", icon=":material/info:")
    st.stop()
try:
    chosen = [common.store().get(run_id) for run_id in chosen_ids]
    without_test = [run.id for run in chosen if run.scores.empty]
    if without_test:  # nothing to compare on: not a question of different test images (nor left out as one)
        common.stop_with_error(f"{', '.join(common.as_code(run_id) for run_id in without_test)} "
                               f"{'has' if len(without_test) == 1 else 'have'} no evaluated test image: there is "
                               f"nothing to compare {'it' if len(without_test) == 1 else 'them'} on.")
    found = common_test_images(chosen)
    hub, apart = left_out_of_comparison(chosen) if not found.names else (chosen[0], [])  # which to drop (review)
    # the others are still compared: one run of another part had hidden their comparison (browser review)
    if apart and len(chosen) - len(apart) >= 2:
        st.warning(f"{' and '.join(common.as_text(run_name(run)) for run in apart)} "
                   f"{'shares' if len(apart) == 1 else 'share'} no test image with "
                   f"{common.as_text(run_name(hub))} and the runs compared with it, and {are(len(apart))} left out "
                   f"of the comparison: compare {'it' if len(apart) == 1 else 'them'} with runs tested on the same "
                   f"files.", icon=":material/join_inner:")
        chosen = [run for run in chosen if run not in apart]
        found, apart = common_test_images(chosen), []
except RunError as exc:
    common.stop_with_error(f"A chosen run cannot be opened: {common.as_text(exc)}")
shared = found.names
named = ", ".join(common.as_text(name) for name in found.changed[:5]) + (", ..." if len(found.changed) > 5 else "")
changed = (f" {counted(len(found.changed), 'test image')} of the same name {are(len(found.changed))} another file in "
           f"one run than in another ({named}).")
if not shared:
    named = " and ".join(common.as_text(run_name(run)) for run in apart)
    which = (f" {named} {'shares' if len(apart) == 1 else 'share'} no test image with "
             f"{common.as_text(run_name(hub))}." if apart else
             " Each run shares test images with the first one, but no test image is common to all of them: choose "
             "fewer runs.")
    common.stop_with_error("These runs were not evaluated on the same test images: compare runs tested on the "
                           "same files" + (" (runs trained before VQI recorded its files' digests: on the same "
                                           "category folder)." if found.by_folder else ".")
                           + which + (changed if found.changed else ""))  # which to drop first (browser review)
for run_ids, note in notes_of_runs(chosen):
    holders = "All these runs" if len(run_ids) == len(chosen) > 1 else ", ".join(map(common.as_code, run_ids))
    common.note_banner(note, f"{holders}: ")
for relabelled in (True, False):  # another label or defect type, or a new name alone (code review: a renamed
    pairs_of = [pair for pair in found.renamed  # good image had been called a disagreement on the part)
                if (pair[0].split("/")[0] != pair[1].split("/")[0]) == relabelled]
    if not pairs_of:
        continue
    pairs = "; ".join(f"{common.as_text(name)} is {common.as_text(other)} in {common.as_code(run_id)}"
                      for name, other, run_id in pairs_of[:5]) + ("; ..." if len(pairs_of) > 5 else "")
    one = len(pairs_of) == 1
    st.warning(f"{counted(len(pairs_of), 'test image')} of {common.as_code(chosen[0].id)} {'is' if one else 'are'} "
               f"the same file under another name" + (", so another label or defect type," if relabelled else "")
               + f" in another run ({pairs}): " + ("the runs disagree on what the part is, and " if relabelled else
                                                    "runs are compared on the images of the same names, so ")
               + f"{'it is' if one else 'they are'} left out of the comparison.", icon=":material/label_off:")
if found.changed:
    st.warning(f"The test set changed between these runs:{changed} They are left out of the comparison.",
               icon=":material/difference:")
comparison = common.comparison(tuple(str(run.path) for run in chosen), tuple(shared),
                               tuple((run.threshold, run.box_level) for run in chosen))
for verdict_sentence in comparison.verdicts:  # the answer first, before the table's columns (browser review)
    st.markdown(f":material/balance: {common.as_text(verdict_sentence)}")
if (ways := threshold_sources_note(comparison.table["threshold from"].tolist())) is not None:
    st.info(common.as_text(ways), icon=":material/tune:")
if comparison.missing_label is not None:  # nothing to draw a ROC curve or compute an AUROC from
    st.info(f"The test images these runs share ({counted(len(shared), 'image')}) hold no "
            f"{comparison.missing_label} image: no ROC curve, image AUROC (nor its intervals), F1 or best threshold "
            "can be computed on them, hence n/a below. Pixel AUROC, AUPRO and timings are each run's own.",
            icon=":material/info:")
elif any(len(run.scores) != len(shared) for run in chosen):
    st.info(f"The runs evaluated different test images; image AUROC, F1 and the ROC curves use the "
            f"{counted(len(shared), 'image')} all of them evaluated. Pixel AUROC, AUPRO and timings are each "
            "run's own.",
            icon=":material/info:")

table = comparison.table
table.insert(1, "description", [run.description for run in chosen])  # not cached: it can change at any time
if comparison.roc is not None:
    st.plotly_chart(comparison.roc, key="compare_roc", alt=comparison.roc_alt, config=common.CHART_CONFIG)
described = table["description"].str.strip().ne("").any()  # an empty column hid the figures
st.dataframe(table, hide_index=True, key="compare_table", placeholder=common.NO_VALUE,  # in a small window (review)
             column_order=[column for column in table.columns if described or column != "description"],
             column_config=common.apart_from_one(table, {
    **common.RUN_TABLE_COLUMNS,
    "image AUROC": st.column_config.NumberColumn(format="%.3f", help="On the test images all chosen runs share."),
    AUROC_INTERVAL: st.column_config.TextColumn(
        width="large",  # "0.763 to 1.000 (perfect separation: too few images)" was cut (browser review)
        help="Where the image AUROC of this kind of test set could lie: DeLong's 95 % interval on the logit scale; "
             "for test images separated perfectly, from the lowest AUROC that separates this many that cleanly in 1 "
             "of 40 test sets, for any scores: a conservative bound, lower than a run with one pair misranked gets, "
             "so not to be compared with other runs' intervals in this column."),
    VERSUS_FIRST: st.column_config.NumberColumn(format="%+.3f", help="This run's image AUROC minus the first run's "
                                                                     "(empty for the first run, the reference)."),
    VERSUS_FIRST_INTERVAL: st.column_config.TextColumn(
        help="Where that difference could lie: 95 % of 1,000 bootstrap resamples of the test images (good and "
             "defective drawn separately, the same for every run); an interval that contains 0 means the test set "
             "cannot tell the two runs apart. Two runs that separate every resample perfectly read +0.000 to +0.000: "
             "not that they are equal, but that this test set has no misjudged part to tell them by."),
    FALSE_ALARMS_SAVED: st.column_config.NumberColumn(
        format=f"%d of {comparison.good_images}",  # "9 of 12", not a bare 9 (numbers review); still sorts as a number
        help=f"At the run's saved threshold: of the {counted(comparison.good_images, 'good image')} compared, "
             f"those it rejects."),
    ESCAPES_SAVED: st.column_config.NumberColumn(
        format=f"%d of {comparison.defective_images}",
        help=f"At the run's saved threshold: of the {counted(comparison.defective_images, 'defective image')} "
             f"compared, those it passes."),
    FALSE_ALARM_INTERVAL: st.column_config.TextColumn(
        help="Where the run's false-alarm rate on the line could lie, from its false alarms among the good images "
             "compared (exact 95 % interval): two runs whose intervals overlap widely may reject good parts "
             "equally often."),
    ESCAPE_INTERVAL: st.column_config.TextColumn(
        help="Where the run's escape rate on the line could lie, from its escapes among the defective images "
             "compared (exact 95 % interval)."),
    "F1 at best threshold": st.column_config.NumberColumn(format="%.3f"),
    "best threshold": st.column_config.NumberColumn(
        format=common.EVERY_DIGIT, help="The F1-optimal threshold on those images, every digit shown: typed back, "
                                        "it judges them as it does here."),
}))
st.subheader("One image across the runs")
image_across_runs(chosen, shared, [(run.threshold, run.box_level) for run in chosen])
