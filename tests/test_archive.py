"""Run archives: a run exported to a .zip and imported elsewhere is the same run; unsafe or broken archives
are refused with a reason and leave nothing behind (vqi_core.archive, `runs --export/--import`, Home page)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import shutil
import stat
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from synthetic import record_dataset_as
from ui.common import as_text
from vqi_core import archive
from vqi_core import runs as runs_module
from vqi_core.archive import EXPORT_FAILED_FILE, export_run, export_run_file, import_run, run_archive_bytes, \
    run_archive_or_note
from vqi_core.cli import main
from vqi_core.methods.base import CONTENT_DIGEST_KEY, content_sha256
from vqi_core.pipeline import folder_sources, iter_score
from vqi_core.region import InspectionRegion
from vqi_core.runs import MAX_JSON_BYTES, Run, RunError, RunStore


def files_of(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def assert_nothing_added(store: RunStore) -> None:
    assert not store.root.exists() or list(store.root.iterdir()) == []  # no run and no staging folder left


def zip_bytes(members: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as packed:
        for name, content in members.items():
            info = zipfile.ZipInfo(name)
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            packed.writestr(info, content)
    return buffer.getvalue()


def test_an_exported_run_imports_as_the_same_run_and_scores_the_same(trained_run, synthetic_root, tmp_path):
    target = export_run_file(trained_run, tmp_path / "run.zip")
    with zipfile.ZipFile(target) as packed:
        assert all(name.startswith(f"{trained_run.id}/") for name in packed.namelist())
    store = RunStore(tmp_path / "line" / "runs")
    imported = import_run(target, store)
    assert imported.id == trained_run.id and [run.id for run in store.list()] == [trained_run.id]
    assert files_of(imported.path) == files_of(trained_run.path)  # every file, byte for byte

    good = synthetic_root / "widget" / "test" / "good"
    sources, skipped = folder_sources(good)
    results = list(iter_score(imported.load_model(), sources, imported.threshold, skipped))
    saved = trained_run.scores.set_index(trained_run.scores["image"].str.split("/").str[-1])
    good_saved = saved[saved["label"] == "good"]
    assert len(results) == len(good_saved) == 4
    assert {r.name: r.score for r in results} == pytest.approx(good_saved["score"].to_dict(), rel=1e-5)

    with pytest.raises(RunError, match=r"is already in .*, every file as in the archive: there is nothing to import"):
        import_run(run_archive_bytes(trained_run), store)  # the same run again: said so, not "delete it first" (a
    assert sorted(path.name for path in store.root.iterdir()) == [trained_run.id]  # validated run: archive review)
    Run(store.root / trained_run.id).describe("approved on line 3")  # another run of that name: its first
    with pytest.raises(RunError, match=r"already exists in .* and differs from the archive's \(description.json\): to "
                                       r"replace it, delete it first"):  # differing file named
        import_run(run_archive_bytes(trained_run), store)
    (store.root / trained_run.id / "description.json").unlink()
    installed = store.root / trained_run.id / "threshold.json"  # one digit changed, the file's size kept: told apart
    original = installed.read_bytes()  # by its bytes, not its size (mutation review: sizes alone passed it)
    digit = next(i for i, byte in enumerate(original) if chr(byte).isdigit())
    changed = b"7" if original[digit:digit + 1] != b"7" else b"8"
    installed.write_bytes(original[:digit] + changed + original[digit + 1:])
    with pytest.raises(RunError, match=r"differs from the archive's \(threshold.json\)"):
        import_run(run_archive_bytes(trained_run), store)
    installed.write_bytes(original)
    (store.root / trained_run.id / "metrics.json").rename(tmp_path / "metrics.json")  # no longer a complete run:
    with pytest.raises(RunError, match=r"is there already but is not a complete run \(metrics.json missing\): remove "
                                       r"that folder by hand"):  # `runs --delete` would refuse it (robustness review)
        import_run(run_archive_bytes(trained_run), store)
    (tmp_path / "metrics.json").rename(store.root / trained_run.id / "metrics.json")
    damaged = bytearray(run_archive_bytes(trained_run))  # a copy damaged in transit, of the run installed: said to be
    with zipfile.ZipFile(io.BytesIO(bytes(damaged))) as packed:  # damaged, not to delete the run (code review)
        info = packed.getinfo(f"{trained_run.id}/maps.npz")
    name_length, extra_length = (int.from_bytes(damaged[info.header_offset + at:info.header_offset + at + 2], "little")
                                 for at in (26, 28))
    damaged[info.header_offset + 30 + name_length + extra_length + info.compress_size // 2] ^= 0xFF
    with pytest.raises(RunError, match=r"is already in .*, and the archive's maps.npz cannot be unpacked \(damaged: "
                                       r".*\): copy the archive again; the run there stays as it is"):
        import_run(bytes(damaged), store)
    gone = Run(shutil.copytree(trained_run.path, tmp_path / "gone" / trained_run.id))
    shutil.rmtree(gone.path)  # a download of a run deleted meanwhile: its note, not a run
    with pytest.raises(RunError, match=f"this is not a run archive but the note of an export that failed: The run "
                                       f"{gone.id} could not be exported: "):
        import_run(run_archive_or_note(gone), RunStore(tmp_path / "other"))
    with pytest.raises(RunError, match=r"not a run archive \(.zip\): File is not a zip file; an archive whose copy or "
                                       r"download was cut short reads so: copy it again"):
        import_run(run_archive_bytes(trained_run)[:1000], RunStore(tmp_path / "other"))


def test_archive_bytes_and_file_hold_the_same_members(trained_run, tmp_path):
    buffer = io.BytesIO()
    export_run(trained_run, buffer)
    with zipfile.ZipFile(io.BytesIO(run_archive_bytes(trained_run))) as from_bytes, \
            zipfile.ZipFile(buffer) as from_stream:
        assert from_bytes.namelist() == from_stream.namelist() == sorted(from_bytes.namelist())
        assert f"{trained_run.id}/model/model.json" in from_bytes.namelist()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def damaged_files(run: Run) -> list[tuple[str, bytes | None, str]]:
    """(file of the run, damaged content or None for missing, what the refusal must say)."""
    maps = dict(np.load(run.path / "maps.npz"))
    maps.pop(sorted(maps)[-1])
    return [
        ("metrics.json", b"{", "metrics.json is damaged: not readable JSON"),
        ("config.json", b"[1, 2]", "config.json is damaged: it holds a JSON list, not an object"),
        ("report.json", b"{", "report.json is damaged"),
        ("threshold.json", b'{"threshold": NaN, "source": "user"}', "a threshold is nan, not a finite number"),
        ("threshold.json", None, "threshold.json missing"),
        ("scores.csv", b"", "scores.csv is damaged"),
        ("scores.csv", b"image,score\na.png,1.0\n",
         "scores.csv is damaged: column path, label, defect_type, mask_path missing"),
        ("scores.csv", None, "scores.csv missing"),
        ("maps.npz", b"not an npz file", "maps.npz is damaged: not an array file written by VQI"),
        ("maps.npz", npz_bytes(**maps), f"maps.npz is damaged: it holds {len(maps)} maps for {len(maps) + 1}"),
        ("model/arrays.npz", b"not an npz file", "cannot be loaded (not an array file written by VQI"),
    ]


@pytest.mark.parametrize("members, symlinks, reason", [
    ({"run1/config.json": b"{}", "../evil.txt": b"x"}, (), "not a file inside one run folder"),
    ({"run1/config.json": b"{}", "run1/../../evil.txt": b"x"}, (), "not a file inside one run folder"),
    ({"run1/config.json": b"{}", "run1\\..\\..\\evil.txt": b"x"}, (), "not a file inside one run folder"),
    ({"/abs/config.json": b"{}"}, (), "not a file inside one run folder"),
    ({"run1/config.json": b"{}", "run1/link": b"/etc/passwd"}, ("run1/link",),
     "holds 'run1/link' as a symbolic link: a run archive holds files only"),  # (bad-input review: "not inside")
    ({"config.json": b"{}"}, (), "not a file inside one run folder"),
    ({".incomplete-x/config.json": b"{}"}, (), "not a file inside one run folder"),
    ({"run1/config.json": b"{}", "run2/config.json": b"{}"}, (), "holds one run folder; this one holds 2"),
    ({"run1/config.json": b"{}", "run1/metrics.json": b"{}"}, (), "model/model.json missing"),
    ({}, (), "the archive is empty"),
])
def test_unsafe_or_incomplete_archives_are_refused(tmp_path, members, symlinks, reason):
    store = RunStore(tmp_path / "runs" / "here")
    with pytest.raises(RunError, match=reason):
        import_run(zip_bytes(members, symlinks), store)
    assert_nothing_added(store)
    assert list(tmp_path.rglob("*")) == []  # nothing written beside it either (nor the folders it would have made)


def test_not_a_zip_a_model_that_does_not_load_and_a_too_large_archive_are_refused(trained_run, tmp_path,
                                                                                  monkeypatch):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunError, match="not a run archive"):
        import_run(b"PK\x03\x04 but no zip", store)
    assert_nothing_added(store)

    members = {f"{trained_run.id}/{name}": content for name, content in files_of(trained_run.path).items()}
    model_json = f"{trained_run.id}/model/model.json"
    members[model_json] = json.dumps({**json.loads(members[model_json]), "method": "nosuchmethod"}).encode()
    with pytest.raises(RunError, match="cannot be used"):
        import_run(zip_bytes(members), store)
    assert_nothing_added(store)  # the staging folder is gone again (and the runs folder it needed)

    members[model_json] = (trained_run.path / "model" / "model.json").read_bytes()
    threshold_json = f"{trained_run.id}/threshold.json"
    for broken in ({"threshold": "high", "source": "manual"}, {"threshold": 1.0, "history": [{"source": "x"}]},
                   {"threshold": 1.0, "history": 3}):
        members[threshold_json] = json.dumps(broken).encode()
        with pytest.raises(RunError, match="cannot be used"):
            import_run(zip_bytes(members), store)
        assert_nothing_added(store)
    members[threshold_json] = (trained_run.path / "threshold.json").read_bytes()
    for broken_description in (b"{not json", json.dumps({"text": 3}).encode(), json.dumps({}).encode()):
        members[f"{trained_run.id}/description.json"] = broken_description
        with pytest.raises(RunError, match="cannot be used"):
            import_run(zip_bytes(members), store)
        assert_nothing_added(store)

    members[f"{trained_run.id}/description.json"] = b'{"text": "fine"}'
    for name, damage, reason in damaged_files(trained_run):
        intact = members.pop(f"{trained_run.id}/{name}")
        if damage is not None:
            members[f"{trained_run.id}/{name}"] = damage
        with pytest.raises(RunError) as refused:
            import_run(zip_bytes(members), store)
        assert reason in str(refused.value) and ".incomplete" not in str(refused.value), (name, refused.value)
        assert "pickle" not in str(refused.value)
        assert_nothing_added(store)
        members[f"{trained_run.id}/{name}"] = intact
    assert import_run(zip_bytes(members), store).description == "fine"  # the intact archive still imports
    shutil.rmtree(store.root)
    store.root.mkdir()

    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(RunError, match=r"unpacks to [\d,]+ bytes; at most 1,000 bytes"):  # exact: "4.0 GiB; at most
        # 4 GiB" had read as within the limit (robustness review)
        import_run(run_archive_bytes(trained_run), store)
    assert_nothing_added(store)


def test_cli_exports_and_imports_a_run(trained_run, tmp_path, capsys, monkeypatch):
    source = RunStore(trained_run.path.parent)
    monkeypatch.chdir(tmp_path)
    assert main(["runs", "--runs", str(source.root), "--export", trained_run.id]) == 0
    digest = hashlib.sha256((tmp_path / f"{trained_run.id}.zip").read_bytes()).hexdigest()
    exported = capsys.readouterr().out
    assert "wrote" in exported and f"SHA-256 {digest}" in exported  # to record with the approval
    assert main(["runs", "--runs", str(tmp_path / "line"), "--import", f"{trained_run.id}.zip"]) == 0
    imported = capsys.readouterr().out.splitlines()
    assert imported[-1] == str(tmp_path / "line" / trained_run.id) and f"SHA-256 {digest}" in imported[0]
    assert Run(tmp_path / "line" / trained_run.id).metrics == trained_run.metrics
    for path in (tmp_path / "line" / trained_run.id).rglob("*"):  # as a copy or a restore leaves them
        os.utime(path, (1_700_000_000, 1_700_000_000))
        path.chmod(0o755 if path.is_dir() else 0o600)
    assert main(["runs", "--runs", str(tmp_path / "line"), "--export", trained_run.id, "--out", "again.zip"]) == 0
    capsys.readouterr()  # the installed run gives the approved digest (review: every member carried its file's time)
    assert hashlib.sha256((tmp_path / "again.zip").read_bytes()).hexdigest() == digest

    assert main(["runs", "--runs", str(tmp_path / "line"), "--import", f"{trained_run.id}.zip"]) == 0  # done already:
    assert (f"every file as in the archive: there is nothing to import; the archive's SHA-256 is {digest}"  # no
            in capsys.readouterr().out)  # failure for a deployment script re-importing the validated archive (review)
    assert main(["runs", "--runs", str(tmp_path / "line"), "--import", "nope.zip"]) == 2
    assert capsys.readouterr().err.strip() == "error: nope.zip: no such file"
    assert main(["runs", "--runs", str(tmp_path / "line"), "--import", str(tmp_path)]) == 2
    assert f"{tmp_path} is a folder, not a run archive (.zip)" in capsys.readouterr().err
    assert main(["runs", "--runs", str(source.root), "--out", "x.zip"]) == 2
    assert "--export" in capsys.readouterr().err
    (tmp_path / "precious.txt").write_text("kept")  # found by review: any file named --out was replaced
    for out, said in [("precious.txt", "is not a .zip file"), (str(tmp_path), "is a folder")]:
        assert main(["runs", "--runs", str(source.root), "--export", trained_run.id, "--out", out]) == 2
        assert capsys.readouterr().err == (f"error: --out {out} {said}: name the archive to write, e.g. "
                                           f"{trained_run.id}.zip\n")
    assert (tmp_path / "precious.txt").read_text() == "kept"


def damage_past_the_cheap_check(run: Run, damage: str) -> str:
    """Damage the model's arrays or one map of ``run`` where only reading the files in full finds it; what the
    refusal says."""
    if damage == "model":  # a valid array file, but not the one the model saved
        arrays = dict(np.load(run.path / "model" / "arrays.npz"))
        name = sorted(arrays)[0]
        arrays[name] = arrays[name] + 1
        (run.path / "model" / "arrays.npz").write_bytes(npz_bytes(**arrays))
        return "arrays.npz is not the file this model saved"
    with zipfile.ZipFile(run.path / "maps.npz") as packed:  # its table of contents intact, one map's bytes not
        last = packed.infolist()[-1]
    data = bytearray((run.path / "maps.npz").read_bytes())
    data[last.header_offset + 30 + len(last.filename) + last.compress_size // 2] ^= 0xFF
    (run.path / "maps.npz").write_bytes(bytes(data))
    return "maps.npz is damaged: BadZipFile: Bad CRC-32"


@pytest.mark.parametrize("damage", ["model", "maps"])
def test_a_run_an_import_would_refuse_is_not_exported(trained_run, tmp_path, capsys, damage):
    """The export wrote the archive and gave its SHA-256 to record with the approval; the import then refused it."""
    run = Run(shutil.copytree(trained_run.path, tmp_path / "runs" / trained_run.id))
    said = damage_past_the_cheap_check(run, damage)
    assert run.problem() is None  # the cheap check (runs listing) does not find either
    with pytest.raises(RunError, match=f"is not exported, as an import would refuse it: .*{said}"):
        export_run_file(run, tmp_path / "run.zip")
    capsys.readouterr()
    assert main(["runs", "--runs", str(run.path.parent), "--export", run.id, "--out", str(tmp_path / "run.zip")]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "run.zip").exists()


def test_an_import_on_home_shows_the_runs_category_in_the_sidebar(open_page, app_env, trained_run, synthetic_root,
                                                                   tmp_path):
    """Found by a browser review: the imported run became current while the sidebar stayed on another category
    and warned that the current run is of another part."""
    root = tmp_path / "data"
    for name in ("gadget", "widget"):
        shutil.copytree(synthetic_root / "widget", root / name)
    archive = run_archive_bytes(trained_run)
    app_env.delete(trained_run.id)
    app = open_page(data_root=str(root))
    app.sidebar.selectbox(key="category").set_value("gadget").run()
    app.file_uploader(key="home_import_file").set_value([("run.zip", archive, "application/zip")]).run()
    app.button(key="home_import").click().run()
    assert not app.exception and app.session_state["current_run_id"] == trained_run.id
    assert app.sidebar.selectbox(key="category").value == trained_run.config["category"] == "widget"
    assert not any("of another part" in w.value for w in [*app.warning, *app.sidebar.warning])


def test_home_page_downloads_and_imports_runs(open_page, app_env, trained_run, tmp_path, downloads):
    app = open_page()
    download = app.get("download_button")
    assert len(download) == 1 and download[0].proto.label == "Download the current run (.zip)"
    assert app.file_uploader(key="home_import_file").proto.max_upload_size_mb == 200  # as the README says
    app.button(key="home_import").click().run()  # nothing uploaded (a file over the limit never is: archive review)
    assert [e.value for e in app.error] == ["Choose a run archive (.zip) first. An archive over 200 MB is not "
                                            "uploaded here: import it on the command line (`python -m vqi_core runs "
                                            "--import <archive>`)."]
    assert downloads(app, "home_export") == (f"{trained_run.id}.zip", run_archive_bytes(app_env.get(trained_run.id)))
    app.button(key="home_export_digest").click().run()  # the SHA-256 an import asks to compare (browser review)
    exported = hashlib.sha256(run_archive_bytes(app_env.get(trained_run.id))).hexdigest()
    assert any(c.value.startswith(f"SHA-256 of `{trained_run.id}.zip`: `{exported}`.") for c in app.caption)
    app_env.get(trained_run.id).describe("approved for line 2")  # the archive changes: so does its digest shown
    app.button(key="home_export_digest").click().run()
    described = hashlib.sha256(run_archive_bytes(app_env.get(trained_run.id))).hexdigest()
    assert described != exported
    assert any(c.value.startswith(f"SHA-256 of `{trained_run.id}.zip`: `{described}`.") for c in app.caption)

    app_env.delete(trained_run.id)  # deleted after the page offered it: the click gives a note of why (archive
    name, data = downloads(app, "home_export")  # review: nothing visible happened)
    with zipfile.ZipFile(io.BytesIO(data)) as packed:
        assert packed.namelist() == [EXPORT_FAILED_FILE] and name == f"{trained_run.id}.zip"
        assert packed.read(EXPORT_FAILED_FILE).decode().startswith(f"The run {trained_run.id} could not be exported: ")
    newer = shutil.copytree(trained_run.path, app_env.root / "29990101-000000-widget-padim-newer")
    app.run()
    app.sidebar.selectbox(key="run_select").set_value(newer.name).run()  # the run worked on before the import
    app.file_uploader(key="home_import_file").set_value(
        [(f"{trained_run.id}.zip", run_archive_bytes(trained_run), "application/zip")]).run()
    app.button(key="home_import").click().run()
    assert not app.exception
    assert [run.id for run in app_env.list()] == [newer.name, trained_run.id]
    digest = hashlib.sha256(run_archive_bytes(trained_run)).hexdigest()
    assert any(f"Imported `{trained_run.id}`" in s.value and f"SHA-256 is `{digest}`" in s.value for s in app.success)
    assert app.session_state["current_run_id"] == trained_run.id
    assert app.sidebar.selectbox(key="run_select").value == trained_run.id  # listed and chosen at once
    move = [e for e in app.expander if e.label.startswith("Move a run")]  # open on its outcome (found by review:
    assert [e.proto.expanded for e in move] == [True]  # the first run imported redrew the page with it closed)
    app.run()
    assert [e.proto.expanded for e in app.expander if e.label.startswith("Move a run")] == [False]

    app.file_uploader(key="home_import_file").set_value([("# notes_1.zip", b"not a zip", "application/zip")]).run()
    app.button(key="home_import").click().run()
    assert not app.exception  # the name as written, not a heading with emphasis
    assert any(e.value.startswith("\\# notes\\_1.zip was not imported: not a run archive") for e in app.error)
    assert [run.id for run in app_env.list()] == [newer.name, trained_run.id]
    app.sidebar.selectbox(key="run_select").set_value(newer.name).run()
    app.file_uploader(key="home_import_file").set_value(  # the same archive again: done, and made current, not
        [(f"{trained_run.id}.zip", run_archive_bytes(trained_run), "application/zip")]).run()  # an error (review)
    app.button(key="home_import").click().run()
    assert not app.error and any("every file as in the archive: there is nothing to import; it is the current run. "
                                 f"The archive's SHA-256 is `{digest}`" in s.value.replace("\\:", ":")
                                 for s in app.success)
    assert app.session_state["current_run_id"] == trained_run.id



def test_inspect_lists_an_imported_run_without_its_images_where_the_dataset_is_missing(open_page, app_env,
                                                                                       trained_run, tmp_path,
                                                                                       synthetic_root, monkeypatch):
    record_dataset_as(app_env.root / trained_run.id, tmp_path / "on-the-lab-machine" / "widget")
    here = shutil.copytree(synthetic_root / "widget", tmp_path / "line" / "widget")  # the sidebar's: other images
    (here / "test" / trained_run.scores["image"].iloc[0]).unlink()
    monkeypatch.setenv("VQI_DATA_ROOT", str(here.parent))
    app = open_page("inspect_images.py")
    assert not app.exception
    assert any("test images are not where it found them" in w.value for w in app.warning)
    assert not any("Cannot show" in w.value for w in app.warning)  # one notice, not one per image
    assert any(m.value.startswith("**") and "score" in m.value for m in app.markdown)  # the images are listed


def test_a_run_saved_under_the_same_name_meanwhile_wins_and_the_import_leaves_nothing(trained_run, tmp_path,
                                                                                       monkeypatch):
    store = RunStore(tmp_path / "runs")
    publish = store.publish

    def saved_meanwhile(staging, run_id):
        (store.root / run_id).mkdir()  # another process saved a run of that name after the first check
        return publish(staging, run_id)

    monkeypatch.setattr(store, "publish", saved_meanwhile)
    with pytest.raises(RunError, match="already exists"):
        import_run(run_archive_bytes(trained_run), store)
    assert [path.name for path in store.root.iterdir()] == [trained_run.id]  # no staging folder left


def test_runs_command_deletes_only_runs_and_lists_past_a_damaged_one(trained_run, tmp_path, capsys):
    """`runs --delete` refuses a folder that is not a run (it would delete data), and a path instead of an id;
    one damaged run is listed as such and the others are still listed."""
    store_root = tmp_path / "runs"
    shutil.copytree(trained_run.path, store_root / trained_run.id)
    shutil.copytree(trained_run.path, store_root / "damaged-run")
    (store_root / "damaged-run" / "config.json").write_text("{}")
    (store_root / "notes").mkdir()
    (store_root / "notes" / "data.txt").write_text("keep me")
    for run_id in ["notes", "../runs", "", "missing"]:
        assert main(["runs", "--runs", str(store_root), "--delete", run_id]) == 2
        assert "nothing deleted" in capsys.readouterr().err
    assert (store_root / "notes" / "data.txt").read_text() == "keep me"
    assert main(["runs", "--runs", str(store_root), "--describe", "../elsewhere", "text"]) == 2
    assert "is not a run id" in capsys.readouterr().err

    assert main(["runs", "--runs", str(store_root)]) == 0
    listing = capsys.readouterr().out
    assert f"damaged-run{' ' * 41} cannot be read: {store_root / 'damaged-run' / 'config.json'} is damaged" in listing
    assert trained_run.id in listing
    assert main(["runs", "--runs", str(store_root), "--delete", f"{store_root / 'damaged-run'}/"]) == 0
    assert capsys.readouterr().out == "deleted damaged-run\n"  # a damaged run can go, named as a shell completes it
    assert not (store_root / "damaged-run").exists() and (store_root / trained_run.id).is_dir()
    assert main(["runs", "--runs", str(store_root), "--describe", f"{trained_run.id}/", "line 3"]) == 0
    assert capsys.readouterr().out == f"described {trained_run.id}\n"
    assert Run(store_root / trained_run.id).description == "line 3"
    assert main(["runs", "--runs", str(store_root), "--export", str(store_root / trained_run.id),
                 "--out", str(tmp_path / "run.zip")]) == 0 and (tmp_path / "run.zip").is_file()
    assert main(["runs", "--runs", str(store_root), "--delete", str(tmp_path / "runs2" / trained_run.id)]) == 2
    assert "nothing deleted" in capsys.readouterr().err  # a run folder's path elsewhere is not one of these runs
    (store_root / "linked").symlink_to(store_root / trained_run.id)  # a run linked in from elsewhere: its target
    assert main(["runs", "--runs", str(store_root), "--delete", "linked"]) == 2  # stays, said plainly (a raw
    assert capsys.readouterr().err == (  # "[Errno 21] Is a directory" had been all: run-integrity review)
        f"error: run linked is a link to {store_root / trained_run.id}, nothing deleted: remove the link by hand to "
        f"take the run off this list, or delete the run in the runs folder that holds it\n")
    assert Run(store_root / trained_run.id).problem() is None

    with pytest.raises(RunError, match="cannot be used: .*config.json is damaged: no method"):
        import_run(run_archive_bytes_with(trained_run, {"config.json": b"{}"}), RunStore(tmp_path / "line"))


def run_archive_bytes_with(run: Run, replaced: dict[str, bytes]) -> bytes:
    members = {f"{run.id}/{name}": replaced.get(name, content) for name, content in files_of(run.path).items()}
    return zip_bytes(members)


def test_an_archive_that_cannot_be_unpacked_here_is_a_message_not_a_traceback(trained_run, tmp_path, open_page,
                                                                             access_by_mode_bits):
    """The Home page's import ran in a button callback, where an OSError (a runs folder that cannot be written,
    a run name too long for the file system) replaced the whole app with a traceback."""
    data = run_archive_bytes(trained_run)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    with pytest.raises(RunError, match=rf"the runs folder {locked} cannot be written \(no permission\)"):
        import_run(data, RunStore(locked))
    long_name = tmp_path / "long" / ("2026" + "x" * 246)
    shutil.copytree(trained_run.path, long_name)
    (long_name / "config.json").write_text(json.dumps({**trained_run.config, "run_id": long_name.name}))
    with pytest.raises(RunError, match="cannot be unpacked into .*: File name too long"):
        import_run(run_archive_bytes(Run(long_name)), RunStore(tmp_path / "runs2"))
    assert_nothing_added(RunStore(tmp_path / "runs2"))
    app = open_page("home.py")
    app.file_uploader(key="home_import_file").set_value(("long.zip", run_archive_bytes(Run(long_name)),
                                                         "application/zip")).run()
    app.button(key="home_import").click().run()
    assert not app.exception
    assert any("long.zip was not imported" in e.value and "File name too long" in e.value for e in app.error)


def npy_claiming(shape: tuple[int, ...]) -> bytes:
    """An .npy header claiming ``shape`` of float32, followed by no data (as a crafted file can)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        for name, content in members.items():
            packed.writestr(name, content)
    return buffer.getvalue()


