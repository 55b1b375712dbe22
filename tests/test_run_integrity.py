"""A run whose file is damaged or missing is named, never loaded half-way: Run.check (what `runs`, the dashboard's
run tables and every page use), the report command and `runs --import` refuse it with the file and the problem;
report.json is checked for what its readers rely on, data_manifest.csv for its columns, and the model, maps.npz
and scores.csv cheaply (the array files' table of contents, nothing decompressed)."""

from __future__ import annotations

import io
import os
import json
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import FAST_METHOD, FAST_PARAMS
from synthetic import record_dataset_as, reseal, write_mvtec_dataset
from vqi_core import runs as runs_module
from vqi_core.archive import import_run, run_archive_bytes
from vqi_core.images import ImageReadError
from vqi_core.methods import method_class
from vqi_core.methods.base import CONTENT_DIGEST_KEY, content_sha256
from vqi_core.cli import main
from vqi_core.pipeline import RunConfig, evaluate_run, train_run
from vqi_core.provenance import file_sha256
from vqi_core.report import run_report_html
from vqi_core.runs import (Run, RunError, RunStore, checked_reason, escaped_controls, predictions_frame, save_maps,
                           scores_digest, unreadable_table, write_json_atomic)
from vqi_core.system import locked


def copied(run: Run, root: Path, run_id: str = "copy") -> Run:
    """A copy of ``run`` as ``root/run_id``, its config naming it so (the session's run is shared: damage copies
    only)."""
    copy = Run(shutil.copytree(run.path, root / run_id))
    write_json_atomic(copy.path / "config.json", {**copy.config, "run_id": run_id})
    return Run(copy.path)


def packed_as_is(run: Run) -> bytes:
    """The run's folder as a run archive, packed without the checks of an export (which refuses a damaged run):
    what an archive made by hand, or damaged on its way, holds."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for path in sorted(run.path.rglob("*")):
            if path.is_file():
                archive.write(path, f"{run.id}/{path.relative_to(run.path).as_posix()}")
    return packed.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def refused_everywhere(run: Run, damaged: str, tmp_path: Path, capsys) -> None:
    """``run`` fails check() naming ``damaged`` (a message fragment), `runs` lists it as "cannot be read" with it, and
    the report and threshold --save commands refuse it without writing anything."""
    with pytest.raises(RunError, match="cannot be loaded|is damaged|is missing") as refused:
        run.check()
    assert damaged in str(refused.value)
    assert run.problem() == str(refused.value)
    capsys.readouterr()
    assert main(["runs", "--runs", str(run.path.parent)]) == 0
    listing = capsys.readouterr().out
    assert f"cannot be read: {refused.value}" in listing
    out = tmp_path / "report.html"
    assert main(["report", "--run", str(run.path), "--out", str(out)]) == 2
    assert f"error: {refused.value}" in capsys.readouterr().err
    assert not out.exists()
    threshold = (run.path / "threshold.json").read_bytes()
    assert main(["threshold", "--run", str(run.path), "--value", "1", "--save"]) == 2  # predict would not use it
    assert f"error: {refused.value}" in capsys.readouterr().err
    assert (run.path / "threshold.json").read_bytes() == threshold


def test_the_session_run_passes_every_check(trained_run):
    trained_run.check()
    trained_run.check(data=True)
    assert trained_run.data_files_recorded and trained_run.data_manifest is not None


# ---------------------------------------------------------------------------------------------------- report.json
DAMAGED_REPORTS = [
    ({"skipped": 5}, '"skipped" is not a list'),
    ({"skipped": [5], "notes": "hello"}, '"skipped" is not a list'),
    ({"skipped": [{"file": "a.png"}]}, '"skipped" is not a list'),
    ({"skipped": [], "notes": "hello"}, '"notes" is not a list of texts'),
    ({"notes": [1]}, '"notes" is not a list of texts'),
    ({"split_check": []}, '"split_check" is not an object'),
    ({"split_check": {"copies_of_train": 3}}, '"split_check.copies_of_train" is not a list'),
    ({"split_check": {"repeats_in_test": [{"test": "test/good/a.png"}]}},
     '"split_check.repeats_in_test" is not a list'),
    ({"split_check": {"look_alikes": [{"test": "a", "look_alike": 1}]}}, '"split_check.look_alikes" is not a list'),
    ({"split_check": {"look_alike_summary": {"good": {"images": 0, "with_look_alike": 0},
                                             "defective": {"images": 3, "with_look_alike": 0}}}},
     '"split_check.look_alike_summary" is not a count'),
    ({"split_check": {"look_alike_summary": {"good": 4}}}, '"split_check.look_alike_summary" is not a count'),
    ({"split_check": {"capture_cues": [{"cue": "mean grey level", "auroc": "high"}]}},
     '"split_check.capture_cues" is not'),
    ({"training_capture_ranges": [1, 2]}, '"training_capture_ranges" is not'),
    ({"training_capture_ranges": {"mean grey level": [1]}}, '"training_capture_ranges" is not'),
    ({"training_capture_ranges": {"mean grey level": ["dark", "bright"]}}, '"training_capture_ranges" is not'),
    ({"normalisation_images": "train/good/001.png"}, '"normalisation_images" is not a list of file names'),
    ({"normalisation_images": [3]}, '"normalisation_images" is not a list of file names'),
    ({"training_file_formats": "PNG"}, '"training_file_formats" is not a list of file formats'),
    ({"training_bit_depths": [12]}, '"training_bit_depths" is not a list of the bit depths 8 and 16'),
    ({"training_bit_depths": [True]}, '"training_bit_depths" is not a list of the bit depths 8 and 16'),
    ({"split_check": {"capture_cues": [{"cue": "mean grey level", "auroc": 0.99, "p_value": None}]}},
     '"split_check.capture_cues" holds a p-value ("p_value") that is not a number'),  # a TypeError had ended the
]  # listing and every page (code review)


@pytest.mark.parametrize("content, problem", DAMAGED_REPORTS)
def test_a_report_json_its_readers_cannot_use_is_named(trained_run, tmp_path, capsys, content, problem):
    run = copied(trained_run, tmp_path / "runs")
    (run.path / "report.json").write_text(json.dumps(content))
    with pytest.raises(RunError, match="report.json is damaged") as refused:
        run.report
    assert problem in str(refused.value) and str(run.path / "report.json") in str(refused.value)
    refused_everywhere(run, f"{run.path / 'report.json'} is damaged: {problem}", tmp_path, capsys)


@pytest.mark.parametrize("name", ["config.json", "metrics.json", "threshold.json", "report.json", "description.json",
                                  "box_level.json", "model/model.json"])
@pytest.mark.parametrize("content, problem", [('{"a":' + "[" * 100_000 + "]" * 100_000 + "}", "recursion"),
                                              ('{"a": ' + "7" * 5000 + "}", "4300 digits")])
def test_json_nested_too_deep_or_with_a_huge_number_is_named_not_a_traceback(trained_run, tmp_path, capsys, name,
                                                                            content, problem):
    """Python's JSON reader raises RecursionError on deep nesting and a ValueError beyond 4,300 digits: `runs`
    ended in a traceback, losing the listing of every healthy run too (bad-input review of 2026-12-05)."""
    if name == "description.json" and len(content) > runs_module.MAX_DESCRIPTION_BYTES:
        problem = f"more than the {runs_module.MAX_DESCRIPTION_BYTES:,} such a file may have"  # refused unread
    run = copied(trained_run, tmp_path / "runs")
    (run.path / name).write_text(content)
    with pytest.raises(RunError) as refused:
        run.check()
    assert f"{run.path / name} is damaged" in str(refused.value) and problem in str(refused.value)
    refused_everywhere(run, f"{run.path / name} is damaged", tmp_path, capsys)
    packed = copied(trained_run, tmp_path / "packed", trained_run.id)  # an archive of it: named there too
    (packed.path / name).write_text(content)
    said = (f"the archive's {name} unpacks to [\\d,]+ bytes, {re.escape(problem)}" if "more than" in problem  # before
            else f"cannot be used: .*{re.escape(name)} is damaged: .*{re.escape(problem)}")  # it is unpacked
    with pytest.raises(RunError, match=said):
        import_run(packed_as_is(packed), RunStore(tmp_path / "line"))


def test_an_archive_with_a_damaged_report_json_is_refused(trained_run, tmp_path):
    run = copied(trained_run, tmp_path / "runs", trained_run.id)
    store = RunStore(tmp_path / "line")
    for content, problem in (DAMAGED_REPORTS[0], DAMAGED_REPORTS[1], DAMAGED_REPORTS[-1]):
        (run.path / "report.json").write_text(json.dumps(content))
        with pytest.raises(RunError, match="cannot be used: .*report.json is damaged") as refused:
            import_run(packed_as_is(run), store)
        assert problem in str(refused.value) and ".incomplete" not in str(refused.value)
        assert not store.root.exists()  # no staging folder left, nor the runs folder the import made


def test_reports_of_older_runs_and_a_null_test_set_check_are_read(trained_run, tmp_path, capsys):
    run = copied(trained_run, tmp_path / "runs")
    report = json.loads((run.path / "report.json").read_text())
    for content in ({}, {"skipped": [{"file": "a.png", "reason": "unreadable"}], "notes": ["a note"]},
                    {**report, "split_check": {"copies_of_train": []}},
                    {**report, "split_check": None, "training_capture_ranges": None}):
        (run.path / "report.json").write_text(json.dumps(content))
        run.check()
        assert {"skipped", "notes"} <= run.report.keys()
        assert run.report.get("split_check", {}) is not None  # the readers take null as "not checked"
    assert "<td>not checked</td>" in run_report_html(Run(run.path)).replace("\n", "")


# ----------------------------------------------------------------------------------------------- data_manifest.csv
@pytest.mark.parametrize("content, problem", [
    (b"\x00\x01garbage", "is damaged: column role, file, bytes, sha256 missing"),
    (b"a,b\n1,2\n", "is damaged: column role, file, bytes, sha256 missing"),
    (b"role,file\ntrain,train/good/000.png\n", "is damaged: column bytes, sha256 missing"),
    (b"\xff\xfe\xfa role,file,bytes,sha256\n", "is damaged: not a table VQI wrote ('utf-8' codec can't decode"),
    (None, "is missing"),
], ids=["nul-garbage", "other-columns", "two-columns", "not-utf8", "deleted"])
def test_a_damaged_or_missing_data_manifest_is_named(trained_run, tmp_path, capsys, content, problem):
    run = copied(trained_run, tmp_path / "runs", trained_run.id)
    path = run.path / "data_manifest.csv"
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    assert run.data_files_recorded  # the run's config.json says it recorded its files: not an older run
    with pytest.raises(RunError, match=re.escape(f"{path} {problem}")):
        run.data_manifest
    refused_everywhere(run, f"{path} {problem}", tmp_path, capsys)
    with pytest.raises(RunError, match=re.escape(f"cannot be used: {run.id}/data_manifest.csv {problem}")):
        import_run(packed_as_is(run), RunStore(tmp_path / "line"))


def test_a_manifest_cut_short_inside_a_row_is_found(trained_run, tmp_path):
    run = copied(trained_run, tmp_path / "runs")
    path = run.path / "data_manifest.csv"
    path.write_bytes(path.read_bytes() + b'test,"unterminated\n')
    for data in (False, True):  # the cheap check reads it in full too (to compare its order with scores.csv's)
        with pytest.raises(RunError, match="data_manifest.csv is damaged"):
            Run(run.path).check(data=data)


def test_a_run_from_before_manifests_is_told_from_one_whose_manifest_is_gone(trained_run, tmp_path):
    run = copied(trained_run, tmp_path / "runs")
    (run.path / "data_manifest.csv").unlink()
    assert run.data_files_recorded
    config = json.loads((run.path / "config.json").read_text())
    (run.path / "config.json").write_text(json.dumps({k: v for k, v in config.items() if not k.startswith("data_")}))
    assert not run.data_files_recorded and run.data_manifest is None
    run.check()


def test_a_config_that_names_another_method_than_the_model_is_refused(trained_run, tmp_path, capsys):
    """Found by review: config.json's method edited to "foo" was listed as foo while predict scored with padim."""
    run = copied(trained_run, tmp_path / "runs")
    write_json_atomic(run.path / "config.json", {**run.config, "method": "foo"})
    refused_everywhere(run, f"{run.path / 'config.json'} or {run.path / 'model' / 'model.json'} is damaged "
                            f"(edited?): config.json names method 'foo', the model '{trained_run.config['method']}'",
                       tmp_path, capsys)


