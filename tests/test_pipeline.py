"""Train -> run folder -> reload -> score, the run store's atomicity, and the CLI contract."""

import csv
import hashlib
import html
import contextlib
import getpass
import io
import json
import os
import platform
import re
import shutil
import signal
import stat
import struct
import threading
import time
import weakref
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.error import URLError

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
import torchvision.models._api
from PIL import Image

import vqi_core.cli
import vqi_core.dashboard.train_form
import vqi_core.images
import vqi_core.pipeline
import vqi_core.runs
import vqi_core.system

from synthetic import (as_written_before_digests, draw_defect, record_dataset_as, reseal, textured_image,
                       write_mvtec_dataset, write_png, write_twelve_bit_category)
from vqi_core.cli import PREDICT_STAGING, TerminalProgress, error_text, main, negative_numbers_attached, padded
from vqi_core.dashboard.boxes import run_box_data, run_box_tally
from vqi_core.dashboard.image_lists import copied_images, decisions_csv, without_copies_sentence
from vqi_core.dashboard.run_tables import runs_table
from vqi_core.dashboard.scoring import LEFT_OUT_FILE, error_zip, overlays_zip
from vqi_core.dashboard.train_form import split_category_by_part, split_check_summary
from vqi_core.datasets import DatasetError, Sample, category_path, load_category, supervised_split
from vqi_core.localisation import boxes_sentence
from vqi_core.metrics import (BOX_KEYS, LineCosts, ThresholdEvaluator, held_out_counts, image_auroc, minimum_cost_threshold,
                              summary_metrics, threshold_for_false_alarm_rate)
from vqi_core.capture import unlike_training
from vqi_core.images import ImageReadError, read_image
from vqi_core.methods.base import MIN_GOOD_FOR_HOLDOUT
from vqi_core.pipeline import NOT_SCORED, RunConfig, compute_setting, evaluate_run, few_training_images_note, \
    transparent_images_note, \
    folder_sources, iter_run_scores, iter_score, \
    new_run_id, odd_sized_training_images_note, one_score_note, read_samples, \
    tiny_training_images_note, train_run, upload_sources
from vqi_core.pipeline import test_set_metrics as metrics_of_test_set  # not collected as a test
from vqi_core.progress import IMAGE_STAGES, Cancelled
from vqi_core.provenance import data_label, describe_changes, file_sha256, manifest_digest
from vqi_core.methods import create_model
from vqi_core.archive import import_run, run_archive_bytes
from vqi_core.report import run_report_html, training_images_line
from vqi_core.runs import FORMULA_STARTS, Run, RunError, RunStore, changed_settings, spreadsheet_text
from vqi_core.system import locked
from vqi_core.thresholds import cost_sentence, costlier_than_unchecked, set_at_training, slider_axis
from vqi_core.wording import exact_number, interval_bounds, readable_time, saved_time

FAST = {"image_size": [64, 64], "jit": False}
METHOD = "padim"
FAST_ARGS = ["--image-size", "64", "--param", "jit=false"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_mvtec_dataset(tmp_path_factory.mktemp("data") / "widget", n_train=16, n_test_good=6,
                               n_per_defect=5)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Run:
    return train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path_factory.mktemp("runs"))


def test_a_run_whose_test_images_all_score_the_same_says_so(tmp_path):
    """PaDiM with epsilon=1e300 scored every image 0, AUROC 0.5, every part rejected, and the run said nothing
    (bad-input review of 2026-12-05); any model on test images that are all alike does the same."""
    category = write_mvtec_dataset(tmp_path / "data" / "flat", n_train=6, n_test_good=2, n_per_defect=2,
                                   with_masks=False)
    blank = np.full((64, 64, 3), 128, np.uint8)
    for path in (category / "test").rglob("*.png"):
        write_png(path, blank)
    run = train_run(RunConfig(str(category), METHOD, FAST), tmp_path / "runs")
    assert np.ptp(run.score_values) == 0
    assert one_score_note(run.score_values) in run.report["notes"]
    assert one_score_note(run.score_values).startswith(
        f"Every test image scored the same ({exact_number(float(run.score_values[0]))}): the model tells no part "
        f"from another")
    assert one_score_note(np.array([1.0, 1.0 + 1e-12])) is None and one_score_note(np.array([3.0])) is None
    assert one_score_note(np.array([np.nan, np.nan])) is None


def test_run_folder_contents(trained):
    names = {p.name for p in trained.path.iterdir()}
    assert {"config.json", "metrics.json", "scores.csv", "maps.npz", "report.json", "threshold.json", "model"} <= names
    metrics = trained.metrics
    for key in ("image_auroc", "pixel_auroc", "aupro", "fit_seconds", "ms_per_image"):
        assert key in metrics
    assert metrics["image_auroc"] > 0.9 and metrics["pixel_auroc"] > 0.9
    per_type = metrics["per_defect_type"]
    assert sorted(per_type) == sorted(trained.config["defect_types"]) and len(per_type) == 2
    for entry in per_type.values():
        assert entry["images"] == 5 and entry["image_auroc"] > 0.8 and entry["pixel_auroc"] > 0.8
    assert sum(entry["defect_pixel_share"] for entry in per_type.values()) == pytest.approx(1.0)
    config = trained.config
    assert config["method"] == METHOD and config["seed"] == 0 and "torch" in config["versions"]
    assert config["versions"]["python"] == platform.python_version()
    assert re.fullmatch(r"git [0-9a-f]{40}( \(modified\))?|not a git checkout", config["versions"]["vqi_core source"])
    frame = pd.read_csv(trained.path / "scores.csv")
    assert list(frame.columns)[:4] == ["image", "path", "label", "defect_type"]
    assert {"score", "threshold", "prediction"} <= set(frame.columns)
    assert len(frame) == 6 + 2 * 5
    model_files = {p.suffix for p in (trained.path / "model").iterdir()}
    assert model_files <= {".json", ".npz", ".pt"}
    assert metrics["copied_test_images"] == 0 and metrics["image_auroc_without_copies"] is None
    assert trained.report["split_check"]["copies_of_train"] == []
    # the drawn defects raise the grey-level spread of every defective image: a capture cue, noted
    cues = {cue["cue"]: cue for cue in trained.report["split_check"]["capture_cues"]}
    assert cues["grey-level spread"]["auroc"] == 1.0 and "image size" not in cues  # one size: nothing to tell
    assert [note.split(":")[0] for note in trained.report["notes"]] == [
        "A whole-image statistic alone separates the good test images from the defective ones"]


def test_a_run_counts_what_its_boxes_found_as_its_pages_draw_them(trained, capsys):
    """metrics.json says how many annotated defect regions get a box and how many good images get one, from the
    boxes Inspect draws (the saved maps), overall and per defect type; evaluate gives the same counts."""
    metrics, frame = trained.metrics, trained.scores
    normalization = trained.normalization
    drawn = [run_box_tally(trained, index, normalization, trained.box_level)[0] for index in range(len(frame))]
    good = (frame["label"] == "good").to_numpy()
    assert metrics["good_images"] == good.sum() == 6
    assert metrics["good_images_boxed"] == sum(count > 0 for count, is_good in zip(drawn, good) if is_good)
    assert metrics["defective_image_boxes"] == sum(count for count, is_good in zip(drawn, good) if not is_good)
    assert metrics["boxes_on_defects"] + metrics["broad_boxes"] <= metrics["defective_image_boxes"]
    data = run_box_data(trained, normalization)
    assert {key: metrics[key] for key in BOX_KEYS} == data.hits(trained.box_level)[0]
    # 64-px parts: every defective image's whole map is above level 1 (one broad box each, which finds nothing);
    # at three quarters of the highest level a test map reaches, the boxes find the defects
    localised = data.hits(0.75 * data.peak)[0]
    assert metrics["defect_regions"] >= 10 and localised["defect_regions_boxed"] >= 0.8 * metrics["defect_regions"]
    assert localised["broad_boxes"] == 0 and localised["boxes_on_defects"] >= 0.8 * localised["defective_image_boxes"]
    per_type = metrics["per_defect_type"].values()
    assert sum(entry["defect_regions"] for entry in per_type) == metrics["defect_regions"]
    assert sum(entry["defect_regions_boxed"] for entry in per_type) == metrics["defect_regions_boxed"]
    from vqi_core.cli import main
    assert main(["evaluate", "--run", str(trained.path)]) == 0
    assert boxes_sentence(metrics) in capsys.readouterr().out.splitlines()


