"""Tests of vqi_core.metrics against hand-computed cases and brute-force references."""

from __future__ import annotations

import json
from dataclasses import asdict

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, f1_score, roc_auc_score

from vqi_core.metrics import (LineCosts, OperatingPoint, ThresholdEvaluator, aupro, auroc_interval, bootstrap_aurocs,
                              defect_type_metrics, f1_optimal_threshold, held_out_counts, image_auroc,
                              interval_note, interval_text, mask_to_eval_size, minimum_cost_threshold,
                              percentile_interval, pixel_auroc, rate_interval, rejected, roc_curve,
                              summary_metrics, threshold_between, threshold_for_false_alarm_rate, youden_threshold)
from vqi_core.thresholds import costlier_than_unchecked, costs_assumed, false_alarm_preset_name, line_cost_sentence, \
    outcomes, rate_numbers, set_at_training_note, threshold_presets, verdict
from vqi_core.wording import percent


def brute_force_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    predicted = [score >= threshold for score in scores]
    tp = sum(1 for p, y in zip(predicted, labels) if p and y == 1)
    fp = sum(1 for p, y in zip(predicted, labels) if p and y == 0)
    tn = sum(1 for p, y in zip(predicted, labels) if not p and y == 0)
    fn = sum(1 for p, y in zip(predicted, labels) if not p and y == 1)
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


# ---------------------------------------------------------------------- AUROC
def test_image_auroc_hand_computed() -> None:
    # Pairs (defective, good): (0.8 > 0.1), (0.8 > 0.4), (0.35 < 0.4), (0.35 > 0.1) -> 3 of 4.
    assert image_auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # A tie between a good and a defective score counts one half: (0.5 vs 0.5) + (0.9 > 0.5) -> 1.5 / 2.
    assert image_auroc([0, 1, 1], [0.5, 0.5, 0.9]) == pytest.approx(0.75)


def test_image_auroc_perfect_inverted_random_and_one_class() -> None:
    labels = np.array([0] * 50 + [1] * 50)
    assert image_auroc(labels, np.arange(100.0)) == 1.0
    assert image_auroc(labels, -np.arange(100.0)) == 0.0
    rng = np.random.default_rng(0)
    random_labels = rng.integers(0, 2, 20000)
    assert image_auroc(random_labels, rng.random(20000)) == pytest.approx(0.5, abs=0.02)
    assert image_auroc([0, 0, 0], [0.1, 0.2, 0.3]) is None
    assert image_auroc([1, 1], [0.1, 0.2]) is None


def test_unknown_labels_and_bad_scores_are_refused() -> None:
    with pytest.raises(ValueError, match=r"index 1.*unknown \(-1\)"):
        image_auroc([0, -1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="index 2"):
        ThresholdEvaluator([0, 1, 1], [0.1, 0.2, np.nan])
    with pytest.raises(ValueError, match="3 labels but 2 scores"):
        image_auroc([0, 1, 1], [0.1, 0.2])


def test_pixel_auroc_hand_computed_over_all_images() -> None:
    masks = [np.array([[False, True]]), np.array([[False, False]])]
    maps = [np.array([[0.2, 0.9]], np.float32), np.array([[0.95, 0.1]], np.float32)]
    # One defective pixel (0.9) against good pixels 0.2, 0.95, 0.1: it beats 2 of 3.
    assert pixel_auroc(masks, maps) == pytest.approx(2 / 3)
    assert pixel_auroc([np.zeros((2, 2), bool)], [np.ones((2, 2), np.float32)]) is None


def test_pixel_auroc_equals_sklearn_with_ties() -> None:
    rng = np.random.default_rng(4)
    masks = [rng.random((16, 20)) < 0.2 for _ in range(5)]
    maps = [np.round(rng.normal(size=(16, 20)) + mask, 1).astype(np.float32) for mask in masks]
    expected = roc_auc_score(np.concatenate([m.ravel() for m in masks]), np.concatenate([m.ravel() for m in maps]))
    assert pixel_auroc(masks, maps) == pytest.approx(expected, abs=1e-12)


def test_shape_mismatch_names_the_image() -> None:
    masks = [np.zeros((4, 4), bool), np.zeros((4, 5), bool)]
    maps = [np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32)]
    with pytest.raises(ValueError, match=r"image 1: mask shape \(4, 5\) does not match map shape \(4, 4\)"):
        pixel_auroc(masks, maps)
    with pytest.raises(ValueError, match="image 1"):
        aupro(masks, maps)


# ---------------------------------------------------------------------- AUPRO
def reference_aupro(masks: list[np.ndarray], maps: list[np.ndarray], max_fpr: float = 0.3) -> float:
    """MVTec AD's definition, evaluated at every distinct map value (slow, for small inputs)."""
    regions = []
    for mask, anomaly_map in zip(masks, maps):
        count, components = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        regions += [anomaly_map[components == label] for label in range(1, count)]
    good = np.concatenate([m[~k] for k, m in zip(masks, maps)])
    thresholds = np.append(np.unique(np.concatenate([m.ravel() for m in maps])), np.inf)[::-1]
    fpr = np.array([(good >= t).mean() for t in thresholds])
    pro = np.array([np.mean([(region >= t).mean() for region in regions]) for t in thresholds])
    end = np.interp(max_fpr, fpr, pro)
    kept = fpr <= max_fpr
    return float(np.trapezoid(np.append(pro[kept], end), np.append(fpr[kept], max_fpr)) / max_fpr)


def test_aupro_perfect_and_inverted_maps() -> None:
    masks, maps = [], []
    for offset in range(4):
        mask = np.zeros((32, 40), bool)
        mask[5 + offset:12 + offset, 8:20] = True
        masks.append(mask)
        maps.append(np.where(mask, 0.9, 0.1).astype(np.float32))
    masks.append(np.zeros((32, 40), bool))
    maps.append(np.full((32, 40), 0.2, np.float32))
    assert aupro(masks, maps) == pytest.approx(1.0)
    assert aupro(masks, [1.0 - m for m in maps]) < 0.05


def test_aupro_averages_over_regions_not_pixels() -> None:
    mask = np.zeros((20, 20), bool)
    mask[2:12, 2:12] = True  # 100 pixels, found
    mask[16:18, 16:18] = True  # 4 pixels, missed (as low as the good pixels)
    anomaly_map = np.zeros((20, 20), np.float32)
    anomaly_map[2:12, 2:12] = 1.0
    # Curve points (FPR, PRO): (0, 0.5) just above the good level, (1, 1) at it. At FPR 0.3, PRO 0.65;
    # area 0.3 * (0.5 + 0.65) / 2, normalised by 0.3 -> 0.575.
    assert aupro([mask], [anomaly_map]) == pytest.approx(0.575)
    # (Pixel-level overlap would start at 100/104 instead of 0.5 and give about 0.97.)


def test_aupro_matches_the_exact_definition_on_random_maps() -> None:
    rng = np.random.default_rng(1)
    masks, maps = [], []
    for index in range(6):
        mask = np.zeros((24, 30), bool)
        if index % 2:
            mask[3:3 + 2 * index, 4:10] = True
            mask[18:21, 20:20 + index] = True
        anomaly_map = rng.normal(size=(24, 30)) + 1.5 * mask * rng.random((24, 30))
        masks.append(mask)
        maps.append(cv2.GaussianBlur(anomaly_map.astype(np.float32), (0, 0), 1.0))
    expected = reference_aupro(masks, maps)
    assert 0.2 < expected < 0.9
    assert aupro(masks, maps) == pytest.approx(expected, abs=2e-3)
    assert aupro(masks, maps, max_fpr=0.05) == pytest.approx(reference_aupro(masks, maps, 0.05), abs=5e-3)


