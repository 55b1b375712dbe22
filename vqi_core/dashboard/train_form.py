"""The Train page's choices: each method's parameters, the inspection region and its preview, the input size, the split
check and the split by part."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..datasets import Sample, category_path, load_category
from ..images import ImageReadError, read_image, stored_size
from ..localisation import render_overlay
from ..methods import AnomalyModel, method_class
from ..pipeline import RunConfig, check_dataset, label_name, model_for
from ..preprocessing import fixed_scale_size
from ..region import InspectionRegion
from ..resplit import DEFAULT_TEST_FRACTION, check_split_target, split_by_part, write_split
from ..runs import REGIONS_FOLDER, write_bytes_atomic
from ..split_check import one_class_note
from ..wording import as_sentence, counted
from .overlays import shrunk_to


#: under a training's progress: why the fit's stages count fewer images than the category's good training images
#: ("feature extraction: 0/54" under "60 good training images": browser review)
HELD_OUT_NOTE = ("The fit's stages count the good training images less those held out to set the heatmaps' scale "
                 "(`holdout_fraction`: a tenth by default, from 10 good images on), which the \"normalisation\" "
                 "stage scores.")


def store_region_upload(runs_dir: Path | str, name: str, data: bytes) -> tuple[InspectionRegion, Path]:
    """Check an uploaded region mask and keep it as ``<runs>/.regions/<digest>-<name>.png`` for a training job.

    Raises ``ValueError`` (with the reason) for a file that is not an image or marks nothing as inspected.
    """
    region = InspectionRegion.read(data, name)
    folder = Path(runs_dir) / REGIONS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem)[:60] or "region"
    path = folder / f"{region.digest()[:12]}-{stem}.png"
    if not path.is_file():  # named by its content: written once, whatever the reruns
        write_bytes_atomic(path, region.to_png())
    return region, path


def _header_sizes(samples: Sequence[Sample]) -> list[tuple[int, int]]:
    """The (H, W) of each readable image of ``samples``, from its file's header (an unreadable one, which training
    skips too, left out)."""
    sizes = []
    for sample in samples:
        try:
            sizes.append(stored_size(sample.path))
        except ImageReadError:
            continue
    return sizes


def training_input_size(root: str, category: str | None, height: int, width: int) -> tuple[int, int] | None:
    """The input a ``fixed_scale`` model asked for about ``height x width`` px will use on the category's training
    images (from the sizes in their headers; None without a readable one)."""
    sizes = _header_sizes(load_category(category_path(root, category)).train)
    return fixed_scale_size(sizes, height, width) if sizes else None


def region_preview(root: str, category: str | None, region: InspectionRegion,
                   max_side: int | None = 480, bit_depth: int = 16) -> tuple[np.ndarray, str | None]:
    """The category's first training image (read at ``bit_depth``) with the area outside ``region`` darkened,
    as a model will ignore it, and why the region does not fit the training images (None when it does: the
    check training makes, on the sizes in the files' headers)."""
    found = load_category(category_path(root, category))
    image = read_image(found.train[0].path, bit_depth=bit_depth)
    problem = None
    try:
        region.check_fits(_header_sizes(found.train))
    except ValueError as exc:
        problem = as_sentence(str(exc))  # a sentence on the page (browser review: "the inspection region ...")
    overlay = render_overlay(image, np.zeros(image.shape[:2], np.float32), show_heatmap=False,
                             region=region.mask)
    return shrunk_to(overlay, max_side), problem


def split_check_summary(root: str, category: str | None, bit_depth: int = 16) -> dict[str, Any]:
    """:func:`vqi_core.pipeline.check_dataset` for a page: ``notes`` (copies, look-alikes that stand out, strong
    capture cues), ``copies`` (test image, label, copied image, its label, RMSE), ``look_alikes`` (test image,
    label, training look-alike, likeness; empty unless they stand out; ``part_split_possible``: whether
    :func:`~vqi_core.resplit.split_by_part` can split the good images), ``lines`` (the look-alike shares and
    every cue's AUROC, a line each), image counts, unreadable files and ``training_notes`` (16-bit training images
    so dark they look like a camera of fewer bits; training images unlike all the others). ``bit_depth``: of 16-bit
    images (:func:`vqi_core.images.read_image`)."""
    found, check, training_notes = check_dataset(root, category, bit_depth=bit_depth)
    labels = [label_name(s) for s in found.test]
    return {"notes": check.notes(labels), "one_class": one_class_note(labels, check.test_images),
            "copies": pd.DataFrame(check.copies_of_train + check.repeats_in_test,
                                   columns=["test", "label", "copy", "copy_label", "rmse"]),
            "look_alikes": pd.DataFrame(check.look_alikes if check.look_alikes_stand_out else [],
                                        columns=["test", "label", "look_alike", "likeness"]
                                        ).sort_values("label", key=lambda label: label != "good", kind="stable"),
            "lines": [line for line in (check.look_alike_line(), check.cues_line()) if line],
            "test_images": check.test_images, "train_images": check.train_images,
            "part_split_possible": check.part_split_possible, "skipped": found.skipped,
            "training_notes": training_notes}


def split_category_by_part(root: str, category: str | None, seed: int = 0, bit_depth: int = 16) -> dict[str, Any]:
    """:func:`vqi_core.resplit.split_by_part` of the chosen category, written beside it as
    ``<category>_by_part``: the new folder (``path``), its good ``train`` and ``test`` images and the ``groups``
    of look-alike photos, and the files left out (``skipped``: file, reason). Raises ``DatasetError`` when the
    photos cannot be grouped, ``FileExistsError`` when the folder exists. ``bit_depth``: of 16-bit images."""
    found = load_category(category_path(root, category))
    out = found.root.parent / f"{found.root.name}_by_part"
    if out.is_dir():  # the page has no folder to choose: say what can be done (split review)
        raise FileExistsError(f"{out} already exists (an earlier split?): choose it in the sidebar as a category to "
                              f"train on, or rename or delete it to split again")
    check_split_target(found, out)  # before every image is decoded and grouped
    split = split_by_part(found, DEFAULT_TEST_FRACTION, seed, bit_depth=bit_depth)
    out = write_split(found, split, out)
    return {"path": str(out), "train": len(split.train), "test": len(split.test), "groups": len(split.groups),
            "skipped": split.skipped}


@dataclass(frozen=True)
class MethodParameter:
    """A method-specific constructor parameter with its default, what it does and, for a text, its values."""

    name: str
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name in words, for a form (``knn`` -> "kNN", ``n_features`` -> "Number of features", ``lr`` ->
        "Learning rate"; it read "Knn", "N features", "Lr": browser review)."""
        words = [_PARAMETER_WORDS.get(word, word) for word in self.name.split("_")]
        text = " ".join(words)
        return text if words[0] in ("kNN", "k") else text[:1].upper() + text[1:]


#: words of parameter names that read badly capitalised or abbreviated (the names stay: ``--param`` takes them)
_PARAMETER_WORDS = {"knn": "kNN", "k": "k", "n": "number of", "lr": "learning rate", "dim": "dimension",
                    "neighbors": "neighbours"}


def settings_problem(config: RunConfig) -> str | None:
    """Why a run of ``config`` could not start: a parameter its method refuses (the method's own check, e.g.
    ``coreset_fraction must be above 0 and at most 1``, each of the method's own parameters named by its field's
    label with its name in brackets, "Coreset fraction (coreset_fraction)": the name alone was not what the form
    shows, review), or None. Said beside the form before training, not once the job has begun (found by a browser
    review: a coreset fraction of 0 was taken and failed after Train was pressed). Every parameter refused alone is
    said, joined by "; " (the method's check stops at the first: a second one was said only once the first was
    mended), the shared settings' (backbone, input, fine-tuning) first, then each of the method's own parameters
    with them (with their defaults where they are refused); a refusal of parameters only together is said where
    none is refused alone."""
    problem = _model_problem(config)
    if problem is None:
        return None
    knobs = method_parameters(config.method)
    own = {knob.name for knob in knobs}
    shared = {name: value for name, value in config.params.items() if name not in own}
    shared_problem = _model_problem(replace(config, params=shared))
    base = shared if shared_problem is None else {}
    alone = [shared_problem, *(_model_problem(replace(config, params={**base, name: value}))
                               for name, value in config.params.items() if name in own)]
    problems = list(dict.fromkeys(refused for refused in alone if refused is not None)) or [problem]
    labelled = []
    for said in problems:
        for knob in knobs:
            said = re.sub(rf"(?<![\w(]){re.escape(knob.name)}(?![\w)])", f"{knob.label} ({knob.name})", said)
        labelled.append(said)
    return "; ".join(labelled)


def _model_problem(config: RunConfig) -> str | None:
    """Why :func:`~vqi_core.pipeline.model_for` refuses ``config``, or None."""
    try:
        model_for(config)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def method_parameters(method: str) -> list[MethodParameter]:
    """The method's own scalar keyword parameters (not the shared backbone/preprocessing ones) with defaults."""
    shared = set(inspect.signature(AnomalyModel.__init__).parameters) | {"layers"}
    cls = method_class(method)
    parameters = inspect.signature(cls.__init__).parameters.values()
    return [MethodParameter(p.name, p.default, cls.parameter_help.get(p.name, ""),
                            tuple(cls.parameter_choices.get(p.name, ())))
            for p in parameters
            if p.name not in shared and p.kind == p.KEYWORD_ONLY and isinstance(p.default, (bool, int, float, str))]


def masks_phrase(masked: int, defective: int) -> str:
    """How a category's defective test images are covered by ground-truth masks, as the end of a sentence."""
    if masked == 0:
        return "without ground-truth masks"
    if masked < defective:
        return (f"with ground-truth masks for {masked} of {counted(defective, 'defective image')} (pixel AUROC and "
                f"AUPRO cover those only)")
    return "with ground-truth masks"


def method_description(method: str) -> str:
    """First paragraph of the method module's docstring (what the method does, and its paper)."""
    cls = method_class(method)
    text = inspect.getdoc(inspect.getmodule(cls)) or inspect.getdoc(cls) or method
    return " ".join(text.split("\n\n")[0].split())
