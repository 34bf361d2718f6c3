"""The order batches come in: it depends only on (seed, epoch), so a resumed run
continues with exactly the batches an uninterrupted one would have seen.

Three kinds of data, fastest first. Float images in memory (``InMemoryDataset``) and
uint8 pixels that fit (``PixelDataset``: a prepared image store) sit on the training
device and are indexed there. A store too large for memory is memory-mapped and read a
batch at a time, one batch ahead, in a thread. Any other dataset goes through a
DataLoader; each item is read with Python's, NumPy's and torch's random generators seeded
from (seed, epoch, index), so a dataset's own random transforms (flips, crops) give the
same item whichever worker reads it and however often the run was interrupted.

``mirror`` flips images horizontally at random, each by a draw that depends on (seed,
epoch, index) alone, whatever kind the data is: exact under resume and sharding.
"""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ganforge.data.datasets import InMemoryDataset, PixelDataset, to_float
from ganforge.errors import GanforgeError


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of an epoch's batch order: a function of the run's seed and the epoch alone."""
    return seed * 1_000_003 + epoch


def item_seed(seed: int, epoch: int, index: int) -> int:
    """The seed an item is read with: a function of the run's seed, the epoch and the index."""
    return (epoch_seed(seed, epoch) * 1_000_000_007 + index + 1) % (2 ** 63)


@contextlib.contextmanager
def seeded(seed: int):
    """Python's, NumPy's and torch's CPU generators seeded with ``seed`` inside the block,
    and as they were after it."""
    state = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.random.set_rng_state(state[2])


class SeededItems(Dataset):
    """A dataset read by ``(index, seed)`` keys, each item under its own seed."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        index, seed = key
        with seeded(seed):
            return self.dataset[index]


class Batches:
    """Batches in an order that depends only on (seed, epoch), so a run can restart mid-epoch.

    In a distributed run every process draws the same global batch and keeps its own
    contiguous share of it (rank r of W: rows r*B/W to (r+1)*B/W)."""

    def __init__(self, dataset, batch_size: int, seed: int, device: torch.device, num_workers: int = 0,
                 shard: tuple[int, int] = (0, 1), channels_last: bool = False, mirror: bool = False):
        if len(dataset) < batch_size:
            raise GanforgeError(f"the dataset has {len(dataset)} items, fewer than one batch of {batch_size}: "
                                f"set a --batch-size of at most {len(dataset)}")
        rank, world = shard
        if batch_size % world:
            raise GanforgeError(f"the batch size {batch_size} does not split evenly over {world} processes")
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.device, self.num_workers = device, num_workers
        self.share = slice(rank * batch_size // world, (rank + 1) * batch_size // world)
        self.channels_last, self.mirror = channels_last, mirror
        self.per_epoch = len(dataset) // batch_size  # the last partial batch is dropped
        self.kind = "loader"
        if isinstance(dataset, InMemoryDataset):  # index tensors directly, on the training device
            self.kind = "device"
            self.images = dataset.images.to(device)
            self.labels = dataset.labels.to(device)
        elif isinstance(dataset, PixelDataset):
            fits = dataset.in_memory if dataset.in_memory is not None else dataset.nbytes <= memory_budget(device)
            self.kind = "pixels" if fits else "mapped"
            if fits:  # uint8 on the device: a quarter of the float images' memory
                pixels = dataset.pixels  # read once, whole
                self.images = (pixels if isinstance(pixels, torch.Tensor) else torch.from_numpy(np.array(pixels))).to(device)
            self.labels = dataset.labels.to(device)

    def order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        perm = torch.randperm(len(self.dataset), generator=g)
        return perm[: self.per_epoch * self.batch_size].view(self.per_epoch, self.batch_size)

    def flips(self, epoch: int) -> torch.Tensor:
        """Which items ``mirror`` flips in ``epoch``: one draw per item from (seed, epoch)."""
        g = torch.Generator().manual_seed(epoch_seed(self.seed, epoch) ^ 0x5EED_F11B)
        return torch.rand(len(self.dataset), generator=g) < 0.5

    def from_step(self, step: int):
        for (images, labels), flip in self._batches(step):
            if flip is not None:
                images = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
            yield self._layout(images), labels

    def _batches(self, step: int):
        """``((images, labels), which to flip or None)`` from ``step`` on."""
        epoch, offset = divmod(step, self.per_epoch)
        while True:
            order = self.order(epoch)[offset:, self.share]
            flips = self.flips(epoch).to(self.device) if self.mirror else None
            if self.kind in ("device", "pixels"):  # every index moved to the device once an epoch
                convert = (lambda x: x) if self.kind == "device" else to_float
                for idx in order.to(self.device):
                    yield (convert(self.images[idx]), self.labels[idx]), None if flips is None else flips[idx]
            elif self.kind == "mapped":  # the next batch is read while this one trains
                for idx, pixels in _read_ahead(self.dataset, order):
                    pixels = pixels.pin_memory() if self.device.type == "cuda" else pixels
                    idx = idx.to(self.device)
                    yield ((to_float(pixels.to(self.device, non_blocking=True)), self.labels[idx]),
                           None if flips is None else flips[idx])
            else:  # worker processes and pinned memory keep the device fed
                keys = [[(int(i), item_seed(self.seed, epoch, int(i))) for i in batch] for batch in order]
                # The loader's own seed comes from (seed, epoch) too, never from the global generator:
                # a loader started mid-epoch by a resumed run then draws nothing an uninterrupted run would not.
                loader = DataLoader(SeededItems(self.dataset), batch_sampler=keys, num_workers=self.num_workers,
                                    pin_memory=self.device.type == "cuda",
                                    generator=torch.Generator().manual_seed(item_seed(self.seed, epoch, -1)))
                for idx, (images, labels) in zip(order, loader):
                    yield ((images.to(self.device, non_blocking=True),
                            torch.as_tensor(labels).to(self.device, non_blocking=True)),
                           None if flips is None else flips[idx.to(self.device)])
            epoch, offset = epoch + 1, 0

    def _layout(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last and images.dim() == 4:
            return images.contiguous(memory_format=torch.channels_last)
        return images


def memory_budget(device: torch.device) -> int:
    """How many bytes of uint8 pixels may sit on ``device``: a quarter of a GPU's free memory,
    or a quarter of the machine's available memory (the rest is the networks', the
    optimizer's and the operating system's)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 4
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):
        return 2 ** 30


def _read_ahead(dataset: PixelDataset, order: torch.Tensor):
    """``(indices, uint8 pixels)`` for each row of ``order``, read one batch ahead in a thread
    (NumPy releases the GIL while it copies from the map)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as reader:
        pending = reader.submit(dataset.batch, order[0].numpy()) if len(order) else None
        for i in range(len(order)):
            pixels = pending.result()
            pending = reader.submit(dataset.batch, order[i + 1].numpy()) if i + 1 < len(order) else None
            yield order[i], pixels
