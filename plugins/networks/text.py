"""Text-to-image networks for StackGAN (Zhang et al.).

The text encoder turns captions into a fixed vector outside the generator, so the
generator (and an exported model) starts from the embedding. The built-in encoder
is a bag of words over the training captions' vocabulary; a stronger encoder is a
network plugin with the same two methods (``encode(texts)`` and ``dim``).

The generator holds conditioning augmentation and both stages: the embedding
gives a mean and log-variance, a condition c is drawn from that Gaussian (its KL
to N(0, I) is a loss term), Stage-I draws a low-resolution image from z and c,
and Stage-II encodes that image, joins c again, refines it with residual blocks
and upsamples it to the full resolution.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from ganforge.plugin import dcgan_init, latent_input, norm_layer, require_choice, spectral_normalize


class BagOfWordsEncoder(nn.Module):
    """Captions to normalized word-count vectors over a fixed vocabulary (no weights)."""

    def __init__(self, vocabulary: list[str]):
        super().__init__()
        self.vocabulary = list(vocabulary)
        self.index = {w: i for i, w in enumerate(self.vocabulary)}
        self.dim = len(self.vocabulary)

    @staticmethod
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    @classmethod
    def vocabulary_of(cls, texts) -> list[str]:
        return sorted({w for t in texts for w in cls.words(t)})

    def encode(self, texts: list[str]) -> torch.Tensor:
        out = torch.zeros(len(texts), self.dim)
        for row, text in enumerate(texts):
            for w in self.words(text):
                if w in self.index:
                    out[row, self.index[w]] += 1
        return out / out.norm(dim=1, keepdim=True).clamp(min=1e-8)

    def unknown_words(self, text: str) -> list[str]:
        return [w for w in self.words(text) if w not in self.index]


def text_input(encoder_name: str, encoder_kwargs: dict, dim: int) -> dict:
    return {"name": "text", "shape": [dim], "dtype": "float32", "distribution": "text",
            "encoder": {"network": encoder_name, "kwargs": encoder_kwargs}}


class StackGANGenerator(nn.Module):
    """Conditioning augmentation, Stage-I (low resolution) and Stage-II (refinement)."""

    def __init__(self, text_dim, latent_dim=64, condition_dim=32, channels=1, image_size=32, width=32,
                 upsampler="transposed-conv", text_encoder="bag-of-words-text-encoder", text_encoder_kwargs=None):
        super().__init__()
        from ganforge.plugin import get

        if image_size % 8:
            raise ValueError(f"StackGAN image size must be a multiple of 8, got {image_size}")
        up = get("upsamplers", upsampler)
        self.signature = [latent_input(latent_dim), text_input(text_encoder, text_encoder_kwargs or {}, text_dim)]
        self.output_range = (-1.0, 1.0)
        self.low_size, self.start, self.width = image_size // 2, image_size // 8, width
        self.augment = nn.Sequential(nn.Linear(text_dim, condition_dim * 2), nn.LeakyReLU(0.2, True))
        # Stage-I: (z, c) -> 4 * width x start x start -> two upsamplings -> low-resolution image
        self.project = nn.Sequential(nn.Linear(latent_dim + condition_dim, 4 * width * self.start ** 2),
                                     nn.BatchNorm1d(4 * width * self.start ** 2), nn.ReLU(True))
        self.stage1 = nn.Sequential(up(4 * width, 2 * width, 4), nn.BatchNorm2d(2 * width), nn.ReLU(True),
                                    up(2 * width, width, 4), nn.BatchNorm2d(width), nn.ReLU(True),
                                    nn.Conv2d(width, channels, 3, padding=1), nn.Tanh())
        # Stage-II: encode the low-resolution image, join c, residual refinement, upsample once
        self.encode = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(True),
                                    nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
                                    nn.BatchNorm2d(2 * width), nn.ReLU(True))
        self.joint = nn.Sequential(nn.Conv2d(2 * width + condition_dim, 2 * width, 3, padding=1),
                                   nn.BatchNorm2d(2 * width), nn.ReLU(True))
        self.residual = nn.ModuleList([nn.Sequential(
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(True),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width)) for _ in range(2)])
        self.stage2 = nn.Sequential(up(2 * width, width, 4), nn.BatchNorm2d(width), nn.ReLU(True),
                                    up(width, width // 2, 4), nn.BatchNorm2d(width // 2), nn.ReLU(True),
                                    nn.Conv2d(width // 2, channels, 3, padding=1), nn.Tanh())
        dcgan_init(self)
        # The DCGAN init (std 0.02) would leave the caption's share of c far below the
        # augmentation noise, and G would learn to ignore it: start with the mean as
        # large as the noise (unit-norm text, unit-variance weights) and sigma at 1.
        with torch.no_grad():
            self.augment[0].weight[:condition_dim].normal_(0.0, 1.0)
            self.augment[0].weight[condition_dim:].zero_()
            self.augment[0].bias.zero_()

    def condition(self, text):
        mu, logvar = self.augment(text).chunk(2, dim=1)
        # Sampling c is the augmentation; at inference the mean keeps outputs deterministic.
        c = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return c, mu, logvar

    def stages(self, z, text):
        """(low-resolution image, full-resolution image, mu, logvar)."""
        c, mu, logvar = self.condition(text)
        low = self.stage1(self.project(torch.cat([z, c], 1)).view(-1, 4 * self.width, self.start, self.start))
        h = self.encode(low)
        h = self.joint(torch.cat([h, c[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1))
        for block in self.residual:
            h = torch.relu(h + block(h))
        return low, self.stage2(h), mu, logvar

    def forward(self, z, text, all_stages: bool = False):
        """The full-resolution image, or with ``all_stages`` everything ``stages`` gives
        (training calls it so, through forward, which DistributedDataParallel watches)."""
        return self.stages(z, text) if all_stages else self.stages(z, text)[1]


class TextConditionedDiscriminator(nn.Module):
    """Strided convolutions to a small map, the compressed text joined to every cell, one logit,
    plus a projection term (Miyato and Koyama): the inner product of the text's projection and
    the pooled features, which makes "does this image match this caption?" easy to learn.

    It is matching-aware: trained to call a real image with the wrong caption fake. No batch
    norm follows the text: in a batch of real images with shuffled captions its statistics
    differ from those with matching captions, and D learned to tell the batches apart by
    their statistics instead of judging each image against its caption.
    """

    NORMS = ("batch", "spectral", "none")

    def __init__(self, text_dim, channels=1, image_size=32, width=32, condition_dim=32, norm="batch"):
        super().__init__()
        require_choice("norm", norm, self.NORMS)
        layers, c = [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)], width
        size = image_size // 2
        while size > 4:
            layers += [nn.Conv2d(c, c * 2, 4, stride=2, padding=1), norm_layer(norm, c * 2), nn.LeakyReLU(0.2, True)]
            c, size = c * 2, size // 2
        self.features = nn.Sequential(*layers)
        self.text = nn.Sequential(nn.Linear(text_dim, condition_dim), nn.LeakyReLU(0.2, True))
        self.joint = nn.Sequential(nn.Conv2d(c + condition_dim, c, 1), nn.LeakyReLU(0.2, True))
        self.head = nn.Linear(c * size * size, 1)
        self.projection = nn.Linear(text_dim, c, bias=False)
        dcgan_init(self)
        self.text[0].reset_parameters()  # as in G: a tiny init would hide the caption from D
        if norm == "spectral":
            spectral_normalize(self)

    def forward(self, x, text):
        h = self.features(x)
        t = self.text(text)[:, :, None, None].expand(-1, -1, *h.shape[2:])
        h = self.joint(torch.cat([h, t], 1))
        return self.head(h.flatten(1)).squeeze(1) + (self.projection(text) * h.mean((2, 3))).sum(1)
