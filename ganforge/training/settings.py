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

from ganforge.contracts.exporter import PRECISIONS
from ganforge.contracts.params import Param, unknown_setting
from ganforge.errors import GanforgeError


def Setting(name: str, type: type, default, help: str, **declaration) -> Param:
    """An engine setting: a ``Param`` with its name first, as the table below reads best."""
    return Param(type, default, help, name=name, **declaration)


SETTINGS: tuple[Param, ...] = (
    Setting("dataset", str, "mnist-5k", "dataset plugin (ganforge list datasets)", component="datasets",
            short="-d"),
    Setting("data_root", str, None, "folder of the dataset (image-folder) or its download cache"),
    Setting("background", str, "white", "image files: the colour transparent pixels are composited onto "
            "(white, black, grey, #rrggbb or r,g,b); also fills --square pad"),
    Setting("square", str, "crop", "image files: how a non-square image becomes square: crop (resize the short "
            "side, keep the centre), pad (resize the long side, fill with --background) or stretch",
            choices=("crop", "pad", "stretch")),
    Setting("direction", str, "AtoB", "paired datasets: which image of each pair is the input, A (the left half, "
            "or the file in A/) or B; the other is the target", choices=("AtoB", "BtoA")),
    Setting("strict_data", bool, False, "refuse to start when any image file cannot be used (by default such "
            "files are skipped, counted in one line and listed in the run's data.json)"),
    Setting("mirror", bool, False, "flip training images horizontally at random (each by a draw from seed, epoch "
            "and index: exact under --resume); doubles a small dataset of things that have no left and right"),
    Setting("steps", int, 1000, "training iterations (one batch each)", resumable=True, minimum=0,
            optional=True),
    Setting("epochs", int, None, "passes over the data, instead of steps", resumable=True, minimum=0,
            alternative_to="steps"),
    Setting("minutes", float, None, "a time budget: train for this many minutes of wall time, then end as a run "
            "stopped by SIGTERM does; the steps it can take are planned after a short warm-up, corrected from the "
            "loop's own speed at a tenth, half and nine tenths of the plan, and kept in the run: every schedule "
            "spans them, and --resume follows that plan. With --steps or --epochs too, whichever ends first", above=0),
    Setting("cfg", str, "recipe", "how values left unset are chosen: recipe (the recipe's defaults) or auto (from the "
            "image size, the number of images, the device and the budget; printed at the start of the run and kept "
            "in config.json with the reason for each; docs/auto.md gives the rules). Default: auto for r3gan and "
            "for datasets of image files, recipe otherwise", choices=("recipe", "auto")),
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
            choices=PRECISIONS),
    Setting("ema_images", int, 0, "keep a moving average of each generator whose half-life is this many "
            "images, whatever the batch size (StyleGAN2-ADA's ema_kimg x 1000, e.g. 10000; 0: off); G.ckpt then "
            "holds the average", minimum=0),
    Setting("ema_rampup", float, 0.05, "the moving average's half-life is at most this share of the images seen so "
            "far (StyleGAN2-ADA's ema_rampup), so that a short run does not average in its first weights; 0: the "
            "half-life from the start", minimum=0),
    Setting("ema", float, 0.0, "the same moving average given as a decay per step (e.g. 0.999; 0: off), whose "
            "meaning changes with the batch size; prefer --ema-images", minimum=0, below=1,
            alternative_to="ema_images"),
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
    Setting("r2", float, 0.0, "R2 penalty weight (gamma) on D's gradient at generated images, R1's twin "
            "(Huang et al. 2024, R3GAN, use both at every D step: --r1 G --r2 G --r1-every 1), at the steps of "
            "--r1-every; 0: off", minimum=0.0),
    Setting("r1_every", int, 16, "steps between R1 (and R2) penalties (StyleGAN2's lazy regularization: an update of "
            "D's own, times the interval, D's Adam lr and betas corrected by k/(k+1)); 1: in every D update, from the "
            "loss's forward pass of D (R3GAN's default)", minimum=1),
)

# Keywords of ganforge.train (and the engine's train) that say how to run, not what to train:
# they are not settings, so config files, ``ganforge show`` and config.json's engine hold none.
RUN_OPTIONS = ("out", "resume", "overwrite", "params", "config", "device", "quiet", "started")

BY_NAME = {s.name: s for s in SETTINGS}
ALIASES = {alias: s.name for s in SETTINGS for alias in s.aliases}
RESUMABLE = frozenset(s.name for s in SETTINGS if s.resumable)
# settings given in another form: {name: the settings that give it in another form}
GIVEN_AS = {target: tuple(s.name for s in SETTINGS if s.alternative_to == target)
            for target in dict.fromkeys(s.alternative_to for s in SETTINGS if s.alternative_to)}


def gives(value) -> bool:
    """Whether a given value chooses its setting: not None, and not zero (zero turns one off)."""
    return value is not None and not (isinstance(value, (int, float)) and value == 0)


def check_alternatives(given: dict) -> None:
    """A one-line error when ``given`` sets a setting in two forms (--ema and --ema-images)."""
    for s in SETTINGS:
        if s.alternative_to and gives(given.get(s.name)) and gives(given.get(s.alternative_to)):
            raise GanforgeError(f"give either {s.alternative_to} or {s.name}, not both: "
                                f"{s.name} is {s.alternative_to} in another form")


def turn_off_other_forms(engine: dict, chosen: dict) -> None:
    """A setting ``chosen`` in one form turns its other form off in ``engine`` (``--epochs``: no
    step count; ``--ema``: no half-life in images), unless ``chosen`` sets that one too."""
    for s in SETTINGS:
        if s.alternative_to:
            for this, other in ((s.name, s.alternative_to), (s.alternative_to, s.name)):
                if chosen.get(this) is not None and other not in chosen:
                    off = BY_NAME[other]
                    engine[other] = None if off.optional or off.default is None else off.type(0)


def ema_decay(engine: dict) -> float:
    """The per-step decay of the generators' moving average: from ``ema_images`` (a half-life in
    images: 0.5 ** (batch_size / ema_images)) or ``ema`` as given; 0 when there is none."""
    if engine.get("ema_images"):
        return 0.5 ** (engine["batch_size"] / engine["ema_images"])
    return engine.get("ema") or 0.0


def ramped_half_life(half_life: float, step: int, batch_size: int, rampup: float) -> float:
    """The moving average's half-life in images at ``step``: ``half_life``, but at most ``rampup``
    times the images seen so far (``--ema-rampup``; 0: no ramp)."""
    return min(half_life, rampup * step * batch_size) if rampup else half_life


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
