"""The interface every inspection method implements, and the parts they share.

A method is fitted on defect-free RGB uint8 images (``np.ndarray`` of shape
(H, W, 3), any size) and predicts an image score (higher = more anomalous)
and an anomaly map per image. Subclasses implement three hooks:

- ``_fit_features(train_images, progress)``: learn "good" (most call
  :meth:`extract` to get backbone features of the training images);
- ``_score_batch(x, geometries)``: scores (B,) and maps on any grid (B, h, w)
  for one preprocessed batch;
- ``_arrays()`` / ``_load_arrays(arrays)``: the fitted state as named arrays.

The base class does the inspection region (:mod:`vqi_core.region`),
preprocessing, batching, seeding, a held-out slice of the good images for
normalisation statistics, map upsampling and smoothing back onto the image,
and saving/loading as JSON + ``.npz`` (``allow_pickle=False``)
so that a saved model never unpickles code.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
import os
import pickle
import secrets
import shutil
import signal
import threading
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

import cv2
import numpy as np
import torch

from ..backbones import DEFAULT_BACKBONE, BackboneSpec, get_backbone, load_state_dict_file
from ..features import FeatureExtractor
from ..finetune import check_finetune
from ..images import ImageFiles, check_bit_depth, image_shapes, image_subset
from ..preprocessing import Geometry, Preprocessing, eval_size, map_to_image, visible_area
from ..progress import ProgressCallback, check_seed, report
from ..provenance import file_sha256
from ..region import REGION_FILE, InspectionRegion
from ..system import home_expanded, interrupts_held
from ..wording import counted

MODEL_JSON = "model.json"
ARRAYS_FILE = "arrays.npz"
BACKBONE_FILE = "backbone.pt"
#: the files a saved model folder may hold
MODEL_FILES = (MODEL_JSON, ARRAYS_FILE, BACKBONE_FILE, REGION_FILE)
#: good training images needed before some are held out to calibrate the maps (with fewer, the training images
#: themselves calibrate them)
MIN_GOOD_FOR_HOLDOUT = 10
#: the normalisation statistics every fitted model holds (see :func:`normalization_statistics`)
NORMALIZATION_KEYS = ("map_median", "map_max", "score_max")


#: the largest map smoothing (px of the network input): a blur this wide already flattens a 2048 px map, and
#: a larger one only costs time and memory (a sigma of 1e7 asked cv2 for 100 GB)
MAX_SMOOTHING_SIGMA = 256.0


class DamagedModel(ValueError):
    """A saved model whose files do not hold what its method saved (damaged or replaced), or a model whose fitted
    state gives no finite score."""


def saved_array(arrays: dict[str, np.ndarray], name: str, shape: Sequence[int | None], kind: str = "f") -> np.ndarray:
    """``arrays[name]`` of a saved model, checked: numbers of ``kind`` ("f" floating point, "i" whole numbers,
    "u" bytes), ``shape`` (None: any length along that axis), every floating-point value finite;
    :class:`DamagedModel` naming the array otherwise."""
    if name not in arrays:
        raise DamagedModel(f"{ARRAYS_FILE} is damaged: it lacks {name}")
    array = arrays[name]
    kinds, what = {"f": ("f", "floating-point numbers"), "i": ("iu", "whole numbers"), "u": ("u", "bytes")}[kind]
    expected = ", ".join("any" if size is None else str(size) for size in shape)
    if (array.dtype.kind not in kinds or array.ndim != len(shape)
            or any(wanted is not None and size != wanted for size, wanted in zip(array.shape, shape))):
        raise DamagedModel(f"{ARRAYS_FILE} is damaged: {name} is {array.dtype} of shape {array.shape}, not {what} "
                           f"of shape ({expected}{',' if len(shape) == 1 else ''})")
    if kind == "f" and not np.isfinite(array).all():
        raise DamagedModel(f"{ARRAYS_FILE} is damaged: {name} holds NaN or infinite values")
    return array


def check_rgb_image(image: Any, index: int) -> None:
    """``ValueError`` unless ``image`` is an RGB uint8 array (H, W, 3), as :func:`vqi_core.images.read_image`
    returns: other arrays (16-bit values, floats from 0 to 1, grayscale, RGBA) would be scored as something else
    without a word."""
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
            and image.shape[0] > 0 and image.shape[1] > 0):
        what = (f"{image.dtype} of shape {image.shape}" if isinstance(image, np.ndarray)
                else type(image).__name__)
        raise ValueError(f"image {index} is {what}: images must be RGB uint8 arrays of shape (H, W, 3), as "
                         f"vqi_core.images.read_image returns for a file (it converts grayscale, RGBA and 16-bit "
                         f"ones); convert an array in memory the same way first (grayscale repeated in three "
                         f"channels, RGBA laid over black, 16-bit values scaled to 0-255 by their bit depth), or write "
                         f"it to a PNG file and read that")


def check_backbone_state(spec: BackboneSpec, state: dict[str, torch.Tensor]) -> None:
    """:class:`DamagedModel` unless ``state`` holds exactly the backbone's tensors, of its shapes, with finite
    values (a state that loads only half-way or scores NaN is refused when the model is loaded, not later). The
    expected shapes come from a network built on the meta device: no weights drawn from torch's global generator
    (engine review: loading a fine-tuned or CAM model changed the caller's random numbers) and none allocated."""
    with torch.device("meta"):
        expected = spec.build(False).state_dict()
    if not isinstance(state, dict) or set(state) != set(expected):
        missing = sorted(set(expected) - set(state)) if isinstance(state, dict) else []
        raise DamagedModel(f"{BACKBONE_FILE} is damaged: it does not hold the {spec.name} weights"
                           + (f" ({len(missing)} missing, e.g. {missing[0]})" if missing else ""))
    for key, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or tensor.shape != expected[key].shape:
            raise DamagedModel(f"{BACKBONE_FILE} is damaged: {key} is not a tensor of shape "
                               f"{tuple(expected[key].shape)}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise DamagedModel(f"{BACKBONE_FILE} is damaged: {key} holds NaN or infinite values")


@dataclass
class Prediction:
    """Image scores (N,) and raw anomaly maps, one (h, w) float32 array per image at its eval size, and per map the
    pixels the model inspects (bool, the map's shape: inside its centre crop and inspection region; None where it
    inspects the whole image)."""

    scores: np.ndarray
    maps: list[np.ndarray]
    inspected: list[np.ndarray | None] = field(default_factory=list)


def inspected_area_of(preprocessing: Preprocessing, region: InspectionRegion | None, geometry: Geometry,
                      hw: tuple[int, int]) -> np.ndarray | None:
    """The pixels of an image's map (of shape ``hw``; ``geometry``: the image's under ``preprocessing``) that a model
    inspects: inside its centre crop (see :func:`~vqi_core.preprocessing.visible_area`) and its inspection
    ``region``; None when that is all of them."""
    area = visible_area(geometry, preprocessing.input_hw, hw)
    if region is not None:
        inside = region.mask_for(hw)
        area = inside if area is None else area & inside
    return area


class AnomalyModel(ABC):
    """Base class of all methods; parameters live in the constructor (scikit-learn style)."""

    name: ClassVar[str] = ""
    #: True for methods that need labelled defective images to fit (the CAM classifier).
    supervised: ClassVar[bool] = False
    #: what each method-specific parameter does, in a line (the Train page's help)
    parameter_help: ClassVar[dict[str, str]] = {}
    #: the values a text parameter takes (the Train page offers them to choose from)
    parameter_choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: upper bounds added after VQI had saved models without them: a model saved above one is older, not damaged
    later_limits: ClassVar[dict[str, float]] = {}
    #: upper bounds of settings that act only while fitting, checked when a fit starts (a model saved with more
    #: before they were checked still loads and scores)
    fit_limits: ClassVar[dict[str, float]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every method's constructor refuses a parameter of the wrong kind with a clear message (as
        :func:`~vqi_core.methods.create_model` does), and takes NumPy numbers as Python ones (:func:`plain_value`):
        ``PatchCore(top_k="3")`` is refused by name, not with a TypeError from a comparison inside."""
        super().__init_subclass__(**kwargs)
        init = vars(cls).get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def checked_init(self: AnomalyModel, **params: Any) -> None:
            params = {key: plain_value(value) for key, value in params.items()}
            check_param_kinds(cls.name or cls.__name__, constructor_defaults(cls), params)
            init(self, **params)

        cls.__init__ = checked_init  # type: ignore[method-assign]

    def __init__(self, *, backbone: str = DEFAULT_BACKBONE, layers: Sequence[str] | None = None,
                 image_size: tuple[int, int] | list[int] = (256, 256), resize: str = "squash",
                 crop: float = 1.0, scale: float = 0.0, intensity: str = "none", batch_size: int = 16,
                 smoothing_sigma: float = 4.0, holdout_fraction: float = 0.1, seed: int = 0, jit: bool = True,
                 finetune: str | None = None, finetune_params: dict[str, Any] | None = None, bit_depth: int = 16):
        spec = get_backbone(backbone)
        if isinstance(batch_size, bool) or not float(batch_size).is_integer() or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number of at least 1, not {batch_size!r}")
        if not (math.isfinite(smoothing_sigma) and 0 <= smoothing_sigma <= MAX_SMOOTHING_SIGMA):
            raise ValueError(f"smoothing_sigma must be a number of pixels from 0 to {MAX_SMOOTHING_SIGMA}, not "
                             f"{smoothing_sigma}")
        check_seed(seed)
        if not 0 <= holdout_fraction < 1:
            raise ValueError(f"holdout_fraction must be at least 0 and below 1, not {holdout_fraction}")
        self.backbone = backbone
        if not layers:  # each method passes its own defaults for the backbone's family (embeddings.default_layers)
            raise ValueError("layers must name at least one layer of the backbone")
        self.layers = list(layers)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.resize = resize
        self.crop = crop
        self.batch_size = int(batch_size)
        self.smoothing_sigma = smoothing_sigma
        self.holdout_fraction = holdout_fraction
        self.seed = seed
        self.jit = jit
        self.finetune = finetune
        self.finetune_params = check_finetune(finetune, finetune_params)
        #: significant bits of 16-bit image files, grayscale or colour (:func:`vqi_core.images.read_image`): the
        #: files this model is fitted on and scores are decoded with it; images given as arrays are already decoded
        self.bit_depth = check_bit_depth(bit_depth)
        self.preprocessing = Preprocessing(self.image_size[0], self.image_size[1], resize, crop, spec.mean, spec.std,
                                           scale, intensity)
        #: what every fit starts from (a fit chooses a fixed_scale input size and intensity statistics)
        self._unfitted = (self.preprocessing, self.image_size)
        #: fine-tuned backbone weights (state dict) when a method changes the backbone
        self.backbone_state: dict[str, torch.Tensor] | None = None
        #: statistics of held-out good images: map and score percentiles
        self.normalization: dict[str, float] = {}
        self.fit_info: dict[str, Any] = {}
        #: the part of every image that is inspected (None: all of it); given to fit, saved with the model
        self.region: InspectionRegion | None = None
        self._extractor: FeatureExtractor | None = None
        self._building_extractor = threading.Lock()  # a model cached for the dashboard serves every session

    # ------------------------------------------------------------------ parameters
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as JSON-ready values."""
        return {
            "backbone": self.backbone, "layers": list(self.layers), "image_size": list(self.image_size),
            "resize": self.resize, "crop": self.crop,
            "scale": self.preprocessing.scale, "intensity": self.preprocessing.intensity,
            "batch_size": self.batch_size,
            "smoothing_sigma": self.smoothing_sigma, "holdout_fraction": self.holdout_fraction,
            "seed": self.seed, "jit": self.jit, "finetune": self.finetune,
            "finetune_params": dict(self.finetune_params), "bit_depth": self.bit_depth,
        }

    # ------------------------------------------------------------------ backbone
    @property
    def extractor(self) -> FeatureExtractor:
        """Feature extractor for this model's backbone and layers (fine-tuned weights if any)."""
        with self._building_extractor:
            if self._extractor is None:
                self._extractor = FeatureExtractor(self.backbone, self.extraction_layers(), jit=self.jit,
                                                   state_dict=self.backbone_state)
            return self._extractor

    def extraction_layers(self) -> list[str]:
        """The backbone layers the feature extractor computes: the model's feature layers."""
        return list(self.layers)

    def layer_channels(self, layers: Sequence[str] | None = None) -> list[int]:
        """Channels of each of ``layers`` (the model's feature layers by default) of its backbone."""
        return get_backbone(self.backbone).layer_channels(list(layers or self.layers))

    def set_backbone_state(self, state: dict[str, torch.Tensor] | None) -> None:
        """Use fine-tuned backbone weights from now on (None: the pretrained ones)."""
        self.backbone_state = state
        self._extractor = None

    def inspected(self, image: np.ndarray, region: InspectionRegion | None = None) -> np.ndarray:
        """The image as the model sees it: outside the inspection region painted over (as it is without one);
        ``region``: another one than the model's (one a fit has not set yet)."""
        region = self.region if region is None else region
        if region is None:
            return image
        return region.apply_to_image(image, [255 * value for value in self.preprocessing.mean])

    def batches(self, images: Sequence[np.ndarray]) -> Iterator[tuple[int, torch.Tensor, list[Geometry]]]:
        """Yield (start index, preprocessed tensor, geometries) over ``images`` in batches."""
        for start in range(0, len(images), self.batch_size):
            chunk = images[start:start + self.batch_size]
            for offset, image in enumerate(chunk):  # as they are decoded: ImageFiles are read a chunk at a time
                check_rgb_image(image, start + offset)
            x, geometries = self.preprocessing([self.inspected(image) for image in chunk])
            yield start, x, geometries

    def extract(self, images: Sequence[np.ndarray], progress: ProgressCallback | None = None,
                stage: str = "feature extraction") -> list[torch.Tensor]:
        """Backbone feature maps of all images, one tensor per layer (N, C, h, w)."""
        per_layer: list[list[torch.Tensor]] = []
        report(progress, stage, 0, len(images))
        for start, x, _ in self.batches(images):
            features = self.extractor(x)
            if not per_layer:
                per_layer = [[] for _ in features]
            for store, feature in zip(per_layer, features):
                store.append(feature)
            report(progress, stage, min(start + len(x), len(images)), len(images))
        return [torch.cat(store) for store in per_layer]

    def valid_grid(self, geometries: list[Geometry], grid_hw: Sequence[int]) -> np.ndarray:
        """Boolean (B, h, w): which cells of a feature grid over the network input lie on the image (not on letterbox
        padding, nor on the padding below and right of the input)."""
        gh, gw = grid_hw
        ih, iw = self.preprocessing.network_hw
        crop_h, crop_w = self.preprocessing.input_hw
        valid = np.zeros((len(geometries), gh, gw), bool)
        for i, g in enumerate(geometries):
            y0, y1 = max(0, math.floor(g.y0 * gh / ih)), min(gh, math.ceil(min(g.y1, crop_h) * gh / ih))
            x0, x1 = max(0, math.floor(g.x0 * gw / iw)), min(gw, math.ceil(min(g.x1, crop_w) * gw / iw))
            valid[i, y0:y1, x0:x1] = True
        return valid

    # ------------------------------------------------------------------ fit / predict
    def fit(self, images: Sequence[np.ndarray], progress: ProgressCallback | None = None,
            labels: Sequence[int] | None = None, region: InspectionRegion | None = None) -> "AnomalyModel":
        """Learn "good" from ``images`` (RGB uint8). ``labels`` only for supervised methods. ``region``: the part of
        every image to inspect (None: all of it), fitted on and saved with the model. A fit refused, failing or
        interrupted leaves the model as it was (it had left an earlier fit half-replaced, which ``save`` then wrote
        over a sound saved model as one that does not load: API review)."""
        for name, limit in self.fit_limits.items():  # (the CAM classifier's lr 1e9 had trained to NaN and scored
            if getattr(self, name) > limit:  # every image 1.0 without a word: API review)
                raise ValueError(f"{name} must be at most {limit:g} to fit, not {getattr(self, name)!r}")
        if region is not None and not isinstance(region, InspectionRegion):
            raise TypeError(f"region must be a vqi_core.region.InspectionRegion (InspectionRegion(mask) or "
                            f"InspectionRegion.read(path)), not {type(region).__name__}")
        before = dict(self.__dict__)  # every fitted attribute is assigned anew by a fit, never changed in place
        try:
            return self._fit(images, progress, labels, region)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, images: Sequence[np.ndarray], progress: ProgressCallback | None,
             labels: Sequence[int] | None, region: InspectionRegion | None) -> "AnomalyModel":
        _check_image_list(images)
        if len(images) == 0:
            raise ValueError("the training set is empty: at least one defect-free image is needed")
        if not isinstance(images, ImageFiles):  # arrays given (files are read as RGB uint8): before fine-tuning
            for index, image in enumerate(images):
                check_rgb_image(image, index)
        if self.supervised and labels is None:
            raise ValueError(f"{self.name} learns from labelled images: fit needs labels (0 good, 1 defective)")
        if labels is not None:
            if len(labels) != len(images) or not set(np.asarray(labels).tolist()) <= {0, 1}:
                raise ValueError(f"labels must give 0 (good) or 1 (defective) for each of the {len(images)} images")
            if not self.supervised and any(labels):
                raise ValueError(f"{self.name} learns from defect-free images only: leave the "
                                 f"{counted(int(np.sum(labels)), 'defective image')} out of fit")
        # a fit starts from the constructor's settings and the pretrained backbone (as scikit-learn's fit does), not
        # from the input size, intensity statistics and fine-tuned weights an earlier fit of this object chose
        self.preprocessing, self.image_size = self._unfitted
        self.normalization = {}  # an earlier fit's good level must not cool this fit's held-out maps
        self.set_backbone_state(None)
        if region is None and self.region is not None:  # set on the model, as before fit took it (or loaded)
            warnings.warn("fit inspects all of each image: give the inspection region to fit (fit(images, "
                          "region=...)); the one set on the model before fitting is not used", stacklevel=3)
        self.region = region
        good_images = image_subset(images, [i for i in range(len(images)) if labels is None or labels[i] == 0])
        if self.region is not None:
            self.region.check_fits(image_shapes(good_images))
        if self.resize == "fixed_scale" and self.preprocessing.scale == 0:
            self.preprocessing = self.preprocessing.fit_to(image_shapes(good_images))
            self.image_size = (self.preprocessing.height, self.preprocessing.width)
        if self.preprocessing.intensity != "none":
            self.preprocessing = self.preprocessing.fit_intensity(self.inspected(image) for image in good_images)
        if self.region is not None and len(good_images):
            hw = good_images[0].shape[:2]  # the region fits every image's shape (checked above)
            area = self.inspected_area(self.preprocessing.geometry(hw), hw)
            if area is not None and not area.any():
                raise ValueError(f"the inspection region lies wholly outside the part of the image the model sees "
                                 f"(the centre crop keeps {self.preprocessing.crop:.0%} of it): nothing would be "
                                 f"inspected and every part rejected; draw the region inside what the crop keeps, "
                                 f"or crop less")
        train, holdout = self._split_holdout(images, labels)
        finetune_info: dict[str, Any] = {}
        if self.finetune:  # self-supervised fine-tuning of the backbone on the good training images
            from ..finetune import run_finetune

            good_train = image_subset(images, [i for i in train if labels is None or labels[i] == 0])
            result = run_finetune(self.finetune, good_train, self, progress, **self.finetune_params)
            self.set_backbone_state(result.state)
            finetune_info = {"finetune": {"kind": self.finetune, "epoch_losses": result.epoch_losses,
                                          "trained_stages": result.trained_stages}}
        if self.supervised and labels is not None:
            self._fit_labelled(image_subset(images, train), [int(labels[i]) for i in train], progress)
        else:
            self._fit_features(image_subset(images, train), progress)
        normalisation_set = holdout or train
        if labels is not None:
            normalisation_set = [i for i in normalisation_set if labels[i] == 0]
        holdout_images = image_subset(images, normalisation_set)
        prediction = self.predict(holdout_images, progress, stage="normalisation")
        self.normalization = normalization_statistics(prediction)
        # no timing: saved in model.json, it would make every fit's model files differ (the run's metrics time it)
        self.fit_info = {"train_images": len(train), "holdout_images": len(holdout), "holdout_indices": holdout,
                         **finetune_info}
        return self

    def _split_holdout(self, images: Sequence[np.ndarray], labels: Sequence[int] | None) -> tuple[list[int], list[int]]:
        indices = list(range(len(images)))
        good = [i for i in indices if labels is None or labels[i] == 0]
        n_holdout = int(round(len(good) * self.holdout_fraction)) if len(good) >= MIN_GOOD_FOR_HOLDOUT else 0
        if n_holdout == 0:
            return indices, []
        if n_holdout >= len(good):
            raise ValueError(f"holdout_fraction={self.holdout_fraction} holds out all {len(good)} good training "
                             f"images to normalise the maps: none would be left to learn from; use a smaller one")
        rng = np.random.default_rng(self.seed)
        holdout = sorted(rng.choice(good, size=n_holdout, replace=False).tolist())
        held = set(holdout)
        return [i for i in indices if i not in held], holdout

    def _fit_features(self, images: Sequence[np.ndarray], progress: ProgressCallback | None) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _fit_features")

    def _fit_labelled(self, images: Sequence[np.ndarray], labels: list[int], progress: ProgressCallback | None) -> None:
        raise NotImplementedError(f"{type(self).__name__} is not a supervised method")

    @abstractmethod
    def _score_batch(self, x: torch.Tensor, geometries: list[Geometry]) -> tuple[np.ndarray, np.ndarray]:
        """Scores (B,) and maps (B, h, w) on any grid aligned with the network input."""

    def predict(self, images: Sequence[np.ndarray], progress: ProgressCallback | None = None,
                stage: str = "scoring") -> Prediction:
        """Image scores and anomaly maps (smoothed, on each image at its eval size); ``RuntimeError`` before a fit."""
        _check_image_list(images)
        if self.resize == "fixed_scale" and self.preprocessing.scale == 0:  # its scale is chosen by the fit: the
            raise RuntimeError("the model is not fitted")  # methods' own words for an unfitted model (API review)
        scores: list[np.ndarray] = []
        maps: list[np.ndarray] = []
        inspected: list[np.ndarray | None] = []
        report(progress, stage, 0, len(images))
        for start, x, geometries in self.batches(images):
            with torch.inference_mode():
                batch_scores, grid_maps = self._score_batch(x, geometries)
            if not (np.isfinite(batch_scores).all() and np.isfinite(grid_maps).all()):
                raise DamagedModel(f"the {self.name} model gives NaN or infinite scores (images {start} to "
                                   f"{start + len(x) - 1}): its fitted state is damaged")
            scores.append(np.asarray(batch_scores, np.float64))
            for grid_map, geometry in zip(grid_maps, geometries):
                anomaly_map = self.grid_to_image(grid_map, geometry)
                area = self.inspected_area(geometry, anomaly_map.shape)
                maps.append(self._cooled_outside(anomaly_map, area))
                inspected.append(area)
            report(progress, stage, min(start + len(x), len(images)), len(images))
        return Prediction(np.concatenate(scores) if scores else np.zeros(0), maps, inspected)

    def inspected_area(self, geometry: Geometry, hw: tuple[int, int]) -> np.ndarray | None:
        """The pixels of an image's map (of shape ``hw``) that the model inspects (see :func:`inspected_area_of`)."""
        return inspected_area_of(self.preprocessing, self.region, geometry, hw)

    def image_inspected_area(self, image_hw: tuple[int, int]) -> np.ndarray | None:
        """The pixels of an image of size ``image_hw`` that the model inspects, at that size (overlays darken the
        rest); None when that is all of them."""
        return self.inspected_area(self.preprocessing.geometry(image_hw), image_hw)

    def _cooled_outside(self, anomaly_map: np.ndarray, area: np.ndarray | None) -> np.ndarray:
        """The map with every pixel outside the inspected ``area`` set to the lowest value inside it, and never above
        the good images' median level: no heat and no box appear there, even when all that is inspected is hot."""
        if area is None:
            return anomaly_map
        fill = float(anomaly_map[area].min()) if area.any() else float(anomaly_map.min())
        if "map_median" in self.normalization:
            fill = min(fill, self.normalization["map_median"])
        cooled = np.array(anomaly_map, copy=True)
        cooled[~area] = fill
        return cooled

    def grid_to_image(self, grid_map: np.ndarray, geometry: Geometry) -> np.ndarray:
        """Upsample a grid map to the network input (the grid covers it with its padding), smooth it, and map it
        onto the image's eval size."""
        network_h, network_w = self.preprocessing.network_hw
        full = cv2.resize(np.asarray(grid_map, np.float32), (network_w, network_h), interpolation=cv2.INTER_LINEAR)
        if self.smoothing_sigma > 0:
            full = cv2.GaussianBlur(full, (0, 0), self.smoothing_sigma)
        height, width = self.preprocessing.input_hw
        return map_to_image(full[:height, :width], geometry, eval_size(geometry.original_hw))

    # ------------------------------------------------------------------ persistence
    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        """Fitted state as named numpy arrays."""

    @abstractmethod
    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the fitted state from :meth:`_arrays`' output."""

    def save(self, folder: Path | str) -> None:
        """Write ``model.json`` + ``arrays.npz`` (+ ``backbone.pt`` tensors when fine-tuned, ``region.png`` with an
        inspection region) to ``folder``, new, empty or holding a saved model, which is replaced as a whole: the
        files are written into a hidden folder beside it and moved into place, so an interrupted save leaves an
        earlier model there as it was (files had been overwritten one by one), and the folder keeps its
        permissions. ``ValueError``, changing nothing, where ``folder`` is a file or holds other files than a model's
        (hidden ones, such as ``.DS_Store``, aside: they go with the earlier model). Only a process killed outright
        between the two renames can leave the earlier model beside ``folder``, in ``.<name>.<hex>.replaced``."""
        if not self.normalization:  # written, it would not load (found by the API review)
            raise RuntimeError(f"the {self.name} model is not fitted: fit it before saving it")
        folder = Path(os.path.abspath(home_expanded(folder)))  # "." or "model" by its own name, beside its
        # parent's files
        if folder.is_symlink():
            folder = folder.resolve()  # the folder it points to
        earlier = folder.exists()  # a model (or an empty folder) to replace
        if earlier and not folder.is_dir():
            raise ValueError(f"cannot save the model to {folder}: it is a file, not a folder")
        others = sorted(path.name for path in folder.iterdir()
                        if path.name not in MODEL_FILES and not path.name.startswith(".")) if earlier else []
        if others:
            raise ValueError(f"cannot save the model to {folder}: it holds {counted(len(others), 'file')} other than "
                             f"a saved model's ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); choose "
                             f"a new or empty folder")
        folder.parent.mkdir(parents=True, exist_ok=True)
        hidden = f".{folder.name}.{secrets.token_hex(4)}"
        staging, replaced = folder.with_name(f"{hidden}.saving"), folder.with_name(f"{hidden}.replaced")
        staging.mkdir()  # the permissions of a folder made the usual way, or the earlier folder's below
        received: list[int] = []
        try:
            self._write_files(staging)
            if earlier:
                os.chmod(staging, folder.stat().st_mode & 0o7777)
            with interrupts_held(received):  # never the earlier model moved aside and the new one not in place
                if earlier:
                    os.replace(folder, replaced)
                try:
                    os.replace(staging, folder)
                except BaseException:
                    if earlier:  # the earlier model back in place (review: both had been deleted)
                        os.replace(replaced, folder)
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone unless the save failed
            shutil.rmtree(replaced, ignore_errors=True)  # the earlier model, once the new one is in place
        if received:
            signal.raise_signal(received[0])  # the model is saved; the interrupt still stops what follows

    def _write_files(self, folder: Path) -> None:
        """The files of :meth:`save`, written into the existing, empty ``folder``."""
        files = [ARRAYS_FILE]
        np.savez_compressed(folder / ARRAYS_FILE, allow_pickle=False, **self._arrays())
        if self.region is not None:
            (folder / REGION_FILE).write_bytes(self.region.to_png())
            files.append(REGION_FILE)
        if self.backbone_state is not None:
            torch.save({k: v.contiguous() for k, v in self.backbone_state.items()}, folder / BACKBONE_FILE)
            files.append(BACKBONE_FILE)
        meta = {"method": self.name, "params": self.get_params(), "preprocessing": self.preprocessing.to_dict(),
                "normalization": self.normalization, "fit_info": self.fit_info,
                "fine_tuned_backbone": self.backbone_state is not None,
                "region": self.region.describe() if self.region is not None else None,
                "file_sha256": {name: file_sha256(folder / name) for name in files}}
        meta[CONTENT_DIGEST_KEY] = content_sha256(meta)
        (folder / MODEL_JSON).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load_from(cls, folder: Path, meta: dict) -> "AnomalyModel":
        """Rebuild a model of this class from a saved folder (see :func:`vqi_core.methods.load_model`):
        :class:`DamagedModel` saying what is wrong when a file is not the one the model saved (models saved since
        ``model.json`` records their SHA-256), or holds arrays, weights or statistics the method cannot use."""
        check_file_digests(folder, meta)
        sigma = meta["params"].get("smoothing_sigma")
        if finite_number(sigma) and sigma > MAX_SMOOTHING_SIGMA:  # not damage: VQI accepted any sigma until 2026-12
            raise DamagedModel(f"it was saved with a map smoothing sigma of {sigma:g} px, above the "
                               f"{MAX_SMOOTHING_SIGMA:g} px this version of VQI accepts (earlier versions did not "
                               f"check it): train it again with a smaller smoothing_sigma")
        for name, limit in cls.later_limits.items():  # as the sigma (a review found such runs called damaged)
            value = meta["params"].get(name)
            if finite_number(value) and value > limit:
                raise DamagedModel(f"it was saved with {name} {value:g}, above the {limit:g} this version of VQI "
                                   f"accepts (earlier versions did not check it): train it again with a smaller "
                                   f"{name}")
        try:
            model = cls(**meta["params"])
            model.preprocessing = saved_preprocessing(meta)  # exactly as fitted
        except DamagedModel:
            raise
        except ValueError as exc:  # a value out of range: edited, or not written by VQI
            raise DamagedModel(f"{MODEL_JSON} is damaged: {exc}") from None
        try:
            with np.load(folder / ARRAYS_FILE, allow_pickle=False) as data:
                stray = next((name for name in data.zip.namelist() if not name.endswith(".npy")), None)
                if stray is not None:  # numpy would hand its raw bytes over as if an array (faiss's own format too)
                    raise DamagedModel(f"{ARRAYS_FILE} is damaged: it holds {stray!r}, which is not an array file "
                                       f"written by VQI")
                arrays = {key: data[key] for key in data.files}
        except FileNotFoundError:  # a model saved before VQI recorded its files' digests (run-integrity review)
            raise DamagedModel(f"{ARRAYS_FILE} is missing") from None
        except DamagedModel:
            raise
        except ValueError as exc:  # numpy refusing an array of objects: only pickle could read it
            raise DamagedModel(f"{ARRAYS_FILE} is damaged: {exc}") from None
        model._load_arrays(arrays)
        if meta.get("fine_tuned_backbone"):
            try:
                state = load_state_dict_file(folder / BACKBONE_FILE)
            except FileNotFoundError:
                raise DamagedModel(f"{BACKBONE_FILE} is missing") from None
            except pickle.UnpicklingError:  # torch's message would suggest loading it with weights_only=False
                raise DamagedModel(f"{BACKBONE_FILE} holds objects other than tensors, which VQI never unpickles: "
                                   f"damaged or replaced") from None
            check_backbone_state(get_backbone(model.backbone), state)
            model.set_backbone_state(state)
        if meta.get("region"):
            if not isinstance(meta["region"], dict):
                raise DamagedModel(f"{MODEL_JSON} is damaged: its region is {meta['region']!r}, not the description "
                                   f"of {REGION_FILE}")
            try:
                model.region = InspectionRegion.read(folder / REGION_FILE, str(meta["region"].get("source", "")))
            except ValueError as exc:  # not a region VQI writes: one exception for a damaged model (API review)
                raise DamagedModel(f"{REGION_FILE} is damaged: {exc}") from None
        model.normalization = saved_normalization(meta)
        model.fit_info = meta.get("fit_info", {})
        return model


def saved_normalization(meta: dict[str, Any]) -> dict[str, float]:
    """The good-image statistics that normalise a model's maps, read from its ``model.json`` (``meta``): the one
    rule for loading the model, checking a run and reading a run's maps without the model. ``DamagedModel``
    unless they are the finite numbers :data:`NORMALIZATION_KEYS` (and any others)."""
    normalization = meta.get("normalization")
    if not (isinstance(normalization, dict) and set(NORMALIZATION_KEYS) <= set(normalization) and all(
            finite_number(value) for value in normalization.values())):
        raise DamagedModel(f"{MODEL_JSON} is damaged: its normalisation statistics are not the finite numbers "
                           f"{', '.join(NORMALIZATION_KEYS)}")
    if normalization["map_max"] < normalization["map_median"]:  # a maximum below the median: edited by hand
        raise DamagedModel(f"{MODEL_JSON} is damaged: its normalisation statistics give a highest good-image map "
                           f"level ({normalization['map_max']:g}) below their median ({normalization['map_median']:g})")
    return {key: float(value) for key, value in normalization.items()}


def saved_preprocessing(meta: dict[str, Any]) -> Preprocessing:
    """The preprocessing a model was fitted with, read from its ``model.json`` (``meta``): the one rule for loading
    the model and checking a run. ``DamagedModel`` saying what is wrong with it (edited, or not written by VQI)."""
    data = meta.get("preprocessing")
    try:
        if not isinstance(data, dict):
            raise ValueError("its preprocessing is not an object")
        return Preprocessing.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:  # TypeError: a key VQI does not write; KeyError: one missing
        what = f"{exc.args[0]!r} is missing from its preprocessing" if isinstance(exc, KeyError) else exc
        raise DamagedModel(f"{MODEL_JSON} is damaged: {what}") from None


def finite_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (not a bool, NaN or infinite), as read from JSON."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def constructor_defaults(cls: type) -> dict[str, Any]:
    """Defaults of every constructor keyword of a method class: the shared ones (:class:`AnomalyModel`'s),
    overridden by those of each subclass down to ``cls``."""
    defaults: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass) and issubclass(klass, AnomalyModel):
            for parameter in inspect.signature(vars(klass)["__init__"]).parameters.values():
                if parameter.default is not parameter.empty:
                    defaults[parameter.name] = parameter.default
    return defaults


