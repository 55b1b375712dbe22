"""PatchCore (Roth et al., "Towards Total Recall in Industrial Anomaly Detection", CVPR 2022).

Fit: locally aware patch features of the good images (each backbone layer
averaged over a ``patch_size`` neighbourhood, deeper layers upsampled onto the
finest grid, concatenated) go into a memory bank, subsampled to a greedy
k-center coreset (:mod:`vqi_core.samplers`). Predict: each patch's anomaly
score is its distance to the nearest bank feature (:mod:`vqi_core.knn`); the
image score is the mean of the ``top_k`` highest patch scores (``top_k=1``:
the paper's maximum), optionally reweighted by the density of the bank around
the matched features (the paper's eq. 7). With ``smooth_score`` the patch
scores are first blurred on the grid with the anomaly map's own Gaussian, so
the image score is close to the peak of the heatmap the user sees (0.8 % above
it at most on the demo bottles: the heatmap is upsampled bilinearly before its
blur), and a single noisy patch weighs less than a defect spanning a few. Letterbox padding cells are
neither stored nor scored.
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..backbones import DEFAULT_BACKBONE
from ..embeddings import concat_embedding, default_layers, fill_padding
from ..knn import KNN_KINDS, KNN_PARAMETERS, NearestNeighbors, exact_search
from ..preprocessing import Geometry
from ..progress import ProgressCallback, report
from ..samplers import CORESET_OVERSAMPLE, CORESET_PROJECTION_DIM, greedy_coreset
from .base import ARRAYS_FILE, AnomalyModel, DamagedModel, saved_array


#: default layers per backbone family (EfficientNet-Lite: strides 8 and 16, the second after 5 more blocks)
DEFAULT_LAYERS = {"efficientnet": ("blocks.2", "blocks.4"), "resnet": ("layer2", "layer3")}
#: the widest neighbourhood a patch feature averages, in feature cells (the map is 32 x 48 cells at the default size)
MAX_PATCH_SIZE = 15


class PatchCore(AnomalyModel):
    """Nearest-neighbour distance of locally aware patch features to a coreset of good patches.

    Defaults were tuned on ``magnetic_tile`` (see ``docs/benchmarks.md``): one pixel scale for every
    image at about 256 x 384 input pixels, each image's grey levels standardised (its tiles are
    photographed under six lighting set-ups), a 5% coreset chosen on a 32-dimensional projection, an
    IVF index, and the image score taken from the smoothed map.
    """

    name = "patchcore"
    later_limits = {"patch_size": MAX_PATCH_SIZE}
    parameter_help = {
        "coreset_fraction": "Share of the training patch features kept in the memory bank (greedy coreset): more "
                            "covers good parts more finely, with more memory and slower scoring.",
        "coreset_projection_dim": "Dimensions of the random projection the coreset is chosen in (at least 1; as many "
                                  "as the features have or more: the features themselves): fewer is faster and "
                                  "coarser.",
        "coreset_oversample": "How many times its share of the bank each training image keeps before the final "
                              "coreset selection (two stages): more is slower and closer to one greedy pass.",
        "patch_size": "Neighbourhood, in feature cells, that each patch feature averages (locally aware features).",
        "top_k": "Image score = mean of the k highest patch scores (of the smoothed map with smooth_score; 1: the "
                 "maximum; more than a map's patches: all of them).",
        "reweight_neighbors": "0 or 1: off; above: the paper's density reweighting of the image score over this "
                              "many bank neighbours (more than the bank holds: all of it).",
        "smooth_score": "Take the image score from the smoothed map (a single odd patch raises it less).",
        "knn": "Nearest-neighbour search over the bank: ivf (inverted lists, fast; the default), flat (exact) or "
               "hnsw (a graph; a run using it cannot be exported as an archive).",
    }
    parameter_choices = {"knn": KNN_KINDS}

    def __init__(self, *, coreset_fraction: float = 0.05, coreset_projection_dim: int = CORESET_PROJECTION_DIM,
                 coreset_oversample: float = CORESET_OVERSAMPLE, patch_size: int = 3, top_k: int = 1,
                 reweight_neighbors: int = 0, smooth_score: bool = True, knn: str = "ivf",
                 knn_params: dict[str, Any] | None = None, backbone: str = DEFAULT_BACKBONE,
                 layers: Sequence[str] | None = None, image_size: tuple[int, int] | list[int] = (256, 384),
                 resize: str = "fixed_scale", intensity: str = "standardise", smoothing_sigma: float = 8.0,
                 **common: Any):
        super().__init__(backbone=backbone, layers=layers or default_layers(backbone, DEFAULT_LAYERS),
                         image_size=image_size, resize=resize, intensity=intensity,
                         smoothing_sigma=smoothing_sigma, **common)
        if not 0 < coreset_fraction <= 1:
            raise ValueError(f"coreset_fraction must be above 0 and at most 1, not {coreset_fraction}")
        if not (1 <= patch_size <= MAX_PATCH_SIZE and patch_size % 2):  # 1001 averaged every map to one value
            raise ValueError(f"patch_size must be an odd number from 1 to {MAX_PATCH_SIZE} (feature cells a patch "
                             f"averages), not {patch_size}")
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}")
        for name, value in (("coreset_projection_dim", coreset_projection_dim),
                            ("coreset_oversample", coreset_oversample)):
            if value < 1:  # each named alone: a valid oversample had been named beside a bad dimension (review)
                raise ValueError(f"{name} must be at least 1, not {value}")
        if reweight_neighbors < 0:
            raise ValueError(f"reweight_neighbors must not be negative, not {reweight_neighbors}")
        if knn not in KNN_KINDS:
            raise ValueError(f"knn must be one of {KNN_KINDS}, not {knn!r}")
        self.coreset_fraction = float(coreset_fraction)
        self.coreset_projection_dim = int(coreset_projection_dim)
        self.coreset_oversample = float(coreset_oversample)
        self.patch_size = int(patch_size)
        self.top_k = int(top_k)
        self.reweight_neighbors = int(reweight_neighbors)
        self.smooth_score = smooth_score
        self.knn = knn
        self.knn_params = dict(knn_params or {})
        unknown = sorted(set(self.knn_params) - set(KNN_PARAMETERS))
        if unknown:
            raise ValueError(f"knn_params has no {', '.join(map(repr, unknown))}: its keys are "
                             f"{', '.join(KNN_PARAMETERS)} (the seed is the model's own)")
        self.memory_bank: np.ndarray | None = None
        self.index = NearestNeighbors(knn, seed=self.seed, **self.knn_params)

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as JSON-ready values, this method's included."""
        return {**super().get_params(), "coreset_fraction": self.coreset_fraction,
                "coreset_projection_dim": self.coreset_projection_dim,
                "coreset_oversample": self.coreset_oversample, "patch_size": self.patch_size,
                "top_k": self.top_k, "reweight_neighbors": self.reweight_neighbors,
                "smooth_score": self.smooth_score, "knn": self.knn,
                "knn_params": dict(self.knn_params)}

    # ------------------------------------------------------------------ features
    def embed(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Locally aware patch features (B, h, w, D) on the finest grid of the per-layer maps (B, C, h', w')."""
        if self.patch_size > 1:  # each cell's neighbourhood averaged (stride 1: the grids keep their sizes)
            features = [F.avg_pool2d(feature, self.patch_size, stride=1, padding=self.patch_size // 2,
                                     count_include_pad=False) for feature in features]
        return concat_embedding(features).permute(0, 2, 3, 1).contiguous()

    def _embed_batch(self, x: torch.Tensor, geometries: list[Geometry]) -> tuple[torch.Tensor, torch.Tensor]:
        embeddings = self.embed(self.extractor(x))
        valid = self.valid_grid(geometries, tuple(embeddings.shape[1:3]))
        return embeddings, torch.from_numpy(valid)

    # ------------------------------------------------------------------ fit
    def _fit_features(self, images: Sequence[np.ndarray], progress: ProgressCallback | None) -> None:
        rows: list[torch.Tensor] = []
        counts: list[int] = []
        stage = "feature extraction"
        report(progress, stage, 0, len(images))
        for start, x, geometries in self.batches(images):
            embeddings, valid = self._embed_batch(x, geometries)
            rows.append(embeddings[valid])
            counts.extend(int(n) for n in valid.sum(dim=(1, 2)))
            report(progress, stage, min(start + len(x), len(images)), len(images))
        self.fit_embeddings(torch.cat(rows), counts, progress)

    def fit_embeddings(self, patches: torch.Tensor, patches_per_image: list[int],
                       progress: ProgressCallback | None = None) -> None:
        """Build the memory bank and its index from (N, D) good patch features, grouped by image."""
        n_select = max(1, round(self.coreset_fraction * len(patches)))
        chosen = greedy_coreset(patches, n_select, projection_dim=self.coreset_projection_dim, seed=self.seed,
                                group_sizes=patches_per_image, oversample=self.coreset_oversample,
                                progress=progress)
        self.memory_bank = patches[torch.from_numpy(chosen)].numpy()
        report(progress, "nearest-neighbour index", 0, 1)
        self.index = NearestNeighbors(self.knn, seed=self.seed, **self.knn_params).fit(self.memory_bank)
        report(progress, "nearest-neighbour index", 1, 1)

    # ------------------------------------------------------------------ predict
    def _score_batch(self, x: torch.Tensor, geometries: list[Geometry]) -> tuple[np.ndarray, np.ndarray]:
        embeddings, valid = self._embed_batch(x, geometries)
        return self.score_embeddings(embeddings, valid)

    def score_embeddings(self, embeddings: torch.Tensor, valid: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Image scores (B,) and patch score maps (B, h, w) of patch features (B, h, w, D); ``valid`` (B, h, w)."""
        if self.memory_bank is None:
            raise RuntimeError("the model is not fitted")
        batch, height, width, _ = embeddings.shape
        all_valid = bool(valid.all())
        queries = (embeddings.reshape(batch * height * width, -1) if all_valid else embeddings[valid]).numpy()
        distances, nearest = self.index.search(queries, 1)
        if (nearest < 0).any():  # faiss's "none found": distances of 1.8e19 (NaN in the bank, a damaged index)
            raise DamagedModel("the patchcore model gives NaN or infinite scores: its nearest-neighbour index finds "
                               "no neighbour for some patches (its fitted state is damaged)")
        counts = valid.reshape(batch, -1).sum(dim=1).tolist()
        scores = np.empty(batch, np.float64)
        valid_cells = valid.numpy()
        maps = np.zeros((batch, height, width), np.float32)
        maps[valid_cells] = distances[:, 0]
        maps = fill_padding(maps, valid_cells)
        sigma_cells = self.smoothing_sigma * height / self.preprocessing.network_hw[0]
        offset = 0
        for i, count in enumerate(counts):
            patch_scores = distances[offset:offset + count, 0]
            cells = valid_cells[i]
            if self.smooth_score and sigma_cells > 0:
                smoothed = cv2.GaussianBlur(maps[i], (0, 0), sigma_cells, borderType=cv2.BORDER_REFLECT)
                patch_scores = smoothed[cells]
            scores[i] = self._image_score(patch_scores, queries[offset:offset + count],
                                          nearest[offset:offset + count, 0])
            offset += count
        return scores, maps

    def _image_score(self, patch_scores: np.ndarray, queries: np.ndarray, nearest: np.ndarray) -> float:
        k = min(self.top_k, len(patch_scores))
        top = np.argpartition(patch_scores, len(patch_scores) - k)[-k:]
        top_scores = patch_scores[top].astype(np.float64)
        if self.reweight_neighbors > 1:
            top_scores *= self._density_weights(queries[top], nearest[top])
        return float(top_scores.mean())

    def _density_weights(self, queries: np.ndarray, nearest: np.ndarray) -> np.ndarray:
        """The paper's eq. 7: 1 - softmax of a patch's distances to the neighbourhood of its nearest bank feature
        (found exactly: an IVF index misses neighbours outside the cells it probes)."""
        bank = self.memory_bank
        assert bank is not None  # predict() checked that the model is fitted
        _, support = exact_search(bank[nearest], bank, self.reweight_neighbors)
        distances = np.linalg.norm(queries[:, None, :] - bank[support], axis=-1).astype(np.float64)
        exponentials = np.exp(distances - distances.max(axis=1, keepdims=True))  # at most 1: no overflow (engine
        return 1.0 - exponentials[:, 0] / exponentials.sum(axis=1)  # review: features x 1000 overflowed to NaN)

    # ------------------------------------------------------------------ persistence
    def _arrays(self) -> dict[str, np.ndarray]:
        if self.memory_bank is None:
            raise RuntimeError("the model is not fitted")
        return {"memory_bank": self.memory_bank, **self.index.to_arrays()}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        dimension = sum(self.layer_channels())
        memory_bank = saved_array(arrays, "memory_bank", (None, dimension))
        if len(memory_bank) == 0:
            raise DamagedModel(f"{ARRAYS_FILE} is damaged: memory_bank holds no patch")
        self.memory_bank = np.ascontiguousarray(memory_bank, dtype=np.float32)
        self.index = NearestNeighbors(self.knn, seed=self.seed, **self.knn_params)
        if "knn_index" in arrays:  # faiss's own format (HNSW, IVF saved before): bytes, as it always was checked
            saved_array(arrays, "knn_index", (None,), "u")
        try:
            self.index.load_arrays(self.memory_bank, arrays)
        except KeyError as exc:
            raise DamagedModel(f"{ARRAYS_FILE} is damaged: it lacks {exc.args[0]}") from None
        except ValueError as exc:
            raise DamagedModel(f"{ARRAYS_FILE} is damaged: {exc}") from None
        except RuntimeError as exc:  # faiss cannot read the HNSW graph
            raise DamagedModel(f"{ARRAYS_FILE} is damaged: knn_index is not a faiss index ({exc})") from None
