"""Image and mask reading with one consistent conversion for every input kind.

Every image, whatever it is on disk (grayscale, RGB, RGBA, palette, 8 or 16 bit),
becomes an RGB ``uint8`` array of shape (H, W, 3):

- 16-bit and 32-bit integer images are scaled by their type's full range
  (``value / 65535 * 255``), so that brightness means the same in every file;
  a 16-bit grayscale image from a camera of fewer bits (10, 12, 14: its
  values stop at 1023, 4095, 16383) is scaled by that camera's range instead
  when ``bit_depth`` says so (``value / 4095 * 255`` for 12 bits, higher values
  clipped): otherwise a 12-bit image keeps only 16 of the 256 grey levels.
  Pillow reads 16-bit colour files at 8 bits whatever ``bit_depth`` says;
- float images are taken as 0..1;
- grayscale is replicated to three channels;
- alpha is composited over black (a transparent background reads as "no part");
- an EXIF orientation (a camera or phone that stores its pixels sideways) is
  applied, so every image, and its mask and size, is the way an image viewer
  shows it.

:class:`ImageFiles` is a sequence of images that are decoded when asked for, for
image sets too large to hold decoded in memory.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence, overload

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
MAX_IMAGE_PIXELS = 64_000_000  # 8000 x 8000: larger files are refused, not silently decoded
MAX_IMAGE_BYTES = 50 * 1024 * 1024
#: significant bits of 16-bit grayscale images that can be declared (``bit_depth``); 16 is the default
BIT_DEPTHS = tuple(range(8, 17))
#: EXIF orientations that turn the stored image by 90 degrees (width and height swap when it is shown)
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


class ImageReadError(ValueError):
    """An image or mask file cannot be read; the message names the file and the reason."""


def is_image_path(path: Path) -> bool:
    """True when the file name has a supported image suffix (case-insensitive)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def _open(source: Path | bytes, name: str, max_bytes: int | None = MAX_IMAGE_BYTES) -> Image.Image:
    if isinstance(source, bytes):
        if not source:
            raise ImageReadError(f"{name}: the file is empty (0 bytes)")
        if max_bytes is not None and len(source) > max_bytes:
            raise ImageReadError(
                f"{name}: file is {len(source) / 2**20:.1f} MB, larger than the "
                f"{max_bytes / 2**20:.0f} MB limit"
            )
        stream: io.BytesIO | Path = io.BytesIO(source)
    else:
        stream = source
    try:
        image = Image.open(stream)
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise ImageReadError(
                f"{name}: {image.width}x{image.height} pixels is larger than the "
                f"{MAX_IMAGE_PIXELS:,} pixel limit"
            )
        image.load()
        if _orientation(image) != 1:
            ImageOps.exif_transpose(image, in_place=True)
    except ImageReadError:
        raise
    except FileNotFoundError as exc:
        raise ImageReadError(f"{name}: file not found") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{name}: not a readable image (no valid PNG, JPEG, BMP, TIFF or WebP data: the file "
                             f"is damaged or in another format)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{name}: not a readable image ({exc.__class__.__name__}: {exc})") from exc
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{name}: image is too large to decode safely") from exc
    return image


def _orientation(image: Image.Image) -> int:
    """The image's EXIF orientation, 1 (as stored) when it has none."""
    return int(image.getexif().get(ExifTags.Base.Orientation, 1))


def check_bit_depth(bit_depth: object) -> int:
    """``bit_depth`` as an int; ``ValueError`` unless it is a whole number of bits in :data:`BIT_DEPTHS`."""
    if isinstance(bit_depth, bool) or not isinstance(bit_depth, (int, float)) or bit_depth not in BIT_DEPTHS:
        raise ValueError(f"bit_depth must be the significant bits of 16-bit images, a whole number from "
                         f"{BIT_DEPTHS[0]} to {BIT_DEPTHS[-1]}, not {bit_depth!r}")
    return int(bit_depth)


