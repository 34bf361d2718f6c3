"""The fully connected GAN of the seed notes (e.g. 64 -> 256 -> 256 -> 784)."""

from torch import nn

from ganforge.plugin import OUTPUT_RANGES, activation, latent_input, require_choice, require_sizes


class MLPGenerator(nn.Module):
    """Fully connected generator: latent -> hidden layers -> pixels."""

    def __init__(self, latent_dim=64, hidden=256, layers=2, act="relu", output="tanh",
                 image_shape=(1, 28, 28)):
        super().__init__()
        require_sizes(latent_dim=latent_dim, hidden=hidden)
        require_sizes(0, layers=layers)
        require_choice("output", output, OUTPUT_RANGES)
        self.image_shape = tuple(image_shape)
        self.signature = [latent_input(latent_dim)]
        self.output_range = OUTPUT_RANGES[output]
        pixels = self.image_shape[0] * self.image_shape[1] * self.image_shape[2]
        blocks, width = [], latent_dim
        for _ in range(layers):  # layer by layer: a bounded construction stops at the first one too many
            blocks += [nn.Linear(width, hidden), activation(act)]
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, pixels), activation(output))

    def forward(self, z):
        return self.net(z).view(-1, *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Fully connected discriminator: pixels -> hidden layers -> one logit."""

    def __init__(self, hidden=256, layers=2, act="leaky-relu", image_shape=(1, 28, 28), dropout=0.0):
        super().__init__()
        require_sizes(hidden=hidden)
        require_sizes(0, layers=layers)
        pixels = image_shape[0] * image_shape[1] * image_shape[2]
        blocks, width = [nn.Flatten()], pixels
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), activation(act)] + ([nn.Dropout(dropout)] if dropout else [])
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)
