"""The inspection region: a mask of the part of every image that is inspected, stored with the model."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from synthetic import SMALL_METHODS, draw_defect, textured_image, write_png, write_twelve_bit_category
from vqi_core.cli import main
from vqi_core.dashboard.overlays import pixel_scope, region_caption, run_inspected_areas, run_overlay
from vqi_core.dashboard.threshold import prepare_pixel_data
from vqi_core.dashboard.train_form import region_preview
from vqi_core.finetune import prepare_training
from vqi_core.images import MAX_IMAGE_BYTES
from vqi_core.localisation import IGNORED_BRIGHTNESS, boxes_from_map, normalize_map, render_overlay
from vqi_core.methods import create_model, load_model
from vqi_core.methods.base import CONTENT_DIGEST_KEY, DamagedModel, content_sha256
from vqi_core.metrics import aupro, image_auroc, pixel_auroc
from vqi_core.provenance import file_sha256
from vqi_core.pipeline import RunConfig, evaluate_run, folder_sources, iter_run_scores, iter_score, train_run
from vqi_core.region import MAX_REGION_SIDE, REGION_FILE, RESIZED_KEPT, InspectionRegion
from vqi_core.report import run_report_html
from vqi_core.archive import import_run, run_archive_bytes
from vqi_core.runs import Run, RunStore, changed_settings, ground_truth_masks

SIDE = 96
#: the right-hand strip of every image is a fixture that is not inspected
IGNORED_COLUMNS = 24


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def strip_region(side: int = SIDE) -> np.ndarray:
    mask = np.ones((side, side), bool)
    mask[:, side - IGNORED_COLUMNS:] = False
    return mask


def clamped(seed: int, index: int) -> np.ndarray:
    """A good part with a red clamp in the fixture strip, at a place no training image has one."""
    image = textured_image(SIDE, seed)
    cv2.circle(image, (SIDE - 12, 20 + 16 * index), 9, (230, 60, 40), -1)
    return image


def clamp_data() -> dict[str, list]:
    """Training parts without clamps; good test parts with a clamp outside the region; defects inside it."""
    return {"train": [textured_image(SIDE, i) for i in range(16)],
            "good": [clamped(1000 + i, i) for i in range(4)],
            "bad": [draw_defect(textured_image(SIDE, 2000 + i), seed=i, kind=("blob", "scratch")[i % 2])[0]
                    for i in range(4)]}


# ---------------------------------------------------------------------- the region itself
def test_white_is_inspected_in_any_image_kind():
    grey = np.zeros((40, 60), np.uint8)
    grey[10:30, 5:50] = 255
    region = InspectionRegion.read(png_bytes(grey), "grey.png")
    assert region.shape == (40, 60) and region.mask.sum() == 20 * 45
    assert region.inspected_share == pytest.approx(900 / 2400)
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[10:30, 5:50, 3] = 255  # opaque white inside, transparent (reads as black) outside
    assert np.array_equal(InspectionRegion.read(png_bytes(rgba, "RGBA"), "rgba.png").mask, region.mask)


def test_an_empty_or_unreadable_region_is_refused_with_its_reason(tmp_path):
    with pytest.raises(ValueError, match="no white pixel: white marks the area to inspect"):
        InspectionRegion.read(png_bytes(np.zeros((20, 20), np.uint8)), "black.png")
    with pytest.raises(ValueError, match="inspection region: notes.txt: not a readable image"):
        InspectionRegion.read(b"not an image", "notes.txt")
    with pytest.raises(ValueError, match="file not found"):
        InspectionRegion.read(tmp_path / "missing.png")


def test_a_large_region_is_stored_small_and_stretched_to_each_image():
    mask = np.zeros((3000, 1500), bool)
    mask[:1500] = True  # the top half
    region = InspectionRegion(mask)
    assert max(region.shape) == MAX_REGION_SIDE and region.shape == (1024, 512)
    stretched = region.mask_for((100, 30))
    assert stretched.shape == (100, 30) and stretched[:50].all() and not stretched[50:].any()
    for height in range(100, 150):  # images of many sizes: the stretched copies kept stay few
        assert region.mask_for((height, 30)).shape == (height, 30)
    assert len(region._resized) <= RESIZED_KEPT
    mask[:1501] = True  # the border a third of the way into a stored pixel: that pixel stays ignored, as most of
    shrunk = InspectionRegion(mask).mask  # it is (a ring of ignored pixels inspected at every edge otherwise)
    assert shrunk[:512].all() and not shrunk[512:].any()


def test_painting_changes_only_the_ignored_area_and_maps_are_cold_there():
    region = InspectionRegion(strip_region())
    image = textured_image(SIDE, 3)
    painted = region.apply_to_image(image, (10, 20, 30))
    assert np.array_equal(painted[:, :SIDE - IGNORED_COLUMNS], image[:, :SIDE - IGNORED_COLUMNS])
    assert (painted[:, SIDE - IGNORED_COLUMNS:] == (10, 20, 30)).all()
    inside = region.mask_for((48, 48))  # at a map's eval size
    assert np.array_equal(inside, cv2.resize(strip_region().astype(np.uint8), (48, 48),
                                             interpolation=cv2.INTER_NEAREST).astype(bool))


def test_a_region_drawn_for_other_images_is_refused():
    region = InspectionRegion(np.ones((100, 300), bool), "wide.png")
    region.check_fits([(200, 600), (210, 600)])  # same aspect, another size: stretched
    with pytest.raises(ValueError, match=r"wide.png\) is 300x100 px .* training images are about 600x600 px"):
        region.check_fits([(600, 600)])
    region.check_fits([(100, 327)])  # 9 % off the images' aspect: taken (mutation review: the 10 % was not pinned)
    with pytest.raises(ValueError, match="draw the region on a training image"):
        region.check_fits([(100, 337)])  # 11 % off


def test_the_overlay_darkens_the_ignored_area():
    image = np.full((SIDE, SIDE, 3), 200, np.uint8)
    overlay = render_overlay(image, np.zeros((48, 48), np.float32), show_heatmap=False, region=strip_region())
    assert (overlay[:, :SIDE - IGNORED_COLUMNS] == 200).all()
    assert (overlay[:, SIDE - IGNORED_COLUMNS:] == round(200 * IGNORED_BRIGHTNESS)).all()


# ---------------------------------------------------------------------- methods with a region
@pytest.mark.parametrize("method", ["patchcore", "padim", "spade", "dfm"])
def test_a_clamp_outside_the_region_is_no_longer_a_false_alarm(method, one_thread):
    data = clamp_data()
    labels = [0] * len(data["good"]) + [1] * len(data["bad"])
    model = create_model(method, **SMALL_METHODS[method])
    model.fit(data["train"], region=InspectionRegion(strip_region()))
    prediction = model.predict(data["good"] + data["bad"])
    assert image_auroc(labels, prediction.scores) == 1.0
    for anomaly_map in prediction.maps:  # no heat in the ignored strip (eval size = 96 px here)
        inside = model.region.mask_for(anomaly_map.shape)
        cool = min(anomaly_map[inside].min(), np.float32(model.normalization["map_median"]))
        assert (anomaly_map[~inside] == cool).all()
        assert (normalize_map(anomaly_map, model.normalization)[~inside] == 0).all()
    if method in ("patchcore", "padim"):  # without the region, the clamps outscore the real defects
        plain = create_model(method, **SMALL_METHODS[method]).fit(data["train"])
        assert image_auroc(labels, plain.predict(data["good"] + data["bad"]).scores) < 0.5


def test_the_region_is_saved_with_the_model_and_reproduces_its_results(tmp_path, one_thread):
    data = clamp_data()
    model = create_model("patchcore", **SMALL_METHODS["patchcore"])
    model.fit(data["train"], region=InspectionRegion(strip_region(), "fixture.png"))
    model.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["region"]["source"] == "fixture.png" and meta["region"]["inspected_share"] == 0.75
    assert (tmp_path / "model" / REGION_FILE).is_file()
    loaded = load_model(tmp_path / "model")
    assert loaded.region is not None and np.array_equal(loaded.region.mask, model.region.mask)
    before, after = model.predict(data["good"]), loaded.predict(data["good"])
    assert np.array_equal(before.scores, after.scores)
    assert all(np.array_equal(a, b) for a, b in zip(before.maps, after.maps))
    other = strip_region()
    other[:, :4] = False  # another valid region in its place: not the one saved (its SHA-256 is recorded)
    (tmp_path / "model" / REGION_FILE).write_bytes(InspectionRegion(other).to_png())
    with pytest.raises(DamagedModel, match=REGION_FILE):
        load_model(tmp_path / "model")
    gradient = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))  # a picture in its place, its SHA-256
    write_png(tmp_path / "model" / REGION_FILE, gradient)  # recorded: a damaged model too, not a ValueError (API
    # review)
    meta["file_sha256"][REGION_FILE] = file_sha256(tmp_path / "model" / REGION_FILE)
    (tmp_path / "model" / "model.json").write_text(json.dumps({**meta, CONTENT_DIGEST_KEY: content_sha256(meta)}))
    with pytest.raises(DamagedModel, match=f"cannot be loaded: {REGION_FILE} is damaged: the inspection region .* not "
                                           f"a black-and-white mask"):
        load_model(tmp_path / "model")
    with pytest.warns(UserWarning, match=r"give the inspection region to fit \(fit\(images, region=\.\.\.\)\)"):
        assert model.fit(data["train"]).region is None  # a fit starts afresh, as scikit-learn's does: said so


def test_fine_tuning_sees_the_painted_images():
    model = create_model("dfm", image_size=(64, 64), jit=False)
    model.region = InspectionRegion(strip_region(64))
    _, _, inputs = prepare_training([textured_image(64, i) for i in range(2)], model, train_stages=1)
    strips = [image[:, 64 - IGNORED_COLUMNS + 1:] for image in inputs]  # away from the resampled edge
    assert all((strip == strip[0, 0]).all() for strip in strips)
    assert not (inputs[0][:, :32] == inputs[0][0, 0]).all()


# ---------------------------------------------------------------------- runs, CLI and dashboard
@pytest.fixture
def clamp_category(tmp_path):
    """A category whose good test parts carry a clamp in the fixture strip, and the strip's region mask."""
    root = tmp_path / "data" / "clamps"
    data = clamp_data()
    for i, image in enumerate(data["train"]):
        write_png(root / "train" / "good" / f"{i:03d}.png", image)
    for i, image in enumerate(data["good"]):
        write_png(root / "test" / "good" / f"{i:03d}.png", image)
    for i, image in enumerate(data["bad"]):
        write_png(root / "test" / "blob" / f"{i:03d}.png", image)
    region = write_png(tmp_path / "fixture_region.png", strip_region().astype(np.uint8) * 255)
    return root, region


