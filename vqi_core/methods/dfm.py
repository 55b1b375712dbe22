"""DFM: Deep Feature Modeling (Ahuja et al., "Probabilistic Modeling of Deep Features for
Out-of-Distribution and Adversarial Detection", 2019), as in Intel's visual quality inspection
reference kit.

A backbone layer is average-pooled to a small grid and flattened; PCA keeps ``variance`` of the
training variance. The image score is the feature reconstruction error (``fre``: squared
distance to the PCA subspace) or the Gaussian negative log-likelihood in the PCA space
(``nll``). The anomaly map comes from a second PCA fitted on the per-position feature vectors of
the (unpooled) layer: each position's reconstruction error.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..backbones import DEFAULT_BACKBONE
from ..embeddings import concat_embedding, default_layers, fill_padding
from ..preprocessing import Geometry
from ..progress import ProgressCallback, report
from ..wording import counted
from .base import AnomalyModel, saved_array

try:  # Intel's accelerated PCA when scikit-learn-intelex is installed (no global patching)
    from sklearnex.decomposition import PCA
except ImportError:  # pragma: no cover - depends on the installation
    from sklearn.decomposition import PCA

# scikit-learn-intelex's PCA calls a deprecated scikit-learn helper, and says it uses every thread when called from
# any thread but the main one (the dashboard trains in one): filtered once for the process, by module and message
# (warnings.catch_warnings around each fit would change every thread's filters while a training thread fits)
warnings.filterwarnings("ignore", category=FutureWarning, message=".*stable_cumsum.*", module=r"sklearn\.")
warnings.filterwarnings("ignore", category=UserWarning, message="'Threading' parallel backend is not supported",
                        module=r"daal4py\.")

SCORE_TYPES = ("fre", "nll")
DEFAULT_LAYERS = {"efficientnet": ("blocks.4",), "resnet": ("layer3",)}
#: the finest grid the image features are pooled to: the deep layer's map is about 8 x 8 cells at 256 px
MAX_POOLED_SIZE = 16


def _pca_of_few_samples(samples: np.ndarray, variance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, components and explained variance of ``samples`` (n, D) with n < D, from the eigenvectors of
    their n x n Gram matrix, keeping the fraction ``variance`` of the variance as scikit-learn does.

    The D x D covariance (``covariance_eigh``) took minutes and gigabytes for D in the ten thousands (a
    ResNet layer or a large ``pooled_size``), and oneDAL's SVD returned wrong components there."""
    mean = samples.mean(0)
    centred = samples - mean
    eigenvalues, vectors = np.linalg.eigh(centred @ centred.T)
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
    eigenvalues = eigenvalues[eigenvalues > 1e-10 * eigenvalues[0]]  # the centred samples span n - 1 at most
    explained = eigenvalues / (len(samples) - 1)
    cumulative = np.cumsum(explained) / explained.sum()
    keep = min(int(np.searchsorted(cumulative, variance, side="right")) + 1, len(explained))
    components = (vectors[:, :keep].T @ centred) / np.sqrt(eigenvalues[:keep])[:, None]
    return mean, components, explained[:keep]


