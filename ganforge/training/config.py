"""Run configuration: engine settings and recipe hyperparameters, merged from
recipe defaults < config file (TOML or JSON) < explicit arguments."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from ganforge.errors import GanforgeError
from ganforge.contracts.recipe import parameters
from ganforge.training.settings import BY_NAME, canonical, check_all, defaults, turn_off_other_forms, unknown_setting


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


# A run's own config.json (what the engine writes into every run directory) holds these: as a
# config file it reproduces that run.
RUN_CONFIG_KEYS = {"recipe", "engine", "params"}


def from_run_config(data: dict, path, recipe_name: str | None) -> dict:
    """A run's config.json as config-file settings: its engine settings (those it left unset
    keep their defaults) and recipe parameters; how it ran (device, processes) is not a setting.
    A run of another recipe is refused, naming it."""
    if recipe_name is not None and data["recipe"] != recipe_name:
        raise GanforgeError(f"'{path}' is the configuration of a {data['recipe']} run; "
                            f"train {data['recipe']} with it, or give {recipe_name} a config file of its own")
    return {**{k: v for k, v in data["engine"].items() if v is not None}, "params": data["params"]}


def split_settings(values: dict) -> tuple[dict, dict]:
    """Sort flat settings into (engine settings, recipe parameters); the parameters are
    checked against their declarations once the recipe's loss is known."""
    engine, params = {}, {}
    for key, value in values.items():
        key = key.replace("-", "_")
        if key == "params" and isinstance(value, dict):
            params.update({k.replace("-", "_"): v for k, v in value.items()})
        elif canonical(key) in BY_NAME:
            engine[canonical(key)] = value
        else:
            params[key] = value
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


def resolve(recipe_cls, overrides: dict, params: dict, config_file=None, recipe_name: str | None = None) -> dict:
    """The full run configuration, every value checked: ``{"engine": {...}, "params": {...},
    "set_by_user": [...], "settings_by_user": [...]}``, the last two naming the recipe parameters
    and the engine settings a file, ``params`` or ``overrides`` set.

    Engine settings come from ``ganforge.training.settings`` (with the recipe's ``train_defaults``),
    then the config file, then ``overrides``; recipe parameters from the recipe's
    ``hparams`` (and its loss's, ``Loss.hparams``), then the file, then ``params``; each is
    checked against its declaration (type, choices, range)."""
    engine = defaults(recipe_cls.train_defaults)
    file_params: dict = {}
    file_engine: dict = {}
    if config_file is not None:
        data = read_config_file(config_file)
        if RUN_CONFIG_KEYS <= set(data) and all(isinstance(data[k], dict) for k in ("engine", "params")):
            data = from_run_config(data, config_file, recipe_name)
        file_engine, file_params = split_settings(data)
        engine.update(file_engine)
        turn_off_other_forms(engine, file_engine)
    given_params = {**file_params, **params}
    declared = parameters(recipe_cls, given_params.get("loss"))
    for source, where in ((file_params, str(config_file)), (params, "recipe parameters")):
        for key in source:
            if key not in declared:
                # a misspelled training setting lands here from the command line: suggest those too
                raise GanforgeError(unknown_setting(key, [*declared, *BY_NAME], where))
    chosen = {k: p.default for k, p in declared.items()}
    chosen.update(given_params)
    given = {canonical(k): v for k, v in overrides.items() if v is not None}
    engine.update(given)
    turn_off_other_forms(engine, given)  # what the user gives wins over the file's other form
    if engine.get("minutes") is not None and not {"steps", "epochs"} & (set(file_engine) | set(given)):
        engine["steps"] = None  # a time budget alone: the budget sets the steps
    if engine["steps"] is None and engine["epochs"] is None and engine.get("minutes") is None:
        raise GanforgeError("give steps, epochs or minutes")
    return {"engine": check_all(engine), "params": {k: declared[k].check(v) for k, v in chosen.items()},
            "set_by_user": sorted(set(params) | set(file_params)),
            "settings_by_user": sorted(set(file_engine) | set(given))}


def normalize_keys(params: dict) -> dict:
    """``learning-rate`` and ``learning_rate`` name the same parameter."""
    return {str(k).replace("-", "_"): v for k, v in params.items()}
