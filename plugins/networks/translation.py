"""Image-to-image networks for pix2pix, CycleGAN and DiscoGAN.

CycleGAN's generator (Johnson et al.'s design): a 7x7 convolution, stride-2
downsampling, residual blocks, upsampling back and a 7x7 convolution to tanh,
with reflection padding and instance norm. Its discriminator is a PatchGAN: a
stack of 4x4 convolutions that scores each overlapping patch as real or fake.
DiscoGAN's generator is a plain encoder-decoder: strided convolutions down
(LeakyReLU 0.2), strided transposed convolutions up (ReLU), batch norm between.
pix2pix's generator is a U-Net: that encoder-decoder with a skip connection from every
encoder layer to its mirrored decoder layer, so detail that input and output share (edges,
layout) need not pass through the bottleneck.

Each generator is fully convolutional: ``size_multiple`` says which heights and widths it
takes (any multiple of it), which ``ganforge translate`` pads other sizes to.
"""

import math

import torch
from torch import nn

from ganforge.plugin import dcgan_init, image_input, norm_layer, require_choice, require_sizes, spectral_normalize


def image_to_image(module: nn.Module, channels: int, image_size: int, halvings: int, upsampler: str,
                   depth_name: str = ""):
    """What every generator here declares: an image input, outputs in [-1, 1] and the sizes it
    takes (multiples of 2^``halvings``, which ``image_size`` must be); returns the upsampler
    plugin's layer class."""
    from ganforge.plugin import get

    if image_size % 2 ** halvings:
        raise ValueError(f"image size {image_size} is not divisible by 2^{halvings}{depth_name}")
    module.signature = [image_input(channels, image_size)]
    module.output_range = (-1.0, 1.0)
    module.size_multiple = 2 ** halvings
    return get("upsamplers", upsampler)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(norm, channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(norm, channels),
        )

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN generator: downsample, residual blocks, upsample (upsampler is a plugin)."""

    def __init__(self, channels=3, image_size=256, width=64, downsamplings=2, blocks=9, norm="instance",
                 upsampler="transposed-conv"):
        super().__init__()
        require_sizes(channels=channels, image_size=image_size, width=width)
        require_sizes(0, downsamplings=downsamplings, blocks=blocks)
        up = image_to_image(self, channels, image_size, downsamplings, upsampler)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7), norm_layer(norm, width), nn.ReLU(True)]
        c = width
        for _ in range(downsamplings):
            layers += [nn.Conv2d(c, c * 2, 3, stride=2, padding=1), norm_layer(norm, c * 2), nn.ReLU(True)]
            c *= 2
        layers += [ResidualBlock(c, norm) for _ in range(blocks)]
        for _ in range(downsamplings):
            layers += [up(c, c // 2, 3), norm_layer(norm, c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, image):
        return self.net(image)


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator: one score per overlapping patch (a map, not a single logit).
    ``norm``: instance (CycleGAN's), batch (pix2pix's), spectral or none. ``layers`` sets the
    patch each score sees (its receptive field, ``patch_size``): 1: 16 px, 2: 34, 3: 70 (the
    papers' at 256 px), 4: 142. An image-conditioned D (pix2pix's) takes the input and the
    output concatenated: ``channels`` is then their sum."""

    NORMS = ("instance", "batch", "spectral", "none")

    @staticmethod
    def patch_size(layers: int) -> int:
        """The receptive field of one score, in pixels: 4x4 convolutions, strides 2 then 1 1."""
        field = 1
        for stride in [1, 1] + [2] * layers:  # from the output back to the input
            field = field * stride + (4 - stride)
        return field

    @classmethod
    def layers_for(cls, image_size: int) -> int:
        """The depth whose patch is nearest 70/256 of ``image_size`` (pix2pix's 70 px patch at
        256 px, scaled with the image): 1 at 64 px, 2 at 128, 3 at 256, 4 at 512."""
        wanted = 70 / 256 * image_size
        return min(range(1, 6), key=lambda n: abs(math.log(cls.patch_size(n) / wanted)))

    def __init__(self, channels=3, width=64, layers=3, norm="instance"):
        super().__init__()
        require_sizes(channels=channels, width=width, layers=layers)
        require_choice("norm", norm, self.NORMS)
        blocks = [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        c = width
        for i in range(1, layers + 1):
            stride = 2 if i < layers else 1
            blocks += [nn.Conv2d(c, min(c * 2, width * 8), 4, stride=stride, padding=1),
                       norm_layer(norm, min(c * 2, width * 8)), nn.LeakyReLU(0.2, True)]
            c = min(c * 2, width * 8)
        blocks.append(nn.Conv2d(c, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*blocks)
        dcgan_init(self)
        if norm == "spectral":
            spectral_normalize(self)

    def forward(self, x):
        return self.net(x)


class EncoderDecoderGenerator(nn.Module):
    """DiscoGAN generator: convolutional encoder then transposed-convolution decoder."""

    def __init__(self, channels=3, image_size=64, width=64, depth=2, upsampler="transposed-conv"):
        super().__init__()
        require_sizes(channels=channels, image_size=image_size, width=width, depth=depth)
        up = image_to_image(self, channels, image_size, depth, upsampler)
        layers, c = [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)], width
        for _ in range(depth - 1):
            layers += [nn.Conv2d(c, c * 2, 4, stride=2, padding=1), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        for _ in range(depth - 1):
            layers += [up(c, c // 2, 4), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [up(c, channels, 4), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, image):
        return self.net(image)


class UNetGenerator(nn.Module):
    """pix2pix generator (Isola et al. 2017): ``depth`` stride-2 4x4 convolutions down
    (LeakyReLU 0.2; by default as often as the size halves evenly: to 1 x 1 at 256 px, 8
    layers; 2 at 28 px), as many stride-2 transposed
    convolutions up (ReLU), each decoder layer fed the mirrored encoder layer's output too,
    tanh at the end. Widths double from ``width`` up to 8 x ``width`` (the paper's C64-C128-
    C256-C512-...). ``norm`` follows every layer but the first and the innermost; dropout
    (``dropout``, 0.5 in the paper, its only source of noise) follows the first
    ``dropout_layers`` decoder layers while training."""

    NORMS = ("batch", "instance", "none")

    def __init__(self, channels=3, image_size=256, width=64, depth=None, norm="batch", dropout=0.5,
                 dropout_layers=3, upsampler="transposed-conv"):
        super().__init__()
        depth = depth or max(1, (image_size & -image_size).bit_length() - 1)  # halve while it divides: 8 at 256, 2 at 28
        require_sizes(channels=channels, image_size=image_size, width=width, depth=depth)
        require_sizes(0, dropout_layers=dropout_layers)
        require_choice("norm", norm, self.NORMS)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        up = image_to_image(self, channels, image_size, depth, upsampler, " (the U-Net's depth)")
        widths = [width * 2 ** min(i, 3) for i in range(depth)]  # each encoder layer's output
        self.down = nn.ModuleList()
        for i, c in enumerate(widths):
            if i == 0:
                self.down.append(nn.Conv2d(channels, c, 4, stride=2, padding=1))
            else:
                innermost = i == depth - 1
                self.down.append(nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(widths[i - 1], c, 4, stride=2, padding=1),
                                               norm_layer("none" if innermost else norm, c)))
        self.up = nn.ModuleList()
        for j in range(depth):  # from the innermost layer out
            i = depth - 1 - j  # the encoder layer whose output (with its skip) this one reads
            into = widths[i] if j == 0 else 2 * widths[i]
            if i == 0:
                self.up.append(nn.Sequential(nn.ReLU(), up(into, channels, 4), nn.Tanh()))
                continue
            layer = [nn.ReLU(), up(into, widths[i - 1], 4), norm_layer(norm, widths[i - 1])]
            if j < dropout_layers and dropout:
                layer.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layer))
        dcgan_init(self)

    def forward(self, image):
        skips = []
        h = image
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        skips.pop()  # the innermost output is the decoder's input, not a skip
        for layer in self.up:
            h = layer(h)
            if skips:
                h = torch.cat([h, skips.pop()], 1)
        return h
