"""ganforge-wgan: the Wasserstein GAN with weight clipping, as a ganforge plugin."""

from ganforge.plugin import hookimpl


@hookimpl
def register_gans(register):
    register("wgan", "ganforge_wgan.recipe:WGAN",
             "Wasserstein GAN (Arjovsky et al.): critic trained 5x per G step, weights clipped, RMSprop")


@hookimpl
def register_networks(register):
    register("wgan-generator", "ganforge_wgan.networks:Generator", "Small conv generator for 28x28 images")
    register("wgan-critic", "ganforge_wgan.networks:Critic", "Conv critic without batch norm or sigmoid")


@hookimpl
def register_losses(register):
    register("wasserstein", "ganforge_wgan.loss:WassersteinLoss", "Critic score difference (no penalty)")
