"""Rebuild the bundled demo data in assets/demo from ../shared/data (seeded subset selection).

Run from the repository root: ``python assets/make_demo_data.py``. The files are
copied unmodified; see assets/demo/ATTRIBUTION.md for sources and licences.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data"
TARGET = ROOT / "assets" / "demo"
# category -> (source dataset, train images, test good images, images per defect type)
SUBSETS = {"bottle": ("mvtec_bottle_256", 60, 14, 7), "magnetic_tile": ("magnetic_tile", 100, 20, 6)}


def copy_subset(name: str, source: str, n_train: int, n_good: int, n_per_defect: int) -> None:
    rng = random.Random(0)
    src, dst = SOURCE / source, TARGET / name
    for split, folder, count in [("train", "good", n_train), ("test", "good", n_good)]:
        files = sorted((src / split / folder).iterdir())
        for path in sorted(rng.sample(files, count)):
            (dst / split / folder).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dst / split / folder / path.name)
    for defect_dir in sorted(p for p in (src / "test").iterdir() if p.is_dir() and p.name != "good"):
        files = sorted(defect_dir.iterdir())
        for path in sorted(rng.sample(files, min(n_per_defect, len(files)))):
            (dst / "test" / defect_dir.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dst / "test" / defect_dir.name / path.name)
            mask = src / "ground_truth" / defect_dir.name / f"{path.stem}_mask.png"
            if mask.is_file():
                (dst / "ground_truth" / defect_dir.name).mkdir(parents=True, exist_ok=True)
                shutil.copy2(mask, dst / "ground_truth" / defect_dir.name / mask.name)


if __name__ == "__main__":
    for category, spec in SUBSETS.items():
        shutil.rmtree(TARGET / category, ignore_errors=True)
        copy_subset(category, *spec)
