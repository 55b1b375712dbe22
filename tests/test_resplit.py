"""A split by part: look-alike photos of one part never end up on both sides, and the check then finds none."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from synthetic import SHARED_DATA, another_photo, draw_defect, random_part, write_png
import vqi_core.cli
from vqi_core.cli import main
from vqi_core.datasets import DatasetError, load_category
from vqi_core.images import read_image
from vqi_core.resplit import SPLIT_FILE, PartSplit, split_by_part, write_split
from vqi_core.split_check import check_split, look_alike_groups

PARTS, PHOTOS = 10, 3


def photographed_category(root: Path) -> Path:
    """10 parts photographed 3 times each, the photos split at random (part 0's first photo in test/good, its
    others in train/good, ...), 4 defective images of new parts with masks; one name in both good folders."""
    for part in range(PARTS):
        image = random_part(part)
        for photo in range(PHOTOS):
            side = "test" if (part + photo) % 5 == 0 else "train"
            photographed = another_photo(image, seed=10 * part + photo)
            write_png(root / side / "good" / f"part{part}_photo{photo}.png", photographed)
    write_png(root / "test" / "good" / "part0_photo1.png", another_photo(random_part(0), seed=99))  # same name
    for index in range(4):
        image, mask = draw_defect(random_part(50 + index), seed=index)
        write_png(root / "test" / "crack" / f"{index:03d}.png", image)
        write_png(root / "ground_truth" / "crack" / f"{index:03d}_mask.png", mask.astype("uint8") * 255)
    return root


def labelled(category):
    return ([f"train/{s.name}" for s in category.train], [read_image(s.path) for s in category.train],
            [f"test/{s.name}" for s in category.test], ["good" if s.label == 0 else "defective" for s in category.test],
            [read_image(s.path) for s in category.test])


def check(category):
    train_names, train, test_names, labels, test = labelled(category)
    return check_split(train_names, ["good"] * len(train), train, test_names, labels, test)


def test_look_alike_groups_join_the_photos_of_each_part() -> None:
    photos = [another_photo(random_part(part), seed=photo) for part in range(4) for photo in range(3)]
    assert look_alike_groups(photos) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert look_alike_groups(iter(photos[:1])) == [[0]] and look_alike_groups([]) == []


def test_split_by_part_keeps_each_part_on_one_side(tmp_path) -> None:
    source = load_category(photographed_category(tmp_path / "widget"))
    assert check(source).look_alikes_stand_out  # the random split leaks parts
    split = split_by_part(source, test_fraction=0.2, seed=0)
    assert len(split.train) + len(split.test) == PARTS * PHOTOS + 1 and len(split.groups) == PARTS
    assert len(split.test) == 6  # 2 whole parts of 3 photos (part 0 has 4: it does not fit into 6 with another)
    parts = lambda paths: {path.name.split("_")[0] for path in paths}
    assert not parts(split.train) & parts(split.test)
    assert split.train == sorted(split.train) and split.test == sorted(split.test)  # in file order, not group order

    out = write_split(source, split, tmp_path / "widget_by_part")
    written = load_category(out)
    assert len(written.train) == len(split.train) and sum(s.label == 0 for s in written.test) == len(split.test)
    assert [s.name for s in written.test if s.label == 1] == [s.name for s in source.test if s.label == 1]
    assert all(s.mask_path is not None for s in written.test if s.label == 1)
    record = json.loads((out / SPLIT_FILE).read_text())
    assert record["seed"] == 0 and record["test_good"] == len(split.test) and len(record["groups"]) == PARTS
    assert sorted(record["files"].values()) == sorted(p.relative_to(source.root).as_posix()
                                                      for p in split.train + split.test)
    after = check(written)
    assert after.look_alike_summary["good"]["with_look_alike"] == 0 and not after.look_alikes_stand_out

    again = split_by_part(source, test_fraction=0.2, seed=0)
    assert again.test == split.test  # seeded
    assert split_by_part(source, test_fraction=0.2, seed=1).test != split.test
    with pytest.raises(FileExistsError, match="already exists"):
        write_split(source, split, out)
    with pytest.raises(ValueError, match="lies inside the category"):
        write_split(source, split, source.root / "test" / "widget_by_part")
    assert not (source.root / "test" / "widget_by_part").exists()


def test_parts_that_all_look_alike_cannot_be_split_by_their_photos(tmp_path) -> None:
    part = random_part(0)
    for photo in range(8):
        write_png(tmp_path / "same" / "train" / "good" / f"{photo}.png", another_photo(part, seed=photo))
    with pytest.raises(DatasetError, match="cannot be split by their photos: keep the split, or group the images"):
        split_by_part(load_category(tmp_path / "same"))
    shutil.copy(tmp_path / "same" / "train" / "good" / "0.png", tmp_path / "same" / "train" / "good" / "copy.png")
    with pytest.raises(DatasetError, match="keep the split, or group"):  # a copy within train/good alone leaves
        split_by_part(load_category(tmp_path / "same"))  # the test set as it was (code review)
    (tmp_path / "same" / "test" / "good").mkdir(parents=True)
    for photo in range(3):  # its good test images copy training images: keeping that split is no advice (review)
        shutil.copy(tmp_path / "same" / "train" / "good" / f"{photo}.png", tmp_path / "same" / "test" / "good")
    with pytest.raises(DatasetError, match="of the 8 distinct good images: .* group the images by a part number "
                                           "yourself; the category as it is holds 3 good images that copy another"):
        split_by_part(load_category(tmp_path / "same"))
    with pytest.raises(ValueError, match="test fraction must lie between 0 and 1, not 1.0"):  # as other messages
        split_by_part(load_category(tmp_path / "same"), test_fraction=1.0)


def test_a_split_never_writes_one_image_over_another_of_the_same_name(tmp_path) -> None:
    """train/good/a.png renamed to train_a.png used to overwrite the copy of test/good/train_a.png: 17 images
    counted, 16 written (review of 2026-12-03). An image that stays on its side keeps its name, the one moved
    there is prefixed with the side it came from (review of 2026-12-04: the training image was renamed)."""
    root = tmp_path / "widget"
    for index, name in enumerate(["test/good/a.png", "test/good/train_a.png", "train/good/a.png", "train/good/b.png"]):
        write_png(root / name, random_part(index))
    source = load_category(root)
    train = sorted([root / "test/good/a.png", root / "test/good/train_a.png", root / "train/good/a.png"])
    out = write_split(source, PartSplit(train, [root / "train/good/b.png"], [], [], 0.25, 0), tmp_path / "out")
    written = {path.name: read_image(path) for path in (out / "train" / "good").iterdir()}
    assert sorted(written) == ["a.png", "test_a.png", "train_a.png"]
    originals = [read_image(path) for path in train]
    assert all(any((image == original).all() for image in written.values()) for original in originals)
    assert json.loads((out / SPLIT_FILE).read_text())["files"] == {
        "train/good/a.png": "train/good/a.png", "train/good/test_a.png": "test/good/a.png",
        "train/good/train_a.png": "test/good/train_a.png", "test/good/b.png": "train/good/b.png"}


def test_a_split_that_would_leave_a_side_empty_is_refused_with_the_reason(tmp_path, capsys) -> None:
    source = photographed_category(tmp_path / "widget")
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "all"), "--test-fraction", "0.99"]) == 2
    assert ("a test fraction of 0.99 puts all 31 good images into test/good: no training image would be left; "
            "choose a smaller test fraction") in capsys.readouterr().err
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "none"), "--test-fraction", "0.01"]) == 2
    assert ("a test fraction of 0.01 of 31 good images is no image: choose a larger test fraction (at least 0.032)"
            in capsys.readouterr().err)  # it used to blame parts that all look the same; 0.016 also rounds to none
    assert round(0.032 * 31) == 1 and round(0.016 * 31) == 0
    assert not (tmp_path / "all").exists() and not (tmp_path / "none").exists()
    (tmp_path / "taken").mkdir()
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "taken")]) == 2
    captured = capsys.readouterr()
    assert "already exists" in captured.err and "grouping" not in captured.err  # refused before any image is read


def test_a_split_into_a_folder_that_cannot_be_written_is_refused_before_any_image_is_read(
        tmp_path, capsys, access_by_mode_bits) -> None:
    """Found by review: it failed after decoding every image, naming its hidden staging folder."""
    source = photographed_category(tmp_path / "widget")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["split", "--data", str(source), "--out", str(locked / "new" / "split")]) == 2
    finally:
        locked.chmod(0o755)
    captured = capsys.readouterr()
    assert f"{locked / 'new' / 'split'} cannot be made: {locked} cannot be written" in captured.err
    assert "grouping" not in captured.err and not (locked / "new").exists()
    (tmp_path / "file").write_text("x")
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "file" / "split")]) == 2
    assert f"{tmp_path / 'file'} is a file, not a folder" in capsys.readouterr().err


def test_a_mask_that_is_a_broken_link_is_named_and_a_split_leaves_it_out(tmp_path, capsys) -> None:
    source = photographed_category(tmp_path / "widget")
    mask = source / "ground_truth" / "crack" / "001_mask.png"
    mask.unlink()
    mask.symlink_to(tmp_path / "gone.png")
    category = load_category(source)
    assert {"file": str(mask), "reason": f"mask ignored: a broken link to {tmp_path / 'gone.png'}"} in category.skipped
    (source / "test" / "good" / "moved.png").symlink_to(tmp_path / "gone.png")
    assert {"file": str(source / "test" / "good" / "moved.png"),
            "reason": f"a broken link to {tmp_path / 'gone.png'}"} in load_category(source).skipped
    loop = source / "test" / "good" / "loop.png"  # its target is there: a loop, not a broken link (review)
    loop.symlink_to(tmp_path / "back.png")
    (tmp_path / "back.png").symlink_to(loop)
    reason = f"a link that leads into a loop of links (through {tmp_path / 'back.png'})"
    assert {"file": str(loop), "reason": reason} in load_category(source).skipped
    loop.unlink()
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out" / "ground_truth" / "crack" / "001_mask.png").exists()
    assert (tmp_path / "out" / "ground_truth" / "crack" / "000_mask.png").is_file()


def test_a_mask_that_is_a_working_relative_link_is_copied_into_the_split(tmp_path, monkeypatch) -> None:
    """copytree's ignore_dangling_symlinks judged a relative link from the working folder: every working relative
    link to a mask was left out of the split without a word."""
    source = photographed_category(tmp_path / "widget")
    store = tmp_path / "mask_store"
    store.mkdir()
    mask = source / "ground_truth" / "crack" / "001_mask.png"
    mask.rename(store / "001_mask.png")
    mask.symlink_to(Path("..", "..", "..", "mask_store", "001_mask.png"))
    monkeypatch.chdir(store)  # anywhere but the link's own folder
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "out")]) == 0
    copied = tmp_path / "out" / "ground_truth" / "crack" / "001_mask.png"
    assert copied.is_file() and copied.read_bytes() == (store / "001_mask.png").read_bytes()


def test_cli_split_refuses_a_seed_numpy_cannot_take_before_reading_images(tmp_path, capsys) -> None:
    source = photographed_category(tmp_path / "widget")
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "out"), "--seed=-1"]) == 2
    captured = capsys.readouterr()
    assert "seed must be a whole number from 0 to 4294967295, not -1" in captured.err
    assert "grouping" not in captured.err and not (tmp_path / "out").exists()


def test_cli_split_prints_the_new_category_last(tmp_path, capsys) -> None:
    source = photographed_category(tmp_path / "widget")
    out = tmp_path / "by_part"
    assert main(["split", "--data", str(source), "--out", str(out), "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == str(out)
    assert lines[-3] == "31 good images in 10 groups of look-alike photos (largest 4, 0 alone)"
    assert lines[-2].endswith("; 4 defective test images and 4 masks as they were")
    assert json.loads((out / SPLIT_FILE).read_text())["seed"] == 3
    assert main(["split", "--data", str(source), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    for extra in sorted((source / "test" / "crack").iterdir())[1:]:
        extra.unlink()
    shutil.rmtree(source / "ground_truth")
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "one_defective")]) == 0
    assert capsys.readouterr().out.splitlines()[-2].endswith("; 1 defective test image as it was")  # review
    shutil.rmtree(source / "test" / "crack")
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "good_only")]) == 0
    assert capsys.readouterr().out.splitlines()[-2].endswith(
        "; no defective test image (the category has none)")  # not "the 0 defective test images and the masks"


@pytest.mark.skipif(not (SHARED_DATA / "magnetic_tile").is_dir(), reason="../shared/data not present")
def test_real_magnetic_tile_split_by_part_leaves_no_good_test_image_a_training_look_alike(tmp_path) -> None:
    source = load_category(SHARED_DATA / "magnetic_tile")
    split = split_by_part(source)
    assert len(split.train) + len(split.test) == 952 and len(split.test) == 190
    after = check(load_category(write_split(source, split, tmp_path / "magnetic_tile_by_part")))
    good, defective = after.look_alike_summary["good"], after.look_alike_summary["defective"]
    assert good["with_look_alike"] == 0 and good["median_likeness"] < 0.97
    assert not after.look_alikes_stand_out and defective["images"] == 392


def test_a_split_names_every_file_it_leaves_out(tmp_path, capsys) -> None:
    """Files refused when the category is listed (not an image, damaged) are printed and kept in split.json, as
    are good images that cannot be decoded: none disappears from the new category unsaid."""
    source = photographed_category(tmp_path / "widget")
    (source / "train" / "good" / "notes.txt").write_text("lot 7")
    (source / "test" / "crack" / "scan.png").write_text("not an image")
    good = source / "train" / "good" / "part1_photo1.png"
    good.write_bytes(good.read_bytes()[:200])  # a damaged good image
    shutil.copy(source / "ground_truth" / "crack" / "000_mask.png", source / "ground_truth" / "crack" / "9_mask.png")
    out = tmp_path / "by_part"
    assert main(["split", "--data", str(source), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    left_out = {Path(item["file"]).name for item in json.loads((out / SPLIT_FILE).read_text())["skipped"]}
    assert left_out == {"notes.txt", "scan.png", "part1_photo1.png", "9_mask.png"}
    assert sorted(path.name for path in (out / "ground_truth" / "crack").iterdir()) == [  # listed as left out, and
        f"{index:03d}_mask.png" for index in range(4)]  # left out: each image's own mask alone (split review)
    assert "4 defective test images and 4 masks as they were" in printed
    assert all(f"skipped {source / folder / name}: " in printed for folder, name in
               [("train/good", "notes.txt"), ("test/crack", "scan.png"), ("train/good", "part1_photo1.png")])


def test_a_byte_copy_of_a_good_image_is_written_once_and_named(tmp_path, capsys) -> None:
    """Found by the split review: a good test image that copies a training image was written beside its original
    (the same part, grouped with it), so the split's own test set failed the check that had sent the user to it."""
    source = photographed_category(tmp_path / "widget")
    shutil.copy(source / "train" / "good" / "part3_photo1.png", source / "test" / "good" / "copy_of_part3.png")
    out = tmp_path / "by_part"
    assert main(["split", "--data", str(source), "--out", str(out), "--test-fraction", "0.3"]) == 0
    printed = capsys.readouterr().out
    copy, original = source / "test" / "good" / "copy_of_part3.png", source / "train" / "good" / "part3_photo1.png"
    assert f"skipped {copy}: a copy of {original}" in printed
    written = json.loads((out / SPLIT_FILE).read_text())["files"]
    assert "test/good/copy_of_part3.png" not in written.values() and "train/good/part3_photo1.png" in written.values()
    assert not check(load_category(out)).repeats_in_test and not check(load_category(out)).copies_of_train


