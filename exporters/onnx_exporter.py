"""ONNX export with ``torch.onnx.export(dynamo=True)`` and an ONNX Runtime loader.

The graph has named inputs (the generator's signature: ``z``, ``label``,
``image``, ``text``), one output ``image`` and a dynamic batch dimension; the
generator's metadata travels in the model's ``metadata_props`` under
``ganforge``. ``onnx.checker`` runs with ``full_check`` (shape inference too)
before the file is kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import warnings
from pathlib import Path

from ganforge.plugin import (EXPORT_MAX_BATCH, MAX_INPUT_ELEMENTS, artifact_meta, check_signature, dump_meta, export_example,
                             Exporter, first_line, GanforgeError)

META_KEY = "ganforge"
# Opset 18 is the oldest the dynamo exporter emits natively; newer runtimes all read it.
DEFAULT_OPSET = 18
OUTPUT_NAME = "output"  # not "image": that is the input of image-to-image generators


def _missing(*modules: str) -> str | None:
    import importlib.util

    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    if absent:
        return f"{', '.join(absent)} is not installed (pip install onnx onnxscript onnxruntime)"
    return None


def write_onnx(module, signature: list[dict], path: Path, meta: dict, *, max_batch: int = EXPORT_MAX_BATCH,
               opset: int = DEFAULT_OPSET) -> None:
    """Export ``module`` (eval mode) to ``path`` with a dynamic batch (and a dynamic height and
    width when ``meta`` says ``dynamic_size``), metadata and a full check."""
    import onnx
    import torch

    newest = onnx.defs.onnx_opset_version()
    if not 1 <= opset <= newest:
        raise GanforgeError(f"opset {opset} does not exist for the installed onnx {onnx.__version__} (1..{newest})")
    names = [s["name"] for s in signature]
    example, dynamic = export_example(module, signature, max_batch, next(module.parameters()).device,
                                      meta.get("size_multiple") if meta.get("dynamic_size") else None)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        try:
            with torch.no_grad(), warnings.catch_warnings(), _quiet_loggers("torch.onnx", "onnxscript"):
                warnings.filterwarnings("ignore", message=".*axis name.*")  # every input shares the batch Dim
                torch.onnx.export(module, tuple(example), str(raw), dynamo=True, input_names=names,
                                  output_names=[OUTPUT_NAME], dynamic_shapes=dynamic, opset_version=opset,
                                  external_data=False, verbose=False)
        except Exception as exc:  # the exporter raises many kinds; show the first line
            raise GanforgeError(f"ONNX export (opset {opset}) failed: {first_line(exc)}") from None
        model = onnx.load(str(raw))
    got = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if got != opset:  # the exporter falls back to its own opset when it cannot convert
        raise GanforgeError(f"this generator cannot be exported at opset {opset} (the exporter produced opset {got}; "
                            f"use --opset {got} or newer)")
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, dump_meta(meta)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise GanforgeError(f"the exported ONNX model fails onnx.checker: {first_line(exc)}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, path)


@contextlib.contextmanager
def _quiet_loggers(*names: str):
    """The exporter logs tracebacks for conversions it then reports as failed; we report them once."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


ONNX_TYPES = {"float32": "tensor(float)", "int64": "tensor(int64)"}


def read_meta(path: Path, metadata: dict[str, str]) -> dict:
    if META_KEY not in metadata:
        raise GanforgeError(f"'{path}' was not exported by ganforge (it has no ganforge metadata)")
    try:
        meta = json.loads(metadata[META_KEY])
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict):
        raise GanforgeError(f"'{path}' has corrupt ganforge metadata")
    check_signature(meta.get("signature"), f"'{path}'")
    return meta


def check_graph(path: Path, session, meta: dict) -> None:
    """The model's inputs and output are what its metadata promises: one input per entry of
    the signature (name, type, shape after the batch), and one 4-d float output."""
    inputs = session.get_inputs()
    expected = [s["name"] for s in meta["signature"]]
    if [i.name for i in inputs] != expected:
        raise GanforgeError(f"'{path}' takes inputs {[i.name for i in inputs]}, its metadata says {expected}")
    for spec, given in zip(meta["signature"], inputs):
        wanted = ONNX_TYPES.get(spec.get("dtype", "float32"), "tensor(float)")
        fixed = [d for d in given.shape[1:]]
        if given.type != wanted or (all(isinstance(d, int) for d in fixed) and fixed != list(spec["shape"])):
            raise GanforgeError(f"'{path}': input '{given.name}' is {given.type} {given.shape}, the metadata "
                                f"says {wanted} [batch, {', '.join(map(str, spec['shape']))}]")
    outputs = session.get_outputs()
    if [o.name for o in outputs] != [OUTPUT_NAME] or outputs[0].type != "tensor(float)" \
            or len(outputs[0].shape) != 4:
        described = ", ".join(f"{o.name} {o.type} {o.shape}" for o in outputs)
        raise GanforgeError(f"'{path}' must have one output '{OUTPUT_NAME}', float N x C x H x W; it has {described}")
    sizes = [d for d in outputs[0].shape[1:] if isinstance(d, int)]
    if math.prod(sizes) > MAX_INPUT_ELEMENTS:
        raise GanforgeError(f"'{path}' declares images of {outputs[0].shape[1:]}: too large")


class OnnxRunner:
    """Runs an ONNX model in ONNX Runtime with torch tensors in and out."""

    def __init__(self, session, device: str):
        self.session, self.device = session, device
        self.names = [i.name for i in session.get_inputs()]

    def __call__(self, *inputs):
        import torch

        feeds = {name: x.detach().cpu().numpy() for name, x in zip(self.names, inputs)}
        (image,) = self.session.run([OUTPUT_NAME], feeds)
        return torch.from_numpy(image).to(self.device)


class OnnxExporter(Exporter):
    """ONNX model (torch.onnx dynamo exporter), run with ONNX Runtime."""

    name = "onnx"
    suffix = ".onnx"
    native_code = False  # ONNX Runtime runs no code from the file, and refuses external data outside its folder
    precisions = ("fp32",)

    def unavailable(self, device: str = "cpu") -> str | None:
        return _missing("onnx", "onnxscript", "onnxruntime")

    def export(self, generator, path, *, precision="fp32", max_batch=EXPORT_MAX_BATCH, device="cpu", opset=DEFAULT_OPSET):
        import onnx

        meta = artifact_meta(generator, self, precision)
        meta["opset"], meta["versions"]["onnx"] = opset, onnx.__version__
        write_onnx(generator.module, generator.signature, Path(path), meta, max_batch=max_batch, opset=opset)

    def load(self, path, device="cpu"):
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            index = int(device.split(":")[1]) if ":" in device else 0
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": index}))
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only; ORT warns about unused initializers otherwise
        try:
            session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:
            raise GanforgeError(f"'{path}' is not a readable ONNX model: {first_line(exc)[:200]}") from None
        meta = read_meta(path, session.get_modelmeta().custom_metadata_map)
        check_graph(path, session, meta)
        return OnnxRunner(session, device), meta
