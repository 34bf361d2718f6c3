"""The vanilla GAN of the seed notes: the PyTorch loop's 64 -> 256 -> 256 -> 784
generator (ReLU, tanh) against a 784 -> 256 -> 256 -> 1 discriminator (LeakyReLU 0.2)."""

from ganforge.plugin import ADVERSARIAL_HPARAMS, AdversarialRecipe, Param


class VanillaGAN(AdversarialRecipe):
    """Vanilla MLP GAN."""

    hparams = {
        "latent_dim": (64, "size of the latent vector z (64, 100 and 128 are common)"),
        "hidden": (256, "width of the hidden layers (128 and 256 are common)"),
        "layers": (2, "number of hidden layers in G and in D"),
        "g_activation": Param(str, "relu", "G's hidden activation: relu or leaky-relu", choices=("relu", "leaky-relu")),
        "d_activation": Param(str, "leaky-relu", "D's hidden activation: leaky-relu (0.2) or relu", choices=("leaky-relu", "relu")),
        "output": Param(str, "tanh", "G's output: tanh (images in [-1, 1]) or sigmoid ([0, 1])", choices=("tanh", "sigmoid")),
        "d_dropout": (0.3, "dropout after D's hidden layers (Goodfellow et al. used dropout in D); "
                           "keeps D from memorizing a small dataset"),
        "image_size": (28, "image height and width; unless set, the dataset's own (28 for digits)"),
        **ADVERSARIAL_HPARAMS,
        "lr": (1e-3, "Adam learning rate of G and D (chosen by measurement on the bundled digits, docs/gans.md; "
                     "the classic 2e-4: examples/gan-paper.toml)"),
        "real_label": (0.9, "target for real images in D's loss: one-sided label smoothing (1.0 turns it off)"),
    }
    train_defaults = {"dataset": "mnist-5k", "batch_size": 100, "steps": 20000,
                      "sample_every": 2000, "checkpoint_every": 5000, "log_every": 100}

    def build_networks(self):
        hp, shape = self.hp, (self.data.channels, self.data.image_size, self.data.image_size)
        return {
            "G": self.network("mlp-generator", latent_dim=hp.latent_dim, hidden=hp.hidden, layers=hp.layers,
                              act=hp.g_activation, output=hp.output, image_shape=shape),
            "D": self.network("mlp-discriminator", hidden=hp.hidden, layers=hp.layers,
                              act=hp.d_activation, image_shape=shape, dropout=hp.d_dropout),
        }

    def train_step(self, images, labels):
        if self.hp.output == "sigmoid":  # data comes in [-1, 1]; a sigmoid G draws in [0, 1]
            images = (images + 1) / 2
        return super().train_step(images, labels)