def test_a_split_of_one_good_image_or_into_a_broken_link_is_refused_before_the_work(tmp_path, capsys) -> None:
    """Found by the split review: one good image asked for "a larger test fraction (at least 1)", which cannot be
    given; a link to a missing folder as --out failed after every image had been grouped."""
    root = tmp_path / "single"
    write_png(root / "train" / "good" / "000.png", random_part(0))
    write_png(root / "test" / "crack" / "000.png", random_part(1))
    assert main(["split", "--data", str(root), "--out", str(tmp_path / "out")]) == 2
    assert "has 1 distinct readable good image to split: a split needs at least 2, one for each side" in \
        capsys.readouterr().err
    shutil.copy(root / "train" / "good" / "000.png", root / "train" / "good" / "001.png")  # two files, one image
    assert main(["split", "--data", str(root), "--out", str(tmp_path / "out")]) == 2
    assert "has 1 distinct readable good image (1 byte copy left out) to split" in capsys.readouterr().err
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    assert main(["split", "--data", str(photographed_category(tmp_path / "widget")), "--out", str(dangling)]) == 2
    captured = capsys.readouterr()
    assert f"{dangling} is a link to a folder that does not exist" in captured.err and "grouping" not in captured.err


def test_ctrl_c_during_a_split_says_the_split_was_not_written(tmp_path, capsys, monkeypatch) -> None:
    """It said "no run was written": split writes a category, not a run."""
    source = photographed_category(tmp_path / "widget")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(vqi_core.cli, "split_by_part", interrupted)
    assert main(["split", "--data", str(source), "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err == f"interrupted: {tmp_path / 'out'} was not written\n"
    assert not (tmp_path / "out").exists()


def test_a_split_that_fails_while_writing_leaves_no_folder_it_made(tmp_path, capsys, monkeypatch) -> None:
    """The folders made above a new category folder stayed behind, empty, when the copy failed (code review)."""
    source = photographed_category(tmp_path / "widget")
    copied = []

    def disk_full_at_the_fifth(source_path, target):
        if len(copied) == 4:
            raise OSError(28, "No space left on device")
        copied.append(target)
        return shutil.copyfile(source_path, target)

    monkeypatch.setattr(shutil, "copy2", disk_full_at_the_fifth)
    out = tmp_path / "typo" / "deep" / "widget"
    assert main(["split", "--data", str(source), "--out", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err and len(copied) == 4
    assert not (tmp_path / "typo").exists()
