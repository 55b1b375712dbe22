"""The benchmark commands run end to end and write what they print (their figures are not asserted as timings)."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from synthetic import write_mvtec_dataset
from vqi_core import bench, bench_dashboard, bench_memory


def test_method_entries_take_json_values_with_commas():
    assert bench.parse_method("patchcore:image_size=[320,480],knn=flat,coreset_fraction=0.1") == (
        "patchcore", {"image_size": [320, 480], "knn": "flat", "coreset_fraction": 0.1})
    assert bench.parse_method("dfm:finetune=cutpaste") == ("dfm", {"finetune": "cutpaste"})
    assert bench.parse_method("padim") == ("padim", {})


def test_engine_benchmark_writes_its_table(tmp_path, capsys):
    write_mvtec_dataset(tmp_path / "data" / "widget", n_train=10, n_test_good=4, n_per_defect=3)
    out = tmp_path / "out"
    assert bench.main(["--data-root", str(tmp_path / "data"), "--methods", "nosuchmethod",
                       "padim:image_size=[64,64],jit=false", "--out", str(out)]) == 0

    rows = json.loads((out / "bench.json").read_text())["rows"]
    assert [(r["dataset"], r["method"]) for r in rows] == [("widget", "nosuchmethod"),
                                                           ("widget", "padim:image_size=[64,64],jit=false")]
    failed, padim = rows
    assert padim["image_auroc"] >= 0.9 and padim["pixel_auroc"] >= 0.9  # drawn defects are found
    assert padim["fit_seconds"] > 0 and padim["ms_per_image"] > 0 and padim["backbone_ms_per_image"] > 0
    assert set(padim["per_defect_type"]) == {"blob", "scratch"}
    assert failed["note"].startswith("failed:") and "nosuchmethod" in failed["note"]  # a failure; the next still ran
    markdown = (out / "bench.md").read_text()
    assert "| widget | padim:image_size=[64,64],jit=false |" in markdown and "blob" in markdown
    assert "widget | padim" in capsys.readouterr().out


def test_a_benchmark_process_that_dies_becomes_a_failure_row():
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=os._exit, args=(3,))  # exits without reporting, like a process killed for memory
    process.start()
    row = bench._wait_for_row(process, context.Queue())
    process.join()
    assert row == {"note": "failed: the benchmark process exited with code 3"}


@pytest.mark.parametrize("skip_apptest", [True, False])
def test_dashboard_benchmark_writes_every_measurement(tmp_path, capsys, skip_apptest):
    out = tmp_path / "out"
    argv = ["--images", "120", "--repeats", "3", "--out", str(out)] + (["--skip-apptest"] if skip_apptest else [])
    assert bench_dashboard.main(argv) == 0

    result = json.loads((out / "dashboard.json").read_text())
    expected = ["metrics at a threshold", "threshold_view", "+ serialise"] + ([] if skip_apptest else ["AppTest page rerun"])
    assert list(result["measurements"]) == expected
    for row in result["measurements"].values():
        assert 0 < row["median_ms"] <= row["p95_ms"] <= row["max_ms"]
    assert result["images"] == 120 and result["repeats"] == 3 and isinstance(result["within_target"], bool)
    table = (out / "dashboard.md").read_text()
    assert all(f"| {name} | {row['median_ms']:.3f} |" in table for name, row in result["measurements"].items())
    assert "AppTest page rerun" in capsys.readouterr().out or skip_apptest


def test_memory_benchmark_trains_both_ways_and_compares_them(tmp_path, capsys):
    out = tmp_path / "out"
    assert bench_memory.main(["--train", "6", "--test", "4", "--side", "96", "--method", "padim",
                              "--out", str(out)]) == 0
    result = json.loads((out / "memory.json").read_text())
    assert [row["setting"] for row in result["rows"]] == ["all images in memory", "decoded from the files"]
    assert result["same_scores"] is True
    for row in result["rows"]:
        assert row["peak_rss_mb"] > 0 and row["fit_seconds"] > 0 and row["image_auroc"] is not None
    assert "identical scores" in (out / "memory.md").read_text() and "decoded from the files" in capsys.readouterr().out
