"""Training throughput: the ganforge engine against plain hand-written loops.

On the CPU, two GANs, each timed end to end (load data, build networks, train,
save the generator), alternating plain/engine runs in one process so machine
noise hits both alike:

* the seed notes' PyTorch MLP GAN (64-256-256-784, LeakyReLU 0.2 in D, ReLU and
  tanh in G, batch 100, Adam 2e-4), fed the bundled digits from a tensor in memory;
* a DCGAN on the same digits written by hand with ganforge's own DCGAN networks
  (z 100, widths 32, kernel 5, batch 64, BCE with logits, Adam 2e-4 / 0.5).

    python benchmarks/train_throughput.py [--steps 3000] [--dcgan-steps 400] [--repeats 3]

On an NVIDIA GPU (``--gpu``), the DCGAN at 64x64 (z 100, widths 64, the digits
resized to 64 px and kept on the GPU) at batch 128, steady-state images per second
of a plain fp32 loop and of the engine in fp32, bf16, bf16 with --compile, and bf16
with --compile and --channels-last, each with its model FLOP utilization (FLOPs
of one iteration counted by torch.utils.flop_counter, times iterations per
second, over the GPU's dense bf16 tensor-core peak):

    python benchmarks/train_throughput.py --gpu [--gpu-steps 400] [--peak-tflops 989]

(``--gpu --device cpu --gpu-batch 8 --gpu-width 8 --gpu-steps 6`` runs the same code
small on a CPU, to check it.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import ganforge
from ganforge.hooks.manager import get

LATENT, HIDDEN, BATCH, LR = 64, 256, 100, 2e-4


def shuffled_batches(images: torch.Tensor, batch: int, steps: int):
    """``steps`` batches in a new random order each epoch, as a hand-written loop draws them."""
    per_epoch, step = len(images) // batch, 0
    while True:
        perm = torch.randperm(len(images))
        for i in range(per_epoch):
            if step == steps:
                return
            yield images[perm[i * batch:(i + 1) * batch]]
            step += 1


def plain_training_parts(G, D):
    """What every hand-written loop here trains with: BCE with logits (the seed's Sigmoid +
    BCELoss, in its stable form) and Adam 2e-4 / 0.5 for D and for G."""
    return (nn.BCEWithLogitsLoss(), torch.optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999)),
            torch.optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999)))


def plain_loop(steps: int, out: Path, seed: int = 0) -> float:
    start = time.perf_counter()
    torch.manual_seed(seed)
    images = get("datasets", "mnist-5k")(split="train").images.reshape(-1, 784)
    D = nn.Sequential(nn.Linear(784, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, HIDDEN), nn.LeakyReLU(0.2),
                      nn.Linear(HIDDEN, 1))
    G = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                      nn.Linear(HIDDEN, 784), nn.Tanh())
    criterion, d_opt, g_opt = plain_training_parts(G, D)
    real_labels, fake_labels = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    for step, x in enumerate(shuffled_batches(images, BATCH, steps), 1):
        d_loss = criterion(D(x), real_labels) + criterion(D(G(torch.randn(BATCH, LATENT))), fake_labels)
        d_opt.zero_grad()
        g_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        g_loss = criterion(D(G(torch.randn(BATCH, LATENT))), real_labels)
        d_opt.zero_grad()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        if step % 100 == 0:  # the seed prints losses every so often
            d_loss.item(), g_loss.item()
    torch.save(G.state_dict(), out / "G.pt")
    return time.perf_counter() - start


def engine(steps: int, out: Path, seed: int = 0) -> float:
    start = time.perf_counter()
    ganforge.train("gan", steps=steps, batch_size=BATCH, seed=seed, out=out, quiet=True,
                   params={"latent_dim": LATENT, "hidden": HIDDEN, "lr": LR,  # the seed's network exactly:
                           "d_dropout": 0.0, "real_label": 1.0})                # no dropout, no smoothing
    return time.perf_counter() - start


DC_BATCH, DC_LATENT = 64, 100
DC_PARAMS = {"latent_dim": DC_LATENT, "g_width": 32, "d_width": 32, "kernel_size": 5, "image_size": 28}


def plain_dcgan_iteration(G, D, x, criterion, d_opt, g_opt):
    """The usual hand-written DCGAN iteration: one fake batch for D's step and G's."""
    n = x.shape[0]
    fake = G(torch.randn(n, DC_LATENT, device=x.device))
    ones, zeros = torch.ones(n, device=x.device), torch.zeros(n, device=x.device)
    d_loss = criterion(D(x).view(-1), ones) + criterion(D(fake.detach()).view(-1), zeros)
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    g_loss = criterion(D(fake).view(-1), ones)
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return d_loss, g_loss


def plain_dcgan_loop(steps: int, out: Path, seed: int = 0) -> float:
    """The DCGAN written by hand: ganforge's DCGAN networks, BCE with logits, Adam 2e-4 / 0.5."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    images = get("datasets", "mnist-5k")(split="train").images
    G = get("networks", "dcgan-generator")(latent_dim=DC_LATENT, width=32, kernel_size=5)
    D = get("networks", "dcgan-discriminator")(width=32, kernel_size=5)
    criterion, d_opt, g_opt = plain_training_parts(G, D)
    for step, x in enumerate(shuffled_batches(images, DC_BATCH, steps), 1):
        d_loss, g_loss = plain_dcgan_iteration(G, D, x, criterion, d_opt, g_opt)
        if step % 50 == 0:
            d_loss.item(), g_loss.item()
    torch.save(G.state_dict(), out / "G.pt")
    return time.perf_counter() - start


