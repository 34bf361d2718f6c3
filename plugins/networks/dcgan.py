"""The DCGAN pair as the DCGAN notes describe it.

G: project z with one linear layer and reshape to a small feature map, then
stride-2 upsampling blocks (batch norm + ReLU) that halve the channels while
doubling the size, and a tanh output. D mirrors it with stride-2 convolutions
(no pooling), batch norm (not on the first layer, as in the paper), LeakyReLU
0.2 and one linear output logit. 28 px starts from 7x7; 32 and 64 px from 4x4.

With ``num_classes`` > 0 both become class-conditional as in the conditional GAN
paper: G joins a one-hot label to z, D joins one-hot label planes to its input.
D can also return several logits (``outputs``), for ACGAN's auxiliary class head
or the semi-supervised GAN's K+1-way classifier.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.plugin import dcgan_init, label_input, latent_input, require_choice, require_sizes, spectral_normalize

START_SIZE = {28: 7, 32: 4, 64: 4, 128: 4}


def _start_size(image_size: int) -> int:
    if image_size not in START_SIZE:
        raise ValueError(f"DCGAN supports image sizes {sorted(START_SIZE)}, got {image_size}")
    return START_SIZE[image_size]


class DCGANGenerator(nn.Module):
    """DCGAN generator; the upsampler (transposed-conv, resize-conv, ...) is a plugin."""

    def __init__(self, latent_dim=100, channels=1, image_size=28, width=64, kernel_size=5,
                 upsampler="transposed-conv", num_classes=0):
        super().__init__()
        from ganforge.plugin import get

        require_sizes(latent_dim=latent_dim, channels=channels, width=width, kernel_size=kernel_size)
        upsample = get("upsamplers", upsampler)
        start = _start_size(image_size)
        n_up = (image_size // start).bit_length() - 1
        top = width * 2 ** (n_up - 1)
        self.num_classes = num_classes
        self.signature = [latent_input(latent_dim)] + ([label_input(num_classes)] if num_classes else [])
        self.output_range = (-1.0, 1.0)
        self.start, self.top = start, top
        # Project and reshape; batch norm and ReLU follow it as in the DCGAN paper
        # (some TensorFlow examples leave them out of the projection itself).
        self.project = nn.Linear(latent_dim + num_classes, top * start * start)
        blocks, c = [], top
        for _ in range(n_up - 1):
            blocks += [nn.BatchNorm2d(c), nn.ReLU(inplace=True), upsample(c, c // 2, kernel_size)]
            c //= 2
        blocks += [nn.BatchNorm2d(c), nn.ReLU(inplace=True), upsample(c, channels, kernel_size), nn.Tanh()]
        self.net = nn.Sequential(*blocks)
        dcgan_init(self)

    # ``label`` may also be class weights (N x K, rows summing to 1): latent tools walk between classes
    accepts_class_weights = True

    def forward(self, z, label=None):
        if self.num_classes:
            weights = label.to(z.dtype) if label.is_floating_point() else F.one_hot(label, self.num_classes).to(z.dtype)
            z = torch.cat([z, weights], dim=1)
        return self.net(self.project(z).view(-1, self.top, self.start, self.start))


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator returning one logit per image (or ``outputs`` logits).

    ``norm``: ``batch`` (the DCGAN paper's), ``spectral`` (every layer's weight divided by its
    largest singular value, Miyato et al. 2018; no batch norm) or ``none``."""

    NORMS = ("batch", "spectral", "none")

    def __init__(self, channels=1, image_size=28, width=64, kernel_size=5, num_classes=0, outputs=1, norm="batch"):
        super().__init__()
        require_sizes(channels=channels, width=width, kernel_size=kernel_size, outputs=outputs)
        require_choice("norm", norm, self.NORMS)
        start = _start_size(image_size)
        n_down = (image_size // start).bit_length() - 1
        self.num_classes, self.outputs = num_classes, outputs
        layers, c_in, c_out = [], channels + num_classes, width
        for i in range(n_down):
            layers.append(nn.Conv2d(c_in, c_out, kernel_size, stride=2, padding=(kernel_size - 1) // 2))
            if i > 0 and norm == "batch":
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in, c_out = c_out, c_out * 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * start * start, outputs)
        dcgan_init(self)
        if norm == "spectral":
            spectral_normalize(self)

    def forward(self, x, label=None):
        if self.num_classes:
            planes = F.one_hot(label, self.num_classes).to(x.dtype)[:, :, None, None]
            x = torch.cat([x, planes.expand(-1, -1, *x.shape[2:])], dim=1)
        out = self.head(self.features(x).flatten(1))
        return out.squeeze(1) if self.outputs == 1 else out
