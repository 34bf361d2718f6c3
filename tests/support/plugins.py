"""Components of a plugin any third party could write, registered through every hook:
what the plugin tests load beside the built-ins."""

import torch
from torch import nn

from ganforge.plugin import hookimpl
from ganforge.contracts.logger import Logger
from ganforge.contracts.loss import Loss
from ganforge.contracts.networks import latent_input
from ganforge.contracts.recipe import ADVERSARIAL_HPARAMS, AdversarialRecipe


class TinyGenerator(nn.Module):
    """A one-layer generator for tests."""

    def __init__(self, latent_dim=4, channels=1, image_size=28):
        super().__init__()
        self.signature = [latent_input(latent_dim)]
        self.output_range = (-1.0, 1.0)
        self.shape = (channels, image_size, image_size)
        self.fc = nn.Linear(latent_dim, channels * image_size * image_size)

    def forward(self, z):
        return torch.tanh(self.fc(z)).view(-1, *self.shape)


class HalfLoss(Loss):
    """Least squares, halved: a loss only this test plugin knows."""

    def __init__(self, real_label=1.0):
        self.real_label = real_label

    def d_loss(self, real, fake):
        return 0.5 * ((real - self.real_label) ** 2).mean() + 0.5 * (fake ** 2).mean()

    def g_loss(self, fake):
        return 0.5 * ((fake - 1) ** 2).mean()


class DoubleUp(nn.Sequential):
    """Pixel shuffle upsampler."""

    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__(nn.Conv2d(in_channels, out_channels * 4, kernel_size, padding="same"), nn.PixelShuffle(2))


class Blobs(torch.utils.data.Dataset):
    """Sixteen random 28x28 images."""

    def __init__(self, root=None, image_size=None, channels=None, split="train"):
        g = torch.Generator().manual_seed(0)
        self.images = torch.rand(16, 1, 28, 28, generator=g) * 2 - 1
        self.channels, self.image_size, self.num_classes = 1, 28, 1

    def __len__(self):
        return 16

    def __getitem__(self, i):
        return self.images[i], 0


class InvertSome:
    """Negates a random half of the images D sees (an augmentation any plugin could register)."""

    seen = 0

    def __init__(self, options="", strength=1.0):
        self.strength = strength

    def __call__(self, images, draw):
        InvertSome.seen += 1
        chosen = draw(images.shape[0], lambda m: torch.rand(m, device=images.device)) < 0.5 * self.strength
        return torch.where(chosen.view(-1, 1, 1, 1), -images, images)


class TestPlugin:
    @hookimpl
    def register_networks(self, register):
        register("tiny-generator", TinyGenerator)

    @hookimpl
    def register_losses(self, register):
        register("half-squares", HalfLoss)

    @hookimpl
    def register_upsamplers(self, register):
        register("double-up", DoubleUp, "pixel shuffle")

    @hookimpl
    def register_datasets(self, register):
        register("blobs", Blobs)

    @hookimpl
    def register_gans(self, register):
        register("tiny-gan", f"{__name__}:TinyGAN", "a GAN from a test plugin")

    @hookimpl
    def register_exporters(self, register):
        register("raw", f"{__name__}:RawExporter", "raw tensors")

    @hookimpl
    def register_extractors(self, register):
        register("row-means", RowMeans, "mean brightness of each image row")

    @hookimpl
    def register_loggers(self, register):
        register("count-lines", CountLines, "counts what it is told")

    @hookimpl
    def register_augmentations(self, register):
        register("invert-some", InvertSome, "negates a random half of the images")


class CountLines(Logger):
    """A logger any plugin could register: counts the figures and pictures it is given."""

    made = []

    def __init__(self, run_dir, config, start):
        super().__init__(run_dir, config, start)
        self.calls = {"metrics": 0, "image": 0}
        CountLines.made.append(self)

    def metrics(self, step, values, kind="train"):
        self.calls["metrics"] += 1

    def image(self, step, name, path):
        self.calls["image"] += 1


class RowMeans:
    """A feature extractor any plugin could register: 28 row means; logits favour bright images."""

    name, num_features, num_classes, sha256 = "row-means", 28, 2, "none"

    def __init__(self, weights=None, device="cpu"):
        pass

    def __call__(self, images):
        rows = images.mean(dim=(1, 3))
        return rows, torch.stack([rows.mean(1), -rows.mean(1)], 1)


class RawExporter:
    """The generator's weights and metadata in a safetensors file of its own suffix: an
    exporter any plugin could register (written against ganforge.contracts.exporter.Exporter)."""

    name, suffix, precisions, devices = "raw", ".rawgen", ("fp32",), ("cpu",)

    def unavailable(self, device="cpu"):
        return None

    def export(self, generator, path, **options):
        from ganforge.artifacts import checkpoint

        meta = {**generator.meta, "format": "raw"}
        checkpoint.save(path, {k: v.clone() for k, v in generator.module.state_dict().items()}, meta)

    def load(self, path, device="cpu"):
        from ganforge.artifacts import checkpoint
        from ganforge.artifacts.loading import _rebuild

        tensors, meta = checkpoint.load(path)
        return _rebuild(path, tensors, meta).eval().to(device), meta


class TinyGAN(AdversarialRecipe):
    hparams = {"latent_dim": (4, "z size"), **ADVERSARIAL_HPARAMS, "loss": ("half-squares", "loss")}
    train_defaults = {"dataset": "blobs", "batch_size": 4, "steps": 3}

    def build_networks(self):
        return {"G": self.network("tiny-generator", latent_dim=self.hp.latent_dim),
                "D": self.network("mlp-discriminator", hidden=8, layers=1)}
