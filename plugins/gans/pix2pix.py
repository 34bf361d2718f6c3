"""pix2pix (Isola, Zhu, Zhou and Efros, CVPR 2017): paired image-to-image translation.

G, a U-Net, turns an input image into its target; D, a PatchGAN, sees the input and an
output side by side and scores each patch as a real pair or a made one. G's loss is the
adversarial one plus 100 x the L1 distance to the target: L1 alone makes blurry averages,
the adversarial term makes them sharp. D's loss is halved (it learns slower than G), Adam
2e-4 with beta1 0.5, and training jitters every pair (enlarged by ``jitter``, cropped back at
random, A and B alike). The paper's settings, at 256 px, are ``examples/pix2pix-paper.toml``;
the defaults are narrower networks for a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.plugin import GanforgeError, Param, Recipe, linear_decay, split_pair


GENERATORS = {"unet": "unet-generator", "resnet": "resnet-generator"}


class Pix2Pix(Recipe):
    """Paired image-to-image translation: a conditional GAN plus L1."""

    hparams = {
        "image_size": (28, "image height and width; unless set, the dataset's own"),
        "loss": ("non-saturating", "adversarial loss plugin (the paper's: the non-saturating GAN loss)"),
        "lr": (2e-4, "Adam learning rate (the paper's)"),
        "beta1": (0.5, "Adam beta1"),
        "beta2": (0.999, "Adam beta2"),
        "real_label": (1.0, "target for real pairs in D's loss"),
        "l1_weight": (100.0, "weight of the L1 distance between output and target (lambda, 100 in the paper)"),
        "adversarial_weight": (1.0, "weight of the adversarial term (0: the paper's L1-only ablation, a plain U-Net "
                                    "regressor; D is then not trained at all)"),
        "generator": Param(str, "unet", "G's architecture: unet (the paper's) or resnet (CycleGAN's)",
                           choices=tuple(GENERATORS)),
        "g_width": (32, "channels of G's first layer (64 in the paper)"),
        "g_depth": (0, "U-Net depth: stride-2 layers down (0: as often as the size halves evenly: 8 at 256 px, down to "
                     "1 x 1 as in the paper; 2 at 28 px)"),
        "g_norm": Param(str, "batch", "U-Net normalization: batch (the paper's), instance or none",
                        choices=("batch", "instance", "none")),
        "dropout": (0.5, "dropout after the U-Net's first three decoder layers while training (the paper's noise)"),
        "d_width": (32, "channels of D's first layer (64 in the paper)"),
        "d_layers": (0, "PatchGAN depth: 3 sees 70 x 70 patches (the paper's at 256 px); 0: sized by the "
                        "resolution, the patch nearest 70/256 of the image"),
        "d_norm": Param(str, "batch", "D's normalization: batch (the paper's), instance, spectral or none",
                        choices=("batch", "instance", "spectral", "none")),
        "jitter": (1.125, "random jitter: each pair enlarged this much and cropped back at a random place, A and B "
                          "alike (the paper: 286/256 = 1.117; 1: none)"),
        "adversarial_from": Param(float, 0.0, "fraction of training spent on L1 alone before D is trained and the "
                                              "adversarial term added (the paper: 0; a generator first trained for "
                                              "the distance alone, then adversarially, is SRGAN's and ESRGAN's "
                                              "recipe)", minimum=0, maximum=1),
        "decay_from": Param(float, 1.0, "fraction of training after which the learning rate decays linearly to 0 "
                                        "(the paper: 0.5, 100 epochs constant and 100 decaying; 1: constant)",
                            minimum=0, maximum=1),
        "upsampler": Param(str, "transposed-conv", "G's upsampling layer", component="upsamplers"),
    }
    train_defaults = {"dataset": "paired-digits", "batch_size": 16, "steps": 2000, "grid_size": 8,
                      "sample_every": 250, "checkpoint_every": 500, "log_every": 50}

    def __init__(self, hp, data, context):
        if not getattr(data, "paired", False):
            raise GanforgeError("pix2pix learns from aligned pairs: use a paired dataset (paired-digits or "
                                "paired-folder --data-root FOLDER)")
        super().__init__(hp, data, context)
        self.direction = data.direction
        self.adversarial = bool(self.hp.adversarial_weight)  # set by schedule() for each step

    @classmethod
    def auto_config(cls, facts) -> dict:
        """``--cfg auto`` (the default on image folders): a moving average of G, and on a CPU a
        narrower D (docs/auto.md)."""
        why = ("a moving average of G (half-life 10,000 images) improved test KID on the skin-tone pairs at 600 s: "
               "pix2pix 16.56 against 17.67, the L1-only U-Net 14.73 against 16.14 (docs/gans.md)")
        chosen = {"ema_images": (10000, why)}
        if facts.device == "cpu":
            chosen["d_width"] = (16, "a CPU: D half the recipe's width took 1.35x the steps in 600 s on the skin-tone "
                                     "pairs and scored better on every test figure (KID 10.79 against 12.04, FID 18.4 "
                                     "against 20.2; docs/gans.md)")
        return chosen

    def build_networks(self):
        hp, c, size = self.hp, self.data.channels, self.data.image_size
        if hp.generator == "unet":
            G = self.network("unet-generator", channels=c, image_size=size, width=hp.g_width, depth=hp.g_depth or None,
                             norm=hp.g_norm, dropout=hp.dropout, upsampler=hp.upsampler)
        else:
            G = self.network("resnet-generator", channels=c, image_size=size, width=hp.g_width,
                             downsamplings=2, blocks=6, upsampler=hp.upsampler)
        from ganforge.plugin import get

        layers = hp.d_layers or get("networks", "patch-discriminator").layers_for(size)
        D = self.network("patch-discriminator", channels=2 * c, width=hp.d_width, layers=layers, norm=hp.d_norm)
        return {"G": G, "D": D}

    def schedule(self, step: int, total: int) -> None:
        self.adversarial = bool(self.hp.adversarial_weight) and step >= int(total * self.hp.adversarial_from)
        factor = linear_decay(step, total, self.hp.decay_from)
        for name, opt in self.optimizers.items():
            for group in opt.param_groups:
                group["lr"] = self.hp.lr * factor * self.lazy_ratio(name)

    def jittered(self, pairs: torch.Tensor) -> torch.Tensor:
        """Each pair enlarged by ``jitter`` and cropped back to its size at a random place (drawn
        for the global batch, so a distributed run crops as one process would)."""
        n, c, h, w = pairs.shape
        tall, wide = round(h * self.hp.jitter), round(w * self.hp.jitter)
        if tall <= h and wide <= w:
            return pairs
        large = F.interpolate(pairs, size=(tall, wide), mode="bilinear", align_corners=False)
        tops = self.sharded(n, lambda m: torch.randint(tall - h + 1, (m,), device=self.device))
        lefts = self.sharded(n, lambda m: torch.randint(wide - w + 1, (m,), device=self.device))
        rows = (tops[:, None] + torch.arange(h, device=self.device))[:, None, :, None]
        columns = (lefts[:, None] + torch.arange(w, device=self.device))[:, None, None, :]
        index = torch.arange(n, device=self.device)[:, None, None, None]
        return large[index, torch.arange(c, device=self.device)[None, :, None, None], rows, columns]

    def train_step(self, pairs, labels):
        G, nets_d = self.networks["G"], self.networks["D"]
        source, target = split_pair(self.jittered(pairs), self.direction)

        def D(output):  # D judges an output beside its input, through the run's augmentation
            return nets_d(self.augmented(torch.cat([source, output], 1)))

        fake = G(source)
        l1 = F.l1_loss(fake, target)
        if not self.adversarial:  # L1 alone (the ablation, or before adversarial_from): no D to train or fool
            self.update("G", self.hp.l1_weight * l1)
            return {"l1": l1.detach()}
        with self.scoring(target, fake) as (real, judged):
            real_scores, fake_scores = D(real), D(judged)
        self.observe_real(real_scores.flatten())
        # halved, as in the paper: D learns slower than G
        d_loss = self.d_objective([(real_scores, fake_scores, D, real, judged)], weight=0.5)
        self.update("D", d_loss)
        with self.frozen(nets_d):
            adversarial = self.g_adversarial(D(fake), lambda: D(target))
            self.update("G", self.hp.adversarial_weight * adversarial + self.hp.l1_weight * l1)
        return {"d_loss": d_loss.detach(), "g_adv": adversarial.detach(), "l1": l1.detach()}

    def evaluate(self):
        """L1 and PSNR of G's outputs against the targets of (up to 256 of) the test pairs."""
        test = self.held_out()
        source, target = split_pair(test.images[:256].to(self.device), self.direction)
        G = self.networks["G"]
        training = G.training
        G.eval()
        with torch.no_grad():
            output = torch.cat([G(source[i:i + 64]) for i in range(0, len(source), 64)]).float().clamp(-1, 1)
        G.train(training)
        mse = (output - target).pow(2).flatten(1).mean(1)
        psnr = 10 * torch.log10(4 / mse.clamp_min(1e-10))  # the range of [-1, 1] is 2: peak^2 = 4
        return {"test_l1": F.l1_loss(output, target).item(), "test_psnr": psnr.mean().item()}

    # Sample grids: rows of inputs, outputs and targets of held-out pairs.
    def fixed_inputs(self, n, generator):
        test = self.held_out()
        pick = torch.randperm(len(test), generator=generator)[:n]
        source, target = split_pair(test.images[pick], self.direction)
        return [source.to(self.device), target.to(self.device)], n

    def grid_labels(self, inputs, columns):
        return ["input", "output", "target"]

    def generate(self, inputs):
        source, target = inputs
        return torch.cat([source, self.networks["G"](source), target])