def test_test_images_that_copy_training_images_are_reported_and_set_aside(dataset, tmp_path, capsys):
    """A good test image that is a training image again, and a defective one that repeats: the run says so,
    names them, gives the AUROC without them; ``check`` finds the same before any training."""
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    shutil.copy(data / "train" / "good" / "003.png", data / "test" / "good" / "again.png")
    shutil.copy(data / "test" / "blob" / "001.png", data / "test" / "blob" / "001_again.png")
    shutil.copy(data / "ground_truth" / "blob" / "001_mask.png", data / "ground_truth" / "blob" / "001_again_mask.png")
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    metrics, check = run.metrics, run.report["split_check"]
    assert [(e["test"], e["copy"], e["rmse"]) for e in check["copies_of_train"]] == [
        ("test/good/again.png", "train/good/003.png", 0.0)]
    assert [(e["test"], e["copy"]) for e in check["repeats_in_test"]] == [("test/blob/001_again.png",
                                                                          "test/blob/001.png")]
    assert metrics["copied_test_images"] == 2
    labels, scores = run.labels, run.score_values
    keep = ~run.scores["image"].isin(["good/again.png", "blob/001_again.png"]).to_numpy()
    assert metrics["image_auroc_without_copies"] == pytest.approx(image_auroc(labels[keep], scores[keep]))
    assert run.scores.set_index("image").loc["good/again.png", "score"] <= run.scores.query("label == 'good'")[
        "score"].median()  # a photo the model was trained on: among the most normal-looking
    notes = run.report["notes"]
    assert len(notes) == 2 and notes[0].startswith("1 of 7 good test images is a copy of a training image")
    assert notes[1].startswith("A whole-image statistic alone separates")  # see test_run_folder_contents
    assert " 1 test image appears more than once" in notes[0]
    assert f"Image AUROC without the 2 copied test images: {metrics['image_auroc_without_copies']:.4f}" in notes[0]
    assert copied_images(run) == {"good/again.png": "train/good/003.png", "blob/001_again.png": "test/blob/001.png"}
    copies_line = without_copies_sentence(run, run.threshold)  # beside the figures they flatter, in the report too
    assert copies_line and html.escape(copies_line) in run_report_html(run)  # (mutation review: not pinned there)
    without = cost_sentence(ThresholdEvaluator(labels[keep], scores[keep]).evaluate(run.threshold))  # the figures of
    assert copies_line.endswith(f"without them, {without[0].lower()}{without[1:]}")  # the others (mutation review)
    assert f" of {int((labels[keep] == 0).sum())} good parts would be rejected" in copies_line  # 6, not the 7 tested

    assert main(["check", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "train/good: 16 images" in out and "test/blob: 6 images, 6 with a mask" in out
    assert "test/good/again.png (good) copies train/good/003.png (good), RMSE 0.000" in out
    lines = out.splitlines()  # each note with its list (command review: the cues' note stood between them)
    copies_note = next(i for i, line in enumerate(lines) if line.startswith("1 of 7 good test images is a copy"))
    assert [line.split(" (")[0] for line in lines[copies_note + 1:copies_note + 3]] == [
        "  test/good/again.png", "  test/blob/001_again.png"]
    assert lines[copies_note + 3].startswith("A whole-image statistic alone separates")
    assert main(["check", "--data", str(data), "--fail-on-copies"]) == 1
    # a repeat inside the test set alone fails it too (mutation review: only copies of training images were pinned)
    (data / "test" / "good" / "again.png").unlink()
    assert main(["check", "--data", str(data), "--fail-on-copies"]) == 1
    capsys.readouterr()
    assert main(["check", "--data", str(dataset), "--fail-on-copies"]) == 0
    assert ("No copies: no test image copies a training image or another test image (16 readable test images and "
            "16 training images compared).") in capsys.readouterr().out


def test_check_escapes_file_names_and_says_what_a_one_class_or_empty_test_set_cannot_show(tmp_path, capsys):
    """Found by review: a test image named with a newline and a terminal escape code split check's output into a
    forged line; with good test images only, the look-alike and capture checks were silently left out (read as a
    pass); with no test image it said 'none of the 0 readable test images copies ...'."""
    data = write_mvtec_dataset(tmp_path / "part", n_train=12, n_per_defect=0, with_masks=False)
    good = data / "test" / "good"
    shutil.copy(data / "train" / "good" / "000.png", good / "new\nline\x1b[31mRED.png")  # a copy: it is named
    Image.new("1", (9000, 9000)).save(data / "train" / "good" / "huge.png")  # listed; refused once decoded
    (good / "empty.png").write_bytes(b"")  # not listed as an image at all (found by review: not counted)
    (good / "damaged.png").write_bytes(b"no PNG data")  # nor this one: counted with the images (bad-input review)
    (good / "notes.txt").write_text("lot 7")
    (good / "lot7.png").mkdir()  # a folder named like an image: not an image (review)
    assert main(["check", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "  train/good: 13 images (1 unreadable: listed below)\n" in out and "huge.png: 9000x9000 pixels" in out
    assert "  test/good: 7 images (2 unreadable; 2 other files not read: listed below)\n" in out
    assert "test/good/new\\nline\\x1b[31mRED.png (good) copies train/good/000.png" in out and "\x1b" not in out
    assert ("The look-alike and capture-cue checks compare good with defective test images: there is no defective "
            "test image, so they were not made.") in out
    assert split_check_summary(str(data), None)["one_class"] in out  # the Train page's check panel says it too
    (good / "lot7.png").rmdir()
    for path in sorted(good.iterdir())[1:]:
        path.unlink()
    assert main(["check", "--data", str(data)]) == 0  # one test image: no "none of the 1 ... copies one of the 12"
    assert ("No copies: no test image copies a training image or another test image (1 readable test image and "
            "12 training images compared).") in capsys.readouterr().out
    for path in good.iterdir():
        path.unlink()
    assert main(["check", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "nothing to check: there is no readable test image" in out and "none of the 0" not in out


def test_run_files_get_the_usual_permissions_not_private_ones(trained):
    """Written through private temporary files and folders, a run still ends up readable as the umask allows
    (a dashboard serving a runs folder, a colleague reading a report)."""
    umask = os.umask(0)
    os.umask(umask)
    assert trained.path.stat().st_mode & 0o777 == 0o777 & ~umask
    for name in ("config.json", "metrics.json", "scores.csv", "report.json", "threshold.json"):
        assert (trained.path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_reloaded_run_reproduces_saved_scores_exactly(trained):
    result = evaluate_run(trained)
    assert result["max_score_difference"] == 0.0
    assert result["metrics"]["per_defect_type"] == trained.metrics["per_defect_type"]
    assert result["metrics"]["balanced_accuracy"] == trained.metrics["balanced_accuracy"] is not None  # was missing


def test_same_seed_same_numbers(dataset, trained, tmp_path):
    again = train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path)
    assert np.array_equal(again.score_values, trained.score_values)
    assert again.config["data_sha256"] == trained.config["data_sha256"]


def test_run_records_every_file_it_used_with_its_sha256(trained, dataset):
    """data_manifest.csv names each training image, test image and mask with its size and SHA-256;
    config.json's data_sha256 is the manifest's digest."""
    manifest = trained.data_manifest
    assert manifest["role"].value_counts().to_dict() == {"train": 16, "test": 16, "mask": 10}
    row = manifest[manifest["file"] == "train/good/003.png"].iloc[0]
    content = (dataset / "train" / "good" / "003.png").read_bytes()
    assert row["bytes"] == len(content) and row["sha256"] == hashlib.sha256(content).hexdigest()
    assert set(manifest[manifest["role"] == "mask"]["file"].str.split("/").str[0]) == {"ground_truth"}
    assert trained.config["data_files"] == 42 and trained.config["data_sha256"] == manifest_digest(manifest)


def test_evaluate_on_new_labelled_images_says_what_the_saved_threshold_does_there(trained, dataset, tmp_path,
                                                                                  capsys):
    """A month later the line has new labelled images: `evaluate --data` tells how the validated run and its
    saved threshold do on them."""
    new = tmp_path / "widget_december"
    shutil.copytree(dataset, new)
    ranges = trained.report["training_capture_ranges"]
    assert not any("unlike" in note for note in evaluate_run(trained, new)["notes"])  # the same images: no note
    for name in ("000.png", "001.png"):  # two good parts photographed darker: scored otherwise
        image = cv2.imread(str(new / "test" / "good" / name))
        cv2.imwrite(str(new / "test" / "good" / name), image // 2)
    result = evaluate_run(trained, new)
    point = ThresholdEvaluator(result["labels"], result["scores"]).evaluate(trained.threshold)
    assert [note for note in result["notes"] if "unlike" in note] == [  # found by review: not said before
        "2 of 6 good images are unlike the good training images (brightness, contrast, colour, size, shape, file "
        "format or bit depth; e.g. "
        f"000.png: {'; '.join(unlike_training(read_image(new / 'test' / 'good' / '000.png'), ranges))}): the model "
        "never learnt what good looks like under these conditions, so their verdicts, good or defective, say little "
        "about the parts; check the capture before reading these figures as the model's."] and ranges
    assert main(["evaluate", "--run", str(trained.path), "--data", str(new)]) == 0
    out = capsys.readouterr().out
    assert "2 of 6 good images are unlike the good training images" in out
    line = next(line for line in out.splitlines() if line.startswith("at the run's saved threshold"))
    assert line.startswith(f"at the run's saved threshold {exact_number(trained.threshold)} (")
    assert f"{point.fp} of {point.fp + point.tn} good parts would be rejected" in line
    assert f"{point.fn} of {point.fn + point.tp} defective parts would pass" in line
    listed = [line for line in out.splitlines() if line.startswith(("  false alarm: ", "  escape ("))]
    assert len(listed) == point.fp + point.fn  # each named with its file
    assert np.bincount(result["labels"]).tolist() == [6, 10]  # the good and the defective test images
    # the 14 images not darkened are the run's own test images again: said (found by review: "not chosen on these")
    assert ("note: 14 of these 16 images are of the run's own test images (the same bytes, by SHA-256; e.g. "
            f"{new / 'test'}") in out
    assert "(F1-optimal on the evaluated test set; chosen on the run's test set, 14 of whose images are among " \
           "these, as noted above): " in line
    elsewhere = tmp_path / "widget_elsewhere"  # new images: the threshold was not chosen on them
    write_mvtec_dataset(elsewhere, n_train=1, n_test_good=3, n_per_defect=2)
    for image in (elsewhere / "test").glob("*/*.png"):
        cv2.imwrite(str(image), cv2.imread(str(image))[::-1])  # other bytes than the run's test images
    decisions = tmp_path / "checks" / "december.csv"  # the check's record (audit review: none from the CLI)
    decisions.parent.mkdir()
    capsys.readouterr()
    assert main(["evaluate", "--run", str(trained.path), "--data", str(elsewhere), "--decisions",
                 str(decisions.parent)]) == 2  # a folder: refused before the images are scored, not after
    assert capsys.readouterr() == ("", f"error: {decisions.parent} is a folder: name a file to write\n")
    (elsewhere / "test" / "blob" / "broken.png").write_bytes(b"not an image")  # a part that cannot be scored
    (elsewhere / "test" / "good" / "torn.png").write_bytes(b"not an image")  # a good part: labelled good
    (elsewhere / "test" / "blob" / "older").mkdir()  # a sub-folder: named, not searched, and no part (review)
    shutil.copy(elsewhere / "test" / "blob" / "000.png", elsewhere / "test" / "blob" / "older" / "000.png")
    (elsewhere / "test" / "good" / "notes.txt").write_text("lot 7")  # not an image: no SHA-256, as in predict's
    assert main(["evaluate", "--run", str(trained.path), "--data", str(elsewhere), "--decisions",  # record (command
                 str(decisions)]) == 0  # review: the check's record had it)
    out = capsys.readouterr().out
    assert "own test images" not in out and "; not chosen on these images): " in out
    assert out.splitlines()[-1] == f"decisions at {exact_number(trained.threshold)} written to {decisions}"
    record = pd.read_csv(decisions, keep_default_na=False)
    notes = record[record["image"] == "good/notes.txt"]
    assert notes["prediction"].tolist() == [NOT_SCORED] and notes["sha256"].tolist() == [""]
    record = record[record["image"] != "good/notes.txt"]
    assert len(record) == len(list((elsewhere / "test").glob("*/*.png"))) > 3  # every image, good and defective
    assert set(record["run"]) == {trained.id} and (record["evaluated_at"] != "").all()
    assert set(record["threshold"]) == {trained.threshold}
    assert record["sha256"].tolist() == [hashlib.sha256(Path(path).read_bytes()).hexdigest()  # each file's, as
                                         for path in record["path"]]  # predict's record has it (QE review)
    broken, torn = record[record["prediction"] == NOT_SCORED].itertuples()  # in the record too (review: left out)
    assert (broken.image, broken.label, broken.defect_type, broken.score, broken.outcome) == (
        "blob/broken.png", "defective", "blob", "", "") and "not a readable image" in broken.problem
    assert (torn.image, torn.label, torn.defect_type) == ("good/torn.png", "good", "good")  # (mutation review)
    # each image named as a run's scores.csv names it: a file name alone stands in several folders (review)
    assert (record["image"] == record["defect_type"] + "/" + record["path"].map(lambda path: Path(path).name)).all()
    record = record[record["prediction"] != NOT_SCORED]
    judged = ThresholdEvaluator(np.where(record["label"] == "defective", 1, 0), record["score"].astype(float)).evaluate(
        trained.threshold)
    assert record["outcome"].value_counts().reindex(["TP", "FP", "FN", "TN"], fill_value=0).tolist() == [
        judged.tp, judged.fp, judged.fn, judged.tn]
    assert f"{judged.fp} of {judged.fp + judged.tn} good parts would be rejected" in out
    escaping = Run(shutil.copytree(trained.path, tmp_path / "escaping" / trained.id))
    escaping.save_threshold(float(escaping.score_values.max()) + 1.0, "test")  # every defective part passes
    capsys.readouterr()
    assert main(["evaluate", "--run", str(escaping.path)]) == 0
    escapes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  escape (")]
    assert len(escapes) == int(escaping.labels.sum()) > 0  # each named (mutation review: escapes were not pinned)
    listed = [float(line.split("(score ")[1].split()[0].rstrip(")")) for line in escapes]
    assert listed == sorted(listed)  # the farthest below the threshold first, as the report lists them (review)
    assert main(["evaluate", "--run", str(trained.path)]) == 0  # its own test set: the threshold was chosen there
    own = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("at the run's saved"))
    assert "; chosen on these test images, so new parts may fare worse: `threshold --preset ...` gives" in own
    copy = Run(shutil.copytree(trained.path, tmp_path / "runs" / trained.id))
    for source, said in [("manual", "(manual; set by hand: if it was chosen by looking at these test images, new "
                                    "parts may fare worse)"),  # found by review: every source was "chosen on ..."
                         ("highest held-out good score", "(highest held-out good score; set from the good training "
                                                         "images, not chosen on these test images)"),
                         ("benchmark", "(benchmark; its source does not say whether it was chosen on these test "
                                       "images)")]:
        copy.save_threshold(copy.threshold + 1.0, source)
        assert main(["evaluate", "--run", str(copy.path)]) == 0
        assert said in capsys.readouterr().out


def test_evaluate_needs_only_the_test_images(trained, dataset, tmp_path, capsys):
    """New labelled images from the line need no training folder: the model is already trained."""
    new = tmp_path / "line_week_49"
    shutil.copytree(dataset / "test", new / "test")
    shutil.copytree(dataset / "ground_truth", new / "ground_truth")
    assert evaluate_run(trained, new)["metrics"] == evaluate_run(trained, dataset)["metrics"]
    disputed = new / "test" / "good" / "disputed.png"  # a defective part the line labelled good
    next(path for path in sorted((new / "test").glob("*/*.png")) if path.parent.name != "good").rename(disputed)
    result = evaluate_run(trained, new)
    assert main(["evaluate", "--run", str(trained.path), "--data", str(new)]) == 0
    out = capsys.readouterr().out
    assert "image AUROC" in out and f"  false alarm: {disputed} (score " in out
    point = ThresholdEvaluator(result["labels"], result["scores"]).evaluate(trained.threshold)
    assert point.fp >= 1 and out.count("  false alarm: ") == point.fp and out.count("  escape (") == point.fn
    assert main(["evaluate", "--run", str(trained.path), "--data", str(new / "test")]) == 2
    assert f"{new / 'test'} is a test folder itself: give the folder that holds it, {new}" in capsys.readouterr().err


def test_evaluate_on_images_of_one_class_says_what_cannot_be_measured(trained, dataset, tmp_path, capsys):
    """Found by an audit review: good images alone gave "0 of 0 defective parts would pass (escapes, n/a)" and no
    word that escapes cannot be measured."""
    good_only, defective_only = tmp_path / "good_only", tmp_path / "defective_only"
    shutil.copytree(dataset / "test" / "good", good_only / "test" / "good")
    shutil.copytree(dataset / "test" / "blob", defective_only / "test" / "blob")
    assert main(["evaluate", "--run", str(trained.path), "--data", str(good_only)]) == 0
    assert "note: no defective image among these: escapes cannot be measured here, nor the image AUROC" in \
        capsys.readouterr().out
    assert main(["evaluate", "--run", str(trained.path), "--data", str(defective_only)]) == 0
    assert "note: no good image among these: false alarms cannot be measured here, nor the image AUROC" in \
        capsys.readouterr().out


def test_evaluate_on_new_images_says_when_their_masks_mark_no_defect(trained, dataset, tmp_path, capsys):
    """Masks saved as 0/1 instead of 0/255 read all black: training said so, evaluate --data gave "pixel AUROC n/a"
    without a reason, or counted those images' pixels as defect-free without a word; then (review of 2026-12-04)
    they were called all black, and their defect pixels still counted as defect-free: now they are named with
    their highest value and left out of the pixel metrics, as unreadable masks are."""
    new = tmp_path / "line_week_50"
    shutil.copytree(dataset / "test", new / "test")
    shutil.copytree(dataset / "ground_truth", new / "ground_truth")
    masks = sorted((new / "ground_truth").glob("*/*_mask.png"))
    cv2.imwrite(str(masks[0]), (cv2.imread(str(masks[0]), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8))  # 0/1
    assert main(["evaluate", "--run", str(trained.path), "--data", str(new)]) == 0
    assert (f"note: 1 mask could not be read, so its image is left out of pixel AUROC and AUPRO, as an image "
            f"without a mask is. {masks[0]}: the mask's highest value is 1, so it marks no pixel above 127 (a 0/1 "
            f"mask?); masks mark defect pixels white (> 127), e.g. 255.") in capsys.readouterr().out
    for mask in masks:
        cv2.imwrite(str(mask), (cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8))
    result = evaluate_run(trained, new)
    assert result["metrics"]["pixel_auroc"] is None and result["metrics"]["aupro"] is None
    marking = sum(bool(cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE).any()) for mask in masks)  # drawn defects
    assert marking >= len(masks) - 1 and any(note.startswith(f"{marking} masks could not be read") and
                                             "(a 0/1 mask?)" in note for note in result["notes"]), result["notes"]


def test_evaluate_on_new_images_names_those_the_run_learnt_from(trained, dataset, tmp_path, capsys):
    """A folder that holds a training image again (by its bytes, wherever it lies) gave flattering figures without
    a word (review of 2026-12-03: a CAM run evaluated on its own labelled images scored AUROC 1.0)."""
    new = tmp_path / "line_week_51"
    shutil.copytree(dataset / "test", new / "test")
    training_image = sorted((dataset / "train" / "good").glob("*.png"))[0]
    shutil.copy(training_image, new / "test" / "good" / "again.png")
    assert main(["evaluate", "--run", str(trained.path), "--data", str(new)]) == 0
    assert (f"note: 1 of these {len(list((new / 'test').glob('*/*.png')))} images is an image the run learnt from "
            f"(the same bytes as its training images, by SHA-256; e.g. {new / 'test' / 'good' / 'again.png'}): the "
            f"figures on them are better than on new parts") in capsys.readouterr().out
    (new / "test" / "good" / "again.png").unlink()
    assert not any("learnt from" in note for note in evaluate_run(trained, new)["notes"])


def test_a_test_image_that_copies_a_training_image_is_still_one_the_threshold_was_chosen_on(dataset, tmp_path,
                                                                                            capsys):
    """Found by review: evaluating glass's good test images, copies of its training images, said the F1-optimal
    threshold was "not chosen on these images"; they are named as images the run learnt from, and are among the
    test images it was chosen on."""
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    shutil.copy(sorted((data / "train" / "good").glob("*.png"))[0], data / "test" / "good" / "copy.png")
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    lot = tmp_path / "lot" / "test"
    (lot / "good").mkdir(parents=True)
    shutil.copy(data / "test" / "good" / "copy.png", lot / "good" / "copy.png")
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run.path), "--data", str(lot.parent)]) == 0
    out = capsys.readouterr().out
    assert "note: 1 of these 1 image is an image the run learnt from" in out
    assert "lot/test/good/copy.png; it is also one of its test images): the figures on them" in out
    assert "of the run's own test images" not in out  # named once, as learnt from (mutation review: not pinned)
    assert "; chosen on the run's test set, 1 of whose images is among these, as noted above): " in out
    shutil.copy(data / "test" / "good" / sorted(os.listdir(data / "test" / "good"))[0], lot / "good" / "own.png")
    assert main(["evaluate", "--run", str(run.path), "--data", str(lot.parent)]) == 0
    out = capsys.readouterr().out  # the notes' counts add up to the threshold line's (command review: 1 beside 2)
    assert "note: 1 of these 2 images is an image the run learnt from" in out
    assert "note: 1 of these 2 images is one of the run's own test images" in out
    assert "; chosen on the run's test set, 2 of whose images are among these, as noted above): " in out


def test_runs_from_before_data_manifests_say_so(trained, tmp_path, capsys):
    older = Path(shutil.copytree(trained.path, tmp_path / "older"))
    (older / "data_manifest.csv").unlink()
    config = json.loads((older / "config.json").read_text())
    (older / "config.json").write_text(json.dumps({k: v for k, v in config.items() if not k.startswith("data_")}))
    run = Run(older)
    assert run.data_manifest is None and data_label(run.config) == "not recorded"
    assert evaluate_run(run)["data_changes"] is None and describe_changes(None) == ""
    assert describe_changes({"changed": [], "missing": [], "added": []}) == ""
    capsys.readouterr()
    assert main(["evaluate", "--run", str(older)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2].startswith("data files: not recorded") and printed[-1] == (
        "reproduces its record: its test files not recorded, so not checked, every image judged as its saved score is")


def test_a_run_on_a_copy_of_its_data_has_the_same_digest_a_changed_file_another(dataset, trained, tmp_path, capsys):
    """The digest depends on the files' bytes and names in the category, not on where the folder lies; after
    a test image and a mask change and one test image is removed, ``evaluate`` names them."""
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    assert run.config["data_sha256"] == trained.config["data_sha256"]
    assert evaluate_run(run)["data_changes"] == {"changed": [], "missing": [], "added": []}

    image = cv2.imread(str(data / "test" / "good" / "001.png"))
    cv2.imwrite(str(data / "test" / "good" / "001.png"), 255 - image)
    mask = data / "ground_truth" / "blob" / "002_mask.png"
    mask.write_bytes(mask.read_bytes() + b"\0")  # the same pixels, other bytes: still a change
    (data / "test" / "blob" / "000.png").unlink()
    (data / "ground_truth" / "blob" / "000_mask.png").unlink()
    (data / "ground_truth" / "blob" / "001_mask.png").write_bytes(b"garbage")  # there, but no longer readable
    assert main(["evaluate", "--run", str(run.path)]) == 0  # said; a line's script asks for an exit status
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2] == (
        "Since the run was trained, its data files differ: 2 changed (ground_truth/blob/002_mask.png, "
        "test/good/001.png); 3 missing or unreadable (ground_truth/blob/000_mask.png, "
        "ground_truth/blob/001_mask.png, test/blob/000.png).")
    assert printed[-1].startswith("does not reproduce its record: 5 test files changed, missing or unreadable since "
                                  "training (named above)")
    assert main(["evaluate", "--run", str(run.path), "--fail-on-changes"]) == 1
    # found by review: with an image gone, the comparison with the saved scores was left out without a word
    compared = next(line for line in printed if line.startswith("largest difference from the saved scores: "))
    n_test = len(run.scores)
    assert compared.endswith(f" (over the {n_test - 1} of {n_test} test images still readable)")
    assert float(compared.split(": ")[1].split()[0]) > 0  # the inverted image scores otherwise
    changed = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    assert changed.config["data_sha256"] != run.config["data_sha256"] and changed.config["data_files"] == 39


def test_evaluate_leaves_out_a_mask_that_has_gone_or_broken_since_training_and_says_so(dataset, tmp_path, capsys):
    """A mask deleted or overwritten after training leaves its image out of the pixel metrics, named with the
    reason, instead of ending the evaluation; the image metrics are those of every image."""
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    (data / "ground_truth" / "blob" / "001_mask.png").unlink()
    (data / "ground_truth" / "blob" / "003_mask.png").write_text("not a mask")
    result = evaluate_run(run)
    assert result["max_score_difference"] == 0.0 and result["metrics"]["image_auroc"] == run.metrics["image_auroc"]
    assert result["metrics"]["pixel_auroc"] > 0.9
    reasons = {Path(item["file"]).name: item["reason"] for item in result["skipped"]}
    assert reasons["001_mask.png"] == "mask ignored: the file is missing"
    assert reasons["003_mask.png"].startswith("mask ignored: not a readable image (") and len(reasons) == 2
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run.path)]) == 0
    assert f"skipped {data / 'ground_truth' / 'blob' / '001_mask.png'}: mask ignored: the file is missing" in \
        capsys.readouterr().out.splitlines()


def test_masks_that_mark_no_defect_pixel_are_named_in_the_run_notes(dataset, tmp_path, capsys):
    """All-black masks give no pixel AUROC (nothing to find) or quietly count their images as defect-free pixels:
    the run says which masks they are, and why the pixel metrics are missing when every mask is black."""
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    masks = sorted((data / "ground_truth" / "blob").glob("*_mask.png"))
    cv2.imwrite(str(masks[0]), np.zeros(cv2.imread(str(masks[0])).shape[:2], np.uint8))
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    assert run.metrics["pixel_auroc"] is not None
    assert f"1 mask of defective test images is all black, marking no defect pixel (blob/{masks[0].stem[:3]}.png)" \
        in run.report["notes"][0]
    for mask in data.glob("ground_truth/*/*_mask.png"):
        cv2.imwrite(str(mask), np.zeros(cv2.imread(str(mask)).shape[:2], np.uint8))
    broken = data / "train" / "good" / "zz_broken.png"
    broken.write_bytes(b"not an image")
    capsys.readouterr()
    assert main(["train", "--data", str(data), "--method", METHOD, "--image-size", "64", "--runs",
                 str(tmp_path / "runs")]) == 0
    printed = capsys.readouterr().out.splitlines()
    run = Run(Path(printed[-1]))
    assert run.metrics["pixel_auroc"] is None and run.metrics["aupro"] is None
    skipped = printed.index(f"skipped 1 file: also in {run.path / 'report.json'}")  # named as check names them
    assert printed[skipped - 1] == f"skipped {broken}: {run.report['skipped'][0]['reason']}"
    assert any(note.startswith("Every mask of the defective test images marks no defect pixel (all black: ")
               and note.endswith("so pixel AUROC and AUPRO cannot be measured: check that the masks mark defects "
                                 "white (> 127)") for note in run.report["notes"])


def test_a_mask_that_marks_every_pixel_is_named_in_the_run_notes(dataset, tmp_path):
    """An all-white mask (most likely inverted) took pixel AUROC from 0.96 to 0.72 without a word (bad-input review
    of 2026-12-05)."""
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    mask = sorted((data / "ground_truth" / "scratch").glob("*_mask.png"))[0]
    cv2.imwrite(str(mask), np.full(cv2.imread(str(mask)).shape[:2], 255, np.uint8))
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    assert (f"1 mask of defective test images marks every pixel as defect (all white: scratch/{mask.stem[:3]}.png): "
            f"an inverted mask (defects are white on black) or a placeholder? Pixel AUROC and AUPRO count every "
            f"pixel of that image as defective") in run.report["notes"]
    assert sum("all white" in note for note in run.report["notes"]) == 1  # the drawn defects' masks: not named


@pytest.mark.parametrize("method", ["padim", "patchcore"])
def test_a_set_over_the_memory_budget_is_decoded_batch_by_batch_with_the_same_results(dataset, tmp_path, method,
                                                                                      monkeypatch):
    """With no memory for decoded images, a run decodes them from their files at each pass: it never holds
    more than about two batches of them, and every number it writes is the same."""
    params = {**FAST, "batch_size": 4}
    in_memory = train_run(RunConfig(str(dataset), method, params), tmp_path / "in_memory")
    alive, decoded = [0, 0], [0]
    reading = vqi_core.images.read_image

    def counted_read(*args, **kwargs):
        image = reading(*args, **kwargs)
        alive[0] += 1
        alive[1] = max(alive[1], alive[0])
        decoded[0] += 1
        weakref.finalize(image, lambda: alive.__setitem__(0, alive[0] - 1))
        return image

    monkeypatch.setattr(vqi_core.images, "read_image", counted_read)
    from_files = train_run(RunConfig(str(dataset), method, params, image_memory_mb=0), tmp_path / "from_files")
    assert decoded[0] >= 2 * (16 + 16)  # training and test images decoded again, at least twice each
    assert alive[1] <= 2 * 4 + 2  # two batches (one being replaced) and a pair compared by the copy check
    assert np.array_equal(from_files.score_values, in_memory.score_values)
    for key in ("image_auroc", "pixel_auroc", "aupro", "per_defect_type"):
        assert from_files.metrics[key] == in_memory.metrics[key]
    assert from_files.report["split_check"] == in_memory.report["split_check"]
    assert from_files.report["training_capture_ranges"] == in_memory.report["training_capture_ranges"]
    assert from_files.config["request"]["image_memory_mb"] == 0


def test_cancel_leaves_no_run_and_keeps_earlier_ones(dataset, tmp_path):
    earlier = train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path)
    before = (earlier.path / "metrics.json").read_bytes()

    def cancel_at_evaluation(stage, done, total):
        if stage == "evaluation" and done > 0:
            raise Cancelled()

    with pytest.raises(Cancelled):
        train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path, cancel_at_evaluation)
    assert [run.id for run in RunStore(tmp_path).list()] == [earlier.id]
    assert [p.name for p in tmp_path.iterdir()] == [earlier.id]  # no staging folder left behind
    assert (earlier.path / "metrics.json").read_bytes() == before


def test_incomplete_folder_is_never_listed(tmp_path, trained):
    (tmp_path / "half-written").mkdir()
    (tmp_path / "half-written" / "config.json").write_text("{}")
    assert RunStore(tmp_path).list() == []
    with pytest.raises(RunError, match="not a complete run"):
        Run(tmp_path / "half-written")


def score_folder(run: Run, folder: Path) -> tuple[list, list[dict[str, str]]]:
    """Every result of a folder scored with a saved run at its threshold, and the skipped files."""
    sources, skipped = folder_sources(folder)
    return list(iter_score(run.load_model(), sources, run.threshold, skipped)), skipped


def test_a_twelve_bit_camera_read_at_its_bit_depth_shows_defects_lost_at_sixteen_bits(tmp_path, capsys):
    data = write_twelve_bit_category(tmp_path / "mono12")
    as_sixteen = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    as_twelve = train_run(RunConfig(str(data), METHOD, {**FAST, "bit_depth": 12}), tmp_path / "runs")
    assert as_sixteen.metrics["image_auroc"] < 0.8 and as_twelve.metrics["image_auroc"] >= 0.9
    assert any(note.startswith("Every good training image is a 16-bit file and very dark")
               for note in as_sixteen.report["notes"])
    assert not any("16-bit" in note for note in as_twelve.report["notes"])
    assert as_twelve.config["params"]["bit_depth"] == 12 and changed_settings(as_twelve.config).endswith("bit_depth=12")
    first = as_twelve.scores["path"].iloc[0]
    assert np.array_equal(as_twelve.image(0), read_image(first, bit_depth=12)) and as_twelve.image(0).max() > 100
    results, skipped = score_folder(Run(as_twelve.path), data / "test" / "spot")  # new files: read the same way
    saved = as_twelve.scores.set_index("image")["score"]
    assert not skipped and [r.score for r in results] == pytest.approx([saved[f"spot/{r.name}"] for r in results],
                                                                       rel=1e-5)
    assert main(["train", "--data", str(data), "--method", METHOD, "--runs", str(tmp_path / "cli"),
                 "--image-size", "64", "--param", "jit=false", "--bit-depth", "12"]) == 0
    assert RunStore(tmp_path / "cli").list()[0].config["params"]["bit_depth"] == 12
    capsys.readouterr()
    assert main(["check", "--data", str(data), "--fail-on-copies"]) == 1  # 16 grey levels: distinct parts alike
    assert "Every good training image is a 16-bit file and very dark" in capsys.readouterr().out  # and says why
    assert main(["check", "--data", str(data), "--fail-on-copies", "--bit-depth", "12"]) == 0
    assert "16-bit" not in capsys.readouterr().out
    groups = {}
    for bits in ("16", "12"):  # the split by part groups the photos as read at the bit depth given
        assert main(["split", "--data", str(data), "--out", str(tmp_path / f"split{bits}"), "--bit-depth", bits]) == 0
        groups[bits] = len(json.loads((tmp_path / f"split{bits}" / "split.json").read_text())["groups"])
    assert groups["12"] > groups["16"]  # 16 grey levels make more photos look alike
    # a bit depth too low for the files stops training, the check and the split: skipping the brighter files one by
    # one would train on the darker ones (found by review; the files reach about 2,000 of a 12-bit camera's 4,095)
    capsys.readouterr()
    for command in (["train", "--method", METHOD, "--runs", str(tmp_path / "ten"), "--image-size", "64"], ["check"],
                    ["split", "--out", str(tmp_path / "split10")]):
        assert main([command[0], "--data", str(data), *command[1:], "--bit-depth", "10"]) == 2
        error = capsys.readouterr().err
        assert "above 1,023, the highest a 10-bit camera gives: not a 10-bit image" in error, command
        assert error.strip().endswith("A bit depth of 10 is too low for these images: give the camera's bit depth "
                                      "(--bit-depth on the command line, \"Bit depth of the 16-bit images\" on the "
                                      "Train page; 16 reads 16-bit files at their full range)"), command
    assert not (tmp_path / "ten").exists() and not (tmp_path / "split10").exists()


def test_saved_threshold_drives_predictions_and_scores_csv(dataset, tmp_path):
    run = train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path)
    high = float(run.score_values.max()) + 1.0
    run.save_threshold(high, "test")
    reloaded = Run(run.path)
    assert reloaded.threshold == high and reloaded.threshold_info["source"] == "test"
    assert set(pd.read_csv(run.path / "scores.csv")["prediction"]) == {"good"}
    results, _ = score_folder(reloaded, dataset / "test" / "blob")
    assert not any(r.defective for r in results)


def test_thresholds_saved_at_the_same_time_all_reach_the_history(trained, tmp_path):
    """Two engineers (or a page and a script) saving at once: each save reads the history and writes it back,
    so without a lock one of them would drop the other's entry."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    values = [1.0 + index for index in range(8)]
    with ThreadPoolExecutor(len(values)) as pool:
        list(pool.map(lambda value: Run(run.path).save_threshold(value, "manual", f"save {value:g}"), values))
    history = run.threshold_history
    assert len(history) == 1 + len(values) and sorted(history["threshold"].tolist()[1:]) == values
    assert run.threshold == history["threshold"].iloc[-1]
    decided = run.predictions()["prediction"] == np.where(run.score_values >= run.threshold, "defective", "good")
    assert decided.all()  # scores.csv agrees with the threshold in effect


def test_predict_captions_its_overlays_with_what_box_level_1_lies_above(trained, dataset, tmp_path, monkeypatch):
    """The box note of a saved overlay names the images the run normalised its maps with (held out, or the training
    images themselves), as the pages' cards do."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    held_out = []
    real_render = vqi_core.cli.captioned_overlay

    def render_and_record(*args, **kwargs):
        held_out.append(args[4])
        return real_render(*args, **kwargs)

    monkeypatch.setattr(vqi_core.cli, "captioned_overlay", render_and_record)
    assert main(["predict", "--run", str(run.path), "--input", str(dataset / "test" / "good"),
                 "--out", str(tmp_path / "out")]) == 0
    assert held_out and set(held_out) == {run.metrics["normalisation_images"]}


