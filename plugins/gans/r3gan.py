"""R3GAN (Huang, Gokaslan, Kuleshov, Tompkin, NeurIPS 2024): the relativistic pairing loss
with the zero-centred gradient penalties R1 (at real images) and R2 (at generated ones),
both at every D step, and a plain modern ResNet for both players (``r3gan-generator``,
``r3gan-discriminator``), Adam with beta1 = 0.

Written from the paper: the loss and its regularization (section 3), the networks (section
4). The schedules follow its configurations: the learning rate and gamma decay from a start
to an end value, Adam's beta2 grows from 0.9 to 0.99 and the moving average's half-life from
0, each along half a cosine over the run's planned steps (its ``--steps``, or the plan of its
``--minutes``, which config.json keeps) or over ``decay_steps`` when set (then constant); they
depend on the step and that plan alone, so a resumed run follows them exactly. The learning
rate and gamma defaults are the paper's for 32 px (CIFAR-10); the network sizes are small, for
a CPU; the paper's own configurations are larger (wider networks, more blocks, much longer
runs).

R1 and R2 are the engine's, with gamma as their weight: applied at every D step
(``train_defaults``: ``r1_every`` 1) from the same forward pass of D as the loss
(``Recipe.scoring``), or lazily with ``--r1-every K``, with the Adam correction.
"""

from __future__ import annotations

import math

from ganforge.plugin import ADVERSARIAL_HPARAMS, AdversarialRecipe, Param


def cosine(start: float, end: float, progress: float) -> float:
    """From ``start`` at progress 0 to ``end`` at 1 along half a cosine."""
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


