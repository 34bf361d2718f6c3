"""Conditional GAN (Mirza and Osindero): G and D both see the class. The label's
one-hot vector is joined to z in G and to D's input as constant planes, so G
learns to draw the digit it is asked for and D judges "a real 7?", not "real?"."""

from .dcgan import DCGAN


class ConditionalGAN(DCGAN):
    """Class-conditional DCGAN."""

    conditional = True
    train_defaults = {**DCGAN.train_defaults, "grid_size": 80}  # 10 rows, one per class

    def build_networks(self):
        hp, data = self.hp, self.data
        return {
            "G": self.network("dcgan-generator", latent_dim=hp.latent_dim, channels=data.channels,
                              image_size=data.image_size, width=hp.g_width, kernel_size=hp.kernel_size,
                              upsampler=hp.upsampler, num_classes=data.num_classes),
            "D": self.network("dcgan-discriminator", channels=data.channels, image_size=data.image_size,
                              width=hp.d_width, kernel_size=hp.kernel_size, num_classes=data.num_classes,
                              norm=hp.d_norm),
        }
