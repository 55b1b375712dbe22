"""How images were captured, seen through whole-image statistics: brightness, contrast, colour, size, shape.

Two uses, both about telling the part from the way it was photographed:

- **capture cues of a test set** (:func:`capture_cues`): how well each
  statistic alone separates good from defective test images; a high AUROC
  means a model could score well by noticing the capture rather than the
  defects (see :mod:`vqi_core.split_check`);
- **new images unlike the training images** (:func:`capture_ranges`,
  :func:`unlike_training`): a new image brighter, darker, flatter, more or
  less colourful, of another colour balance (a mono camera, swapped colour
  channels, another white balance) or of another size or shape than every
  good training image is outside what the
  model learnt "good" from; its score says as much about the camera as about
  the part (a lamp, an exposure or a camera changed), so the result says so;
  so is an image file of another format than every good training image's (:func:`unlike_format`: a JPEG's lossy
  compression where the model learnt from PNG files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

import cv2
import numpy as np
from scipy.stats import mannwhitneyu

from .metrics import image_auroc


def _colourfulness(image: np.ndarray) -> float:
    """Mean difference between each pixel's highest and lowest channel, in grey levels (0: a grey image)."""
    return float(np.mean(image.max(axis=2) - image.min(axis=2), dtype=np.float64))


def _grey_level_spread(image: np.ndarray) -> float:
    """Standard deviation of every channel value together; OpenCV's accumulates it without numpy's float64
    copy of the image (1.5 GB for 64 megapixels, in the scoring of each new image)."""
    return float(cv2.meanStdDev(np.ascontiguousarray(image).reshape(-1, 1))[1][0, 0])


def _ratio_text(ratio: float) -> str:
    """An aspect ratio with two decimals, or two significant digits below 0.1 (8 x 2000 px: 0.004, not 0.00)."""
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"


#: whole-image statistics: name -> (function of an RGB uint8 image, how to print its value)
CAPTURE_CUES: dict[str, tuple[Callable[[np.ndarray], float], Callable[[float], str]]] = {
    "mean grey level": (lambda image: float(image.mean()), "{:.1f}".format),
    "grey-level spread": (_grey_level_spread, "{:.1f}".format),
    "colourfulness": (_colourfulness, "{:.1f}".format),
    "red-blue balance": (lambda image: float(image[..., 0].mean()) - float(image[..., 2].mean()), "{:+.1f}".format),
    "image size": (lambda image: float(image.shape[0] * image.shape[1]), "{:,.0f} px".format),
    "aspect ratio": (lambda image: image.shape[1] / image.shape[0], _ratio_text),  # width / height
}
#: how far beyond the training images' range a new image may lie before it is called unlike them: a
#: share of the range's width, plus a floor in the statistic's own unit (grey levels; none for the
#: size, which a camera keeps exactly; 0.01 for the aspect ratio)
RANGE_MARGIN = 0.1
RANGE_FLOOR = {"mean grey level": 2.0, "grey-level spread": 2.0, "colourfulness": 2.0, "red-blue balance": 2.0,
               "image size": 0.0, "aspect ratio": 0.01}


def format_cue(name: str, value: float) -> str:
    """A statistic's value in its own format (e.g. ``"262,144 px"``)."""
    return CAPTURE_CUES[name][1](value)


#: the statistics that are 0 for every grey image
GREY_ZERO = ("colourfulness", "red-blue balance")


def capture_statistics(image: np.ndarray) -> dict[str, float]:
    """Every :data:`CAPTURE_CUES` statistic of an RGB uint8 image."""
    return {name: statistic(image) for name, (statistic, _) in CAPTURE_CUES.items()}