def test_archives_whose_arrays_claim_more_than_an_import_may_read_are_refused_before_reading_them(trained_run,
                                                                                                 tmp_path):
    """A compressed array, or a header with no data behind it, can claim a thousand times its packed size: the
    claim is refused from the headers, before numpy or the model loader would allocate it."""
    store = RunStore(tmp_path / "runs")
    members = {f"{trained_run.id}/{name}": content for name, content in files_of(trained_run.path).items()}
    maps = f"{trained_run.id}/maps.npz"
    with zipfile.ZipFile(io.BytesIO(members[maps])) as packed:
        map_members = {name: packed.read(name) for name in packed.namelist()}
    huge_map = {**map_members, "m00000.npy": npy_claiming((1_000_000, 1_000_000))}
    with pytest.raises(RunError, match="maps.npz is damaged: its member m00000.npy says it holds 3,814,697 MB"):
        import_run(zip_bytes({**members, maps: zip_of(huge_map)}), store)
    assert_nothing_added(store)

    arrays = f"{trained_run.id}/model/arrays.npz"
    with zipfile.ZipFile(io.BytesIO(members[arrays])) as packed:
        model_members = {name: packed.read(name) for name in packed.namelist()}
    first = sorted(model_members)[0]
    for claimed in (npy_claiming((40_000, 40_000)), b"\x93NUMPY\x09\x00"):  # 6 GiB; an .npy version numpy never wrote
        with pytest.raises(RunError, match="GiB once read|not an array written by VQI"):
            import_run(zip_bytes({**members, arrays: zip_of({**model_members, first: claimed})}), store)
        assert_nothing_added(store)


