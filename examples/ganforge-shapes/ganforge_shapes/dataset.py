"""Coloured shapes on disk: a dataset that reads each item from its file when asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.plugin import GanforgeError


class ShapesFolder(torch.utils.data.Dataset):
    """PNG files under ``root`` (``train/`` and ``test/``, or the folder itself for both), read
    one at a time at their own size unless ``image_size`` asks for another. Each item is flipped
    with probability 1/2 by ``torch.rand``, which ganforge seeds per (seed, epoch, index), so a
    resumed run reads exactly what an uninterrupted one would."""

    def __init__(self, root=None, image_size=None, split="train"):
        if root is None:
            raise GanforgeError("shapes-folder reads PNG files: pass --data-root FOLDER "
                                "(python -m ganforge_shapes FOLDER draws some)")
        folder = Path(root) / split if (Path(root) / split).is_dir() else Path(root)
        self.files = sorted(folder.glob("*.png"))
        if not self.files:
            raise GanforgeError(f"no PNG files in '{folder}'")
        with Image.open(self.files[0]) as first:
            own = first.size[0]
        self.channels, self.image_size, self.num_classes = 3, image_size or own, 1

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        with Image.open(self.files[index]) as image:
            image = image.convert("RGB").resize((self.image_size, self.image_size), Image.BILINEAR)
            x = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1
        if torch.rand(()) < 0.5:  # drawn from the generator ganforge seeds for this item
            x = x.flip(-1)
        return x, 0


def draw_shapes(folder, count: int = 256, size: int = 32, seed: int = 0) -> Path:
    """Write ``count`` random filled circles and squares as PNGs into ``folder``/train and /test."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    for split, n in (("train", count), ("test", max(count // 8, 8))):
        (folder / split).mkdir(parents=True, exist_ok=True)
        ys, xs = np.mgrid[:size, :size]
        for i in range(n):
            canvas = np.zeros((size, size, 3), np.uint8)
            cx, cy, r = rng.integers(size // 4, 3 * size // 4, 2).tolist() + [int(rng.integers(size // 8, size // 3))]
            inside = ((xs - cx) ** 2 + (ys - cy) ** 2 <= r * r) if rng.random() < 0.5 else \
                ((abs(xs - cx) <= r) & (abs(ys - cy) <= r))
            canvas[inside] = rng.integers(64, 256, 3)
            Image.fromarray(canvas).save(folder / split / f"{i:05d}.png")
    return folder
