"""Predict: score uploaded images or a folder with a saved run; verdicts, heatmaps, boxes and a CSV."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from typing import Any, Callable, Iterator

import streamlit as st

from ui import common
from vqi_core.dashboard.overlays import inspected_text
from vqi_core.dashboard.run_tables import run_name
from vqi_core.dashboard.scoring import error_zip, judged_again, labelled_check, not_scored_count, overlays_zip, \
    result_cards_order, same_bytes_names, scored_cards
from vqi_core.dashboard.style import DEFECT_TEXT_CSS, GOOD_CSS
from vqi_core.dashboard.threshold import DETECTION_INTERVAL
from vqi_core.datasets import DatasetError, sub_folders
from vqi_core.images import ImageReadError
from vqi_core.localisation import BOX_LEVEL, box_note, boxes_sentence, regions_boxed_text
from vqi_core.methods import method_title
from vqi_core.pipeline import CAPTURE_NOT_CHECKED_NOTE, NOT_SCORED, folder_sources, learnt_from_note, \
    scored_unlike_training_note, upload_sources
from vqi_core.progress import ProgressCallback
from vqi_core.runs import Run, RunError, spreadsheet_csv
from vqi_core.system import home_expanded, same_path
from vqi_core.wording import are, as_sentence, counted, exact_number, fraction, score_beside

RESULTS, CHECK, PAGE = "predict_results", "predict_check_result", "predict_page"
MODES = {"upload": "Upload files", "folder": "A folder on the server",
         "labelled": "Labelled images: check the run"}
PER_PAGE, CARD_SIDE = 12, 400  # px: about twice as wide as a card shows it
#: why "Score images" cannot be pressed yet (a disabled button is no stop for the Tab key: its tooltip says why)
WHAT_TO_SCORE = {"upload": "Upload images above first.", "folder": "Give a folder or an image file above first."}
#: the most images whose overlays the page zips (in memory, scored again when clicked); the command line's predict
#: writes any number
MAX_OVERLAYS_ZIPPED = 200


@contextlib.contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    """A progress callback drawing into one ``st.progress`` bar, removed when the work is done (it said
    "scoring: 5/5" above the results: browser review)."""
    slot = st.empty()
    bar = slot.progress(0.0, text="Scoring…")

    def update(stage: str, done: int, total: int) -> None:
        bar.progress(done / total if total else 0.0, text=f"{stage}: {done}/{total}")

    try:
        yield update
    finally:
        slot.empty()


def score(run: Run, mode: str, files: list[Any], folder: str) -> dict[str, Any]:
    """Score the chosen images a chunk at a time; returns what the results section draws."""
    threshold, box_level = run.threshold, run.box_level  # read once: the cards, the table and the notes agree
    skipped: list[dict[str, str]] = []
    if mode == "upload":
        sources = upload_sources([(upload.name, upload.getvalue()) for upload in files])
    else:
        sources, skipped = folder_sources(folder)
    listed = len(skipped)
    with progress_bar() as progress:
        cards, frame = scored_cards(run, common.run_model(str(run.path)), sources, skipped, progress,
                                    (CARD_SIDE, common.CARD_IMAGE_WIDTH), threshold, box_level)
    # an upload that cannot be decoded is an error (it was chosen); in a folder, a file to skip
    problems = [f"{item['file']}: {item['reason']}" for item in skipped[listed:]] if mode == "upload" else []
    return {"run": run.id, "run_name": run_name(run), "threshold": threshold, "box_level": box_level, "cards": cards,
            "problems": problems, "frame": frame, "skipped": skipped if mode != "upload" else [],
            "sub_folders": [path.name for path in sub_folders(folder)] if mode != "upload" else [],
            "mode": mode, "folder": folder, "uploads": uploaded(files), "scoring": uuid.uuid4().hex,
            "capture_checked": run.report.get("training_capture_ranges") is not None}


def source_text(outcome: dict[str, Any]) -> str:
    """What was scored, in words: the folder (or file) named, or how many files were uploaded."""
    if outcome["mode"] == "upload":
        return f"{counted(len(outcome['uploads']), 'uploaded file')}"
    return common.as_code(outcome["folder"])


def still_chosen(outcome: dict[str, Any], mode: str, files: list[Any], folder: str) -> bool:
    """Whether the images chosen now are the ones these results are of."""
    if mode != outcome["mode"]:
        return False
    if mode == "upload":
        return uploaded(files) == outcome["uploads"]
    return folder == outcome["folder"] or same_path(folder, outcome["folder"])


def uploaded(files: list[Any]) -> list[tuple[str, str]]:
    """Which uploads these are: name and upload id (another file of the same name is another upload)."""
    return sorted((upload.name, upload.file_id) for upload in files)


def check(run: Run, folder: str) -> dict[str, Any]:
    """Score a labelled test set (test/good, test/<defect type>, optional masks) with the run at its saved
    threshold; returns what the check section draws (computed once: the threshold is the saved one)."""
    with progress_bar() as progress:
        checked = labelled_check(run, common.run_model(str(run.path)), folder, progress)
    return {"run": run.id, "run_name": run_name(run), "folder": folder, **checked}


def show_check(outcome: dict[str, Any], saved_now: float) -> None:
    """What the saved threshold does on the labelled images: false alarms and escapes, AUROCs, confusion matrix,
    ROC curve and each defect type (at the threshold saved when they were checked: ``saved_now`` where another
    has been saved since)."""
    for item in outcome["skipped"]:
        st.warning(common.as_text(as_sentence(f"Skipped {item['file']}: {item['reason']}")), icon=":material/warning:")
    for note in outcome["notes"]:
        st.warning(common.as_text(as_sentence(note)), icon=":material/warning:")
    view, metrics, judged = outcome["view"], outcome["metrics"], outcome["judged"]
    not_scored = not_scored_count(judged)
    earlier = outcome["threshold"] != saved_now  # judged at a threshold saved over since
    at = (f"{exact_number(outcome['threshold'])}, the threshold saved when they were checked (now "
          f"{exact_number(saved_now)})" if earlier else f"the saved threshold {exact_number(outcome['threshold'])}")
    st.markdown(f"**{common.as_text(outcome['folder'])}, at {at}:** {view['cost']}")
    figures = common.metric_row()
    figures.metric("Images", outcome["images"], width="content")
    figures.metric("Not scored", not_scored, width="content",
                   help="Files of the test folders that could not be scored (listed above, with the reason): not "
                        "inspected, so neither good nor defective, and not in the figures.")
    for name, key in [("Image AUROC", "image_auroc"), ("Pixel AUROC", "pixel_auroc"), ("AUPRO", "aupro")]:
        figures.metric(name, fraction(metrics.get(key), 3), width="content")
    matrix, curve = common.stretching_row(2, common.HALF_MIN_WIDTH, "predict_check_figures")
    with matrix:
        st.caption("Confusion matrix: rows the actual part, columns the decision")
        st.dataframe(view["confusion"])
    with curve:
        st.plotly_chart(view["roc"], width="stretch", key="predict_check_roc", alt=view["roc_alt"],
                        config=common.CHART_CONFIG)
    if not view["by_type"].empty:
        st.caption(f"By defect type, at {exact_number(outcome['threshold'])}" if earlier else  # as the heading
                   "By defect type, at the saved threshold")  # (browser review)
        common.by_type_table(view["by_type"], {DETECTION_INTERVAL: st.column_config.TextColumn()})
    boxed = [f"{common.as_text(name)} {text}" for name, entry in metrics.get("per_defect_type", {}).items()
             if (text := regions_boxed_text(entry)) is not None]  # what `evaluate --data` prints too (review)
    if (boxes := boxes_sentence(metrics, metrics.get("box_level", BOX_LEVEL))) is not None:
        st.caption(boxes + (f" Annotated defect regions boxed, by type: {', '.join(boxed)}." if boxed else ""))
    misjudged = judged[judged["outcome"].isin(["FP", "FN"])]
    if misjudged.empty and not_scored:  # not a success: a part was not inspected (found by a browser review)
        st.warning(f"Every scored image is judged as labelled, but {counted(not_scored, 'file')} of the test folders "
                   f"could not be scored (listed above): not inspected, neither passed nor rejected.",
                   icon=":material/warning:")
    elif misjudged.empty:
        st.success("Every image is judged as labelled.", icon=":material/check_circle:")
    else:
        st.caption(f"Judged otherwise than labelled: {counted(len(misjudged), 'image')} (FP: a false alarm, "
                   "FN: an escape)")
        st.dataframe(misjudged[["image", "label", "defect_type", "score", "outcome", "path"]], hide_index=True)
    st.download_button("Download every image's decision (CSV)", spreadsheet_csv(judged),
                       file_name=f"check-{outcome['run']}.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", key="predict_check_download")


def check_section(run: Run) -> None:
    """A folder of labelled images, the button that checks the run on them, and the last check's outcome."""
    st.caption("New labelled images from the line, in a folder on the server: test/good and test/<defect type> "
               "(masks optional in ground_truth/<defect type>/<name>_mask.png; no train folder needed). The check "
               "says what the saved threshold does there: its false alarms and escapes.")
    folder = common.typed_path(st.text_input("Folder of labelled images on the server", key="predict_labelled_folder",
                                             persist_state="session"))
    if st.button("Check the run", key="predict_check", type="primary", disabled=not folder,
                 icon=":material/fact_check:", help=None if folder else "Give the folder above first."):
        try:
            st.session_state[CHECK] = check(run, str(home_expanded(folder)))  # ~ as in the sidebar
        except (DatasetError, ImageReadError, RunError, OSError, ValueError) as exc:
            st.session_state.pop(CHECK, None)
            st.error(f"Cannot check the run: {common.as_text(exc)}", icon=":material/error:")
    checked = st.session_state.get(CHECK)
    if checked and checked["run"] != run.id:  # kept, not dropped without a word (review)
        st.info(f"The last check ({common.as_code(checked['folder'])}) was of another run, "
                f"{common.as_text(checked['run_name'])}: choose it in the sidebar to see it again, or press \"Check "
                f"the run\" to check this one.", icon=":material/info:")
    if checked and checked["run"] == run.id:
        if folder and str(home_expanded(folder)) != checked["folder"]:
            st.info(f"This check is of {common.as_code(checked['folder'])}, not of the folder given above: press "
                    f"\"Check the run\" to check that one.", icon=":material/info:")
        if checked["threshold"] != (saved_now := run.threshold):  # the check stays, said to be at the earlier one
            st.info(f"A threshold has been saved since this check ({exact_number(checked['threshold'])}, now "
                    f"{exact_number(saved_now)}): the check below is at the earlier one; press \"Check the run\" to "
                    f"check at the new one.", icon=":material/update:")  # (browser review: it had vanished)
        show_check(checked, saved_now)


