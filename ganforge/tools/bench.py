"""Inference latency of a generator on each backend, side by side in one process.

Backends are ``torch`` (eager, the baseline), the exporters by their runtime name
(``onnxruntime``, ``tensorrt``, ``aoti``, or any exporter plugin's name: by default
all that are installed), each
optionally with a precision (``tensorrt-fp16``), and on CUDA the PyTorch variants
``torch-compile``, ``torch-cudagraphs`` (torch.compile with CUDA graphs) and
``torch-bf16``. From a checkpoint each exported backend is built in a temporary
folder (and verified, as ``ganforge export`` does); from an artifact, that artifact
is timed, with the ``.ckpt`` of the same name beside it as the baseline if present.

Every row is warmed up first, then timed call by call (CUDA events on GPU, so
queued work is counted), and reports p50/p95 latency, images per second and the
speed-up over eager fp32 at the same batch size. A backend that cannot run here is
returned with the reason instead of being dropped.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch

from ganforge.devices import choose_device
from ganforge.errors import GanforgeError, first_line
from ganforge.artifacts.export import export
from ganforge.artifacts.checkpoint import SUFFIX, read_meta
from ganforge.artifacts import rundir
from ganforge.artifacts.loading import exporter_for
from ganforge.contracts.exporter import PRECISIONS, get_exporter
from ganforge.artifacts.loading import load_generator
from ganforge.contracts.networks import random_inputs

TORCH_VARIANTS = ("torch", "torch-compile", "torch-cudagraphs", "torch-bf16")
CUDA_VARIANTS = ("torch-compile", "torch-cudagraphs", "torch-bf16")




RUNTIME_NAMES = {"onnxruntime": "onnx"}  # bench backend -> exporter name, where they differ


def backend_name(exporter_name: str) -> str:
    """The ``ganforge bench`` backend that runs an exporter's artifacts: ``onnx`` -> ``onnxruntime``."""
    return next((runtime for runtime, name in RUNTIME_NAMES.items() if name == exporter_name), exporter_name)


def default_backends() -> list[str]:
    """``torch`` and every installed exporter that loads, plugins' included (what ``ganforge bench`` times)."""
    from ganforge.hooks.manager import loaded

    return ["torch", *(backend_name(name) for name, _ in loaded("exporters"))]


def parse_backend(name: str) -> tuple[str, str]:
    """``tensorrt-fp16`` -> (exporter "tensorrt", "fp16")."""
    base, _, precision = name.rpartition("-")
    if precision in PRECISIONS and base:
        return RUNTIME_NAMES.get(base, base), precision
    return RUNTIME_NAMES.get(name, name), "fp32"


