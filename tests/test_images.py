"""Reading every image kind one consistent way, and clear errors for bad files."""

import gc
import io
import os
import re
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps, UnidentifiedImageError

import vqi_core.images
import vqi_core.localisation
from synthetic import DAMAGED_EXIF, jpeg_with_damaged_exif, png_bytes, textured_image
from vqi_core.images import (CUT_SHORT, MAX_IMAGE_BYTES, UNDECODABLE_TIFF, BitDepthError, ImageFiles, ImageReadError,
                             hide_pillow_warnings, image_shapes, image_subset, is_sixteen_bit, not_a_mask_reason,
                             read_file_bytes, read_image, read_image_and_transparency, read_mask, stored_size,
                             to_rgb_array, transparency_note, unreadable_reason)
from vqi_core.localisation import render_overlay
from vqi_core.datasets import load_category
from vqi_core.region import InspectionRegion
from vqi_core.pipeline import folder_sources, read_samples
from vqi_core.datasets import Sample, mask_problem


def _save(tmp_path, name, image):
    path = tmp_path / name
    image.save(path)
    return path


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    rgb = read_image(_save(tmp_path, "g.png", Image.fromarray(gray, "L")))
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[..., 0], gray) and np.array_equal(rgb[..., 0], rgb[..., 2])


def test_sixteen_bit_is_scaled_by_full_range(tmp_path):
    values = np.array([[0, 65535], [32768, 257]], dtype=np.uint16)
    rgb = read_image(_save(tmp_path, "d.png", Image.fromarray(values)))
    assert rgb[..., 0].tolist() == [[0, 255], [128, 1]]


def test_a_declared_bit_depth_scales_sixteen_bit_grayscale_by_the_cameras_range(tmp_path):
    """A 12-bit camera's file stores 0-4095: read as 16 bits it keeps 16 grey levels, read as 12 bits all 256."""
    values = np.array([[0, 4095], [2048, 4095], [1, 4094]], dtype=np.uint16)
    path = _save(tmp_path, "mono12.png", Image.fromarray(values))
    assert read_image(path)[..., 0].tolist() == [[0, 16], [8, 16], [0, 16]]
    assert read_image(path, bit_depth=12)[..., 0].tolist() == [[0, 255], [128, 255], [0, 255]]
    # a value above the bit depth's range: not a file of that bit depth, refused rather than clipped to white (a
    # 16-bit camera's images read as 12 bits turned wholly white, found by review)
    with pytest.raises(BitDepthError, match=r"^upload: 16-bit values up to 4,095, above 1,023, the highest a 10-bit "
                                            r"camera gives: not a 10-bit image, and read at 10 bits its brighter "
                                            r"part would be clipped to white$"):
        read_image(path.read_bytes(), "upload", bit_depth=10)
    with pytest.raises(BitDepthError, match=r"the highest an 8-bit camera gives: not an 8-bit image, and read at 8"):
        read_image(path, bit_depth=8)
    with pytest.raises(BitDepthError, match=r"the highest an 11-bit camera gives: not an 11-bit image"):
        read_image(path, bit_depth=11)
    sixteen = _save(tmp_path, "mono16.png", Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)))
    with pytest.raises(ImageReadError, match="values up to 65,535, above 4,095"):
        read_image(sixteen, bit_depth=12)
    just_above = _save(tmp_path, "mono4096.png", Image.fromarray(np.array([[0, 4096]], dtype=np.uint16)))
    with pytest.raises(BitDepthError, match="values up to 4,096, above 4,095"):  # one above the range is above it
        read_image(just_above, bit_depth=12)
    colour = _sixteen_bit_colour_file(tmp_path, "rgb16.png", np.full((2, 2, 3), 40000, np.uint16))
    with pytest.raises(ImageReadError, match="rgb16.png: 16-bit values up to 40,000, above 4,095"):
        read_image(colour, bit_depth=12)
    ramp = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    twelve_bit = _save(tmp_path, "ramp.png", Image.fromarray(ramp))
    assert len(np.unique(read_image(twelve_bit))) == 17 and len(np.unique(read_image(twelve_bit, bit_depth=12))) == 256
    eight_bit = _save(tmp_path, "eight.png", Image.fromarray(np.full((2, 2), 200, np.uint8)))
    assert read_image(eight_bit, bit_depth=12)[0, 0, 0] == 200  # 8-bit files are not affected
    assert is_sixteen_bit(path) and not is_sixteen_bit(eight_bit)
    assert not is_sixteen_bit(_save_bytes(tmp_path, "notes.png", b"not an image"))
    files = ImageFiles([path, twelve_bit], [(3, 2), (64, 64)], bit_depth=12)
    assert files[0][0, 1, 0] == 255 and image_subset(files, [1]).bit_depth == 12
    for wrong in (7, 17, 12.5, True, "12", None):
        with pytest.raises(ValueError, match="bit_depth must be .* from 8 to 16"):
            read_image(path, bit_depth=wrong)  # type: ignore[arg-type]


