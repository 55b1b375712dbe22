"""Heatmap and box overlays of test images and scored images, thumbnails and their encodings, and which part of
each image a run inspects, in words."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any, Sequence

import cv2
import numpy as np

from ..images import ImageReadError, stored_size
from ..localisation import CAPTION_TEXT_COLOR, HEATMAP_TOP, OVERLAY_FLOOR, boxes_from_map, normalize_map, \
    own_range_map, render_overlay
from ..methods.base import MODEL_JSON, DamagedModel, inspected_area_of, saved_preprocessing
from ..pipeline import ImageResult, inspected_pixels, limit_names
from ..preprocessing import Preprocessing
from ..region import InspectionRegion
from ..runs import MODEL_DIR, Run, RunError, ground_truth_masks
from ..wording import percent
from .style import THUMBNAIL_BACKGROUND


def run_inspected_areas(run: Run, maps: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """Per test map of the run, the pixels its model inspects (inside its centre crop and inspection region, as
    :meth:`~vqi_core.methods.base.AnomalyModel.inspected_area`; all True where that is every pixel), read without
    loading the model; None when it inspects every pixel of every image. A test image that is no longer there is
    taken at its map's size (exact for the squash and letterbox resizes, which depend on the aspect alone)."""
    limits = _inspection_limits(run)
    if limits is None:  # nothing cut off: no image header needs reading
        return None
    preprocessing, region = limits
    areas: list[np.ndarray | None] = []
    for anomaly_map, image_path in zip(maps, run.scores["path"].tolist()):
        hw = anomaly_map.shape
        try:
            original_hw = stored_size(run.data_path(image_path))
        except (OSError, ImageReadError, ValueError):
            original_hw = hw
        areas.append(inspected_area_of(preprocessing, region, preprocessing.geometry(original_hw), hw))
    return inspected_pixels(maps, areas)


def _inspection_limits(run: Run) -> tuple[Preprocessing, InspectionRegion | None] | None:
    """What limits the pixels a run inspects: its preprocessing (a centre crop) and its inspection region; None,
    without reading ``model.json``, for a run that inspects whole images (one rule for the pixel tab's counts and the
    overlays' darkening)."""
    region = run.region
    if region is None and centre_crop(run.config) >= 1:
        return None
    return _run_preprocessing(run), region


def _run_preprocessing(run: Run) -> Preprocessing:
    """The run's preprocessing (:func:`~vqi_core.methods.base.saved_preprocessing`), read from its ``model.json``
    without loading the model; ``RunError`` naming the file where it cannot be read."""
    path = run.path / MODEL_DIR / MODEL_JSON
    try:
        meta = json.loads(path.read_text())
        return saved_preprocessing(meta if isinstance(meta, dict) else {})
    except (OSError, ValueError, RecursionError, DamagedModel) as exc:  # JSONDecodeError: a ValueError
        raise RunError(f"the model in {path.parent} cannot be read: {exc}") from exc


def run_ground_truth(run: Run, maps: Sequence[np.ndarray], unreadable: list[str]) -> list[np.ndarray | None]:
    """:func:`~vqi_core.runs.ground_truth_masks` of the run's test images at their maps' sizes, read from its
    :attr:`~vqi_core.runs.Run.dataset` when one is given (:meth:`~vqi_core.runs.Run.read_recorded_mask`); a mask
    that cannot be read, or is not the one the run recorded, is None, its problem appended to ``unreadable``."""
    return ground_truth_masks(run.scores, list(maps), unreadable, read=run.read_recorded_mask)


def shrunk_to(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """``image`` scaled down so that its longer side is at most ``max_side`` (unchanged when None or smaller)."""
    h, w = image.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def jpeg_bytes(image: np.ndarray, quality: int = 90) -> bytes:
    """An RGB uint8 image as JPEG bytes: a compact form for keeping many result cards in a session."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return data.tobytes()


def png_bytes(image: np.ndarray) -> bytes:
    """An RGB uint8 image as PNG bytes: lossless, as ``predict`` saves its overlays."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as PNG")
    return data.tobytes()


#: a grid thumbnail is at most this many times as wide as high (a wider image is centred on a light band)
MAX_THUMBNAIL_ASPECT = 3


