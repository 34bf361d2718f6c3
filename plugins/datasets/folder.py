"""A folder of the user's own images."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import Dataset

from ganforge.plugin import IMAGE_EXTENSIONS, GanforgeError, image_files, read_image


class ImageFolder(Dataset):
    """Any folder of images, resized and center-cropped; immediate subfolders become labels."""

    def __init__(self, root=None, image_size=None, channels=None, split="train"):
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
        if self.channels not in (1, 3):
            raise GanforgeError(f"image-folder supports 1 or 3 channels, got {self.channels}")

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        return read_image(self.files[index], self.channels, self.image_size), self.labels[index]
