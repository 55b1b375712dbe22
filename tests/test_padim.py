"""PaDiM specifics: compact fitted state, seeded channel subset (the shared contract is in test_method_contract)."""

from __future__ import annotations

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
