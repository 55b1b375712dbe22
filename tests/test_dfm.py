"""DFM specifics: the NLL score type and the PCA it keeps (the shared contract is in test_method_contract)."""

from __future__ import annotations

import pytest

from synthetic import SMALL_METHODS
from vqi_core.methods.dfm import DFM


def test_negative_log_likelihood_score(small_fit):
    _, data, _ = small_fit("dfm")
    model = DFM(**{**SMALL_METHODS["dfm"], "score_type": "nll"}).fit(data["train"])
    good, bad = model.predict(data["good"]), model.predict(data["bad"])
    assert bad.scores.min() > good.scores.max()
    with pytest.raises(ValueError, match="score_type"):
        DFM(score_type="mahalanobis")


def test_pca_keeps_the_requested_variance(small_fit):
    fitted, _, _ = small_fit("dfm")
    components = fitted.image_pca.components
    assert 1 <= components.shape[0] <= len(fitted.image_pca.variance) == components.shape[0]
    assert components.shape[1] == 112 * 4 * 4  # blocks.4 pooled to 4 x 4
    assert fitted.patch_pca.components.shape[1] == 112