def _save_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_rgba_is_composited_over_black(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[0, 0, 3] = 255
    rgba[0, 1, 3] = 0
    rgba[1, :, 3] = 128
    rgb = read_image(_save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    assert rgb[0, 0].tolist() == [200, 200, 200]
    assert rgb[0, 1].tolist() == [0, 0, 0]
    assert 95 <= rgb[1, 0, 0] <= 105
    assert read_image_and_transparency(tmp_path / "a.png")[1] == 0.75  # what a new image's card then says


def test_the_transparency_of_a_new_image_is_counted_and_said(monkeypatch):
    """An RGBA upload was judged on black without a word; its card spoke only of a dark mean grey level, as if a
    lamp had failed (browser review of 2026-12-05)."""
    rgba = np.full((10, 10, 4), 255, np.uint8)
    rgba[:, :4, 3] = 0  # a cut-out part: the left 40 % transparent
    assert read_image_and_transparency(png_bytes(Image.fromarray(rgba, "RGBA")))[1] == pytest.approx(0.4)
    assert read_image_and_transparency(png_bytes(Image.fromarray(rgba[..., :3], "RGB")))[1] == 0.0
    palette = Image.fromarray(np.arange(100, dtype=np.uint8).reshape(10, 10) % 4, "P")
    palette.putpalette([0, 0, 0, 90, 90, 90, 180, 180, 180, 255, 255, 255])
    assert read_image_and_transparency(png_bytes(palette, transparency=3))[1] == pytest.approx(0.25)  # 1 entry of 4
    with pytest.raises(ImageReadError, match="not a readable image"):  # named as read_image names it
        read_image_and_transparency(b"not an image")

    opened = []
    original_open = vqi_core.images._open
    monkeypatch.setattr(vqi_core.images, "_open", lambda *args: opened.append(args) or original_open(*args))
    image, transparent = read_image_and_transparency(png_bytes(Image.fromarray(rgba, "RGBA")))
    assert len(opened) == 1 and transparent == pytest.approx(0.4)  # one decoding for the pixels and the share
    assert image[0, 0].tolist() == [0, 0, 0] and image[0, 9].tolist() == [255, 255, 255]  # read over black
    assert transparency_note(0.0) is None
    assert transparency_note(0.4) == ("40% of its pixels (partly) transparent: darkened, as VQI reads every image "
                                      "over black")
    assert transparency_note(0.001).startswith("under 1% of its pixels (partly) transparent")


def test_rgb_and_jpeg_bytes(tmp_path):
    image = Image.fromarray(np.full((5, 7, 3), (10, 20, 30), np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert read_image(buffer.getvalue(), "upload.png")[0, 0].tolist() == [10, 20, 30]


def test_non_image_and_corrupt_files_raise_clear_errors(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    with pytest.raises(ImageReadError, match="notes.png: not a readable image"):
        read_image(text)
    good = _save(tmp_path, "ok.png", Image.fromarray(np.zeros((50, 50, 3), np.uint8)))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ImageReadError, match="truncated.png"):
        read_image(truncated)
    with pytest.raises(ImageReadError, match="file not found"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match=r"empty.png: the file is empty \(0 bytes\)$"):
        read_image(_save_bytes(tmp_path, "empty.png", b""))


def test_32_bit_and_signed_integer_images_are_refused_not_guessed(tmp_path):
    """A 32-bit integer TIFF whose values all fit 16 bits was read as 16-bit, a larger one scaled by 2**31: both
    guesses. A signed 16-bit TIFF (which Pillow opens the same way) is refused too; an unsigned one is read."""
    values = np.array([[0, 4095], [30000, 65535]])
    for dtype in (np.int32, np.uint32):
        tiff = tmp_path / f"{dtype.__name__}.tif"
        assert cv2.imwrite(str(tiff), values.astype(dtype))
        with pytest.raises(ImageReadError, match=rf"{tiff.name}: 32-bit or signed integer pixels, which VQI does not "
                                                 r"guess a range for: save the image as 8- or 16-bit unsigned"):
            read_image(tiff)
        assert not is_sixteen_bit(tiff)
    signed = tmp_path / "signed.tif"
    assert cv2.imwrite(str(signed), np.array([[0, 4095], [-300, 32767]], np.int16))
    with pytest.raises(ImageReadError, match="signed.tif: 32-bit or signed integer"):
        read_image(signed)
    unsigned = tmp_path / "unsigned.tif"
    assert cv2.imwrite(str(unsigned), values.astype(np.uint16))
    assert read_image(unsigned)[..., 0].tolist() == [[0, 16], [117, 255]]
    assert is_sixteen_bit(unsigned)


def test_floating_point_images_are_read_as_zero_to_one_and_other_ranges_are_refused(tmp_path):
    """A float TIFF of 0..1 is read; one of 0..255 (or with NaN) would be clipped to white, so it is refused."""
    unit = np.array([[0.0, 1.0], [0.5, 1.0004]], np.float32)
    assert read_image(_save(tmp_path, "unit.tif", Image.fromarray(unit, "F")))[..., 0].tolist() == [[0, 255],
                                                                                                       [128, 255]]
    with pytest.raises(ImageReadError, match=r"grey.tif: floating-point pixels from 0 to 200.08; VQI reads .* "
                                             r"0 \(black\) to 1 \(white\)"):
        read_image(_save(tmp_path, "grey.tif", Image.fromarray(unit * 200, "F")))
    with pytest.raises(ImageReadError, match="from 50 to 250; VQI reads"):
        read_image(_save(tmp_path, "bright.tif", Image.fromarray(np.array([[50.0, 250.0]], np.float32), "F")))
    with pytest.raises(ImageReadError, match="NaN or infinite"):
        read_image(_save(tmp_path, "nan.tif", Image.fromarray(np.array([[0.2, np.nan]], np.float32), "F")))


def test_a_colour_tiff_of_floating_point_pixels_is_said_as_one_not_as_a_damaged_file(tmp_path):
    """OpenCV writes colour float TIFFs that Pillow cannot open; they had been called damaged or in another format
    (bad-input review). The same words for a file, its bytes (an upload), its header and a dataset's listing."""
    path = tmp_path / "colour.tiff"
    assert cv2.imwrite(str(path), np.random.default_rng(0).random((16, 24, 3), dtype=np.float32))
    said = f"{path}: {UNDECODABLE_TIFF}"
    for source in (path, path.read_bytes()):
        with pytest.raises(ImageReadError) as refused:
            read_image(source, name=str(path))
        assert str(refused.value) == said
    with pytest.raises(ImageReadError) as refused:
        stored_size(path)
    assert str(refused.value) == said
    root = tmp_path / "part"
    for folder in ("train/good", "test/good"):
        (root / folder).mkdir(parents=True)
        for index in range(2):
            Image.fromarray(np.full((16, 24, 3), 90 + index, np.uint8)).save(root / folder / f"{index}.png")
    shutil.copy2(path, root / "train" / "good" / "colour.tiff")
    assert [item["reason"] for item in load_category(root).skipped] == [UNDECODABLE_TIFF]
    for head in (b"II+\x00", b"MM\x00+"):  # BigTIFF, little- and big-endian
        assert unreadable_reason(UnidentifiedImageError("x"), head + b"\0" * 12) == UNDECODABLE_TIFF
    (tmp_path / "not.tiff").write_bytes(b"\x89PNG but not one")  # not a TIFF: said as before
    with pytest.raises(ImageReadError, match="no valid PNG, JPEG, BMP, TIFF or WebP data"):
        read_image(tmp_path / "not.tiff")


def test_files_are_closed_once_read_or_refused(tmp_path, monkeypatch):
    """Found by review: a file of several pages stayed open after it was read, and a file refused after opening
    (too many pixels, several pages of one size) until the garbage collector found it, which on Windows keeps it
    from being moved or deleted."""
    pages = tmp_path / "pages.tif"
    Image.fromarray(np.zeros((10, 15, 3), np.uint8)).save(
        pages, save_all=True, append_images=[Image.fromarray(np.full((20, 25, 3), 200, np.uint8))])
    mask_pages = tmp_path / "mask_pages.tif"
    Image.fromarray(np.zeros((10, 15), np.uint8)).save(
        mask_pages, save_all=True, append_images=[Image.fromarray(np.full((20, 25), 255, np.uint8))])
    large = tmp_path / "large.png"
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(large)
    monkeypatch.setattr(vqi_core.images, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert read_image(pages).shape == (20, 25, 3) and read_mask(mask_pages).all()
        with pytest.raises(ImageReadError, match="pixel limit"):
            read_image(large)
        gc.collect()
    assert not [str(warning.message) for warning in caught if warning.category is ResourceWarning]


def test_a_file_of_several_images_is_refused_and_a_preview_page_left_out(tmp_path):
    """Judging a stack's first page alone could pass a defect on another page; a preview page (half the pixels or
    fewer) is not an image of the part and is left out; a page a little smaller than the first had been taken for
    one and dropped without a word (bad-input review)."""
    first = Image.fromarray(np.full((20, 30, 3), 40, np.uint8))
    second = Image.fromarray(np.full((20, 30, 3), 200, np.uint8))
    stack = tmp_path / "stack.tif"
    first.save(stack, save_all=True, append_images=[second])
    with pytest.raises(ImageReadError, match=r"stack.tif: the file holds 2 images \(TIFF pages or frames: 2 of 30x20 "
                                             r"px\); VQI judges one image per file"):
        read_image(stack)
    with pytest.raises(ImageReadError, match="holds 2 images"):
        read_image(stack.read_bytes(), "upload.tif")
    animated = tmp_path / "animated.webp"
    first.save(animated, save_all=True, append_images=[second], lossless=True)
    with pytest.raises(ImageReadError, match=r"holds 2 images \(WEBP pages or frames: 2 of 30x20 px\)"):
        read_image(animated)
    near = tmp_path / "near.tif"  # a second page a few pixels smaller: another image, not a preview
    first.save(near, save_all=True, append_images=[second.resize((26, 18))])
    with pytest.raises(ImageReadError, match=r"holds 2 images \(TIFF pages or frames: 30x20, 26x18 px\)"):
        read_image(near)
    with_preview = tmp_path / "preview.tif"
    first.save(with_preview, save_all=True, append_images=[second.resize((15, 10))])
    image = read_image(with_preview)
    assert image.shape == (20, 30, 3) and (image == 40).all()


def test_the_largest_page_of_a_file_with_a_preview_is_read_wherever_it_lies(tmp_path):
    """A TIFF whose first page is a small preview (or thumbnail) is read at the full image's size and pixels, as
    8-bit, 16-bit grayscale and 16-bit colour, and its size from the header is the full image's."""
    preview_first = tmp_path / "preview_first.tif"
    Image.fromarray(np.full((10, 15, 3), 200, np.uint8)).save(
        preview_first, save_all=True, append_images=[Image.fromarray(np.full((20, 30, 3), 40, np.uint8))])
    image = read_image(preview_first)
    assert image.shape == (20, 30, 3) and (image == 40).all()
    assert read_image(preview_first.read_bytes(), "upload.tif").shape == (20, 30, 3)
    assert stored_size(preview_first) == (20, 30)
    grey = (np.arange(600).reshape(20, 30) * 100).astype(np.uint16)
    grey_file = tmp_path / "grey16.tif"
    assert cv2.imwritemulti(str(grey_file), [np.full((10, 15), 1000, np.uint16), grey])
    assert is_sixteen_bit(grey_file)
    assert (read_image(grey_file)[..., 0] == np.clip(grey / 65535 * 255 + 0.5, 0, 255).astype(np.uint8)).all()
    colour = (np.arange(1800).reshape(20, 30, 3) * 37 % 65536).astype(np.uint16)  # RGB
    colour_file = tmp_path / "colour16.tif"
    assert cv2.imwritemulti(str(colour_file), [np.full((10, 15, 3), 1000, np.uint16), colour[..., ::-1]])  # BGR
    assert is_sixteen_bit(colour_file)
    assert (read_image(colour_file) == np.clip(colour / 65535 * 255 + 0.5, 0, 255).astype(np.uint8)).all()
    stack_after_preview = tmp_path / "stack_after_preview.tif"
    Image.fromarray(np.full((10, 15, 3), 200, np.uint8)).save(
        stack_after_preview, save_all=True, append_images=[Image.fromarray(np.full((20, 30, 3), v, np.uint8))
                                                           for v in (40, 90)])
    with pytest.raises(ImageReadError, match=r"holds 2 images \(TIFF pages or frames: 2 of 30x20 px\)"):
        read_image(stack_after_preview)


def _with_orientation(image: Image.Image, orientation: int) -> Image.Image:
    exif = Image.Exif()
    exif[0x0112] = orientation  # EXIF Orientation
    image.info["exif"] = exif.tobytes()
    return image


@pytest.mark.parametrize("suffix", ["jpg", "png", "tif"])
def test_an_exif_orientation_is_applied_as_a_viewer_shows_the_image(tmp_path, suffix):
    """A camera that stores its pixels sideways (orientation 6: turn 90 degrees clockwise to show them): the
    image, its size from the header and its bytes all come out the way they are shown."""
    stored = np.zeros((60, 40, 3), np.uint8)  # 40 px wide, 60 px high as stored
    stored[:10, :10] = 255  # a white block in the stored image's top-left corner...
    path = tmp_path / f"sideways.{suffix}"
    image = Image.fromarray(stored)
    image.save(path, exif=_with_orientation(image, 6).info["exif"], **({"quality": 100} if suffix == "jpg" else {}))
    shown = read_image(path)
    assert shown.shape == (40, 60, 3) and stored_size(path) == (40, 60)
    assert shown[:10, -10:].mean() > 200 and shown[:10, :10].mean() < 50  # ...is top-right once turned clockwise
    assert np.array_equal(read_image(path.read_bytes(), "upload"), shown)
    upright = tmp_path / f"upright.{suffix}"
    Image.fromarray(stored).save(upright)
    assert read_image(upright).shape == (60, 40, 3) and stored_size(upright) == (60, 40)
    drawn_on_stored = tmp_path / "stored_mask.png"  # the likely cause of a mask of the swapped size: said (review)
    Image.fromarray(np.zeros((60, 40), np.uint8)).save(drawn_on_stored)
    assert mask_problem(drawn_on_stored, path) == (
        f"mask ignored: it is 40x60 px but its image {path.name} is 60x40 px; the image is stored sideways and shown "
        f"turned by its EXIF orientation: draw the mask on the image as a viewer shows it")
    assert mask_problem(drawn_on_stored, tmp_path / "upright.png" if suffix == "png" else upright) is None


@pytest.mark.parametrize("exif", DAMAGED_EXIF)
def test_a_jpeg_whose_exif_data_is_damaged_is_read_as_stored_without_pillows_warning(tmp_path, exif):
    """Pillow printed "UserWarning: Corrupt EXIF data" on the terminal of predict, naming no file (bad-input
    review of 2026-12-05): its orientation cannot be read, so the image is read as stored, quietly once the
    command line or the dashboard has called hide_pillow_warnings (once for the process: warnings.catch_warnings
    around each read changed every thread's filters while it decoded: review of the change)."""
    data = jpeg_with_damaged_exif(exif)
    path = _save_bytes(tmp_path, "part.jpg", data)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        read_image(data)
    assert [w for w in shown if w.filename.startswith(os.path.dirname(Image.__file__))]  # Pillow does warn
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        hide_pillow_warnings()
        image = read_image(data)
        sources, skipped = folder_sources(tmp_path)  # listed (its header checked) as a folder to score
        assert stored_size(path) == (8, 12) and not is_sixteen_bit(path) and not skipped and len(sources) == 1
    assert image.shape == (8, 12, 3) and image[:, :5].mean() > 150 > image[:, 7:].mean()  # as stored
    assert not shown


def test_sixteen_bit_with_an_orientation_keeps_its_scaling(tmp_path):
    values = np.array([[0, 65535, 257]], dtype=np.uint16)  # 3 wide, 1 high as stored
    image = Image.fromarray(values)
    path = tmp_path / "d16.png"
    image.save(path, exif=_with_orientation(image, 8).info["exif"])  # turn 90 degrees counter-clockwise to show
    assert read_image(path)[..., 0].tolist() == [[1], [255], [0]]


def _sixteen_bit_colour_file(tmp_path, name, rgb_or_rgba):
    """A 16-bit colour PNG or TIFF written by OpenCV (Pillow cannot write 16-bit colour)."""
    path = tmp_path / name
    channels = [2, 1, 0, 3][:rgb_or_rgba.shape[2]]
    assert cv2.imwrite(str(path), rgb_or_rgba[..., channels])
    return path


@pytest.mark.parametrize("suffix", ["png", "tif"])
def test_sixteen_bit_colour_keeps_its_low_bits_and_a_declared_bit_depth(tmp_path, suffix):
    """Pillow decodes 16-bit colour at 8 bits (the high byte); VQI reads every bit, scaled as 16-bit grayscale
    is: by 65535, or by the camera's range when a bit depth is declared."""
    values = np.random.default_rng(0).integers(0, 4096, (5, 7, 3)).astype(np.uint16)  # a 12-bit camera's colours
    path = _sixteen_bit_colour_file(tmp_path, f"rgb12.{suffix}", values)
    assert is_sixteen_bit(path)
    assert np.array_equal(read_image(path), np.round(values / 65535 * 255).astype(np.uint8))
    twelve_bit = np.round(values / 4095 * 255).astype(np.uint8)
    assert np.array_equal(read_image(path, bit_depth=12), twelve_bit)
    assert np.array_equal(read_image(path.read_bytes(), "upload", bit_depth=12), twelve_bit)
    assert len(np.unique(read_image(path, bit_depth=12))) > 16 * 3  # read as 16 bits: at most 17 levels
    assert np.array_equal(ImageFiles([path], [(5, 7)], bit_depth=12)[0], twelve_bit)
    rgba = np.concatenate([np.full((1, 3, 3), 4095, np.uint16), np.array([[[0], [32768], [65535]]], np.uint16)], 2)
    assert read_image(_sixteen_bit_colour_file(tmp_path, f"rgba.{suffix}", rgba), bit_depth=12)[0, :, 0].tolist() \
        == [0, 128, 255]  # alpha composited over black, scaled by its full 16 bits



def test_sixteen_bit_grayscale_with_alpha_keeps_its_low_bits():
    """A 16-bit grayscale PNG with an alpha channel (colour type 4), which Pillow opens as 8-bit RGBA."""
    gray, alpha = np.array([[0, 4095, 2048, 200]]), np.array([[65535, 65535, 65535, 32768]])
    pixels = np.stack([gray, alpha], -1).astype(">u2")
    header = struct.pack(">IIBBBBB", 4, 1, 16, 4, 0, 0, 0)  # width, height, bit depth, colour type 4 (GA)
    png = b"\x89PNG\r\n\x1a\n" + b"".join(struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data)) for kind, data in [(b"IHDR", header), (b"IDAT", zlib.compress(
            b"\0" + pixels.tobytes())), (b"IEND", b"")])
    shown = read_image(png, "gray-alpha.png", bit_depth=12)
    assert shown[0].tolist() == [[0] * 3, [255] * 3, [128] * 3, [6] * 3]  # the last half transparent: 12.5 / 2

def _png_with_orientation(png: bytes, orientation: int) -> bytes:
    """A PNG's bytes with an eXIf chunk (EXIF orientation) after its header chunk."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    tiff_header = exif.tobytes()[len(b"Exif\0\0"):]
    chunk = b"eXIf" + tiff_header
    after_header = len(b"\x89PNG\r\n\x1a\n") + 25
    return png[:after_header] + struct.pack(">I", len(tiff_header)) + chunk + \
        struct.pack(">I", zlib.crc32(chunk)) + png[after_header:]


def _tiff_with_orientation(rgb: np.ndarray, orientation: int) -> bytes:
    """An uncompressed 16-bit RGB TIFF (little-endian, one strip) with an orientation tag."""
    height, width, _ = rgb.shape
    pixels = rgb.astype("<u2").tobytes()
    bits_at = 8 + 2 + 11 * 12 + 4
    pixels_at = bits_at + 6

    def tag(code, kind, count, value):  # kind 3: SHORT, 4: LONG
        packed = struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        return struct.pack("<HHI", code, kind, count) + packed

    tags = [tag(256, 4, 1, width), tag(257, 4, 1, height), tag(258, 3, 3, bits_at), tag(259, 3, 1, 1),
            tag(262, 3, 1, 2), tag(273, 4, 1, pixels_at), tag(274, 3, 1, orientation), tag(277, 3, 1, 3),
            tag(278, 4, 1, height), tag(279, 4, 1, len(pixels)), tag(284, 3, 1, 1)]
    return b"II*\0" + struct.pack("<IH", 8, len(tags)) + b"".join(tags) + b"\0\0\0\0" + \
        struct.pack("<3H", 16, 16, 16) + pixels


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", ["png", "tif"])
def test_sixteen_bit_colour_with_an_orientation_is_shown_as_every_other_image(tmp_path, suffix, orientation):
    """OpenCV turns a TIFF's 16-bit pixels by its orientation tag but not a PNG's by its EXIF chunk; either
    way the image comes out as Pillow shows it. Each value's low byte is a function of its high byte, so the
    16-bit image expected can be rebuilt from Pillow's 8-bit one."""
    high = np.random.default_rng(orientation).integers(0, 256, (4, 6, 3))
    stored = (high * 256 + high * 7 % 256).astype(np.uint16)  # 4 high, 6 wide as stored
    if suffix == "png":
        data = _png_with_orientation(cv2.imencode(".png", stored[..., ::-1])[1].tobytes(), orientation)
    else:
        data = _tiff_with_orientation(stored, orientation)
    shown_high = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data)))).astype(np.int64)
    assert shown_high.shape == ((6, 4, 3) if orientation >= 5 else (4, 6, 3))
    expected = np.round((shown_high * 256 + shown_high * 7 % 256) / 65535 * 255).astype(np.uint8)
    assert np.array_equal(read_image(data, "upload"), expected)
    path = _save_bytes(tmp_path, f"turned.{suffix}", data)
    assert np.array_equal(read_image(path), expected) and stored_size(path) == expected.shape[:2]