def test_a_config_whose_settings_are_not_the_models_is_refused(trained_run, tmp_path, capsys):
    """Found by review: config.json's backbone edited to wide_resnet50_2 was listed and reported as such while
    evaluate and predict scored with the model's efficientnet_lite0, without a word."""
    run = copied(trained_run, tmp_path / "runs")
    model_backbone = trained_run.config["params"]["backbone"]
    write_json_atomic(run.path / "config.json", {**run.config, "params": {**run.config["params"],
                                                                          "backbone": "wide_resnet50_2"}})
    refused_everywhere(run, f"{run.path / 'config.json'} or {run.path / 'model' / 'model.json'} is damaged (edited?): "
                            f"their settings differ (backbone: 'wide_resnet50_2' in config.json, {model_backbone!r} in "
                            f"the model)", tmp_path, capsys)


@pytest.mark.parametrize("edit", [{"height": 128}, {"resize": "letterbox"}, {"crop": 0.5}])
def test_a_model_json_edited_after_training_is_refused(trained_run, tmp_path, capsys, edit):
    """Found by review: model.json's preprocessing edited (the input height, the resize mode, the crop) was listed,
    exported and imported as sound while predict judged every good part defective and evaluate exited 0; the run
    records model.json's SHA-256 in config.json (model.json records its other files')."""
    run = copied(trained_run, tmp_path / "runs")
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "preprocessing": {**meta["preprocessing"], **edit}}, indent=2))
    refused_everywhere(run, f"{meta_path} is damaged: it has changed since the run was trained (its SHA-256 is not "
                            f"the one config.json recorded)", tmp_path, capsys)


def test_a_runs_load_model_refuses_a_model_json_it_was_not_trained_with(trained_run, tmp_path):
    """API review: the Python API's Run.load_model() loaded an edited model.json that every check of the run refuses
    (here with its own content digest made to match: only the run's record tells)."""
    run = copied(trained_run, tmp_path / "runs")
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    edited = {**meta, "preprocessing": {**meta["preprocessing"], "std": [0.25, 0.25, 0.25]}}
    meta_path.write_text(json.dumps({**edited, CONTENT_DIGEST_KEY: content_sha256(edited)}, indent=2))
    with pytest.raises(RunError, match=r"model.json is damaged: it has changed since the run was trained"):
        Run(run.path).load_model()


