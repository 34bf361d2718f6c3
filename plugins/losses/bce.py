"""The cross-entropy GAN losses of Goodfellow et al. (2014), on discriminator logits.

D returns logits and the sigmoid lives inside the loss (as TensorFlow's documentation warns,
sigmoid cross-entropy must be fed pre-sigmoid values); this is also the
numerically stable form of -log D(x) and -log(1 - D(G(z))).
"""

import torch
import torch.nn.functional as F

from ganforge.plugin import Loss


class _CrossEntropyLoss(Loss):
    def __init__(self, real_label: float = 1.0):
        if not 0.0 < real_label <= 1.0:
            raise ValueError(f"real_label must be in (0, 1], got {real_label}")
        self.real_label = real_label  # 0.9 is one-sided label smoothing

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real_loss = F.binary_cross_entropy_with_logits(real, torch.full_like(real, self.real_label))
        fake_loss = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        return real_loss + fake_loss


class MinimaxLoss(_CrossEntropyLoss):
    """Original GAN objective: G minimizes log(1 - D(G(z)))."""

    def g_loss(self, fake: torch.Tensor, real=None) -> torch.Tensor:
        # log(1 - sigmoid(l)) = -softplus(l)
        return -F.softplus(fake).mean()


class NonSaturatingLoss(_CrossEntropyLoss):
    """Non-saturating generator loss: G minimizes -log D(G(z))."""

    def g_loss(self, fake: torch.Tensor, real=None) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
