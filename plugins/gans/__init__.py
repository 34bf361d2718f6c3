"""Built-in GAN recipes."""

from ganforge.plugin import hookimpl


@hookimpl
def register_gans(register):
    register("gan", "ganforge.builtins.gans.gan:VanillaGAN",
             "Vanilla GAN of Goodfellow et al.: MLP generator and discriminator (64-256-256-784, as in the classic PyTorch tutorial)")
    register("dcgan", "ganforge.builtins.gans.dcgan:DCGAN",
             "Deep convolutional GAN (Radford et al.): strided convolutions, batch norm, Adam 1e-3 (the paper: 2e-4)")
    register("lsgan", "ganforge.builtins.gans.lsgan:LSGAN",
             "Least-squares GAN (Mao et al.): DCGAN networks, least-squares losses, no sigmoid on D")
    register("cgan", "ganforge.builtins.gans.cgan:ConditionalGAN",
             "Conditional GAN (Mirza and Osindero): G and D both see the class; sample any digit")
    register("acgan", "ganforge.builtins.gans.acgan:ACGAN",
             "Auxiliary-classifier GAN (Odena et al.): D has a real/fake head and a class head")
    register("sgan", "ganforge.builtins.gans.sgan:SemiSupervisedGAN",
             "Semi-supervised GAN: D is a K+1-way classifier trained with few labels (--labeled N)")
    register("cyclegan", "ganforge.builtins.gans.cyclegan:CycleGAN",
             "CycleGAN (Zhu et al.): unpaired image-to-image translation with cycle consistency")
    register("pix2pix", "ganforge.builtins.gans.pix2pix:Pix2Pix",
             "pix2pix (Isola et al.): paired image-to-image translation, U-Net G, PatchGAN D on input and output, L1")
    register("discogan", "ganforge.builtins.gans.discogan:DiscoGAN",
             "DiscoGAN (Kim et al.): two encoder-decoder generators tied by reconstruction losses")
    register("r3gan", "ganforge.builtins.gans.r3gan:R3GAN",
             "R3GAN (Huang et al. 2024): relativistic pairing loss with R1 and R2, a modern ResNet, no normalization")
    register("r3gan-conditional", "ganforge.builtins.gans.r3gan:ConditionalR3GAN",
             "R3GAN with a class input: class embedding in G, projection discriminator")
    register("stackgan", "ganforge.builtins.gans.stackgan:StackGAN",
             "StackGAN (Zhang et al.): text to image in two stages with conditioning augmentation")