def scoring_section(run: Run, mode: str) -> None:
    """Uploads or a folder of unlabelled images, the button that scores them, and the results."""
    files, folder = [], ""
    if mode == "upload":
        files = st.file_uploader("Images to score", accept_multiple_files=True, key="predict_files",
                                 max_upload_size=common.IMAGE_UPLOAD_MB,
                                 help=f"PNG, JPEG, BMP, TIFF or WebP; up to {common.IMAGE_UPLOAD_MB} MB and 64 "
                                      "megapixels each.") or []
    else:
        folder = common.typed_path(st.text_input("Folder (or one image file) on the server", key="predict_folder",
                                                 persist_state="session"))
    ready = bool(files) if mode == "upload" else bool(folder)
    if st.button("Score images", key="predict_score", type="primary", disabled=not ready,
                 icon=":material/play_arrow:", help=None if ready else WHAT_TO_SCORE[mode]):
        try:
            st.session_state[RESULTS] = score(run, mode, files, folder)  # a new list: from its first page
        except (DatasetError, ImageReadError, RunError, OSError, ValueError) as exc:  # OSError: e.g. no permission
            st.session_state.pop(RESULTS, None)
            st.error(f"Cannot score: {common.as_text(exc)}", icon=":material/error:")
    outcome = st.session_state.get(RESULTS)
    if outcome and outcome["run"] != run.id:  # kept, not dropped without a word (browser review)
        st.info(f"The images scored last ({source_text(outcome)}) were scored with another run, "
                f"{common.as_text(outcome['run_name'])}: choose it in the sidebar to see them again, or press "
                f"\"Score images\" to score images with this one.", icon=":material/info:")
    if outcome and outcome["run"] == run.id:
        if outcome["threshold"] != (saved_now := run.threshold):
            st.warning(f"These images were judged at {exact_number(outcome['threshold'])}, the run's threshold when "
                       f"they were scored; it is {exact_number(saved_now)} now.", icon=":material/update:")
            st.button(f"Judge them at {exact_number(saved_now)}", key="predict_rejudge", icon=":material/update:",
                      on_click=lambda: st.session_state.update({RESULTS: rejudged(outcome, saved_now)}),  # as named
                      help="Their scores do not depend on the threshold: each verdict and the CSV's threshold and "
                           "prediction follow the saved threshold, nothing is scored again.")
        if (note := results_note(outcome, run, mode, files, folder)) is not None:
            st.info(note, icon=":material/history:")
        show(outcome, run, overlays_of(run, outcome, files) if still_chosen(outcome, mode, files, folder) else None)