def test_a_score_edited_by_hand_is_refused_and_a_threshold_save_keeps_the_scores_sound(trained_run, tmp_path, capsys):
    """Found by review: a score edited in scores.csv went unnoticed, and the commands disagreed about the run (runs:
    image AUROC 1.0 from metrics.json; report 0.67 from the scores). config.json records the SHA-256 of the images,
    labels and scores; a threshold save rewrites the file's threshold and prediction columns and leaves it sound."""
    run = copied(trained_run, tmp_path / "runs")
    assert run.config["scores_sha256"] == scores_digest(run.scores)
    run.save_threshold(float(np.median(run.score_values)), "manual")
    Run(run.path).check()  # rewritten by the save: still the run's scores
    frame = pd.read_csv(run.path / "scores.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "score"] = "100.0"
    frame.to_csv(run.path / "scores.csv", index=False)
    refused_everywhere(Run(run.path), f"{run.path / 'scores.csv'} is damaged: its images, labels or scores are not "
                                      f"the ones the run wrote", tmp_path, capsys)
    assert main(["evaluate", "--run", str(run.path)]) == 2  # evaluate checks without the manifest: this all the same
    assert "its images, labels or scores are not the ones the run wrote" in capsys.readouterr().err
    older = copied(trained_run, tmp_path / "older")  # a run from before the digests: read as it is
    write_json_atomic(older.path / "config.json", {key: value for key, value in older.config.items()
                                                   if key not in ("scores_sha256", "model_sha256")})
    edited = pd.read_csv(older.path / "scores.csv", dtype=str, keep_default_na=False)
    edited.loc[0, "score"] = "100.0"
    edited.to_csv(older.path / "scores.csv", index=False)
    Run(older.path).check()


def test_the_scores_digest_covers_each_image_label_and_exact_score_in_order(trained_run):
    """Mutation review: a digest without the labels or the names, of the rows in any order or of rounded scores had
    passed the test of one edited score."""
    frame = trained_run.scores
    base = scores_digest(frame)
    flipped = {"good": "defective", "defective": "good"}
    for edited in (frame.assign(score=np.nextafter(frame["score"].to_numpy(float), np.inf)),
                   frame.assign(label=frame["label"].map(flipped)),
                   frame.assign(image=frame["image"].to_numpy()[::-1]),
                   frame.iloc[::-1]):
        assert scores_digest(edited) != base


def test_a_run_that_lost_its_report_json_is_refused_not_read_as_one_from_before_reports(trained_run, tmp_path,
                                                                                        capsys):
    """Found by review: without report.json, predict --fail-on-defect silently stopped checking whether images are
    unlike the training images ("runs trained before that record existed") and passed a part it had failed."""
    run = copied(trained_run, tmp_path / "runs")
    (run.path / "report.json").unlink()
    refused_everywhere(run, f"{run.path / 'report.json'} is missing: the run's folder is there without it", tmp_path,
                       capsys)


def test_a_run_on_files_named_with_a_carriage_return_passes_its_checks_and_keeps_its_scores(tmp_path):
    """Found by review: the manifest was written without quoting a carriage return, and read back it split that row
    in two, so the new digest check refused a run just trained; found by the security review: a test image so named
    split its scores.csv row the same way, and every command then called the run damaged. Both are written with
    CR LF line ends now, which quote such a cell."""
    data = write_mvtec_dataset(tmp_path / "part", n_train=12, n_test_good=2, n_per_defect=2)
    (data / "train" / "good" / "000.png").rename(data / "train" / "good" / "cam1\rshot.png")
    test_good = sorted((data / "test" / "good").iterdir())[0]
    test_good.rename(test_good.with_name("\r=2.png"))
    run = train_run(RunConfig(str(data), FAST_METHOD, FAST_PARAMS), tmp_path / "runs")
    assert run.problem() is None and run.problem(data=True) is None
    assert "train/good/cam1\rshot.png" in run.data_manifest["file"].tolist()
    assert len(run.data_manifest) == run.config["data_files"]
    assert "good/\r=2.png" in run.scores["image"].tolist()
    assert len(run.scores) == len(list((data / "test").rglob("*.png")))
    assert run.save_threshold(run.threshold + 1.0, "test")
    again = Run(run.path)
    assert again.problem() is None and again.scores["image"].tolist() == run.scores["image"].tolist()


@pytest.mark.parametrize("how", ["cut short", "a digest edited"])
def test_a_manifest_that_no_longer_lists_the_files_the_run_recorded_is_refused(trained_run, tmp_path, capsys, how):
    """Found by review: config.json's SHA-256 over the manifest was never compared with it, so a manifest cut short
    was read as it stood (evaluate named the files it lost as "added" since training)."""
    run = copied(trained_run, tmp_path / "runs")
    path = run.path / "data_manifest.csv"
    lines = path.read_text().splitlines(keepends=True)
    if how == "cut short":
        path.write_text("".join(lines[: len(lines) // 2]))
    else:
        row = lines[-1].rstrip("\n").split(",")
        row[-1] = ("0" if row[-1][0] != "0" else "1") + row[-1][1:]
        path.write_text("".join(lines[:-1]) + ",".join(row) + "\n")
    refused_everywhere(run, f"{path} is damaged: it lists ", tmp_path, capsys)
    assert "where config.json recorded" in str(run.problem())


@pytest.mark.parametrize("how", ["a digit changed", "a row deleted"])
def test_a_manifest_edited_with_its_line_ends_kept_is_named_as_damaged_everywhere(trained_run, tmp_path, capsys, how):
    """Found by the run-integrity review: with its CR LF line ends kept, a manifest edited in place was read again as
    if written with LF ends (a carriage return in a name), so evaluate failed with pandas' KeyError and the other
    commands said a column present was missing."""
    run = copied(trained_run, tmp_path / "runs")
    path = run.path / "data_manifest.csv"
    lines = path.read_bytes().split(b"\r\n")
    if how == "a digit changed":
        lines[1] = lines[1][:-1] + (b"0" if lines[1][-1:] != b"0" else b"1")
    else:
        del lines[1]
    path.write_bytes(b"\r\n".join(lines))
    refused_everywhere(run, f"{path} is damaged: it lists ", tmp_path, capsys)
    assert main(["evaluate", "--run", str(run.path)]) == 0  # it scores the run all the same, and says why it cannot
    assert capsys.readouterr().out.splitlines()[-2].startswith(f"data files: {path} is damaged: it lists ")  # name
    # the changed files


def test_evaluate_goes_on_without_a_damaged_manifest_and_says_so(trained_run, tmp_path, capsys):
    """Needs evaluate_run to catch the manifest's RunError and the CLI to say it (pipeline.py, cli.py)."""
    run = copied(trained_run, tmp_path / "runs")
    (run.path / "data_manifest.csv").write_bytes(b"\x00\x01garbage")
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run.path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == (f"data files: {run.path / 'data_manifest.csv'} is damaged: column role, file, bytes, "
                         f"sha256 missing, so changes since training cannot be named")
    assert lines[-1] == "does not reproduce its record: its record of the test files cannot be read"
    assert main(["evaluate", "--run", str(run.path), "--fail-on-changes"]) == 1  # what cannot be checked fails
    assert any(line.startswith("image AUROC") for line in lines)

    (run.path / "data_manifest.csv").unlink()
    assert main(["evaluate", "--run", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert "not recorded" not in out
    assert out.splitlines()[-2] == (f"data files: {run.path / 'data_manifest.csv'} is missing: the run's folder is "
                                    f"there without it (deleted, or left out when the run was copied), so changes "
                                    f"since training cannot be named")  # found by review: "(run deleted from disk?)"


# ------------------------------------------------------------------------------ model, maps.npz, scores.csv
def damage(path: Path, how: str) -> None:
    if how == "cut short":
        cut_short(path)
    elif how == "deleted":
        path.unlink()
    else:
        path.write_bytes(how.encode())


@pytest.mark.parametrize("name, how, said", [
    ("model/model.json", "cut short", "model/model.json is damaged: not readable JSON"),
    ("model/model.json", "deleted", "model/model.json is missing"),
    ("model/model.json", '{"method": "padim"}', "model/model.json is damaged: no method, parameters"),
    ("model/arrays.npz", "cut short", "model cannot be loaded (table of contents unreadable, as in a file cut short"),
    ("model/arrays.npz", "deleted", "model cannot be loaded (arrays.npz is missing)"),
    ("model/arrays.npz", "not an npz file", "model cannot be loaded (not an array file written by VQI"),
    ("maps.npz", "cut short", "maps.npz is damaged: table of contents unreadable, as in a file cut short"),
    ("maps.npz", "deleted", "maps.npz is missing"),
    ("scores.csv", "a,b", "scores.csv is damaged: column image, path, label, defect_type, mask_path, score missing"),
    ("scores.csv", "", "scores.csv is damaged: it is empty"),  # pandas' words had been all (run-integrity review)
    ("scores.csv", "image,path,label,defect_type,mask_path,score\n1,2,3,4,5,6\n1,2,3,4,5,6,7,8\n",
     "scores.csv is damaged: not a table VQI wrote (Error tokenizing data. C error: Expected 6 fields in line 3, "
     "saw 8)"),
    # pandas' words on one line: they ended in a line break
])
def test_a_damaged_model_maps_or_scores_file_is_found_by_the_cheap_check(trained_run, tmp_path, capsys, name, how,
                                                                        said):
    run = copied(trained_run, tmp_path / "runs")
    damage(run.path / name, how)
    refused_everywhere(run, said, tmp_path, capsys)


@pytest.mark.parametrize("how", ["a scores row deleted", "a seed in words", "no image AUROC"])
def test_damage_the_listing_had_missed_or_blamed_on_another_file_is_named(trained_run, tmp_path, capsys, how):
    """Found by the run-integrity review: a scores.csv row deleted was blamed on maps.npz; a seed "zero" and a
    metrics.json without its image AUROC were listed, reported and exported."""
    run = copied(trained_run, tmp_path / "runs")
    if how == "a scores row deleted":
        path = run.path / "scores.csv"
        lines = path.read_bytes().split(b"\r\n")
        path.write_bytes(b"\r\n".join(lines[:2] + lines[3:]))
        said = f"{path} is damaged: "
    elif how == "a seed in words":
        write_json_atomic(run.path / "config.json", {**run.config, "seed": "zero"})
        said = "config.json is damaged: its seed is 'zero', not a whole number from 0 to 4294967295"
    else:
        metrics = json.loads((run.path / "metrics.json").read_text())
        del metrics["image_auroc"]
        write_json_atomic(run.path / "metrics.json", metrics)
        said = "metrics.json is damaged: it has no image_auroc"
    refused_everywhere(Run(run.path), said, tmp_path, capsys)


def test_a_record_the_system_will_not_let_be_read_is_not_called_damaged(tmp_path):
    """A permission error read "not a table VQI wrote ([Errno 13] ...)" (code review; root reads any file, so the
    error is made here rather than by a file's mode)."""
    path = tmp_path / "scores.csv"
    assert str(unreadable_table(path, PermissionError(13, "Permission denied"))) == \
        f"{path} cannot be read: Permission denied"
    assert str(unreadable_table(path, pd.errors.EmptyDataError("No columns to parse from file"))) == \
        f"{path} is damaged: it is empty"


def test_a_scores_row_deleted_in_a_run_without_the_scores_digest_is_named_in_scores_csv(trained_run, tmp_path,
                                                                                        capsys):
    """Runs trained before the scores' digest was recorded blamed a deleted row on maps.npz (code review)."""
    run = copied(trained_run, tmp_path / "runs")
    write_json_atomic(run.path / "config.json", {k: v for k, v in run.config.items() if k != "scores_sha256"})
    path, total = run.path / "scores.csv", len(run.scores)
    lines = path.read_bytes().split(b"\r\n")
    deleted = lines[2].split(b",")[0].decode()
    path.write_bytes(b"\r\n".join(lines[:2] + lines[3:]))
    refused_everywhere(Run(run.path), f"{path} is damaged: it lists {total - 1} of the {total} test images the run "
                                      f"wrote (not {deleted}: a row deleted?)", tmp_path, capsys)


def test_a_fine_tuned_backbone_or_a_region_that_is_gone_is_found(trained_run, tmp_path):
    run = copied(trained_run, tmp_path / "runs")
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "fine_tuned_backbone": True}))
    reseal(run.path)  # as a fine-tuned run writes it: then its backbone lost
    with pytest.raises(RunError, match=r"model cannot be loaded \(backbone.pt is missing\)"):
        run.check()
    (run.path / "model" / "backbone.pt").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(RunError, match="table of contents unreadable.*: backbone.pt"):
        run.check()
    meta_path.write_text(json.dumps({**meta, "region": {"source": "region.png"}}))
    reseal(run.path)
    with pytest.raises(RunError, match=r"model cannot be loaded \(region.png is missing\)"):
        run.check()


def test_a_model_whose_arrays_were_replaced_is_refused_by_predict_evaluate_and_import(trained_run, tmp_path, capsys):
    """A valid array file holding NaN used to load, pass every check and judge every part good (score NaN)."""
    run = copied(trained_run, tmp_path / "runs")
    arrays_path = run.path / "model" / "arrays.npz"
    with np.load(arrays_path) as saved:
        arrays = {key: saved[key] for key in saved.files}
    name = next(key for key, value in arrays.items() if value.dtype.kind == "f")
    np.savez_compressed(arrays_path, **{**arrays, name: np.full_like(arrays[name], np.nan)})
    said = (f"the model in {run.path / 'model'} cannot be loaded: arrays.npz is not the file this model saved (its "
            f"SHA-256 differs from the one model.json records): damaged or replaced")
    with pytest.raises(RunError) as refused:
        run.load_model()
    assert str(refused.value) == said
    images = Path(run.config["dataset"]) / "test" / "good"
    for command in (["predict", "--run", str(run.path), "--input", str(images), "--out", str(tmp_path / "out")],
                    ["evaluate", "--run", str(run.path)],
                    ["report", "--run", str(run.path), "--out", str(tmp_path / "report.html")]):  # review: report too
        assert main(command) == 2
        assert capsys.readouterr().err == f"error: {said}\n"
    assert not (tmp_path / "out").exists() and not (tmp_path / "report.html").exists()
    with pytest.raises(RunError, match=f"the archive's run {run.id} cannot be used: the model in {run.id}/model cannot "
                                       f"be loaded: arrays.npz is not the file"):
        import_run(packed_as_is(run), RunStore(tmp_path / "elsewhere"))
    object_array = io.BytesIO()  # found by review: an array that would need unpickling, the digest made to match
    np.savez(object_array, **{**arrays, name: np.array([{"a": 1}], dtype=object)})
    arrays_path.write_bytes(object_array.getvalue())
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "file_sha256": {**meta["file_sha256"],
                                                             "arrays.npz": file_sha256(arrays_path)}}))
    reseal(run.path)  # every digest made to match
    assert main(["report", "--run", str(run.path), "--out", str(tmp_path / "report.html")]) == 2
    assert capsys.readouterr().err == (f"error: the model in {run.path / 'model'} cannot be loaded: arrays.npz is "
                                       f"damaged: not an array file written by VQI (damaged or replaced)\n")
    assert main(["runs", "--runs", str(run.path.parent)]) == 0  # the listing reads the arrays' headers (review)
    assert "cannot be read: the model in" in capsys.readouterr().out


class WritesAMarker:
    """Unpickled, it creates the file it names: the proof that a model file's pickle was run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_a_model_array_that_would_run_code_when_unpickled_is_refused_unrun(trained_run, tmp_path):
    """Loading the model itself never unpickles, behind no other check (mutation review: allow_pickle=True in
    the model's loader went unnoticed, as the cheap check before it refused such an array first)."""
    run = copied(trained_run, tmp_path / "runs")
    arrays_path, marker = run.path / "model" / "arrays.npz", tmp_path / "pickle-ran"
    with np.load(arrays_path) as saved:
        arrays = {key: saved[key] for key in saved.files}
    np.savez(arrays_path, **{**arrays, next(iter(arrays)): np.array([WritesAMarker(marker)], dtype=object)})
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "file_sha256": {**meta["file_sha256"],
                                                             "arrays.npz": file_sha256(arrays_path)}}))
    reseal(run.path)  # every digest says it is the model's: loading's own refusal is tested
    with pytest.raises(RunError, match="cannot be loaded"):
        run.load_model()
    assert not marker.exists()