def dcgan_engine(steps: int, out: Path, seed: int = 0) -> float:
    start = time.perf_counter()
    ganforge.train("dcgan", steps=steps, batch_size=DC_BATCH, seed=seed, out=out, quiet=True,
                   sample_every=steps, checkpoint_every=steps, params={**DC_PARAMS, "real_label": 1.0})
    return time.perf_counter() - start


def compare(title: str, plain, engine_fn, steps: int, batch: int, repeats: int, tmp: Path) -> None:
    times = {"plain loop": [], "ganforge engine": []}
    engine_fn(20, tmp / f"{title}-warmup")  # imports, allocator and thread-pool warm-up
    for r in range(repeats):
        times["plain loop"].append(plain(steps, tmp))
        times["ganforge engine"].append(engine_fn(steps, tmp / f"{title}-run{r}"))
    print(f"{title}, batch {batch}, {steps} steps, {torch.get_num_threads()} threads, "
          f"median of {repeats} alternating runs (end to end)")
    rate = {}
    for name, ts in times.items():
        rate[name] = steps * batch / statistics.median(ts)
        print(f"  {name:16s} {rate[name]:9.0f} images/s   runs: {', '.join(f'{t:.2f}s' for t in ts)}")
    print(f"  engine / plain loop: {rate['ganforge engine'] / rate['plain loop']:.3f}  (target >= 0.95)")


# -- on a GPU ----------------------------------------------------------------------------

# Dense bf16 tensor-core peaks (TFLOP/s, from NVIDIA's data sheets), by a piece of the device name.
BF16_PEAK_TFLOPS = {"H200": 989.4, "H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 989.4, "A100": 312.0,
                    "L40S": 362.1, "L4": 121.0, "A10": 125.0, "RTX 4090": 165.2}


def peak_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_PEAK_TFLOPS.items() if key in name), None)


def gpu_networks(width: int, device):
    G = get("networks", "dcgan-generator")(latent_dim=DC_LATENT, image_size=64, width=width).to(device)
    D = get("networks", "dcgan-discriminator")(image_size=64, width=width).to(device)
    return G, D


