"""What a recipe sees of the engine, handed to it at construction.

``TrainingContext`` holds the device, this process's share of a distributed run,
the precision (autocast and, for fp16, a gradient scaler per optimizer) and the
held-out data. It also says which modules the recipe's ``networks`` are at the
moment: the plain networks the recipe built, or a view the engine owns and puts
in use for a while (DistributedDataParallel wrappers while training; moving
averages of the generators while drawing grids and evaluating). The recipe's own
networks are never replaced.
"""

from __future__ import annotations

import contextlib
from contextlib import contextmanager
from typing import Callable

import torch

from ganforge.errors import GanforgeError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Statistics:
    """The statistics channel: how a plugin (a recipe, an adaptive augmentation) reports a
    figure for the engine to log, and sums a statistic over every process of a distributed run,
    without knowing whether there are other processes."""

    def __init__(self, sum_over_processes: Callable | None = None):
        self._sum = sum_over_processes
        self._reported: dict[str, torch.Tensor] = {}

    def report(self, name: str, value) -> None:
        """Log ``value`` (a number or a scalar tensor) as ``name`` at this step; logged steps show
        its mean over the logging interval and the processes, like the recipe's losses."""
        self._reported[name] = value.detach().float() if isinstance(value, torch.Tensor) else torch.tensor(float(value))

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over every process (itself in a run of one)."""
        return tensor if self._sum is None else self._sum(tensor)

    def take(self) -> dict[str, torch.Tensor]:
        """What was reported since the last call (the engine takes it after every step)."""
        reported, self._reported = self._reported, {}
        return reported


class TrainingContext:
    """The engine's side of a recipe: device, shard, precision, held-out data, network views."""

    def __init__(self, device="cpu", *, shard: tuple[int, int] = (0, 1), precision: str = "fp32",
                 held_out: Callable | None = None, augmentation=None, r1: tuple[float, int] = (0.0, 16),
                 stats: Statistics | None = None, r2: float = 0.0, gradient_sync: Callable | None = None):
        self.device = torch.device(device)
        self.shard = shard  # (rank, processes)
        self.precision = precision
        # --augment: applied to every batch D sees (None: off); --r1 GAMMA every N steps, and
        # --r2 GAMMA (at generated images) at the same steps.
        self.augmentation = augmentation
        self.r1, self.r2 = r1, r2
        # In a distributed run without DDP (R1/R2 penalties): averages gradients over the processes.
        self.gradient_sync = gradient_sync
        self.step = 0  # the training step under way, set by the engine
        self.stats = stats or Statistics()  # figures plugins report, and sums over processes
        self._held_out = held_out
        # One gradient scaler per optimizer under fp16, made by the engine once the optimizers exist.
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        self._views: list[dict] = []

    def sync_gradients(self, optimizer) -> None:
        """Average ``optimizer``'s gradients over the processes, where the engine does not leave it
        to DDP (a distributed run with R1/R2); nothing otherwise. ``Recipe.update`` calls it."""
        if self.gradient_sync is not None:
            self.gradient_sync([p for group in optimizer.param_groups for p in group["params"]])

    def autocast(self):
        """The context manager a training step runs in (autocast under bf16/fp16)."""
        if self.precision not in AUTOCAST_DTYPES:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=AUTOCAST_DTYPES[self.precision])

    def make_scalers(self, optimizers) -> None:
        """Under fp16, a gradient scaler for each optimizer (saved with the run for resume)."""
        if self.precision == "fp16":
            self.scalers = {name: torch.amp.GradScaler(self.device.type) for name in optimizers}

    def held_out(self):
        """The dataset's held-out split, loaded when asked for."""
        if self._held_out is None:
            raise GanforgeError("this recipe was built without held-out data (outside a training run)")
        return self._held_out()

    @contextmanager
    def using(self, networks: dict):
        """Make ``networks`` what the recipe's ``networks`` are, inside the block."""
        self._views.append(networks)
        try:
            yield
        finally:
            self._views.pop()

    def networks(self, built: dict) -> dict:
        """The modules a recipe calls now: the view in use, or the ones it built."""
        return self._views[-1] if self._views else built


def context_of(value) -> TrainingContext:
    """A context from a context, or from a bare device (recipes built outside the engine)."""
    return value if isinstance(value, TrainingContext) else TrainingContext(value)