def capture_cues(images: Sequence[np.ndarray], labels: Sequence[str]) -> list[dict[str, Any]]:
    """How well each whole-image statistic alone separates ``"good"`` from ``"defective"`` images.

    One entry per :data:`CAPTURE_CUES` statistic that differs between the images: ``cue``, ``auroc``
    (direction-free, 0.5-1), ``p_value`` (two-sided, the Mann-Whitney test's: how often chance alone
    separates the classes this well; one good and one defective image are always separated perfectly: split
    review), the median of each class (``good_median``, ``defective_median``); empty unless both classes are
    present. A statistic the same on every image tells nothing and is left out (the colour of grey
    images, listed at 0.500, read as a finding: browser review).
    """
    defective = np.array([label != "good" for label in labels], int)
    if len(images) != len(defective):
        raise ValueError(f"{len(images)} images but {len(defective)} labels")
    if not (defective.any() and (defective == 0).any()):
        return []
    statistics = [capture_statistics(image) for image in images]  # one pass: images may be decoded on demand
    cues = []
    for name in CAPTURE_CUES:
        values = np.array([image_statistics[name] for image_statistics in statistics], float)
        if np.all(values == values[0]):
            continue
        auroc = image_auroc(defective, values)
        assert auroc is not None  # both classes are present
        p_value = float(mannwhitneyu(values[defective == 1], values[defective == 0], alternative="two-sided").pvalue)
        cues.append({"cue": name, "auroc": round(max(auroc, 1.0 - auroc), 4), "p_value": p_value,
                     "good_median": float(np.median(values[defective == 0])),
                     "defective_median": float(np.median(values[defective == 1]))})
    return cues


def capture_ranges(images: Iterable[np.ndarray]) -> dict[str, list[float]]:
    """The lowest and highest value of each statistic over ``images`` (the good training images), one image at a
    time (a set decoded from its files at each pass is never held whole)."""
    return statistics_ranges([capture_statistics(image) for image in images])


def statistics_ranges(values: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """The lowest and highest value of each statistic over images' :func:`capture_statistics`."""
    if not values:
        raise ValueError("capture ranges need at least one image")
    return {name: [min(v[name] for v in values), max(v[name] for v in values)] for name in CAPTURE_CUES}


def _outside(name: str, value: float, low: float, high: float, others: bool = False) -> str | None:
    """How ``value`` of statistic ``name`` lies outside ``low``-``high`` (the training images' range, or with
    ``others`` the other training images') widened by :data:`RANGE_MARGIN`, in words; None inside."""
    margin = RANGE_MARGIN * (high - low) + RANGE_FLOOR[name]
    other, whose = ("other ", "the other training images'") if others else ("", "the training images'")
    if name == "colourfulness" and value == 0 < low - margin:  # said plainly: browser review of 2026-12-05
        return (f"a grey image (colourfulness 0.0), where every {other}training image is in colour "
                f"({format_cue(name, low)} to {format_cue(name, high)})")
    if low - margin <= value <= high + margin:
        return None
    side = "below" if value < low else "above"
    lowest, highest = format_cue(name, low), format_cue(name, high)
    # found by review: "above the training images' 0.0 to 0.0" for a model trained on grey images
    their = f"{lowest} to {highest}" if low != high else f"{lowest}, every one" + (
        " (grey images)" if name in GREY_ZERO and high == 0 else "")
    return f"{name} {format_cue(name, value)}, {side} {whose} {their}"


#: the signatures that begin each image format VQI reads (WebP: "RIFF", 4 bytes of size, then "WEBP")
FORMAT_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
                     (b"MM\x00*", "TIFF"))


#: the formats (as :func:`file_format` names them) whose compression loses detail
LOSSY_FORMATS = frozenset({"JPEG", "WebP (lossy)", "TIFF (JPEG)"})
#: the file name suffixes of each format :func:`file_format` names (by its first word)
FORMAT_SUFFIXES = {"PNG": (".png",), "JPEG": (".jpg", ".jpeg"), "BMP": (".bmp",), "TIFF": (".tif", ".tiff"),
                   "WebP": (".webp",)}
