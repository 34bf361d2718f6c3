"""What CycleGAN and DiscoGAN share: unpaired image-to-image translation.

Two generators, A->B (saved as ``G.ckpt``) and B->A (``G_BA.ckpt``), and two
discriminators, one per domain. Each generator must fool the other domain's
discriminator, and translating there and back must return the input (the
reconstruction loss), which is what keeps a zebra's pose when it becomes a
horse. The recipes differ in networks, distances and training tricks, which
are hyperparameters here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.plugin import GanforgeError, Recipe, as_images, linear_decay

DISTANCES = {"l1": F.l1_loss, "l2": F.mse_loss}

TRANSLATION_HPARAMS = {
    "image_size": (28, "image height and width; unless set, the dataset's own (28 for digits)"),
    "lr": (2e-4, "Adam learning rate"),
    "beta1": (0.5, "Adam beta1"),
    "beta2": (0.999, "Adam beta2"),
    "real_label": (1.0, "target for real images in D's loss"),
}


class ImagePool:
    """A history of generated images (Shrivastava et al.): D sees a mix of the newest fakes
    and older ones, so it does not chase only G's latest output."""

    def __init__(self, size: int):
        self.size = size
        self.images: torch.Tensor | None = None
        self.count = 0

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        fakes = fakes.detach()
        if self.images is None:
            self.images = torch.zeros(self.size, *fakes.shape[1:], device=fakes.device)
        out = fakes.clone()
        for i in range(len(fakes)):
            if self.count < self.size:  # fill the pool first
                self.images[self.count] = fakes[i]
                self.count += 1
            elif torch.rand(()) < 0.5:  # half the time, show an old fake and keep the new one
                j = int(torch.randint(self.size, ()))
                out[i] = self.images[j]
                self.images[j] = fakes[i]
        return out


class TranslationRecipe(Recipe):
    """Base of the unpaired translation recipes."""

    generators = ("G", "G_BA")
    train_defaults = {"dataset": "unpaired-digits", "grid_size": 8}

    def __init__(self, hp, data, context):
        if not hasattr(data, "other"):
            raise GanforgeError("this GAN translates between two domains: use an unpaired dataset "
                                "(unpaired-digits or unpaired-folder)")
        super().__init__(hp, data, context)
        self.distance = DISTANCES[self.hp.distance]
        self.other = data.other.to(self.device)  # floats, or uint8 pixels of a prepared store
        self.pools = {"A": ImagePool(self.hp.pool_size), "B": ImagePool(self.hp.pool_size)}

    def build_optimizers(self):
        """One optimizer for both generators and one for both discriminators, as in CycleGAN."""
        return {"G": self.adam("G", "G_BA"), "D": self.adam("D_A", "D_B")}

    def schedule(self, step: int, total: int) -> None:
        """Constant learning rate, then (if ``decay_from`` < 1) linear decay to zero."""
        factor = linear_decay(step, total, self.hp.decay_from)
        for name, opt in self.optimizers.items():
            for group in opt.param_groups:
                group["lr"] = self.hp.lr * factor * self.lazy_ratio(name)

    def train_step(self, real_a, labels):
        G, F_ = self.networks["G"], self.networks["G_BA"]
        nets_a, nets_b = self.networks["D_A"], self.networks["D_B"]

        def D_a(x):  # every image either D sees goes through the run's augmentation (--augment)
            return nets_a(self.augmented(x))

        def D_b(x):
            return nets_b(self.augmented(x))

        pick = self.sharded(len(real_a), lambda m: torch.randint(len(self.other), (m,), device=self.device))
        real_b = as_images(self.other[pick])

        with self.frozen(nets_a, nets_b):
            fake_b, fake_a = G(real_a), F_(real_b)
            adversarial = self.g_adversarial(D_b(fake_b), lambda: D_b(real_b)) + self.g_adversarial(D_a(fake_a), lambda: D_a(real_a))
            cycle = self.distance(F_(fake_b), real_a) + self.distance(G(fake_a), real_b)
            g_loss = adversarial + self.hp.cycle_weight * cycle
            if self.hp.identity_weight:  # a generator fed its own target domain should leave it alone
                identity = self.distance(G(real_b), real_b) + self.distance(F_(real_a), real_a)
                g_loss = g_loss + self.hp.identity_weight * identity
            self.update("G", g_loss)

        old_a, old_b = self.pools["A"].query(fake_a), self.pools["B"].query(fake_b)
        with self.scoring(real_a, old_a) as (seen_a, old_a), self.scoring(real_b, old_b) as (seen_b, old_b):
            scores_a, scores_b = D_a(seen_a), D_b(seen_b)
            fake_scores_a, fake_scores_b = D_a(old_a), D_b(old_b)
        self.observe_real(torch.cat([scores_a.flatten(), scores_b.flatten()]))
        # both discriminators' losses halved, as in the CycleGAN paper
        d_loss = self.d_objective([(scores_a, fake_scores_a, D_a, seen_a, old_a),
                                   (scores_b, fake_scores_b, D_b, seen_b, old_b)], weight=0.5)
        self.update("D", d_loss)
        return {"d_loss": d_loss.detach(), "g_adv": adversarial.detach(), "cycle": cycle.detach()}

    # Sample grids: rows A, A->B, A->B->A, then B, B->A, B->A->B, on held-out images.
    def fixed_inputs(self, n, generator):
        test = self.held_out()
        pick = torch.randperm(len(test), generator=generator)[:n]
        pick_b = torch.randperm(len(test.other), generator=generator)[:n]
        return [test.images[pick].to(self.device), as_images(test.other[pick_b]).to(self.device)], n

    def grid_labels(self, inputs, columns):
        return ["A", "A->B", "A->B->A", "B", "B->A", "B->A->B"]  # ASCII: the default font has no arrow

    def generate(self, inputs):
        a, b = inputs
        G, F_ = self.networks["G"], self.networks["G_BA"]
        ab, ba = G(a), F_(b)
        return torch.cat([a, ab, F_(ab), b, ba, G(ba)])

    def extra_state(self):
        return {f"pool/{name}": pool.images for name, pool in self.pools.items() if pool.images is not None} | {
            f"pool_count/{name}": torch.tensor(pool.count) for name, pool in self.pools.items()}

    def load_extra_state(self, tensors):
        for name, pool in self.pools.items():
            if f"pool/{name}" in tensors:
                pool.images = tensors[f"pool/{name}"].to(self.device)
            pool.count = int(tensors.get(f"pool_count/{name}", torch.tensor(0)))
