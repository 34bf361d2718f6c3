"""Why ONNX Runtime loses to eager PyTorch on this CPU at large batches, option by option.

The two generators of ``benchmarks/inference.py`` (DCGAN 64 px at the paper's sizes,
CycleGAN's ResNet generator), exported once to ONNX, timed side by side in one process at
batch 1, 64 and 256: eager PyTorch, ONNX Runtime as ganforge loads it (its defaults: every
graph optimization, one thread per physical core), and ONNX Runtime with one option
changed at a time (the thread count set to torch's, no spinning threads, basic graph
optimizations only (no NCHWc layout transform), sequential execution off). The same
generators with ConvTranspose counted separately show where the time goes: the share of
ORT's run time spent in each operator type, from its own profiler.

    python benchmarks/onnx_runtime.py [--runs runs/onnx-bench] [--batches 1,64,256]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import ganforge
from ganforge.contracts.networks import random_inputs
from ganforge.tools.bench import time_calls

GENERATORS = {
    "dcgan-64": dict(recipe="dcgan", params={"image_size": 64, "g_width": 64, "latent_dim": 100}),
    "cyclegan": dict(recipe="cyclegan", params={}),
}


def variants(threads: int) -> dict[str, ort.SessionOptions]:
    def options(**changes) -> ort.SessionOptions:
        o = ort.SessionOptions()
        o.log_severity_level = 3
        for key, value in changes.items():
            if key == "config":
                for k, v in value.items():
                    o.add_session_config_entry(k, v)
            else:
                setattr(o, key, value)
        return o

    return {
        "ort (ganforge's defaults)": options(),
        f"ort, {threads} intra-op threads": options(intra_op_num_threads=threads),
        "ort, no spinning": options(config={"session.intra_op.allow_spinning": "0"}),
        "ort, basic optimizations": options(graph_optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
        "ort, parallel execution": options(execution_mode=ort.ExecutionMode.ORT_PARALLEL),
    }


def operator_shares(model: Path, feeds: dict) -> dict[str, float]:
    """Share of ORT's kernel time by operator type (its profiler, default options)."""
    o = ort.SessionOptions()
    o.log_severity_level = 3
    o.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        o.profile_file_prefix = str(Path(tmp) / "profile")
        session = ort.InferenceSession(str(model), o, providers=["CPUExecutionProvider"])
        for _ in range(5):
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    spent = defaultdict(float)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"]
    total = sum(spent.values()) or 1.0
    return {op: t / total for op, t in sorted(spent.items(), key=lambda kv: -kv[1])[:4]}


def main():
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)  # figures from different processors are not comparable
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/onnx-bench")
    parser.add_argument("--batches", default="1,64,256")
    args = parser.parse_args()
    runs, batches = Path(args.runs), [int(b) for b in args.batches.split(",")]
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__} ({threads} threads), onnxruntime {ort.__version__}; images/s, best of p50s")
    for name, spec in GENERATORS.items():
        out = runs / name
        if not (out / "G.ckpt").is_file():
            ganforge.train(spec["recipe"], steps=1, batch_size=2, params=spec["params"], out=out, overwrite=True,
                           quiet=True, device="cpu", log_every=1)
        onnx_path = out / "G.onnx"
        if not onnx_path.is_file():
            ganforge.export(out / "G.ckpt", "onnx", onnx_path)
        G = ganforge.load_generator(out / "G.ckpt")
        sessions = {label: ort.InferenceSession(str(onnx_path), o, providers=["CPUExecutionProvider"])
                    for label, o in variants(threads).items()}
        print(f"\n{name}\n| batch | eager | " + " | ".join(sessions) + " |\n|---|---|" + "---|" * len(sessions))
        for batch in batches:
            inputs = random_inputs(G.signature, batch, torch.Generator().manual_seed(0), torch.device("cpu"))
            feeds = {s["name"]: x.numpy() for s, x in zip(G.signature, inputs)}
            with torch.inference_mode():
                eager = statistics.median(time_calls(G.module, inputs, torch.device("cpu")))
            cells = [f"{batch / eager:,.0f}"]
            for session in sessions.values():
                p50 = statistics.median(time_calls(lambda: session.run(None, feeds), (), torch.device("cpu")))
                cells.append(f"{batch / p50:,.0f} ({eager / p50:.2f}x)")
            print(f"| {batch} | " + " | ".join(cells) + " |", flush=True)
        feeds = {s["name"]: x.numpy() for s, x in
                 zip(G.signature, random_inputs(G.signature, batches[-1], torch.Generator().manual_seed(0),
                                                torch.device("cpu")))}
        shares = operator_shares(onnx_path, feeds)
        print(f"ORT time by operator at batch {batches[-1]}: " + ", ".join(f"{op} {s:.0%}" for op, s in shares.items()))
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof, torch.inference_mode():
            G.module(*[torch.from_numpy(np.asarray(v)) for v in feeds.values()])
        ops = sorted(((e.key, e.self_cpu_time_total) for e in prof.key_averages()), key=lambda kv: -kv[1])
        total = sum(t for _, t in ops) or 1
        print("eager time by operator: " + ", ".join(f"{k} {t / total:.0%}" for k, t in ops[:4]))


if __name__ == "__main__":
    main()