def check_param_kinds(method: str, defaults: dict[str, Any], params: dict[str, Any]) -> None:
    """Refuse a value of the wrong kind for its parameter (judged by the parameter's default in ``defaults``:
    a text for a number, a number for true/false, NaN), naming the parameter and ``method``."""
    for key, value in params.items():
        if key in defaults and (expected := _expected_kind(defaults[key], key, value)):
            raise ValueError(f"parameter {key} of {method} must be {expected}, not {value!r}")


#: parameters whose default is None, and the kind of value they take
_OPTIONAL_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "layers": ((list, tuple), "a list of one or more different layer names"), "global_layer": ((str,), "a layer name"),
    "finetune": ((str,), "a fine-tuning kind"), "finetune_params": ((dict,), "a JSON object of parameters"),
    "knn_params": ((dict,), "a JSON object of parameters"),
}


def _expected_kind(default: Any, key: str, value: Any) -> str | None:
    """What ``value`` should be, judged by the parameter's default; None when it is of that kind."""
    if default is None:
        if value is None or key not in _OPTIONAL_KINDS:
            return None
        types, kind = _OPTIONAL_KINDS[key]
        ok = isinstance(value, types)
        if ok and key == "layers":  # an empty list would quietly mean the default layers; one named twice would
            ok = len(value) > 0 and all(isinstance(item, str) for item in value) and len(set(value)) == len(value)
            # count its features twice (accepted without a word: bad-input review)
        return None if ok else kind
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if finite_number(value) and float(value).is_integer() else "a whole number"
    if isinstance(default, float):
        return None if finite_number(value) else "a finite number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a text"
    if isinstance(default, (tuple, list)):
        whole = all(isinstance(item, int) for item in default)  # sizes in pixels
        ok = isinstance(value, (tuple, list)) and len(value) == len(default) and all(
            finite_number(item) and (float(item).is_integer() or not whole) for item in value)
        return None if ok else f"a list of {len(default)} {'whole ' if whole else ''}numbers"
    return None


