"""TensorRT engines built from the ONNX graph, run through torch CUDA tensors.

Written against the TensorRT 10/11 Python API. Networks are strongly typed
(TensorRT 11 dropped the FP16/BF16 builder flags), so ``--precision fp16|bf16``
casts the graph before export (see ``precision.py``) and TensorRT keeps the types
it is given. The engine has one optimization profile covering batch sizes
1..max_batch, and builds reuse a timing cache beside the engine. The engine is
tied to the GPU and TensorRT version that built it; ``G.engine.json`` beside it
holds the generator's metadata.

At run time there is no pycuda: inputs and outputs are torch CUDA tensors whose
addresses are handed to ``execute_async_v3`` on a stream of its own, ordered
after the caller's stream so the inputs are ready.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

from ganforge.plugin import EXPORT_MAX_BATCH, EXPORT_MAX_SIDE, PRECISIONS, artifact_meta, atomic_write, dump_meta, Exporter, GanforgeError

from .onnx_exporter import DEFAULT_OPSET, write_onnx
from .precision import in_precision


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _torch_dtype(trt, dtype):
    import torch

    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32, trt.int8: torch.int8,
             trt.bool: torch.bool}
    for name, torch_dtype in (("bfloat16", torch.bfloat16), ("int64", torch.int64)):
        if hasattr(trt, name):
            table[getattr(trt, name)] = torch_dtype
    return table[dtype]


def build_engine(onnx_path: Path, input_shapes: dict[str, tuple], max_batch: int, cache_path: Path,
                 sides: tuple[int, int] | None = None) -> bytes:
    """Parse the ONNX model into a strongly typed network and build a serialized engine whose
    profile covers batches 1..max_batch and, with ``sides`` (smallest, largest), images of any
    height and width between them."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i).desc()) for i in range(parser.num_errors))
        raise GanforgeError(f"TensorRT could not parse the ONNX model: {errors[:300]}")
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    optimal = min(max_batch, 64)
    for name, shape in input_shapes.items():
        low = high = shape
        if sides is not None:  # an image input: height and width range too
            low, high = (shape[0], sides[0], sides[0]), (shape[0], sides[1], sides[1])
        profile.set_shape(name, (1, *low), (optimal, *shape), (max_batch, *high))
    config.add_optimization_profile(profile)
    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise GanforgeError("TensorRT could not build an engine for this generator (see its log above)")
    atomic_write(cache_path, bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


class TensorRTRunner:
    """Runs a deserialized engine with torch CUDA tensors (no pycuda)."""

    def __init__(self, engine_bytes: bytes, device: str, max_batch: int):
        import tensorrt as trt
        import torch

        self.trt, self.device, self.max_batch = trt, torch.device(device), max_batch
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        with torch.cuda.device(self.device):
            self.engine = runtime.deserialize_cuda_engine(engine_bytes)
            if self.engine is None:
                raise GanforgeError("TensorRT could not load this engine: it was built by another TensorRT "
                                    "version or for another GPU; export it again here")
            self.context = self.engine.create_execution_context()
            self.stream = torch.cuda.Stream(self.device)
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.output = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        self.dtypes = {n: _torch_dtype(trt, self.engine.get_tensor_dtype(n)) for n in names}

    def __call__(self, *inputs):
        import torch

        n = len(inputs[0])
        if not 1 <= n <= self.max_batch:
            raise GanforgeError(f"this engine runs batches of 1..{self.max_batch}, got {n}")
        caller = torch.cuda.current_stream(self.device)
        feeds = []
        for name, x in zip(self.inputs, inputs):
            x = x.to(self.device, self.dtypes[name]).contiguous()
            self.context.set_input_shape(name, tuple(x.shape))
            self.context.set_tensor_address(name, x.data_ptr())
            feeds.append(x)
        out = torch.empty(tuple(self.context.get_tensor_shape(self.output)), dtype=self.dtypes[self.output],
                          device=self.device)
        self.context.set_tensor_address(self.output, out.data_ptr())
        self.stream.wait_stream(caller)  # inputs were written on the caller's stream
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise GanforgeError("TensorRT failed to run the engine")
        for x in (*feeds, out):
            x.record_stream(self.stream)  # keep their memory until the engine is done
        caller.wait_stream(self.stream)
        return out.float()


class TensorRTExporter(Exporter):
    """TensorRT engine (.engine + .engine.json), fp32, fp16 or bf16, on an NVIDIA GPU."""

    name = "tensorrt"
    suffix = ".engine"
    precisions = PRECISIONS
    devices = ("cuda",)

    def unavailable(self, device: str = "cuda") -> str | None:
        if importlib.util.find_spec("tensorrt") is None:
            return "TensorRT is not installed (pip install 'ganforge[tensorrt]' on a machine with an NVIDIA GPU)"
        import torch

        if not torch.cuda.is_available():
            return "TensorRT needs an NVIDIA GPU and CUDA reports none"
        if not str(device).startswith("cuda"):
            return "TensorRT engines run on CUDA devices only (use --device cuda)"
        return None

    def export(self, generator, path, *, precision="fp32", max_batch=EXPORT_MAX_BATCH, device="cuda", opset=DEFAULT_OPSET):
        import tensorrt as trt

        path = Path(path)
        meta = artifact_meta(generator, self, precision)
        meta.update({"max_batch": max_batch, "tensorrt": trt.__version__})
        shapes = {s["name"]: tuple(s["shape"]) for s in generator.signature}
        sides = None
        if meta.get("dynamic_size"):  # an engine's memory grows with its largest shape: up to 4x the trained side
            multiple, side = meta["size_multiple"], generator.signature[0]["shape"][-1]
            meta["max_side"] = min(EXPORT_MAX_SIDE, 4 * side)
            sides = (multiple, meta["max_side"])
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = Path(tmp) / "G.onnx"
            write_onnx(in_precision(generator.module, precision), generator.signature, onnx_path, meta,
                       max_batch=max_batch, opset=opset)
            engine = build_engine(onnx_path, shapes, max_batch, path.with_name(".tensorrt-timing.cache"), sides)
        atomic_write(path, engine)
        atomic_write(sidecar(path), dump_meta(meta).encode())

    def load(self, path, device="cuda"):
        path = Path(path)
        if not sidecar(path).is_file():
            raise GanforgeError(f"'{path}' has no '{sidecar(path).name}' beside it: was it exported by ganforge?")
        meta = json.loads(sidecar(path).read_text())
        if meta.get("format") != self.name:
            raise GanforgeError(f"'{sidecar(path)}' describes a {meta.get('format')} artifact, not a TensorRT engine")
        return TensorRTRunner(path.read_bytes(), device, int(meta["max_batch"])), meta
