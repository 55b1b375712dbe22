"""Benchmark: every method on every dataset of $VQI_SHARED_DATA (else ../shared/data
beside the project); prints a table and writes files.

python -m vqi_core.bench [--datasets ...] [--methods ...]

Each (dataset, method) pair runs in its own process, so that its peak memory
is its own. A method entry is a name with optional parameters, e.g.
patchcore, dfm:finetune=cutpaste, patchcore:coreset_fraction=0.05.
Columns: image AUROC, pixel AUROC, AUPRO, fit seconds, inference ms/image
over the test set while the run is evaluated (preprocessing + backbone +
scoring + maps), then backbone-only ms/image and whole-inference ms/image on
the same 64 test images timed in turn (their ratio is the one to compare: each
alone varies with the machine's load), and the run's peak resident memory.
Exit status 0 when every row ran, 1 when a row failed (the others are kept),
2 when an option is refused (before anything runs), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any, Callable

from .system import file_above, peak_memory_mb, sigterm_as_ctrl_c
from .wording import counted, headline, percent

if TYPE_CHECKING:
    from .runs import Run

#: $VQI_SHARED_DATA, else ``../shared/data`` beside the project
DEFAULT_DATA_ROOT = Path(os.environ.get("VQI_SHARED_DATA")
                         or Path(__file__).resolve().parents[1].parent / "shared" / "data")
DEFAULT_METHODS = ("patchcore", "padim", "spade", "dfm", "dfm:finetune=cutpaste", "dfm:finetune=simsiam",
                   "patchcore:finetune=cutpaste", "cam")
COLUMNS = ("dataset", "method", "image_auroc", "pixel_auroc", "aupro", "fit_seconds", "ms_per_image",
           "backbone_ms_per_image", "paired_ms_per_image", "peak_rss_mb", "note")
#: the run notes a row's note already sums up in a few words (copies, look-alikes, capture cues); every other note
#: of the run's report goes into the row's note as its headline (a row had looked clean where the run warned that
#: it had one training image, or no good test image to measure false alarms on: benchmark review)
SUMMED_UP_NOTES = ("copies of training images", "a copy of a training image", "copies of train/good images",
                   "a copy of a train/good image", "copies of other test images", "a copy of another test image",
                   "more than once in the test set", "look almost like a training image", "whole-image statistic alone",
                   "whole-image statistics alone")


def whole_number_at_least(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least`` (refused by argparse, with its option, before any
    work starts)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, not {value}")
        return value
    return parse


def output_folder(folder: Path) -> Path:
    """``folder``, created for a benchmark's files before it runs (``ValueError`` for a file, ``OSError`` where it
    cannot be created): found after the benchmark, the results would be lost."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} is a file: name a folder for the benchmark's files")
    if (blocking := file_above(folder)) is not None:  # "[Errno 20] Not a directory" had been all (review)
        raise ValueError(f"--out {folder} cannot be made: {blocking} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_results(folder: Path, stem: str, markdown: str, data: dict[str, Any], created: str | None = None,
                  said: bool = True) -> None:
    """A benchmark's results as ``<stem>.md`` (its table) and ``<stem>.json`` (``data`` and when it was made:
    ``created``, now unless the table names another time), both written atomically into ``folder`` (from
    :func:`output_folder`), and where they went printed (unless not ``said``)."""
    from .runs import write_bytes_atomic

    created = created or time.strftime("%Y-%m-%dT%H:%M:%S")
    write_bytes_atomic(folder / f"{stem}.json", json.dumps({"created": created, **data}, indent=2).encode())
    write_bytes_atomic(folder / f"{stem}.md", markdown.encode())
    if said:
        print(f"wrote {folder / f'{stem}.json'} and {folder / f'{stem}.md'}")