def test_a_run_with_a_region_records_it_and_shows_it(clamp_category, tmp_path, one_thread):
    root, region_file = clamp_category
    config = RunConfig(str(root), "padim", {"image_size": [96, 96], "jit": False}, region=str(region_file))
    run = train_run(config, tmp_path / "runs")
    assert run.metrics["image_auroc"] == 1.0
    assert run.config["region"]["source"] == str(region_file)
    assert run.config["region"]["inspected_share"] == 0.75
    assert "region=75% of the image" in changed_settings(run.config)
    assert run.region is not None and np.array_equal(run.region.mask, strip_region())
    assert Run(run.path).load_model().region is not None
    assert (f"<th>inspected</th><td>75% of each image (the darkened area is ignored); the region from {region_file} "
            f"(96x96 px mask whose shape and pixels have the SHA-256 {run.config['region']['sha256']}, whatever file "
            f"held it; the run keeps it as model/region.png)</td>" in run_report_html(run))
    moved = import_run(run_archive_bytes(run), RunStore(tmp_path / "line"))  # its archive carries the region
    assert (moved.path / "model" / REGION_FILE).read_bytes() == (run.path / "model" / REGION_FILE).read_bytes()
    assert np.array_equal(moved.load_model().region.mask, strip_region())
    plain = train_run(RunConfig(str(root), "padim", {"image_size": [96, 96], "jit": False}), tmp_path / "runs")
    assert plain.metrics["image_auroc"] < 0.5 and plain.region is None and plain.config["region"] is None
    assert "<th>inspected</th><td>the whole image</td>" in run_report_html(plain)


