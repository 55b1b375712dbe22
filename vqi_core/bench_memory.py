"""Training-memory benchmark: a run whose images are too large to hold decoded in memory.

python -m vqi_core.bench_memory [--train 200] [--test 40] [--side 1600] [--method patchcore] [--out bench_results]

Writes a synthetic category of large JPEG photos (a textured part; a dark blob, with its mask, on
each defective test image) and trains the same run twice, each in a process of its own: once
holding every decoded image in memory, once holding none (--image-memory-mb 0: each image
is decoded from its file whenever a pass needs it). Reports each run's peak resident memory
(the process's maximum RSS, as recorded in metrics.json), fit and wall seconds, and its image
AUROC and scores, which must be the same. Writes <out>/memory.json and <out>/memory.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from .bench import output_folder, whole_number_at_least, write_results
from .methods import list_methods, method_class
from .runs import CONFIG_FILE, METRICS_FILE, SCORES_FILE
from .system import sigterm_as_ctrl_c

#: the two runs: name, ``--image-memory-mb``
SETTINGS = (("all images in memory", 1_000_000.0), ("decoded from the files", 0.0))


def part_photo(side: int, rng: np.random.Generator) -> np.ndarray:
    """A grey textured part, RGB uint8 ``side`` x ``side``: smooth shading plus fine grain."""
    shading = cv2.resize(rng.normal(0, 1, (8, 8)).astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (side, side)).astype(np.float32), (0, 0), 1.5)
    grey = np.clip(128 + 12 * shading + 40 * grain, 0, 255)
    return np.repeat(grey[..., None], 3, axis=2).astype(np.uint8)


def write_category(root: Path, n_train: int, n_test: int, side: int, seed: int = 0) -> Path:
    """``train/good``, ``test/good``, ``test/blob`` and ``ground_truth/blob`` (half the test images defective)."""
    rng = np.random.default_rng(seed)
    for folder in ("train/good", "test/good", "test/blob", "ground_truth/blob"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i in range(n_train):
        Image.fromarray(part_photo(side, rng)).save(root / "train" / "good" / f"{i:04d}.jpg", quality=90)
    for i in range(n_test):
        photo = part_photo(side, rng)
        if i % 2 == 0:
            Image.fromarray(photo).save(root / "test" / "good" / f"{i:04d}.jpg", quality=90)
            continue
        mask = np.zeros((side, side), np.uint8)
        centre = tuple(int(v) for v in rng.integers(side // 5, 4 * side // 5, 2))
        axes = tuple(int(v) for v in rng.integers(side // 40, side // 15, 2))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        photo[mask > 0] = (photo[mask > 0] * 0.45).astype(np.uint8)
        Image.fromarray(photo).save(root / "test" / "blob" / f"{i:04d}.jpg", quality=90)
        Image.fromarray(mask).save(root / "ground_truth" / "blob" / f"{i:04d}_mask.png")
    return root


def train_in_a_process(data: Path, runs: Path, method: str, memory_mb: float) -> dict:
    """``python -m vqi_core train`` in a new process; its metrics, scores, wall seconds and the image memory its
    run recorded."""
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-m", "vqi_core", "train", "--data", str(data), "--method", method,
                               "--runs", str(runs), "--image-memory-mb", str(memory_mb)],
                              capture_output=True, text=True)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"training failed (exit code {finished.returncode}): {finished.stderr.strip()[-2000:]}")
    run = Path(finished.stdout.strip().splitlines()[-1])
    metrics = json.loads((run / METRICS_FILE).read_text())
    scores = pd.read_csv(run / SCORES_FILE)["score"].to_numpy()
    recorded = json.loads((run / CONFIG_FILE).read_text())["request"]["image_memory_mb"]
    return {"metrics": metrics, "scores": scores, "wall_seconds": wall, "image_memory_mb": recorded}


def _megabytes(value: float | None) -> str:
    """A peak memory for the table: whole MiB, or n/a where the system does not report it."""
    return "n/a" if value is None else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table and write ``<out>/memory.json`` and ``<out>/memory.md``."""
    parser = argparse.ArgumentParser(prog="python -m vqi_core.bench_memory", description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=whole_number_at_least(2), default=200,
                        help="good training images, at least 2 (default: %(default)s)")
    parser.add_argument("--test", type=whole_number_at_least(2), default=40,
                        help="test images, half of them defective, at least 2 (default: %(default)s)")
    parser.add_argument("--side", type=whole_number_at_least(32), default=1600,
                        help="image side in pixels, at least 32 (default: %(default)s)")
    parser.add_argument("--method", default="patchcore",
                        choices=[m for m in list_methods() if not method_class(m).supervised],
                        help="method to train (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("bench_results"), help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        output_folder(args.out)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    decoded_mb = {"train": args.train * args.side ** 2 * 3 / 2 ** 20, "test": args.test * args.side ** 2 * 3 / 2 ** 20}
    rows = []
    try:  # Ctrl+C or SIGTERM: the training stops (subprocess.run kills it) and the temporary images go (review)
        with sigterm_as_ctrl_c(), tempfile.TemporaryDirectory() as folder:
            data = write_category(Path(folder) / "large_parts", args.train, args.test, args.side)
            results = {}
            for name, memory_mb in SETTINGS:
                results[name] = train_in_a_process(data, Path(folder) / "runs", args.method, memory_mb)
                metrics = results[name]["metrics"]
                rows.append({"setting": name, "image_memory_mb": results[name]["image_memory_mb"],  # as the run did
                             "peak_rss_mb": metrics["peak_rss_mb"], "fit_seconds": metrics["fit_seconds"],
                             "wall_seconds": round(results[name]["wall_seconds"], 1),
                             "ms_per_image": metrics["ms_per_image"], "image_auroc": metrics["image_auroc"],
                             "pixel_auroc": metrics["pixel_auroc"]})
    except KeyboardInterrupt:
        print(f"interrupted: nothing written to {args.out}", file=sys.stderr)
        return 130
    first, second = (results[name]["scores"] for name, _ in SETTINGS)
    same_scores = bool(np.array_equal(first, second))

    title = (f"{args.method}, {args.train} training and {args.test} test images of {args.side}x{args.side} px "
             f"(decoded: {decoded_mb['train']:.0f} MiB training, {decoded_mb['test']:.0f} MiB test)")
    header = "| setting | peak RSS MB | fit s | wall s | ms/image | image AUROC | pixel AUROC |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['setting']} | {_megabytes(r['peak_rss_mb'])} | {r['fit_seconds']:.1f} | {r['wall_seconds']:.1f} | "
              f"{r['ms_per_image']:.1f} | {r['image_auroc']:.4f} | {r['pixel_auroc']:.4f} |" for r in rows]
    verdict = "identical scores" if same_scores else "THE SCORES DIFFER"
    print(title)
    print("\n".join(lines))
    print(verdict)
    write_results(args.out, "memory", f"{title}\n\n" + "\n".join(lines) + f"\n\n{verdict}\n",
                  {"method": args.method, "train_images": args.train, "test_images": args.test, "side": args.side,
                   "decoded_mb": decoded_mb, "rows": rows, "same_scores": same_scores})
    return 0 if same_scores else 1


if __name__ == "__main__":
    raise SystemExit(main())