#: TIFF compression tags of lossy compressions (old-style and new-style JPEG, lossy JPEG of DNG)
LOSSY_TIFF_COMPRESSIONS = frozenset({6, 7, 34892})


def file_format(data: bytes) -> str | None:
    """The image format of an image file's ``data``, by its signature, with its compression where a format holds
    lossy and lossless kinds: PNG, JPEG, BMP, "TIFF (JPEG)" or TIFF, "WebP (lossy)" or WebP (lossless); None for any
    other, and for a WebP or TIFF whose compression is not found in ``data`` (code review: an extended WebP, with
    EXIF or a colour profile, and a JPEG-compressed TIFF had been taken for lossless)."""
    return _file_format(data[:16], lambda offset, size: data[offset:offset + size])


def file_format_of(path: Path | str) -> str | None:
    """:func:`file_format` of the file at ``path``, reading only its header and the parts that say its compression
    (None where it cannot be read)."""
    try:
        with open(path, "rb") as file:
            def read_at(offset: int, size: int) -> bytes:
                file.seek(offset)
                return file.read(size)

            return _file_format(file.read(16), read_at)
    except (OSError, ValueError):
        return None


def _file_format(head: bytes, read_at: Callable[[int, int], bytes]) -> str | None:
    """:func:`file_format` from the first 16 bytes ``head`` and ``read_at(offset, size)`` for the rest."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_format(read_at)
    found = next((name for signature, name in FORMAT_SIGNATURES if head.startswith(signature)), None)
    if found != "TIFF":
        return found
    compression = _tiff_compression(head[:2] == b"II", read_at)
    return None if compression is None else "TIFF (JPEG)" if compression in LOSSY_TIFF_COMPRESSIONS else "TIFF"


def _webp_format(read_at: Callable[[int, int], bytes]) -> str | None:
    """Lossy or lossless WebP by its first image chunk ("VP8 " or "VP8L"), past an extended file's chunks of
    EXIF, colour profile or alpha (at most 64 of them); None where none is found."""
    offset = 12
    for _ in range(64):
        chunk = read_at(offset, 8)
        if len(chunk) < 8:
            return None
        if chunk[:4] in (b"VP8 ", b"VP8L"):
            return "WebP (lossy)" if chunk[:4] == b"VP8 " else "WebP"
        size = int.from_bytes(chunk[4:8], "little")
        offset += 8 + size + (size & 1)
    return None


def _tiff_compression(little_endian: bool, read_at: Callable[[int, int], bytes]) -> int | None:
    """The Compression tag (259) of a TIFF's first image directory; None where it cannot be read (1, none, when
    the directory has no such tag, as the TIFF standard has it)."""
    order: Literal["little", "big"] = "little" if little_endian else "big"
    directory = int.from_bytes(read_at(4, 4), order)
    entries = read_at(directory, 2)
    if len(entries) < 2:
        return None
    count = int.from_bytes(entries, order)
    table = read_at(directory + 2, 12 * count)
    for start in range(0, len(table) - 11, 12):
        if int.from_bytes(table[start:start + 2], order) == 259:
            return int.from_bytes(table[start + 8:start + 10], order)  # a SHORT value, left-justified
    return 1 if len(table) == 12 * count else None


def unlike_format(found: str | None, training_formats: Sequence[str] | None) -> list[str]:
    """How an image file's compression differs from the good training images' (``training_formats``), in words:
    lossy (:data:`LOSSY_FORMATS`) where every training image is lossless, or the other way round; empty otherwise,
    or where either is unknown. A good part saved as a JPEG where the model learnt from PNG files scored twice as
    high (browser review); a lossless BMP or TIFF of the same pixels scores the same and is not named."""
    if not training_formats or found is None or {name in LOSSY_FORMATS for name in training_formats} != {
            found not in LOSSY_FORMATS}:
        return []
    trained = " and ".join(_format_name(name) for name in training_formats)
    if found in LOSSY_FORMATS:
        return [f"saved as {_format_name(found)} (lossy compression, which changes fine texture), the training images "
                f"as {trained}"]
    return [f"saved as {_format_name(found)} (lossless), the training images as {trained} (lossy: the model learnt its "
            f"artefacts as good)"]


def unlike_bit_depth(sixteen_bit: bool, training_depths: Sequence[int] | None) -> list[str]:
    """How an image file's bit depth differs from the good training images' (``training_depths``: 8 and / or 16,
    as a run records them), in words; empty where it is theirs or theirs is not known. A 12-bit camera's 16-bit
    file scored by a run trained on 8-bit files was called only darker, not what made it so (browser review)."""
    depth = 16 if sixteen_bit else 8
    if not training_depths or depth in training_depths:
        return []
    trained = " and ".join(f"{bits}-bit" for bits in sorted(training_depths))
    return [f"a {depth}-bit file, the training images {trained} files (another camera or export: its grey levels "
            f"may be scaled otherwise{', e.g. a 10- or 12-bit camera read as 16 bits' if depth == 16 else ''}); "
            f"score files saved as the training images were, or train a run on this camera's files"]


def _format_name(name: str) -> str:
    """A format as :func:`file_format` names it, as a sentence names it."""
    return {"WebP (lossy)": "lossy WebP", "TIFF (JPEG)": "JPEG-compressed TIFF"}.get(name, name)


def unlike_training(image: np.ndarray, ranges: Mapping[str, Sequence[float]] | None) -> list[str]:
    """How ``image`` lies outside the training images' ``ranges`` (:func:`capture_ranges`), in words;
    empty when it lies within every range widened by :data:`RANGE_MARGIN` (or without ranges)."""
    if not ranges:
        return []
    found = []
    for name, value in capture_statistics(image).items():
        if name in ranges and (outside := _outside(name, value, ranges[name][0], ranges[name][1])) is not None:
            found.append(outside)
    return found


#: the fewest training images among which one that differs from all the others is named (:func:`odd_ones_out`)
ODD_ONE_OUT_MIN_IMAGES = 10
#: how far beyond the other training images' range one must lie to be called unlike all of them: this many times
#: that range's width, plus :data:`RANGE_FLOOR` (a tenth of it, as for new images, named an image in 135 of 200
#: draws of 50 magnetic_tile photos of six exposures; three times, in none of 200 draws of 10 or more: code review)
ODD_ONE_OUT_SPREADS = 3.0


def odd_ones_out(values: Sequence[Mapping[str, float]]) -> dict[int, list[str]]:
    """The training images (by index into ``values``, their :func:`capture_statistics`) that a statistic sets apart
    from all the others: each lies beyond the others' range by more than :data:`ODD_ONE_OUT_SPREADS` times its
    width (a grey image among colour ones: outside it at all), so it alone stretches the range new images are
    checked against, and images captured like it are not called unlike the training images (one mono-camera photo
    among colour ones let every grey image pass: command review). Index -> how it differs, in words; empty below
    :data:`ODD_ONE_OUT_MIN_IMAGES` images."""
    found: dict[int, list[str]] = {}
    if len(values) < ODD_ONE_OUT_MIN_IMAGES:
        return found
    for name in CAPTURE_CUES:
        column = np.array([v[name] for v in values], np.float64)
        for index in sorted({int(column.argmin()), int(column.argmax())}):
            others = np.delete(column, index)
            value, low, high = float(column[index]), float(others.min()), float(others.max())
            outside = _outside(name, value, low, high, others=True)
            margin = ODD_ONE_OUT_SPREADS * (high - low) + RANGE_FLOOR[name]
            grey_among_colour = name == "colourfulness" and value == 0
            if outside is not None and (grey_among_colour or not low - margin <= value <= high + margin):
                found.setdefault(index, []).append(outside)
    return found