def test_an_interrupted_predict_leaves_the_earlier_predictions_as_they_were(trained, dataset, tmp_path, capsys,
                                                                           monkeypatch):
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    parts, out = tmp_path / "parts", tmp_path / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    command = ["predict", "--run", str(run.path), "--input", str(parts), "--out", str(out)]
    assert main(command) == 0
    earlier = {path.name: path.read_bytes() for path in out.iterdir()}
    assert "predictions.csv" in earlier and len(earlier) == 7  # the CSV and 6 overlays
    for part in list(parts.iterdir()):  # the next predict's parts have other names: new overlays
        part.rename(parts / f"later_{part.name}")
    run.save_threshold(float(run.score_values.min()) - 1.0, "test")  # and rejects every part
    drawn = []
    real_render = vqi_core.cli.captioned_overlay

    def render_then_interrupt(*args, **kwargs):
        if len(drawn) == 3:
            raise KeyboardInterrupt
        drawn.append(1)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(vqi_core.cli, "captioned_overlay", render_then_interrupt)
    capsys.readouterr()
    assert main(command) == 130
    assert f"interrupted: predictions.csv and the overlays in {out} are as they were" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == earlier
    assert not (out / PREDICT_STAGING).exists()  # the new overlays never reached the folder, and are gone
    (out / PREDICT_STAGING).mkdir()  # as a predict killed outright (no Python left to clean up) leaves it
    (out / PREDICT_STAGING / "later_000.png_overlay.png").write_bytes(b"half written")
    monkeypatch.setattr(vqi_core.cli, "captioned_overlay", real_render)
    assert main(command) == 0
    capsys.readouterr()
    assert not (out / PREDICT_STAGING).exists()  # the leftover staging folder is gone
    assert len(list(out.glob("later_*_overlay.png"))) == 6  # the earlier predict's overlays are removed
    assert len(list(out.iterdir())) == 7
    frame = pd.read_csv(out / "predictions.csv")
    assert len(frame) == 6 and set(frame["prediction"]) == {"defective"}


@pytest.mark.parametrize("interrupted", ["locked", "rmtree"])
def test_an_interrupt_before_the_first_image_leaves_no_folder_this_predict_made(trained, dataset, tmp_path, capsys,
                                                                               monkeypatch, interrupted):
    """Found by review: Ctrl+C just after --out was made (taking its lock, clearing a staging folder) left the new
    empty --out behind, while the message said the results were as they were."""
    parts, out = tmp_path / "parts", tmp_path / "new" / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    real, calls = getattr(vqi_core.cli if interrupted == "locked" else shutil, interrupted), []

    def interrupt_the_first_call(*args, **kwargs):  # taking the lock, or clearing an earlier staging folder
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(vqi_core.cli if interrupted == "locked" else shutil, interrupted, interrupt_the_first_call)
    assert main(["predict", "--run", str(trained.path), "--input", str(parts), "--out", str(out)]) == 130
    assert "interrupted: predictions.csv and the overlays in" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_ctrl_c_while_a_predict_puts_its_results_in_place_waits_until_all_are(trained, dataset, tmp_path, capsys,
                                                                              monkeypatch):
    """An interrupt between the renames would leave some new overlays beside the earlier predictions.csv: it is
    held until every overlay and the CSV are in place, and then ends the command with a message that says so."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    parts, out = tmp_path / "parts", tmp_path / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    command = ["predict", "--run", str(run.path), "--input", str(parts), "--out", str(out)]
    assert main(command) == 0
    for part in list(parts.iterdir()):
        part.rename(parts / f"later_{part.name}")
    real_replace = os.replace
    renamed = []

    def replace_then_interrupt(source, target):
        renamed.append(target)
        if len(renamed) == 2:
            signal.raise_signal(signal.SIGINT)  # Ctrl+C between two renames
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    capsys.readouterr()
    handler = signal.getsignal(signal.SIGINT)
    assert main(command) == 130
    assert f"interrupted once the results were complete: predictions.csv and the overlays in {out}" in \
        capsys.readouterr().err
    assert len(renamed) == 7 and not (out / PREDICT_STAGING).exists()  # the CSV, then 6 overlays
    assert len(list(out.glob("later_*_overlay.png"))) == 6
    assert set(pd.read_csv(out / "predictions.csv")["image"].str.startswith("later_")) == {True}
    assert signal.getsignal(signal.SIGINT) is handler  # Ctrl+C works as before afterwards


def test_a_terminated_predict_cleans_up_as_an_interrupted_one(trained, dataset, tmp_path, capsys, monkeypatch):
    """SIGTERM (``timeout``, systemd, a CI runner) ended the process on the spot: a hidden staging folder of
    overlays and a newly made --out were left. It now ends a command as Ctrl+C does."""
    parts, out = tmp_path / "parts", tmp_path / "new" / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    real_render = vqi_core.cli.captioned_overlay
    drawn = []

    def render_then_terminate(*args, **kwargs):
        drawn.append(1)
        if len(drawn) == 3:
            signal.raise_signal(signal.SIGTERM)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(vqi_core.cli, "captioned_overlay", render_then_terminate)
    handler = signal.getsignal(signal.SIGTERM)
    assert main(["predict", "--run", str(trained.path), "--input", str(parts), "--out", str(out)]) == 130
    assert "interrupted: predictions.csv and the overlays in" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # made by this predict: gone again, with the overlays drawn so far
    assert signal.getsignal(signal.SIGTERM) is handler


def test_a_predict_whose_table_cannot_be_written_changes_nothing_and_names_the_file(trained, dataset, tmp_path,
                                                                                    capsys, monkeypatch):
    """A full disk failed the CSV once the new overlays had replaced the earlier ones: they then lay beside the
    earlier predictions.csv, and the message named a temporary file. The overlays are flushed to the disk and the
    table is written before any of them takes an earlier one's place."""
    parts, out = tmp_path / "parts", tmp_path / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    command = ["predict", "--run", str(trained.path), "--input", str(parts), "--out", str(out)]
    assert main(command) == 0
    earlier = {path.name: path.read_bytes() for path in out.iterdir()}
    (parts / "000.png").write_bytes((dataset / "test" / "blob" / "000.png").read_bytes())  # another part there

    def disk_full(fd):  # the data reach the disk at the latest here
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    capsys.readouterr()
    assert main(command) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert error == f"error: could not write the overlays into {out}: No space left on device"
    assert {path.name: path.read_bytes() for path in out.iterdir()} == earlier  # no staging folder, no temporary
    monkeypatch.setattr(vqi_core.cli, "synced_to_disk", lambda folder: None)  # the overlays reach the disk
    assert main(command) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == f"error: cannot write {out / 'predictions.csv'}: No space left on device"
    assert {path.name: path.read_bytes() for path in out.iterdir()} == earlier


def test_file_names_with_a_carriage_return_keep_the_csv_rows_and_the_terminal_lines_whole(trained, dataset,
                                                                                        tmp_path, capsys):
    """macOS leaves a file named "Icon\\r" in folders: written unquoted, its row split in two where the CSV was
    read, and its "skipped" line moved the terminal's cursor back."""
    parts, out = tmp_path / "parts", tmp_path / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    (parts / "Icon\r").write_bytes(b"")
    assert main(["predict", "--run", str(trained.path), "--input", str(parts), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"skipped {parts / 'Icon'}\\r: " in printed and "\r" not in printed
    with open(out / "predictions.csv", newline="") as table:
        rows = list(csv.reader(table))
    assert len(rows) == 1 + 7 and rows[-1][0] == "Icon\r"
    assert pd.read_csv(out / "predictions.csv", keep_default_na=False)["image"].tolist()[-1] == "Icon\r"


@pytest.mark.parametrize("option", ["--out", "--input", "--run"])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(trained, tmp_path, capsys, monkeypatch, option):
    """``--out "$OUT"`` with $OUT unset wrote predictions.csv and overlays among the images of the current folder."""
    monkeypatch.chdir(tmp_path)
    given = {"--run": str(trained.path), "--input": str(tmp_path), "--out": str(tmp_path / "out")}
    assert main(["predict", *[item for key, value in {**given, option: " "}.items() for item in (key, value)]]) == 2
    assert capsys.readouterr().err.strip() == f"error: {option} is empty: name a path"
    assert list(tmp_path.iterdir()) == []


def test_predict_fails_on_a_defective_or_unscored_part_when_asked(trained, dataset, tmp_path, capsys):
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    parts = tmp_path / "parts"
    shutil.copytree(dataset / "test" / "good", parts)

    def predict(*extra: str) -> int:
        status = main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(tmp_path / "out"),
                       *extra])
        capsys.readouterr()
        return status

    run.save_threshold(float(run.score_values.max()) + 1.0, "test")  # every part passes
    assert predict("--fail-on-defect") == 0
    run.save_threshold(float(run.score_values.min()) - 1.0, "test")  # every part is rejected
    assert predict() == 0 and predict("--fail-on-defect") == 1
    assert len(pd.read_csv(tmp_path / "out" / "predictions.csv")) == 6  # written all the same
    run.save_threshold(float(run.score_values.max()) + 1.0, "test")
    (parts / "truncated.png").write_bytes((parts / "000.png").read_bytes()[:100])  # a part not inspected
    assert predict("--fail-on-defect") == 1
    frame = pd.read_csv(tmp_path / "out" / "predictions.csv", keep_default_na=False).set_index("image")
    assert len(frame) == 7 and frame.loc["truncated.png", "prediction"] == NOT_SCORED  # the record has it
    assert frame.loc["truncated.png", "score"] == "" and frame.loc["truncated.png", "problem"] != ""
    assert set(frame.drop(index="truncated.png")["prediction"]) == {"good"}
    (parts / "truncated.png").unlink()
    assert predict("--fail-on-defect") == 0
    (parts / "lot7").mkdir()  # an empty sub-folder, and predict's own results there: not parts left out (code
    status = main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(parts / "results"),
                   "--fail-on-defect"])  # review: they had failed a good part)
    assert status == 0 and "--fail-on-defect" not in capsys.readouterr().err
    assert main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(parts / "results"),
                 "--fail-on-defect"]) == 0  # its overlays there now
    shutil.rmtree(parts / "results")
    shutil.copy(parts / "000.png", parts / "lot7" / "000.png")  # its parts are not searched, so not inspected
    assert predict() == 0 and predict("--fail-on-defect") == 1  # (command review: it passed)
    main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(tmp_path / "out"), "--fail-on-defect"])
    said = capsys.readouterr().err.splitlines()[-1]
    assert said == "--fail-on-defect: exit status 1: 1 sub-folder with images not searched (lot7)"
    shutil.rmtree(parts / "lot7")
    write_png(parts / "one_pixel.png", np.full((1, 1, 3), 128, np.uint8))  # scored good, but judged on nothing
    run.save_threshold(1e12, "test")  # far above any score: every part is judged good
    assert predict("--fail-on-defect") == 1  # found by review: it passed the line's gate
    frame = pd.read_csv(tmp_path / "out" / "predictions.csv", keep_default_na=False).set_index("image")
    assert "image size 1 px, below the training images'" in frame.loc["one_pixel.png", "unlike_training"]
    assert set(frame["prediction"]) == {"good"}  # failed for being unlike the training images alone


def test_outputs_named_inside_a_run_folder_are_refused_and_change_nothing(trained, dataset, tmp_path, capsys):
    """A decisions CSV, a report, an archive or predict's overlays written into a run folder could replace the
    run's own files (threshold.json, metrics.json, config.json): each is refused before anything is written."""
    runs_dir = tmp_path / "runs"
    run = Run(shutil.copytree(trained.path, runs_dir / trained.id))
    before = {path: path.read_bytes() for path in run.path.rglob("*") if path.is_file()}
    commands = [
        (["threshold", "--run", str(run.path), "--decisions", str(run.path / "threshold.json")], "--decisions"),
        (["evaluate", "--run", str(run.path), "--decisions", str(run.path / "scores.csv")], "--decisions"),
        (["report", "--run", str(run.path), "--out", str(run.path / "metrics.json")], "--out"),
        (["runs", "--runs", str(runs_dir), "--export", run.id, "--out", str(run.path / "config.json")], "--out"),
        (["predict", "--run", str(run.path), "--input", str(dataset / "test" / "good"), "--out",
          str(run.path / "model")], "--out"),
        (["split", "--data", str(dataset), "--out", str(run.path / "by_part")], "--out"),  # (command review)
    ]
    for command, option in commands:
        capsys.readouterr()
        assert main(command) == 2, command
        error = capsys.readouterr().err
        assert error.startswith(f"error: {option} ") and f"is inside the run folder {run.path}:" in error
    assert {path: path.read_bytes() for path in run.path.rglob("*") if path.is_file()} == before
    assert Run(run.path).problem() is None
    assert main(["threshold", "--run", str(run.path), "--decisions", str(tmp_path / "decisions.csv")]) == 0


def test_predict_keeps_no_picture_of_a_part_it_did_not_inspect_and_names_every_part(trained, dataset, tmp_path,
                                                                                    capsys):
    """A part scored by an earlier predict and unreadable now loses its old overlay (it was not inspected this
    time); a hidden image is listed as not scored, not left out; a name too long for an overlay file gets a
    shortened, unique overlay name instead of failing the whole predict; the threshold is printed as saved."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    parts, out = tmp_path / "parts", tmp_path / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    long_name = "検査" * 41 + "_0001.png"  # 255 bytes: a valid file name, too long once _overlay.png is added
    shutil.copy(parts / "001.png", parts / long_name)
    shutil.copy(parts / "002.png", parts / ".part9.png")
    (parts / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"at threshold {exact_number(run.threshold)} ({run.threshold_info['source']}):" in printed
    assert "Nobody has chosen this threshold yet: it was set when the run was trained" in printed  # the F1 one
    assert f"Choose one for the line's costs with `python -m vqi_core threshold --run {run.path} --preset " \
           f"min-cost --cost-false-alarm COST --cost-escape COST --defect-rate PERCENT --save`" in printed
    assert f"skipped {parts / '.part9.png'}: a hidden file (its name starts with a dot)" in printed
    frame = pd.read_csv(out / "predictions.csv", keep_default_na=False).set_index("image")
    assert frame.loc[".part9.png", "prediction"] == NOT_SCORED and ".DS_Store" not in frame.index
    [long_overlay] = [path for path in out.glob("*_overlay.png") if path.name.startswith("検査")]
    assert len(long_overlay.name.encode()) <= 255 and frame.loc[long_name, "prediction"] in ("good", "defective")
    assert (out / "000.png_overlay.png").is_file()
    (parts / "000.png").write_bytes((parts / "000.png").read_bytes()[:100])  # the same part, unreadable now
    assert main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(out)]) == 0
    frame = pd.read_csv(out / "predictions.csv", keep_default_na=False).set_index("image")
    assert frame.loc["000.png", "prediction"] == NOT_SCORED
    assert not (out / "000.png_overlay.png").exists() and long_overlay.is_file()
    assert main(["threshold", "--run", str(run.path), "--preset", "min-cost", "--save"]) == 0  # as advised
    assert not set_at_training(run.threshold_info)  # chosen, even where min-cost is the threshold it was trained with
    capsys.readouterr()
    assert main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(out)]) == 0
    assert "Nobody has chosen" not in capsys.readouterr().out


def test_a_predict_that_cannot_write_an_overlay_says_why_and_leaves_nothing_behind(trained, dataset, tmp_path,
                                                                                  capsys, monkeypatch):
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    out = tmp_path / "new" / "out"
    monkeypatch.setattr(vqi_core.cli, "overlay_file_name", lambda name: f"missing/{name}_overlay.png")
    command = ["predict", "--run", str(run.path), "--input", str(dataset / "test" / "good"), "--out", str(out)]
    assert main(command) == 2
    assert f"could not write the overlay 000.png_overlay.png into {out}: No such file" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # the folders this predict created are gone with its staging folder


def test_predict_accounts_for_every_file_and_folder_it_is_given(trained, dataset, tmp_path, capsys):
    """Sub-folders are named as not searched; a folder of unreadable files, or one unreadable file, still gets a
    predictions.csv with a row and a reason for each; --out may not be the --input folder; a second predict into
    the same --out removes the earlier predict's overlays of parts it does not score again, nothing else."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    parts, out = tmp_path / "parts", tmp_path / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    shutil.copytree(dataset / "test" / "good", parts / "lot 8")
    assert main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"not searched: 1 sub-folder of {parts} (lot 8); give one as --input to score its images" in printed
    assert "Not checked: whether the images are unlike" not in printed
    assert len(list(out.glob("*_overlay.png"))) == 6
    (out / "notes.txt").write_text("mine")
    assert main(["predict", "--run", str(run.path), "--input", str(parts / "000.png"), "--out", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["000.png_overlay.png", "notes.txt", "predictions.csv"]
    capsys.readouterr()
    assert main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(parts)]) == 2
    assert "is the --input folder" in capsys.readouterr().err and not list(parts.glob("*_overlay.png"))
    assert main(["predict", "--run", str(run.path), "--input", str(parts / "000.png"), "--out", str(parts)]) == 2
    assert "is the --input folder of that image" in capsys.readouterr().err
    assert not list(parts.glob("*_overlay.png")) and not (parts / "predictions.csv").exists()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes((parts / "000.png").read_bytes()[:100])
    (broken / "b.png").write_text("not an image")
    for given in (broken, broken / "a.png"):
        assert main(["predict", "--run", str(run.path), "--input", str(given), "--out", str(tmp_path / "o2")]) == 2
        captured = capsys.readouterr()
        assert (f"error: {given} could not be scored" if given.is_file() else  # review: "no image of <file>"
                f"error: no image of {given} could be scored") in captured.err
        assert f"skipped {broken / 'a.png'}: " in captured.out
        frame = pd.read_csv(tmp_path / "o2" / "predictions.csv", keep_default_na=False)  # a new folder: the table
        assert set(frame["prediction"]) == {NOT_SCORED} and all(frame["problem"] != "")
        assert len(frame) == (2 if given == broken else 1)
        shutil.rmtree(tmp_path / "o2")
    earlier = {path.name: path.read_bytes() for path in out.iterdir()}  # 000.png's overlay, the table, notes.txt
    assert main(["predict", "--run", str(run.path), "--input", str(broken), "--out", str(out)]) == 2
    captured = capsys.readouterr()  # nothing scored: an earlier predict's results stay (bad-input review)
    assert f"error: no image of {broken} could be scored: nothing was written, and {out} keeps an earlier " \
           f"predict's predictions.csv and overlays" in captured.err and f"skipped {broken / 'a.png'}: " in captured.out
    assert {path.name: path.read_bytes() for path in out.iterdir()} == earlier
    report = json.loads((run.path / "report.json").read_text())
    del report["training_capture_ranges"]  # as in a run trained before the record existed
    (run.path / "report.json").write_text(json.dumps(report))
    assert main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(out)]) == 0
    assert "Not checked: whether the images are unlike the good training images" in capsys.readouterr().out


