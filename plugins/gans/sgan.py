"""Semi-supervised GAN (Odena 2016; Salimans et al. 2016): D no
longer answers "real or fake" but "which of the K classes, or fake" (K+1 outputs).
Only ``labeled`` training images keep their
labels (balanced over classes); every other real image is unlabeled and only has
to be called "not fake". The trained D is a classifier.

What G asks of D matters for that classifier. The notes tell G a class and have
it make D name that class (``g_objective=class``, a class-conditional G); on the bundled digits with 100 labels
that gave 68% held-out accuracy at best, falling as D overfits. Asking D only to
call fakes real (Salimans et al., ``g_objective=real``, the default, with an
unconditional G) gave 81% at 1,500 steps and still rising.
"""

from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.plugin import GanforgeError, Param, rundir

from .cgan import ConditionalGAN


def classify(D, images: torch.Tensor) -> torch.Tensor:
    """Class predictions of a trained SGAN discriminator (the fake class left out)."""
    return D(images)[:, :-1].argmax(1)


@torch.no_grad()
def accuracy(D, dataset, batch_size: int = 500) -> float:
    """Share of a labelled dataset's images that the discriminator puts in their class."""
    device = next(D.parameters()).device
    correct = 0
    for i in range(0, len(dataset), batch_size):
        predicted = classify(D, dataset.images[i:i + batch_size].to(device))
        correct += (predicted == dataset.labels[i:i + batch_size].to(device)).sum().item()
    return correct / len(dataset)


class SemiSupervisedGAN(ConditionalGAN):
    """Semi-supervised GAN with a K+1-way discriminator."""

    hparams = {k: v for k, v in ConditionalGAN.hparams.items() if k not in ("loss", "real_label")}
    train_defaults = {**ConditionalGAN.train_defaults, "steps": 2000, "eval_every": 500}
    no_loss_reason = "its discriminator is a K+1-way classifier trained with cross-entropy"
    hparams["labeled"] = Param(int, 100, "training images that keep their label (balanced over classes); the rest are unlabeled", minimum=1)
    hparams["g_objective"] = Param(str, "real", "what G asks of D: 'real' (call it any real class, Salimans et al.) or "
                                      "'class' (name the class G was told, as in Odena's semi-supervised GAN; worse for D)", choices=("real", "class"))

    def __init__(self, hp, data, context):
        super().__init__(hp, data, context)
        k = data.num_classes
        if not hasattr(data, "labels") or k < 2:
            raise GanforgeError("sgan needs a labelled in-memory dataset such as mnist-5k")
        if not k <= self.hp.labeled <= len(data):
            raise GanforgeError(f"labeled must be between {k} and {len(data)}, got {self.hp.labeled}")
        # The first labeled/K images of each class (deterministic, independent of the seed).
        per_class = self.hp.labeled // k
        picked = torch.cat([torch.nonzero(data.labels == c).flatten()[:per_class] for c in range(k)])
        self.labeled_images = data.images[picked].to(self.device)
        self.labeled_targets = data.labels[picked].to(self.device)

    @property
    def conditional(self):
        """G is told a class only when it must make D name that class."""
        return self.hp.g_objective == "class"

    def build_networks(self):
        nets = super().build_networks()
        hp, data = self.hp, self.data
        if not self.conditional:
            nets["G"] = self.network("dcgan-generator", latent_dim=hp.latent_dim, channels=data.channels,
                                     image_size=data.image_size, width=hp.g_width, kernel_size=hp.kernel_size,
                                     upsampler=hp.upsampler)
        nets["D"] = self.network("dcgan-discriminator", channels=data.channels, image_size=data.image_size,
                                 width=hp.d_width, kernel_size=hp.kernel_size, outputs=data.num_classes + 1,
                                 norm=hp.d_norm)
        return nets

    def train_step(self, images, labels):
        D = self.networks["D"]
        n, k = images.shape[0], self.data.num_classes
        fake_class = torch.full((n,), k, device=self.device)
        for _ in range(self.hp.d_steps):
            pick = self.sharded(n, lambda m: torch.randint(len(self.labeled_images), (m,), device=self.device))
            with torch.no_grad():
                fake = self.fake_batch(n, self.random_labels(n))
            seen = self.augmented  # every image D sees goes through the run's augmentation (--augment)
            supervised = F.cross_entropy(D(seen(self.labeled_images[pick])), self.labeled_targets[pick])

            def realness(out):  # D's real-vs-fake logit
                return out[:, :k].logsumexp(1) - out[:, k]

            with self.scoring(images, fake) as (real, fake):
                logits, fake_logits = D(seen(real)), D(seen(fake))
            self.observe_real(realness(logits))
            # unlabeled: -log(1 - p(fake)) = logsumexp(all) - logsumexp(real classes)
            unsupervised = (logits.logsumexp(1) - logits[:, :k].logsumexp(1)).mean()
            fake_loss = F.cross_entropy(fake_logits, fake_class)
            # D's loss is its own (classification, no loss plugin); d_objective adds R1/R2 when due
            critic = lambda x: realness(D(seen(x)))  # noqa: E731
            d_loss = self.d_objective([(realness(logits), realness(fake_logits), critic, real, fake)],
                                      base=supervised + unsupervised + fake_loss)
            self.update("D", d_loss)
        with self.frozen(D):
            for _ in range(self.hp.g_steps):
                fake_labels = self.random_labels(n)
                logits = D(self.augmented(self.fake_batch(n, fake_labels)))
                if self.hp.g_objective == "class":
                    g_loss = F.cross_entropy(logits, fake_labels)
                else:  # -log(1 - p(fake))
                    g_loss = (logits.logsumexp(1) - logits[:, :k].logsumexp(1)).mean()
                self.update("G", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "d_supervised": supervised.detach()}

    def evaluate(self):
        return {"test_accuracy": accuracy(self.networks["D"], self.held_out())}

    @classmethod
    def evaluate_run(cls, run_dir, config, device="cpu"):
        """The trained discriminator's accuracy on the held-out split of the run's dataset."""
        from ganforge.plugin import load_network
        from ganforge.plugin import get

        D_path = Path(run_dir) / rundir.network_file("D")
        engine = config.get("engine", {})
        if not D_path.is_file() or "dataset" not in engine:
            return {}
        test = get("datasets", engine["dataset"])(root=engine.get("data_root"), split="test")
        return {"d_test_accuracy": accuracy(load_network(D_path, device=device), test)}
