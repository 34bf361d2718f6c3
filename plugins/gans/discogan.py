"""DiscoGAN (Kim et al.): the same two-way idea as CycleGAN, with encoder-decoder
generators, DCGAN-style discriminators, cross-entropy adversarial losses and a
squared-error reconstruction loss in both directions; no pool, no decay."""

from ganforge.plugin import Param

from .translation import TRANSLATION_HPARAMS, TranslationRecipe


class DiscoGAN(TranslationRecipe):
    """Discover cross-domain relations: two generators tied by reconstruction."""

    hparams = {
        **TRANSLATION_HPARAMS,
        "loss": ("non-saturating", "adversarial loss plugin (binary cross-entropy, as in the paper)"),
        "distance": ("l2", "reconstruction distance: l2 (the paper) or l1"),
        "cycle_weight": (1.0, "weight of the reconstruction losses"),
        "identity_weight": (0.0, "weight of an identity loss (not in the paper)"),
        "pool_size": (0, "generated images kept in a history pool (not in the paper)"),
        "decay_from": (1.0, "fraction of training after which the learning rate decays (1: never)"),
        "g_width": (32, "channels of the encoder's first layer"),
        "d_width": (32, "channels of the discriminator's first layer"),
        "d_norm": Param(str, "batch", "D's normalization: batch (the paper's), spectral (Miyato et al. 2018) or none", choices=("batch", "spectral", "none")),
        "upsampler": ("transposed-conv", "the decoders' upsampling layer"),
    }
    train_defaults = {**TranslationRecipe.train_defaults, "batch_size": 32, "steps": 1500,
                      "sample_every": 250, "checkpoint_every": 500, "log_every": 50}

    def build_networks(self):
        hp, c, size = self.hp, self.data.channels, self.data.image_size
        def generator():
            return self.network("encoder-decoder-generator", channels=c, image_size=size, width=hp.g_width,
                                depth=2, upsampler=hp.upsampler)

        def discriminator():
            return self.network("dcgan-discriminator", channels=c, image_size=size, width=hp.d_width,
                                kernel_size=4, norm=hp.d_norm)

        return {"G": generator(), "G_BA": generator(), "D_A": discriminator(), "D_B": discriminator()}
