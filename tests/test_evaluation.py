"""Evaluation: metric correctness on known features, extractors, and `ganforge eval` end to end."""

import json
import math

import pytest
import torch

import ganforge
from ganforge.errors import GanforgeError
from ganforge.evaluation.metrics import fid_kid_is, precision_recall

from support.sizes import TINY_DCGAN
from support.cli import cli, run_cli


def test_fid_matches_the_closed_form_for_gaussian_features():
    """For diagonal Gaussians FID = |mu1 - mu2|^2 + sum((sqrt(s1) - sqrt(s2))^2)."""
    g = torch.Generator().manual_seed(0)
    mu1, mu2 = torch.tensor([0.0, 1.0, -1.0, 2.0]), torch.tensor([0.5, 1.0, 0.0, 2.0])
    s1, s2 = torch.tensor([1.0, 2.0, 0.5, 1.0]), torch.tensor([1.0, 0.5, 0.5, 3.0])
    n = 40_000
    fake = mu1 + torch.randn(n, 4, generator=g) * s1.sqrt()
    real = mu2 + torch.randn(n, 4, generator=g) * s2.sqrt()
    expected = ((mu1 - mu2) ** 2).sum() + ((s1.sqrt() - s2.sqrt()) ** 2).sum()
    got = fid_kid_is(fake, real)["fid"]
    assert got == pytest.approx(expected.item(), abs=0.05)
    assert fid_kid_is(real[:20_000], real[20_000:])["fid"] < 0.01  # same distribution: near zero


def _fid_independent(a, b):
    """FID with a symmetric square root (eigh), not the eigvals route torchmetrics takes."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = torch.cov(a.T), torch.cov(b.T)
    w, v = torch.linalg.eigh(ca)
    root_a = v @ torch.diag(w.clamp(min=0).sqrt()) @ v.T
    inner = torch.linalg.eigvalsh(root_a @ cb @ root_a).clamp(min=0).sqrt().sum()
    return ((mu_a - mu_b) ** 2).sum() + ca.trace() + cb.trace() - 2 * inner


def _kid_independent(a, b):
    """Unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3 over the full sets."""
    a, b = a.double(), b.double()
    d, m = a.shape[1], len(a)

    def k(x, y):
        return (x @ y.T / d + 1) ** 3

    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    return ((kaa.sum() - kaa.diag().sum()) / (m * (m - 1)) + (kbb.sum() - kbb.diag().sum()) / (m * (m - 1))
            - 2 * kab.mean())


def test_fid_and_kid_agree_with_an_independent_computation():
    g = torch.Generator().manual_seed(1)
    mixing = torch.randn(6, 6, generator=g)
    fake = torch.randn(600, 6, generator=g) @ mixing + 0.3
    real = torch.randn(600, 6, generator=g) @ mixing.T
    ours = fid_kid_is(fake, real, kid_subset=600)  # one subset = the whole set, so KID is deterministic
    assert ours["fid"] == pytest.approx(_fid_independent(fake, real).item(), rel=1e-6)
    assert ours["kid"] == pytest.approx(_kid_independent(fake, real).item(), rel=1e-6)


def test_inception_score_extremes():
    """Confident and balanced over K classes: IS = K. Uninformative: IS = 1."""
    k = 10
    confident = torch.nn.functional.one_hot(torch.arange(10_000) % k, k).double() * 50
    assert fid_kid_is(torch.zeros(10, 2), torch.ones(10, 2), confident)["is"] == pytest.approx(k, rel=0.01)
    flat = torch.zeros(1000, k)
    assert fid_kid_is(torch.zeros(10, 2), torch.ones(10, 2), flat)["is"] == pytest.approx(1.0, abs=1e-6)


def test_precision_and_recall():
    g = torch.Generator().manual_seed(2)
    two_modes = torch.cat([torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g) + 20])
    assert precision_recall(two_modes, two_modes) == {"precision": 1.0, "recall": 1.0}
    one_mode = torch.randn(500, 2, generator=g)  # a generator that dropped a mode
    pr = precision_recall(one_mode, two_modes)
    assert pr["precision"] > 0.9 and 0.4 < pr["recall"] < 0.6
    far = torch.randn(300, 2, generator=g) + 100
    assert precision_recall(far, two_modes) == {"precision": 0.0, "recall": 0.0}


@pytest.mark.e2e  # trains, exports or evaluates for real
def test_real_digits_score_like_real_digits():
    """The train digits judged against the held-out ones: IS near 10, FID and KID far below noise's."""
    real = ganforge.evaluate("data:mnist-5k/train", real_split="test", n=4500)
    assert real["config"]["n_generated"] == 4500 and real["config"]["n_real"] == 500
    assert real["metrics"]["is"] > 9.0 and real["metrics"]["precision"] > 0.8 and real["metrics"]["recall"] > 0.8
    noise = ganforge.evaluate("data:mnist-5k/test", real_split="train", n=500)  # same images, other way round
    assert noise["metrics"]["fid"] < 3 * real["metrics"]["fid"] + 50


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    from ganforge.hooks import manager as plugin_manager

    plugin_manager.reset_plugins()
    runs = {}
    for recipe in ("dcgan", "cgan"):
        out = tmp_path_factory.mktemp("runs") / recipe
        ganforge.train(recipe, steps=2, batch_size=8, out=out, params=TINY_DCGAN, quiet=True)
        runs[recipe] = out
    return runs


