"""Image and mask reading with one consistent conversion for every input kind.

Every image, whatever it is on disk (grayscale, RGB, RGBA, palette, 8 or 16 bit),
becomes an RGB ``uint8`` array of shape (H, W, 3):

- 16-bit integer images are scaled by their type's full range
  (``value / 65535 * 255``), so that brightness means the same in every file;
  a 16-bit image (grayscale or colour) from a camera of fewer bits (10, 12, 14:
  its values stop at 1023, 4095, 16383) is scaled by that camera's range
  instead when ``bit_depth`` says so (``value / 4095 * 255`` for 12 bits; a file
  with a higher value is refused, as not of that bit depth): otherwise a 12-bit
  image keeps only 16 of the 256 grey levels. Pillow reads 16-bit colour files
  (and 16-bit grayscale with alpha) at 8 bits (the high byte of each value), so their pixels are decoded
  by OpenCV, oriented as Pillow shows them and checked against Pillow's 8 bits;
- float images are taken as 0 (black) to 1 (white); one with values outside
  that range (beyond rounding), NaN or infinity is refused, not clipped;
- 32-bit or signed integer images are refused: their type says nothing of the
  range the values fill (16-bit values stored in 32 bits look like any other);
- a file that holds several images of one size (a multi-page TIFF stack, an
  animated WebP) is refused: one file is one image to judge, and judging its
  first page alone could pass a defect on another; in a file whose pages
  differ in size (a TIFF with a preview or thumbnail page) the largest page is
  the image of the part and is the one read, wherever it lies in the file;
- grayscale is replicated to three channels;
- alpha is composited over black (a transparent background reads as "no part");
- an EXIF orientation (a camera or phone that stores its pixels sideways) is
  applied, so every image, and its mask and size, is the way an image viewer
  shows it.

:class:`ImageFiles` is a sequence of images that are decoded when asked for, for
image sets too large to hold decoded in memory.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import warnings
from collections import Counter
from pathlib import Path
from typing import Callable, NamedTuple, Sequence, overload

import cv2
import numpy as np
import simplejpeg
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
#: the formats VQI decodes, as Pillow names them (a JPEG holding a second picture, as some cameras write, opens as a
#: JPEG and is then called MPO): a GIF or an icon under an image suffix is refused as a GIF or an icon under its own
#: suffix is (bad-input review)
READ_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")
Image.init()  # registers every Pillow plugin: Image.open(formats=...) looks each format up without loading its plugin
MAX_IMAGE_PIXELS = 64_000_000  # 8000 x 8000: larger files are refused, not silently decoded
TOO_MANY_PIXELS = f"more pixels than the {MAX_IMAGE_PIXELS:,} pixel limit"


def hide_pillow_warnings() -> None:
    """Keep Pillow's warnings off the terminal, for the process (the command line and the dashboard call it once:
    ``warnings.catch_warnings`` around each read would change the filters of every thread while it decodes). VQI
    names every image it cannot read with the file and the reason; Pillow's warnings name no file: its
    decompression-bomb warning for 89-179 megapixels (over VQI's own 64-megapixel limit) and its ``UserWarning``s
    of EXIF data it cannot parse ("Corrupt EXIF data", "Tag data larger than file. Skipping tag"), after which
    the image is read as stored."""
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")


def too_many_pixels(exc: Image.DecompressionBombError) -> str:
    """Why an image Pillow refused as a decompression bomb is not read: its pixel count where Pillow's message
    gives it (found by review: other oversized images were named with their size, these without)."""
    found = re.search(r"Image size \((\d+) pixels\)", str(exc))
    return f"{int(found.group(1)):,} pixels is larger than the {MAX_IMAGE_PIXELS:,} pixel limit" if found \
        else TOO_MANY_PIXELS
MAX_IMAGE_BYTES = 50 * 1024 * 1024
#: the largest file read from a dataset or a folder: over the size of MAX_IMAGE_PIXELS 16-bit RGBA pixels unpacked
MAX_FILE_BYTES = 1024 ** 3
#: why a file of 0 bytes is not read (decoding, and listing a folder: :mod:`vqi_core.datasets`)
EMPTY_FILE = "the file is empty (0 bytes)"
#: why a file whose data no decoder recognises is skipped (the same words for a folder's file and an upload)
UNIDENTIFIED = ("not a readable image (no valid PNG, JPEG, BMP, TIFF or WebP data: the file is damaged or in "
                "another format)")


#: why a file cut short is skipped, whichever of Pillow's words for it ("image file is truncated", "Truncated File
#: Read") its decoder used (the same file read two ways had been given both: browser review)
CUT_SHORT = "not a readable image (the file ends early: cut short, e.g. an unfinished copy or download)"


#: why a TIFF that Pillow cannot open is skipped: a valid colour TIFF of floating-point samples (OpenCV writes them)
#: had been called damaged (bad-input review)
UNDECODABLE_TIFF = ("not a readable image: a TIFF VQI cannot decode (floating-point colour, another sample format, "
                    "or damaged; VQI reads 8- and 16-bit TIFFs, and floating-point grayscale from 0 to 1): save it "
                    "as an 8- or 16-bit TIFF or PNG")
#: how a TIFF file begins (little- and big-endian; classic and BigTIFF)
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def unreadable_reason(exc: Exception, source: Path | bytes | io.BytesIO | None = None) -> str:
    """Why a file that Pillow cannot open or decode is not a readable image, in the same words everywhere;
    ``source`` (the file or its bytes): a TIFF Pillow cannot open is said as one."""
    if isinstance(exc, UnidentifiedImageError):
        if _begins_as_tiff(source):
            return UNDECODABLE_TIFF
        other = _other_format(source)
        return (f"not a readable image: it holds {other} data, which VQI does not read (it reads PNG, JPEG, BMP, TIFF "
                f"and WebP): save it as one of those" if other else UNIDENTIFIED)
    if "truncated" in str(exc).lower():
        return CUT_SHORT
    checksum = re.search(r"broken PNG file \(bad header checksum in b'(\w+)'\)", str(exc))
    if checksum:  # Pillow's words name a Python exception and call pixel data a header (bad-input review)
        what = "its pixel data" if checksum.group(1) == "IDAT" else f"its {checksum.group(1)} chunk"
        return f"not a readable image (a damaged PNG: the checksum of {what} does not match)"
    if re.search(r"(broken|unrecognized) data stream", str(exc)):  # Pillow's for data that does not decompress
        return "not a readable image (damaged: its compressed pixel data cannot be decoded)"
    return f"not a readable image ({exc.__class__.__name__}: {exc})"


def jpeg_damage(data: bytes) -> str | None:
    """libjpeg's words for damaged compressed data in a JPEG, which Pillow decodes without a word into grey or smeared
    blocks (a garbled JPEG had been learnt as a good part: bad-input review); None for intact data. Warnings that
    leave every pixel as it was written (an unusual scan header, stray bytes between header segments, which some
    cameras and editors write: code review) are not damage; compressed data left over before a restart, scan or end
    marker is: the decoder lost step with the data before it. Not every garbling can be found: JPEG holds no
    checksum, and garbage that decodes to whole blocks passes (36 of 40 seeded garblings found: code review)."""
    try:  # decoded at 1/8 scale: every bit of the compressed data is still read, in a fraction of the time
        simplejpeg.decode_jpeg(data, strict=True, min_factor=8, min_height=1, min_width=1)
    except ValueError as exc:
        message = str(exc)
        between_segments = re.search(r"extraneous bytes before marker 0x(\w\w)", message)
        if between_segments and not 0xD0 <= int(between_segments.group(1), 16) <= 0xDA:  # not after compressed data
            return None
        if message.startswith(("Corrupt JPEG data", "Premature end of JPEG file")):
            return message
    return None


def _other_format(source: Path | bytes | io.BytesIO | None) -> str | None:
    """The format Pillow finds in a file VQI does not read (a GIF or an icon under an image suffix had been called
    damaged or "in another format": QE review); None where Pillow finds none."""
    if source is None:
        return None
    try:
        opened = source if isinstance(source, (str, Path, io.BytesIO)) else io.BytesIO(bytes(source))
        with Image.open(opened) as image:  # its header only
            return image.format if image.format not in READ_FORMATS else None
    except Exception:  # Pillow raises many types for files it cannot identify: the general words then
        return None


def _begins_as_tiff(source: Path | bytes | io.BytesIO | None) -> bool:
    """Whether a file (a path, its bytes or a stream of them) begins as a TIFF does."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as handle:
                head = handle.read(4)
        elif isinstance(source, io.BytesIO):
            head = source.getvalue()[:4]
        else:
            head = bytes(source[:4]) if source is not None else b""
    except OSError:
        return False
    return head in TIFF_SIGNATURES


#: how far outside 0..1 a floating-point pixel may lie (rounding) before the image is refused
FLOAT_RANGE_TOLERANCE = 1e-3
#: pixels converted to RGB at a time (a band of whole rows): the floating-point steps of a whole 16-bit colour image
#: of 64 megapixels took 5.3 GB at once (bad-input review); a band's take tens of MB, with the same result
BAND_PIXELS = 2 ** 20
#: significant bits of 16-bit grayscale images that can be declared (``bit_depth``); 16 is the default
BIT_DEPTHS = tuple(range(8, 17))
#: EXIF orientations that turn the stored image by 90 degrees (width and height swap when it is shown)
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
#: how each EXIF orientation turns stored pixels (H, W, ...) into the image as shown, as Pillow's exif_transpose
_SHOWN_AS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda pixels: pixels,
    2: lambda pixels: pixels[:, ::-1],
    3: lambda pixels: pixels[::-1, ::-1],
    4: lambda pixels: pixels[::-1],
    5: lambda pixels: pixels.swapaxes(0, 1),
    6: lambda pixels: np.rot90(pixels, -1),
    7: lambda pixels: pixels[::-1, ::-1].swapaxes(0, 1),
    8: lambda pixels: np.rot90(pixels, 1),
}