def test_archives_with_a_file_twice_or_a_renamed_or_disguised_run_folder_are_refused(trained_run, tmp_path):
    store = RunStore(tmp_path / "runs")
    members = {f"{trained_run.id}/{name}": content for name, content in files_of(trained_run.path).items()}
    twice = list(members.items()) + [(f"{trained_run.id}/threshold.json", b'{"threshold": -1e9, "source": "x"}')]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as packed:
        for name, content in twice:
            with pytest.warns(UserWarning, match="Duplicate name") if name in dict(twice[:-1]) and \
                    content is twice[-1][1] else contextlib.nullcontext():
                packed.writestr(name, content)
    with pytest.raises(RunError, match="threshold.json' twice"):
        import_run(buffer.getvalue(), store)

    renamed = {name.replace(trained_run.id, "LINE3-APPROVED", 1): content for name, content in members.items()}
    with pytest.raises(RunError, match=f"named LINE3-APPROVED, but its config.json says it is run '{trained_run.id}'"):
        import_run(zip_bytes(renamed), store)
    disguised = f"{trained_run.id}\n20991231-000000-approved \x1b[32mAUROC 1.0000\x1b[0m"
    forged = {name.replace(trained_run.id, disguised, 1): content for name, content in members.items()}
    with pytest.raises(RunError, match="control character '\\\\n'"):
        import_run(zip_bytes(forged), store)
    for hidden in ("\u202e", "\u200b"):  # a right-to-left override or a zero-width space: format characters that
        forged = {name.replace(trained_run.id, f"{trained_run.id}{hidden}", 1): content  # let a name pass for
                  for name, content in members.items()}  # another run's
        with pytest.raises(RunError, match="control character"):
            import_run(zip_bytes(forged), store)
    assert_nothing_added(store)


