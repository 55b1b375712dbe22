"""Self-supervised fine-tuning (CutPaste, SimSiam): augmentations, training, reproducibility, the fit hook."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from synthetic import textured_image
from vqi_core.backbones import get_backbone
from vqi_core.finetune import FINETUNE_KINDS, build_network, run_finetune, to_tensor
from vqi_core.finetune.cutpaste import cutpaste, cutpaste_triplet, scar
from vqi_core.finetune.simsiam import simsiam_loss
from vqi_core.methods import load_model
from vqi_core.methods.base import AnomalyModel
from vqi_core.preprocessing import Preprocessing
from vqi_core.progress import Cancelled

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost time

SIZE = {"image_size": (64, 64), "jit": False}
#: tiny and quick: 32 px crops of 64 px inputs, two batches of 8 images per epoch
QUICK = {"epochs": 2, "batch_size": 8, "crop_size": 32}


class MeanFeatures(AnomalyModel):
    """Throwaway method for the hook: distance of each cell's features to the mean training feature."""

    name = "mean_features"

    def __init__(self, *, layers=None, **common):  # None as a method's default: the kind check reads it
        super().__init__(layers=layers or ("blocks.2", "blocks.3"), **common)
        self.mean: torch.Tensor | None = None

    def _fit_features(self, images, progress):
        self.mean = self.extract(images, progress)[-1].mean(dim=(0, 2, 3))

    def _score_batch(self, x, geometries):
        distance = (self.extractor(x)[-1] - self.mean[None, :, None, None]).norm(dim=1)
        return distance.amax(dim=(1, 2)).numpy(), distance.numpy()

    def _arrays(self):
        return {"mean": self.mean.numpy()}

    def _load_arrays(self, arrays):
        self.mean = torch.from_numpy(arrays["mean"])