def test_sixteen_bit_colour_that_decoders_disagree_on_is_refused(tmp_path, monkeypatch):
    path = _sixteen_bit_colour_file(tmp_path, "rgb.png", np.arange(36, dtype=np.uint16).reshape(2, 6, 3) * 1000)
    real_decode = cv2.imdecode
    monkeypatch.setattr(vqi_core.images.cv2, "imdecode", lambda data, flags: real_decode(data, flags)[::-1])
    with pytest.raises(ImageReadError, match="rgb.png: its 16-bit colour pixels decode differently in Pillow and "
                                             "OpenCV; save it again as a plain 16-bit PNG or TIFF"):
        read_image(path)
    monkeypatch.setattr(vqi_core.images.cv2, "imdecode", lambda data, flags: None)
    with pytest.raises(ImageReadError, match="rgb.png: its 16-bit colour pixels cannot be decoded"):
        read_image(path)


def test_huge_upload_is_refused_before_decoding():
    with pytest.raises(ImageReadError, match="larger than the 50 MB limit"):
        read_image(b"\0" * (MAX_IMAGE_BYTES + 1), "huge.png")


def test_mask_binarised_at_127(tmp_path):
    mask = np.zeros((4, 4), np.uint8)
    mask[0, 1], mask[1, 0], mask[1, 1] = 127, 128, 255  # 2 of 16 pixels mid-grey: an anti-aliased edge
    path = _save(tmp_path, "m.png", Image.fromarray(mask, "L"))
    assert np.argwhere(read_mask(path)).tolist() == [[1, 0], [1, 1]]
    for channel in range(3):  # a colour mask drawn in red, green or blue marks its pixels alike
        coloured = np.zeros((4, 4, 3), np.uint8)
        coloured[2:, :2, channel] = 255
        path = _save(tmp_path, f"colour{channel}.png", Image.fromarray(coloured, "RGB"))
        assert np.argwhere(read_mask(path)).tolist() == [[2, 0], [2, 1], [3, 0], [3, 1]]


