"""Relativistic losses: average (RaSGAN, Jolicoeur-Martineau 2018) and pairing (RpGAN).

RaSGAN: D estimates how much more real a real image is than the average fake, and the
other way round; G's loss is the mirror image, so G also pulls D's scores of real images
down. RpGAN pairs each real image with one fake instead (the loss of R3GAN, Huang et al.
2024, who add R1 and R2 to it). Both need D's scores on reals in G's step too:
``uses_real_scores``.
"""

import torch
import torch.nn.functional as F

from ganforge.plugin import Loss


class RelativisticAverageLoss(Loss):
    """RaSGAN: cross-entropy on C(real) - mean C(fake) and C(fake) - mean C(real)."""

    uses_real_scores = True

    def __init__(self, real_label: float = 1.0):
        if not 0.0 < real_label <= 1.0:
            raise ValueError(f"real_label must be in (0, 1], got {real_label}")
        self.real_label = real_label

    @staticmethod
    def _pair(more_real, less_real, target):
        """Cross-entropy of "``more_real`` is more real than the average ``less_real``" and its converse."""
        ahead, behind = more_real - less_real.mean(), less_real - more_real.mean()
        return (F.binary_cross_entropy_with_logits(ahead, torch.full_like(ahead, target))
                + F.binary_cross_entropy_with_logits(behind, torch.zeros_like(behind)))

    def d_loss(self, real, fake):
        return self._pair(real, fake, self.real_label)

    def g_loss(self, fake, real=None):
        if real is None:
            raise ValueError("the relativistic loss needs D's scores on real images for G's loss")
        return self._pair(fake, real.detach(), 1.0)


class RelativisticPairingLoss(Loss):
    """RpGAN: D minimizes softplus(-(C(x_i) - C(G(z_i)))), G minimizes softplus(-(C(G(z_i)) - C(x_i))),
    each real paired with the fake of the same row. Its fixed points are not locally stable on
    their own; Huang et al. pair it with the zero-centred penalties R1 and R2 (``--r1``, ``--r2``)."""

    uses_real_scores = True

    def __init__(self, real_label: float = 1.0):
        pass  # no target for real images: real_label does not apply, as for the hinge loss

    @staticmethod
    def _pairs(more_real, less_real):
        if more_real.shape != less_real.shape:
            raise ValueError(f"rpgan pairs reals with fakes one to one: got {tuple(more_real.shape)} real "
                             f"and {tuple(less_real.shape)} fake scores")
        return F.softplus(-(more_real - less_real)).mean()

    def d_loss(self, real, fake):
        return self._pairs(real, fake)

    def g_loss(self, fake, real=None):
        if real is None:
            raise ValueError("the rpgan loss needs D's scores on real images for G's loss")
        return self._pairs(fake, real.detach())