def test_an_archive_with_files_that_are_not_the_runs_is_refused_and_an_export_leaves_them_out(trained_run, tmp_path):
    """Found by the security review: any other file in the run folder was unpacked and kept, so an archive of a few
    MB (zeros compress a thousandfold) could leave up to 4 GiB on the line's disk, run after run; two names equal
    once Unicode-normalised were two files. Only a run's own files are imported, and exported; hidden files, which
    archives exported before may hold (.DS_Store, a temporary file of a killed write), are left out."""
    store = RunStore(tmp_path / "runs")
    members = {f"{trained_run.id}/{name}": content for name, content in files_of(trained_run.path).items()}
    zeros = zip_of({**members, f"{trained_run.id}/zeros.bin": bytes(20 * 2 ** 20)})
    assert len(zeros) < len(zip_of(members)) + 100_000  # 20 MB more unpacked, under 0.1 MB more packed
    with pytest.raises(RunError, match="holds 'zeros.bin', which is not a file of a VQI run"):
        import_run(zeros, store)
    hidden = {**members, f"{trained_run.id}/.DS_Store": b"x", f"{trained_run.id}/.threshold.json.k2j4": b"{"}
    assert files_of(import_run(zip_bytes(hidden), RunStore(tmp_path / "older")).path) == files_of(trained_run.path)
    accents = {**members, f"{trained_run.id}/model/caf\u00e9.txt": b"1", f"{trained_run.id}/model/cafe\u0301.txt": b"2"}
    with pytest.raises(RunError, match="holds 'model/cafe\u0301.txt' and 1 more, which is not a file of a VQI run"):
        import_run(zip_bytes(accents), store)
    assert_nothing_added(store)
    copy = Run(shutil.copytree(trained_run.path, tmp_path / "copy" / trained_run.id))
    (copy.path / "notes.txt").write_text("the engineer's own notes")
    (copy.path / "model" / "old").mkdir()
    (copy.path / "model" / "old" / "arrays.npz").write_bytes((copy.path / "model" / "arrays.npz").read_bytes())
    with zipfile.ZipFile(io.BytesIO(run_archive_bytes(copy))) as packed:
        assert sorted(packed.namelist()) == sorted(members)
    assert import_run(run_archive_bytes(copy), store).id == trained_run.id