def test_a_photo_or_a_gradient_given_as_a_mask_or_a_region_is_refused(tmp_path):
    """A horizontal 0-255 gradient read as a ground-truth mask made half of it a defect, and a photo given as an
    inspection region left 42 % of every image inspected, both without a word (bad-input review of 2026-12-05)."""
    gradient = _save(tmp_path, "003_mask.png", Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (8, 1)), "L"))
    said = ("75% of its pixels are neither dark nor light (32 to 223 of 255), so it looks like a photo or a "
            "grey-level picture, not a black-and-white mask")
    with pytest.raises(ImageReadError, match=f"^{re.escape(f'{gradient}: {said}')}: masks mark defect pixels white "
                                             f"and the rest black$"):
        read_mask(gradient)
    with pytest.raises(ValueError, match=f"^{re.escape(f'the inspection region {gradient}: {said}')}: white marks "
                                         f"what is inspected, black what is not$"):
        InspectionRegion.read(gradient)
    levels = np.zeros((8, 8), np.uint8)
    levels[:, :4] = 128  # half of it mid-grey, but in one level: a mask (white above 127)
    assert not_a_mask_reason(levels) is None
    edges = np.zeros((10, 10), np.uint8)
    edges[:, 5:] = 255
    edges[:, 4] = 128  # an anti-aliased edge: 10 % of the pixels
    assert not_a_mask_reason(edges) is None and read_mask(_save(tmp_path, "edge.png", Image.fromarray(edges))).sum()


