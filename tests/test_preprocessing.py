"""Resize modes, crop and the way back from the network grid to the image."""

import numpy as np
import pytest

from vqi_core.preprocessing import Preprocessing, eval_size, map_to_image, resize_image


def test_squash_fills_input_and_normalises():
    pre = Preprocessing(32, 48, "squash", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    x, geometries = pre([np.full((100, 60, 3), 255, np.uint8)])
    assert pre.input_hw == (32, 48) and pre.network_hw == (32, 64)  # padded to multiples of 32, right and below
    assert tuple(x.shape) == (1, 3, 32, 64)
    assert np.allclose(x[..., :48].numpy(), 1.0) and np.allclose(x[..., 48:].numpy(), 0.0)  # the mean colour: 0
    assert geometries[0].original_hw == (100, 60)
    assert Preprocessing.from_dict({**pre.to_dict(), "pad_to": 1}).network_hw == (32, 48)
    saved_before_padding = {key: value for key, value in pre.to_dict().items() if key != "pad_to"}
    assert Preprocessing.from_dict(saved_before_padding).pad_to == 1  # a model saved before it pads as fitted


def test_letterbox_keeps_aspect_and_maps_back():
    pre = Preprocessing(64, 64, "letterbox")
    image = np.zeros((40, 160, 3), np.uint8)  # a long part: 4:1
    x, (geometry,) = pre([image])
    assert (geometry.y0, geometry.y1, geometry.x0, geometry.x1) == (24, 40, 0, 64)  # centred (mutation review)
    padding = np.concatenate([x[0, :, : geometry.y0].numpy(), x[0, :, geometry.y1:].numpy()], axis=1)
    assert padding.size and np.allclose(padding, 0.0, atol=0.01)  # mean colour -> 0 after normalisation
    grid = np.zeros((64, 64), np.float32)
    grid[geometry.y0:geometry.y1, 32:] = 1.0  # right half of the part is anomalous
    back = map_to_image(grid, geometry)
    assert back.shape == (40, 160)
    assert back[:, :70].max() < 0.5 and back[:, 90:].min() > 0.5


def test_crop_marks_outside_as_minimum():
    pre = Preprocessing(64, 64, "squash", crop=0.5)
    x, (geometry,) = pre([np.zeros((64, 64, 3), np.uint8)])
    assert tuple(x.shape[-2:]) == (32, 32)
    back = map_to_image(np.ones((32, 32), np.float32) * 3, geometry)
    assert back.shape == (64, 64)
    assert back[32, 32] == pytest.approx(3.0)
    ramp = 3 + np.arange(32 * 32, dtype=np.float32).reshape(32, 32) / 100  # the border the crop cut off: 3, not 0
    back = map_to_image(ramp, geometry)
    assert back[:8].max() == back[:, :8].max() == back[-8:].max() == back[:, -8:].max() == pytest.approx(3.0)
    assert back.min() == pytest.approx(3.0) and back[16:48, 16:48].max() > 12


def test_shrinking_averages_the_pixels_it_merges():
    """Shrunk to the network input, one-pixel lines keep their share of grey (area averaging), as a thin defect
    must; bilinear sampling would drop most of them or keep them whole."""
    lines = np.zeros((96, 96, 3), np.uint8)
    lines[::3] = 255  # every third row white: a mean of 85
    small = resize_image(lines, 32, 32)
    assert small.shape == (32, 32, 3) and np.abs(small.astype(float) - 85).max() <= 1
    assert resize_image(lines, 96, 96) is lines


def test_the_centre_crop_keeps_the_centre():
    """Mutation review: only the crop's size and the map's way back were checked, not which part is kept."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[16:48, 16:48] = 255  # the centre quarter white, the rest black
    prepared, _ = Preprocessing(64, 64, "squash", crop=0.5).prepare(image)
    assert prepared.shape == (32, 32, 3) and prepared.min() == 1.0


def test_round_trip_dict_and_validation():
    pre = Preprocessing(128, 96, "letterbox", 0.9, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6))
    assert Preprocessing.from_dict(pre.to_dict()) == pre
    with pytest.raises(ValueError, match="resize must be one of"):
        Preprocessing(resize="stretch")
    with pytest.raises(ValueError, match="crop must be between"):
        Preprocessing(crop=0.1)


def test_eval_size_caps_long_side():
    assert eval_size((600, 300)) == (256, 128)
    assert eval_size((300, 600)) == (128, 256)  # a wide image too (mutation review: its height was taken)
    assert eval_size((100, 50)) == (100, 50)


def test_fixed_scale_keeps_one_pixel_scale_and_takes_the_training_shape():
    sizes = [(400, 100), (200, 600), (300, 300)]  # a tall, a wide and a square crop of one camera
    pre = Preprocessing(128, 128, "fixed_scale").fit_to(sizes)
    assert pre.height % 32 == 0 and pre.width % 32 == 0 and pre.width > pre.height  # bounding box 400 x 600
    assert pre.height * pre.width == pytest.approx(128 * 128, rel=0.5)
    assert pre.scale == pytest.approx(min(pre.height / 400, pre.width / 600))
    assert pre.scale * 400 <= pre.height and pre.scale * 600 <= pre.width
    _, geometries = pre([np.zeros((h, w, 3), np.uint8) for h, w in sizes])
    for (h, w), g in zip(sizes, geometries):  # every image at the same scale, none cut
        assert (g.y1 - g.y0) == round(h * pre.scale) and (g.x1 - g.x0) == round(w * pre.scale)
        assert g.y0 >= 0 and g.x0 >= 0 and g.y1 <= pre.height and g.x1 <= pre.width
    _, (big,) = pre([np.zeros((800, 1200, 3), np.uint8)])  # larger than any training image: shrunk to fit
    assert big.y1 - big.y0 <= pre.height and big.x1 - big.x0 <= pre.width
    assert Preprocessing.from_dict(pre.to_dict()) == pre


def test_fixed_scale_needs_a_scale():
    with pytest.raises(ValueError, match="needs a scale"):
        Preprocessing(64, 64, "fixed_scale")([np.zeros((10, 10, 3), np.uint8)])


def test_standardise_intensity_removes_exposure_differences_only():
    rng = np.random.default_rng(0)
    images = [np.clip(rng.normal(100, 20, (40, 60, 3)), 0, 255).astype(np.uint8) for _ in range(5)]
    pre = Preprocessing(32, 48, "squash", intensity="standardise").fit_intensity(images)
    assert pre.intensity_mean == pytest.approx(100, abs=2) and pre.intensity_spread == pytest.approx(20, abs=2)
    image = images[0]
    brighter = np.clip(image.astype(np.float32) * 1.5 + 10, 0, 255).astype(np.uint8)  # another exposure
    x, _ = pre([image, brighter])
    np.testing.assert_allclose(x[0].numpy(), x[1].numpy(), atol=0.03)
    plain, _ = Preprocessing(32, 48, "squash")([image, brighter])
    assert (plain[1] - plain[0]).abs().mean() > 0.3  # without it the two exposures differ
    flat, _ = pre([np.full((40, 60, 3), 7, np.uint8)])  # a flat image stays flat (no division by zero)
    assert np.isfinite(flat.numpy()).all() and float(flat[..., :48].std()) == pytest.approx(0.0, abs=1e-6)
    scratched = image.copy()
    scratched[10:14, 5:50] = 0  # a local defect still shows after standardisation
    x, _ = pre([image, scratched])
    assert (x[1] - x[0]).abs().amax() > 0.5
    assert Preprocessing.from_dict(pre.to_dict()) == pre


def test_the_common_intensity_is_the_median_training_image_one():
    """One over-exposed or washed-out training image does not move the common grey level and contrast that every
    image is brought to (the median, not the mean, of the images' own)."""
    rng = np.random.default_rng(1)
    images = [np.clip(rng.normal(100, 10, (30, 30, 3)), 0, 255).astype(np.uint8) for _ in range(9)]
    outlier = np.zeros((30, 30, 3), np.uint8)
    outlier[:, 15:] = 255  # mean 127.5, spread 127.5
    pre = Preprocessing(32, 32, "squash", intensity="standardise").fit_intensity(images + [outlier])
    assert pre.intensity_mean == pytest.approx(100, abs=1.5) and pre.intensity_spread == pytest.approx(10, abs=1)


def test_standardise_intensity_needs_fitting_and_a_known_mode():
    with pytest.raises(ValueError, match="fit the model first"):
        Preprocessing(32, 32, "squash", intensity="standardise")([np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(ValueError, match="intensity must be one of"):
        Preprocessing(intensity="equalise")
    with pytest.raises(ValueError, match="no images"):
        Preprocessing(intensity="standardise").fit_intensity([])
