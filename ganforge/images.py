"""Writing generated images: grids, one file per image, or an array file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def image_files(folder) -> list[Path]:
    """Image files under ``folder``, recursively, in a stable order."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def to_unit(images: torch.Tensor, output_range) -> torch.Tensor:
    """Map a generator's output range to [0, 1]."""
    low, high = output_range
    return ((images.float() - low) / (high - low)).clamp(0, 1)


def to_uint8(images: torch.Tensor, output_range) -> np.ndarray:
    """N x C x H x W uint8 pixels."""
    return to_unit(images, output_range).mul(255).round().to(torch.uint8).cpu().numpy()


def refuse_overwrite(paths, force: bool) -> None:
    """Refuse to replace files that exist, unless ``force``: a second command must not silently
    destroy what a first one wrote."""
    from .errors import GanforgeError

    taken = [Path(p) for p in paths if Path(p).exists()]
    if taken and not force:
        more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
        raise GanforgeError(f"'{taken[0]}'{more} already exists; pass --force to replace, or choose another output")


def save_grid(images: torch.Tensor, output_range, path, nrow: int | None = None, padding: int = 2) -> Path:
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nrow = nrow or max(1, int(math.ceil(math.sqrt(len(images)))))
    save_image(to_unit(images, output_range).cpu(), path, nrow=nrow, padding=padding, pad_value=1.0)
    return path


def read_image(path, channels: int, size: int) -> torch.Tensor:
    """An image file as C x size x size in [-1, 1] (resized on its short side, center-cropped)."""
    from PIL import Image
    from torchvision.transforms import v2

    from .errors import GanforgeError

    try:
        with Image.open(path) as im:
            image = im.convert({1: "L", 3: "RGB"}[channels])
    except OSError as exc:
        raise GanforgeError(f"cannot read image '{path}': {' '.join(str(exc).split())}") from None
    pixels = v2.CenterCrop(size)(v2.Resize(size, antialias=True)(v2.PILToTensor()(image)))
    return pixels.float().div(127.5).sub(1.0)


def each_path(folder, count: int) -> list[Path]:
    """Where ``save_each`` writes ``count`` images."""
    return [Path(folder) / f"{i:05d}.png" for i in range(count)]


def save_each(images: torch.Tensor, output_range, folder) -> list[Path]:
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pixels = to_uint8(images, output_range)
    paths = []
    for img, path in zip(pixels, each_path(folder, len(pixels))):
        arr = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        Image.fromarray(arr).save(path)
        paths.append(path)
    return paths


def save_npz(images: torch.Tensor, output_range, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, x=to_uint8(images, output_range))
    return path
