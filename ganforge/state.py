"""A run's saved state: ``state.ckpt`` (everything ``--resume`` needs, in one atomic
file), the self-describing ``G.ckpt`` and the other networks' checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from . import checkpoint
from .plugin_manager import provenance

STATE_FILE = "state.ckpt"


def generator_meta(recipe_name: str, G: torch.nn.Module, step: int) -> dict:
    from . import __version__

    # Every plugin the generator is made of, so that loading it without one names the package.
    network = _network_meta(G.ganforge_spec)
    made_of = provenance([("gans", recipe_name)]) + network["components"]
    return {
        "kind": "generator",
        "recipe": recipe_name,
        **network,
        "signature": G.signature,
        "output_range": list(G.output_range),
        "step": step,
        "components": made_of,
        "versions": {"ganforge": __version__, "torch": torch.__version__,
                     "plugins": {c["plugin"]: c["version"] for c in made_of}},
    }


def save(run_dir: Path, recipe_name: str, recipe, averages: dict, step: int, run_config: dict) -> None:
    """state.ckpt, then G.ckpt (the moving average, when there is one) and the other networks."""
    tensors: dict[str, torch.Tensor] = {}
    networks = recipe.built
    for name, net in networks.items():
        tensors.update({f"net/{name}/{k}": v for k, v in net.state_dict().items()})
    optimizers = {name: checkpoint.pack(opt.state_dict(), f"opt/{name}", tensors)
                  for name, opt in recipe.optimizers.items()}
    tensors.update({f"extra/{k}": v for k, v in recipe.extra_state().items()})
    if recipe.context.augmentation is not None:  # an adaptive augmentation's strength
        kept = getattr(recipe.context.augmentation, "state_dict", dict)()  # only adaptive ones have state
        tensors.update({f"aug/{k}": v for k, v in kept.items()})
    tensors["rng/torch"] = torch.get_rng_state()
    if recipe.device.type == "cuda":  # this process's device (each process of a distributed run has one)
        tensors["rng/cuda"] = torch.cuda.get_rng_state(recipe.device)
    for name, average in averages.items():
        tensors.update({f"ema/{name}/{k}": v for k, v in average.averaged.state_dict().items()})
    scalers = {name: scaler.state_dict() for name, scaler in recipe.context.scalers.items()}
    # The files written after state.ckpt, which a save interrupted by kill -9 can leave older.
    files = {**{file: name for name, file in recipe.generator_files.items()},
             **{f"{name}.ckpt": name for name in networks if name not in recipe.generator_files}}
    checkpoint.save(run_dir / STATE_FILE, tensors, {"kind": "train-state", "step": step, "optimizers": optimizers,
                                                    "scalers": scalers, "config": run_config, "files": files,
                                                    "ema": sorted(averages)})
    for name, filename in recipe.generator_files.items():
        G = networks[name]
        meta = generator_meta(recipe_name, G, step)
        weights = G.state_dict()
        if name in averages:  # sampling, evaluation and export then use the average
            weights, meta["ema"] = averages[name].weights(), averages[name].decay
        checkpoint.save(run_dir / filename, weights, meta)
    for name, net in networks.items():
        if name not in recipe.generator_files:
            checkpoint.save(run_dir / f"{name}.ckpt", net.state_dict(),
                            {"kind": "network", "role": name, "recipe": recipe_name, "step": step,
                             **(_network_meta(net.ganforge_spec) if hasattr(net, "ganforge_spec") else {})})


def _network_meta(spec: dict) -> dict:
    """How to rebuild a network, and the plugins it is made of."""
    return {"network": spec["network"], "network_kwargs": spec["kwargs"],
            "components": provenance([("networks", spec["network"]), *map(tuple, spec.get("components", []))])}


def restore(run_dir: Path, recipe, averages: dict) -> int:
    """Put the saved state back into ``recipe`` and ``averages``; returns the saved step."""
    tensors, meta = checkpoint.load(run_dir / STATE_FILE, kind="train-state")

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    for name, net in recipe.built.items():
        net.load_state_dict(part(f"net/{name}/"))
    for name, opt in recipe.optimizers.items():
        opt.load_state_dict(checkpoint.unpack(meta["optimizers"][name], tensors))
    recipe.load_extra_state(part("extra/"))
    if hasattr(recipe.context.augmentation, "load_state_dict"):
        recipe.context.augmentation.load_state_dict(part("aug/"))
    for name, average in averages.items():
        average.averaged.load_state_dict(part(f"ema/{name}/"))
    for name, scaler in recipe.context.scalers.items():
        if name in meta.get("scalers", {}):
            scaler.load_state_dict(meta["scalers"][name])
    torch.set_rng_state(tensors["rng/torch"])
    if "rng/cuda" in tensors and recipe.device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng/cuda"], recipe.device)
    return int(meta["step"])


def consistent(run_dir: Path, step: int) -> bool:
    """Whether every file of the last save is of ``step``, the step of state.ckpt (a process
    killed between writing state.ckpt and G.ckpt leaves G.ckpt a save behind)."""
    files = (checkpoint.read_meta(run_dir / STATE_FILE) or {}).get("files", {})
    return all((checkpoint.read_meta(run_dir / f) or {}).get("step") == step for f in files)


def newer_generator(path: Path, meta: dict) -> tuple[dict[str, torch.Tensor], int] | None:
    """For a G.ckpt inside a run whose state.ckpt is of a later step (a save interrupted
    between the two files), that step's generator weights from state.ckpt, and the step."""
    state_path = Path(path).parent / STATE_FILE
    state = checkpoint.read_meta(state_path)
    name = (state or {}).get("files", {}).get(Path(path).name)
    if name is None or state.get("step") == meta.get("step"):
        return None
    prefix = f"ema/{name}/module." if name in state.get("ema", []) else f"net/{name}/"
    return checkpoint.load_some(state_path, prefix), int(state["step"])


def trim_metrics(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from (a crash leaves them)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= step]
    checkpoint.atomic_write(path, ("\n".join(kept) + "\n" if kept else "").encode())