def test_a_16_bit_mask_that_marks_nothing_white_is_named_with_its_own_values(tmp_path):
    """A 16-bit 0/30000 mask was said to have 117 as its highest value, a 0/200 one 1, and a 0/100 one read as
    all black: the values of the 8-bit image it becomes, not the file's (bad-input review of 2026-12-05)."""
    def mask(high: int):
        values = np.zeros((4, 4), np.uint16)
        values[1:3, 1:3] = high
        return _save(tmp_path, f"m{high}.png", Image.fromarray(values))

    for high in (30_000, 200, 100):
        with pytest.raises(ImageReadError, match=f"the mask's highest value is {high:,} of 65,535 \\(a 16-bit mask, "
                                                 f"white above 32,767\\), so it marks no pixel above half of white "
                                                 f".*white \\(> 32,767\\), e.g. 65,535$"):  # not 255: dark there
            read_mask(mask(high))
    assert read_mask(mask(32_768)).sum() == 4 and read_mask(mask(65_535)).sum() == 4
    with pytest.raises(ImageReadError, match="the mask's highest value is 1, so it marks no pixel above 127"):
        read_mask(_save(tmp_path, "m1.png", Image.fromarray(np.eye(4, dtype=np.uint8), "L")))


def test_image_files_decode_on_demand_and_know_their_sizes_without_decoding(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (10 + i, 20, 3), dtype=np.uint8) for i in range(4)]
    paths = [_save(tmp_path, f"{i}.png", Image.fromarray(a)) for i, a in enumerate(arrays)]
    files = ImageFiles(paths, [a.shape[:2] for a in arrays])
    assert len(files) == 4 and np.array_equal(files[2], arrays[2]) and np.array_equal(files[-1], arrays[3])
    assert [a.shape for a in files[1:3]] == [(11, 20, 3), (12, 20, 3)]
    assert [a.shape for a in files] == [a.shape for a in arrays]  # iteration stops at the end
    chosen = image_subset(files, [3, 0])
    assert isinstance(chosen, ImageFiles) and np.array_equal(chosen[0], arrays[3])
    assert image_subset(arrays, [3, 0])[1] is arrays[0]  # a list stays a list of the same arrays

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(vqi_core.images, "read_image", no_decoding)
    assert image_shapes(chosen) == [(13, 20), (10, 20)] and image_shapes(arrays) == [(10, 20), (11, 20),
                                                                                     (12, 20), (13, 20)]
    with pytest.raises(ValueError, match="4 paths but 3 shapes"):
        ImageFiles(paths, [a.shape[:2] for a in arrays[:3]])


