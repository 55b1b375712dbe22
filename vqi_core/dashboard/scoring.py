"""The Predict page's results: a card per scored image, judged again at another threshold, and the check of a run on
labelled images."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import PurePath
from typing import Any, Collection, Sequence

import pandas as pd

from ..methods import AnomalyModel
from ..metrics import ThresholdEvaluator, rejected
from ..pipeline import NOT_SCORED, ImageResult, ImageSource, captioned_overlay, check_decisions, evaluate_run, \
    iter_run_scores, overlay_file_name, prediction_table, result_row
from ..progress import ProgressCallback
from ..runs import Run, predictions_frame
from .overlays import grid_thumbnail, jpeg_bytes, png_bytes, result_overlay
from .threshold import prepare_threshold_data, threshold_view


def result_cards_order(cards: Sequence[dict[str, Any]], show: str | None = None) -> list[dict[str, Any]]:
    """Scored-image cards (``defective``, ``score``) with the defective ones first, highest score first;
    ``show`` "defective" or "good" keeps only those."""
    kept = [c for c in cards if show not in ("defective", "good") or c["defective"] == (show == "defective")]
    return sorted(kept, key=lambda c: (not c["defective"], -c["score"]))


def not_scored_count(frame: pd.DataFrame) -> int:
    """How many rows of a predictions table or a check's record are files that could not be scored."""
    return int((frame["prediction"] == NOT_SCORED).sum())


def judged_again(cards: Sequence[dict[str, Any]], frame: pd.DataFrame,
                 threshold: float) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Scored-image cards (``defective``, ``score``) and their predictions table (the columns of
    :data:`vqi_core.pipeline.RESULT_COLUMNS`) judged at ``threshold`` instead: a score does not depend on the
    threshold, so each verdict follows the rule scoring applies (at or above it: defective); a file that could
    not be scored stays not scored, with the new threshold in its row."""
    judged = predictions_frame(frame, threshold)
    judged.loc[frame["prediction"] == NOT_SCORED, "prediction"] = NOT_SCORED
    return [{**card, "defective": bool(rejected(card["score"], threshold))} for card in cards], judged


def result_card(result: ImageResult, side: int, shown_side: int) -> dict[str, Any]:
    """What one scored image's card shows: name, verdict, score, box count (and how many of the boxes are broad),
    the overlay as a JPEG ``side`` px wide (:func:`~vqi_core.dashboard.overlays.grid_thumbnail`; its lines as wide
    as they must be to look 2 px wide shown ``shown_side`` px wide), how it was read where
    that bears on its verdict (transparency), how the image is unlike the training images and the SHA-256 of its
    file (which tells apart two uploads of one name)."""
    overlay = grid_thumbnail(result_overlay(result, side, shown_side=shown_side), side)
    return {"name": result.name, "defective": result.defective, "score": result.score,
            "boxes": len(result.boxes), "overlay": jpeg_bytes(overlay), "unlike_training": result.unlike_training,
            "broad": result.broad_boxes, "read_note": result.read_note, "sha256": result.sha256}


def scored_cards(run: Run, model: AnomalyModel, sources: Sequence[ImageSource], skipped: list[dict[str, str]],
                 progress: ProgressCallback | None, card_sides: tuple[int, int], threshold: float,
                 box_level: float) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Score ``sources`` with the run's ``model`` at ``threshold``, boxes drawn above ``box_level`` (the run's
    saved ones, read once by the caller, which shows them: one saved meanwhile elsewhere would not match the
    cards), a chunk at a time: each image's :func:`result_card` (``card_sides``: its overlay's side and the width
    it is shown at) and the predictions table (a row for every file given; those not scored, appended to
    ``skipped`` as they are found, with the reason)."""
    cards, rows = [], []
    for result in iter_run_scores(run, sources, skipped, progress, model, threshold, box_level):
        cards.append(result_card(result, *card_sides))
        rows.append(result_row(result, threshold, run.id, box_level))
    return cards, prediction_table(rows, skipped, threshold, run.id, box_level)


#: a file in an overlays ZIP that lists the images left out of it, and why
LEFT_OUT_FILE = "LEFT_OUT.txt"


