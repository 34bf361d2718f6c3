"""Upsampling layers that double height and width.

Why resize-convolution (Odena, Dumoulin and Olah, 2016): a stride-2 transposed convolution whose
kernel size is not divisible by the stride covers some output pixels more often
than others, which shows up as a checkerboard. Resizing first and then running a
stride-1 convolution covers every pixel evenly.
"""

from torch import nn


class TransposedConv(nn.ConvTranspose2d):
    """Stride-2 transposed convolution with 'same' padding (any kernel size)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride=2,
                         padding=(kernel_size - 1) // 2, output_padding=kernel_size % 2, bias=bias)


class ResizeConv(nn.Sequential):
    """Nearest-neighbour 2x upsampling followed by a stride-1 convolution."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, bias: bool = True):
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels, kernel_size, padding="same", bias=bias),
        )


class PixelShuffle(nn.Sequential):
    """Sub-pixel convolution (Shi et al.): convolve to 4x channels, then rearrange into 2x2 blocks."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, bias: bool = True):
        super().__init__(
            nn.Conv2d(in_channels, out_channels * 4, kernel_size, padding="same", bias=bias),
            nn.PixelShuffle(2),
        )
