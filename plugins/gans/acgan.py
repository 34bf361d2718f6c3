"""ACGAN (Odena et al.): G is class-conditional; D sees only the image and has two
heads on shared features, a real/fake logit and an auxiliary K-way classifier.
Both players' losses are the adversarial loss plus the class cross-entropy,
summed, as in Odena et al. (2017): D must name the class of real and fake images alike."""

import torch
import torch.nn.functional as F

from .cgan import ConditionalGAN


class ACGAN(ConditionalGAN):
    """Auxiliary-classifier GAN."""

    hparams = {**ConditionalGAN.hparams,
               "real_label": (1.0, "target for real images in D's loss (no label smoothing, as in Odena et al.: "
                                   "measured, 0.9 draws the class asked for slightly less often)"),
               "class_weight": (1.0, "weight of the auxiliary classification loss in both players' losses")}

    def build_networks(self):
        nets = super().build_networks()
        hp, data = self.hp, self.data
        nets["D"] = self.network("dcgan-discriminator", channels=data.channels, image_size=data.image_size,
                                 width=hp.d_width, kernel_size=hp.kernel_size, outputs=1 + data.num_classes,
                                 norm=hp.d_norm)
        return nets

    def heads(self, images):
        out = self.networks["D"](self.augmented(images))
        return out[:, 0], out[:, 1:]

    def train_step(self, images, labels):
        G, D = self.networks["G"], self.networks["D"]
        n, w = images.shape[0], self.hp.class_weight
        for _ in range(self.hp.d_steps):
            fake_labels = self.random_labels(n)
            with torch.no_grad():
                fake = G(self.latent(n), fake_labels)
            with self.scoring(images, fake) as (real, fake):
                real_src, real_cls = self.heads(real)
                fake_src, fake_cls = self.heads(fake)
            self.observe_real(real_src)
            d_cls = F.cross_entropy(real_cls, labels) + F.cross_entropy(fake_cls, fake_labels)
            critic = lambda x: self.heads(x)[0]  # noqa: E731
            d_loss = self.d_objective([(real_src, fake_src, critic, real, fake)], base=w * d_cls)
            self.update("D", d_loss)
        with self.frozen(D):
            for _ in range(self.hp.g_steps):
                fake_labels = self.random_labels(n)
                fake_src, fake_cls = self.heads(G(self.latent(n), fake_labels))
                g_loss = (self.g_adversarial(fake_src, lambda: self.heads(images)[0])
                          + w * F.cross_entropy(fake_cls, fake_labels))
                self.update("G", g_loss)
        real_acc = (real_cls.detach().argmax(1) == labels).float().mean()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "d_class_loss": d_cls.detach(),
                "real_class_acc": real_acc}
