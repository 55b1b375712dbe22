"""Image preprocessing shared by fit and predict, and the way back to image space.

A :class:`Preprocessing` holds everything that turns an RGB uint8 image into
the backbone's input tensor: intensity mode, target size, resize mode,
optional centre crop, and the backbone's own mean and std. It is saved with
every model, so a reloaded model preprocesses exactly as it did when it was
fitted.

Resize modes:

- ``squash``: stretch to ``height x width`` (aspect ratio not kept);
- ``letterbox``: keep the aspect ratio, scale the long side to fit and pad the
  rest with the mean colour; anomaly maps are cropped back to the image area.
- ``fixed_scale``: scale every image by the same factor ``scale`` (so a pixel
  covers the same physical size in every image, as crops of one camera do),
  centre it and pad like ``letterbox``; an image too large for the input at
  that scale is shrunk to fit. Unless ``scale`` is given, models choose it at
  fit time, with an input of the training images' shape (:meth:`Preprocessing.fit_to`).

Intensity modes:

- ``none``: grey levels as captured;
- ``standardise``: each image's grey levels are shifted and scaled to one
  common mean and spread (all channels together, so colours keep their
  relations), the typical values of the training images
  (:meth:`Preprocessing.fit_intensity`). Exposure and lighting that vary
  between images then do not count as anomalies; a part that differs from
  good ones only in overall brightness or contrast is not detected either.

The network input is padded on the bottom and the right with the mean colour up to multiples of ``pad_to`` px
(:attr:`Preprocessing.network_hw`). A backbone's feature grid then covers the input exactly, cell ``i`` of a layer
of stride ``s`` centred at ``(i + 0.5) * s``, as the maps assume when they stretch the grid onto the input: with a
crop or an image size that was not a multiple of the stride, the grid had covered more than the input and the maps
had been stretched onto it, putting heat up to 7 px off its defect and joining the two layers of a patch feature from
places up to 9 px apart (method review).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Iterable

import cv2
import numpy as np
import torch

RESIZE_MODES = ("squash", "letterbox", "fixed_scale")
INTENSITY_MODES = ("none", "standardise")
MIN_INPUT_SIDE, MAX_INPUT_SIDE = 32, 2048  # the network input's sides in px, for every method
MIN_CROP = 0.3  # the smallest centre crop (kept fraction of the resized image)
#: smallest per-image grey-level spread divided by in ``standardise`` mode (a flat image stays flat)
MIN_INTENSITY_SPREAD = 1.0
#: the smallest channel standard deviation a backbone's normalisation may divide by (ImageNet's are about 0.23)
MIN_STD = 1e-6
#: the network input's sides are padded to multiples of this: the largest stride of any registered backbone's layers
PAD_TO = 32


def _finite(value: object) -> bool:
    """Whether ``value`` is a finite number (not a bool, a text, NaN or infinite)."""
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Geometry:
    """Where an image's pixels lie in the network input: rows y0:y1, columns x0:x1."""

    original_hw: tuple[int, int]
    y0: int
    y1: int
    x0: int
    x1: int


