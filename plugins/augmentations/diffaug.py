"""DiffAugment (Zhao et al. 2020) and an adaptive probability in the manner of ADA
(Karras et al. 2020).

The paper's three transform families, each applied per image: ``color`` (brightness
+-0.5, saturation x[0, 2], contrast x[0.5, 1.5]), ``translation`` (up to 1/8 of the
image size, zero padding) and ``cutout`` (a square of half the image size set to
zero). Every random number is drawn through the recipe's ``draw``, so the processes
of a distributed run draw the same global batch and keep their own rows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.plugin import Augmentation

FAMILIES = ("color", "translation", "cutout")


def _uniform(draw, n, device):
    return draw(n, lambda m: torch.rand(m, device=device))


def color(x, draw):
    n, device = x.shape[0], x.device
    x = x + (_uniform(draw, n, device) - 0.5).view(-1, 1, 1, 1)
    if x.shape[1] > 1:  # saturation only means something with colour channels
        mean = x.mean(1, keepdim=True)
        x = (x - mean) * (2 * _uniform(draw, n, device)).view(-1, 1, 1, 1) + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(draw, n, device) + 0.5).view(-1, 1, 1, 1) + mean


def translation(x, draw, ratio=0.125):
    n, _, h, w = x.shape
    shift = max(int(h * ratio + 0.5), 1)
    offsets = draw(n, lambda m: torch.randint(-shift, shift + 1, (m, 2), device=x.device))
    # output pixel (r, c) shows input pixel (r - dy, c - dx): the picture moves by (dy, dx); -1 and h are padding
    rows = (torch.arange(h, device=x.device)[None] - offsets[:, :1]).clamp(-1, h)
    cols = (torch.arange(w, device=x.device)[None] - offsets[:, 1:]).clamp(-1, w)
    padded = F.pad(x, (1, 1, 1, 1))
    index = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[index, rows[:, :, None] + 1, cols[:, None, :] + 1].permute(0, 3, 1, 2)


def cutout(x, draw, ratio=0.5):
    n, _, h, w = x.shape
    size_h, size_w = max(int(h * ratio + 0.5), 1), max(int(w * ratio + 0.5), 1)
    centres = draw(n, lambda m: torch.rand(m, 2, device=x.device))
    top = (centres[:, 0] * (h + 1 - size_h % 2)).long() - size_h // 2
    left = (centres[:, 1] * (w + 1 - size_w % 2)).long() - size_w // 2
    ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    inside_y = (ys[None] >= top[:, None]) & (ys[None] < top[:, None] + size_h)
    inside_x = (xs[None] >= left[:, None]) & (xs[None] < left[:, None] + size_w)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return x * keep[:, None].to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment(Augmentation):
    """Each chosen family applied to each image with probability ``strength`` (1: always,
    as in the paper; 0: the identity). Images stay in [-1, 1]."""

    def __init__(self, options: str = "", strength: float = 1.0):
        super().__init__(options, strength)
        self.families = [f.strip() for f in options.split(",") if f.strip()] or list(FAMILIES)
        unknown = sorted(set(self.families) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown augmentation {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
        self.p = torch.tensor(float(strength))

    def probability(self, device) -> torch.Tensor:
        return self.p.to(device)

    def __call__(self, images, draw):
        x, n = images, images.shape[0]
        p = self.probability(images.device)
        for family in self.families:
            chosen = (_uniform(draw, n, images.device) < p).view(-1, 1, 1, 1)
            x = torch.where(chosen, TRANSFORMS[family](x, draw), x)
        return x.clamp(-1, 1)


def _options(options: str, name: str, **defaults: float) -> tuple[dict[str, float], str]:
    """``"target=0.6,translation"`` -> ({"target": 0.6, ...}, "translation"): the settings
    ``defaults`` names (each given or its default) and the transform families; any other
    setting is refused, naming the ones ``name`` takes."""
    items = [item for item in options.split(",") if item]
    given = dict(item.split("=", 1) for item in items if "=" in item)
    if unknown := [key for key in given if key not in defaults]:
        raise ValueError(f"unknown {name} option {', '.join(unknown)}; it takes {' and '.join(defaults)}")
    return ({key: float(given.get(key, default)) for key, default in defaults.items()},
            ",".join(item for item in items if "=" not in item))


class AdaptiveAugment(DiffAugment):
    """DiffAugment's transforms with a probability ``p`` that starts at 0 and follows D:
    r_t = E[sign(D(real))] above ``target`` (D overfits) raises p, below lowers it, at a
    speed that could take p from 0 to 1 in ``speed`` real images. Options:
    ``ada:target=0.6,speed=100000`` (and families, e.g. ``ada:translation,cutout``)."""

    def __init__(self, options: str = "", strength: float = 0.0):
        settings, families = _options(options, "ada", target=0.6, speed=100_000)
        super().__init__(families, strength)
        self.target, self.speed = settings["target"], settings["speed"]

    def observe(self, real_scores, stats):
        signs = torch.stack([real_scores.detach().float().sign().sum(), torch.tensor(real_scores.numel(),
                                                                                      device=real_scores.device)])
        signs = stats.sum(signs)  # r_t over the global batch: every process agrees
        r_t = signs[0] / signs[1]
        step = signs[1] / self.speed
        self.p = (self.p.to(real_scores.device) + torch.sign(r_t - self.target) * step).clamp(0, 1)
        stats.report("aug_p", self.p)

    def state_dict(self):
        return {"p": self.p.detach().reshape(1).cpu()}

    def load_state_dict(self, tensors):
        if "p" in tensors:
            self.p = tensors["p"].reshape(())


class RampedAugment(DiffAugment):
    """DiffAugment's transforms with a probability fixed by a schedule, not by D: from 0 to ``p``
    along half a cosine over ``images`` real images, then ``p`` (R3GAN's choice, Huang et al.
    2024, whose presets ramp to 0.55 on CIFAR-10 and 0.3 on FFHQ over 20 million images).
    Options: ``ramped:p=0.3,images=20000000`` (and families, e.g. ``ramped:translation``)."""

    def __init__(self, options: str = "", strength: float = 0.0):
        settings, families = _options(options, "ramped", p=0.3, images=20_000_000)
        super().__init__(families, strength)
        self.final, self.length = settings["p"], settings["images"]
        if not 0 <= self.final <= 1 or self.length <= 0:
            raise ValueError("ramped takes p between 0 and 1 and a positive number of images")
        self.seen = torch.tensor(0.0)

    def observe(self, real_scores, stats):
        count = stats.sum(torch.tensor(float(real_scores.shape[0]), device=real_scores.device))
        self.seen = self.seen.to(count.device) + count  # real images over the global batch
        progress = (self.seen / self.length).clamp(max=1.0)
        self.p = self.final * 0.5 * (1 - torch.cos(torch.pi * progress))
        stats.report("aug_p", self.p)

    def state_dict(self):
        return {"p": self.p.detach().reshape(1).cpu(), "seen": self.seen.detach().reshape(1).cpu()}

    def load_state_dict(self, tensors):
        if "p" in tensors:
            self.p = tensors["p"].reshape(())
        if "seen" in tensors:
            self.seen = tensors["seen"].reshape(())
