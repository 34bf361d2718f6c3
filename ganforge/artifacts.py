"""Turning a trained generator into a deployable artifact, and checking it.

An exporter is a plugin (``register_exporters``): a subclass of ``Exporter`` that
writes one kind of artifact (``.onnx``, ``.engine``, ``.pt2``) and loads it back as
a callable taking and returning torch tensors. ``export()`` then runs PyTorch and
the artifact on the same seeded inputs and refuses an artifact whose outputs
drift further than the tolerance of its precision.

Every artifact carries the generator's metadata (recipe, network, input signature,
output range, versions), so ``ganforge.load_generator`` rebuilds the same
``Generator`` interface from the artifact alone.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .errors import GanforgeError

# Largest allowed |artifact - pytorch| on images in [-1, 1], by precision (and device for fp32:
# GPUs may run fp32 convolutions as TF32).
TOLERANCES = {("fp32", "cpu"): 1e-4, ("fp32", "cuda"): 5e-3, ("fp16", "cuda"): 5e-2, ("bf16", "cuda"): 1.5e-1,
              ("fp16", "cpu"): 5e-2, ("bf16", "cpu"): 1.5e-1}
PRECISIONS = ("fp32", "fp16", "bf16")


def tolerance(precision: str, device: str) -> float:
    return TOLERANCES[(precision, "cuda" if str(device).startswith("cuda") else "cpu")]


class Exporter:
    """One kind of deployable artifact. Subclasses set ``name``, ``suffix`` and the
    precisions and devices they support, and implement ``export`` and ``load``."""

    name = "exporter"
    suffix = ".bin"
    precisions: tuple[str, ...] = ("fp32",)
    devices: tuple[str, ...] = ("cpu", "cuda")

    def unavailable(self, device: str = "cpu") -> str | None:
        """Why this exporter cannot run here (a missing package, no CUDA), or None."""
        return None

    def export(self, generator, path: Path, *, precision: str = "fp32", max_batch: int = 256,
               device: str = "cpu") -> None:
        """Write ``generator`` (a torch ``ganforge.Generator``) to ``path``."""
        raise NotImplementedError

    def load(self, path: Path, device: str = "cpu"):
        """``(run, meta)``: a callable ``run(*tensors) -> tensor`` and the artifact's metadata."""
        raise NotImplementedError


def artifact_meta(generator, exporter: Exporter, precision: str) -> dict:
    """The checkpoint's metadata plus what this artifact is."""
    import torch

    from . import __version__

    meta = dict(generator.meta)
    meta.update({"kind": "generator", "format": exporter.name, "precision": precision,
                 "input_names": [s["name"] for s in generator.signature], "output_name": "output"})
    meta["versions"] = {**meta.get("versions", {}), "ganforge": __version__, "torch": torch.__version__}
    return meta


def batch_dynamic_shapes(module, count: int, max_batch: int):
    """``dynamic_shapes`` for torch.export / torch.onnx.export: dimension 0 of every input is
    the batch (1..max_batch). A ``forward(*inputs)`` takes them as one nested tuple."""
    import inspect

    import torch

    batch = torch.export.Dim("batch", min=1, max=max(max_batch, 2))
    shapes = tuple({0: batch} for _ in range(count))
    parameters = inspect.signature(module.forward).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return (shapes,)
    return shapes


def dump_meta(meta: dict) -> str:
    return json.dumps(meta, sort_keys=True)


@dataclasses.dataclass
class ExportResult:
    path: Path
    format: str
    precision: str
    device: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    tolerance: float | None = None
    batch_sizes: tuple[int, ...] = ()

    @property
    def verified(self) -> bool:
        return self.max_abs_error is not None and self.max_abs_error <= self.tolerance


def get_exporter(name: str) -> Exporter:
    from .plugin_manager import get

    return get("exporters", name)()