@dataclass(frozen=True)
class Preprocessing:
    """Adjust intensity, resize, crop and normalise images for one backbone."""

    height: int = 256
    width: int = 256
    resize: str = "squash"
    crop: float = 1.0  # fraction of the resized image kept by a centre crop (1.0 = no crop)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    scale: float = 0.0  # ``fixed_scale`` mode: input pixels per image pixel (0 = not chosen yet)
    intensity: str = "none"
    intensity_mean: float = 0.0  # ``standardise`` mode: common grey-level mean (0..255) and
    intensity_spread: float = 0.0  # standard deviation of every image (0 = not chosen yet)
    pad_to: int = PAD_TO  # the network input padded to multiples of it (1: none, as models saved before it had)

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, not {self.resize!r}")
        if self.intensity not in INTENSITY_MODES:
            raise ValueError(f"intensity must be one of {INTENSITY_MODES}, not {self.intensity!r}")
        if self.intensity_spread < 0:
            raise ValueError(f"intensity_spread must not be negative, not {self.intensity_spread}")
        if not MIN_CROP <= self.crop <= 1.0:
            raise ValueError(f"crop must be between {MIN_CROP} and 1.0, not {self.crop}")
        for name in ("height", "width"):
            side = getattr(self, name)
            if isinstance(side, bool) or not isinstance(side, (int, np.integer)):
                raise ValueError(f"{name} must be a whole number of pixels, not {side!r}")
        for name in ("crop", "scale", "intensity_mean", "intensity_spread"):
            if not _finite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, not {getattr(self, name)!r}")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) != 3 or not all(map(_finite, values)):
                raise ValueError(f"{name} must be three finite numbers (one per channel), not {values!r}")
        if min(self.std) < MIN_STD:  # 1e-300 passed "above 0" and is 0 in the float32 the network divides by (review)
            raise ValueError(f"std must be at least {MIN_STD:g} for every channel, not {self.std!r}")
        if isinstance(self.pad_to, bool) or not isinstance(self.pad_to, (int, np.integer)) or self.pad_to < 1:
            raise ValueError(f"pad_to must be a whole number of pixels of at least 1, not {self.pad_to!r}")
        if min(self.height, self.width) < MIN_INPUT_SIDE or max(self.height, self.width) > MAX_INPUT_SIDE:
            raise ValueError(f"input size (image_size) {self.height}x{self.width} must be between {MIN_INPUT_SIDE} and "
                             f"{MAX_INPUT_SIDE} px")
        if self.scale < 0:
            raise ValueError(f"scale must not be negative, not {self.scale}")

    def fit_to(self, sizes: list[tuple[int, int]]) -> "Preprocessing":
        """``fixed_scale`` settings for images of the (h, w) ``sizes``: an input of their bounding box's
        shape with about ``height x width`` pixels (sides rounded to multiples of 32), and the largest
        scale at which the bounding box fits it."""
        height, width = fixed_scale_size(sizes, self.height, self.width)
        max_h, max_w = max(h for h, _ in sizes), max(w for _, w in sizes)
        return replace(self, height=height, width=width, scale=min(height / max_h, width / max_w))

    def fit_intensity(self, images: Iterable[np.ndarray]) -> "Preprocessing":
        """``standardise`` settings: the median grey-level mean and spread of the (training) ``images``."""
        stats = [_intensity_stats(image) for image in images]
        if not stats:
            raise ValueError("no images to choose the common intensity from")
        means, spreads = zip(*stats)
        return replace(self, intensity_mean=float(np.median(means)),
                       intensity_spread=max(MIN_INTENSITY_SPREAD, float(np.median(spreads))))

    def _intensity_transform(self, image: np.ndarray) -> tuple[float, float] | None:
        """(gain, offset) that brings ``image``'s grey levels to the common mean and spread; None for ``none``."""
        if self.intensity == "none":
            return None
        if self.intensity_spread <= 0:
            raise ValueError("standardise intensity needs the common mean and spread; fit the model first")
        mean, spread = _intensity_stats(image)
        gain = self.intensity_spread / max(spread, MIN_INTENSITY_SPREAD)
        return gain, self.intensity_mean - gain * mean

    @property
    def input_hw(self) -> tuple[int, int]:
        """Size of the network input after the optional centre crop."""
        return round(self.height * self.crop), round(self.width * self.crop)

    @property
    def network_hw(self) -> tuple[int, int]:
        """Size of the tensor the network sees: :attr:`input_hw` padded on the bottom and right to multiples of
        ``pad_to``."""
        height, width = self.input_hw
        return math.ceil(height / self.pad_to) * self.pad_to, math.ceil(width / self.pad_to) * self.pad_to

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessing":
        """Inverse of :meth:`to_dict`; a description without ``pad_to`` (saved before it) pads nothing."""
        return cls(**{"pad_to": 1, **data, "mean": tuple(data["mean"]), "std": tuple(data["std"])})

    def geometry(self, original_hw: tuple[int, int]) -> Geometry:
        """Where the pixels of an image of ``original_hw`` (H, W) lie in the network input."""
        h, w = original_hw
        if self.resize == "squash":
            y0, y1, x0, x1 = 0, self.height, 0, self.width
        else:
            scale = min(self.height / h, self.width / w)
            if self.resize == "fixed_scale":
                if self.scale <= 0:
                    raise ValueError("fixed_scale preprocessing needs a scale; fit the model first")
                scale = min(scale, self.scale)
            new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
            y0, x0 = (self.height - new_h) // 2, (self.width - new_w) // 2
            y1, x1 = y0 + new_h, x0 + new_w
        crop_h, crop_w = self.input_hw
        top, left = (self.height - crop_h) // 2, (self.width - crop_w) // 2
        return Geometry((h, w), y0 - top, y1 - top, x0 - left, x1 - left)

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Geometry]:
        """Resize, adjust intensity and crop one RGB uint8 image; returns float32 HWC in 0..1 and its geometry."""
        geometry = self.geometry(image.shape[:2])
        transform = self._intensity_transform(image)  # from the whole image, applied after resizing (less memory)
        crop_h, crop_w = self.input_hw
        top, left = (self.height - crop_h) // 2, (self.width - crop_w) // 2
        y0, y1, x0, x1 = geometry.y0 + top, geometry.y1 + top, geometry.x0 + left, geometry.x1 + left
        if self.resize == "squash":
            resized = _apply_intensity(resize_image(image, self.height, self.width), transform)
        else:
            inner = _apply_intensity(resize_image(image, y1 - y0, x1 - x0), transform)
            resized = np.empty((self.height, self.width, 3), inner.dtype)
            resized[:] = np.round(np.array(self.mean) * 255)
            resized[y0:y1, x0:x1] = inner
        cropped = resized[top:top + crop_h, left:left + crop_w]
        return cropped.astype(np.float32) / 255.0, geometry

    def __call__(self, images: list[np.ndarray]) -> tuple[torch.Tensor, list[Geometry]]:
        """Batch of RGB uint8 images -> normalised NCHW float tensor of :attr:`network_hw` (the mean colour, 0 once
        normalised, below and right of each prepared image) and their geometries."""
        prepared = [self.prepare(image) for image in images]
        (height, width), (network_h, network_w) = self.input_hw, self.network_hw
        batch = np.pad(self.normalised(np.stack([p[0] for p in prepared])),
                       ((0, 0), (0, network_h - height), (0, network_w - width), (0, 0)))
        tensor = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
        return tensor, [p[1] for p in prepared]

    def normalised(self, batch: np.ndarray) -> np.ndarray:
        """A float32 NHWC batch in 0..1 normalised by the backbone's mean and standard deviation: the one place
        scoring and fine-tuning both normalise (fine-tuning had its own copy of it: engine review)."""
        return (batch - np.array(self.mean, np.float32)) / np.array(self.std, np.float32)


