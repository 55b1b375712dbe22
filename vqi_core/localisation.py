"""Normalised anomaly maps, defect boxes and overlays for display.

Maps and scores are normalised with statistics of held-out GOOD images, never
per image, so that a good part does not light up just because its map has
*some* maximum: 0 is the median good level and 1 the highest level any
held-out good image reached; values above 1 mean "more anomalous than any
good image seen".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import cv2
import numpy as np

from .images import row_bands
from .wording import counted, exact_number, percent

#: Colours (RGB) shared with the dashboard; blue / vermillion are told apart with any colour vision.
GOOD_RGB = (0, 114, 178)
DEFECT_RGB = (213, 94, 0)
#: the dark edge along the inside of a box's orange line
BOX_INNER_EDGE_RGB = (20, 20, 20)
#: Ground-truth outline: magenta does not occur in the JET heatmap.
GROUND_TRUTH_COLOR = (255, 0, 255)
#: the same hues darkened for text on white (5.3:1 and 6:1, above WCAG AA's 4.5:1; the drawing colours give 3.9:1
#: and 3.1:1: browser review). Blue text already reaches 5.2:1 in GOOD_RGB.
DEFECT_TEXT_RGB = (180, 76, 0)
GROUND_TRUTH_TEXT_RGB = (176, 0, 176)
#: Normalised map level below which the heatmap is fully transparent in overlays (half-way to the highest good level).
OVERLAY_FLOOR = 0.5
#: the top of the heatmap's colour scale (dark red), in normalised map levels
HEATMAP_TOP = 1.5
#: brightness kept outside the inspection region in an overlay (the ignored area is shown darkened)
IGNORED_BRIGHTNESS = 0.35
#: Smallest box kept by :func:`boxes_from_map`, as a fraction of the map area.
MIN_AREA_FRACTION = 0.001
#: The normalised map level boxes are drawn above unless a run saves another: the highest level any good image
#: the maps were normalised with reached.
BOX_LEVEL = 1.0
#: The precision a run stores its anomaly maps at (``maps.npz``): boxes counted or drawn on a fresh map are first
#: rounded to it, so that they are the boxes the run's pages draw on the stored one.
STORED_MAP_DTYPE = np.float16


def _span(normalization: Mapping[str, float], low_key: str, high_key: str) -> tuple[float, float]:
    """(low, high - low) with a small positive span when the good images showed no spread."""
    try:
        low, high = float(normalization[low_key]), float(normalization[high_key])
    except KeyError as exc:
        raise ValueError(f"normalisation statistics lack {exc.args[0]!r}: is the model fitted?") from exc
    return low, max(high - low, 1e-6 * max(1.0, abs(low)))


def map_levels(raw_map: np.ndarray, normalization: Mapping[str, float]) -> np.ndarray:
    """Raw map -> float32 map levels: 0 at ``map_median``, 1 at ``map_max``, linear, not clipped (below the good
    images' median they are negative: a pixel ROC counts them apart, as the pixel AUROC does)."""
    low, span = _span(normalization, "map_median", "map_max")
    return (np.asarray(raw_map, dtype=np.float32) - np.float32(low)) / np.float32(span)


def normalize_map(raw_map: np.ndarray, normalization: Mapping[str, float]) -> np.ndarray:
    """Raw map -> float32 map: :func:`map_levels`, clipped below at 0 (the heatmaps and boxes' scale)."""
    return np.maximum(map_levels(raw_map, normalization), 0, dtype=np.float32)


@dataclass(frozen=True)
class Box:
    """A suspicious region in original image pixels: columns x0:x1, rows y0:y1 (end exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int
    area: int  # pixels of the region itself (not of the box), in original pixels
    peak: float  # highest normalised map value inside the region


def boxes_from_map(norm_map: np.ndarray, level: float = BOX_LEVEL, min_area_fraction: float = MIN_AREA_FRACTION,
                   image_hw: tuple[int, int] | None = None) -> list[Box]:
    """Boxes around the 8-connected regions where the normalised map is strictly above the box ``level`` (named
    as everywhere else: "threshold" is the image score's, which the boxes never change: API review).

    Regions smaller than ``min_area_fraction`` of the map are dropped;
    coordinates are scaled from the map's size to ``image_hw`` (default: the
    map's size). Sorted by peak value, highest first. With the default
    level 1, only pixels higher than any held-out good image's get a box.
    """
    given = np.asarray(norm_map)
    if given.ndim != 2 or given.size == 0:  # OpenCV ends the process on an empty one
        raise ValueError(f"boxes need a 2-D map of at least 1 x 1, not one of shape {given.shape}")
    if np.isnan(level):
        raise ValueError("the box level is NaN")
    above = np.asarray(given, dtype=np.float64) > float(level)  # at the map's own precision, not float32's
    norm_map = given.astype(np.float32)
    h, w = norm_map.shape
    image_h, image_w = image_hw if image_hw is not None else (h, w)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above.astype(np.uint8), connectivity=8)
    if count <= 1:
        return []
    peaks = np.full(count, -np.inf, dtype=np.float32)
    np.maximum.at(peaks, np.asarray(labels, np.int32).ravel(), norm_map.ravel())
    scale_y, scale_x = image_h / h, image_w / w
    min_area = max(1.0, min_area_fraction * h * w)
    boxes = []
    for label in range(1, count):
        left, top, width, height, area = stats[label]
        if area < min_area:
            continue
        boxes.append(Box(
            x0=int(np.floor(left * scale_x)), y0=int(np.floor(top * scale_y)),
            x1=min(image_w, int(np.ceil((left + width) * scale_x))),
            y1=min(image_h, int(np.ceil((top + height) * scale_y))),
            area=int(round(area * scale_x * scale_y)), peak=float(peaks[label])))
    return sorted(boxes, key=lambda box: box.peak, reverse=True)


def map_boxes(raw_maps: Sequence[np.ndarray], normalization: Mapping[str, float],
              level: float = BOX_LEVEL) -> list[list[tuple[int, int, int, int]]]:
    """Per raw map, the rectangles (x0, y0, x1, y1) of the boxes an overlay draws on it at box ``level``, in the
    map's pixels. Each map is first rounded to :data:`STORED_MAP_DTYPE`, as a run stores it, so the rectangles are
    the ones its pages show."""
    return [[(box.x0, box.y0, box.x1, box.y1)
             for box in boxes_from_map(normalize_map(np.asarray(raw, STORED_MAP_DTYPE), normalization), level)]
            for raw in raw_maps]


def regions_boxed_text(entry: Mapping[str, object]) -> str | None:
    """"12 of 15": a defect type's annotated regions that get a box (from its ``per_defect_type`` entry); None
    where they were not counted (no mask of the type, or a run from before)."""
    regions, found = entry.get("defect_regions"), entry.get("defect_regions_boxed")
    if not isinstance(regions, int) or not isinstance(found, int) or not regions:
        return None
    return f"{found:,} of {regions:,}"


def boxes_sentence(metrics: Mapping[str, object], level: float = BOX_LEVEL) -> str | None:
    """What the boxes drawn above ``level`` did on a run's test set (the counts of
    :func:`vqi_core.metrics.box_hits`), for a quality engineer deciding whether to trust them; None for a run
    from before they were counted."""
    good, boxed = metrics.get("good_images"), metrics.get("good_images_boxed")
    if not isinstance(good, int) or not isinstance(boxed, int):
        return None
    parts = []
    regions, found = metrics.get("defect_regions"), metrics.get("defect_regions_boxed")
    if isinstance(regions, int) and isinstance(found, int) and regions:
        parts.append(f"{_of(found, regions, 'annotated defect region')} {_gets(found)} one")
    on_defective, on_defects = metrics.get("defective_image_boxes"), metrics.get("boxes_on_defects")
    if isinstance(on_defective, int) and isinstance(on_defects, int) and on_defective:
        parts.append(f"{_of(on_defects, on_defective, 'box on defective images', 'boxes on defective images')} "
                     f"{'touches' if on_defects == 1 else 'touch'} a defect")
        broad = metrics.get("broad_boxes")
        if isinstance(broad, int) and broad:
            one = broad == 1
            parts.append(f"{_of(broad, on_defective, 'box', 'boxes')} {'covers' if one else 'cover'} more than half "
                         f"of {'its' if one else 'their'} image (most of the map is above the box level there, which "
                         f"a defect that large or a change over the whole part can cause): counted as finding no "
                         f"defect")
    defective, defective_boxed = metrics.get("defective_images"), metrics.get("defective_images_boxed")
    if regions is None and isinstance(defective, int) and isinstance(defective_boxed, int) and defective:
        parts.insert(0, f"{_of(defective_boxed, defective, 'defective image')} {_gets(defective_boxed)} one")  # all
        # that is known of them without masks (README review: only the good images had been counted)
    if good:
        parts.append(f"{_of(boxed, good, 'good image')} {_gets(boxed)} one")
    if not parts:
        return None
    unknown = "" if regions is not None else (" With no defective test image that has a ground-truth mask, whether "
                                              "boxes sit on defects is not known.")  # none at all, or no masks
    at = "" if level == BOX_LEVEL else f" at box level {exact_number(level)}"
    return f"Boxes on the test set{at}: " + "; ".join(parts) + "." + unknown


#: the share of good test images with a box above which the pages warn that boxes mark good parts' variation, the
#: share of the boxes on defective images that are broad above which they warn that boxes do not say where defects
#: are, and the held-out good images below which the warning says that so few set level 1 low
GOOD_BOXED_WARNING, BROAD_BOXES_WARNING, FEW_HELD_OUT = 0.10, 0.5, 20


#: where a box level is raised, as the pages and the report say it
RAISE_BOX_LEVEL_WHERE = "on the Threshold page's Boxes tab, or with boxes --level --save"


def box_level_warning(metrics: Mapping[str, object], level: float = BOX_LEVEL, held_out: int | None = None,
                      raise_it: str = RAISE_BOX_LEVEL_WHERE) -> str | None:
    """A warning that the box level is low for the run's maps (the counts of :func:`vqi_core.metrics.box_hits`):
    where the boxes drawn above ``level`` sit on more than :data:`GOOD_BOXED_WARNING` of the good test images
    (there they mark how good parts vary, not defects), and where more than :data:`BROAD_BOXES_WARNING` of the
    boxes on defective images are broad (they do not say where a defect is); ``held_out``: how many good training
    images set level 1 (few set it low); ``raise_it``: where a higher level is chosen. None where neither holds."""
    good, boxed = metrics.get("good_images"), metrics.get("good_images_boxed")
    on_defective, broad = metrics.get("defective_image_boxes"), metrics.get("broad_boxes")
    said = []
    if isinstance(good, int) and isinstance(boxed, int) and good and boxed / good > GOOD_BOXED_WARNING:
        said.append(f"Boxes sit on {_of(boxed, good, 'good test image')} at box level {exact_number(level)}: there "
                    f"they mark how good parts vary, not defects.")
    mostly_broad = False  # decides the advice's wording: fewer boxes, or tighter ones too
    if isinstance(on_defective, int) and isinstance(broad, int) and on_defective and \
            broad / on_defective > BROAD_BOXES_WARNING:  # a few-shot set's maps can be above level 1 nearly all over
        mostly_broad = True
        said.append(f"{_of(broad, on_defective, 'box on defective images', 'boxes on defective images')} "
                    f"{'covers' if broad == 1 else 'cover'} more than half of {'its' if broad == 1 else 'their'} "
                    f"image at box level {exact_number(level)}: {'it does' if broad == 1 else 'they do'} not say where "
                    f"the defect is.")
    if not said:
        return None
    few = "" if not isinstance(held_out, int) or held_out >= FEW_HELD_OUT else (  # (a hand-edited file: not said)
        " Level 1 was set on the good training images themselves (none was held out), which sets it low."
        if held_out == 0 else
        f" Level 1 is the highest level reached by only {counted(held_out, 'held-out good training image')}, which "
        f"sets it low.")
    fewer = "fewer and tighter boxes" if mostly_broad else "fewer of them"
    return (" ".join(said) + f"{few} A higher box level ({raise_it}) draws {fewer} (and may box fewer defects); the "
            f"verdicts do not change.")


def _gets(count: int) -> str:
    return "gets" if count == 1 else "get"


def _of(part: int, whole: int, noun: str, plural: str | None = None) -> str:
    """"172 of 460 annotated defect regions (37.4%)" (the share with one decimal: 199 of 200 is not 100%)."""
    return f"{part:,} of {counted(whole, noun, plural)} ({percent(part / whole)})"


def heatmap_image(norm_map: np.ndarray) -> np.ndarray:
    """RGB uint8 JET rendering of a normalised map at its own size: 0 dark blue, :data:`HEATMAP_TOP` and above
    dark red."""
    values = np.clip(np.nan_to_num(np.asarray(norm_map, dtype=np.float32)) / HEATMAP_TOP, 0.0, 1.0)
    bgr = cv2.applyColorMap(np.round(values * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def own_range_map(norm_map: np.ndarray) -> np.ndarray:
    """``norm_map`` stretched over the heatmap's colour scale from its own lowest level (0) to its highest
    (:data:`HEATMAP_TOP`): where in the image the map is highest, even where all of it lies above the scale's top
    (a flat dark red otherwise), or all of it is low. Levels are then not comparable between images."""
    values = np.nan_to_num(np.asarray(norm_map, dtype=np.float32))
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if not high - low > 1e-6 * max(1.0, abs(high)):
        return np.zeros_like(values)
    return (values - low) * (HEATMAP_TOP / (high - low))


def render_overlay(image_rgb_uint8: np.ndarray, norm_map: np.ndarray, boxes: Sequence[Box] = (),
                   mask: np.ndarray | None = None, alpha: float = 0.5,
                   show_heatmap: bool = True, region: np.ndarray | None = None,
                   line_width: int | None = None) -> np.ndarray:
    """The image with its heatmap, defect boxes and ground-truth outline, RGB uint8 at the image's size.

    The map is resized to the image and blended in with opacity rising from 0
    at :data:`OVERLAY_FLOOR` to ``alpha`` at 1 (the highest good level) and
    above, so pixels at typical good levels keep their exact colour. Boxes are
    drawn in :data:`DEFECT_RGB` with a dark edge (:data:`BOX_INNER_EDGE_RGB`, half the line's width) along the
    inside of the line where the box has room for it, the outline of ``mask`` (bool, any size) in
    :data:`GROUND_TRUTH_COLOR`, ``line_width`` px wide (by default :func:`line_thickness`). Outside an
    inspection ``region`` (bool, any size) the image is darkened to :data:`IGNORED_BRIGHTNESS`.
    """
    image = np.asarray(image_rgb_uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    if show_heatmap and (np.ndim(norm_map) != 2 or np.size(norm_map) == 0):
        raise ValueError(f"expected a 2-D map of at least 1 x 1, not one of shape {np.shape(norm_map)}")
    h, w = image.shape[:2]
    out = image.copy()
    if show_heatmap:
        resized = cv2.resize(np.nan_to_num(np.asarray(norm_map, dtype=np.float32)), (w, h),
                             interpolation=cv2.INTER_LINEAR)
        for rows in row_bands(h, w):  # a band at a time: a 64-megapixel image's blend took 2 GB at once
            opacity = alpha * np.clip((resized[rows] - OVERLAY_FLOOR) / (1.0 - OVERLAY_FLOOR), 0.0, 1.0)[..., None]
            blended = image[rows] * (1.0 - opacity) + heatmap_image(resized[rows]) * opacity
            out[rows] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    if region is not None:
        inside = _mask_at(region, h, w).astype(bool)
        out[~inside] = np.round(out[~inside] * IGNORED_BRIGHTNESS).astype(np.uint8)
    thickness = line_width if line_width is not None else line_thickness(h, w)
    if thickness < 1:
        raise ValueError(f"line_width must be at least 1, not {thickness}")
    if mask is not None:
        contours, _ = cv2.findContours(_mask_at(mask, h, w), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, GROUND_TRUTH_COLOR, thickness)
    corners = [(box.x0, box.y0, max(box.x0, box.x1 - 1), max(box.y0, box.y1 - 1)) for box in boxes]  # inclusive
    edge = max(1, thickness // 2)  # the dark edge inside each box's line: it stands out on orange, red and copper
    for x0, y0, x1, y1 in corners:  # too (accessibility review); all edges first, so that no edge crosses another
        if min(x1 - x0, y1 - y0) >= 2 * (thickness + edge):  # box's line; room for it, and for some of the inside
            for inset in range(thickness, thickness + edge):
                cv2.rectangle(out, (x0 + inset, y0 + inset), (x1 - inset, y1 - inset), BOX_INNER_EDGE_RGB, 1)
    for x0, y0, x1, y1 in corners:  # the line runs inside the box, its outer edge on the box's edge
        for inset in range(min(thickness, (x1 - x0) // 2 + 1, (y1 - y0) // 2 + 1)):
            cv2.rectangle(out, (x0 + inset, y0 + inset), (x1 - inset, y1 - inset), DEFECT_RGB, 1)
    return out


#: the caption band under a captioned overlay: background, text colour, the narrowest width it is drawn at, and the
#: image width per unit of text size (text about 10 px tall up to 400 px wide, then growing with the image, so that
#: it stays readable when a viewer fits a large image to the screen)
CAPTION_BACKGROUND = (255, 255, 255)
CAPTION_TEXT_COLOR = (40, 40, 40)
CAPTION_MIN_WIDTH = 320
CAPTION_WIDTH_PER_SCALE = 800


def captioned(overlay: np.ndarray, lines: Sequence[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """``overlay`` (RGB uint8) above a band that holds ``lines`` of text (each with its RGB colour; a character
    outside ASCII is written as its escape, ``\\u30ac``, which still names it), so that a saved overlay says what
    was decided about it. The text grows with the image's width (:data:`CAPTION_WIDTH_PER_SCALE`) and is wrapped
    to it; an image narrower than :data:`CAPTION_MIN_WIDTH` is centred on a band that wide rather than given
    smaller text, so that images of one size give overlays of one width."""
    h, w = overlay.shape[:2]
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.5, w / CAPTION_WIDTH_PER_SCALE)
    weight, margin, line_height = max(1, round(2 * scale)), round(12 * scale), round(36 * scale)
    width = max(w, CAPTION_MIN_WIDTH)

    def fits(text: str) -> bool:
        return cv2.getTextSize(text, font, scale, weight)[0][0] <= width - 2 * margin

    rows: list[tuple[str, tuple[int, int, int]]] = []

    def longest_fitting(prefix: str, word: str) -> int:
        """How many of ``word``'s first characters fit on a line after ``prefix`` (binary search)."""
        low, high = 0, len(word)
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(prefix + word[:middle]) else (low, middle - 1)
        return low

    for text, color in lines:
        line = ""
        for word in text.encode("ascii", "backslashreplace").decode().split(" "):
            if fits(f"{line} {word}" if line else word):
                line = f"{line} {word}" if line else word
                continue
            if fits(word):  # on a line of its own
                rows.append((line, color))
                line = word
                continue
            while not fits(f"{line} {word}" if line else word):  # longer than a line (a run id): cut it where
                prefix = f"{line} " if line else ""  # the line is full, so "run" stays beside its id
                cut = longest_fitting(prefix, word) or (0 if line else 1)
                rows.append((prefix + word[:cut] if cut else line, color))
                line, word = "", word[cut:]
            line = f"{line} {word}" if line else word
        rows.append((line, color))
    out = np.full((h + margin + line_height * len(rows), width, 3), CAPTION_BACKGROUND, np.uint8)
    left = (width - w) // 2
    out[:h, left:left + w] = overlay
    for row, (text, color) in enumerate(rows):
        cv2.putText(out, text, (margin, h + line_height * (row + 1)), font, scale, color, weight, cv2.LINE_AA)
    return out


#: where a broad box's card points to for where in the image the map is highest (:func:`box_note`)
OWN_RANGE_IN_LARGE_VIEW = "Enlarge can colour the heatmap by the image's own range"
OWN_RANGE_HERE = "\"This image's range\" colours the heatmap by the image's own range"
OWN_RANGE_IN_INSPECT = "Inspect's Enlarge can colour the heatmap of a test image by its own range"
#: where a grid's card with a broad box sends the reader for why (:func:`box_note`'s ``why_in``)
BROAD_WHY_IN_LARGE_VIEW = "Enlarge says why"


def level_one_maps(held_out: int | None = None) -> str:
    """The maps that box level 1 lies above: every held-out good image's, or every good training image's where
    ``held_out`` (the run's ``normalisation_images``) is 0 (a good test image can still get a box either way)."""
    return "every good training image's map" if held_out == 0 else "every held-out good image's map"


def box_note(defective: bool, boxes: int, box_level: float = BOX_LEVEL, broad: int = 0,
             own_range: str | None = None, held_out: int | None = None, why_in: str | None = None) -> str | None:
    """Where boxes and verdict seem to disagree, why: boxes mark regions above the run's ``box_level`` (at 1,
    every held-out good image's map), the verdict compares the image's score with the threshold; and where
    ``broad`` of the boxes cover most of the image (drawn along its edges, they read as a frame: browser review),
    what makes a map so high and that such boxes do not show where a defect is ("not counted as finding a defect"
    read as contradicting a card's "defect caught": browser review; a large defect outlined well
    was said to "locate nothing": browser review); where the score alone rejects it, that; and ``own_range``:
    where the page shows where in the image the map is highest (e.g. :data:`OWN_RANGE_IN_LARGE_VIEW`; a page
    without it names none: browser review); ``held_out``: the run's ``normalisation_images``
    (:func:`level_one_maps`: "every good image's map" was belied by a good test image with a box: browser review);
    ``why_in``: where the page says why boxes are broad, for a grid of cards, whose broad boxes then get a short
    note (the whole reason on each of 80 cards buried them: browser review). None where there is nothing to say."""
    above = level_one_maps(held_out) if box_level == BOX_LEVEL else f"box level {exact_number(box_level)}"
    if broad:
        which = ("its box covers" if boxes == 1 else "its boxes cover" if broad == boxes
                 else f"{broad} of its {boxes} boxes {'covers' if broad == 1 else 'cover'}")
        if why_in is not None:
            return (f"{which} more than half of the image, too broad to show where a defect is ({why_in})"
                    + ("" if defective else "; the score is below the threshold"))
        return (f"{which} more than half of the image: the map is above {above} over most of it, which a defect "
                f"this large or a change over the whole part (lighting, position) can cause; a box this broad does "
                f"not show where a defect is" + (f" ({own_range})" if own_range else "")
                + ("" if defective else "; the score is below the threshold"))
    if defective and boxes == 0:
        return (f"no box: no region is above {above}; the score as a whole is at or above the threshold"
                + (f" ({own_range})" if own_range else ""))  # "(see the heat)": often too faint to see (review)
    if not defective and boxes:
        return f"{counted(boxes, 'box', 'boxes')} above {above}, but the score is below the threshold"
    return None


def line_thickness(h: int, w: int) -> int:
    """The width in pixels of boxes and outlines on an ``h`` x ``w`` overlay: about 1/300 of its longer side, and
    2 from 200 px on, so that a box stays visible on a grid's thumbnail shown smaller than it is drawn."""
    side = max(h, w)
    return max(1, min(2, side // 100), round(side / 300))


def _mask_at(mask: np.ndarray, h: int, w: int) -> np.ndarray:
    """A bool mask of any size as a 0/1 uint8 array of size (h, w) (nearest neighbour)."""
    mask_u8 = np.asarray(mask, dtype=bool).astype(np.uint8)
    if mask_u8.shape != (h, w):
        mask_u8 = np.asarray(cv2.resize(mask_u8, (w, h), interpolation=cv2.INTER_NEAREST), np.uint8)
    return mask_u8
