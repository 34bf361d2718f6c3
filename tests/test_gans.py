"""One end-to-end test per built-in GAN, and what makes each GAN what it is."""

import json

import numpy as np
import pytest
import torch

import ganforge
from ganforge.contracts.params import declared
from ganforge.hooks.manager import get, registry

from support.sizes import TINY_DCGAN, TINY_GAN
from support.cli import cli

TINY = {"gan": TINY_GAN}  # every other built-in GAN is built on the DCGAN networks


def test_list_gans_shows_the_nine_gans_of_the_notes_r3gan_and_pix2pix():
    builtin = {n for n in registry().names("gans") if registry().component("gans", n).plugin == "ganforge.builtins.gans"}
    assert builtin == {"gan", "dcgan", "lsgan", "cgan", "sgan", "acgan", "cyclegan",
                       "discogan", "stackgan", "r3gan", "r3gan-conditional", "pix2pix"}


@pytest.mark.e2e
@pytest.mark.parametrize("recipe", ["gan", "dcgan", "lsgan", "cgan", "acgan", "sgan"])
def test_gan_trains_checkpoints_resumes_and_samples(tmp_path, recipe):
    run = tmp_path / recipe
    params = TINY.get(recipe, TINY_DCGAN)
    ganforge.train(recipe, steps=3, batch_size=8, out=run, params=params, quiet=True, log_every=1)
    resumed = ganforge.train(recipe, steps=5, resume=run, quiet=True)
    assert resumed.step == 5
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
             if "eval" not in line]
    assert steps == [1, 2, 3, 4, 5]
    result = cli("sample", str(run), "-n", "6", "--npz", str(tmp_path / "x.npz"), "--seed", "0")
    assert result.returncode == 0, result.stderr
    x = np.load(tmp_path / "x.npz")["x"]
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.uint8
    G = ganforge.load_generator(run)
    images = G.generate(4, seed=0)
    low, high = G.output_range
    assert images.shape == (4, 1, 28, 28) and low <= images.min() and images.max() <= high
    assert torch.isfinite(images).all()


@pytest.mark.e2e
def test_lsgan_uses_least_squares_and_no_sigmoid(tmp_path):
    run = ganforge.train("lsgan", steps=1, batch_size=8, out=tmp_path, params=TINY_DCGAN, quiet=True)
    assert json.loads((tmp_path / "config.json").read_text())["params"]["loss"] == "least-squares"
    D = ganforge.load_network(run.run_dir / "D.ckpt")
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in D.modules())


@pytest.mark.e2e
@pytest.mark.parametrize("recipe,params", [("cgan", {}), ("acgan", {}), ("sgan", {"g_objective": "class"})])
def test_conditional_generators_draw_the_class_asked_for(tmp_path, recipe, params):
    ganforge.train(recipe, steps=2, batch_size=8, out=tmp_path, params={**TINY_DCGAN, **params}, quiet=True)
    G = ganforge.load_generator(tmp_path)
    assert [s["name"] for s in G.signature] == ["z", "label"]
    z = G.random_inputs(4, seed=0)[0]
    assert torch.equal(G.generate(4, seed=0, label=7), G(z, torch.full((4,), 7)))
    assert not torch.equal(G.generate(4, seed=0, label=7), G.generate(4, seed=0, label=1))
    per_class = G.generate_per_class(3, seed=0)
    assert per_class.shape == (30, 1, 28, 28)
    expected = G(G.random_inputs(30, seed=0)[0][21:24], torch.full((3,), 7))
    assert torch.allclose(per_class[21:24], expected, atol=1e-5)  # rows 21-23: the sevens
    out = tmp_path / "rows.png"
    assert cli("sample", str(tmp_path), "--per-class", "4", "-o", str(out)).returncode == 0
    from PIL import Image

    size = Image.open(out).size  # 4 columns, one row per class, enlarged 3 times, the classes named to the left
    assert size[1] == 3 * (10 * 30 + 2) and size[0] > 3 * (4 * 30 + 2)
    bad = cli("sample", str(tmp_path), "--label", "12")
    assert bad.returncode == 1 and "label must be in 0..9" in bad.stderr


