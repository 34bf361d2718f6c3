"""StackGAN (Zhang et al.): text to image in two stages.

A text encoder (a network plugin) embeds each caption; conditioning augmentation
draws the condition from a Gaussian around the embedding (with a KL term keeping
it near N(0, I), so few captions still give a smooth condition space). Stage-I
draws a low-resolution image from noise and the condition; Stage-II refines it
to full resolution, seeing the Stage-I image and the condition again. Each stage
has a matching-aware discriminator: a real image with another image's caption
counts as fake, so G must draw what the caption says. Both stages train jointly
here (the paper trains Stage-I first, then Stage-II on a frozen Stage-I).
"""

import torch
import torch.nn.functional as F

from ganforge.plugin import GanforgeError, get, random_inputs, Recipe


def build_text_encoder(name: str, captions):
    """A text encoder and the keyword arguments that rebuild it; encoders that learn a
    vocabulary from the captions offer ``vocabulary_of``."""
    cls = get("networks", name)
    kwargs = {"vocabulary": cls.vocabulary_of(captions)} if hasattr(cls, "vocabulary_of") else {}
    return cls(**kwargs), kwargs


class StackGAN(Recipe):
    """Two-stage text-to-image GAN."""

    image_size_follows_data = False  # the two stages draw 16 and 32 px: the dataset resizes to them

    hparams = {
        "latent_dim": (64, "size of the noise vector z"),
        "condition_dim": (32, "size of the augmented text condition c"),
        "image_size": (32, "final image size; Stage-I draws half of it"),
        "g_width": (32, "generator channels"),
        "d_width": (32, "discriminator channels"),
        "d_norm": ("batch", "the discriminators' normalization: batch (the paper's), spectral (Miyato et al. "
                            "2018) or none"),
        "kl_weight": (0.02, "weight of the conditioning augmentation's KL term; the paper's 1 pulled c back to "
                            "pure noise on these short captions"),
        "text_encoder": ("bag-of-words-text-encoder", "text encoder network plugin"),
        "upsampler": ("transposed-conv", "the generator's upsampling layer"),
        "loss": ("non-saturating", "adversarial loss plugin"),
        "real_label": (1.0, "target for real images in D's loss"),
        "lr": (1e-3, "Adam learning rate (the paper's 2e-4 draws the class a caption names a third of the "
                     "time after the default steps, 1e-3 every time: examples/stackgan-paper.toml)"),
        "beta1": (0.5, "Adam beta1"),
        "beta2": (0.999, "Adam beta2"),
    }
    components = {**Recipe.components, "text_encoder": "networks"}
    train_defaults = {"dataset": "digit-captions", "batch_size": 64, "steps": 2000, "grid_size": 80,
                      "sample_every": 250, "checkpoint_every": 500, "log_every": 50}

    def __init__(self, hp, data, context):
        if not hasattr(data, "captions"):
            raise GanforgeError("stackgan needs an image-caption dataset (digit-captions or caption-folder)")
        self.encoder, self.encoder_kwargs = build_text_encoder(hp["text_encoder"],
                                                               [c for cs in data.captions for c in cs])
        super().__init__(hp, data, context)
        # Every caption embedded once; an image's captions are rows start[i] .. start[i] + count[i] - 1.
        counts = torch.tensor([len(c) for c in data.captions])
        self.caption_start = (torch.cumsum(counts, 0) - counts).to(self.device)
        self.caption_count = counts.to(self.device)
        self.caption_vectors = self.encoder.encode([c for cs in data.captions for c in cs]).to(self.device)

    def build_networks(self):
        hp, c = self.hp, self.data.channels
        text_dim = self.encoder.dim
        return {
            "G": self.network("stackgan-generator", text_dim=text_dim, latent_dim=hp.latent_dim,
                              condition_dim=hp.condition_dim, channels=c, image_size=hp.image_size,
                              width=hp.g_width, upsampler=hp.upsampler, text_encoder=hp.text_encoder,
                              text_encoder_kwargs=self.encoder_kwargs),
            "D1": self.network("text-discriminator", text_dim=text_dim, channels=c, image_size=hp.image_size // 2,
                               width=hp.d_width, norm=hp.d_norm),
            "D2": self.network("text-discriminator", text_dim=text_dim, channels=c, image_size=hp.image_size,
                               width=hp.d_width, norm=hp.d_norm),
        }

    def build_optimizers(self):
        return {"G": self.adam("G"), "D": self.adam("D1", "D2")}

    def captions_for(self, index: torch.Tensor) -> torch.Tensor:
        """One random caption embedding for each image index."""
        pick = (self.sharded(len(index), lambda m: torch.rand(m, device=self.device))
                * self.caption_count[index]).long()
        return self.caption_vectors[self.caption_start[index] + pick]

    def train_step(self, images, index):
        G, nets1, nets2 = self.networks["G"], self.networks["D1"], self.networks["D2"]

        def D1(x, caption):  # both stages' D see images through the run's augmentation (--augment)
            return nets1(self.augmented(x), caption)

        def D2(x, caption):
            return nets2(self.augmented(x), caption)

        text = self.captions_for(index)
        wrong = text.roll(1, dims=0)  # another image's caption
        real_low = F.interpolate(images, scale_factor=0.5, mode="bilinear", antialias=True)
        z = self.latent(len(images))
        low, high, mu, logvar = G(z, text, all_stages=True)

        critics = []
        for D, real, fake in ((D1, real_low, low), (D2, images, high)):
            with self.scoring(real, fake) as (real, fake):
                # matching-aware: fake images and real images with the wrong caption are both "fake"
                fake_scores = torch.cat([D(fake, text), D(real, wrong)])
                real_scores = D(real, text)
            self.observe_real(real_scores)
            critics.append((real_scores, fake_scores, lambda x, D=D: D(x, text), real, fake))
        d_loss = self.d_objective(critics)  # the loss's penalty (WGAN-GP) and R1 for both stages
        self.update("D", d_loss)

        with self.frozen(nets1, nets2):
            adversarial = (self.g_adversarial(D1(low, text), lambda: D1(real_low, text))
                           + self.g_adversarial(D2(high, text), lambda: D2(images, text)))
            kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1).mean()
            g_loss = adversarial + self.hp.kl_weight * kl
            self.update("G", g_loss)
        return {"d_loss": d_loss.detach(), "g_adv": adversarial.detach(), "kl": kl.detach()}

    def fixed_inputs(self, n, generator):
        """One row per held-out caption (the first caption of an image of each class)."""
        test = self.held_out()
        classes = getattr(test, "classes", torch.zeros(len(test), dtype=torch.long))
        rows = [int(torch.nonzero(classes == c).flatten()[0]) for c in classes.unique().tolist()][:10]
        per_row = max(n // len(rows), 1)
        self.grid_captions = [test.captions[i][0] for i in rows]
        text = self.encoder.encode(self.grid_captions).repeat_interleave(per_row, 0).to(self.device)
        z = random_inputs(self.generator.signature[:1], len(text), generator, self.device)[0]
        return [z, text], per_row

    def grid_labels(self, inputs, columns):
        return self.grid_captions  # one held-out caption per row