def plain_value(value: Any) -> Any:
    """``value`` with NumPy numbers and booleans (``np.int64(3)``, ``np.float32(0.5)``, ``np.True_``) turned into
    Python ones, also inside lists, tuples and dicts: a parameter from a NumPy array (a seed loop, a grid search)
    is taken as the number it is, and saved as JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(plain_value(item) for item in value)
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    return value


def _check_image_list(images: Any) -> None:
    """``ValueError`` for one image given where a list of images is expected, or a generator (read more than once, by
    position: a bare TypeError "object of type 'generator' has no len()" had been all, bad-input review)."""
    if not (hasattr(images, "__len__") and hasattr(images, "__getitem__")):
        raise ValueError(f"images must be a list of RGB uint8 arrays, not a {type(images).__name__}: pass "
                         f"list(...) of them")
    if isinstance(images, np.ndarray) and images.ndim < 4:
        raise ValueError(f"images must be a list of RGB uint8 arrays (or an array of shape (N, H, W, 3)), not one "
                         f"array of shape {images.shape}: pass [image] for one image")


#: the key of ``model.json`` that holds the SHA-256 of the rest of it (see :func:`content_sha256`)
CONTENT_DIGEST_KEY = "content_sha256"


def content_sha256(meta: dict[str, Any]) -> str:
    """The SHA-256 of a model's ``model.json`` content ``meta`` (its :data:`CONTENT_DIGEST_KEY` aside), as JSON
    reads it back with sorted keys: a hand edit or damage of any setting changes it, the file's indentation not."""
    rest = {key: value for key, value in meta.items() if key != CONTENT_DIGEST_KEY}
    return hashlib.sha256(json.dumps(json.loads(json.dumps(rest)), sort_keys=True).encode()).hexdigest()


