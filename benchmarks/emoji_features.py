"""A yardstick for colour images: features of a small classifier of Twemoji subcategories.

FID and KID need a feature space. Inception-v3's weights cannot be downloaded here, so the
colour benchmarks use this one instead: a five-layer convolutional network trained (about a
minute on 2 CPU cores, cached in ``--work``) to tell the 99 subcategories of
``../shared/data/twemoji-64.json`` apart ("person-role", "country-flag", "animal-mammal",
...) from the 3,786 images of ``../shared/data/twemoji-64`` (Twemoji, CC-BY 4.0 by Twitter,
Inc. and other contributors), composited onto white as ``ganforge prepare`` does. Its
128-unit penultimate layer is the feature space; its held-out accuracy is printed when it is
trained. It is benchmark-only: it knows emoji and nothing else, so its FIDs compare runs on
this folder with each other and mean nothing elsewhere.

    python benchmarks/emoji_features.py          # train (or load) it, print its accuracy
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from ganforge.data import prepared
from ganforge.data.pictures import image_files
from ganforge.hooks.specs import hookimpl
from ganforge.plugin import Extractor

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
EMOJI, LABELS = SHARED / "twemoji-64", SHARED / "twemoji-64.json"
WORK = Path(os.environ.get("GANFORGE_BENCH_WORK", "/tmp/ganforge-bench"))


def subcategories() -> dict[str, str]:
    """Image file name -> subcategory, skin-tone variants included."""
    found = {}
    for entry in json.loads(LABELS.read_text()):
        found[entry["image"]] = entry["subcategory"]
        for variant in (entry.get("skin_variations") or {}).values():
            found[variant["image"]] = entry["subcategory"]
    return found


TONES = ("1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff")  # light to dark skin tone, in file names


def tone_of(name: str) -> str:
    """The skin tone a file name carries (-1f3fb ... -1f3ff), or "none"."""
    return next((t for t in TONES if f"-{t}" in name), "none")


def emoji_data(size: int = 64, tones: bool = False):
    """uint8 pixels N x 3 x size x size (the prepared store's), class indices, class names and
    file names. With ``tones`` a class is a subcategory and a skin tone together, so that the
    features must tell the tones apart too."""
    store = prepared.prepare_images(EMOJI, size, progress=None)
    manifest = prepared.read_manifest(store)
    skipped = {p["file"] for p in manifest["problems"]}
    files = [p.name for p in image_files(EMOJI) if p.relative_to(EMOJI).as_posix() not in skipped]
    names = subcategories()
    label = (lambda f: f"{names[f]}/{tone_of(f)}") if tones else (lambda f: names[f])
    classes = sorted({label(f) for f in files})
    labels = np.array([classes.index(label(f)) for f in files])
    return np.load(store / prepared.IMAGES), labels, classes, files


class EmojiNet(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        blocks, width = [], 3
        for out in (32, 64, 128, 128):
            blocks += [nn.Conv2d(width, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
            width = out
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(128, 128), nn.ReLU())
        self.head = nn.Linear(128, classes)

    def forward(self, x):
        f = self.embed(self.features(x))
        return f, self.head(f)


def _held_out(n: int) -> np.ndarray:
    return np.arange(n) % 10 == 0  # every tenth image


def train_classifier(seconds: float = 75.0, seed: int = 0, tones: bool = False,
                     exclude: frozenset = frozenset()) -> tuple[Path, float]:
    """Train the yardstick for about ``seconds`` (cached by its recipe); its weights and held-out
    accuracy. ``tones``: classes of subcategory and skin tone (``emoji_data``); ``exclude``: file
    names it never sees (a benchmark's test images)."""
    pixels, labels, classes, files = emoji_data(tones=tones)
    kept = np.array([f not in exclude for f in files])
    pixels, labels = pixels[kept], labels[kept]
    recipe = f"{'tones-' if tones else ''}{len(classes)}c-{int(seconds)}s-{seed}"
    if exclude:
        import hashlib

        recipe += "-without-" + hashlib.sha256("\n".join(sorted(exclude)).encode()).hexdigest()[:12]
    path = WORK / f"emoji-classifier-{recipe}.pt"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        return path, json.loads(meta.read_text())["accuracy"]
    torch.manual_seed(seed)
    test = _held_out(len(labels))
    x = torch.from_numpy(pixels).float().div(127.5).sub(1)
    y = torch.from_numpy(labels)
    net = EmojiNet(len(classes))
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    train_idx = torch.from_numpy(np.flatnonzero(~test))
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for batch in train_idx[torch.randperm(len(train_idx))].split(64):
            images = x[batch]
            flip = torch.rand(len(batch)) < 0.5
            images = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
            shift = torch.randint(-4, 5, (2,))
            images = torch.roll(images, (int(shift[0]), int(shift[1])), dims=(2, 3))
            loss = F.cross_entropy(net(images)[1], y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(x[test])[1].argmax(1) == y[test]).float().mean().item()
    WORK.mkdir(parents=True, exist_ok=True)
    torch.save({"classes": classes, "state": net.state_dict()}, path)
    meta.write_text(json.dumps({"accuracy": accuracy, "seconds": seconds, "classes": len(classes)}))
    return path, accuracy


class EmojiFeatures(Extractor):
    """The yardstick's 128 penultimate features and its subcategory logits."""

    name, num_features = "emoji", 128
    channels, domain, min_confidence = (3,), "64 px Twemoji on white", 0.0

    def __init__(self, weights=None, device="cpu"):
        weights = Path(weights or train_classifier()[0])
        saved = torch.load(weights, weights_only=True)
        self.num_classes = len(saved["classes"])
        self.model = EmojiNet(self.num_classes).to(device).eval()
        self.model.load_state_dict(saved["state"])
        self.device, self.sha256 = torch.device(device), hashlib.sha256(weights.read_bytes()).hexdigest()

    @torch.no_grad()
    def __call__(self, images):
        x = images.to(self.device, torch.float32)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-1] != 64:
            x = F.interpolate(x, size=(64, 64), mode="bilinear", antialias=True)
        return self.model(x)


class EmojiPlugin:
    @hookimpl
    def register_extractors(self, register):
        register("emoji", f"{__name__}:EmojiFeatures", "benchmark-only: a classifier of Twemoji subcategories")


if __name__ == "__main__":
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)
    if not EMOJI.is_dir():
        sys.exit(f"Error: {EMOJI} is not here")
    weights, accuracy = train_classifier()
    print(f"emoji yardstick: {weights} ({accuracy:.1%} held-out accuracy over {len(emoji_data()[2])} subcategories)")
