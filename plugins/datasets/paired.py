"""Aligned pairs for pix2pix: an input image and the image it should become.

Each item holds the pair stacked on the channel axis (``ganforge.plugin.as_pairs``), so the
engine's batches, ``--mirror`` flips and a recipe's random crops treat the two alike.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.plugin import (GanforgeError, InMemoryDataset, as_pairs, held_out_rows, open_prepared, prepare_pairs)

from .mnist import bundled_mnist
from .unpaired import HELD_OUT_EVERY, outline


def paired_digits(root=None, image_size=None, channels=None, split="train", direction="AtoB"):
    """The bundled digits' outlines (A) and the digits themselves (B): edges to images, offline."""
    digits = bundled_mnist(image_size=image_size, channels=channels, split=split)
    pairs = InMemoryDataset(torch.cat([outline(digits.images), digits.images], 1), digits.labels, 10)
    return as_pairs(pairs, direction)


def paired_folder(root=None, image_size=None, channels=None, split="train", background="white", square="crop",
                  direction="AtoB", in_memory=None):
    """Aligned pairs under --data-root, in either layout of the pix2pix repository: ``train/``
    and ``test/`` (or ``val/``) of files holding A and B side by side, or ``A/`` and ``B/``
    with the same split subfolders, files matched by name. Prepared once into the cache as
    ``image-folder`` is; without a test split, every 10th pair is held out for it."""
    if root is None:
        raise GanforgeError("the paired-folder dataset needs --data-root: a folder with train/ (A|B side by side) "
                            "or A/train/ and B/train/")
    root, channels = Path(root), channels or 3
    if channels not in (1, 3):
        raise GanforgeError(f"paired-folder supports 1 or 3 channels, got {channels}")
    prepare = dict(channels=channels, background=background, square=square)
    test_folder = _test_folder(root)
    if test_folder is not None:
        store = prepare_pairs(root, "train" if split == "train" else test_folder, image_size or 64, **prepare)
        return as_pairs(open_prepared(store, in_memory=in_memory), direction)
    # no test split of its own: every 10th training pair is held out for it
    data = as_pairs(open_prepared(prepare_pairs(root, "train", image_size or 64, **prepare), in_memory=in_memory),
                    direction)
    train, test = held_out_rows(len(data), HELD_OUT_EVERY)
    data = data.subset(train if split == "train" else test)
    data.held_out_note = f"every {HELD_OUT_EVERY}th pair of train/ is held out as the test split ({len(test)} pairs)"
    return data


def _test_folder(root: Path) -> str | None:
    """The folder of the test split: test/, else val/ (in either layout); None when there is none."""
    for name in ("test", "val"):
        if (root / name).is_dir() or (root / "A" / name).is_dir():
            return name
    return None
