"""SPADE: Semantic Pyramid Anomaly Detection (Cohen and Hoshen, "Sub-Image Anomaly Detection
with Deep Pyramid Correspondences", 2020).

Every training image is kept: a global feature (a deep layer average-pooled to a small grid) and its feature
pyramid (the maps of ``layers``). A test image's ``k`` nearest training images by global feature
give the image score (mean distance to them) and the gallery for the pixel map: each test patch's
distance to its nearest patch of the same pyramid level among those ``k`` images, per level,
resampled to the finest grid and averaged over levels.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..backbones import DEFAULT_BACKBONE
from ..embeddings import backbone_family, default_layers, fill_padding, finest_grid, resize_grid
from ..preprocessing import Geometry
from ..progress import ProgressCallback, report
from .base import AnomalyModel, DamagedModel, saved_array

DEFAULT_LAYERS = {"efficientnet": ("blocks.2", "blocks.3", "blocks.4"), "resnet": ("layer1", "layer2", "layer3")}
DEFAULT_GLOBAL_LAYER = {"efficientnet": "blocks.4", "resnet": "layer3"}
#: the finest grid the global feature is pooled to (as DFM's pooled size)
MAX_GLOBAL_GRID = 16
#: the most patch-to-patch distances computed at once (float32: 256 MB)
DISTANCE_BLOCK = 64 * 2 ** 20


class Spade(AnomalyModel):
    """SPADE with ``k`` nearest training images; global feature: ``global_layer`` pooled to a ``global_grid``-cell side.

    ``global_grid=1`` is the paper's global average pooling; a 4 x 4 grid keeps where things are,
    which separated defects clearly better with EfficientNet-Lite0 (bottle, magnetic tile).
    """

    name = "spade"
    later_limits = {"global_grid": MAX_GLOBAL_GRID}
    parameter_help = {
        "k": "Nearest training images, by global feature, that the image score averages over and the pixel "
             "search looks in.",
        "global_grid": "Grid the global feature is pooled to (g x g).",
    }

    def __init__(self, *, k: int = 3, global_layer: str | None = None, global_grid: int = 4,
                 layers: Sequence[str] | None = None, backbone: str = DEFAULT_BACKBONE, **common: Any):
        super().__init__(backbone=backbone, layers=layers or default_layers(backbone, DEFAULT_LAYERS), **common)
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        if not 1 <= global_grid <= MAX_GLOBAL_GRID:  # 0 pools to nothing: every image would score 0; 1000 took
            raise ValueError(f"global_grid must be from 1 to {MAX_GLOBAL_GRID} (a finer grid than the feature "  # 36 s
                             f"map's cells repeats them), not {global_grid}")  # for 8 images of 64 px (review)
        self.k = int(k)
        self.global_layer = global_layer or DEFAULT_GLOBAL_LAYER[backbone_family(backbone)]
        self.global_grid = int(global_grid)
        self.global_bank: torch.Tensor | None = None  # (N, G) global features of the training images
        self.pyramid_bank: list[torch.Tensor] = []  # per level (N, C, h, w), float16

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as JSON-ready values, this method's included."""
        return {**super().get_params(), "k": self.k, "global_layer": self.global_layer,
                "global_grid": self.global_grid}

    def extraction_layers(self) -> list[str]:
        """The pyramid layers followed by the global layer (when it is not one of them)."""
        return self.layers + ([] if self.global_layer in self.layers else [self.global_layer])

    def _features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Pyramid maps (one per layer) and global features (B, G) of a preprocessed batch."""
        maps = self.extractor(x)
        global_map = maps[self.extraction_layers().index(self.global_layer)]
        return maps[:len(self.layers)], F.adaptive_avg_pool2d(global_map, self.global_grid).flatten(1)

    def _fit_features(self, images: Sequence[np.ndarray], progress: ProgressCallback | None) -> None:
        stage = "feature extraction"
        report(progress, stage, 0, len(images))
        pyramids: list[list[torch.Tensor]] = [[] for _ in self.layers]
        globals_: list[torch.Tensor] = []
        for start, x, _ in self.batches(images):
            pyramid, global_features = self._features(x)
            for store, level in zip(pyramids, pyramid):
                store.append(level.half())
            globals_.append(global_features)
            report(progress, stage, min(start + len(x), len(images)), len(images))
        self.pyramid_bank = [torch.cat(store) for store in pyramids]
        self.global_bank = torch.cat(globals_)

    def _score_batch(self, x: torch.Tensor, geometries: list[Geometry]) -> tuple[np.ndarray, np.ndarray]:
        if self.global_bank is None or not self.pyramid_bank:
            raise RuntimeError("the model is not fitted")
        pyramid, global_features = self._features(x)
        if any(level.shape[-2:] != bank.shape[-2:] for level, bank in zip(pyramid, self.pyramid_bank)):
            raise DamagedModel("the spade model's saved feature maps are not of the size of its features: its saved "
                               "state is damaged")
        k = min(self.k, len(self.global_bank))
        # computed directly, not as a matrix product: its rounding would depend on how many images share the batch
        distances, neighbours = torch.cdist(global_features, self.global_bank,
                                            compute_mode="donot_use_mm_for_euclid_dist").topk(k, dim=1, largest=False)
        scores = distances.mean(1).numpy()
        grid_hw = finest_grid(pyramid)
        level_maps = [resize_grid(self._nearest_patch_distances(level, bank, neighbours), grid_hw)
                      for level, bank in zip(pyramid, self.pyramid_bank)]
        grid_maps = torch.stack(level_maps).mean(0)[:, 0].numpy()
        valid = self.valid_grid(geometries, grid_hw)
        return scores, fill_padding(grid_maps, valid)

    @staticmethod
    def _nearest_patch_distances(level: torch.Tensor, bank: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
        """(B, 1, h, w): each patch's distance to its nearest patch among its neighbours' patches of this level.

        The distances are computed for as many patches at a time as keep the distance block under
        :data:`DISTANCE_BLOCK` entries (the whole grid at once up to about 512 px inputs): the full block
        grows with the fourth power of the input size, 3 GB for one 1024 px image."""
        batch, channels, height, width = level.shape
        out = torch.empty(batch, 1, height, width)
        for i in range(batch):
            query = level[i].flatten(1).T  # (h*w, C)
            gallery = bank[neighbours[i]].float().permute(0, 2, 3, 1).reshape(-1, channels)
            rows = max(1, DISTANCE_BLOCK // len(gallery))
            nearest = [torch.cdist(query[start:start + rows], gallery).min(1).values
                       for start in range(0, len(query), rows)]
            out[i, 0] = torch.cat(nearest).reshape(height, width)
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        if self.global_bank is None:
            raise RuntimeError("the model is not fitted")
        arrays = {"global_bank": self.global_bank.numpy()}
        arrays.update({f"pyramid_{i}": level.numpy() for i, level in enumerate(self.pyramid_bank)})
        return arrays

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        global_features = self.layer_channels([self.global_layer])[0] * self.global_grid ** 2
        global_bank = saved_array(arrays, "global_bank", (None, global_features))
        if len(global_bank) == 0:
            raise DamagedModel("arrays.npz is damaged: global_bank holds no training image")
        self.global_bank = torch.from_numpy(global_bank.astype(np.float32))
        self.pyramid_bank = [
            torch.from_numpy(saved_array(arrays, f"pyramid_{i}", (len(global_bank), channels, None, None)))
            for i, channels in enumerate(self.layer_channels())]
