"""The contract every unsupervised method keeps, checked for each one on the same synthetic data.

Drawn defects score above every good image and their anomaly map peaks on them;
a saved model reloads and reproduces its scores and maps exactly; the same seed
gives the same scores; progress is reported per stage and a cancel raised from
the callback stops the fit; the default model separates real defects on a small
``mvtec_bottle_256`` subset.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from synthetic import SHARED_DATA, SMALL_METHODS, read_real_subset
from vqi_core.methods import create_model, load_model, method_class
from vqi_core.progress import Cancelled

#: per method: the stages (stage, done, total) its fit must report besides feature extraction, and how far
#: (pixels) the map's peak may lie from the drawn defect (one cell of the method's coarsest grid)
EXPECTED = {
    "padim": {"stages": [("covariance", 1, 1)], "peak_tolerance": 4},
    "spade": {"stages": [], "peak_tolerance": 4},
    "dfm": {"stages": [("PCA", 2, 2)], "peak_tolerance": 8},
    "patchcore": {"stages": [("nearest-neighbour index", 1, 1)], "peak_tolerance": 4},
}


@pytest.fixture(params=sorted(EXPECTED))
def method(request) -> str:
    return request.param


def test_defects_score_higher_and_maps_peak_inside_them(small_fit, method):
    model, data, _ = small_fit(method)
    good, bad = model.predict(data["good"]), model.predict(data["bad"])
    assert bad.scores.min() > good.scores.max()
    size = 2 * EXPECTED[method]["peak_tolerance"] + 1
    for anomaly_map, mask in zip(bad.maps, data["masks"]):
        assert anomaly_map.shape == mask.shape
        peak = np.unravel_index(np.argmax(anomaly_map), anomaly_map.shape)
        assert cv2.dilate(mask.astype(np.uint8), np.ones((size, size), np.uint8))[peak]


def test_save_load_reproduces_scores_exactly(small_fit, method, tmp_path):
    model, data, _ = small_fit(method)
    images = data["good"] + data["bad"]
    before = model.predict(images)
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, method_class(method)) and loaded.get_params() == model.get_params()
    after = loaded.predict(images)
    np.testing.assert_array_equal(before.scores, after.scores)
    for a, b in zip(before.maps, after.maps):
        np.testing.assert_array_equal(a, b)


def test_same_seed_gives_identical_scores(small_fit, method):
    model, data, _ = small_fit(method)
    images = data["good"] + data["bad"]
    again = create_model(method, **SMALL_METHODS[method]).fit(data["train"])
    np.testing.assert_array_equal(again.predict(images).scores, model.predict(images).scores)


def test_progress_is_reported_and_cancel_propagates(small_fit, method):
    _, data, calls = small_fit(method)
    for stage in [("feature extraction", 14, 14), *EXPECTED[method]["stages"]]:  # 16 images less the 10% holdout
        assert stage in calls
    assert calls[-1][0] == "normalisation"

    def cancel(stage: str, done: int, total: int) -> None:
        if done > 0:
            raise Cancelled()

    with pytest.raises(Cancelled):
        create_model(method, **SMALL_METHODS[method]).fit(data["train"], progress=cancel)


@pytest.mark.skipif(not (SHARED_DATA / "mvtec_bottle_256").is_dir(), reason="shared bottle data not available")
def test_default_model_separates_real_bottle_defects(method):
    train, test, labels = read_real_subset("mvtec_bottle_256", 40, 8)
    model = create_model(method, jit=False)  # the default model; tracing only pays off on long runs
    scores = model.fit(train).predict(test).scores
    assert roc_auc_score(labels, scores) >= 0.9


@pytest.mark.parametrize("method_name, params, message", [
    ("padim", {"epsilon": -1.0}, "epsilon"),
    ("padim", {"epsilon": 0.0}, "epsilon"),
    ("patchcore", {"coreset_projection_dim": 0}, "coreset_projection_dim"),
    ("patchcore", {"reweight_neighbors": -2}, "reweight_neighbors"),
    ("dfm", {"batch_size": 0}, "batch_size"),
    ("dfm", {"batch_size": 2.5}, "batch_size"),
    ("spade", {"smoothing_sigma": float("nan")}, "smoothing_sigma"),
    ("spade", {"smoothing_sigma": -1.0}, "smoothing_sigma"),
    ("padim", {"holdout_fraction": 1.0}, "holdout_fraction"),
    ("spade", {"global_grid": 0}, "global_grid"),
    ("cam", {"lr": -1.0}, "lr and head_lr must be positive"),
    ("cam", {"head_lr": 0.0}, "lr and head_lr must be positive"),
    ("cam", {"epochs": 0}, "epochs and patience must be at least 1"),
])
def test_parameters_that_cannot_work_are_refused_before_fitting(method_name, params, message):
    """A value that would fit a useless model (PaDiM with a negative regulariser scores every image 0) is refused
    with the parameter's name, instead of a run that looks finished."""
    with pytest.raises(ValueError, match=message):
        create_model(method_name, **params)


@pytest.mark.parametrize("method_name, params, message", [
    ("dfm", {"foo": 1}, "'foo' is not a parameter of dfm; its parameters: backbone, batch_size"),
    ("dfm", {"variance": "abc"}, "parameter variance of dfm must be a finite number, not 'abc'"),
    ("patchcore", {"coreset_fraction": float("nan")}, "must be a finite number, not nan"),
    ("patchcore", {"patch_size": 1.5}, "parameter patch_size of patchcore must be a whole number"),
    ("patchcore", {"smooth_score": "abc"}, "parameter smooth_score of patchcore must be true or false"),
    ("padim", {"jit": "maybe"}, "parameter jit of padim must be true or false"),
    ("dfm", {"image_size": 64}, "parameter image_size of dfm must be a list of 2 numbers"),
    ("dfm", {"layers": 5}, "parameter layers of dfm must be a list of layer names"),
    ("patchcore", {"knn_params": 5}, "parameter knn_params of patchcore must be a JSON object"),
    ("dfm", {"pooled_size": 0}, "pooled_size and max_patches must be at least 1"),
    ("dfm", {"seed": -1}, "seed must be a whole number from 0 to 4294967295"),
])
def test_unknown_parameters_and_values_of_the_wrong_kind_are_named(method_name, params, message):
    with pytest.raises(ValueError) as refused:
        create_model(method_name, **params)
    assert message in str(refused.value)