def test_a_run_saved_with_a_smoothing_sigma_above_the_limit_is_refused_as_older_not_damaged(trained_run, tmp_path,
                                                                                            capsys):
    """VQI saved any map smoothing sigma until the 256 px limit came; such a run was then called damaged. It says
    what it holds and what to do instead (loading it would blur with a kernel of the asked size)."""
    run = copied(trained_run, tmp_path / "runs")
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "params": {**meta["params"], "smoothing_sigma": 300.0}}))
    write_json_atomic(run.path / "config.json", {**run.config, "params": {**meta["params"], "smoothing_sigma": 300.0}})
    reseal(run.path)  # as that version wrote it
    said = (f"the model in {run.path / 'model'} cannot be loaded: it was saved with a map smoothing sigma of 300 px, "
            f"above the 256 px this version of VQI accepts (earlier versions did not check it): train it again with "
            f"a smaller smoothing_sigma")
    with pytest.raises(RunError) as refused:
        run.load_model()
    assert str(refused.value) == said
    assert main(["evaluate", "--run", str(run.path)]) == 2
    assert capsys.readouterr().err == f"error: {said}\n"


def test_a_run_saved_above_a_parameter_bound_added_later_is_refused_as_older_not_damaged(trained_run, tmp_path):
    """PaDiM's epsilon (and DFM's pooled_size, SPADE's global_grid, PatchCore's patch_size) got upper bounds on
    2026-12-05: a run saved above one was then called damaged (review of the change)."""
    assert FAST_METHOD == "padim"
    run = copied(trained_run, tmp_path / "runs")
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "params": {**meta["params"], "epsilon": 2e6}}))
    reseal(run.path)  # as that version wrote it
    with pytest.raises(RunError) as refused:
        Run(run.path).load_model()
    assert str(refused.value) == (f"the model in {run.path / 'model'} cannot be loaded: it was saved with epsilon "
                                  f"2e+06, above the 1e+06 this version of VQI accepts (earlier versions did not check "
                                  f"it): train it again with a smaller epsilon")
    assert {name: method_class(name).later_limits for name in ("dfm", "spade", "patchcore")} == {
        "dfm": {"pooled_size": 16}, "spade": {"global_grid": 16}, "patchcore": {"patch_size": 15}}


@pytest.mark.parametrize("damage", ["nan_map_max", "no_map_max", "a_list"])
def test_normalisation_statistics_loading_would_refuse_are_found_by_the_cheap_check(trained_run, tmp_path, capsys,
                                                                                     damage):
    """NaN normalisation used to pass and drop every box from every overlay; found by review: the check took any
    dict of numbers, so a run lacking one of the statistics loading needs passed it (and the maps' reader, a third
    rule, failed on the Inspect page). One rule now: loading's."""
    run = copied(trained_run, tmp_path / "runs")
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    statistics = {"nan_map_max": {**meta["normalization"], "map_max": float("nan")},
                  "no_map_max": {k: v for k, v in meta["normalization"].items() if k != "map_max"},
                  "a_list": list(meta["normalization"].values())}[damage]
    meta_path.write_text(json.dumps({**meta, "normalization": statistics}))
    reseal(run.path)  # written so: found by what it holds, not by its digests
    said = (f"the model in {run.path / 'model'} cannot be loaded: model.json is damaged: its normalisation "
            f"statistics are not the finite numbers map_median, map_max, score_max")
    refused_everywhere(run, said, tmp_path, capsys)
    with pytest.raises(RunError) as loading:
        run.load_model()
    with pytest.raises(RunError) as reading_maps:
        run.normalization
    assert str(loading.value) == str(reading_maps.value) == said


def maps_with_first(run: Run, first: bytes) -> None:
    """Rewrite the run's maps.npz with every map listed, the first one's content replaced by ``first``."""
    maps = dict(np.load(run.path / "maps.npz"))
    with zipfile.ZipFile(run.path / "maps.npz", "w") as packed:
        packed.writestr("m00000.npy", first)
        for key in sorted(maps)[1:]:
            with packed.open(f"{key}.npy", "w") as member:
                np.lib.format.write_array(member, maps[key])


def deflate_damaged(run: Run) -> None:
    """Damage the compressed data of the run's first map (its table of contents stays whole)."""
    path = run.path / "maps.npz"
    with zipfile.ZipFile(path) as packed:
        info = packed.getinfo("m00000.npy")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    damaged = bytearray(path.read_bytes())
    header = info.header_offset
    name_length, extra_length = struct.unpack("<HH", damaged[header + 26:header + 30])
    damaged[header + 30 + name_length + extra_length] = 0xFF  # a deflate block of the reserved type
    path.write_bytes(bytes(damaged))


@pytest.mark.parametrize("damage, said", [
    (lambda run: maps_with_first(run, b"not an array"), "the map of image 0 is not an image's map"),
    (lambda run: maps_with_first(run, npy_bytes(np.array(["a", "b"]))), "the map of image 0 is not an image's map"),
    (lambda run: maps_with_first(run, npy_bytes(np.zeros(3))), "the map of image 0 is not an image's map"),
    (lambda run: maps_with_first(run, npy_bytes(np.array([{"a": 1}], dtype=object))),
     "not an array file written by VQI"),  # found by review: listed with a healthy run, refused by boxes alone
    # zlib.error is not an OSError: it crossed every page's guard as a traceback
    (deflate_damaged, "error: Error -3 while decompressing"),
], ids=["not-npy", "texts", "one-dimensional", "objects", "compressed-data"])
def test_a_map_that_cannot_be_read_is_found_when_the_maps_are_read(trained_run, tmp_path, damage, said):
    run = copied(trained_run, tmp_path / "runs", trained_run.id)
    damage(run)
    with pytest.raises(RunError, match=f"maps.npz is damaged: {said}"):  # the cheap check reads each map's header
        Run(run.path).check()  # (found by review: a runs listing showed such a run as healthy)
    with pytest.raises(RunError, match=f"maps.npz is damaged: {said}"):
        run.anomaly_map(0)
    with pytest.raises(RunError, match=f"maps.npz is damaged: {said}"):
        run.check(data=True)
    with pytest.raises(RunError, match=f"cannot be used: {run.id}/maps.npz is damaged: {said}"):
        import_run(packed_as_is(run), RunStore(tmp_path / "line"))


def test_an_array_claiming_terabytes_is_named_not_a_traceback(trained_run, tmp_path, capsys):
    """Found by review: a map or model array whose .npy header claims a shape of terabytes ended the report and
    evaluate with numpy's MemoryError and a traceback (an import already refused it by its header)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f2", "fortran_order": False,
                                                  "shape": (10_000_000, 10_000_000)})  # a map's shape
    claiming = header.getvalue() + bytes(16)
    run = copied(trained_run, tmp_path / "runs", trained_run.id)
    maps_with_first(run, claiming)
    said = "an array in it needs more memory than this computer can give"
    with pytest.raises(RunError, match=f"maps.npz is damaged: {said}"):
        run.anomaly_map(0)
    assert main(["report", "--run", str(run.path), "--out", str(tmp_path / "report.html")]) == 2
    assert f"maps.npz is damaged: {said}" in capsys.readouterr().err
    arrays = run.path / "model" / "arrays.npz"
    saved = dict(np.load(arrays))
    with zipfile.ZipFile(arrays, "w") as packed:
        packed.writestr(f"{sorted(saved)[0]}.npy", claiming)
        for key in sorted(saved)[1:]:
            with packed.open(f"{key}.npy", "w") as member:
                np.lib.format.write_array(member, saved[key])
    meta = json.loads((run.path / "model" / "model.json").read_text())
    meta.pop("file_sha256", None)  # as a model saved before digests existed
    (run.path / "model" / "model.json").write_text(json.dumps(meta))
    reseal(run.path)
    with pytest.raises(RunError, match=f"cannot be loaded \\({said}"):
        Run(run.path).load_model()


@pytest.mark.parametrize("name", ["maps.npz", "scores.csv", "model/arrays.npz"])
def test_a_run_file_that_is_a_pipe_or_a_device_is_named_before_it_is_read(trained_run, tmp_path, capsys, name):
    """Found by review: a pipe in a run's place stopped `runs` and the report for ever; a link to /dev/zero was
    read until the memory ran out."""
    for how in ("pipe", "device"):
        run = copied(trained_run, tmp_path / how, how)
        (run.path / name).unlink()
        if how == "pipe":
            os.mkfifo(run.path / name)
        else:
            (run.path / name).symlink_to("/dev/zero")
        refused_everywhere(run, f"{name} is damaged: it is not a regular file", tmp_path, capsys)


def test_saving_into_a_linked_copy_of_a_run_leaves_the_original_as_it_was(trained_run, tmp_path):
    """Found by the robustness review: in a copy made of links (``cp -as``), saving a threshold wrote the original
    run's threshold.json and scores.csv, under the copy's lock, and a box level or a description would have too. The
    saves now replace the copy's links by files of its own."""
    original = copied(trained_run, tmp_path / "originals", "linked")
    linked = tmp_path / "copies" / "linked"
    linked.mkdir(parents=True)
    for file in original.path.rglob("*"):
        target = linked / file.relative_to(original.path)
        if file.is_dir():
            target.mkdir()
        else:
            target.symlink_to(file)
    before = {name: (original.path / name).read_bytes() for name in ("scores.csv", "threshold.json")}
    copy = Run(linked)
    threshold = float(copy.scores["score"].median())
    assert copy.save_threshold(threshold, reason="the copy only") and copy.save_box_level(0.5, reason="the copy")
    assert copy.describe("a copy")
    assert {name: (original.path / name).read_bytes() for name in before} == before
    assert not (original.path / "box_level.json").exists() and not (original.path / "description.json").exists()
    assert not (linked / "threshold.json").is_symlink() and not (linked / "scores.csv").is_symlink()
    assert Run(linked).threshold == threshold and Run(original.path).threshold != threshold