def exporter_for(path: Path) -> Exporter | None:
    """The exporter whose artifacts end like ``path`` (None for checkpoints)."""
    from .plugin_manager import registry

    for name in registry().names("exporters"):
        exporter = get_exporter(name)
        if str(path).endswith(exporter.suffix):
            return exporter
    return None


def export(checkpoint, format: str = "onnx", out=None, *, precision: str = "fp32", device: str = "cpu",
           max_batch: int = 256, verify: bool = True, verify_batches: tuple[int, ...] = (1, 5),
           seed: int = 0, **options) -> ExportResult:
    """Export the generator in ``checkpoint`` (``G.ckpt`` or a run directory) to ``format``.

    The artifact goes to ``out`` (default: beside the checkpoint, ``G.onnx`` etc.).
    With ``verify`` (the default) PyTorch and the artifact run on the same seeded
    inputs at each batch size of ``verify_batches`` (checking the dynamic batch
    dimension too); an error above the precision's tolerance raises ``GanforgeError``
    and the artifact is removed. Other keyword arguments go to the exporter (``opset=17``).
    """
    from .generator import load_generator

    exporter = get_exporter(format)
    if precision not in exporter.precisions:
        raise GanforgeError(f"the {exporter.name} exporter supports precision {', '.join(exporter.precisions)}, "
                            f"not '{precision}'")
    device = str(device)
    reason = exporter.unavailable(device)
    if reason:
        raise GanforgeError(f"cannot export to {exporter.name}: {reason}")
    if device.split(":")[0] not in exporter.devices:
        raise GanforgeError(f"the {exporter.name} exporter runs on {' or '.join(exporter.devices)}, not '{device}'")
    checkpoint = Path(checkpoint)
    generator = load_generator(checkpoint, device=device)
    if generator.backend != "torch":
        raise GanforgeError(f"'{checkpoint}' is already an exported artifact ({generator.backend}); "
                            "export from the G.ckpt it came from")
    source = checkpoint / "G.ckpt" if checkpoint.is_dir() else checkpoint
    path = Path(out) if out is not None else source.with_suffix(exporter.suffix)
    if max_batch < max(verify_batches):
        verify_batches = tuple(b for b in verify_batches if b <= max_batch) or (1,)
    try:
        exporter.export(generator, path, precision=precision, max_batch=max_batch, device=device, **options)
    except TypeError as exc:
        if options and "unexpected keyword" in str(exc):
            raise GanforgeError(f"the {exporter.name} exporter does not take {', '.join(options)}") from None
        raise
    result = ExportResult(path, exporter.name, precision, device, batch_sizes=tuple(verify_batches))
    if verify:
        artifact = load_generator(path, device=device)
        result.max_abs_error, result.max_rel_error = compare(generator, artifact, verify_batches, seed)
        result.tolerance = tolerance(precision, device)
        if not result.verified:
            path.unlink(missing_ok=True)
            raise GanforgeError(f"the {exporter.name} artifact differs from PyTorch by up to {result.max_abs_error:.3g} "
                                f"(tolerance {result.tolerance:g} for {precision}); it was not kept")
    return result


def compare(reference, artifact, batch_sizes=(1, 5), seed: int = 0) -> tuple[float, float]:
    """Max absolute and relative difference between two generators on the same seeded inputs."""
    import torch

    from .networks import random_inputs

    max_abs = max_rel = 0.0
    for i, n in enumerate(batch_sizes):
        inputs = random_inputs(reference.signature, n, torch.Generator().manual_seed(seed + i))
        expected = reference(*inputs).float().cpu()
        got = artifact(*inputs).float().cpu()
        if got.shape != expected.shape:
            raise GanforgeError(f"the artifact returned shape {tuple(got.shape)}, PyTorch {tuple(expected.shape)}")
        diff = (got - expected).abs()
        max_abs = max(max_abs, diff.max().item())
        max_rel = max(max_rel, (diff / expected.abs().clamp(min=1e-3)).max().item())
    return max_abs, max_rel
