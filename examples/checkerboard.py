"""Why resize-convolution: the checkerboard of transposed convolutions, made visible.

A constant image goes through three upsampling layers whose weights are all one.
A stride-2 transposed convolution with a 5x5 kernel covers some output pixels
with more kernel taps than others (5 is not divisible by 2), and stacking layers
multiplies the unevenness into a checkerboard. Resize-convolution and pixel
shuffle cover every pixel alike (apart from the zero padding at the borders).

    python examples/checkerboard.py docs/checkerboard.png
"""

import sys

import torch
from torchvision.utils import save_image

from ganforge.plugin import get

NAMES = ["transposed-conv", "resize-conv", "pixel-shuffle"]


def upsampled_constant(name: str, layers: int = 3, kernel_size: int = 5) -> torch.Tensor:
    x = torch.ones(1, 1, 16, 16)
    with torch.no_grad():
        for _ in range(layers):
            layer = get("upsamplers", name)(1, 1, kernel_size)
            for p in layer.parameters():
                torch.nn.init.ones_(p) if p.dim() > 1 else torch.nn.init.zeros_(p)
            x = layer(x)
    return x / x.max()


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "checkerboard.png"
    images = [upsampled_constant(n)[0] for n in NAMES]
    big = [torch.nn.functional.interpolate(i[None], scale_factor=2, mode="nearest")[0] for i in images]
    save_image(big, out, nrow=3, padding=8, pad_value=1.0)
    for name, image in zip(NAMES, images):
        inner = image[0, 32:-32, 32:-32]  # away from the zero-padded borders
        print(f"{name:16s} interior min/max: {inner.min():.3f} / {inner.max():.3f}")
    print(f"wrote {out}")
