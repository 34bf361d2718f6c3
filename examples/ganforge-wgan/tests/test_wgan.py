"""ganforge-wgan's own tests, using ganforge's conformance fixtures."""

import ganforge
from ganforge.plugin import get

TINY = {"latent_dim": 8, "g_width": 4, "d_width": 4, "n_critic": 2}


def test_plugin_is_discovered_and_registers_its_components():
    found = {p["name"]: p for p in ganforge.plugins()}
    assert found["wgan"]["registered"] == {"networks": ["wgan-generator", "wgan-critic"], "losses": ["wasserstein"],
                                           "gans": ["wgan"]}


def test_generator_conforms(check_generator):
    check_generator(get("networks", "wgan-generator")(latent_dim=8, width=4))


def test_loss_conforms(check_loss):
    check_loss(get("losses", "wasserstein")())


def test_training_clips_the_critic_and_resumes(tmp_path):
    ganforge.train("wgan", steps=2, batch_size=8, out=tmp_path, params=TINY, quiet=True)
    assert ganforge.train("wgan", steps=3, resume=tmp_path, quiet=True).step == 3
    critic = ganforge.load_network(tmp_path / "D.ckpt")
    assert max(p.abs().max().item() for p in critic.parameters()) <= 0.01 + 1e-7
    assert ganforge.load_generator(tmp_path).generate(4, seed=0).shape == (4, 1, 28, 28)