def results_note(outcome: dict[str, Any], run: Run, mode: str, files: list, folder: str) -> str | None:
    """What the results shown are no longer: drawn at the box level in force, or of the images chosen above; in
    one note, with the one thing to do about both."""
    level_changed = outcome["box_level"] != run.box_level
    level = (f"These images' boxes are drawn above box level {exact_number(outcome['box_level'])}, the run's when "
             f"they were scored; it is {exact_number(run.box_level)} now")
    if mode == outcome["mode"] == "upload" and not files:  # Streamlit drops uploads when another page opens
        source = (f"{source_text(outcome)}, no longer chosen above (uploads are dropped when another page opens): "
                  "upload them again to score them again" + (" and draw their boxes above it." if level_changed
                                                             else "."))
    elif not still_chosen(outcome, mode, files, folder):
        chosen_now = bool(files) if mode == "upload" else bool(folder)
        source = f"{source_text(outcome)}, " + (
            "not of the images chosen above: press \"Score images\" to score those." if chosen_now else
            "not of the images chosen above (none are chosen now).")
    else:
        return f"{level}: score them again to draw their boxes above it." if level_changed else None
    return (f"{level}. These results are of {source}" if level_changed else f"These results are of {source}")


def rejudged(outcome: dict[str, Any], threshold: float) -> dict[str, Any]:
    """Scoring results judged at ``threshold`` (:func:`vqi_core.dashboard.scoring.judged_again`)."""
    cards, frame = judged_again(outcome["cards"], outcome["frame"], threshold)
    return {**outcome, "threshold": threshold, "cards": cards, "frame": frame}


