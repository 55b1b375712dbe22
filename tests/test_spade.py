"""SPADE specifics: the memory banks, more neighbours than images (the shared contract is in test_method_contract)."""

from __future__ import annotations

import numpy as np

from synthetic import SMALL_METHODS
from vqi_core.methods.spade import Spade


def test_memory_bank_holds_every_training_image(small_fit):
    fitted, data, _ = small_fit("spade")
    n_train = len(data["train"]) - 2  # 10% held out for normalisation
    assert fitted.global_bank.shape == (n_train, 112 * 4 * 4)  # blocks.4 pooled to 4 x 4
    assert [level.shape[0] for level in fitted.pyramid_bank] == [n_train] * len(fitted.layers)


def test_more_neighbours_than_training_images(small_fit):
    _, data, _ = small_fit("spade")
    model = Spade(**{**SMALL_METHODS["spade"], "k": 50}).fit(data["train"][:4])
    prediction = model.predict(data["bad"][:1])
    assert np.isfinite(prediction.scores).all() and np.isfinite(prediction.maps[0]).all()