def test_another_runs_maps_are_refused_when_the_maps_are_read(trained_run, tmp_path, capsys, monkeypatch):
    """Found by the robustness review: maps.npz swapped for another run's (or zeroed) passed every check, and
    `boxes` counted a box on all 14 good images instead of 5. Its SHA-256, recorded in config.json, is checked once
    the maps are read whole; a run trained before it was recorded stays readable."""
    run = copied(trained_run, tmp_path / "runs", trained_run.id)
    monkeypatch.setattr(runs_module, "RACY_SECONDS", 0.0)  # the maps' pass remembered, but for their digest alone:
    assert run.config["maps_sha256"] == file_sha256(run.path / "maps.npz") and run.problem(data=True) is None
    config = run.config  # another digest recorded since is checked again (code review)
    write_json_atomic(run.path / "config.json", {**config, "maps_sha256": "0" * 64})
    with pytest.raises(RunError, match="its maps are not the ones the run wrote"):
        Run(run.path).anomaly_map(0)
    write_json_atomic(run.path / "config.json", config)
    save_maps(run.path / "maps.npz", [np.zeros_like(run.anomaly_map(i)) for i in range(len(run.scores))])
    said = "maps.npz is damaged: its maps are not the ones the run wrote"
    assert Run(run.path).problem() is None  # the listing's cheap check reads the maps' headers alone
    assert said in Run(run.path).problem(data=True)
    with pytest.raises(RunError, match=said):
        Run(run.path).anomaly_map(3)
    capsys.readouterr()
    assert main(["boxes", "--run", str(run.path)]) == 2 and said in capsys.readouterr().err
    with pytest.raises(RunError, match=said):
        import_run(packed_as_is(run), RunStore(tmp_path / "line"))
    write_json_atomic(run.path / "config.json", {k: v for k, v in run.config.items() if k != "maps_sha256"})
    assert Run(run.path).problem(data=True) is None  # trained before the maps' SHA-256 was recorded: unchecked


def test_a_mask_changed_since_training_is_named_not_counted(trained_run, tmp_path, capsys):
    """Found by the robustness review: a mask blanked after training was read as the run's own, so `boxes` counted
    fewer defect regions without a word, and Inspect drew no outline. The manifest's SHA-256 tells them apart."""
    run = copied(trained_run, tmp_path / "runs", trained_run.id)
    shutil.copytree(Path(run.config["dataset"]), tmp_path / "widget")
    record_dataset_as(run.path, tmp_path / "widget")
    run = Run(run.path)
    index = next(i for i, path in enumerate(run.scores["mask_path"]) if isinstance(path, str) and path)
    assert run.mask(index).any()
    capsys.readouterr()
    assert main(["boxes", "--run", str(run.path)]) == 0 and "mask not used" not in capsys.readouterr().out
    mask_file = Path(run.scores["mask_path"].iloc[index])
    cv2.imwrite(str(mask_file), np.zeros(cv2.imread(str(mask_file)).shape[:2], np.uint8))
    with pytest.raises(ImageReadError, match="has changed since the run was evaluated with it"):
        Run(run.path).mask(index)
    assert main(["boxes", "--run", str(run.path)]) == 0
    assert f"mask not used, counted as unknown: {mask_file} has changed since the run" in capsys.readouterr().out


@pytest.mark.parametrize("edit, said", [
    (lambda metrics, config: metrics["per_defect_type"]["blob"].update(image_auroc=0.1),
     "the image AUROC of defect type 'blob', 0.1000, is not the"),
    (lambda metrics, config: metrics.update(image_auroc_interval=[0.99, 0.5]),
     "image_auroc_interval is [0.99, 0.5], not a lower and an upper bound from 0 to 1"),
    (lambda metrics, config: metrics.update(image_auroc_interval=0.7),  # one number: a TypeError had ended the
     "image_auroc_interval is 0.7, not a lower and an upper bound from 0 to 1"),  # listing (code review)
    (lambda metrics, config: (metrics.update(pixel_auroc=0.99), config.update(has_masks=False)),
     "it gives a pixel_auroc of 0.99 for a category without ground-truth masks"),
], ids=["type-auroc", "interval", "interval-number", "pixel-without-masks"])
def test_metrics_the_runs_own_files_contradict_are_refused(trained_run, tmp_path, capsys, edit, said):
    """Found by the robustness review: a defect type's AUROC of 0.1 was reported beside 7 of 7 caught, a pixel AUROC
    of 0.99 beside "0 images have a mask", and an interval whose lower bound lay above its upper was listed."""
    run = copied(trained_run, tmp_path / "runs")
    metrics, config = run.metrics, run.config
    edit(metrics, config)
    write_json_atomic(run.path / "metrics.json", metrics)
    write_json_atomic(run.path / "config.json", config)
    refused_everywhere(Run(run.path), said, tmp_path, capsys)


def test_the_report_refuses_a_run_whose_maps_are_gone(trained_run, tmp_path):
    run = copied(trained_run, tmp_path / "runs")
    threshold = float(run.scores["score"].min())  # every good image a false alarm: their thumbnails are shown
    assert "image not shown" not in run_report_html(run, threshold)
    for how in ("cut short", "deleted"):
        damage(run.path / "maps.npz", how)
        with pytest.raises(RunError, match="maps.npz is (damaged|missing)"):
            run_report_html(Run(run.path), threshold)
        shutil.copy2(trained_run.path / "maps.npz", run.path / "maps.npz")


def test_a_check_that_passed_is_not_redone_until_a_file_changes(trained_run, tmp_path, monkeypatch):
    """Listing runs on every dashboard rerun reads scores.csv, the maps' and the model's table of contents only
    for runs whose files changed; a file changed within the last RACY_SECONDS is read each time (a change within
    the file system's clock tick may keep its size and times)."""
    run = copied(trained_run, tmp_path / "runs")
    calls = []
    check_files = Run._check_files
    monkeypatch.setattr(Run, "_check_files", lambda self, *args: calls.append(self.id) or check_files(self, *args))
    run.check()
    run.check()
    assert len(calls) == 2  # just copied: racy, read each time
    meta = run.path / "model" / "model.json"
    meta.write_text(meta.read_text().replace('"method"', '"methox"'))  # the same size, at once
    with pytest.raises(RunError, match="model.json is damaged"):
        run.check()
    shutil.copy2(trained_run.path / "model" / "model.json", meta)

    monkeypatch.setattr(runs_module, "RACY_SECONDS", 0.0)
    calls.clear()
    for _ in range(3):
        Run(run.path).check()
    assert len(calls) == 1
    scores = run.path / "scores.csv"  # a score's last digit edited in place, its modification time put back: the
    before, lines = scores.stat(), scores.read_text().split("\n")  # change time still tells (mutation review: a
    cells = lines[1].split(",")  # signature of inode and modification time alone kept the check as passed)
    cells[5] = cells[5][:-1] + ("1" if cells[5][-1] != "1" else "2")
    with open(scores, "r+b") as handle:
        handle.write("\n".join([lines[0], ",".join(cells), *lines[2:]]).encode())
    os.utime(scores, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (scores.stat().st_ino, scores.stat().st_size) == (before.st_ino, before.st_size)
    with pytest.raises(RunError, match="scores.csv"):
        Run(run.path).check()
    shutil.copy2(trained_run.path / "scores.csv", scores)
    cut_short(run.path / "maps.npz")
    with pytest.raises(RunError, match="maps.npz is damaged"):
        Run(run.path).check()


def test_a_threshold_reason_with_a_line_break_or_a_terminal_escape_is_refused():
    assert checked_reason("  new supplier lot 7 ") == "new supplier lot 7"
    for reason in ("line1\nline2", "red \x1b[31m", "tab\there", "ok\u202eevil", "a\u2066b\u2069", "one\u2028two"):
        with pytest.raises(ValueError, match="the reason holds a control character"):
            checked_reason(reason)  # a right-to-left override makes "approved\u202e gnidnep ton" read "approved not
    assert escaped_controls("approved\u202e gnidnep ton") == "approved\\u202e gnidnep ton"  # pending": review
    assert checked_reason("ضبط الجودة approved") == "ضبط الجودة approved"  # right-to-left text itself is text,
    assert checked_reason("אושר\u200f 12") == "אושר\u200f 12"  # and so is the direction mark a Hebrew keyboard types


def test_a_test_image_replaced_since_the_run_is_not_drawn_with_the_old_heatmap(trained_run, tmp_path, open_page,
                                                                               monkeypatch):
    """Inspect drew whatever file is now at the path under the score, verdict and heatmap of the one the run
    scored; the manifest's SHA-256 tells them apart."""
    store = RunStore(tmp_path / "changed_runs")
    run = copied(trained_run, store.root, trained_run.id)
    images = shutil.copytree(Path(run.config["dataset"]) / "test", tmp_path / "widget" / "test")
    shutil.copytree(Path(run.config["dataset"]) / "ground_truth", tmp_path / "widget" / "ground_truth")
    record_dataset_as(run.path, tmp_path / "widget")
    run = Run(run.path)
    assert run.image(0).shape[2] == 3  # the very file the run scored
    monkeypatch.setenv("VQI_RUNS_DIR", str(store.root))
    app = open_page("inspect_images.py", inspect_order="file name")  # drawn (and kept) before the file changes
    assert not app.exception and not [w for w in app.warning if "has changed since the run scored it" in w.value]
    replaced = images / run.scores["image"].iloc[1]
    replaced.write_bytes((images / run.scores["image"].iloc[0]).read_bytes())  # another part under its name
    with pytest.raises(ImageReadError, match="has changed since the run scored it"):
        run.image(1)
    assert run.image(0).shape[2] == 3
    app.run()  # the card drawn before is not shown again from the cache (browser review: until a restart)
    assert not app.exception
    assert any("has changed since the run scored it" in w.value and run.scores["image"].iloc[1] in w.value
               for w in app.warning)
    app.button(key="inspect_open_1").click().run()  # its large view says so alone, no caption of its map above
    assert not app.exception and not [c.value for c in app.caption if c.value.startswith(("This image's whole map",
                                                                                           "Coloured over"))]
    assert any("has changed since the run scored it" in e.value for e in [*app.error, *app.warning])


def test_scores_that_are_not_finite_or_repeat_an_image_and_figures_that_are_text_are_found(trained_run, tmp_path,
                                                                                            capsys):
    """They passed the check and then broke Compare (a NaN score, an image listed twice) and every page's sidebar
    (an AUROC written as text)."""
    scores = pd.read_csv(trained_run.path / "scores.csv")
    nan_score = scores.assign(score=[float("nan")] + scores["score"].tolist()[1:])
    twice = pd.concat([scores, scores.iloc[:1]])
    defective = scores.index[scores["label"] == "defective"][0]
    row = scores.loc[defective]
    # found by review: a label edited by hand was counted as good, and every figure and preset moved
    unknown_label = scores.assign(label=scores["label"].where(scores.index != defective, "broken"))
    good_label = scores.assign(label=scores["label"].where(scores.index != defective, "good"))
    for run_id, frame, said in [("nan", nan_score, "a score is missing, NaN or infinite"),
                                ("twice", twice, f"{scores['image'].iloc[0]} is listed twice"),
                                ("unknown", unknown_label, f"{row['image']} is labelled 'broken', neither good nor "
                                                           f"defective"),
                                ("good", good_label, f"{row['image']} is labelled good but its defect type is "
                                                     f"{row['defect_type']!r}")]:
        run = copied(trained_run, tmp_path / run_id, run_id)
        frame.to_csv(run.path / "scores.csv", index=False)
        refused_everywhere(run, f"scores.csv is damaged: {said}", tmp_path, capsys)
    run = copied(trained_run, tmp_path / "text", "text")
    (run.path / "metrics.json").write_text(json.dumps({**run.metrics, "image_auroc": "0.9"}))
    refused_everywhere(run, "metrics.json is damaged: image_auroc is '0.9', not a number", tmp_path, capsys)
    run = copied(trained_run, tmp_path / "nan_figure", "nan_figure")  # found by review: listed as "nan"
    (run.path / "metrics.json").write_text(json.dumps({**run.metrics, "image_auroc": float("nan")}))
    refused_everywhere(run, "metrics.json is damaged: image_auroc is nan, not a number", tmp_path, capsys)


def test_scores_sorted_in_a_spreadsheet_are_found_before_an_image_is_shown_with_another_ones_heatmap(
        trained_run, tmp_path, capsys):
    """Found by review: maps are stored in the order scores.csv was written; sorted by score, every image was
    drawn with another image's heatmap by Inspect, the report and the pixel tab, and no check noticed."""
    run = copied(trained_run, tmp_path / "sorted", "sorted")
    scores = pd.read_csv(run.path / "scores.csv")
    scores.sort_values("score", ascending=False).to_csv(run.path / "scores.csv", index=False)
    refused_everywhere(run, "scores.csv is damaged: its rows are not in the order the run wrote them", tmp_path,
                       capsys)
    assert main(["evaluate", "--run", str(run.path)]) == 2  # evaluate, which goes on without a manifest, names the
    assert "its rows are not in the order the run wrote them" in capsys.readouterr().err  # order too (review)
    (run.path / "data_manifest.csv").write_bytes(b"garbage")  # without a manifest to tell, the scores' digest does
    assert main(["evaluate", "--run", str(run.path)]) == 2
    assert "scores.csv is damaged: its images, labels or scores are not the ones the run wrote" in \
        capsys.readouterr().err
    shutil.copy(trained_run.path / "data_manifest.csv", run.path / "data_manifest.csv")
    scores.to_csv(run.path / "scores.csv", index=False)  # put back in order: fine again
    run = Run(run.path)
    run.check()


def test_evaluate_refuses_a_damaged_run_before_scoring_its_test_set(trained_run, tmp_path, capsys):
    """Found by review: evaluate never checked the run; with scores.csv cut to two rows it exited 0 with figures of
    two images and named the masks as missing since training."""
    run = copied(trained_run, tmp_path / "cut", "cut")
    pd.read_csv(run.path / "scores.csv").head(2).to_csv(run.path / "scores.csv", index=False)
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run.path)]) == 2
    captured = capsys.readouterr()
    assert "scores.csv is damaged: its images, labels or scores are not the ones the run wrote" in captured.err
    assert "image AUROC" not in captured.out  # (the maps had been blamed for the rows cut: run-integrity review)


