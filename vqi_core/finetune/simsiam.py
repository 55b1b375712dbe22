"""SimSiam fine-tuning (Chen and He, "Exploring Simple Siamese Representation Learning", CVPR 2021).

Two augmented views of every good image (random crop with a mild scale
change, flips, colour jitter, blur) go through the trainable stages, global
pooling and a projector MLP; a predictor MLP maps one view's projection to
the other's, which is held constant (stop-gradient). The loss is the
symmetrised negative cosine similarity (minimum -1). It adapts the features
to the part's appearance without any notion of "defect".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..preprocessing import resize_image
from ..progress import ProgressCallback
from . import (FinetuneResult, colour_jitter, descend, pooled, prepare_training, random_crop, random_flip,
               state_copy, to_tensor, train_epochs, trunk_and_head_optimizer)

if TYPE_CHECKING:
    from ..methods.base import AnomalyModel


def simsiam_view(image: np.ndarray, crop_size: int, rng: np.random.Generator,
                 scale: tuple[float, float] = (0.8, 1.25)) -> np.ndarray:
    """One augmented ``crop_size`` view: crop of a random side ``crop_size * s`` resized back, flips,
    colour jitter (probability 0.8) and Gaussian blur (probability 0.5)."""
    side = int(round(crop_size * math.exp(rng.uniform(math.log(scale[0]), math.log(scale[1])))))
    view = random_crop(image, side, rng)
    view = resize_image(random_flip(view, rng), min(crop_size, image.shape[0]), min(crop_size, image.shape[1]))
    if rng.random() < 0.8:
        view = colour_jitter(view, rng, 0.4, 0.4, 0.2)
    if rng.random() < 0.5:
        view = cv2.GaussianBlur(view, (0, 0), float(rng.uniform(0.1, 1.5)))
    return view


def projector(width: int, dim: int) -> nn.Module:
    """SimSiam's projection MLP (two layers here; BN on the output without affine parameters)."""
    return nn.Sequential(nn.Linear(width, dim, bias=False), nn.BatchNorm1d(dim), nn.ReLU(),
                         nn.Linear(dim, dim, bias=False), nn.BatchNorm1d(dim, affine=False))


def predictor(dim: int, hidden: int) -> nn.Module:
    """SimSiam's bottleneck prediction MLP."""
    return nn.Sequential(nn.Linear(dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, dim))


def simsiam_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Symmetrised negative cosine similarity with stop-gradient on the projections."""
    return -(F.cosine_similarity(p1, z2.detach(), dim=1).mean() + F.cosine_similarity(p2, z1.detach(), dim=1).mean()) / 2


def train_simsiam(images: Sequence[np.ndarray], model: "AnomalyModel", progress: ProgressCallback | None = None, *,
                  epochs: int = 3, batch_size: int = 16, crop_size: int = 128, train_stages: int = 1,
                  lr: float = 1e-3, head_lr: float = 1e-2, weight_decay: float = 1e-4, dim: int = 256,
                  hidden: int = 64, seed: int | None = None) -> FinetuneResult:
    """Fine-tune ``model``'s backbone with SimSiam on good ``images`` (RGB uint8, at least two).

    ``batch_size`` images per step, two ``crop_size`` views each; ``train_stages``
    stages up to the deepest of ``model.layers`` are trained with AdamW (``lr``;
    projector and predictor ``head_lr``), warm-up and cosine decay; ``seed``
    defaults to ``model.seed``.
    """
    if len(images) < 2:
        raise ValueError("SimSiam needs at least two good images (its MLPs normalise over the batch)")
    seed = model.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    network, trunk, inputs = prepare_training(images, model, train_stages)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        project = projector(sum(model.layer_channels()), dim)
        predict = predictor(dim, hidden)
        heads = nn.ModuleList([project, predict])
        optimizer = trunk_and_head_optimizer(trunk, heads, lr, head_lr, weight_decay)
        trunk.train()
        heads.train()

        def step(indices: np.ndarray) -> float:
            views = [[simsiam_view(inputs[i], crop_size, rng) for i in indices] for _ in range(2)]
            x = to_tensor(views[0] + views[1], model.preprocessing)
            z = project(pooled(trunk(x)))
            z1, z2 = z.chunk(2)
            p1, p2 = predict(z1), predict(z2)
            return descend(optimizer, simsiam_loss(p1, p2, z1, z2))

        epoch_losses = train_epochs(step, len(inputs), batch_size, epochs, rng, optimizer,
                                    "fine-tuning (SimSiam)", progress)
    network.eval()
    return FinetuneResult(state_copy(network), epoch_losses, list(trunk.trained_names))
