"""Bad input anywhere in the dashboard shows a clear message in the page, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthetic import record_dataset_as, reseal, textured_image, write_mvtec_dataset, write_png
from ui.common import RUNS_UNLISTED, as_code, as_text
from vqi_core.images import MAX_IMAGE_BYTES


def messages(app) -> str:
    """All error and warning texts of the page and sidebar, joined."""
    return " | ".join([e.value for e in app.error] + [w.value for w in app.warning])


def test_nonexistent_dataset_folder(open_page, tmp_path):
    app = open_page("train.py")
    app.text_input(key="data_root").set_value(str(tmp_path / "missing")).run()
    assert not app.exception
    assert "does not exist" in messages(app)
    assert "train_start" not in [b.key for b in app.button]  # the page stops before the form


NO_USER = "~vqi_nobody_56"  # a home folder of a user that does not exist


@pytest.mark.parametrize("page", ["home.py", "train.py", "predict.py"])
def test_a_home_folder_of_a_user_that_does_not_exist_is_said_not_a_traceback(open_page, page):
    """Bad-input review: "~nouser/data" in the sidebar, or in Predict's folder fields, ended in Path.expanduser's
    RuntimeError ("Could not determine home directory") on the page."""
    app = open_page(page)
    app.text_input(key="data_root").set_value(f"{NO_USER}/data").run()
    assert not app.exception
    assert f"there is no user 'vqi_nobody_56' on this machine, so {NO_USER} is no home folder" in \
        messages(app).replace("\\", "")
    if page == "predict.py":
        for mode, field, button in (("folder", "predict_folder", "predict_score"),
                                    ("labelled", "predict_labelled_folder", "predict_check")):
            app.radio(key="predict_mode").set_value(mode).run()
            app.text_input(key=field).set_value(f"{NO_USER}/lot7").run()
            if not app.button(key=button).disabled:
                app.button(key=button).click().run()
            assert not app.exception, mode
            assert "cannot read a dataset folder" not in messages(app), mode  # (browser review: of a folder to score)


def test_dataset_folder_with_the_wrong_layout(open_page, tmp_path):
    write_png(tmp_path / "flat" / "a.png", textured_image(32))
    app = open_page("train.py", data_root=str(tmp_path / "flat"))
    assert not app.exception
    assert "expected MVTec AD layout" in messages(app)


def test_category_with_an_empty_training_set(open_page, tmp_path):
    (tmp_path / "empty" / "train" / "good").mkdir(parents=True)
    write_png(tmp_path / "empty" / "test" / "good" / "a.png", textured_image(32))
    app = open_page("train.py", data_root=str(tmp_path / "empty"))
    assert not app.exception
    assert "holds no readable training image" in messages(app)


@pytest.mark.parametrize("page", ["inspect_images.py", "threshold.py", "predict.py"])
def test_run_folder_deleted_while_open(open_page, app_env, page):
    run = app_env.list()[0]
    app = open_page()
    shutil.rmtree(run.path)
    app.switch_page(f"ui/pages/{page}").run()
    assert not app.exception
    assert "does not exist (deleted from disk" in messages(app)


def test_oversized_upload_is_refused_and_others_still_scored(open_page, tmp_path):
    write_png(tmp_path / "part.png", textured_image(64, seed=5))
    bad_uploads = [("huge.png", b"\x89PNG" + bytes(MAX_IMAGE_BYTES + 1), "image/png"),
                   ("garbage.jpg", b"\xff\xd8 definitely not a jpeg", "image/jpeg")]
    app = open_page("predict.py")
    app.file_uploader(key="predict_files").set_value(
        bad_uploads + [("part.png", (tmp_path / "part.png").read_bytes(), "image/png")]).run()
    app.button(key="predict_score").click().run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert any("huge.png" in e and "50 MB" in e for e in errors)
    assert any("garbage.jpg" in e and "not a readable image" in e for e in errors)
    assert [m.value for m in app.metric if m.label == "Images scored"] == ["1"]  # the readable one

    app.file_uploader(key="predict_files").set_value(bad_uploads).run()
    app.button(key="predict_score").click().run()
    assert not app.exception
    assert any(i.value == "No image could be scored." for i in app.info)


def test_predict_from_a_folder_that_does_not_exist(open_page, tmp_path):
    app = open_page("predict.py")
    app.radio(key="predict_mode").set_value("folder").run()
    app.text_input(key="predict_folder").set_value(str(tmp_path / "nowhere")).run()
    app.button(key="predict_score").click().run()
    assert not app.exception
    assert "Cannot score" in messages(app)


def test_files_vanishing_from_a_run_show_messages(open_page, app_env):
    run = app_env.list()[0]
    maps = dict(np.load(run.path / "maps.npz"))
    (run.path / "maps.npz").unlink()
    app = open_page("inspect_images.py", current_run_id=run.id)
    assert not app.exception  # a run without its maps is not opened half-way
    assert any("cannot be opened" in e.value and "maps.npz is missing" in e.value for e in app.error)
    with zipfile.ZipFile(run.path / "maps.npz", "w") as packed:  # every map listed, the first one not an array
        packed.writestr("m00000.npy", b"not an array")
        for key in sorted(maps)[1:]:
            with packed.open(f"{key}.npy", "w") as member:
                np.lib.format.write_array(member, maps[key])
    app.switch_page("ui/pages/inspect_images.py").run()
    assert not app.exception  # found by the check, which reads every map's header: not opened half-way
    assert any("cannot be opened" in e.value and "the map of image 0 is not an image's map" in e.value
               for e in app.error)
    np.savez_compressed(run.path / "maps.npz", **maps)
    with zipfile.ZipFile(run.path / "maps.npz") as packed:  # the first map's data damaged past its header
        first = packed.getinfo("m00000.npy")
    data = bytearray((run.path / "maps.npz").read_bytes())
    data[first.header_offset + 30 + len(first.filename) + first.compress_size * 3 // 4] ^= 0xFF
    (run.path / "maps.npz").write_bytes(bytes(data))
    app.switch_page("ui/pages/inspect_images.py").run()
    assert not app.exception
    broken = [w.value for w in app.warning if "maps.npz" in w.value]
    assert len(broken) == 1 and broken[0].startswith("The heatmaps cannot be shown")  # once, not per card
    assert any(m.value.startswith("**") for m in app.markdown)  # the cards are listed
    assert not [b for b in app.get("button") if b.proto.label == "Enlarge"]  # with nothing to enlarge
    (run.path / "threshold.json").unlink()
    app.switch_page("ui/pages/threshold.py").run()
    assert not app.exception
    assert any("threshold.json is missing" in e.value for e in app.error)


DAMAGES = {"metrics.json": "{", "config.json": "[1, 2]", "report.json": "{", "description.json": '{"text": 5}',
           "threshold.json": '{"threshold": NaN, "source": "user"}'}


@pytest.mark.parametrize("damaged_file", DAMAGES)
def test_a_damaged_run_is_named_and_every_page_still_works(open_page, app_env, damaged_file):
    """One damaged JSON file in a saved run (a disk fault, a hand edit) must not take the dashboard down: the
    run is listed as unreadable (so it can be deleted), the other runs work, and opening it says which file."""
    intact = app_env.list()[0]
    damaged = app_env.root / f"{intact.id}-damaged"
    shutil.copytree(intact.path, damaged)
    (damaged / damaged_file).write_text(DAMAGES[damaged_file])
    app = open_page(current_run_id=intact.id)
    for page in ["home.py", "train.py", "inspect_images.py", "threshold.py", "compare.py", "predict.py"]:
        app.switch_page(f"ui/pages/{page}").run()
        assert not app.exception, (page, app.exception)
        assert not any("cannot be opened" in e.value for e in app.error), page
    app.switch_page("ui/pages/home.py").run()
    table = app.dataframe[0].value.set_index("run")
    assert table.loc[damaged.name, "description"].startswith(f"cannot be read: {damaged / damaged_file}")
    assert "(cannot be read)" in app.selectbox(key="run_select").format_func(damaged.name)

    app.session_state["current_run_id"] = damaged.name
    for page in ["inspect_images.py", "threshold.py", "predict.py"]:
        app.switch_page(f"ui/pages/{page}").run()
        assert not app.exception, (page, app.exception)
        assert any("cannot be opened" in e.value and f"{damaged_file} is damaged" in e.value for e in app.error)

    app.switch_page("ui/pages/train.py").run()
    app.selectbox(key="delete_choice").set_value(damaged.name).run()
    app.button(key="delete_ask").click().run()
    app.button(key="delete_confirm").click().run()
    assert not app.exception and not damaged.exists() and intact.path.is_dir()


def test_a_category_without_test_images_is_flagged_before_training(open_page, tmp_path):
    for i in range(3):
        write_png(tmp_path / "untested" / "train" / "good" / f"{i}.png", textured_image(32, seed=i))
    app = open_page("train.py", data_root=str(tmp_path / "untested"))
    assert not app.exception
    assert any(w.value.startswith("This category has no test images: a run trained on it cannot be validated")
               and w.value.endswith('Predict\'s "Labelled images: check the run" (or `evaluate --data` on the '
                                    'command line).')  # the page's own way first (review)
               for w in app.warning)
    app.button(key="train_check_test_set").click().run()
    assert not app.exception
    assert "No test images to check." in [i.value for i in app.info]
    assert not any(s.value.startswith("No copies") for s in app.success)


def test_an_unreadable_mask_hides_only_its_outline(open_page, app_env):
    """A ground-truth mask damaged after training: the image and its heatmap still show (the large view says
    why the outline is missing) and the pixel-level view leaves that mask out, saying so."""
    run = app_env.list()[0]
    scores = pd.read_csv(run.path / "scores.csv")
    index = int(next(i for i, p in enumerate(scores["mask_path"]) if isinstance(p, str) and p))
    # gone from its place in the category folder (a mask read from elsewhere makes the run damaged: security review)
    scores.loc[index, "mask_path"] = str(Path(scores.loc[index, "mask_path"]).with_name("broken_mask.png"))
    scores.to_csv(run.path / "scores.csv", index=False)

    app = open_page("inspect_images.py", inspect_selected=(run.id, index))
    assert not app.exception
    assert not any("Cannot show" in m for m in messages(app).split(" | "))
    assert any(w.value.startswith("No ground-truth outline:") and "broken\\_mask.png" in w.value for w in app.warning)

    app.switch_page("ui/pages/threshold.py").run()
    app.session_state["threshold_tab"] = "Pixel level"
    app.run()
    assert not app.exception
    assert any(w.value.startswith("1 ground-truth mask cannot be used (unreadable, or changed since training) and "
                                  "is left out") for w in app.warning)
    assert "Defect pixels flagged" in [m.label for m in app.metric]


@pytest.mark.parametrize("typed", ["/tmp/" + "a" * 300, "/tmp/a\x00b", "   "])
def test_a_dataset_folder_name_the_system_refuses_is_a_message(open_page, typed, synthetic_root):
    """A name too long, a NUL character: a sidebar message on every page, never a traceback; blank is the
    default folder, not the server's working directory."""
    app = open_page("train.py")
    app.text_input(key="data_root").set_value(typed).run()
    assert not app.exception
    if typed.strip():
        assert any(said in messages(app) for said in ("cannot be read", "cannot read", "does not exist"))
    else:
        assert str(synthetic_root) in " ".join(m.value for m in app.markdown)


