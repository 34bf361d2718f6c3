"""Every engine setting, declared once.

A ``Setting`` says its name, type, default, help, whether ``--resume`` may change
it and what values it accepts. The ``ganforge train`` options, the keywords of
``ganforge.train``, the keys of a ``--config`` file, ``ganforge show`` and the
resume rules are all derived from ``SETTINGS``; adding a setting means adding
one entry here (and using it where it takes effect).

A recipe changes the defaults for itself with ``train_defaults``. Nothing here
imports torch, so the command line can build its options instantly.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass

from .errors import GanforgeError


@dataclass(frozen=True)
class Setting:
    name: str
    type: type  # int, float, str or bool
    default: object
    help: str
    resumable: bool = False  # may a resumed run change it? (only if it does not alter what is computed)
    minimum: float | None = None
    below: float | None = None  # an exclusive upper bound
    choices: tuple[str, ...] | None = None
    component: str | None = None  # the plugin kind its value names ("datasets")
    flag: str | None = None  # the command-line flag, when not --name-with-dashes
    short: str | None = None  # a one-letter alias ("-b")
    aliases: tuple[str, ...] = ()  # earlier names, still read from config files and saved runs
    optional: bool = False  # may be None ("not used"), although its default is not
    many: bool = False  # a list of values (a repeatable flag; a list or "a,b" in a file)
    adds_to_default: bool = False  # with many: what is given comes on top of the default

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def check(self, value):
        """``value`` in this setting's type (strings from a command line or a file included),
        or a one-line error saying what is allowed."""
        if value is None:
            if self.default is None or self.optional:
                return None
            raise GanforgeError(f"'{self.name}' needs a value")
        if self.many:
            return self._check_many(value)
        value = coerce(self.name, value, self.type)
        if self.choices is not None and value not in self.choices:
            raise GanforgeError(f"'{self.name}' must be one of {', '.join(self.choices)}, got '{value}'")
        if self.minimum is not None and value < self.minimum:
            raise GanforgeError(f"'{self.name}' must be at least {self.minimum:g}, got {value}")
        if self.below is not None and value >= self.below:
            raise GanforgeError(f"'{self.name}' must be below {self.below:g}, got {value}")
        return value

    def _check_many(self, value) -> list:
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)
        single = Setting(self.name, self.type, None, self.help, choices=self.choices, minimum=self.minimum,
                         below=self.below)
        items = [single.check(v) for v in items]
        if self.adds_to_default:
            items = [*self.default, *items]
        return list(dict.fromkeys(items))  # in order, once each


SETTINGS: tuple[Setting, ...] = (
    Setting("dataset", str, "mnist-5k", "dataset plugin (ganforge list datasets)", component="datasets",
            short="-d"),
    Setting("data_root", str, None, "folder of the dataset (image-folder) or its download cache"),
    Setting("steps", int, 1000, "training iterations (one batch each)", resumable=True, minimum=0,
            optional=True),
    Setting("epochs", int, None, "passes over the data, instead of steps", resumable=True, minimum=0),
    Setting("batch_size", int, 64, "images per batch (the global batch in a distributed run)", minimum=1,
            short="-b"),
    Setting("seed", int, 0, "random seed (weights, latent draws and data order)"),
    Setting("sample_every", int, 500, "write a sample grid every N steps", resumable=True, minimum=1),
    Setting("checkpoint_every", int, 1000, "write checkpoints every N steps", resumable=True, minimum=1),
    Setting("checkpoint_minutes", float, 10.0, "also write checkpoints every N minutes of training, so that a "
            "killed run loses minutes, not hours (0: by steps only)", resumable=True, minimum=0),
    Setting("log_every", int, 50, "log losses to metrics.jsonl every N steps", resumable=True, minimum=1),
    Setting("eval_every", int, 0, "every N steps, log the recipe's own figures (sgan: held-out accuracy) and "
            "sample quality on the features of the extractor the dataset names (FID/KID/IS on digit features for "
            "the mnist datasets); 0: only the recipe's own figures, once, at the end", resumable=True, minimum=0),
    Setting("grid_size", int, 64, "images in each sample grid", minimum=1),
    Setting("num_workers", int, 0, "DataLoader worker processes for datasets read from disk "
            "(in-memory ones need none)", resumable=True, minimum=0),
    Setting("precision", str, "fp32", "fp32, bf16 or fp16: autocast; fp16 adds a gradient scaler per optimizer",
            choices=("fp32", "bf16", "fp16")),
    Setting("ema", float, 0.0, "keep an exponential moving average of each generator with this decay "
            "(e.g. 0.999; 0: off); G.ckpt then holds the average", minimum=0, below=1),
    Setting("compile_networks", bool, False, "torch.compile every network in place (slow to start; "
            "pays off on long GPU runs)", flag="--compile", aliases=("compile",)),
    Setting("channels_last", bool, False, "channels-last memory format for convolutional networks and image "
            "batches (faster convolutions on tensor-core GPUs)", resumable=True),
    Setting("sync_bn", bool, False, "distributed runs: batch norm statistics over the global batch, "
            "not each process's share (CUDA only)"),
    Setting("loggers", str, ("jsonl",), "experiment loggers besides metrics.jsonl, which is always written "
            "(ganforge list loggers: tensorboard ...); repeatable", resumable=True, component="loggers",
            flag="--logger", many=True, adds_to_default=True),
    Setting("augment", str, "none", "augmentation of every image D sees, real and fake, in both players' steps: "
            "NAME or NAME:OPTIONS (ganforge list augmentations: diffaug, diffaug:translation,cutout, ada); "
            "none: off", component="augmentations"),
    Setting("r1", float, 0.0, "R1 penalty weight (gamma) on D's gradient at real images (Mescheder et al. 2018), "
            "applied lazily every --r1-every steps and scaled up to match; 0: off", minimum=0.0),
    Setting("r1_every", int, 16, "steps between R1 penalties (lazy regularization, as in StyleGAN2)", minimum=1),
)

BY_NAME = {s.name: s for s in SETTINGS}
ALIASES = {alias: s.name for s in SETTINGS for alias in s.aliases}
RESUMABLE = frozenset(s.name for s in SETTINGS if s.resumable)


def defaults(recipe_defaults: dict | None = None) -> dict:
    """Every setting's default, with a recipe's ``train_defaults`` applied."""
    values = {s.name: s.default for s in SETTINGS}
    values.update({canonical(k): v for k, v in (recipe_defaults or {}).items()})
    return values


def canonical(key: str) -> str:
    """A setting's current name from any spelling (dashes, an earlier name)."""
    key = str(key).replace("-", "_")
    return ALIASES.get(key, key)


def setting(name: str) -> Setting:
    """The declaration of ``name``, or a one-line error with the closest names."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise GanforgeError(unknown_setting(name, BY_NAME, "the training settings")) from None


def check_all(values: dict) -> dict:
    """Every value checked against its declaration (``GanforgeError`` on the first bad one)."""
    return {key: setting(key).check(value) for key, value in values.items()}


def unknown_setting(key: str, choices, where: str) -> str:
    close = difflib.get_close_matches(key, list(choices), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown setting '{key}' in {where}{hint}"


def coerce(key: str, value, kind: type):
    """``value`` as a ``kind`` (bool, int, float or str), accepting the strings a command
    line or a file gives; a one-line error otherwise."""
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
            if kind is int and isinstance(value, bool):
                raise ValueError
            if kind is int and isinstance(value, str):
                return int(value)
            if kind is str and isinstance(value, os.PathLike):  # a folder given as a Path
                return os.fspath(value)
            if kind is str and not isinstance(value, str):
                raise ValueError
            return kind(value)
        except (TypeError, ValueError):
            pass
    raise GanforgeError(f"'{key}' must be a {kind.__name__}, got {value!r}")
