"""WGAN (Arjovsky, Chintala and Bottou, 2017): the critic estimates the Wasserstein distance
and is kept Lipschitz by clipping its weights; it trains n_critic times per generator step,
with RMSprop (momentum-based optimizers made it unstable in the paper)."""

import torch

from ganforge.plugin import Recipe


class WGAN(Recipe):
    """Wasserstein GAN with weight clipping."""

    hparams = {
        "latent_dim": (64, "size of z"),
        "g_width": (32, "generator channels"),
        "d_width": (32, "critic channels"),
        "n_critic": (5, "critic updates per generator update (paper: 5)"),
        "clip": (0.01, "critic weights are clipped to [-clip, clip] (paper: 0.01)"),
        "lr": (5e-5, "RMSprop learning rate (paper: 5e-5)"),
        "loss": ("wasserstein", "adversarial loss plugin"),
        "real_label": (1.0, "unused by the Wasserstein loss"),
    }
    train_defaults = {"dataset": "mnist-5k", "batch_size": 64, "steps": 1500, "sample_every": 250,
                      "checkpoint_every": 500, "log_every": 50}

    def build_networks(self):
        hp, c = self.hp, self.data.channels
        return {"G": self.network("wgan-generator", latent_dim=hp.latent_dim, width=hp.g_width, channels=c),
                "D": self.network("wgan-critic", width=hp.d_width, channels=c)}

    def build_optimizers(self):
        return {name: torch.optim.RMSprop(net.parameters(), lr=self.hp.lr) for name, net in self.networks.items()}

    def train_step(self, images, labels):
        G, D = self.networks["G"], self.networks["D"]
        n = len(images)
        # Drawn through self.latent (which uses self.sharded), so that a distributed run
        # (--nproc) draws what one process would.
        z = self.latent(n)
        for _ in range(self.hp.n_critic):
            with torch.no_grad():
                fake = G(self.latent(n))
            d_loss = self.loss.d_loss(D(images), D(fake))
            self.update("D", d_loss)
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-self.hp.clip, self.hp.clip)
        with self.frozen(D):
            g_loss = self.loss.g_loss(D(G(z)))
            self.update("G", g_loss)
        return {"wasserstein": -d_loss.detach(), "g_loss": g_loss.detach()}