class PCASubspace:
    """A fitted PCA as plain arrays: mean (D,), components (k, D), explained variance (k,)."""

    def __init__(self, mean: np.ndarray, components: np.ndarray, variance: np.ndarray):
        self.mean = torch.from_numpy(np.asarray(mean, np.float32))
        self.components = torch.from_numpy(np.asarray(components, np.float32))
        self.variance = torch.from_numpy(np.asarray(variance, np.float32))

    @classmethod
    def fit(cls, samples: np.ndarray, variance: float, seed: int) -> "PCASubspace":
        """PCA of ``samples`` (n, D) keeping the fraction ``variance`` of the variance (no component where the
        samples do not vary: fewer than 2, or alike up to float rounding)."""
        samples = np.asarray(samples, np.float64)
        alike = len(samples) < 2 or samples.var(0).sum() <= 1e-12 * np.square(samples).mean(0).sum()
        if alike:  # oneDAL fails on identical rows ("Unknown status code"); rounding noise is no subspace
            return cls(samples.mean(0), np.zeros((0, samples.shape[1])), np.zeros(0))
        if len(samples) < samples.shape[1]:
            return cls(*_pca_of_few_samples(samples, variance))
        pca = PCA(n_components=variance, svd_solver="covariance_eigh", random_state=seed).fit(samples)
        return cls(pca.mean_, pca.components_, pca.explained_variance_)

    def project(self, samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Coordinates in the subspace (n, k) and the residual of the reconstruction (n, D)."""
        centred = samples - self.mean
        coordinates = centred @ self.components.T
        return coordinates, centred - coordinates @ self.components

    def reconstruction_error(self, samples: torch.Tensor) -> torch.Tensor:
        """Squared distance of each sample to the subspace (n,)."""
        return self.project(samples)[1].square().sum(-1)

    def negative_log_likelihood(self, samples: torch.Tensor) -> torch.Tensor:
        """Gaussian NLL (up to constants) of each sample's coordinates in the subspace (n,)."""
        coordinates, _ = self.project(samples)
        variance = self.variance.clamp_min(1e-12)
        return (coordinates.square() / variance).sum(-1) + variance.log().sum()

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The state as named arrays."""
        return {f"{prefix}_mean": self.mean.numpy(), f"{prefix}_components": self.components.numpy(),
                f"{prefix}_variance": self.variance.numpy()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, dimension: int) -> "PCASubspace":
        """Inverse of :meth:`arrays`, checked to be a PCA of ``dimension``-long samples
        (:class:`~vqi_core.methods.base.DamagedModel` otherwise)."""
        components = saved_array(arrays, f"{prefix}_components", (None, dimension))
        return cls(saved_array(arrays, f"{prefix}_mean", (dimension,)), components,
                   saved_array(arrays, f"{prefix}_variance", (len(components),)))


class DFM(AnomalyModel):
    """DFM: PCA of pooled deep features; ``fre`` or ``nll`` image score; per-position PCA map."""

    name = "dfm"
    later_limits = {"pooled_size": MAX_POOLED_SIZE}
    parameter_help = {
        "pooled_size": "Grid the features are average-pooled to for the image-level PCA (s x s).",
        "variance": "Share of the training features' variance the PCA keeps.",
        "score_type": "Image score: fre, the feature reconstruction error; nll, the Gaussian negative "
                      "log-likelihood in the PCA subspace.",
        "max_patches": "At most this many training patch features (a seeded sample) for the PCA of the map.",
    }
    parameter_choices = {"score_type": SCORE_TYPES}

    def __init__(self, *, pooled_size: int = 4, variance: float = 0.99, score_type: str = "fre",
                 max_patches: int = 200_000, layers: Sequence[str] | None = None,
                 backbone: str = DEFAULT_BACKBONE, **common: Any):
        super().__init__(backbone=backbone, layers=layers or default_layers(backbone, DEFAULT_LAYERS), **common)
        if score_type not in SCORE_TYPES:
            raise ValueError(f"score_type must be one of {SCORE_TYPES}, not {score_type!r}")
        if pooled_size < 1 or max_patches < 1:
            raise ValueError(f"pooled_size and max_patches must be at least 1, not {pooled_size} and {max_patches}")
        if pooled_size > MAX_POOLED_SIZE:  # 1000 asked for 21 GB to fit 8 images of 64 px (bad-input review)
            raise ValueError(f"pooled_size must be at most {MAX_POOLED_SIZE} (a finer grid than the feature map's "
                             f"cells repeats them and multiplies the PCA's size by its square), not {pooled_size}")
        if not 0 < variance < 1:
            raise ValueError(f"variance must be a fraction between 0 and 1, not {variance}")
        self.pooled_size = int(pooled_size)
        self.variance = float(variance)
        self.score_type = score_type
        self.max_patches = int(max_patches)
        self.image_pca: PCASubspace | None = None  # on pooled, flattened features
        self.patch_pca: PCASubspace | None = None  # on per-position feature vectors

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as JSON-ready values, this method's included."""
        return {**super().get_params(), "pooled_size": self.pooled_size, "variance": self.variance,
                "score_type": self.score_type, "max_patches": self.max_patches}

    def _pooled(self, embedding: torch.Tensor) -> torch.Tensor:
        """(B, C * s * s) image features: the embedding average-pooled to an s x s grid."""
        return F.adaptive_avg_pool2d(embedding, self.pooled_size).flatten(1)

    def _fit_features(self, images: Sequence[np.ndarray], progress: ProgressCallback | None) -> None:
        embedding = concat_embedding(self.extract(images, progress))
        report(progress, "PCA", 0, 2)
        self.image_pca = PCASubspace.fit(self._pooled(embedding).numpy(), self.variance, self.seed)
        if self.score_type == "nll" and not len(self.image_pca.variance):  # every image would score the same
            raise ValueError(f"score_type='nll' needs training images that differ: the features of the "
                             f"{counted(len(images), 'training image')} do not vary, so every image would score "
                             f"the same; add training images, or use score_type='fre'")
        report(progress, "PCA", 1, 2)
        patches = embedding.permute(0, 2, 3, 1).reshape(-1, embedding.shape[1]).numpy()
        if len(patches) > self.max_patches:
            rng = np.random.default_rng(self.seed)
            patches = patches[np.sort(rng.choice(len(patches), size=self.max_patches, replace=False))]
        self.patch_pca = PCASubspace.fit(patches, self.variance, self.seed)
        report(progress, "PCA", 2, 2)

    def _score_batch(self, x: torch.Tensor, geometries: list[Geometry]) -> tuple[np.ndarray, np.ndarray]:
        if self.image_pca is None or self.patch_pca is None:
            raise RuntimeError("the model is not fitted")
        embedding = concat_embedding(self.extractor(x))
        pooled = self._pooled(embedding)
        if self.score_type == "fre":
            scores = self.image_pca.reconstruction_error(pooled)
        else:
            scores = self.image_pca.negative_log_likelihood(pooled)
        batch, channels, height, width = embedding.shape
        patches = embedding.permute(0, 2, 3, 1).reshape(-1, channels)
        grid_maps = self.patch_pca.reconstruction_error(patches).reshape(batch, height, width).numpy()
        valid = self.valid_grid(geometries, (height, width))
        return scores.numpy(), fill_padding(grid_maps, valid)

    def _arrays(self) -> dict[str, np.ndarray]:
        if self.image_pca is None or self.patch_pca is None:
            raise RuntimeError("the model is not fitted")
        return {**self.image_pca.arrays("image"), **self.patch_pca.arrays("patch")}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        channels = sum(self.layer_channels())
        self.image_pca = PCASubspace.from_arrays(arrays, "image", channels * self.pooled_size ** 2)
        self.patch_pca = PCASubspace.from_arrays(arrays, "patch", channels)