def known_masks(scores, maps):
    """The masks at eval size, and their maps, of the images whose ground truth is known."""
    pairs = [(mask, m) for mask, m in zip(ground_truth_masks(scores, maps), maps) if mask is not None]
    return [mask for mask, _ in pairs], [m for _, m in pairs]


def test_the_pixel_tab_keeps_defect_pixels_outside_the_region():
    """Defect pixels count wherever they are, defect-free ones only inside the region (mutation review: taking
    the region alone went unnoticed, as every other test's defects lay inside it)."""
    mask, area = np.zeros((8, 8), bool), np.zeros((8, 8), bool)
    mask[0, 7], area[:, :4] = True, True  # a defect pixel outside the four inspected columns
    data = prepare_pixel_data([mask], [np.ones((8, 8), np.float32)], inspected=[area])
    assert data.n_pixels == 33  # 32 inspected pixels and the defect


def test_pixel_metrics_and_the_pixel_tab_count_defect_free_pixels_only_inside_the_region(clamp_category, tmp_path,
                                                                                           one_thread):
    """The quarter of every image outside the region is never flagged: counting its defect-free pixels as correctly
    passed inflated pixel AUROC and AUPRO, and diluted the pixel tab's share of good pixels flagged."""
    root, region_file = clamp_category
    for i in range(4):  # the drawn defects with their masks
        image, mask = draw_defect(textured_image(SIDE, 2000 + i), seed=i, kind=("blob", "scratch")[i % 2])
        write_png(root / "ground_truth" / "blob" / f"{i:03d}_mask.png", mask.astype(np.uint8) * 255)
    run = train_run(RunConfig(str(root), "padim", {"image_size": [96, 96], "jit": False}, region=str(region_file)),
                    tmp_path / "runs")
    maps = [run.anomaly_map(i) for i in range(len(run.scores))]
    masks, kept = known_masks(run.scores, maps)
    inspected = [strip_region(len(m)) for m in kept]
    assert run.metrics["pixel_auroc"] == pytest.approx(pixel_auroc(masks, kept, inspected), abs=1e-6)
    assert run.metrics["pixel_auroc"] < pixel_auroc(masks, kept)  # what was reported before
    assert run.metrics["aupro"] == pytest.approx(aupro(masks, kept, inspected=inspected), abs=1e-4)  # float16 maps
    evaluated = evaluate_run(run)["metrics"]
    assert evaluated["pixel_auroc"] == pytest.approx(run.metrics["pixel_auroc"], abs=1e-6)
    assert all((area == strip_region()).all() for area in run_inspected_areas(run, maps))
    data = prepare_pixel_data(masks, kept, inspected=inspected)
    assert data.n_pixels == sum(int((mask | area).sum()) for mask, area in zip(masks, inspected)) < 8 * SIDE * SIDE