def test_a_run_keeps_the_description_its_users_write(trained, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    run = Run(shutil.copytree(trained.path, runs_dir / trained.id))
    assert run.description == ""
    text = "line 3 candidate;\napproved by QA on 2026-12-02"
    assert main(["runs", "--runs", str(runs_dir), "--describe", run.id, f"  {text} "]) == 0
    assert run.description == text and Run(run.path).description == text
    capsys.readouterr()
    assert main(["runs", "--runs", str(runs_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = lines.index(next(line for line in lines if line.startswith(run.id)))
    assert lines[listed + 1] == (f"  saved threshold {exact_number(run.threshold)} (F1-optimal on the evaluated test "
                                 f"set; set at training, not chosen yet) · box level 1 · "
                                 f"{run.metrics['ms_per_image']:.1f} ms/image")  # whether anyone chose it (review)
    assert lines[listed + 2] == "  line 3 candidate; approved by QA on 2026-12-02"  # on one line under its run
    assert runs_table([run])["description"].tolist() == [text]
    capsys.readouterr()
    before = (run.path / "description.json").read_bytes()  # the same text again: nothing written, so a run archive
    assert main(["runs", "--runs", str(runs_dir), "--describe", run.id, text]) == 0  # keeps its SHA-256 (archive
    assert capsys.readouterr().out == f"{run.id}'s description is that text already: nothing written\n"  # review)
    assert (run.path / "description.json").read_bytes() == before

    assert main(["runs", "--runs", str(runs_dir), "--describe", run.id, "x" * 2001]) == 2
    assert "at most 2,000" in capsys.readouterr().err
    assert (run.path / "description.json").read_bytes() == before  # refused: nothing changed
    capsys.readouterr()
    assert main(["runs", "--runs", str(runs_dir), "--describe", run.id, " "]) == 0
    assert run.description == "" and not (run.path / "description.json").exists()
    assert capsys.readouterr().out == f"removed the description of {run.id}\n"
    assert main(["runs", "--runs", str(runs_dir), "--describe", run.id, ""]) == 0  # none left (command review: it
    assert capsys.readouterr().out == f"{run.id} has no description: nothing to remove\n"  # said "removed" again)
    assert main(["runs", "--runs", str(runs_dir), "--describe", run.id, "\x1b[2J\x1b[31mAPPROVED by QA"]) == 2
    assert "the description holds a control character ('\\x1b'): write plain text" in capsys.readouterr().err
    assert main(["runs", "--runs", str(runs_dir), "--describe", run.id, "approved\u202e gnidnep ton"]) == 2
    assert "the description holds a control character ('\\u202e')" in capsys.readouterr().err  # bidi override
    assert not (run.path / "description.json").exists()  # refused: nothing written
    run.describe("lot 7 approved\r\n\tby QA")
    assert run.description == "lot 7 approved\n\tby QA"  # line breaks and tabs are text


def test_describing_a_run_deleted_meanwhile_brings_nothing_back(trained, tmp_path):
    """A description saved in one tab after another tab deleted the run re-created its folder, which then blocked
    importing the run's archive (review of 2026-12-03)."""
    run = Run(shutil.copytree(trained.path, tmp_path / "runs" / trained.id))
    shutil.rmtree(run.path)
    with pytest.raises(RunError, match=f"run {run.id} no longer exists in .*: its description was not saved"):
        run.describe("approved")
    assert not run.path.exists()


def test_a_category_with_a_long_name_gets_a_run_name_a_file_system_takes():
    """A 240-character category failed with 'File name too long' only when the finished run was saved."""
    run_id = new_run_id("é" * 120, "patchcore")
    assert len(run_id.encode()) < 120 and "é" * 40 in run_id and run_id.count("-") == 4
    assert len(f".incomplete-{run_id}-0000".encode()) < 255
    store = RunStore(Path("runs"))
    backslash = new_run_id("lot\\7", "padim")  # a run of category lot\7 could not be deleted or exported by its id
    assert "lot_7" in backslash and store.run_name(backslash) == backslash


def test_a_run_that_cannot_be_written_names_the_runs_folder_and_leaves_nothing(dataset, tmp_path, monkeypatch):
    """A full disk ended training with nothing but "No space left on device"."""
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vqi_core.pipeline, "save_maps", disk_full)
    runs = tmp_path / "runs"
    with pytest.raises(OSError, match=f"^the run could not be written into the runs folder {runs}: No space left "
                                      f"on device$"):
        train_run(RunConfig(str(dataset), METHOD, FAST), runs)
    assert not runs.exists() or not list(runs.iterdir())


def test_a_saved_threshold_records_the_line_costs_it_was_saved_at(trained, tmp_path):
    """The costs a threshold's cost figures were shown with are kept beside it as data, and move into the history
    with it; a run that recorded none, or a hand-edited entry that is no valid costs, has none."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    assert run.threshold_costs is None  # training's F1-optimal threshold assumed no costs
    scores = sorted(run.score_values)
    run.save_threshold(scores[1], "Minimum cost", costs=LineCosts(5.0, 200.0, 0.005))
    assert run.threshold_costs == LineCosts(5.0, 200.0, 0.005)
    assert run.threshold_info["costs"] == {"false_alarm": 5.0, "escape": 200.0, "defect_rate": 0.005}
    run.save_threshold(scores[2], "manual")
    assert run.threshold_costs is None and run.threshold_info["history"][-1]["costs"]["escape"] == 200.0
    assert run.threshold_history["costs"].tolist() == ["", LineCosts(5.0, 200.0, 0.005).summary(), ""]  # shown too
    info = json.loads((run.path / "threshold.json").read_text())
    as_written_before_digests(run.path)  # a run from before 2026-12-07, whose records hold no digest to check
    older = {key: value for key, value in info.items() if key != "content_sha256"}
    older["history"] = [{key: value for key, value in entry.items() if key != "content_sha256"}
                        for entry in older["history"]]
    for damaged in ({"false_alarm": 0, "escape": 0, "defect_rate": 0.01}, {"false_alarm": "5"}, [1, 2, 3],
                    {"false_alarm": True, "escape": 2.0, "defect_rate": 0.01}):
        (run.path / "threshold.json").write_text(json.dumps({**older, "costs": damaged}))
        assert run.threshold_costs is None and run.threshold == scores[2]
    (run.path / "threshold.json").write_text(json.dumps(info))
    run.save_threshold(scores[3], "manual", costs=LineCosts())  # saved with nobody's costs: said as VQI's defaults
    assert run.threshold_history["costs"].tolist()[-1] == ("VQI's defaults: a false alarm costs 1, an escape 10, 1% "
                                                           "defective")  # (numbers review: read as entered)


def test_saved_thresholds_are_kept_in_a_history_with_their_reasons(trained, tmp_path):
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    trained_with = run.threshold
    run.save_threshold(1.5, "manual", "  customer complaint 4711 ")
    run.save_threshold(2.5, "F1-optimal")
    history = Run(run.path).threshold_history
    assert history["threshold"].tolist() == [trained_with, 1.5, 2.5] and run.threshold == 2.5
    assert history["source"].tolist()[1:] == ["manual", "F1-optimal"]
    assert history["reason"].tolist() == ["", "customer complaint 4711", ""]
    saved = [datetime.fromisoformat(value) for value in history["saved_at"]]
    assert all(moment.tzinfo is not None for moment in saved) and saved == sorted(saved)

    before = {name: (run.path / name).read_bytes() for name in ("threshold.json", "scores.csv")}
    with pytest.raises(ValueError, match="at most 500"):
        run.save_threshold(3.5, "manual", "x" * 501)
    assert {name: (run.path / name).read_bytes() for name in before} == before  # refused: nothing changed

    as_written_before_digests(run.path)
    (run.path / "threshold.json").write_text(json.dumps({"threshold": 4.5, "source": "F1-optimal"}))  # an old run
    assert run.threshold_history.to_dict("records") == [
        {"saved_at": "", "threshold": 4.5, "source": "F1-optimal", "costs": "", "reason": "", "saved_by": ""}]
    run.save_threshold(5.5, "manual")
    assert run.threshold_history["threshold"].tolist() == [4.5, 5.5]  # its one threshold starts the history


def test_saving_the_saved_threshold_again_adds_no_history_row_unless_a_reason_says_why(trained, tmp_path, capsys):
    """A row that changes nothing would only hide the real changes; with a reason (why it stays) it is kept. Saving
    the threshold a run was trained with is a change: it has been chosen now (Predict warned until then)."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    assert set_at_training(run.threshold_info) and run.save_threshold(run.threshold, "F1-optimal") is True
    assert not set_at_training(run.threshold_info)
    before = {name: (run.path / name).read_bytes() for name in ("threshold.json", "scores.csv")}
    assert run.save_threshold(run.threshold, "F1-optimal") is False
    assert main(["threshold", "--run", str(run.path), "--value", repr(run.threshold), "--save"]) == 0
    assert "is the saved threshold already: nothing changed" in capsys.readouterr().out
    assert {name: (run.path / name).read_bytes() for name in before} == before
    assert run.save_threshold(run.threshold, "manual", "reviewed after lot 7: stays") is True
    assert run.threshold_history["reason"].tolist() == ["", "", "reviewed after lot 7: stays"]


def test_delete_removes_a_run_even_beside_an_earlier_leftover(dataset, tmp_path):
    store = RunStore(tmp_path)
    run = train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path)
    leftover = tmp_path / f".incomplete-deleted-{run.id}"  # an earlier deletion that could not finish
    (leftover / "model").mkdir(parents=True)
    store.delete(run.id)
    assert store.list() == [] and not run.path.exists()
    assert list(tmp_path.iterdir()) == []  # the new trash folder and the earlier leftover are gone
    with pytest.raises(RunError, match="no run"):
        store.delete(run.id)


def test_a_write_protected_run_is_not_deleted(dataset, tmp_path, capsys):
    """A run someone froze (a read-only folder inside it) is refused whole, not renamed aside and then left
    half deleted and hidden (which a non-root user got before); root, who may write anyway, honours it too (found
    by review: the tests run as root, where it was deleted)."""
    store = RunStore(tmp_path)
    run = train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path)
    before = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))
    (run.path / "maps.npz").chmod(0o444)  # a read-only file is no frozen folder
    (run.path / "model").chmod(0o575)  # chmod -w of a group-writable folder: the owner's bit is what counts
    try:
        with pytest.raises(RunError, match=f"run {run.id} is write-protected .*model is read-only.*nothing deleted"):
            store.delete(run.id)
        assert main(["runs", "--runs", str(tmp_path), "--delete", run.id]) == 2  # a usage error, as "no run"
        assert "is write-protected" in capsys.readouterr().err
        assert sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")) == before  # no leftover
        assert [r.id for r in store.list()] == [run.id]
    finally:
        (run.path / "model").chmod(0o755)
    store.delete(run.id)  # writable again: deleted
    assert list(tmp_path.iterdir()) == []


def test_training_removes_what_killed_runs_left_behind(dataset, tmp_path):
    abandoned = tmp_path / ".incomplete-20260101-000000-blob-patchcore-0000-x1"  # killed while saving
    (abandoned / "model").mkdir(parents=True)
    (abandoned / "maps.npz").write_bytes(b"half written")
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    unfinished_deletion = tmp_path / ".incomplete-deleted-20250101-000000-blob-padim-0000-x2"
    (unfinished_deletion / "model").mkdir(parents=True)
    being_saved = tmp_path / ".incomplete-20260101-000001-blob-spade-0000-x3"  # another process, right now
    being_saved.mkdir()
    staging_seen_during_fit = []

    def watch(stage, done, total):
        if stage in ("loading training images", "evaluation"):
            staging_seen_during_fit.extend(p.name for p in tmp_path.glob(".incomplete-*") if p != being_saved)

    run = train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path, watch)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([being_saved.name, run.id])
    assert staging_seen_during_fit == []  # a run's staging folder exists only while it is being saved


def test_a_leftover_that_cannot_be_removed_is_logged_and_kept(dataset, tmp_path, monkeypatch, caplog):
    store = RunStore(tmp_path)
    run = train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path)

    def rmtree_denied(path, onerror):  # e.g. a file held open on a network share
        onerror(os.unlink, str(Path(path) / "maps.npz"), (PermissionError, PermissionError("denied"), None))

    monkeypatch.setattr("vqi_core.runs.shutil.rmtree", rmtree_denied)
    store.delete(run.id)
    assert store.list() == []  # deleted as far as anyone can see
    [kept] = tmp_path.iterdir()
    assert kept.name.startswith(f".incomplete-deleted-{run.id}")
    assert "could not remove the leftover" in caplog.text


def test_score_folder_finds_the_defect(trained, tmp_path):
    image, mask = draw_defect(textured_image(64, seed=99), seed=3)
    write_png(tmp_path / "new" / "part.png", image)
    (tmp_path / "new" / "notes.txt").write_text("not an image")
    results, skipped = score_folder(trained, tmp_path / "new")
    assert len(results) == 1 and skipped and "not an image" in skipped[0]["reason"]
    result = results[0]
    assert result.defective
    peak = np.unravel_index(result.anomaly_map.argmax(), result.anomaly_map.shape)
    assert mask[peak]
    assert result.boxes, "a defect above every good image's maximum must give a box"


