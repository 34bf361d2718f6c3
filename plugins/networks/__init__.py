"""Built-in networks: the MLP pair of the seed notes, the DCGAN pair, the translation, text and R3GAN networks."""

from ganforge.plugin import hookimpl


@hookimpl
def register_networks(register):
    register("mlp-generator", "ganforge.builtins.networks.mlp:MLPGenerator",
             "Fully connected generator (latent -> hidden x L -> pixels), tanh or sigmoid output")
    register("mlp-discriminator", "ganforge.builtins.networks.mlp:MLPDiscriminator",
             "Fully connected discriminator (pixels -> hidden x L -> 1 logit)")
    register("dcgan-generator", "ganforge.builtins.networks.dcgan:DCGANGenerator",
             "DCGAN generator: project and reshape, stride-2 upsampling, batch norm, ReLU, tanh")
    register("dcgan-discriminator", "ganforge.builtins.networks.dcgan:DCGANDiscriminator",
             "DCGAN discriminator: stride-2 convolutions, batch norm, LeakyReLU 0.2, no pooling")
    register("resnet-generator", "ganforge.builtins.networks.translation:ResnetGenerator",
             "CycleGAN generator: residual blocks, reflection padding, instance norm (image to image)")
    register("patch-discriminator", "ganforge.builtins.networks.translation:PatchDiscriminator",
             "PatchGAN discriminator: a real/fake score for every overlapping patch")
    register("encoder-decoder-generator", "ganforge.builtins.networks.translation:EncoderDecoderGenerator",
             "DiscoGAN generator: strided convolutions down, transposed convolutions up (image to image)")
    register("unet-generator", "ganforge.builtins.networks.translation:UNetGenerator",
             "pix2pix generator: encoder-decoder with skip connections between mirrored layers (image to image)")
    register("bag-of-words-text-encoder", "ganforge.builtins.networks.text:BagOfWordsEncoder",
             "Captions to normalized word counts over the training vocabulary (StackGAN's text encoder)")
    register("stackgan-generator", "ganforge.builtins.networks.text:StackGANGenerator",
             "StackGAN generator: conditioning augmentation, Stage-I low-res image, Stage-II refinement")
    register("text-discriminator", "ganforge.builtins.networks.text:TextConditionedDiscriminator",
             "Matching-aware discriminator that sees an image and a text embedding")
    register("r3gan-generator", "ganforge.builtins.networks.r3gan:R3GANGenerator",
             "R3GAN generator: modulated 4x4 basis, grouped-convolution residual blocks, no normalization")
    register("r3gan-discriminator", "ganforge.builtins.networks.r3gan:R3GANDiscriminator",
             "R3GAN discriminator: residual blocks, low-pass downsampling, depthwise 4x4 and linear head")
