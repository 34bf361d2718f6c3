"""Moving averages of generators (``--ema``): what grids, evaluation and ``G.ckpt`` use."""

from __future__ import annotations

import torch


class ExponentialAverage:
    """An exponential moving average of a network's weights and buffers, kept beside it
    (torch.optim.swa_utils.AveragedModel with an EMA rule)."""

    def __init__(self, network: torch.nn.Module, decay: float):
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        self.network, self.decay = network, decay
        self.averaged = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)

    def set_decay(self, decay: float) -> None:
        """Change the decay from this step on (a recipe's EMA schedule: ``Recipe.ema_half_life``)."""
        from torch.optim.swa_utils import get_ema_multi_avg_fn

        if decay != self.decay:
            self.decay = decay
            self.averaged.multi_avg_fn = get_ema_multi_avg_fn(decay)

    def update(self) -> None:
        self.averaged.update_parameters(self.network)

    @property
    def module(self) -> torch.nn.Module:
        return self.averaged.module

    def weights(self) -> dict[str, torch.Tensor]:
        return self.averaged.module.state_dict()