def check_content_digest(meta: dict[str, Any]) -> None:
    """:class:`DamagedModel` when ``model.json``'s content ``meta`` is not the content it recorded the SHA-256 of
    (models saved before VQI recorded it are not checked)."""
    recorded = meta.get(CONTENT_DIGEST_KEY)
    if recorded is not None and recorded != content_sha256(meta):  # e.g. its preprocessing edited (API review)
        raise DamagedModel(f"{MODEL_JSON} has changed since the model was saved (its content is not the one whose "
                           f"SHA-256 it records): edited or damaged, so it would not score as it was validated; "
                           f"restore it from a copy, or train again")


def check_file_digests(folder: Path, meta: dict) -> None:
    """:class:`DamagedModel` when a file of the model is not the one it saved (by the SHA-256 that
    ``model.json`` records; models saved before it recorded them are not checked)."""
    digests = meta.get("file_sha256")
    if digests is None:
        return
    if not isinstance(digests, dict) or ARRAYS_FILE not in digests:
        raise DamagedModel(f"{MODEL_JSON} is damaged: its file_sha256 does not list {ARRAYS_FILE}")
    for name, digest in digests.items():
        if name not in (ARRAYS_FILE, BACKBONE_FILE, REGION_FILE):
            raise DamagedModel(f"{MODEL_JSON} is damaged: its file_sha256 lists {name!r}, not a model file")
        path = folder / name
        if not path.is_file():
            raise DamagedModel(f"{name} is missing")
        if file_sha256(path) != digest:
            raise DamagedModel(f"{name} is not the file this model saved (its SHA-256 differs from the one "
                               f"{MODEL_JSON} records): damaged or replaced")


def normalization_statistics(prediction: Prediction) -> dict[str, float]:
    """Statistics of good images' maps and scores used to normalise every map the same way, over the pixels the
    model inspects (the filled area outside a crop or a region would pull the median good level down)."""
    areas = prediction.inspected or [None] * len(prediction.maps)
    values = [m[area] if area is not None and area.any() else m.ravel() for m, area in zip(prediction.maps, areas)]
    pixels = np.concatenate(values) if values else np.zeros(1)
    per_image_max = np.array([v.max() for v in values]) if values else np.zeros(1)
    return {
        "map_median": float(np.median(pixels)),
        "map_max": float(per_image_max.max()),
        "score_max": float(prediction.scores.max()) if len(prediction.scores) else 0.0,
    }