class R3GAN(AdversarialRecipe):
    """R3GAN: RpGAN + R1 + R2, modern ResNet networks, scheduled over the run."""

    gradient_penalties = True  # R1 and R2 at every D step: no DDP under --nproc (gradients averaged by hand)
    own_penalty_weights = ("gamma", "gamma_end")  # its R1 + R2 weights, which --r1 / --r2 would add to

    hparams = {
        "latent_dim": Param(int, 64, "size of the latent vector z", minimum=1),
        "image_size": Param(int, 28, "image height and width (16, 28, 32, 64, 128 or 256); unless set, the "
                                     "dataset's own", minimum=1),
        "g_width": Param(int, 16, "G's channels at full resolution, doubling towards the 4x4 basis", minimum=1),
        "d_width": Param(int, 16, "D's channels at full resolution, doubling with depth", minimum=1),
        "max_width": Param(int, 128, "the most channels any stage has", minimum=1),
        "blocks": Param(int, 1, "residual blocks per resolution, in G and in D", minimum=1),
        "expansion": Param(int, 2, "how much a block's 1x1 convolution widens its channels (the paper: 2)",
                           minimum=1),
        "group_size": Param(int, 16, "channels per group of a block's 3x3 grouped convolution (the paper "
                                     "fixes the channels per group, not the number of groups)", minimum=1),
        **ADVERSARIAL_HPARAMS,
        "loss": Param(str, "rpgan", "adversarial loss plugin: the relativistic pairing loss of the paper",
                      component="losses"),
        "gamma": Param(float, 0.05, "R1 and R2 weight at the start (the paper uses one gamma for both: 0.05 for "
                                    "CIFAR-10 at 32 px, 2 for FFHQ at 64 px)", minimum=0),
        "gamma_end": Param(float, 0.005, "R1 and R2 weight at the end of the schedule (the paper: a tenth of gamma)",
                           minimum=0),
        "lr": Param(float, 2e-4, "Adam learning rate of G and D at the start (the paper: 2e-4 at every batch size)",
                    minimum=0),
        "lr_end": Param(float, 5e-5, "learning rate at the end of the schedule (the paper: 5e-5)", minimum=0),
        "beta1": Param(float, 0.0, "Adam beta1 (the paper: 0)", minimum=0, below=1),
        "beta2_start": Param(float, 0.9, "Adam beta2 at the start of the schedule", minimum=0, below=1),
        "beta2": Param(float, 0.99, "Adam beta2 at the end of the schedule", minimum=0, below=1),
        "ema_half_life": Param(int, 5000, "half-life in images of G's moving average at the end of the schedule, "
                                          "growing from 0 (what G.ckpt, grids and evaluation use)", minimum=0),
        "decay_steps": Param(int, 0, "steps over which every schedule runs from its start value to its end "
                                     "value (half a cosine), then stays; 0: the run's planned steps (--steps, or "
                                     "the plan of --minutes), so the schedules span the run", minimum=0),
        "real_label": Param(float, 1.0, "not used by rpgan (no real-image target); kept for other losses",
                            minimum=0),
    }
    train_defaults = {"dataset": "mnist-5k", "batch_size": 64, "steps": 2000, "sample_every": 500,
                      "checkpoint_every": 1000, "log_every": 50, "r1_every": 1, "cfg": "auto"}

    @classmethod
    def auto_config(cls, facts) -> dict:
        """``--cfg auto`` (r3gan's default): gamma by image size as in the paper's configurations,
        and on a CPU a cost per image within about 2.5x dcgan's (docs/auto.md)."""
        if facts.image_size >= 64:
            why = "the paper's FFHQ 64 px configuration (gamma 2 -> 0.2)"
            chosen = {"gamma": (2.0, why), "gamma_end": (0.2, why)}
        elif facts.device == "cpu":
            why = ("a CPU run at 32 px or less: gamma 1 -> 0.1 with batch 16 and lr 2e-3 -> 5e-4 gave digit FID 136 "
                   "after 55,424 images, batch 64 with the paper's CIFAR-10 lr and gamma (2e-4 -> 5e-5, "
                   "0.05 -> 0.005) 923 (docs/auto.md)")
            chosen = {"gamma": (1.0, why), "gamma_end": (0.1, why)}
        else:
            why = "the paper's CIFAR-10 32 px configuration (gamma 0.05 -> 0.005)"
            chosen = {"gamma": (0.05, why), "gamma_end": (0.005, why)}
        if facts.device == "cpu":
            why = ("a CPU: batch 16 and lr 2e-3 -> 5e-4 (the paper's: 64, 2e-4 -> 5e-5) gave digit FID 136 against "
                   "923 after 55,424 images, and on the Twemoji folder at 64 px FID 62.2 against 308.3 after 39,000 "
                   "images in 10 minutes (docs/auto.md)")
            chosen.update({"lr": (2e-3, why), "lr_end": (5e-4, why), "batch_size": (16, why)})
            chosen["expansion"] = (1, "a CPU: blocks no wider inside than their stage (the paper: 2), which halves "
                                      "their arithmetic (benchmarks/step_cost.py)")
            chosen["precision"] = ("fp32", "a CPU: its grouped convolutions ran slower under bf16 autocast (0.86x "
                                           "fp32's images per second on an AMD EPYC with AVX512-BF16, docs/auto.md)")
            chosen["r1_every"] = (4, "a CPU: R1 and R2 lazily, every 4 steps times 4 with D's Adam corrected, instead "
                                     "of a double backward pass at every step (benchmarks/step_cost.py)")
        return chosen

    def build_networks(self):
        hp, data = self.hp, self.data
        shared = dict(channels=data.channels, image_size=data.image_size, max_width=hp.max_width, blocks=hp.blocks,
                      expansion=hp.expansion, group_size=hp.group_size,
                      num_classes=data.num_classes if self.conditional else 0)
        return {
            "G": self.network("r3gan-generator", latent_dim=hp.latent_dim, width=hp.g_width, **shared),
            "D": self.network("r3gan-discriminator", width=hp.d_width, **shared),
        }

    def progress(self, step: int, total: int) -> float:
        """How far the schedules are, 0 to 1: a function of the step and the run's plan alone."""
        return min(step / (self.hp.decay_steps or max(total, 1)), 1.0)

    def schedule(self, step: int, total: int) -> None:
        """Learning rate and gamma decay, beta2 grows, each along half a cosine (D's optimizer
        corrected for lazy R1/R2 when --r1-every is above 1)."""
        hp, progress = self.hp, self.progress(step, total)
        self.gamma = cosine(hp.gamma, hp.gamma_end, progress)
        lr, beta2 = cosine(hp.lr, hp.lr_end, progress), cosine(hp.beta2_start, hp.beta2, progress)
        for name, optimizer in self.optimizers.items():
            c = self.lazy_ratio(name)
            for group in optimizer.param_groups:
                group["lr"], group["betas"] = lr * c, (hp.beta1 ** c, beta2 ** c)

    def ema_half_life(self, step: int, total: int) -> float:
        return cosine(0.0, float(self.hp.ema_half_life), self.progress(step, total))

    def penalty_weights(self) -> tuple[float, float]:
        """R1 and R2 both weighted by this step's gamma; with gamma 0 (and gamma_end 0), the
        run's --r1 and --r2 (planning refuses both at once)."""
        if not (self.hp.gamma or self.hp.gamma_end):
            return super().penalty_weights()
        gamma = getattr(self, "gamma", self.hp.gamma)
        return gamma, gamma


class ConditionalR3GAN(R3GAN):
    """R3GAN with a class input: G embeds the class, D projects its embedding onto its features."""

    conditional = True