@pytest.mark.parametrize("column, value, said", [
    ("path", "{secret}", "is read from '{secret}', not from a category's test/blob/000.png"),
    ("path", "{secret_dir}/test/blob/../../../{secret_name}", "not from a category's test/blob/000.png"),
    ("image", "../../{secret_name}", "'../../{secret_name}' is not a test image's name, <defect type>/<file>"),
    ("image", "good/other.png", "'good/other.png' is not a test image's name, <defect type>/<file>, of defect "
                                "type 'blob'"),
    ("mask_path", "{secret}", "is read from '{secret}', not from a category's ground_truth/"),
])
def test_an_imported_run_whose_scores_point_outside_its_category_folder_is_refused(trained_run, tmp_path, column,
                                                                                   value, said):
    """Found by the security review: scores.csv's paths were read as they stood, so an archive whose run named
    another file (its manifest left out, so that no digest was compared) made Inspect, Compare and the report
    read and show any image on the line's machine, and told which files exist there. Each is now read only from
    a category's test or ground_truth folder, at its own name."""
    secret = tmp_path / "confidential.png"
    shutil.copy(trained_run.scores["path"].iloc[0], secret)
    scores = trained_run.predictions()
    first = scores.index[scores["mask_path"] != ""][0] if column == "mask_path" else 0
    scores.loc[first, column] = value.format(secret=secret, secret_name=secret.name, secret_dir=tmp_path)
    if column == "image":
        scores.loc[first, "path"] = str(Path(trained_run.config["dataset"], "test", scores.loc[first, "image"]))
    edited = run_archive_bytes_with(trained_run, {"scores.csv": scores.to_csv(index=False).encode()})
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunError, match=re.escape(said.format(secret=secret, secret_name=secret.name))):
        import_run(edited, store)
    assert_nothing_added(store)


def test_archive_paths_that_name_one_file_twice_a_faiss_index_and_a_renamed_run_are_refused(trained_run, tmp_path,
                                                                                               capsys):
    """<id>//threshold.json and <id>/./threshold.json are the same file as <id>/threshold.json once unpacked; a
    faiss-format index makes faiss allocate what it claims; a renamed run's archive would be refused on import."""
    store = RunStore(tmp_path / "runs")
    members = {f"{trained_run.id}/{name}": content for name, content in files_of(trained_run.path).items()}
    for alias in (f"{trained_run.id}//threshold.json", f"{trained_run.id}/./threshold.json",
                  f"{trained_run.id}/THRESHOLD.json"):
        with pytest.raises(RunError, match="twice"):
            import_run(zip_bytes({**members, alias: b'{"threshold": 5000.0, "source": "x"}'}), store)
    arrays = f"{trained_run.id}/model/arrays.npz"
    with zipfile.ZipFile(io.BytesIO(members[arrays])) as packed:
        model_members = {name: packed.read(name) for name in packed.namelist()}
    with_index = zip_of({**model_members, "knn_index.npy": npy_claiming((61,))})
    with pytest.raises(RunError, match="nearest-neighbour index is in faiss's own format"):
        import_run(zip_bytes({**members, arrays: with_index}), store)
    assert_nothing_added(store)
    renamed = Run(shutil.copytree(trained_run.path, tmp_path / "elsewhere" / "line3-approved"))
    with pytest.raises(RunError, match="was renamed since it was saved"):
        export_run_file(renamed, tmp_path / "run.zip")
    assert not (tmp_path / "run.zip").exists()
    assert main(["runs", "--runs", str(tmp_path / "elsewhere")]) == 0  # found by review: listed as any other run
    listed = capsys.readouterr().out.splitlines()
    assert listed[1].startswith("line3-approved ") and listed[3] == (  # after its saved threshold's line
        f"  renamed: saved as run {trained_run.id}; rename the folder back to export it")
    config = json.loads((renamed.path / "config.json").read_text())
    del config["run_id"]  # as in runs from before run ids were recorded
    (renamed.path / "config.json").write_text(json.dumps(config))
    assert main(["runs", "--runs", str(tmp_path / "elsewhere")]) == 0
    assert capsys.readouterr().out.splitlines()[3] == "  its config.json names no run: it cannot be exported"


def test_home_offers_no_download_of_a_renamed_run(open_page, app_env):
    run = app_env.list()[0]
    (run.path / "config.json").write_text(json.dumps({**run.config, "run_id": "renamed-from-this"}))
    app = open_page("home.py")
    assert not app.exception and not app.get("download_button")
    assert [w.value for w in app.warning] == [
        f"The current run is not offered for download: the run folder {as_text(run.id)} was renamed since it was "
        f"saved (its config.json says it is run 'renamed-from-this')\\: an import would refuse its archive; give "
        f"it its name back to export it."]  # as_text escapes colons (:name: is an icon)