def count_flops(module, inputs) -> int:
    """FLOPs of one forward pass, counted by torch's own FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        module(*inputs)
    return counter.get_total_flops()


def time_calls(fn, inputs, device: torch.device, repeats: int | None = None, budget_s: float = 1.0) -> list[float]:
    """Per-call latencies in seconds, after warm-up."""
    cuda = device.type == "cuda"

    def once() -> float:
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn(*inputs)
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000
        t = time.perf_counter()
        fn(*inputs)
        return time.perf_counter() - t

    # warm up for at least 3 calls and 0.5 s: first calls pay for allocation, oneDNN primitive
    # creation and autotuning
    warm, started = [], time.perf_counter()
    while len(warm) < 3 or time.perf_counter() - started < 0.5:
        warm.append(once())
    if repeats is None:
        repeats = int(min(max(budget_s / max(statistics.median(warm), 1e-6), 5), 200))
    return [once() for _ in range(repeats)]


def _torch_variant(module, variant: str, device: torch.device):
    if variant == "torch":
        return module
    if device.type != "cuda":
        return "GPU only"
    if variant == "torch-bf16":
        def forward(*xs):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return module(*xs)
        return forward
    return torch.compile(module, mode="reduce-overhead" if variant == "torch-cudagraphs" else None, dynamic=False)


def bench(path, backends=None, batch_sizes=(1, 64, 256), *, device: str | None = None, repeats: int | None = None,
          progress=None, trust: bool = False) -> list[dict]:
    path = rundir.generator_file(path)
    if not path.exists():
        raise GanforgeError(f"no such file: '{path}'")
    device = choose_device(device)  # None: CUDA when present
    say = progress or (lambda message: None)
    artifact = exporter_for(path)
    if backends:
        backends = list(backends)
    elif artifact is not None:  # the artifact given, against eager PyTorch
        backends = ["torch", backend_name(artifact.name)]
    else:
        backends = default_backends()
        if device.type == "cuda":
            backends[1:1] = CUDA_VARIANTS
    checkpoint = path.with_suffix(SUFFIX) if artifact else path
    reference = load_generator(checkpoint, device=str(device)) if checkpoint.exists() else None

    runners: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="ganforge-bench-") as tmp:
        for backend in backends:
            if backend in TORCH_VARIANTS:
                if reference is None:
                    runners[backend] = f"needs '{checkpoint.name}' beside the artifact"
                else:
                    runners[backend] = _torch_variant(reference.module, backend, device)
                continue
            name, precision = parse_backend(backend)
            if artifact is not None:
                if name != artifact.name:
                    runners[backend] = f"only the given {artifact.name} artifact can be timed"
                else:  # the artifact asked for: if it cannot load (untrusted, say), that is the answer
                    runners[backend] = load_generator(path, device=str(device), trust=trust)
                continue
            try:
                say(f"exporting to {backend} ...")
                result = export(checkpoint, name, Path(tmp) / f"G-{backend}{get_exporter(name).suffix}",
                                precision=precision, device=str(device), max_batch=max(batch_sizes))
                runners[backend] = load_generator(result.path, device=str(device))
            except GanforgeError as exc:
                runners[backend] = str(exc)

        loaded = [r for r in runners.values() if not isinstance(r, str)]
        if reference is None and not loaded:  # nothing to time: say why, in one line
            raise GanforgeError(next(iter(runners.values()), f"nothing to time in '{path}'"))
        signature = (reference or loaded[0]).signature
        rows, eager = [], {}
        for batch in batch_sizes:
            inputs = random_inputs(signature, batch, torch.Generator().manual_seed(0), device)
            flops = count_flops(reference.module, inputs) if reference is not None else None
            for backend, runner in runners.items():
                row = {"backend": backend, "batch": batch, "device": str(device)}
                if isinstance(runner, str):
                    rows.append({**row, "skipped": runner})
                    continue
                say(f"timing {backend} at batch {batch} ...")
                try:
                    with torch.inference_mode():
                        times = time_calls(runner, inputs, device, repeats)
                except Exception as exc:  # a backend failing at one batch size is a result, not a crash
                    rows.append({**row, "skipped": f"{type(exc).__name__}: {first_line(exc)[:160]}"})
                    continue
                p50 = statistics.median(times)
                p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else p50
                row.update({"p50_ms": p50 * 1e3, "p95_ms": p95 * 1e3, "images_per_s": batch / p50,
                            "calls": len(times)})
                if flops:
                    row["gflop_per_s"] = flops / p50 / 1e9
                if backend == "torch":
                    eager[batch] = p50
                rows.append(row)
        for row in rows:
            if "p50_ms" in row and row["batch"] in eager:
                row["speedup"] = eager[row["batch"]] / (row["p50_ms"] / 1e3)
    return rows


def fastest(path, batch: int, *, device: str = "cpu", trust: bool = False, budget_s: float = 0.5):
    """The quickest of the files that hold the generator in ``path`` (its ``G.ckpt`` and the
    artifacts exported beside it, or the artifact given and the ``.ckpt`` beside it), timed
    at ``batch`` images: the batch size dynamic batching reaches under load. An artifact
    that cannot load (untrusted, a runtime not installed) or is stale (of an older step than
    the checkpoint) is listed with the reason and not chosen. Returns the loaded generator
    and one row per file (``backend``, ``file``, ``p50_ms`` or ``skipped``)."""
    from ganforge.hooks.manager import loaded

    path = rundir.generator_file(path)
    ckpt = path if exporter_for(path) is None else path.with_suffix(SUFFIX)
    files = [ckpt] + [ckpt.with_suffix(exporter.suffix) for _, exporter in loaded("exporters")]
    files = list(dict.fromkeys(f for f in [path, *files] if f.is_file()))
    if not files:
        raise GanforgeError(f"no such file: '{path}'")
    dev = choose_device(device)
    step = (read_meta(ckpt) or {}).get("step") if ckpt.is_file() else None  # from the header alone
    rows, best = [], None
    for file in files:
        artifact = exporter_for(file)
        row = {"backend": "torch" if artifact is None else backend_name(artifact.name), "file": str(file)}
        try:
            G = load_generator(file, device=str(dev), trust=trust)
        except GanforgeError as exc:
            rows.append({**row, "skipped": first_line(exc)})
            continue
        if step is not None and G.meta.get("step") not in (None, step):
            rows.append({**row, "skipped": f"stale: of step {G.meta.get('step')}, the checkpoint is of step {step}"})
            continue
        inputs = random_inputs(G.signature, batch, torch.Generator().manual_seed(0), dev)
        try:
            with torch.inference_mode():
                p50 = statistics.median(time_calls(G, inputs, dev, budget_s=budget_s))
        except Exception as exc:  # a runtime failing at this batch size is a result, not a crash
            rows.append({**row, "skipped": f"{type(exc).__name__}: {first_line(exc)[:160]}"})
            continue
        rows.append({**row, "p50_ms": p50 * 1e3, "images_per_s": batch / p50})
        if best is None or p50 < best[0]:
            best = (p50, G)
    if best is None:
        raise GanforgeError(f"no backend could run the generator in '{path}': {rows[0]['skipped']}")
    return best[1], rows