def overlays_zip(run: Run, model: AnomalyModel, sources: Sequence[ImageSource], threshold: float,
                 box_level: float, scored: Collection[tuple[str, str]]) -> bytes:
    """The overlay ``predict`` saves for each of ``sources`` that can be scored (heatmap, boxes and inspection
    region above the verdict, the score and the run: :func:`~vqi_core.pipeline.captioned_overlay`), as a ZIP of PNG
    files named as ``predict`` names them, scored again with the run's ``model`` at ``threshold`` and ``box_level``
    (the results' own: the download had offered the CSV alone, the cards being small JPEGs: browser review). A name
    given to more than one upload is kept apart by " (2)", " (3)" ... before its suffix. Only the files scored are
    drawn, each of the results' rows once (``scored``: their names and SHA-256): :data:`LEFT_OUT_FILE` lists instead
    a file replaced since, one that cannot be read now, one gone and one added since (browser review: a file added
    to the folder was drawn, one deleted left out without a word)."""
    buffer, used, left_out = io.BytesIO(), set(), []
    skipped: list[dict[str, str]] = []
    remaining = Counter(scored)
    scored_names = {name for name, _ in scored}
    said: set[str] = set()  # the names left out with a reason already
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNG data is compressed already
        for result in iter_run_scores(run, sources, skipped, model=model, threshold=threshold, box_level=box_level):
            if remaining[result.name, result.sha256] == 0:
                left_out.append(f"{result.name}: changed since it was scored (score it again)"
                                if result.name in scored_names else
                                f"{result.name}: not among the results (added since they were scored: score again)")
                said.add(result.name)
                continue
            remaining[result.name, result.sha256] -= 1
            name, copy = overlay_file_name(result.name), 1
            while name in used:
                copy += 1
                stem = PurePath(result.name)
                name = overlay_file_name(f"{stem.stem} ({copy}){stem.suffix}")
            used.add(name)
            archive.writestr(name, png_bytes(captioned_overlay(result, threshold, run.id, box_level)))
        left_out += [f"{item['file']}: {item['reason']}" for item in skipped]
        said |= {PurePath(item["file"]).name for item in skipped}  # a file replaced or unreadable is said once
        left_out += [f"{name}: gone since it was scored (deleted or moved)" for (name, _), count in remaining.items()
                     if count > 0 and PurePath(name).name not in said]
        if left_out:
            archive.writestr(LEFT_OUT_FILE, "\n".join(left_out) + "\n")
    return buffer.getvalue()


def same_bytes_names(frame: pd.DataFrame) -> list[list[str]]:
    """The names of the scored images of a predictions table that hold the same bytes (their SHA-256) under
    different names, a list per file, in the table's order: the same photo scored twice (review: only names
    given to two uploads were said)."""
    scored = frame[frame["prediction"] != NOT_SCORED]
    groups = scored.groupby("sha256", sort=False)["image"].agg(lambda names: list(dict.fromkeys(names)))
    return [names for names in groups if len(names) > 1]


def error_zip(message: str) -> bytes:
    """A ZIP holding only :data:`LEFT_OUT_FILE` with ``message``: what a download of overlays gives where they cannot
    be made."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(LEFT_OUT_FILE, message + "\n")
    return buffer.getvalue()


def labelled_check(run: Run, model: AnomalyModel, folder: str,
                   progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Score a labelled test set (test/good, test/<defect type>, optional masks) with the run at its saved
    threshold: ``threshold`` (read once, before scoring), ``view`` (:func:`threshold_view`), ``images``,
    ``metrics``, ``skipped``, ``notes`` and ``judged`` (:func:`~vqi_core.pipeline.check_decisions`)."""
    threshold = run.threshold
    result = evaluate_run(run, folder, progress, model=model)
    labels, scores = result["labels"], result["scores"]
    data = prepare_threshold_data(labels, scores, include=(threshold,), defect_types=result["defect_types"])
    view = threshold_view(ThresholdEvaluator(labels, scores), threshold, data, result["metrics"].get("per_defect_type"))
    return {"threshold": threshold, "view": view, "images": len(labels), "metrics": result["metrics"],
            "skipped": result["skipped"], "notes": result["notes"],
            "judged": check_decisions(result, run.id, threshold)}