@pytest.mark.e2e
def test_sample_label_on_unconditional_generator_is_a_clear_error(tiny_dcgan_run):
    result = cli("sample", str(tiny_dcgan_run), "--label", "3")
    assert result.returncode == 1 and "no input 'label'" in result.stderr
    result = cli("sample", str(tiny_dcgan_run), "--per-class", "3")
    assert result.returncode == 1 and "no class input" in result.stderr


@pytest.mark.e2e
def test_sgan_generator_is_conditional_only_for_the_notes_objective(tmp_path):
    ganforge.train("sgan", steps=1, batch_size=8, out=tmp_path, params=TINY_DCGAN, quiet=True)
    assert [s["name"] for s in ganforge.load_generator(tmp_path).signature] == ["z"]


@pytest.mark.e2e
def test_sgan_reports_held_out_accuracy_and_its_discriminator_classifies(tmp_path):
    run = ganforge.train("sgan", steps=30, batch_size=32, out=tmp_path, quiet=True, eval_every=15,
                         params={**TINY_DCGAN, "labeled": 50})
    evals = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines() if '"eval"' in line]
    assert [e["step"] for e in evals] == [15, 30]
    assert run.last_metrics["test_accuracy"] == evals[-1]["test_accuracy"]
    from ganforge.builtins.gans.sgan import classify

    D = ganforge.load_network(tmp_path / "D.ckpt")
    test = get("datasets", "mnist-5k")(split="test")
    with torch.no_grad():
        assert D(test.images[:5]).shape == (5, 11)
        accuracy = (classify(D, test.images) == test.labels).float().mean().item()
    assert accuracy == pytest.approx(evals[-1]["test_accuracy"])
    assert accuracy > 0.2  # 30 steps with 50 labels already beat chance (0.1)


def test_sgan_uses_only_the_labels_it_is_given(tmp_path):
    from ganforge.builtins.gans.sgan import SemiSupervisedGAN

    data = get("datasets", "mnist-5k")(split="train")
    hp = {k: p.default for k, p in declared(SemiSupervisedGAN.hparams).items()} | TINY_DCGAN | {"labeled": 30}
    model = SemiSupervisedGAN(hp, data, torch.device("cpu"))
    assert len(model.labeled_targets) == 30
    assert torch.bincount(model.labeled_targets).tolist() == [3] * 10


@pytest.mark.parametrize("args,message", [
    (["train", "sgan", "--loss", "hinge"], "sgan does not take a loss plugin"),
    (["train", "sgan", "--labeled", "5"], "labeled must be between 10 and 4500"),
    (["train", "cgan", "--dataset", "image-folder", "--data-root", "/nonexistent"], "does not exist"),
])
def test_bad_gan_options_are_clear_errors(args, message):
    result = cli(*args)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.e2e
@pytest.mark.parametrize("loss", ["minimax", "non-saturating", "least-squares", "hinge", "wgan-gp"])
def test_every_loss_trains_an_unconditional_and_a_conditional_gan(tmp_path, loss):
    for recipe in ("dcgan", "cgan"):
        run = ganforge.train(recipe, steps=2, batch_size=8, out=tmp_path / recipe, quiet=True, log_every=1,
                             params={**TINY_DCGAN, "loss": loss, "real_label": 1.0})
        assert np.isfinite(run.last_metrics["d_loss"])


@pytest.mark.e2e
def test_stackgan_trains_in_two_stages_and_draws_from_captions(tmp_path):
    params = {"g_width": 8, "d_width": 8, "latent_dim": 8}
    ganforge.train("stackgan", steps=3, batch_size=8, out=tmp_path, params=params, quiet=True, log_every=1)
    ganforge.train("stackgan", steps=4, resume=tmp_path, quiet=True)
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2, 3, 4] and all(m["kl"] >= 0 for m in metrics)
    G = ganforge.load_generator(tmp_path)
    assert [s["name"] for s in G.signature] == ["z", "text"]
    sevens = G.generate(3, seed=0, text="a thick handwritten seven")
    assert sevens.shape == (3, 1, 32, 32) and sevens.abs().max() <= 1
    assert not torch.equal(sevens, G.generate(3, seed=0, text="a thin handwritten one"))
    low, high, mu, logvar = G.module.stages(torch.randn(2, 8), G.random_inputs(2, text="a seven")[1])
    assert low.shape == (2, 1, 16, 16) and high.shape == (2, 1, 32, 32)  # Stage-I, then Stage-II at 2x
    result = cli("sample", str(tmp_path), "-n", "4", "--text", "thin three leaning left",
                     "--npz", str(tmp_path / "x.npz"))
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "x.npz")["x"].shape == (4, 1, 32, 32)
    for args, message in ((["--text", "purple bird"], "none of the words"), ([], "pass one (--text")):
        bad = cli("sample", str(tmp_path), *args)
        assert bad.returncode == 1 and message in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.e2e