def test_a_skipped_image_file_is_tied_to_its_bytes_and_another_file_is_not_read(trained, tmp_path, capsys):
    """predict's table gives the SHA-256 of an image file it could not score (which bytes were refused), but does
    not read a file that is no image at all (notes, a video of gigabytes) to hash it."""
    folder = tmp_path / "new"
    write_png(folder / "part.png", textured_image(64, seed=98))
    corrupt = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    (folder / "broken.png").write_bytes(corrupt)
    (folder / "notes.txt").write_text("not an image")
    assert main(["predict", "--run", str(trained.path), "--input", str(folder), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    frame = pd.read_csv(tmp_path / "out" / "predictions.csv", keep_default_na=False).set_index("image")
    assert frame.loc["broken.png", "sha256"] == hashlib.sha256(corrupt).hexdigest()
    assert frame.loc["notes.txt", "sha256"] == "" and frame.loc["notes.txt", "prediction"] == NOT_SCORED


def test_scoring_a_chunk_at_a_time_gives_the_same_results(trained, dataset, tmp_path, monkeypatch):
    folder = tmp_path / "mixed"
    shutil.copytree(dataset / "test" / "blob", folder)
    (folder / "001b_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    sources, skipped = folder_sources(folder)
    model = trained.load_model()
    whole = list(iter_score(model, sources, trained.threshold, [], chunk_size=len(sources)))
    chunk_skipped: list[dict[str, str]] = []
    chunked = list(iter_score(model, sources, trained.threshold, chunk_skipped, chunk_size=2))
    assert [r.name for r in chunked] == [r.name for r in whole] and len(chunked) == 5
    assert [r.score for r in chunked] == pytest.approx([r.score for r in whole], rel=1e-5)
    assert all(r.image is not None for r in chunked)
    assert [item["file"] for item in skipped + chunk_skipped] == [str(folder / "001b_corrupt.png")]
    batches: list[int] = []  # found by review: 32 photos of 62 megapixels were decoded and scored at once
    real_score_images = vqi_core.pipeline.score_images
    monkeypatch.setattr(vqi_core.pipeline, "score_images",
                        lambda model, images, *args, **kwargs: batches.append(len(images))
                        or real_score_images(model, images, *args, **kwargs))
    pixels = whole[0].image.shape[0] * whole[0].image.shape[1]
    capped = list(iter_score(model, sources, trained.threshold, [], chunk_pixels=2 * pixels))
    assert batches == [2, 2, 1] and [r.name for r in capped] == [r.name for r in whole]
    assert [r.score for r in capped] == pytest.approx([r.score for r in whole], rel=1e-5)
    assert [r.sha256 for r in capped] == [r.sha256 for r in whole]


def test_each_scored_file_is_read_once_and_its_hash_is_of_those_bytes(trained, dataset, tmp_path, monkeypatch):
    """A file on the line may be replaced while it is scored: the SHA-256 in the results must be that of the
    bytes that were judged, so every file is read once; a file gone before its turn is skipped by name."""
    folder = tmp_path / "line"
    shutil.copytree(dataset / "test" / "blob", folder)
    sources, skipped = folder_sources(folder)
    vanished = sources[-1].origin
    Path(vanished).unlink()
    opened: list[str] = []
    real_open = open

    def counting_open(file, *args, **kwargs):
        if str(file).startswith(str(folder)):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)  # how Pillow opens a path
    monkeypatch.setattr("io.open", counting_open)  # how pathlib does
    results = list(iter_score(trained.load_model(), sources, trained.threshold, skipped))
    monkeypatch.undo()
    scored = [str(folder / r.name) for r in results]
    assert len(results) == len(sources) - 1 and sorted(opened) == sorted(scored + [vanished])
    assert all(r.sha256 == file_sha256(folder / r.name) for r in results)
    assert skipped == [{"file": vanished, "reason": "file not found"}]  # the file once, beside its reason


def test_an_image_that_cannot_be_read_is_named_once_beside_its_reason(tmp_path):
    """evaluate printed "skipped /x/193.png: /x/193.png: file not found" (found by review): the reason of a
    skipped file no longer repeats the file's name, as a scored folder's did already."""
    write_png(tmp_path / "good.png", np.full((32, 32, 3), 128, np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    samples = [Sample(tmp_path / name, 0, "good") for name in ("good.png", "vanished.png", "broken.png")]
    skipped: list[dict[str, str]] = []
    kept, images = read_samples(samples, None, "loading test images", skipped)
    assert [s.path.name for s in kept] == ["good.png"] and len(images) == 1
    assert skipped[0] == {"file": str(tmp_path / "vanished.png"), "reason": "file not found"}
    assert skipped[1]["file"] == str(tmp_path / "broken.png") and str(tmp_path) not in skipped[1]["reason"]


def test_a_file_that_cannot_be_scored_is_still_tied_to_its_bytes_in_the_predictions(trained, tmp_path):
    """Found by an audit review: a file that could not be scored had an empty sha256, so the row of a part that
    was not inspected could not be tied to a file."""
    folder = tmp_path / "line"
    write_png(folder / "good.png", textured_image(64, seed=77))
    (folder / "broken.png").write_bytes(b"not a png")
    assert main(["predict", "--run", str(trained.path), "--input", str(folder), "--out", str(tmp_path / "out")]) == 0
    frame = pd.read_csv(tmp_path / "out" / "predictions.csv", keep_default_na=False).set_index("image")
    assert frame.loc["broken.png", "prediction"] == NOT_SCORED
    assert frame.loc["broken.png", "sha256"] == file_sha256(folder / "broken.png")
    assert frame.loc["good.png", "sha256"] == file_sha256(folder / "good.png")


def test_new_images_unlike_the_training_images_are_flagged(trained, tmp_path, capsys):
    """A part photographed much darker, or at another size, is scored and said to be unlike the training images
    (CSV column and a CLI line); another good part photographed as in training is not."""
    ranges = trained.report["training_capture_ranges"]
    assert ranges["image size"] == [64 * 64, 64 * 64]  # every synthetic training image is 64 x 64
    folder = tmp_path / "new"
    write_png(folder / "same_camera.png", textured_image(64, seed=77))
    write_png(folder / "dark.png", (textured_image(64, seed=78) // 2))
    write_png(folder / "wide.png", textured_image((64, 128), seed=79))
    sources, skipped = folder_sources(folder)
    results = {r.name: r for r in iter_score(trained.load_model(), sources, trained.threshold, skipped,
                                             training_ranges=ranges)}
    assert results["same_camera.png"].unlike_training == []
    assert [text.split(" ")[0:3] for text in results["dark.png"].unlike_training][0] == ["mean", "grey", "level"]
    assert results["wide.png"].unlike_training[0].startswith("image size 8,192 px, above the training images'")

    assert main(["predict", "--run", str(trained.path), "--input", str(folder), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "2 of 3 images are unlike the good training images (brightness, contrast, colour, size, shape, file " \
           "format or bit depth; see unlike_training in predictions.csv)" in out
    frame = pd.read_csv(tmp_path / "out" / "predictions.csv", keep_default_na=False).set_index("image")
    assert frame.loc["same_camera.png", "unlike_training"] == ""
    assert frame.loc["dark.png", "unlike_training"] == "; ".join(results["dark.png"].unlike_training)


def test_an_image_saved_in_another_format_than_the_training_images_is_flagged(trained, dataset, tmp_path):
    """Browser review: a good part saved as JPEG scored twice as high as the same part in PNG on a run trained on
    PNG files, with no word of why; the run records its good training images' file formats."""
    assert trained.report["training_file_formats"] == ["PNG"]
    folder = tmp_path / "new"
    write_png(folder / "part.png", textured_image(64, seed=77))
    cv2.imwrite(str(folder / "part.jpg"), cv2.imread(str(folder / "part.png")), [cv2.IMWRITE_JPEG_QUALITY, 90])
    results = {r.name: r for r in iter_run_scores(trained, folder_sources(folder)[0], [])}
    assert results["part.png"].unlike_training == []
    assert results["part.jpg"].unlike_training == [
        "saved as JPEG (lossy compression, which changes fine texture), the training images as PNG"]
    new = tmp_path / "widget_jpeg"  # evaluate on labelled images from the line says it too
    shutil.copytree(dataset, new)
    good = new / "test" / "good" / "000.png"
    cv2.imwrite(str(good.with_suffix(".jpg")), cv2.imread(str(good)), [cv2.IMWRITE_JPEG_QUALITY, 95])
    good.unlink()
    [note] = [note for note in evaluate_run(trained, new)["notes"] if "unlike" in note]
    assert note.startswith("1 of 6 good images is unlike the good training images (brightness, contrast, colour, size, "
                           "shape, file format or bit depth; e.g. 000.jpg: ")
    assert "saved as JPEG (lossy compression" in note


def test_a_16_bit_file_scored_by_a_run_trained_on_8_bit_files_is_flagged_as_such(trained, dataset, tmp_path):
    """Browser review: a 12-bit camera's 16-bit file scored by a run trained on 8-bit files was called only darker
    than the training images, not what made it so; the run records its good training images' bit depths."""
    assert trained.report["training_bit_depths"] == [8]
    folder = tmp_path / "new"
    write_png(folder / "part.png", textured_image(64, seed=77))
    Image.fromarray((read_image(folder / "part.png")[..., 0].astype(np.uint16) * 16)).save(folder / "mono12.png")
    results = {r.name: r for r in iter_run_scores(trained, folder_sources(folder)[0], [])}
    assert not any("bit" in text for text in results["part.png"].unlike_training)
    said = ("a 16-bit file, the training images 8-bit files (another camera or export: its grey levels may be "
            "scaled otherwise, e.g. a 10- or 12-bit camera read as 16 bits); score files saved as the training images "
            "were, or train a run on this camera's files")
    assert results["mono12.png"].unlike_training[0] == said  # first: the darkness follows from it (browser review)
    assert len(results["mono12.png"].unlike_training) > 1
    new = tmp_path / "widget_16"  # evaluate on labelled images from the line says it too (code review)
    shutil.copytree(dataset, new)
    good = new / "test" / "good" / "000.png"
    Image.fromarray(read_image(good)[..., 0].astype(np.uint16) * 16).save(good)
    [note] = [note for note in evaluate_run(trained, new)["notes"] if "unlike" in note]
    assert note.startswith("1 of 6 good images is unlike the good training images") and said in note


def test_train_refuses_bad_parameters_and_an_unusable_runs_folder_before_reading_images(dataset, tmp_path, capsys,
                                                                                       monkeypatch):
    """Minutes of loading and fitting must not come before an error that the command line already shows."""
    def no_reading(*args, **kwargs):
        raise AssertionError("images were read before the parameters and the runs folder were checked")

    monkeypatch.setattr("vqi_core.pipeline.read_samples", no_reading)
    (tmp_path / "afile.txt").write_text("")
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    for extra, message in [
        (["--runs", str(tmp_path / "loop_a")], "a path given is a loop of symbolic links"),  # not a traceback
        (["--param", "foo=1"], "error: 'foo' is not a parameter of padim"),
        (["--param", "epsilon=abc"], "error: parameter epsilon of padim must be a finite number, not 'abc'"),
        (["--param", "seed=5"], "error: the seed is a run setting"),
        (["--param", "layers=" + "[" * 100_000 + "]" * 100_000],  # nested too deep for Python's JSON reader: it
         "error: parameter layers of padim must be a list of one or more different layer names"),  # was a traceback
        (["--param", "epsilon=" + "7" * 5000], "error: parameter epsilon of padim must be a finite number"),
        (["--runs", str(tmp_path / "afile.txt")], "is a file, not a folder"),
        # an option set twice, or one the method does not use, was taken silently (found by a CLI review)
        (["--param", "image_size=nan", "--image-size", "64"],
         "error: --image-size and --param image_size= both set image_size: give it once"),
        (["--param", "crop=0.5", "--crop", "0.8"], "error: --crop and --param crop= both set crop: give it once"),
        (["--supervised-train-fraction", "0.3"],
         "error: --supervised-train-fraction is for supervised methods (cam) only: padim learns from the good"),
    ]:
        args = ["train", "--data", str(dataset), "--method", METHOD, "--runs", str(tmp_path / "runs"), *extra]
        assert main(args) == 2, extra
        assert message in capsys.readouterr().err, extra
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(tmp_path / "runs"), "--param",
                 "foo=1"]) == 2  # found by review: the list offered the seed, which --param refuses
    listed = capsys.readouterr().err.split("its parameters: ")[1].strip().split(", ")
    assert "seed" not in listed and "epsilon" in listed
    with pytest.raises(ValueError, match="its parameters: .*, seed, "):  # the library's own models take a seed
        vqi_core.pipeline.create_model(METHOD, foo=1)
    # the tests run as root, whom permissions do not stop: the two answers of the system are stood in for
    monkeypatch.setattr("os.access", lambda path, mode: False)
    for flags, reason in [(0, "no permission"), (os.ST_RDONLY, "its file system is mounted read-only")]:
        monkeypatch.setattr("os.statvfs", lambda path: SimpleNamespace(f_flag=flags))
        assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(tmp_path / "runs")]) == 2
        assert f"the runs folder {tmp_path / 'runs'} cannot be written ({reason})" in capsys.readouterr().err


def test_a_run_trained_on_a_relative_data_folder_finds_its_images_from_any_folder(tmp_path, monkeypatch, capsys):
    """scores.csv held the paths as typed (``data/part/test/...``): Inspect, Compare and evaluate found no image
    once started from another folder, while config.json named the folder absolute."""
    write_mvtec_dataset(tmp_path / "data" / "part", n_train=12, n_test_good=2, n_per_defect=2)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "data/part", "--method", METHOD, "--runs", "runs", "--image-size", "64",
                 "--param", "jit=false"]) == 0
    run = Run(tmp_path / capsys.readouterr().out.splitlines()[-1])  # the runs folder as given: relative
    assert all(Path(path).is_absolute() and Path(path).is_file() for path in run.scores["path"])
    assert all(Path(path).is_absolute() for path in run.scores["mask_path"] if path)  # "" for good images
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", "--run", str(run.path)]) == 0
    assert "no readable test image" not in capsys.readouterr().err


def test_without_masks_pixel_metrics_are_null(tmp_path):
    data = write_mvtec_dataset(tmp_path / "nomask", n_train=12, with_masks=False)
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    assert run.metrics["pixel_auroc"] is None and run.metrics["aupro"] is None
    assert run.metrics["image_auroc"] is not None
    assert all(set(entry) == {"images", "image_auroc"} for entry in run.metrics["per_defect_type"].values())
    assert run.metrics["defect_regions"] is run.metrics["boxes_on_defects"] is None  # unknown without masks
    assert run.metrics["good_images"] == (run.scores["label"] == "good").sum() and run.metrics["good_images_boxed"] >= 0


def test_a_run_says_when_its_pixel_metrics_leave_out_defective_images_without_a_mask(tmp_path, capsys):
    """One mask deleted, one misnamed and one saved as 0/1 (found only when it is read for the metrics; it was
    counted as covered, review of 2026-12-04): the pixel metrics cover the other 5 images, and the run says so."""
    data = write_mvtec_dataset(tmp_path / "part", n_train=12)
    (data / "ground_truth" / "blob" / "001_mask.png").unlink()
    (data / "ground_truth" / "scratch" / "002_mask.png").rename(data / "ground_truth" / "scratch" / "002_gt.png")
    zero_one = data / "ground_truth" / "blob" / "000_mask.png"
    cv2.imwrite(str(zero_one), (cv2.imread(str(zero_one), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8))
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    assert run.metrics["pixel_auroc"] is not None
    assert ("Pixel AUROC and AUPRO cover 5 of 8 defective test images: 3 have no usable mask (blob 2, scratch 1; "
            "the skipped files and the notes name masks") in "\n".join(run.report["notes"])
    assert any(note.startswith("1 mask could not be read") and str(zero_one) in note for note in run.report["notes"])
    assert [item["file"] for item in run.report["skipped"]] == [str(data / "ground_truth" / "scratch" / "002_gt.png")]
    complete = train_run(RunConfig(str(write_mvtec_dataset(tmp_path / "complete", n_train=12)), METHOD, FAST),
                         tmp_path / "runs")
    assert not any("Pixel AUROC and AUPRO cover" in note for note in complete.report["notes"])
    assert not any(note.startswith("Only") for note in run.report["notes"] + complete.report["notes"])  # 12 images
    # where the masks left mark no pixel, nothing is covered, as the other note says (command review: "cover 5 of
    # 8" had stood beside "cannot be measured"), and the per-type lines give no "(n/a of the defect pixels)"
    for mask in (data / "ground_truth").glob("*/*_mask.png"):
        cv2.imwrite(str(mask), np.zeros(cv2.imread(str(mask)).shape[:2], np.uint8))
    blank = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    assert not any("Pixel AUROC and AUPRO cover" in note for note in blank.report["notes"])
    assert any(note.startswith("Every mask of the defective test images marks no defect pixel")
               for note in blank.report["notes"])
    assert main(["evaluate", "--run", str(blank.path)]) == 0
    printed = capsys.readouterr().out
    assert "  blob: 4 images, image AUROC " in printed and "of the defect pixels" not in printed


def test_a_run_on_fewer_than_ten_good_training_images_says_what_that_means(tmp_path):
    run = train_run(RunConfig(str(write_mvtec_dataset(tmp_path / "few", n_train=3)), METHOD, FAST), tmp_path / "runs")
    note = next(note for note in run.report["notes"] if note.startswith("Only"))
    assert note.startswith("Only 3 good training images: a model knows good parts from these alone")
    assert "with fewer than 10 none is held out to calibrate the maps" in note
    assert run.load_model().fit_info["holdout_images"] == 0
    # at the boundary: 9 good images get the note, 10 (one held out) do not (mutation review: not pinned)
    assert few_training_images_note(9) is not None and few_training_images_note(MIN_GOOD_FOR_HOLDOUT) is None
    assert MIN_GOOD_FOR_HOLDOUT == 10


def test_training_and_evaluation_name_the_images_read_over_black(tmp_path):
    """Found by review: a wholly transparent training image was learnt as a black part without a word (only
    predict said how a new image was read). A run's notes, and evaluate's, name such images with their share."""
    root = write_mvtec_dataset(tmp_path / "cut_out")
    cut_out = np.dstack([textured_image(64, seed=0), np.full((64, 64), 255, np.uint8)])
    cut_out[:32, :, 3] = 0  # the top half transparent
    Image.fromarray(cut_out, "RGBA").save(root / "train" / "good" / "000.png")
    Image.fromarray(cut_out, "RGBA").save(root / "test" / "good" / "000.png")
    run = train_run(RunConfig(str(root), METHOD, FAST), tmp_path / "runs")
    notes = [note for note in run.report["notes"] if "transparent pixels" in note]
    assert notes == [transparent_images_note([("train/good/000.png", 0.5)], "training"),
                     transparent_images_note([("test/good/000.png", 0.5)], "test")]
    assert notes[0].startswith("1 training image with (partly) transparent pixels, read over black as VQI reads every "
                               "image: train/good/000.png (50%). A part photographed on a transparent background is "
                               "learnt as that part on black")
    said = evaluate_run(run, root)["notes"]
    assert transparent_images_note([(str(root / "test" / "good" / "000.png"), 0.5)], "test") in said
    assert transparent_images_note([], "test") is None
    many = transparent_images_note([(f"{index}.png", 0.004) for index in range(5)], "test")
    assert many is not None and many.startswith("5 test images") and "2.png (under 1%) and 2 more." in many


def test_layout_errors_are_clear(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        train_run(RunConfig(str(tmp_path / "missing"), METHOD, FAST), tmp_path / "runs")
    (tmp_path / "flat").mkdir()
    with pytest.raises(DatasetError, match="expected MVTec AD layout"):
        train_run(RunConfig(str(tmp_path / "flat"), METHOD, FAST), tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or RunStore(tmp_path / "runs").list() == []


def test_settings_of_a_default_run_and_of_an_unknown_method():
    params = create_model("padim").get_params()
    assert changed_settings({"method": "padim", "params": {**params, "scale": 0.5}}) == "defaults"
    lite1 = create_model("padim", backbone="efficientnet_lite1", crop=0.8).get_params()
    assert changed_settings({"method": "padim", "params": lite1}) == "crop=0.8"
    assert changed_settings({"method": "no-such-method", "params": {}}) == "unknown"
    fitted = create_model("patchcore", image_size=(320, 320)).get_params()  # fixed_scale fitted 320x320
    asked: dict = {}
    assert changed_settings({"method": "patchcore", "params": fitted, "request": {"params": asked}}) == "defaults"
    asked = {"image_size": [512, 768]}
    assert changed_settings({"method": "patchcore", "params": fitted,
                             "request": {"params": asked}}) == "image_size=[512, 768]"


def test_cli_train_predict_runs(dataset, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    code = main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs_dir),
                 "--image-size", "64", "--intensity", "standardise", "--param", "jit=false"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    run = Run(Path(lines[-1]))
    assert json.loads((run.path / "metrics.json").read_text())["image_auroc"] > 0.9
    blob = run.metrics["per_defect_type"]["blob"]
    expected = f"  blob: 5 images, image AUROC {blob['image_auroc']:.4f}, pixel AUROC {blob['pixel_auroc']:.4f} ("
    assert any(line.startswith(expected) for line in lines), lines
    low, high = interval_bounds(*run.metrics["image_auroc_interval"], 4)
    assert any(line.startswith(f"image AUROC {run.metrics['image_auroc']:.4f} (95% interval {low}–{high}")
               for line in lines), lines
    point = ThresholdEvaluator(run.labels, run.score_values).evaluate(run.threshold)  # what new parts are judged at,
    assert f"threshold {exact_number(run.threshold)}: Nobody has chosen this threshold yet: it was set when the run " \
           f"was trained (F1-optimal on the evaluated test set); on the run's test set it rejects {point.fp} of " in \
           "\n".join(lines)  # as the Train page says (README review: the command line said nothing of it)
    assert run.config["params"]["image_size"] == [64, 64] and run.config["params"]["intensity"] == "standardise"

    out = tmp_path / "pred"
    assert main(["predict", "--run", str(run.path), "--input", str(dataset / "test" / "blob"), "--out", str(out)]) == 0
    frame = pd.read_csv(out / "predictions.csv")
    assert len(frame) == 5 and set(frame["prediction"]) <= {"good", "defective"}
    # for the quality record: the exact file, the run that judged it and when
    assert frame["sha256"].tolist() == [file_sha256(dataset / "test" / "blob" / name) for name in frame["image"]]
    assert set(frame["run"]) == {run.id}
    assert all(datetime.fromisoformat(moment).tzinfo is not None for moment in frame["scored_at"])
    assert len(list(out.glob("*_overlay.png"))) == 5

    capsys.readouterr()
    assert main(["runs", "--runs", str(runs_dir)]) == 0
    listed = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(run.id))
    # settings, then what the test-set check found (the drawn defects raise the grey-level spread)
    assert listed.endswith('image_size=[64, 64], intensity="standardise", jit=false | grey-level spread alone 1.000'), \
        listed

    same_stem = tmp_path / "same_stem"  # part.png and part.jpg: two overlays, neither overwrites the other
    same_stem.mkdir()
    image = cv2.imread(str(dataset / "test" / "blob" / "000.png"))
    cv2.imwrite(str(same_stem / "part.png"), image)
    cv2.imwrite(str(same_stem / "part.jpg"), image)
    assert main(["predict", "--run", str(run.path), "--input", str(same_stem), "--out", str(tmp_path / "pred2")]) == 0
    assert sorted(p.name for p in (tmp_path / "pred2").glob("*_overlay.png")) == [
        "part.jpg_overlay.png", "part.png_overlay.png"]

    assert main(["runs", "--runs", str(runs_dir), "--delete", run.id]) == 0
    assert RunStore(runs_dir).list() == []


def test_cli_threshold_shows_chooses_and_saves_the_operating_point(trained, tmp_path, capsys):
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    labels, scores = run.labels, run.score_values
    evaluator = ThresholdEvaluator(labels, scores)

    def shown(*extra: str) -> tuple[list[str], list[int]]:
        assert main(["threshold", "--run", str(run.path), *extra]) == 0
        lines = capsys.readouterr().out.splitlines()
        counts = [int(n) for line in lines[2:4] for n in line.split()[-2:]]  # [tn, fp, fn, tp]
        return lines, counts

    lines, counts = shown()
    assert lines[0].startswith(f"threshold {exact_number(run.threshold)} (F1-optimal")
    assert counts == evaluator.evaluate(run.threshold).confusion_matrix().ravel().tolist()
    printed = lines[0].split()[1]
    assert shown("--value", printed)[1] == counts  # typed back as printed, it judges every image as it did

    middle = float(np.median(scores))
    lines, counts = shown("--value", str(middle), "--cost-false-alarm", "2", "--cost-escape", "50",
                          "--defect-rate", "2")
    point = evaluator.evaluate(middle)
    assert counts == point.confusion_matrix().ravel().tolist()
    total = 1000 * LineCosts(2.0, 50.0, 0.02).per_part(point.false_alarm_rate, point.escape_rate)
    assert "with 2% defective" in lines[-2] and f"expected cost of {total:,.1f}" in lines[-2]
    assert lines[-1] == "Costs assumed: a false alarm costs 2, an escape 50, 2% defective (as entered)."
    assert run.threshold != middle  # shown, not saved
    lowest = float(scores.min())  # every part rejected: dearer than passing them all when escapes are cheap
    lines, _ = shown("--value", repr(lowest), "--cost-false-alarm", "1", "--cost-escape", "1", "--defect-rate", "2")
    warning = costlier_than_unchecked(evaluator.evaluate(lowest), LineCosts(1.0, 1.0, 0.02), "given")
    assert warning is not None and lines[-1] == f"Warning: {warning}" and "not inspecting" not in lines[-2]

    shown("--value", str(middle), "--decisions", str(tmp_path / "decisions.csv"))
    decisions = pd.read_csv(tmp_path / "decisions.csv")
    assert decisions["outcome"].value_counts().reindex(["TP", "FP", "FN", "TN"], fill_value=0).tolist() == [
        point.tp, point.fp, point.fn, point.tn]

    costs = LineCosts(0.0, 1.0, 0.01)  # free false alarms: reject every part
    axis = slider_axis(scores, run.threshold)  # the Threshold page's slider: presets are put on it
    lines, counts = shown("--preset", "min-cost", "--cost-false-alarm", "0", "--cost-escape", "1", "--save")
    best = axis.snap(minimum_cost_threshold(labels, scores, costs))
    assert counts == evaluator.evaluate(best).confusion_matrix().ravel().tolist() and counts[1] == (labels == 0).sum()
    assert run.threshold == best and run.threshold_info["source"] == f"Minimum cost: {costs.summary()}"
    assert (run.predictions()["prediction"] == "defective").all()
    assert run.threshold_costs == costs  # recorded with the threshold, as data (browser review of 2026-12-05)
    lines, _ = shown()  # costs not given: the saved threshold's, as the Threshold page's fields start (review)
    kept = ("those the saved threshold was saved at: the false-alarm cost and the escape cost entered then, the "
            "defect rate VQI's defaults")  # the rate was not typed when it was saved (report review)
    assert lines[-1] == f"Costs assumed: {costs.summary()} ({kept})."
    other = LineCosts(0.0, 2.0, 0.01)
    one_typed = ("the escape cost as entered; the false-alarm cost and the defect rate as the saved threshold was "
                 "saved at")  # each cost's origin (command review: one typed called all three "as entered")
    assert shown("--cost-escape", "2")[0][-1] == (f"Costs assumed: {other.summary()} ({one_typed}). The saved "
                                                  f"threshold was saved at other costs: {costs.summary()}.")

    lines, counts = shown("--preset", "false-alarms", "--max-false-alarms", "0")
    assert counts[1] == 0 and counts == evaluator.evaluate(threshold_for_false_alarm_rate(labels, scores, 0.0)) \
        .confusion_matrix().ravel().tolist()
    held = held_out_counts(labels, scores, lambda l, s: threshold_for_false_alarm_rate(l, s, 0.0))
    assert lines[-1] == (f"chosen on other images (5-fold, held out): {held.false_alarms} of {held.good} good parts "
                         f"rejected, {held.escapes} of {held.defective} defective parts passed; the rates above are "
                         f"measured on the images the threshold was chosen on")
    lines, _ = shown("--value", str(middle))
    assert not lines[-1].startswith("chosen on other images")  # a threshold typed in has no rule to check
    # another threshold, no cost given: the saved threshold's costs, said so and not "as entered" (README review)
    assert f"Costs assumed: {costs.summary()} ({kept})." in lines
    assert middle != run.threshold
    assert (f"Costs assumed: {other.summary()} ({one_typed}). The saved threshold was saved at other costs: "
            f"{costs.summary()}.") in shown("--value", str(middle), "--cost-escape", "2")[0]
    _, counts = shown("--value", "-1e-3")  # a value in exponent notation, not an unknown option "-1e-3"
    assert counts == evaluator.evaluate(-1e-3).confusion_matrix().ravel().tolist()
    assert negative_numbers_attached(["threshold", "--value", "-1e-3", "--run", "-r", "--save", "-2"]) == [
        "threshold", "--value=-1e-3", "--run", "-r", "--save=-2"]

    assert main(["threshold", "--run", str(run.path), "--defect-rate", "0"]) == 2
    assert "--defect-rate is a percentage" in capsys.readouterr().err
    assert run.threshold == best  # a refused command changes nothing
    assert main(["threshold", "--run", str(run.path), "--value", "1", "--reason", "lot 7"]) == 2
    assert "use it with --save" in capsys.readouterr().err and run.threshold == best
    assert main(["threshold", "--run", str(run.path), "--value", "1", "--by", "A. Quality"]) == 2
    assert "--by says who saved a threshold or box level: use it with --save" in capsys.readouterr().err
    for blank in ("", "   "):  # saved with no name where leaving --by out records the account's (command review)
        assert main(["threshold", "--run", str(run.path), "--value", "1", "--save", "--by", blank]) == 2
        assert "--by is empty: give the name of who saves it" in capsys.readouterr().err and run.threshold == best

    lines, _ = shown("--value", str(middle), "--save", "--reason", "new supplier lot 7", "--by", "A. Quality",
                     "--history")
    assert run.threshold == middle and run.threshold_history["reason"].iloc[-1] == "new supplier lot 7"
    assert f"saved in {run.path} by A. Quality: predict and scores.csv use it from now on" in lines
    listed = lines[lines.index("threshold history, newest first (the first in effect):") + 1:]
    assert len(listed) == 3  # this one, the minimum-cost one, trained with: as the pages and the report list them
    assert listed[0] == (f"  {saved_time(run.threshold_history['saved_at'].iloc[-1])}  {exact_number(middle)}  "
                         f"(manual)  by A. Quality  at costs: {costs.summary()}  new supplier lot 7")  # who, and the
    assert f"  by {getpass.getuser()}  " in listed[1]  # costs it worked with; without --by: the account (audit)
    assert listed[2].endswith("(F1-optimal on the evaluated test set)")  # trained with: no costs recorded
    run.save_threshold(lowest, "F1-optimal on the evaluated test set")  # as a run saves it, if it rejected all
    lines, _ = shown("--cost-false-alarm", "1", "--cost-escape", "1", "--defect-rate", "2")
    warning = costlier_than_unchecked(evaluator.evaluate(lowest), LineCosts(1.0, 1.0, 0.02), "F1-optimal")
    assert lines[-1] == f"Warning: {warning}" and "F1-optimal one" in warning  # the saved source reaches it (review)
    lines, _ = shown("--value", str(middle), "--cost-false-alarm", "1", "--cost-escape", "10", "--defect-rate", "1",
                     "--save", "--history")  # VQI's defaults typed in: entered, in the output and in the record
    assert f"Costs assumed: {LineCosts().summary()} (as entered)." in lines  # (command review: "not figures
    newest = lines[lines.index("threshold history, newest first (the first in effect):") + 1]  # entered")
    assert f"  at costs: {LineCosts().summary()}" in newest and "VQI's defaults" not in newest
    assert run.threshold_info["costs_entered"] == ["false_alarm", "escape", "defect_rate"]
    lines, _ = shown("--value", str(lowest), "--save", "--by", "bob", "--history")  # carried over: still typed in
    newest = lines[lines.index("threshold history, newest first (the first in effect):") + 1]  # (code review:
    assert "by bob" in newest and "VQI's defaults" not in newest  # "VQI's defaults" in the history)
    report = tmp_path / "report.html"
    assert main(["report", "--run", str(run.path), "--out", str(report)]) == 0
    assert "(those the saved threshold was saved at)" in report.read_text() and "VQI&#x27;s defaults, not" not in \
        report.read_text()  # (code review: the report called them VQI's defaults)


def test_every_stage_of_a_training_ends_at_its_total(dataset, tmp_path):
    """Command review: "checking the split for copies", "metrics" and "saving" stopped at 0/1 in a terminal log,
    which read as steps that never finished."""
    reported: dict[str, tuple[int, int]] = {}
    train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path / "runs",
              lambda stage, done, total: reported.__setitem__(stage, (done, total)))
    assert {"checking the split for copies", "metrics", "saving", "done"} <= set(reported)
    assert all(done == total for done, total in reported.values()), reported


def test_progress_bars_count_images_only_where_the_stage_counts_images(capsys):
    """The coreset's bars read "23711/23711 img/s": selection steps, not images (found reading a training log)."""
    progress = TerminalProgress(log_interval_s=3600)
    progress("feature extraction", 3, 10)
    assert progress._bar.unit == "img"
    for stage in ("coreset candidates", "coreset", "covariance", "cutpaste epoch 1/3"):
        progress(stage, 5, 100)
        assert progress._bar.unit == "step", stage
    progress.close()
    assert {"loading training images", "loading test images", "scoring"} <= IMAGE_STAGES


def test_progress_bar_in_a_log_is_redrawn_rarely_not_once_per_image(capsys):
    progress = TerminalProgress(log_interval_s=3600)  # stderr is captured here, so not a terminal
    for done in range(501):
        progress("evaluation", done, 500)
    progress("saving", 1, 1)
    progress.close()
    log = capsys.readouterr().err
    assert 1 <= log.count("evaluation") <= 3 and "saving" in log  # one redraw per image would be 501
    # each bar ends on a line of its own, at its final state: output after it is not glued to it (found by review)
    lines = log.split("\n")  # a redraw starts with a carriage return: the same line of a log
    assert len(lines) == 3 and "500/500" in lines[0] and "1/1" in lines[1] and lines[2] == ""


def test_cli_input_errors_are_one_line_with_exit_code_2(dataset, tmp_path, capsys, monkeypatch):
    runs_dir = tmp_path / "runs"
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs_dir),
                 "--image-size", "64", "64", "64"]) == 2
    assert capsys.readouterr().err.strip() == "error: --image-size takes one number or HEIGHT WIDTH"

    def offline(url, *args, **kwargs):
        raise URLError("no internet")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # nothing cached, and no download possible
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs_dir),
                 "--backbone", "resnet18", "--image-size", "64"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar: one line, no traceback
    assert error.startswith(f"error: resnet18 ImageNet weights are not cached at {tmp_path / 'torch' / 'hub'}"
                            f"/checkpoints/resnet18-") and "internet" in error
    assert not runs_dir.exists() or RunStore(runs_dir).list() == []


