"""Which device a run uses: the one place that turns ``--device`` into a ``torch.device``."""

from __future__ import annotations

import torch

from ganforge.errors import GanforgeError


def choose_device(device: str | None) -> torch.device:
    """``auto`` (or nothing) is CUDA when present, else the CPU; anything else is checked."""
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise GanforgeError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanforgeError(f"device '{device}' was asked for but no CUDA device is available")
    return dev
