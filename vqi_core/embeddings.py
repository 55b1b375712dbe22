"""Patch embeddings and grid-map helpers shared by the methods (PatchCore, PaDiM, SPADE, DFM, CAM)."""

from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .backbones import get_backbone


def backbone_family(backbone: str) -> str:
    """The family a registered backbone's layer names belong to: ``"efficientnet"`` or ``"resnet"``."""
    return get_backbone(backbone).family


def default_layers(backbone: str, table: Mapping[str, tuple[str, ...]]) -> list[str]:
    """A method's default layers for the backbone's family: ``table["efficientnet"]`` or ``table["resnet"]``."""
    return list(table[backbone_family(backbone)])


def finest_grid(features: Sequence[torch.Tensor]) -> tuple[int, int]:
    """The (h, w) of the feature map with the most cells."""
    return max(((int(f.shape[-2]), int(f.shape[-1])) for f in features), key=lambda hw: hw[0] * hw[1])


def resize_grid(feature: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resample an (N, C, h, w) map to ``grid_hw`` (unchanged when it already has that size)."""
    if tuple(feature.shape[-2:]) == tuple(grid_hw):
        return feature
    return F.interpolate(feature, size=tuple(grid_hw), mode="bilinear", align_corners=False)


def concat_embedding(features: Sequence[torch.Tensor]) -> torch.Tensor:
    """Feature maps of several layers concatenated along channels on the finest grid."""
    grid_hw = finest_grid(features)
    return torch.cat([resize_grid(f, grid_hw) for f in features], dim=1)


def blurred_max(grid_maps: np.ndarray, valid: np.ndarray, sigma_cells: float) -> np.ndarray:
    """Image scores: the maximum of each (h, w) map over its valid cells after a Gaussian blur.

    Blurring on the grid with ``sigma_cells`` approximates the maximum of the smoothed
    full-resolution map, as the upsampled map is smoothed with ``sigma_cells * stride`` pixels; the bilinear
    upsampling lowers a sharp peak further, so the full-resolution map's peak can lie below the score (up to
    about 15 % for PaDiM's default 28 x 28 grid and sigma of half a cell).
    """
    scores = np.empty(len(grid_maps), np.float64)
    for i, (grid_map, cells) in enumerate(zip(grid_maps, valid)):
        smooth = np.asarray(grid_map, np.float32)
        if sigma_cells > 0:
            smooth = np.asarray(cv2.GaussianBlur(smooth, (0, 0), sigma_cells, borderType=cv2.BORDER_REFLECT),
                                np.float32)
        scores[i] = float(smooth[cells].max()) if cells.any() else float(smooth.max())
    return scores


def fill_padding(grid_maps: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(B, h, w) maps whose letterbox padding cells (outside each map's rectangle of ``valid`` cells) repeat the
    nearest image edge: no false peak there, and a blur near the edge sees only the image's own values.
    Every method fills its maps this way, so that an image score taken from the blurred grid follows its map."""
    out = np.array(grid_maps, np.float32, copy=True)
    for grid_map, cells in zip(out, valid):
        if cells.any() and not cells.all():
            rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
            inner = grid_map[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
            grid_map[:] = np.pad(inner, ((rows[0], cells.shape[0] - rows[-1] - 1),
                                         (cols[0], cells.shape[1] - cols[-1] - 1)), mode="edge")
    return out