def grid_thumbnail(image: np.ndarray, side: int = 320) -> np.ndarray:
    """``image`` scaled so its longer side is ``side`` (small images enlarged too), for grids whose cards are all
    ``side`` px wide: a wide image as it is (up to :data:`MAX_THUMBNAIL_ASPECT` times as wide as high; a wider one
    centred on a light band of that shape), a tall one centred on a light ``side`` x ``side`` square, so that no
    card is taller than wide (wide parts had filled a third of a grey square: browser review)."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    fitted = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    h, w = fitted.shape[:2]
    canvas = np.empty((max(h, side // MAX_THUMBNAIL_ASPECT), side, 3), np.uint8)
    canvas[:] = THUMBNAIL_BACKGROUND
    top, left = (canvas.shape[0] - h) // 2, (side - w) // 2
    canvas[top:top + h, left:left + w] = fitted
    return canvas


#: how wide boxes and outlines look on screen, whatever the size an overlay is drawn at
SHOWN_LINE_PX = 2


def shown_line_width(drawn_side: int, shown_side: int | None) -> int | None:
    """The line width to draw on an overlay whose longer side is ``drawn_side`` px so that its lines look
    :data:`SHOWN_LINE_PX` wide when it is shown ``shown_side`` px large (None: the default width for its size,
    :func:`~vqi_core.localisation.line_thickness`). A 320-px thumbnail shown at 160 px needs 4-px lines: the
    default 2 px became one faint pixel (browser review)."""
    return None if shown_side is None else max(1, math.ceil(SHOWN_LINE_PX * drawn_side / shown_side))


def run_overlay(run: Run, index: int, normalization: dict[str, float], box_level: float, *, alpha: float = 0.5,
                heatmap: bool = True, boxes: bool = True, ground_truth: bool = True,
                max_side: int | None = None, shown_side: int | None = None, own_range: bool = False) -> np.ndarray:
    """Test image ``index`` of a run with its heatmap, defect boxes (above ``box_level``, the run's
    :attr:`~vqi_core.runs.Run.box_level`) and ground-truth outline (RGB uint8), its longer side at most
    ``max_side`` (drawn at that size: a large image is not blended at full size first); lines as wide as
    :func:`shown_line_width` for ``shown_side``; ``own_range``: the heatmap's colours spread over the image's
    own range (:func:`~vqi_core.localisation.own_range_map`), the boxes as ever. What the model does not inspect
    (outside its inspection region or centre crop) is darkened."""
    original = run.image(index)
    image = shrunk_to(original, max_side)
    norm_map = normalize_map(run.anomaly_map(index), normalization)
    found = boxes_from_map(norm_map, box_level, image_hw=image.shape[:2]) if boxes else ()
    try:
        mask = run.mask(index) if ground_truth else None
    except ImageReadError:  # the image and its heatmap still show; the large view says why the outline is missing
        mask = None
    inspected = None  # what the model does not inspect is darkened, as in Predict's overlays
    if (limits := _inspection_limits(run)) is not None:
        preprocessing, region = limits
        inspected = inspected_area_of(preprocessing, region, preprocessing.geometry(original.shape[:2]),
                                      image.shape[:2])
    return render_overlay(image, own_range_map(norm_map) if own_range else norm_map, found, mask=mask, alpha=alpha,
                          show_heatmap=heatmap, region=inspected,
                          line_width=shown_line_width(max(image.shape[:2]), shown_side))


def map_range(run: Run, index: int, normalization: dict[str, float]) -> tuple[float, float]:
    """The lowest and highest normalised level of test image ``index``'s map."""
    norm_map = normalize_map(run.anomaly_map(index), normalization)
    return float(np.nanmin(norm_map)), float(np.nanmax(norm_map))


def heat_scale_note(low: float, high: float) -> str | None:
    """What the run's colour scale hides on a map from ``low`` to ``high`` (normalised levels), and what to do
    about it; None where the scale shows it."""
    if low >= HEATMAP_TOP:
        return (f"This image's whole map lies above the top of the colour scale ({low:.3g} to {high:.3g}; dark red "
                f"from {HEATMAP_TOP:g}): the heatmap is one flat colour. Colour it by its own range to see where it "
                f"is highest.")
    if high <= OVERLAY_FLOOR:  # at the floor itself the heatmap is transparent too (mutation review)
        return (f"This image's whole map lies at or below {OVERLAY_FLOOR:g}, where the heatmap is transparent (highest "
                f"{high:.3g}). Colour it by its own range to see where it is highest.")
    return None


def own_range_note(low: float, high: float) -> str:
    """What the heatmap coloured over an image's own range spans on the run's scale (``low`` to ``high``,
    normalised levels): its colours say where the map is highest, not how high (browser review: a good image's low
    map showed dark red blobs, with no number to tell)."""
    below = " (all of it below the highest good level: its dark red is no defect by itself)" if high < 1.0 else ""
    return (f"Coloured over this image's own range: its map runs from {low:.3g} to {high:.3g} on the run's scale, "
            f"where 1 is the highest good level{below}. The colours show where the map is highest, not how high.")


