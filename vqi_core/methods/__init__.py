"""Registry of inspection methods: one module per method, one shared interface."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np

from .base import MODEL_JSON, AnomalyModel, DamagedModel, Prediction, finite_number

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


def parameter_defaults(method: str) -> dict[str, Any]:
    """Defaults of every constructor keyword of ``method``: the shared ones, overridden by the method's own."""
    defaults: dict[str, Any] = {}
    for function in (AnomalyModel.__init__, method_class(method).__init__):
        for parameter in inspect.signature(function).parameters.values():
            if parameter.default is not parameter.empty:
                defaults[parameter.name] = parameter.default
    return defaults


#: parameters whose default is None, and the kind of value they take
_OPTIONAL_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "layers": ((list, tuple), "a list of one or more layer names"), "global_layer": ((str,), "a layer name"),
    "finetune": ((str,), "a fine-tuning kind"), "finetune_params": ((dict,), "a JSON object of parameters"),
    "knn_params": ((dict,), "a JSON object of parameters"),
}


def check_params(method: str, params: dict[str, Any]) -> None:
    """Refuse a parameter that ``method`` does not have, or a value of the wrong kind (a text for a number, a
    number for true/false, NaN), with the parameter's name: before any image is read, not as a traceback from
    deep inside the fit. The ranges are checked by each method's constructor."""
    defaults = parameter_defaults(method)
    for key, value in params.items():
        if key not in defaults:
            raise ValueError(f"{key!r} is not a parameter of {method}; its parameters: {', '.join(sorted(defaults))}")
        expected = _expected_kind(defaults[key], key, value)
        if expected:
            raise ValueError(f"parameter {key} of {method} must be {expected}, not {value!r}")


def _expected_kind(default: Any, key: str, value: Any) -> str | None:
    """What ``value`` should be, judged by the parameter's default; None when it is of that kind."""
    if default is None:
        if value is None or key not in _OPTIONAL_KINDS:
            return None
        types, kind = _OPTIONAL_KINDS[key]
        ok = isinstance(value, types)
        if ok and key == "layers":  # an empty list would quietly mean the default layers
            ok = len(value) > 0 and all(isinstance(item, str) for item in value)
        return None if ok else kind
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if finite_number(value) and float(value).is_integer() else "a whole number"
    if isinstance(default, float):
        return None if finite_number(value) else "a finite number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a text"
    if isinstance(default, (tuple, list)):
        whole = all(isinstance(item, int) for item in default)  # sizes in pixels
        ok = isinstance(value, (tuple, list)) and len(value) == len(default) and all(
            finite_number(item) and (float(item).is_integer() or not whole) for item in value)
        return None if ok else f"a list of {len(default)} {'whole ' if whole else ''}numbers"
    return None


def plain_value(value: Any) -> Any:
    """``value`` with NumPy numbers and booleans (``np.int64(3)``, ``np.float32(0.5)``, ``np.True_``) turned into
    Python ones, also inside lists, tuples and dicts: a parameter from a NumPy array (a seed loop, a grid search)
    is taken as the number it is, and saved as JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(plain_value(item) for item in value)
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    return value


def create_model(name: str, **params: Any) -> AnomalyModel:
    """A new, unfitted model of method ``name`` with the given constructor parameters (see
    :func:`check_params`; NumPy numbers are taken as Python ones, see :func:`plain_value`)."""
    params = {key: plain_value(value) for key, value in params.items()}
    check_params(name, params)
    defaults = parameter_defaults(name)
    whole = {key: int(value) for key, value in params.items()  # 2.0 for a whole number is 2 (seed, top_k, ...)
             if isinstance(value, float) and isinstance(defaults[key], int) and not isinstance(defaults[key], bool)}
    return method_class(name)(**{**params, **whole})


def load_model(folder: Path | str) -> AnomalyModel:
    """Load a model saved with :meth:`AnomalyModel.save` (JSON + arrays, no pickle). :class:`DamagedModel`
    naming the file when one is damaged or replaced (see :meth:`AnomalyModel.load_from`)."""
    folder = Path(folder)
    meta_path = folder / MODEL_JSON
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder} holds no saved model ({MODEL_JSON} missing)")
    try:
        meta = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedModel(f"the model in {folder} cannot be loaded: {MODEL_JSON} is damaged (not JSON: {exc})") \
            from None
    if not (isinstance(meta, dict) and meta.get("method") in METHOD_PATHS and isinstance(meta.get("params"), dict)
            and isinstance(meta.get("preprocessing"), dict) and "normalization" in meta):
        raise DamagedModel(f"the model in {folder} cannot be loaded: {MODEL_JSON} is damaged (it lacks the "
                           f"method, its parameters, the preprocessing or the normalisation statistics)")
    try:
        check_params(meta["method"], meta["params"])
    except ValueError as exc:
        raise DamagedModel(f"the model in {folder} cannot be loaded: {MODEL_JSON} is damaged ({exc})") from None
    try:
        return method_class(meta["method"]).load_from(folder, meta)
    except DamagedModel as exc:
        raise DamagedModel(f"the model in {folder} cannot be loaded: {exc}") from None
    except (KeyError, TypeError) as exc:  # parameters or preprocessing of the wrong kind
        raise DamagedModel(f"the model in {folder} cannot be loaded: {MODEL_JSON} is damaged (it does not describe "
                           f"a {meta['method']} model; {exc.__class__.__name__}: {exc})") from None


__all__ = ["AnomalyModel", "DamagedModel", "Prediction", "check_params", "create_model", "list_methods",
           "load_model", "method_class", "parameter_defaults", "METHOD_PATHS"]
