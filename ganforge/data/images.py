"""Writing generated images: grids, one file per image, or an array file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ganforge.data.pictures import IMAGE_EXTENSIONS, image_files, picture_tensor, read_image  # noqa: F401 (read here before)

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
    from ganforge.errors import GanforgeError

    taken = [Path(p) for p in paths if Path(p).exists()]
    if taken and not force:
        more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
        raise GanforgeError(f"'{taken[0]}'{more} already exists; pass --force to replace, or choose another output")


def auto_scale(size: int) -> int:
    """How much to enlarge images ``size`` pixels high so that a person can see them: to at
    least 80 pixels, by whole pixels (nearest neighbour, so every pixel stays honest)."""
    return max(1, math.ceil(80 / size))


def grid_picture(images: torch.Tensor, output_range, nrow: int | None = None, padding: int = 2,
                 scale: int | None = None, row_labels=None, column_labels=None):
    """A PIL image of a grid of ``images``, enlarged ``scale`` times (default: ``auto_scale``),
    with a label beside each row and above each column when given."""
    from PIL import Image, ImageDraw, ImageFont
    from torchvision.utils import make_grid

    nrow = nrow or max(1, int(math.ceil(math.sqrt(len(images)))))
    grid = make_grid(to_unit(images, output_range).cpu(), nrow=nrow, padding=padding, pad_value=1.0)
    picture = Image.fromarray(grid.mul(255).round().byte().permute(1, 2, 0).numpy())
    scale = scale or auto_scale(images.shape[-1])
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    if not row_labels and not column_labels:
        return picture
    try:
        font = ImageFont.load_default(size=14)
    except TypeError:  # Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    measure = ImageDraw.Draw(picture)
    width = max((measure.textlength(str(t), font=font) for t in row_labels or []), default=0)
    left = int(width) + 12 if row_labels else 0
    top = 22 if column_labels else 0
    framed = Image.new("RGB", (picture.width + left, picture.height + top), "white")
    framed.paste(picture, (left, top))
    draw = ImageDraw.Draw(framed)
    cell_h, cell_w = (images.shape[-2] + padding) * scale, (images.shape[-1] + padding) * scale
    for r, text in enumerate(row_labels or []):
        draw.text((6, top + padding * scale + r * cell_h + cell_h // 2), str(text), fill="black", font=font, anchor="lm")
    for c, text in enumerate(column_labels or []):
        draw.text((left + padding * scale + c * cell_w + cell_w // 2, top // 2), str(text), fill="black", font=font,
                  anchor="mm")
    return framed


def save_grid(images: torch.Tensor, output_range, path, nrow: int | None = None, padding: int = 2,
              scale: int | None = None, row_labels=None, column_labels=None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_picture(images, output_range, nrow, padding, scale, row_labels, column_labels).save(path)
    return path


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
