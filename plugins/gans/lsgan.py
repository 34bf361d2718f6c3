"""LSGAN (Mao et al. 2017): the DCGAN networks with the
sigmoid taken off D and cross-entropy replaced by least squares, so fakes that
fool D but lie far from the data still get a gradient towards it."""

from .dcgan import DCGAN


class LSGAN(DCGAN):
    """Least-squares GAN."""

    hparams = {
        **DCGAN.hparams,
        "loss": ("least-squares", "adversarial loss plugin (least squares: targets 0 for fake, 1 for real)"),
        "real_label": (1.0, "target for real images (LSGAN's a-b-c = 0-1-1 coding)"),
    }