def test_messages_for_unreadable_bytes_name_the_file_and_the_problem():
    """Never Python's "<_io.BytesIO object at 0x...>": the upload's name and what is wrong with it."""
    with pytest.raises(ImageReadError, match=r"^part\.png: the file is empty \(0 bytes\)$"):
        read_image(b"", "part.png")
    with pytest.raises(ImageReadError) as refused:
        read_image(b"hello, not an image", "part.png")
    assert str(refused.value).startswith("part.png: not a readable image (no valid PNG, JPEG")
    assert "BytesIO" not in str(refused.value)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_an_uncompressed_grayscale_tiff_stored_sideways_is_refused_not_scrambled(tmp_path, dtype):
    """Pillow gives such a file its shown size but decodes its rows as stored: the image came out as stripes, and
    its mask (checked against the shown size) seemed to fit (review of 2026-12-03). Compressed, it is turned."""
    from PIL import TiffImagePlugin

    stored = (np.arange(60 * 40) % 251).astype(dtype).reshape(60, 40)
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[274] = 6  # EXIF orientation: turn 90 degrees clockwise to show
    raw, packed = tmp_path / "raw.tif", tmp_path / "lzw.tif"
    Image.fromarray(stored).save(raw, tiffinfo=tags)
    Image.fromarray(stored).save(packed, tiffinfo=tags, compression="tiff_lzw")
    with pytest.raises(ImageReadError, match="an uncompressed grayscale TIFF stored sideways .EXIF orientation 6."):
        read_image(raw)
    shown = read_image(packed)
    assert shown.shape == (40, 60, 3) and stored_size(packed) == (40, 60)
    if dtype == np.uint8:  # turned clockwise, as a viewer shows it
        assert np.array_equal(shown[..., 0], np.rot90(stored, -1))


