"""Home: what VQI does, what to do first, the saved runs, and moving a run to another machine."""

from __future__ import annotations

import functools

import streamlit as st

from ui.common import CATEGORY, CURRENT_RUN, NO_VALUE, PAGES, RUN_PARAMETER, RUN_TABLE_COLUMNS, RUNS_UNLISTED, \
    apart_from_one, as_code, as_text, data_choice, problem_read_in_full, runs_dir, saved_runs, set_current_run, \
    show_run_error, store
from vqi_core.archive import AlreadyImported, archive_sha256, import_run, run_archive_bytes, run_archive_or_note
from vqi_core.datasets import DatasetError, list_categories
from vqi_core.dashboard.run_tables import runs_table
from vqi_core.runs import MAX_DESCRIPTION_CHARS, Run, RunError
from vqi_core.wording import counted

IMPORT_RESULT = "home_import_result"
ARCHIVE_UPLOAD_MB = 200  # a default magnetic_tile PatchCore run is a 36 MB archive (2026-12-03)
DESCRIPTION, DESCRIBED, DESCRIBE_ERROR = "home_description", "home_described_run", "home_describe_error"


def import_clicked() -> None:
    """Add the uploaded run archive to the runs folder and make it the current run (a button callback: it runs
    before the sidebar lists the runs, so the new one is listed at once); the outcome is kept for the page."""
    upload = st.session_state.get("home_import_file")
    if upload is None:
        # a file over the limit is never uploaded, and the page had only said to choose one (archive review)
        st.session_state[IMPORT_RESULT] = (
            False, f"Choose a run archive (.zip) first. An archive over {ARCHIVE_UPLOAD_MB} MB is not uploaded "
            f"here: import it on the command line (`python -m vqi_core runs --import <archive>`).")
        return
    archive = upload.getvalue()
    try:
        run = import_run(archive, store())
    except AlreadyImported as exc:  # the very run is here: done, made current, not an error (browser review)
        done = f"{as_text(upload.name)}: {as_text(exc)}"
        try:
            made_current(store().get(exc.run_id))
        except RunError:  # damaged since the check a moment ago: the sidebar and the table say so
            set_current_run(exc.run_id)
    except (RunError, OSError) as exc:  # OSError: a disk that fills up while the archive is unpacked
        st.session_state[IMPORT_RESULT] = (False, f"{as_text(upload.name)} was not imported: {as_text(exc)}")
        return
    else:
        done = f"Imported {as_code(run.id)} from {as_text(upload.name)}"
        made_current(run)
    st.session_state[IMPORT_RESULT] = (True, f"{done}; it is the current run. The archive's SHA-256 is "
                                             f"{as_code(archive_sha256(archive))}: compare it with the one recorded "
                                             f"when the run was approved.")


def made_current(run: Run) -> None:
    """Make an imported ``run`` the current one, the sidebar showing its category where the dataset folder holds
    it, as a link to the run does (it stayed on another: browser review; so did a run imported again: code
    review)."""
    set_current_run(run.id)
    root, _ = data_choice()
    try:
        if run.config.get("category") in list_categories(root):
            st.session_state[CATEGORY] = run.config["category"]
    except (DatasetError, ValueError):  # a wrong folder: the sidebar says what is wrong with it
        pass


def describe_clicked(run: Run) -> None:
    """Store the description typed for ``run`` (a button callback, so the table drawn after it shows it)."""
    text = st.session_state.get(DESCRIPTION, "")
    try:
        had_one = bool(run.description)
        changed = run.describe(text)
    except (RunError, OSError, ValueError) as exc:
        st.session_state[DESCRIBE_ERROR] = run.id, f"The description was not saved: {as_text(exc)}"
        return
    if not changed:  # nothing written: the run's archive keeps its SHA-256 (archive review)
        st.toast(f"The description of {run.id} is unchanged: nothing was written.", icon=":material/edit_note:")
    elif text.strip():
        st.toast(f"Saved the description of {run.id}.", icon=":material/edit_note:", duration="long")
    elif had_one:
        st.toast(f"Removed the description of {run.id}.", icon=":material/edit_note:", duration="long")


def description_editor(run: Run) -> None:
    """The current run's description, editable; the text box starts from what is saved whenever the current run
    or its saved description changes (here, from the command line or another browser), and keeps what is being
    typed while other pages are open."""
    if st.session_state.get(DESCRIBED) != (run.id, run.description):
        st.session_state[DESCRIPTION] = run.description
        st.session_state[DESCRIBED] = (run.id, run.description)
    # no max_chars: the browser dropped a longer paste whole, without a word (archive review); saving says why
    st.text_area("Description of the current run", key=DESCRIPTION, persist_state="session",
                 placeholder="What the run is for and what was decided about it, e.g. \"line 3 candidate; approved "
                             "by QA on 2026-12-02\"",
                 help=f"At most {MAX_DESCRIPTION_CHARS:,} characters. Kept in the run (and in its archive), listed in "
                      f"the run tables and the validation report.")
    st.button("Save description", key="home_describe", on_click=describe_clicked, args=(run,),
              icon=":material/edit_note:")
    show_run_error(DESCRIBE_ERROR, run)


