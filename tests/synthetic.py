"""Small synthetic inspection data: textured "good" parts, drawn defects with known masks.

Shared by the tests. Everything is seeded, so the same call gives the same pixels.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from vqi_core.bench import DEFAULT_DATA_ROOT
from vqi_core.images import read_image
from vqi_core.provenance import file_sha256
from vqi_core.methods.base import CONTENT_DIGEST_KEY, content_sha256
from vqi_core.metrics import defect_type_metrics, image_auroc
from vqi_core.runs import label_values, read_scores_file, scores_digest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = DEFAULT_DATA_ROOT  # the real datasets: $VQI_SHARED_DATA, else ../shared/data beside the project


def textured_image(size: int | tuple[int, int] = 64, seed: int = 0) -> np.ndarray:
    """A good part: smooth grey-blue gradient with a regular stripe texture and mild noise (RGB uint8)."""
    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi)
    base = 120 + 25 * np.sin(xx / 3.0 + phase) + 10 * (yy / h)
    noise = rng.normal(0, 3, (h, w))
    gray = np.clip(base + noise, 0, 255)
    image = np.stack([gray * 0.9, gray, gray * 1.05], axis=2)
    return np.clip(image, 0, 255).astype(np.uint8)


def random_part(seed: int, size: int = 64) -> np.ndarray:
    """A part of its own: a smooth random pattern (two parts correlate about as much as two random images)."""
    rng = np.random.default_rng(seed)
    pattern = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 4)
    grey = np.clip(128 + 60 * pattern / pattern.std(), 0, 255)
    return np.repeat(grey[:, :, None], 3, axis=2).astype(np.uint8)


def another_photo(image: np.ndarray, seed: int) -> np.ndarray:
    """The same part under other light: darker, flatter, with sensor noise (never a copy)."""
    rng = np.random.default_rng(seed)
    return np.clip(0.7 * image + 30 + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)


def draw_defect(image: np.ndarray, seed: int = 0, kind: str = "blob") -> tuple[np.ndarray, np.ndarray]:
    """Draw a defect (``blob`` or ``scratch``) at a seeded position; returns the image and its bool mask."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    out = image.copy()
    mask = np.zeros((h, w), np.uint8)
    cy, cx = int(rng.integers(h // 4, 3 * h // 4)), int(rng.integers(w // 4, 3 * w // 4))
    if kind == "blob":
        radius = max(3, min(h, w) // 8)
        cv2.circle(mask, (cx, cy), radius, 1, -1)
        color = (230, 60, 40)
    elif kind == "scratch":
        length = min(h, w) // 3
        angle = rng.uniform(0, np.pi)
        dx, dy = int(length * np.cos(angle) / 2), int(length * np.sin(angle) / 2)
        cv2.line(mask, (cx - dx, cy - dy), (cx + dx, cy + dy), 1, max(2, min(h, w) // 24))
        color = (20, 20, 20)
    else:
        raise ValueError(f"unknown defect kind {kind!r}")
    out[mask.astype(bool)] = color
    return out, mask.astype(bool)


def write_png(path: Path, array: np.ndarray) -> Path:
    """Write an RGB (or single-channel) uint8 array as PNG, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(path), array)
    return path


def write_mvtec_dataset(root: Path, n_train: int = 12, n_test_good: int = 4, n_per_defect: int = 4,
                        size: int | tuple[int, int] = 64, with_masks: bool = True,
                        defect_kinds: tuple[str, ...] = ("blob", "scratch")) -> Path:
    """Write a category in MVTec AD layout under ``root`` and return ``root``."""
    for i in range(n_train):
        write_png(root / "train" / "good" / f"{i:03d}.png", textured_image(size, seed=i))
    for i in range(n_test_good):
        write_png(root / "test" / "good" / f"{i:03d}.png", textured_image(size, seed=1000 + i))
    for kind in defect_kinds:
        for i in range(n_per_defect):
            image, mask = draw_defect(textured_image(size, seed=2000 + i), seed=i, kind=kind)
            write_png(root / "test" / kind / f"{i:03d}.png", image)
            if with_masks:
                write_png(root / "ground_truth" / kind / f"{i:03d}_mask.png", mask.astype(np.uint8) * 255)
    return root


def write_twelve_bit_category(root: Path) -> Path:
    """A 12-bit camera's category: 16-bit grayscale files with values near 1500 of 4095 (a texture of +-300,
    noise 20) and defects 100 brighter: 6 grey levels read as 12 bits, 0.4 of one read as 16 bits."""
    def part(seed: int, spot: bool = False) -> np.ndarray:
        rng = np.random.default_rng(seed)
        xx = np.mgrid[0:64, 0:64][1].astype(np.float32)
        image = 1500 + 300 * np.sin(xx / 3 + rng.uniform(0, 2 * np.pi)) + rng.normal(0, 20, (64, 64))
        if spot:
            mask = np.zeros((64, 64), np.uint8)
            cv2.circle(mask, (int(rng.integers(16, 48)), int(rng.integers(16, 48))), 8, 1, -1)
            image[mask > 0] += 100
        return np.clip(image, 0, 4095).astype(np.uint16)

    for folder, seeds, spot in (("train/good", range(16), False), ("test/good", range(100, 106), False),
                                ("test/spot", range(200, 206), True)):
        (root / folder).mkdir(parents=True)
        for seed in seeds:
            cv2.imwrite(str(root / folder / f"{seed:03d}.png"), part(seed, spot))
    return root


def real_subset(name: str, n_train: int, n_test_per_type: int) -> tuple[list[Path], list[tuple[Path, int]]]:
    """Seeded small subset of a ``../shared/data`` dataset: train paths and (test path, label) pairs."""
    root = SHARED_DATA / name
    rng = np.random.default_rng(0)
    train = sorted((root / "train" / "good").iterdir())
    train = [train[i] for i in sorted(rng.choice(len(train), min(n_train, len(train)), replace=False))]
    test: list[tuple[Path, int]] = []
    for type_dir in sorted(p for p in (root / "test").iterdir() if p.is_dir()):
        files = sorted(type_dir.iterdir())
        picked = sorted(rng.choice(len(files), min(n_test_per_type, len(files)), replace=False))
        test.extend((files[i], int(type_dir.name != "good")) for i in picked)
    return train, test


def defect_split(size: int = 96, n_train: int = 16, n_good: int = 4, n_defect: int = 4) -> dict[str, list]:
    """In-memory split: ``train`` and ``good`` textures, ``bad`` images (blob/scratch defects) and their ``masks``."""
    defects = [draw_defect(textured_image(size, seed=2000 + i), seed=i, kind=("blob", "scratch")[i % 2])
               for i in range(n_defect)]
    return {"train": [textured_image(size, seed=i) for i in range(n_train)],
            "good": [textured_image(size, seed=1000 + i) for i in range(n_good)],
            "bad": [image for image, _ in defects], "masks": [mask for _, mask in defects]}


#: small, fast settings per unsupervised method for the synthetic tests (input side = the data's side)
SMALL_METHODS: dict[str, dict] = {
    "padim": {"image_size": (96, 96), "jit": False, "batch_size": 8, "n_features": 64},
    "spade": {"image_size": (96, 96), "jit": False, "batch_size": 8},
    "dfm": {"image_size": (128, 128), "jit": False, "batch_size": 8},
    "patchcore": {"image_size": (96, 96), "jit": False, "batch_size": 8, "coreset_fraction": 0.1, "top_k": 3},
}


def read_real_subset(name: str, n_train: int,
                     n_test_per_type: int) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """:func:`real_subset` read into memory: train images, test images and their labels."""
    train, test = real_subset(name, n_train, n_test_per_type)
    return [read_image(p) for p in train], [read_image(p) for p, _ in test], [label for _, label in test]


def record_dataset_as(run_folder: Path, dataset: Path | str) -> None:
    """Make a saved run say it was trained on ``dataset``: ``config.json``'s folder and the test images' and masks'
    paths in ``scores.csv`` (a run checks that its files lie in its category folder), as if trained there."""
    config = json.loads((run_folder / "config.json").read_text())
    scores = pd.read_csv(run_folder / "scores.csv", dtype=str, keep_default_na=False)
    for column in ("path", "mask_path"):
        scores[column] = scores[column].str.replace(config["dataset"], str(dataset), n=1, regex=False)
    scores.to_csv(run_folder / "scores.csv", index=False)
    (run_folder / "config.json").write_text(json.dumps({**config, "dataset": str(dataset)}))


def as_written_before_digests(run_folder: Path) -> None:
    """Make a run read as one trained before runs recorded the SHA-256 of their threshold and box level records
    (2026-12-07): its ``config.json`` without the source revision recorded since then, ``threshold.json`` without
    its digest; a test that builds an older run's case by hand then writes those records as it likes."""
    config = json.loads((run_folder / "config.json").read_text())
    versions = {name: value for name, value in config.get("versions", {}).items() if name != "vqi_core source"}
    (run_folder / "config.json").write_text(json.dumps({**config, "versions": versions}))
    threshold = json.loads((run_folder / "threshold.json").read_text())
    threshold.pop(CONTENT_DIGEST_KEY, None)
    (run_folder / "threshold.json").write_text(json.dumps(threshold))


def reseal(run_folder: Path) -> None:
    """Record a run's ``model/model.json`` (its content's SHA-256 in it too), its ``maps.npz`` (where the run
    records their SHA-256) and the images, labels and scores of its ``scores.csv`` as the ones it wrote
    (``config.json``'s SHA-256 of them), the content of its ``threshold.json`` (the SHA-256 it records), and the image
    AUROC its scores give in ``metrics.json`` (each defect type's too), for a test that makes a case by editing them:
    a run written that way. A check refuses a run whose files differ from the digests it recorded, or whose image
    AUROC is not its scores'."""
    threshold_json = run_folder / "threshold.json"
    threshold = json.loads(threshold_json.read_text())
    threshold_json.write_text(json.dumps({**threshold, CONTENT_DIGEST_KEY: content_sha256(threshold)}))
    config = json.loads((run_folder / "config.json").read_text())
    scores = read_scores_file(run_folder / "scores.csv")
    model_json = run_folder / "model" / "model.json"
    meta = json.loads(model_json.read_text())
    model_json.write_text(json.dumps({**meta, CONTENT_DIGEST_KEY: content_sha256(meta)}, indent=2))
    config["model_sha256"] = file_sha256(run_folder / "model" / "model.json")
    config["scores_sha256"] = scores_digest(scores)
    if "maps_sha256" in config:
        config["maps_sha256"] = file_sha256(run_folder / "maps.npz")
    (run_folder / "config.json").write_text(json.dumps(config))
    metrics = json.loads((run_folder / "metrics.json").read_text())
    if metrics.get("image_auroc") is not None:
        labels, values = label_values(scores), scores["score"].to_numpy(dtype=float)
        metrics["image_auroc"] = image_auroc(labels, values)
        given = defect_type_metrics(scores["defect_type"].astype(str).tolist(), labels, values)
        for name, entry in (metrics.get("per_defect_type") or {}).items():
            entry["image_auroc"] = given.get(name, {}).get("image_auroc")  # none left of the type: none
        (run_folder / "metrics.json").write_text(json.dumps(metrics))


#: EXIF blocks Pillow cannot parse, and warns of: an orientation entry cut short ("Corrupt EXIF data"), a Make
#: entry whose text lies past the end of the block ("Tag data larger than file. Skipping tag 271")
DAMAGED_EXIF = (b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\xff\xff\xff\xff",
                b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x0f\x00\x02\x00\x00\x00\x64\x00\x00\x10\x00"
                b"\x00\x00\x00\x00")


def png_bytes(image: Image.Image, **options) -> bytes:
    """``image`` encoded as PNG (``options``: Pillow's, e.g. ``transparency=3`` for a palette image)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def jpeg_with_damaged_exif(exif: bytes) -> bytes:
    """An 8 x 12 JPEG, bright on its left half, carrying ``exif``."""
    pixels = np.zeros((8, 12, 3), np.uint8)
    pixels[:, :6] = 200
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()
