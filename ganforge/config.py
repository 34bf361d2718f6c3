"""Run configuration: engine settings and recipe hyperparameters, merged from
recipe defaults < config file (TOML or JSON) < explicit arguments."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from .errors import GanforgeError
from .settings import BY_NAME, canonical, check_all, coerce, defaults, unknown_setting


def read_config_file(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"config file '{path}' does not exist")
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GanforgeError(f"cannot parse config file '{path}': {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise GanforgeError(f"config file '{path}' must hold a table of settings")
    return data


def coerce_param(key: str, value, default):
    """A recipe parameter given the type of its default (``None`` defaults take anything)."""
    if default is None or value is None:
        return value
    return coerce(key, value, type(default))


def split_settings(values: dict, hparams: dict, where: str) -> tuple[dict, dict]:
    """Sort flat settings into (engine settings, recipe hyperparameters)."""
    engine, params = {}, {}
    for key, value in values.items():
        key = key.replace("-", "_")
        if key == "params" and isinstance(value, dict):
            params.update({k.replace("-", "_"): v for k, v in value.items()})
        elif canonical(key) in BY_NAME:
            engine[canonical(key)] = value
        elif key in hparams:
            params[key] = value
        else:
            raise GanforgeError(unknown_setting(key, [*BY_NAME, *hparams], where))
    return engine, params


def parse_assignments(items) -> dict:
    """``["lr=1e-4", "upsampler=resize-conv"]`` -> dict of strings."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GanforgeError(f"expected KEY=VALUE, got '{item}'")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def resolve(recipe_cls, overrides: dict, params: dict, config_file=None) -> dict:
    """The full run configuration, every value checked: ``{"engine": {...}, "params": {...},
    "set_by_user": [...]}``, the last naming the recipe parameters a file or ``params`` set.

    Engine settings come from ``ganforge.settings`` (with the recipe's ``train_defaults``),
    then the config file, then ``overrides``; recipe parameters from the recipe's
    ``hparams``, then the file, then ``params``."""
    hparams = recipe_cls.hparams
    engine = defaults(recipe_cls.train_defaults)
    chosen = {k: default for k, (default, _) in hparams.items()}
    file_params: dict = {}
    if config_file is not None:
        file_engine, file_params = split_settings(read_config_file(config_file), hparams, str(config_file))
        engine.update(file_engine)
        chosen.update(file_params)
    for key, value in params.items():
        if key not in hparams:
            # a misspelled training setting lands here from the command line: suggest those too
            raise GanforgeError(unknown_setting(key, [*hparams, *BY_NAME], "recipe parameters"))
        chosen[key] = value
    given = {canonical(k): v for k, v in overrides.items() if v is not None}
    engine.update(given)
    if given.get("epochs") is not None:
        engine["steps"] = None
    elif given.get("steps") is not None:
        engine["epochs"] = None
    if engine["steps"] is None and engine["epochs"] is None:
        raise GanforgeError("give steps or epochs")
    return {"engine": check_all(engine), "params": {k: coerce_param(k, v, hparams[k][0]) for k, v in chosen.items()},
            "set_by_user": sorted(set(params) | set(file_params))}


def normalize_keys(params: dict) -> dict:
    """``learning-rate`` and ``learning_rate`` name the same parameter."""
    return {str(k).replace("-", "_"): v for k, v in params.items()}
