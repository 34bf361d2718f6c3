"""RaLSGAN: least squares on how much more real than the average of the other side."""

from ganforge.plugin import Loss


class RelativisticLeastSquares(Loss):
    """D pulls C(real) - mean C(fake) to 1 and C(fake) - mean C(real) to -1; G the reverse."""

    uses_real_scores = True  # recipes then pass D's scores on the real batch to g_loss

    def __init__(self, real_label: float = 1.0):
        self.real_label = real_label  # the target of reals in D's loss (0.9: one-sided smoothing)

    def d_loss(self, real, fake):
        return (((real - fake.mean()) - self.real_label) ** 2).mean() + (((fake - real.mean()) + 1) ** 2).mean()

    def g_loss(self, fake, real=None):
        if real is None:
            raise ValueError("ra-least-squares needs D's scores on real images for G's loss")
        return (((fake - real.mean()) - 1) ** 2).mean() + (((real - fake.mean()) + 1) ** 2).mean()