class ImageReadError(ValueError):
    """An image or mask file cannot be read; the message names the file and the reason."""

    #: the SHA-256 of the file's bytes where they were read but do not decode ("" otherwise)
    sha256: str = ""

    def reason_for(self, file: Path | str) -> str:
        """The message without its leading ``file: ``, for a list that names the file beside it already."""
        return str(self).removeprefix(f"{file}: ")


class BitDepthError(ImageReadError):
    """A 16-bit file with a value above the bit depth it is read at: not an image of that bit depth. Training and
    the checks stop on it, as a setting too low for the images (skipping such files one by one would keep only the
    darker images, found by review); scoring new images refuses that image."""


def bit_depth_too_low(exc: BitDepthError, bit_depth: int) -> str:
    """Why reading a set of images (to train, check or split) stops on :class:`BitDepthError`, and what to do,
    in words for the command line and the Train page alike (plain text: the page showed backticks and pointed to
    "the Train page's" from the Train page: browser review)."""
    return (f"{exc}. A bit depth of {bit_depth} is too low for these images: give the camera's bit depth (--bit-depth "
            f"on the command line, \"Bit depth of the 16-bit images\" on the Train page; 16 reads 16-bit files at "
            f"their full range)")


def is_image_path(path: Path) -> bool:
    """True when the file name has a supported image suffix (case-insensitive)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


class _Opened(NamedTuple):
    """A decoded Pillow image, and for a 16-bit colour file (which Pillow decodes at 8 bits) the EXIF
    orientation that OpenCV's decoding of its pixels still needs (``None`` for any other file) and the page
    that was read (see :func:`main_page`)."""

    image: Image.Image
    sixteen_bit_colour_orientation: int | None
    page: int = 0


def _open(source: Path | bytes, name: str, max_bytes: int | None = MAX_IMAGE_BYTES) -> _Opened:
    if isinstance(source, bytes):
        if not source:
            raise ImageReadError(f"{name}: {EMPTY_FILE}")
        if max_bytes is not None and len(source) > max_bytes:
            raise ImageReadError(
                f"{name}: file is {len(source) / 2**20:.1f} MB, larger than the "
                f"{max_bytes / 2**20:.0f} MB limit"
            )
        stream: io.BytesIO | Path = io.BytesIO(source)
    else:
        stream = source
    with contextlib.ExitStack() as opened:  # a file refused after opening is closed, not left to the collector
        try:
            if isinstance(stream, Path) and stream.exists() and not stream.is_file():
                what = "a folder" if stream.is_dir() else "not a regular file (a named pipe or a device)"
                raise ImageReadError(f"{name}: {what}")  # opening a pipe to read a header would wait forever
            if isinstance(stream, Path) and stream.is_file() and stream.stat().st_size == 0:
                raise ImageReadError(f"{name}: {EMPTY_FILE}")
            image = Image.open(stream, formats=READ_FORMATS)
            opened.callback(image.close)  # closed unless it is returned
            stacked = stacked_images_problem(image)
            if stacked:
                raise ImageReadError(f"{name}: {stacked}")
            page = main_page(image)
            if page:
                image.seek(page)
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ImageReadError(
                    f"{name}: {image.width}x{image.height} pixels is larger than the "
                    f"{MAX_IMAGE_PIXELS:,} pixel limit"
                )
            if len(image.getbands()) == 1 and any(
                    tile.codec_name == "raw" and tile.extents is not None
                    and (tile.extents[2] > image.width or tile.extents[3] > image.height) for tile in image.tile):
                # Pillow gives an uncompressed grayscale TIFF stored sideways its shown size, but decodes its rows as
                # stored (Pillow 13; colour ones and compressed ones are turned correctly)
                raise ImageReadError(f"{name}: an uncompressed grayscale TIFF stored sideways (EXIF orientation "
                                     f"{_orientation(image)}), which would be decoded as scrambled pixels: save it "
                                     f"with LZW or deflate compression, or turned upright without the orientation tag")
            sixteen_bit_colour_orientation = None
            if _is_sixteen_bit_colour(image):  # OpenCV turns a TIFF's pixels by its orientation tag, not a PNG's
                sixteen_bit_colour_orientation = 1 if image.format == "TIFF" else _orientation(image)
            image.load()
            if image.format in ("JPEG", "MPO"):
                damage = jpeg_damage(source if isinstance(source, bytes) else read_file_bytes(source))
                if damage:
                    raise ImageReadError(f"{name}: not a readable image (damaged JPEG data, \"{damage}\": parts of it "
                                         f"would be decoded as grey or smeared blocks; copy or capture it again)")
            if _orientation(image) != 1:
                ImageOps.exif_transpose(image, in_place=True)
        except ImageReadError:
            raise
        except FileNotFoundError as exc:
            raise ImageReadError(f"{name}: file not found") from exc
        except (OSError, SyntaxError, ValueError) as exc:  # UnidentifiedImageError is an OSError
            raise ImageReadError(f"{name}: {unreadable_reason(exc, stream)}") from exc
        except Image.DecompressionBombError as exc:  # Pillow's own limit, far above VQI's: refused before decoding
            raise ImageReadError(f"{name}: {too_many_pixels(exc)}") from exc
        opened.pop_all()
    return _Opened(image, sixteen_bit_colour_orientation, page)


def _is_sixteen_bit_colour(image: Image.Image) -> bool:
    """Whether a file Pillow has opened but not decoded holds 16-bit colour pixels, or 16-bit grayscale with
    alpha (which it decodes at 8 bits as RGB or RGBA: its raw mode is ``RGB;16B``, ``LA;16B`` and the like)."""
    if not isinstance(image, ImageFile.ImageFile) or image.mode not in ("RGB", "RGBA") or not image.tile:
        return False
    args = image.tile[0].args
    raw_mode = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else None
    return isinstance(raw_mode, str) and ";16" in raw_mode


def _sixteen_bit_colour_pixels(source: Path | bytes, name: str, orientation: int,
                               eight_bit: Image.Image, page: int = 0) -> np.ndarray:
    """The 16-bit RGB or RGBA pixels of a 16-bit colour file as shown, decoded by OpenCV and turned by the EXIF
    ``orientation`` that OpenCV leaves out; ``eight_bit`` is Pillow's 8-bit decoding of the same file (of its
    ``page``) as shown, which must hold their high bytes (so that both agree on the image and its orientation)."""
    data = np.frombuffer(source if isinstance(source, bytes) else read_file_bytes(source), np.uint8)
    if page:
        decoded, pages = cv2.imdecodemulti(data, cv2.IMREAD_UNCHANGED)
        stored = pages[page] if decoded and page < len(pages) else None
    else:
        stored = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if stored is None or stored.dtype != np.uint16 or stored.ndim != 3 or stored.shape[2] not in (3, 4):
        raise ImageReadError(f"{name}: its 16-bit colour pixels cannot be decoded (OpenCV cannot read the file)")
    channels = [2, 1, 0, 3][:stored.shape[2]]  # OpenCV's BGR(A) to RGB(A)
    shown = _SHOWN_AS.get(orientation, _SHOWN_AS[1])(stored[..., channels])  # a copy: ``stored`` can go
    del stored
    pixels = np.ascontiguousarray(shown)
    high_bytes = np.asarray(eight_bit)
    if pixels.shape != high_bytes.shape or not all(
            np.array_equal(pixels[rows] >> 8, high_bytes[rows]) for rows in row_bands(*pixels.shape[:2])):
        raise ImageReadError(f"{name}: its 16-bit colour pixels decode differently in Pillow and OpenCV; save it "
                             f"again as a plain 16-bit PNG or TIFF")
    return pixels


def _check_values_fit(values: np.ndarray, bit_depth: int, name: str) -> float:
    """The full range of ``bit_depth``-bit values; ``ImageReadError`` where the 16-bit ``values`` go above it: the
    bit depth given is too low for the file, whose brighter part would be clipped to white (a 16-bit camera's
    image read as 12 bits turned wholly white, found by review)."""
    full_range = 2.0 ** check_bit_depth(bit_depth) - 1
    highest = float(values.max()) if values.size else 0.0
    if highest > full_range:
        a = "an" if bit_depth in (8, 11) else "a"  # "an 8-bit", "an 11-bit" (review: "a 8-bit")
        raise BitDepthError(f"{name}: 16-bit values up to {highest:,.0f}, above {full_range:,.0f}, the highest "
                            f"{a} {bit_depth}-bit camera gives: not {a} {bit_depth}-bit image, and read at {bit_depth} "
                            f"bits its brighter part would be clipped to white")
    return full_range


def _sixteen_bit_colour_to_rgb(pixels: np.ndarray, bit_depth: int = 16, name: str = "image") -> np.ndarray:
    """16-bit RGB or RGBA pixels (H, W, 3 or 4) as an RGB uint8 array with the rules in the module docstring;
    ``bit_depth``: the significant bits of the colour values (alpha always uses the full 16 bits; a colour value
    above them is refused, see :func:`_check_values_fit`)."""
    full_range = _check_values_fit(pixels[..., :3], bit_depth, name)

    def convert(band: np.ndarray) -> np.ndarray:
        rgb = band[..., :3].astype(np.float64) / full_range * 255.0
        if band.shape[2] == 4:
            rgb *= band[..., 3:4] / 65535.0
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)

    return _rgb_in_bands(convert, pixels)


def row_bands(height: int, width: int) -> list[slice]:
    """Bands of whole rows of an image, each of about :data:`BAND_PIXELS` pixels, top to bottom: per-pixel work on
    a large image a band at a time holds the floating-point copies of one band, not of the whole image."""
    rows = max(1, BAND_PIXELS // max(1, width))
    return [slice(top, top + rows) for top in range(0, height, rows)]


def _rgb_in_bands(convert: Callable[[np.ndarray], np.ndarray], pixels: np.ndarray) -> np.ndarray:
    """``convert``, a per-pixel conversion of rows of ``pixels`` to RGB uint8, applied a band of rows at a time
    (:func:`row_bands`): the same array as converting the whole image at once, without its floating-point copies."""
    rgb = np.empty((*pixels.shape[:2], 3), np.uint8)
    for rows in row_bands(*pixels.shape[:2]):
        rgb[rows] = convert(pixels[rows])
    return rgb


def _gray_as_rgb(gray: np.ndarray) -> np.ndarray:
    """Grey levels 0..255 (floating point, H x W) rounded to uint8 and repeated as R, G and B."""
    return np.repeat(np.clip(gray + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def _page_sizes(image: Image.Image) -> list[tuple[int, int]]:
    """(W, H) of every page or frame of an opened file, read from the headers; leaves the image at its first
    page."""
    n_frames = int(getattr(image, "n_frames", 1))
    if n_frames <= 1:
        return [image.size]
    sizes = []
    try:
        for index in range(n_frames):
            image.seek(index)
            sizes.append(image.size)
    finally:
        image.seek(0)
    return sizes


def main_page(image: Image.Image) -> int:
    """The index of the page that is the image of the part: the largest (by pixels, the first of equals), so
    that a TIFF's preview or thumbnail page is never read instead, wherever it lies; 0 for a file of one image.
    Reads the headers only, and leaves the image at its first page."""
    sizes = _page_sizes(image)
    return max(range(len(sizes)), key=lambda index: (sizes[index][0] * sizes[index][1], -index))


#: a page of at most this share of the largest page's pixels is a preview or thumbnail, not another image of the
#: part (a page of more is one: it may show a defect)
PREVIEW_AREA_SHARE = 0.5


def stacked_images_problem(image: Image.Image) -> str | None:
    """Why a file that holds several images (TIFF pages, WebP frames) is refused; None for a file of one image
    (pages of at most :data:`PREVIEW_AREA_SHARE` of the largest's pixels, such as a preview, do not count: a second
    page a few pixels smaller than the first had been dropped without a word, and a defect on it passed: bad-input
    review). Reads the headers only, and leaves the image at its first page."""
    sizes = _page_sizes(image)
    largest = max(width * height for width, height in sizes)
    image_sizes = Counter((width, height) for width, height in sizes if width * height > PREVIEW_AREA_SHARE * largest)
    count = sum(image_sizes.values())
    if count == 1:
        return None
    by_area = sorted(image_sizes.items(), key=lambda item: -item[0][0] * item[0][1])  # the largest first
    shown = ", ".join(f"{times} of {width}x{height}" if times > 1 else f"{width}x{height}"  # not 30 sizes in a row
                      for (width, height), times in by_area)  # (code review)
    return (f"the file holds {count} images ({image.format} pages or frames: {shown} px); VQI judges one image per "
            "file, so save each as its own file")


def _orientation(image: Image.Image) -> int:
    """The image's EXIF orientation, 1 (as stored) when it has none or its EXIF data cannot be read."""
    return int(image.getexif().get(ExifTags.Base.Orientation, 1))


