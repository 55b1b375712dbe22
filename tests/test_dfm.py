"""DFM specifics: the NLL score type and the PCA it keeps (the shared contract is in test_method_contract)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthetic import SMALL_METHODS, random_part, textured_image
from vqi_core.embeddings import concat_embedding
from vqi_core.methods.dfm import DFM, PCASubspace


def test_negative_log_likelihood_score(small_fit):
    _, data, _ = small_fit("dfm")
    model = DFM(**{**SMALL_METHODS["dfm"], "score_type": "nll"}).fit(data["train"])
    good, bad = model.predict(data["good"]), model.predict(data["bad"])
    assert bad.scores.min() > good.scores.max()
    fre, _, _ = small_fit("dfm")  # the same features and subspace: the score type alone tells them apart
    assert not np.allclose(good.scores, fre.predict(data["good"]).scores, rtol=1e-3)  # (mutation review)
    with pytest.raises(ValueError, match="score_type"):
        DFM(score_type="mahalanobis")


def test_negative_log_likelihood_is_the_gaussian_one_in_the_subspace():
    """Squared coordinates over their variances plus the log-determinant (mutation review: dropping the
    log-determinant, which moves every score and so the saved threshold's meaning, went unnoticed)."""
    subspace = PCASubspace(mean=np.array([1.0, 2.0, 3.0]), components=np.array([[1.0, 0, 0], [0, 1.0, 0]]),
                           variance=np.array([4.0, 0.5]))
    nll = subspace.negative_log_likelihood(torch.tensor([[3.0, 2.5, 7.0]]))
    assert nll.item() == pytest.approx(2.0 ** 2 / 4 + 0.5 ** 2 / 0.5 + np.log(4.0 * 0.5))
    assert subspace.reconstruction_error(torch.tensor([[3.0, 2.5, 7.0]])).item() == pytest.approx(16.0)


def test_pca_keeps_the_fewest_components_that_hold_the_requested_variance():
    """Variances 10, 5, 1, 0.05, 0.01 along random directions: 2 components hold 93 %, 3 hold 99.6 %."""
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    samples = rng.standard_normal((4000, 5)) * np.sqrt([10.0, 5.0, 1.0, 0.05, 0.01]) @ rotation.T
    kept = {share: len(PCASubspace.fit(samples, share, seed=0).variance) for share in (0.5, 0.9, 0.99, 0.999)}
    assert kept == {0.5: 1, 0.9: 2, 0.99: 3, 0.999: 4}
    subspace = PCASubspace.fit(samples, 0.99, seed=0)
    assert np.allclose(np.abs(subspace.components.numpy() @ rotation[:, :3]).max(axis=0), 1.0, atol=0.01)


def test_pca_of_fewer_samples_than_dimensions_is_the_samples_own_subspace():
    """With fewer samples than dimensions (pooled images) the D x D covariance took minutes and gigabytes, and
    oneDAL's SVD returned wrong components once D reached 100,000: the subspace must be the samples' own."""
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((30, 6)) * [9.0, 5.0, 3.0, 2.0, 1.0, 0.5] @ rng.standard_normal((6, 20_000))
    samples += 0.01 * rng.standard_normal(samples.shape)
    subspace = PCASubspace.fit(samples, 0.99, seed=0)
    centred = samples - samples.mean(0)
    _, singular, directions = np.linalg.svd(centred, full_matrices=False)
    explained = singular ** 2 / 29
    kept = int(np.searchsorted(np.cumsum(explained) / explained.sum(), 0.99, side="right")) + 1
    assert 2 <= kept <= 6 and len(subspace.variance) == kept
    assert np.allclose(subspace.variance.numpy(), explained[:kept], rtol=1e-4)
    components = subspace.components.numpy().astype(np.float64)
    assert np.allclose(components @ components.T, np.eye(kept), atol=1e-4)  # orthonormal
    assert np.allclose(np.abs(np.sum(components * directions[:kept], axis=1)), 1.0, atol=1e-4)  # the same axes
    assert np.allclose(subspace.mean.numpy(), samples.mean(0), atol=1e-4)


def test_a_pooled_grid_finer_than_the_feature_grid_is_fitted(small_fit):
    """pooled_size 16 on a 4 x 4 grid of blocks.4 (64 px input): 28,672 pooled values per image, which took a
    28,672 x 28,672 covariance (and larger grids crashed oneDAL with 'Unknown status code')."""
    _, data, _ = small_fit("dfm")
    settings = {**SMALL_METHODS["dfm"], "image_size": (64, 64), "pooled_size": 16}
    model = DFM(**settings).fit(data["train"][:12])
    assert model.image_pca.components.shape[1] == 112 * 16 * 16
    good, bad = model.predict(data["good"]), model.predict(data["bad"])
    assert np.isfinite(model.image_pca.variance.numpy()).all() and np.median(bad.scores) > np.median(good.scores)


def test_pca_subspaces_have_the_feature_sizes(small_fit):
    fitted, _, _ = small_fit("dfm")
    components = fitted.image_pca.components
    assert 1 <= components.shape[0] <= len(fitted.image_pca.variance) == components.shape[0]
    assert components.shape[1] == 112 * 4 * 4  # blocks.4 pooled to 4 x 4
    assert fitted.patch_pca.components.shape[1] == 112


def test_training_images_that_do_not_vary_give_no_subspace_and_nll_is_refused_with_the_reason():
    """One training image (or copies of one) has no variance: PCA on identical rows failed in oneDAL ("Unknown
    status code"), and the NLL score was 0 for every image, a run with image AUROC 0.5 and no word why."""
    rng = np.random.default_rng(0)
    row = rng.standard_normal(6)
    for samples in (row[None], np.repeat(row[None], 4, 0), np.repeat(row[None], 4, 0) * (1 + 1e-9)):
        assert len(PCASubspace.fit(samples, 0.99, seed=0).variance) == 0
    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    settings = {**SMALL_METHODS["dfm"], "image_size": (64, 64)}
    with pytest.raises(ValueError, match=r"score_type='nll' needs training images that differ: the features of "
                                         r"the 2 training images do not vary"):
        DFM(**settings, score_type="nll").fit([image, image.copy()])
    fitted = DFM(**settings).fit([image, image.copy()])  # fre: the distance to the one image seen
    scores = fitted.predict([image, 255 - image]).scores
    assert scores[1] > scores[0]


def test_too_many_patches_are_sampled_from_every_training_image(monkeypatch):
    """Beyond ``max_patches`` the per-position PCA learns a seeded sample of all the training patches (mutation
    review: the first ``max_patches`` rows, from the first image alone, passed every test; good parts like the later
    images then got maps 4 times hotter)."""
    images = [textured_image(64, seed=i) for i in range(4)] + [random_part(100 + i, 64) for i in range(4)]
    samples: list[np.ndarray] = []
    fit = PCASubspace.fit.__func__

    def recording_fit(cls, data, variance, seed):
        samples.append(np.array(data))
        return fit(cls, data, variance, seed)

    monkeypatch.setattr(PCASubspace, "fit", classmethod(recording_fit))
    model = DFM(**{**SMALL_METHODS["dfm"], "max_patches": 64, "holdout_fraction": 0.0}).fit(images)
    embedding = concat_embedding(model.extract(images))
    per_image = embedding.permute(0, 2, 3, 1).reshape(len(images), -1, embedding.shape[1]).numpy()
    assert per_image.shape[1] >= 64  # the first image alone could fill the sample
    sample = samples[-1]
    assert len(sample) == 64
    owners = {image for row in sample for image in range(len(images)) if (per_image[image] == row).all(1).any()}
    assert owners & {0, 1, 2, 3} and owners & {4, 5, 6, 7}
    DFM(**{**SMALL_METHODS["dfm"], "max_patches": 64, "holdout_fraction": 0.0}).fit(images)
    np.testing.assert_array_equal(samples[-1], sample)  # seeded: the same sample again
