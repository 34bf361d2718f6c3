"""Exploring a generator's latent space: walking between codes
(interpolation), arithmetic on average codes (glasses man - man + woman), and
finding the code of a given image (inversion).

Inversion tests generalization: if G can reproduce held-out images
it never saw about as well as training images, it learned the distribution rather
than memorizing the training set.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch

from ganforge.errors import GanforgeError
from ganforge.data.images import grid_picture, save_grid


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: stays at the typical radius of a Gaussian prior, where linear
    interpolation passes through the low-norm middle that G rarely saw in training."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


def _latent_index(G) -> int:
    index = next((i for i, s in enumerate(G.signature) if s["distribution"] == "normal"), None)
    if index is None:
        raise GanforgeError("this generator has no latent input z to explore")
    return index


def _save_gif(frames: list[torch.Tensor], output_range, path: Path, nrow: int, ms: int = 120,
              scale: int | None = None) -> Path:
    pictures = [grid_picture(images, output_range, nrow=nrow, scale=scale)
                for images in frames + frames[-2:0:-1]]  # there and back, so the loop has no jump
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=ms, loop=0)
    return path


def interpolate(path, out="interpolation.png", *, rows: int = 6, steps: int = 10, mode: str = "slerp",
                classes: bool = False, seed: int = 0, gif=None, device: str = "cpu",
                scale: int | None = None, trust: bool = False) -> dict[str, Path]:
    """A grid with one walk per row: between two random codes (``mode`` slerp or linear), or with
    ``classes`` between class c and c+1 at a fixed code (conditional generators)."""
    from ganforge.artifacts.loading import load_generator

    if mode not in ("slerp", "linear"):
        raise GanforgeError(f"mode must be slerp or linear, got '{mode}'")
    if steps < 2 or rows < 1:
        raise GanforgeError("interpolation needs at least 2 steps and 1 row")
    G = load_generator(path, device=device, trust=trust)
    zi = _latent_index(G)
    start, end = G.random_inputs(rows, seed), G.random_inputs(rows, seed + 1)
    ts = torch.linspace(0, 1, steps).tolist()
    frames = []
    if classes:
        ci = next((i for i, s in enumerate(G.signature) if s["distribution"] == "categorical"), None)
        if ci is None:
            raise GanforgeError("--classes needs a class-conditional generator (cgan, acgan)")
        if G.backend != "torch" or not getattr(G.module, "accepts_class_weights", False):
            raise GanforgeError("interpolating between classes needs a G.ckpt whose network takes class weights "
                                "(the built-in conditional generators do)")
        k = G.signature[ci]["num_classes"]
        first = torch.arange(rows) % k
        a, b = torch.nn.functional.one_hot(first, k).float(), torch.nn.functional.one_hot((first + 1) % k, k).float()
        for t in ts:
            inputs = list(start)
            inputs[ci] = (1 - t) * a + t * b
            frames.append(G(*inputs).cpu())
    else:
        for t in ts:
            inputs = list(start)
            z0, z1 = start[zi], end[zi]
            inputs[zi] = slerp(z0, z1, t) if mode == "slerp" else (1 - t) * z0 + t * z1
            frames.append(G(*inputs).cpu())
    grid = torch.stack(frames, 1).flatten(0, 1)  # row r holds frames[0][r], frames[1][r], ...
    labels = [f"{c}->{(c + 1) % k}" for c in first.tolist()] if classes else [f"walk {r + 1}" for r in range(rows)]
    written = {"grid": save_grid(grid, G.output_range, out, nrow=steps, scale=scale, row_labels=labels,
                                 column_labels=[f"{t:.2g}" for t in ts])}
    if gif:
        written["gif"] = _save_gif(frames, G.output_range, Path(gif), nrow=max(1, math.ceil(math.sqrt(rows))),
                                   scale=scale)
    return written


def _group_codes(G, spec: str, pool: int, seed: int, device) -> torch.Tensor:
    """Latent codes of one group: ``label:7`` (generated samples the digit classifier reads as 7)
    or ``images:FOLDER`` (codes recovered from the user's images by inversion)."""
    kind, _, value = spec.partition(":")
    zi = _latent_index(G)
    if kind == "label":
        from ganforge.evaluation.digits import load_digit_classifier

        inputs = G.random_inputs(pool, seed)
        images = G._run(inputs, 500)
        chosen = inputs[zi][load_digit_classifier().predict(images) == int(value)]
        if len(chosen) == 0:
            raise GanforgeError(f"none of {pool} samples was classified as {value}; raise --pool")
        return chosen
    if kind == "images":
        from ganforge.data.pictures import image_files, read_image

        files = image_files(value) if Path(value).is_dir() else [Path(value)]
        if not files:
            raise GanforgeError(f"no images found at '{value}'")
        c, size = _output_shape(G)
        target = torch.stack([read_image(f, c, size) for f in files])
        return invert_codes(G, target, seed=seed)[0]
    raise GanforgeError(f"a group is label:CLASS or images:PATH, got '{spec}'")


def _output_shape(G) -> tuple[int, int]:
    sample = G(*G.random_inputs(1, 0))
    return sample.shape[1], sample.shape[-1]


def arithmetic(path, expression: str, groups: dict[str, str], out="arithmetic.png", *, samples: int = 8,
               noise: float = 0.25, pool: int = 2000, seed: int = 0, device: str = "cpu",
               scale: int | None = None, trust: bool = False) -> Path:
    """DCGAN-style arithmetic: each group's codes are averaged, ``expression`` (e.g. ``A - B + C``)
    combines the averages, and the result is drawn with small noise added, ``samples`` times.
    The grid shows one row: the group averages' images, then the results."""
    from ganforge.artifacts.loading import load_generator

    G = load_generator(path, device=device, trust=trust)
    if any(s["distribution"] != "normal" for s in G.signature):
        raise GanforgeError("latent arithmetic works on generators whose only input is z (gan, dcgan, lsgan)")
    terms = re.findall(r"([+-]?)\s*([A-Za-z_]\w*)", expression)
    if not terms or re.sub(r"[+-]?\s*[A-Za-z_]\w*", "", expression).strip():
        raise GanforgeError(f"expression must be group names joined by + and -, got '{expression}'")
    missing = [name for _, name in terms if name not in groups]
    if missing:
        raise GanforgeError(f"no group given for {', '.join(missing)} (use --group {missing[0]}=label:7)")
    means = {name: _group_codes(G, groups[name], pool, seed + i, device).mean(0)
             for i, name in enumerate(dict.fromkeys(n for _, n in terms))}
    result = sum((-1 if sign == "-" else 1) * means[name] for sign, name in terms)
    g = torch.Generator().manual_seed(seed)
    variations = result + noise * torch.randn(samples, result.shape[-1], generator=g)
    shown = torch.cat([torch.stack(list(means.values())), result[None], variations])
    images = G(shown)
    labels = [*means, "".join(expression.split()), *(f"#{i + 1}" for i in range(samples))]
    return save_grid(images, G.output_range, out, nrow=len(shown), scale=scale, column_labels=labels)


def invert_codes(G, target: torch.Tensor, *, steps: int = 300, restarts: int = 4, lr: float = 0.05,
                 clip: float = 3.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Codes whose images best match ``target`` (G frozen, Adam on z, ``restarts`` random starts,
    each coordinate clipped to +-``clip`` prior standard deviations after every step).
    Returns (codes, reconstructions, per-image mean squared error)."""
    if G.backend != "torch":
        raise GanforgeError("inversion needs gradients through G: give the G.ckpt, not an exported artifact")
    if [s["distribution"] for s in G.signature] != ["normal"]:
        raise GanforgeError("inversion works on generators whose only input is z (gan, dcgan, lsgan)")
    module, device = G.module, G.device
    target = target.to(device)
    dim = G.signature[0]["shape"]
    g = torch.Generator().manual_seed(seed)
    best_z, best_err = None, None
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        for _ in range(restarts):
            z = torch.randn([len(target), *dim], generator=g).to(device).requires_grad_(True)
            opt = torch.optim.Adam([z], lr=lr)
            for _ in range(steps):
                err = ((module(z) - target) ** 2).flatten(1).mean(1)
                opt.zero_grad()
                err.sum().backward()
                opt.step()
                with torch.no_grad():
                    z.clamp_(-clip, clip)
            with torch.no_grad():
                err = ((module(z) - target) ** 2).flatten(1).mean(1)
                if best_z is None:
                    best_z, best_err = z.detach().clone(), err
                else:
                    better = err < best_err
                    best_z[better], best_err = z.detach()[better], torch.minimum(err, best_err)
    finally:
        for p in module.parameters():
            p.requires_grad_(True)
    with torch.no_grad():
        return best_z.cpu(), module(best_z).cpu(), best_err.cpu()


def invert(path, images, out="inversion.png", *, steps: int = 300, restarts: int = 4, heldout: int = 0,
           seed: int = 0, device: str = "cpu", scale: int | None = None, trust: bool = False) -> dict:
    """Recover the codes of ``images`` (a file or folder), save originals beside reconstructions,
    and with ``heldout`` N also compare the reconstruction error of N training images with that of
    N held-out ones from the run's dataset (the generalization test)."""
    from ganforge.artifacts.loading import load_generator
    from ganforge.data.pictures import image_files, read_image

    G = load_generator(path, device=device, trust=trust)
    c, size = _output_shape(G)
    result = {}
    if images is not None:
        source = Path(images)
        files = image_files(source) if source.is_dir() else [source] if source.is_file() else []
        if not files:
            raise GanforgeError(f"no images found at '{images}'")
        target = torch.stack([read_image(f, c, size) for f in files])
        _, recon, err = invert_codes(G, target, steps=steps, restarts=restarts, seed=seed)
        pairs = torch.stack([target, recon.to(target.dtype)], 1).flatten(0, 1)
        columns = 2 * min(4, len(files))
        result["grid"] = save_grid(pairs, G.output_range, out, nrow=columns, scale=scale,
                                   column_labels=["original", "inverted"] * (columns // 2))
        result["errors"] = {str(f): round(e, 6) for f, e in zip(files, err.tolist())}
    if heldout:
        from ganforge.artifacts import rundir
        from ganforge.hooks.manager import get
        from ganforge.training.settings import BY_NAME

        trained_on = rundir.read_config(rundir.run_of(path), required=False).get("engine", {})
        dataset = trained_on.get("dataset") or BY_NAME["dataset"].default
        errors = {}
        for split in ("train", "test"):
            data = get("datasets", dataset)(image_size=size, channels=c, split=split)
            pick = torch.randperm(len(data.images), generator=torch.Generator().manual_seed(seed))[:heldout]
            errors[split] = invert_codes(G, data.images[pick], steps=steps, restarts=restarts, seed=seed)[2].mean().item()
        result["train_mse"], result["heldout_mse"] = errors["train"], errors["test"]
        result["heldout_over_train"] = errors["test"] / errors["train"]
    return result
