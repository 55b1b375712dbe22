"""The inspection region: the part of every image that is inspected, given as a mask image.

Lines often photograph more than the surface that matters: a fixture, a label,
the background, an edge that varies from part to part. A region mask, white
(> 127) where the part is inspected and black where it is not, is drawn once on
a training image (or at its size) and stretched to every image. It is stored
with the model, so fitting and scoring always use the same region:

- before preprocessing, pixels outside the region are painted with one
  constant colour, so nothing there can look anomalous (the painted area is the
  same in every image, training images included, so the model learns it as
  normal);
- every anomaly map is set, outside the region, to its lowest value inside it
  (or to the good images' median map level, where that is lower), so no heat and
  no box appear there.

A defect outside the region is not found: that is what the region says.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .images import ImageReadError, not_a_mask_reason, read_image

#: a region is stored at most this many pixels on its long side (a mask, not a photo)
MAX_REGION_SIDE = 1024
#: the region's aspect ratio may differ from the training images' median one by at most this fraction
MAX_ASPECT_DIFFERENCE = 0.1
#: stretched copies of the mask kept for reuse (images of one size reuse one; many sizes do not pile up)
RESIZED_KEPT = 8
#: file name of the region inside a saved model folder
REGION_FILE = "region.png"


class InspectionRegion:
    """A boolean mask (True = inspected) that is stretched to each image's size."""

    def __init__(self, mask: np.ndarray, source: str = ""):
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 2 or min(mask.shape) < 1:
            raise ValueError(f"an inspection region is a 2-D mask, not an array of shape {mask.shape}")
        long_side = max(mask.shape)
        if long_side > MAX_REGION_SIDE:
            scale = MAX_REGION_SIDE / long_side
            size = (max(1, round(mask.shape[1] * scale)), max(1, round(mask.shape[0] * scale)))
            mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
        if not mask.any():
            raise ValueError(f"the inspection region{_named(source)} has no white pixel: white marks the area "
                             "to inspect, black the area to ignore")
        self.mask = mask
        self.source = source
        self._resized: dict[tuple[int, int], np.ndarray] = {}

    @classmethod
    def read(cls, source: Path | str | bytes, name: str | None = None) -> "InspectionRegion":
        """Read a region from a mask image file (or its bytes): white (> 127 in any channel) is inspected.

        ``name`` describes where the region came from (e.g. the file a run's copy was made of); a file that
        cannot be read is named by its own path all the same.
        """
        label = name or (str(source) if isinstance(source, (str, Path)) else "uploaded region")
        try:
            rgb = read_image(source, str(source) if isinstance(source, (str, Path)) else label)
        except ImageReadError as exc:
            raise ValueError(f"inspection region: {exc}") from exc
        grey = rgb.max(axis=2)
        if (photo := not_a_mask_reason(grey)) is not None:  # a photo left 42 % inspected (bad-input review)
            raise ValueError(f"the inspection region {label}: {photo}: white marks what is inspected, black what "
                             f"is not")
        return cls(grey > 127, label)

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the stored mask."""
        return int(self.mask.shape[0]), int(self.mask.shape[1])

    @property
    def inspected_share(self) -> float:
        """Fraction of the image that is inspected."""
        return float(self.mask.mean())

    def digest(self) -> str:
        """SHA-256 of the stored mask (its shape and pixels): two regions with one digest are the same."""
        return hashlib.sha256(np.array(self.shape, np.int64).tobytes() + np.packbits(self.mask).tobytes()).hexdigest()

    def mask_for(self, hw: Sequence[int]) -> np.ndarray:
        """The region stretched to (H, W), bool."""
        key = (int(hw[0]), int(hw[1]))
        if key not in self._resized:
            if len(self._resized) >= RESIZED_KEPT:  # images of many sizes: keep memory bounded
                self._resized.clear()
            if key == self.shape:
                self._resized[key] = self.mask
            else:
                self._resized[key] = cv2.resize(self.mask.astype(np.uint8), (key[1], key[0]),
                                                interpolation=cv2.INTER_NEAREST).astype(bool)
        return self._resized[key]

    def apply_to_image(self, image: np.ndarray, fill: Sequence[float]) -> np.ndarray:
        """A copy of an RGB uint8 image with everything outside the region painted in ``fill`` (0..255 RGB)."""
        outside = ~self.mask_for(image.shape[:2])
        if not outside.any():
            return image
        painted = np.array(image, copy=True)
        painted[outside] = np.clip(np.round(np.asarray(fill, np.float64)), 0, 255).astype(np.uint8)
        return painted

    def check_fits(self, sizes: Sequence[tuple[int, int]]) -> None:
        """Refuse a region whose aspect ratio is unlike the images' (median) one: it was drawn for other images."""
        if not sizes:
            return
        image_aspect = float(np.median([w / h for h, w in sizes]))
        region_aspect = self.shape[1] / self.shape[0]
        if abs(region_aspect / image_aspect - 1.0) > MAX_ASPECT_DIFFERENCE:
            h, w = sorted(sizes)[len(sizes) // 2]
            raise ValueError(
                f"the inspection region{_named(self.source)} is {self.shape[1]}x{self.shape[0]} px (width / height "
                f"{region_aspect:.2f}) but the training images are about {w}x{h} px ({image_aspect:.2f}): draw the "
                f"region on a training image or at its size; it is stretched to every image")

    def to_png(self) -> bytes:
        """The mask as a black-and-white PNG (how a model stores it)."""
        ok, encoded = cv2.imencode(".png", self.mask.astype(np.uint8) * 255)
        if not ok:
            raise ValueError("the inspection region could not be encoded as PNG")
        return encoded.tobytes()

    def describe(self) -> dict[str, object]:
        """JSON-ready summary for a run's configuration."""
        return {"source": self.source, "height": self.shape[0], "width": self.shape[1],
                "inspected_share": round(self.inspected_share, 4), "sha256": self.digest()}


def _named(source: str) -> str:
    return f" ({source})" if source else ""
