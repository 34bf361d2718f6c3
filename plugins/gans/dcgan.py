"""DCGAN as the DCGAN notes describe it: convolutional G and D, no pooling, batch
norm, ReLU in G and LeakyReLU 0.2 in D, tanh output, Adam 2e-4 with beta1 0.5."""

from ganforge.recipe import ADVERSARIAL_HPARAMS, AdversarialRecipe


class DCGAN(AdversarialRecipe):
    """Deep convolutional GAN."""

    hparams = {
        "latent_dim": (100, "size of the latent vector z (100, as in Radford et al.)"),
        "image_size": (28, "image height and width (28, 32, 64 or 128); unless set, the dataset's own (28 for digits)"),
        "g_width": (32, "channels of G's last hidden layer (doubling towards the input)"),
        "d_width": (32, "channels of D's first layer (doubling with depth)"),
        "kernel_size": (5, "convolution kernel size (5x5, as in Radford et al.)"),
        "upsampler": ("transposed-conv", "G's upsampling layer (ganforge list upsamplers)"),
        "d_norm": ("batch", "D's normalization: batch (the DCGAN paper's), spectral (Miyato et al. 2018) or none"),
        **ADVERSARIAL_HPARAMS,
        "real_label": (0.9, "target for real images in D's loss: one-sided label smoothing, which the "
                            "DCGAN guides recommend (1.0 turns it off)"),
    }
    train_defaults = {"dataset": "mnist-5k", "batch_size": 64, "steps": 3000,
                      "sample_every": 500, "checkpoint_every": 1000, "log_every": 50}

    def build_networks(self):
        hp, data = self.hp, self.data
        return {
            "G": self.network("dcgan-generator", latent_dim=hp.latent_dim, channels=data.channels,
                              image_size=data.image_size, width=hp.g_width, kernel_size=hp.kernel_size,
                              upsampler=hp.upsampler),
            "D": self.network("dcgan-discriminator", channels=data.channels, image_size=data.image_size,
                              width=hp.d_width, kernel_size=hp.kernel_size, norm=hp.d_norm),
        }
