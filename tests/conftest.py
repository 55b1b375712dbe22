"""Shared fixtures: a small synthetic category, one run trained per session, and the dashboard pointed at them."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd
import pytest
import torch
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from synthetic import SMALL_METHODS, defect_split, write_mvtec_dataset
import vqi_core.runs
from vqi_core.methods import AnomalyModel, create_model
from vqi_core.pipeline import RunConfig, train_run
from vqi_core.runs import Run, RunStore

APP = Path(__file__).resolve().parents[1] / "app.py"
#: a light method with parameters that fit and evaluate the synthetic category in about a second
FAST_METHOD = "padim"
FAST_PARAMS = {"image_size": [64, 64], "jit": False}
#: torch's thread count when the tests start, which the ``one_thread`` fixture lowers for some modules
SESSION_THREADS = torch.get_num_threads()


@pytest.fixture(autouse=True)
def ctrl_c_as_in_a_terminal() -> Iterator[None]:
    """Python's own Ctrl+C handler during each test, as in a terminal: a shell that starts the tests in the
    background leaves SIGINT ignored, which VQI then respects, and the tests of what Ctrl+C does would fail
    (``assert 0 == 130``)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A dataset root holding one synthetic category ``widget`` (64x64 textures, blob/scratch defects, masks)."""
    root = tmp_path_factory.mktemp("data")
    write_mvtec_dataset(root / "widget", n_train=12, n_test_good=4, n_per_defect=5)  # 14 test images: 2 pages
    return root


@pytest.fixture
def access_by_mode_bits(monkeypatch) -> None:
    """Run folders' permissions judged by their mode bits, as for a user who is not root: root may write into
    a read-only folder, and the tests run as root in CI."""
    if os.geteuid() == 0:
        monkeypatch.setattr(vqi_core.runs.os, "access",
                            lambda path, mode: not (mode & os.W_OK) or bool(os.stat(path).st_mode & 0o200))


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module: tiny tensors gain nothing from threads, and on a busy machine
    waiting threads cost seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def small_fit() -> Callable[[str], tuple[AnomalyModel, dict[str, list], list[tuple[str, int, int]]]]:
    """``small_fit(method)``: that method with SMALL_METHODS settings fitted once per session on
    :func:`defect_split` data; returns the model, the data and the progress calls of its fit."""
    fitted: dict[str, tuple] = {}

    def get(method: str) -> tuple[AnomalyModel, dict[str, list], list[tuple[str, int, int]]]:
        if method not in fitted:
            params = SMALL_METHODS[method]
            data, calls = defect_split(params["image_size"][0]), []
            model = create_model(method, **params).fit(data["train"], progress=lambda *call: calls.append(call))
            fitted[method] = (model, data, calls)
        return fitted[method]

    return get


@pytest.fixture(scope="session")
def trained_run(synthetic_root, tmp_path_factory) -> Run:
    """One run of FAST_METHOD on ``widget``, trained once per test session (copy it before changing it).

    Trained on the session's thread count, which the run records: first asked for by a ``one_thread`` module, it
    had recorded one thread, and a later test comparing the record with the threads it runs on failed."""
    config = RunConfig(str(synthetic_root), FAST_METHOD, FAST_PARAMS, category="widget")
    threads = torch.get_num_threads()
    torch.set_num_threads(SESSION_THREADS)
    try:
        return train_run(config, tmp_path_factory.mktemp("session-runs"))
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def runs_store(tmp_path, trained_run) -> RunStore:
    """A private runs folder holding a copy of the session's run: tests may save thresholds or delete it."""
    root = tmp_path / "runs"
    shutil.copytree(trained_run.path, root / trained_run.id)
    return RunStore(root)


@pytest.fixture
def app_env(monkeypatch, synthetic_root, runs_store) -> RunStore:
    """Point the dashboard at the synthetic dataset and the private runs folder (VQI_DATA_ROOT, VQI_RUNS_DIR)."""
    monkeypatch.setenv("VQI_DATA_ROOT", str(synthetic_root))
    monkeypatch.setenv("VQI_RUNS_DIR", str(runs_store.root))
    return runs_store


@pytest.fixture
def downloads(monkeypatch) -> Callable[[AppTest, str], tuple[str | None, bytes]]:
    """``downloads(app, key)``: the file name and the bytes that the download button ``key`` of the app's last run
    gives when clicked. Streamlit calls a download's data callable only on a click, which AppTest cannot make:
    the callables are recorded as the buttons register them."""
    registered: dict[str, tuple[str | None, Callable[[], Any]]] = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **options):
        file_id = register(self, data_callable, mimetype, coordinates, file_name, **options)
        registered[file_id] = (file_name, data_callable)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)

    def clicked(app: AppTest, key: str) -> tuple[str | None, bytes]:
        [button] = [button for button in app.get("download_button") if button.key == key]
        file_name, data = registered[button.proto.deferred_file_id]
        content = data()
        return file_name, content.encode() if isinstance(content, str) else content

    return clicked


@pytest.fixture
def open_page(app_env) -> Callable[..., AppTest]:
    """``open_page(page=None, **session_state)``: the dashboard run once, then switched to ``ui/pages/<page>``."""
    def open_(page: str | None = None, **session_state: Any) -> AppTest:
        app = AppTest.from_file(str(APP), default_timeout=60)
        for key, value in session_state.items():
            app.session_state[key] = value
        app.run()
        if page is not None:
            app.switch_page(f"ui/pages/{page}").run()
        return app

    return open_


def shown_table(app: AppTest, column: str) -> pd.DataFrame:
    """The app's first static table (``st.table``) with ``column``, each cell as it reads on the page: its cells are
    markdown, which pages escape (``common.as_text``) so that typed texts show as typed."""
    frame = next(table.value for table in app.table if column in table.value.columns)
    return frame.map(lambda cell: html.unescape(re.sub(r"\\(.)", r"\1", cell)))
