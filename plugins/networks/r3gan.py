"""R3GAN's networks, written from the paper (Huang, Gokaslan, Kuleshov, Tompkin, "The GAN is
dead; long live the GAN! A Modern GAN Baseline", NeurIPS 2024), section 4: a plain modern
ResNet for both players, no normalization layers.

- Residual blocks: a 1x1 convolution widening the channels (``expansion``), a 3x3 grouped
  convolution with a fixed number of channels per group (``group_size``), a 1x1 convolution
  back, leaky ReLU 0.2 after the first two.
- Fix-up initialization: the first two convolutions of every block are scaled by the number
  of residual blocks to the power -1/4, and the last starts at zero, so that every block
  begins as the identity and the network's output variance does not grow with its depth.
- Resampling is low-pass filtered: a fixed binomial 4x4 kernel, applied per channel, doubles
  (G) or halves (D) the resolution; a 1x1 convolution changes the width between stages, at
  the lower of the two resolutions (before G's upsampling, after D's downsampling).
- Every layer outside the residual blocks (G's linear map of z, the 1x1 width changes, the
  layers to and from images, D's depthwise convolution and linear score) has no bias and a
  variance-preserving initialization (He with gain 1: weights of variance 1 / fan-in), as
  the paper initializes throughout; G's basis is standard normal.
- G starts from a learned 4x4 basis (7x7 for 28 px) modulated channel by channel by a linear
  map of z; D ends with a 4x4 (7x7) depthwise convolution and a linear layer. Conditional
  networks take a class embedding: G joins it to z, D projects it onto its features
  (Miyato and Koyama's projection discriminator).

Sizes: 16, 32, 64, 128 and 256 px (a 4x4 basis) and 28 px (7x7); any number of channels.
The widths double from ``width`` at full resolution towards the basis, up to ``max_width``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.plugin import label_input, latent_input, require_sizes

SIZES = (16, 28, 32, 64, 128, 256)


def _stages(image_size: int) -> tuple[int, int]:
    """(basis size, number of doublings) for an image size."""
    if image_size not in SIZES:
        raise ValueError(f"r3gan supports image sizes {list(SIZES)}, got {image_size}")
    start = 7 if image_size == 28 else 4
    return start, int(math.log2(image_size // start))


def _widths(width: int, max_width: int, stages: int) -> list[int]:
    """Channels of each resolution, lowest first: ``width`` at the highest, doubling below."""
    return [min(width * 2 ** (stages - i), max_width) for i in range(stages + 1)]


def _binomial() -> torch.Tensor:
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(taps, taps)
    return kernel / kernel.sum()


class Resample(nn.Module):
    """Low-pass filtered resampling by 2, per channel: up (a transposed convolution with the
    binomial kernel, times 4 to keep the mean) or down (a strided convolution with it)."""

    def __init__(self, channels: int, up: bool):
        super().__init__()
        self.channels, self.up = channels, up
        self.register_buffer("kernel", _binomial().expand(channels, 1, 4, 4).clone(), persistent=False)

    def forward(self, x):
        if self.up:
            return F.conv_transpose2d(x, self.kernel * 4, stride=2, padding=1, groups=self.channels)
        return F.conv2d(x, self.kernel, stride=2, padding=1, groups=self.channels)


class ResidualBlock(nn.Module):
    """x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))), fix-up initialized."""

    def __init__(self, channels: int, expansion: int, group_size: int, total_blocks: int):
        super().__init__()
        inner = channels * expansion
        group_size = min(group_size, inner)  # a group as wide as the block: a plain convolution
        if inner % group_size:
            raise ValueError(f"r3gan: {inner} inner channels do not split into groups of {group_size}")
        self.widen = nn.Conv2d(channels, inner, 1)
        self.grouped = nn.Conv2d(inner, inner, 3, padding=1, groups=inner // group_size)
        self.narrow = nn.Conv2d(inner, channels, 1)
        scale = total_blocks ** -0.25
        for conv in (self.widen, self.grouped):
            nn.init.kaiming_normal_(conv.weight, a=0.2, nonlinearity="leaky_relu")
            conv.weight.data.mul_(scale)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.narrow.weight)
        nn.init.zeros_(self.narrow.bias)

    def forward(self, x):
        h = F.leaky_relu(self.widen(x), 0.2)
        h = F.leaky_relu(self.grouped(h), 0.2)
        return x + self.narrow(h)


def _plain(layer: nn.Module) -> nn.Module:
    """``layer`` (built without a bias) with weights of variance 1 / fan-in."""
    nn.init.kaiming_normal_(layer.weight, nonlinearity="linear")
    return layer


def _width_change(channels: int, wanted: int) -> list[nn.Module]:
    """A 1x1 convolution from ``channels`` to ``wanted``, or nothing when they are equal."""
    return [] if wanted == channels else [_plain(nn.Conv2d(channels, wanted, 1, bias=False))]


def _stage(channels: int, blocks: int, expansion: int, group_size: int, total: int) -> nn.Sequential:
    return nn.Sequential(*(ResidualBlock(channels, expansion, group_size, total) for _ in range(blocks)))


def _check(latent_dim, channels, width, max_width, blocks, expansion, group_size):
    require_sizes(latent_dim=latent_dim, channels=channels, width=width, max_width=max_width, blocks=blocks,
                  expansion=expansion, group_size=group_size)


class R3GANGenerator(nn.Module):
    """z (and a class) -> a learned basis modulated by a linear map of z -> residual stages,
    each followed by low-pass upsampling -> a 1x1 convolution to the image's channels, with no
    output nonlinearity (clamped to [-1, 1] in eval mode)."""

    def __init__(self, latent_dim=64, channels=1, image_size=28, width=32, max_width=256, blocks=1, expansion=2,
                 group_size=16, num_classes=0, embedding_dim=32):
        super().__init__()
        _check(latent_dim, channels, width, max_width, blocks, expansion, group_size)
        start, stages = _stages(image_size)
        widths = _widths(width, max_width, stages)
        total = blocks * (stages + 1)
        self.num_classes = num_classes
        self.signature = [latent_input(latent_dim)] + ([label_input(num_classes)] if num_classes else [])
        self.output_range = (-1.0, 1.0)
        self.embed = nn.Embedding(num_classes, embedding_dim) if num_classes else None
        self.basis = nn.Parameter(torch.randn(widths[0], start, start))
        self.modulate = _plain(nn.Linear(latent_dim + (embedding_dim if num_classes else 0), widths[0], bias=False))
        layers = []
        for i, c in enumerate(widths):
            layers.append(_stage(c, blocks, expansion, group_size, total))
            if i < stages:  # the width changes at the lower resolution, then doubles it
                layers += _width_change(c, widths[i + 1]) + [Resample(widths[i + 1], up=True)]
        self.body = nn.Sequential(*layers)
        self.to_image = _plain(nn.Conv2d(widths[-1], channels, 1, bias=False))

    def forward(self, z, label=None):
        if self.embed is not None:
            if label is None:
                raise ValueError("this generator is conditional: pass a label")
            z = torch.cat([z, self.embed(label.long())], 1)
        x = self.basis.unsqueeze(0) * self.modulate(z)[:, :, None, None]
        images = self.to_image(self.body(x))
        # linear while training (D sees what G draws, as in the paper); clamped to the image
        # range when drawing, as StyleGAN's code clamps when it writes images
        return images if self.training else images.clamp(-1.0, 1.0)


class R3GANDiscriminator(nn.Module):
    """image -> a 1x1 convolution -> residual stages, each followed by low-pass downsampling
    -> a depthwise convolution over the basis-sized map -> a linear score (plus the projection
    of a class embedding onto the features, for conditional ones)."""

    def __init__(self, channels=1, image_size=28, width=32, max_width=256, blocks=1, expansion=2, group_size=16,
                 num_classes=0):
        super().__init__()
        _check(1, channels, width, max_width, blocks, expansion, group_size)
        start, stages = _stages(image_size)
        widths = _widths(width, max_width, stages)[::-1]  # full resolution first
        total = blocks * (stages + 1)
        self.from_image = _plain(nn.Conv2d(channels, widths[0], 1, bias=False))
        layers = []
        for i, c in enumerate(widths):
            layers.append(_stage(c, blocks, expansion, group_size, total))
            if i < stages:  # halve the resolution, then change the width there
                layers += [Resample(c, up=False)] + _width_change(c, widths[i + 1])
        self.body = nn.Sequential(*layers)
        top = widths[-1]
        self.collapse = _plain(nn.Conv2d(top, top, start, groups=top, bias=False))  # depthwise over the basis map
        self.score = _plain(nn.Linear(top, 1, bias=False))
        self.project = nn.Embedding(num_classes, top) if num_classes else None

    def forward(self, x, label=None):
        h = self.collapse(self.body(self.from_image(x))).flatten(1)
        out = self.score(h).squeeze(1)
        if self.project is not None:
            if label is None:
                raise ValueError("this discriminator is conditional: pass a label")
            out = out + (self.project(label.long()) * h).sum(1)
        return out
