"""Registry of inspection methods: one module per method, one shared interface."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from .base import MODEL_JSON, AnomalyModel, Prediction

# method name -> "module:Class" (imported on first use)
METHOD_PATHS: dict[str, str] = {
    "patchcore": "vqi_core.methods.patchcore:PatchCore",
    "padim": "vqi_core.methods.padim:Padim",
    "spade": "vqi_core.methods.spade:Spade",
    "dfm": "vqi_core.methods.dfm:DFM",
    "cam": "vqi_core.methods.cam:CamClassifier",
}


def method_class(name: str) -> type[AnomalyModel]:
    """The class implementing method ``name``."""
    if name not in METHOD_PATHS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHOD_PATHS)}")
    module_name, class_name = METHOD_PATHS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def list_methods() -> list[str]:
    """Names of all methods."""
    return list(METHOD_PATHS)


def create_model(name: str, **params: Any) -> AnomalyModel:
    """A new, unfitted model of method ``name`` with the given constructor parameters."""
    return method_class(name)(**params)


def load_model(folder: Path | str) -> AnomalyModel:
    """Load a model saved with :meth:`AnomalyModel.save` (JSON + arrays, no pickle)."""
    folder = Path(folder)
    meta_path = folder / MODEL_JSON
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder} holds no saved model ({MODEL_JSON} missing)")
    meta = json.loads(meta_path.read_text())
    return method_class(meta["method"]).load_from(folder, meta)


__all__ = ["AnomalyModel", "Prediction", "create_model", "list_methods", "load_model", "method_class", "METHOD_PATHS"]