def test_a_defect_type_named_like_a_missing_value_stays_its_name(tmp_path, capsys):
    """A test folder named NA (or None, null, nan) was read back from scores.csv as a missing value: the report
    crashed, evaluate lost its images' type, and saving a threshold erased the name from scores.csv for good."""
    data = write_mvtec_dataset(tmp_path / "data" / "widget", n_train=8, n_test_good=3, n_per_defect=2)
    for drawn, name in (("blob", "NA"), ("scratch", "None")):
        for folder in ("test", "ground_truth"):
            (data / folder / drawn).rename(data / folder / name)
    run = train_run(RunConfig(str(data.parent), FAST_METHOD, FAST_PARAMS, category="widget"), tmp_path / "runs")
    assert sorted(set(run.scores["defect_type"])) == ["NA", "None", "good"]
    assert set(evaluate_run(run)["metrics"]["per_defect_type"]) == {"NA", "None"}
    assert main(["report", "--run", str(run.path), "--out", str(tmp_path / "report.html")]) == 0
    assert main(["threshold", "--run", str(run.path), "--value", "1", "--save"]) == 0
    saved = pd.read_csv(run.path / "scores.csv", dtype=str, keep_default_na=False)
    assert sorted(set(saved["defect_type"])) == ["NA", "None", "good"]


@pytest.mark.parametrize("column", ["defect_type", "mask_path"])
def test_scores_without_a_column_evaluation_reads_are_found(trained_run, tmp_path, capsys, column):
    """They passed the check, then evaluate and the report failed with a KeyError."""
    run = copied(trained_run, tmp_path / column, column)
    pd.read_csv(run.path / "scores.csv").drop(columns=[column]).to_csv(run.path / "scores.csv", index=False)
    refused_everywhere(run, f"scores.csv is damaged: column {column} missing", tmp_path, capsys)


@pytest.mark.parametrize("file, change, said", [
    ("metrics.json", {"image_auroc": {}}, "metrics.json is damaged: image_auroc is {}, not a number"),
    ("metrics.json", {"seen_defects": "no"}, "metrics.json is damaged: seen_defects is 'no', not true or false"),
    ("metrics.json", {"per_defect_type": {"blob": 3}}, "per_defect_type is not one entry of figures per defect"),
    ("config.json", {"params": {"backbone": ["x"]}}, "config.json is damaged: its backbone is ['x'], not a name"),
    ("config.json", {"region": {"source": "m.png"}}, "config.json is damaged: its inspection region is"),
])
def test_hand_edited_figures_and_settings_the_listing_cannot_show_are_found(trained_run, tmp_path, capsys, file,
                                                                           change, said):
    """Each one crashed `runs` with a traceback, listing none of the runs after it."""
    run = copied(trained_run, tmp_path / "edited", "edited")
    (run.path / file).write_text(json.dumps({**json.loads((run.path / file).read_text()), **change}))
    refused_everywhere(run, said, tmp_path, capsys)