def test_reading_a_file_refuses_devices_pipes_folders_and_oversized_files(tmp_path, monkeypatch):
    """A recorded path (a run's scores.csv may come from another machine) that names /dev/zero would be read for
    ever, and a pipe would wait for a writer: only regular files of at most MAX_FILE_BYTES are read."""
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    for path in ("/dev/zero", pipe, tmp_path):
        with pytest.raises(ImageReadError, match="not a regular file"):
            read_file_bytes(path)
    image = tmp_path / "part.png"
    Image.new("RGB", (8, 8)).save(image)
    assert read_file_bytes(image) == image.read_bytes()
    monkeypatch.setattr(vqi_core.images, "MAX_FILE_BYTES", image.stat().st_size - 1)
    with pytest.raises(ImageReadError, match="larger than the 0 MB an image file may be"):
        read_file_bytes(image)


def test_an_image_past_pillows_own_pixel_limit_is_called_too_large_not_corrupt(tmp_path, monkeypatch):
    """Pillow refuses to open an image of more than twice its MAX_IMAGE_PIXELS (179 megapixels) before VQI sees
    its size: a 14000 x 14000 PNG in a folder was listed as a "corrupt or unreadable image"."""
    path = tmp_path / "parts" / "large.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), np.zeros((64, 64, 3), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4,096 pixels: past twice the limit, as 196 megapixels are
    sources, skipped = folder_sources(path.parent)
    said = "4,096 pixels is larger than the 64,000,000 pixel limit"  # its size, as other large images are named
    assert sources == [] and skipped == [{"file": str(path), "reason": said}]
    with pytest.raises(ImageReadError, match=f"^{path}: {said}$"):
        read_image(path)
    with pytest.raises(ImageReadError, match=f"^{path}: {said}$"):  # it escaped as Pillow's own error (review)
        stored_size(path)
    assert is_sixteen_bit(path) is False


