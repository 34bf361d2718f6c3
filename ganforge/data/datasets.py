"""Dataset helpers shared by dataset plugins.

A dataset item is ``(image, label)``: a float tensor C x H x W in [-1, 1] and an
int. Datasets also tell the recipe ``channels``, ``image_size`` and
``num_classes`` so that networks can be built to fit them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


class InMemoryDataset(Dataset):
    """All images in one tensor: small datasets train faster without a DataLoader,
    and can live on the GPU (the engine indexes ``images`` directly)."""

    # The feature extractor plugin that fits these images, if one is known (the mnist datasets
    # say "digits"): training runs with --eval-every then log sample quality on its features.
    extractor: str | None = None

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int):
        self.images, self.labels, self.num_classes = images, labels, num_classes
        self.channels, self.image_size = images.shape[1], images.shape[2]

    @classmethod
    def from_uint8(cls, x, y, num_classes: int, image_size: int | None = None, channels: int | None = None):
        """From uint8 N x H x W (or N x C x H x W) pixels to [-1, 1] floats, resized once."""
        images = torch.as_tensor(x)
        if images.dim() == 3:
            images = images.unsqueeze(1)
        images = images.float().div(127.5).sub(1.0)
        if image_size and image_size != images.shape[-1]:
            images = F.interpolate(images, size=(image_size, image_size), mode="bilinear",
                                   antialias=True, align_corners=False).clamp(-1, 1)
        if channels and channels != images.shape[1]:
            if channels == 1:  # colour to grey
                images = images.mean(1, keepdim=True)
            elif images.shape[1] == 1:
                images = images.expand(-1, channels, -1, -1).contiguous()
            else:
                raise ValueError(f"cannot turn {images.shape[1]}-channel images into {channels} channels")
        return cls(images.contiguous(), torch.as_tensor(y).long(), num_classes)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], int(self.labels[index])


def class_balanced_split(labels, per_class_test: int):
    """Indices of a deterministic train/test split with ``per_class_test`` test items per class:
    the last ones of each class, so the split never depends on a random seed."""
    import numpy as np

    labels = np.asarray(labels)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        train.extend(idx[:-per_class_test])
        test.extend(idx[-per_class_test:])
    return np.array(sorted(train)), np.array(sorted(test))


class UnpairedDataset(InMemoryDataset):
    """Two image domains with no pairing: the engine walks domain A (``images``);
    recipes draw domain B batches from ``other`` themselves."""

    def __init__(self, images: torch.Tensor, other: torch.Tensor, labels: torch.Tensor | None = None,
                 other_labels: torch.Tensor | None = None, num_classes: int = 1):
        if images.shape[1:] != other.shape[1:]:
            raise ValueError(f"domains differ in shape: {tuple(images.shape[1:])} and {tuple(other.shape[1:])}")
        labels = labels if labels is not None else torch.zeros(len(images), dtype=torch.long)
        super().__init__(images, labels, num_classes)
        self.other = other
        self.other_labels = other_labels


class PixelDataset(Dataset):
    """uint8 pixels ``N x C x H x W`` (a tensor, or a NumPy memory map of a prepared store)
    and their labels. The engine never decodes or converts it item by item: it moves the
    pixels to the training device once when they fit (``in_memory``), else reads a batch at a
    time from the map, and turns uint8 into [-1, 1] floats on the device.

    ``report`` is the store's ``store.json`` (what was found, skipped and converted): the
    engine prints its summary line and keeps it in the run directory as ``data.json``."""

    extractor: str | None = None

    def __init__(self, pixels, labels, num_classes: int, report: dict | None = None, in_memory: bool | None = None):
        self.pixels, self.labels, self.num_classes = pixels, torch.as_tensor(labels).long(), num_classes
        self.channels, self.image_size = int(pixels.shape[1]), int(pixels.shape[2])
        self.report, self.in_memory = report, in_memory

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.pixels.shape))

    def __len__(self):
        return len(self.pixels)

    def __getitem__(self, index):
        return to_float(self.batch([index])[0]), int(self.labels[index])

    @property
    def images(self) -> torch.Tensor:
        """Every image as floats in [-1, 1], read whole: for held-out splits, which are small."""
        return to_float(self.batch(np.arange(len(self))))

    def subset(self, rows) -> "PixelDataset":
        """The rows ``rows`` (read into memory), with this one's report and attributes."""
        rows = np.asarray(rows)
        part = PixelDataset(self.batch(rows), self.labels[torch.as_tensor(rows)], self.num_classes, self.report,
                            self.in_memory)
        for name in ("paired", "direction", "channels", "held_out_note"):
            if hasattr(self, name):
                setattr(part, name, getattr(self, name))
        return part

    def batch(self, indices) -> torch.Tensor:
        """The uint8 pixels of ``indices`` as one CPU tensor (rows read in file order)."""
        if isinstance(self.pixels, torch.Tensor):
            return self.pixels[torch.as_tensor(indices)]
        indices = np.asarray(indices)
        order = np.argsort(indices, kind="stable")
        rows = np.empty((len(indices), *self.pixels.shape[1:]), dtype=np.uint8)
        rows[order] = self.pixels[indices[order]]
        return torch.from_numpy(rows)


