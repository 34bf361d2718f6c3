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


def test_r3gan_networks_start_as_the_identity_and_resample_without_aliasing():
    from ganforge.builtins.networks.r3gan import R3GANDiscriminator, R3GANGenerator, Resample, ResidualBlock

    block = ResidualBlock(8, 2, 4, total_blocks=16)
    x = torch.randn(2, 8, 6, 6)
    assert torch.equal(block(x), x)  # fix-up: the last convolution starts at zero
    assert block.grouped.groups == 4  # 16 inner channels in groups of 4
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d)) for m in
                   list(R3GANGenerator(image_size=32).modules()) + list(R3GANDiscriminator(image_size=32).modules()))
    flat = torch.ones(1, 3, 8, 8)
    assert torch.allclose(Resample(3, up=True)(flat)[..., 1:-1, 1:-1], torch.ones(1, 3, 14, 14))  # mean kept
    assert torch.allclose(Resample(3, up=False)(flat)[..., 1:-1, 1:-1], torch.ones(1, 3, 2, 2))
    for size, channels in ((16, 3), (28, 1), (64, 4)):
        G, D = R3GANGenerator(latent_dim=8, channels=channels, image_size=size, width=4, max_width=8, group_size=4), \
            R3GANDiscriminator(channels=channels, image_size=size, width=4, max_width=8, group_size=4)
        images = G(torch.randn(2, 8))
        assert images.shape == (2, channels, size, size) and D(images).shape == (2,)
    with pytest.raises(ValueError, match="image sizes"):
        R3GANGenerator(image_size=48)


def test_r3gan_schedules_depend_on_the_step_only():
    from ganforge.builtins.gans.r3gan import cosine

    assert cosine(1.0, 0.1, 0) == 1.0 and cosine(1.0, 0.1, 1) == pytest.approx(0.1)
    assert cosine(1.0, 0.1, 0.5) == pytest.approx(0.55) and cosine(1.0, 0.1, 7) == pytest.approx(0.1)


@pytest.mark.e2e
def test_r3gan_trains_resumes_exactly_exports_and_samples(tmp_path):
    from ganforge.artifacts import checkpoint
    from support.sizes import TINY_R3GAN

    # decay_steps fixed: a run extended by --resume with more --steps follows the same schedules
    # (by default they span each run's own plan)
    common = dict(batch_size=8, params={**TINY_R3GAN, "decay_steps": 4}, quiet=True, checkpoint_every=100,
                  log_every=1)
    ganforge.train("r3gan", steps=4, out=tmp_path / "straight", **common)
    ganforge.train("r3gan", steps=2, out=tmp_path / "split", **common)
    ganforge.train("r3gan", steps=4, resume=tmp_path / "split", quiet=True)
    for net in ("G", "D"):
        a, b = (checkpoint.load(tmp_path / run / f"{net}.ckpt")[0] for run in ("straight", "split"))
        assert all(torch.equal(a[k], b[k]) for k in a), net
    config = json.loads((tmp_path / "straight" / "config.json").read_text())
    assert config["params"]["loss"] == "rpgan" and config["params"]["beta1"] == 0.0
    # verified against PyTorch by the exporter (AOTInductor: test_builtin_native_exporters_conform)
    assert ganforge.export(tmp_path / "straight", "onnx").path.is_file()
    grid = ganforge.sample(tmp_path / "straight" / "G.onnx", 4, out=tmp_path / "grid.png", seed=0)
    assert (tmp_path / "grid.png").is_file() and grid


def test_the_ramped_augmentation_follows_its_schedule_and_resumes():
    from ganforge.builtins.augmentations.diffaug import RampedAugment
    from ganforge.contracts.context import Statistics

    ramp, stats = RampedAugment("p=0.4,images=100"), Statistics()
    assert float(ramp.p) == 0.0
    ramp.observe(torch.zeros(50), stats)  # half way: half of p, on half a cosine
    assert float(ramp.p) == pytest.approx(0.2)
    again = RampedAugment("p=0.4,images=100")
    again.load_state_dict(ramp.state_dict())
    for augment in (ramp, again):
        augment.observe(torch.zeros(80), stats)
        assert float(augment.p) == pytest.approx(0.4)  # past the ramp: fixed
    with pytest.raises(ValueError, match="takes p and images"):
        RampedAugment("speed=3")


def test_r3gans_own_r1_r2_and_the_engines_never_add_up_silently(tmp_path):
    from support.cli import cli
    from support.sizes import TINY_R3GAN

    sizes = [f"-p{k}={v}" for k, v in TINY_R3GAN.items()]
    both = cli("train", "r3gan", "--r1", 1, "--r2", 0.5, "--steps", 1, "--out", tmp_path / "both", *sizes)
    assert both.returncode == 1 and len(both.stderr.splitlines()) == 1
    assert "r3gan applies R1 and R2 itself, weighted by -p gamma and -p gamma_end, and --r1 1 and --r2 0.5 " \
           "would add a second penalty" in both.stderr and not (tmp_path / "both").exists()
    alone = cli("train", "r3gan", "--r1", 1, "-p", "gamma=0", "-p", "gamma_end=0", "--steps", 1, "--out",
                tmp_path / "engine", "-q", *sizes)  # the engine's penalty alone, as the message says
    assert alone.returncode == 0, alone.stderr