@pytest.mark.parametrize("damage", ["model", "maps"])
def test_pages_say_why_a_damaged_run_has_no_archive_or_report_instead_of_a_download_that_fails(open_page, app_env,
                                                                                           damage):
    """Streamlit answers a download whose data cannot be made with nothing but "Failed to generate file for
    download": a run damaged where only reading its files in full finds it is not offered for download, and the
    page says why. Its decisions (scores only) still are."""
    run = app_env.list()[0]
    said = damage_past_the_cheap_check(run, damage)
    home = open_page("home.py")
    assert not home.exception and not home.get("download_button")
    assert len(home.warning) == 1 and home.warning[0].value.startswith("The current run is not offered for download")
    assert as_text(said) in home.warning[0].value
    threshold = open_page("threshold.py")
    assert not threshold.exception
    refusals = [w.value for w in threshold.warning if w.value.startswith("No validation report can be written")]
    downloads = [button.key for button in threshold.get("download_button")]
    # a report of a run whose model is not the one validated would vouch for another model (found by review)
    assert len(refusals) == 1 and as_text(said) in refusals[0] and downloads == ["threshold_download"]


def test_a_passed_full_read_is_remembered_until_a_file_changes_and_a_failed_one_is_not(open_page, app_env,
                                                                                    monkeypatch):
    """The pages read a run's files in full once: again only once one changed (damage after a pass is found). A
    failure may be the machine's (memory, open files), not the run's: the next rerun reads again. (open_page():
    Home, drawn once.)"""
    monkeypatch.setattr(runs_module, "RACY_SECONDS", -60.0)  # files just written count as settled: remembered
    run = app_env.list()[0]
    failures = iter([MemoryError()])

    def load_model_failing_once(self):
        if (failure := next(failures, None)) is not None:
            raise failure
        return loads_model(self)

    loads_model = Run.load_model
    monkeypatch.setattr(Run, "load_model", load_model_failing_once)
    home = open_page()
    assert [w.value for w in home.warning] == [f"The current run is not offered for download: run {as_text(run.id)} "
                                               f"is not exported, as an import would refuse it\\: MemoryError."]
    assert [button.key for button in open_page().get("download_button")] == ["home_export"]
    reads = []
    monkeypatch.setattr(Run, "load_model", lambda self: reads.append(self) or loads_model(self))
    assert [button.key for button in open_page().get("download_button")] == ["home_export"]
    assert reads == []  # the pass is remembered
    said = damage_past_the_cheap_check(run, "maps")
    home = open_page()
    assert not home.get("download_button") and as_text(said) in home.warning[0].value


@pytest.mark.parametrize("command", [
    ["report", "--run", "RUN", "--out"],
    ["runs", "--runs", "RUNS", "--export", "ID", "--out"],
    ["threshold", "--run", "RUN", "--decisions"],
])
def test_a_file_to_write_given_as_a_folder_that_does_not_exist_is_refused(trained_run, tmp_path, capsys, command):
    """`--out exports/` wrote an archive named `exports` (Path drops the trailing slash)."""
    names = {"RUN": str(trained_run.path), "RUNS": str(trained_run.path.parent), "ID": trained_run.id}
    argv = [names.get(arg, arg) for arg in command] + [f"{tmp_path / 'exports'}/"]
    assert main(argv) == 2
    assert f"{tmp_path / 'exports'}/ names a folder (it ends with /): name a file to write" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_refused_import_leaves_no_runs_folder_it_created(trained_run, tmp_path, capsys):
    members = {f"{trained_run.id}/{name}": content for name, content in files_of(trained_run.path).items()}
    members[f"{trained_run.id}/metrics.json"] = b"{"  # found once unpacked into the runs folder
    (tmp_path / "bad.zip").write_bytes(zip_bytes(members))
    runs = tmp_path / "line" / "runs"
    assert main(["runs", "--runs", str(runs), "--import", str(tmp_path / "bad.zip")]) == 2
    assert "metrics.json is damaged" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.zip"]  # neither runs/ nor line/
    runs.mkdir(parents=True)  # one that was there stays
    with pytest.raises(RunError, match="metrics.json is damaged"):
        import_run(tmp_path / "bad.zip", RunStore(runs))
    assert runs.is_dir() and list(runs.iterdir()) == []


def members_with_model_edits(run: Run, arrays: dict[str, bytes] | None = None, files: dict[str, bytes] | None = None,
                             **meta_edits) -> dict[str, bytes]:
    """The run's archive members with ``model/arrays.npz`` replaced by ``arrays`` (member name -> bytes), other
    model ``files`` added and ``model.json``'s top-level entries changed, its SHA-256 digests and ``config.json``'s
    of it brought up to date (as anyone editing a file can); changed ``params`` are changed in ``config.json`` too,
    which records them."""
    members = {f"{run.id}/{name}": content for name, content in files_of(run.path).items()}
    members.update({f"{run.id}/model/{name}": content for name, content in (files or {}).items()})
    if arrays is not None:
        members[f"{run.id}/model/arrays.npz"] = zip_of(arrays)
    meta = {**json.loads(members[f"{run.id}/model/model.json"]), **meta_edits}
    meta["file_sha256"] = {name: hashlib.sha256(members[f"{run.id}/model/{name}"]).hexdigest()
                           for name in meta["file_sha256"]}
    meta[CONTENT_DIGEST_KEY] = content_sha256(meta)
    members[f"{run.id}/model/model.json"] = json.dumps(meta).encode()
    config = json.loads(members[f"{run.id}/config.json"])
    config["model_sha256"] = hashlib.sha256(members[f"{run.id}/model/model.json"]).hexdigest()
    if "params" in meta_edits:
        config["params"] = meta_edits["params"]
    members[f"{run.id}/config.json"] = json.dumps(config).encode()
    return members


def test_a_model_edited_so_that_it_cannot_score_is_refused_on_import_with_what_is_wrong(trained_run, tmp_path):
    """Found by review: an array member named without .npy reached the model as raw bytes (faiss read one as its
    own index format, allocating what it claimed; others crashed load, export and evaluate with AttributeError);
    a region that is no object, a smoothing sigma of 1e7 (a 100 GB blur), normalisation constants of 0 or NaN, a
    size of 64.5 px, a whole-number parameter of 2.5, or statistics of the wrong number of positions were
    imported, and failed or misled only at the first image scored."""
    store = RunStore(tmp_path / "runs")
    with zipfile.ZipFile(trained_run.path / "model" / "arrays.npz") as packed:
        arrays = {name: packed.read(name) for name in packed.namelist()}
    meta = json.loads((trained_run.path / "model" / "model.json").read_text())
    preprocessing, params = meta["preprocessing"], meta["params"]
    positions = np.load(trained_run.path / "model" / "arrays.npz")["mean"].shape[0]
    cut = {name: np.load(trained_run.path / "model" / "arrays.npz")[name][:5] for name in ("mean", "inv_covariance")}
    edits = [
        ({**arrays, "knn_index": npy_claiming((61,))}, {}, "nearest-neighbour index is in faiss's own format"),
        ({**{k: v for k, v in arrays.items() if k != "mean.npy"}, "mean": b"garbage"}, {},
         "arrays.npz is damaged: it holds 'mean', which is not an array file written by VQI"),
        (None, {"region": "x", "files": {"region.png": InspectionRegion(np.ones((64, 64), bool)).to_png()}},
         "its region is 'x', not the description of region.png"),
        (None, {"params": {**params, "smoothing_sigma": 1e7}}, "saved with a map smoothing sigma of 1e+07 px, "
                                                              "above the 256 px this version of VQI accepts"),
        (None, {"params": {**params, "n_features": 2.5}}, "parameter n_features of padim must be a whole number"),
        (None, {"preprocessing": {**preprocessing, "std": [0, 0, 0]}}, "std must be at least 1e-06 for every channel"),
        (None, {"preprocessing": {**preprocessing, "std": [0.2, 1e-300, 0.2]}},  # 0 in float32: it passed as a
         "std must be at least 1e-06 for every channel"),  # number above 0 (bad-input review of 2026-12-05)
        (None, {"preprocessing": {**preprocessing, "mean": [float("nan")] * 3}}, "mean must be three finite numbers"),
        (None, {"preprocessing": {**preprocessing, "mean": "abc"}}, "mean must be three finite numbers"),
        (None, {"preprocessing": {**preprocessing, "height": 64.5}}, "height must be a whole number of pixels"),
        ({**arrays, **{f"{name}.npy": npy_bytes(array) for name, array in cut.items()}}, {},
         "cannot score an image: the padim model holds statistics of 5 positions, but its features have"),
    ]
    assert positions != 5
    for new_arrays, meta_edits, reason in edits:
        with pytest.raises(RunError) as refused:
            import_run(zip_bytes(members_with_model_edits(trained_run, new_arrays, **meta_edits)), store)
        assert reason in str(refused.value), (reason, refused.value)
        assert_nothing_added(store)
    assert import_run(zip_bytes(members_with_model_edits(trained_run, arrays)), store).id == trained_run.id


