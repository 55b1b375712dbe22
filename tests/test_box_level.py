"""The box level: the normalised map level a run's boxes are drawn above, saved with the run (Run.save_box_level,
`boxes --save`, the Threshold page) and used wherever the run draws or counts boxes."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from dataclasses import replace

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from conftest import shown_table
from synthetic import png_bytes, textured_image

from ui.common import as_text
from vqi_core.archive import export_run_file, import_run
from vqi_core.cli import main
from vqi_core.dashboard.boxes import BoxSlider, box_figures, box_level_history, box_slider, boxes_mark, \
    regions_boxed_frame, run_box_data, run_box_tally, saved_box_counts
from vqi_core.dashboard.run_tables import run_name
from vqi_core.dashboard.scoring import judged_again, result_cards_order
from vqi_core.localisation import BOX_LEVEL, CAPTION_BACKGROUND, CAPTION_MIN_WIDTH, DEFECT_TEXT_RGB, GOOD_RGB, \
    OWN_RANGE_IN_LARGE_VIEW, box_level_warning, box_note, boxes_from_map, boxes_sentence, captioned, normalize_map, \
    render_overlay
from vqi_core.images import transparency_note
from vqi_core.methods.base import Prediction
from vqi_core.pipeline import caption_lines, captioned_overlay, evaluate_run, folder_sources, iter_run_scores, \
    iter_score, map_box_tally, prediction_table, result_row, score_images, upload_sources
from vqi_core.report import run_report_html
from vqi_core.runs import BOX_LEVEL_FILE, MAX_BOX_LEVEL, Run, RunError, RunStore, spreadsheet_csv
from vqi_core.wording import saved_time


def png(image: np.ndarray) -> bytes:
    """``image`` (RGB) as PNG file bytes, for an upload."""
    return cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()


#: on the session's synthetic run, every good test image gets a box at level 1 and none at this level, where every
#: defective image's whole map is still above it (a box over the whole image, which locates nothing)
HIGH = 3.0
#: the level where that run's boxes locate its defects (the maps of its defective images reach 22-34 inside the
#: defects and 8-15 at their lowest)
LOCALISING = 25.0


def test_a_run_draws_boxes_at_1_until_another_level_is_saved_with_its_reason(runs_store):
    run = runs_store.list()[0]
    assert run.box_level == BOX_LEVEL == 1.0 and not (run.path / BOX_LEVEL_FILE).exists()
    assert run.save_box_level(HIGH, "fewer boxes on good parts") is True
    assert run.box_level == HIGH and run.box_level_info["reason"] == "fewer boxes on good parts"
    assert run.save_box_level(HIGH) is False  # the saved one already: nothing written
    assert run.save_box_level(HIGH, "checked again on line 3") is True  # the same level confirmed: recorded
    assert run.box_level_info["reason"] == "checked again on line 3"
    assert run.save_box_level(0.5, saved_by="A. Quality") is True  # who saved it, kept beside it (audit review)
    assert box_level_history(run.box_level_info)["by"].tolist() == ["A. Quality", "", "", ""]
    with pytest.raises(ValueError, match="the name holds a control character"):
        run.save_box_level(0.6, saved_by="A.\x1b[2J")
    info = run.box_level_info
    assert info["level"] == 0.5 and [entry["level"] for entry in info["history"]] == [1.0, HIGH, HIGH]
    assert [entry.get("reason") for entry in info["history"]] == [None, "fewer boxes on good parts",
                                                                  "checked again on line 3"]
    for level, problem in [(0.0, "not 0.0"), (-1, "not -1"), (float("nan"), "not nan"), (1e9, "not 1000000000.0"),
                           (True, "not True")]:
        with pytest.raises(ValueError, match=f"a box level is a number from 0.05 to 100, {problem}"):
            run.save_box_level(level)
    with pytest.raises(ValueError, match="control character"):
        run.save_box_level(0.7, "two\nlines")
    assert run.box_level == 0.5  # nothing refused was written


def test_a_damaged_box_level_file_is_named(runs_store):
    run = runs_store.list()[0]
    (run.path / BOX_LEVEL_FILE).write_text(json.dumps({"level": "low"}))
    with pytest.raises(RunError, match=f"{BOX_LEVEL_FILE} is damaged: a box level is a number"):
        run.check()
    assert "is damaged" in run.problem()


def test_every_overlay_and_count_of_the_run_follows_its_box_level(runs_store):
    run = runs_store.list()[0]
    normalization, good = run.normalization, np.flatnonzero(run.labels == 0)
    assert all(run_box_tally(run, int(index), normalization, run.box_level)[0] > 0 for index in good)
    counts = saved_box_counts(run)
    assert counts is not None and counts["good_images_boxed"] == len(good)  # metrics.json, at level 1
    run.save_box_level(HIGH)
    assert all(run_box_tally(run, int(index), normalization, run.box_level)[0] == 0 for index in good)
    assert saved_box_counts(run) is None  # counted at 1: no longer the run's level
    data = run_box_data(run, normalization)
    counts, by_type = data.hits(run.box_level)
    assert counts["good_images_boxed"] == 0 and counts["defect_regions"] == 10
    assert counts["broad_boxes"] == counts["defective_image_boxes"] == 10 and counts["defect_regions_boxed"] == 0
    assert sum(entry["defect_regions"] for entry in by_type.values()) == 10
    assert boxes_sentence(counts, run.box_level).startswith(
        "Boxes on the test set at box level 3: 0 of 10 annotated defect regions (0.0%) get one; 0 of 10 boxes on "
        "defective images (0.0%) touch a defect; 10 of 10 boxes (100.0%) cover more than half of their image")
    localised, _ = data.hits(LOCALISING)
    assert localised["broad_boxes"] == 0 and localised["boxes_on_defects"] == localised["defective_image_boxes"]
    assert localised["defect_regions_boxed"] >= 8 and localised["good_images_boxed"] == 0
    figures = box_figures(counts)
    assert figures["Good images boxed"] == ("0.0%", "0 of 4. Good test images with at least one box: how often a "
                                                    "good part shows a box.")
    assert box_figures({**counts, "defective_image_boxes": 0})["Boxes on a defect"][0] == "n/a"  # none to count on
    assert list(box_figures({**counts, "defect_regions": None, "defective_image_boxes": None})) == [
        "Defective images boxed", "Good images boxed"]  # what is known without masks (README review)
    assert "Defective images boxed" not in figures  # with masks, the regions tell more
    assert boxes_mark([run]) == "regions above box level 3, where 1 is above every held-out good image's map"
    assert box_note(False, 2, run.box_level) == "2 boxes above box level 3, but the score is below the threshold"
    assert box_note(True, 0) == ("no box: no region is above every held-out good image's map; the score as a whole "
                                 "is at or above the threshold")  # it said "(see the heat)", often too faint to see
    # "every good image's map", though a good test image may get a box (browser review); none held out: the training's
    assert box_note(True, 0, held_out=0).startswith("no box: no region is above every good training image's map; ")
    assert box_note(True, 0, held_out=6) == box_note(True, 0)
    assert box_note(True, 0, own_range=OWN_RANGE_IN_LARGE_VIEW).endswith(
        f"the score as a whole is at or above the threshold ({OWN_RANGE_IN_LARGE_VIEW})")  # where to see it


def test_predict_draws_the_boxes_inspect_draws_on_the_same_image():
    """Found by review: Predict boxed a fresh float32 map, Inspect the saved float16 one, so one image near a
    level got 0 boxes on Predict and 1 on Inspect. A region above the level by less than float16 can tell gets no
    box in either now."""
    raw = np.full((32, 32), 2.0, np.float32)
    raw[8:20, 8:20] = 6.0 + 1e-4  # just above the highest good level (6.0), by less than float16's step there

    class Fixed:  # a fitted model that gives this map
        normalization = {"map_median": 2.0, "map_max": 6.0, "score_max": 9.0}
        image_inspected_area = staticmethod(lambda image_hw: None)  # every pixel

        def predict(self, images, progress=None):
            return Prediction(np.array([1.0]), [raw])

    image = np.zeros((32, 32, 3), np.uint8)
    [result] = score_images(Fixed(), [image], ["part.png"], 0.5, box_level=1.0)
    saved = raw.astype(np.float16).astype(np.float32)  # the map as a run stores it: what Inspect boxes
    assert result.boxes == boxes_from_map(normalize_map(saved, Fixed.normalization), 1.0, image_hw=(32, 32)) == []
    [lower] = score_images(Fixed(), [image], ["part.png"], 0.5, box_level=0.9)
    assert len(lower.boxes) == 1


def test_a_score_at_the_threshold_is_judged_defective_when_scored_and_when_judged_again():
    """The rule every page and command applies (at or above the threshold: defective), pinned where predict scores
    and where the Predict page judges its results again; defective cards come first, highest score first
    (mutation review: none of these was pinned)."""
    class Fixed:
        normalization = {"map_median": 0.0, "map_max": 4.0, "score_max": 9.0}
        image_inspected_area = staticmethod(lambda image_hw: None)  # every pixel

        def predict(self, images, progress=None):
            return Prediction(np.array([2.5, 1.0, 3.0]), [np.zeros((8, 8), np.float32)] * 3)

    image = np.zeros((8, 8, 3), np.uint8)
    results = score_images(Fixed(), [image] * 3, ["at.png", "below.png", "above.png"], 2.5)
    assert [result.defective for result in results] == [True, False, True]
    table = prediction_table([result_row(result, 2.5, "run-1") for result in results], [], 2.5, "run-1")
    cards = [{"name": r.name, "score": r.score, "defective": r.defective} for r in results]
    again, judged = judged_again(cards, table, 1.0)
    assert [card["defective"] for card in again] == [True, True, True] and set(judged["prediction"]) == {"defective"}
    assert [card["name"] for card in result_cards_order(again)] == ["above.png", "at.png", "below.png"]
    again, _ = judged_again(cards, table, 3.0)
    assert [card["name"] for card in result_cards_order(again)] == ["above.png", "at.png", "below.png"]
    assert [card["name"] for card in result_cards_order(again, "good")] == ["at.png", "below.png"]


def test_the_predictions_table_counts_each_rows_broad_boxes():
    """A box over most of the image locates nothing: predictions.csv says how many of a row's boxes are broad, as
    the cards and the counts do (before, its boxes column listed such a box like any other)."""
    raw = np.zeros((32, 32), np.float32)
    raw[2:30, 1:31] = 9.0  # most of the image above the level: one broad box
    spot = np.zeros((32, 32), np.float32)
    spot[4:8, 4:8] = 9.0  # a small spot: a box that locates it

    class Fixed:
        normalization = {"map_median": 0.0, "map_max": 4.0, "score_max": 9.0}
        image_inspected_area = staticmethod(lambda image_hw: None)  # every pixel

        def predict(self, images, progress=None):
            return Prediction(np.array([2.0, 2.0]), [raw, spot])

    image = np.zeros((64, 64, 3), np.uint8)
    results = score_images(Fixed(), [image, image], ["broad.png", "spot.png"], 0.5, box_level=1.0)
    assert [len(result.boxes) for result in results] == [1, 1]
    table = prediction_table([result_row(result, 0.5, "run-1", 1.0) for result in results],
                             [{"file": "gone.png", "reason": "not an image"}], 0.5, "run-1", 1.0)
    assert table["broad_boxes"].tolist()[:2] == [1, 0] and pd.isna(table["broad_boxes"].iloc[2])
    assert list(table.columns).index("broad_boxes") == list(table.columns).index("boxes") + 1
    rows = csv.DictReader(io.StringIO(spreadsheet_csv(table).decode()))  # whole numbers in the file, not 1.0
    assert [row["broad_boxes"] for row in rows] == ["1", "0", ""]  # (found by review)


def _colour_pixels(image: np.ndarray, color: tuple[int, int, int]) -> int:
    return int((np.abs(image.astype(int) - color).sum(axis=2) < 30).sum())


def test_a_saved_overlay_carries_its_verdict_under_the_image():
    """predict's overlay files say what was decided (audit review: they carried no verdict, score or threshold):
    the overlay is kept as it is, with a caption band under it whose first line is in the verdict's colour."""
    spot = np.zeros((32, 32), np.float32)
    spot[4:8, 4:8] = 9.0

    class Fixed:
        normalization = {"map_median": 0.0, "map_max": 4.0, "score_max": 9.0}
        image_inspected_area = staticmethod(lambda image_hw: None)  # every pixel

        def predict(self, images, progress=None):
            return Prediction(np.array([2.0, 0.1]), [spot, np.zeros((32, 32), np.float32)])

    image = np.full((400, 500, 3), 90, np.uint8)  # wider than the narrowest caption: the width is kept
    defective, good = score_images(Fixed(), [image, image], ["bad.png", "good.png"], 0.5, box_level=1.0)
    drawn = captioned_overlay(defective, 0.5, "run-1", 1.0)
    assert drawn.shape[1] == 500 and drawn.shape[0] > 400 + 4 * 14  # verdict, score, boxes, run: a line each
    assert np.array_equal(drawn[:400], render_overlay(image, defective.anomaly_map, defective.boxes))
    band = drawn[400:]
    assert _colour_pixels(band, DEFECT_TEXT_RGB) > 20 and _colour_pixels(band, GOOD_RGB) == 0  # text: the darker
    good_band = captioned_overlay(good, 0.5, "run-1", 1.0)[400:]  # shade, legible on white (browser review)
    assert _colour_pixels(good_band, GOOD_RGB) > 20 and _colour_pixels(good_band, DEFECT_TEXT_RGB) == 0
    small = captioned(np.full((20, 30, 3), 7, np.uint8), [("GOOD", GOOD_RGB)])  # text never shrunk to fit
    left = (CAPTION_MIN_WIDTH - 30) // 2  # centred on the band
    assert small.shape[1] == CAPTION_MIN_WIDTH and (small[:20, left:left + 30] == 7).all()
    assert (small[:20, :left] == CAPTION_BACKGROUND).all() and (small[:20, left + 30:] == CAPTION_BACKGROUND).all()
    wrapped = captioned(np.zeros((20, 30, 3), np.uint8), [("run " + "x" * 120, GOOD_RGB), ("a " * 80, GOOD_RGB)])
    assert wrapped.shape[1] == CAPTION_MIN_WIDTH  # one width whatever the caption: long lines wrap (review)
    assert wrapped.shape[0] > small.shape[0] + 4 * 14
    run_line = captioned(np.zeros((5, 256, 3), np.uint8), [("run 20261205-051707-glass-patchcore-683a", GOOD_RGB)])
    assert run_line.shape[0] == 5 + 6 + 2 * 18  # two rows: "run" stays beside its id, cut where the row is full
    large = captioned(np.zeros((3000, 4000, 3), np.uint8), [("GOOD", GOOD_RGB)])  # fitted to a screen, legible
    assert (large.shape[0] - 3000) / 4000 * 800 >= 0.5 * (small.shape[0] - 20)
    assert [text for text, _ in caption_lines(defective, 0.5, "run-ガラス", 1.0)] == [
        "DEFECTIVE", "score 2 >= threshold 0.5", "1 box above box level 1", "run run-ガラス"]
    assert [text for text, _ in caption_lines(good, 0.5, "run-1", 1.0)] == [
        "GOOD", "score 0.1 < threshold 0.5", "0 boxes above box level 1", "run run-1"]
    no_box = replace(defective, boxes=[])  # the reason the cards give, in the file too (browser review)
    assert [text for text, _ in caption_lines(no_box, 0.5, "run-1", 1.0)][2:4] == [
        "0 boxes above box level 1", box_note(True, 0, 1.0)]
    assert caption_lines(no_box, 0.5, "run-1", 1.0, held_out=0)[3][0] == box_note(True, 0, 1.0, held_out=0)
    assert not np.array_equal(captioned_overlay(no_box, 0.5, "run-1", 1.0, held_out=0),  # passed on to the caption
                              captioned_overlay(no_box, 0.5, "run-1", 1.0))
    broad_map = np.full((32, 32), 9.0, np.float32)  # the whole map above the level: one box over all of it
    broad = replace(defective, anomaly_map=broad_map, broad_boxes=1)
    assert caption_lines(broad, 0.5, "run-1", 1.0)[3][0].startswith("its box covers more than half of the image")
    near = replace(defective, score=0.5000001, unlike_training=["mean grey level 9.0, below ...", "a grey image"])
    assert [text for text, _ in caption_lines(near, 0.5, "run-1", 1.0)][1:6] == [  # how, as the cards say it: the
        "score 0.5000001 >= threshold 0.5", "1 box above box level 1",  # dashboard's ZIP holds no predictions.csv
        "unlike the training images:", "  mean grey level 9.0, below ...", "  a grey image"]  # the prefix once
    assert caption_lines(near, 0.5, "run-1", 1.0)[3][1] == DEFECT_TEXT_RGB  # words: the shade legible on white
    cut_out = replace(near, read_note="40% of its pixels (partly) transparent: darkened, as VQI reads every image "
                                      "over black")
    assert [text for text, _ in caption_lines(cut_out, 0.5, "run-1", 1.0)][3:5] == [  # the file says it too
        cut_out.read_note, "unlike the training images:"]


