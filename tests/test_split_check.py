"""Copies across a dataset's split: found exactly, named in plain words, and taken out of the AUROC; training
look-alikes (other photos of a test part) noted when the good test images have far more of them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthetic import SHARED_DATA, another_photo, draw_defect, random_part, textured_image
from vqi_core.datasets import load_category
from vqi_core.images import read_image
from vqi_core.capture import CAPTURE_CUES, capture_cues
from vqi_core.split_check import (COPY_RMSE, CUE_AUROC, LOOK_ALIKE_LIKENESS, auroc_without_copies, check_split,
                                  find_copies, findings_line)


def noisy(image: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """The same scene with sensor noise of ``sigma`` grey levels (another photo of the same part)."""
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def brute_force(queries, references, tolerance):
    """The closest reference of the same shape within ``tolerance`` for each query, by full-size grey-level RMSE."""
    found = {}
    for q, query in enumerate(queries):
        rmses = [float(np.sqrt(np.mean((luma(query) - luma(ref)) ** 2))) if ref.shape == query.shape
                 else np.inf for ref in references]
        best = int(np.argmin(rmses))
        if rmses[best] <= tolerance:
            found[q] = (best, rmses[best])
    return found


def test_copies_found_exactly_like_brute_force() -> None:
    """Thumbnail pruning never loses a copy: the result equals a brute-force full-size comparison, for
    perturbations on both sides of the tolerance, several sizes and a non-square shape."""
    rng = np.random.default_rng(0)
    references = [textured_image(size, seed=i) for i, size in enumerate([64, 64, 64, 48, (40, 90), (40, 90), 20])]
    queries = []
    for i, reference in enumerate(references):
        for sigma in (0.0, 0.4, 1.1, 2.0, 2.5, 3.0):  # grey-level noise 0.67 sigma: both sides of 1.5
            queries.append(noisy(reference, sigma, seed=10 * i + int(10 * sigma)))
    queries.append(textured_image(64, seed=99))  # a new part
    queries.append(references[0][:, :63].copy())  # same content, other size: not a copy
    rng.shuffle(queries)
    expected = brute_force(queries, references, COPY_RMSE)
    pairs = find_copies(queries, references)
    assert {p.query: p.reference for p in pairs} == {q: r for q, (r, _) in expected.items()}
    for pair in pairs:
        assert pair.rmse == pytest.approx(expected[pair.query][1], abs=1e-4)
    assert len(expected) >= 2 * len(references)  # sigma 0 and 0.4 always within the tolerance
    assert not any(q for q, (_, rmse) in expected.items() if rmse > COPY_RMSE)


def test_large_photos_of_one_scene_are_set_apart_and_a_copy_is_kept() -> None:
    """Photos of one scene whose sensor noise averages out below the tolerance in small thumbnails: the larger
    confirmation thumbnails and the full size decide, exactly as brute force does."""
    scene = textured_image(600, seed=5)
    references = [noisy(scene, 3.0, seed=i) for i in range(3)]
    queries = [noisy(scene, 3.0, seed=10), references[1].copy(), noisy(references[2], 0.4, seed=11)]
    expected = brute_force(queries, references, COPY_RMSE)
    assert sorted(expected) == [1, 2]
    assert [(p.query, p.reference) for p in find_copies(queries, references)] == [(1, 1), (2, 2)]


def test_photos_alike_in_every_thumbnail_are_told_apart_at_full_size() -> None:
    """Two photos of one 2048 px scene: their sensor noise averages out in every thumbnail (the largest is 512 px),
    so the full-size comparison decides that they are not copies."""
    scene = textured_image(2048, seed=6)
    first, second = noisy(scene, 3.0, seed=1), noisy(scene, 3.0, seed=2)
    assert brute_force([second], [first], COPY_RMSE) == {}
    assert find_copies([second], [first]) == []


def test_the_closest_of_several_near_copies_is_named() -> None:
    """A copy brightened by one grey level lies closer at full size than a noisy one, though the noisy one is
    closer in the thumbnails the search goes through first."""
    image = textured_image(64, seed=7)
    brightened = np.clip(image.astype(int) + 1, 0, 255).astype(np.uint8)
    references = [noisy(image, 2.0, seed=3), brightened]
    expected = brute_force([image], references, COPY_RMSE)
    assert {query: reference for query, (reference, _) in expected.items()} == {0: 1}
    [pair] = find_copies([image], references)
    assert (pair.reference, pair.rmse) == (1, pytest.approx(expected[0][1], abs=1e-4))


def test_lossless_resave_is_a_copy_and_another_photo_is_not() -> None:
    scene = textured_image(64, seed=3)
    buffer = io.BytesIO()
    Image.fromarray(scene).save(buffer, format="PNG")
    resaved = read_image(buffer.getvalue(), "resaved.png")
    other_photo = noisy(scene, 3.0, seed=1)  # same scene, same camera, another exposure's noise
    pairs = find_copies([resaved, other_photo], [scene])
    assert [(p.query, p.reference, p.rmse) for p in pairs] == [(0, 0, 0.0)]


def test_a_colour_photo_re_saved_as_a_jpeg_is_a_copy_and_another_bottle_is_not() -> None:
    """A training bottle re-saved as a JPEG (quality 95, Pillow's defaults) differs by 2.1-2.5 levels in its colour
    channels, which the copy check used to compare: it was not found, and bottles that all look alike got no
    look-alike note either (review of 2026-12-03)."""
    folder = Path(__file__).resolve().parents[1] / "assets" / "demo" / "bottle" / "train" / "good"
    bottles = [read_image(path) for path in sorted(folder.glob("*.png"))[:6]]
    resaved = []
    for quality in (100, 95):
        buffer = io.BytesIO()
        Image.fromarray(bottles[0]).save(buffer, format="JPEG", quality=quality)
        resaved.append(read_image(buffer.getvalue(), f"resaved_{quality}.jpg"))
    pairs = find_copies(resaved + bottles[1:2], bottles[1:] + bottles[:1])
    assert [(p.query, p.reference) for p in pairs] == [(0, 5), (1, 5), (2, 0)]  # the bottle itself is a copy too
    assert pairs[1].rmse < COPY_RMSE < min(p.rmse for p in find_copies(bottles[1:2], bottles[2:], tolerance=255))


def test_repeats_within_one_list_point_to_the_earlier_image_once() -> None:
    a, b = textured_image(32, seed=1), textured_image(32, seed=2)
    images = [a, b, a.copy(), b.copy(), a.copy()]
    pairs = find_copies(images)
    assert [(p.query, p.reference) for p in pairs] == [(2, 0), (3, 1), (4, 0)]
    with pytest.raises(ValueError, match="tolerance"):
        find_copies(images, tolerance=-1)


def test_check_split_notes_and_auroc_without_copies() -> None:
    train = [textured_image(32, seed=i) for i in range(4)]
    train_names = [f"train/good/{i}.png" for i in range(4)]
    test = [train[0].copy(), train[1].copy(), textured_image(32, seed=50),  # good: two copies, one new
            train[2].copy(),                                                # defective copy of a good image
            textured_image(32, seed=60), textured_image(32, seed=60)]       # a defective image twice
    test_names = ["test/good/a.png", "test/good/b.png", "test/good/c.png", "test/crack/d.png",
                  "test/crack/e.png", "test/crack/f.png"]
    test_labels = ["good", "good", "good", "defective", "defective", "defective"]
    check = check_split(train_names, ["good"] * 4, train, test_names, test_labels, test)
    assert [(e["test"], e["copy"]) for e in check.copies_of_train] == [
        ("test/good/a.png", "train/good/0.png"), ("test/good/b.png", "train/good/1.png"),
        ("test/crack/d.png", "train/good/2.png")]
    assert [(e["test"], e["copy"]) for e in check.repeats_in_test] == [("test/crack/f.png", "test/crack/e.png")]
    notes = check.notes(test_labels)
    assert len(notes) == 1  # one note, one warning on a page
    assert notes[0].startswith("2 of 3 good test images are copies of training images")
    assert "test/good/a.png is train/good/0.png" in notes[0]
    assert " 1 defective test image is a copy of a train/good image" in notes[0]
    assert notes[0].endswith(" 1 test image appears more than once in the test set (same pixels): each copy "
                             "counts again in every figure.")
    assert check.to_dict()["copies_of_train"][0]["rmse"] == 0.0

    # scores that rank the copies perfectly but the new images badly: the AUROC without copies shows it
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.0, 0.0, 5.0, 9.0, 4.0, 6.0])
    assert auroc_without_copies(check, test_names, labels, scores) == 0.0  # c (5.0) above e (4.0); f, a repeat, out
    only_copies = check_split(train_names, ["good"] * 4, train, test_names[:2] + test_names[3:4],
                              ["good", "good", "defective"], test[:2] + test[3:4])
    assert auroc_without_copies(only_copies, test_names[:2] + test_names[3:4], [0, 0, 1], [0.0, 0.0, 1.0]) is None
    assert check.notes(test_labels, 0.75, 0.0)[0].endswith(
        " Image AUROC without the 4 copied test images: 0.0000 (with them 0.7500).")
    assert only_copies.notes(["good", "good", "defective"], 1.0, None)[0].endswith(
        " Image AUROC 1.0000 cannot be checked without the copies: no good test image is left once the 3 copied "
        "test images are set aside.")


def test_a_test_image_that_copies_a_training_image_is_not_counted_again_as_a_repeat() -> None:
    """Two test images that copy one training image are two copies of it, not also a repeat inside the test set
    (mutation review: not pinned)."""
    train = [textured_image(32, seed=i) for i in range(2)]
    test = [train[0].copy(), train[0].copy(), textured_image(32, seed=9)]
    check = check_split(["train/good/0.png", "train/good/1.png"], ["good"] * 2, train,
                        ["test/good/a.png", "test/good/b.png", "test/good/c.png"], ["good"] * 3, test)
    assert [(e["test"], e["copy"]) for e in check.copies_of_train] == [("test/good/a.png", "train/good/0.png"),
                                                                       ("test/good/b.png", "train/good/0.png")]
    assert check.repeats_in_test == [] and "more than once" not in check.notes(["good"] * 3)[0]


def test_findings_line_for_run_tables() -> None:
    cue = {"cue": "mean grey level", "auroc": 0.988, "good_median": 176.0, "defective_median": 144.9}
    weak = {**cue, "cue": "image size", "auroc": 0.6}
    copy = {"test": "test/good/a.png", "label": "good", "copy": "train/good/a.png", "copy_label": "good", "rmse": 0.0}
    assert findings_line(None) == "not checked"
    assert findings_line({"copies_of_train": [], "repeats_in_test": [], "capture_cues": [weak]}) == "none"
    one_class = {"test_images": 4, "copies_of_train": [], "repeats_in_test": [], "capture_cues": [],
                 "look_alike_summary": {"good": {"images": 4, "with_look_alike": 0, "median_likeness": 0.9}}}
    assert findings_line(one_class) == "no copies (one class only: look-alikes and capture cues not checked)"
    assert findings_line({**one_class, "test_images": 0, "look_alike_summary": {}}) == \
        "nothing to check (no test image)"  # both read "none" (review of 2026-12-04)
    assert findings_line({"copies_of_train": [copy] * 18, "repeats_in_test": [], "capture_cues": [cue, weak]}) == \
        "18 copied test images; mean grey level alone 0.988"
    assert findings_line({"copies_of_train": [], "repeats_in_test": [copy], "capture_cues": []}) == \
        "1 copied test image"


def test_no_notes_without_copies() -> None:
    train = [textured_image(32, seed=i) for i in range(3)]
    test = [textured_image(32, seed=10 + i) for i in range(3)]
    check = check_split(["train/good/x"] * 3, ["good"] * 3, train, ["t0", "t1", "t2"], ["good"] * 3, test)
    assert check.notes(["good"] * 3) == [] and not check.flagged_test_names


def test_capture_cues_find_a_difference_in_exposure_or_size_not_in_content() -> None:
    """Defective parts photographed darker (or cropped larger) are told apart by that alone; parts photographed
    alike are not, in either direction of the difference."""
    good = [textured_image(48, seed=i) for i in range(8)]
    others = [textured_image(48, seed=100 + i) for i in range(8)]
    labels = ["good"] * 8 + ["defective"] * 8
    alike = {c["cue"]: c["auroc"] for c in capture_cues(good + others, labels)}
    assert "image size" not in alike and "aspect ratio" not in alike  # one size: nothing to tell (browser review)
    assert alike["mean grey level"] < CUE_AUROC
    darker = [(image.astype(int) - 30).clip(0, 255).astype(np.uint8) for image in others]  # same contrast
    cues = {c["cue"]: c for c in capture_cues(good + darker, labels)}
    assert cues["mean grey level"]["auroc"] == 1.0
    assert cues["mean grey level"]["defective_median"] < 0.85 * cues["mean grey level"]["good_median"]
    brighter = {c["cue"]: c["auroc"] for c in capture_cues(darker + good, labels)}
    assert brighter["mean grey level"] == 1.0  # direction-free
    wider = [textured_image((48, 64), seed=100 + i) for i in range(8)]
    cues = {c["cue"]: c["auroc"] for c in capture_cues(good + wider, labels)}
    assert cues["image size"] == 1.0 and cues["aspect ratio"] == 1.0
    grey = [np.repeat(image[..., :1], 3, axis=2) for image in good + darker]  # a mono camera: colour tells nothing
    assert {c["cue"] for c in capture_cues(grey, labels)} == {"mean grey level", "grey-level spread"}
    grey_wider = [np.repeat(image[..., :1], 3, axis=2) for image in good + wider]  # the statistics after colour too
    assert [c["cue"] for c in capture_cues(grey_wider, labels)] == ["mean grey level", "grey-level spread",
                                                                     "image size", "aspect ratio"]
    assert capture_cues(good, ["good"] * 8) == []
    with pytest.raises(ValueError, match="labels"):
        capture_cues(good, ["good"])

    check = check_split(["train/good/0"], ["good"], [textured_image(32, seed=999)],
                        [f"t{i}" for i in range(16)], labels, good + darker)
    notes = check.notes(labels)
    assert len(notes) == 1 and notes[0].startswith(
        "A whole-image statistic alone separates the good test images from the defective ones: mean grey level "
        "(AUROC 1.000; median ")
    assert check.cues_line().startswith("Each whole-image statistic alone, AUROC good vs defective (0.5 = no hint): "
                                        "mean grey level 1.000, ")


@pytest.mark.skipif(not (SHARED_DATA / "glass").is_dir(), reason="../shared/data not present")
def test_real_glass_test_good_images_are_copies_of_train_good() -> None:
    """The shared `glass` release repeats its 18 train/good images as test/good; its defective images are new."""
    category = load_category(SHARED_DATA / "glass")
    train = [read_image(s.path) for s in category.train]
    test = [read_image(s.path) for s in category.test]
    check = check_split([f"train/{s.name}" for s in category.train], ["good"] * len(train), train,
                        [f"test/{s.name}" for s in category.test],
                        ["good" if s.label == 0 else "defective" for s in category.test], test)
    good_tests = sum(s.label == 0 for s in category.test)
    assert good_tests == 18 and len(check.copies_of_train) == 18
    assert all(e["label"] == "good" and e["rmse"] == 0.0 for e in check.copies_of_train)
    assert check.repeats_in_test == []
    # and its defective images were captured darker: the mean grey level alone separates them
    assert [cue["cue"] for cue in check.strong_cues] == ["mean grey level"]
    assert check.strong_cues[0]["auroc"] > 0.98


@pytest.mark.skipif(not (SHARED_DATA / "mvtec_bottle_256").is_dir(), reason="../shared/data not present")
def test_real_bottle_has_no_copies_and_no_strong_capture_cue() -> None:
    category = load_category(SHARED_DATA / "mvtec_bottle_256")
    labels = ["good" if s.label == 0 else "defective" for s in category.test]
    check = check_split([f"train/{s.name}" for s in category.train], ["good"] * len(category.train),
                        [read_image(s.path) for s in category.train], [f"test/{s.name}" for s in category.test],
                        labels, [read_image(s.path) for s in category.test])
    assert check.notes(labels) == [] and [cue["cue"] for cue in check.capture_cues] == [
        name for name in CAPTURE_CUES if name not in ("image size", "aspect ratio")]  # every image 256 x 256
    # every bottle looks like a training bottle, defective or not: look-alikes, but none that stand out
    assert {label: entry["with_look_alike"] / entry["images"] for label, entry in check.look_alike_summary.items()} \
        == {"good": 1.0, "defective": 1.0} and not check.look_alikes_stand_out


def test_the_look_alike_note_sends_to_split_only_where_split_can_keep_the_parts_apart() -> None:
    """Command review: check advised split for glass, whose good photos all look alike, one group of 36, and
    split then refused them (no group fits into its test side); the Train page offered its split button too."""
    photos = [another_photo(random_part(0), seed=seed) for seed in range(16)]  # one part, photographed 16 times
    new_parts = [draw_defect(random_part(50 + i), seed=i)[0] for i in range(6)]
    labels = ["good"] * 6 + ["defective"] * 6
    test_names = [f"test/good/{i}.png" for i in range(6)] + [f"test/crack/{i}.png" for i in range(6)]
    check = check_split([f"train/good/{i}.png" for i in range(10)], ["good"] * 10, photos[:10], test_names, labels,
                        photos[10:] + new_parts)
    assert check.look_alikes_stand_out and not check.part_split_possible
    assert (check.good_images, check.smallest_look_alike_group) == (16, 16)
    note = next(note for note in check.notes(labels) if "look almost like" in note)
    assert ("split the good images by part, not by photo by hand: VQI's split keeps look-alike photos together, and "
            "here the smallest group of them holds 16 of the 16 good images, more than its test side of 3; parts "
            "that all look the same need a part number to tell them apart.") in note
    assert "python -m vqi_core split" not in note and check.to_dict()["smallest_look_alike_group"] == 16


def test_look_alikes_noted_when_good_test_images_are_other_photos_of_training_parts() -> None:
    """Good test images that are other photos of training parts, defective images of new parts: a note with an
    example pair and both shares, a findings line; with defective photos of training parts too (a drawn defect
    on each) nothing stands out, as a defect in a fifth of the image does not count."""
    train = [random_part(seed) for seed in range(10)]
    train_names = [f"train/good/{i}.png" for i in range(10)]
    good = [another_photo(train[i], seed=100 + i) for i in range(6)]
    new_parts = [draw_defect(random_part(50 + i), seed=i)[0] for i in range(6)]
    labels = ["good"] * 6 + ["defective"] * 6
    test_names = [f"test/good/{i}.png" for i in range(6)] + [f"test/crack/{i}.png" for i in range(6)]
    check = check_split(train_names, ["good"] * 10, train, test_names, labels, good + new_parts)
    assert check.copies_of_train == [] and check.look_alikes_stand_out
    assert [(e["test"], e["look_alike"]) for e in check.look_alikes] == [
        (f"test/good/{i}.png", f"train/good/{i}.png") for i in range(6)]
    assert all(e["likeness"] >= LOOK_ALIKE_LIKENESS for e in check.look_alikes)
    assert check.look_alike_summary["good"]["with_look_alike"] == 6
    assert check.look_alike_summary["defective"] == {**check.look_alike_summary["defective"], "images": 6,
                                                     "with_look_alike": 0}
    assert check.look_alike_summary["defective"]["median_likeness"] < 0.9
    notes = [note for note in check.notes(labels) if "look almost like" in note]  # (the darker light is a cue)
    assert len(notes) == 1 and notes[0].startswith(
        "6 of 6 good test images (100%) look almost like a training image (grey-level thumbnails correlate at "
        "0.98 or more over the 80% where they agree best; e.g. test/good/0.png and train/good/0.png, ")
    assert "against 0 of 6 defective ones (0%)" in notes[0] and "split the good images by part" in notes[0]
    assert check.part_split_possible and "or the command python -m vqi_core split: both keep" in notes[0]
    assert "`" not in notes[0]  # plain words: pages show the run's notes as written (they read "`python ...`")
    assert check.look_alike_line().startswith("Test images that look almost like a training image (likeness "
                                              "≥ 0.98, copies aside): 6 of 6 good (median likeness ")
    assert findings_line(check.to_dict()).startswith(
        "training look-alikes for 6 of 6 good, 0 of 6 defective test images; ")

    defective_photos = [draw_defect(another_photo(train[i], seed=200 + i), seed=i)[0] for i in range(4, 10)]
    alike = check_split(train_names, ["good"] * 10, train, test_names, labels, good + defective_photos)
    assert alike.look_alike_summary["defective"]["with_look_alike"] == 6
    assert not alike.look_alikes_stand_out
    assert not any("look almost like" in note for note in alike.notes(labels))
    assert alike.look_alike_line().endswith(  # a verdict: the shares alone read as a finding (browser review)
        "6 of 6 defective (median likeness 1.000). Nearly every test image, good or defective, looks almost like a "
        "training image: these parts look alike, so this measure cannot tell whether the good test images are other "
        "photos of parts the model trained on.")  # not "no sign" after 100 % and 100 % (browser review)
    fewer = check_split(train_names, ["good"] * 10, train, test_names, labels,
                        good + defective_photos[:5] + new_parts[:1])  # 6 of 6 good, 5 of 6 defective look alike
    assert not fewer.look_alikes_stand_out and fewer.look_alike_line().endswith(
        "Look-alikes are not 30 percentage points more common among the good images than among the defective ones: "
        "no sign that the good test images are other photos of parts the model trained on.")
    assert "no sign" not in check.look_alike_line()  # where they stand out, the note above says what it means
    assert "look-alike" not in findings_line(fewer.to_dict())  # no sign: nothing to say in a few words
    assert findings_line(alike.to_dict()).startswith(  # not "none", read as all clear (browser review)
        "no copies; look-alikes cannot tell (nearly every test image looks like a training image)")


def test_copies_are_not_counted_as_look_alikes() -> None:
    train = [random_part(seed) for seed in range(4)]
    test = [train[0].copy(), another_photo(train[1], seed=1), random_part(70)]
    check = check_split([f"train/good/{i}" for i in range(4)], ["good"] * 4, train, ["t0", "t1", "t2"],
                        ["good", "good", "defective"], test)
    assert [e["test"] for e in check.copies_of_train] == ["t0"]
    assert [e["test"] for e in check.look_alikes] == ["t1"]
    assert check.look_alike_summary["good"]["images"] == 1


@pytest.mark.skipif(not (SHARED_DATA / "magnetic_tile").is_dir(), reason="../shared/data not present")
def test_real_magnetic_tile_good_test_images_look_like_training_photos_of_the_same_tiles() -> None:
    """The release photographs each tile six times and has no split: after the random 80/20 split of its good
    images, other photos of nearly every good test tile are in train/good, of few defective tiles."""
    category = load_category(SHARED_DATA / "magnetic_tile")
    labels = ["good" if s.label == 0 else "defective" for s in category.test]
    check = check_split([f"train/{s.name}" for s in category.train], ["good"] * len(category.train),
                        [read_image(s.path) for s in category.train], [f"test/{s.name}" for s in category.test],
                        labels, [read_image(s.path) for s in category.test])
    summary = check.look_alike_summary
    assert summary["good"]["with_look_alike"] / summary["good"]["images"] > 0.9
    assert summary["defective"]["with_look_alike"] / summary["defective"]["images"] < 0.3
    assert check.look_alikes_stand_out and check.copies_of_train == []
    # the example pair is two exposures of one tile: exp<k>_num_<n> with nearby numbers
    good_pairs = [(e["test"], e["look_alike"]) for e in check.look_alikes if e["label"] == "good"]
    numbers = [(int(test.split("_num_")[1].split(".")[0]), int(alike.split("_num_")[1].split(".")[0]))
               for test, alike in good_pairs]
    assert np.median([abs(a - b) for a, b in numbers]) < 100


def test_a_method_that_trained_on_other_photos_of_the_evaluated_defects_gets_a_note() -> None:
    """The CAM classifier's labelled half is drawn image by image: on a dataset that photographs each defective
    part several times, it had seen other photos of 166 of its 196 held-out defects, without a word (review of
    2026-12-03)."""
    good = [random_part(seed) for seed in range(6)]
    defects = [draw_defect(random_part(100 + seed), seed=seed)[0] for seed in range(4)]
    train_names = [f"train/good/{i}.png" for i in range(6)] + [f"test/crack/{i}a.png" for i in range(4)]
    train_labels = ["good"] * 6 + ["defective"] * 4
    test_good = [random_part(200 + seed) for seed in range(3)]
    seen = [another_photo(defect, seed=7) for defect in defects]  # other photos of the defects it trained on
    new = [draw_defect(random_part(300 + seed), seed=seed)[0] for seed in range(4)]
    like_good = [another_photo(part, seed=7) for part in good[:4]]  # like good training parts only: no defect seen
    for test_defective, expected in ((seen, "4 of 4 evaluated defective test images (100%) look almost like a "
                                            "defective image the method trained on"), (new, ""), (like_good, "")):
        check = check_split(train_names, train_labels, good + defects,
                            [f"test/good/{i}.png" for i in range(3)] + [f"test/crack/{i}b.png" for i in range(4)],
                            ["good"] * 3 + ["defective"] * 4, test_good + test_defective)
        note = check.seen_defect_look_alikes_note()
        assert note.startswith(expected) if expected else note == ""
    assert "e.g. test/crack/0b.png and test/crack/0a.png" in check_split(
        train_names, train_labels, good + defects, ["test/crack/0b.png"], ["defective"],
        seen[:1]).seen_defect_look_alikes_note()
