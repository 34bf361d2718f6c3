"""Built-in GAN recipes."""

from ganforge.hookspecs import hookimpl


@hookimpl
def register_gans(register):
    register("gan", "ganforge.plugins.gans.gan:VanillaGAN",
             "Vanilla GAN of Goodfellow et al.: MLP generator and discriminator (the seed notes' 64-256-256-784)")
    register("dcgan", "ganforge.plugins.gans.dcgan:DCGAN",
             "Deep convolutional GAN (Radford et al.): strided convolutions, batch norm, Adam 2e-4/0.5")
