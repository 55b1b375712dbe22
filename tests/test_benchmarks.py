"""The benchmark commands run end to end and write what they print (their figures are not asserted as timings)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil

import pytest

from synthetic import write_mvtec_dataset
from ui import bench_dashboard
from vqi_core import bench, bench_memory
from vqi_core.runs import RunStore


def test_method_entries_take_json_values_with_commas():
    assert bench.parse_method("patchcore:image_size=[320,480],knn=flat,coreset_fraction=0.1") == (
        "patchcore", {"image_size": [320, 480], "knn": "flat", "coreset_fraction": 0.1})
    assert bench.parse_method("dfm:finetune=cutpaste") == ("dfm", {"finetune": "cutpaste"})
    assert bench.parse_method("padim") == ("padim", {})


def test_table_numbers_have_their_columns_decimals():
    row = {"dataset": "d", "method": "m", "image_auroc": 1, "pixel_auroc": None, "aupro": 0.71234,
           "fit_seconds": 0.86, "ms_per_image": 1.63, "backbone_ms_per_image": 0.9, "paired_ms_per_image": 1.25,
           "peak_rss_mb": 2169.6, "note": ""}
    assert bench.format_row(row) == "d | m | 1.0000 | n/a | 0.7123 | 0.9 | 1.6 | 0.9 | 1.2 | 2170 | "


def test_engine_benchmark_writes_its_table_with_a_failing_row_among_the_others(tmp_path, capsys):
    broken = tmp_path / "data" / "broken"  # found as a category, but it fails once its row runs
    (broken / "train" / "good").mkdir(parents=True)
    (broken / "train" / "good" / "000.png").write_bytes(b"not a png")
    write_mvtec_dataset(tmp_path / "data" / "widget", n_train=10, n_test_good=4, n_per_defect=3)
    out = tmp_path / "out"
    assert bench.main(["--data-root", str(tmp_path / "data"), "--datasets", "broken", "widget",
                       "--methods", "padim:image_size=[64,64],jit=false", "--out", str(out),
                       "--keep-runs", str(tmp_path / "runs")]) == 1
    captured = capsys.readouterr()
    assert "error: 1 row of 2 failed (see their note)" in captured.err

    rows = json.loads((out / "bench.json").read_text())["rows"]
    assert [(r["dataset"], r["method"]) for r in rows] == [("broken", "padim:image_size=[64,64],jit=false"),
                                                           ("widget", "padim:image_size=[64,64],jit=false")]
    assert rows[0]["note"].startswith("failed: ") and "000.png" in rows[0]["note"]  # says why, and the rest ran
    padim = rows[1]
    assert padim["image_auroc"] >= 0.9 and padim["pixel_auroc"] >= 0.9  # drawn defects are found
    assert padim["fit_seconds"] > 0 and padim["ms_per_image"] > 0 and padim["backbone_ms_per_image"] > 0
    assert padim["paired_ms_per_image"] > 0  # whole inference timed in turn with the backbone, on the same images
    assert set(padim["per_defect_type"]) == {"blob", "scratch"}
    [run] = RunStore(tmp_path / "runs").list()  # each column from the run's own figure
    for key in ("image_auroc", "pixel_auroc", "aupro", "fit_seconds", "ms_per_image"):
        assert padim[key] == run.metrics[key], key
    assert padim["peak_rss_mb"] > 100  # MiB: torch alone takes more
    markdown = (out / "bench.md").read_text()
    assert "| widget | padim:image_size=[64,64],jit=false |" in markdown and "blob" in markdown
    assert "broken | padim" in captured.out and "widget | padim" in captured.out


@pytest.mark.parametrize("options, problem", [
    (["--methods", "nosuchmethod"], "unknown method 'nosuchmethod'"),
    (["--methods", "padim:nope=1"], "'nope' is not a parameter of padim"),
    (["--methods", "padim:finetune=cutpaste,finetune_params={\"lr\":-1}"], "cutpaste fine-tuning's lr must be above 0"),
    (["--datasets", "nosuch"], "category 'nosuch' not found in"),
    (["--methods", "padim:seed=1"], "the seed is a run setting (--seed, RunConfig.seed), not a method parameter"),
    (["--out", "FILE"], "is a file: name a folder for the benchmark's files"),
    (["--keep-runs", "FILE"], "is a file, not a folder"),
    (["--out", "FILE/sub"], "cannot be made: FILE is a file, not a folder"),  # ("[Errno 20] Not a directory")
    (["--methods", "patchcore:knn=flat,knn=ivf"], "gives knn twice: give it once"),  # the last had been taken
    (["--methods", "patchcore:"], "names no parameter after its colon"),
    (["--methods", "padim", "padim"], "--methods names padim twice"),  # rows that could not be told apart
    (["--datasets", "widget", "widget"], "--datasets names widget twice"),
    (["--data-root", "NOWHERE"], "does not exist: give the folder of the datasets with --data-root, or set "
                                 "VQI_SHARED_DATA"),
])
def test_engine_benchmark_refuses_bad_options_before_anything_runs(tmp_path, capsys, options, problem):
    """Each used to start a process per row (or the whole benchmark), end with exit status 0, and replace an
    earlier bench.json with failure rows; an --out that is a file failed only after every row had run."""
    write_mvtec_dataset(tmp_path / "data" / "widget", n_train=4, n_test_good=2, n_per_defect=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "bench.json").write_text("earlier results")
    (tmp_path / "FILE").write_text("")
    options = [str(tmp_path / option) if option.startswith(("FILE", "NOWHERE")) else option for option in options]
    problem = problem.replace("FILE", str(tmp_path / "FILE"))
    defaults = {"--methods": ["padim"], "--out": [str(out)], "--data-root": [str(tmp_path / "data")]}
    argv = options + [item for key, values in defaults.items() if key not in options for item in [key, *values]]
    assert bench.main(argv) == 2
    captured = capsys.readouterr()
    assert problem in captured.err and "dataset | method" not in captured.out
    assert (out / "bench.json").read_text() == "earlier results"


def test_a_benchmark_keeps_the_rows_finished_when_interrupted_and_a_row_without_test_images(tmp_path, capsys,
                                                                                          monkeypatch):
    """Found by the benchmark review: a category without test images failed with ZeroDivisionError, its figures and
    the run's warnings lost; rows without --keep-runs named run folders that were gone; Ctrl+C lost every row
    finished, with the tracebacks of two processes."""
    notest = write_mvtec_dataset(tmp_path / "data" / "notest", n_train=6, n_test_good=2, n_per_defect=1)
    shutil.rmtree(notest / "test")
    write_mvtec_dataset(tmp_path / "data" / "widget", n_train=6, n_test_good=2, n_per_defect=1)
    waits = []
    real_wait = bench._wait_for_row

    def interrupted_at_the_second(process, queue):
        waits.append(process)
        if len(waits) == 2:
            raise KeyboardInterrupt
        return real_wait(process, queue)

    monkeypatch.setattr(bench, "_wait_for_row", interrupted_at_the_second)
    out = tmp_path / "out"
    assert bench.main(["--data-root", str(tmp_path / "data"), "--datasets", "notest", "widget",
                       "--methods", "padim:image_size=[64,64],jit=false", "--out", str(out)]) == 130
    captured = capsys.readouterr()
    assert captured.err.endswith(f"interrupted: {out / 'bench.json'} and bench.md hold the 1 row finished of 2\n")
    assert not waits[1].is_alive()  # the second row's training stopped with the benchmark
    saved = json.loads((out / "bench.json").read_text())
    [row] = saved["rows"]
    assert saved["complete"] is False and "(1 of its 2 rows; interrupted, or still running)" in \
        (out / "bench.md").read_text()
    assert row["image_auroc"] is None and row["fit_seconds"] > 0 and row["paired_ms_per_image"] is None
    assert row["ms_per_image"] is None  # nothing scored: no time per image (command review: 0.0)
    assert not row["note"].startswith("failed") and "no test image" in row["note"]  # the run's own warning
    assert row["run"] is None  # its temporary folder is gone


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
    before = os.environ.get("VQI_RUNS_DIR")
    assert bench_dashboard.main(argv) == 0
    assert os.environ.get("VQI_RUNS_DIR") == before  # review: the synthetic run's folder was left set

    result = json.loads((out / "dashboard.json").read_text())
    expected = ["metrics at a threshold", "threshold_view", "+ serialise"] + ([] if skip_apptest else ["AppTest page rerun"])
    assert list(result["measurements"]) == expected
    for row in result["measurements"].values():
        assert 0 < row["median_ms"] <= row["p95_ms"] <= row["max_ms"]
    assert result["images"] == 120 and result["repeats"] == 3 and isinstance(result["within_target"], bool)
    table = (out / "dashboard.md").read_text()
    assert all(f"| {name} | {row['median_ms']:.3f} |" in table for name, row in result["measurements"].items())
    assert "AppTest page rerun" in capsys.readouterr().out or skip_apptest


def test_memory_benchmark_trains_both_ways_and_compares_them(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    trained: list[dict] = []

    def train_and_record(*args, **kwargs):
        trained.append(train_in_a_process(*args, **kwargs))
        return trained[-1]

    train_in_a_process = bench_memory.train_in_a_process
    monkeypatch.setattr(bench_memory, "train_in_a_process", train_and_record)
    assert bench_memory.main(["--train", "6", "--test", "4", "--side", "96", "--method", "padim",
                              "--out", str(out)]) == 0
    result = json.loads((out / "memory.json").read_text())
    assert [row["setting"] for row in result["rows"]] == ["all images in memory", "decoded from the files"]
    assert [row["image_memory_mb"] for row in result["rows"]] == [1_000_000, 0]  # the two ways, not one twice
    assert result["same_scores"] is True
    table = (out / "memory.md").read_text()
    for row, run in zip(result["rows"], trained, strict=True):  # each column is its own run's figure
        columns = ("peak_rss_mb", "fit_seconds", "ms_per_image", "image_auroc", "pixel_auroc")
        assert {key: row[key] for key in columns} == {key: run["metrics"][key] for key in columns}
        assert row["peak_rss_mb"] > 0 and row["fit_seconds"] > 0 and row["ms_per_image"] > 0
        assert (f"| {row['setting']} | {row['peak_rss_mb']:.0f} | {row['fit_seconds']:.1f} | "
                f"{row['wall_seconds']:.1f} | {row['ms_per_image']:.1f} | {row['image_auroc']:.4f} | "
                f"{row['pixel_auroc']:.4f} |") in table
    assert "identical scores" in table and "decoded from the files" in capsys.readouterr().out


@pytest.mark.parametrize("benchmark, options, problem", [
    (bench_memory, ["--test", "0"], "argument --test: must be at least 2, not 0"),
    (bench_memory, ["--train", "-3"], "argument --train: must be at least 2, not -3"),
    (bench_memory, ["--side", "0"], "argument --side: must be at least 32, not 0"),
    (bench_memory, ["--method", "bogus"], "argument --method: invalid choice: 'bogus'"),
    (bench_dashboard, ["--images", "0"], "argument --images: must be at least 10, not 0"),
    (bench_dashboard, ["--repeats", "-3"], "argument --repeats: must be at least 1, not -3"),
])
def test_memory_and_dashboard_benchmarks_refuse_bad_options_before_any_work(capsys, benchmark, options, problem):
    """Each used to write 240 photos or train twice first, then end in a traceback (a NoneType format, a cv2
    assertion, an IndexError) with nothing written."""
    with pytest.raises(SystemExit) as refused:
        benchmark.main(options)
    assert refused.value.code == 2 and problem in capsys.readouterr().err


@pytest.mark.parametrize("benchmark", [bench_memory, bench_dashboard])
def test_memory_and_dashboard_benchmarks_refuse_an_out_that_is_a_file(tmp_path, capsys, benchmark):
    (tmp_path / "taken").write_text("")
    assert benchmark.main(["--out", str(tmp_path / "taken")]) == 2
    assert f"error: --out {tmp_path / 'taken'} is a file" in capsys.readouterr().err