def test_scoring_says_which_files_were_read_over_black(runs_store, tmp_path):
    """iter_score ties each result to how its file was read (an RGBA cut-out, transparent around the part)."""
    run = runs_store.list()[0]
    rgba = np.dstack([np.full((64, 64, 3), 120, np.uint8), np.full((64, 64), 255, np.uint8)])
    rgba[:8, :, 3] = 0  # an eighth transparent
    cut, whole = iter_score(run.load_model(), upload_sources([("cut.png", png_bytes(Image.fromarray(rgba, "RGBA"))),
                                                             ("whole.png", png_bytes(Image.fromarray(rgba[..., :3])))]),
                            run.threshold, [])
    assert cut.read_note == transparency_note(0.125) and whole.read_note is None
    rows = prediction_table([result_row(result, run.threshold, run.id) for result in (cut, whole)], [], run.threshold,
                            run.id)  # predictions.csv says it too, for a command that saves no overlay to look at
    assert rows["read_as"].tolist() == [transparency_note(0.125), ""]


def test_predict_and_evaluate_use_the_runs_box_level(runs_store, synthetic_root):
    run = runs_store.list()[0]
    sources, skipped = folder_sources(synthetic_root / "widget" / "test" / "good")
    at_one = list(iter_score(run.load_model(), sources, run.threshold, skipped, box_level=run.box_level))
    run.save_box_level(HIGH)
    at_high = list(iter_run_scores(run, sources, []))  # the run's saved level, as predict and the Predict page
    assert all(result.boxes for result in at_one) and not any(result.boxes for result in at_high)
    metrics = evaluate_run(run)["metrics"]
    assert metrics["box_level"] == HIGH and metrics["good_images_boxed"] == 0
    out = runs_store.root.parent / "predicted"  # each row says the level its boxes were drawn at (audit review)
    assert main(["predict", "--run", str(run.path), "--input", str(synthetic_root / "widget" / "test" / "good"),
                 "--out", str(out)]) == 0
    assert pd.read_csv(out / "predictions.csv")["box_level"].tolist() == [HIGH] * len(at_one)
    overlay = cv2.imread(str(next(out.glob("*_overlay.png"))))  # the image and its caption band
    assert overlay.shape[0] > cv2.imread(str(sources[0].origin)).shape[0]


