"""``--cfg auto``: the values a run leaves unset, chosen from what is known once its data is
loaded: the image size, the number of images, the device and the budget.

The engine's own rules (``engine_rules``) come first; a recipe adds or overrides them with
``Recipe.auto_config(facts)``. Each rule returns ``{name: (value, why)}`` for recipe
parameters and engine settings alike; a value the user set (command line, API or config file)
is never replaced. What was chosen is printed at the start of the run and kept in
config.json (``auto``: value and reason of each), so that ``--resume`` reads the same values
back as set. The rules and the measurements behind each are in docs/auto.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ganforge.contracts.recipe import parameters
from ganforge.devices import cpu_bf16_speedup, cpu_bf16_units
from ganforge.training.settings import BY_NAME, GIVEN_AS


@dataclass(frozen=True)
class Facts:
    """What the rules may look at."""

    image_size: int
    channels: int
    images: int  # training images (pairs, for paired data)
    device: str  # "cpu" or "cuda"
    native_bf16: bool  # the device computes bf16 natively (AMX or AVX512-BF16 on a CPU)
    amx: bool  # an Intel CPU's AMX tiles: bf16 matrix units
    minutes: float | None  # the time budget, if any
    steps: int | None  # the step count asked for, if any
    batch_size: int = 64  # the batch size the run would take (the recipe's, or the user's)
    world: int = 1  # training processes (--nproc): a batch splits evenly over them
    # bf16 autocast's speed over fp32 on this CPU (devices.cpu_bf16_speedup), measured at the
    # start where the engine's precision rule decides; None where nothing was measured
    bf16_speedup: float | None = None


BF16_PAYS = 1.15  # bf16 is chosen on a CPU whose start-up probe runs it at least this much faster


def facts_of(data, device: torch.device, engine: dict, world: int = 1) -> Facts:
    units = cpu_bf16_units() if device.type == "cpu" else []
    amx = "AMX" in units
    native = bool(units) if device.type == "cpu" else torch.cuda.is_bf16_supported()
    return Facts(image_size=data.image_size, channels=data.channels, images=len(data), device=device.type,
                 native_bf16=native, amx=amx, minutes=engine.get("minutes"), steps=engine.get("steps"),
                 batch_size=engine["batch_size"], world=world)


def engine_rules(facts: Facts) -> dict[str, tuple[object, str]]:
    """Rules for every recipe: precision, and a batch that fits a small dataset."""
    rules = {}
    if facts.device == "cuda" and facts.native_bf16:
        rules["precision"] = ("bf16", "this GPU computes bf16 natively")
    elif facts.device == "cpu" and facts.native_bf16 and facts.bf16_speedup is None:
        rules["precision"] = ("fp32", "this CPU computes bf16 natively, but what it pays was not measured")
    elif facts.device == "cpu" and facts.native_bf16:
        units = "AMX" if facts.amx else "AVX512-BF16"
        measured = (f"this CPU ({units}) ran a convolution probe at start {facts.bf16_speedup:.2f}x as fast in bf16 "
                    f"as in fp32")
        if facts.bf16_speedup >= BF16_PAYS:
            rules["precision"] = ("bf16", f"{measured}; dcgan's images per second were 1.67x fp32's on an AMD EPYC "
                                          "with AVX512-BF16, its FID better at equal time (docs/auto.md)")
        else:
            rules["precision"] = ("fp32", f"{measured}, under the {BF16_PAYS}x that pays; dcgan's images per second "
                                          "were 0.83x fp32's on an Intel Xeon with AVX512-BF16 and no AMX "
                                          "(docs/auto.md)")
    else:
        rules["precision"] = ("fp32", "no native bf16 on this device")
    batch = small_batch(facts.images, facts.batch_size, facts.world)
    if batch is not None:
        rules["batch_size"] = (batch, f"{facts.images} training images, fewer than a batch of {facts.batch_size}: the "
                                      "largest power of two that fits, so every step sees a full batch")
    return rules


def small_batch(images: int, batch_size: int, world: int = 1) -> int | None:
    """The batch for a dataset smaller than ``batch_size``: the largest power of two of at most
    ``images`` that splits over ``world`` processes and holds two images per process (batch
    norm needs two); None when the dataset holds a whole batch, or is too small for any."""
    if images >= batch_size:
        return None
    batch = 1 << (images.bit_length() - 1) if images > 0 else 0
    while batch >= 2 * world and batch % world:
        batch //= 2
    return batch if batch >= 2 * world else None


def choose(planned, data, device: torch.device, world: int = 1, once=None) -> dict[str, dict]:
    """Apply the engine's and the recipe's rules to ``planned`` (its engine settings and recipe
    parameters, in place) wherever the user set nothing; return what was chosen and why.
    ``once(measure)`` gives every process the value of ``measure()`` taken by one of them (a
    distributed run measures once and agrees); by default, ``measure()``."""
    facts = facts_of(data, device, planned.engine, world)
    recipe_rules = planned.recipe_cls.auto_config(facts)
    if (facts.device == "cpu" and facts.native_bf16 and "precision" not in recipe_rules
            and not planned.setting_chosen("precision")):  # the engine's rule decides: measure what bf16 pays
        facts = replace(facts, bf16_speedup=(once or (lambda measure: measure()))(cpu_bf16_speedup))
    proposals = {**engine_rules(facts), **recipe_rules}
    if "batch_size" in proposals:  # a recipe's batch, too, fits the dataset
        fitted = small_batch(facts.images, proposals["batch_size"][0], world)
        if fitted is not None:
            proposals["batch_size"] = (fitted, f"{facts.images} training images: the largest power of two that fits")
    declared = parameters(planned.recipe_cls, planned.params.get("loss"))
    batch, steps = planned.engine["batch_size"], planned.engine.get("steps")
    chosen = {}
    for name, (value, why) in proposals.items():
        if name in declared:
            if planned.set_by_user(name):
                continue
            planned.params[name] = declared[name].check(value)
        else:
            if any(planned.setting_chosen(given) for given in (name, *GIVEN_AS.get(name, ()))):
                continue
            planned.engine[name] = BY_NAME[name].check(value)
        chosen[name] = {"value": value, "why": why}
    # a run whose length is the recipe's default number of steps keeps its length in images
    # when the batch changes (a budget or --epochs is a length of its own)
    new_batch = planned.engine["batch_size"]
    if new_batch != batch and steps and planned.engine.get("minutes") is None and not planned.setting_chosen("steps"):
        planned.engine["steps"] = max(1, round(steps * batch / new_batch))
        chosen["steps"] = {"value": planned.engine["steps"],
                           "why": f"the recipe's {steps:,} steps at batch {batch}: the same images at batch {new_batch}"}
    return chosen


def summary(chosen: dict[str, dict]) -> str:
    """One line for the start of the run."""
    values = ", ".join(f"{name} {entry['value']}" for name, entry in chosen.items())
    return f"--cfg auto: {values or 'nothing left unset to choose'} (config.json's auto says why)"
