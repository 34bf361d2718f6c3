"""R3GAN's loss and regularizers, usable by every adversarial recipe: the relativistic pairing
loss (``--loss rpgan``) and the R2 penalty (``--r2``) beside R1."""

import json

import pytest
import torch
import torch.nn.functional as F

import ganforge
from ganforge.builtins.losses.relativistic import RelativisticPairingLoss
from ganforge.contracts.context import TrainingContext

from support.sizes import TINY_DCGAN


def test_rpgan_pairs_each_real_with_one_fake():
    loss = RelativisticPairingLoss()
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.0, 1.0, 0.5])
    assert loss.d_loss(real, fake).item() == pytest.approx(F.softplus(-(real - fake)).mean().item())
    assert loss.g_loss(fake, real).item() == pytest.approx(F.softplus(-(fake - real)).mean().item())
    # Pairing, not averaging: the same scores paired otherwise give another loss.
    assert loss.d_loss(real, fake.flip(0)).item() != pytest.approx(loss.d_loss(real, fake).item())
    with pytest.raises(ValueError, match="one to one"):
        loss.d_loss(real, fake[:2])
    with pytest.raises(ValueError, match="needs D's scores on real images"):
        loss.g_loss(fake)


class Linear(torch.nn.Module):
    """A critic whose gradient at every image is its weight: the penalty is known exactly."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((1, 2, 2), 3.0))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


def _recipe(r1, r2, every, step):
    from ganforge.contracts.recipe import Recipe

    recipe = Recipe.__new__(Recipe)
    recipe.context = TrainingContext("cpu", r1=(r1, every), r2=r2)
    recipe.context.step = step
    return recipe


def test_r2_is_r1_at_the_generated_images_at_the_same_steps():
    critic, reals, fakes = Linear(), torch.zeros(4, 1, 2, 2), torch.ones(4, 1, 2, 2, requires_grad=True)
    # ||grad||^2 = 4 pixels x 3^2 = 36: gamma / 2 x 36 x the interval.
    assert _recipe(0.0, 2.0, 4, 8).r2_penalty(critic, fakes).item() == pytest.approx(2.0 / 2 * 36 * 4)
    assert _recipe(0.0, 2.0, 4, 9).r2_penalty(critic, fakes) is None  # not due at this step
    assert _recipe(1.0, 0.0, 1, 0).r2_penalty(critic, fakes) is None  # off
    penalty = _recipe(0.0, 1.0, 1, 0).r2_penalty(critic, fakes)
    penalty.backward()
    assert fakes.grad is None and critic.w.grad is not None  # through D only, never into G's fakes


@pytest.mark.e2e
def test_rpgan_with_r1_and_r2_trains_the_dcgan_family_and_the_penalty_counts(tmp_path):
    from support.cli import cli

    runs = {}
    for name, extra in (("rpgan", []), ("rpgan-r1-r2", ["--r1", "1", "--r2", "1", "--r1-every", "1"])):
        result = cli("train", "dcgan", "--loss", "rpgan", *extra, "--steps", "3", "-b", "8",
                     *[f"-p{k}={v}" for k, v in TINY_DCGAN.items()], "--out", tmp_path / name, "-q")
        assert result.returncode == 0, result.stderr
        runs[name] = ganforge.load_network(tmp_path / name / "D.ckpt").state_dict()
    config = json.loads((tmp_path / "rpgan-r1-r2" / "config.json").read_text())
    assert config["params"]["loss"] == "rpgan" and config["engine"]["r2"] == 1.0
    assert any(not torch.equal(runs["rpgan"][k], runs["rpgan-r1-r2"][k]) for k in runs["rpgan"])
    lsgan = cli("train", "lsgan", "--loss", "rpgan", "--r2", "0.5", "--steps", "2", "-b", "8",
                *[f"-p{k}={v}" for k, v in TINY_DCGAN.items()], "--out", tmp_path / "lsgan", "-q")
    assert lsgan.returncode == 0, lsgan.stderr
