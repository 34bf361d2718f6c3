"""A small generator and critic for 28x28 images. The critic has no batch norm (its score for
an image must not depend on the rest of the batch) and no sigmoid (it scores, not classifies)."""

from torch import nn

from ganforge.plugin import latent_input


class Generator(nn.Module):
    def __init__(self, latent_dim=64, width=32, channels=1):
        super().__init__()
        self.signature = [latent_input(latent_dim)]  # what ganforge draws and exports
        self.output_range = (-1.0, 1.0)
        self.width = width
        self.project = nn.Sequential(nn.Linear(latent_dim, 2 * width * 7 * 7), nn.BatchNorm1d(2 * width * 7 * 7),
                                     nn.ReLU(True))
        self.body = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1), nn.Tanh())

    def forward(self, z):
        return self.body(self.project(z).view(-1, 2 * self.width, 7, 7))


class Critic(nn.Module):
    def __init__(self, width=32, channels=1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))

    def forward(self, x):
        return self.body(x).squeeze(1)