def overlays_of(run: Run, outcome: dict[str, Any], files: list[Any]) -> Callable[[], bytes] | None:
    """What makes the ZIP of the results' overlays when its download is clicked (:func:`overlays_zip`, on
    Streamlit's download thread): the images scored again, as ``predict`` saves them; for images still chosen
    above only (uploads are dropped when another page opens), and at most :data:`MAX_OVERLAYS_ZIPPED` of them
    (None above). What goes wrong then is said in the ZIP (Streamlit would say only "Failed to generate file")."""
    if len(outcome["cards"]) > MAX_OVERLAYS_ZIPPED:
        return None
    model = common.run_model(str(run.path))
    threshold, box_level = outcome["threshold"], outcome["box_level"]
    frame = outcome["frame"]
    rows = frame.loc[frame["prediction"] != NOT_SCORED]
    scored = list(zip(rows["image"], rows["sha256"]))

    def make() -> bytes:  # the uploads' bytes read when clicked, not copied at every rerun of the page
        try:
            sources = upload_sources([(upload.name, upload.getvalue()) for upload in files]) \
                if outcome["mode"] == "upload" else folder_sources(outcome["folder"])[0]
            return overlays_zip(run, model, sources, threshold, box_level, scored)
        except common.USER_ERRORS as exc:  # the run or the folder gone meanwhile
            return error_zip(f"The overlays could not be made: {exc}")
    return make


