"""Dashboard benchmark: server-side time from a threshold slider change to the redrawn threshold panel.

``python -m ui.bench_dashboard [--images 1000] [--repeats 40] [--out bench_results]``

A synthetic test set (seeded scores, 30 % defective in five defect types) is evaluated at random
thresholds. Four figures are reported, median and 95th percentile in ms:

- ``metrics at a threshold``: confusion matrix and rates from the
  precomputed sorted scores (:class:`vqi_core.metrics.ThresholdEvaluator`);
- ``threshold_view``: operating point, numbers, the per-defect-type table and
  both plotly figures (:func:`vqi_core.dashboard.threshold.threshold_view`), the work
  of the Threshold page's fragment;
- ``+ serialise``: the same plus turning the figures into the JSON that
  ``st.plotly_chart`` sends (``plotly.io.to_json``), i.e. the fragment's
  server-side cost without Streamlit's own bookkeeping;
- ``AppTest page rerun``: the real Threshold page in Streamlit's AppTest
  after ``slider.set_value``: AppTest reruns the whole app (sidebar, page,
  both tabs), so this is an upper bound for the fragment-only rerun a browser
  triggers. It starts once the synthetic run's files are older than
  :data:`vqi_core.runs.RACY_SECONDS`: until then every rerun reads the whole run
  again (a run written a moment ago may still be changing), which is not what
  a slider move on a run the engineer opened costs.

The target is 150 ms per slider move. Writes ``<out>/dashboard.json`` and ``<out>/dashboard.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable
from unittest import mock

import numpy as np
import pandas as pd
import plotly.io

from vqi_core.bench import output_folder, whole_number_at_least, write_results
from vqi_core.dashboard.threshold import prepare_threshold_data, threshold_view
from vqi_core.methods.base import ARRAYS_FILE, MODEL_JSON, NORMALIZATION_KEYS
from vqi_core.metrics import ThresholdEvaluator
from vqi_core.preprocessing import Preprocessing
from vqi_core.runs import (CONFIG_FILE, MAPS_FILE, METRICS_FILE, MODEL_DIR, RACY_SECONDS, REPORT_FILE, SCORES_FILE,
                           THRESHOLD_FILE, record_csv, save_maps, write_json_atomic)
from vqi_core.wording import counted

TARGET_MS = 150.0
REPO_ROOT = Path(__file__).resolve().parents[1]


def synthetic_test_set(n_images: int, defective_share: float = 0.3,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels (0/1), overlapping anomaly scores (good ~ N(1, 0.3), defective ~ N(2, 0.6)) and defect types
    (``good``, or one of five types in turn)."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n_images) < defective_share).astype(int)
    scores = np.where(labels == 1, rng.normal(2.0, 0.6, n_images), rng.normal(1.0, 0.3, n_images))
    types = [f"type{i % 5}" if label else "good" for i, label in enumerate(labels)]
    return labels, scores, types


def timed(function: Callable[[float], object], thresholds: np.ndarray) -> list[float]:
    """Milliseconds of ``function(t)`` for each threshold, after one warm-up call."""
    function(float(thresholds[0]))
    times = []
    for threshold in thresholds:
        started = time.perf_counter()
        function(float(threshold))
        times.append(1000 * (time.perf_counter() - started))
    return times


def write_synthetic_run(root: Path, labels: np.ndarray, scores: np.ndarray, types: list[str]) -> str:
    """A run folder holding what the Threshold page reads, with a placeholder model and maps (no masks) that pass
    :meth:`vqi_core.runs.Run.check`; returns its id."""
    run_id = "00000000-000000-synthetic-bench"
    folder = root / run_id
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"image": [f"{kind}/img{i:05d}.png" for i, kind in enumerate(types)], "path": "",
                          "label": np.where(labels == 1, "defective", "good"), "defect_type": types,
                          "mask_path": "", "score": scores})
    (folder / SCORES_FILE).write_bytes(record_csv(frame))
    save_maps(folder / MAPS_FILE, [np.zeros((1, 1), np.float32)] * len(labels))
    (folder / MODEL_DIR).mkdir()
    write_json_atomic(folder / MODEL_DIR / MODEL_JSON, {"method": "synthetic", "params": {},
                                                         "preprocessing": Preprocessing().to_dict(),
                                                         "normalization": dict.fromkeys(NORMALIZATION_KEYS, 1.0)})
    np.savez_compressed(folder / MODEL_DIR / ARRAYS_FILE)
    write_json_atomic(folder / THRESHOLD_FILE, {"threshold": float(np.median(scores)), "source": "benchmark"})
    write_json_atomic(folder / REPORT_FILE, {"skipped": [], "notes": []})
    write_json_atomic(folder / CONFIG_FILE, {"run_id": run_id, "method": "synthetic", "params": {},
                                             "category": "synthetic", "has_masks": False})
    write_json_atomic(folder / METRICS_FILE, {"seen_defects": False})
    return run_id


def apptest_rerun_ms(labels: np.ndarray, scores: np.ndarray, types: list[str],
                     thresholds: np.ndarray) -> list[float]:
    """Milliseconds per slider move on the real Threshold page in AppTest (whole-app rerun)."""
    from streamlit.testing.v1 import AppTest

    # AppTest's own constructor writes session state outside a script run, which Streamlit logs as a warning
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, {"VQI_RUNS_DIR": folder}):
        run_id = write_synthetic_run(Path(folder), labels, scores, types)
        time.sleep(RACY_SECONDS + 0.1)  # the files settle: a passed full read of them is then remembered
        app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
        app.session_state["current_run_id"] = run_id
        app.run()
        app.switch_page("ui/pages/threshold.py").run()
        if app.exception or app.error:
            raise RuntimeError(f"the Threshold page failed: {[e.value for e in [*app.exception, *app.error]]}")

        def move(threshold: float) -> None:
            app.slider(key="threshold_slider").set_value(threshold).run()

        return timed(move, thresholds)


def summary(times: list[float]) -> dict[str, float]:
    """Median, 95th percentile and maximum in ms."""
    return {"median_ms": round(statistics.median(times), 4), "p95_ms": round(float(np.percentile(times, 95)), 4),
            "max_ms": round(max(times), 4)}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table and write ``<out>/dashboard.json`` and ``dashboard.md`` (atomically)."""
    parser = argparse.ArgumentParser(
        prog="python -m ui.bench_dashboard",
        description="Dashboard benchmark: server-side time from a threshold slider move to the redrawn threshold "
                    "panel, on a seeded synthetic test set, median and 95th percentile in ms: the metrics at a "
                    "threshold; the Threshold page fragment's work (threshold_view); the same with the figures "
                    "serialised as st.plotly_chart sends them; and the real page rerun in Streamlit's AppTest (an "
                    "upper bound: it reruns the whole app). The target is 150 ms per slider move. Writes "
                    "<out>/dashboard.json and <out>/dashboard.md.")
    parser.add_argument("--images", type=whole_number_at_least(10), default=1000,
                        help="test images, at least 10 (default: %(default)s)")
    parser.add_argument("--repeats", type=whole_number_at_least(1), default=40,
                        help="slider moves per measurement (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("bench_results"), help="output folder (default: %(default)s)")
    parser.add_argument("--skip-apptest", action="store_true", help="only the function-level measurements")
    args = parser.parse_args(argv)
    try:
        output_folder(args.out)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    labels, scores, types = synthetic_test_set(args.images)
    thresholds = np.random.default_rng(1).uniform(scores.min(), scores.max(), args.repeats)
    evaluator = ThresholdEvaluator(labels, scores)
    data = prepare_threshold_data(labels, scores, defect_types=types)

    def view(threshold: float) -> dict:
        return threshold_view(evaluator, threshold, data)

    def view_and_serialise(threshold: float) -> None:
        result = view(threshold)
        for key in ("roc", "histogram"):
            plotly.io.to_json(result[key], validate=False)

    rows = {"metrics at a threshold": summary(timed(evaluator.evaluate, thresholds)),
            "threshold_view": summary(timed(view, thresholds)),
            "+ serialise": summary(timed(view_and_serialise, thresholds))}
    if not args.skip_apptest:
        rows["AppTest page rerun"] = summary(apptest_rerun_ms(labels, scores, types, thresholds))

    title = (f"Threshold panel, {args.images} test images, {counted(args.repeats, 'slider move')} "
             f"(target <= {TARGET_MS:.0f} ms)")
    lines = ["| measurement | median ms | p95 ms | max ms |", "|---|---|---|---|"]
    lines += [f"| {name} | {row['median_ms']:.3f} | {row['p95_ms']:.3f} | {row['max_ms']:.3f} |"
              for name, row in rows.items()]
    print(title)
    print("\n".join(lines))
    write_results(args.out, "dashboard", f"{title}\n\n" + "\n".join(lines) + "\n",
                  {"images": args.images, "repeats": args.repeats, "target_ms": TARGET_MS, "measurements": rows,
                   "within_target": all(row["p95_ms"] <= TARGET_MS for row in rows.values())})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