st.title("VQI · visual quality inspection")
st.markdown(
    "VQI learns what a good part looks like from images of defect-free parts only, then scores new images, "
    "shows where the defect is and lets you choose the score at which a part is rejected, with the cost of false "
    "alarms and escapes in plain view. **First** pick a dataset folder and category in the sidebar (the bundled "
    "demo works as is), **then** train a run on the Train page (\"Check the test set\" there first tells you "
    "whether its figures can be trusted). The Threshold page writes a validation report for the quality record.")

root, category = data_choice()
st.caption(f"Dataset: {as_code(root)} · category: {as_code(category or 'none')} · "
           f"runs folder: {as_code(str(runs_dir()))}")

QUICK_LINKS = [("train", "Train a run", ":material/model_training:"),  # in the sidebar's order, read across
               ("inspect", "Inspect the current run", ":material/image_search:"),
               ("threshold", "Choose the threshold", ":material/tune:"),
               ("compare", "Compare runs", ":material/compare:"),
               ("predict", "Score new images", ":material/upload_file:")]
links = st.container(horizontal=True)  # wrapping as the window narrows: three columns cut every label at 800 px
current_run = st.session_state.get(CURRENT_RUN)  # ("Inspect the curren": browser review); each link names the
linked = {RUN_PARAMETER: current_run} if current_run and st.query_params.get(RUN_PARAMETER) == current_run else None
for page, label, icon in QUICK_LINKS:  # run in its address where it can be read (the sidebar put it there), so that
    links.page_link(PAGES[page], label=label, icon=icon, query_params=linked)  # a new tab opens it too (review)

st.subheader("Saved runs")
listed, runs_problem = saved_runs()
saved = {run.id: run for run in listed}
table = runs_table(listed)
if runs_problem is not None:
    st.info(RUNS_UNLISTED, icon=":material/folder_off:")
elif table.empty:
    st.info("No saved run yet: train one on the Train page.", icon=":material/info:")
else:
    current = st.session_state.get(CURRENT_RUN)
    st.caption(f"{counted(len(table), 'run')}; the current run is "
               f"{as_code(current) if current in saved else 'none'}.")
    st.dataframe(table, hide_index=True, column_config=apart_from_one(table, RUN_TABLE_COLUMNS), placeholder=NO_VALUE)
    if current in saved and saved[current].problem() is None:
        description_editor(saved[current])
if DESCRIBE_ERROR in st.session_state:  # not shown by the editor: its run was deleted or damaged as it was saved
    st.error(st.session_state.pop(DESCRIBE_ERROR)[1], icon=":material/error:")  # (widget review: without a word)

# open while an import's outcome is to be shown: the first run imported changes the page above, and the section
# would be drawn closed again, hiding the outcome and the archive's SHA-256; its key keeps it the same section
# (as the engineer left it, open) on the next rerun, when no outcome is left to show (found by review: choosing the
# next archive closed it over its own file uploader)
with st.expander("Move a run to another machine (.zip)", icon=":material/move_item:",
                 expanded=IMPORT_RESULT in st.session_state, key="home_move_run"):
    st.caption("A run archive holds the whole run: the model, the scores and heatmaps of its test images, the "
               "saved threshold and the reports. Import it on the line's machine to score new parts there with "
               "exactly the model that was validated (its test images stay where they were: Inspect shows them "
               "from that folder where it exists, else from the category folder chosen in the sidebar, each checked "
               "against the run's record of the file it scored).")
    current = st.session_state.get(CURRENT_RUN)
    if current in saved and saved[current].problem() is None:
        if (problem := problem_read_in_full(saved[current], export=True)) is not None:
            st.warning(f"The current run is not offered for download: {as_text(problem)}.", icon=":material/warning:")
        else:
            st.download_button("Download the current run (.zip)",
                               functools.partial(run_archive_or_note, saved[current]),
                               file_name=f"{current}.zip", mime="application/zip", on_click="ignore",
                               key="home_export", icon=":material/download:")
            # the import asks to compare the archive's SHA-256 with the one recorded at approval: the export gives
            # it, as `runs --export` prints it (browser review: the dashboard's export gave none to record)
            if st.button("Show the archive's SHA-256", key="home_export_digest", icon=":material/fingerprint:"):
                # of the archive as the download makes it now, shown for this press only: a description, threshold
                # or box level saved later changes the archive (review: a digest kept for the run went stale)
                st.caption(f"SHA-256 of {as_code(current + '.zip')}: "
                           f"{as_code(archive_sha256(run_archive_bytes(saved[current])))}. Record it with the "
                           f"approval: an import of the archive prints it to compare.")
    st.file_uploader("Run archive to import", type=["zip"], key="home_import_file", max_upload_size=ARCHIVE_UPLOAD_MB,
                     help=f"Up to {ARCHIVE_UPLOAD_MB} MB here; import a larger archive on the command line "
                          f"(`python -m vqi_core runs --import <archive>`).")
    st.button("Import the run", key="home_import", on_click=import_clicked, icon=":material/upload:")
    succeeded, message = st.session_state.pop(IMPORT_RESULT, (None, ""))
    if succeeded is True:
        st.success(message, icon=":material/check:")
    elif succeeded is False:
        st.error(message, icon=":material/error:")
