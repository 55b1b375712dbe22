"""Registry of inspection methods: one module per method, one shared interface."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Collection

from ..system import home_expanded
from .base import MODEL_JSON, AnomalyModel, DamagedModel, Prediction, check_content_digest, check_param_kinds, \
    constructor_defaults, plain_value

# method name -> "module:Class" (imported on first use)
METHOD_PATHS: dict[str, str] = {
    "patchcore": "vqi_core.methods.patchcore:PatchCore",
    "padim": "vqi_core.methods.padim:Padim",
    "spade": "vqi_core.methods.spade:Spade",
    "dfm": "vqi_core.methods.dfm:DFM",
    "cam": "vqi_core.methods.cam:CamClassifier",
}
# method name -> the name people know it by (shown by the dashboard; the CLI and the run files keep the key)
METHOD_TITLES: dict[str, str] = {"patchcore": "PatchCore", "padim": "PaDiM", "spade": "SPADE", "dfm": "DFM",
                                 "cam": "CAM classifier"}


def method_class(name: str) -> type[AnomalyModel]:
    """The class implementing method ``name``."""
    if name not in METHOD_PATHS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHOD_PATHS)}")
    module_name, class_name = METHOD_PATHS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def method_title(name: object) -> str:
    """The name method ``name`` is known by ("PaDiM" for ``padim``); another text as written, and "unknown method"
    for anything else (a hand-edited run's config)."""
    return METHOD_TITLES.get(name, name) if isinstance(name, str) else "unknown method"


def list_methods() -> list[str]:
    """Names of all methods."""
    return list(METHOD_PATHS)


def parameter_defaults(method: str) -> dict[str, Any]:
    """Defaults of every constructor keyword of ``method``: the shared ones, overridden by the method's own."""
    return constructor_defaults(method_class(method))


def check_params(method: str, params: dict[str, Any], set_elsewhere: Collection[str] = ()) -> None:
    """Refuse a parameter that ``method`` does not have, or a value of the wrong kind (a text for a number, a
    number for true/false, NaN), with the parameter's name: before any image is read, not as a traceback from
    deep inside the fit. The ranges are checked by each method's constructor. ``set_elsewhere``: parameters the
    caller sets another way (a run's seed), left out of the list of parameters a refusal gives."""
    defaults = parameter_defaults(method)
    for key in params:
        if key not in defaults:
            listed = ", ".join(sorted(set(defaults) - set(set_elsewhere)))
            raise ValueError(f"{key!r} is not a parameter of {method}; its parameters: {listed}")
    check_param_kinds(method, defaults, params)


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
    folder = home_expanded(folder)
    meta_path = folder / MODEL_JSON
    if not meta_path.is_file():  # a hint where the usual mistakes are (API review)
        if folder.name == MODEL_JSON and folder.is_file():
            raise FileNotFoundError(f"{folder} is a model's {MODEL_JSON}: give the folder that holds it, "
                                    f"{folder.parent}")
        if (folder / "model" / MODEL_JSON).is_file():
            raise FileNotFoundError(f"{folder} holds no saved model ({MODEL_JSON} missing): it looks like a run "
                                    f"folder, whose model is in {folder / 'model'} (a run's load_model() loads it)")
        raise FileNotFoundError(f"{folder} holds no saved model ({MODEL_JSON} missing)")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, RecursionError) as exc:  # undecodable, not JSON, a 5,000-digit number; nested too deep
        raise DamagedModel(f"the model in {folder} cannot be loaded: {MODEL_JSON} is damaged (not JSON: {exc})") \
            from None
    if isinstance(meta, dict) and isinstance(meta.get("method"), str) and meta["method"] not in METHOD_PATHS:
        raise DamagedModel(f"the model in {folder} cannot be loaded: {MODEL_JSON} names the method "
                           f"{meta['method']!r}, which this version of VQI does not have (it has "
                           f"{', '.join(METHOD_PATHS)})")  # it had said the method was missing (review)
    if not (isinstance(meta, dict) and meta.get("method") in METHOD_PATHS and isinstance(meta.get("params"), dict)
            and isinstance(meta.get("preprocessing"), dict) and "normalization" in meta):
        raise DamagedModel(f"the model in {folder} cannot be loaded: {MODEL_JSON} is damaged (it lacks the "
                           f"method, its parameters, the preprocessing or the normalisation statistics)")
    try:
        check_content_digest(meta)
    except DamagedModel as exc:
        raise DamagedModel(f"the model in {folder} cannot be loaded: {exc}") from None
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
           "load_model", "method_class", "method_title", "parameter_defaults", "METHOD_PATHS",
           "METHOD_TITLES"]