def test_cli_trains_the_cam_classifier_on_a_labelled_share_of_the_test_set(dataset, tmp_path, capsys):
    code = main(["train", "--data", str(dataset), "--method", "cam", "--runs", str(tmp_path / "runs"),
                 "--supervised-train-fraction", "0.25", "--image-size", "64", "--param", "epochs=1",
                 "--param", "jit=false"])
    assert code == 0
    run = Run(Path(capsys.readouterr().out.strip().splitlines()[-1]))
    labelled, evaluated = supervised_split(load_category(dataset), 0.25, seed=0)
    assert run.metrics["seen_defects"] is True and run.metrics["test_images"] == len(evaluated)
    assert len(run.scores) == len(evaluated) < len(evaluated) + len(labelled)
    assert run.config["request"]["supervised_train_fraction"] == 0.25
    assert "has seen defects" in run.report["notes"][0]
    defective = sum(s.label == 1 for s in labelled)
    assert run.metrics["train_defective_images"] == defective > 0
    good = run.metrics["train_images"] - defective
    assert good == len(load_category(dataset).train) + sum(s.label == 0 for s in labelled)
    assert training_images_line(run.metrics).startswith(f"{good} good and {defective} labelled defective; ")
    document = run_report_html(run)  # each test image it learnt from named, not only counted (report review)
    named = document.split("The labelled test images it learnt from (not evaluated)")[1].split("</ul>")[0]
    assert sorted(re.findall(r"<li>(.*?)</li>", named)) == sorted(f"test/{s.defect_type}/{s.path.name}"
                                                                  for s in labelled)


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys, trained):
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--runs", str(tmp_path / "r")]) == 2
    assert "error: dataset folder" in capsys.readouterr().err
    assert main(["evaluate", "--run", str(tmp_path / "gone")]) == 2
    assert "does not exist (deleted from disk, or a mistyped path?)" in capsys.readouterr().err
    runs = tmp_path / "runs"  # the runs folder given for a run: said so, with one to give (review)
    shutil.copytree(trained.path, runs / trained.id)
    assert main(["predict", "--run", str(runs), "--input", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f"error: {runs} is a runs folder holding 1 run, not a run: give one of them, "
                                       f"such as {runs / trained.id} (`python -m vqi_core runs --runs {runs}` lists "
                                       f"them)\n")
    (tmp_path / "half").mkdir()
    assert main(["evaluate", "--run", str(tmp_path / "half")]) == 2
    assert "half is not a complete run (config.json missing and metrics.json missing)" in capsys.readouterr().err
    assert main(["evaluate", "--run", str(runs / trained.id / "scores.csv")]) == 2  # a file of a run: the run named
    assert capsys.readouterr().err == (f"error: {runs / trained.id / 'scores.csv'} lies inside the run "
                                       f"{runs / trained.id}: give the run's folder, {runs / trained.id}\n")
    (tmp_path / "half" / "config.json").write_text("{}")
    (tmp_path / "half" / "metrics.json").mkdir()  # named as such, not as missing (run-integrity review)
    assert main(["evaluate", "--run", str(tmp_path / "half")]) == 2
    assert "half is not a complete run (metrics.json not a regular file)" in capsys.readouterr().err


@pytest.mark.parametrize("n_train, n_per_defect, scored_on", [
    (12, 0, "of 1 held-out good training image"),
    (6, 4, "of the training images themselves"),
])
def test_a_test_set_that_cannot_choose_a_threshold_says_where_the_threshold_comes_from(
        tmp_path, n_train, n_per_defect, scored_on, capsys):
    """Without defective (or any) test images no threshold can be chosen on labelled images: the run takes the
    highest good training score and says so in its notes, with what to do."""
    data = write_mvtec_dataset(tmp_path / "data", n_train=n_train, n_test_good=0 if n_per_defect else 3,
                               n_per_defect=n_per_defect, with_masks=False)
    if n_per_defect:
        shutil.rmtree(data / "test")  # no test image at all
        assert main(["check", "--data", str(data)]) == 0  # said missing, not "test/good: 0 images" (command review)
        assert "  test: missing (expected test/good/<images> and test/<defect_type>/<images>)\n" in \
            capsys.readouterr().out
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    run.check(data=True)  # every page and command can read it, with no test image too
    model = run.load_model()
    assert run.threshold == pytest.approx(model.normalization["score_max"])
    expected_source = "highest held-out good score" if n_train >= 10 else "highest training-image score"
    assert run.threshold_info["source"].startswith(expected_source)
    missing = "no test images" if n_per_defect else "no defective test image"
    note = next(n for n in run.report["notes"] if "no threshold could be chosen" in n)
    assert note.startswith(f"The test set has {missing}") and scored_on in note and "evaluate --data" in note
    assert "Predict page, \"Labelled images: check the run\"" in note  # the dashboard's way too (review)
    assert f"{scored_on}, {exact_number(run.threshold)}" in note  # the number beside what it is the highest of,
    assert not re.search(r"false alarms, \d", note)  # not after 'so expect false alarms' (review of 2026-12-04)
    assert set_at_training(run.threshold_info)
    parts = tmp_path / "parts"
    parts.mkdir()
    shutil.copy(next((data / "train" / "good").iterdir()), parts / "part.png")
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["predict", "--run", str(run.path), "--input", str(parts), "--out", str(tmp_path / "out")]) == 0
    advice = ("--preset false-alarms --max-false-alarms PERCENT --save`, after checking the run on labelled images "
              "from the line" if n_per_defect == 0 else "Choose one for the line's costs after checking the run on "
              "labelled images from the line (`evaluate --data`).")  # min-cost needs both classes (review)
    assert advice in printed.getvalue() and "min-cost" not in printed.getvalue()


def test_cli_refuses_infinite_thresholds_and_long_reasons_before_writing_and_fails_when_nothing_is_scored(
        trained, tmp_path, capsys):
    decisions = tmp_path / "decisions.csv"
    before = trained.threshold_info
    for extra in (["--value=inf", "--save"], ["--value", "1", "--save", "--reason", "x" * 501]):
        assert main(["threshold", "--run", str(trained.path), *extra, "--decisions", str(decisions)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and ("finite number" in captured.err or "at most 500" in captured.err)
    assert not decisions.exists() and trained.threshold_info == before
    assert main(["report", "--run", str(trained.path), "--threshold=-inf", "--out", str(tmp_path / "r.html")]) == 2
    assert not (tmp_path / "r.html").exists()

    folder = tmp_path / "unreadable"
    folder.mkdir()
    Image.new("1", (9000, 9000)).save(folder / "huge.png")  # a sound header, over the pixel limit
    encoded = cv2.imencode(".jpg", textured_image(64, seed=3))[1].tobytes()
    (folder / "truncated.jpg").write_bytes(encoded[: len(encoded) // 2])  # a sound header, half the data
    assert main(["predict", "--run", str(trained.path), "--input", str(folder), "--out", str(tmp_path / "o")]) == 2
    assert "error: no image of" in capsys.readouterr().err
    (tmp_path / "afile").write_text("")
    assert main(["predict", "--run", str(trained.path), "--input", str(folder), "--out", str(tmp_path / "afile")]) == 2
    assert "is a file: name a folder" in capsys.readouterr().err
    assert main(["predict", "--run", str(trained.path), "--input", str(folder), "--out", "/dev/null"]) == 2
    assert "error: --out /dev/null is not a folder: name a folder" in capsys.readouterr().err  # not "a file"


def test_cli_evaluate_names_skipped_images_and_refuses_a_test_set_without_images(trained, dataset, tmp_path, capsys):
    other = tmp_path / "line" / "lot7"
    shutil.copytree(dataset, other)
    (other / "test" / "blob" / "000.png").write_bytes(b"not an image")
    assert main(["evaluate", "--run", str(trained.path), "--data", str(tmp_path / "line"), "--category", "lot7"]) == 0
    out = capsys.readouterr().out
    assert f"skipped {other / 'test' / 'blob' / '000.png'}" in out and " fit " not in out
    assert main(["evaluate", "--run", str(trained.path), "--data", str(other), "--category", "lot8"]) == 2
    assert "is itself a category (lot7), not a folder holding 'lot8'" in capsys.readouterr().err
    shutil.rmtree(other / "test")
    assert main(["evaluate", "--run", str(trained.path), "--data", str(other)]) == 2
    assert "lot7 has no test folder: expected lot7/test/good/<images>" in capsys.readouterr().err
    (other / "test" / "good").mkdir(parents=True)
    assert main(["evaluate", "--run", str(trained.path), "--data", str(other)]) == 2
    assert "has no readable test image to evaluate on" in capsys.readouterr().err
    (other / "test" / "good" / "a.png").write_text("notes")  # each file named with its reason (command review:
    (other / "test" / "good" / "b.jpg").write_text("notes")  # "(3 files skipped)", none named)
    assert main(["evaluate", "--run", str(trained.path), "--data", str(other)]) == 2
    assert re.search(r"has no readable test image to evaluate on \(\d files or folders passed over: a.png, b.jpg: "
                     r"not a readable image", capsys.readouterr().err)
    moved = Run(shutil.copytree(trained.path, tmp_path / "runs" / trained.id))
    record_dataset_as(moved.path, tmp_path / "gone")
    assert main(["evaluate", "--run", str(moved.path)]) == 2
    assert f"its dataset folder {tmp_path / 'gone'} is no longer there (moved or deleted?); to evaluate on the " \
           f"images where they are now, give their category folder as --data" in capsys.readouterr().err
    for option, message in [("--defect-rate=150", "--defect-rate is a percentage"),
                            ("--defect-rate=1e-300", "--defect-rate is a percentage from 0.001 to 99, not 1e-300"),
                            ("--max-false-alarms=-5", "--max-false-alarms is a percentage from 0 to 100, not -5.0"),
                            ("--max-false-alarms=101", "--max-false-alarms is a percentage from 0 to 100, not 101.0"),
                            ("--max-false-alarms=5", "--max-false-alarms sets the preset 'at most X % false alarms': "
                                                     "use it with --preset false-alarms"),  # ignored silently (review)
                            ("--decisions=" + str(tmp_path), "is a folder: name a file to write")]:
        assert main(["threshold", "--run", str(trained.path), option]) == 2
        captured = capsys.readouterr()
        assert message in captured.err and not captured.out  # refused before anything is printed


def test_operating_system_errors_are_said_as_the_file_and_the_reason(trained, dataset, tmp_path, capsys):
    (tmp_path / "a file").write_text("x")
    assert main(["predict", "--run", str(trained.path), "--input", str(dataset / "test" / "good"), "--out",
                 str(tmp_path / "a file" / "out")]) == 2
    assert capsys.readouterr().err == (f"error: --out {tmp_path / 'a file' / 'out'} cannot be made: "
                                       f"{tmp_path / 'a file'} is a file, not a folder\n")
    assert error_text(PermissionError(13, "Permission denied", "/line/out")) == "/line/out: Permission denied"
    assert error_text(FileNotFoundError("run folder x does not exist")) == "run folder x does not exist"


def test_output_files_keep_a_symbolic_link_and_refuse_a_pipe_or_a_device(trained, tmp_path, capsys):
    """Writing a temporary file and renaming it onto the path replaced a link (the file it pointed to kept its
    old content), a named pipe or a device node, and the command said it had written it."""
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "line3.html").write_text("old")
    (tmp_path / "current.html").symlink_to(archive / "line3.html")
    assert main(["report", "--run", str(trained.path), "--out", str(tmp_path / "current.html")]) == 0
    assert (tmp_path / "current.html").is_symlink() and "<html" in (archive / "line3.html").read_text()[:200]
    os.mkfifo(tmp_path / "pipe")
    capsys.readouterr()
    assert main(["threshold", "--run", str(trained.path), "--decisions", str(tmp_path / "pipe")]) == 2
    assert "it is not a regular file (a pipe, a device or a socket)" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe").st_mode)  # still a pipe


def test_a_runs_folder_inside_a_run_is_refused(trained, dataset, tmp_path, capsys):
    """A run trained or imported into another run's folder was exported and deleted with it."""
    run = Run(shutil.copytree(trained.path, tmp_path / "runs" / trained.id))
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(run.path / "inner")]) == 2
    assert f"is inside the run folder {run.path}, not a runs folder" in capsys.readouterr().err
    assert not (run.path / "inner").exists()
    assert main(["runs", "--runs", str(run.path)]) == 2
    assert f"is a run folder, not a runs folder: give the folder that holds the runs, e.g. {run.path.parent}" in \
        capsys.readouterr().err
    nested = tmp_path / "nested" / trained.id
    shutil.copytree(trained.path, nested)
    shutil.copytree(trained.path, nested / "older")  # a run inside the run: an export leaves it out
    assert import_run(run_archive_bytes(Run(nested)), RunStore(tmp_path / "exported")).id == trained.id
    assert not (tmp_path / "exported" / trained.id / "older").exists()
    packed = io.BytesIO()  # an archive made by hand carrying both is refused
    with zipfile.ZipFile(packed, "w") as archive:
        for path in sorted(nested.rglob("*")):
            if path.is_file():
                archive.write(path, f"{trained.id}/{path.relative_to(nested).as_posix()}")
    with pytest.raises(RunError, match="this one's run holds another run inside it, older"):
        import_run(packed.getvalue(), RunStore(tmp_path / "imported"))


def test_a_runs_folder_inside_a_categorys_image_folders_is_refused(trained, dataset, tmp_path, capsys):
    """Found by review: a run trained or imported into a category's test folder became a defect type of its own
    (each run file a skipped test image) for check, train and evaluate."""
    copy = shutil.copytree(dataset, tmp_path / "copy")
    for folder in ("test", "train", "ground_truth"):
        runs = copy / folder / "runs"
        assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs)]) == 2
        assert f"the runs folder {runs} is inside the {folder} folder of the dataset category {copy}" in \
            capsys.readouterr().err
        assert not runs.exists()
    archive = tmp_path / "run.zip"
    archive.write_bytes(run_archive_bytes(trained))
    assert main(["runs", "--runs", str(copy / "test"), "--import", str(archive)]) == 2
    assert "is inside the test folder of the dataset category" in capsys.readouterr().err
    assert sorted(path.name for path in (copy / "test").iterdir()) == sorted(
        path.name for path in (dataset / "test").iterdir())
    # the category's own folder, or a folder beside train and test: its runs were listed as folders of the category
    for runs, where in ((copy, "the folder of"), (copy / "runs", "inside")):  # (bad-input review of 2026-12-05)
        assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs)]) == 2
        assert (f"the runs folder {runs} is {where} the dataset category {copy}: its runs would be listed among the "
                f"category's folders; give a runs folder outside the category") in capsys.readouterr().err
    assert sorted(path.name for path in copy.iterdir()) == sorted(path.name for path in dataset.iterdir())
    shutil.rmtree(copy / "train")  # a labelled test set (test/good without train), as evaluate --data takes one
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(copy / "runs")]) == 2
    assert f"is inside the dataset category {copy}" in capsys.readouterr().err


def test_evaluate_chooses_a_lot_of_new_images_by_name_without_a_training_folder(trained, dataset, tmp_path, capsys,
                                                                              monkeypatch):
    """New labelled lots from the line have test/ only; --category chose among categories with train/good."""
    lots = tmp_path / "line lots"
    for name in ("lot1", "lot2"):
        shutil.copytree(dataset / "test", lots / name / "test")
    assert main(["evaluate", "--run", str(trained.path), "--data", str(lots), "--category", "lot2"]) == 0
    assert main(["evaluate", "--run", str(trained.path), "--data", str(lots)]) == 2
    assert "holds several categories (lot1, lot2): choose one" in capsys.readouterr().err
    assert main(["evaluate", "--run", str(trained.path), "--category", "lot2"]) == 2
    assert "--category chooses a category of --data: give --data with it" in capsys.readouterr().err
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["evaluate", "--run", str(trained.path), "--data", "~/line lots/lot1"]) == 0  # quoted: no shell
    capsys.readouterr()


def test_a_reader_that_stops_early_is_no_error(trained, monkeypatch, capsys):
    def stopped_reading(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(vqi_core.cli, "_runs", stopped_reading)
    assert main(["runs", "--runs", str(trained.path.parent)]) == 141  # as `| head` ends a shell command
    assert "error" not in capsys.readouterr().err


def test_a_refused_train_creates_no_folder_and_an_interrupt_after_the_run_is_written_says_so(
        dataset, tmp_path, capsys, monkeypatch):
    """A training refused after its runs folder was made left that folder (input refused: nothing created); a
    Ctrl+C while train printed its figures said 'no run was written' of a run that was there."""
    wide = np.zeros((10, 40), np.uint8)
    wide[2:8, 5:35] = 255
    write_png(tmp_path / "wide_region.png", wide)  # another shape than the 64x64 training images
    runs = tmp_path / "new" / "line 3"
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs),
                 "--region", str(tmp_path / "wide_region.png"), *FAST_ARGS]) == 2
    assert "region" in capsys.readouterr().err and not (tmp_path / "new").exists()

    real_metrics_line = vqi_core.cli._metrics_line

    def interrupted_while_printing(metrics):
        signal.raise_signal(signal.SIGINT)
        return real_metrics_line(metrics)

    monkeypatch.setattr(vqi_core.cli, "_metrics_line", interrupted_while_printing)
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs), *FAST_ARGS]) == 130
    captured = capsys.readouterr()
    [run] = RunStore(runs).list()
    assert captured.out.splitlines()[-1] == str(run.path)  # still the last line, for scripts
    assert f"interrupted once the run was written: {run.path}" in captured.err


def test_ctrl_c_while_a_run_is_moved_into_place_says_that_it_was_written(dataset, tmp_path, capsys, monkeypatch):
    """Found by review: a Ctrl+C that landed just after the rename that publishes a run (train, runs --import)
    said 'no run was written' of a run that was there, so a script retrying on 130 trained a duplicate; one while
    the hidden staging folder was made left it behind."""
    runs = tmp_path / "runs"
    real_replace = os.replace

    def replace_then_interrupt(source, target):
        real_replace(source, target)
        if Path(source).name.startswith(".incomplete-"):
            signal.raise_signal(signal.SIGINT)  # Ctrl+C just after the run's folder was renamed into place

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    handler = signal.getsignal(signal.SIGINT)
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs), *FAST_ARGS]) == 130
    captured = capsys.readouterr()
    [run] = RunStore(runs).list()
    assert captured.out.splitlines()[-1] == str(run.path)
    assert f"interrupted once the run was written: {run.path}" in captured.err and "no run" not in captured.err
    archive = tmp_path / "run.zip"
    archive.write_bytes(run_archive_bytes(run))
    elsewhere = tmp_path / "elsewhere"
    assert main(["runs", "--runs", str(elsewhere), "--import", str(archive)]) == 130
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == str(elsewhere / run.id)
    assert f"interrupted once the run was imported: {elsewhere / run.id}" in captured.err
    assert [r.id for r in RunStore(elsewhere).list()] == [run.id]
    monkeypatch.undo()

    real_mkdtemp = vqi_core.runs.tempfile.mkdtemp

    def mkdtemp_then_interrupt(*args, **kwargs):
        made = real_mkdtemp(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)  # Ctrl+C between making the staging folder and handing it over
        return made

    monkeypatch.setattr(vqi_core.runs.tempfile, "mkdtemp", mkdtemp_then_interrupt)
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs), *FAST_ARGS]) == 130
    assert "interrupted: no run was written" in capsys.readouterr().err
    assert sorted(path.name for path in runs.iterdir()) == [run.id]  # no hidden leftover
    assert signal.getsignal(signal.SIGINT) is handler


