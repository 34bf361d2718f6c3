"""The loss contract: G's loss gets D's scores on the real batch when the loss asks for them
(relativistic losses), in every built-in recipe with a real/fake discriminator, and only then."""

import pytest
import torch

import ganforge
from ganforge import hookimpl
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
