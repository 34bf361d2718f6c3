"""Sampling from a trained generator: grid, folder, array file; Python and CLI."""

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge

from support.cli import cli

pytestmark = pytest.mark.e2e  # every test here trains, exports or starts processes


def test_sample_all_three_output_forms_from_the_cli(tmp_path, tiny_dcgan_run):
    result = cli("sample", str(tiny_dcgan_run / "G.ckpt"), "-n", "10", "-o", str(tmp_path / "grid.png"),
                     "--dir", str(tmp_path / "each"), "--npz", str(tmp_path / "x.npz"), "--seed", "3")
    assert result.returncode == 0, result.stderr
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (3 * (4 * 30 + 2), 3 * (3 * 30 + 2))  # 10 images: 4 per row, 3 rows, enlarged 3 times
    files = sorted((tmp_path / "each").iterdir())
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(10)]
    assert Image.open(files[0]).size == (28, 28)
    x = np.load(tmp_path / "x.npz")["x"]
    assert x.shape == (10, 1, 28, 28) and x.dtype == np.uint8
    assert np.array_equal(np.asarray(Image.open(files[7])), x[7, 0])


def test_seed_makes_samples_reproducible(tmp_path, tiny_dcgan_run):
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        cli("sample", str(tiny_dcgan_run), "-n", "4", "--npz", str(tmp_path / f"{name}.npz"), "--seed", seed)
    a, b, c = (np.load(tmp_path / f"{n}.npz")["x"] for n in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_load_generator_from_python(tiny_dcgan_run):
    G = ganforge.load_generator(tiny_dcgan_run / "G.ckpt")
    z = torch.randn(3, 16)
    out = G(z)
    assert out.shape == (3, 1, 28, 28)
    assert torch.equal(out, G(z))  # eval mode: batch norm uses running statistics
    assert torch.equal(G.generate(6, seed=0, batch_size=4), G.generate(6, seed=0))
    written = ganforge.sample(tiny_dcgan_run, 4, out=tiny_dcgan_run / "py.png")
    assert written["grid"].exists()


def test_sample_rejects_bad_counts_and_inputs(tiny_dcgan_run):
    result = cli("sample", str(tiny_dcgan_run), "-n", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    G = ganforge.load_generator(tiny_dcgan_run)
    import pytest

    from ganforge.errors import GanforgeError

    with pytest.raises(GanforgeError, match="no input 'label'"):
        G.generate(2, label=3)


def test_existing_outputs_are_kept_unless_forced(tmp_path, tiny_dcgan_run):
    grid, folder = tmp_path / "grid.png", tmp_path / "each"
    assert cli("sample", tiny_dcgan_run, "-n", 4, "-o", grid, "--dir", folder, "--seed", 0).returncode == 0
    before = grid.read_bytes()
    again = cli("sample", tiny_dcgan_run, "-n", 4, "-o", grid, "--seed", 1)
    assert again.returncode == 1 and "already exists; pass --force" in again.stderr and grid.read_bytes() == before
    into_folder = cli("sample", tiny_dcgan_run, "-n", 2, "--dir", folder, "--seed", 1)
    assert into_folder.returncode == 1 and "00000.png' and 1 more already exists" in into_folder.stderr
    forced = cli("sample", tiny_dcgan_run, "-n", 4, "-o", grid, "--seed", 1, "--force")
    assert forced.returncode == 0 and grid.read_bytes() != before


def test_grids_are_enlarged_pixel_for_pixel_unless_told_otherwise(tmp_path, tiny_dcgan_run):
    ganforge.sample(tiny_dcgan_run, 4, out=tmp_path / "one.png", seed=0, scale=1)
    ganforge.sample(tiny_dcgan_run, 4, out=tmp_path / "auto.png", seed=0)
    one, auto = Image.open(tmp_path / "one.png"), Image.open(tmp_path / "auto.png")
    assert one.size == (2 * 30 + 2, 2 * 30 + 2) and auto.size == (3 * one.size[0], 3 * one.size[1])
    small = np.asarray(one.convert("L"))
    assert np.array_equal(np.asarray(auto.convert("L"))[::3, ::3], small)  # nearest neighbour: the same pixels


def test_label_fixes_the_class_input_whatever_its_name():
    import torch

    from ganforge.artifacts.loading import Generator
    from ganforge.contracts.networks import label_input, latent_input

    class Named(torch.nn.Module):
        signature = [latent_input(4), label_input(5, name="digit")]
        output_range = (-1.0, 1.0)

        def forward(self, z, digit):
            return digit.float().view(-1, 1, 1, 1).expand(-1, 1, 2, 2) / 5

    G = Generator(Named(), {"signature": Named.signature, "output_range": [-1, 1]}, "cpu")
    assert torch.all(G.generate(3, seed=0, label=4) == 0.8)
