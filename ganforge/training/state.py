"""A run's saved state: ``state.ckpt`` (everything ``--resume`` needs, in one atomic
file), the self-describing ``G.ckpt`` and the other networks' checkpoints."""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.artifacts import checkpoint, rundir
from ganforge.hooks.provenance import provenance



def generator_meta(recipe_name: str, G: torch.nn.Module, step: int) -> dict:
    from ganforge.version import __version__

    # Every plugin the generator is made of, so that loading it without one names the package.
    network = _network_meta(G.ganforge_spec)
    made_of = provenance([("gans", recipe_name)]) + network["components"]
    return {
        "kind": "generator",
        "recipe": recipe_name,
        **network,
        "signature": G.signature,
        "output_range": list(G.output_range),
        # a fully convolutional generator takes any height and width that are multiples of this
        **({"size_multiple": int(G.size_multiple)} if getattr(G, "size_multiple", None) else {}),
        "step": step,
        "components": made_of,
        "versions": {"ganforge": __version__, "torch": torch.__version__,
                     "plugins": {c["plugin"]: c["version"] for c in made_of}},
    }


def collect(recipe, averages: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Everything a run resumes from: tensors (weights, optimizer state, the recipe's extra state,
    an adaptive augmentation's, random generators, moving averages) and what else describes them
    (the optimizers' layout, the gradient scalers)."""
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
    return tensors, {"optimizers": optimizers, "scalers": scalers}


def snapshot(recipe, averages: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """``collect`` with every tensor copied: what ``put_back`` restores after steps that must
    leave no trace (a time budget's warm-up)."""
    import copy

    tensors, described = collect(recipe, averages)
    return {k: v.clone() for k, v in tensors.items()}, copy.deepcopy(described)


def save(run_dir: Path, recipe_name: str, recipe, averages: dict, step: int, run_config: dict) -> None:
    """state.ckpt, then G.ckpt (the moving average, when there is one) and the other networks."""
    networks = recipe.built
    tensors, described = collect(recipe, averages)
    optimizers, scalers = described["optimizers"], described["scalers"]
    # The files written after state.ckpt, which a save interrupted by kill -9 can leave older.
    files = {rundir.network_file(name): name for name in networks}
    checkpoint.save(run_dir / rundir.STATE, tensors, {"kind": "train-state", "step": step, "optimizers": optimizers,
                                                    "scalers": scalers, "config": run_config, "files": files,
                                                    "ema": sorted(averages)})
    for name in recipe.generators:
        G = networks[name]
        meta = generator_meta(recipe_name, G, step)
        weights = G.state_dict()
        if name in averages:  # sampling, evaluation and export then use the average
            weights, meta["ema"] = averages[name].weights(), averages[name].decay
        checkpoint.save(run_dir / rundir.network_file(name), weights, meta)
    for name, net in networks.items():
        if name not in recipe.generators:
            checkpoint.save(run_dir / rundir.network_file(name), net.state_dict(),
                            {"kind": "network", "role": name, "recipe": recipe_name, "step": step,
                             **(_network_meta(net.ganforge_spec) if hasattr(net, "ganforge_spec") else {})})


def _network_meta(spec: dict) -> dict:
    """How to rebuild a network, and the plugins it is made of."""
    return {"network": spec["network"], "network_kwargs": spec["kwargs"],
            "components": provenance([("networks", spec["network"]), *map(tuple, spec.get("components", []))])}


def restore(run_dir: Path, recipe, averages: dict) -> int:
    """Put the saved state back into ``recipe`` and ``averages``; returns the saved step."""
    tensors, meta = checkpoint.load(run_dir / rundir.STATE, kind="train-state")
    put_back(recipe, averages, tensors, meta)
    return int(meta["step"])


def put_back(recipe, averages: dict, tensors: dict[str, torch.Tensor], described: dict) -> None:
    """Restore what ``collect`` (or a saved state.ckpt: ``described`` is its metadata) holds."""

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    for name, net in recipe.built.items():
        net.load_state_dict(part(f"net/{name}/"))
    for name, opt in recipe.optimizers.items():
        opt.load_state_dict(checkpoint.unpack(described["optimizers"][name], tensors))
    recipe.load_extra_state(part("extra/"))
    if hasattr(recipe.context.augmentation, "load_state_dict"):
        recipe.context.augmentation.load_state_dict(part("aug/"))
    for name, average in averages.items():
        average.averaged.load_state_dict(part(f"ema/{name}/"))
    for name, scaler in recipe.context.scalers.items():
        if name in described.get("scalers", {}):
            scaler.load_state_dict(described["scalers"][name])
    torch.set_rng_state(tensors["rng/torch"])
    if "rng/cuda" in tensors and recipe.device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng/cuda"], recipe.device)
