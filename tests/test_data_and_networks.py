"""Datasets, networks, upsamplers and losses."""

import math
import socket

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.hooks.manager import get


def test_bundled_digits_split_into_balanced_disjoint_train_and_test():
    train, test = get("datasets", "mnist-5k")(split="train"), get("datasets", "mnist-5k")(split="test")
    assert len(train) == 4500 and len(test) == 500
    assert torch.bincount(test.labels).tolist() == [50] * 10
    assert torch.bincount(train.labels).tolist() == [450] * 10
    assert train.images.shape == (4500, 1, 28, 28)
    assert train.images.min() == -1 and train.images.max() == 1
    # no test digit also appears in the training split
    train_keys = {hash(img.numpy().tobytes()) for img in train.images}
    assert sum(hash(img.numpy().tobytes()) in train_keys for img in test.images) == 0
    resized = get("datasets", "mnist-5k")(image_size=64, channels=3, split="all")
    assert resized.images.shape == (5000, 3, 64, 64)


@pytest.mark.parametrize("name,title", [("mnist", "MNIST"), ("fashion-mnist", "Fashion-MNIST"),
                                        ("cifar10", "CIFAR-10")])
def test_downloads_offline_name_the_bundled_dataset(tmp_path, monkeypatch, name, title):
    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(GanforgeError, match=f"could not download {title}.*--dataset mnist-5k"):
        get("datasets", name)(root=tmp_path)


def test_cifar10_layout_is_converted(tmp_path, monkeypatch):
    """The real torchvision class, reading a CIFAR-10 batch file we write (no network)."""
    import pickle

    import numpy as np

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    pixels = np.random.default_rng(0).integers(0, 256, (4, 3072), dtype=np.uint8)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({"data": pixels, "labels": [0, 1, 2, 3]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, f)
    from torchvision.datasets import CIFAR10

    import torchvision.datasets.cifar

    monkeypatch.setattr(CIFAR10, "_check_integrity", lambda self: True)  # our files are not the real ones
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args: True)
    ds = get("datasets", "cifar10")(root=tmp_path, split="test", image_size=32)
    assert ds.images.shape == (4, 3, 32, 32) and ds.labels.tolist() == [0, 1, 2, 3]
    expected = torch.as_tensor(pixels[1].reshape(3, 32, 32)).float() / 127.5 - 1
    assert torch.allclose(ds.images[1], expected)


@pytest.mark.parametrize("name", ["transposed-conv", "resize-conv", "pixel-shuffle"])
@pytest.mark.parametrize("kernel", [3, 4, 5])
def test_upsamplers_double_height_and_width(name, kernel):
    up = get("upsamplers", name)(6, 3, kernel)
    assert up(torch.zeros(2, 6, 7, 9)).shape == (2, 3, 14, 18)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("upsampler", ["transposed-conv", "resize-conv", "pixel-shuffle"])
def test_dcgan_networks_fit_each_image_size(size, upsampler):
    G = get("networks", "dcgan-generator")(latent_dim=10, channels=3, image_size=size, width=4, upsampler=upsampler)
    D = get("networks", "dcgan-discriminator")(channels=3, image_size=size, width=4)
    images = G(torch.randn(2, 10))
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    assert D(images).shape == (2,)
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in D.modules())


def test_mlp_networks_follow_the_seed_notes():
    G = get("networks", "mlp-generator")(latent_dim=64, hidden=256, layers=2)
    linear = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(64, 256), (256, 256), (256, 784)]
    assert G(torch.randn(3, 64)).shape == (3, 1, 28, 28)
    D = get("networks", "mlp-discriminator")()
    assert any(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.2 for m in D.modules())
    sig = get("networks", "mlp-generator")(output="sigmoid")
    assert sig.output_range == (0.0, 1.0) and sig(torch.randn(2, 64)).min() >= 0


def test_losses_match_their_formulas():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    D = torch.sigmoid
    minimax, ns = get("losses", "minimax")(), get("losses", "non-saturating")()
    expected_d = -(torch.log(D(real)).mean() + torch.log(1 - D(fake)).mean())
    assert torch.allclose(minimax.d_loss(real, fake), expected_d)
    assert torch.allclose(ns.d_loss(real, fake), expected_d)
    assert torch.allclose(minimax.g_loss(fake), torch.log(1 - D(fake)).mean())
    assert torch.allclose(ns.g_loss(fake), -torch.log(D(fake)).mean())
    smooth = get("losses", "non-saturating")(real_label=0.9)
    p = D(real)
    expected = -(0.9 * torch.log(p) + 0.1 * torch.log(1 - p)).mean() - torch.log(1 - D(fake)).mean()
    assert torch.allclose(smooth.d_loss(real, fake), expected)


def test_non_saturating_loss_has_stronger_gradient_when_d_rejects_fakes():
    """The notes' reason for the non-saturating loss: log(1 - D(G(z))) is flat where D(G(z)) ~ 0."""
    fake = torch.tensor([-6.0], requires_grad=True)  # D(G(z)) ~ 0.0025
    g_mm, = torch.autograd.grad(get("losses", "minimax")().g_loss(fake), fake)
    g_ns, = torch.autograd.grad(get("losses", "non-saturating")().g_loss(fake), fake)
    assert abs(g_ns.item()) > 100 * abs(g_mm.item())
    assert math.isclose(abs(g_ns.item()), 1 - torch.sigmoid(torch.tensor(-6.0)).item(), rel_tol=1e-5)


def test_margin_losses_match_their_formulas():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-0.5, 1.5])
    ls = get("losses", "least-squares")()
    assert torch.allclose(ls.d_loss(real, fake), 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean())
    assert torch.allclose(ls.g_loss(fake), 0.5 * ((fake - 1) ** 2).mean())
    hinge = get("losses", "hinge")()
    assert torch.allclose(hinge.d_loss(real, fake), torch.tensor((0 + 0.5) / 2 + (0.5 + 2.5) / 2))
    assert torch.allclose(hinge.g_loss(fake), -fake.mean())
    wgan = get("losses", "wgan-gp")()
    assert torch.allclose(wgan.d_loss(real, fake), fake.mean() - real.mean())


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    """A linear critic has gradient w everywhere, so the penalty is 10 (|w| - 1)^2."""
    w = torch.tensor([3.0, 4.0])  # |w| = 5
    penalty = get("losses", "wgan-gp")().penalty(lambda x: x @ w, torch.randn(6, 2), torch.randn(6, 2))
    assert torch.allclose(penalty, torch.tensor(10 * 16.0))


@pytest.mark.parametrize("name,even", [("transposed-conv", False), ("resize-conv", True), ("pixel-shuffle", True)])
def test_only_transposed_convolution_leaves_a_checkerboard(name, even):
    """The notes' argument: with all-ones weights a constant image stays constant inside
    unless the upsampler covers pixels unevenly (5x5 kernel, stride 2)."""
    x = torch.ones(1, 1, 16, 16)
    with torch.no_grad():
        for _ in range(2):
            layer = get("upsamplers", name)(1, 1, 5)
            for p in layer.parameters():
                torch.nn.init.ones_(p) if p.dim() > 1 else torch.nn.init.zeros_(p)
            x = layer(x)
    inner = x[0, 0, 16:-16, 16:-16]
    assert (inner.max() - inner.min() < 1e-4) == even
