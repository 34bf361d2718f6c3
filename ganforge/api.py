"""The Python API; every CLI command is a thin layer over one of these functions.

Heavy modules (torch) are imported inside the functions so that ``import
ganforge`` and ``ganforge --help`` stay fast.
"""

from __future__ import annotations

from pathlib import Path


def train(recipe: str, **options):
    """Train a GAN recipe; see ``ganforge.engine.train`` for the options.

    >>> run = ganforge.train("dcgan", steps=200, out="runs/demo")
    >>> run.run_dir / "G.ckpt"
    """
    from .engine import train as _train

    return _train(recipe, **options)


def load_generator(path, device="cpu"):
    """A callable generator from a ``G.ckpt`` file or a run directory."""
    from .generator import load_generator as _load

    return _load(path, device=device)


def load_network(path, device="cpu"):
    """Any network of a run (``D.ckpt`` ...) as an ``nn.Module`` in eval mode."""
    from .generator import load_network as _load

    return _load(path, device=device)


def sample(path, n: int = 64, *, out=None, dir=None, npz=None, seed: int | None = None,
           device: str = "cpu", per_class: int | None = None, **fixed) -> dict:
    """Draw ``n`` images and write them as a grid PNG (``out``), one PNG each (``dir``)
    and/or an array file (``npz``, key ``x``: uint8 N x C x H x W). Returns the paths.

    Inputs given by name are fixed (``label=7`` draws sevens from a conditional GAN);
    ``per_class=N`` draws N of every class, one grid row per class."""
    from . import images as im
    from .errors import GanforgeError

    if n < 1:
        raise GanforgeError(f"the number of images must be at least 1, got {n}")
    if out is None and dir is None and npz is None:
        out = "samples.png"
    G = load_generator(path, device=device)
    columns = None
    if per_class is not None:
        pictures = G.generate_per_class(per_class, seed=seed)
        columns = per_class
    else:
        pictures = G.generate(n, seed=seed, **fixed)
    written = {}
    if out is not None:
        written["grid"] = im.save_grid(pictures, G.output_range, out, nrow=columns)
    if dir is not None:
        written["dir"] = Path(dir)
        im.save_each(pictures, G.output_range, dir)
    if npz is not None:
        written["npz"] = im.save_npz(pictures, G.output_range, npz)
    return written


def show(recipe: str) -> dict:
    """A recipe's hyperparameters and engine defaults: ``{name: (default, help)}`` per section."""
    from .config import ENGINE_DEFAULTS, ENGINE_HELP
    from .plugin_manager import get

    cls = get("gans", recipe)
    engine = {**ENGINE_DEFAULTS, **cls.train_defaults}
    return {"params": dict(cls.hparams), "engine": {k: (v, ENGINE_HELP[k]) for k, v in engine.items()}}


def components(kind: str | None = None) -> dict[str, list[dict]]:
    """Registered components by kind, each with its plugin and one-line description."""
    from .plugin_manager import KINDS, registry

    reg = registry()
    kinds = [kind] if kind else list(KINDS)
    out = {}
    for k in kinds:
        if k not in KINDS:
            from .errors import UnknownComponentError
            from .plugin_manager import _unknown

            raise UnknownComponentError(_unknown("kind", k, list(KINDS)))
        out[k] = [{"name": c.name, "plugin": c.plugin, "description": c.description}
                  for c in sorted(reg.components[k].values(), key=lambda c: c.name)]
    return out


def plugins() -> list[dict]:
    """Loaded plugins: name, version, built-in or not, hooks implemented, components registered."""
    from .plugin_manager import load_plugins

    system = load_plugins()
    system.registry  # registering fills in what each plugin registered
    return [{"name": p.name, "version": p.version, "builtin": p.builtin, "hooks": p.hooks,
             "registered": p.registered} for p in system.info.values()]