def check_bit_depth(bit_depth: object) -> int:
    """``bit_depth`` as an int; ``ValueError`` unless it is a whole number of bits in :data:`BIT_DEPTHS`."""
    if isinstance(bit_depth, bool) or not isinstance(bit_depth, (int, float)) or bit_depth not in BIT_DEPTHS:
        raise ValueError(f"bit_depth must be the significant bits of 16-bit images, a whole number from "
                         f"{BIT_DEPTHS[0]} to {BIT_DEPTHS[-1]}, not {bit_depth!r}")
    return int(bit_depth)


def to_rgb_array(image: Image.Image, bit_depth: int = 16, name: str = "image") -> np.ndarray:
    """Convert any PIL image to an RGB uint8 array with the rules in the module docstring; ``bit_depth``: the
    significant bits of a 16-bit grayscale image (Pillow holds colour images at 8 bits); ``name`` names the
    image in the ``ImageReadError`` of a floating-point image outside 0..1."""
    mode = image.mode
    if mode == "I":
        raise ImageReadError(f"{name}: 32-bit or signed integer pixels, which VQI does not guess a range for: save "
                             "the image as 8- or 16-bit unsigned integers (or as floating point from 0 to 1)")
    if mode.startswith("I;16"):
        values = np.asarray(image)
        full_range = _check_values_fit(values, bit_depth, name)
        return _rgb_in_bands(lambda rows: _gray_as_rgb(rows.astype(np.float64) / full_range * 255.0), values)
    if mode == "F":
        values = np.asarray(image)  # float32: float64 only a band at a time
        if not np.isfinite(values).all():
            raise ImageReadError(f"{name}: floating-point pixels that are NaN or infinite: save the image as 8- or "
                                 "16-bit")
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if low < -FLOAT_RANGE_TOLERANCE or high > 1 + FLOAT_RANGE_TOLERANCE:
            raise ImageReadError(f"{name}: floating-point pixels from {low:g} to {high:g}; VQI reads a floating-point "
                                 "image as 0 (black) to 1 (white): save it as 8- or 16-bit, or scaled to 0..1")
        return _rgb_in_bands(lambda rows: _gray_as_rgb(rows.astype(np.float64) * 255.0), values)
    if _has_alpha(image):
        return _rgb_in_bands(_over_black, np.asarray(image.convert("RGBA")))
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _over_black(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 pixels composited over black, as RGB uint8."""
    values = rgba.astype(np.float32)
    return np.clip(values[..., :3] * (values[..., 3:4] / 255.0) + 0.5, 0, 255).astype(np.uint8)


def _has_alpha(image: Image.Image) -> bool:
    """Whether ``image`` has an alpha channel or a transparent palette entry (composited over black when read)."""
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _transparent_share(alpha: np.ndarray) -> float:
    """The share of pixels whose ``alpha`` (uint8) is not fully opaque, which :func:`read_image` reads over black."""
    return float(np.count_nonzero(alpha < 255)) / alpha.size if alpha.size else 0.0


def transparent_share_text(share: float) -> str:
    """A share of (partly) transparent pixels in words: "40%", or "under 1%" where rounding would say 0%."""
    return f"{share:.0%}" if share >= 0.01 else "under 1%"


def transparency_note(share: float) -> str | None:
    """What a new image's transparency does to how it is judged, in words (None without transparency): a cut-out
    part reads as a part on black, which its score and any "unlike the training images" note are about. A
    half-transparent pixel counts, as "(partly)": an image half-transparent everywhere had read as 100 %
    transparent (browser review)."""
    if share <= 0:
        return None
    return (f"{transparent_share_text(share)} of its pixels (partly) transparent: darkened, as VQI reads every image "
            f"over black")


def read_image(source: Path | str | bytes | bytearray | memoryview, name: str | None = None,
               max_bytes: int | None = MAX_IMAGE_BYTES, bit_depth: int = 16) -> np.ndarray:
    """Read an image file (or its bytes) as an RGB uint8 array of shape (H, W, 3).

    ``max_bytes`` limits bytes given directly (an upload); ``None``: no limit (a file already on disk that
    was read whole). Every image is limited to ``MAX_IMAGE_PIXELS``. ``bit_depth``: the significant bits of
    16-bit images (see the module docstring).
    """
    return read_image_and_transparency(source, name, max_bytes, bit_depth)[0]


def read_image_and_transparency(source: Path | str | bytes | bytearray | memoryview, name: str | None = None,
                                max_bytes: int | None = MAX_IMAGE_BYTES,
                                bit_depth: int = 16) -> tuple[np.ndarray, float]:
    """:func:`read_image`'s array, and the share of the image's pixels that are not fully opaque, which it reads
    over black (0.0 without transparency), from one decoding of the file."""
    bit_depth = check_bit_depth(bit_depth)  # checked for every file, not only the first 16-bit one (bad-input review)
    if isinstance(source, (bytearray, memoryview)):  # bytes in another container (API review: an AttributeError)
        source = bytes(source)
    if isinstance(source, (str, Path)):
        source = Path(source)
        name = name or str(source)
    name = name or "uploaded image"
    image, orientation, page = _open(source, name, max_bytes)
    with image:  # a multi-page file stays open after decoding until closed
        rgba = np.asarray(image.convert("RGBA")) if _has_alpha(image) else None  # converted once, for both
        transparent = _transparent_share(rgba[..., 3]) if rgba is not None else 0.0
        if orientation is not None:
            return _sixteen_bit_colour_to_rgb(_sixteen_bit_colour_pixels(source, name, orientation, image, page),
                                              bit_depth, name), transparent
        rgb = to_rgb_array(image, bit_depth, name) if rgba is None else _rgb_in_bands(_over_black, rgba)
    return rgb, transparent


def is_sixteen_bit(path: Path | str | io.BytesIO) -> bool:
    """Whether an image file (or its bytes) holds 16-bit pixels, grayscale or colour (read from its header; False
    if it is no image)."""
    try:
        with Image.open(path, formats=READ_FORMATS) as image:
            image.seek(main_page(image))
            return image.mode.startswith("I;16") or _is_sixteen_bit_colour(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False  # (one too large to read is refused, with the reason, where it is read)


def read_file_bytes(path: Path | str) -> bytes:
    """A file's bytes, with ``ImageReadError`` naming the file if it cannot be read, is not a regular file (a device
    or a pipe would be read for ever, or wait for a writer) or is larger than ``MAX_FILE_BYTES``."""
    try:  # opened without waiting for a pipe's writer; what was opened is checked, then read
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | getattr(os, "O_NONBLOCK", 0))) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ImageReadError(f"{path}: not a regular file (a folder, a device or a pipe)")
            if info.st_size > MAX_FILE_BYTES:
                raise ImageReadError(f"{path}: file is {info.st_size / 2**20:,.0f} MB, larger than the "
                                     f"{MAX_FILE_BYTES / 2**20:,.0f} MB an image file may be")
            return handle.read()
    except IsADirectoryError as exc:
        raise ImageReadError(f"{path}: not a regular file (a folder, a device or a pipe)") from exc
    except FileNotFoundError as exc:
        raise ImageReadError(f"{path}: file not found") from exc
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def stored_sideways(path: Path | str) -> bool:
    """Whether an image file's EXIF orientation turns its stored pixels by a quarter turn for viewing (read from its
    header; False where it is no image)."""
    try:
        with Image.open(path, formats=READ_FORMATS) as image:
            return _orientation(image) in _QUARTER_TURNS
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False


def stored_size(path: Path | str) -> tuple[int, int]:
    """(H, W) of an image file as it is shown (its EXIF orientation applied), read from its header without
    decoding the pixels; ``ImageReadError`` if it is not an image."""
    try:
        with Image.open(path, formats=READ_FORMATS) as image:
            image.seek(main_page(image))
            # Pillow's TIFF reader gives the size as shown already (and turns the pixels when it loads them)
            if _orientation(image) in _QUARTER_TURNS and image.format != "TIFF":
                return image.width, image.height
            return image.height, image.width
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: {unreadable_reason(exc, Path(path))}") from exc
    except Image.DecompressionBombError as exc:  # a header Pillow refuses to open at all (review)
        raise ImageReadError(f"{path}: {too_many_pixels(exc)}") from exc


#: the share of a mask's pixels that may lie between dark and light (32 to 223) in many grey levels before it is
#: taken for a photo or a grey-level picture rather than a mask (anti-aliased or JPEG edges are a few percent at
#: most; the masks of ../shared/data, under 1 %); a mask of two or a few levels, such as a 16-bit 0/32,768 one
#: (128 once read), is a mask whatever its levels
MID_GREY_LIMIT, MASK_LEVELS = 0.2, 16


def not_a_mask_reason(grey: np.ndarray) -> str | None:
    """Why a grey-level (H, W) uint8 picture given as a mask is no mask (a photo, a gradient): too many of its
    pixels are neither dark nor light, in more than :data:`MASK_LEVELS` grey levels; None for a mask."""
    share = float(np.count_nonzero((grey > 31) & (grey < 224))) / grey.size if grey.size else 0.0
    if share <= MID_GREY_LIMIT or np.unique(grey).size <= MASK_LEVELS:
        return None
    return (f"{share:.0%} of its pixels are neither dark nor light (32 to 223 of 255), so it looks like a photo or a "
            f"grey-level picture, not a black-and-white mask")


def read_mask(path: Path | str) -> np.ndarray:
    """Read a ground-truth mask as a boolean (H, W) array, binarised at > 127.

    Raises ``ImageReadError`` when the mask marks pixels only with values from 1 to 127 (a 0/1 mask): read at
    > 127 it would call its defect defect-free; and for a photo or a gradient (:func:`not_a_mask_reason`). (Whether
    it is its image's size: ``datasets.mask_problem``.)
    """
    path = Path(path)
    with _open(path, str(path)).image as image:
        grey = to_rgb_array(image, name=str(path)).max(axis=2)
        sixteen_bit = image.mode.startswith("I;16")
        highest = int(np.asarray(image).max()) if sixteen_bit else int(grey.max())  # the file's own value (review:
    mask = grey > 127
    if not mask.any() and highest > 0:  # a 16-bit 0/200 mask was said to have 1 as its highest value)
        value = f"{highest:,} of 65,535 (a 16-bit mask, white above 32,767)" if sixteen_bit else f"{highest}"
        white = "(> 32,767), e.g. 65,535" if sixteen_bit else "(> 127), e.g. 255"  # 255 in a 16-bit mask is dark
        raise ImageReadError(f"{path}: the mask's highest value is {value}, so it marks no pixel above "
                             f"{'half of white' if sixteen_bit else '127'} (a 0/1 mask?); masks mark defect pixels "
                             f"white {white}")
    if (photo := not_a_mask_reason(grey)) is not None:  # read at > 127, half of it a defect (bad-input review)
        raise ImageReadError(f"{path}: {photo}: masks mark defect pixels white and the rest black")
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