def test_aupro_tries_the_threshold_just_above_a_value_many_defect_free_pixels_share() -> None:
    """Review: thresholds were defect-free values only; where most of them share one value (a map's floor), the
    FPR jumps from that value to the next, and the threshold just above the floor, where the whole defect is found
    at that FPR, was never tried: 0.073 instead of MVTec's 0.663."""
    mask = np.zeros((10, 10), bool)
    mask[0, 0] = True
    anomaly_map = np.zeros((10, 10), np.float32)
    anomaly_map[mask] = 0.5
    anomaly_map[9, :] = 1.0  # 10 of the 99 defect-free pixels above the defect, 89 on the floor below it
    assert reference_aupro([mask], [anomaly_map]) == pytest.approx(0.663, abs=1e-3)
    assert aupro([mask], [anomaly_map]) == pytest.approx(reference_aupro([mask], [anomaly_map]), abs=1e-6)
    rng = np.random.default_rng(4)
    masks, maps = [], []
    for index in range(4):
        mask = np.zeros((16, 16), bool)
        mask[3 + index:7 + index, 5:9] = True
        floor = rng.random((16, 16)) < 0.9  # most pixels clipped at 0, as kNN distances on a flat background
        anomaly_map = np.where(floor, 0.0, rng.random((16, 16))).astype(np.float32) + mask * 0.3
        masks.append(mask)
        maps.append(anomaly_map)
    assert aupro(masks, maps) == pytest.approx(reference_aupro(masks, maps), abs=2e-3)


def test_aupro_takes_diagonally_touching_pixels_as_one_region() -> None:
    """Regions are 8-connected (MVTec AD's definition): a defect whose pixels touch only at a corner is one region,
    so finding its smallest part finds a third of it, not half of two regions (mutation review)."""
    mask = np.zeros((6, 6), bool)
    mask[0, 0:2] = mask[1, 2] = True  # a pair and, touching its corner, a third pixel
    anomaly_map = np.zeros((6, 6), np.float32)
    anomaly_map[1, 2] = 1.0
    anomaly_map[4, 4] = 0.5  # one defect-free pixel scores, so the curve has a step inside the FPR limit
    value = aupro([mask], [anomaly_map])
    assert value == pytest.approx(reference_aupro([mask], [anomaly_map]))
    assert value < 0.5  # as two regions it would be 1/2 up to the limit, as one it is 1/3


def test_aupro_none_without_regions() -> None:
    assert aupro([np.zeros((5, 5), bool)], [np.zeros((5, 5), np.float32)]) is None
    assert aupro([], []) is None


def test_mask_to_eval_size_area_rule() -> None:
    mask = np.zeros((512, 400), bool)
    mask[100:300, 50:150] = True
    mask[400, :] = True  # 1-px line: covers half of each output pixel of row 200 at 2x downscaling
    small = mask_to_eval_size(mask, (256, 200))
    assert small.shape == (256, 200) and small.dtype == bool
    assert small[50:150, 25:75].all() and small[50:150, 25:75].sum() + 200 == small.sum()
    assert small[200].all()
    quarter = mask_to_eval_size(mask, (128, 100))  # 4x: the line covers a quarter of an output pixel,
    assert quarter[100].all() and quarter[25:75, 12:38].all()  # too little for the area rule, yet not lost:
    assert quarter.sum() == quarter[25:75, 12:38].sum() + 100  # one row for it, the block as the area rule has it
    pit = np.zeros((1024, 1024), bool)
    pit[501:503, 501:503] = True  # 2 x 2 px in a 1024 px image: 1/4 of one output pixel at 256 px
    assert mask_to_eval_size(pit, (256, 256)).sum() == 1
    same = mask_to_eval_size(mask, (512, 400))
    assert same is not mask and (same == mask).all()
    rows = np.zeros((16, 16), bool)
    rows[:9] = True  # at 4x, the third output row is covered a quarter: not kept beside the rows kept (mutation
    assert mask_to_eval_size(rows, (4, 4)).sum() == 8  # review: keeping a quarter's coverage passed)


def test_a_thin_slanted_scratch_stays_one_region_at_eval_size() -> None:
    """Keeping each pixel where a thin defect's coverage peaked split one slanted scratch into 14-37 regions (and
    added stray pixels beside defects partly kept), each a defect of its own in AUPRO's average over regions."""
    for end in ((399, 130), (399, 399), (250, 399)):
        mask = np.zeros((400, 400), np.uint8)
        cv2.line(mask, (0, 0), end, 1, 1)
        cv2.circle(mask, (60, 300), 20, 1, -1)  # a pit large enough for the area rule, its rim partly covered
        small = mask_to_eval_size(mask.astype(bool), (50, 50))
        regions = cv2.connectedComponents(small.astype(np.uint8), connectivity=8)[0] - 1
        assert regions == 2, end
        kept_by_area = cv2.resize(mask.astype(np.float32), (50, 50), interpolation=cv2.INTER_AREA) >= 0.5
        pit = np.zeros((50, 50), bool)
        pit[30:46, :16] = True  # around the pit, away from the scratch
        assert ((small & pit) == (kept_by_area & pit)).all()  # the pit as the area rule has it, no fragment added


def test_every_defect_of_a_mask_survives_any_eval_size() -> None:
    """Enlarged on one axis and shrunk on the other, a small defect vanished (found by review: 52 of 732 random
    regions); the docstring promises that every defect the mask marks still counts."""
    mask = np.zeros((4, 9), bool)
    mask[0, 7] = True
    assert mask_to_eval_size(mask, (9, 2)).any()
    rng = np.random.default_rng(5)
    for _ in range(300):
        mask = np.zeros(tuple(rng.integers(2, 40, 2)), bool)
        mask[rng.integers(mask.shape[0]), rng.integers(mask.shape[1])] = True
        eval_hw = tuple(int(side) for side in rng.integers(1, 40, 2))
        assert mask_to_eval_size(mask, eval_hw).sum() >= 1, (mask.shape, eval_hw)


# ---------------------------------------------------------------------- thresholds
@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + 1.2 * labels, 1)  # rounding makes many ties
    return labels, scores


def test_threshold_evaluator_matches_brute_force_and_sklearn(scored) -> None:
    labels, scores = scored
    evaluator = ThresholdEvaluator(labels, scores)
    rng = np.random.default_rng(3)
    thresholds = np.concatenate([rng.uniform(-4, 5, 100), rng.choice(scores, 50), [-np.inf, np.inf]])
    many = evaluator.evaluate_many(thresholds)
    for i, threshold in enumerate(thresholds):
        point = evaluator.evaluate(threshold)
        assert {k: getattr(point, k) for k in ("tp", "fp", "tn", "fn")} == brute_force_point(labels, scores, threshold)
        predicted = (scores >= threshold).astype(int)
        assert (point.confusion_matrix() == confusion_matrix(labels, predicted, labels=[0, 1])).all()
        assert (rejected(scores, threshold) == predicted.astype(bool)).all()  # the rule every verdict applies
        found = dict(zip(*np.unique(outcomes(labels, scores, threshold), return_counts=True)))
        assert {k: found.get(k.upper(), 0) for k in ("tp", "fp", "tn", "fn")} == {
            k: getattr(point, k) for k in ("tp", "fp", "tn", "fn")}
        assert point.f1 == pytest.approx(f1_score(labels, predicted, zero_division=0.0))
        assert point.escape_rate == pytest.approx(point.fn / (point.tp + point.fn))
        for key, values in many.items():
            assert values[i] == pytest.approx(getattr(point, key)), key