def test_a_run_whose_backbone_weights_are_not_here_imports_without_scoring(trained_run, tmp_path, monkeypatch):
    """An offline machine without a ResNet's torchvision weights may still import such a run to see its scores:
    scoring an image would download them, so the import does not score one there."""
    monkeypatch.setattr(archive, "backbone_available", lambda name: False)
    with zipfile.ZipFile(trained_run.path / "model" / "arrays.npz") as packed:
        arrays = {name: packed.read(name) for name in packed.namelist()}
    saved = np.load(trained_run.path / "model" / "arrays.npz")
    cut = {f"{name}.npy": npy_bytes(saved[name][:5]) for name in ("mean", "inv_covariance")}
    imported = import_run(zip_bytes(members_with_model_edits(trained_run, {**arrays, **cut})),
                          RunStore(tmp_path / "runs"))
    assert imported.id == trained_run.id  # the statistics that do not fit are found where it scores


@pytest.mark.parametrize("score", [float("nan"), float("inf")])
def test_a_run_whose_model_scores_an_image_not_finite_is_refused_on_import(trained_run, tmp_path, monkeypatch, score):
    """Found by mutation testing (untested): a model whose saved state makes it score NaN or infinity would be
    listed, and every part it inspected judged by that score."""
    model_class = type(trained_run.load_model())
    monkeypatch.setattr(model_class, "predict", lambda self, images, progress=None: SimpleNamespace(
        scores=np.full(len(images), score)))
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunError, match=f"its model scores an image {score}: its saved state is damaged"):
        import_run(run_archive_bytes(trained_run), store)
    assert_nothing_added(store)


def test_a_map_just_over_the_limit_is_refused_before_it_is_read(trained_run, tmp_path):
    """Found by mutation testing: the map limit was tested only with a claim far above it."""
    maps = dict(np.load(trained_run.path / "maps.npz"))
    first = sorted(maps)[0]
    claim = npy_claiming((4097, 4096))  # float32: 64 MiB and one row
    packed = zip_of({f"{first}.npy": claim, **{f"{key}.npy": npy_bytes(maps[key]) for key in sorted(maps)[1:]}})
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunError, match="64 MB at most"):
        import_run(run_archive_bytes_with(trained_run, {"maps.npz": packed}), store)
    assert_nothing_added(store)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("action", ["export", "import", "describe"])
def test_an_interrupted_runs_command_says_what_it_left_as_it_was(runs_store, tmp_path, capsys, monkeypatch, action):
    """Found by a CLI review: an export or import interrupted late said only "interrupted"."""
    run = runs_store.list()[0]
    archive_path = export_run_file(run, tmp_path / "run.zip")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("vqi_core.cli.export_run_file", interrupted)
    monkeypatch.setattr("vqi_core.cli.import_run", interrupted)
    monkeypatch.setattr(Run, "describe", interrupted)
    args = {"export": ["--export", run.id, "--out", str(tmp_path / "again.zip")],
            "import": ["--import", str(archive_path)], "describe": ["--describe", run.id, "QA"]}[action]
    assert main(["runs", "--runs", str(runs_store.root), *args]) == 130
    assert capsys.readouterr().err == "interrupted: " + {
        "export": f"{tmp_path / 'again.zip'} was not written (a file there before is as it was)",
        "import": "no run was imported", "describe": "the description is as it was"}[action] + "\n"


def test_an_export_interrupted_once_written_says_it_was_written(runs_store, tmp_path, capsys, monkeypatch):
    """Found by review: Ctrl+C while the SHA-256 of the written archive was computed said "was not written"."""
    import signal

    run = runs_store.list()[0]
    real = archive.archive_sha256

    def sha_then_interrupt(path):
        signal.raise_signal(signal.SIGINT)
        return real(path)

    monkeypatch.setattr("vqi_core.cli.archive_sha256", sha_then_interrupt)
    target = tmp_path / "run.zip"
    assert main(["runs", "--runs", str(runs_store.root), "--export", run.id, "--out", str(target)]) == 130
    captured = capsys.readouterr()
    assert captured.err == f"interrupted once the archive was written: {target}\n" and target.is_file()
    assert f"SHA-256 {real(target)}" in captured.out


def test_an_archive_of_the_file_limit_and_a_run_name_with_an_emoji_sequence_are_accepted(monkeypatch):
    """Found by mutation testing: the boundaries of what an import accepts were untested (an archive of exactly
    the file limit, a zero-width joiner inside an emoji, which is no hidden control character)."""
    run_id = "20261205-000000-w\U0001f469\u200d\U0001f52c-padim-0000"
    members = [zipfile.ZipInfo(f"{run_id}/{name}") for name in archive.REQUIRED_FILES]
    monkeypatch.setattr(archive, "MAX_FILES", len(members))
    assert archive._checked_members(members)[0] == run_id
    monkeypatch.setattr(archive, "MAX_FILES", len(members) - 1)
    with pytest.raises(RunError, match=f"holds {len(members)} files; a run archive holds at most {len(members) - 1}"):
        archive._checked_members(members)


def test_json_files_larger_than_a_run_writes_are_refused_on_import_and_named_when_listed(trained_run, tmp_path,
                                                                                        monkeypatch, capsys):
    """Found by a robustness review: an archive of 2 MB holding a 512 MB description.json imported, and every later
    `runs` listing then took minutes and gigabytes, and printed the whole text."""
    monkeypatch.setattr(runs_module, "MAX_JSON_BYTES", 100_000)
    store = RunStore(tmp_path / "runs")
    padded_report = (trained_run.path / "report.json").read_bytes() + b" " * 100_000  # still valid JSON
    long_text = json.dumps({"text": "a" * 3000}).encode()
    for name, content, reason in [
            ("report.json", padded_report, r"report.json is damaged: it holds [\d,]+ bytes, more than the 100,000"),
            ("description.json", json.dumps({"text": "a" * 70_000}).encode(),  # refused before it is unpacked
             r"the archive's description.json unpacks to [\d,]+ bytes, more than the 65,536"),
            ("description.json", long_text, "the description has 3,000 characters, more than the 2,000")]:
        members = {f"{trained_run.id}/{file}": bytes_ for file, bytes_ in files_of(trained_run.path).items()}
        with pytest.raises(RunError, match=reason):
            import_run(zip_bytes({**members, f"{trained_run.id}/{name}": content}), store)
        assert_nothing_added(store)
    shutil.copytree(trained_run.path, store.root / trained_run.id)
    description = store.root / trained_run.id / "description.json"
    description.write_bytes(long_text)
    assert main(["runs", "--runs", str(store.root)]) == 0
    listed = capsys.readouterr()
    assert "the description has 3,000 characters" in listed.out + listed.err and "a" * 100 not in listed.out
    at_most = b'{"text": "line 3"}'
    description.write_bytes(at_most + b" " * (runs_module.MAX_DESCRIPTION_BYTES - len(at_most)))  # the limit: read
    assert Run(description.parent).description == "line 3"
    description.write_bytes(at_most + b" " * (runs_module.MAX_DESCRIPTION_BYTES + 1 - len(at_most)))
    with pytest.raises(RunError, match="it holds 65,537 bytes, more than the 65,536"):
        Run(description.parent).description