def test_the_listing_shows_a_figure_that_is_null_as_n_a(trained_run, tmp_path, capsys):
    run = copied(trained_run, tmp_path / "null", "null")
    (run.path / "metrics.json").write_text(json.dumps({**run.metrics, "fit_seconds": None, "image_auroc": None}))
    assert run.problem() is None
    capsys.readouterr()
    assert main(["runs", "--runs", str(run.path.parent)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("null "))
    assert row.split()[3:6] == ["n/a", f"{run.metrics['pixel_auroc']:.4f}", "n/a"]


def test_a_report_is_not_written_from_a_run_whose_maps_are_damaged_inside(trained_run, tmp_path, capsys):
    """The maps' table of contents intact, a map's bytes not: the report was written with every example
    thumbnail replaced by "image not readable", and exited 0."""
    run = copied(trained_run, tmp_path / "maps", "maps")
    path = run.path / "maps.npz"
    with zipfile.ZipFile(path) as packed:
        first = packed.infolist()[0]
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[first.header_offset + 26:first.header_offset + 30])
    start = first.header_offset + 30 + name_length + extra_length
    data[start + first.compress_size // 2] ^= 0xFF  # one byte of the first map's data
    path.write_bytes(bytes(data))
    assert run.problem() is None  # the cheap check reads the table of contents only
    with pytest.raises(RunError, match="maps.npz is damaged"):
        run_report_html(run)
    out = tmp_path / "report.html"
    capsys.readouterr()
    assert main(["report", "--run", str(run.path), "--out", str(out)]) == 2
    assert "maps.npz is damaged" in capsys.readouterr().err and not out.exists()


def test_a_map_of_nan_is_damage_and_a_map_too_high_for_float16_is_not(trained_run, tmp_path, capsys):
    """A map edited to NaN passed: `boxes` then counted 0 of 5 boxes on defective images instead of 6, and the
    report was written (bad-input review of 2026-12-05). An infinite value is what float16 keeps of a score above
    65,504: a real, very high map."""
    run = copied(trained_run, tmp_path / "maps", "maps")
    maps = [run.anomaly_map(index) for index in range(len(run.scores))]
    high = [m.copy() for m in maps]
    high[0][0, 0] = 1e6  # stored as inf, without numpy's overflow warning on the terminal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_maps(run.path / "maps.npz", high)
    reseal(run.path)  # as a run would have written them
    run = Run(run.path)
    assert np.isinf(run.anomaly_map(0)[0, 0]) and run.problem(data=True) is None
    damaged = [m.copy() for m in maps]
    damaged[1][:] = np.nan
    save_maps(run.path / "maps.npz", damaged)
    config = {key: value for key, value in run.config.items() if key != "maps_sha256"}  # a run trained before
    write_json_atomic(run.path / "config.json", config)  # the maps' SHA-256 was recorded: read map by map
    run = Run(run.path)
    expected = f"{run.path / 'maps.npz'} is damaged: the map of image 1 holds values that are not numbers (NaN)"
    assert run.problem(data=True) == expected
    out = tmp_path / "report.html"
    capsys.readouterr()
    assert main(["report", "--run", str(run.path), "--out", str(out)]) == 2
    assert expected in capsys.readouterr().err and not out.exists()
    assert main(["boxes", "--run", str(run.path)]) == 2
    assert expected in capsys.readouterr().err


def test_control_characters_in_a_runs_texts_are_shown_as_escapes_never_run(trained_run, tmp_path, capsys):
    """describe and --reason refuse control characters, but a run's files edited by hand, an imported archive or a
    reason saved before the refusal existed (a tab pasted from a spreadsheet) can hold them: `runs` and `threshold
    --history` printed them raw, and "rejected" could show as "APPROVED". The run stays readable and exportable."""
    run = copied(trained_run, tmp_path / "runs", "escaped")
    (run.path / "description.json").write_text(json.dumps({"text": "rejected\u001b[1A\u001b[2K\rAPPROVED\tby QA"}))
    earlier = {**run.threshold_info, "reason": "approved\tQA line 3"}
    (run.path / "threshold.json").write_text(json.dumps({**run.threshold_info, "reason": "ok\u001b[31m",
                                                         "history": [earlier]}))
    reseal(run.path)  # written so (an archive, a reason saved before the refusal), not edited since
    run = Run(run.path)
    assert run.problem() is None
    assert run.description == "rejected\\x1b[1A\\x1b[2K\\rAPPROVED\tby QA"  # tabs and line breaks kept there
    assert run.threshold_history["reason"].tolist() == ["approved\\tQA line 3", "ok\\x1b[31m"]
    capsys.readouterr()
    assert main(["runs", "--runs", str(run.path.parent)]) == 0
    assert main(["threshold", "--run", str(run.path), "--history"]) == 0
    printed = capsys.readouterr().out
    assert "\u001b" not in printed and "rejected\\x1b[1A" in printed and "ok\\x1b[31m" in printed
    imported = import_run(run_archive_bytes(run), RunStore(tmp_path / "line"))
    assert imported.description == run.description
    assert run.save_threshold(run.threshold + 1.0, "manual", "fixed")  # saving again keeps the history readable
    assert Run(run.path).threshold_history["reason"].tolist() == ["approved\\tQA line 3", "ok\\x1b[31m", "fixed"]


def test_the_listing_names_a_run_folder_whose_metrics_or_config_were_removed(trained_run, tmp_path, capsys):
    """Such a folder vanished from `runs` ("no runs in ...") and could be neither found nor deleted there."""
    kept = copied(trained_run, tmp_path / "runs", "kept")
    for name, removed in (("no-metrics", "metrics.json"), ("no-config", "config.json")):
        (copied(trained_run, tmp_path / "runs", name).path / removed).unlink()
    (tmp_path / "runs" / "photos").mkdir()  # not part of a run: not named
    capsys.readouterr()
    assert main(["runs", "--runs", str(tmp_path / "runs")]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[1:] if not line.startswith(" ")] == [kept.id]
    removed = (("no-config", "config.json"), ("no-metrics", "metrics.json"))
    assert err.splitlines() == [f"not a complete run ({file} missing, not listed; remove the folder by hand if it "
                                f"should go): {tmp_path / 'runs' / name}" for name, file in removed]


def test_a_run_is_flushed_to_the_disk_before_it_is_published(trained_run, tmp_path, monkeypatch):
    """Found by review: the model's arrays and the maps were written without being flushed, so a power cut just
    after a run was published could leave it listed with files cut short. Every file and folder of the run is
    flushed before the rename that publishes it, and the runs folder's entry after it."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("names an open file through /proc (Linux)")
    store = RunStore(tmp_path / "runs")
    staging = store.new_staging_folder("published")
    shutil.rmtree(staging)
    shutil.copytree(trained_run.path, staging)
    flushed: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(runs_module.os, "fsync", recording_fsync)
    run = store.publish(staging, "published")
    assert not staging.exists()
    files = {str(path.relative_to(run.path)) for path in run.path.rglob("*")}
    flushed_inside = {str(Path(name).relative_to(staging)) for name in flushed if name.startswith(f"{staging}/")}
    assert flushed_inside == files  # every file and folder, before the rename
    assert flushed[-1] == str(store.root) and str(staging) in flushed


def test_a_run_that_recorded_its_images_relative_to_where_it_was_trained_still_reads(trained_run, tmp_path):
    """Runs trained before 2026-12-03 recorded each test image's path as the category folder was typed
    (``assets/demo/bottle/test/...``) beside an absolute ``dataset``: the check of where its files lie takes them,
    as it takes a run whose category folder has moved."""
    run = copied(trained_run, tmp_path / "runs")
    scores = pd.read_csv(run.path / "scores.csv", dtype=str, keep_default_na=False)
    for column in ("path", "mask_path"):
        scores[column] = scores[column].str.replace(run.config["dataset"], "data/widget", regex=False)
    scores.to_csv(run.path / "scores.csv", index=False)
    assert Run(run.path).problem() is None


KILLED_BETWEEN_THE_FILES = """
import os, signal, sys
from pathlib import Path
import vqi_core.runs as runs
from vqi_core.runs import Run

def killed(path, data, create_folder=True, follow_link=True):  # threshold.json, the record, is written after
    Path(path.parent, f".{path.name}.left0ver").write_bytes(b"half")  # scores.csv: die there, as SIGKILL would
    os.kill(os.getpid(), signal.SIGKILL)

runs.write_json_atomic = killed
run = Run(Path(sys.argv[1]))
run.save_threshold(float(sys.argv[2]), "manual", reason="killed half-way")
"""


def test_a_threshold_save_killed_between_its_two_files_is_undone_at_the_next_check(trained_run, tmp_path, caplog):
    """SIGKILL (or a power cut) between scores.csv and threshold.json left scores.csv judged at a threshold the run's
    record does not hold, and nothing noticed (bad-input review): the next check writes scores.csv again at the
    recorded threshold and removes the save's temporary files; a run folder that cannot be written is named."""
    run = copied(trained_run, tmp_path)
    saved, before = run.threshold, (run.path / "threshold.json").read_bytes()
    other = float(np.median(run.score_values))
    assert other != saved
    killed = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_THE_FILES, str(run.path), repr(other)])
    assert killed.returncode == -9
    written = pd.read_csv(run.path / "scores.csv")
    assert set(written["threshold"]) == {other} and (run.path / "threshold.json").read_bytes() == before  # stopped
    assert [path.name for path in run.path.glob(".threshold.json.*")] == [".threshold.json.left0ver"]

    fresh = Run(run.path)
    with caplog.at_level("WARNING", logger="vqi_core.runs"):
        assert fresh.problem() is None
    assert "a threshold save had been stopped" in caplog.text
    written = pd.read_csv(run.path / "scores.csv")
    assert set(written["threshold"]) == {saved} and (run.path / "threshold.json").read_bytes() == before
    assert written["prediction"].tolist() == Run(run.path).predictions()["prediction"].tolist()
    assert not list(run.path.glob(".threshold.json.*")) and not list(run.path.glob(".scores.csv.*"))
    assert Run(run.path).threshold_history["reason"].tolist()[-1] != "killed half-way"  # the save did not happen

    stopped = runs_module.record_csv(fresh.predictions(other))
    (run.path / "scores.csv").write_bytes(stopped)  # stopped again
    with locked(run.path), pytest.MonkeyPatch.context() as patch:  # a save in progress elsewhere: left alone, not
        patch.setattr(runs_module, "RACY_SECONDS", 0.0)  # waited for (review: Ctrl+Z had held up every listing), and
        assert Run(run.path).problem() is None and (run.path / "scores.csv").read_bytes() == stopped  # its pass not
        assert run.path not in runs_module._passed_checks  # remembered: undone once the lock is free

    def unwritable(path, data, create_folder=True, follow_link=True):
        raise OSError(f"cannot write {path}: Read-only file system")
    caplog.clear()
    with pytest.MonkeyPatch.context() as patch, caplog.at_level("WARNING", logger="vqi_core.runs"):
        patch.setattr(runs_module, "write_bytes_atomic", unwritable)
        patch.setattr(runs_module, "RACY_SECONDS", 0.0)
        assert Run(run.path).problem() is None  # VQI reads neither column: a frozen run stays usable (review)
        assert Run(run.path).problem() is None  # and its check is remembered: said once, not at every listing
    assert caplog.text.count("cannot be written again: cannot write") == 1 and "Read-only file system" in caplog.text
    assert (run.path / "scores.csv").read_bytes() == stopped
    runs_module._passed_checks.clear()
    with pytest.MonkeyPatch.context() as patch:  # where locks do not reach other processes: nothing undone
        patch.setattr(runs_module, "PROCESS_LOCKS", False)
        assert Run(run.path).problem() is None and (run.path / "scores.csv").read_bytes() == stopped
    assert Run(run.path).problem() is None and (run.path / "scores.csv").read_bytes() != stopped  # now undone

    (run.path / "scores.csv").write_bytes(stopped)  # stopped again, and the run deleted while it is undone
    real_record_csv = runs_module.record_csv
    def deleted_meanwhile(frame):
        os.replace(run.path, tmp_path / "deleted")  # as RunStore.delete renames it aside
        return real_record_csv(frame)
    caplog.clear()
    with pytest.MonkeyPatch.context() as patch, caplog.at_level("WARNING", logger="vqi_core.runs"):
        patch.setattr(runs_module, "record_csv", deleted_meanwhile)
        Run(run.path).problem()
    assert not run.path.exists() and "were made at the saved threshold" not in caplog.text  # not brought back


def test_a_threshold_saved_as_a_numpy_float_is_written_as_its_record_holds_it(trained_run, tmp_path):
    """A float32 threshold had been written "0.35" into scores.csv beside 0.3499999940395355 in threshold.json, so
    every later check took the two for a stopped save (review)."""
    run = copied(trained_run, tmp_path)
    value = np.float32(np.median(run.score_values)) + np.float32(0.1)
    run.save_threshold(value, "manual")
    written = pd.read_csv(run.path / "scores.csv", dtype=str)["threshold"].unique().tolist()
    assert [float(text) for text in written] == [run.threshold] == [float(value)]


def test_predictions_are_judged_at_the_threshold_as_given():
    """A score at the threshold or above it is defective, judged in float64: through float32 the threshold 0.1
    becomes 0.10000000149, and scores between the two were called good."""
    scores = pd.DataFrame({"score": [np.nextafter(0.1, 0), 0.1, 0.1000000005, 0.2]})
    frame = predictions_frame(scores, 0.1)
    assert frame["prediction"].tolist() == ["good", "defective", "defective", "defective"]
    assert frame["threshold"].tolist() == [0.1] * 4


def test_a_save_removes_the_temporary_files_of_a_stopped_one(trained_run, tmp_path):
    """A save killed between its writes leaves ``.scores.csv.*`` / ``.threshold.json.*`` files: the next save
    removes them."""
    run = copied(trained_run, tmp_path)
    leftovers = [run.path / ".scores.csv.a1b2c3", run.path / ".threshold.json.d4e5f6"]
    for leftover in leftovers:
        leftover.write_text("half written")
    assert run.save_threshold(float(np.median(run.score_values)) + 0.5, "manual")
    assert not any(leftover.exists() for leftover in leftovers)


