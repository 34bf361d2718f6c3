"""The exporter contract: what a ``register_exporters`` plugin implements, and how
ganforge finds an exporter by name or by an artifact's file name.

An exporter writes one kind of artifact (``.onnx``, ``.engine``, ``.pt2``) and loads
it back as a callable taking and returning torch tensors. This module sits below
both ``ganforge.artifacts`` (export and verification) and ``ganforge.artifacts.loading``
(loading), the way ``ganforge.plugin`` holds the loss contract.
"""

from __future__ import annotations

import json
from pathlib import Path

# Largest allowed |artifact - pytorch| on images in [-1, 1], by precision (and device for fp32:
# GPUs may run fp32 convolutions as TF32).
TOLERANCES = {("fp32", "cpu"): 1e-4, ("fp32", "cuda"): 5e-3, ("fp16", "cuda"): 5e-2, ("bf16", "cuda"): 1.5e-1,
              ("fp16", "cpu"): 5e-2, ("bf16", "cpu"): 1.5e-1}
PRECISIONS = ("fp32", "fp16", "bf16")
# The largest batch an artifact accepts unless the export asks for another (its batch dimension
# is dynamic up to it).
EXPORT_MAX_BATCH = 256


def tolerance(precision: str, device: str) -> float:
    return TOLERANCES[(precision, "cuda" if str(device).startswith("cuda") else "cpu")]


class Exporter:
    """One kind of deployable artifact. Subclasses set ``name``, ``suffix`` and the
    precisions and devices they support, and implement ``export`` and ``load``."""

    name = "exporter"
    suffix = ".bin"
    # Whether loading an artifact may run code from it (a shared library, engine plugins). Such
    # artifacts load only when trusted (``ganforge.artifacts.trust``); an exporter whose artifacts
    # are data that its runtime cannot execute (ONNX) sets False.
    native_code = True
    precisions: tuple[str, ...] = ("fp32",)
    devices: tuple[str, ...] = ("cpu", "cuda")

    def unavailable(self, device: str = "cpu") -> str | None:
        """Why this exporter cannot run here (a missing package, no CUDA), or None."""
        return None

    def export(self, generator, path: Path, *, precision: str = "fp32", max_batch: int = EXPORT_MAX_BATCH,
               device: str = "cpu") -> None:
        """Write ``generator`` (a torch ``ganforge.Generator``) to ``path``."""
        raise NotImplementedError

    def load(self, path: Path, device: str = "cpu"):
        """``(forward, meta)``: a callable ``forward(*tensors) -> tensor`` and the artifact's metadata."""
        raise NotImplementedError


def artifact_meta(generator, exporter: Exporter, precision: str) -> dict:
    """The checkpoint's metadata plus what this artifact is."""
    import torch

    from ganforge.version import __version__

    meta = dict(generator.meta)
    meta.update({"kind": "generator", "format": exporter.name, "precision": precision,
                 "input_names": [s["name"] for s in generator.signature], "output_name": "output"})
    if spatial(generator.signature, meta.get("size_multiple")):  # any height and width, in multiples
        meta.update({"dynamic_size": True, "max_side": EXPORT_MAX_SIDE})
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


# The largest height and width an artifact of a fully convolutional generator accepts (its spatial
# dimensions are dynamic, in multiples of the generator's ``size_multiple``, up to this).
EXPORT_MAX_SIDE = 2048


def export_example(module, signature: list[dict], max_batch: int, device="cpu", size_multiple: int | None = None):
    """``(example inputs, dynamic_shapes)`` for torch.export / torch.onnx.export: a dynamic batch
    (``batch_dynamic_shapes``) and, for a fully convolutional image-to-image generator (one image
    input and a ``size_multiple``), a dynamic height and width in multiples of it up to
    ``EXPORT_MAX_SIDE``. The example is drawn at twice the multiple at least: an example
    dimension of one multiple would be fixed by the tracer."""
    import torch

    from ganforge.contracts.networks import random_inputs

    example = random_inputs(signature, 2, torch.Generator().manual_seed(0), device)
    shapes = batch_dynamic_shapes(module, len(example), max_batch)
    if not spatial(signature, size_multiple):
        return example, shapes
    channels, side = signature[0]["shape"][0], signature[0]["shape"][-1]
    side = max(side, 2 * size_multiple)
    example[0] = (torch.rand(2, channels, side, side, generator=torch.Generator().manual_seed(0)) * 2 - 1).to(device)
    blocks = EXPORT_MAX_SIDE // size_multiple
    height, width = (torch.export.Dim(name, min=1, max=blocks) for name in ("height_blocks", "width_blocks"))
    flat = shapes[0] if isinstance(shapes[0], tuple) else shapes
    dims = {**flat[0], 2: size_multiple * height, 3: size_multiple * width}
    return example, ((dims,),) if isinstance(shapes[0], tuple) else (dims,)


def spatial(signature: list[dict], size_multiple: int | None) -> bool:
    """Whether a generator's artifact takes any height and width (in multiples of ``size_multiple``)."""
    return bool(size_multiple) and len(signature) == 1 and signature[0]["distribution"] == "image"


def dump_meta(meta: dict) -> str:
    """``meta`` as the JSON text an exporter stores in or beside its artifact."""
    return json.dumps(meta, sort_keys=True)


def get_exporter(name: str) -> Exporter:
    from ganforge.hooks.manager import get

    return get("exporters", name)()