def test_the_boxes_command_shows_a_level_and_saves_it(runs_store, capsys):
    run = runs_store.list()[0]
    assert main(["boxes", "--run", str(run.path), "--level", str(HIGH)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"box level 3 on 14 evaluated test images of run {run.id} (none saved: 1, the default)"
    assert out[1].startswith("Boxes on the test set at box level 3: 0 of 10 annotated defect regions (0.0%) get one")
    assert out[1].endswith("0 of 4 good images (0.0%) get one.") and run.box_level == 1.0  # shown, not saved
    assert main(["boxes", "--run", str(run.path), "--level", "0", "--save"]) == 2
    assert "a box level is a number from 0.05 to 100, not 0.0" in capsys.readouterr().err
    assert main(["boxes", "--run", str(run.path), "--level", "3", "--reason", "why"]) == 2
    assert "--reason says why a saved box level changed: use it with --save" in capsys.readouterr().err
    assert main(["boxes", "--run", str(run.path), "--level", "3", "--save", "--reason", "line 3"]) == 0
    assert run.box_level == HIGH and run.box_level_info["reason"] == "line 3"
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"saved in {run.path}")
    assert main(["boxes", "--run", str(run.path)]) == 0  # the saved level
    assert capsys.readouterr().out.startswith(f"box level 3 on 14 evaluated test images of run {run.id} (saved: 3)")
    (run.path / BOX_LEVEL_FILE).unlink()  # no level saved: said so, not "(saved: 1)" (found by a CLI review)
    assert main(["boxes", "--run", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"box level 1 on 14 evaluated test images of run {run.id} (none saved: 1, the default)")
    # the 64-px parts' defective maps are high all over at level 1: the warning to raise it, from boxes, evaluate
    # and the report alike (a mutation check found none of them tested)
    warning = box_level_warning(run.metrics, 1.0, run.metrics.get("normalisation_images"),
                                "boxes --run <run> --level <level> --save")
    assert warning is not None and "cover more than half of their image at box level 1" in warning
    assert f"Warning: {warning}" in out.splitlines()
    assert main(["evaluate", "--run", str(run.path)]) == 0
    assert f"Warning: {warning}" in capsys.readouterr().out.splitlines()
    assert html.escape(box_level_warning(run.metrics, 1.0, run.metrics.get("normalisation_images"))) in \
        run_report_html(run)


def test_an_archived_run_keeps_its_box_level(runs_store, tmp_path):
    run = runs_store.list()[0]
    run.save_box_level(0.75, "faint defects")
    imported = import_run(export_run_file(run, tmp_path / "run.zip"), RunStore(tmp_path / "elsewhere"))
    assert imported.box_level == 0.75 and imported.box_level_info["reason"] == "faint defects"


def test_the_box_slider_reaches_above_every_map_and_keeps_a_saved_level_with_its_digits():
    assert box_slider(1.0, 0.4) == BoxSlider(3.0, 2, 1.0)  # never below 3
    assert box_slider(1.0, 41.23).top == pytest.approx(41.4)  # just above the peak: no box there
    assert box_slider(1.0, 5000.0).top == MAX_BOX_LEVEL and box_slider(7.5, 0.2).top == 7.5  # the saved one
    slider = box_slider(0.725, 2.0)
    assert slider.decimals == 3 and slider.level(0.725) == 0.725  # on the saved level: its digits stay
    assert slider.level(0.75) == 0.75 and slider.level(0.7000000001) == 0.7
    assert box_slider(0.123456, 2.0).decimals == 4


def test_the_threshold_page_counts_the_boxes_at_a_level_and_saves_it(open_page, app_env):
    run = app_env.list()[0]
    app = open_page("threshold.py")
    app.session_state["threshold_tab"] = "Boxes"
    app.run()

    def figure(label: str) -> tuple[str, str]:
        shown = next(m for m in app.metric if m.label == label)
        return shown.value, shown.help.split(".")[0]

    slider = app.slider(key=f"box_level_{run.id}")
    peak = run_box_data(run, run.normalization).peak
    assert slider.max >= peak > HIGH  # every level that still boxes something can be chosen (review: it ended at 3)
    assert slider.value == 1.0 and figure("Good images boxed") == ("100.0%", "4 of 4")
    slider.set_value(HIGH).run()
    assert figure("Good images boxed") == ("0.0%", "0 of 4")
    assert figure("Regions boxed") == ("0.0%", "0 of 10") and figure("Broad boxes") == ("100.0%", "10 of 10")
    assert any(c.value.startswith("Boxes on the test set at box level 3: 0 of 10") for c in app.caption)
    slider.set_value(LOCALISING).run()
    assert figure("Broad boxes")[1] == "0 of 9" and figure("Boxes on a defect") == ("100.0%", "9 of 9")
    exact = app.number_input(key=f"box_level_exact_{run.id}")
    assert exact.value == LOCALISING  # the entry follows the slider
    exact.set_value(HIGH + 0.02).run()  # and the slider the entry (review: a slider alone, 140 presses from 1 to 8)
    assert app.slider(key=f"box_level_{run.id}").value == HIGH  # its nearest step
    assert any(c.value.startswith(f"Boxes on the test set at box level {HIGH + 0.02:g}: ") for c in app.caption)
    slider.set_value(LOCALISING).run()
    slider.set_value(HIGH).run()
    assert app.number_input(key=f"box_level_exact_{run.id}").value == HIGH
    assert run.box_level == 1.0  # moving the slider saves nothing
    app.text_input(key="box_level_reason").set_value("fewer boxes on good parts")
    app.button(key="box_level_save").click().run()
    assert not app.exception and run.box_level == HIGH
    assert run.box_level_info["reason"] == "fewer boxes on good parts"
    assert app.text_input(key="box_level_reason").value == ""  # not carried over to the next change
    assert [t.value for t in app.toast] == [  # for which run, as the threshold's (review)
        f"Saved box level 3: Inspect, Compare and Predict draw boxes above it. Run: {as_text(run_name(run))}."]
    assert app.toast[0].proto.duration >= 10  # long enough to read (accessibility review)
    app.switch_page("ui/pages/inspect_images.py").run()
    caption = next(c.value for c in app.caption if c.value.startswith("Boxes on the test set"))
    assert caption.startswith("Boxes on the test set at box level 3:")
    assert "0 of 4 good images (0.0%) get one" in caption
    assert any("regions above box level 3, where 1 is above every held-out good image's map" in m.value
               for m in app.markdown)  # the legend (after a run note's details)
    app.switch_page("ui/pages/threshold.py").run()
    app.session_state["threshold_tab"] = "Boxes"
    app.run()
    assert f"Saved box level: 3 (saved {saved_time(run.box_level_info['saved_at'])}: fewer boxes on good parts)." in [
        c.value.replace("\\:", ":") for c in app.caption]  # the time as the histories give it, not ISO 8601
    history = shown_table(app, "box level")
    assert history["box level"].tolist() == ["3", "1"] and history["reason"].tolist() == [
        "fewer boxes on good parts", "the level every run starts with"]


def test_a_box_level_typed_and_saved_at_once_is_the_one_saved(open_page, app_env):
    """A level typed in and the click on "Save box level" that leaves its field reach the server together: the
    level in the field is saved, not the one shown before it was typed (review: 1.5 saved while 2.5 was shown)."""
    run = app_env.list()[0]
    app = open_page("threshold.py")
    app.session_state["threshold_tab"] = "Boxes"
    app.run()
    exact = app.number_input(key=f"box_level_exact_{run.id}")
    exact.set_value(1.5).run()
    app.number_input(key=f"box_level_exact_{run.id}").set_value(2.5)
    app.button(key="box_level_save").click().run()  # the new value and the click in one rerun
    assert not app.exception and run.box_level == 2.5
    assert app.toast[0].value.startswith("Saved box level 2.5:")
    assert app.slider(key=f"box_level_{run.id}").value == 2.5  # the slider follows the level saved
    assert any(c.value.startswith("Saved box level: 2.5 (saved ") for c in app.caption)


def test_a_box_level_edited_by_hand_is_refused_not_taken_as_saved(runs_store):
    """As a threshold's: box_level.json records the SHA-256 of its content, and a level edited by hand is refused
    instead of being shown as saved under the last save's name and reason (report review)."""
    run = runs_store.list()[0]
    assert run.save_box_level(2.0, "fewer boxes", "QE")
    info = json.loads((run.path / BOX_LEVEL_FILE).read_text())
    (run.path / BOX_LEVEL_FILE).write_text(json.dumps({**info, "level": 0.5}))
    with pytest.raises(RunError, match=r"box_level.json is damaged or was edited by hand: its content is not the one "
                                       r"VQI saved .*, so neither the box level in effect nor its history can be "
                                       r"trusted"):
        Run(run.path).check()
    (run.path / BOX_LEVEL_FILE).write_text(json.dumps(info, indent=2))  # the same content: as saved
    assert Run(run.path).box_level == 2.0 and Run(run.path).problem() is None


def test_a_damaged_box_level_history_or_a_deleted_run_is_named_not_a_crash(runs_store):
    """Found by review: a history that was not a list crashed the next save with a TypeError; a run deleted
    meanwhile gave the operating system's 'No such file or directory'."""
    run = runs_store.list()[0]
    (run.path / BOX_LEVEL_FILE).write_text(json.dumps({"level": 0.7, "history": 5}))
    with pytest.raises(RunError, match="its history is not a list of box levels"):
        run.save_box_level(0.8)
    (run.path / BOX_LEVEL_FILE).write_text(json.dumps({"level": 0.7, "history": [{"level": 0}]}))
    with pytest.raises(RunError, match="is damaged: a box level is a number from 0.05 to 100, not 0"):
        run.check()
    (run.path / BOX_LEVEL_FILE).write_text(json.dumps({"level": 0.7, "reason": 5}))
    with pytest.raises(RunError, match="a box level's reason is not a text"):
        run.box_level_info
    shutil.rmtree(run.path)
    with pytest.raises(RunError, match=f"run {run.id} no longer exists .*: the box level was not saved"):
        run.save_box_level(0.8)


def test_the_report_and_predict_name_the_level_their_boxes_were_drawn_at(open_page, app_env):
    run = app_env.list()[0]
    app = open_page("predict.py")
    app.file_uploader(key="predict_files").set_value([("part.png", png(textured_image(64, seed=5)), "image/png")]).run()
    app.button(key="predict_score").click().run()
    assert not app.get("progress")  # gone once scored ("scoring: 1/1" stayed above the results: browser review)
    legend = next(m.value for m in app.markdown if "defective / boxes" in m.value)
    assert "regions above every held-out good image's map" in legend
    run.save_box_level(HIGH)
    app.run()
    assert [info.value for info in app.info if "the run learnt from" not in info.value] == [  # (part.png is one)
        "These images' boxes are drawn above box level 1, the run's when they were scored; it is 3 now: score them "
        "again to draw their boxes above it."]
    assert next(m.value for m in app.markdown if "defective / boxes" in m.value) == legend  # the level drawn at
    app.switch_page("ui/pages/threshold.py").run()
    app.switch_page("ui/pages/predict.py").run()  # the upload is dropped: one note says both, and what to do
    assert [info.value for info in app.info if "the run learnt from" not in info.value] == [
        "These images' boxes are drawn above box level 1, the run's when they were scored; it is 3 now. These "
        "results are of 1 uploaded file, no longer chosen above (uploads are dropped when another page opens): "
        "upload them again to score them again and draw their boxes above it."]
    report = run_report_html(run)
    assert "boxes mark what lies above box level 3 (level 1 is the highest any of them reached); magenta outlines " \
        "are the annotated defects (the ground-truth masks), not what the model found." in report
    assert "<h2>Box level history</h2>" in report and "<td>the level every run starts with</td>" in report
    run.save_box_level(0.8, "faint cracks, QA ticket 12", "A. Quality")  # its reason and who saved it in the report
    assert re.search(r"<td>A. Quality</td>\s*<td>faint cracks, QA ticket 12</td>", run_report_html(run))  # (audit
    run.save_threshold(run.threshold + 1.0, "manual", "QA ticket 13", saved_by="J. Doe")  # review); the threshold's
    assert re.search(r"<td>J. Doe</td>\s*<td>QA ticket 13</td>", run_report_html(run))  # too


def test_the_threshold_page_opens_again_on_the_tab_last_opened(open_page):
    """Found by review: after another page, the Threshold page opened on "Image level" again, so going back to
    the Boxes meant finding the tab anew."""
    app = open_page("threshold.py")

    def boxes_open() -> bool:
        return any(slider.key.startswith("box_level_") for slider in app.slider)

    assert not boxes_open()
    app.session_state["threshold_tab"] = "Boxes"
    app.run()
    assert boxes_open()
    app.switch_page("ui/pages/inspect_images.py").run()
    app.switch_page("ui/pages/threshold.py").run()
    assert boxes_open() and not app.exception


def test_the_per_type_table_gives_shares_in_percent_as_the_figures_do():
    """Found by a browser review: the table showed 97.62% and 100% where the figures above it say 91.7%."""
    frame = regions_boxed_frame({"blob": {"defect_regions": 42, "defect_regions_boxed": 41},
                                 "dust": {"defect_regions": 0, "defect_regions_boxed": 0}})
    assert frame["share boxed"].iloc[0] == pytest.approx(97.619, abs=1e-3) and pd.isna(frame["share boxed"].iloc[1])


def test_a_card_says_when_its_boxes_cover_most_of_the_image(open_page, app_env):
    """Found by a browser review: a box over the whole image, drawn along its edges, read as the thumbnail's
    frame. The 64-px synthetic parts' defective maps are high all over at level 1: each card says so."""
    assert box_note(True, 1, 1.0, 1, OWN_RANGE_IN_LARGE_VIEW) == (
        "its box covers more than half of the image: the map is above every held-out good image's map over most of "
        "it, which "
        "a defect this large or a change over the whole part (lighting, position) can cause; a box this broad does not "
        "show where a defect is (Enlarge can colour the heatmap by the image's own range)")
    # (not "it locates nothing" under a large defect outlined well: browser review)
    assert box_note(True, 1, 1.0, 1).endswith("does not show where a defect is")  # Predict: no large view
    assert box_note(True, 3, 2.0, 1).startswith("1 of its 3 boxes covers more than half of the image: the map is "
                                                "above box level 2 over most of it")
    assert box_note(True, 3, 2.0, 2).startswith("2 of its 3 boxes cover more than half")
    tall = np.zeros((7, 7), np.float32)
    tall[0:6, 0:4] = 3.0  # 24 of 49 map pixels: not broad, whatever size the image it is drawn on (review)
    assert map_box_tally(tall, 1.0) == (1, 0)
    assert box_note(False, 2, 1.0, 2).endswith("; the score is below the threshold")
    run = app_env.list()[0]
    app = open_page("inspect_images.py")
    cards = [m.value for m in app.markdown if "true <span" in m.value]
    defective = [card for card in cards if "**defective**" in card]
    # the grid's cards say it briefly (the whole reason on each of 80 cards buried them: browser review), the
    # large view in full
    assert defective and all("its box covers more than half of the image, too broad to show where a defect is "
                             "(Enlarge says why)" in card and "lighting" not in card for card in defective)
    index = int(np.flatnonzero(run.labels == 1)[0])
    app.button(key=f"inspect_open_{index}").click().run()
    assert any("a change over the whole part (lighting, position) can cause" in c.value for c in app.caption)
    assert box_note(False, 2, 1.0, 2, why_in="here") == (
        "its boxes cover more than half of the image, too broad to show where a defect is (here); the score is below "
        "the threshold")
    assert run_box_tally(run, int(np.flatnonzero(run.labels == 1)[0]), run.normalization, 1.0) == (1, 1)


def test_a_box_level_is_printed_with_every_digit_it_was_saved_with(runs_store, tmp_path, capsys):
    """0.7000001 was printed 0.7 beside a box_level.json holding 0.7000001 (command review)."""
    source = runs_store.list()[0]
    run = Run(shutil.copytree(source.path, tmp_path / source.id))
    assert main(["boxes", "--run", str(run.path), "--level", "0.7000001", "--save"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("box level 0.7000001 on ") and "draws boxes above 0.7000001 from now on" in out
    assert "Boxes on the test set at box level 0.7000001: " in out and run.box_level == 0.7000001