def download_results(outcome: dict[str, Any], overlays: Callable[[], bytes] | None = None) -> None:
    """The downloads of the results table (a row for every file given, those not scored with the reason) and,
    where given, of their overlays."""
    buttons = st.container(horizontal=True)
    buttons.download_button("Download results (CSV)", spreadsheet_csv(outcome["frame"]),
                            file_name=f"predictions-{outcome['run']}.csv", mime="text/csv", on_click="ignore",
                            icon=":material/download:", key="predict_download")
    if overlays is None and len(outcome["cards"]) > MAX_OVERLAYS_ZIPPED:
        st.caption(f"Overlays of more than {MAX_OVERLAYS_ZIPPED} images are not zipped here: `python -m vqi_core "
                   f"predict --run <run> --input <folder> --out <folder>` saves them, as PNG files.")
    if overlays is not None:
        buttons.download_button(
            "Download overlays (ZIP)", overlays, file_name=f"overlays-{outcome['run']}.zip", mime="application/zip",
            on_click="ignore", icon=":material/download:", key="predict_overlays",
            help="A PNG per scored image, as the command line's predict saves it: heatmap and boxes over the image, "
                 "its verdict, score, threshold and run written under it. The images are scored again to draw them, "
                 "which takes about as long as scoring them did.")


