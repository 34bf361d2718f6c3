"""Loading a trained generator for inference from its self-describing checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from ganforge.artifacts import checkpoint
from ganforge.devices import choose_device
from ganforge.errors import CheckpointError, GanforgeError
from ganforge.artifacts.limits import bounded, check_signature, elements
from ganforge.contracts.networks import random_inputs
from ganforge.hooks.manager import get
from ganforge.hooks.provenance import missing_plugin
from ganforge.artifacts import rundir
from ganforge.artifacts import trust as trust_module


# What ``label=`` and ``text=`` (``--label``, ``--text``) fix when no input has that name: the one
# input of this distribution (a class input named ``digit``, say).
BY_KIND = {"label": "categorical", "text": "text"}


class Generator:
    """A generator ready for inference: ``G(*inputs)`` returns images in ``output_range``.

    ``signature`` lists the inputs (e.g. a latent ``z``; a class ``label`` for
    conditional GANs); ``generate(n, seed=..., label=7)`` draws the inputs for you,
    fixing any input given by name.
    """

    def __init__(self, module, meta: dict, device: torch.device, backend: str = "torch"):
        # ``module`` is an nn.Module for checkpoints, or an exporter's runner for artifacts.
        self.meta, self.device, self.backend = meta, torch.device(device), backend
        self.module = module.eval().to(device) if backend == "torch" else module
        self.signature = meta["signature"]
        self.output_range = tuple(meta["output_range"])

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        if len(inputs) != len(self.signature):
            names = ", ".join(s["name"] for s in self.signature)
            raise GanforgeError(f"this generator takes {len(self.signature)} inputs ({names}), got {len(inputs)}")
        with torch.inference_mode():
            out = self.module(*(x.to(self.device) for x in inputs))
        if not isinstance(out, torch.Tensor) or out.dim() != 4 or len(out) != len(inputs[0]):
            raise GanforgeError(f"this {self.backend} generator returned {tuple(getattr(out, 'shape', ()))} for "
                                f"{len(inputs[0])} inputs, not N images (N x C x H x W)")
        if not out.is_floating_point() or not torch.isfinite(out).all():
            raise GanforgeError(f"this {self.backend} generator (step {self.meta.get('step', '?')}) produced NaN or "
                                "infinite values: its weights are not finite (from a diverged run?)")
        return out

    def random_inputs(self, n: int, seed: int | None = None, **fixed) -> list[torch.Tensor]:
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        inputs = random_inputs(self.signature, n, g)
        names = [s["name"] for s in self.signature]
        for name, value in fixed.items():
            if value is None:
                continue
            if name not in names and name in BY_KIND:  # --label / --text: the class or caption input, whatever its name
                of_kind = [s["name"] for s in self.signature if s["distribution"] == BY_KIND[name]]
                name = of_kind[0] if len(of_kind) == 1 else name
            if name not in names:
                raise GanforgeError(f"this generator has no input '{name}' (inputs: {', '.join(names)})")
            i = names.index(name)
            spec = self.signature[i]
            if spec["distribution"] == "text" and isinstance(value, str):
                inputs[i] = self.encode_text(value, spec).expand_as(inputs[i]).clone()
                continue
            if spec["distribution"] == "categorical" and not 0 <= int(value) < spec["num_classes"]:
                raise GanforgeError(f"{name} must be in 0..{spec['num_classes'] - 1}, got {value}")
            inputs[i] = torch.as_tensor(value, dtype=inputs[i].dtype).expand_as(inputs[i]).clone()
        missing = [s["name"] for s in self.signature if s["distribution"] == "text"
                   and fixed.get(s["name"]) is None and fixed.get("text") is None]
        if missing:
            raise GanforgeError("this generator draws from a caption: pass one (--text \"a thick seven\")")
        return inputs

    def encode_text(self, text: str, spec: dict) -> torch.Tensor:
        """A caption embedded by the text encoder recorded in the checkpoint."""
        encoder = get("networks", spec["encoder"]["network"])(**spec["encoder"]["kwargs"])
        if hasattr(encoder, "unknown_words") and len(encoder.unknown_words(text)) == len(encoder.words(text)):
            known = ", ".join(encoder.vocabulary[:30])
            raise GanforgeError(f"none of the words of '{text}' are known to this generator (it knows: {known})")
        return encoder.encode([text])[0]

    def generate(self, n: int, seed: int | None = None, batch_size: int = 256, **fixed) -> torch.Tensor:
        """``n`` images (on CPU, in ``output_range``), drawn in batches."""
        return self._run(self.random_inputs(n, seed, **fixed), batch_size)

    def generate_per_class(self, per_class: int, seed: int | None = None, batch_size: int = 256) -> torch.Tensor:
        """``per_class`` images of every class, class by class (for one grid row per class)."""
        index = next((i for i, s in enumerate(self.signature) if s["distribution"] == "categorical"), None)
        if index is None:
            raise GanforgeError("this generator has no class input; --per-class needs a conditional GAN")
        k = self.signature[index]["num_classes"]
        inputs = self.random_inputs(per_class * k, seed)
        inputs[index] = torch.arange(k).repeat_interleave(per_class)
        return self._run(inputs, batch_size)

    def _run(self, inputs: list[torch.Tensor], batch_size: int) -> torch.Tensor:
        n = len(inputs[0])
        chunks = [self(*(x[i:i + batch_size] for x in inputs)).cpu() for i in range(0, n, batch_size)]
        return torch.cat(chunks) if chunks else torch.empty(0)


def _rebuild(path: Path, tensors: dict, meta: dict) -> torch.nn.Module:
    """The network the metadata names, built no larger than the file's tensors (plus a margin
    for buffers a checkpoint does not keep), with the file's weights."""
    if "network" not in meta or not isinstance(meta.get("network_kwargs"), dict):
        raise CheckpointError(f"'{path}' does not say which network it holds")
    recorded = meta.get("components")
    missing = missing_plugin([c for c in recorded if isinstance(c, dict) and c.get("kind") != "gans"]
                             if isinstance(recorded, list) else [])
    if missing:
        raise CheckpointError(f"cannot load '{path}': {missing}")
    builder = get("networks", meta["network"])
    limit = elements(tensors.values()) + 1_000_000
    try:
        try:  # first on the meta device, which allocates nothing: an oversized network is refused before any memory
            with bounded(limit, f"'{path}'"), torch.device("meta"):
                builder(**meta["network_kwargs"])
        except CheckpointError:
            raise
        except Exception:  # a builder that cannot run on the meta device: the bounded build below still guards
            pass
        with bounded(limit, f"'{path}'"):
            module = builder(**meta["network_kwargs"])
        module.load_state_dict(tensors)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"'{path}' does not match network '{meta.get('network')}': "
                              f"{' '.join(str(exc).split())[:160]}") from None
    return module