def test_a_runs_folder_that_is_a_file_is_an_error_in_the_sidebar(open_page, app_env, tmp_path, monkeypatch):
    """Every page still opens; the sidebar says what is wrong beside the (empty) run selector."""
    not_a_folder = tmp_path / "runs.txt"
    not_a_folder.write_text("not a folder")
    monkeypatch.setenv("VQI_RUNS_DIR", str(not_a_folder))
    app = open_page()
    assert [e.value for e in app.sidebar.error] == [
        f"The runs folder {not_a_folder} is a file, not a folder"]
    assert app.selectbox(key="category").value == "widget" and app.selectbox(key="run_select").options == []
    assert not app.exception
    for page in ("home.py", "train.py", "compare.py"):  # each said it again in the page, and Home stopped there
        app.switch_page(f"ui/pages/{page}").run()
        assert not app.exception and [e.value for e in app.error] == [f"The runs folder {not_a_folder} is a file, "
                                                                       f"not a folder"], page  # the sidebar's
        assert [i.value for i in app.info] == [RUNS_UNLISTED], page
    app.switch_page("ui/pages/home.py").run()
    assert app.expander[-1].label == "Move a run to another machine (.zip)"


def test_folder_and_mask_names_that_are_not_utf8_are_named_and_every_page_still_works(open_page, tmp_path):
    """A category folder named in Latin-1 broke every page's sidebar ("surrogates not allowed"), and such a mask
    broke the Train page's table of skipped files with a traceback."""
    root = tmp_path / "data"
    part = write_mvtec_dataset(root / "part", n_train=3, n_test_good=1, n_per_defect=1)
    masks = part / "ground_truth" / "blob"
    os.link(bytes(masks / "000_mask.png"), bytes(masks) + b"/\xe9t\xe9_mask.png")
    shutil.copytree(bytes(part), bytes(root) + b"/caf\xe9")
    shutil.copytree(part / "test", root / "test_only" / "test")  # no train/good: named too (browser review)
    app = open_page("home.py", data_root=str(root))
    assert not app.exception
    assert any(w.value.startswith("Not listed") and "caf\\\\xe9" in w.value for w in app.sidebar.warning)
    assert any(w.value.startswith("Not listed") and "test\\_only\\: no train/good folder" in w.value
               for w in app.sidebar.warning)
    assert app.sidebar.selectbox(key="category").options == ["part"]
    for page in ("train.py", "inspect_images.py", "threshold.py", "compare.py", "predict.py"):
        app.switch_page(f"ui/pages/{page}").run()
        assert not app.exception, page
        if page == "train.py":
            skipped = app.expander[0].dataframe[0].value
            assert str(masks / "\\xe9t\\xe9_mask.png") in list(skipped["file"])


