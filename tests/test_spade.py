"""SPADE: synthetic defects, persistence, seeding, progress, and a check on a real bottle subset."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from synthetic import SHARED_DATA, defect_split, read_real_subset
from vqi_core.methods import create_model, load_model
from vqi_core.methods.spade import Spade
from vqi_core.progress import Cancelled

SMALL = {"image_size": (96, 96), "jit": False, "batch_size": 8}


@pytest.fixture(scope="module")
def data() -> dict[str, list]:
    return defect_split(96)


@pytest.fixture(scope="module")
def progress_calls() -> list[tuple[str, int, int]]:
    return []


@pytest.fixture(scope="module")
def fitted(data, progress_calls) -> Spade:
    return Spade(**SMALL).fit(data["train"], progress=lambda *call: progress_calls.append(call))


def test_defects_score_higher_and_maps_peak_inside_them(fitted, data):
    good, bad = fitted.predict(data["good"]), fitted.predict(data["bad"])
    assert bad.scores.min() > good.scores.max()
    for anomaly_map, mask in zip(bad.maps, data["masks"]):
        assert anomaly_map.shape == mask.shape
        peak = np.unravel_index(np.argmax(anomaly_map), anomaly_map.shape)
        assert cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8))[peak]


def test_memory_bank_holds_every_training_image(fitted, data):
    n_train = len(data["train"]) - 2  # 10% held out for normalisation
    assert fitted.global_bank.shape == (n_train, 112 * 4 * 4)  # blocks.4 pooled to 4 x 4
    assert [level.shape[0] for level in fitted.pyramid_bank] == [n_train] * len(fitted.layers)


def test_more_neighbours_than_training_images(data):
    model = Spade(**{**SMALL, "k": 50}).fit(data["train"][:4])
    prediction = model.predict(data["bad"][:1])
    assert np.isfinite(prediction.scores).all() and np.isfinite(prediction.maps[0]).all()


def test_save_load_reproduces_scores_exactly(fitted, data, tmp_path):
    images = data["good"] + data["bad"]
    before = fitted.predict(images)
    fitted.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, Spade) and loaded.get_params() == fitted.get_params()
    after = loaded.predict(images)
    np.testing.assert_array_equal(before.scores, after.scores)
    for a, b in zip(before.maps, after.maps):
        np.testing.assert_array_equal(a, b)


def test_same_seed_gives_identical_scores(fitted, data):
    images = data["good"] + data["bad"]
    again = create_model("spade", **SMALL).fit(data["train"])
    np.testing.assert_array_equal(again.predict(images).scores, fitted.predict(images).scores)


def test_progress_is_reported_and_cancel_propagates(fitted, progress_calls, data):
    assert ("feature extraction", 14, 14) in progress_calls  # 16 images less the 10% holdout

    def cancel(stage, done, total):
        if done > 0:
            raise Cancelled()

    with pytest.raises(Cancelled):
        Spade(**SMALL).fit(data["train"], progress=cancel)


@pytest.mark.skipif(not (SHARED_DATA / "mvtec_bottle_256").is_dir(), reason="shared bottle data not available")
def test_default_model_separates_real_bottle_defects():
    train, test, labels = read_real_subset("mvtec_bottle_256", 40, 8)
    scores = Spade(jit=False).fit(train).predict(test).scores  # default model; tracing only pays off on long runs
    assert roc_auc_score(labels, scores) >= 0.9
