"""DFM: synthetic defects, both score types, persistence, seeding, progress, and a real bottle subset."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from synthetic import SHARED_DATA, defect_split, read_real_subset
from vqi_core.methods import create_model, load_model
from vqi_core.methods.dfm import DFM
from vqi_core.progress import Cancelled

SMALL = {"image_size": (128, 128), "jit": False, "batch_size": 8}


@pytest.fixture(scope="module")
def data() -> dict[str, list]:
    return defect_split(128)


@pytest.fixture(scope="module")
def progress_calls() -> list[tuple[str, int, int]]:
    return []


@pytest.fixture(scope="module")
def fitted(data, progress_calls) -> DFM:
    return DFM(**SMALL).fit(data["train"], progress=lambda *call: progress_calls.append(call))


def test_defects_score_higher_and_maps_peak_inside_them(fitted, data):
    good, bad = fitted.predict(data["good"]), fitted.predict(data["bad"])
    assert bad.scores.min() > good.scores.max()
    for anomaly_map, mask in zip(bad.maps, data["masks"]):
        assert anomaly_map.shape == mask.shape
        peak = np.unravel_index(np.argmax(anomaly_map), anomaly_map.shape)
        # the map's grid has a 16 px stride: the peak lies within one cell of the defect
        assert cv2.dilate(mask.astype(np.uint8), np.ones((17, 17), np.uint8))[peak]


def test_negative_log_likelihood_score(data):
    model = DFM(**{**SMALL, "score_type": "nll"}).fit(data["train"])
    good, bad = model.predict(data["good"]), model.predict(data["bad"])
    assert bad.scores.min() > good.scores.max()
    with pytest.raises(ValueError, match="score_type"):
        DFM(score_type="mahalanobis")


def test_pca_keeps_the_requested_variance(fitted):
    components = fitted.image_pca.components
    assert 1 <= components.shape[0] <= len(fitted.image_pca.variance) == components.shape[0]
    assert components.shape[1] == 112 * 4 * 4  # blocks.4 pooled to 4 x 4
    assert fitted.patch_pca.components.shape[1] == 112


def test_save_load_reproduces_scores_exactly(fitted, data, tmp_path):
    images = data["good"] + data["bad"]
    before = fitted.predict(images)
    fitted.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, DFM) and loaded.get_params() == fitted.get_params()
    after = loaded.predict(images)
    np.testing.assert_array_equal(before.scores, after.scores)
    for a, b in zip(before.maps, after.maps):
        np.testing.assert_array_equal(a, b)


def test_same_seed_gives_identical_scores(fitted, data):
    images = data["good"] + data["bad"]
    again = create_model("dfm", **SMALL).fit(data["train"])
    np.testing.assert_array_equal(again.predict(images).scores, fitted.predict(images).scores)


def test_progress_is_reported_and_cancel_propagates(fitted, progress_calls, data):
    assert ("feature extraction", 14, 14) in progress_calls  # 16 images less the 10% holdout
    assert ("PCA", 2, 2) in progress_calls

    def cancel(stage, done, total):
        if done > 0:
            raise Cancelled()

    with pytest.raises(Cancelled):
        DFM(**SMALL).fit(data["train"], progress=cancel)


@pytest.mark.skipif(not (SHARED_DATA / "mvtec_bottle_256").is_dir(), reason="shared bottle data not available")
def test_default_model_separates_real_bottle_defects():
    train, test, labels = read_real_subset("mvtec_bottle_256", 40, 8)
    scores = DFM(jit=False).fit(train).predict(test).scores  # default model; tracing only pays off on long runs
    assert roc_auc_score(labels, scores) >= 0.9