def test_ctrl_c_while_a_threshold_is_saved_waits_until_both_files_are_written(trained, tmp_path, capsys,
                                                                             monkeypatch):
    """Found by review: scores.csv was written with the new threshold, then a Ctrl+C left threshold.json at the
    old one (the record exported and imported disagreed with itself)."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    real_write_json = vqi_core.runs.write_json_atomic

    def interrupt_then_write(path, value, create_folder=True, follow_link=True):
        signal.raise_signal(signal.SIGINT)  # Ctrl+C after scores.csv, before threshold.json
        real_write_json(path, value, create_folder, follow_link)

    monkeypatch.setattr(vqi_core.runs, "write_json_atomic", interrupt_then_write)
    value = float(np.median(run.score_values))
    assert main(["threshold", "--run", str(run.path), "--value", repr(value), "--save"]) == 130
    assert f"interrupted once the threshold was saved: {run.path}" in capsys.readouterr().err
    saved = Run(run.path)
    assert saved.threshold == value and set(pd.read_csv(run.path / "scores.csv")["threshold"]) == {value}


def test_ctrl_c_while_threshold_save_waits_for_another_save_ends_it_with_nothing_written(trained, tmp_path, capsys,
                                                                                         monkeypatch):
    """Found by review: Ctrl+C was held off from the start of the save, the wait for another save's lock included,
    so the command could not be stopped there and saved once the lock came free. The Ctrl+C is raised in the main
    thread as its wait begins (a timer's signal could land before the wait on a busy machine, or go to any thread)."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    before = (run.path / "threshold.json").read_bytes()
    holding, release = threading.Event(), threading.Event()
    flock, waits = vqi_core.system.fcntl.flock, []

    def flock_with_ctrl_c(handle: int, operation: int) -> None:
        if threading.current_thread() is threading.main_thread() and not operation & vqi_core.system.fcntl.LOCK_NB:
            waits.append(operation)
            signal.raise_signal(signal.SIGINT)  # its handler runs here: KeyboardInterrupt unless it is held off
        flock(handle, operation)

    def other_save() -> None:
        with locked(run.path):
            holding.set()
            release.wait(15)

    holder = threading.Thread(target=other_save)
    holder.start()
    holding.wait(10)
    monkeypatch.setattr(vqi_core.system.fcntl, "flock", flock_with_ctrl_c)
    try:  # with Python's own Ctrl+C handler (conftest's ctrl_c_as_in_a_terminal)
        assert main(["threshold", "--run", str(run.path), "--value", "0.5", "--save"]) == 130
    finally:
        release.set()
        holder.join()
    assert waits, "the save did not wait for the lock"
    assert "once the threshold was saved" not in capsys.readouterr().err
    assert (run.path / "threshold.json").read_bytes() == before


def test_the_dashboards_split_refuses_an_existing_target_before_reading_any_image(dataset, tmp_path, monkeypatch):
    """Found by review: the page's split grouped every image before finding that its folder could not be made."""
    data = shutil.copytree(dataset, tmp_path / "part")
    (tmp_path / "part_by_part").mkdir()
    monkeypatch.setattr(vqi_core.dashboard.train_form, "split_by_part",
                        lambda *args, **kwargs: pytest.fail("images read"))
    with pytest.raises(FileExistsError, match="already exists"):
        split_category_by_part(str(data), None)


def test_csv_files_for_people_keep_a_file_name_that_would_be_a_formula_as_text(trained, dataset, tmp_path, capsys):
    """A part photographed as ``=HYPERLINK(...).png`` would run as a formula where predictions.csv is opened in a
    spreadsheet: exported text cells that would start one are kept as text; numbers stay numbers; a second predict
    into the same folder still finds the earlier overlays by the names it wrote."""
    parts, out = tmp_path / "parts", tmp_path / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    originals = sorted(parts.iterdir())
    originals[0].rename(parts / "=HYPERLINK(1).png")
    originals[1].rename(parts / "-2.png")
    assert main(["predict", "--run", str(trained.path), "--input", str(parts), "--out", str(out)]) == 0
    capsys.readouterr()
    frame = pd.read_csv(out / "predictions.csv")
    assert {"'=HYPERLINK(1).png", "'-2.png"} <= set(frame["image"]) and frame["score"].dtype == float
    assert not any(name.startswith(("=", "-")) for name in frame["image"])
    overlays = sorted(path.name for path in out.iterdir() if path.name != "predictions.csv")
    (parts / "=HYPERLINK(1).png").unlink()  # not scored again: its earlier overlay goes
    assert main(["predict", "--run", str(trained.path), "--input", str(parts), "--out", str(out)]) == 0
    left = sorted(path.name for path in out.iterdir() if path.name != "predictions.csv")
    assert len(left) == len(overlays) - 1 and not any(name.startswith("=HYPERLINK") for name in left)
    assert spreadsheet_text("'=HYPERLINK(1).png") == "=HYPERLINK(1).png" and spreadsheet_text("a.png") == "a.png"
    decisions = pd.read_csv(io.BytesIO(decisions_csv(trained, trained.threshold)))
    assert decisions["score"].dtype == float and not decisions["image"].str.startswith(FORMULA_STARTS).any()


def test_a_second_predict_into_a_folder_being_written_is_refused_and_changes_nothing(trained, dataset, tmp_path,
                                                                                    capsys):
    """Two predicts into one --out used to remove each other's staging folder and results, one of them reported
    as written: the folder is locked while a predict writes into it."""
    parts, out = tmp_path / "parts", tmp_path / "out"
    shutil.copytree(dataset / "test" / "good", parts)
    command = ["predict", "--run", str(trained.path), "--input", str(parts), "--out", str(out)]
    assert main(command) == 0
    capsys.readouterr()
    earlier = {path.name: path.read_bytes() for path in out.iterdir()}
    with locked(out):  # as the other predict holds it while it writes
        assert main(command) == 2
    assert f"another predict is writing into {out}: wait until it has finished" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == earlier
    assert main(command) == 0  # once it has finished


def test_predict_refuses_to_write_into_a_dataset_categorys_image_folders(trained, dataset, tmp_path, capsys):
    """Overlays written into test/good_predictions were read as a new defect type by check, train and evaluate."""
    for inside in ("test/good_predictions", "train/good/overlays", "ground_truth"):
        out = dataset / inside
        assert main(["predict", "--run", str(trained.path), "--input", str(dataset / "test" / "good"),
                     "--out", str(out)]) == 2
        refusal = capsys.readouterr().err
        assert f"is inside the {inside.split('/')[0]} folder of the dataset category {dataset}" in refusal
        assert not out.exists() or inside == "ground_truth"
    assert main(["split", "--data", str(dataset), "--out", str(dataset / "test" / "by_part")]) == 2  # read as a
    assert f"is inside the test folder of the dataset category {dataset}" in capsys.readouterr().err  # defect type
    assert not (dataset / "test" / "by_part").exists()
    lot = tmp_path / "lot" / "line"  # a labelled test set without a train folder, as evaluate --data takes
    shutil.copytree(dataset / "test", lot / "test")
    assert main(["predict", "--run", str(trained.path), "--input", str(lot / "test" / "good"),
                 "--out", str(lot / "test" / "checked")]) == 2
    assert f"is inside the test folder of the dataset category {lot}" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("a file")
    assert main(["predict", "--run", str(trained.path), "--input", str(dataset / "test" / "good"),
                 "--out", str(tmp_path / "notes.txt" / "out")]) == 2
    assert f"cannot be made: {tmp_path / 'notes.txt'} is a file, not a folder" in capsys.readouterr().err
    assert main(["predict", "--run", str(trained.path), "--input", str(dataset / "test" / "good"),
                 "--out", str(tmp_path / "beside")]) == 0  # outside the category
    image = dataset / "test" / "good" / sorted(path.name for path in (dataset / "test" / "good").iterdir())[0]
    before = image.read_bytes()
    for command in (["report", "--run", str(trained.path), "--out", str(image)],  # found by review: HTML over it
                    ["threshold", "--run", str(trained.path), "--decisions", str(image)],
                    ["runs", "--runs", str(trained.path.parent), "--export", trained.id, "--out", str(image)]):
        assert main(command) == 2, command
        assert f"{image} is inside the test folder of the dataset category {dataset}" in capsys.readouterr().err
    assert image.read_bytes() == before


def test_a_mask_that_cannot_be_read_at_the_metrics_stage_is_left_out_not_the_end_of_the_run(dataset, tmp_path,
                                                                                            monkeypatch):
    """A mask that passed the category's check but failed to decode (damaged past its header, or changed since)
    ended the run at its metrics stage, after the whole fit."""
    import vqi_core.runs as runs_module

    real_read_mask = runs_module.read_mask

    def damaged(path, *args, **kwargs):
        if Path(path).name == "001_mask.png":
            raise ImageReadError(f"{path}: not a readable image (zlib: invalid stored block lengths)")
        return real_read_mask(path, *args, **kwargs)

    monkeypatch.setattr(runs_module, "read_mask", damaged)
    run = train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path / "runs")
    masked_types = [name for name in run.metrics["per_defect_type"]
                    if (dataset / "ground_truth" / name / "001_mask.png").exists()]
    assert run.metrics["pixel_auroc"] is not None and masked_types
    notes = [n for n in run.report["notes"] if n.startswith(f"{len(masked_types)} mask")]
    assert len(notes) == 1 and "could not be read, so" in notes[0] and "left out of pixel AUROC and AUPRO" in notes[0]
    assert "zlib: invalid stored block lengths" in notes[0]


def test_evaluate_says_whether_a_run_reproduces_its_record_and_fails_on_changes_when_asked(trained_run, tmp_path,
                                                                                          capsys):
    """Re-validation on a line's machine: `evaluate` ends with whether the run reproduces its record (its test files
    as at training, every image judged as its saved score is), and with --fail-on-changes exits 1 where it does not
    (stop 56's item: it exited 0 whatever changed, so a script could not tell)."""
    run = Run(shutil.copytree(trained_run.path, tmp_path / "runs" / trained_run.id))
    assert main(["evaluate", "--run", str(run.path), "--fail-on-changes"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "reproduces its record: every test file as at training, every image judged as its saved score is")
    scores = pd.read_csv(run.path / "scores.csv")
    index = int(np.argmax(scores["score"].to_numpy() >= run.threshold))  # a rejected image, saved as passed
    scores.loc[index, "score"] = run.threshold - 1
    scores.to_csv(run.path / "scores.csv", index=False)
    reseal(run.path)  # as if the run had been written so
    assert main(["evaluate", "--run", str(run.path)]) == 0  # said, not failed, unless asked
    said = capsys.readouterr().out.splitlines()[-1]
    assert said == (f"does not reproduce its record: 1 image judged otherwise at {exact_number(run.threshold)} than "
                    f"its saved score is (e.g. {scores.loc[index, 'path']})")
    assert main(["evaluate", "--run", str(run.path), "--fail-on-changes"]) == 1
    assert main(["evaluate", "--run", str(run.path), "--data", run.config["dataset"], "--fail-on-changes"]) == 2
    assert "--fail-on-changes checks the run against its own test set: leave out --data" in capsys.readouterr().err


def test_a_run_records_its_compute_settings_and_evaluate_says_when_they_differ(trained_run, tmp_path):
    """Scores move in their last digits with torch's thread count and the CPU's instructions (a fine-tuned model's
    by more): a run that did not record them could not tell a re-validation why its scores differ."""
    assert trained_run.config["compute"] == compute_setting()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)  # recorded as set when the run trains, not a fixed number
        assert compute_setting()["torch_threads"] == threads + 1
    finally:
        torch.set_num_threads(threads)
    assert set(compute_setting()) == {"torch_threads", "cpu_capability", "machine"}
    assert not any("compute settings" in note for note in evaluate_run(trained_run)["notes"])
    run = Run(shutil.copytree(trained_run.path, tmp_path / trained_run.id))
    recorded = {**compute_setting(), "torch_threads": compute_setting()["torch_threads"] + 1}
    (run.path / "config.json").write_text(json.dumps({**run.config, "compute": recorded}))
    notes = [note for note in evaluate_run(run)["notes"] if "compute settings" in note]
    assert notes == [f"the run was trained with other compute settings (torch_threads {recorded['torch_threads']} "
                     f"then, {compute_setting()['torch_threads']} now): scores computed here may differ from the "
                     f"saved ones in their last digits, a fine-tuned or CAM model's by more"]
    # a run trained before runs recorded them: said only where its scores differ
    (run.path / "config.json").write_text(json.dumps({key: value for key, value in run.config.items()
                                                      if key != "compute"}))
    assert not any("compute settings" in note for note in evaluate_run(Run(run.path))["notes"])
    scores = pd.read_csv(run.path / "scores.csv")
    scores.loc[0, "score"] += 1e-3
    scores.to_csv(run.path / "scores.csv", index=False)
    notes = [note for note in evaluate_run(Run(run.path))["notes"] if "compute settings" in note]
    assert len(notes) == 1 and notes[0].startswith("the scores computed here differ from the saved ones by up to 0.001")


def _png_that_does_not_decode(path: Path) -> None:
    """A PNG whose header and chunk checksums are right, but whose pixel data are not zlib data: it passes the
    header check that lists a category and fails only when decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not zlib data")
                     + chunk(b"IEND", b""))


def test_training_images_that_all_fail_to_decode_are_named_with_the_reason(tmp_path):
    """Every training image passing the header check and failing to decode said only "no readable defect-free
    training image", with no file and no reason."""
    data = write_mvtec_dataset(tmp_path / "part", n_train=1, n_test_good=1, n_per_defect=0, with_masks=False)
    for path in (data / "train" / "good").iterdir():
        path.unlink()
    for name in ("a.png", "b.png"):
        _png_that_does_not_decode(data / "train" / "good" / name)
    with pytest.raises(ValueError, match=rf"^no readable defect-free training image in {data / 'train' / 'good'} "
                                         rf"\(2 files or folders passed over: a\.png, b\.png: .*\)$"):
        train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")


@pytest.mark.parametrize("category", ["line2/B", "../other"])
def test_a_category_given_as_a_path_is_told_to_be_a_name(tmp_path, category):
    """--category line2/B was answered "line2/B has no train/good folder" although it has one."""
    write_mvtec_dataset(tmp_path / "data" / "A", n_train=1, n_test_good=1, n_per_defect=0, with_masks=False)
    write_mvtec_dataset(tmp_path / "data" / "line2" / "B", n_train=1, n_test_good=1, n_per_defect=0,
                        with_masks=False)
    with pytest.raises(DatasetError, match=rf"^the category '{re.escape(category)}' is a path, but a category is "
                                           rf"named by its folder directly in {tmp_path / 'data'} \(A\)"):
        category_path(tmp_path / "data", category)


def test_tiny_training_images_are_said_in_the_run_notes(tmp_path):
    """A set of 1 x 1 px training images trained without a word (bad-input review of 2026-12-05)."""
    category = tmp_path / "dots"
    for index in range(5):
        write_png(category / "train" / "good" / f"{index}.png", np.full((1, 1, 3), 100 + index, np.uint8))
    for label in ("good", "dent"):
        write_png(category / "test" / label / "0.png", np.full((1, 1, 3), 100 if label == "good" else 30, np.uint8))
    run = train_run(RunConfig(str(category), METHOD, FAST), tmp_path / "runs")
    assert tiny_training_images_note([(1, 1)] * 5) in run.report["notes"]
    assert tiny_training_images_note([(1, 1)] * 5).startswith("The training images are tiny (median 1x1 px)")
    assert tiny_training_images_note([(16, 200), (15, 200), (16, 300)]) is None  # a strip 16 px high is enough
    assert tiny_training_images_note([(15, 200), (15, 200), (16, 300)]) is not None
    assert tiny_training_images_note([]) is None


def test_a_training_image_far_from_the_others_size_or_shape_is_named_in_the_run_notes(dataset, tmp_path):
    """Found by review: one 2 x 19200 px image among 64 px parts set fixed_scale's scale (every part became 7 px:
    pixel AUROC 0.9998 -> 0.776) and widened the sizes new images are checked against, without a word."""
    assert odd_sized_training_images_note(["a.png", "b.png", "c.png"], [(64, 64), (60, 70), (128, 100)],
                                          "squash") is None  # within 4x of the median's area and aspect ratio
    assert odd_sized_training_images_note(["a.png", "b.png", "c.png"], [(64, 64), (60, 70), (640, 640)],
                                          "squash").startswith("1 training image is far from")  # three: a median
    assert odd_sized_training_images_note(["a.png", "b.png"], [(64, 64), (640, 640)], "squash") is None  # two: none
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    write_png(data / "train" / "good" / "strip.png", textured_image((2, 1200), seed=5))
    run = train_run(RunConfig(str(data), METHOD, {**FAST, "resize": "fixed_scale"}), tmp_path / "runs")
    [note] = [note for note in run.report["notes"] if "far from the others' size or shape" in note]
    assert note.startswith("1 training image is far from the others' size or shape (area or aspect ratio more "
                           "than 4x off the median image's, 64x64 px): train/good/strip.png (1200x2 px).")
    assert "With fixed_scale resizing the largest training image sets the scale of every image" in note


def test_pixel_metrics_pair_each_known_mask_with_its_own_images_inspected_area(tmp_path):
    """With an inspection region and a defective image whose mask is unknown, the pixel metrics count the images
    with a known mask, each with its own map and its own inspected pixels, not those of the image before it."""
    rng = np.random.default_rng(0)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:16, 8:16] = 255
    mask_path = write_png(tmp_path / "b_mask.png", mask)
    samples = [Sample(tmp_path / "good0.png", 0, "good"), Sample(tmp_path / "a.png", 1, "blob"),
               Sample(tmp_path / "b.png", 1, "blob", mask_path), Sample(tmp_path / "good1.png", 0, "good")]
    maps = [rng.random((32, 32)).astype(np.float32) for _ in samples]
    maps[2][8:16, 8:16] += 0.6  # b's defect stands out
    areas = [np.zeros((32, 32), bool) for _ in samples]
    for index, area in enumerate(areas):  # each image's own inspected rows
        area[8 * index:8 * index + 16] = True
    scores = np.array([0.1, 0.9, 0.8, 0.2])
    metrics = metrics_of_test_set(samples, scores, maps, areas, [], {"map_median": 0.5, "map_max": 1.0,
                                                                  "score_max": 0.2})
    known = [0, 2, 3]
    truth = [np.zeros((32, 32), bool), mask > 127, np.zeros((32, 32), bool)]
    expected = summary_metrics(np.array([0, 1, 1, 0]), scores, truth, [maps[i] for i in known],
                               [areas[i] for i in known])
    assert metrics["pixel_auroc"] == pytest.approx(expected["pixel_auroc"])
    assert metrics["aupro"] == pytest.approx(expected["aupro"])


def test_a_files_digest_covers_all_of_it(tmp_path):
    """Read in chunks, a file larger than one chunk is digested whole (two files alike in their first MiB differ)."""
    data = np.random.default_rng(0).bytes(3 * 2**20 + 5)
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "b.bin").write_bytes(data[:-1] + b"x")
    assert file_sha256(tmp_path / "a.bin") == hashlib.sha256(data).hexdigest() != file_sha256(tmp_path / "b.bin")


def test_the_data_digest_does_not_depend_on_the_manifests_order_and_the_label_shows_twelve_digits():
    """Found by mutation testing: rows digested in the order given, or a label of 8 digits, went unnoticed."""
    manifest = pd.DataFrame({"role": ["train", "test", "test"], "file": ["a.png", "b.png", "c.png"],
                             "sha256": ["1" * 64, "2" * 64, "3" * 64]})
    assert manifest_digest(manifest) == manifest_digest(manifest.iloc[::-1])
    assert manifest_digest(manifest) != manifest_digest(manifest.assign(sha256=["1" * 64, "3" * 64, "2" * 64]))
    assert manifest_digest(manifest) != manifest_digest(manifest.assign(role=["train", "mask", "test"]))  # moved
    assert manifest_digest(manifest) != manifest_digest(manifest.assign(file=["a.png", "b.png", "d.png"]))  # renamed
    assert data_label({"data_sha256": "0123456789abcdef" * 4, "data_files": 3}) == "0123456789ab (3 files)"


def test_tables_and_reports_show_when_a_run_was_created_readably(trained, tmp_path):
    """The config keeps ISO 8601 with its offset; the run table shows "2026-12-05 01:11:53 +01:00" (the "T" had read
    as a typo to a reviewer; a column sorts by it), the report as its histories give times, "01:11:53 2026-12-05
    UTC+01:00" (one format in one document: report review); a value edited by hand is shown as it is."""
    assert readable_time("2026-12-05T01:11:53+01:00") == "2026-12-05 01:11:53 +01:00"
    assert readable_time("2026-12-05T01:11:53-05:30") == "2026-12-05 01:11:53 -05:30"
    assert readable_time("2026-12-05T01:11:53") == "2026-12-05 01:11:53"
    assert readable_time("last Tuesday") == "last Tuesday" and readable_time(None) is None
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    shown = runs_table([run])["created"].tolist()
    assert shown == [readable_time(run.config["created"])] and re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d", shown[0])
    assert f"<td>{saved_time(run.config['created'])}</td>" in run_report_html(run)


def test_a_saved_threshold_and_its_record_come_from_one_reading(trained, tmp_path, monkeypatch):
    """The run table, Predict, predict and the report pair the saved threshold with its source from one reading of
    threshold.json (``Run.saved_threshold``): read apart, a threshold saved in between paired one threshold with
    another's source, and each run table row read the file twice."""
    run = Run(shutil.copytree(trained.path, tmp_path / trained.id))
    run.save_threshold(run.threshold * 1.5, "manual", reason="line 3")
    threshold, info = run.saved_threshold
    assert threshold == run.threshold == info["threshold"] and info["source"] == "manual"
    assert run.problem() is None
    reads = []
    real_read = Run._read_json
    monkeypatch.setattr(Run, "_read_json", lambda self, name: reads.append(name) or real_read(self, name))
    monkeypatch.setattr(Run, "problem", lambda self, data=False: None)  # checked: the row's own readings counted
    row = runs_table([run]).iloc[0]
    assert reads.count("threshold.json") == 1
    assert row["saved threshold"] == threshold and row["threshold from"] == "manual"


def test_the_dashboards_overlay_zip_holds_what_predict_saves(trained, tmp_path):
    """Predict's "Download overlays (ZIP)": each scored image's overlay exactly as `predict` writes it (the same PNG
    bytes, verdict and score under it), named as predict names it; a name given to two uploads is kept apart, a file
    that cannot be scored is left out (browser review: the dashboard had offered the CSV alone)."""
    folder = tmp_path / "parts"
    folder.mkdir()
    paths = sorted((Path(trained.config["dataset"]) / "test").rglob("*.png"))[:2]
    for index, path in enumerate(paths):
        shutil.copy(path, folder / f"part{index}.png")
    out = tmp_path / "out"
    assert main(["predict", "--run", str(trained.path), "--input", str(folder), "--out", str(out)]) == 0
    uploads = [(f"part{index}.png", path.read_bytes()) for index, path in enumerate(paths)]
    uploads += [("part0.png", paths[1].read_bytes()), ("part0.png", paths[0].read_bytes()),  # a third of one name:
                ("broken.png", b"not an image")]  # a name of its own too (mutation review: only a second was tried)
    model = trained.load_model()
    scored = [(name, hashlib.sha256(data).hexdigest()) for name, data in uploads]
    packed = overlays_zip(trained, model, upload_sources(uploads), trained.threshold, trained.box_level, scored)
    with zipfile.ZipFile(io.BytesIO(packed)) as archive:
        assert archive.namelist() == ["part0.png_overlay.png", "part1.png_overlay.png", "part0 (2).png_overlay.png",
                                      "part0 (3).png_overlay.png", LEFT_OUT_FILE]
        for name in ("part0.png_overlay.png", "part1.png_overlay.png"):
            assert archive.read(name) == (out / name).read_bytes()  # as predict saved it
        assert archive.read("part0 (2).png_overlay.png") == (out / "part1.png_overlay.png").read_bytes()
        assert archive.read(LEFT_OUT_FILE).decode().startswith("broken.png: not a readable image")
    shutil.copy(paths[0], folder / "part2.png")
    scored = [(path.name, hashlib.sha256(path.read_bytes()).hexdigest()) for path in folder.iterdir()]  # scored,
    (folder / "part1.png").write_bytes(paths[0].read_bytes()[:-1] + b"\0")  # then one file replaced: left out, said
    (folder / "part2.png").unlink()  # one deleted and a copy of another added: neither drawn, both said (browser
    shutil.copy(paths[0], folder / "part3.png")  # review: the copy was drawn, the deleted file left out silently)
    packed = overlays_zip(trained, model, folder_sources(folder)[0], trained.threshold, trained.box_level, scored)
    with zipfile.ZipFile(io.BytesIO(packed)) as archive:
        assert archive.namelist() == ["part0.png_overlay.png", LEFT_OUT_FILE]
        assert archive.read(LEFT_OUT_FILE).decode() == (
            "part1.png: changed since it was scored (score it again)\n"
            "part3.png: not among the results (added since they were scored: score again)\n"
            "part2.png: gone since it was scored (deleted or moved)\n")
    with zipfile.ZipFile(io.BytesIO(error_zip("The overlays could not be made: gone"))) as archive:
        assert archive.read(LEFT_OUT_FILE) == b"The overlays could not be made: gone\n"


