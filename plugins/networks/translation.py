"""Image-to-image networks for CycleGAN and DiscoGAN.

CycleGAN's generator (Johnson et al.'s design): a 7x7 convolution, stride-2
downsampling, residual blocks, upsampling back and a 7x7 convolution to tanh,
with reflection padding and instance norm. Its discriminator is a PatchGAN: a
stack of 4x4 convolutions that scores each overlapping patch as real or fake.
DiscoGAN's generator is a plain encoder-decoder: strided convolutions down
(LeakyReLU 0.2), strided transposed convolutions up (ReLU), batch norm between.
"""

from torch import nn

from ganforge.plugin import dcgan_init, image_input, norm_layer, require_choice, require_sizes, spectral_normalize


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
        from ganforge.plugin import get

        require_sizes(channels=channels, image_size=image_size, width=width)
        require_sizes(0, downsamplings=downsamplings, blocks=blocks)

        if image_size % 2 ** downsamplings:
            raise ValueError(f"image size {image_size} is not divisible by 2^{downsamplings}")
        self.signature = [image_input(channels, image_size)]
        self.output_range = (-1.0, 1.0)
        up = get("upsamplers", upsampler)
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
    ``norm``: instance (the paper's), batch, spectral or none."""

    NORMS = ("instance", "batch", "spectral", "none")

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
        from ganforge.plugin import get

        require_sizes(channels=channels, image_size=image_size, width=width, depth=depth)

        if image_size % 2 ** depth:
            raise ValueError(f"image size {image_size} is not divisible by 2^{depth}")
        self.signature = [image_input(channels, image_size)]
        self.output_range = (-1.0, 1.0)
        up = get("upsamplers", upsampler)
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