def as_pairs(dataset, direction: str = "AtoB"):
    """Mark ``dataset`` as aligned pairs: each image holds an input and its target stacked on
    the channel axis, A's channels then B's, so that a batch, its flips and its crops keep every
    pair together. ``channels`` becomes one image's; ``direction`` (AtoB or BtoA) says which
    half is the input (``split_pair``)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    dataset.paired, dataset.direction = True, direction
    dataset.channels = dataset.channels // 2
    return dataset


DIRECTIONS = ("AtoB", "BtoA")


def split_pair(images: torch.Tensor, direction: str = "AtoB") -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)`` of a batch of pairs (``as_pairs``)."""
    c = images.shape[1] // 2
    a, b = images[:, :c], images[:, c:]
    return (a, b) if direction == "AtoB" else (b, a)


def held_out_rows(count: int, every: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` row indices when a dataset has no test split of its own: every
    ``every``-th row (the last of each run of ``every``) is held out, and the last row when
    there are fewer than ``every``; never random."""
    rows = np.arange(count)
    test = rows % every == every - 1
    if not test.any() and count > 1:
        test[-1] = True
    return rows[~test], rows[test]


def combined_report(reports: dict[str, dict]) -> dict:
    """One report of several prepared stores (the two domains of unpaired data): counts added
    up, each problem's file prefixed with its store's name."""
    first = next(iter(reports.values()))
    converted: dict[str, int] = {}
    for report in reports.values():
        for k, v in (report.get("converted") or {}).items():
            converted[k] = converted.get(k, 0) + v
    return {"size": first["size"], "square": first.get("square", "crop"),
            "found": sum(r["found"] for r in reports.values()), "images": sum(r["images"] for r in reports.values()),
            "converted": converted,
            "problems": [{**p, "file": f"{name}/{p['file']}"} for name, r in reports.items() for p in r.get("problems") or []],
            "stores": {name: r.get("store") for name, r in reports.items()}}


def to_float(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels as floats in [-1, 1] (x / 127.5 - 1), on the tensor's device."""
    return pixels.float().div_(127.5).sub_(1.0)


def as_images(images: torch.Tensor) -> torch.Tensor:
    """Images as floats in [-1, 1] whichever way a dataset holds them: uint8 pixels (a prepared
    store's) converted by ``to_float``, floats as they are."""
    return to_float(images) if images.dtype == torch.uint8 else images


IMAGE_FILE_OPTIONS = ("background", "square", "direction")  # run settings handed to datasets that take them


def file_options(dataset, values: dict) -> dict:
    """Of the image-file settings in ``values`` (``background``, ``square``), those the dataset
    callable takes (by its signature): what it is built with, for training and evaluation alike."""
    import inspect

    try:
        takes = inspect.signature(dataset).parameters
    except (TypeError, ValueError):
        takes = {}
    return {name: values[name] for name in IMAGE_FILE_OPTIONS if name in takes and name in values}
