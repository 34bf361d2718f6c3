"""Turning a trained generator into a deployable artifact, and checking it.

An exporter plugin (``ganforge.plugin.Exporter``) writes the artifact; ``export()``
then runs PyTorch and
the artifact on the same seeded inputs and refuses an artifact whose outputs
drift further than the tolerance of its precision.

Every artifact carries the generator's metadata (recipe, network, input signature,
output range, versions), so ``ganforge.load_generator`` rebuilds the same
``Generator`` interface from the artifact alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ganforge.artifacts import rundir, trust
from ganforge.devices import choose_device
from ganforge.errors import GanforgeError
from ganforge.contracts.exporter import EXPORT_MAX_BATCH, get_exporter, tolerance

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


def export(checkpoint, exporter_name: str = "onnx", out=None, *, precision: str = "fp32", device: str = "cpu",
           max_batch: int = EXPORT_MAX_BATCH, verify: bool = True, verify_batches: tuple[int, ...] = (1, 5),
           seed: int = 0, **options) -> ExportResult:
    """Export the generator in ``checkpoint`` (``G.ckpt`` or a run directory) with the exporter ``exporter_name``.

    The artifact goes to ``out`` (default: beside the checkpoint, ``G.onnx`` etc.).
    With ``verify`` (the default) PyTorch and the artifact run on the same seeded
    inputs at each batch size of ``verify_batches`` (checking the dynamic batch
    dimension too); an error above the precision's tolerance raises ``GanforgeError``
    and the artifact is removed. Other keyword arguments go to the exporter (``opset=17``).
    """
    from ganforge.artifacts.loading import load_generator

    exporter = get_exporter(exporter_name)
    if precision not in exporter.precisions:
        raise GanforgeError(f"the {exporter.name} exporter supports precision {', '.join(exporter.precisions)}, "
                            f"not '{precision}'")
    device = str(device)
    reason = exporter.unavailable(device)
    if reason:
        raise GanforgeError(f"cannot export to {exporter.name}: {reason}")
    device = str(choose_device(device))  # a misspelled or missing device: one line
    if device.split(":")[0] not in exporter.devices:
        raise GanforgeError(f"the {exporter.name} exporter runs on {' or '.join(exporter.devices)}, not '{device}'")
    checkpoint = Path(checkpoint)
    generator = load_generator(checkpoint, device=device)
    if generator.backend != "torch":
        raise GanforgeError(f"'{checkpoint}' is already an exported artifact ({generator.backend}); "
                            "export from the G.ckpt it came from")
    source = rundir.generator_file(checkpoint)
    path = Path(out) if out is not None else source.with_suffix(exporter.suffix)
    if max_batch < max(verify_batches):
        verify_batches = tuple(b for b in verify_batches if b <= max_batch) or (1,)
    try:
        exporter.export(generator, path, precision=precision, max_batch=max_batch, device=device, **options)
    except TypeError as exc:
        if options and "unexpected keyword" in str(exc):
            raise GanforgeError(f"the {exporter.name} exporter does not take {', '.join(options)}") from None
        raise
    # ganforge trusts what it wrote itself (a re-export replaces the record); the digest is kept for exports.json
    digest = trust.record(path, "exported") if getattr(exporter, "native_code", True) else None
    result = ExportResult(path, exporter.name, precision, device, batch_sizes=tuple(verify_batches))
    if verify:
        try:
            artifact = load_generator(path, device=device)
            result.max_abs_error, result.max_rel_error = compare(generator, artifact, verify_batches, seed)
        except GanforgeError as exc:
            _discard(path)
            raise GanforgeError(f"the {exporter.name} artifact failed verification ({exc}); it was not kept") from None
        result.tolerance = tolerance(precision, device)
        if not result.verified:
            _discard(path)
            raise GanforgeError(f"the {exporter.name} artifact differs from PyTorch by up to {result.max_abs_error:.3g} "
                                f"(absolute; {result.tolerance:g} allowed for {precision}); it was not kept")
    _note_export(source, path, result, generator, digest)
    return result


def _discard(path: Path) -> None:
    """An artifact that failed verification: removed, and no longer trusted."""
    if path.is_file():
        trust.forget(path)
    path.unlink(missing_ok=True)


def _note_export(source: Path, path: Path, result: "ExportResult", generator, digest: str | None) -> None:
    """Inside a run directory, the run's export record (``exports.json``) says what was
    exported from which step, with each artifact's SHA-256."""
    run = source.parent
    if not (run / rundir.CONFIG).is_file():
        return
    rundir.record_export(run, path, {"format": result.format, "precision": result.precision,
                                     "device": result.device, "step": generator.meta.get("step"),
                                     "sha256": digest or trust.sha256_of(path), "max_abs_error": result.max_abs_error})


def compare(reference, artifact, batch_sizes=(1, 5), seed: int = 0) -> tuple[float, float]:
    """Max absolute and relative difference between two generators on the same seeded inputs;
    an artifact that takes any image size is compared at the trained size and, for the second
    batch size, at a taller one (one ``size_multiple`` more)."""
    import torch

    from ganforge.contracts.networks import random_inputs

    max_abs = max_rel = 0.0
    for i, n in enumerate(batch_sizes):
        inputs = random_inputs(reference.signature, n, torch.Generator().manual_seed(seed + i))
        if i % 2 and artifact.meta.get("dynamic_size"):
            channels, side = reference.signature[0]["shape"][0], reference.signature[0]["shape"][-1]
            taller = side + artifact.meta["size_multiple"]
            inputs = [torch.rand(n, channels, taller, side, generator=torch.Generator().manual_seed(seed + i)) * 2 - 1]
        expected = reference(*inputs).float().cpu()
        got = artifact(*inputs).float().cpu()
        if got.shape != expected.shape:
            raise GanforgeError(f"the artifact returned shape {tuple(got.shape)}, PyTorch {tuple(expected.shape)}")
        diff = (got - expected).abs()
        if not torch.isfinite(diff).all():  # max() would pass NaN over
            raise GanforgeError("the artifact returned NaN or infinite values where PyTorch did not")
        max_abs = max(max_abs, diff.max().item())
        max_rel = max(max_rel, (diff / expected.abs().clamp(min=1e-3)).max().item())
    return max_abs, max_rel