def test_stackgan_discriminator_judges_each_pair_not_the_batch():
    """In training mode, D's score for (image, caption) must not depend on how the *other*
    captions of the batch are paired: with batch norm after the text it did, and D learned to
    spot shuffled-caption batches by their statistics instead of matching captions."""
    torch.manual_seed(0)
    D = get("networks", "text-discriminator")(text_dim=12, image_size=32, width=8).train()
    images, text = torch.randn(6, 1, 32, 32), torch.rand(6, 12)
    shuffled = text.clone()
    shuffled[1:] = text[1:].roll(1, dims=0)  # every caption but the first moves to another image
    assert torch.allclose(D(images, text)[0], D(images, shuffled)[0], atol=1e-6)
    assert not torch.allclose(D(images, text)[1:], D(images, shuffled)[1:])


def test_digit_captions_describe_class_thickness_and_slant():
    data = get("datasets", "digit-captions")(split="test", image_size=32)
    assert data.images.shape == (500, 1, 32, 32) and all(len(c) == 5 for c in data.captions)
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    for i in (0, 123, 499):
        c = int(data.classes[i])
        assert any(words[c] in cap for cap in data.captions[i]) and any(str(c) in cap for cap in data.captions[i])
    from ganforge.builtins.datasets.captions import describe

    digits = get("datasets", "mnist-5k")(split="train")
    thick, slant = describe(digits.images, digits.labels)
    ink = ((digits.images + 1) / 2).sum((1, 2, 3))
    is_thick = torch.tensor([t == "thick" for t in thick])
    is_thin = torch.tensor([t == "thin" for t in thick])
    assert ink[is_thick].mean() > 1.3 * ink[is_thin].mean()
    assert set(slant) == {"leaning left", "leaning right", "upright"}


def test_caption_folder_reads_cub_layout(tmp_path):
    from PIL import Image

    (tmp_path / "images" / "birds").mkdir(parents=True)
    (tmp_path / "text" / "birds").mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (40, 30), (i * 60, 0, 0)).save(tmp_path / "images" / "birds" / f"{i}.jpg")
        (tmp_path / "text" / "birds" / f"{i}.txt").write_text(f"a red bird number {i}\na small bird\n")
    data = get("datasets", "caption-folder")(root=tmp_path, image_size=32)
    assert data.images.shape == (4, 3, 32, 32) and data.captions[2] == ["a red bird number 2", "a small bird"]
    (tmp_path / "text" / "birds" / "3.txt").unlink()
    from ganforge.errors import GanforgeError

    with pytest.raises(GanforgeError, match="has no caption file"):
        get("datasets", "caption-folder")(root=tmp_path)


@pytest.mark.e2e
def test_a_run_that_evaluates_while_training_resumes_exactly(tmp_path):
    """Building the quality probe (--eval-every) draws its network's initial weights; it must not
    draw them from training's random state, or a resumed run (whose probe is built after the
    state is restored) goes another way. sgan evaluates every 500 steps by default."""
    settings = dict(batch_size=8, quiet=True, log_every=2, eval_every=2, params={**TINY_DCGAN})
    ganforge.train("sgan", steps=4, out=tmp_path / "whole", **settings)
    ganforge.train("sgan", steps=2, out=tmp_path / "parts", **settings)
    ganforge.train("sgan", steps=4, resume=tmp_path / "parts", quiet=True)
    whole, parts = (ganforge.load_generator(tmp_path / run).generate(2, seed=0) for run in ("whole", "parts"))
    assert torch.equal(whole, parts)
