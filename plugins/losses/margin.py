"""Losses on D's raw scores: least squares (LSGAN), hinge, Wasserstein with gradient penalty.

Only the least-squares loss has a real-image target, so only it uses ``real_label``;
hinge and Wasserstein losses have none and ignore it.
"""

import torch
import torch.nn.functional as F

from ganforge.plugin import Loss, Param


class LeastSquaresLoss(Loss):
    """LSGAN (Mao et al.): D regresses real to 1 and fake to 0; G pulls fakes to 1.

    With no sigmoid, a fake already on the real side of the boundary but far from
    the data still has a loss, so G keeps moving it towards the real samples.
    """

    def __init__(self, real_label: float = 1.0):
        self.real_label = real_label

    def d_loss(self, real, fake):
        return 0.5 * ((real - self.real_label) ** 2).mean() + 0.5 * (fake ** 2).mean()

    def g_loss(self, fake, real=None):
        return 0.5 * ((fake - 1.0) ** 2).mean()


class HingeLoss(Loss):
    """Hinge loss: D is a large-margin classifier; G raises D's score of fakes."""

    def __init__(self, real_label: float = 1.0):
        pass

    def d_loss(self, real, fake):
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def g_loss(self, fake, real=None):
        return -fake.mean()


class WassersteinGPLoss(Loss):
    """WGAN-GP (Gulrajani et al.): critic estimates the Wasserstein distance; its gradient
    norm on random interpolates between real and fake is pulled to 1 (weight 10)."""

    hparams = {"gp_weight": Param(float, 10.0, "weight of the gradient penalty (lambda; 10 in Gulrajani et al.)",
                                  minimum=0)}

    def __init__(self, real_label: float = 1.0, gp_weight: float = 10.0):
        self.gp_weight = gp_weight

    def d_loss(self, real, fake):
        return fake.mean() - real.mean()

    def g_loss(self, fake, real=None):
        return -fake.mean()

    def penalty(self, critic, real, fake):
        alpha = torch.rand(real.shape[0], *[1] * (real.dim() - 1), device=real.device)
        mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
        grad, = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
        return self.gp_weight * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
