"""What one training step costs each recipe, and where R3GAN's time goes.

Builds each recipe as a run would (its defaults, or the values ``--cfg auto`` picks on this
machine for the data), times ``--steps`` training steps after a warm-up, the recipes in
turn for ``--rounds`` rounds, and prints the fastest round's milliseconds per step and per
image beside DCGAN's, on the digits (28 px) and on 64 px
colour images of the Twemoji folder's size. ``--profile`` adds one step of R3GAN under
``torch.profiler``: the operators that take the most time. ``--bf16`` times dcgan and r3gan at
64 px in fp32 and under bf16 autocast, alternating, twice each: what ``--cfg auto``'s
precision rule rests on for this processor.

    python benchmarks/step_cost.py [--steps 20] [--rounds 3] [--profile] [--bf16]

Run it on a quiet machine; the figures hold for this processor only.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import torch

from ganforge.contracts.context import TrainingContext
from ganforge.contracts.recipe import parameters
from ganforge.devices import describe
from ganforge.hooks.manager import get

SETUPS = {  # name: (channels, image size, images in the dataset)
    "digits 28 px": (1, 28, 4500),
    "colour 64 px": (3, 64, 3786),
}


def build(recipe_name: str, channels: int, size: int, images: int, auto: bool, precision: str = "fp32"):
    cls = get("gans", recipe_name)
    declared = parameters(cls)
    hp = {k: p.default for k, p in declared.items()}
    hp["image_size"] = size
    batch = cls.train_defaults.get("batch_size", 64)
    chosen = {}
    if auto and hasattr(cls, "auto_config"):
        from ganforge.training.auto import Facts

        facts = Facts(image_size=size, channels=channels, images=images, device="cpu", native_bf16=False,
                      amx=False, minutes=None, steps=None)
        for name, (value, _) in cls.auto_config(facts).items():
            chosen[name] = value
            if name in hp:
                hp[name] = declared[name].check(value)
            elif name == "batch_size":
                batch = value
    data = SimpleNamespace(channels=channels, image_size=size, num_classes=10)
    every = cls.train_defaults.get("r1_every", 16)
    torch.manual_seed(0)
    every = chosen.get("r1_every", every)
    recipe = cls(hp, data, TrainingContext("cpu", r1=(0.0, every), precision=precision))
    return recipe, batch, chosen


def timed(recipe, batch: int, channels: int, size: int, steps: int) -> float:
    images = torch.rand(batch, channels, size, size) * 2 - 1
    labels = torch.randint(10, (batch,))
    for step in range(3):  # warm-up: allocations, kernel choice
        recipe.context.step = step
        recipe.schedule(step, 1000)
        with recipe.context.autocast():
            recipe.train_step(images, labels)
    start = time.perf_counter()
    for step in range(3, 3 + steps):
        recipe.context.step = step
        recipe.schedule(step, 1000)
        with recipe.context.autocast():
            recipe.train_step(images, labels)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every recipe, alternating; the fastest counts")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-auto", action="store_true", help="r3gan at its defaults only")
    parser.add_argument("--bf16", action="store_true", help="fp32 against bf16 autocast at 64 px instead")
    args = parser.parse_args()
    print(f"machine: {describe()}, {torch.get_num_threads()} threads")
    if args.bf16:
        print("| recipe (64 px, batch 64) | fp32 images/s | bf16 images/s | bf16 / fp32 |\n|---|---|---|---|")
        for name, auto in (("dcgan", False), ("r3gan", True)):
            rates = {"fp32": [], "bf16": []}
            for _ in range(2):
                for precision in rates:
                    recipe, batch, _ = build(name, 3, 64, 3786, auto, precision)
                    rates[precision].append(batch / timed(recipe, batch, 3, 64, args.steps))
            fp32, bf16 = max(rates["fp32"]), max(rates["bf16"])
            print(f"| {name}{' --cfg auto' if auto else ''} | {fp32:.0f} | {bf16:.0f} | {bf16 / fp32:.2f} |", flush=True)
        return
    print(f"each the fastest of {args.rounds} rounds of {args.steps} steps, the recipes alternating within a round")
    print("| data | recipe | batch | parameters (G + D) | ms per step | ms per image | x dcgan per image |")
    print("|---|---|---|---|---|---|---|")
    for data, (channels, size, count) in SETUPS.items():
        variants = [("dcgan", False), ("r3gan", False)] + ([] if args.no_auto else [("r3gan", True)])
        built = [build(name, channels, size, count, auto) for name, auto in variants]
        best = [float("inf")] * len(variants)
        for _ in range(args.rounds):  # alternating, so that a slow spell of the machine hits every recipe
            for i, (recipe, batch, _) in enumerate(built):
                best[i] = min(best[i], timed(recipe, batch, channels, size, args.steps))
        base = best[0] / built[0][1]
        for (name, auto), (recipe, batch, _), seconds in zip(variants, built, best):
            per_image = seconds / batch
            weights = sum(p.numel() for net in recipe.built.values() for p in net.parameters())
            label = name + (" --cfg auto" if auto else "")
            print(f"| {data} | {label} | {batch} | {weights:,} | {seconds * 1000:.1f} | {per_image * 1000:.3f} | "
                  f"{per_image / base:.2f} |", flush=True)
    if args.profile:
        for auto in (False,) + (() if args.no_auto else (True,)):
            recipe, batch, _ = build("r3gan", 3, 64, 3786, auto)
            images, labels = torch.rand(batch, 3, 64, 64) * 2 - 1, torch.randint(10, (batch,))
            timed(recipe, batch, 3, 64, 1)
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                recipe.context.step = 10
                recipe.train_step(images, labels)
            print(f"\nr3gan{' --cfg auto' if auto else ''}, one step at 64 px, batch {batch}: the operators taking "
                  "the most time")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=40))


if __name__ == "__main__":
    main()
