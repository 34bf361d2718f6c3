"""Inference speed of exported generators against PyTorch eager, side by side in one run.

Two generators: the DCGAN 64x64 generator at the paper's sizes (z of 100, 512
channels at 4x4 down to 64 at 32x32; one channel, as the bundled digits) and the
CycleGAN ResNet generator at ganforge's defaults. Weights come from one training
step: speed does not depend on them. Every backend that can run here is timed at
batch 1, 64 and 256 (``ganforge bench`` does the work); the ones that cannot are
listed with the reason.

Targets: on CPU the best exported backend at least 1.5x eager at batch 1 and 64
for the DCGAN generator; on a GPU at least 3x eager fp32 at batch 256. The
achieved fraction of the hardware's peak FLOP/s is printed for the DCGAN
generator at the largest batch.

    python benchmarks/inference.py [--runs runs/inference-bench] [--device cpu|cuda] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

import ganforge

GENERATORS = {
    "dcgan-64": dict(recipe="dcgan", params={"image_size": 64, "g_width": 64, "latent_dim": 100}),
    "cyclegan": dict(recipe="cyclegan", params={}),
}
# Dense peak FLOP/s of GPUs by name: (fp32 without tensor cores, tf32, bf16/fp16), from NVIDIA's data sheets.
GPU_PEAKS = {"H100 SXM": (67e12, 495e12, 989e12), "H100 PCIe": (51e12, 378e12, 756e12),
             "H100": (67e12, 495e12, 989e12), "H200": (67e12, 495e12, 989e12), "A100": (19.5e12, 156e12, 312e12)}


def cpu_peak(bf16: bool = False) -> tuple[float, str]:
    """Estimated peak of the cores torch uses: cores x clock x FLOPs per cycle. With AVX512-BF16,
    one bf16 dot-product instruction does twice the work of an fp32 FMA."""
    flags, mhz, vendor, family = "", 0.0, "", 0
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "flags" and not flags:
            flags = value
        elif key == "cpu MHz" and not mhz:
            mhz = float(value)
        elif key == "vendor_id" and not vendor:
            vendor = value.strip()
        elif key == "cpu family" and not family:
            family = int(value)
    # Two FMA pipes. With AVX-512 they are 512 bits wide on Intel server cores and on AMD Zen 5
    # (family 26), which then do 2 x 16 lanes x 2 = 64 fp32 FLOP per cycle; Zen 4 splits them in halves.
    full_width = vendor == "GenuineIntel" or family >= 26
    per_cycle = 64 if ("avx512f" in flags and full_width) else 32 if "fma" in flags else 16
    kind = "fp32"
    if bf16 and "avx512_bf16" in flags:
        per_cycle, kind = per_cycle * 2, "bf16"
    cores = torch.get_num_threads()
    peak = cores * mhz * 1e6 * per_cycle
    return peak, f"{cores} cores x {mhz / 1e3:.2f} GHz x {per_cycle} {kind} FLOP/cycle ({vendor} family {family}; nominal clock, boost is higher)"


def gpu_peak(backend: str) -> tuple[float, str] | None:
    name = torch.cuda.get_device_name()
    for key, (fp32, tf32, half) in GPU_PEAKS.items():
        if key in name:
            if any(p in backend for p in ("bf16", "fp16")):
                return half, f"{name} dense bf16/fp16 peak"
            return tf32, f"{name} dense TF32 peak (fp32 convolutions run as TF32)"
    return None


def prepared(name: str, runs: Path) -> Path:
    run = runs / name
    if not (run / "G.ckpt").exists():
        spec = GENERATORS[name]
        ganforge.train(spec["recipe"], steps=1, batch_size=8, out=run, params=spec["params"], quiet=True,
                       device="cpu")
    return run / "G.ckpt"


def main():
    from ganforge.devices import describe  # the device line below: figures from different machines differ
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/inference-bench"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-sizes", default="1,64,256")
    parser.add_argument("--backends", default=None, help="default: every backend ganforge bench knows")
    parser.add_argument("--json", type=Path, help="also write all rows here")
    args = parser.parse_args()
    batches = [int(b) for b in args.batch_sizes.split(",")]
    backends = args.backends.split(",") if args.backends else None
    if backends is None and not args.device.startswith("cuda"):
        backends = ["torch", "onnxruntime", "aoti", "aoti-bf16", "tensorrt"]
    if backends is None and args.device.startswith("cuda"):
        backends = ["torch", "torch-compile", "torch-cudagraphs", "torch-bf16", "onnxruntime", "aoti", "aoti-bf16",
                    "tensorrt", "tensorrt-fp16", "tensorrt-bf16"]
    print(f"device: {describe(args.device)}, threads {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    everything = {}
    for name in GENERATORS:
        rows = ganforge.bench(prepared(name, args.runs), backends, batches, device=args.device,
                              progress=lambda m: print("  " + m, flush=True))
        everything[name] = rows
        print(f"\n{name}")
        print(f"{'backend':18s} {'batch':>5s} {'p50 ms':>9s} {'p95 ms':>9s} {'images/s':>10s} {'GFLOP/s':>9s} "
              f"{'speed-up':>8s}")
        for r in rows:
            if "skipped" in r:
                print(f"{r['backend']:18s} {r['batch']:5d}  skipped: {r['skipped']}")
                continue
            print(f"{r['backend']:18s} {r['batch']:5d} {r['p50_ms']:9.3f} {r['p95_ms']:9.3f} "
                  f"{r['images_per_s']:10,.0f} {r.get('gflop_per_s', 0):9.1f} {r.get('speedup', 0):7.2f}x")
        timed = [r for r in rows if "p50_ms" in r]
        for batch in batches:
            exported = [r for r in timed if r["batch"] == batch and not r["backend"].startswith("torch")]
            if exported:
                best = max(exported, key=lambda r: r["speedup"])
                print(f"best exported backend at batch {batch}: {best['backend']} {best['speedup']:.2f}x eager")
        if name == "dcgan-64" and timed:
            largest = max(batches)
            at_largest = [r for r in timed if r["batch"] == largest]
            for half in (False, True):  # each against the peak of its own precision
                rows_ = [r for r in at_largest if any(p in r["backend"] for p in ("bf16", "fp16")) == half]
                if not rows_:
                    continue
                best = max(rows_, key=lambda r: r.get("gflop_per_s", 0))
                peak = cpu_peak(half) if not args.device.startswith("cuda") else gpu_peak(best["backend"])
                if peak:
                    print(f"{'bf16' if half else 'fp32'} peak: {peak[1]} = {peak[0] / 1e9:,.0f} GFLOP/s; fastest at "
                          f"batch {largest} ({best['backend']}) reaches {best['gflop_per_s']:,.1f} GFLOP/s = "
                          f"{best['gflop_per_s'] * 1e9 / peak[0]:.1%} of peak")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
