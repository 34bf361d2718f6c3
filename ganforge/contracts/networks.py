"""What ganforge expects of a generator network, and helpers to meet it.

A generator is an ``nn.Module`` with two attributes besides ``forward``:

* ``signature``: its inputs in call order, each a dict with ``name``,
  ``shape`` (without the batch dimension), ``dtype`` and how to draw it:
  ``{"distribution": "normal"}`` or ``{"distribution": "categorical", "num_classes": K}``;
* ``output_range``: ``(low, high)`` of the images it returns (N x C x H x W).

These, with the network's registered name and keyword arguments, go into
``G.ckpt`` so that the file alone rebuilds and runs the generator.
"""

from __future__ import annotations

import torch
from torch import nn


def require_sizes(minimum: int = 1, **sizes: int) -> None:
    """Refuse a size that would build an empty or impossible network (``hidden=0`` trains
    nothing; ``hidden=-5`` fails deep inside torch)."""
    for name, value in sizes.items():
        if not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value!r}")


def require_choice(name: str, value, choices) -> None:
    """Refuse an option value a network does not offer, naming those it does."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def latent_input(dim: int, name: str = "z") -> dict:
    return {"name": name, "shape": [dim], "dtype": "float32", "distribution": "normal"}


def label_input(num_classes: int, name: str = "label") -> dict:
    return {"name": name, "shape": [], "dtype": "int64", "distribution": "categorical",
            "num_classes": num_classes}


def image_input(channels: int, size: int, name: str = "image") -> dict:
    """An image to translate, C x H x W in [-1, 1]; drawn at random as uniform noise."""
    return {"name": name, "shape": [channels, size, size], "dtype": "float32", "distribution": "image"}


def random_inputs(signature: list[dict], n: int, generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Draw a batch of ``n`` inputs for a generator from its signature (on CPU, then moved,
    so the same seed gives the same inputs on every device)."""
    inputs = []
    for spec in signature:
        if spec["distribution"] == "normal":
            x = torch.randn([n, *spec["shape"]], generator=generator)
        elif spec["distribution"] == "text":  # a normalized random embedding: only for checking exports
            x = torch.nn.functional.normalize(torch.rand([n, *spec["shape"]], generator=generator), dim=-1)
        elif spec["distribution"] == "image":
            x = torch.rand([n, *spec["shape"]], generator=generator) * 2 - 1
        elif spec["distribution"] == "categorical":
            x = torch.randint(spec["num_classes"], [n, *spec["shape"]], generator=generator)
        else:
            raise ValueError(f"input '{spec['name']}' has unknown distribution {spec['distribution']!r}")
        inputs.append(x.to(device))
    return inputs


def activation(name: str) -> nn.Module:
    """The activations the built-in networks use, by name."""
    choices = {
        "relu": lambda: nn.ReLU(inplace=True),
        "leaky-relu": lambda: nn.LeakyReLU(0.2, inplace=True),  # 0.2, as the DCGAN paper recommends
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
    }
    if name not in choices:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(choices)}")
    return choices[name]()


OUTPUT_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


def norm_layer(kind: str, channels: int) -> nn.Module:
    """The normalization layer a ``norm`` option names, placed after a convolution; with
    ``spectral`` (which acts on the weights: ``spectral_normalize``) and ``none`` there is none."""
    return {"instance": lambda: nn.InstanceNorm2d(channels), "batch": lambda: nn.BatchNorm2d(channels),
            "spectral": nn.Identity, "none": nn.Identity}[kind]()


def spectral_normalize(module: nn.Module) -> None:
    """Spectral normalization (Miyato et al. 2018) of every convolution and linear layer in
    ``module``: each weight divided by its largest singular value, so D stays 1-Lipschitz
    per layer; used by discriminators' ``norm="spectral"`` option, after initialization."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(m)


def dcgan_init(module: nn.Module) -> None:
    """Weights from N(0, 0.02) and batch-norm scales from N(1, 0.02), as in the DCGAN paper."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
