"""Reading every image kind one consistent way, and clear errors for bad files."""

import io

import numpy as np
import pytest
from PIL import Image

import vqi_core.images
from vqi_core.images import (MAX_IMAGE_BYTES, ImageFiles, ImageReadError, image_shapes, image_subset,
                             is_sixteen_bit_grayscale, read_image, read_mask, stored_size)


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
    values = np.array([[0, 4095], [2048, 65535], [1, 4094]], dtype=np.uint16)
    path = _save(tmp_path, "mono12.png", Image.fromarray(values))
    assert read_image(path)[..., 0].tolist() == [[0, 16], [8, 255], [0, 16]]
    assert read_image(path, bit_depth=12)[..., 0].tolist() == [[0, 255], [128, 255], [0, 255]]  # above: clipped
    assert read_image(path.read_bytes(), "upload", bit_depth=10)[..., 0].tolist() == [[0, 255], [255, 255], [0, 255]]
    ramp = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    twelve_bit = _save(tmp_path, "ramp.png", Image.fromarray(ramp))
    assert len(np.unique(read_image(twelve_bit))) == 17 and len(np.unique(read_image(twelve_bit, bit_depth=12))) == 256
    eight_bit = _save(tmp_path, "eight.png", Image.fromarray(np.full((2, 2), 200, np.uint8)))
    assert read_image(eight_bit, bit_depth=12)[0, 0, 0] == 200  # 8-bit files are not affected
    assert is_sixteen_bit_grayscale(path) and not is_sixteen_bit_grayscale(eight_bit)
    assert not is_sixteen_bit_grayscale(_save_bytes(tmp_path, "notes.png", b"not an image"))
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


def test_sixteen_bit_with_an_orientation_keeps_its_scaling(tmp_path):
    values = np.array([[0, 65535, 257]], dtype=np.uint16)  # 3 wide, 1 high as stored
    image = Image.fromarray(values)
    path = tmp_path / "d16.png"
    image.save(path, exif=_with_orientation(image, 8).info["exif"])  # turn 90 degrees counter-clockwise to show
    assert read_image(path)[..., 0].tolist() == [[1], [255], [0]]


def test_huge_upload_is_refused_before_decoding():
    with pytest.raises(ImageReadError, match="larger than the 50 MB limit"):
        read_image(b"\0" * (MAX_IMAGE_BYTES + 1), "huge.png")


def test_mask_binarised_at_127_and_size_checked(tmp_path):
    mask = np.array([[0, 127], [128, 255]], np.uint8)
    path = _save(tmp_path, "m.png", Image.fromarray(mask, "L"))
    assert read_mask(path).tolist() == [[False, False], [True, True]]
    with pytest.raises(ImageReadError, match="mask is 2x2 px but its image is 3x2 px"):
        read_mask(path, expected_hw=(2, 3))


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
