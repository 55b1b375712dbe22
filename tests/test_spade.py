"""SPADE specifics: the memory banks, more neighbours than images (the shared contract is in test_method_contract)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthetic import SMALL_METHODS, textured_image
from vqi_core.methods.spade import Spade


def test_memory_bank_holds_every_training_image(small_fit):
    fitted, data, _ = small_fit("spade")
    n_train = len(data["train"]) - 2  # 10% held out for normalisation
    assert fitted.global_bank.shape == (n_train, 112 * 4 * 4)  # blocks.4 pooled to 4 x 4
    assert [level.shape[0] for level in fitted.pyramid_bank] == [n_train] * len(fitted.layers)


def test_the_image_score_is_the_mean_distance_to_the_k_nearest_training_images(small_fit):
    """Against a brute-force distance to every global feature of the bank (mutation review: the farthest
    neighbours, or one neighbour instead of k, went unnoticed)."""
    fitted, data, _ = small_fit("spade")
    images = data["bad"][:2] + data["good"][:1]
    (_, x, geometries), = fitted.batches(images)
    _, global_features = fitted._features(x)
    distances = torch.cdist(global_features.double(), fitted.global_bank.double())
    fitted_k = fitted.k
    try:
        for k in (1, 3):
            fitted.k = k
            scores, _ = fitted._score_batch(x, geometries)
            expected = distances.topk(k, dim=1, largest=False).values.mean(1).numpy()
            assert scores.tolist() == pytest.approx(expected.tolist(), rel=1e-4)
    finally:
        fitted.k = fitted_k  # the fitted model is shared by the session's tests


def test_more_neighbours_than_training_images(small_fit):
    _, data, _ = small_fit("spade")
    model = Spade(**{**SMALL_METHODS["spade"], "k": 50}).fit(data["train"][:4])
    prediction = model.predict(data["bad"][:1])
    assert np.isfinite(prediction.scores).all() and np.isfinite(prediction.maps[0]).all()


def test_patch_distances_are_computed_in_blocks_of_bounded_size(monkeypatch):
    """The distances of every patch to every gallery patch at once took 3 GB for one 1024 px image; in blocks
    of at most DISTANCE_BLOCK entries the nearest distances are the same."""
    from vqi_core.methods import spade

    rng = torch.Generator().manual_seed(0)
    level = torch.randn(2, 8, 6, 5, generator=rng)
    bank = torch.randn(4, 8, 6, 5, generator=rng).half()
    neighbours = torch.tensor([[0, 2], [3, 1]])
    whole = spade.Spade._nearest_patch_distances(level, bank, neighbours)
    sizes = []
    real_cdist = torch.cdist
    monkeypatch.setattr(spade.torch, "cdist", lambda a, b: sizes.append(len(a) * len(b)) or real_cdist(a, b))
    monkeypatch.setattr(spade, "DISTANCE_BLOCK", 7 * 60)  # 7 of the 30 patches against a gallery of 60
    blocked = spade.Spade._nearest_patch_distances(level, bank, neighbours)
    assert max(sizes) <= 7 * 60 and len(sizes) == 2 * 5
    assert torch.allclose(blocked, whole, rtol=1e-5, atol=1e-5)
    gallery = bank[neighbours[1]].float().permute(0, 2, 3, 1).reshape(-1, 8)
    expected = (level[1].flatten(1).T[:, None] - gallery[None]).norm(dim=-1).min(1).values.reshape(6, 5)
    assert torch.allclose(blocked[1, 0], expected, rtol=1e-5, atol=1e-5)


def test_an_image_scores_the_same_alone_as_in_a_batch():
    """The image-level distances were a matrix product (for more than 25 training images) whose rounding depends on
    the batch: an image scored alone moved by 1.5e-5 of its score (5e-4 on real bottles), a hundred times more than
    with the other methods."""
    train = [textured_image(96, seed=i) for i in range(40)]
    images = [textured_image(96, seed=1000 + i) for i in range(12)]
    model = Spade(image_size=(96, 96), jit=False, batch_size=16).fit(train)
    batch = model.predict(images).scores
    alone = np.array([model.predict([image]).scores[0] for image in images])
    np.testing.assert_allclose(alone, batch, rtol=2e-6)
