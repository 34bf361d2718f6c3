"""The order batches come in: it depends only on (seed, epoch), so a resumed run
continues with exactly the batches an uninterrupted one would have seen.

Datasets read from disk go through a DataLoader. Each item is read with Python's,
NumPy's and torch's random generators seeded from (seed, epoch, index), so a
dataset's own random transforms (flips, crops) give the same item whichever worker
reads it and however often the run was interrupted.
"""

from __future__ import annotations

import contextlib
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ganforge.data.datasets import InMemoryDataset
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
                 shard: tuple[int, int] = (0, 1), channels_last: bool = False):
        if len(dataset) < batch_size:
            raise GanforgeError(f"the dataset has {len(dataset)} items, fewer than one batch of {batch_size}")
        rank, world = shard
        if batch_size % world:
            raise GanforgeError(f"the batch size {batch_size} does not split evenly over {world} processes")
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.device, self.num_workers = device, num_workers
        self.share = slice(rank * batch_size // world, (rank + 1) * batch_size // world)
        self.channels_last = channels_last
        self.per_epoch = len(dataset) // batch_size  # the last partial batch is dropped
        if isinstance(dataset, InMemoryDataset):  # index tensors directly, on the training device
            self.images = dataset.images.to(device)
            self.labels = dataset.labels.to(device)

    def order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        perm = torch.randperm(len(self.dataset), generator=g)
        return perm[: self.per_epoch * self.batch_size].view(self.per_epoch, self.batch_size)

    def from_step(self, step: int):
        epoch, offset = divmod(step, self.per_epoch)
        while True:
            order = self.order(epoch)[offset:, self.share]
            if isinstance(self.dataset, InMemoryDataset):
                order = order.to(self.device)
                for idx in order:
                    yield self._layout(self.images[idx]), self.labels[idx]
            else:  # worker processes and pinned memory keep the device fed
                keys = [[(int(i), item_seed(self.seed, epoch, int(i))) for i in batch] for batch in order]
                # The loader's own seed comes from (seed, epoch) too, never from the global generator:
                # a loader started mid-epoch by a resumed run then draws nothing an uninterrupted run would not.
                loader = DataLoader(SeededItems(self.dataset), batch_sampler=keys, num_workers=self.num_workers,
                                    pin_memory=self.device.type == "cuda",
                                    generator=torch.Generator().manual_seed(item_seed(self.seed, epoch, -1)))
                for images, labels in loader:
                    yield (self._layout(images.to(self.device, non_blocking=True)),
                           torch.as_tensor(labels).to(self.device, non_blocking=True))
            epoch, offset = epoch + 1, 0

    def _layout(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last and images.dim() == 4:
            return images.contiguous(memory_format=torch.channels_last)
        return images
