"""Latent-space tools: interpolation, arithmetic and inversion."""

import json

import pytest
import torch
from PIL import Image

import ganforge
from ganforge.errors import GanforgeError
from ganforge.tools.latent import invert_codes, slerp

from support.sizes import TINY_DCGAN
from support.cli import cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from ganforge.hooks import manager as plugin_manager

    plugin_manager.reset_plugins()
    out = {}
    for recipe in ("dcgan", "cgan"):
        out[recipe] = tmp_path_factory.mktemp("runs") / recipe
        ganforge.train(recipe, steps=2, batch_size=8, out=out[recipe], params=TINY_DCGAN, quiet=True)
    return out


def test_slerp_keeps_the_norm_and_ends_at_the_endpoints():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 100, generator=g), torch.randn(3, 100, generator=g)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    middle = slerp(a, b, 0.5)
    assert (middle.norm(dim=1) > 0.95 * torch.minimum(a.norm(dim=1), b.norm(dim=1))).all()
    shortest = torch.minimum(a.norm(dim=1), b.norm(dim=1))
    assert (((a + b) / 2).norm(dim=1) < 0.85 * shortest).all()  # what linear interpolation does instead


@pytest.mark.e2e
def test_interpolate_writes_one_walk_per_row_and_a_gif(runs, tmp_path):
    result = cli("interpolate", str(runs["dcgan"]), "-o", str(tmp_path / "walk.png"), "--rows", "3",
                     "--steps", "5", "--gif", str(tmp_path / "walk.gif"))
    assert result.returncode == 0, result.stderr
    grid = Image.open(tmp_path / "walk.png")
    # 28 px images with 2 px padding, enlarged 3 times; a row of column labels above, row labels to the left
    assert grid.size[1] == 3 * (3 * 30 + 2) + 22 and grid.size[0] > 3 * (5 * 30 + 2)
    gif = Image.open(tmp_path / "walk.gif")
    assert gif.n_frames == 5 + 3  # there and back


@pytest.mark.e2e
def test_walk_ends_are_the_generators_own_samples(runs, tmp_path):
    G = ganforge.load_generator(runs["dcgan"])
    ganforge.interpolate(runs["dcgan"], tmp_path / "w.png", rows=2, steps=4, seed=5, scale=1)
    import numpy as np

    grid = torch.from_numpy(np.array(Image.open(tmp_path / "w.png").convert("L"))).float() / 127.5 - 1
    first = G.generate(2, seed=5)[0]
    top, left = 22, grid.shape[1] - (4 * 30 + 2)  # below the column labels, right of the row labels
    cell = grid[None, top + 2:top + 30, left + 2:left + 30]  # the first image of the first walk
    assert (cell - first).abs().max() < 2 * 2 / 255  # equal up to 8-bit rounding


@pytest.mark.e2e
def test_interpolate_between_classes_needs_a_conditional_checkpoint(runs, tmp_path):
    written = ganforge.interpolate(runs["cgan"], tmp_path / "c.png", rows=2, steps=3, classes=True)
    assert written["grid"].exists()
    with pytest.raises(GanforgeError, match="class-conditional"):
        ganforge.interpolate(runs["dcgan"], tmp_path / "d.png", classes=True)
    onnx = ganforge.export(runs["cgan"], "onnx", tmp_path / "G.onnx").path
    with pytest.raises(GanforgeError, match="needs a G.ckpt"):
        ganforge.interpolate(onnx, tmp_path / "e.png", classes=True)
    assert ganforge.interpolate(onnx, tmp_path / "f.png", rows=1, steps=2)["grid"].exists()  # z walks work


@pytest.mark.e2e
def test_class_weights_equal_the_label_at_the_corners(runs):
    G = ganforge.load_generator(runs["cgan"])
    z = G.random_inputs(3, seed=0)[0]
    labels = torch.tensor([0, 4, 9])
    weights = torch.nn.functional.one_hot(labels, 10).float()
    assert torch.allclose(G(z, labels), G(z, weights), atol=1e-6)


@pytest.mark.e2e
def test_arithmetic_combines_group_means(runs, tmp_path, monkeypatch):
    import ganforge.tools.latent as latent

    G = ganforge.load_generator(runs["dcgan"])
    codes = {"A": torch.full((4, 16), 1.0), "B": torch.full((2, 16), 0.5), "C": torch.full((3, 16), -0.25)}
    monkeypatch.setattr(latent, "_group_codes", lambda G, spec, pool, seed, device: codes[spec])
    drawn = []
    original_call = type(G).__call__

    def recording_call(self, *inputs):
        drawn.append(inputs[0].clone())
        return original_call(self, *inputs)

    monkeypatch.setattr(type(G), "__call__", recording_call)
    path = ganforge.arithmetic(runs["dcgan"], "A - B + C", {"A": "A", "B": "B", "C": "C"}, tmp_path / "a.png",
                               samples=2, noise=0.0)
    assert path.exists()
    shown = drawn[-1]
    assert torch.allclose(shown[3], torch.full((16,), 1.0 - 0.5 - 0.25))  # A - B + C of the means
    assert torch.allclose(shown[4], shown[3]) and shown.shape[0] == 3 + 1 + 2


@pytest.mark.e2e
def test_arithmetic_cli_with_label_groups_and_bad_expressions(runs, tmp_path):
    from ganforge.evaluation.digits import load_digit_classifier

    # the digit the tiny generator draws most often, by the classifier that forms the groups
    common = load_digit_classifier().predict(ganforge.load_generator(runs["dcgan"]).generate(400, seed=0)).mode()
    c = int(common.values)
    result = cli("arithmetic", str(runs["dcgan"]), "A - B + A", "-g", f"A=label:{c}", "-g", f"B=label:{c}",
                     "--pool", "400", "-o", str(tmp_path / "a.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.png").exists()
    bad = cli("arithmetic", str(runs["dcgan"]), "A * B")
    assert bad.returncode == 1 and "joined by + and -" in bad.stderr
    conditional = cli("arithmetic", str(runs["cgan"]))
    assert conditional.returncode == 1 and "only input is z" in conditional.stderr


@pytest.mark.e2e
def test_inversion_recovers_a_code_the_generator_drew(runs):
    G = ganforge.load_generator(runs["dcgan"])
    target = G.generate(3, seed=11)
    random_guess = ((G.generate(3, seed=12) - target) ** 2).flatten(1).mean(1)
    _, recon, err = invert_codes(G, target, steps=150, restarts=2)
    assert recon.shape == target.shape
    assert (err < 0.25 * random_guess).all()


@pytest.mark.e2e
def test_invert_cli_compares_training_and_heldout_error(runs, tmp_path):
    images = tmp_path / "imgs"
    ganforge.sample(runs["dcgan"], 2, folder=images, seed=0)
    result = cli("invert", str(runs["dcgan"]), str(images), "--steps", "20", "--restarts", "1",
                     "--heldout", "8", "--json", "-o", str(tmp_path / "inv.png"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["errors"]) == 2 and out["train_mse"] > 0 and out["heldout_mse"] > 0
    assert out["heldout_over_train"] == pytest.approx(out["heldout_mse"] / out["train_mse"])
    assert Image.open(tmp_path / "inv.png").size == (3 * (4 * 30 + 2), 3 * 30 + 2 * 3 + 22)  # 2 originals, 2 inverted
    artifact = ganforge.export(runs["dcgan"], "onnx", tmp_path / "G.onnx").path
    refused = cli("invert", str(artifact), str(images))
    assert refused.returncode == 1 and "needs gradients" in refused.stderr
