"""DFM specifics: the NLL score type and the PCA it keeps (the shared contract is in test_method_contract)."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic import SMALL_METHODS
from vqi_core.methods.dfm import DFM, PCASubspace


def test_negative_log_likelihood_score(small_fit):
    _, data, _ = small_fit("dfm")
    model = DFM(**{**SMALL_METHODS["dfm"], "score_type": "nll"}).fit(data["train"])
    good, bad = model.predict(data["good"]), model.predict(data["bad"])
    assert bad.scores.min() > good.scores.max()
    with pytest.raises(ValueError, match="score_type"):
        DFM(score_type="mahalanobis")


def test_pca_keeps_the_fewest_components_that_hold_the_requested_variance():
    """Variances 10, 5, 1, 0.05, 0.01 along random directions: 2 components hold 93 %, 3 hold 99.6 %."""
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    samples = rng.standard_normal((4000, 5)) * np.sqrt([10.0, 5.0, 1.0, 0.05, 0.01]) @ rotation.T
    kept = {share: len(PCASubspace.fit(samples, share, seed=0).variance) for share in (0.5, 0.9, 0.99, 0.999)}
    assert kept == {0.5: 1, 0.9: 2, 0.99: 3, 0.999: 4}
    subspace = PCASubspace.fit(samples, 0.99, seed=0)
    assert np.allclose(np.abs(subspace.components.numpy() @ rotation[:, :3]).max(axis=0), 1.0, atol=0.01)


def test_pca_subspaces_have_the_feature_sizes(small_fit):
    fitted, _, _ = small_fit("dfm")
    components = fitted.image_pca.components
    assert 1 <= components.shape[0] <= len(fitted.image_pca.variance) == components.shape[0]
    assert components.shape[1] == 112 * 4 * 4  # blocks.4 pooled to 4 x 4
    assert fitted.patch_pca.components.shape[1] == 112
