"""Built-in adversarial losses."""

from ganforge.hookspecs import hookimpl


@hookimpl
def register_losses(register):
    register("minimax", "ganforge.plugins.losses.bce:MinimaxLoss",
             "Original GAN objective: G minimizes log(1 - D(G(z))) (saturates early in training)")
    register("non-saturating", "ganforge.plugins.losses.bce:NonSaturatingLoss",
             "G maximizes log D(G(z)) instead: same fixed point, strong gradients early (default)")
