"""A folder of the user's own images."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from ganforge.errors import GanforgeError
from ganforge.images import IMAGE_EXTENSIONS, image_files


class ImageFolder(Dataset):
    """Any folder of images, resized and center-cropped; immediate subfolders become labels."""

    def __init__(self, root=None, image_size=None, channels=None, split="train"):
        from torchvision.transforms import v2

        if root is None:
            raise GanforgeError("the image-folder dataset needs a folder: pass --data-root PATH")
        root = Path(root)
        if not root.is_dir():
            raise GanforgeError(f"image folder '{root}' does not exist or is not a folder")
        self.files = image_files(root)
        if not self.files:
            raise GanforgeError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) found under '{root}'")
        classes = sorted({p.relative_to(root).parts[0] for p in self.files if len(p.relative_to(root).parts) > 1})
        index = {c: i for i, c in enumerate(classes)}
        self.labels = [index.get(p.relative_to(root).parts[0], 0) if len(p.relative_to(root).parts) > 1 else 0
                       for p in self.files]
        self.num_classes = max(len(classes), 1)
        self.channels = channels or 3
        self.image_size = image_size or 64
        self.mode = {1: "L", 3: "RGB"}.get(self.channels)
        if self.mode is None:
            raise GanforgeError(f"image-folder supports 1 or 3 channels, got {self.channels}")
        self.transform = v2.Compose([
            v2.PILToTensor(),
            v2.Resize(self.image_size, antialias=True),
            v2.CenterCrop(self.image_size),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.5] * self.channels, [0.5] * self.channels),
        ])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        from PIL import Image

        try:
            with Image.open(self.files[index]) as im:
                image = im.convert(self.mode)
        except OSError as exc:
            raise GanforgeError(f"cannot read image '{self.files[index]}': {exc}") from None
        return self.transform(image), self.labels[index]
