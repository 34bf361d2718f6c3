"""A loss is two functions of the discriminator's raw scores (higher = more real)."""

import torch.nn.functional as F

from ganforge.plugin import Loss


class SquaredHingeLoss(Loss):
    """Hinge loss with squared margins: a smooth cousin of SAGAN's hinge loss."""

    def __init__(self, real_label: float = 1.0):
        self.margin = real_label

    def d_loss(self, real, fake):
        return F.relu(self.margin - real).pow(2).mean() + F.relu(self.margin + fake).pow(2).mean()

    def g_loss(self, fake, real=None):
        return -fake.mean()
