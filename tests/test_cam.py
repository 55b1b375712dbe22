"""CAM defect classifier and the stratified supervised split of a test set."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from synthetic import SHARED_DATA, draw_defect, textured_image, write_mvtec_dataset
from vqi_core.datasets import DatasetError, load_category, supervised_split
from vqi_core.images import read_image
from vqi_core.methods import create_model, load_model, method_class
from vqi_core.methods.base import CONTENT_DIGEST_KEY, content_sha256
from vqi_core.methods.cam import CamClassifier, stratified_split
from vqi_core.progress import Cancelled

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost time

SIZE = 128
QUICK = {"image_size": (SIZE, SIZE), "jit": False, "epochs": 4, "batch_size": 8, "lr": 1e-3, "head_lr": 1e-2}


def labelled_set(n_good: int, n_defective: int, offset: int) -> tuple[list[np.ndarray], list[int], list[np.ndarray]]:
    """Good textures and textures with a drawn blob; returns images, labels and defect masks (None for good)."""
    images, labels, masks = [], [], []
    for i in range(n_good):
        images.append(textured_image(SIZE, seed=offset + i))
        labels.append(0)
        masks.append(None)
    for i in range(n_defective):
        image, mask = draw_defect(textured_image(SIZE, seed=offset + 500 + i), seed=offset + i, kind="blob")
        images.append(image)
        labels.append(1)
        masks.append(mask)
    return images, labels, masks


@pytest.fixture(scope="module")
def data():
    return labelled_set(16, 8, 0), labelled_set(6, 6, 1000)


@pytest.fixture(scope="module")
def fitted(data) -> CamClassifier:
    (images, labels, _), _ = data
    return create_model("cam", **QUICK).fit(images, labels=labels)


def test_registered_as_supervised():
    assert method_class("cam") is CamClassifier and CamClassifier.supervised


def test_only_good_images_are_held_out_to_normalise_the_maps(fitted, data):
    """The held-out images that set the maps' levels are good ones, as for every method: a defective image held out
    would be lost to training and would raise level 1 above what good parts reach."""
    (_, labels, _), _ = data
    held = fitted.fit_info["holdout_indices"]
    assert len(held) == round(16 * fitted.holdout_fraction) > 0 and all(labels[i] == 0 for i in held)
    assert fitted.fit_info["train_images"] == len(labels) - len(held)


def test_classifies_and_the_heatmap_peaks_inside_the_defect(fitted, data):
    _, (images, labels, masks) = data
    prediction = fitted.predict(images)
    assert np.all((prediction.scores >= 0) & (prediction.scores <= 1))  # P(defective)
    assert roc_auc_score(labels, prediction.scores) > 0.9
    for anomaly_map, mask in zip(prediction.maps, masks):
        if mask is not None:
            peak = np.unravel_index(np.argmax(anomaly_map), anomaly_map.shape)
            assert mask[peak], "the class activation map should peak on the drawn defect"
    history = fitted.history
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert len(history["validation_loss"]) == len(history["train_loss"])


def test_saves_reloads_and_reproduces_exactly_and_loading_draws_no_random_numbers(fitted, data, tmp_path):
    _, (images, _, _) = data
    fitted.save(tmp_path / "cam")
    assert {p.name for p in (tmp_path / "cam").iterdir()} == {"model.json", "arrays.npz", "backbone.pt"}
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    reloaded = load_model(tmp_path / "cam")  # the caller's random numbers are left alone (engine review: checking
    assert torch.equal(torch.rand(3), expected)  # backbone.pt built a network that drew from them)
    assert reloaded.get_params() == fitted.get_params()
    first, again = fitted.predict(images), reloaded.predict(images)
    assert np.array_equal(first.scores, again.scores)
    assert all(np.array_equal(a, b) for a, b in zip(first.maps, again.maps))


def test_same_seed_same_model_and_cancellation(fitted, data):
    (images, labels, _), (test_images, _, _) = data
    again = create_model("cam", **QUICK).fit(images, labels=labels)
    assert np.array_equal(again.predict(test_images).scores, fitted.predict(test_images).scores)

    seen = []

    def progress(stage, done, total):
        seen.append(stage)
        if stage.startswith("training (CAM)") and done == 1:
            raise Cancelled()

    with pytest.raises(Cancelled):
        create_model("cam", **QUICK).fit(images, progress, labels=labels)
    assert seen[-1] == f"training (CAM) epoch 1/{QUICK['epochs']}"


def test_needs_labels_of_both_classes(data):
    (images, labels, _), _ = data
    with pytest.raises(ValueError, match="fit needs labels"):
        create_model("cam", **QUICK).fit(images)
    with pytest.raises(ValueError, match="good .* and defective"):
        create_model("cam", **QUICK).fit(images[:5], labels=[0] * 5)
    with pytest.raises(ValueError, match="exactly one layer"):
        CamClassifier(layers=["blocks.3", "blocks.4"])


@pytest.mark.parametrize("name, value", [("lr", 1e9), ("head_lr", 11), ("weight_decay", 1e9), ("epochs", 10 ** 9),
                                         ("patience", 1001)])
def test_training_settings_beyond_fine_tunings_ranges_are_refused_when_fitting(data, name, value):
    """lr 1e9 trained to NaN and scored every image 1.0 without a word (API review): bounded as fine-tuning's, when
    a fit starts (they play no part in scoring: a model saved with more before the check still loads)."""
    (images, labels, _), _ = data
    model = create_model("cam", **{**QUICK, name: value})
    with pytest.raises(ValueError, match=f"{name} must be at most {CamClassifier.fit_limits[name]:g} to fit, not"):
        model.fit(images, labels=labels)
    assert model.weight is None  # nothing fitted


def test_stratified_validation_split():
    labels = np.array([0] * 20 + [1] * 5 + [0])
    train, validation = stratified_split(labels, 0.2, np.random.default_rng(0))
    assert sorted(train.tolist() + validation.tolist()) == list(range(len(labels)))
    assert Counter(labels[validation].tolist()) == {0: 4, 1: 1}
    assert len(stratified_split(labels, 0.0, np.random.default_rng(0))[1]) == 0
    train, validation = stratified_split(np.array([0, 0, 1, 1]), 0.9, np.random.default_rng(0))
    assert (len(train), len(validation)) == (2, 2)  # each class keeps an image to train on (it put all aside)
    split_rng, expected = np.random.default_rng(5), np.random.default_rng(5)
    stratified_split(labels, 0.0, split_rng)  # nothing aside, but each class drawn as before: CAM's flips and
    for value in (0, 1):  # epoch order, drawn next from the same generator, stay those of runs saved before
        expected.permutation(np.flatnonzero(labels == value))
    assert split_rng.random() == expected.random()


def test_supervised_split_is_stratified_seeded_and_disjoint(tmp_path):
    root = write_mvtec_dataset(tmp_path / "widget", n_train=2, n_test_good=6, n_per_defect=5, size=32)
    category = load_category(root)
    labelled, evaluated = supervised_split(category, 0.5, seed=0)
    assert {s.path for s in labelled}.isdisjoint({s.path for s in evaluated})
    assert len(labelled) + len(evaluated) == len(category.test)
    assert Counter(s.defect_type for s in labelled) == {"good": 3, "blob": 2, "scratch": 2}  # round(2.5) == 2
    assert Counter(s.defect_type for s in evaluated) == {"good": 3, "blob": 3, "scratch": 3}
    assert supervised_split(category, 0.5, seed=0) == (labelled, evaluated)
    assert supervised_split(category, 0.5, seed=1) != (labelled, evaluated)
    order = [s.path for s in category.test]
    assert [s.path for s in labelled] == sorted((s.path for s in labelled), key=order.index)
    with pytest.raises(ValueError, match="train_fraction"):
        supervised_split(category, 1.0)
    single = load_category(write_mvtec_dataset(tmp_path / "single", n_train=2, n_test_good=4, n_per_defect=1, size=32))
    with pytest.raises(DatasetError, match="every defect type has a single image, which is only evaluated"):
        supervised_split(single, 0.5)  # it used to say CAM needs "good and defective images" of a set that has both


@pytest.mark.skipif(not (SHARED_DATA / "mvtec_bottle_256").is_dir(), reason="shared bottle data not available")
def test_separates_real_bottle_defects_on_the_held_out_part():
    category = load_category(SHARED_DATA / "mvtec_bottle_256")
    labelled, evaluated = supervised_split(category, 0.5, seed=0)
    rng = np.random.default_rng(0)
    good_train = [category.train[i] for i in sorted(rng.choice(len(category.train), 40, replace=False))]
    train = good_train + labelled
    model = create_model("cam", image_size=(128, 128), epochs=4, jit=False)
    model.fit([read_image(s.path) for s in train], labels=[s.label for s in train])
    scores = model.predict([read_image(s.path) for s in evaluated]).scores
    assert roc_auc_score([s.label for s in evaluated], scores) >= 0.9


def test_random_starting_weights_follow_the_seed_whatever_the_global_random_state(data, tmp_path):
    """With pretrained off, the starting weights came from torch's process-wide generator: two trainings of the
    same settings in one dashboard process gave two different models. The saved files are the same bytes (they
    held the training time), so the same model can be told by its files' SHA-256."""
    (images, labels, _), (test_images, _, _) = data
    params = {**QUICK, "image_size": (64, 64), "epochs": 1, "pretrained": False}
    fitted = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        model = create_model("cam", **params).fit(images, labels=labels)
        model.save(tmp_path / str(global_seed))
        fitted.append(model.predict(test_images).scores)
    np.testing.assert_array_equal(fitted[0], fitted[1])
    for name in ("arrays.npz", "backbone.pt"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name
    other_seed = create_model("cam", **params, seed=1).fit(images, labels=labels).predict(test_images).scores
    assert not np.array_equal(other_seed, fitted[0])


def test_a_model_saved_with_training_settings_beyond_the_limits_still_loads_and_scores(fitted, data, tmp_path):
    """The limits are a fit's (code review: as load-time limits they had made an older model with patience 5000,
    "no early stopping", refuse to score)."""
    _, (test_images, _, _) = data
    fitted.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    meta["params"]["patience"] = 5000
    meta[CONTENT_DIGEST_KEY] = content_sha256(meta)  # as the older version that allowed it wrote it
    (tmp_path / "model" / "model.json").write_text(json.dumps(meta))
    np.testing.assert_array_equal(load_model(tmp_path / "model").predict(test_images).scores,
                                  fitted.predict(test_images).scores)