def test_texts_from_a_runs_files_are_shown_as_written_never_as_markdown(open_page, app_env, tmp_path):
    """Found by the security review: a threshold's source and a run's recorded dataset folder, read from the run's
    files (an imported archive's too), were put into captions as markdown, so a link or an image written there
    showed as a link to follow or an image fetched from elsewhere."""
    run = app_env.list()[0]
    link = "[approved, see QA](http://evil.example/phish)"
    threshold = json.loads((run.path / "threshold.json").read_text())
    (run.path / "threshold.json").write_text(json.dumps({**threshold, "source": f"F1 {link}"}))
    reseal(run.path)  # as an archive holds it
    dataset = tmp_path / f"x` {link} `" / "widget"  # breaking out of the `...` it was put in
    record_dataset_as(run.path, dataset)
    for page in ("predict.py", "threshold.py", "inspect_images.py"):
        app = open_page(page)
        assert not app.exception, page
        captions = " | ".join(caption.value for caption in app.caption)
        assert as_text(f"F1 {link}") in captions and f"F1 {link}" not in captions, page
        sidebar = " | ".join(caption.value for caption in app.sidebar.caption)
        assert f"trained on {as_code(str(dataset))}, not on the category chosen above" in sidebar, page
    said = " | ".join(message.value for message in [*app.info, *app.warning])  # Inspect's: where the images are
    assert f"found them in {as_code(str(dataset))}, which is not here" in said
