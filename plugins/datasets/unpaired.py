"""Unpaired two-domain datasets for CycleGAN and DiscoGAN."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

import numpy as np

from ganforge.plugin import (GanforgeError, UnpairedDataset, combined_report, held_out_rows, open_prepared,
                            prepare_images)

from .mnist import bundled_mnist

HELD_OUT_EVERY = 10  # with no test split of its own, every 10th item (by name) is held out for one


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


def unpaired_folder(root=None, image_size=None, channels=None, split="train", background="white", square="crop",
                    in_memory=None):
    """The CycleGAN layout under --data-root: trainA/ and trainB/, and testA/ and testB/ for the
    test split (without them, every 10th image of each domain is held out for it). Each domain
    is prepared once into the cache as ``image-folder`` is, unusable files skipped and listed."""
    if root is None:
        raise GanforgeError("the unpaired-folder dataset needs --data-root with trainA/ trainB/ (and testA/ testB/)")
    root, channels = Path(root), channels or 3
    if channels not in (1, 3):
        raise GanforgeError(f"unpaired-folder supports 1 or 3 channels, got {channels}")
    has_test = (root / "testA").is_dir() and (root / "testB").is_dir()
    read = "train" if split == "train" or not has_test else "test"
    folders = {side: root / f"{read}{side}" for side in "AB"}
    missing = [str(f) for f in folders.values() if not f.is_dir()]
    if missing:
        raise GanforgeError(f"missing folder(s) {', '.join(missing)}; expected trainA/ trainB/ (and testA/ testB/)")
    domains = {side: open_prepared(prepare_images(folder, image_size or 64, channels=channels, background=background,
                                                  square=square), in_memory=in_memory)
               for side, folder in folders.items()}
    note = None
    if not has_test:  # every 10th image of each domain is the test split
        rows = {side: held_out_rows(len(d), HELD_OUT_EVERY)[0 if split == "train" else 1] for side, d in domains.items()}
        domains = {side: d.subset(rows[side]) for side, d in domains.items()}
        note = f"no testA/ testB/: every {HELD_OUT_EVERY}th image of each domain is held out as the test split"
    data, b = domains["A"], domains["B"]
    data.other = b.batch(np.arange(len(b)))  # B whole, as uint8: the recipe draws its batches from it
    data.other_labels = None
    data.report = combined_report({f"{read}A": data.report, f"{read}B": b.report})
    if note:
        data.held_out_note = note
    return data
