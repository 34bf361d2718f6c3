"""R1 and R2, one way for every recipe: from the loss's own forward pass of D when applied at
every step, lazily (StyleGAN2's separate update, times the interval, with Adam corrected)
otherwise; R3GAN's gamma is their weight, and its networks start at a unit scale."""

from types import SimpleNamespace

import pytest
import torch

from ganforge.contracts.context import TrainingContext
from ganforge.contracts.recipe import Recipe, parameters
from ganforge.hooks.manager import get

from support.sizes import TINY_DCGAN, TINY_R3GAN

DATA = SimpleNamespace(channels=1, image_size=28, num_classes=10)


def _recipe(name, params, r1=0.0, r2=0.0, every=1):
    cls = get("gans", name)
    hp = {k: p.check(params.get(k, p.default)) for k, p in parameters(cls).items()}
    hp["image_size"] = 28
    torch.manual_seed(0)
    return cls(hp, DATA, TrainingContext("cpu", r1=(r1, every), r2=r2))


def _forwards_per_step(recipe):
    """How often D ran forward in one train_step, and the logged values."""
    calls = []
    handle = recipe.built["D"].register_forward_hook(lambda *_: calls.append(1))
    torch.manual_seed(1)
    images, labels = torch.rand(8, 1, 28, 28) * 2 - 1, torch.randint(10, (8,))
    recipe.schedule(0, 10)
    try:
        values = recipe.train_step(images, labels)
    finally:
        handle.remove()
    return len(calls), values


@pytest.mark.parametrize("name, params, flags", [
    ("dcgan", TINY_DCGAN, dict(r1=1.0, r2=1.0)),
    ("r3gan", TINY_R3GAN, {}),  # its gamma: R1 + R2 at every step
])
def test_r1_and_r2_share_d_forward_pass_with_the_loss(name, params, flags):
    off = _recipe(name, {**params, **({"gamma": 0.0, "gamma_end": 0.0} if name == "r3gan" else {})})
    on = _recipe(name, params, every=1, **flags)
    assert on.penalty_weights() != (0.0, 0.0) and off.penalty_weights() == (0.0, 0.0)
    calls_off, values_off = _forwards_per_step(off)
    calls_on, values_on = _forwards_per_step(on)
    assert calls_on == calls_off  # no forward pass of D of the penalties' own
    assert values_on["d_loss"] > values_off["d_loss"]  # and the penalties were added all the same


