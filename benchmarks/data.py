"""Where the time goes when a DCGAN trains on a folder of colour images.

Four ways of feeding the same images at 64 px to ``ganforge train dcgan`` (batch 64),
each timed training (images/s of the training loop) and as the loader alone (images/s
of drawing batches, no networks):

* memory:     the images as float tensors in memory (as the bundled digits are): the ceiling;
* store:      the prepared store (``ganforge prepare``; what image-folder trains from);
* png-files:  the folder of 64 px PNGs decoded by a DataLoader in every epoch (image-folder
              before prepared stores);
* jpeg-files: a folder of large JPEGs (``--large-size`` px) decoded and resized in every epoch;

and how long preparing each folder takes (its store then serves every later epoch and run).
The images are ``../shared/data/twemoji-64`` (3,786 Twemoji PNGs, CC-BY 4.0 by Twitter, Inc.
and other contributors); the large JPEGs are made from them once, into ``--work``.

    python benchmarks/data.py [--steps 40] [--large 600] [--large-size 1024] [--work /tmp/ganforge-data-bench]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset

import ganforge
from ganforge.data import prepared
from ganforge.data.datasets import InMemoryDataset, to_float
from ganforge.data.pictures import image_files, read_image
from ganforge.hooks import manager
from ganforge.hooks.specs import hookimpl
from ganforge.training.batches import Batches

ROOT = Path(__file__).resolve().parents[1]
EMOJI = ROOT.parent / "shared" / "data" / "twemoji-64"
SIZE, BATCH = 64, 64


class DecodedEachEpoch(Dataset):
    """Every item decoded from its file when it is drawn: the DataLoader path."""

    def __init__(self, root=None, image_size=None, split="train"):
        self.files = image_files(root)
        self.channels, self.image_size, self.num_classes = 3, image_size or SIZE, 1

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return read_image(self.files[i], 3, self.image_size), 0


def in_memory(root=None, image_size=None, split="train"):
    """The prepared store's pixels as float tensors in memory: what the digits get."""
    store = prepared.open_prepared(prepared.prepare_images(root, image_size or SIZE, progress=None))
    return InMemoryDataset(to_float(torch.from_numpy(store.pixels[:].copy())), store.labels, 1)


def prepared_store(root=None, image_size=None, split="train"):
    return prepared.open_prepared(prepared.prepare_images(root, image_size or SIZE, progress=None))


class BenchDatasets:
    @hookimpl
    def register_datasets(self, register):
        register("bench-files", f"{__name__}:DecodedEachEpoch", "decoded in every epoch")
        register("bench-memory", f"{__name__}:in_memory", "float tensors in memory")
        register("bench-store", f"{__name__}:prepared_store", "the prepared store")


def make_large_jpegs(source: Path, folder: Path, count: int, size: int) -> Path:
    """``count`` emoji enlarged to ``size`` px on white with a little noise (so that JPEG has
    real detail to code), written once."""
    import numpy as np
    from PIL import Image

    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for path in image_files(source)[:count]:
        with Image.open(path) as im:
            rgba = im.convert("RGBA").resize((size, size), Image.Resampling.BICUBIC)
        plate = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        pixels = np.asarray(Image.alpha_composite(plate, rgba).convert("RGB"), dtype=np.int16)
        pixels = np.clip(pixels + rng.integers(-6, 7, pixels.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{path.stem}.jpg", quality=90)
    return folder


def loader_rate(dataset_name: str, root: Path, batches: int, num_workers: int) -> float:
    """Images/s of drawing ``batches`` batches (and converting them) with no training."""
    data = manager.get("datasets", dataset_name)(root=str(root), image_size=SIZE)
    feed = Batches(data, BATCH, 0, torch.device("cpu"), num_workers)
    it = feed.from_step(0)
    next(it)  # a DataLoader's workers start; a store is read into memory
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * BATCH / (time.perf_counter() - start)


def train_rate(dataset_name: str, root: Path, steps: int, out: Path, num_workers: int) -> float:
    result = ganforge.train("dcgan", dataset=dataset_name, data_root=str(root), params={"image_size": SIZE},
                            steps=steps, batch_size=BATCH, out=out, overwrite=True, quiet=True, device="cpu",
                            sample_every=10 ** 6, checkpoint_every=10 ** 6, checkpoint_minutes=0,
                            num_workers=num_workers)
    return result.images_per_sec


def main():
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)  # figures from different processors are not comparable
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps per timing")
    parser.add_argument("--loader-batches", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--large", type=int, default=600, help="how many large JPEGs to make")
    parser.add_argument("--large-size", type=int, default=1024)
    parser.add_argument("--num-workers", type=int, default=0, help="DataLoader workers for the file paths")
    parser.add_argument("--work", default="/tmp/ganforge-data-bench")
    args = parser.parse_args()
    if not EMOJI.is_dir():
        sys.exit(f"Error: {EMOJI} is not here")
    work = Path(args.work)
    os.environ["GANFORGE_CACHE"] = str(work / "cache")  # stores made here, never the user's cache
    shutil.rmtree(work / "cache", ignore_errors=True)
    jpegs = make_large_jpegs(EMOJI, work / "large-jpeg", args.large, args.large_size)
    manager.load_plugins().add(BenchDatasets(), "data-bench", "0", builtin=False)
    print(f"{torch.get_num_threads()} torch threads; DCGAN at {SIZE} px, batch {BATCH}, {args.steps} steps a "
          f"timing, best of {args.repeats}; DataLoader workers {args.num_workers}")
    for folder, label in ((EMOJI, f"{len(image_files(EMOJI)):,} 64 px PNGs"),
                          (jpegs, f"{args.large:,} {args.large_size} px JPEGs")):
        start = time.perf_counter()
        manifest = prepared.read_manifest(prepared.prepare_images(folder, SIZE, progress=None))
        print(f"\n{label}: prepared in {time.perf_counter() - start:.1f} s with {min(os.cpu_count(), 8)} "
              f"processes ({prepared.summary(manifest)})")
        print("| feed | loader alone, images/s | training, images/s | vs memory |\n|---|---|---|---|")
        feeds = {"memory": "bench-memory", "store": "bench-store", "files": "bench-files"}
        loader = {name: loader_rate(dataset, folder, args.loader_batches, args.num_workers)
                  for name, dataset in feeds.items()}
        trained = {name: [] for name in feeds}
        for _ in range(args.repeats):  # alternating, so that the machine's moods hit every feed alike
            for name, dataset in feeds.items():
                trained[name].append(train_rate(dataset, folder, args.steps, work / "run", args.num_workers))
        best = {name: max(rates) for name, rates in trained.items()}
        for name in feeds:
            print(f"| {name} | {loader[name]:,.0f} | {best[name]:,.0f} (median {statistics.median(trained[name]):,.0f}) "
                  f"| {best[name] / best['memory']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
