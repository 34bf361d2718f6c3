"""A folder of the user's own images, prepared once (``ganforge prepare``) and trained from
the prepared store: no image is decoded twice, and files that cannot be used are found before
the first step."""

from __future__ import annotations

from ganforge.plugin import GanforgeError, open_prepared, prepare_images


def ImageFolder(root=None, image_size=None, channels=None, split="train", background="white", square="crop",
                in_memory=None):
    """Any folder of images, or a store ``ganforge prepare`` wrote; immediate subfolders become
    labels. Prepared at ``image_size`` (64 px unless asked) into ganforge's cache, which later
    runs reuse until a file changes."""
    if root is None:
        raise GanforgeError("the image-folder dataset needs a folder: pass --data-root PATH")
    channels = channels or 3
    if channels not in (1, 3):
        raise GanforgeError(f"image-folder supports 1 or 3 channels, got {channels}")
    store = prepare_images(root, image_size or 64, channels=channels, background=background, square=square)
    return open_prepared(store, in_memory=in_memory)