class Linear(torch.nn.Module):
    """A critic whose gradient at every image is its weight: its penalty is known exactly."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((1, 2, 2), 3.0))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


def _bare(r1, r2, every, step, critic):
    recipe = Recipe.__new__(Recipe)
    recipe.hp, recipe.loss, recipe._lazy_penalties = SimpleNamespace(), None, []
    recipe.context = TrainingContext("cpu", r1=(r1, every), r2=r2)
    recipe.context.step = step
    recipe.optimizers = {"D": torch.optim.SGD(critic.parameters(), lr=1.0)}
    return recipe


def test_penalties_from_the_shared_scores_equal_a_forward_pass_of_their_own():
    critic, reals, fakes = Linear(), torch.zeros(4, 1, 2, 2), torch.ones(4, 1, 2, 2)
    zero = critic.w.sum() * 0
    recipe = _bare(1.0, 2.0, 1, 0, critic)
    with recipe.scoring(reals, fakes) as (real, fake):
        assert real.requires_grad and fake.requires_grad
        real_scores, fake_scores = critic(real), critic(fake)
    shared = recipe.d_objective([(real_scores, fake_scores, critic, real, fake)], base=zero)
    own = recipe.d_objective([(None, None, critic, reals, fakes)], base=zero)
    # ||grad||^2 = 4 pixels x 3^2 = 36: (1 + 2) / 2 x 36
    assert shared.item() == pytest.approx(1.5 * 36) and own.item() == pytest.approx(1.5 * 36)
    shared.backward()
    assert critic.w.grad is not None  # into D's weights


def test_lazy_r1_r2_is_an_update_of_its_own_times_the_interval():
    critic = Linear()
    images = torch.zeros(4, 1, 2, 2)
    for step, expected in ((9, 3.0), (8, 3.0 - 1.0 * 4 * 0.1 * 3.0)):  # due at multiples of 4
        recipe = _bare(0.1, 0.0, 4, step, critic)
        critic.w.data.fill_(3.0)
        with recipe.scoring(images, images) as (real, fake):
            assert not real.requires_grad  # lazy: nothing shared with the loss
        loss = recipe.d_objective([(None, None, critic, real, fake)], base=critic.w.sum() * 0)
        assert loss.item() == 0  # the loss's update holds no penalty ...
        recipe.update("D", loss)
        # ... the second update does: SGD at lr 1 down k x gamma x w (the gradient of gamma/2 ||w||^2)
        assert critic.w.detach().flatten().tolist() == pytest.approx([expected] * 4)


def test_lazy_regularization_corrects_d_adam_as_stylegan2_does():
    lazy = _recipe("dcgan", {**TINY_DCGAN, "lr": 0.002, "beta1": 0.5, "beta2": 0.9}, r1=1.0, every=4)
    c = 4 / 5
    (d_group,), (g_group,) = lazy.optimizers["D"].param_groups, lazy.optimizers["G"].param_groups
    assert d_group["lr"] == pytest.approx(0.002 * c)
    assert d_group["betas"] == pytest.approx((0.5 ** c, 0.9 ** c))
    assert g_group["lr"] == 0.002 and g_group["betas"] == (0.5, 0.9)  # G has no penalty
    plain = _recipe("dcgan", {**TINY_DCGAN, "lr": 0.002}, r1=1.0, every=1)
    assert plain.optimizers["D"].param_groups[0]["lr"] == 0.002  # at every step: no extra update
    # a recipe's own schedule keeps the correction (R3GAN sets lr and betas at every step)
    r3 = _recipe("r3gan", TINY_R3GAN, every=4)
    r3.schedule(0, 100)
    assert r3.optimizers["D"].param_groups[0]["lr"] == pytest.approx(r3.hp.lr * c)
    assert r3.optimizers["G"].param_groups[0]["lr"] == pytest.approx(r3.hp.lr)


def test_lazy_steps_count_k_plus_one_updates_of_d_per_k_batches():
    recipe = _recipe("dcgan", TINY_DCGAN, r1=1.0, r2=1.0, every=4)
    steps = []
    recipe.optimizers["D"].register_step_post_hook(lambda *_: steps.append(recipe.context.step))
    images, labels = torch.rand(8, 1, 28, 28) * 2 - 1, torch.randint(10, (8,))
    for step in range(8):
        recipe.context.step = step
        recipe.train_step(images, labels)
    assert steps == [0, 0, 1, 2, 3, 4, 4, 5, 6, 7]


def test_r3gan_starts_at_a_unit_output_scale():
    from ganforge.builtins.networks.r3gan import R3GANDiscriminator, R3GANGenerator

    torch.manual_seed(0)
    for size, channels in ((28, 1), (32, 3), (64, 3)):
        G = R3GANGenerator(latent_dim=64, channels=channels, image_size=size, width=16, max_width=128)
        D = R3GANDiscriminator(channels=channels, image_size=size, width=16, max_width=128)
        with torch.no_grad():
            images = G(torch.randn(256, 64))
            smooth = torch.nn.functional.interpolate(torch.randn(256, channels, 4, 4), size=size, mode="bilinear")
            scores = D(smooth / smooth.std())
        # variance-preserving layers around identity blocks: neither player starts near zero
        assert 0.3 < images.std().item() < 3, size
        assert 0.1 < scores.std().item() < 10, size
        layers = [m for m in (*G.modules(), *D.modules()) if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        outside = [m for m in layers if m.bias is not None and m.kernel_size != (3, 3) and m.weight.any()]
        assert all(m.bias is None or not m.bias.any() for m in outside)


def test_show_says_what_regularizes_d():
    import ganforge

    assert "at every D step, from the loss's forward pass" in ganforge.show("r3gan")["regularization"]
    assert "refused unless gamma=0 and gamma_end=0" in ganforge.show("r3gan")["regularization"]
    assert ganforge.show("gan")["regularization"].startswith("no R1/R2")
    assert ganforge.show("dcgan")["regularization"].startswith("R1 1, every 16 steps")  # its defaults
    from ganforge.contracts.recipe import regularization

    lazy = regularization(get("gans", "dcgan"), {}, {"r1": 1.0, "r2": 0.0, "r1_every": 4})
    assert lazy == "R1 1, every 4 steps as an update of D's own, times 4, D's Adam lr and betas corrected by 4/5"


def test_a_recipe_still_overriding_d_regularization_is_warned_and_its_term_kept():
    base = _recipe("dcgan", TINY_DCGAN)

    class Old(type(base)):
        def d_regularization(self, critic, real_images, fake_images):
            return torch.tensor(100.0)

    old = _recipe("dcgan", TINY_DCGAN)
    old.__class__ = Old
    with pytest.warns(DeprecationWarning, match="Old.d_regularization is deprecated and will be removed in ganforge"):
        _, with_term = _forwards_per_step(old)
    _, without = _forwards_per_step(base)
    assert with_term["d_loss"].item() == pytest.approx(without["d_loss"].item() + 100.0, rel=1e-4)
