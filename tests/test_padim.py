"""PaDiM specifics: compact fitted state, seeded channel subset (the shared contract is in test_method_contract)."""

from __future__ import annotations

import pytest

from synthetic import SMALL_METHODS
from vqi_core.methods.padim import Padim


def test_fitted_state_is_compact(small_fit):
    fitted, _, _ = small_fit("padim")
    positions = 12 * 12  # finest grid (stride 8) of a 96 px input
    assert fitted.mean.shape == (positions, 64)
    assert fitted.inv_covariance.shape == (positions, 64, 64) and fitted.inv_covariance.dtype.is_floating_point
    assert fitted.inv_covariance.element_size() == 4  # float32


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
