"""The plugin's own tests: ganforge finds it, the loss meets ganforge's contract, and a GAN trains with it."""

import ganforge
from ganforge.plugin import get


def test_ganforge_discovers_the_plugin():
    assert any(p["name"] == "template" for p in ganforge.plugins())


def test_loss_conforms(check_loss):  # fixture from ganforge's pytest plugin
    check_loss(get("losses", "squared-hinge")())


def test_a_gan_trains_with_it(tmp_path):
    run = ganforge.train("dcgan", steps=2, batch_size=4, out=tmp_path, quiet=True,
                         params={"g_width": 4, "d_width": 4, "latent_dim": 8, "loss": "squared-hinge"})
    assert run.step == 2