@pytest.mark.parametrize("fault, said", [(errno.ENOSPC, "No space left on device"),
                                         (errno.EDQUOT, "Disk quota exceeded"), (errno.EROFS, "Read-only file system"),
                                         (errno.EACCES, "Permission denied"), (errno.EFBIG, "File too large")])
def test_an_import_onto_a_full_disk_names_the_runs_folder_not_the_archive(trained_run, tmp_path, monkeypatch, fault,
                                                                          said):
    """Found by a robustness review: unpacking onto a full disk said "the archive's run ... cannot be used"."""
    store = RunStore(tmp_path / "runs")
    store.root.mkdir()
    copy = shutil.copyfileobj

    def disk_full_after_a_few_files(source, target, *args, **kwargs):
        if len(list(store.root.rglob("*"))) > 4:
            raise OSError(fault, said)
        return copy(source, target, *args, **kwargs)

    monkeypatch.setattr(archive.shutil, "copyfileobj", disk_full_after_a_few_files)
    with pytest.raises(RunError) as refused:
        import_run(run_archive_bytes(trained_run), store)
    assert str(refused.value) == (f"the run {trained_run.id} could not be written into the runs folder {store.root}: "
                                  f"{said}")
    assert_nothing_added(store)


def test_runs_names_staging_folders_and_an_import_removes_those_an_hour_old(trained_run, tmp_path, capsys):
    """Found by a robustness review: a killed import left a whole copy of its run in a hidden folder that `runs`
    never named, and only a training or a deletion removed (an hour later)."""
    store = RunStore(tmp_path / "runs")
    old, young = store.root / ".incomplete-20261206-000000-x-abc", store.root / ".incomplete-20261206-000001-y-def"
    deleting = store.root / ".incomplete-deleted-20261206-000002-z-ghi"  # a deletion stopped half-way
    for folder in (old, young, deleting):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    (store.root / ".incomplete-a-file").write_text("not a folder")  # not a staging folder: not named
    hours_ago = time.time() - 2 * runs_module.STALE_STAGING_SECONDS
    os.utime(old, (hours_ago, hours_ago))
    assert main(["runs", "--runs", str(store.root)]) == 0
    said = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in said] == [f"not a run yet: {old}", f"not a run yet: {young}",
                                                     f"not a run yet: {deleting}"]
    import_run(run_archive_bytes(trained_run), store)
    assert not old.exists() and not deleting.exists() and young.exists() and store.get(trained_run.id)


def test_an_archive_whose_threshold_or_predictions_were_edited_is_refused(trained_run, tmp_path):
    """An edited threshold.json had been taken for a threshold save stopped half way: scores.csv was judged again at
    it and the history showed a threshold nobody saved under QA's last reason; an edited prediction had been kept
    (command review). An export holds no half-finished save."""
    info = json.loads((trained_run.path / "threshold.json").read_text())
    store = RunStore(tmp_path / "runs")
    edited = run_archive_bytes_with(trained_run, {"threshold.json": json.dumps({**info, "threshold": 1.0}).encode()})
    with pytest.raises(RunError, match=r"threshold.json is damaged or was edited by hand: its content is not the one "
                                       r"VQI saved"):
        import_run(edited, store)
    assert_nothing_added(store)
    older = {key: value for key, value in info.items() if key != "content_sha256"}  # as VQI wrote it before 2026-12-07
    config = json.loads((trained_run.path / "config.json").read_text())
    versions = {key: value for key, value in config["versions"].items() if key != "vqi_core source"}  # and a run
    edited = run_archive_bytes_with(trained_run, {  # trained before then
        "threshold.json": json.dumps({**older, "threshold": 1.0}).encode(),
        "config.json": json.dumps({**config, "versions": versions}).encode()})
    with pytest.raises(RunError, match=r"its scores.csv judged the images at the threshold .*, but its "
                                       r"threshold.json saves 1: an exported run holds no threshold save half done"):
        import_run(edited, store)
    assert_nothing_added(store)
    scores = trained_run.predictions()
    flipped = {"good": "defective", "defective": "good"}[scores.loc[0, "prediction"]]
    scores.loc[0, "prediction"] = flipped
    edited = run_archive_bytes_with(trained_run, {"scores.csv": scores.to_csv(index=False).encode()})
    with pytest.raises(RunError, match=rf"its scores.csv says {re.escape(scores.loc[0, 'image'])} is '{flipped}', "
                                       rf"but its score .* makes it .*: the file was edited"):
        import_run(edited, store)
    assert_nothing_added(store)
    assert import_run(run_archive_bytes_with(trained_run, {}), store).id == trained_run.id  # untouched: imported


def test_an_archive_whose_record_unpacks_beyond_its_limit_is_refused_before_anything_is_unpacked(trained_run, tmp_path,
                                                                                                monkeypatch):
    """A 2.5 GiB report.json of spaces, packed into 8 MB, had been written to the runs folder's disk before the
    import refused it (archive review): the sizes the archive declares are checked first."""
    padded = b"{" + b" " * (MAX_JSON_BYTES + 1) + b"}"
    written = []
    monkeypatch.setattr(shutil, "copyfileobj", lambda *args, **kwargs: written.append(args))
    with pytest.raises(RunError, match=f"the archive's report.json unpacks to {len(padded):,} bytes, more than the "
                                       f"{MAX_JSON_BYTES:,} such a file may have"):
        import_run(run_archive_bytes_with(trained_run, {"report.json": padded}), RunStore(tmp_path / "line"))
    assert not written and not (tmp_path / "line").exists()


@pytest.mark.parametrize("spelt", ["{id}\u00a0", "{id} ", "cyrillic e", "{id_upper}"])
def test_an_archive_whose_run_reads_like_a_run_already_there_is_refused(trained_run, tmp_path, spelt):
    """A run id with a no-break space, a trailing space or a Cyrillic "е" was imported beside the run it copies,
    and the listing, Home and the sidebar showed four runs alike (archive review)."""
    store = RunStore(tmp_path / "line")
    import_run(run_archive_bytes(trained_run), store)
    run_id = {"cyrillic e": trained_run.id.replace("e", "\u0435", 1)}.get(
        spelt, spelt.format(id=trained_run.id, id_upper=trained_run.id.upper()))
    assert run_id != trained_run.id
    config = json.loads((trained_run.path / "config.json").read_text())
    members = {f"{run_id}/{name}": content for name, content in files_of(trained_run.path).items()}
    members[f"{run_id}/config.json"] = json.dumps({**config, "run_id": run_id}).encode()
    with pytest.raises(RunError, match=f"reads like the run '{trained_run.id}' already in"):
        import_run(zip_bytes(members), store)
    assert [run.id for run in store.list()] == [trained_run.id]


def test_a_member_whose_compressed_data_is_damaged_is_named(trained_run, tmp_path):
    """zlib's "invalid code lengths set" had been all the import said of a member damaged at its start (archive
    review): which member is named."""
    data = bytearray(run_archive_bytes(trained_run))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as packed:
        member = next(info for info in packed.infolist() if info.filename.endswith("/scores.csv"))
    data[member.header_offset + 30 + len(member.filename.encode())] ^= 0xFF  # the deflate stream's first byte
    with pytest.raises(RunError, match="cannot be used: its scores.csv cannot be unpacked \\(damaged\\)"):
        import_run(bytes(data), RunStore(tmp_path / "line"))
    assert not (tmp_path / "line" / trained_run.id).exists()
