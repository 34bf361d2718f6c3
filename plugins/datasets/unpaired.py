"""Unpaired two-domain datasets for CycleGAN and DiscoGAN."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.plugin import GanforgeError, image_files, read_image, UnpairedDataset

from .mnist import bundled_mnist


def outline(images: torch.Tensor) -> torch.Tensor:
    """Morphological gradient (dilation minus erosion): a digit's outline, in [-1, 1]."""
    unit = (images + 1) / 2
    dilated = F.max_pool2d(unit, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-unit, 3, stride=1, padding=1)
    return ((dilated - eroded) * 2 - 1).clamp(-1, 1)


def unpaired_digits(root=None, image_size=None, channels=None, split="train"):
    """Bundled digits (A) and outlined digits (B), from disjoint halves of each class."""
    digits = bundled_mnist(image_size=image_size, channels=channels, split=split)
    a_idx, b_idx = [], []
    for c in range(10):
        idx = torch.nonzero(digits.labels == c).flatten()
        a_idx.append(idx[0::2])
        b_idx.append(idx[1::2])
    a, b = torch.cat(a_idx), torch.cat(b_idx)
    return UnpairedDataset(digits.images[a], outline(digits.images[b]), digits.labels[a], digits.labels[b], 10)


def _load_folder(folder: Path, image_size: int, channels: int) -> torch.Tensor:
    files = image_files(folder)
    if not files:
        raise GanforgeError(f"no images found in '{folder}'")
    return torch.stack([read_image(f, channels, image_size) for f in files])


def unpaired_folder(root=None, image_size=None, channels=None, split="train"):
    """The CycleGAN layout: trainA/ trainB/ testA/ testB/ under --data-root."""
    if root is None:
        raise GanforgeError("the unpaired-folder dataset needs --data-root with trainA/ trainB/ testA/ testB/")
    root = Path(root)
    folders = [root / f"{split}A", root / f"{split}B"]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise GanforgeError(f"missing folder(s) {', '.join(missing)}; expected trainA/ trainB/ testA/ testB/")
    size, ch = image_size or 64, channels or 3
    return UnpairedDataset(_load_folder(folders[0], size, ch), _load_folder(folders[1], size, ch))
