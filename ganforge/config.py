"""Run configuration: engine settings and recipe hyperparameters, merged from
recipe defaults < config file (TOML or JSON) < explicit arguments."""

from __future__ import annotations

import difflib
import json
import tomllib
from pathlib import Path

from .errors import GanforgeError

# Engine settings every run has; a recipe's ``train_defaults`` overrides these defaults.
ENGINE_DEFAULTS = {
    "dataset": "mnist-5k",
    "data_root": None,
    "steps": 1000,
    "epochs": None,
    "batch_size": 64,
    "seed": 0,
    "sample_every": 500,
    "checkpoint_every": 1000,
    "log_every": 50,
    "eval_every": 0,
    "grid_size": 64,
    "num_workers": 0,
    "precision": "fp32",
    "ema": 0.0,
    "compile": False,
    "channels_last": False,
    "sync_bn": False,
}

# Types of the settings whose default is None.
ENGINE_TYPES = {"epochs": 0, "data_root": ""}

ENGINE_HELP = {
    "dataset": "dataset plugin (ganforge list datasets)",
    "data_root": "folder for datasets that read or download files",
    "steps": "training iterations (one batch each)",
    "epochs": "train this many passes over the data instead of --steps",
    "batch_size": "images per batch",
    "seed": "random seed (weights, latent draws and data order)",
    "sample_every": "write a sample grid every N steps",
    "checkpoint_every": "write checkpoints every N steps",
    "log_every": "log losses to metrics.jsonl every N steps",
    "eval_every": "log the recipe's evaluation figures every N steps (0: only at the end)",
    "grid_size": "images in each sample grid",
    "num_workers": "DataLoader workers for datasets read from disk",
    "precision": "fp32, bf16 or fp16 (autocast; fp16 adds a gradient scaler per optimizer)",
    "ema": "keep an exponential moving average of the generator with this decay (e.g. 0.999; 0: off); "
           "G.ckpt then holds the average",
    "compile": "torch.compile every network in place (slow to start; pays off on long GPU runs)",
    "channels_last": "keep convolutional networks and image batches in channels-last memory format "
                     "(faster convolutions on GPUs with tensor cores)",
    "sync_bn": "distributed runs: batch norm statistics over the global batch, not each process's share "
               "(CUDA only)",
}


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


def coerce(key: str, value, default):
    """Give ``value`` the type of ``default`` (strings from the command line included)."""
    if default is None or value is None:
        return value
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
    else:
        try:
            if kind is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            if kind is int and isinstance(value, str):
                return int(value)
            if kind is str and not isinstance(value, str):
                raise ValueError
            return kind(value)
        except (TypeError, ValueError):
            pass
    raise GanforgeError(f"'{key}' must be a {kind.__name__}, got {value!r}")


def split_settings(values: dict, hparams: dict, where: str) -> tuple[dict, dict]:
    """Sort flat settings into (engine settings, recipe hyperparameters)."""
    engine, params = {}, {}
    for key, value in values.items():
        key = key.replace("-", "_")
        if key == "params" and isinstance(value, dict):
            params.update({k.replace("-", "_"): v for k, v in value.items()})
        elif key in ENGINE_DEFAULTS:
            engine[key] = value
        elif key in hparams:
            params[key] = value
        else:
            raise GanforgeError(unknown_setting(key, [*ENGINE_DEFAULTS, *hparams], where))
    return engine, params


def unknown_setting(key: str, choices, where: str) -> str:
    close = difflib.get_close_matches(key, list(choices), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown setting '{key}' in {where}{hint}"


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
    """The full run configuration: ``{"engine": {...}, "params": {...}}``."""
    hparams = recipe_cls.hparams
    engine = {**ENGINE_DEFAULTS, **recipe_cls.train_defaults}
    chosen = {k: default for k, (default, _) in hparams.items()}
    if config_file is not None:
        file_engine, file_params = split_settings(read_config_file(config_file), hparams, str(config_file))
        engine.update(file_engine)
        chosen.update(file_params)
    for key, value in params.items():
        if key not in hparams:
            raise GanforgeError(unknown_setting(key, hparams, "recipe parameters"))
        chosen[key] = value
    engine.update({k: v for k, v in overrides.items() if v is not None})
    if overrides.get("epochs") is not None:
        engine["steps"] = None
    elif overrides.get("steps") is not None:
        engine["epochs"] = None
    chosen = {k: coerce(k, v, hparams[k][0]) for k, v in chosen.items()}
    engine = {k: coerce(k, v, ENGINE_TYPES.get(k, ENGINE_DEFAULTS[k])) for k, v in engine.items()}
    for key in ("batch_size", "sample_every", "checkpoint_every", "log_every", "grid_size"):
        if engine[key] is not None and int(engine[key]) < 1:
            raise GanforgeError(f"'{key}' must be at least 1, got {engine[key]}")
    for key in ("steps", "epochs", "eval_every"):
        if engine[key] is not None and int(engine[key]) < 0:
            raise GanforgeError(f"'{key}' must not be negative, got {engine[key]}")
    return {"engine": engine, "params": chosen}


def normalize_keys(params: dict) -> dict:
    """``learning-rate`` and ``learning_rate`` name the same parameter."""
    return {str(k).replace("-", "_"): v for k, v in params.items()}