def fixed_scale_size(sizes: list[tuple[int, int]], height: int, width: int) -> tuple[int, int]:
    """The ``fixed_scale`` input (height, width) for images of the (h, w) ``sizes``: their bounding box's shape with
    about ``height x width`` pixels, sides rounded to multiples of 32 (what a fit chooses; the Train page says it
    before training)."""
    if not sizes:
        raise ValueError("no image sizes to choose a scale from")
    max_h, max_w = max(h for h, _ in sizes), max(w for _, w in sizes)
    budget_scale = math.sqrt(height * width / (max_h * max_w))
    return (min(MAX_INPUT_SIDE, max(MIN_INPUT_SIDE, 32 * round(max_h * budget_scale / 32))),
            min(MAX_INPUT_SIDE, max(MIN_INPUT_SIDE, 32 * round(max_w * budget_scale / 32))))


def _intensity_stats(image: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of an image's grey levels over all pixels and channels."""
    mean, std = cv2.meanStdDev(image.reshape(-1, 1))
    return float(mean[0, 0]), float(std[0, 0])


def _apply_intensity(image: np.ndarray, transform: tuple[float, float] | None) -> np.ndarray:
    """``image * gain + offset`` clipped to 0..255 (float32), or the image itself without a transform."""
    if transform is None:
        return image
    gain, offset = transform
    return np.clip(image.astype(np.float32) * np.float32(gain) + np.float32(offset), 0.0, 255.0)


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """An image resized to ``height`` x ``width`` (area interpolation when shrinking, bilinear otherwise)."""
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    interpolation = cv2.INTER_AREA if height * width < h * w else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def visible_area(geometry: Geometry, input_hw: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray | None:
    """Which pixels of an image (at ``out_hw``, e.g. its eval size) the network input shows: bool (H, W), False
    where a centre crop cut the image off; None when it shows all of it."""
    in_h, in_w = input_hw
    out_h, out_w = out_hw
    height, width = geometry.y1 - geometry.y0, geometry.x1 - geometry.x0
    top = math.ceil(max(0, -geometry.y0) / height * out_h - 1e-9)
    bottom = math.floor((min(in_h, geometry.y1) - geometry.y0) / height * out_h + 1e-9)
    left = math.ceil(max(0, -geometry.x0) / width * out_w - 1e-9)
    right = math.floor((min(in_w, geometry.x1) - geometry.x0) / width * out_w + 1e-9)
    if top <= 0 and left <= 0 and bottom >= out_h and right >= out_w:
        return None
    area = np.zeros((out_h, out_w), bool)
    area[max(0, top):max(0, bottom), max(0, left):max(0, right)] = True
    return area


def map_to_image(input_map: np.ndarray, geometry: Geometry, out_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Bring a map on the network input grid back onto the image (or ``out_hw``), float32.

    Areas of the image that the centre crop removed get the map's minimum.
    """
    in_h, in_w = input_map.shape
    oh, ow = geometry.original_hw
    out_h, out_w = out_hw or (oh, ow)
    # Image extent on the input grid (may reach outside it when cropped).
    y0, y1, x0, x1 = geometry.y0, geometry.y1, geometry.x0, geometry.x1
    fill = float(input_map.min())
    padded_top, padded_left = max(0, -y0), max(0, -x0)
    padded_bottom, padded_right = max(0, y1 - in_h), max(0, x1 - in_w)
    if padded_top or padded_left or padded_bottom or padded_right:
        input_map = cv2.copyMakeBorder(input_map.astype(np.float32), padded_top, padded_bottom, padded_left,
                                       padded_right, cv2.BORDER_CONSTANT, value=fill)
        y0, y1, x0, x1 = y0 + padded_top, y1 + padded_top, x0 + padded_left, x1 + padded_left
    region = np.ascontiguousarray(input_map[y0:y1, x0:x1], dtype=np.float32)
    return cv2.resize(region, (out_w, out_h), interpolation=cv2.INTER_LINEAR)


def eval_size(original_hw: tuple[int, int], long_side: int = 256) -> tuple[int, int]:
    """Size at which maps are stored and pixel metrics computed: the image's aspect, long side <= 256."""
    h, w = original_hw
    scale = min(1.0, long_side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))
