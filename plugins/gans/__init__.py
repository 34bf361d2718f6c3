"""Built-in GAN recipes."""

from ganforge.hookspecs import hookimpl


@hookimpl
def register_gans(register):
    register("gan", "ganforge.plugins.gans.gan:VanillaGAN",
             "Vanilla GAN of Goodfellow et al.: MLP generator and discriminator (the seed notes' 64-256-256-784)")
    register("dcgan", "ganforge.plugins.gans.dcgan:DCGAN",
             "Deep convolutional GAN (Radford et al.): strided convolutions, batch norm, Adam 2e-4/0.5")
    register("lsgan", "ganforge.plugins.gans.lsgan:LSGAN",
             "Least-squares GAN (Mao et al.): DCGAN networks, least-squares losses, no sigmoid on D")
    register("cgan", "ganforge.plugins.gans.cgan:ConditionalGAN",
             "Conditional GAN (Mirza and Osindero): G and D both see the class; sample any digit")
    register("acgan", "ganforge.plugins.gans.acgan:ACGAN",
             "Auxiliary-classifier GAN (Odena et al.): D has a real/fake head and a class head")
    register("sgan", "ganforge.plugins.gans.sgan:SemiSupervisedGAN",
             "Semi-supervised GAN: D is a K+1-way classifier trained with few labels (--labeled N)")
    register("cyclegan", "ganforge.plugins.gans.cyclegan:CycleGAN",
             "CycleGAN (Zhu et al.): unpaired image-to-image translation with cycle consistency")
    register("discogan", "ganforge.plugins.gans.discogan:DiscoGAN",
             "DiscoGAN (Kim et al.): two encoder-decoder generators tied by reconstruction losses")
    register("stackgan", "ganforge.plugins.gans.stackgan:StackGAN",
             "StackGAN (Zhang et al.): text to image in two stages with conditioning augmentation")