def test_operating_point_with_empty_denominators() -> None:
    point = ThresholdEvaluator([0, 0, 1], [0.1, 0.2, 0.3]).evaluate(10.0)
    assert (point.tp, point.fp, point.tn, point.fn) == (0, 0, 2, 1)
    assert point.precision == 0.0 and point.recall == 0.0 and point.f1 == 0.0
    only_good = ThresholdEvaluator([0, 0], [0.1, 0.2]).evaluate(0.15)
    assert only_good.recall == 0.0 and only_good.escape_rate == 0.0 and only_good.false_alarm_rate == 0.5


def test_threshold_equal_to_a_score_counts_as_defective() -> None:
    point = ThresholdEvaluator([0, 1], [0.3, 0.7]).evaluate(0.7)
    assert isinstance(point, OperatingPoint)
    assert (point.tp, point.fp, point.tn, point.fn) == (1, 0, 1, 0)


def test_f1_optimal_threshold_maximises_f1(scored) -> None:
    labels, scores = scored
    threshold, best = f1_optimal_threshold(labels, scores)
    all_f1 = [f1_score(labels, (scores >= t).astype(int)) for t in np.unique(scores)]
    assert best == pytest.approx(max(all_f1))
    assert f1_score(labels, (scores >= threshold).astype(int)) == pytest.approx(best)
    above, below = scores[scores >= threshold].min(), scores[scores < threshold].max()
    assert below + (above - below) / 4 <= threshold <= above - (above - below) / 4  # a margin on both sides
    assert f1_optimal_threshold([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == (0.25, 1.0)
    # F1 is 2/3 rejecting all four and rejecting the highest alone: ties go to the lowest threshold (mutation review)
    assert f1_optimal_threshold([1, 0, 0, 1], [1, 2, 3, 4]) == (1.0, pytest.approx(2 / 3))
    with pytest.raises(ValueError, match="defective"):
        f1_optimal_threshold([0, 0], [0.1, 0.2])


def test_youden_threshold(scored) -> None:
    labels, scores = scored
    threshold = youden_threshold(labels, scores)
    evaluator = ThresholdEvaluator(labels, scores)
    j = [evaluator.evaluate(t).recall - evaluator.evaluate(t).false_alarm_rate for t in np.unique(scores)]
    chosen = evaluator.evaluate(threshold)
    assert chosen.recall - chosen.false_alarm_rate == pytest.approx(max(j))
    assert youden_threshold([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 0.25
    # review: J is 1/5 at 0.5 and at 1.5, but 1 - 0.8 and 0.8 - 0.6 round apart in floats; ties go to the lowest
    assert youden_threshold([0] * 5 + [1] * 5, [0, 1, 2, 2, 2, 1, 2, 2, 2, 2]) == 0.5


def test_each_preset_is_the_rule_it_is_named_after(scored) -> None:
    """The page, the command line, the held-out table and the report read the presets by name: a name mapped to
    another rule (Youden giving the F1-optimal threshold) passed while they agreed with each other (mutation
    review)."""
    labels, scores = scored
    presets = threshold_presets(labels, scores, 0.1, LineCosts())
    assert presets == {"F1-optimal": f1_optimal_threshold(labels, scores)[0],
                       "Youden": youden_threshold(labels, scores),
                       "Minimum cost": minimum_cost_threshold(labels, scores, LineCosts()),
                       false_alarm_preset_name(0.1): threshold_for_false_alarm_rate(labels, scores, 0.1)}
    assert len(set(presets.values())) == 4  # each tells its rule apart


def test_threshold_for_false_alarm_rate(scored) -> None:
    labels, scores = scored
    good = np.sort(scores[labels == 0])
    zero = threshold_for_false_alarm_rate(labels, scores, 0.0)
    above = scores[scores > good[-1]].min()
    assert zero == threshold_between(good[-1], above) and good[-1] + (above - good[-1]) / 4 <= zero < above
    defective = scores[labels == 1]
    for rate in (0.0, 0.01, 0.05, 0.1, 0.3, 0.999, 1.0):
        threshold = threshold_for_false_alarm_rate(labels, scores, rate)
        assert (good >= threshold).mean() <= rate
        # the most defective images caught: any lower score judged defective would exceed the rate or catch none more
        lower = scores[scores < threshold]
        if len(lower) and (good >= lower.max()).mean() <= rate:
            assert lower.max() not in defective
        # the fewest false alarms for them: raising it would let a defective image pass
        assert scores[scores >= threshold].min() in defective
    # one false alarm allowed catches the defect at 10 with none: the good image at 9 passes (numbers review)
    assert threshold_for_false_alarm_rate([0] * 10 + [1], list(range(11)), 0.1) == 9.5
    assert threshold_for_false_alarm_rate([0] * 10 + [1], list(range(10)) + [8.6], 0.1) == threshold_between(8, 8.6)
    # 0.57 * 100 is 56.999... in floats: 57 false alarms are still allowed (mutation review)
    defect_at = [0] * 100 + [1], list(range(100)) + [42.7]
    assert threshold_for_false_alarm_rate(*defect_at, 0.57) == threshold_between(42, 42.7)
    # 15 % of 10 good images allows 1 false alarm, not 2 (1.5 rounded): the defect at 7.6 is not worth 20 %
    over = threshold_for_false_alarm_rate([0] * 10 + [1], list(range(10)) + [7.6], 0.15)  # (mutation review)
    assert (np.arange(10) >= over).mean() <= 0.15 and over > 9
    assert threshold_for_false_alarm_rate(*defect_at, 0.56) == np.nextafter(99, np.inf)  # catches none: no false alarm
    assert threshold_for_false_alarm_rate([0] * 5, list(range(5)), 0.4) == 2.5  # no defective image: the same
    assert threshold_for_false_alarm_rate([0, 0, 1], [0.1, 0.5, 0.3], 0.0) == np.nextafter(0.5, np.inf)  # none above


def test_a_larger_false_alarm_allowance_never_gives_a_worse_operating_point() -> None:
    """At 10 % the preset rejected a good part more than at 5 % and caught no defect more (numbers review)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        labels = rng.integers(0, 2, 30)
        labels[:2] = [0, 1]
        scores = np.round(rng.normal(labels * 1.5, 1.0), 1)  # ties too
        points = []
        for rate in np.linspace(0, 1, 21):
            threshold = threshold_for_false_alarm_rate(labels, scores, rate)
            caught, rejected_good = (scores[labels == 1] >= threshold).sum(), (scores[labels == 0] >= threshold).sum()
            points.append((int(caught), -int(rejected_good)))
        for smaller, larger in zip(points, points[1:]):
            assert larger >= smaller and not (larger[0] == smaller[0] and larger[1] < smaller[1])


def test_a_threshold_between_two_scores_is_short_and_keeps_a_margin_from_both():
    """Thresholds sat on a score (or one float step above one): the image with that score, scored again with
    another batch size or thread count (about 1e-7 of itself apart), could change its verdict."""
    assert threshold_between(0.2, 0.5) == 0.3 and threshold_between(None, 0.5) == 0.5
    assert threshold_between(677.6706237792969, 677.670654296875) == 677.67064
    assert threshold_between(1.0, float(np.nextafter(1.0, 2.0))) == np.nextafter(1.0, 2.0)  # no room to split
    assert -1e308 < threshold_between(-1e308, 1e308) < 1e308  # the gap is no float (review: it returned 1e308)
    rng = np.random.default_rng(3)
    for below, gap in zip(rng.normal(0, 1e3, 500), 10.0 ** rng.uniform(-9, 2, 500)):
        above = below + gap
        threshold = threshold_between(below, above)
        assert below + (above - below) / 4 <= threshold <= above - (above - below) / 4


def brute_force_cost(labels: np.ndarray, scores: np.ndarray, threshold: float, costs: LineCosts) -> float:
    counts = brute_force_point(labels, scores, threshold)
    false_alarm_rate = counts["fp"] / (counts["fp"] + counts["tn"])
    escape_rate = counts["fn"] / (counts["fn"] + counts["tp"])
    return ((1 - costs.defect_rate) * false_alarm_rate * costs.false_alarm
            + costs.defect_rate * escape_rate * costs.escape)


@pytest.mark.parametrize("costs", [LineCosts(), LineCosts(1.0, 200.0, 0.01), LineCosts(5.0, 1.0, 0.2),
                                   LineCosts(0.0, 1.0, 0.05), LineCosts(1.0, 0.0, 0.05)])
def test_minimum_cost_threshold_has_the_lowest_expected_cost(scored, costs) -> None:
    labels, scores = scored
    threshold = minimum_cost_threshold(labels, scores, costs)
    candidates = np.append(np.unique(scores), np.inf)  # inf: reject nothing
    lowest = min(brute_force_cost(labels, scores, t, costs) for t in candidates)
    assert brute_force_cost(labels, scores, threshold, costs) == pytest.approx(lowest)
    lower = scores[scores < threshold]  # ties go to the lowest threshold
    if len(lower):
        assert brute_force_cost(labels, scores, lower.max(), costs) > lowest + 1e-12


def test_minimum_cost_threshold_takes_the_lowest_of_equal_costs_that_round_apart() -> None:
    """Review: the expected cost is exactly 1.26 per part at 1.5 and at 4.5, computed from other rates that round
    apart in their last bits; "ties: the lowest" must still choose 1.5."""
    labels, scores = [1, 0, 0, 0, 1, 0, 1, 1, 1, 0], [5, 0, 2, 1, 5, 5, 5, 2, 2, 4]
    assert minimum_cost_threshold(labels, scores, LineCosts(3, 7, 0.3)) == 1.5


def test_minimum_cost_threshold_rejects_nothing_when_only_false_alarms_cost():
    """The highest score is a good part's and escapes cost nothing: the cheapest threshold passes every part, just
    above the highest score (mutation review: a candidate at the highest score itself rejected that part)."""
    threshold = minimum_cost_threshold([0, 1, 0], [1, 2, 3], LineCosts(1, 0, 0.05))
    assert threshold == np.nextafter(3.0, np.inf)
    assert ThresholdEvaluator([0, 1, 0], [1, 2, 3]).evaluate(threshold).fp == 0


def test_minimum_cost_threshold_follows_the_costs(scored) -> None:
    labels, scores = scored
    good, defective = scores[labels == 0], scores[labels == 1]
    free_escapes = minimum_cost_threshold(labels, scores, LineCosts(1.0, 0.0, 0.05))
    assert free_escapes == threshold_between(good.max(), scores[scores > good.max()].min())  # no good part rejected
    free_alarms = minimum_cost_threshold(labels, scores, LineCosts(0.0, 1.0, 0.05))
    assert free_alarms == scores.min() and free_alarms <= defective.min()  # catch every defect
    thresholds = [minimum_cost_threshold(labels, scores, LineCosts(1.0, escape, 0.01))
                  for escape in (1.0, 10.0, 100.0, 1000.0)]
    assert thresholds == sorted(thresholds, reverse=True) and thresholds[0] > thresholds[-1]
    assert (good >= thresholds[0]).mean() < (good >= thresholds[-1]).mean()
    with pytest.raises(ValueError, match="both good and defective"):
        minimum_cost_threshold([0, 0], [0.1, 0.2], LineCosts())


@pytest.mark.parametrize("kwargs, message", [({"false_alarm": -1.0}, "false alarm"),
                                             ({"escape": float("nan")}, "escape"),
                                             ({"escape": 1e308}, "escape must be a number from 0 to "
                                                                "1,000,000,000,000,000, not 1e\\+308"),
                                             ({"false_alarm": 0.0, "escape": 0.0}, "at least one"),
                                             ({"defect_rate": 0.0}, "defective parts"),
                                             ({"defect_rate": 1.0}, "defective parts"),
                                             ({"defect_rate": 1e-300}, "defective parts on the line must be "
                                                                       "from 0.001 % to 99 %, not 1e-298 %")])
def test_line_costs_refuse_values_that_mean_nothing(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        LineCosts(**kwargs)


def test_line_costs_per_part() -> None:
    costs = LineCosts(false_alarm=2.0, escape=50.0, defect_rate=0.02)
    assert costs.per_part(0.1, 0.25) == pytest.approx(0.98 * 0.1 * 2.0 + 0.02 * 0.25 * 50.0)
    assert np.allclose(costs.per_part(np.array([0.0, 1.0]), np.array([1.0, 0.0])), [1.0, 1.96])


def test_the_expected_cost_on_the_line_is_not_given_when_a_rate_is_unknown() -> None:
    """A test set of good images only has no escape rate: counting it as 0 made checking look free (cost 0.0
    against 100.0 unchecked)."""
    costs = LineCosts(false_alarm=1.0, escape=10.0, defect_rate=0.01)
    only_good = ThresholdEvaluator(np.zeros(4, int), np.array([0.1, 0.2, 0.3, 0.4])).evaluate(0.35)
    assert line_cost_sentence(only_good, costs) == (
        "No expected cost per 1,000 parts: the test set has no defective image, so the escape rate is unknown. "
        "Check the run on labelled images from the line (Predict's check, or evaluate --data).")
    only_defective = ThresholdEvaluator(np.ones(3, int), np.array([0.1, 0.2, 0.3])).evaluate(0.15)
    assert line_cost_sentence(only_defective, costs).startswith(
        "No expected cost per 1,000 parts: the test set has no good image, so the false-alarm rate is unknown.")
    both = ThresholdEvaluator(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])).evaluate(0.25)
    assert line_cost_sentence(both, costs).startswith("Per 1,000 parts made with 1% defective: about 0.0 false "
                                                      "alarms and 0.0 escapes, an expected cost of 0.0")


def test_a_line_with_few_defective_parts_keeps_its_rates_and_counts_enough_parts():
    """A defect rate of 0.005 % used to read "0.0% defective" in the sentence and in a saved threshold's source, and
    "about 0.0 false alarms and 0.0 escapes" beside an expected cost of 1,190.5; 0.05 % allowed false alarms read
    as 0.1 %."""
    costs = LineCosts(false_alarm=1.0, escape=100_000.0, defect_rate=0.00005)
    point = ThresholdEvaluator(np.array([0, 0, 0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.9, 0.4, 0.8])).evaluate(0.5)
    assert line_cost_sentence(point, costs).startswith(
        "Per 100,000 parts made with 0.005% defective: about 24,998.8 false alarms and 2.5 escapes, an expected "
        "cost of 274,998.8 (24,998.8 × 1 + 2.5 × 100,000)")
    assert costs.summary() == "a false alarm costs 1, an escape 100,000, 0.005% defective"
    assert costlier_than_unchecked(point, costs, "manual") is None  # 274,998.8 against 500,000 unchecked
    assert costlier_than_unchecked(point, LineCosts(1.0, 10.0, 0.01), "manual") == (  # 247.5 + 50 against 100
        "This threshold costs more than not inspecting at all at these costs and this share of defective parts: the "
        "minimum-cost preset chooses one for these costs.")
    assert costlier_than_unchecked(point, LineCosts(1.0, 10.0, 0.01), "F1-optimal") == (  # only it follows the mix
        "This threshold costs more than not inspecting at all at these costs and this share of defective parts: "
        "it is the F1-optimal one, which follows the test set's mix of good and defective parts, not the line's; "
        "the minimum-cost preset chooses one for these costs.")
    assert "F1" not in costlier_than_unchecked(point, LineCosts(1.0, 10.0, 0.01), "≤ 1% false alarms")  # (review)
    assert line_cost_sentence(point, LineCosts(1.0, 10.0, 0.01)) == (  # said apart from "not inspecting", a warning
        "Per 1,000 parts made with 1% defective: about 247.5 false alarms and 5.0 escapes, an expected cost of 297.5 "
        "(247.5 × 1 + 5.0 × 10); passing every part unchecked would cost 100.0. Rates from the test set. At the "
        "upper ends of their 95% intervals (80.6% false alarms, 98.7% escapes): up to 797.8 false alarms and 9.87 "
        "escapes, a cost of up to 896.6 (797.8 × 1 + 9.87 × 10).")  # 1 of 4 good, 1 of 2 defective: Clopper-Pearson
    # the counts carry the digits their cost needs for the sum to add up: 0.8 × 100,000 had stood beside a total
    # that 0.785 × 100,000 gives (numbers review)
    assert line_cost_sentence(point, LineCosts(1.0, 100_000.0, 0.001)).endswith(
        "up to 805.1 false alarms and 0.987421 escapes, a cost of up to 99,547.2 (805.1 × 1 + 0.987421 × 100,000).")
    for rate in (0.003, 0.007, 0.013):  # rejecting nothing costs what passing every part unchecked does
        nothing = ThresholdEvaluator(np.array([0, 1]), np.array([0.1, 0.2])).evaluate(1.0)
        assert costlier_than_unchecked(nothing, LineCosts(1.0, 0.3, rate), "manual") is None
    unknown = ThresholdEvaluator(np.array([1, 1]), np.array([0.1, 0.2])).evaluate(0.15)  # no good image: no rate
    assert costlier_than_unchecked(unknown, LineCosts(1.0, 10.0, 0.01), "manual") is None
    assert false_alarm_preset_name(0.0005) == "≤ 0.05% false alarms"
    few = ThresholdEvaluator(np.array([0] * 14 + [1] * 21), np.arange(35.0)).evaluate(23.5)  # 10 of 21 escape
    assert "about 0.0 false alarms and 0.476 escapes, an expected cost of 4.8 (0.0 × 1 + 0.476 × 10)" in \
        line_cost_sentence(few, LineCosts(1.0, 10.0, 0.00001))  # the escapes' cost read 0.5 × 10 beside 4.8
    one = ThresholdEvaluator(np.array([0] * 10 + [1] * 10), np.arange(20.0)).evaluate(10.5)  # 1 of 10 escapes
    assert "about 0.0 false alarms and 1.0 escapes, an expected cost of 10.0 (0.0 × 1 + 1.0 × 10)" in \
        line_cost_sentence(one, LineCosts(1.0, 10.0, 0.01))  # not "1 escapes" beside "0.0 false alarms"
    from vqi_core.thresholds import _expected_count
    assert [_expected_count(count) for count in (5e-05, 0.476, 9.999, 12.34)] == ["0.00005", "0.476", "10.0", "12.3"]
    assert [_expected_count(count, 100_000) for count in (0.7847123, 2.5, 0)] == ["0.784712", "2.5", "0.0"]
    tiny = line_cost_sentence(point, LineCosts(1e-300, 1e-300, 0.01))  # not "would cost 0.0" (command review)
    assert "an expected cost of 2.5e-298 (" in tiny and "passing every part unchecked would cost 1e-299." in tiny
    assert false_alarm_preset_name(0.0025) == "≤ 0.25% false alarms"
    assert false_alarm_preset_name(1e-7) == "≤ 0.00001% false alarms"  # not 1e-05%


def test_roc_curve_uses_the_same_rule() -> None:
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    fpr, tpr, thresholds = roc_curve(labels, scores)
    evaluator = ThresholdEvaluator(labels, scores)
    for f, t, threshold in zip(fpr, tpr, thresholds):
        point = evaluator.evaluate(threshold)
        assert (point.false_alarm_rate, point.recall) == (pytest.approx(f), pytest.approx(t))
    assert np.trapezoid(tpr, fpr) == pytest.approx(image_auroc(labels, scores))


def test_summary_metrics_is_json_ready() -> None:
    labels = [0, 0, 0, 1, 1]
    scores = [0.1, 0.2, 0.6, 0.5, 0.9]
    masks = [np.zeros((8, 8), bool)] * 3 + [np.eye(8, dtype=bool)] * 2
    maps = [np.full((8, 8), 0.1, np.float32)] * 3 + [np.eye(8, dtype=np.float32)] * 2
    summary = summary_metrics(labels, scores, masks, maps)
    json.dumps(summary)
    assert summary["image_auroc"] == pytest.approx(5 / 6)
    low, high = summary["image_auroc_interval"]
    assert 0 <= low < 5 / 6 < high <= 1  # 5 images: a wide interval
    assert summary_metrics([0, 0], [0.1, 0.2])["image_auroc_interval"] is None  # one class: no AUROC at all
    assert summary["pixel_auroc"] == 1.0 and summary["aupro"] == pytest.approx(1.0)
    assert summary["f1_threshold"] == 0.3 and summary["best_f1"] == pytest.approx(0.8)  # between 0.2 and 0.5
    assert (summary["tp"], summary["fp"], summary["tn"], summary["fn"]) == (2, 1, 2, 0)
    assert summary["precision"] == pytest.approx(2 / 3) and summary["recall"] == 1.0
    assert summary["accuracy"] == pytest.approx(0.8)
    assert summary["balanced_accuracy"] == pytest.approx((1.0 + 2 / 3) / 2)  # recall 1, 1 of 3 good rejected
    assert asdict(ThresholdEvaluator(labels, scores).evaluate(0.5))["tp"] == 2
    no_masks = summary_metrics(labels, scores)
    assert no_masks["pixel_auroc"] is None and no_masks["aupro"] is None
    one_class = summary_metrics([0, 0], [0.1, 0.2])
    assert one_class["image_auroc"] is None and one_class["f1_threshold"] is None


def test_defect_type_metrics_split_the_pooled_figures_by_type() -> None:
    rng = np.random.default_rng(0)
    types = ["good", "good", "good", "scratch", "scratch", "stain", "stain", "dent"]
    labels = [0, 0, 0, 1, 1, 1, 1, 1]
    scores = [0.1, 0.2, 0.6, 0.5, 0.9, 0.7, 0.8, 0.3]
    maps = [rng.random((8, 8)).astype(np.float32) * 0.5 for _ in types]
    masks: list[np.ndarray | None] = [np.zeros((8, 8), bool) for _ in types]
    masks[3][:2] = masks[4][:2] = True  # scratch: 32 pixels, found perfectly
    maps[3][:2] += 1.0
    maps[4][:2] += 1.0
    masks[5][4:] = masks[6][4:] = True  # stain: 64 pixels, scored like good ones
    masks[7] = None  # dent: image without a mask
    per_type = defect_type_metrics(types, labels, scores, masks, maps)
    json.dumps(per_type)
    assert list(per_type) == ["dent", "scratch", "stain"]
    assert per_type["scratch"]["images"] == 2
    assert per_type["scratch"]["image_auroc"] == pytest.approx(image_auroc([0, 0, 0, 1, 1], [0.1, 0.2, 0.6, 0.5, 0.9]))
    assert per_type["dent"]["image_auroc"] == pytest.approx(2 / 3)  # 0.3 beats 0.1 and 0.2, not 0.6
    assert per_type["scratch"]["pixel_auroc"] == 1.0
    stain_subset = [0, 1, 2, 5, 6]
    assert per_type["stain"]["pixel_auroc"] == pytest.approx(
        pixel_auroc([masks[i] for i in stain_subset], [maps[i] for i in stain_subset]))
    assert 0.3 < per_type["stain"]["pixel_auroc"] < 0.7
    assert per_type["dent"]["pixel_auroc"] is None and per_type["dent"]["defect_pixel_share"] is None  # not 0 %
    assert per_type["scratch"]["defect_pixel_share"] == pytest.approx(32 / 96)
    assert per_type["stain"]["defect_pixel_share"] == pytest.approx(64 / 96)
    image_only = defect_type_metrics(types, labels, scores)
    assert image_only["stain"] == {"images": 2, "image_auroc": 1.0}
    with pytest.raises(ValueError, match="7 defect types but 8 labels"):
        defect_type_metrics(types[:-1], labels, scores)


def test_rate_interval_is_the_exact_binomial_interval() -> None:
    low, high = rate_interval(5, 20)  # published Clopper-Pearson 95 % interval: 0.0866-0.4910
    assert (low, high) == pytest.approx((0.08657, 0.49105), abs=1e-5)
    assert rate_interval(0, 14) == pytest.approx((0.0, 1 - 0.025 ** (1 / 14)))  # 0 of 14: up to 23 %
    assert rate_interval(14, 14) == pytest.approx((0.025 ** (1 / 14), 1.0))
    narrow, wide = rate_interval(50, 1000, 0.9), rate_interval(50, 1000, 0.99)
    assert wide[0] < narrow[0] < 0.05 < narrow[1] < wide[1]
    assert rate_interval(0, 0) is None
    with pytest.raises(ValueError, match="count <= total"):
        rate_interval(3, 2)
    with pytest.raises(ValueError, match="confidence"):
        rate_interval(1, 2, 1.0)


def test_the_auroc_interval_is_delongs_on_the_logit_scale_and_covers_small_test_sets() -> None:
    """Metrics review: the percentile bootstrap's "95 %" covered a true AUROC of 0.92 in 89 % of test sets of 15
    good and 16 defective images (lying wholly above it in 10 %), and one of 0.98 in 70 %."""
    from scipy.stats import norm

    rng = np.random.default_rng(11)
    labels = np.r_[np.zeros(30, int), np.ones(40, int)]
    scores = np.round(np.r_[rng.normal(0, 1, 30), rng.normal(1.5, 1, 40)], 1)  # ties count one half
    # DeLong's variance written out pair by pair, as in the paper: the interval is the logit one of that variance
    good, defective = scores[:30], scores[30:]
    kernel = (defective[:, None] > good[None, :]) + 0.5 * (defective[:, None] == good[None, :])
    auroc, v10, v01 = kernel.mean(), kernel.mean(axis=1), kernel.mean(axis=0)
    variance = v10.var(ddof=1) / 40 + v01.var(ddof=1) / 30
    logit, spread = np.log(auroc / (1 - auroc)), 1.959964 * np.sqrt(variance) / (auroc * (1 - auroc))
    expected = 1 / (1 + np.exp(-(logit - spread))), 1 / (1 + np.exp(-(logit + spread)))
    assert auroc == pytest.approx(image_auroc(labels, scores))
    assert auroc_interval(labels, scores) == (pytest.approx(expected[0]), pytest.approx(expected[1]))
    assert auroc_interval(labels, scores, 0.5)[1] < auroc_interval(labels, scores)[1]
    with pytest.raises(ValueError, match="confidence"):
        auroc_interval(labels, scores, 1.0)
    assert auroc_interval(np.zeros(5, int), np.arange(5.0)) is None
    # coverage of a true AUROC of 0.92 (binormal, d = 2) by 400 test sets of 15 good and 16 defective images
    truth, labels = norm.cdf(2 / np.sqrt(2)), np.r_[np.zeros(15, int), np.ones(16, int)]
    covered = above = 0
    for _ in range(400):
        low, high = auroc_interval(labels, np.r_[rng.normal(0, 1, 15), rng.normal(2, 1, 16)])
        covered += low <= truth <= high
        above += low > truth
    assert covered / 400 >= 0.93 and above / 400 <= 0.03  # the bootstrap: 0.89 and 0.10
    # one image of a class, or every score tied: Hanley and McNeil's variance, an interval inside 0-1 around it
    low, high = auroc_interval([0, 0, 1], [0.0, 2.0, 1.0])
    assert 0 < low < 0.5 < high < 1
    low, high = auroc_interval([0] * 4 + [1] * 4, [1.0] * 8)
    assert low < 0.5 < high and low + high == pytest.approx(1.0)


def test_bootstrap_aurocs_are_paired_stratified_resamples() -> None:
    rng = np.random.default_rng(3)
    labels = np.r_[np.zeros(40, int), np.ones(25, int)]
    better = np.round(np.r_[rng.normal(0, 1, 40), rng.normal(2, 1, 25)], 1)  # rounded: ties count one half
    worse = np.round(better + rng.normal(0, 1.5, 65), 1)
    aurocs = bootstrap_aurocs(labels, [better, worse, better], resamples=300, seed=7)
    assert aurocs.shape == (300, 3) and (aurocs[:, 0] == aurocs[:, 2]).all()  # same resamples for every set
    stacked = bootstrap_aurocs(labels, np.stack([better, worse, better]), resamples=300, seed=7)  # review: a 2-D
    assert np.array_equal(stacked, aurocs)  # array of score sets was "ambiguous"
    # each resample's AUROC is scikit-learn's on the same draw (good and defective drawn separately)
    draw = np.random.default_rng(7)
    good = draw.choice(np.flatnonzero(labels == 0), (300, 40))
    defective = draw.choice(np.flatnonzero(labels == 1), (300, 25))
    for row in (0, 150, 299):
        drawn = np.r_[good[row], defective[row]]
        assert aurocs[row, 1] == pytest.approx(image_auroc(labels[drawn], worse[drawn]))
    low, high = percentile_interval(aurocs[:, 0])
    assert low < image_auroc(labels, better) < high
    difference = percentile_interval(aurocs[:, 0] - aurocs[:, 1])
    assert difference[0] > 0  # the better scores are better on (almost) every paired resample
    with pytest.raises(ValueError, match="both good and defective"):
        bootstrap_aurocs(np.zeros(5, int), [np.arange(5.0)])
    with pytest.raises(ValueError, match="confidence"):
        percentile_interval(aurocs[:, 0], 0)
    # the central 95 %: 2.5 % of the resamples below it, 2.5 % above (not a 90 % interval called 95 %)
    assert percentile_interval(np.arange(1001.0)) == pytest.approx((25.0, 975.0))
    assert percentile_interval(np.arange(1001.0), 0.8) == pytest.approx((100.0, 900.0))


def test_held_out_counts_hold_every_image_out_once_in_stratified_folds() -> None:
    rng = np.random.default_rng(3)
    labels = np.array([0] * 23 + [1] * 11)
    scores = rng.permutation(np.arange(34.0))  # unique: a score names its image
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def recording_rule(fold_labels: np.ndarray, fold_scores: np.ndarray) -> float:
        seen.append((fold_labels.copy(), fold_scores.copy()))
        return 17.0  # a fixed threshold: held-out counts must equal the in-sample counts
    held = held_out_counts(labels, scores, recording_rule)
    assert held.folds == 5 and len(seen) == 5 and (held.good, held.defective) == (23, 11)
    held_out = [np.setdiff1d(scores, fold_scores) for _, fold_scores in seen]
    assert sorted(np.concatenate(held_out).tolist()) == sorted(scores.tolist())  # each image held out once
    for (fold_labels, _), out in zip(seen, held_out):
        out_labels = labels[np.isin(scores, out)]
        assert np.bincount(out_labels, minlength=2).tolist() in ([4, 2], [4, 3], [5, 2], [5, 3])  # good, defective
        assert (fold_labels == 0).sum() + (out_labels == 0).sum() == 23
    point = ThresholdEvaluator(labels, scores).evaluate(17.0)
    assert (held.false_alarms, held.escapes) == (point.fp, point.fn)
    assert held_out_counts(labels, scores, recording_rule) == held  # seeded: the same folds again
    assert held_out_counts(labels[:25], scores[:25], recording_rule).folds == 2  # only 2 defective images
    assert held_out_counts(labels[:24], scores[:24], recording_rule) is None  # 1 defective image: nothing to hold out
    for folds in (1, 0):  # review: quietly None, as if the images were too few
        with pytest.raises(ValueError, match=f"folds must be at least 2 .*, not {folds}"):
            held_out_counts(labels, scores, recording_rule, folds=folds)


def test_a_threshold_chosen_on_its_own_images_is_optimistic() -> None:
    """'No false alarm on the test set' puts the threshold just above the highest good score; the good
    image that has it, held out, is then a false alarm: held-out counts show what in-sample ones hide."""
    rule = lambda l, s: threshold_for_false_alarm_rate(l, s, 0.0)  # noqa: E731
    labels = np.array([0] * 40 + [1] * 20)
    held_out = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        scores = np.concatenate([rng.normal(0, 1, 40), rng.normal(2, 1, 20)])
        assert ThresholdEvaluator(labels, scores).evaluate(rule(labels, scores)).fp == 0
        held_out += held_out_counts(labels, scores, rule).false_alarms
    assert held_out >= 3


def test_rates_without_images_to_count_them_on_are_undefined_not_zero():
    """No good test image: no false-alarm rate; no defective one: no recall, escape rate or F1 at a threshold that
    rejects nothing; nothing rejected: no precision. A quality engineer must not read "0.0 %" there."""
    only_good = rate_numbers(ThresholdEvaluator([0, 0, 0], [0.1, 0.2, 0.3]).evaluate(1.0))
    assert only_good == {"Precision": None, "Recall": None, "F1": None, "Accuracy": 1.0,
                         "False-alarm rate": 0.0, "Escape rate": None}
    only_defective = rate_numbers(ThresholdEvaluator([1, 1], [0.1, 0.9]).evaluate(0.5))
    assert only_defective["False-alarm rate"] is None and only_defective["Precision"] == 1.0
    assert only_defective["Recall"] == only_defective["Escape rate"] == 0.5
    assert [percent(v) for v in (None, 0.0, 0.1234)] == ["n/a", "0.0%", "12.3%"]
    assert percent(0.1234, 0) == "12%"


@pytest.mark.parametrize("call, problem", [
    (lambda: mask_to_eval_size(np.ones((4, 4), bool), (0, 5)), "an eval size of at least 1 x 1"),
    (lambda: mask_to_eval_size(np.ones((0, 4), bool), (4, 4)), "not a mask of shape (0, 4)"),
    (lambda: percentile_interval([]), "an interval needs at least one bootstrap value"),
    (lambda: rate_interval(1.5, 3), "a rate needs whole numbers 0 <= count <= total, not 1.5 of 3"),
    (lambda: LineCosts(false_alarm="1"), "the cost of a false alarm must be a number from 0 to "
                                         "1,000,000,000,000,000, not 1"),
    (lambda: LineCosts(escape=True), "the cost of an escape must be a number from 0 to 1,000,000,000,000,000, "
                                     "not True"),
    (lambda: LineCosts(defect_rate="0.1"), "the share of defective parts on the line must be from 0.001 % to 99 %, "
                                           "not '0.1'"),
    (lambda: percentile_interval([np.nan, 1.0]), "bootstrap values must be finite numbers"),
])
def test_metric_helpers_refuse_input_they_cannot_use_with_a_message(call, problem):
    """Each used to end in an OpenCV assertion, an IndexError, a ufunc TypeError, or to accept 1.5 of 3 parts (the
    defect rate given as text, a TypeError, and NaN bootstrap values, an interval of NaN: engine review)."""
    with pytest.raises(ValueError) as refused:
        call()
    assert problem in str(refused.value)


def test_pixel_metrics_count_defect_free_pixels_only_where_an_inspection_region_looks():
    """Defect-free pixels outside the region (their map set to the region's lowest value) used to count as correctly
    passed: pixel AUROC 0.873 for a model whose inspected pixels gave 0.702 (review of 2026-12-03)."""
    mask = np.zeros((10, 10), bool)
    mask[2:4, 2:4] = True
    inspected = np.zeros((10, 10), bool)
    inspected[:, :5] = True
    anomaly_map = np.zeros((10, 10))
    anomaly_map[mask] = 0.5
    inspected_good = np.flatnonzero((inspected & ~mask).ravel())
    anomaly_map.ravel()[inspected_good[::2]] = 1.0  # half of the inspected good pixels above the defect
    kept = inspected | mask
    assert pixel_auroc([mask], [anomaly_map], [inspected]) == roc_auc_score(mask[kept], anomaly_map[kept]) == 0.5
    assert pixel_auroc([mask], [anomaly_map]) == roc_auc_score(mask.ravel(), anomaly_map.ravel()) > 0.75
    assert aupro([mask], [anomaly_map], inspected=[inspected]) < aupro([mask], [anomaly_map])
    both = summary_metrics([1], [1.0], [mask], [anomaly_map], [inspected])
    assert both["pixel_auroc"] == 0.5
    per_type = defect_type_metrics(["scratch"], [1], [1.0], [mask], [anomaly_map], [inspected])
    assert per_type["scratch"]["pixel_auroc"] == 0.5
    with pytest.raises(ValueError, match="inspected area shape"):
        pixel_auroc([mask], [anomaly_map], [inspected[:5]])


def test_a_perfect_separation_gets_a_lower_bound_and_says_the_test_set_is_too_small_to_show_misses():
    """Found by review: a run that separates its 35 test images read "1.0000 to 1.0000" (every bootstrap resample
    perfect), as if certain; its interval now reaches down to the lowest AUROC that separates 14 good and 21
    defective images that cleanly in 1 of 40 test sets (0.025 ** (1 / 14))."""
    from vqi_core.cli import _metrics_line

    labels = [0] * 14 + [1] * 21
    perfect = auroc_interval(labels, list(range(35)))
    assert perfect == (pytest.approx(0.025 ** (1 / 14)), 1.0) and perfect[0] == pytest.approx(0.7684, abs=1e-4)
    assert interval_note(perfect, 1.0).startswith("every image separated perfectly") and interval_note(perfect) == ""
    assert auroc_interval(labels, list(range(35))[::-1]) == (0.0, pytest.approx(1 - 0.025 ** (1 / 14)))
    one_swap = auroc_interval(labels, [0, 30] + list(range(2, 30)) + [1, 31, 32, 33, 34])
    assert interval_note(one_swap, 1 - 1 / 294) == "" and one_swap[1] < 1.0  # only a perfect separation reaches 1
    closest_swapped = auroc_interval(labels, list(range(13)) + [14, 13] + list(range(15, 35)))
    assert closest_swapped[0] == pytest.approx(0.947, abs=1e-3) and closest_swapped[0] > perfect[0]  # the
    # perfect set's bound is the conservative one (code review: said so in the docstring, the README and Compare)
    assert interval_note(None, 1.0) == "" and interval_note(auroc_interval(labels, [1.0] * 35), 0.5) == ""  # ties
    assert interval_note((1.0, 1.0), 1.0).startswith("every image separated")  # as runs from before recorded it
    assert interval_note((0.9026, 1.0), 0.9724) == ""  # a bootstrap interval of before, reaching 1: not perfect
    line = _metrics_line({"image_auroc": 1.0, "image_auroc_interval": list(perfect)})
    assert line.startswith("image AUROC 1.0000 (95% interval 0.7683–1.0000; every image separated perfectly: "
                           "too few images to show how often parts would be misjudged)")
    assert interval_text((0.9, 0.95), 3, " over resamples") == "95% interval 0.900–0.950 over resamples"
    # rounded outwards: an interval from 0.4999 had read 0.500, hiding that it begins below chance (numbers review)
    assert interval_text((0.4999, 0.8844), 3) == "95% interval 0.499–0.885"
    assert interval_text((0.285, 0.95), 3) == "95% interval 0.285–0.950"  # ends that are exact stay
    assert interval_text((0.3, 0.4989), 4).endswith("; below chance: the good images score above the defective ones")
    assert interval_text((0.3, 0.49996), 4) == "95% interval 0.3000–0.5000"  # printed as reaching 0.5: no such note
    assert interval_text(perfect, 3, confidence=0.9, auroc=1.0).startswith("90% interval 0.768–1.000; every image")


def test_a_threshold_nobody_chose_is_said_with_what_it_does_on_the_test_set():
    """Predict judged new parts at the F1-optimal threshold a run is trained with, naming only its source: on
    magnetic_tile (67 % defective test images) a PaDiM run's rejected 117 of 190 good parts (browser review)."""
    labels, scores = np.array([0, 0, 0, 0, 1, 1, 1]), np.array([0.1, 0.2, 0.6, 0.7, 0.4, 0.8, 0.9])
    evaluator = ThresholdEvaluator(labels, scores)
    assert set_at_training_note("F1-optimal on the evaluated test set", evaluator.evaluate(0.5), "on the page") == (
        "Nobody has chosen this threshold yet: it was set when the run was trained (F1-optimal on the evaluated test "
        "set); on the run's test set it rejects 2 of 4 good images (50.0%) and passes 1 of 3 defective images "
        "(33.3%). An F1-optimal threshold follows the test set's mix of parts (43% defective), not the line's. "
        "Choose one for the line's costs on the page.")
    only_good = set_at_training_note("highest held-out good score",
                                     ThresholdEvaluator(labels[:4], scores[:4]).evaluate(0.75), "here")
    assert only_good == ("Nobody has chosen this threshold yet: it was set when the run was trained (highest "
                         "held-out good score); on the run's test set it rejects 0 of 4 good images (0.0%). Choose "
                         "one for the line's costs here.")


def test_the_costs_assumed_are_said_to_be_vqis_defaults_even_where_a_threshold_was_saved_at_them():
    """Default figures must not read as the line's own in a quality record, whichever threshold recorded them."""
    assert costs_assumed(LineCosts(), LineCosts()) == ("Costs assumed: a false alarm costs 1, an escape 10, 1% "
                                                       "defective (VQI's defaults, not figures entered for this line).")
    assert costs_assumed(LineCosts(5.0, 200.0, 0.005), LineCosts(5.0, 200.0, 0.005)).endswith(
        "(those the saved threshold was saved at).")
    assert costs_assumed(LineCosts(5.0, 200.0, 0.005)).endswith("(as entered).")
    saved = LineCosts(1.0, 20.0, 0.01)  # saved with only the escape cost typed: the others were VQI's defaults then
    assert costs_assumed(saved, saved, set(), {"escape"}).endswith(  # (report review: they had read as the line's)
        "(those the saved threshold was saved at: the escape cost entered then, the false-alarm cost and the defect "
        "rate VQI's defaults).")
    assert costs_assumed(saved, saved, None, {"escape"}) == costs_assumed(saved, saved, set(), {"escape"})
    assert costs_assumed(saved, saved, set(), {"false_alarm", "escape", "defect_rate"}).endswith(
        "(those the saved threshold was saved at).")


def test_a_verdict_or_an_outcome_refuses_what_is_not_a_score_or_a_label():
    """NaN scores and thresholds had passed as good, a label -1 counted as good and 0.7 as 0 (API review)."""
    for score, threshold in ((float("nan"), 1.0), (5.0, float("nan"))):
        with pytest.raises(ValueError, match="a verdict needs a threshold and scores that are numbers"):
            verdict(score, threshold)
    with pytest.raises(ValueError, match="score at index 0 is nan: scores must be finite"):
        outcomes([1], [float("nan")], 1.0)
    with pytest.raises(ValueError, match="label -1 at index 0: only images with a known label"):
        outcomes([-1, 1], [5.0, 5.0], 1.0)
    with pytest.raises(ValueError, match="label 0.7 at index 2"):
        outcomes([0, 1, 0.7], [5.0, 5.0, 5.0], 1.0)
    with pytest.raises(ValueError, match="label 'good' at index 0"):  # a scores.csv label column passed as it is
        outcomes(pd.Series(["good", "defective"]), [1.0, 2.0], 1.0)  # (not an AttributeError: code review)
    assert outcomes([0, 1, 0, 1], [2.0, 2.0, 0.5, 0.5], 1.0).tolist() == ["FP", "TP", "TN", "FN"]
    assert verdict(1.0, 1.0) == "defective" and verdict(0.5, float("inf")) == "good"  # at or above it: rejected
