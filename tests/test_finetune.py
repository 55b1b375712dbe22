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
from vqi_core.finetune import (FINETUNE_KINDS, build_network, colour_jitter, random_flip, run_finetune, to_tensor,
                               train_epochs)
from vqi_core.finetune.cutpaste import cutpaste, cutpaste_triplet, scar
from vqi_core.finetune.simsiam import simsiam_loss, simsiam_view
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


def uniform_image(size: int, colour: tuple[int, int, int] = (128, 128, 128)) -> np.ndarray:
    """An image of one colour: what an augmentation changes on it is exactly where it pasted."""
    return np.full((size, size, 3), colour, np.uint8)


def ramps(size: int) -> np.ndarray:
    """Red rising to the right, green rising downwards: which way a view runs tells how it was flipped."""
    y, x = np.mgrid[0:size, 0:size] * (255 // size)
    return np.stack([x, y, np.full_like(x, 128)], axis=2).astype(np.uint8)


def flips(view: np.ndarray) -> tuple[bool, bool]:
    """Whether a view of :func:`ramps` was flipped left-right and upside down."""
    values = view.astype(np.float32)
    left_right = values[:, -1, 0].mean() < values[:, 0, 0].mean()
    return bool(left_right), bool(values[-1, :, 1].mean() < values[0, :, 1].mean())


def rectangle(changed: np.ndarray) -> tuple[int, int, int, int]:
    """Top, left, height and width of the changed pixels, which must fill that rectangle exactly."""
    ys, xs = np.nonzero(changed)
    top, left, height, width = int(ys.min()), int(xs.min()), int(np.ptp(ys)) + 1, int(np.ptp(xs)) + 1
    assert changed.sum() == height * width
    return top, left, height, width


def jitter_factors(source: np.ndarray, jittered: np.ndarray) -> tuple[float, float, float]:
    """Brightness, contrast and saturation factors that turned RGB ``source`` pixels into ``jittered`` ones.

    Brightness scales the mean, contrast the grey levels' spread about it, saturation each pixel's colour
    about its grey level."""
    v, w = source.reshape(-1, 3).astype(np.float64), jittered.reshape(-1, 3).astype(np.float64)
    brightness = w.mean() / v.mean()
    v_grey, w_grey = v.mean(axis=1), w.mean(axis=1)
    spread = np.polyfit(v_grey, w_grey, 1)[0] / brightness
    colour = np.polyfit((v - v_grey[:, None]).ravel(), (w - w_grey[:, None]).ravel(), 1)[0]
    return float(brightness), float(spread), float(colour / (spread * brightness))


def test_colour_jitter_draws_each_factor_within_one_plus_or_minus_its_strength():
    """Brightness, contrast and saturation each scale by a factor drawn from ``1 +- strength``, independently;
    strengths of 0 leave the image as it is."""
    source = np.random.default_rng(0).integers(70, 180, (16, 16, 3)).astype(np.uint8)
    assert np.array_equal(colour_jitter(source, np.random.default_rng(0), 0, 0, 0), source)
    for position, strengths in enumerate(((0.3, 0, 0), (0, 0.3, 0), (0, 0, 0.3))):
        drawn = []
        for seed in range(60):
            factors = jitter_factors(source, colour_jitter(source, np.random.default_rng(seed), *strengths))
            others = [factor for index, factor in enumerate(factors) if index != position]
            assert others == pytest.approx([1, 1], abs=0.02)  # only the factor asked for moves
            drawn.append(factors[position])
        assert 0.7 - 0.02 <= min(drawn) < 0.75 and 1.25 < max(drawn) <= 1.3 + 0.02


def test_random_flip_flips_each_axis_half_the_time_independently():
    """Left-right and upside-down flips, each with probability 1/2, so all four orientations occur."""
    image = ramps(32)
    seen = [flips(random_flip(image, np.random.default_rng(seed))) for seed in range(200)]
    for axis in (0, 1):
        assert 0.4 <= np.mean([flipped[axis] for flipped in seen]) <= 0.6
    assert all(seen.count(orientation) >= 30 for orientation in ((False, False), (True, False), (False, True),
                                                                 (True, True)))


def test_cutpaste_triplet_flips_its_crop_like_any_other_view():
    """The crop (and so its CutPaste and scar versions) is flipped left-right and upside down at random."""
    image = ramps(64)
    seen = []
    for seed in range(60):
        crop, patched, scarred = cutpaste_triplet(image, 48, np.random.default_rng(seed))
        seen.append(flips(crop))
        assert flips(patched) == flips(scarred) == seen[-1]  # the other two classes are made from that crop
    for axis in (0, 1):
        assert 0.3 <= np.mean([flipped[axis] for flipped in seen]) <= 0.7


def test_cutpaste_pastes_a_rectangle_of_2_to_15_percent_with_aspect_0_3_to_3_3_anywhere():
    """The pasted rectangle covers 2-15 % of the image, is up to 3.3 times taller than wide or wider than tall (as
    often one as the other), lies anywhere in the image (touching each edge now and then), and its brightness
    changes by up to 10 %."""
    image = uniform_image(64)
    areas, aspects, levels, edges = [], [], [], set()
    for seed in range(400):
        out = cutpaste(image, np.random.default_rng(seed))
        changed = (out != image).any(axis=2)
        if not changed.any():  # a brightness factor within 0.4 % of 1 leaves the grey as it was
            continue
        top, left, height, width = rectangle(changed)
        areas.append(height * width / image[..., 0].size)
        aspects.append(height / width)
        levels.append(float(out[top, left].mean()) / 128)
        edges |= {name for name, touches in (("top", top == 0), ("left", left == 0), ("bottom", top + height == 64),
                                             ("right", left + width == 64)) if touches}
    assert len(areas) > 350
    assert 0.02 * 0.85 <= min(areas) < 0.03 and 0.13 < max(areas) <= 0.15 * 1.05
    assert 0.3 / 1.2 <= min(aspects) < 0.4 and 2.5 < max(aspects) <= 3.3 * 1.2
    assert 0.4 <= np.mean(np.array(aspects) > 1) <= 0.6  # drawn on a log scale: as often taller as wider
    assert 0.9 - 0.005 <= min(levels) < 0.93 and 1.07 < max(levels) <= 1.1 + 0.005
    assert edges == {"top", "left", "bottom", "right"}


def test_cutpaste_pastes_a_jittered_copy_of_another_place_of_the_image():
    """The patch is cut from the image itself, at another place than where it is pasted, and jittered in
    brightness, contrast and saturation by up to 10 % each, as in the paper."""
    image = np.random.default_rng(0).integers(64, 192, (64, 64, 3)).astype(np.uint8)
    factors = []
    for seed in range(40):
        out = cutpaste(image, np.random.default_rng(seed))
        top, left, height, width = rectangle((out != image).any(axis=2))
        patch = out[top:top + height, left:left + width]
        match = cv2.matchTemplate(image.mean(axis=2).astype(np.float32), patch.mean(axis=2).astype(np.float32),
                                  cv2.TM_CCOEFF_NORMED)
        _, best, _, (x, y) = cv2.minMaxLoc(match)
        assert best > 0.99 and (y, x) != (top, left)
        factors.append(jitter_factors(image[y:y + height, x:x + width], patch))
    for drawn in zip(*factors):
        assert 0.9 - 0.01 <= min(drawn) < 0.95 and 1.05 < max(drawn) <= 1.1 + 0.01


def scar_shape(changed: np.ndarray) -> tuple[float, float, float]:
    """Short side, long side and the long side's angle from the vertical (degrees) of a scar's pixels."""
    ys, xs = np.nonzero(changed)
    (_, _), sides, _ = cv2.minAreaRect(np.stack([xs, ys], axis=1).astype(np.float32))
    moments = cv2.moments(changed.astype(np.uint8), binaryImage=True)
    angle = 0.5 * math.degrees(math.atan2(2 * moments["mu11"], moments["mu20"] - moments["mu02"]))
    from_vertical = (angle - 90) if angle > 0 else (angle + 90)
    return min(sides) + 1, max(sides) + 1, from_vertical


def test_scar_is_a_thin_strip_of_2_to_16_by_10_to_25_px_anywhere_in_the_image():
    """The scar's strip is 2-16 px wide and 10-25 px long (a pixel more along its rotated edges), pasted anywhere."""
    image = uniform_image(64, (200, 200, 200))
    shorts, longs, centres = [], [], []
    for seed in range(200):
        changed = (scar(image, np.random.default_rng(seed)) != image).any(axis=2)
        if not changed.any():  # a brightness factor within 0.25 % of 1 leaves the grey as it was
            continue
        short, long, _ = scar_shape(changed)
        shorts.append(short)
        longs.append(long)
        centres.append([coordinates.mean() for coordinates in np.nonzero(changed)])
    assert len(shorts) > 180
    assert 2 <= min(shorts) < 4 and 13 < max(shorts) <= 16 + 2
    assert 9 <= min(longs) < 13 and 23 < max(longs) <= 25 + 3
    centres_array = np.array(centres)
    assert (centres_array.min(axis=0) < 16).all() and (centres_array.max(axis=0) > 48).all()


def test_scar_is_rotated_by_up_to_45_degrees_either_way():
    """The strip, long and upright before rotation, leans up to 45 degrees to either side of the vertical."""
    image = uniform_image(64, (200, 200, 200))
    angles = []
    for seed in range(100):
        changed = (scar(image, np.random.default_rng(seed), width=(3, 3), length=(25, 25)) != image).any(axis=2)
        if changed.any():  # not when the jitter left the grey as it was
            angles.append(scar_shape(changed)[2])
    assert len(angles) > 90
    assert -45 - 4 <= min(angles) < -35 and 35 < max(angles) <= 45 + 4
    assert 0.3 <= np.mean(np.abs(angles) < 22.5) <= 0.7  # spread evenly, not just at the extremes


def test_scar_strip_is_jittered_by_up_to_10_percent():
    """Inside its edges, the pasted strip of a one-colour image is that colour, 10 % brighter or darker at most."""
    image = uniform_image(64, (200, 200, 200))
    levels = []
    for seed in range(100):
        out = scar(image, np.random.default_rng(seed), width=(8, 16))
        changed = (out != image).any(axis=2)
        inner = cv2.erode(changed.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        levels.extend(np.unique(out[inner][:, 0]) / 200)
    assert 0.9 - 0.005 <= min(levels) < 0.93 and 1.07 < max(levels) <= 1.1 + 0.005


def test_scar_pastes_only_colours_of_the_strip():
    """Every pasted pixel of a one-colour image's scar is that colour jittered, edges included (the strip had been
    rotated bilinearly on a black canvas: every scar had a dark outline the image does not have)."""
    image = uniform_image(64, (200, 200, 200))
    for seed in range(20):
        out = scar(image, np.random.default_rng(seed))
        pasted = out[(out != image).any(axis=2)] / 200
        assert pasted.min() >= 0.9 - 0.005 and pasted.max() <= 1.1 + 0.005


def test_simsiam_view_crops_a_side_of_0_8_to_1_25_times_the_view_and_resizes_it():
    """A view shows a square of the image 0.8-1.25 times its own side (log-uniform), resized to ``crop_size``."""
    y, x = np.mgrid[0:128, 0:128]
    grid = np.repeat(np.where((x % 16 < 2) | (y % 16 < 2), 60, 180).astype(np.uint8)[..., None], 3, axis=2)
    scales = []
    for seed in range(60):
        view = simsiam_view(grid, 64, np.random.default_rng(seed))
        assert view.shape == (64, 64, 3) and view.dtype == np.uint8
        for profile in (view.mean(axis=(0, 2)), view.mean(axis=(1, 2))):  # across the columns, then the rows
            dark = profile < (profile.min() + profile.max()) / 2
            starts = np.flatnonzero(dark[1:] & ~dark[:-1]) + 1
            ends = np.flatnonzero(~dark[1:] & dark[:-1]) + 1
            ends = ends[ends > starts[0]]
            centres = [(start + end - 1) / 2 for start, end in zip(starts, ends)]  # lines not cut by the border
            scales.append(16 / float(np.mean(np.diff(centres))))
    assert 0.8 - 0.03 <= min(scales) < 0.85 and 1.18 < max(scales) <= 1.25 + 0.03
    assert simsiam_view(grid[:48, :40], 64, np.random.default_rng(0)).shape == (48, 40, 3)  # never larger


def test_simsiam_view_flips_each_axis_half_the_time():
    """Views are flipped left-right and upside down, each about half the time."""
    image = ramps(128)
    seen = [flips(simsiam_view(image, 64, np.random.default_rng(seed))) for seed in range(100)]
    for axis in (0, 1):
        assert 0.35 <= np.mean([flipped[axis] for flipped in seen]) <= 0.65


def test_simsiam_view_jitters_colours_four_times_in_five_within_the_documented_strengths():
    """With probability 0.8 a view's brightness and contrast change by up to 40 % and its saturation by up to 20 %;
    otherwise its colours are the image's."""
    dark, light = np.array([90, 70, 50]), np.array([150, 130, 110])  # grey levels 70 and 130, the same colour
    image = np.concatenate([np.broadcast_to(dark, (16, 256, 3)), np.broadcast_to(light, (16, 256, 3))]).astype(np.uint8)
    unchanged, factors = 0, []
    for seed in range(200):
        view = simsiam_view(image, 48, np.random.default_rng(seed)).astype(np.float64)
        assert view.shape == (32, 48, 3)  # no taller than the image: every view shows both halves, half each
        halves = sorted((view[:8].mean(axis=(0, 1)), view[-8:].mean(axis=(0, 1))), key=lambda pixel: pixel.mean())
        if np.array_equal(halves[0], dark) and np.array_equal(halves[1], light):
            unchanged += 1
            continue
        brightness = view.mean() / 100
        contrast = (halves[1].mean() - halves[0].mean()) / 60 / brightness
        saturation = (halves[0][0] - halves[0][2]) / 40 / (contrast * brightness)
        factors.append((brightness, contrast, saturation))
    assert 0.12 <= unchanged / 200 <= 0.28
    for (low, high), drawn in zip(((0.6, 1.4), (0.6, 1.4), (0.8, 1.2)), zip(*factors)):
        margin = (high - low) / 8
        assert low - 0.03 <= min(drawn) < low + margin and high - margin < max(drawn) <= high + 0.03


def test_simsiam_view_is_blurred_half_the_time_by_a_sigma_of_at_most_1_5():
    """A Gaussian blur (sigma 0.1-1.5) with probability 1/2: about 3 views in 10 have their edges visibly softened
    (sigma above about 0.8), none more than a sigma of 1.5 does."""
    y, x = np.mgrid[0:128, 0:128]
    board = np.repeat(np.where((y // 8 + x // 8) % 2 == 0, 60, 190).astype(np.uint8)[..., None], 3, axis=2)
    steepest = []
    for seed in range(200):
        grey = simsiam_view(board, 64, np.random.default_rng(seed)).astype(np.float32).mean(axis=2)
        steepest.append(float(np.abs(np.diff(grey, axis=1)).max() / np.ptp(grey)))  # of the step between squares
    sigma_1_5 = float(np.abs(np.diff(cv2.GaussianBlur(board[..., 0], (0, 0), 1.5).astype(np.float32), axis=1)).max()
                      / 130)
    assert min(steepest) >= sigma_1_5 - 0.02
    assert 0.15 <= np.mean(np.array(steepest) < 0.5) <= 0.4


def test_learning_rate_warms_up_over_a_tenth_of_the_steps_then_decays_to_zero_by_a_cosine():
    """Every parameter group's rate rises linearly to its base over the first tenth of all steps, then follows a
    half cosine down towards 0, and is its base again after training; batches of one image are dropped."""
    weights = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    optimizer = torch.optim.SGD([{"params": [weights[0]], "lr": 0.5}, {"params": [weights[1]], "lr": 0.05}])
    rates, sizes = [], []

    def step(indices: np.ndarray) -> float:
        rates.append([group["lr"] for group in optimizer.param_groups])
        sizes.append(len(indices))
        return 0.0

    train_epochs(step, 41, 4, 5, np.random.default_rng(0), optimizer, "test", None)
    assert len(rates) == 50 and set(sizes) == {4}  # 10 batches of 4 per epoch, the 41st image left out
    factors = [backbone / 0.5 for backbone, _ in rates]
    assert all(head == pytest.approx(backbone / 10) for backbone, head in rates)
    assert factors[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert factors[5:] == pytest.approx([0.5 * (1 + math.cos(math.pi * k / 45)) for k in range(45)])
    assert [group["lr"] for group in optimizer.param_groups] == [0.5, 0.05]


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
def test_fine_tuning_leaves_torchs_global_generator_alone(kind, images):
    """Found by the API review: building the network to train drew its fresh layers' weights from torch's global
    generator, which the README says no fit does."""
    torch.manual_seed(3)
    run_finetune(kind, images, MeanFeatures(**SIZE), **{**QUICK, "epochs": 1})
    drawn = torch.rand(3)
    torch.manual_seed(3)
    assert torch.equal(drawn, torch.rand(3))


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