def flops_per_iteration(batch: int, width: int, device) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    G, D = gpu_networks(width, device)
    x = torch.randn(batch, 1, 64, 64, device=device)
    with FlopCounterMode(display=False) as counter:
        plain_dcgan_iteration(G, D, x, *plain_training_parts(G, D))
    return counter.get_total_flops()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_gpu_loop(device, batch: int, width: int, steps: int) -> float:
    """Steady-state images/s of the plain fp32 loop (after 20 warm-up iterations)."""
    torch.manual_seed(0)
    images = get("datasets", "mnist-5k")(split="train", image_size=64).images.to(device)
    G, D = gpu_networks(width, device)
    criterion, d_opt, g_opt = plain_training_parts(G, D)
    batches = shuffled_batches(images, batch, steps + 20)
    for _, x in zip(range(20), batches):
        plain_dcgan_iteration(G, D, x, criterion, d_opt, g_opt)
    sync(device)
    start = time.perf_counter()
    for step, x in enumerate(batches, 1):
        d_loss, g_loss = plain_dcgan_iteration(G, D, x, criterion, d_opt, g_opt)
        if step % 50 == 0:
            d_loss.item(), g_loss.item()
    sync(device)
    return steps * batch / (time.perf_counter() - start)


def engine_gpu(device, batch: int, width: int, steps: int, tmp: Path, **settings) -> float:
    """Steady-state images/s of ``ganforge train dcgan``: the median of the logged rates,
    leaving out the first interval (warm-up and compilation)."""
    import json

    log_every = max(steps // 8, 1)
    run = ganforge.train("dcgan", steps=steps, batch_size=batch, device=str(device), quiet=True,
                         out=tmp / f"gpu-{len(list(tmp.iterdir()))}", log_every=log_every, sample_every=steps,
                         checkpoint_every=steps, params={"image_size": 64, "g_width": width, "d_width": width,
                                                         "real_label": 1.0}, **settings)
    rates = [json.loads(line)["images_per_sec"] for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()
             if "images_per_sec" in line]
    return statistics.median(rates[1:] or rates)


def gpu_table(device: torch.device, batch: int, width: int, steps: int, peak: float | None, tmp: Path) -> None:
    flops = flops_per_iteration(batch, width, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"DCGAN 64x64 (z 100, widths {width}), batch {batch}, {steps} steps on {name}; "
          f"{flops / 1e9:.1f} GFLOP per iteration")
    rows = {"plain loop, fp32 eager": lambda: plain_gpu_loop(device, batch, width, steps)}
    for label, settings in [("engine fp32", {}), ("engine bf16", {"precision": "bf16"}),
                            ("engine bf16 --compile", {"precision": "bf16", "compile_networks": True}),
                            ("engine bf16 --compile --channels-last",
                             {"precision": "bf16", "compile_networks": True, "channels_last": True})]:
        rows[label] = lambda settings=settings: engine_gpu(device, batch, width, steps, tmp, **settings)
    rates = {}
    for label, measure in rows.items():
        rates[label] = measure()
        iterations = rates[label] / batch
        mfu = f"{flops * iterations / (peak * 1e12):7.1%}" if peak else "    n/a"
        print(f"  {label:40s} {rates[label]:9.0f} images/s  {rates[label] / rates['plain loop, fp32 eager']:5.2f}x"
              f"  MFU {mfu}")
    best = max(rates, key=rates.get)
    print(f"  best: {best}, {rates[best] / rates['plain loop, fp32 eager']:.2f}x the plain fp32 loop "
          f"(target >= 3x); MFU against the dense bf16 peak of {peak or 'unknown'} TFLOP/s")


def main():
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)  # figures from different processors are not comparable
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dcgan-steps", type=int, default=400)
    parser.add_argument("--gpu", action="store_true", help="the GPU table instead of the CPU comparison")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--gpu-steps", type=int, default=400)
    parser.add_argument("--gpu-batch", type=int, default=128)
    parser.add_argument("--gpu-width", type=int, default=64)
    parser.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if not in the table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.gpu:
            device = torch.device(args.device)
            if device.type == "cuda" and not torch.cuda.is_available():
                raise SystemExit("no CUDA device here; the GPU table needs one")
            gpu_table(device, args.gpu_batch, args.gpu_width, args.gpu_steps,
                      args.peak_tflops or peak_tflops(device), Path(tmp))
            return
        compare("MLP GAN 64-256-256-784", plain_loop, engine, args.steps, BATCH, args.repeats, Path(tmp))
        compare("DCGAN 28x28 (z 100, widths 32)", plain_dcgan_loop, dcgan_engine, args.dcgan_steps, DC_BATCH,
                args.repeats, Path(tmp))


if __name__ == "__main__":
    main()
