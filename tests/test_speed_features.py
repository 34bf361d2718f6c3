"""Mixed precision, moving averages of G, and separate learning rates for G and D."""

import json

import pytest
import torch

import ganforge
from ganforge.artifacts import checkpoint

from support.sizes import TINY_DCGAN
from support.cli import cli


@pytest.mark.e2e
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_saves_fp32_weights(tmp_path, precision):
    run = ganforge.train("dcgan", steps=3, batch_size=8, out=tmp_path, params=TINY_DCGAN, quiet=True,
                         precision=precision, log_every=1)
    assert all(torch.isfinite(torch.tensor(v)) for k, v in run.last_metrics.items() if k != "step")
    tensors, meta = checkpoint.load(tmp_path / "G.ckpt")
    assert all(t.dtype == torch.float32 for t in tensors.values() if t.is_floating_point())
    state, state_meta = checkpoint.load(tmp_path / "state.ckpt")
    assert json.loads((tmp_path / "config.json").read_text())["engine"]["precision"] == precision
    if precision == "fp16":  # a gradient scaler per optimizer, saved for resume
        assert set(state_meta["scalers"]) == {"G", "D"} and state_meta["scalers"]["G"]["scale"] > 0
    assert ganforge.train("dcgan", steps=4, resume=tmp_path, quiet=True).step == 4


@pytest.mark.e2e
def test_bad_precision_and_ema_are_one_line_errors(tmp_path):
    bad = cli("train", "dcgan", "--steps", "1", "--ema", "1.5", "--out", str(tmp_path / "a"))
    assert bad.returncode == 1 and "'ema' must be below 1, got 1.5" in bad.stderr
    bad = cli("train", "dcgan", "--steps", "1", "--precision", "fp8")
    assert bad.returncode == 2 and "fp8" in bad.stderr


@pytest.mark.e2e
def test_ema_generator_is_saved_used_and_resumed_exactly(tmp_path):
    straight = ganforge.train("dcgan", steps=6, batch_size=8, out=tmp_path / "a", params=TINY_DCGAN, quiet=True,
                              ema=0.8)
    assert straight.step == 6
    ema_weights, meta = checkpoint.load(tmp_path / "a" / "G.ckpt")
    assert meta["ema"] == 0.8
    state, _ = checkpoint.load(tmp_path / "a" / "state.ckpt")
    raw = {k[len("net/G/"):]: v for k, v in state.items() if k.startswith("net/G/")}
    assert any(not torch.equal(ema_weights[k], raw[k]) for k in raw if raw[k].is_floating_point())
    ganforge.train("dcgan", steps=3, batch_size=8, out=tmp_path / "b", params=TINY_DCGAN, quiet=True, ema=0.8)
    ganforge.train("dcgan", steps=6, resume=tmp_path / "b", quiet=True)
    resumed, _ = checkpoint.load(tmp_path / "b" / "G.ckpt")
    assert all(torch.equal(resumed[k], ema_weights[k]) for k in ema_weights)
    # sampling uses what G.ckpt holds: the average
    G = ganforge.load_generator(tmp_path / "a")
    assert all(torch.equal(G.module.state_dict()[k], ema_weights[k]) for k in ema_weights)


def test_ema_follows_the_exponential_rule():
    from ganforge.training.engine import ExponentialAverage

    net = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(0.0)
    average = ExponentialAverage(net, 0.75)
    for value in (1.0, 3.0):
        with torch.no_grad():
            net.weight.fill_(value)
        average.update()
    # the first update starts the average at G's weights, then: 0.75 * 1 + 0.25 * 3
    assert torch.allclose(average.weights()["weight"], torch.full((1, 2), 1.5))


@pytest.mark.e2e
def test_separate_learning_rates_for_g_and_d(tmp_path):
    ganforge.train("dcgan", steps=1, batch_size=8, out=tmp_path, params={**TINY_DCGAN, "g_lr": 1e-4, "d_lr": 4e-4},
                   quiet=True)
    tensors, meta = checkpoint.load(tmp_path / "state.ckpt")
    lrs = {name: checkpoint.unpack(opt, tensors)["param_groups"][0]["lr"] for name, opt in meta["optimizers"].items()}
    # D's is corrected for dcgan's default lazy R1 (every 16 steps: x 16/17)
    assert lrs == {"G": 1e-4, "D": pytest.approx(4e-4 * 16 / 17)}
    result = cli("train", "dcgan", "--steps", "1", "-b", "8", "--g-lr", "2e-4", "--d-lr", "3e-4",
                     "-p", "g_width=4", "-p", "d_width=4", "-q", "--out", str(tmp_path / "cli"))
    assert result.returncode == 0, result.stderr
    params = json.loads((tmp_path / "cli" / "config.json").read_text())["params"]
    assert (params["g_lr"], params["d_lr"]) == (2e-4, 3e-4)


@pytest.mark.system
def test_compile_trains_with_compiled_networks_and_plain_checkpoints(tmp_path):
    params = {**TINY_DCGAN, "lr": 2e-4}  # the tolerance below is in steps of this size
    # R1 and R2 too: their double backward runs eagerly (compiled graphs have none)
    ganforge.train("dcgan", steps=2, batch_size=8, out=tmp_path / "c", params=params, quiet=True, compile_networks=True,
                   seed=3, r1=1.0, r2=1.0)
    ganforge.train("dcgan", steps=2, batch_size=8, out=tmp_path / "e", params=params, quiet=True, seed=3, r1=1.0,
                   r2=1.0)
    compiled, meta = checkpoint.load(tmp_path / "c" / "G.ckpt")
    eager, _ = checkpoint.load(tmp_path / "e" / "G.ckpt")
    assert compiled.keys() == eager.keys()  # no _orig_mod prefixes: any G.ckpt loader reads it
    # the same training up to fused-kernel rounding, which Adam can turn into a few lr-sized steps
    assert all(torch.allclose(compiled[k].float(), eager[k].float(), atol=10 * 2e-4) for k in eager)
    assert json.loads((tmp_path / "c" / "config.json").read_text())["engine"]["compile_networks"] is True
    # resuming from the command line without --compile keeps the run's setting
    result = cli("train", "dcgan", "--resume", str(tmp_path / "e"), "--steps", "3", "-q")
    assert result.returncode == 0, result.stderr
