"""VQI dashboard: ``streamlit run app.py``.

The sidebar holds what every page works on (dataset folder, category, current
run); the pages in ``ui/pages/`` call :mod:`vqi_core` and draw the results.
"""

from __future__ import annotations

import streamlit as st

from ui.common import APP_ICON, CATEGORY, CURRENT_RUN, DATA_ROOT, PAGES, PAGE_STYLE, RUN_PARAMETER, \
    adopt_finished_training, as_code, as_text, chosen_category_folder, data_choice, default_data_root, \
    incomplete_runs_note, runs_dir, saved_runs, set_current_run, training_started_here, user_errors
from vqi_core.dashboard.run_tables import dataset_folder_of, run_labels, runs_of_category
from vqi_core.datasets import DatasetError, incomplete_categories, list_categories, misnamed_categories
from vqi_core.features import hide_torchscript_deprecations
from vqi_core.images import hide_pillow_warnings
from vqi_core.methods import method_title
from vqi_core.runs import Run, readable_runs

#: how often another page than Train looks whether this session's training has ended
TRAINING_FOLLOW_SECONDS = 2.0

st.set_page_config(page_title="VQI · visual quality inspection", page_icon=str(APP_ICON), layout="wide")
hide_pillow_warnings()  # off the server's terminal: VQI names each image it cannot read, Pillow's name no file
hide_torchscript_deprecations()  # VQI traces its backbones by design
st.html(PAGE_STYLE)  # a style alone: drawn on every page, taking no room


def first_category(categories: list[str], readable: list[Run]) -> str | None:
    """The category to show when none is chosen yet: the current run's (on a first visit the newest readable
    run's) where the dataset folder holds it, so that the sidebar opens on what was worked on last; else the
    first one. ``readable``: the saved runs whose files can be read, newest first."""
    current = st.session_state.get(CURRENT_RUN)
    run = next((run for run in readable if run.id == current), None) if current else next(iter(readable), None)
    category = run.config.get("category") if run is not None else None
    return category if category in categories else (categories[0] if categories else None)


def runs_of_chosen_category(readable: list[Run]) -> list[Run]:
    """The readable runs of the category chosen in the sidebar, newest first: those trained on its very folder,
    else (a copied or moved dataset) those trained on a category of its name."""
    return runs_of_category(readable, chosen_category_folder(), st.session_state.get(CATEGORY))


#: the last category the sidebar showed (kept while a dataset folder without categories is typed)
SHOWN_CATEGORY = "shown_category"


def follow_category() -> None:
    """Another category was chosen: its newest run becomes the current run (the current run stays when the
    category has none; the sidebar then says what it was trained on). The runs are listed again: one may have
    been trained since the page was drawn."""
    runs, _ = saved_runs()
    of_category = runs_of_chosen_category(readable_runs(runs))
    if of_category:
        set_current_run(of_category[0].id)


def dataset_sidebar(readable: list[Run]) -> None:
    """Dataset folder and category; a wrong folder shows its problem instead of a traceback. ``readable``: the
    saved runs whose files can be read, newest first."""
    st.session_state.setdefault(DATA_ROOT, default_data_root())
    st.sidebar.text_input(
        "Dataset folder", key=DATA_ROOT,
        help="A folder in MVTec AD layout: <category>/train/good, <category>/test/<good or defect type>, optional "
             "<category>/ground_truth/<defect type>/<name>_mask.png; or a folder of such categories.")
    root, _ = data_choice()
    try:
        categories = list_categories(root)
    except DatasetError as exc:
        st.sidebar.error(as_text(str(exc)), icon=":material/folder_off:")
        categories = []
    except ValueError as exc:  # a NUL character (the system's refusals, such as no permission, are DatasetErrors)
        st.sidebar.error(as_text(f"The dataset folder cannot be read: {exc}"), icon=":material/folder_off:")
        categories = []
    for misnamed in [*misnamed_categories(root), *incomplete_categories(root)] if categories else []:
        st.sidebar.warning(as_text(f"Not listed: {misnamed['file']}: {misnamed['reason']}"),
                           icon=":material/folder_off:")
    previous = st.session_state.get(CATEGORY)
    if previous not in categories:  # a first visit, or another dataset folder
        st.session_state[CATEGORY] = first_category(categories, readable)
        if previous is not None or st.session_state.get(SHOWN_CATEGORY) not in (None, st.session_state[CATEGORY]):
            follow_category()  # the folder changed the category (also by way of a folder without any): as chosen
    if st.session_state[CATEGORY] is not None:
        st.session_state[SHOWN_CATEGORY] = st.session_state[CATEGORY]
    st.sidebar.selectbox("Category", categories, key=CATEGORY, placeholder="no category found",
                         on_change=follow_category,
                         help="The part type to train on: one category folder of the dataset; choosing one makes "
                              "its newest run the current run.")