@pytest.mark.parametrize("damage, said", [
    ("map_max_below_median", "its normalisation statistics give a highest good-image map level (-5) below their "
                             "median"),
    ("height_text", "height must be a whole number of pixels, not 'abc'"),
    ("unknown_key", "got an unexpected keyword argument 'gamma'"),
    ("no_mean", "'mean' is missing from its preprocessing"),
])
def test_model_json_values_loading_would_refuse_are_found_by_the_cheap_check(trained_run, tmp_path, capsys, damage,
                                                                             said):
    """`runs` listed such a run as healthy, and `evaluate` and `predict` then refused to load it (bad-input review):
    the check reads the preprocessing and the normalisation as loading does."""
    run = copied(trained_run, tmp_path / "runs")
    meta_path = run.path / "model" / "model.json"
    meta = json.loads(meta_path.read_text())
    preprocessing = meta["preprocessing"]
    edited = {"map_max_below_median": {"normalization": {**meta["normalization"], "map_max": -5.0}},
              "height_text": {"preprocessing": {**preprocessing, "height": "abc"}},
              "unknown_key": {"preprocessing": {**preprocessing, "gamma": 2.2}},
              "no_mean": {"preprocessing": {k: v for k, v in preprocessing.items() if k != "mean"}}}[damage]
    meta_path.write_text(json.dumps({**meta, **edited}))
    problem = Run(run.path).problem()
    assert problem is not None and problem.startswith(f"the model in {run.path / 'model'} cannot be loaded: "
                                                      f"model.json is damaged: ") and said in problem
    with pytest.raises(RunError, match="model.json is damaged"):
        run.load_model()


@pytest.mark.parametrize("save", ["threshold", "box level", "description"])
def test_a_save_waiting_while_its_run_is_deleted_brings_no_folder_back(runs_store, save):
    """Found by a robustness review: a threshold save that had waited for the run's lock while the run was deleted
    wrote its two files into a new folder of the same name, a stub that `runs` could neither list nor delete."""
    run = runs_store.list()[0]
    saves = {"threshold": lambda: run.save_threshold(run.threshold * 0.9, "user", "a test"),
             "box level": lambda: run.save_box_level(2.0, "a test"),
             "description": lambda: run.describe("a test")}
    outcome: list[BaseException | bool | None] = []
    waiting = threading.Event()

    def save_when_unlocked() -> None:
        waiting.set()
        try:
            outcome.append(saves[save]())
        except RunError as exc:
            outcome.append(exc)

    with locked(run.path):  # as a deletion holds it
        worker = threading.Thread(target=save_when_unlocked)
        worker.start()
        waiting.wait(10)
        time.sleep(0.3)  # the save is waiting for the lock now
        shutil.rmtree(run.path)
    worker.join(30)
    assert isinstance(outcome[0], RunError) and f"run {run.id} no longer exists" in str(outcome[0])
    assert not run.path.exists() and runs_store.list() == []


def test_a_deletion_waits_for_a_threshold_save_writing_into_the_run(runs_store, monkeypatch):
    """The other order: a run deleted while a save writes into it goes once the save is done, whole."""
    run = runs_store.list()[0]
    record_csv, writing = runs_module.record_csv, threading.Event()

    def slow_record_csv(*args, **kwargs):
        writing.set()
        time.sleep(0.5)
        return record_csv(*args, **kwargs)

    monkeypatch.setattr(runs_module, "record_csv", slow_record_csv)
    saved: list[bool] = []
    worker = threading.Thread(target=lambda: saved.append(run.save_threshold(run.threshold * 0.9, "user", "test")))
    worker.start()
    writing.wait(10)
    assert runs_store.delete(run.id) == run.id
    worker.join(30)
    assert saved == [True] and not run.path.exists() and runs_store.list() == []
    assert not [path.name for path in runs_store.root.iterdir() if not path.name.startswith(".")]


def test_a_save_removes_what_any_stopped_save_left_in_the_run(runs_store):
    """Found by a robustness review: only a threshold save removed the temporary files of a stopped save; a box
    level's or a description's stayed for ever."""
    run = runs_store.list()[0]
    left = [run.path / f".{name}.x1y2" for name in ("box_level.json", "description.json", "scores.csv",
                                                       "threshold.json")]
    for path in left:
        path.write_bytes(b"half")
    run.describe("line 3")
    assert not [path.name for path in left if path.exists()]
    for path in left:
        path.write_bytes(b"half")
    run.save_box_level(2.0)
    assert not [path.name for path in left if path.exists()] and run.description == "line 3"


def test_listing_a_runs_folder_that_could_never_exist_says_why(tmp_path, capsys):
    """Found by a robustness review: a runs folder under a file was listed as "no runs in ... (the folder does not
    exist yet)", with status 0, though it can never exist; a folder that is merely not there yet is said so."""
    (tmp_path / "afile").write_text("x")
    assert main(["runs", "--runs", str(tmp_path / "afile" / "sub")]) == 2
    assert capsys.readouterr().err.strip() == (f"error: the runs folder {tmp_path / 'afile' / 'sub'} cannot exist: "
                                               f"{tmp_path / 'afile'} is a file, not a folder")
    assert main(["runs", "--runs", str(tmp_path / "new" / "runs")]) == 0
    assert capsys.readouterr().out.strip() == f"no runs in {tmp_path / 'new' / 'runs'} (the folder does not exist yet)"


def test_listing_a_folder_whose_sub_folder_holds_the_runs_points_there(trained_run, tmp_path, capsys):
    """Command review: "no runs in <folder>" where the runs were one level down, in "x y", gave no hint."""
    copied(trained_run, tmp_path / "runs ä" / "x y")
    assert main(["runs", "--runs", str(tmp_path / "runs ä")]) == 0
    assert capsys.readouterr().out.strip() == (f"no runs in {tmp_path / 'runs ä'}; 1 run in its sub-folder x y: give "
                                               f"--runs '{tmp_path / 'runs ä' / 'x y'}'")
    assert main(["runs", "--runs", str(tmp_path / "runs ä" / "x y")]) == 0
    assert any(line.startswith("copy ") for line in capsys.readouterr().out.splitlines())


def test_an_image_auroc_edited_in_metrics_json_is_refused_as_its_scores_give_another(trained_run, tmp_path, capsys):
    """Found by a robustness review: metrics.json's image AUROC, edited, was listed, exported and imported as the
    run's, while evaluate computed another from the same scores."""
    run = copied(trained_run, tmp_path / "runs")
    metrics = json.loads((run.path / "metrics.json").read_text())
    true_auroc = metrics["image_auroc"]
    (run.path / "metrics.json").write_text(json.dumps({**metrics, "image_auroc": 0.9999}))
    message = (f"{run.path / 'metrics.json'} is damaged: its image AUROC 0.9999 is not the {true_auroc:.4f} that the "
               f"run's scores give")
    refused_everywhere(run, message, tmp_path, capsys)
    (run.path / "metrics.json").write_text(json.dumps({**metrics, "image_auroc": true_auroc}))
    Run(run.path).check()


def test_an_image_auroc_edited_after_a_passed_check_is_found_either_way_and_older_runs_are_not_checked(
        trained_run, tmp_path, monkeypatch):
    """metrics.json is among the files whose change makes a remembered check run again; a figure edited upwards is
    refused as one edited downwards; a run from before the scores' digest is read as before."""
    monkeypatch.setattr(runs_module, "RACY_SECONDS", 0.0)  # the files just written count as settled
    run = copied(trained_run, tmp_path / "runs")
    scores = pd.read_csv(run.path / "scores.csv")
    scores.loc[scores.index[scores["label"] == "defective"][0], "score"] = scores["score"].min() - 1.0  # an escape
    scores.to_csv(run.path / "scores.csv", index=False)
    reseal(run.path)
    Run(run.path).check()  # passed, and remembered
    metrics = json.loads((run.path / "metrics.json").read_text())
    true_auroc = metrics["image_auroc"]
    assert true_auroc < 0.999
    (run.path / "metrics.json").write_text(json.dumps({**metrics, "image_auroc": true_auroc + 0.001}))
    with pytest.raises(RunError, match=f"its image AUROC {true_auroc + 0.001:.4f} is not the {true_auroc:.4f}"):
        Run(run.path).check()
    config = json.loads((run.path / "config.json").read_text())
    del config["scores_sha256"]  # as a run trained before 2026-12-06 holds it
    (run.path / "config.json").write_text(json.dumps(config))
    Run(run.path).check()


def test_a_threshold_edited_by_hand_is_refused_not_taken_as_saved(trained_run, tmp_path, capsys):
    """Audit review: threshold.json edited by hand to another threshold was taken for a save stopped half way:
    `report` wrote scores.csv again at it and filed it under the last save's name and reason. The file records the
    SHA-256 of its content: an edit is refused by every reader, and nothing is written into the run."""
    run = copied(trained_run, tmp_path / "runs", "edited")
    assert run.save_threshold(run.threshold * 1.1, "manual", "after tuning", saved_by="QE")
    info = json.loads((run.path / "threshold.json").read_text())
    assert info["content_sha256"] and info["history"][-1]["content_sha256"]  # each save records its own
    (run.path / "threshold.json").write_text(json.dumps({**info, "threshold": 5.0}))
    scores_before = (run.path / "scores.csv").read_bytes()
    run = Run(run.path)
    with pytest.raises(RunError, match=r"threshold.json is damaged or was edited by hand: its content is not the one "
                                       r"VQI saved .*, so neither the threshold in effect nor its history can be "
                                       r"trusted"):
        run.check()
    assert main(["report", "--run", str(run.path), "--out", str(tmp_path / "report.html")]) == 2
    assert "is damaged or was edited by hand" in capsys.readouterr().err and not (tmp_path / "report.html").exists()
    assert (run.path / "scores.csv").read_bytes() == scores_before  # not judged again at the edited threshold
    with pytest.raises(RunError, match="is damaged or was edited by hand"):
        run.save_threshold(7.0, "manual")  # nor saved over: restored from a copy first
    stripped = {key: value for key, value in info.items() if key != "content_sha256"}  # the digest removed too
    (run.path / "threshold.json").write_text(json.dumps({**stripped, "threshold": 5.0}))
    with pytest.raises(RunError, match="is damaged or was edited by hand"):  # a run that records them (code review)
        Run(run.path).check()
    assert (run.path / "scores.csv").read_bytes() == scores_before
    (run.path / "threshold.json").write_text(json.dumps(info, indent=4))  # the same content, laid out otherwise
    assert Run(run.path).problem() is None and Run(run.path).threshold == info["threshold"]
