"""The Wasserstein estimate: the critic widens the gap between real and fake scores, G closes it."""

from ganforge.plugin import Loss


class WassersteinLoss(Loss):
    """Critic: E[C(fake)] - E[C(real)]; generator: -E[C(fake)]. Needs a Lipschitz critic
    (here by weight clipping in the recipe)."""

    def __init__(self, real_label: float = 1.0):
        pass  # scores are not probabilities: there is no label to smooth

    def d_loss(self, real, fake):
        return fake.mean() - real.mean()

    def g_loss(self, fake, real=None):
        return -fake.mean()