def test_an_image_of_exactly_the_pixel_limit_is_read_and_one_pixel_more_is_refused(tmp_path, monkeypatch):
    """Found by mutation testing: the limit's boundary was untested (``>=`` would refuse an image of the limit)."""
    monkeypatch.setattr(vqi_core.images, "MAX_IMAGE_PIXELS", 100)
    cv2.imwrite(str(tmp_path / "at.png"), np.zeros((10, 10, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "over.png"), np.zeros((10, 11, 3), np.uint8))
    assert read_image(tmp_path / "at.png").shape == (10, 10, 3)
    with pytest.raises(ImageReadError, match="11x10 pixels is larger than the 100 pixel limit"):
        read_image(tmp_path / "over.png")


def test_floating_point_pixels_below_black_are_refused_not_clipped():
    """Found by mutation testing (untested): a mean-subtracted float image would have been clipped to black."""
    with pytest.raises(ImageReadError, match="floating-point pixels from -0.5 to 0.5"):
        to_rgb_array(Image.fromarray(np.array([[-0.5, 0.5]], np.float32), mode="F"))


def test_large_images_are_converted_a_band_of_rows_at_a_time_with_the_same_pixels(tmp_path, monkeypatch):
    """A 16-bit colour image of 64 megapixels took 5.3 GB to read (float64 copies of the whole image; bad-input
    review of 2026-12-05): conversions now run a band of rows at a time. Bands of 1,000 pixels (a few rows of these
    images, and a last band of fewer rows) give exactly the pixels of one band holding the whole image."""
    rng = np.random.default_rng(0)
    height, width = 61, 47
    rgba16 = rng.integers(0, 65536, (height, width, 4), dtype=np.uint16)
    twelve_bit = rng.integers(0, 4096, (height, width, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "rgba16.png"), rgba16)
    cv2.imwrite(str(tmp_path / "rgb12.tif"), twelve_bit)
    cv2.imwrite(str(tmp_path / "gray16.png"), rgba16[..., 0])
    Image.fromarray(rng.random((height, width), dtype=np.float32), mode="F").save(tmp_path / "float.tif")
    Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), mode="RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (height, width, 2), dtype=np.uint8), mode="LA").save(tmp_path / "la.png")
    files = {"rgba16.png": 16, "rgb12.tif": 12, "gray16.png": 16, "float.tif": 16, "rgba.png": 16, "la.png": 16}
    heat = rng.random((7, 5)).astype(np.float32) * 2
    over_black, heat_rgb = vqi_core.images._over_black, vqi_core.localisation.heatmap_image
    monkeypatch.setattr(vqi_core.images, "BAND_PIXELS", height * width)  # one band: the whole image at once
    whole = {name: read_image(tmp_path / name, bit_depth=depth) for name, depth in files.items()}
    whole_overlay = render_overlay(whole["rgba16.png"], heat)
    monkeypatch.setattr(vqi_core.images, "BAND_PIXELS", 1000)
    assert vqi_core.images.row_bands(height, width) == [slice(0, 21), slice(21, 42), slice(42, 63)]
    for name, depth in files.items():
        assert np.array_equal(read_image(tmp_path / name, bit_depth=depth), whole[name]), name
    converted, blended = [], []  # and it is done a band at a time (review: the test passed with bands removed)
    monkeypatch.setattr(vqi_core.images, "_over_black", lambda rgba: converted.append(len(rgba)) or over_black(rgba))
    monkeypatch.setattr(vqi_core.localisation, "heatmap_image",
                        lambda rows: blended.append(len(rows)) or heat_rgb(rows))
    read_image(tmp_path / "rgba.png")
    assert np.array_equal(render_overlay(whole["rgba16.png"], heat), whole_overlay)
    assert converted == blended == [21, 21, 19]
    assert len({array.tobytes() for array in whole.values()}) == len(files)  # six different conversions


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_file_cut_short_is_said_in_the_same_plain_words_however_it_is_read(tmp_path, suffix):
    """The same cut-off file was "OSError: image file is truncated" as an upload and "OSError: Truncated File Read"
    in a folder (browser review): Pillow's words for it differ by decoder and path."""
    whole = io.BytesIO()
    Image.fromarray(textured_image(96, seed=3)).save(whole, format="PNG" if suffix == ".png" else "JPEG")
    cut = whole.getvalue()[: len(whole.getvalue()) // 2]
    (tmp_path / f"cut{suffix}").write_bytes(cut)
    reasons = []
    for source in (cut, tmp_path / f"cut{suffix}"):
        with pytest.raises(ImageReadError) as refused:
            read_image(source, name=f"cut{suffix}")
        reasons.append(str(refused.value))
    assert all(reason.endswith(CUT_SHORT) for reason in reasons), reasons


def _garbled_jpeg(quality: int) -> tuple[bytes, bytes]:
    """A JPEG of a textured part, and the same file with 2,000 bytes of its compressed data replaced by random bytes
    that hold no marker (no 0xFF), as a bad copy or transmission leaves it."""
    whole = io.BytesIO()
    Image.fromarray(textured_image(256)).save(whole, format="JPEG", quality=quality)
    data = whole.getvalue()
    start = data.index(b"\xff\xda") + 400
    noise = np.random.default_rng(0).integers(0, 255, 2000, dtype=np.uint8).tobytes()  # 0..254: no marker
    return data, data[:start] + noise + data[start + 2000:]


@pytest.mark.parametrize("quality, said", [(75, "premature end of data segment"),
                                           (90, "47 extraneous bytes before marker 0xd9")])
def test_a_jpeg_whose_compressed_data_is_garbled_is_refused_as_damaged_not_read_as_a_part(tmp_path, quality, said):
    """Pillow decodes a garbled JPEG without a word, into grey and smeared blocks, which training learnt as a good
    part and predict judged (bad-input review); data after the end marker, which some cameras append, stays read."""
    intact, garbled = _garbled_jpeg(quality)
    assert np.asarray(Image.open(io.BytesIO(garbled)).convert("RGB")).shape == (256, 256, 3)  # Pillow reads it
    (tmp_path / "garbled.jpg").write_bytes(garbled)
    for source in (garbled, tmp_path / "garbled.jpg"):
        with pytest.raises(ImageReadError, match=rf"garbled.jpg: not a readable image \(damaged JPEG data, \"Corrupt "
                                                 rf"JPEG data: {said}\": .*grey or smeared blocks; copy or capture it "
                                                 rf"again"):
            read_image(source, name="garbled.jpg")
    assert np.array_equal(read_image(intact + b"\x00trailer" * 10), read_image(intact))
    samples = [Sample(tmp_path / "garbled.jpg", 1, "crack", None)]
    skipped: list[dict[str, str]] = []
    kept, images = read_samples(samples, None, "loading", skipped)
    assert kept == [] and len(images) == 0 and "damaged JPEG data" in skipped[0]["reason"]


def test_files_of_formats_vqi_does_not_read_are_refused_under_an_image_suffix(tmp_path):
    """A GIF or an icon saved under .png had been scored although VQI refuses .gif and names the formats it reads
    (bad-input review)."""
    picture = Image.fromarray(textured_image(32))
    picture.save(tmp_path / "gif.png", format="GIF")
    picture.save(tmp_path / "icon.png", format="ICO")
    for path, kind in ((tmp_path / "gif.png", "GIF"), (tmp_path / "icon.png", "ICO")):  # named (QE review)
        said = (f"not a readable image: it holds {kind} data, which VQI does not read (it reads PNG, JPEG, BMP, TIFF "
                f"and WebP): save it as one of those")
        for source in (path, path.read_bytes()):
            with pytest.raises(ImageReadError) as refused:
                read_image(source, name=path.name)
            assert str(refused.value) == f"{path.name}: {said}"
        with pytest.raises(ImageReadError, match=re.escape(said)):
            stored_size(path)
        assert not is_sixteen_bit(path)
    for form in ("PNG", "JPEG", "BMP", "TIFF", "WEBP"):  # and each format it reads still is
        picture.save(tmp_path / f"part.{form.lower()}", format=form)
        assert read_image(tmp_path / f"part.{form.lower()}").shape == (32, 32, 3)


def test_a_damaged_png_is_said_in_plain_words_not_pillows(tmp_path):
    """Pillow's "SyntaxError: broken PNG file (bad header checksum in b'IDAT')" named a Python exception and called
    pixel data a header; "broken data stream when reading image file" said nothing of the file (bad-input review)."""
    whole = bytearray(png_bytes(Image.fromarray(textured_image(64))))
    flipped = bytearray(whole)
    flipped[whole.index(b"IDAT") + 100] ^= 0x01
    (tmp_path / "part.png").write_bytes(bytes(flipped))
    root = tmp_path / "category"
    for folder in ("train/good", "test/good"):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.png").write_bytes(bytes(whole))
    (root / "train" / "good" / "b.png").write_bytes(bytes(flipped))
    reasons = {Path(item["file"]).name: item["reason"] for item in load_category(root).skipped}
    assert reasons["b.png"] == "not a readable image (a damaged PNG: the checksum of its pixel data does not match)"
    with pytest.raises(ImageReadError) as refused:
        read_image(tmp_path / "part.png")
    assert str(refused.value).endswith("not a readable image (damaged: its compressed pixel data cannot be decoded)")


@pytest.mark.parametrize("bit_depth", [-4, 100, None, "12", 12.5])
def test_a_bit_depth_that_is_not_one_is_refused_for_an_eight_bit_file_too(tmp_path, bit_depth):
    """Only 16-bit files had checked it, so a wrong setting went unnoticed until the first one (bad-input review)."""
    path = _save(tmp_path, "part.png", Image.fromarray(textured_image(16)))
    with pytest.raises(ValueError, match="bit_depth must be"):
        read_image(path, bit_depth=bit_depth)


def test_stray_bytes_between_a_jpegs_header_segments_are_not_damage():
    """libjpeg warns of them ("3 extraneous bytes before marker 0xdb"), but every pixel decodes as written; they
    had been refused as damaged (code review)."""
    intact, _ = _garbled_jpeg(90)
    at = intact.index(b"\xff\xdb")
    padded = intact[:at] + b"\x01\x02\x03" + intact[at:]
    assert np.array_equal(read_image(padded), read_image(intact))
