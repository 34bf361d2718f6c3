"""Image-caption datasets for text-to-image GANs (StackGAN).

Items are ``(image, index)``; ``captions[index]`` holds that image's captions
(several per image, CUB-style), so a recipe can draw a different one each time.
The offline default describes each bundled digit in varied words: its class (as
a numeral or a word), its stroke thickness and its slant, measured from the
pixels, so a caption says something visible beyond the class.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.plugin import GanforgeError, image_files, InMemoryDataset, read_image

from .mnist import bundled_mnist

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEMPLATES = [
    "a {thick} handwritten {word}",
    "the digit {num} written with {thick} strokes",
    "a {word} {slant}",
    "{thick} {word} {slant}",
    "handwritten number {num} , {thick} and {slant}",
]


class CaptionedDataset(InMemoryDataset):
    def __init__(self, images, labels, captions: list[list[str]], num_classes: int = 1):
        super().__init__(images, torch.arange(len(images)), num_classes)
        self.captions = captions
        self.classes = labels


def describe(images: torch.Tensor, labels: torch.Tensor) -> tuple[list[str], list[str]]:
    """Stroke thickness (ink relative to the median of the digit's class) and slant (image
    moments) of each digit."""
    ink = (images[:, 0] + 1) / 2
    mass = ink.sum((1, 2))
    median = torch.stack([mass[labels == c].median() for c in range(10)])[labels]
    thick = ["thick" if m > md * 1.15 else "thin" if m < md * 0.85 else "regular" for m, md in zip(mass, median)]
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cx = (ink * xs).sum((1, 2)) / mass
    cy = (ink * ys).sum((1, 2)) / mass
    skew = (ink * (xs - cx[:, None, None]) * (ys - cy[:, None, None])).sum((1, 2)) / \
        (ink * (ys - cy[:, None, None]) ** 2).sum((1, 2))
    # image rows grow downwards: a negative x-y covariance means the top leans right
    slant = ["leaning right" if s < -0.15 else "leaning left" if s > 0.15 else "upright" for s in skew]
    return thick, slant


def digit_captions(root=None, image_size=None, channels=None, split="train"):
    """Bundled digits with five generated captions each: class, thickness and slant."""
    digits = bundled_mnist(split=split)
    thick, slant = describe(digits.images, digits.labels)
    captions = [[t.format(thick=thick[i], slant=slant[i], word=WORDS[c], num=c) for t in TEMPLATES]
                for i, c in enumerate(digits.labels.tolist())]
    images = bundled_mnist(image_size=image_size, channels=channels, split=split).images
    return CaptionedDataset(images, digits.labels, captions, 10)


def caption_folder(root=None, image_size=None, channels=None, split="train"):
    """Images with captions in a .txt file of the same name (one caption per line), beside the
    image or in a parallel text/ folder (the CUB layout); ``split`` picks a train/ or test/ subfolder if present."""
    if root is None:
        raise GanforgeError("the caption-folder dataset needs --data-root")
    root = Path(root)
    if (root / split).is_dir():
        root = root / split
    cub = (root / "images").is_dir()  # images/ with captions in a parallel text/
    files = image_files(root / "images" if cub else root)
    if not files:
        raise GanforgeError(f"no images found under '{root}'")
    images, captions = [], []
    for f in files:
        candidates = [f.with_suffix(".txt")]
        if cub:
            candidates.append(root / "text" / f.relative_to(root / "images").with_suffix(".txt"))
        text = next((c for c in candidates if c.is_file()), None)
        if text is None:
            raise GanforgeError(f"image '{f}' has no caption file ({f.stem}.txt)")
        lines = [line.strip() for line in text.read_text().splitlines() if line.strip()]
        if not lines:
            raise GanforgeError(f"caption file '{text}' is empty")
        images.append(read_image(f, channels or 3, image_size or 64))
        captions.append(lines)
    return CaptionedDataset(torch.stack(images), torch.zeros(len(images), dtype=torch.long), captions)
