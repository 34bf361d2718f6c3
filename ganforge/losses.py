"""The contract of an adversarial loss plugin."""


class Loss:
    """Turns discriminator outputs (logits or scores) into the two players' losses.

    Subclasses implement ``d_loss(real, fake)`` and ``g_loss(fake)``; both get
    the discriminator's raw outputs and return scalar tensors to minimize. A loss
    that regularizes D itself (a gradient penalty) also implements
    ``penalty(critic, real_images, fake_images)``, where ``critic`` maps images to
    D's scores; it is added to D's loss.
    """

    def d_loss(self, real, fake):
        raise NotImplementedError

    def g_loss(self, fake):
        raise NotImplementedError

    def penalty(self, critic, real, fake):
        return None