def parse_method(entry: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value,key=value`` -> (name, params); values read as JSON where possible.

    A comma separates parameters only where a ``key=`` follows, so JSON lists work:
    ``patchcore:image_size=[320,480],knn=flat``. ``ValueError`` for a colon with no parameter after it and a
    parameter given twice (the last had been taken, the row labelled with both: benchmark review).
    """
    name, colon, rest = entry.partition(":")
    if colon and not rest.strip():
        raise ValueError(f"method entry {entry!r} names no parameter after its colon: give {name!r}, or "
                         f"{name}:key=value")
    params: dict[str, Any] = {}
    for item in filter(None, re.split(r",(?=\s*[A-Za-z_]\w*=)", rest)):
        key, _, value = item.partition("=")
        if key in params:
            raise ValueError(f"method entry {entry!r} gives {key} twice: give it once")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return name, params


def paired_ms_per_image(run: "Run", limit: int = 64, passes: int = 3) -> tuple[float, float] | None:
    """(backbone-only forward, whole inference) ms per image on the run's first ``limit`` test images (None for a
    run without test images: nothing to time, found by review as a ZeroDivisionError): each of
    ``passes`` passes times the backbone alone on the preprocessed batches, then the model's whole ``predict``
    (preprocessing, backbone, scoring, maps) on the same images, and the medians are returned. Timed in turn,
    the two are slowed alike by whatever else loads the machine, so their ratio holds where each alone varies
    by a factor of 3 on a shared 2-core machine."""
    import torch

    if run.scores.empty:
        return None
    model = run.load_model()
    images = [run.image(i) for i in range(min(limit, len(run.scores)))]
    batches = [model.preprocessing(images[i:i + model.batch_size])[0] for i in range(0, len(images), model.batch_size)]
    model.predict(images[:model.batch_size])  # trace / warm up
    backbone, whole = [], []
    for _ in range(passes):
        with torch.inference_mode():
            started = time.perf_counter()
            for x in batches:
                model.extractor(x)
            backbone.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.predict(images)
        whole.append(time.perf_counter() - started)
    return 1000 * statistics.median(backbone) / len(images), 1000 * statistics.median(whole) / len(images)


def _run_one(dataset: Path, entry: str, runs_dir: str, kept: bool, queue: multiprocessing.Queue) -> None:
    from .pipeline import RunConfig, train_run
    from .split_check import is_strong_cue, look_alike_finding

    try:
        name, params = parse_method(entry)
        run = train_run(RunConfig(str(dataset), name, params), runs_dir)
        metrics = run.metrics
        row = {key: metrics.get(key) for key in ("image_auroc", "image_auroc_interval", "pixel_auroc", "aupro",
                                                  "fit_seconds", "ms_per_image")}
        row["peak_rss_mb"] = peak_memory_mb()  # the run's own: before the model is loaded again to be timed
        paired = paired_ms_per_image(run)
        row["backbone_ms_per_image"], row["paired_ms_per_image"] = \
            (round(paired[0], 2), round(paired[1], 2)) if paired is not None else (None, None)
        notes = ["has seen labelled defects; held-out part only"] if metrics.get("seen_defects") else []
        if metrics.get("balanced_accuracy") is not None:
            notes.append(f"balanced accuracy {metrics['balanced_accuracy']:.3f}")
        if metrics.get("copied_test_images"):
            without = metrics.get("image_auroc_without_copies")
            notes.append(f"{metrics['copied_test_images']} test images copy training images; image AUROC without "
                         f"them {'n/a (a class has none left)' if without is None else f'{without:.4f}'}")
        check = run.report.get("split_check", {})
        if finding := look_alike_finding(check.get("look_alike_summary", {})):
            notes.append(finding)
        notes += [f"{cue['cue']} alone: AUROC {cue['auroc']:.3f}"
                  for cue in check.get("capture_cues", []) if is_strong_cue(cue)]
        notes += [(headline(note) or note).rstrip(".") for note in run.report.get("notes", [])
                  if not any(summed_up in note.lower() for summed_up in SUMMED_UP_NOTES)]
        row["note"] = "; ".join(notes)
        row["per_defect_type"] = metrics.get("per_defect_type", {})
        row["run"] = str(run.path) if kept else None  # a temporary folder's is gone once the benchmark ends
        queue.put(row)
    except KeyboardInterrupt:  # Ctrl+C reaches every process of the terminal: the parent says it, once
        return
    except Exception as exc:  # report the failure as a row, keep benchmarking the rest
        queue.put({"note": f"failed: {exc.__class__.__name__}: {exc}"})


def _wait_for_row(process: BaseProcess, queue: multiprocessing.Queue) -> dict[str, Any]:
    """The row the child process reports, or a failure row if it dies first (e.g. killed for memory)."""
    while True:
        try:
            return queue.get(timeout=1.0)
        except Empty:
            if not process.is_alive():
                try:  # it may have reported just before exiting
                    return queue.get(timeout=1.0)
                except Empty:
                    return {"note": f"failed: the benchmark process exited with code {process.exitcode}"}


def run_benchmark(datasets: list[Path], methods: list[str], runs_dir: str, kept: bool = False,
                  rows: list[dict[str, Any]] | None = None,
                  finished: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """One row per (dataset, method), appended to ``rows`` (a new list if None) and passed to ``finished`` as each
    ends, so that an interrupt keeps the rows done; each pair in a fresh process, stopped with the benchmark
    (``kept``: whether ``runs_dir`` outlives the benchmark, so that the rows name their runs)."""
    context = multiprocessing.get_context("spawn")
    rows = [] if rows is None else rows
    for dataset in datasets:
        for entry in methods:
            queue = context.Queue()
            process = context.Process(target=_run_one, args=(dataset, entry, runs_dir, kept, queue))
            process.start()
            try:
                row = _wait_for_row(process, queue)
                process.join()
            finally:  # interrupted: the training stops too, before its temporary folder is removed
                if process.is_alive():
                    process.terminate()
                    process.join()
            row = {"dataset": dataset.name, "method": entry, **row}
            rows.append(row)
            print(format_row(row), flush=True)
            if finished is not None:
                finished(rows)
    return rows


#: decimals of each number column of the table
DECIMALS = {"image_auroc": 4, "pixel_auroc": 4, "aupro": 4, "fit_seconds": 1, "ms_per_image": 1,
            "backbone_ms_per_image": 1, "paired_ms_per_image": 1, "peak_rss_mb": 0}


def _fmt(value: Any, column: str) -> str:
    if value is None:
        return "n/a"
    if column in DECIMALS and isinstance(value, (int, float)):
        return f"{value:.{DECIMALS[column]}f}"
    return str(value)


def format_row(row: dict[str, Any]) -> str:
    """One table line, each number with its column's decimals (a "|" in a name or note escaped: it had split the
    Markdown row)."""
    return " | ".join(_fmt(row.get(column), column).replace("|", "\\|") for column in COLUMNS)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + format_row(row) + " |" for row in rows]
    return "\n".join(lines)


def defect_type_table(rows: list[dict[str, Any]]) -> str:
    """Pixel AUROC per defect type (and the type's share of the defect pixels) of the rows that have one."""
    with_pixels = [row for row in rows
                   if any(e.get("pixel_auroc") is not None for e in row.get("per_defect_type", {}).values())]
    if not with_pixels:
        return ""
    lines = ["| dataset | method | pixel_auroc | per defect type: pixel AUROC (share of the defect pixels) |",
             "|---|---|---|---|"]
    for row in with_pixels:
        parts = [f"{name} {_fmt(entry.get('pixel_auroc'), 'pixel_auroc')} "
                 f"({percent(entry.get('defect_pixel_share'), 0)})"
                 for name, entry in row["per_defect_type"].items()]
        lines.append(f"| {row['dataset']} | {row['method']} | {_fmt(row.get('pixel_auroc'), 'pixel_auroc')} | "
                     f"{', '.join(parts)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the table and write ``<out>/bench.json`` and ``bench.md`` (each atomically);
    2 when an option is refused (before anything runs), 1 when a row failed."""
    parser = argparse.ArgumentParser(prog="python -m vqi_core.bench", description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT, help="folder of datasets (default: %(default)s)")
    parser.add_argument("--datasets", nargs="+", help="dataset folder names (default: every category under --data-root)")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                        help="method entries (default: " + " ".join(DEFAULT_METHODS) + ")")
    parser.add_argument("--out", type=Path, default=Path("bench_results"), help="output folder (default: %(default)s)")
    parser.add_argument("--keep-runs", type=Path, help="keep the run folders here (default: a temporary folder)")
    args = parser.parse_args(argv)

    from .datasets import DatasetError, category_path, list_categories
    from .pipeline import RunConfig, model_for
    from .runs import RunError, RunStore

    try:  # everything that can be refused is refused before the first process starts, and nothing is written
        for entry in args.methods:
            name, params = parse_method(entry)
            model_for(RunConfig("", name, params))  # what each row's training would refuse
        if not args.data_root.is_dir():
            raise DatasetError(f"dataset folder {args.data_root} does not exist: give the folder of the datasets "
                               f"with --data-root, or set VQI_SHARED_DATA")  # (benchmark review: no hint)
        names = args.datasets or list_categories(args.data_root)
        datasets = [category_path(args.data_root, name) for name in names]
        for kind, given in (("--datasets", [str(path) for path in datasets]), ("--methods", args.methods)):
            if (twice := next((item for item in given if given.count(item) > 1), None)) is not None:
                raise ValueError(f"{kind} names {Path(twice).name if kind == '--datasets' else twice} twice: its "
                                 f"rows could not be told apart")
        output_folder(args.out)
        if args.keep_runs is not None:
            RunStore(args.keep_runs).check_writable()  # each row's process would refuse it, one after another
    except (ValueError, DatasetError, OSError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(" | ".join(COLUMNS), flush=True)
    stamp, total = time.strftime("%Y-%m-%dT%H:%M:%S"), len(datasets) * len(args.methods)

    def write(rows: list[dict[str, Any]], said: bool = True) -> None:  # after every row: an interrupt keeps them
        by_type = defect_type_table(rows)
        shown = "" if len(rows) == total else f" ({len(rows)} of its {total} rows; interrupted, or still running)"
        write_results(args.out, "bench", f"Benchmark of {stamp}{shown}\n\n{markdown_table(rows)}\n" + (
            f"\nPixel AUROC by defect type\n\n{by_type}\n" if by_type else ""),
                      {"rows": rows, "complete": len(rows) == total}, created=stamp, said=said)

    rows: list[dict[str, Any]] = []
    try:
        # SIGTERM as Ctrl+C: the child process stopped, the temporary folders removed, the rows finished kept (it had
        # left a training running on its own and its runs in the temporary folder: benchmark review)
        with sigterm_as_ctrl_c(), tempfile.TemporaryDirectory() as tmp:
            run_benchmark(datasets, args.methods, str(args.keep_runs or tmp), args.keep_runs is not None, rows,
                          lambda done: write(done, said=False))
    except KeyboardInterrupt:  # Ctrl+C or SIGTERM: one line, not the tracebacks of two processes (review)
        print(f"\ninterrupted: {args.out / 'bench.json'} and bench.md hold the {counted(len(rows), 'row')} "
              f"finished of {total}" if rows else f"\ninterrupted before a row finished: any bench.json and bench.md "
              f"in {args.out} are an earlier benchmark's", file=sys.stderr)
        return 130
    if by_type := defect_type_table(rows):
        print(f"\n{by_type}")
    print()
    write(rows)
    failed = [row for row in rows if str(row.get("note", "")).startswith("failed:")]
    if failed:
        print(f"error: {counted(len(failed), 'row')} of {len(rows)} failed (see their note)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