def load_generator(path: str | Path, device: str | torch.device = "cpu", trust: bool = False) -> Generator:
    """The generator in ``G.ckpt`` (or a run directory holding one), or in an exported
    artifact (``.onnx``, ``.engine``, ``.pt2``): the same interface whatever the backend.

    An artifact whose exporter says it is native code (``.pt2``, TensorRT engines) loads only
    when trusted (``ganforge.artifacts.trust``): exported by this ganforge, recorded with
    ``ganforge trust FILE``, or loaded with ``trust=True``; anything else is refused before
    any byte of it reaches torch's or TensorRT's loader."""
    device = choose_device(device)
    path = rundir.generator_file(path)
    exporter = exporter_for(path)
    why = unclaimed(path) if exporter is None else None
    if why:
        raise GanforgeError(f"cannot load '{path}': {why}")
    if exporter is not None:
        if not path.is_file():
            raise GanforgeError(f"no such file: '{path}'")
        if getattr(exporter, "native_code", True):
            article = "an" if exporter.name[:1].lower() in "aeiou" else "a"
            trust_module.require(path, f"{article} {exporter.name} artifact", trust)
        reason = exporter.unavailable(str(device))
        if reason:
            raise GanforgeError(f"cannot load '{path}': {reason}")
        forward, meta = exporter.load(path, str(device))
        check_signature(meta.get("signature"), f"'{path}'")
        _warn_if_stale(path, meta)
        return Generator(forward, meta, device, backend=exporter.name)
    tensors, meta = checkpoint.load(path, kind="generator")
    check_signature(meta.get("signature"), f"'{path}'")
    newer = rundir.newer_generator(path, meta)
    if newer is not None:
        tensors, step = newer
        print(f"ganforge: warning: '{path}' is of step {meta.get('step')} but the run's state.ckpt of step {step} "
              f"(a save was interrupted); using step {step}", file=sys.stderr)
        meta = {**meta, "step": step}
    return Generator(_rebuild(path, tensors, meta), meta, device)


def _warn_if_stale(artifact: Path, meta: dict) -> None:
    """An artifact exported before its checkpoint was trained further no longer shows it."""
    beside = artifact.with_suffix(checkpoint.SUFFIX)
    source = checkpoint.read_meta(beside)
    if source is not None and source.get("step") != meta.get("step"):
        print(f"ganforge: warning: '{artifact}' was exported from step {meta.get('step')}, but "
              f"'{beside}' beside it is now of step {source.get('step')}: "
              "export it again to use the newer weights", file=sys.stderr)


def load_network(path: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Any network a run saved (``D.ckpt``, ``G.ckpt``), rebuilt in eval mode; e.g. the
    semi-supervised GAN's discriminator, a K+1-way classifier."""
    device = choose_device(device)
    path = Path(path)
    tensors, meta = checkpoint.load(path)
    return _rebuild(path, tensors, meta).eval().to(device)


def exporter_for(path: Path):
    """The installed exporter whose artifacts end like ``path`` (None for checkpoints, without
    importing any exporter). A broken exporter plugin is reported and skipped, never in the way."""
    from ganforge.hooks.manager import loaded

    if Path(path).suffix == checkpoint.SUFFIX:
        return None
    for _, exporter_cls in loaded("exporters"):
        exporter = exporter_cls()
        if str(path).endswith(exporter.suffix):
            return exporter
    return None


def unclaimed(path: Path) -> str | None:
    """Why ``path`` cannot be loaded when it is neither a checkpoint nor any installed
    exporter's artifact (the plugin that exported it is missing); None when it is a checkpoint."""
    from ganforge.hooks.manager import loaded

    path = Path(path)
    if path.suffix == checkpoint.SUFFIX or not path.is_file() or checkpoint.read_meta(path) is not None:
        return None
    known = ", ".join(f"{name} ({cls().suffix})" for name, cls in loaded("exporters"))
    return (f"no installed exporter reads '{path.suffix or path.name}' files, so the exporter plugin that wrote "
            f"'{path}' is not installed (ganforge list exporters: {known})")
