"""PaDiM specifics: compact fitted state, seeded channel subset (the shared contract is in test_method_contract)."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic import SMALL_METHODS, textured_image
from vqi_core.embeddings import blurred_max, fill_padding
from vqi_core.methods.padim import Padim


def test_fitted_state_is_compact(small_fit):
    fitted, _, _ = small_fit("padim")
    positions = 12 * 12  # finest grid (stride 8) of a 96 px input
    assert fitted.mean.shape == (positions, 64)
    assert fitted.inv_covariance.shape == (positions, 64, 64) and fitted.inv_covariance.dtype.is_floating_point
    assert fitted.inv_covariance.element_size() == 4  # float32


def test_the_map_is_the_mahalanobis_distance_under_each_positions_sample_covariance():
    """Worked out with numpy from the training features (mutation review: a Euclidean distance, or a covariance
    divided by n instead of n - 1, went unnoticed)."""
    train = [textured_image(32, seed=i) for i in range(12)]
    model = Padim(**{**SMALL_METHODS["padim"], "image_size": (32, 32), "n_features": 8, "epsilon": 0.01,
                     "holdout_fraction": 0}).fit(train)  # every image fits the Gaussians
    features = np.concatenate([model._embed(model.extractor(x)).double().numpy() for _, x, _ in model.batches(train)])
    position = features[:, :, 1, 2]  # (12 images, 8 channels) at grid cell (1, 2)
    covariance = np.cov(position, rowvar=False, ddof=1) + 0.01 * np.eye(8)
    width = features.shape[-1]
    assert model.inv_covariance[width + 2].numpy() == pytest.approx(np.linalg.inv(covariance), rel=1e-3, abs=1e-3)
    test = textured_image(32, seed=50)
    (_, x, geometries), = model.batches([test])
    _, grid = model._score_batch(x, geometries)
    delta = model._embed(model.extractor(x)).double().numpy()[0, :, 1, 2] - position.mean(axis=0)
    assert grid[0, 1, 2] == pytest.approx(np.sqrt(delta @ np.linalg.inv(covariance) @ delta), rel=1e-3)


def test_images_scored_together_get_the_maps_they_get_alone(small_fit):
    """A batch's maps belong to their own images (mutation review: maps reshaped without a transpose, mixed
    between the images of a batch, went unnoticed here)."""
    model, data, _ = small_fit("padim")
    images = data["bad"][:2] + data["good"][:1]
    together = model.predict(images)
    for i, image in enumerate(images):
        alone = model.predict([image])
        assert alone.maps[0] == pytest.approx(together.maps[i], rel=1e-4, abs=1e-4)
        assert alone.scores[0] == pytest.approx(together.scores[i], rel=1e-4)


def test_the_seed_picks_the_channel_subset():
    seeded = [Padim(**{**SMALL_METHODS["padim"], "seed": seed})._select_channels(232).tolist() for seed in (0, 0, 1)]
    assert seeded[0] == seeded[1] != seeded[2] and len(seeded[0]) == 64


def test_more_channels_than_the_layers_have_is_refused_not_recorded():
    """A run must record the channels it uses: asking for more than the layers have is an error that says how
    many there are, not a setting silently cut down to them."""
    with pytest.raises(ValueError, match=r"n_features is 100000 but the layers blocks.2, blocks.4, blocks.5 of "
                                         r"efficientnet_lite0 have 344 channels: choose at most 344"):
        Padim(n_features=100_000)
    assert Padim(n_features=344).n_features == 344


def test_fill_padding_repeats_the_image_edge_into_the_letterbox_padding():
    grid = np.full((1, 6, 6), 9.0, np.float32)  # hot padding
    grid[0, 1:5, 2:4] = np.arange(8, dtype=np.float32).reshape(4, 2)
    valid = np.zeros((1, 6, 6), bool)
    valid[0, 1:5, 2:4] = True
    filled = fill_padding(grid, valid)[0]
    assert filled.max() == 7.0 and (filled[1:5, 2:4] == grid[0, 1:5, 2:4]).all()
    assert filled[0].tolist() == [0, 0, 0, 1, 1, 1] and filled[5].tolist() == [6, 6, 6, 7, 7, 7]
    assert np.array_equal(fill_padding(grid, np.ones_like(valid)), grid)  # no padding: unchanged


def test_a_padded_images_score_is_the_peak_of_the_blurred_map_it_returns():
    """Found by review: the image score blurred the raw grid, whose letterbox padding (unlike anything the square
    training images had there) leaked into the edge cells and raised the score above the peak of the returned map
    blurred the same way (368.7 instead of 363.0 here)."""
    model = Padim(**{**SMALL_METHODS["padim"], "resize": "letterbox"})
    model.fit([textured_image(96, seed=i) for i in range(12)])
    for _, x, geometries in model.batches([textured_image((96, 40), seed=100)]):  # tall: padding left and right
        scores, grid_maps = model._score_batch(x, geometries)
        valid = model.valid_grid(geometries, grid_maps.shape[1:])
        assert not valid.all()
        sigma_cells = model.smoothing_sigma * grid_maps.shape[1] / x.shape[-2]
        assert scores[0] == pytest.approx(blurred_max(grid_maps, valid, sigma_cells)[0], rel=1e-6)
        peak = float(model.predict([textured_image((96, 40), seed=100)]).maps[0].max())
        assert 0.85 * scores[0] <= peak <= scores[0]  # the returned map, upsampled before its blur, peaks a little
        # lower (as the module's docstring says: engine review measured up to 15 % on the demo bottles)


def test_the_grid_cells_below_and_right_of_a_cropped_input_do_not_reach_the_image():
    """A 100 px image cropped to 80 px is padded to a 96 px network input: the grid's cells over the padding
    (rows and columns 10 and 11 of 12) are cut off before the map goes onto the image; only bilinear upsampling
    lets them touch the last half cell (4 px) of the crop (mutation review: a map not cut back, whose padding cells
    lay beyond the crop, passed every test)."""
    model = Padim(image_size=(100, 100), crop=0.8, smoothing_sigma=0, jit=False)
    assert (model.preprocessing.input_hw, model.preprocessing.network_hw) == ((80, 80), (96, 96))
    geometry = model.preprocessing.geometry((100, 100))
    grid = np.arange(144, dtype=np.float32).reshape(12, 12)
    padded = grid.copy()
    padded[10:, :] = padded[:, 10:] = 1e6
    differs = model.grid_to_image(grid, geometry) != model.grid_to_image(padded, geometry)
    last_half_cell = np.zeros((100, 100), bool)  # of the crop, which keeps rows and columns 10 to 89
    last_half_cell[86:90, 10:90] = last_half_cell[10:90, 86:90] = True
    np.testing.assert_array_equal(differs, last_half_cell)  # nothing beyond the crop either