def to_rgb_array(image: Image.Image, bit_depth: int = 16) -> np.ndarray:
    """Convert any PIL image to an RGB uint8 array with the rules in the module docstring; ``bit_depth``: the
    significant bits of a 16-bit grayscale image."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        sixteen_bit = mode.startswith("I;16") or values.max(initial=0) <= 65535
        full_range = 2.0 ** check_bit_depth(bit_depth) - 1 if sixteen_bit else 2**31 - 1
        gray = np.clip(values / full_range * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        gray = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        return np.clip(rgba[..., :3] * alpha + 0.5, 0, 255).astype(np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def read_image(source: Path | str | bytes, name: str | None = None,
               max_bytes: int | None = MAX_IMAGE_BYTES, bit_depth: int = 16) -> np.ndarray:
    """Read an image file (or its bytes) as an RGB uint8 array of shape (H, W, 3).

    ``max_bytes`` limits bytes given directly (an upload); ``None``: no limit (a file already on disk that
    was read whole). Every image is limited to ``MAX_IMAGE_PIXELS``. ``bit_depth``: the significant bits of
    16-bit grayscale images (see the module docstring).
    """
    if isinstance(source, (str, Path)):
        source = Path(source)
        name = name or str(source)
    return to_rgb_array(_open(source, name or "uploaded image", max_bytes), bit_depth)


def is_sixteen_bit_grayscale(path: Path | str) -> bool:
    """Whether an image file holds 16-bit grayscale pixels (read from its header; False if it is no image)."""
    try:
        with Image.open(path) as image:
            return image.mode.startswith("I;16") or image.mode == "I"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def read_file_bytes(path: Path | str) -> bytes:
    """A file's bytes, with ``ImageReadError`` naming the file if it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ImageReadError(f"{path}: file not found") from exc
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def stored_size(path: Path | str) -> tuple[int, int]:
    """(H, W) of an image file as it is shown (its EXIF orientation applied), read from its header without
    decoding the pixels; ``ImageReadError`` if it is not an image."""
    try:
        with Image.open(path) as image:
            # Pillow's TIFF reader gives the size as shown already (and turns the pixels when it loads them)
            if _orientation(image) in _QUARTER_TURNS and image.format != "TIFF":
                return image.width, image.height
            return image.height, image.width
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: not a readable image ({exc.__class__.__name__}: {exc})") from exc


def read_mask(path: Path | str, expected_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Read a ground-truth mask as a boolean (H, W) array, binarised at > 127.

    Raises ``ImageReadError`` if ``expected_hw`` is given and the mask size differs.
    """
    path = Path(path)
    image = _open(path, str(path))
    rgb = to_rgb_array(image)
    mask = rgb.max(axis=2) > 127
    if expected_hw is not None and mask.shape != tuple(expected_hw):
        raise ImageReadError(
            f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} px but its image is "
            f"{expected_hw[1]}x{expected_hw[0]} px"
        )
    return mask


class ImageFiles(Sequence[np.ndarray]):
    """A sequence of images that holds file paths, not pixels: each image is decoded when it is asked for.

    Used for image sets too large to hold decoded in memory; wherever a method takes a
    ``Sequence[np.ndarray]``, it works batch by batch, so at most a batch of decoded
    images is alive at a time. ``shapes`` are the images' (H, W), known without decoding; ``bit_depth`` as
    in :func:`read_image`.
    """

    def __init__(self, paths: Sequence[Path | str], shapes: Sequence[tuple[int, int]], bit_depth: int = 16):
        if len(paths) != len(shapes):
            raise ValueError(f"{len(paths)} paths but {len(shapes)} shapes")
        self.paths = [Path(p) for p in paths]
        self.shapes = [(int(h), int(w)) for h, w in shapes]
        self.bit_depth = check_bit_depth(bit_depth)

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> list[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(index, slice):
            return [read_image(path, bit_depth=self.bit_depth) for path in self.paths[index]]
        return read_image(self.paths[index], bit_depth=self.bit_depth)


def image_subset(images: Sequence[np.ndarray], indices: Sequence[int]) -> Sequence[np.ndarray]:
    """``images[i] for i in indices`` without decoding anything: a list of the same arrays, or
    :class:`ImageFiles` of the chosen files."""
    if isinstance(images, ImageFiles):
        return ImageFiles([images.paths[i] for i in indices], [images.shapes[i] for i in indices], images.bit_depth)
    return [images[i] for i in indices]


def image_shapes(images: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """(H, W) of every image; read from :class:`ImageFiles` without decoding."""
    if isinstance(images, ImageFiles):
        return list(images.shapes)
    return [(image.shape[0], image.shape[1]) for image in images]
