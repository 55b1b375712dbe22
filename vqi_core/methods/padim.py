"""PaDiM: a Gaussian per feature-grid position (Defard et al., "PaDiM: a Patch Distribution
Modeling Framework for Anomaly Detection and Localization", ICPR 2021).

Features of several backbone levels are concatenated on the finest grid, a seeded random
subset of the channels is kept, and every grid position gets its own mean and covariance
(+ ``epsilon * I``) over the training images. The anomaly map is the Mahalanobis distance of
each test patch to its position's Gaussian; the image score is the grid map's maximum after a Gaussian blur on
the grid of the returned maps' width (the returned maps are also upsampled bilinearly first, which lowers a
peak of a cell or two further: their peak can lie up to about 15 % below the score, engine review).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from ..backbones import DEFAULT_BACKBONE, get_backbone
from ..embeddings import blurred_max, concat_embedding, default_layers, fill_padding
from ..preprocessing import Geometry
from ..progress import ProgressCallback, report
from .base import ARRAYS_FILE, AnomalyModel, DamagedModel, saved_array

#: default layers per backbone family: three levels (EfficientNet-Lite strides 8, 16, 32)
DEFAULT_LAYERS = {"efficientnet": ("blocks.2", "blocks.4", "blocks.5"), "resnet": ("layer1", "layer2", "layer3")}
#: the largest regulariser of the covariances: far above any feature variance, the distance is a scaled Euclidean
#: one; beyond, float32 scores underflow (at 1e300 every image scored 0)
MAX_EPSILON = 1e6


class Padim(AnomalyModel):
    """PaDiM with a random channel subset of ``n_features`` and covariance regulariser ``epsilon``.

    Defaults (224 px input, 28 x 28 grid, 150 channels) keep the model near 70 MB (float32 inverse covariances).
    """

    name = "padim"
    later_limits = {"epsilon": MAX_EPSILON}
    parameter_help = {
        "n_features": "Feature channels kept (a seeded random subset): each position's Gaussian is n x n.",
        "epsilon": "Added to each covariance's diagonal so that it can be inverted.",
    }

    def __init__(self, *, n_features: int = 150, epsilon: float = 0.01, layers: Sequence[str] | None = None,
                 backbone: str = DEFAULT_BACKBONE, image_size: tuple[int, int] | list[int] = (224, 224),
                 **common: Any):
        super().__init__(backbone=backbone, layers=layers or default_layers(backbone, DEFAULT_LAYERS),
                         image_size=image_size, **common)
        if n_features < 1:
            raise ValueError(f"n_features must be at least 1, not {n_features}")
        layer_channels = get_backbone(backbone).layers
        if all(layer in layer_channels for layer in self.layers):  # an unknown layer is said when features are taken
            total = sum(layer_channels[layer][0] for layer in self.layers)
            if n_features > total:
                raise ValueError(f"n_features is {n_features} but the layers {', '.join(self.layers)} of {backbone} "
                                 f"have {total} channels: choose at most {total}")
        if not (math.isfinite(epsilon) and 0 < epsilon <= MAX_EPSILON):  # 1e300 scored every image 0 (review)
            raise ValueError(f"epsilon (the covariance's regulariser) must be a positive number up to {MAX_EPSILON:g}, "
                             f"not {epsilon}")
        self.n_features = int(n_features)
        self.epsilon = float(epsilon)
        self.channel_index: torch.Tensor | None = None  # (d,) kept channels of the concatenated embedding
        self.mean: torch.Tensor | None = None  # (P, d) per-position mean
        self.inv_covariance: torch.Tensor | None = None  # (P, d, d) per-position inverse covariance

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as JSON-ready values, this method's included."""
        return {**super().get_params(), "n_features": self.n_features, "epsilon": self.epsilon}

    def _select_channels(self, total: int) -> torch.Tensor:
        if self.n_features >= total:
            return torch.arange(total)
        rng = np.random.default_rng(self.seed)
        return torch.from_numpy(np.sort(rng.choice(total, size=self.n_features, replace=False)))

    def _embed(self, features: list[torch.Tensor]) -> torch.Tensor:
        """(B, d, h, w) embedding: concatenated layers, kept channels only."""
        embedding = concat_embedding(features)
        if self.channel_index is None:
            self.channel_index = self._select_channels(embedding.shape[1])
        return embedding[:, self.channel_index]

    def _fit_features(self, images: Sequence[np.ndarray], progress: ProgressCallback | None) -> None:
        self.channel_index = None
        stage, count = "feature extraction", 0
        report(progress, stage, 0, len(images))
        total: torch.Tensor | None = None  # (P, d) sum of the patches at each position
        outer: torch.Tensor | None = None  # (P, d, d) sum of their outer products
        for start, x, _ in self.batches(images):
            embedding = self._embed(self.extractor(x))
            patches = embedding.flatten(2).permute(2, 0, 1).double().contiguous()  # (P, B, d)
            if total is None or outer is None:
                total = torch.zeros(patches.shape[0], patches.shape[2], dtype=torch.float64)
                outer = torch.zeros(patches.shape[0], patches.shape[2], patches.shape[2], dtype=torch.float64)
            total += patches.sum(1)
            outer += patches.transpose(1, 2) @ patches
            count += len(x)
            report(progress, stage, min(start + len(x), len(images)), len(images))
        assert total is not None and outer is not None  # fit() refuses an empty training set
        report(progress, "covariance", 0, 1)
        mean = total / count
        covariance = (outer - count * mean[:, :, None] * mean[:, None, :]) / max(count - 1, 1)
        covariance += self.epsilon * torch.eye(covariance.shape[-1], dtype=torch.float64)
        # numpy's batched inverse: torch 2.14.1's multi-threaded batched inverse hangs (MKL SLASWP error)
        inverse = np.linalg.inv(covariance.numpy())
        self.mean = mean.float()
        self.inv_covariance = torch.from_numpy(inverse.astype(np.float32))
        report(progress, "covariance", 1, 1)

    def _score_batch(self, x: torch.Tensor, geometries: list[Geometry]) -> tuple[np.ndarray, np.ndarray]:
        if self.mean is None or self.inv_covariance is None:
            raise RuntimeError("the model is not fitted")
        embedding = self._embed(self.extractor(x))
        batch, _, height, width = embedding.shape
        if height * width != len(self.mean):  # a saved model of another input size, or a damaged one
            raise DamagedModel(f"the padim model holds statistics of {len(self.mean)} positions, but its features "
                               f"have {height} x {width}: its saved state is damaged")
        delta = (embedding.flatten(2).permute(2, 0, 1) - self.mean[:, None, :]).contiguous()  # (P, B, d)
        squared = ((delta @ self.inv_covariance) * delta).sum(-1).clamp_min(0)
        valid = self.valid_grid(geometries, (height, width))
        grid_maps = fill_padding(squared.sqrt().T.reshape(batch, height, width).numpy(), valid)
        return blurred_max(grid_maps, valid, self.smoothing_sigma * height / x.shape[-2]), grid_maps

    def _arrays(self) -> dict[str, np.ndarray]:
        if self.mean is None or self.inv_covariance is None or self.channel_index is None:
            raise RuntimeError("the model is not fitted")
        return {"channel_index": self.channel_index.numpy(), "mean": self.mean.numpy(),
                "inv_covariance": self.inv_covariance.numpy()}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        total = sum(self.layer_channels())
        kept = min(self.n_features, total)
        channel_index = saved_array(arrays, "channel_index", (kept,), "i")
        if channel_index.min() < 0 or channel_index.max() >= total or len(np.unique(channel_index)) != kept:
            raise DamagedModel(f"{ARRAYS_FILE} is damaged: channel_index does not pick {kept} different channels of "
                               f"the {total}")
        mean = saved_array(arrays, "mean", (None, kept))
        inv_covariance = saved_array(arrays, "inv_covariance", (len(mean), kept, kept))
        self.channel_index = torch.from_numpy(channel_index.astype(np.int64))
        self.mean = torch.from_numpy(mean.astype(np.float32))
        self.inv_covariance = torch.from_numpy(inv_covariance.astype(np.float32))
