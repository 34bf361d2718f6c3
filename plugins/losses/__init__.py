"""Built-in adversarial losses."""

from ganforge.plugin import hookimpl


@hookimpl
def register_losses(register):
    register("minimax", "ganforge.builtins.losses.bce:MinimaxLoss",
             "Original GAN objective: G minimizes log(1 - D(G(z))) (saturates early in training)")
    register("non-saturating", "ganforge.builtins.losses.bce:NonSaturatingLoss",
             "G maximizes log D(G(z)) instead: same fixed point, strong gradients early (default)")
    register("least-squares", "ganforge.builtins.losses.margin:LeastSquaresLoss",
             "LSGAN: squared distance of D's raw score to the real/fake targets; no sigmoid")
    register("hinge", "ganforge.builtins.losses.margin:HingeLoss",
             "Hinge loss (geometric GAN, SAGAN): D pushes real scores above 1 and fake below -1")
    register("wgan-gp", "ganforge.builtins.losses.margin:WassersteinGPLoss",
             "Wasserstein loss with gradient penalty (WGAN-GP, weight 10 on interpolates)")
    register("relativistic", "ganforge.builtins.losses.relativistic:RelativisticAverageLoss",
             "Relativistic average GAN (RaSGAN): D judges reals against the average fake and back")
    register("rpgan", "ganforge.builtins.losses.relativistic:RelativisticPairingLoss",
             "Relativistic pairing GAN (RpGAN, R3GAN's loss): each real judged against one fake; use with --r1 and --r2")