@pytest.mark.e2e
def test_eval_cli_reports_metrics_configuration_and_a_small_sample_warning(tiny_runs):
    result = cli("eval", str(tiny_runs["dcgan"]), "-n", "300", "--json", "--real-split", "test")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall"} <= set(out["metrics"])
    assert all(math.isfinite(v) for v in out["metrics"].values())
    from ganforge.evaluation.digits import DIGIT_CLASSIFIER_SHA256

    assert out["config"] == {"source": str(tiny_runs["dcgan"]), "extractor": "digits", "extractor_sha256": DIGIT_CLASSIFIER_SHA256,
                             "num_features": 128, "n_generated": 300, "n_real": 500, "real": "mnist-5k/test",
                             "seed": 0, "file": "G.ckpt"}
    assert out["warnings"] and "biased" in result.stderr
    table = cli("eval", str(tiny_runs["dcgan"]), "-n", "300")
    assert table.returncode == 0 and "fid" in table.stdout


@pytest.mark.e2e
def test_eval_of_a_conditional_gan_reports_class_accuracy_and_works_on_artifacts(tiny_runs, tmp_path):
    result = ganforge.evaluate(tiny_runs["cgan"], n=200)
    per_class = result["metrics"]["class_accuracy_per_class"]
    assert len(per_class) == 10 and result["metrics"]["class_accuracy"] == pytest.approx(sum(per_class) / 10, abs=1e-3)
    onnx = ganforge.export(tiny_runs["cgan"], "onnx", tmp_path / "G.onnx").path
    from_artifact = ganforge.evaluate(onnx, n=200, dataset="mnist-5k")
    assert from_artifact["metrics"]["fid"] == pytest.approx(result["metrics"]["fid"], rel=1e-3)


@pytest.mark.e2e  # trains, exports or evaluates for real
def test_better_generator_scores_better():
    """FID separates real digits from a generator that draws noise."""
    real = ganforge.evaluate("data:mnist-5k/test", real_split="train", n=500)["metrics"]

    from ganforge.hooks.manager import get

    noise = torch.rand(500, 1, 28, 28) * 2 - 1
    extractor = get("extractors", "digits")()
    from ganforge.evaluation.metrics import extract

    real_features, _ = extract(extractor, get("datasets", "mnist-5k")(split="train").images)
    noise_metrics = fid_kid_is(extract(extractor, noise)[0], real_features)
    assert noise_metrics["fid"] > 5 * real["fid"] and noise_metrics["kid"] > 5 * real["kid"]


@pytest.mark.system
def test_inception_offline_without_weights_is_a_one_line_error(tiny_runs, tmp_path):
    env = {"TORCH_HOME": str(tmp_path / "torch"), "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    result = run_cli("eval", str(tiny_runs["dcgan"]), "-n", "20", "--extractor", "inception", env=env)
    assert result.returncode == 1 and "--weights" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_inception_extractor_reads_local_weights_and_records_their_hash(tmp_path):
    import hashlib

    from torchvision.models import inception_v3

    from ganforge.hooks.manager import get

    torch.manual_seed(0)
    path = tmp_path / "inception.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), path)
    extractor = get("extractors", "inception")(weights=path)
    assert extractor.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    features, logits = extractor(torch.rand(2, 1, 28, 28) * 2 - 1)
    assert features.shape == (2, 2048) and logits.shape == (2, 1000)
    bad = tmp_path / "bad.pth"
    torch.save({"x": torch.zeros(1)}, bad)
    with pytest.raises(GanforgeError, match="not an Inception-v3 state dict"):
        get("extractors", "inception")(weights=bad)


@pytest.mark.e2e
def test_training_with_eval_every_logs_sample_quality(tmp_path):
    ganforge.train("dcgan", steps=4, batch_size=8, out=tmp_path, params=TINY_DCGAN, quiet=True, eval_every=2)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [line for line in lines if line.get("eval")]
    assert [e["step"] for e in evals] == [2, 4]
    assert all(e["fid_digits"] > 0 and 1 <= e["is_digits"] <= 10 for e in evals)
    assert evals[0]["fid_digits"] != evals[1]["fid_digits"]  # measured anew, not copied


@pytest.mark.e2e
def test_eval_of_an_sgan_run_reports_its_discriminators_heldout_accuracy(tmp_path):
    ganforge.train("sgan", steps=2, batch_size=8, out=tmp_path, params=TINY_DCGAN, quiet=True)
    result = ganforge.evaluate(tmp_path, n=100, real_split="test")
    from ganforge.hooks.manager import get
    from ganforge.builtins.gans.sgan import classify

    test = get("datasets", "mnist-5k")(split="test")
    D = ganforge.load_network(tmp_path / "D.ckpt")
    expected = (classify(D, test.images) == test.labels).float().mean().item()
    assert result["metrics"]["d_test_accuracy"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.e2e
def test_the_readme_evaluation_of_an_image_folder_run_works_as_written(tmp_path):
    """ganforge eval runs/faces -e inception --weights inception_v3.pth --dataset image-folder"""
    import numpy as np
    from PIL import Image
    from torchvision.models import inception_v3

    faces = tmp_path / "faces"
    faces.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(faces / f"{i}.png")
    run = tmp_path / "runs" / "faces"
    ganforge.train("dcgan", dataset="image-folder", data_root=faces, steps=2, batch_size=4, out=run, quiet=True,
                   params={**TINY_DCGAN, "image_size": 32})
    weights = tmp_path / "inception_v3.pth"
    torch.manual_seed(0)
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), weights)
    result = cli("eval", run, "-e", "inception", "--weights", weights, "--dataset", "image-folder", "-n", 12, "--json")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)["config"]
    assert config["real"] == "image-folder/train" and config["n_real"] == 12 and config["extractor"] == "inception"
    elsewhere = tmp_path / "more"
    elsewhere.mkdir()
    for i in range(5):
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(elsewhere / f"{i}.png")
    other = cli("eval", run, "-e", "inception", "--weights", weights, "--data-root", elsewhere, "-n", 12, "--json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["config"]["n_real"] == 5
