"""A Triton Inference Server model repository for a generator: ``REPO/NAME/config.pbtxt`` and
``REPO/NAME/1/model.onnx`` (or ``model.plan``, a TensorRT engine), with dynamic batching on.

The same clients that talk to ``ganforge serve`` then talk to Triton, which serves ONNX and
TensorRT models on many GPUs and, through KServe, on Kubernetes. The configuration follows
Triton's model configuration (``ModelConfig``): with ``max_batch_size`` above 0 the dims leave
out the batch dimension, and a class input of shape ``(N,)`` is declared with dims ``[1]``
and ``reshape { shape: [] }``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ganforge.errors import GanforgeError

PLATFORMS = {"onnx": ("onnxruntime_onnx", "model.onnx"), "tensorrt": ("tensorrt_plan", "model.plan")}
TRITON_TYPES = {"float32": "TYPE_FP32", "int64": "TYPE_INT64", "float16": "TYPE_FP16"}


def model_config(name: str, platform: str, signature: list[dict], output_shape: list[int], max_batch: int,
                 max_delay_us: int, meta: dict) -> str:
    """``config.pbtxt`` for a generator (protobuf text format)."""
    def tensor(tensor_name, dtype, dims):
        reshape = "" if dims else " reshape: { shape: [ ] }"
        return (f'  {{ name: "{tensor_name}" data_type: {dtype} dims: [ {", ".join(map(str, dims or [1]))} ]'
                f'{reshape} }}')

    inputs = ",\n".join(tensor(s["name"], TRITON_TYPES.get(s.get("dtype", "float32"), "TYPE_FP32"), s["shape"])
                        for s in signature)
    return (f'name: "{name}"\nplatform: "{platform}"\nmax_batch_size: {max_batch}\n'
            f"input [\n{inputs}\n]\n"
            f'output [\n{tensor("output", "TYPE_FP32", output_shape)}\n]\n'
            f"dynamic_batching {{ max_queue_delay_microseconds: {max_delay_us} }}\n"
            f'parameters {{ key: "ganforge" value: {{ string_value: {json.dumps(json.dumps(meta, sort_keys=True))} }} }}\n')


def export_repository(checkpoint, repository, *, name: str | None = None, exporter: str = "onnx",
                      max_batch: int = 64, max_delay_us: int = 5000, device: str | None = None) -> Path:
    """Export the generator in ``checkpoint`` into a Triton model repository (verified against
    PyTorch like any export); returns the model's folder."""
    from ganforge.artifacts.export import export
    from ganforge.artifacts.loading import load_generator

    if exporter not in PLATFORMS:
        raise GanforgeError(f"a Triton repository takes an onnx or tensorrt model, not {exporter}")
    platform, filename = PLATFORMS[exporter]
    G = load_generator(checkpoint)
    if G.backend != "torch":
        raise GanforgeError(f"'{checkpoint}' is already an exported artifact; export the repository from its G.ckpt")
    name = name or G.meta.get("recipe") or "generator"
    folder = Path(repository) / name
    import torch

    from ganforge.contracts.exporter import spatial
    from ganforge.contracts.networks import random_inputs

    output_shape = list(G(*random_inputs(G.signature, 1, torch.Generator().manual_seed(0))).shape[1:])
    with tempfile.TemporaryDirectory() as tmp:
        suffix = ".engine" if exporter == "tensorrt" else ".onnx"
        result = export(checkpoint, exporter, Path(tmp) / f"G{suffix}", max_batch=max_batch,
                        device=device or ("cuda" if exporter == "tensorrt" else "cpu"))
        (folder / "1").mkdir(parents=True, exist_ok=True)
        shutil.copy(result.path, folder / "1" / filename)
    meta = {k: G.meta.get(k) for k in ("recipe", "step", "output_range", "signature", "size_multiple")}
    signature = G.signature
    if spatial(signature, G.meta.get("size_multiple")):  # any height and width: -1 in Triton's dims
        signature = [{**signature[0], "shape": [signature[0]["shape"][0], -1, -1]}]
        output_shape = [output_shape[0], -1, -1]
    (folder / "config.pbtxt").write_text(model_config(name, platform, signature, output_shape, max_batch,
                                                      max_delay_us, meta))
    return folder
