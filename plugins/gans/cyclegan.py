"""CycleGAN (Zhu et al.): ResNet generators with reflection padding and instance
norm, PatchGAN discriminators, least-squares adversarial loss, cycle-consistency
L1 with weight 10, an optional identity loss, a history pool of 50 generated
images and a learning rate that decays linearly to zero over the second half."""

from ganforge.plugin import Param

from .translation import TRANSLATION_HPARAMS, TranslationRecipe


class CycleGAN(TranslationRecipe):
    """Unpaired image-to-image translation with cycle consistency."""

    hparams = {
        **TRANSLATION_HPARAMS,
        "loss": ("least-squares", "adversarial loss plugin (least squares, as in the paper)"),
        "distance": Param(str, "l1", "reconstruction distance: l1 or l2", choices=("l1", "l2")),
        "cycle_weight": (10.0, "weight of the cycle-consistency loss"),
        "identity_weight": (0.0, "weight of the identity loss (the paper uses 0.5 x cycle_weight for photos)"),
        "pool_size": (50, "generated images kept in each history pool (0: none)"),
        "decay_from": (0.5, "fraction of training after which the learning rate decays linearly to 0"),
        "g_width": (16, "channels of the generator's first layer (64 in the paper)"),
        "g_blocks": (3, "residual blocks (9 for 256 px in the paper)"),
        "d_width": (32, "channels of the discriminator's first layer (64 in the paper)"),
        "d_layers": (2, "PatchGAN depth (3 in the paper: 70x70 patches)"),
        "d_norm": Param(str, "instance", "D's normalization: instance (the paper's), batch, spectral (Miyato et al. 2018) "
                               "or none", choices=("instance", "batch", "spectral", "none")),
        "upsampler": Param(str, "transposed-conv", "the generators' upsampling layer", component="upsamplers"),
    }
    train_defaults = {**TranslationRecipe.train_defaults, "batch_size": 16, "steps": 2000,
                      "sample_every": 250, "checkpoint_every": 500, "log_every": 50}

    def build_networks(self):
        hp, c, size = self.hp, self.data.channels, self.data.image_size
        def generator():
            return self.network("resnet-generator", channels=c, image_size=size, width=hp.g_width,
                                downsamplings=2, blocks=hp.g_blocks, upsampler=hp.upsampler)

        def discriminator():
            return self.network("patch-discriminator", channels=c, width=hp.d_width, layers=hp.d_layers,
                                norm=hp.d_norm)

        return {"G": generator(), "G_BA": generator(), "D_A": discriminator(), "D_B": discriminator()}