def show(outcome: dict[str, Any], run: Run, overlays: Callable[[], bytes] | None) -> None:
    """What was scored with ``run``, per-file problems, counts, the downloads (the overlays' where ``overlays`` can
    make them) and the result cards, defective first, a page at a time."""
    st.markdown(f"**Chosen:** {source_text(outcome)}, judged at threshold {exact_number(outcome['threshold'])}"
                + ("" if outcome["box_level"] == BOX_LEVEL else
                   f", boxes drawn above box level {exact_number(outcome['box_level'])}"))
    for problem in outcome["problems"]:
        st.error(common.as_text(problem), icon=":material/broken_image:")
    for item in outcome["skipped"]:
        st.warning(common.as_text(as_sentence(f"Skipped {item['file']}: {item['reason']}")), icon=":material/warning:")
    repeated = sorted(name for name, uploads in Counter(name for name, _ in outcome["uploads"]).items()
                      if uploads > 1)
    if repeated:
        st.info(f"{counted(len(repeated), 'file name')} {are(len(repeated))} given to more than one upload "
                f"({', '.join(common.as_text(name) for name in repeated[:5])}): their cards and CSV rows carry "
                f"the same name; the first digits of each file's SHA-256 on its card, and the CSV's sha256 column, "
                f"tell the files apart.", icon=":material/info:")
    if twins := same_bytes_names(outcome["frame"]):
        alike = "; ".join(" = ".join(common.as_text(name) for name in names) for names in twins[:3])
        st.info(f"{counted(len(twins), 'file')} {are(len(twins))} scored under more than one name ({alike}"
                f"{'; ...' if len(twins) > 3 else ''}): the same bytes, so the same photo counted more than once in "
                f"the figures above.", icon=":material/content_copy:")
    if outcome["sub_folders"]:
        names = ", ".join(common.as_text(name) for name in outcome["sub_folders"])
        st.info(f"Not searched: {counted(len(outcome['sub_folders']), 'sub-folder')} ({names}). Give one as the "
                "folder to score its images.", icon=":material/folder:")
    cards: list[dict[str, Any]] = outcome["cards"]
    if not cards:
        st.info("No image could be scored.", icon=":material/info:")
        download_results(outcome)  # each file with the reason, as the command line writes it
        return
    defective = sum(c["defective"] for c in cards)
    unlike = sum(bool(c["unlike_training"]) for c in cards)
    unlike_good = sum(bool(c["unlike_training"]) and not c["defective"] for c in cards)
    counts = common.metric_row()
    counts.metric("Images scored", len(cards), width="content")
    counts.metric("Defective", defective, width="content")
    # "Good" had read as all passed, where predict --fail-on-defect passes no image unlike the training ones (QE review)
    counts.metric("Good", len(cards) - defective, width="content",
                  help=f"Scored below the threshold; {unlike_good} of them unlike the training images (Check the "
                       f"capture): check those before passing them." if unlike_good else None)
    counts.metric("Not scored", not_scored_count(outcome["frame"]), width="content",
                  help="Files given that could not be scored (listed above, with the reason): not inspected, "
                       "so neither good nor defective.")
    if outcome["capture_checked"]:  # at a glance beside the verdicts: a camera or lighting fault, not only a bad
        counts.metric("Check the capture", unlike, width="content",  # part, can make them (browser review)
                      help="Images unlike the good training images (brightness, contrast, colour, size, shape, file "
                           "format or bit depth), each also counted as defective or good above: check the lighting, "
                           "the camera and how the images are saved before trusting their verdicts. Their cards say "
                           "how they differ.")
    else:
        st.info(CAPTURE_NOT_CHECKED_NOTE, icon=":material/photo_camera:")
    if unlike:
        st.warning(scored_unlike_training_note(unlike, len(cards), "said on their cards"),
                   icon=":material/photo_camera:")
    if (learnt := learnt_from_note(run, outcome["frame"])):
        st.info(learnt, icon=":material/school:")
    download_results(outcome, overlays)
    choice = st.segmented_control("Show", ["all", "defective", "good"], default="all", required=True,
                                  key="predict_show", persist_state="session",
                                  help="Defective images come first, highest score first.")
    shown = result_cards_order(cards, choice)
    if not shown:
        st.info(f"No {choice} image among these results.", icon=":material/info:")
    page = common.page_number(len(shown), PER_PAGE, PAGE, (outcome["scoring"], choice, outcome["threshold"]))
    st.markdown(common.legend([run], ground_truth=False, box_level=outcome["box_level"]), unsafe_allow_html=True)
    held_out = run.metrics.get("normalisation_images")  # what box level 1 lies above, for the cards' notes
    # as on Inspect: in order, as many to a row as the window has room for, and a longer note never pushes the next
    # row out of line (found by review)
    for card, item in common.wrapping_cards(shown[(page - 1) * PER_PAGE: page * PER_PAGE], "predict"):
        verdict, colour = ("defective", DEFECT_TEXT_CSS) if item["defective"] else ("good", GOOD_CSS)
        with card:
            st.image(item["overlay"], width="stretch", alt=f"{item['name']} with its heatmap and boxes")
            how_unlike = (f"  \n:orange[unlike the training images: {'; '.join(item['unlike_training'])}]"
                          if item["unlike_training"] else "")  # said once (browser review: four times on a card)
            note = box_note(item["defective"], item["boxes"], outcome["box_level"], item.get("broad", 0),
                            held_out=held_out)
            read_as = f"  \n:grey[{item['read_note']}]" if item.get("read_note") else ""  # transparency
            digest = f" :grey[SHA-256 {item['sha256'][:12]}…]" if item["name"] in repeated and item["sha256"] else ""
            st.markdown(f"**{common.as_breakable_text(item['name'])}**{digest}  \n"
                        f"<span style='color:{colour}'>**{verdict}**</span> · "
                        f"score {score_beside(item['score'], outcome['threshold'])} · "
                        f"{counted(item['boxes'], 'box', 'boxes')}{read_as}{how_unlike}"
                        + (f"  \n:grey[{note}]" if note else ""), unsafe_allow_html=True)
    common.pager_below(len(shown), PER_PAGE, PAGE)


st.title("Predict")
current = common.require_run()
saved_value, saved = current.saved_threshold  # with its source and whether anyone chose it, from one reading
threshold_source = str(saved.get("source", "unknown"))
st.caption(f"Run {common.as_code(current.id)} ({common.as_text(method_title(current.config.get('method')))}) at its "
           f"saved threshold {exact_number(saved_value)} ({common.as_text(threshold_source)}); change the run in "
           "the sidebar and the threshold on the Threshold page."
           + (f" It inspects {inspected}." if (inspected := inspected_text(current.config)) else ""))
common.warn_if_set_at_training(current, saved_value, saved)  # judged at all the same: a line's false alarms
if (tried := common.working_threshold(current)[0]) != saved_value:  # Inspect judges at it (browser review)
    st.info(f"{exact_number(tried)} is being tried on the Threshold page and not saved: Inspect judges the test "
            f"images at it, Predict at the saved threshold {exact_number(saved_value)}. Save it there to "
            f"judge new images at it.", icon=":material/info:")
mode = st.radio("Images", list(MODES), horizontal=True, key="predict_mode", format_func=MODES.get,
                persist_state="session")
if mode == "labelled":
    check_section(current)
else:
    scoring_section(current, mode)
