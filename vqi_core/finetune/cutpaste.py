"""CutPaste fine-tuning (Li et al., "CutPaste: Self-Supervised Learning for Anomaly Detection
and Localization", CVPR 2021).

Every good crop is shown three times: as it is (class 0), with a rectangle cut
from one place and pasted at another after a colour jitter ("CutPaste", class
1), and with a thin rotated strip pasted the same way ("CutPaste-scar", class
2). The trainable stages and a small MLP head on the pooled features of the
method's layers learn to tell the three apart, which makes the features
sensitive to small local irregularities of this kind of part.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..progress import ProgressCallback
from . import (FinetuneResult, colour_jitter, descend, pooled, prepare_training, random_crop, random_flip,
               state_copy, to_tensor, train_epochs, trunk_and_head_optimizer)

if TYPE_CHECKING:
    from ..methods.base import AnomalyModel

NORMAL, CUTPASTE, SCAR = 0, 1, 2
#: colour jitter of pasted patches (brightness, contrast, saturation), as in the paper
PATCH_JITTER = (0.1, 0.1, 0.1)


def cutpaste(image: np.ndarray, rng: np.random.Generator, area_ratio: tuple[float, float] = (0.02, 0.15),
             aspect_ratio: tuple[float, float] = (0.3, 3.3)) -> np.ndarray:
    """Paste a jittered rectangle of the image (area ``area_ratio`` of it) at another random place."""
    h, w = image.shape[:2]
    area = rng.uniform(*area_ratio) * h * w
    aspect = math.exp(rng.uniform(math.log(aspect_ratio[0]), math.log(aspect_ratio[1])))
    ph = int(np.clip(round(math.sqrt(area * aspect)), 1, max(1, h - 1)))
    pw = int(np.clip(round(math.sqrt(area / aspect)), 1, max(1, w - 1)))
    sy, sx = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    patch = colour_jitter(image[sy:sy + ph, sx:sx + pw], rng, *PATCH_JITTER)
    ty, tx = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    out = image.copy()
    out[ty:ty + ph, tx:tx + pw] = patch
    return out


def scar(image: np.ndarray, rng: np.random.Generator, width: tuple[int, int] = (2, 16),
         length: tuple[int, int] = (10, 25), max_angle: float = 45.0) -> np.ndarray:
    """Paste a jittered thin strip of the image (``width`` x ``length`` px), rotated, at another place."""
    h, w = image.shape[:2]
    sw = int(min(rng.integers(width[0], width[1] + 1), w))
    sl = int(min(rng.integers(length[0], length[1] + 1), h))
    sy, sx = int(rng.integers(0, h - sl + 1)), int(rng.integers(0, w - sw + 1))
    strip = colour_jitter(image[sy:sy + sl, sx:sx + sw], rng, *PATCH_JITTER)
    side = int(math.ceil(math.hypot(sl, sw))) + 2  # the rotated strip fits in a side x side square
    canvas = np.zeros((side, side, 3), np.uint8)
    inside = np.zeros((side, side), np.uint8)
    oy, ox = (side - sl) // 2, (side - sw) // 2
    canvas[oy:oy + sl, ox:ox + sw] = strip
    inside[oy:oy + sl, ox:ox + sw] = 1
    rotation = cv2.getRotationMatrix2D((side / 2, side / 2), float(rng.uniform(-max_angle, max_angle)), 1.0)
    # nearest neighbour, as the mask: a bilinear strip on a black canvas gave every scar a dark outline (review)
    canvas = np.asarray(cv2.warpAffine(canvas, rotation, (side, side), flags=cv2.INTER_NEAREST), np.uint8)
    inside = cv2.warpAffine(inside, rotation, (side, side), flags=cv2.INTER_NEAREST).astype(bool)
    ph, pw = min(side, h), min(side, w)
    canvas, inside = canvas[:ph, :pw], inside[:ph, :pw]
    ty, tx = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    out = image.copy()
    region = out[ty:ty + ph, tx:tx + pw]
    region[inside] = canvas[inside]
    return out


def cutpaste_triplet(image: np.ndarray, crop_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A random crop of ``image`` as it is, with a CutPaste and with a scar (classes 0, 1, 2)."""
    crop = random_flip(random_crop(image, crop_size, rng), rng)
    return [crop, cutpaste(crop, rng), scar(crop, rng)]


def train_cutpaste(images: Sequence[np.ndarray], model: "AnomalyModel", progress: ProgressCallback | None = None, *,
                   epochs: int = 2, batch_size: int = 8, crop_size: int = 128, train_stages: int = 1,
                   lr: float = 1e-3, head_lr: float = 1e-2, weight_decay: float = 1e-4,
                   seed: int | None = None) -> FinetuneResult:
    """Fine-tune ``model``'s backbone with the 3-way CutPaste task on good ``images`` (RGB uint8).

    ``batch_size`` images per step, each as a normal, a CutPaste and a scar
    crop of ``crop_size`` px from the network input; ``train_stages`` stages up
    to the deepest of ``model.layers`` are trained with AdamW (``lr``; the head
    ``head_lr``), warm-up and cosine decay; ``seed`` defaults to ``model.seed``.
    """
    seed = model.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    network, trunk, inputs = prepare_training(images, model, train_stages)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        width = sum(model.layer_channels())
        head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 128), nn.ReLU(), nn.Linear(128, 3))
        optimizer = trunk_and_head_optimizer(trunk, head, lr, head_lr, weight_decay)
        labels_per_image = torch.tensor([NORMAL, CUTPASTE, SCAR])
        trunk.train()

        def step(indices: np.ndarray) -> float:
            crops = [crop for i in indices for crop in cutpaste_triplet(inputs[i], crop_size, rng)]
            x = to_tensor(crops, model.preprocessing)
            logits = head(pooled(trunk(x)))
            return descend(optimizer, F.cross_entropy(logits, labels_per_image.repeat(len(indices))))

        epoch_losses = train_epochs(step, len(inputs), batch_size, epochs, rng, optimizer,
                                    "fine-tuning (CutPaste)", progress)
    network.eval()
    return FinetuneResult(state_copy(network), epoch_losses, list(trunk.trained_names))
