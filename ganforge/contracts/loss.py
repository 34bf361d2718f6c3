"""The base class of adversarial loss plugins."""


class Loss:
    """Turns discriminator outputs (logits or scores) into the two players' losses.

    The contract (``d_loss``, ``g_loss``, ``uses_real_scores``, ``penalty``, ``bound``) is described
    once, in ``ganforge.hooks.specs.register_losses``; ``ganforge.testing.check_loss`` checks it.
    """

    uses_real_scores = False  # True: recipes pass D's scores on the real batch to g_loss
    bound = 1e6  # a logged loss larger than this in magnitude means the run diverged

    def d_loss(self, real, fake):
        raise NotImplementedError

    def g_loss(self, fake, real=None):
        raise NotImplementedError

    def penalty(self, critic, real, fake):
        """A regularizer of D added to its loss (a gradient penalty), or None."""
        return None
