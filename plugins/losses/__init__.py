"""Built-in adversarial losses."""

from ganforge.hookspecs import hookimpl


@hookimpl
def register_losses(register):
    register("minimax", "ganforge.plugins.losses.bce:MinimaxLoss",
             "Original GAN objective: G minimizes log(1 - D(G(z))) (saturates early in training)")
    register("non-saturating", "ganforge.plugins.losses.bce:NonSaturatingLoss",
             "G maximizes log D(G(z)) instead: same fixed point, strong gradients early (default)")
    register("least-squares", "ganforge.plugins.losses.margin:LeastSquaresLoss",
             "LSGAN: squared distance of D's raw score to the real/fake targets; no sigmoid")
    register("hinge", "ganforge.plugins.losses.margin:HingeLoss",
             "Hinge loss (geometric GAN, SAGAN): D pushes real scores above 1 and fake below -1")
    register("wgan-gp", "ganforge.plugins.losses.margin:WassersteinGPLoss",
             "Wasserstein loss with gradient penalty (WGAN-GP, weight 10 on interpolates)")