def varied_image(seed: int) -> np.ndarray:
    """A striped texture with a few random coloured rectangles: images that differ from each other."""
    rng = np.random.default_rng(seed)
    image = textured_image(64, seed=seed)
    for _ in range(4):
        x, y = (int(v) for v in rng.integers(0, 56, 2))
        w, h = (int(v) for v in rng.integers(8, 32, 2))
        cv2.rectangle(image, (x, y), (x + w, y + h), tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    return image


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [varied_image(i) for i in range(16)]


def test_simsiam_loss_pulls_each_views_prediction_to_the_other_views_projection_held_still():
    """Symmetrised: view 1's prediction against view 2's projection and the other way round, the projections
    detached (stop-gradient, without which SimSiam collapses)."""
    generator = torch.Generator().manual_seed(0)
    p1, p2, z1, z2 = (torch.randn(4, 8, generator=generator).requires_grad_() for _ in range(4))
    loss = simsiam_loss(p1, p2, z1, z2)
    expected = -(F.cosine_similarity(p1, z2, dim=1).mean() + F.cosine_similarity(p2, z1, dim=1).mean()) / 2
    assert torch.allclose(loss, expected)
    loss.backward()
    assert z1.grad is None and z2.grad is None and p1.grad is not None and p2.grad is not None


def test_fine_tuning_normalises_its_input_as_the_model_does():
    """The backbone is trained on images normalised exactly as fitting and scoring normalise them."""
    preprocessing = Preprocessing(64, 64, "squash")
    batch = [textured_image(64, seed=seed) for seed in range(2)]
    expected, _ = preprocessing(batch)
    assert torch.allclose(to_tensor(batch, preprocessing), expected, atol=1e-6)


def test_a_network_built_for_training_starts_from_the_models_fine_tuned_weights():
    """CAM trains on top of a fine-tuned backbone (``finetune=``): the network it builds holds those weights, not
    the pretrained ones again."""
    model = MeanFeatures(**SIZE)
    weights = get_backbone(model.backbone).build(True).state_dict()
    weights["conv_stem.weight"] = weights["conv_stem.weight"] + 1.0  # as no pretrained or random network has them
    model.set_backbone_state(weights)
    built = build_network(model).state_dict()
    assert all(torch.equal(built[key], value) for key, value in weights.items())


def test_a_cutpaste_triplet_is_a_crop_as_it_is_with_a_pasted_patch_and_with_a_thin_scar():
    """The three classes of the task: the crop untouched, a patch of 2-15 % of it pasted, and a scar of at most
    16 x 25 px (rotated): a second patch in its place would leave two classes to tell apart."""
    image = varied_image(3)
    patch_sizes, scar_sizes = [], []
    for seed in range(20):
        crop, patched, scarred = cutpaste_triplet(cv2.resize(image, (160, 160)), 128, np.random.default_rng(seed))
        assert crop.shape == patched.shape == scarred.shape == (128, 128, 3)
        patch_sizes.append(int((patched != crop).any(axis=2).sum()))
        scar_sizes.append(int((scarred != crop).any(axis=2).sum()))
    assert max(scar_sizes) <= 18 * 27 and 0 < min(scar_sizes)  # the strip, a pixel more at each rotated edge
    assert max(patch_sizes) > 18 * 27 and max(patch_sizes) <= 0.15 * 128 * 128


def test_augmentations_keep_shape_and_change_a_bounded_region():
    image = textured_image(64, seed=3)
    rng = np.random.default_rng(0)
    for augment, max_fraction in ((cutpaste, 0.5), (scar, 0.3)):
        for _ in range(20):
            out = augment(image, rng)
            assert out.shape == image.shape and out.dtype == np.uint8
            changed = (out != image).any(axis=2).mean()
            assert changed <= max_fraction
    assert np.array_equal(cutpaste(image, np.random.default_rng(5)), cutpaste(image, np.random.default_rng(5)))


@pytest.mark.parametrize("kind", FINETUNE_KINDS)
def test_loss_decreases_and_progress_is_reported(kind, images):
    calls = []
    result = run_finetune(kind, images, MeanFeatures(**SIZE), lambda *a: calls.append(a), **{**QUICK, "epochs": 4})
    assert len(result.epoch_losses) == 4
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    if kind == "cutpaste":  # below chance among its three classes (labels not matched to their crops stay above)
        assert result.epoch_losses[-1] < math.log(3)
    label = {"cutpaste": "CutPaste", "simsiam": "SimSiam"}[kind]
    assert (f"fine-tuning ({label}) epoch 1/4", 0, 2) in calls
    assert calls[-1] == (f"fine-tuning ({label}) epoch 4/4", 2, 2)
    assert result.trained_stages == ["blocks.3"]  # the deepest of the method's layers


@pytest.mark.parametrize("kind", FINETUNE_KINDS)
def test_same_seed_same_weights(kind, images):
    model = MeanFeatures(**SIZE)
    params = {**QUICK, "epochs": 1}
    first = run_finetune(kind, images, model, **params).state
    second = run_finetune(kind, images, model, **params).state
    other = run_finetune(kind, images, model, **params, seed=1).state
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_returns_full_backbone_state_with_only_trained_stages_changed(images):
    state = run_finetune("cutpaste", images, MeanFeatures(**SIZE), **{**QUICK, "epochs": 1, "train_stages": 1}).state
    get_backbone("efficientnet_lite0").build(False).load_state_dict(state, strict=True)  # the full classifier
    pretrained = get_backbone("efficientnet_lite0").build(True).state_dict()
    changed = {key.split(".")[1] for key in state if key.startswith("blocks.")
               and not torch.equal(state[key], pretrained[key])}
    assert changed == {"3"}
    assert torch.equal(state["conv_stem.weight"], pretrained["conv_stem.weight"])
    # BatchNorm keeps its running statistics (small batches would make them noisy)
    assert all(torch.equal(state[k], pretrained[k]) for k in state if "running_" in k)


@pytest.mark.parametrize("kind", FINETUNE_KINDS)
def test_cancel_stops_training(kind, images):
    batches = []

    def progress(stage, done, total):
        if stage.startswith("fine-tuning"):
            batches.append(done)
            if done == 1:
                raise Cancelled()

    with pytest.raises(Cancelled):
        run_finetune(kind, images, MeanFeatures(**SIZE), progress, **QUICK)
    assert batches == [0, 1]


def test_unknown_kind_and_too_few_images(images):
    with pytest.raises(ValueError, match="unknown fine-tuning kind"):
        run_finetune("rotation", images, MeanFeatures(**SIZE))
    with pytest.raises(ValueError, match="at least"):
        run_finetune("simsiam", images[:1], MeanFeatures(**SIZE))


def test_fit_hook_uses_saves_and_reloads_the_fine_tuned_backbone(images, tmp_path):
    plain = MeanFeatures(**SIZE, holdout_fraction=0.0).fit(images)
    model = MeanFeatures(**SIZE, holdout_fraction=0.0, finetune="cutpaste",
                         finetune_params={**QUICK, "epochs": 1}).fit(images)
    assert model.backbone_state is not None
    test = [textured_image(64, seed=100 + i) for i in range(3)]
    prediction = model.predict(test)
    scores = prediction.scores
    assert not np.allclose(scores, plain.predict(test).scores)  # the features did change
    model.save(tmp_path / "model")
    assert (tmp_path / "model" / "backbone.pt").is_file()
    reloaded = MeanFeatures.load_from(tmp_path / "model", _meta(tmp_path / "model"))
    assert reloaded.get_params() == model.get_params()
    finetune = reloaded.fit_info["finetune"]  # how the fine-tuning went is kept with the model
    assert finetune["kind"] == "cutpaste" and len(finetune["epoch_losses"]) == 1
    assert finetune["trained_stages"] and "finetune" not in plain.fit_info
    again = reloaded.predict(test)
    assert np.array_equal(again.scores, scores)
    assert all(np.array_equal(a, b) for a, b in zip(again.maps, prediction.maps, strict=True))


def test_fine_tuned_dfm_through_the_registry(images, tmp_path):
    pytest.importorskip("vqi_core.methods.dfm")
    from vqi_core.methods import create_model

    model = create_model("dfm", **SIZE, finetune="simsiam", finetune_params={**QUICK, "epochs": 1}).fit(images)
    test = [textured_image(64, seed=200 + i) for i in range(3)]
    model.save(tmp_path / "dfm")
    reloaded, original = load_model(tmp_path / "dfm").predict(test), model.predict(test)
    assert np.array_equal(reloaded.scores, original.scores)
    assert all(np.array_equal(a, b) for a, b in zip(reloaded.maps, original.maps, strict=True))


def _meta(folder):
    import json

    return json.loads((folder / "model.json").read_text())
