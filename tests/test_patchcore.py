"""PatchCore specifics, the coreset sampler and the nearest-neighbour wrapper (the shared contract is in
test_method_contract)."""

from __future__ import annotations

import warnings

import cv2
import faiss
import numpy as np
import pytest
import torch

from synthetic import SMALL_METHODS
from vqi_core.embeddings import blurred_max
from vqi_core.knn import NearestNeighbors, exact_search
from test_method_contract import forget_digests
from vqi_core.methods import create_model, load_model
from vqi_core.methods.base import DamagedModel
from vqi_core.methods.patchcore import PatchCore
from vqi_core.progress import Cancelled
from vqi_core.samplers import greedy_coreset, random_projection

SMALL = SMALL_METHODS["patchcore"]


def texture(rng: np.random.Generator, height: int = 96, width: int = 96) -> np.ndarray:
    """A grey surface with vertical streaks and mild noise (RGB uint8)."""
    streaks = rng.normal(0, 12, width).cumsum() * 0.2 + 128
    image = np.tile(streaks, (height, 1)) + rng.normal(0, 4, (height, width))
    return np.repeat(np.clip(image, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def with_defect(rng: np.random.Generator, height: int = 96, width: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """A texture with a dark scratch drawn on it, and the scratch's mask."""
    image = texture(rng, height, width)
    mask = np.zeros((height, width), np.uint8)
    x0, y0 = int(rng.integers(20, width - 40)), int(rng.integers(20, height - 40))
    cv2.line(mask, (x0, y0), (x0 + 18, y0 + 14), 1, thickness=4)
    image[mask > 0] = 25
    return image, mask.astype(bool)


@pytest.fixture(scope="module")
def synthetic() -> dict[str, list]:
    rng = np.random.default_rng(0)
    train = [texture(rng) for _ in range(12)]
    good = [texture(rng) for _ in range(4)]
    defects = [with_defect(rng) for _ in range(4)]
    return {"train": train, "good": good, "bad": [d[0] for d in defects], "masks": [d[1] for d in defects]}


@pytest.mark.parametrize("knn", ["flat", "hnsw"])
def test_same_seed_gives_identical_scores(synthetic, knn, tmp_path):
    params = {**SMALL, "knn": knn, "reweight_neighbors": 3, "seed": 7}
    first = create_model("patchcore", **params).fit(synthetic["train"])
    second = create_model("patchcore", **params).fit(synthetic["train"])
    np.testing.assert_array_equal(first.memory_bank, second.memory_bank)
    images = synthetic["bad"] + synthetic["good"]
    np.testing.assert_array_equal(first.predict(images).scores, second.predict(images).scores)
    first.save(tmp_path / knn)
    np.testing.assert_array_equal(load_model(tmp_path / knn).predict(images).scores, first.predict(images).scores)


def test_letterbox_padding_is_not_scored(synthetic):
    rng = np.random.default_rng(1)
    train = [texture(rng, 64, 128) for _ in range(8)]
    image, mask = with_defect(rng, 64, 128)
    model = PatchCore(**{**SMALL, "resize": "letterbox"}).fit(train)
    assert len(model.memory_bank) == round(0.1 * 8 * 6 * 12)  # 6 of the 12 grid rows are image, not padding
    prediction = model.predict([image, texture(rng, 64, 128)])
    assert prediction.maps[0].shape == mask.shape
    assert prediction.scores[0] > prediction.scores[1]


def test_the_padding_below_and_right_of_a_cropped_input_is_not_learnt(synthetic):
    """A crop of 0.7 makes a 67 px input, padded to 96 px: of the 12 x 12 cells, the 9 x 9 over the input are
    learnt, not the padding's (code review: the padding cells had gone unnoticed by every test)."""
    model = PatchCore(**{**SMALL, "crop": 0.7}).fit(synthetic["train"][:8])
    assert model.preprocessing.input_hw == (67, 67) and model.preprocessing.network_hw == (96, 96)
    assert len(model.memory_bank) == round(0.1 * 8 * 9 * 9)


def test_fixed_scale_fits_mixed_sizes_and_reloads_with_the_same_input(synthetic, tmp_path):
    rng = np.random.default_rng(2)
    train = [texture(rng, 96, 48) for _ in range(5)] + [texture(rng, 48, 144) for _ in range(5)]
    image, mask = with_defect(rng, 64, 112)
    model = PatchCore(**{**SMALL, "resize": "fixed_scale"}).fit(train)
    assert model.preprocessing.scale > 0 and model.image_size[1] > model.image_size[0]  # bounding box 96 x 144
    prediction = model.predict([image, texture(rng, 64, 112)])
    assert prediction.maps[0].shape == mask.shape and prediction.scores[0] > prediction.scores[1]
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.preprocessing == model.preprocessing
    np.testing.assert_array_equal(loaded.predict([image]).scores, model.predict([image]).scores)


def smooth_noise(rng: np.random.Generator, side: int) -> np.ndarray:
    """A grey surface of smooth blotches (RGB uint8)."""
    coarse = rng.normal(128, 30, (side // 4, side // 4, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("method", "settings", "worst_offset"), [
    ("patchcore", {"image_size": (200, 200)}, 1.0),  # (y, x) 0.27 / 0.11 px; 2.23 / 1.81 before the input was padded
    ("patchcore", {"image_size": (128, 128), "crop": 0.8}, 3.5),  # 102 px input: -2.81 / -2.54 px; 6.52 / 6.77 before
    ("padim", {"image_size": (200, 200)}, 3.5),  # -1.88 / -2.60 px; 4.66 / 4.62 before
])
def test_heat_lies_on_its_defect_whatever_the_input_size(method, settings, worst_offset):
    """Found by the method review: with an input that was not a multiple of the backbone's stride (an odd image size,
    a centre crop) the feature grid covered more than the input, but the maps were stretched onto the input, so the
    heat drifted down and right of its defect, up to 7 px on a 256 px image. The mean offset of the heat's centre from
    small white squares pasted at 20 places."""
    rng = np.random.default_rng(0)
    train = [smooth_noise(rng, 256) for _ in range(20)]
    centres = [(y, x) for y in (70, 100, 130, 160, 190) for x in (70, 110, 150, 190)]
    tests = []
    for y, x in centres:
        image = smooth_noise(rng, 256)
        image[y - 4:y + 4, x - 4:x + 4] = 255
        tests.append(image)
    model = create_model(method, **{**SMALL_METHODS[method], "intensity": "none", "smoothing_sigma": 0.0,
                                    "resize": "squash", **settings}).fit(train)
    offsets = []
    for heat, (y, x) in zip(model.predict(tests).maps, centres):
        window = heat[y - 24:y + 24, x - 24:x + 24].astype(np.float64)
        weight = np.clip(window - (window.min() + window.max()) / 2, 0, None)  # the upper half of the window's heat
        rows, cols = np.mgrid[y - 24:y + 24, x - 24:x + 24] + 0.5
        offsets.append(((rows * weight).sum() / weight.sum() - y, (cols * weight).sum() / weight.sum() - x))
    assert np.abs(np.mean(offsets, axis=0)).max() < worst_offset, np.mean(offsets, axis=0)


def test_smoothed_score_is_the_peak_of_the_blurred_patch_map(synthetic):
    raw = PatchCore(**{**SMALL, "smooth_score": False, "top_k": 1}).fit(synthetic["train"])
    smooth = PatchCore(**{**SMALL, "smooth_score": True, "top_k": 1}).fit(synthetic["train"])
    images = synthetic["bad"] + synthetic["good"]
    raw_scores, smooth_scores = raw.predict(images).scores, smooth.predict(images).scores
    assert np.all(smooth_scores <= raw_scores + 1e-5)  # a blur never raises the maximum
    assert smooth_scores[:4].min() > smooth_scores[4:].max()


@pytest.mark.parametrize("image_size", [SMALL["image_size"], (64, 96), (72, 100)], ids=["square", "wide", "padded"])
def test_the_image_score_is_the_mean_of_the_top_k_patch_distances_or_the_peak_of_their_blur(synthetic, image_size):
    """Against the grid map the same call returns (mutation review: top_k ignored, the maximum of the top k taken
    instead of their mean, or the blur of the score switched off, all went unnoticed; so did a sigma scaled by the
    input's width, which only a wide input such as the default 256 x 384 tells apart)."""
    model = PatchCore(**{**SMALL, "image_size": image_size, "resize": "squash", "smooth_score": False,
                         "top_k": 3}).fit(synthetic["train"])
    images = synthetic["bad"][:2] + synthetic["good"][:1]
    (_, x, geometries), = model.batches(images)
    scores, grids = model._score_batch(x, geometries)
    assert scores.tolist() == pytest.approx([np.sort(grid.ravel())[-3:].mean() for grid in grids], rel=1e-6)
    model.smooth_score, model.top_k = True, 1
    smoothed, _ = model._score_batch(x, geometries)
    sigma_cells = model.smoothing_sigma * grids.shape[1] / model.preprocessing.network_hw[0]  # input pixels to grid
    # cells: the grid covers the input with its padding (72 x 100 is padded to 96 x 128; code review)
    peaks = [cv2.GaussianBlur(grid, (0, 0), sigma_cells, borderType=cv2.BORDER_REFLECT).max() for grid in grids]
    assert smoothed.tolist() == pytest.approx(peaks, rel=1e-6)
    assert (smoothed < grids.max(axis=(1, 2))).all()  # a blur lowers an uneven map's peak


def test_coreset_reports_progress_and_a_cancel_there_stops_the_fit(synthetic):
    stages: list[str] = []
    PatchCore(**SMALL).fit(synthetic["train"], progress=lambda stage, done, total: stages.append(stage))
    assert "coreset" in stages

    def cancel(stage: str, done: int, total: int) -> None:
        if stage == "coreset":
            raise Cancelled()

    with pytest.raises(Cancelled):
        PatchCore(**SMALL).fit(synthetic["train"], progress=cancel)


# ---------------------------------------------------------------------- sampler
def clusters(rng: np.random.Generator, sizes=(400, 300, 200, 50, 3), dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.normal(0, 50, (len(sizes), dim))
    points = np.concatenate([c + rng.normal(0, 1, (n, dim)) for c, n in zip(centres, sizes)]).astype(np.float32)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    order = rng.permutation(len(points))
    return points[order], labels[order]


def test_greedy_coreset_count_determinism_and_coverage():
    points, labels = clusters(np.random.default_rng(0))
    chosen = greedy_coreset(points, 5, projection_dim=8, seed=3)
    assert len(chosen) == 5 == len(np.unique(chosen))
    assert sorted(labels[chosen]) == [0, 1, 2, 3, 4]  # one per cluster, the 3-point one included
    np.testing.assert_array_equal(chosen, greedy_coreset(points, 5, projection_dim=8, seed=3))
    assert len(np.unique(greedy_coreset(points, 100, projection_dim=8, seed=3))) == 100


def test_grouped_coreset_covers_almost_as_tightly_as_plain_greedy():
    points = np.random.default_rng(1).normal(size=(2000, 32)).astype(np.float32)
    plain = greedy_coreset(points, 100, projection_dim=0)
    grouped = greedy_coreset(points, 100, projection_dim=0, group_sizes=[200] * 10)
    assert len(np.unique(grouped)) == 100
    np.testing.assert_array_equal(grouped, greedy_coreset(points, 100, projection_dim=0, group_sizes=[200] * 10))

    def radius(selected: np.ndarray) -> float:
        return float(torch.cdist(torch.from_numpy(points), torch.from_numpy(points[selected])).min(1).values.max())

    assert radius(grouped) <= 1.15 * radius(plain)


def test_the_grouped_coreset_keeps_every_image_whose_patches_lie_apart():
    """Each group (a training image's patches) its own tight cluster: the bank must hold rows of every group, and of
    a small one far from the rest (mutation review: rows picked by their place among the candidates, not by the
    rows they stand for, built the bank from the first images alone; a small image kept no candidate when its
    share was rounded down)."""
    rng = np.random.default_rng(2)
    points = np.concatenate([rng.normal(size=(200, 8)) * 0.1 + rng.normal(size=8) * 5
                             for _ in range(10)]).astype(np.float32)
    chosen = greedy_coreset(points, 100, projection_dim=0, group_sizes=[200] * 10)
    assert set((chosen // 200).tolist()) == set(range(10))
    groups = [rng.normal(size=(200, 8)) for _ in range(9)] + [rng.normal(size=(5, 8)) + 50.0]
    chosen = greedy_coreset(np.concatenate(groups).astype(np.float32), 60, projection_dim=0,
                            group_sizes=[200] * 9 + [5])
    assert (chosen >= 1800).any()  # the small, far image


def test_coreset_progress_reaches_its_end_when_the_first_stage_already_keeps_enough():
    """With no oversampling and groups that share the selection evenly, the first stage keeps exactly the rows
    wanted: the coreset returned there, and its progress stopped at 16 of 144."""
    points = np.random.default_rng(2).normal(size=(8 * 64, 16)).astype(np.float32)
    events: list[tuple[str, int, int]] = []
    chosen = greedy_coreset(points, 128, projection_dim=0, group_sizes=[64] * 8, oversample=1.0,
                            progress=lambda stage, done, total: events.append((stage, done, total)))
    assert len(chosen) == 128
    assert events[-2:] == [("coreset candidates", 16, 16), ("coreset", 128, 128)]


def test_the_two_coreset_stages_are_timed_apart():
    """A step of the first stage passes over every row, one of the second over the candidates alone: counted as
    one stage, their time left was estimated about 5 times too long while the first stage ran (browser review)."""
    points = np.random.default_rng(3).normal(size=(2000, 16)).astype(np.float32)
    events: list[tuple[str, int, int]] = []
    greedy_coreset(points, 100, projection_dim=0, group_sizes=[200] * 10,
                   progress=lambda stage, done, total: events.append((stage, done, total)))
    stages = [stage for stage, _, _ in events]
    assert stages == sorted(stages, key=lambda stage: stage == "coreset")  # candidates first, then the selection
    first = [(done, total) for stage, done, total in events if stage == "coreset candidates"]
    second = [(done, total) for stage, done, total in events if stage == "coreset"]
    assert first[-1] == (30, 30) and second[-1] == (100, 100)  # each from 0 to its own end: 3 x 10 kept per group
    assert all(done <= total for done, total in first + second)


def test_plain_greedy_coreset_is_the_textbook_k_center_selection():
    """Without projection or groups, the selection is greedy k-center exactly: after a seeded first row, each step
    takes the row farthest from those chosen (a bank that covers its patches worse would go unnoticed otherwise)."""
    points = np.random.default_rng(4).normal(size=(300, 6)).astype(np.float64)
    chosen = greedy_coreset(points, 20, projection_dim=0, seed=5)
    first = int(torch.randint(300, (1,), generator=torch.Generator().manual_seed(5)))
    expected, nearest = [first], np.linalg.norm(points - points[first], axis=1)
    while len(expected) < 20:
        expected.append(int(nearest.argmax()))
        nearest = np.minimum(nearest, np.linalg.norm(points - points[expected[-1]], axis=1))
    np.testing.assert_array_equal(chosen, sorted(expected))


def test_random_projection_keeps_distances():
    """The coreset is chosen on a Johnson-Lindenstrauss projection: 98 % of the pairwise distances of 200 points
    projected from 512 to 64 dimensions stay within 25 % of their length."""
    points = torch.from_numpy(np.random.default_rng(6).normal(size=(200, 512)).astype(np.float32))
    projected = random_projection(points, 64, seed=1)
    assert projected.shape == (200, 64)
    low, median, high = torch.quantile(torch.pdist(projected) / torch.pdist(points), torch.tensor([0.01, 0.5, 0.99]))
    assert 0.95 < median < 1.05 and 0.75 < low and high < 1.25
    assert torch.equal(random_projection(points, 0), points) and torch.equal(random_projection(points, 512), points)


def test_patch_features_average_each_cells_neighbourhood_and_join_the_layers_on_the_finer_grid():
    """Locally aware patch features: each cell the mean of its 3 x 3 neighbourhood (at a border, of the cells
    there are), the coarser layer brought to the finer grid."""
    model = PatchCore(**SMALL)
    fine = torch.zeros(1, 1, 4, 4)
    fine[0, 0, 1, 1] = 9.0  # one hot cell
    fine[0, 0, 3, 3] = 4.0  # one in the corner
    coarse = torch.ones(1, 2, 2, 2)
    patches = model.embed([fine, coarse])
    assert patches.shape == (1, 4, 4, 3)
    assert patches[0, 0, 0, 0] == pytest.approx(9 / 4)  # corner: 4 cells, the hot one among them
    assert patches[0, 1, 1, 0] == pytest.approx(1.0) and patches[0, 2, 2, 0] == pytest.approx((9 + 4) / 9)
    assert patches[0, 3, 3, 0] == pytest.approx(4 / 4) and patches[0, 0, 3, 0] == 0.0
    assert torch.allclose(patches[..., 1:], torch.ones(1, 4, 4, 2))


def test_greedy_coreset_edge_cases():
    points = np.random.default_rng(2).normal(size=(10, 4)).astype(np.float32)
    np.testing.assert_array_equal(greedy_coreset(points, 50), np.arange(10))
    assert len(np.unique(greedy_coreset(np.ones((10, 4), np.float32), 4))) == 4  # duplicates: 4 distinct rows
    with pytest.raises(ValueError):
        greedy_coreset(points, 3, group_sizes=[4, 4])


# ---------------------------------------------------------------------- nearest neighbours
@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_knn_matches_brute_force(kind):
    rng = np.random.default_rng(0)
    bank, _ = clusters(rng, sizes=(800, 600, 400, 200), dim=24)
    queries = bank[rng.choice(len(bank), 300)] + rng.normal(0, 0.3, (300, 24)).astype(np.float32)
    exact = torch.cdist(torch.from_numpy(queries).double(), torch.from_numpy(bank).double())
    true_distances, true_indices = exact.topk(3, largest=False)
    index = NearestNeighbors(kind, nlist=16, nprobe=4).fit(bank)
    distances, indices = index.search(queries, 3)
    assert distances.shape == indices.shape == (300, 3)
    recall = np.mean(indices[:, 0] == true_indices[:, 0].numpy())
    assert recall == 1.0 if kind == "flat" else recall >= 0.9
    found = np.take_along_axis(exact.numpy(), indices, 1)
    np.testing.assert_allclose(distances, found, rtol=1e-4, atol=1e-3)  # distances are Euclidean
    if kind == "flat":
        np.testing.assert_allclose(distances, true_distances.numpy(), rtol=1e-4, atol=1e-3)
    else:
        restored = NearestNeighbors(kind, nlist=16, nprobe=4).load_arrays(bank, index.to_arrays())
        np.testing.assert_array_equal(restored.search(queries, 3)[1], indices)
        np.testing.assert_array_equal(restored.search(queries, 3)[0], distances)


def test_standardised_intensity_ignores_exposure_but_not_defects(synthetic, tmp_path):
    darker = [np.round(image * 0.35).astype(np.uint8) for image in synthetic["good"]]  # same parts, less light
    scores = {}
    for intensity in ("none", "standardise"):
        model = PatchCore(**{**SMALL, "intensity": intensity}).fit(synthetic["train"])
        scores[intensity] = model.predict(synthetic["good"] + darker + synthetic["bad"]).scores
    good, dark, bad = np.split(scores["standardise"], 3)
    assert dark.max() < good.max() + 0.1 * (bad.min() - good.max())  # exposure is not an anomaly ...
    assert bad.min() > 1.5 * good.max()  # ... the scratches still are
    plain_good, plain_dark, _ = np.split(scores["none"], 3)
    assert plain_dark.min() > plain_good.max()  # captured as is, the darker parts look anomalous
    model.save(tmp_path / "model")
    reloaded = load_model(tmp_path / "model")
    assert reloaded.preprocessing.intensity_spread == model.preprocessing.intensity_spread > 0
    np.testing.assert_array_equal(reloaded.predict(darker).scores, model.predict(darker).scores)


def test_an_ivf_index_is_saved_as_centroids_and_cells_and_restored_exactly(synthetic, tmp_path):
    """faiss allocates what a serialised index claims before it notices the file is short (a 61-byte file can
    claim gigabytes): an IVF index is saved as arrays VQI checks, and rebuilt from them exactly."""
    model = create_model("patchcore", **{**SMALL, "knn": "ivf", "knn_params": {"nlist": 8, "nprobe": 2}})
    model.fit(synthetic["train"])
    images = synthetic["bad"] + synthetic["good"]
    model.save(tmp_path / "model")
    with np.load(tmp_path / "model" / "arrays.npz") as saved:
        arrays = {key: saved[key] for key in saved.files}
    assert sorted(arrays) == ["ivf_centroids", "ivf_lists", "memory_bank"]
    assert arrays["ivf_centroids"].shape == (8, model.memory_bank.shape[1])
    loaded = load_model(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(images).scores, model.predict(images).scores)

    forget_digests(tmp_path / "model")  # what the arrays hold is checked, whatever model.json records
    for damage, problem in [({"ivf_lists": arrays["ivf_lists"] + 8}, "its IVF cells .* are not one cell from 0 to 7"),
                            ({"ivf_centroids": arrays["ivf_centroids"][:, :3]}, "its IVF centroids"),
                            ({"ivf_centroids": None, "ivf_lists": None, "knn_index": np.zeros(61, np.uint8)},
                             "knn_index is not a faiss index"),
                            ({"ivf_centroids": None, "ivf_lists": None, "knn_index": np.zeros(61, np.float32)},
                             r"knn_index is float32 of shape \(61,\), not bytes")]:
        changed = {key: value for key, value in {**arrays, **damage}.items() if value is not None}
        np.savez_compressed(tmp_path / "model" / "arrays.npz", **changed)
        with pytest.raises(DamagedModel, match=f"arrays.npz is damaged: {problem}"):
            load_model(tmp_path / "model")
    legacy = {"memory_bank": arrays["memory_bank"], "knn_index": faiss.serialize_index(model.index.index)}
    np.savez_compressed(tmp_path / "model" / "arrays.npz", **legacy)  # as saved before 2026-12-03: still loads here
    np.testing.assert_array_equal(load_model(tmp_path / "model").predict(images).scores, model.predict(images).scores)


def test_reweighting_finds_the_whole_neighbourhood_whatever_index_searches_the_bank(synthetic):
    """An IVF index probing few cells found fewer neighbours than asked (faiss's id -1), and bank[-1], the last
    bank vector, silently stood in for them in the paper's density weights."""
    params = {**SMALL, "knn": "ivf", "knn_params": {"nlist": 16, "nprobe": 1}, "reweight_neighbors": 9}
    model = create_model("patchcore", **params).fit(synthetic["train"][:3])
    bank = model.memory_bank / 50  # closer features: weights away from 1, where the neighbourhood shows
    model.memory_bank, model.index = bank, NearestNeighbors("ivf", nlist=16, nprobe=1, seed=0).fit(bank)
    assert (model.index.search(bank, 9)[1] < 0).any()  # the index alone finds fewer than 9 for some
    nearest = np.arange(0, len(bank), 7)
    queries = bank[nearest] + 0.01
    squared = ((bank[nearest][:, None, :] - bank[None]) ** 2).sum(-1)
    support = np.argsort(squared, axis=1, kind="stable")[:, :9]  # the exact neighbourhood, itself first
    distances = np.linalg.norm(queries[:, None, :] - bank[support], axis=-1).astype(np.float64)
    distances -= distances.min(axis=1, keepdims=True)
    expected = 1.0 - np.exp(distances[:, 0]) / np.exp(distances).sum(axis=1)
    np.testing.assert_allclose(model._density_weights(queries, nearest), expected, rtol=1e-5)
    model.memory_bank, model.index = bank * 1e6, NearestNeighbors("flat").fit(bank * 1e6)  # far-apart features:
    with warnings.catch_warnings():  # exp() overflowed to NaN weights (engine review)
        warnings.simplefilter("error")
        weights = model._density_weights(queries * 1e6, nearest)
    assert np.isfinite(weights).all() and ((weights >= 0) & (weights <= 1)).all()


@pytest.mark.parametrize("name, value", [("coreset_projection_dim", 0), ("coreset_oversample", 0.5)])
def test_a_coreset_setting_out_of_range_is_named_alone(name, value):
    """Browser review: a projection dimension of 0 was refused as "coreset_projection_dim and coreset_oversample
    must be at least 1, not 0 and 3.0", naming the valid oversample too."""
    with pytest.raises(ValueError) as refused:
        PatchCore(**{name: value})
    assert str(refused.value) == f"{name} must be at least 1, not {value}"


@pytest.mark.parametrize("knn_params", [{"nprobes": 4}, {"seed": 1}])
def test_an_unknown_search_parameter_is_named_not_a_type_error(knn_params):
    """A typo in knn_params reached faiss's wrapper as a TypeError (a traceback from the command line)."""
    with pytest.raises(ValueError, match=rf"knn_params has no '{next(iter(knn_params))}': its keys are nlist, "
                                         r"nprobe, hnsw_m, ef_construction, ef_search \(the seed is the model's own\)"):
        PatchCore(knn_params=knn_params)


def test_the_image_score_is_the_peak_of_the_blurred_map_over_the_inspected_cells():
    spike, plateau = np.zeros((12, 12), np.float32), np.zeros((12, 12), np.float32)
    spike[6, 6] = 1.5  # one noisy cell
    plateau[3:9, 3:9] = 1.0  # a defect several cells wide
    everywhere = np.ones((2, 12, 12), bool)
    assert blurred_max(np.stack([spike, plateau]), everywhere, 0).tolist() == [1.5, 1.0]  # no blur: the plain max
    blurred = blurred_max(np.stack([spike, plateau]), everywhere, 1.0)
    assert blurred[1] > 0.9 > 0.3 > blurred[0]  # blurred, the wide defect outranks the single cell
    padded = np.ones((1, 12, 12), bool)
    padded[0, :, :4] = False  # letterbox padding on the left
    hot_padding = np.zeros((1, 12, 12), np.float32)
    hot_padding[0, :, :4], hot_padding[0, 6, 8] = 9.0, 2.0
    assert blurred_max(hot_padding, padded, 0).tolist() == [2.0]  # the padding is never the peak
    assert blurred_max(hot_padding, np.zeros_like(padded), 0).tolist() == [9.0]  # no valid cell: the whole map


def test_an_ivf_index_takes_every_seed_the_train_page_offers():
    """Found by review: seeds from 2**31 (the page offers up to 2**32 - 1) failed in faiss's signed 32-bit seed."""
    bank = np.random.default_rng(0).standard_normal((400, 8)).astype(np.float32)
    for seed in (0, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1):
        distances, _ = NearestNeighbors("ivf", nlist=16, nprobe=16, seed=seed).fit(bank).search(bank[:5])
        assert np.allclose(distances, 0.0, atol=1e-5), seed


def test_a_search_for_more_neighbours_than_the_bank_holds_finds_each_bank_vector_once():
    """Found by mutation testing (untested): faiss fills what it cannot find with index -1 and distance 3.4e38,
    which scores of 1.8e19 and a -1 index (the last bank vector) would have carried on silently."""
    bank = np.random.default_rng(0).random((3, 4), dtype=np.float32)
    for kind in ("flat", "ivf", "hnsw"):
        distances, indices = NearestNeighbors(kind, nlist=1).fit(bank).search(bank[:2] + 0.01, k=5)
        assert distances.shape == indices.shape == (2, 3), kind
        assert (indices >= 0).all() and np.isfinite(distances).all() and (distances < 10).all(), kind


def test_a_search_for_no_neighbour_or_with_queries_of_another_length_is_refused_with_a_message():
    """Engine review: faiss failed an assertion with an empty message for k=0 and for queries of another length
    (exact_search returned empty arrays for k=0)."""
    bank = np.random.default_rng(0).random((20, 4), dtype=np.float32)
    searches = [lambda q, k: NearestNeighbors("flat").fit(bank).search(q, k), lambda q, k: exact_search(q, bank, k)]
    for search in searches:
        with pytest.raises(ValueError, match="k, the number of neighbours, must be a whole number of at least 1"):
            search(bank[:2], 0)
        with pytest.raises(ValueError, match=r"queries must be a \(Q, 4\) array of the bank's vector length, not of "
                                             r"shape \(2, 3\)"):
            search(bank[:2, :3], 1)


def test_search_parameters_and_saved_ivf_arrays_are_checked_before_faiss_sees_them():
    """Found by mutation testing (untested checks): a parameter faiss would allocate for without limit, an IVF
    layout more cells than bank vectors or a cell -1 (faiss leaves that vector out of every search), an index of
    another dimension, and nlist above the bank's size (faiss's own error, not said)."""
    rng = np.random.default_rng(1)
    bank = rng.random((10, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="nprobe must be a whole number from 1 to 65,536"):
        NearestNeighbors("ivf", nprobe=65_537)
    with pytest.raises(ValueError, match="nlist is 11, but the bank holds 10 vectors: an IVF index needs at least"):
        NearestNeighbors("ivf", nlist=11).fit(bank)
    with pytest.raises(ValueError, match="are not 1 to 10 finite vectors of length 4"):
        NearestNeighbors("ivf").load_arrays(bank, {"ivf_centroids": rng.random((11, 4)),
                                                   "ivf_lists": np.zeros(10, int)})
    with pytest.raises(ValueError, match="are not one cell from 0 to 1 per bank vector"):
        NearestNeighbors("ivf").load_arrays(bank, {"ivf_centroids": bank[:2], "ivf_lists": np.r_[np.zeros(9, int), -1]})
    saved = NearestNeighbors("hnsw").fit(rng.random((10, 8), dtype=np.float32)).to_arrays()
    with pytest.raises(ValueError, match="is not a hnsw index of the bank"):
        NearestNeighbors("hnsw").load_arrays(bank, saved)


def test_the_ivf_cells_follow_the_seed():
    """Found by mutation testing: the seed could be dropped from the clustering unnoticed."""
    bank = np.random.default_rng(2).random((400, 8), dtype=np.float32)
    cells = [NearestNeighbors("ivf", nlist=16, nprobe=1, seed=seed).fit(bank).to_arrays()["ivf_centroids"]
             for seed in (0, 0, 1)]
    assert np.array_equal(cells[0], cells[1]) and not np.array_equal(cells[0], cells[2])