def test_pixel_metrics_leave_out_the_border_a_centre_crop_cuts_off(clamp_category, tmp_path, one_thread):
    """The border outside a centre crop is never seen; its defect-free pixels counted as correctly passed, so a crop
    of 0.5 looked as good as none (review of 2026-12-03)."""
    root, _ = clamp_category
    for i in range(4):
        _, mask = draw_defect(textured_image(SIDE, 2000 + i), seed=i, kind=("blob", "scratch")[i % 2])
        write_png(root / "ground_truth" / "blob" / f"{i:03d}_mask.png", mask.astype(np.uint8) * 255)
    run = train_run(RunConfig(str(root), "padim", {"image_size": [96, 96], "jit": False, "crop": 0.5}),
                    tmp_path / "runs")
    maps = [run.anomaly_map(i) for i in range(len(run.scores))]
    masks, kept = known_masks(run.scores, maps)
    seen = np.zeros((SIDE, SIDE), bool)
    seen[SIDE // 4:3 * SIDE // 4, SIDE // 4:3 * SIDE // 4] = True  # the centre half of each side
    assert run.metrics["pixel_auroc"] == pytest.approx(pixel_auroc(masks, kept, [seen] * len(kept)), abs=1e-4)
    assert run.metrics["pixel_auroc"] < pixel_auroc(masks, kept)
    assert all((area == seen).all() for area in run_inspected_areas(run, maps))  # as the pixel tab counts them
    report = run_report_html(run)  # it had said "inspection region: the whole image" (browser review)
    assert ("<th>inspected</th><td>the centre crop (0.5 of the resized image&#x27;s height and width; the border "
            "outside it, darkened in the overlays, is never inspected)</td>") in report  # as the pages say it
    assert "The pixel AUROC and the AUPRO count the pixels inspected (inside the centre crop; defect pixels outside " \
           "count as missed)." in report
    # the border is darkened in every overlay, as a region's outside is (it had been drawn as if inspected: review)
    image = run.image(0)
    drawn = run_overlay(run, 0, run.normalization, run.box_level, heatmap=False, boxes=False, ground_truth=False)
    assert np.array_equal(drawn[seen], image[seen])
    assert np.array_equal(drawn[~seen], np.round(image[~seen] * IGNORED_BRIGHTNESS).astype(np.uint8))
    out = tmp_path / "predictions"  # and in predict's, which the Predict page draws too
    assert main(["predict", "--run", str(run.path), "--input", str(run.data_path(run.scores["path"].iloc[0])),
                 "--out", str(out)]) == 0
    overlay = cv2.cvtColor(cv2.imread(str(next(out.glob("*_overlay.png")))), cv2.COLOR_BGR2RGB)
    left = (overlay.shape[1] - SIDE) // 2  # the image, centred above its caption band
    drawn = overlay[:SIDE, left:left + SIDE]
    assert np.array_equal(drawn[~seen], np.round(image[~seen] * IGNORED_BRIGHTNESS).astype(np.uint8))
    assert not np.array_equal(drawn[seen], np.round(image[seen] * IGNORED_BRIGHTNESS).astype(np.uint8))


def test_a_wrong_region_writes_no_run(clamp_category, tmp_path):
    root, _ = clamp_category
    wide = write_png(tmp_path / "wide.png", np.full((50, 200), 255, np.uint8))
    runs = tmp_path / "runs"
    with pytest.raises(ValueError, match="draw the region on a training image"):
        train_run(RunConfig(str(root), "padim", {"image_size": [96, 96], "jit": False}, region=str(wide)), runs)
    assert RunStore(runs).list() == []
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]