def test_every_line_the_command_line_prints_shows_control_characters_as_escapes(dataset, tmp_path, capsys):
    """A test image named with a terminal escape code, and a defect type folder so named, cleared the screen and
    recoloured the output of train's copy note, evaluate's notes and the per-type lines of train, evaluate and
    boxes, while other lines showed the same names escaped (bad-input review)."""
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    shutil.copy(data / "train" / "good" / "000.png", data / "test" / "good" / "x\x1b[2J\x1b[31mRED.png")
    (data / "test" / "scratch").rename(data / "test" / "scr\x1b[31mX")
    (data / "ground_truth" / "scratch").rename(data / "ground_truth" / "scr\x1b[31mX")
    assert main(["train", "--data", str(data), "--method", METHOD, "--runs", str(tmp_path / "runs"), *FAST_ARGS]) == 0
    printed = capsys.readouterr().out
    run_path = printed.splitlines()[-1]
    assert main(["evaluate", "--run", run_path, "--data", str(data)]) == 0
    assert main(["boxes", "--run", run_path]) == 0
    printed += capsys.readouterr().out
    assert "x\\x1b[2J\\x1b[31mRED.png is train/good/000.png" in printed  # the copy note of train and evaluate
    assert "  scr\\x1b[31mX: 5 images, image AUROC" in printed and "\x1b" not in printed


def test_a_run_says_when_its_ranking_is_inverted_its_training_images_blank_or_its_test_images_unlike_them(
        dataset, tmp_path, capsys):
    """Found by the bad-input review: a run whose test folders' labels were swapped (image AUROC 0.0000, interval
    0.0000–0.0000) gave no note; twelve black training images trained without a word; test images captured unlike
    the training images were flagged by evaluate --data and predict, but not by train."""
    swapped = tmp_path / "swapped"
    shutil.copytree(dataset, swapped, ignore=shutil.ignore_patterns("ground_truth"))
    (swapped / "test" / "good").rename(swapped / "test" / "was_good")
    (swapped / "test" / "scratch").rename(swapped / "test" / "good")
    for path in (swapped / "test" / "blob").iterdir():  # ten "good" images: an interval clear of 0.5 (DeLong's, of
        path.rename(swapped / "test" / "good" / f"blob_{path.name}")  # 5 against 6, reached 0.52)
    (swapped / "test" / "blob").rmdir()
    runs = str(tmp_path / "runs")
    assert main(["train", "--data", str(swapped), "--method", METHOD, "--runs", runs, *FAST_ARGS]) == 0
    printed = capsys.readouterr().out
    run = Run(Path(printed.splitlines()[-1]))
    assert run.metrics["image_auroc_interval"][1] < 0.5
    assert any(note.startswith(f"The image AUROC {run.metrics['image_auroc']:.4f} lies below chance")
               for note in run.report["notes"])
    assert "; below chance: the good images score above the defective ones)" in printed
    dark = tmp_path / "dark"
    shutil.copytree(dataset, dark)
    for path in (dark / "train" / "good").glob("*.png"):
        write_png(path, (np.asarray(Image.open(path)) * 0.35).astype(np.uint8))
    run = train_run(RunConfig(str(dark), METHOD, FAST), tmp_path / "runs")
    assert any(note.startswith("6 of 6 good images are unlike the good training images")
               for note in run.report["notes"])
    assert not any("blank" in note for note in run.report["notes"])
    assert not any("unlike" in note for note in train_run(RunConfig(str(dataset), METHOD, FAST), tmp_path / "runs")
                   .report["notes"])  # the same images captured alike: no note
    for path in sorted((dark / "train" / "good").glob("*.png"))[:1]:
        write_png(path, np.zeros((64, 64, 3), np.uint8))
    run = train_run(RunConfig(str(dark), METHOD, FAST), tmp_path / "runs")
    assert any(note.startswith("At least one good training image is blank") for note in run.report["notes"])
    for path in (dark / "train" / "good").glob("*.png"):
        write_png(path, np.zeros((64, 64, 3), np.uint8))
    run = train_run(RunConfig(str(dark), METHOD, FAST), tmp_path / "runs")
    assert any(note.startswith("Every good training image is blank") for note in run.report["notes"])


def test_train_counts_skipped_folders_as_folders(dataset, tmp_path, capsys):
    """Two folders passed over were "skipped 2 files" (bad-input review)."""
    data = tmp_path / "widget"
    shutil.copytree(dataset, data)
    (data / "train" / "bad").mkdir()
    (data / "extra").mkdir()
    assert main(["train", "--data", str(data), "--method", METHOD, "--runs", str(tmp_path / "runs"), *FAST_ARGS]) == 0
    printed = capsys.readouterr().out
    assert "skipped 2 files or folders: also in " in printed
    shutil.rmtree(data / "train" / "bad")
    shutil.rmtree(data / "extra")
    (data / "train" / "good" / "notes.txt").write_text("lot 7")
    assert main(["train", "--data", str(data), "--method", METHOD, "--runs", str(tmp_path / "runs"), *FAST_ARGS]) == 0
    assert "skipped 1 file: also in " in capsys.readouterr().out


def test_the_runs_table_pads_wide_characters_by_the_columns_they_take():
    """A category named ガラス had shifted every column after the run's name (bad-input review)."""
    wide, narrow = padded("20261206-000000-ガラス-padim-1a2b", 52), padded("20261206-000000-glass-padim-1a2b", 52)
    assert len(narrow) == 52 and len(wide) == 52 - 3  # three characters two columns wide each
    assert padded("x" * 60, 52) == "x" * 60


def test_a_file_written_into_folders_that_did_not_exist_says_it_created_them(trained, tmp_path, capsys):
    """A mistyped --decisions or report --out path quietly created a tree of folders (command review); the folder
    that holds the file is named, and the highest one made (only that one had been: command review)."""
    decisions = tmp_path / "typo" / "deep" / "d.csv"
    assert main(["threshold", "--run", str(trained.path), "--decisions", str(decisions)]) == 0
    assert (f"written to {decisions} (created the folder {tmp_path / 'typo' / 'deep'} (and the folders above it, "
            f"from {tmp_path / 'typo'}) for it)") in capsys.readouterr().out
    assert main(["threshold", "--run", str(trained.path), "--decisions", str(decisions)]) == 0
    assert "created the folder" not in capsys.readouterr().out  # it exists now
    report = tmp_path / "reports" / "r.html"
    assert main(["report", "--run", str(trained.path), "--out", str(report)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == str(report)
    assert f"note: created the folder {tmp_path / 'reports'} for the report" in captured.err


def test_train_predict_and_split_say_which_folders_they_created(trained, dataset, tmp_path, capsys):
    """They made a mistyped --runs or --out path's tree of folders without a word, which the README said they did
    not (README review); the folder written stays the last line printed."""
    runs = tmp_path / "typo" / "runs"
    assert main(["train", "--data", str(dataset), "--method", METHOD, "--runs", str(runs), *FAST_ARGS]) == 0
    captured = capsys.readouterr()
    assert (f"note: created the folder {runs} (and the folders above it, from {tmp_path / 'typo'}) to hold the runs"
            in captured.err)
    assert Path(captured.out.splitlines()[-1]).parent == runs
    out = tmp_path / "lot" / "7"
    for first in (True, False):  # the second predict finds the folder there
        assert main(["predict", "--run", str(trained.path), "--input", str(dataset / "test" / "good"),
                     "--out", str(out)]) == 0
        captured = capsys.readouterr()
        assert (f"note: created the folder {out} (and the folders above it, from {tmp_path / 'lot'}) to hold the "
                f"results" in captured.err) == first
        assert captured.out.splitlines()[-1] == str(out / "predictions.csv")
    split = tmp_path / "by_part" / "widget"
    assert main(["split", "--data", str(dataset), "--out", str(split)]) == 0
    captured = capsys.readouterr()
    assert f"note: created the folder {tmp_path / 'by_part'} for the split category" in captured.err
    assert captured.out.splitlines()[-1] == str(split)


def test_predict_says_when_it_scored_images_the_run_learnt_from(trained, dataset, tmp_path, capsys):
    """Its own train/good was scored as new parts without a word (QE review)."""
    assert main(["predict", "--run", str(trained.path), "--input", str(dataset / "train" / "good"),
                 "--out", str(tmp_path / "out")]) == 0
    assert ("16 of 16 scored images are images the run learnt from (the same bytes as its training images, by "
            "SHA-256): they score lower than new parts would, so their verdicts say little about new parts.") in \
        capsys.readouterr().out
    assert main(["predict", "--run", str(trained.path), "--input", str(dataset / "test" / "good"),
                 "--out", str(tmp_path / "out2")]) == 0
    assert "the run learnt from" not in capsys.readouterr().out


@pytest.mark.parametrize("command", [["report", "--run", "R", "--out", "x.html", "--threshold=--"],
                                     ["threshold", "--run", "R", "--value=--"], ["predict", "--input=--"],
                                     ["check", "--data=--"]])
def test_an_option_given_as_equals_double_dash_is_a_usage_error(command, capsys):
    """Command review: Python 3.11's argparse stores "--threshold=--" as an empty list, unchecked, and the command
    failed with a TypeError's traceback (exit status 1)."""
    with pytest.raises(SystemExit) as refused:
        main(command)
    assert refused.value.code == 2
    option = next(token for token in command if token.endswith("=--"))[:-3]
    assert capsys.readouterr().err.strip().endswith(f"error: {option} needs a value: \"--\" is none")


def test_a_grey_training_image_among_colour_ones_is_named_by_check_and_train(tmp_path, capsys):
    """Command review: one mono-camera photo in train/good stretched the colourfulness range to 0 without a word,
    and every grey image then passed predict --fail-on-defect as like the training images."""
    data = write_mvtec_dataset(tmp_path / "part", n_train=10, n_test_good=2, n_per_defect=2, with_masks=False)
    tint = np.array([1.0, 0.85, 0.6])
    for path in data.rglob("*.png"):  # a colour line
        write_png(path, (read_image(path) * tint).clip(0, 255).astype(np.uint8))
    grey = read_image(data / "train" / "good" / "003.png").mean(axis=2, keepdims=True).astype(np.uint8)
    write_png(data / "train" / "good" / "mono_cam.png", np.repeat(grey, 3, axis=2))
    assert main(["check", "--data", str(data)]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("1 good training image is "
                                                                                      "unlike all the others")]
    assert len(said) == 1 and "train/good/mono_cam.png (" in said[0] and "a grey image (colourfulness 0.0), where " \
        "every other training image is in colour" in said[0]
    assert said[0].endswith("It alone widens the ranges new images are checked against, so images captured like it "
                            "are not called unlike the training images; if it is not how the line photographs "
                            "parts, remove it from train/good and train again.")
    assert main(["train", "--data", str(data), "--method", METHOD, "--runs", str(tmp_path / "runs"), *FAST_ARGS]) == 0
    run = Run(Path(capsys.readouterr().out.splitlines()[-1]))
    assert said[0] in run.report["notes"]
    (data / "train" / "good" / "mono_cam.png").unlink()
    assert main(["check", "--data", str(data)]) == 0
    assert "unlike all the others" not in capsys.readouterr().out


def test_check_names_the_masks_and_images_training_would_name(tmp_path, capsys):
    """Command review: check passed a 0/1 mask, an all-black mask, a test image with transparent pixels and a good
    test image far darker than the training images in silence, where training and evaluate named each."""
    data = write_mvtec_dataset(tmp_path / "part", n_train=8, n_test_good=3, n_per_defect=2)
    write_png(data / "ground_truth" / "blob" / "000_mask.png",
              (read_image(data / "ground_truth" / "blob" / "000_mask.png")[..., 0] > 127).astype(np.uint8))  # 0/1
    write_png(data / "ground_truth" / "scratch" / "001_mask.png", np.zeros((64, 64), np.uint8))
    see_through = np.dstack([read_image(data / "test" / "good" / "000.png"), np.full((64, 64), 255, np.uint8)])
    see_through[:16, :16, 3] = 0
    Image.fromarray(see_through, "RGBA").save(data / "test" / "good" / "000.png")
    write_png(data / "test" / "good" / "001.png", read_image(data / "test" / "good" / "001.png") // 4)  # a lamp out
    assert main(["check", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "1 mask could not be read, so its image is left out of pixel AUROC and AUPRO" in out
    assert "(a 0/1 mask?)" in out
    assert "1 mask of defective test images is all black, marking no defect pixel (scratch/001.png)" in out
    assert "1 test image with (partly) transparent pixels, read over black as VQI reads every image: " \
           "test/good/000.png (6%)" in out
    assert "2 of 3 good images are unlike the good training images (brightness, contrast, colour, size, shape, " \
           "file format or bit depth; e.g. 000.png: mean grey level" in out  # the one darkened, the one read over
    # black


def test_check_gives_the_notes_on_good_training_images_that_training_gives(tmp_path, capsys):
    """Found in stop 55's list of what was left: check named 16-bit, odd and transparent training images but passed
    a blank training image, too few of them, one of another size and tiny ones in silence, where training named
    each. Both now compose them with one function, word for word."""
    data = write_mvtec_dataset(tmp_path / "part", n_train=4, n_test_good=2, n_per_defect=2, with_masks=False)
    write_png(data / "train" / "good" / "000.png", np.zeros((64, 64, 3), np.uint8))  # a lens cap on
    write_png(data / "train" / "good" / "003.png", textured_image((64, 512), seed=3))  # another camera's strip
    assert main(["check", "--data", str(data)]) == 0
    checked = capsys.readouterr().out
    assert main(["train", "--data", str(data), "--method", METHOD, "--runs", str(tmp_path / "runs"), *FAST_ARGS]) == 0
    trained = Run(Path(capsys.readouterr().out.splitlines()[-1])).report["notes"]
    for start in ("At least one good training image is blank", "Only 4 good training images:",
                  "1 training image is far from the others' size or shape"):
        said = [note for note in trained if note.startswith(start)]
        assert len(said) == 1 and said[0] in checked, start
    tiny = write_mvtec_dataset(tmp_path / "tiny", n_train=6, n_test_good=2, n_per_defect=2, size=8, with_masks=False)
    assert main(["check", "--data", str(tiny)]) == 0
    assert "The training images are tiny (median 8x8 px)" in capsys.readouterr().out


def test_a_mistyped_option_is_refused_by_its_command_with_the_nearest_option_and_none_is_abbreviated(capsys):
    """Command review: "train --resise squash" got the top-level usage ("python -m vqi_core: error: unrecognized
    arguments"), without train's options or a hint, and "evaluate --dat" was read as --data (undocumented)."""
    for argv, said in ((["train", "--data", "x", "--resise", "squash"],
                        "python -m vqi_core train: error: unrecognized arguments: --resise squash (did you mean "
                        "--resize?)"),
                       (["evaluate", "--run", "r", "--dat", "x"],
                        "python -m vqi_core evaluate: error: unrecognized arguments: --dat x (did you mean --data?)"),
                       (["threshold", "--run", "r", "--val", "3"], "usage: python -m vqi_core threshold"),
                       (["train", "--dat", "x"], "the following arguments are required: --data; --dat is no option "
                        "of this command (did you mean --data?)"),  # (code review: the required one said alone)
                       (["runs", "--bogus"], "unrecognized arguments: --bogus\n")):
        with pytest.raises(SystemExit) as ended:
            main(argv)
        assert ended.value.code == 2 and said in capsys.readouterr().err
    for argv in (["threshold", "--value", "1", "--reason", "--run r"], ["train", "--data", "x", "--param", "--x y"]):
        with pytest.raises(SystemExit):  # an option's value is no option (code review: "--run r is no option")
            main(argv)
        assert "is no option of this command" not in capsys.readouterr().err


def test_a_file_format_that_alone_tells_good_from_defective_test_images_is_named_by_check_and_train(tmp_path, capsys):
    """Command review: glass's good images are BMP files (named .png), its defective ones PNG, and no check said
    so; the same images in one format give no note."""
    data = write_mvtec_dataset(tmp_path / "part", n_train=8, n_test_good=3, n_per_defect=2, with_masks=False)
    assert main(["check", "--data", str(data)]) == 0
    assert "The file format alone" not in capsys.readouterr().out
    for path in (data / "test" / "good").glob("*.png"):
        Image.open(path).convert("RGB").save(path, format="BMP")  # another tool's files, their names kept
    assert main(["check", "--data", str(data)]) == 0
    note = ("The file format alone tells the good test images from the defective ones: good BMP files named .png, "
            "defective PNG. Images saved by another tool or at another time may have been captured or processed "
            "otherwise")  # the names that hide the format said too (browser review: all named .png)
    assert note in capsys.readouterr().out
    run = train_run(RunConfig(str(data), METHOD, FAST), tmp_path / "runs")
    assert [n for n in run.report["notes"] if n.startswith(note)]
    assert main(["evaluate", "--run", str(run.path), "--data", str(data)]) == 0  # labelled images of the line
    assert note in capsys.readouterr().out  # too (code review: said by check and train only)


@pytest.mark.parametrize("argv", [["check", "--data", "~vqi_nobody_56/data"],
                                  ["runs", "--runs", "~vqi_nobody_56/runs"],
                                  ["report", "--run", "r", "--out", "~vqi_nobody_56/r.html"],  # written to a folder
                                  ["threshold", "--run", "r", "--decisions", "~vqi_nobody_56/d.csv"],  # "~vqi_no..."
                                  ["predict", "--run", "~vqi_nobody_56/run", "--input", "x", "--out", "y"]])
def test_a_home_folder_of_a_user_that_does_not_exist_is_an_error_line(argv, capsys):
    """Bad-input review: "~nouser/..." ended in Path.expanduser's RuntimeError traceback, exit status 1."""
    assert main(argv) == 2
    assert "there is no user 'vqi_nobody_56' on this machine, so ~vqi_nobody_56 is no home folder" in \
        capsys.readouterr().err


def test_a_bit_depth_for_images_that_are_not_16_bit_is_refused_by_train_and_check(dataset, tmp_path, capsys):
    """Bad-input review: train --bit-depth 12 on 8-bit images was taken without a word, and the run later refused
    full-range 16-bit images that a default run scores."""
    for command in ("train", "check", "split"):
        extra = {"train": ["--runs", str(tmp_path / "runs"), *FAST_ARGS], "check": [],
                 "split": ["--out", str(tmp_path / "by_part")]}[command]
        assert main([command, "--data", str(dataset), "--bit-depth", "12", *extra]) == 2
        assert capsys.readouterr().err == ("error: a bit depth of 12 is for 16-bit image files (those of a 12-bit "
                                           "camera), and none of the good training images is one: leave it out "
                                           "(--bit-depth)\n")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "by_part").exists()
    assert main(["check", "--data", str(dataset), "--bit-depth", "8"]) == 2
    assert "(those of an 8-bit camera)" in capsys.readouterr().err  # (code review: "a 8-bit")


def test_a_run_names_the_source_revision_it_was_trained_with_or_says_why_it_cannot(tmp_path, monkeypatch):
    """VQI's version number is the same at every commit: runs record the git commit (code review: inside another
    project's repository, that project's commit had been recorded; a checkout git refuses was called no checkout)."""
    import subprocess

    from vqi_core.pipeline import revision_of

    repository = tmp_path / "vqi"
    repository.mkdir()
    for command in (["init", "-q"], ["-c", "user.email=qe@example.com", "-c", "user.name=QE", "commit", "-q",
                                     "--allow-empty", "-m", "first"]):
        subprocess.run(["git", "-C", str(repository), *command], check=True, capture_output=True)
    commit = subprocess.run(["git", "-C", str(repository), "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    assert revision_of(repository) == f"git {commit}"
    (repository / "tracked.txt").write_text("a")
    subprocess.run(["git", "-C", str(repository), "add", "tracked.txt"], check=True)
    assert revision_of(repository) == f"git {commit} (modified)"
    (repository / "site-packages").mkdir()
    assert revision_of(repository / "site-packages") == "not a git checkout"  # inside another repository
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / ".git").write_text("gitdir: /nowhere")
    assert revision_of(tmp_path / "broken").startswith("unknown (git: fatal: ")
    monkeypatch.setenv("PATH", str(tmp_path / "no_tools"))
    assert revision_of(repository) == "unknown (git is not installed)"


def test_train_help_lists_every_parameter_of_every_method_with_its_default(capsys):
    """README review: no command listed the --param keys, and the docs said to give every parameter but did not:
    `train --help` gives each method's keys and defaults, from the methods themselves."""
    from vqi_core.methods import list_methods, parameter_defaults

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    said = " ".join(capsys.readouterr().out.split())  # as wrapped for the terminal, joined again
    for method in list_methods():
        keys = ", ".join(f"{name}={json.dumps(value, sort_keys=True)}"
                         for name, value in parameter_defaults(method).items())
        assert f"{method}: {keys}" in said
    assert "n_features=150" in said and "coreset_fraction=0.05" in said
