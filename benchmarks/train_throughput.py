"""Training throughput: the ganforge engine against a plain hand-written loop.

The plain loop is the seed notes' PyTorch MLP GAN (64-256-256-784, LeakyReLU 0.2
in D, ReLU and tanh in G, batch 100, Adam 2e-4), fed the same bundled digits the
engine trains on, from a tensor in memory (the fastest plain way). Both are timed
end to end (load data, build networks, train, save the generator), alternating
A/B/A/B in one process so machine noise hits both alike.

    python benchmarks/train_throughput.py [--steps 3000] [--repeats 3]
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
from ganforge.plugin_manager import get

LATENT, HIDDEN, BATCH, LR = 64, 256, 100, 2e-4


def plain_loop(steps: int, out: Path, seed: int = 0) -> float:
    start = time.perf_counter()
    torch.manual_seed(seed)
    images = get("datasets", "mnist-5k")(split="train").images.reshape(-1, 784)
    D = nn.Sequential(nn.Linear(784, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, HIDDEN), nn.LeakyReLU(0.2),
                      nn.Linear(HIDDEN, 1))
    G = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                      nn.Linear(HIDDEN, 784), nn.Tanh())
    criterion = nn.BCEWithLogitsLoss()  # the seed's Sigmoid + BCELoss, in its stable form
    d_opt = torch.optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
    g_opt = torch.optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
    real_labels, fake_labels = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    per_epoch, step = len(images) // BATCH, 0
    while step < steps:
        perm = torch.randperm(len(images))
        for i in range(per_epoch):
            if step == steps:
                break
            x = images[perm[i * BATCH:(i + 1) * BATCH]]
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
            step += 1
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times = {"plain loop": [], "ganforge engine": []}
    with tempfile.TemporaryDirectory() as tmp:
        engine(50, Path(tmp) / "warmup")  # imports, allocator and thread-pool warm-up
        for r in range(args.repeats):
            times["plain loop"].append(plain_loop(args.steps, Path(tmp)))
            times["ganforge engine"].append(engine(args.steps, Path(tmp) / f"run{r}"))
    print(f"MLP GAN 64-256-256-784, batch {BATCH}, {args.steps} steps, {torch.get_num_threads()} threads, "
          f"median of {args.repeats} alternating runs (end to end)")
    rate = {}
    for name, ts in times.items():
        rate[name] = args.steps * BATCH / statistics.median(ts)
        print(f"  {name:16s} {rate[name]:9.0f} images/s   runs: {', '.join(f'{t:.2f}s' for t in ts)}")
    print(f"  engine / plain loop: {rate['ganforge engine'] / rate['plain loop']:.3f}  (target >= 0.95)")


if __name__ == "__main__":
    main()