def adopt_linked_run(readable: list[Run]) -> None:
    """A new session (a reload, a shared link) opened with ``?run=<id>`` works on that run, where it can be read:
    before the sidebar chooses the dataset folder and the category, which then are that run's where its category
    folder is here (a reload had gone back to the dataset folder shown first, which need not hold it). A link to a
    run that is gone or cannot be read says so, rather than working on another run without a word."""
    linked = st.query_params.get(RUN_PARAMETER)
    if CURRENT_RUN in st.session_state or not linked:
        return
    run = next((run for run in readable if run.id == linked), None)
    if run is not None:
        set_current_run(linked)
        if DATA_ROOT not in st.session_state and (folder := dataset_folder_of(run, default_data_root())) is not None:
            st.session_state[DATA_ROOT] = folder  # the folder the run was trained on, not the default one
    else:
        st.toast(f"The link's run {as_code(linked)} is not a readable run in {as_code(str(runs_dir()))}"
                 + (": the sidebar shows another one." if readable else ", which holds none."),
                 icon=":material/link_off:", duration="long")


def run_sidebar(runs: list[Run], readable: list[Run], problem: str | None) -> None:
    """The current run, chosen among the saved runs: those of the chosen category first, then the others, each
    newest first, the others' labels beginning with their category; a run whose files cannot be read (not in
    ``readable``) is listed as such (the pages say what is wrong with it) and never chosen for the user. The
    current run is kept in the page's address (``?run=<id>``), so that a reload or a shared link opens it."""
    if problem is not None:
        st.sidebar.error(problem, icon=":material/folder_off:")
    readable_ids = {run.id for run in readable}
    chosen_category_runs = runs_of_chosen_category(readable)
    of_category = {run.id for run in chosen_category_runs}
    ordered = sorted(runs, key=lambda run: run.id not in of_category)  # stable: newest first within each
    labels = run_labels(ordered, readable_ids, category_first=[run.id for run in ordered if run.id not in of_category])
    current = st.session_state.get(CURRENT_RUN)
    if current is None and readable:
        current = next(iter(chosen_category_runs), readable[0]).id
        set_current_run(current)
    if current in readable_ids:
        st.query_params[RUN_PARAMETER] = current  # again at every rerun: moving to another page clears it
    else:  # gone, or cannot be read: a reload would not open it
        st.query_params.pop(RUN_PARAMETER, None)
    st.session_state["run_select"] = current if current in labels else None
    st.sidebar.selectbox("Current run", list(labels), key="run_select", format_func=labels.__getitem__,
                         placeholder="no saved run yet" if not labels else "choose a run",
                         on_change=lambda: set_current_run(st.session_state["run_select"]),
                         help=f"Saved runs in {runs_dir()} (set VQI_RUNS_DIR to use another folder).")
    if current is not None and current not in labels:
        st.sidebar.warning(f"Run {current} is no longer on disk.", icon=":material/warning:")
    if (incomplete := incomplete_runs_note()) is not None:
        st.sidebar.warning(incomplete, icon=":material/folder_off:")
    run = next((run for run in readable if run.id == current), None)
    folder = chosen_category_folder()
    if run is None or folder is None or run.config.get("dataset") == folder:
        return
    trained_on = as_code(str(run.config.get("dataset")))
    if run.config.get("category") == st.session_state.get(CATEGORY):  # a copied or moved dataset
        st.sidebar.caption(f":material/info: The current run was trained on {trained_on}, not on the category "
                           "chosen above.")
    else:  # another part: easily worked on unnoticed (browser review)
        part = as_text(str(run.config.get("category")))
        st.sidebar.warning(f"The current run is of another part: {part}, trained on {trained_on}, not on the category "
                           f"chosen above. Choose {part} above, or a run of this category (listed first).",
                           icon=":material/warning:")  # what to do (browser review)


@st.fragment(run_every=TRAINING_FOLLOW_SECONDS)
def follow_training() -> None:
    """While this session's training runs and another page than Train (which follows it itself) is open: its
    stage in the sidebar, and the whole app again once it has ended, so that the new run becomes the current run
    there and then, not at the next click (which would then act on the run it replaces)."""
    job = training_started_here()
    if job is None:
        st.rerun()
    status = job.status()
    stage = status.current
    st.caption(f":material/model_training: Training {method_title(status.config.method)}"
               + (f": {stage.name} {stage.done}/{stage.total}" if stage is not None else "")
               + ("; cancelling at the next progress step." if status.cancel_requested
                  else "; the new run becomes the current run when it is done."))


adopt_finished_training()  # before the sidebar shows the current run
runs, runs_problem = saved_runs()
readable = readable_runs(runs)  # each run's small files read once per rerun
adopt_linked_run(readable)
dataset_sidebar(readable)
run_sidebar(runs, readable, runs_problem)
navigation = st.navigation([
    st.Page(PAGES["home"], title="Home", icon=":material/home:", default=True),
    st.Page(PAGES["train"], title="Train", icon=":material/model_training:"),
    st.Page(PAGES["inspect"], title="Inspect", icon=":material/image_search:", url_path="inspect"),
    st.Page(PAGES["threshold"], title="Threshold", icon=":material/tune:"),
    st.Page(PAGES["compare"], title="Compare", icon=":material/compare:"),
    st.Page(PAGES["predict"], title="Predict", icon=":material/upload_file:"),
])
if training_started_here() is not None and navigation.title != "Train":  # a page's title: only in a running app
    with st.sidebar:
        follow_training()
with user_errors():  # e.g. a run folder deleted from disk while a page reads it
    navigation.run()
