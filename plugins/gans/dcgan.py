"""DCGAN (Radford et al. 2015): convolutional G and D, no pooling, batch norm,
ReLU in G and LeakyReLU 0.2 in D, tanh output, Adam with beta1 0.5.

The paper's learning rate is 2e-4; the default is 1e-3, chosen by measurement on the
bundled digits (the figures are in docs/gans.md and the README, made by
benchmarks/quality.py --ablation). examples/dcgan-paper.toml restores the paper's settings."""

from ganforge.plugin import ADVERSARIAL_HPARAMS, AdversarialRecipe, Param


NARROW_MINUTES = 10  # --cfg auto: budgets up to this long train narrower networks on a CPU


class DCGAN(AdversarialRecipe):
    """Deep convolutional GAN."""

    hparams = {
        "latent_dim": (100, "size of the latent vector z (100, as in Radford et al.)"),
        "image_size": (28, "image height and width (28, 32, 64 or 128); unless set, the dataset's own (28 for digits)"),
        "g_width": (32, "channels of G's last hidden layer (doubling towards the input)"),
        "d_width": (32, "channels of D's first layer (doubling with depth)"),
        "kernel_size": (5, "convolution kernel size (5x5, as in Radford et al.)"),
        "upsampler": Param(str, "transposed-conv", "G's upsampling layer (ganforge list upsamplers)", component="upsamplers"),
        "d_norm": Param(str, "batch", "D's normalization: batch (the DCGAN paper's), spectral (Miyato et al. 2018) or none", choices=("batch", "spectral", "none")),
        **ADVERSARIAL_HPARAMS,
        "lr": (1e-3, "Adam learning rate of G and D (the DCGAN paper's is 2e-4, which learns the bundled "
                     "digits about half as fast: examples/dcgan-paper.toml)"),
        "real_label": (0.9, "target for real images in D's loss: one-sided label smoothing, which the "
                            "DCGAN guides recommend (1.0 turns it off)"),
    }
    # R1 (lazy, every 16 steps) and a moving average of G: each measured to pay within minutes
    # on the bundled digits (docs/gans.md, benchmarks/quality.py --ablation and --release)
    train_defaults = {"dataset": "mnist-5k", "batch_size": 64, "steps": 5000, "r1": 1.0, "ema_images": 10000,
                      "sample_every": 500, "checkpoint_every": 1000, "log_every": 50}

    @classmethod
    def auto_config(cls, facts) -> dict:
        """``--cfg auto`` (the default on image folders): on a CPU, at 64 px and up, with a budget of
        at most ``NARROW_MINUTES`` minutes, G and D half the recipe's width (docs/auto.md)."""
        if facts.device == "cpu" and facts.image_size >= 64 and facts.minutes is not None \
                and facts.minutes <= NARROW_MINUTES:
            why = (f"a CPU, {facts.image_size} px and a budget of at most {NARROW_MINUTES:g} minutes: widths 16 "
                   "(the recipe's 32) took 2.9x the images in 3 minutes on the Twemoji folder at 64 px and ended "
                   "at FID 36.7 against 141.2 (docs/auto.md)")
            return {"g_width": (16, why), "d_width": (16, why)}
        return {}

    def build_networks(self):
        hp, data = self.hp, self.data
        return {
            "G": self.network("dcgan-generator", latent_dim=hp.latent_dim, channels=data.channels,
                              image_size=data.image_size, width=hp.g_width, kernel_size=hp.kernel_size,
                              upsampler=hp.upsampler),
            "D": self.network("dcgan-discriminator", channels=data.channels, image_size=data.image_size,
                              width=hp.d_width, kernel_size=hp.kernel_size, norm=hp.d_norm),
        }
