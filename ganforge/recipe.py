"""What a GAN recipe declares: its hyperparameters, networks, optimizers and one
training step. The engine (``ganforge.engine``) owns everything else."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from .plugin_manager import get


class Recipe:
    """Base class of GAN recipes.

    ``hparams`` maps each hyperparameter to ``(default, help)``; users see them
    with ``ganforge show NAME`` and override them with ``-p KEY=VALUE`` or a config
    file. ``train_defaults`` gives the engine's defaults for this recipe
    (dataset, steps, batch size, ...). ``networks`` must hold the generator as
    ``"G"``; ``optimizers`` one optimizer per network that trains.
    """

    hparams: dict[str, tuple[object, str]] = {}
    train_defaults: dict[str, object] = {}

    def __init__(self, hp: dict, data, device: torch.device):
        self.hp = SimpleNamespace(**hp)
        self.data = data  # the dataset: channels, image_size, num_classes
        self.device = device
        self.networks: dict[str, nn.Module] = {k: v.to(device) for k, v in self.build_networks().items()}
        self.optimizers: dict[str, torch.optim.Optimizer] = self.build_optimizers()

    # -- to implement ---------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam for every network, with ``lr``, ``beta1`` and ``beta2`` from hparams."""
        return {
            name: torch.optim.Adam(net.parameters(), lr=self.hp.lr, betas=(self.hp.beta1, self.hp.beta2))
            for name, net in self.networks.items()
        }

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """One iteration; returns detached scalar tensors to log (read only when logged)."""
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------
    def network(self, name: str, **kwargs) -> nn.Module:
        """Build a registered network and remember how, so ``G.ckpt`` can rebuild it."""
        module = get("networks", name)(**kwargs)
        module.ganforge_spec = {"network": name, "kwargs": kwargs}
        return module

    @property
    def generator(self) -> nn.Module:
        return self.networks["G"]

    def generate(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.generator(*inputs)


class AdversarialRecipe(Recipe):
    """The two-player loop the notes describe: ``d_steps`` updates of D on real and
    fake batches, then ``g_steps`` updates of G through a frozen D, with a loss plugin."""

    def __init__(self, hp: dict, data, device: torch.device):
        super().__init__(hp, data, device)
        self.loss = get("losses", self.hp.loss)(real_label=self.hp.real_label)

    def latent(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.hp.latent_dim, device=self.device)

    def train_step(self, images, labels):
        G, D = self.networks["G"], self.networks["D"]
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        n = images.shape[0]
        for _ in range(self.hp.d_steps):
            with torch.no_grad():
                fake = G(self.latent(n))
            d_real, d_fake = D(images), D(fake)
            d_loss = self.loss.d_loss(d_real, d_fake)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        for _ in range(self.hp.g_steps):
            g_loss = self.loss.g_loss(D(G(self.latent(n))))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
        D.requires_grad_(True)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}


# Hyperparameters every adversarial recipe shares (Adam 2e-4 with beta1 0.5, as the
# DCGAN notes insist), for recipes to merge into their own ``hparams``.
ADVERSARIAL_HPARAMS = {
    "loss": ("non-saturating", "adversarial loss plugin (ganforge list losses)"),
    "real_label": (1.0, "target for real images in D's loss; 0.9 is one-sided label smoothing"),
    "lr": (2e-4, "Adam learning rate of G and D"),
    "beta1": (0.5, "Adam beta1"),
    "beta2": (0.999, "Adam beta2"),
    "d_steps": (1, "discriminator updates per iteration"),
    "g_steps": (1, "generator updates per iteration"),
}
