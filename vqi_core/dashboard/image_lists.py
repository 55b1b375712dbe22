"""The Inspect page's lists of test images: orders, filters, each image's decision, copied and look-alike images."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..metrics import ThresholdEvaluator
from ..runs import Run, label_values, local_time, spreadsheet_csv
from ..split_check import look_alike_finding
from ..thresholds import cost_sentence, outcomes
from ..wording import counted


#: orders of the Inspect grid; "closest to the threshold" puts the borderline decisions first
IMAGE_ORDERS = ("highest score first", "lowest score first", "closest to the threshold first", "file name")


def order_images(frame: pd.DataFrame, order: str, threshold: float) -> pd.DataFrame:
    """``frame`` (columns ``image``, ``score``) sorted by one of :data:`IMAGE_ORDERS` (stable, ties by position)."""
    if order == "file name":
        return frame.sort_values("image", kind="stable")
    if order == "closest to the threshold first":
        distance = (frame["score"] - threshold).abs()
        return frame.iloc[np.argsort(distance.to_numpy(), kind="stable")]
    if order in IMAGE_ORDERS:
        return frame.sort_values("score", ascending=order == "lowest score first", kind="stable")
    raise ValueError(f"unknown order {order!r}; choose from {', '.join(IMAGE_ORDERS)}")


def chosen_images(frame: pd.DataFrame, defect_types: Sequence[str], outcomes: Sequence[str], order: str,
                  threshold: float) -> pd.DataFrame:
    """The test images (columns ``defect_type``, ``outcome``, ``image``, ``score``) of the chosen defect types and
    outcomes, every one where none is chosen, in ``order`` (:func:`order_images`)."""
    if defect_types:
        frame = frame[frame["defect_type"].isin(defect_types)]
    if outcomes:
        frame = frame[frame["outcome"].isin(outcomes)]
    return order_images(frame, order, threshold)


def decisions_csv(run: Run, threshold: float) -> bytes:
    """The run's test images with score, threshold, decision and outcome (TP/FP/FN/TN) at ``threshold``, the run and
    when, as CSV: the columns of a check's record (:func:`~vqi_core.pipeline.check_decisions`) but its ``problem``
    (every test image of a run was scored)."""
    frame = run.predictions(threshold)
    frame["outcome"] = outcomes(run.labels, run.score_values, threshold)
    columns = ["image", "label", "defect_type", "score", "threshold", "prediction", "outcome", "path"]
    return spreadsheet_csv(frame[columns].assign(run=run.id, evaluated_at=local_time()))


def copied_images(run: Run) -> dict[str, str]:
    """Test images (``<defect_type>/<file>``, as in ``scores.csv``) that copy another image, and what they copy."""
    check = run.report.get("split_check") or {}
    return {entry["test"].removeprefix("test/"): entry["copy"]
            for entry in check.get("copies_of_train", []) + check.get("repeats_in_test", [])}


def inspection_frame(run: Run, test: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The run's test images (``test``: its scores table) as Inspect's grid shows them: each with its ``outcome``
    at ``threshold`` (TP, FP, FN, TN), the image it copies (``copy_of``) and its training look-alike when the
    look-alikes stand out (``looks_like``; NaN where there is none)."""
    return test.assign(outcome=outcomes(label_values(test), test["score"].to_numpy(float), threshold),
                       copy_of=test["image"].map(copied_images(run)),
                       looks_like=test["image"].map(look_alike_images(run)))


def without_copies_sentence(run: Run, threshold: float) -> str | None:
    """What ``threshold`` does on the run's test images that copy no other image (:func:`copied_images`), where
    some do: a copy of a training image scores about as its original, so it flatters the false-alarm or escape
    figures (audit review: the report named copies in its banner only, not beside the figures); None without
    copies."""
    copies = run.scores["image"].isin(copied_images(run)).to_numpy()
    if not copies.any():
        return None
    count = int(copies.sum())
    flagged = (f"{counted(count, 'test image')} {'copies' if count == 1 else 'copy'} another image (see the test-set "
               f"check): a copy scores about as its original, so the figures above may flatter the model")
    if copies.all():
        return f"{flagged}, and no test image is left without them."
    point = ThresholdEvaluator(run.labels[~copies], run.score_values[~copies]).evaluate(threshold)
    return f"{flagged}; without {'it' if count == 1 else 'them'}, {cost_sentence(point, opens_sentence=False)}"


def look_alike_images(run: Run) -> dict[str, str]:
    """Test images (``<defect_type>/<file>``) with a training look-alike, and the look-alike, when the run's
    test-set check found that they stand out (good test images have far more of them than defective ones;
    see :mod:`vqi_core.split_check`); empty otherwise."""
    check = run.report.get("split_check") or {}
    if not look_alike_finding(check.get("look_alike_summary", {})):
        return {}
    return {entry["test"].removeprefix("test/"): entry["look_alike"] for entry in check.get("look_alikes", [])}