#: the colour key's levels, from 0 to a little past the top of the colour scale, so that its dark red shows
KEY_TOP = HEATMAP_TOP * 1.1
#: the colour key's ticks on the run's scale and over an image's own range (levels as :func:`own_range_map` spreads
#: them), each with its label
RUN_SCALE_TICKS = ((OVERLAY_FLOOR, f"{OVERLAY_FLOOR:g}"), (1.0, "1 (highest good)"), (HEATMAP_TOP, f"{HEATMAP_TOP:g}"))
OWN_RANGE_TICKS = ((0.0, "lowest"), (HEATMAP_TOP, "highest"))


def heat_scale_key(own_range: bool = False, width: int = 320) -> np.ndarray:
    """The heatmap's colour key (RGB uint8, ``width`` px wide): levels from 0 to :data:`KEY_TOP` (over an image's
    ``own_range``, to :data:`HEATMAP_TOP`, its highest level) blended over white at full opacity exactly as an
    overlay blends them (transparent up to :data:`OVERLAY_FLOOR`, fading in up to 1), ticks and their labels below
    (:data:`RUN_SCALE_TICKS`, or :data:`OWN_RANGE_TICKS`). The JET colours alone did not say which level a colour
    is, least of all to a colour-blind eye (accessibility review); blended at the overlay's opacity over white, the
    key's colours had matched no colour of a heatmap over a dark part (browser review)."""
    bar_height, label_height = 16, 22
    top = HEATMAP_TOP if own_range else KEY_TOP
    levels = np.tile(np.linspace(0.0, top, width, dtype=np.float32), (bar_height, 1))
    key = np.full((bar_height + label_height, width, 3), 255, np.uint8)
    key[:bar_height] = render_overlay(key[:bar_height], levels, alpha=1.0)
    cv2.rectangle(key, (0, 0), (width - 1, bar_height - 1), (160, 160, 160), 1)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    for level, text in OWN_RANGE_TICKS if own_range else RUN_SCALE_TICKS:
        x = int(round(level / top * (width - 1)))
        cv2.line(key, (x, bar_height - 5), (x, bar_height + 3), CAPTION_TEXT_COLOR, 1)
        (text_width, text_height), _ = cv2.getTextSize(text, font, scale, 1)
        left = min(max(0, x - text_width // 2), width - text_width)  # whole, at either end too
        cv2.putText(key, text, (left, bar_height + 6 + text_height), font, scale, CAPTION_TEXT_COLOR, 1, cv2.LINE_AA)
    return key


def result_overlay(result: ImageResult, max_side: int, shown_side: int | None = None) -> np.ndarray:
    """A scored image with its heatmap and boxes (RGB uint8), drawn with its longer side at most ``max_side``
    (lines as wide as :func:`shown_line_width` for ``shown_side``)."""
    image = shrunk_to(result.image, max_side)
    across, down = image.shape[1] / result.image.shape[1], image.shape[0] / result.image.shape[0]  # each rounded
    boxes = [replace(box, x0=math.floor(box.x0 * across), y0=math.floor(box.y0 * down),
                     x1=math.ceil(box.x1 * across), y1=math.ceil(box.y1 * down)) for box in result.boxes]
    return render_overlay(image, result.anomaly_map, boxes, region=result.region,
                          line_width=shown_line_width(max(image.shape[:2]), shown_side))


def centre_crop(config: dict[str, Any]) -> float:
    """The centre crop a run's config sets (1: none)."""
    return float((config.get("params") or {}).get("crop", 1.0))


def pixel_scope(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """Which pixels a run's pixel metrics count, to follow "Pixels" in a caption: "" for whole images, else the
    inspected ones (a run with an inspection region or a centre crop below 1, scored inside them)."""
    limits = limit_names(bool(config.get("region")), centre_crop(config))
    if limits and metrics.get("pixel_metrics_inspected_only"):  # only what the run has (code review: a crop alone
        return (f" inspected (inside {' and '.join(f'the {name}' for name in limits)}; defect pixels outside count "
                f"as missed)")  # named a region)
    return ""


def inspected_text(config: dict[str, Any]) -> str:
    """How much of each image a run inspects, in words: its inspection region and its centre crop, whose border
    is never inspected (empty for a run that inspects whole images). The pages' captions and the report say it."""
    region, crop = config.get("region"), centre_crop(config)
    cropped = (f"the centre crop ({crop:g} of the resized image's height and width; the border outside it, darkened "
               f"in the overlays, is never inspected)") if crop < 1 else ""
    if region and cropped:
        return (f"the region ({percent(region['inspected_share'], 0)} of each image; the darkened area is ignored) "
                f"within {cropped}")
    if region:
        return f"{percent(region['inspected_share'], 0)} of each image (the darkened area is ignored)"
    return cropped


def region_caption(config: dict[str, Any]) -> str:
    """:func:`inspected_text` for a page caption, "inspected: ..." (empty for a run that inspects whole images)."""
    text = inspected_text(config)
    return f"inspected: {text}" if text else ""