def test_a_region_that_the_centre_crop_cuts_off_entirely_is_refused_before_fitting(clamp_category, tmp_path):
    """A region outside the centre crop trained a run in which every score was 0 and every part rejected."""
    root, _ = clamp_category
    left = np.zeros((SIDE, SIDE), np.uint8)
    left[:, :SIDE // 5] = 255  # the left fifth: a crop to half keeps the middle half only
    region = write_png(tmp_path / "left.png", left)
    runs = tmp_path / "runs"
    params = {"image_size": [64, 64], "jit": False}
    with pytest.raises(ValueError, match="the inspection region lies wholly outside the part of the image the model "
                                         "sees .the centre crop keeps 50% of it.: nothing would be inspected"):
        train_run(RunConfig(str(root), "padim", {**params, "crop": 0.5}, region=str(region)), runs)
    assert RunStore(runs).list() == []
    assert train_run(RunConfig(str(root), "padim", {**params, "crop": 0.8}, region=str(region)), runs).metrics


def test_cli_trains_with_a_region_and_predict_darkens_what_it_ignores(clamp_category, tmp_path, capsys,
                                                                     one_thread):
    root, region_file = clamp_category
    runs = tmp_path / "runs"
    assert main(["train", "--data", str(root), "--method", "padim", "--runs", str(runs), "--image-size", "96",
                 "--param", "jit=false", "--region", str(region_file)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    run_path = printed[-1]
    assert (f"inspection region: 75% of each image is inspected, from {region_file}; the rest can raise no "
            f"score and get no box") in printed  # said, as the Train page shows it (bad-input review)
    assert main(["runs", "--runs", str(runs)]) == 0
    assert "region=75% of the image" in capsys.readouterr().out
    out = tmp_path / "predictions"
    assert main(["predict", "--run", run_path, "--input", str(root / "test" / "good"), "--out", str(out)]) == 0
    overlay = cv2.cvtColor(cv2.imread(str(out / "000.png_overlay.png")), cv2.COLOR_BGR2RGB)
    image = cv2.cvtColor(cv2.imread(str(root / "test" / "good" / "000.png")), cv2.COLOR_BGR2RGB)
    strip = slice(SIDE - IGNORED_COLUMNS, SIDE)
    left = (overlay.shape[1] - image.shape[1]) // 2  # the image, centred above its caption band
    drawn = overlay[:image.shape[0], left:left + image.shape[1]]
    assert np.array_equal(drawn[:, strip], np.round(image[:, strip] * IGNORED_BRIGHTNESS).astype(np.uint8))
    assert "defective" not in (out / "predictions.csv").read_text()  # the clamps are not rejected
    assert Run(Path(run_path)).report["capture_inspected"] is True
    tagged = image.copy()  # a red label in the strip the region leaves out: no reason to stop the line (region
    tagged[:, strip] = (255, 0, 0)  # review: the capture check had looked at the whole image)
    write_png(tmp_path / "tagged" / "000.png", tagged)
    assert main(["predict", "--run", run_path, "--input", str(tmp_path / "tagged"), "--out", str(tmp_path / "t"),
                 "--fail-on-defect"]) == 0
    assert pd.read_csv(tmp_path / "t" / "predictions.csv", keep_default_na=False)["unlike_training"].tolist() == [""]
    run = Run(Path(run_path))  # the Python API's run-level scoring measures the region as predict does (API review:
    [as_predict] = iter_run_scores(run, folder_sources(tmp_path / "tagged")[0], [])  # the README's call did not)
    [whole_image] = iter_score(run.load_model(), folder_sources(tmp_path / "tagged")[0], run.threshold, [],
                               training_ranges=run.report["training_capture_ranges"])
    assert as_predict.unlike_training == [] and whole_image.unlike_training
    black = write_png(tmp_path / "black.png", np.zeros((96, 96), np.uint8))
    assert main(["train", "--data", str(root), "--method", "padim", "--runs", str(runs), "--region",
                 str(black)]) == 2
    assert "no white pixel" in capsys.readouterr().err


def test_train_page_takes_a_region_upload(open_page, synthetic_root, app_env):
    app = open_page("train.py", data_root=os.path.relpath(synthetic_root))
    assert app.file_uploader(key="train_region").proto.max_upload_size_mb == MAX_IMAGE_BYTES // 2**20
    region = np.zeros((64, 64), np.uint8)
    region[:, :48] = 255
    app.file_uploader(key="train_region").set_value([("fixture.png", png_bytes(region), "image/png")]).run()
    assert not app.exception and not app.error
    assert any("Inspected: 75% of the image" in caption for image in app.get("image") for caption in image.captions)
    assert not app.button(key="train_start").disabled
    assert any(c.value.startswith("Trains ") and c.value.endswith("region=75% of the image.") for c in app.caption)
    assert not any("centre crop" in c.value for c in app.caption)  # (the line had left the region out: review)
    app.slider(key=f"train_crop_{app.selectbox(key='train_method').value}").set_value(0.7).run()
    assert any(c.value.startswith(":material/crop: With the centre crop of 0.7, the border outside the central 70%")
               for c in app.caption)
    stored = list((app_env.root / ".regions").glob("*-fixture.png"))
    assert len(stored) == 1 and np.array_equal(InspectionRegion.read(stored[0]).mask, region > 0)
    hours_ago = time.time() - 7200
    os.utime(stored[0], (hours_ago, hours_ago))
    app_env.remove_leftovers()  # as the next training does: an upload older than an hour is removed...
    assert not stored[0].exists()
    app.run()  # ...and stored again while the page still shows it
    assert stored[0].is_file() and not app.button(key="train_start").disabled
    app.file_uploader(key="train_region").set_value([("wide.png", png_bytes(np.full((20, 80), 255, np.uint8)),
                                                      "image/png")]).run()
    assert "draw the region on a training image" in app.error[0].value
    assert app.button(key="train_start").disabled
    app.file_uploader(key="train_region").set_value([("empty.png", png_bytes(np.zeros((64, 64), np.uint8)),
                                                      "image/png")]).run()
    assert "no white pixel" in app.error[0].value and app.button(key="train_start").disabled


def test_the_train_page_keeps_its_settings_and_region_while_another_page_is_open(open_page, app_env):
    """Streamlit drops the state of widgets it does not draw and the file of an uploader: the settings came back
    as defaults and the region was gone, so Train trained another model than the one set up, saying nothing."""
    def region_previews() -> list[str]:
        return [caption for image in app.get("image") for caption in image.captions if caption.startswith("Inspected")]

    region = np.zeros((64, 64), np.uint8)
    region[:, :48] = 255
    app = open_page("train.py")
    app.selectbox(key="train_method").set_value("padim").run()
    app.number_input(key="train_image_height_padim").set_value(64).run()
    app.checkbox(key="train_jit_padim").uncheck().run()
    app.file_uploader(key="train_region").set_value([("fixture.png", png_bytes(region), "image/png")]).run()
    app.switch_page("ui/pages/inspect_images.py").run()
    app.switch_page("ui/pages/train.py").run()
    assert app.selectbox(key="train_method").value == "padim"
    assert app.number_input(key="train_image_height_padim").value == 64
    assert app.checkbox(key="train_jit_padim").value is False
    assert region_previews() == ["Inspected: 75% of the image (the darkened area is ignored)"]
    assert any(c.value == "Region `fixture.png`, uploaded before another page was opened, is still used."
               for c in app.caption)
    app.button(key="train_remove_region").click().run()
    assert region_previews() == [] and not app.exception
    app.file_uploader(key="train_region").set_value([("fixture.png", png_bytes(region), "image/png")]).run()
    app.file_uploader(key="train_region").set_value([]).run()  # removed in the uploader: forgotten too
    app.switch_page("ui/pages/home.py").run()
    app.switch_page("ui/pages/train.py").run()
    assert region_previews() == [] and not app.exception


def test_the_inspected_part_of_an_image_names_the_centre_crop_too():
    """A centre crop below 1 leaves the image's border uninspected: a caption that gave the region's share alone
    (50 %) claimed more than the run inspects."""
    region = {"inspected_share": 0.5}
    assert region_caption({"params": {"crop": 1.0}}) == ""
    assert region_caption({"region": region, "params": {"crop": 1.0}}) == (
        "inspected: 50% of each image (the darkened area is ignored)")
    assert region_caption({"params": {"crop": 0.7}}) == (
        "inspected: the centre crop (0.7 of the resized image's height and width; the border outside it, darkened in "
        "the overlays, is never inspected)")
    assert region_caption({"region": region, "params": {"crop": 0.7}}) == (
        "inspected: the region (50% of each image; the darkened area is ignored) within the centre crop (0.7 of the "
        "resized image's height and width; the border outside it, darkened in the overlays, is never inspected)")


def test_the_pixel_metrics_say_when_they_count_the_inspected_pixels_only():
    inspected = {"pixel_metrics_inspected_only": True}
    assert pixel_scope({"params": {"crop": 1.0}}, inspected) == ""
    for config, inside in (({"region": {"inspected_share": 0.5}}, "the inspection region"),
                           ({"params": {"crop": 0.7}}, "the centre crop"),  # not a region it has not (code review)
                           ({"region": {"inspected_share": 0.5}, "params": {"crop": 0.7}},
                            "the inspection region and the centre crop")):
        assert pixel_scope(config, inspected) == f" inspected (inside {inside}; defect pixels outside count as missed)"
        assert pixel_scope(config, {}) == ""  # a run from before pixel metrics kept to the inspected pixels


def test_the_pages_say_what_a_run_inspects(open_page, synthetic_root, app_env, tmp_path, one_thread):
    """Inspect's caption, Predict's caption and each of Compare's cards say what a run with a region inspects (its
    overlays darken the rest); a run that inspects whole images says nothing of it."""
    region_file = write_png(tmp_path / "left.png", np.pad(np.full((64, 48), 255, np.uint8), ((0, 0), (0, 16))))
    run = train_run(RunConfig(str(synthetic_root), "padim", {"image_size": [64, 64], "jit": False},
                              category="widget", region=str(region_file)), app_env.root)
    said = "inspected: 75% of each image (the darkened area is ignored)"
    assert any("defect pixels outside what the run inspects (its inspection region), " in note and note.endswith(
        "of all defect pixels: never flagged, they count as missed in pixel AUROC and AUPRO, and a defect there is "
        "not found") for note in run.report["notes"])  # a drawn defect
    # reaches into the right quarter: said where run notes are (code review: the note was tested alone)
    app = open_page("inspect_images.py", current_run_id=run.id)
    assert not app.exception
    assert any(said in c.value for c in app.caption)
    other = next(r.id for r in app_env.list() if r.id != run.id)
    plain = open_page("inspect_images.py", current_run_id=other)
    assert not any("inspected:" in c.value for c in plain.caption)
    predict = open_page("predict.py", current_run_id=run.id)
    assert any("It inspects 75% of each image (the darkened area is ignored)." in c.value for c in predict.caption)
    assert not any("inspects" in c.value for c in open_page("predict.py", current_run_id=other).caption)
    compare = open_page("compare.py", compare_runs=[run.id, other])
    cards = [m.value for m in compare.markdown if "saved threshold" in m.value and m.value.startswith("`")]
    assert not compare.exception and len(cards) == 2
    assert [f":grey[{said}]" in card for card in cards] == [True, False]  # the run chosen first, first


def test_the_preview_checks_the_region_as_training_does(tmp_path):
    root = tmp_path / "cat"
    write_png(root / "train" / "good" / "000.png", textured_image((48, 96), 0))  # shown, but unlike the others
    for i in range(1, 5):
        write_png(root / "train" / "good" / f"{i:03d}.png", textured_image(64, i))
    (root / "train" / "good" / "005.png").write_bytes(b"not a png")  # skipped, as training skips it
    write_png(root / "test" / "good" / "000.png", textured_image(64, 9))
    preview, problem = region_preview(str(root), None, InspectionRegion(strip_region(64)))
    assert problem is None and preview.shape == (48, 96, 3)
    assert (preview[:, -8:] < textured_image((48, 96), 0)[:, -8:]).all()  # the ignored strip is darkened
    _, problem = region_preview(str(root), None, InspectionRegion(np.ones((48, 96), bool), "wide.png"))
    assert problem is not None and "training images are about 64x64 px" in problem
    twelve = write_twelve_bit_category(tmp_path / "twelve")  # values near 1500 of 4095: read at 12 bits, not 16
    everything = InspectionRegion(np.ones((64, 64), bool))
    at_twelve, at_sixteen = (region_preview(str(twelve), None, everything, bit_depth=depth)[0] for depth in (12, 16))
    assert at_twelve.mean() > 8 * at_sixteen.mean()


def test_a_damaged_copy_of_a_region_is_named_by_its_own_path(tmp_path):
    """A run keeps a copy of its region: when that copy is damaged, the message names the copy, not the
    (sound) file it was made from."""
    (tmp_path / "region.png").write_bytes(b"damaged")
    with pytest.raises(ValueError) as refused:
        InspectionRegion.read(tmp_path / "region.png", "../masks/disc.png")
    assert f"{tmp_path / 'region.png'}: not a readable image" in str(refused.value)
    assert "disc.png" not in str(refused.value)


@pytest.mark.parametrize("ignored", ["region", "crop"])
def test_what_is_never_inspected_gets_no_heat_and_no_box_even_when_all_that_is_inspected_is_hot(ignored,
                                                                                                  one_thread):
    """Outside a region (or the border a centre crop cuts off) the map took the lowest value inside: when all that
    is inspected was above every good image's level, the whole image, ignored area included, got heat and one box
    (review of 2026-12-03). The good images' median level is also taken over inspected pixels only."""
    shape = (96, 192)
    region = np.zeros(shape, bool)
    region[:, :96] = True
    params = {**SMALL_METHODS["padim"], **({"crop": 0.5} if ignored == "crop" else {})}
    model = create_model("padim", **params)
    model.fit([textured_image(shape, seed=seed) for seed in range(12)],
              region=InspectionRegion(region) if ignored == "region" else None)
    image = textured_image(shape, seed=100)
    image = (image * 0.3).astype(np.uint8)  # all of it unlike the good images
    prediction = model.predict([image])
    area = prediction.inspected[0]
    assert area is not None and 0 < area.mean() < 1
    normalised = normalize_map(prediction.maps[0], model.normalization)
    assert normalised[area].min() > 1 and (normalised[~area] == 0).all()  # hot where inspected, cool elsewhere
    boxes = boxes_from_map(normalised)
    assert boxes and all(area[box.y0:box.y1, box.x0:box.x1].all() for box in boxes)


def test_a_tiny_region_is_never_said_to_inspect_0_percent():
    """A 10 x 10 px region of a 256 px image (0.15 %) read "0% of each image is inspected" (region review)."""
    config = {"method": "padim", "params": {}, "region": {"inspected_share": 0.0015, "source": "corner.png"}}
    assert "region=0.1% of the image" in changed_settings(config)
    assert region_caption(config) == "inspected: 0.1% of each image (the darkened area is ignored)"


def test_a_run_says_how_many_defects_reach_outside_what_it_inspects():
    """Report review: with a region, 50 of 80 annotated glass defects had pixels outside it (10.6 % of the defect
    pixels), counted as missed and never found, and nothing said so: a run note (CLI, pages, report) does."""
    from vqi_core.datasets import Sample
    from vqi_core.pipeline import outside_inspected_note

    area = np.zeros((8, 8), bool)
    area[:, :6] = True  # the right quarter is not inspected
    inside, reaching, good = np.zeros((8, 8), bool), np.zeros((8, 8), bool), np.zeros((8, 8), bool)
    inside[1:3, 1:3] = True  # 4 pixels, all inspected
    reaching[4:6, 4:8] = True  # 8 pixels, 4 outside
    samples = [Sample(Path(f"{name}.png"), label, "scratch" if label else "good", None)
               for name, label in (("a", 1), ("b", 1), ("c", 0), ("d", 1))]
    truth = [inside, reaching, good, None]  # d: mask unknown
    assert outside_inspected_note(samples, truth, [area] * 4) == (
        "1 of 2 annotated defective test images has defect pixels outside what the run inspects (its inspection "
        "region or centre crop), 33.3% of all defect pixels: never flagged, they count as missed in pixel AUROC and "
        "AUPRO, and a defect there is not found")
    assert outside_inspected_note(samples, [inside, inside, good, None], [area] * 4) is None  # all inside
    assert outside_inspected_note(samples, truth, None) is None  # whole images inspected
