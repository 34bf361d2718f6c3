"""Training throughput: the ganforge engine against plain hand-written loops.

Two GANs, each timed end to end (load data, build networks, train, save the
generator), alternating plain/engine runs in one process so machine noise hits
both alike:

* the seed notes' PyTorch MLP GAN (64-256-256-784, LeakyReLU 0.2 in D, ReLU and
  tanh in G, batch 100, Adam 2e-4), fed the bundled digits from a tensor in memory;
* a DCGAN on the same digits written by hand with ganforge's own DCGAN networks
  (z 100, widths 32, kernel 5, batch 64, BCE with logits, Adam 2e-4 / 0.5).

    python benchmarks/train_throughput.py [--steps 3000] [--dcgan-steps 400] [--repeats 3]
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


def plain_dcgan_loop(steps: int, out: Path, seed: int = 0) -> float:
    """The DCGAN written by hand: ganforge's DCGAN networks, BCE with logits, Adam 2e-4 / 0.5."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    images = get("datasets", "mnist-5k")(split="train").images
    G = get("networks", "dcgan-generator")(latent_dim=DC_LATENT, width=32, kernel_size=5)
    D = get("networks", "dcgan-discriminator")(width=32, kernel_size=5)
    criterion = nn.BCEWithLogitsLoss()
    d_opt = torch.optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
    g_opt = torch.optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
    ones, zeros = torch.ones(DC_BATCH), torch.zeros(DC_BATCH)
    for step, x in enumerate(shuffled_batches(images, DC_BATCH, steps), 1):
        fake = G(torch.randn(DC_BATCH, DC_LATENT))
        d_loss = criterion(D(x).view(-1), ones) + criterion(D(fake.detach()).view(-1), zeros)
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        g_loss = criterion(D(fake).view(-1), ones)
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dcgan-steps", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        compare("MLP GAN 64-256-256-784", plain_loop, engine, args.steps, BATCH, args.repeats, Path(tmp))
        compare("DCGAN 28x28 (z 100, widths 32)", plain_dcgan_loop, dcgan_engine, args.dcgan_steps, DC_BATCH,
                args.repeats, Path(tmp))


if __name__ == "__main__":
    main()
