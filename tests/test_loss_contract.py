"""The loss contract: G's loss gets D's scores on the real batch when the loss asks for them
(relativistic losses), in every built-in recipe with a real/fake discriminator, and only then."""

import pytest
import torch

import ganforge
from ganforge.plugin import hookimpl
from ganforge.builtins.losses.relativistic import RelativisticAverageLoss
from ganforge.builtins.losses.bce import NonSaturatingLoss

from support.sizes import TINY_DCGAN

SEEN: list = []


class SpyRelativistic(RelativisticAverageLoss):
    def g_loss(self, fake, real=None):
        SEEN.append(("relativistic", None if real is None else (real.shape[0] == fake.shape[0], real.requires_grad)))
        return super().g_loss(fake, real)


class SpyPlain(NonSaturatingLoss):
    def g_loss(self, fake, real=None):
        SEEN.append(("plain", real))
        return super().g_loss(fake, real)


class Spies:
    @hookimpl
    def register_losses(self, register):
        register("spy-relativistic", SpyRelativistic)
        register("spy-plain", SpyPlain)


RECIPES = {
    "dcgan": TINY_DCGAN,
    "dcgan-d2": {**TINY_DCGAN, "d_steps": 2, "g_steps": 2},  # the path that draws fresh fakes
    "cgan": TINY_DCGAN,
    "acgan": TINY_DCGAN,
    "cyclegan": {"g_width": 4, "d_width": 4},
    "stackgan": {"g_width": 8, "d_width": 8, "latent_dim": 8},
}


@pytest.mark.e2e
@pytest.mark.parametrize("run", list(RECIPES))
def test_every_recipe_gives_relativistic_losses_the_real_scores(run, add_plugin, tmp_path):
    add_plugin(Spies(), name="spies")
    recipe = run.split("-")[0]
    SEEN.clear()
    ganforge.train(recipe, steps=1, batch_size=4, out=tmp_path / "rel", quiet=True,
                   params={**RECIPES[run], "loss": "spy-relativistic"})
    assert SEEN and all(real == (True, False) for kind, real in SEEN), SEEN  # same batch, no gradient
    SEEN.clear()
    ganforge.train(recipe, steps=1, batch_size=4, out=tmp_path / "plain", quiet=True,
                   params={**RECIPES[run], "loss": "spy-plain"})
    assert SEEN and all(real is None for kind, real in SEEN), "no extra pass of D for a loss that does not ask"


@pytest.mark.e2e
def test_relativistic_loss_trains_dcgan_from_the_command_line(tmp_path):
    from support.cli import cli

    result = cli("train", "dcgan", "--loss", "relativistic", "--steps", "3", "-b", "4", "-p", "g_width=8",
                 "-p", "d_width=8", "--out", str(tmp_path / "run"), "-q")
    assert result.returncode == 0, result.stderr
    assert torch.isfinite(ganforge.load_generator(tmp_path / "run").generate(2)).all()


PENALTY = 1000.0
PENALTY_CALLS: list = []


class SpyPenalty(NonSaturatingLoss):
    """A loss whose penalty is a large constant that depends on D (so it has a gradient):
    if a recipe forgets the penalty, the logged d_loss shows it."""

    hparams = {"spy_weight": (1.0, "scales the spy's penalty")}

    def __init__(self, real_label=1.0, spy_weight=1.0):
        super().__init__(real_label)
        self.spy_weight = spy_weight

    def penalty(self, critic, real_images, fake_images):
        PENALTY_CALLS.append((fake_images.requires_grad, real_images.shape == fake_images.shape))
        return self.spy_weight * (PENALTY + 0.0 * critic(real_images).float().sum())


class PenaltySpy:
    @hookimpl
    def register_losses(self, register):
        register("spy-penalty", SpyPenalty)


# Every built-in recipe with an adversarial loss plugin (sgan's D is a classifier and has none);
# translation recipes halve both discriminators' losses, penalties included.
PENALTY_RECIPES = {**RECIPES, "discogan": {"g_width": 4, "d_width": 4}, "lsgan": TINY_DCGAN}


@pytest.mark.e2e
@pytest.mark.parametrize("run", list(PENALTY_RECIPES))
def test_every_recipe_adds_the_losses_penalty_to_ds_loss(run, add_plugin, tmp_path):
    add_plugin(PenaltySpy(), name="penalty-spy")
    recipe = run.split("-")[0]
    PENALTY_CALLS.clear()
    result = ganforge.train(recipe, steps=1, batch_size=4, out=tmp_path / "run", quiet=True, log_every=1,
                            params={**PENALTY_RECIPES[run], "loss": "spy-penalty", "spy_weight": 2.0})
    assert PENALTY_CALLS and all(call == (False, True) for call in PENALTY_CALLS), PENALTY_CALLS  # fakes detached
    assert result.last_metrics["d_loss"] >= 2 * PENALTY * 0.99  # the loss option reached the loss, and d_loss has it


def test_a_losss_options_are_recipe_parameters(add_plugin):
    add_plugin(PenaltySpy(), name="penalty-spy")
    shown = ganforge.show("dcgan")["params"]
    assert "gp_weight" not in shown  # the default loss has no options
    from ganforge.training.config import resolve
    from ganforge.hooks.manager import get

    config = resolve(get("gans", "dcgan"), {}, {"loss": "wgan-gp", "gp_weight": "5"})
    assert config["params"]["gp_weight"] == 5.0
    with pytest.raises(ganforge.GanforgeError, match="gp_weight' must be at least 0"):
        resolve(get("gans", "dcgan"), {}, {"loss": "wgan-gp", "gp_weight": "-1"})
    with pytest.raises(ganforge.GanforgeError, match="unknown setting 'gp_weight'"):
        resolve(get("gans", "dcgan"), {}, {"gp_weight": "5"})  # the default loss takes no gp_weight
