"""CycleGAN and DiscoGAN: unpaired data, training, exact resume, translate."""

import signal

import pytest
import torch
from PIL import Image

import ganforge
from ganforge.artifacts import checkpoint
from ganforge.hooks.manager import get

from support.cli import cli

TINY = {"g_width": 4, "d_width": 4}


def test_outline_of_a_filled_square_is_hollow():
    from ganforge.builtins.datasets.unpaired import outline

    square = -torch.ones(1, 1, 12, 12)
    square[..., 2:10, 2:10] = 1
    edges = outline(square)[0, 0]
    assert edges[5, 5] == -1 and edges[2, 5] == 1 and edges[1, 5] == 1 and edges[0, 0] == -1


def test_unpaired_digits_are_two_disjoint_domains():
    data = get("datasets", "unpaired-digits")(split="train")
    assert data.images.shape == data.other.shape == (2250, 1, 28, 28)
    assert torch.bincount(data.labels).tolist() == [225] * 10
    a_keys = {img.numpy().tobytes() for img in data.images}
    assert not any(img.numpy().tobytes() in a_keys for img in data.other)
    test = get("datasets", "unpaired-digits")(split="test")
    assert len(test) == 250 and len(test.other) == 250


class CtrlCAfter:
    """Stands in for the engine's Ctrl-C handler: 'presses' Ctrl-C after a number of steps."""

    steps = 3

    def __init__(self, patient=False):
        self.checks = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    @property
    def signum(self):
        self.checks += 1
        return signal.SIGINT if self.checks >= self.steps else 0


@pytest.mark.e2e
@pytest.mark.parametrize("recipe", ["cyclegan", "discogan"])
def test_translation_gan_trains_resumes_exactly_and_translates(tmp_path, recipe, monkeypatch):
    common = dict(batch_size=4, params=TINY, quiet=True, sample_every=2)
    ganforge.train(recipe, steps=6, out=tmp_path / "straight", **common)
    with monkeypatch.context() as patch:
        patch.setattr("ganforge.training.engine.StopRequest", CtrlCAfter)
        stopped = ganforge.train(recipe, steps=6, out=tmp_path / "split", **common)
    assert stopped.interrupted and stopped.step == 3
    ganforge.train(recipe, resume=tmp_path / "split", quiet=True)  # same total: the decay is unchanged
    for name in ("G", "G_BA", "D_A", "D_B"):
        a, _ = checkpoint.load(tmp_path / "straight" / f"{name}.ckpt")
        b, _ = checkpoint.load(tmp_path / "split" / f"{name}.ckpt")
        assert all(torch.equal(a[k], b[k]) for k in a), name
    grid = Image.open(tmp_path / "straight" / "samples" / "step_0000006.png")
    # rows: A, A->B, A->B->A, B, B->A, B->A->B, named to the left; enlarged 3 times
    assert grid.size[1] == 3 * (6 * 30 + 2) and grid.size[0] > 3 * (8 * 30 + 2)
    images = tmp_path / "in"
    images.mkdir()
    test = get("datasets", "mnist-5k")(split="test")
    for i in range(3):
        Image.fromarray(((test.images[i, 0] + 1) * 127.5).round().byte().numpy()).save(images / f"{i}.png")
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / direction
        result = cli("translate", str(tmp_path / "straight"), str(images), "-o", str(out),
                         "--direction", direction)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png", "2.png"]
        assert Image.open(out / "0.png").size == (28, 28)
    G = ganforge.load_generator(tmp_path / "straight")
    x = torch.stack([torch.as_tensor(test.images[i]) for i in range(3)])
    assert G(x).shape == (3, 1, 28, 28)


@pytest.mark.e2e
def test_cyclegan_learning_rate_decays_linearly_in_the_second_half(tmp_path):
    ganforge.train("cyclegan", steps=8, batch_size=2, out=tmp_path, params=TINY, quiet=True)
    tensors, meta = checkpoint.load(tmp_path / "state.ckpt")
    group = checkpoint.unpack(meta["optimizers"]["G"], tensors)["param_groups"][0]
    assert group["lr"] == pytest.approx(2e-4 * (1 - 3 / 4))  # the 8th step (index 7) of 4 decaying ones


def test_history_pool_mixes_old_fakes_in():
    from ganforge.builtins.gans.translation import ImagePool

    torch.manual_seed(0)
    pool = ImagePool(4)
    first = torch.zeros(4, 1, 2, 2)
    assert torch.equal(pool.query(first), first)  # filling: new fakes pass through
    out = pool.query(torch.ones(16, 1, 2, 2))
    assert (out == 0).any() and (out == 1).any()  # about half are old fakes from the pool
    assert ImagePool(0).query(first) is first


@pytest.mark.e2e
def test_unpaired_folder_layout_trains(tmp_path):
    g = torch.Generator().manual_seed(0)
    for split in ("train", "test"):
        for domain in "AB":
            folder = tmp_path / "data" / f"{split}{domain}"
            folder.mkdir(parents=True)
            for i in range(4):
                pixels = (torch.rand(40, 40, 3, generator=g) * 255).byte().numpy()
                Image.fromarray(pixels).save(folder / f"{i}.jpg")
    run = ganforge.train("cyclegan", dataset="unpaired-folder", data_root=tmp_path / "data", steps=2,
                         batch_size=2, params={**TINY, "image_size": 32}, out=tmp_path / "run", quiet=True,
                         grid_size=2)
    assert ganforge.load_generator(run.run_dir).signature[0]["shape"] == [3, 32, 32]
    missing = cli("train", "cyclegan", "--dataset", "unpaired-folder", "--data-root", str(tmp_path))
    assert missing.returncode == 1 and "expected trainA/ trainB/ (and testA/ testB/)" in missing.stderr


@pytest.mark.parametrize("args,message", [
    (["train", "cyclegan", "--dataset", "mnist-5k"], "use an unpaired dataset"),
])
def test_translation_errors_are_one_line(args, message):
    result = cli(*args)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.e2e
def test_translate_refuses_latent_generators_and_bad_input(tmp_path, tiny_dcgan_run):
    result = cli("translate", str(tiny_dcgan_run), str(tmp_path))
    assert result.returncode == 1 and "not from an image" in result.stderr
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    ganforge.train("discogan", steps=1, batch_size=2, out=tmp_path / "run", params=TINY, quiet=True)
    result = cli("translate", str(tmp_path / "run"), str(bad))
    assert result.returncode == 1 and result.stderr.startswith("Error: no image translated: skipped 1 (1 not an image")
    assert "Traceback" not in result.stderr
