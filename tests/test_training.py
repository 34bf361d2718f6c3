"""The training engine: recipes train, resume exactly, obey settings, stop cleanly."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

import ganforge
from ganforge.contracts.params import declared
from ganforge.errors import GanforgeError

from support.sizes import TINY_DCGAN, TINY_GAN
from support.cli import cli


def weights(run_dir, name="G"):
    from ganforge.artifacts import checkpoint

    tensors, _ = checkpoint.load(run_dir / f"{name}.ckpt")
    return tensors


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.e2e
@pytest.mark.parametrize("recipe,params", [("gan", TINY_GAN), ("dcgan", TINY_DCGAN)])
def test_each_recipe_trains_and_writes_a_complete_run(tmp_path, recipe, params):
    run = ganforge.train(recipe, steps=6, batch_size=8, out=tmp_path, params=params, log_every=3,
                         sample_every=3, checkpoint_every=3, quiet=True)
    assert run.step == 6 and not run.interrupted
    for name in ("G.ckpt", "D.ckpt", "state.ckpt", "config.json", "metrics.jsonl"):
        assert (tmp_path / name).is_file(), name
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "step_0000000.png", "step_0000003.png", "step_0000006.png"]
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [3, 6]
    assert all(torch.isfinite(torch.tensor([m["d_loss"], m["g_loss"]])).all() for m in lines)
    G = ganforge.load_generator(tmp_path / "G.ckpt")
    images = G.generate(5, seed=0)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1


@pytest.mark.e2e
def test_training_changes_the_generator(tmp_path):
    before = ganforge.train("gan", steps=0, batch_size=8, out=tmp_path / "a", params=TINY_GAN, quiet=True)
    after = ganforge.train("gan", steps=5, batch_size=8, out=tmp_path / "b", params=TINY_GAN, quiet=True)
    a, b = weights(before.run_dir), weights(after.run_dir)
    assert not all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.e2e
def test_same_seed_same_weights_other_seed_differs(tmp_path):
    runs = [ganforge.train("gan", steps=4, batch_size=8, seed=s, out=tmp_path / str(i), params=TINY_GAN,
                           quiet=True) for i, s in enumerate((3, 3, 4))]
    a, b, c = (weights(r.run_dir) for r in runs)
    assert_same_weights(a, b)
    assert not torch.equal(a["net.0.weight"], c["net.0.weight"])


@pytest.mark.e2e
@pytest.mark.parametrize("recipe,params", [("gan", TINY_GAN), ("dcgan", TINY_DCGAN)])
def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(tmp_path, recipe, params):
    # 4,500 digits / batch 600 = 7 batches per epoch: 10 steps cross an epoch boundary.
    common = dict(batch_size=600, params=params, quiet=True, checkpoint_every=100)
    ganforge.train(recipe, steps=10, out=tmp_path / "straight", **common)
    ganforge.train(recipe, steps=4, out=tmp_path / "split", **common)
    resumed = ganforge.train(recipe, steps=10, resume=tmp_path / "split", quiet=True)
    assert resumed.step == 10
    for net in ("G", "D"):
        assert_same_weights(weights(tmp_path / "straight", net), weights(tmp_path / "split", net))


@pytest.mark.system
def test_ctrl_c_saves_and_resume_matches_uninterrupted_run(tmp_path):
    """A real SIGINT to a real training process, then --resume."""
    run = tmp_path / "interrupted"
    args = [sys.executable, "-m", "ganforge", "train", "gan", "--steps", "1000000", "--batch-size", "8",
            "-p", "hidden=16", "-p", "latent_dim=8", "--out", str(run), "--log-every", "1", "-q"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        log = run / "metrics.jsonl"
        if log.exists() and log.read_text().count("\n") >= 20:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Stopped by SIGINT at step" in out and "--resume" in out and "Traceback" not in err
    stopped = json.loads((run / "config.json").read_text())
    from ganforge.artifacts import checkpoint

    _, meta = checkpoint.load(run / "state.ckpt")
    stop_step = meta["step"]
    assert 20 <= stop_step < 1000000
    final = stop_step + 7
    assert f"Continue with: ganforge train --resume {run}" in out
    resumed = cli("train", "--resume", str(run), "--steps", str(final), "-q")  # as printed: the run names its recipe
    assert resumed.returncode == 0, resumed.stderr
    straight = cli("train", "gan", "--steps", str(final), "--batch-size", "8", "-p", "hidden=16",
                       "-p", "latent_dim=8", "--out", str(tmp_path / "straight"), "-q")
    assert straight.returncode == 0, straight.stderr
    assert_same_weights(weights(run), weights(tmp_path / "straight"))
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, final + 1))  # no gap, no repeat
    assert stopped["engine"]["batch_size"] == 8


@pytest.mark.e2e
def test_epochs_count_full_passes(tmp_path):
    run = ganforge.train("gan", epochs=2, batch_size=1500, out=tmp_path, params=TINY_GAN, quiet=True)
    assert run.step == 6  # 4,500 training digits / 1,500 = 3 batches per epoch


@pytest.mark.e2e
def test_defaults_are_overridable_from_config_file_and_arguments(tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('batch_size = 4\nsteps = 2\nhidden = 16\n[params]\nlatent_dim = 8\nlr = 0.001\n')
    run = ganforge.train("gan", config=cfg, params={"lr": "0.005"}, out=tmp_path / "run", quiet=True)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["engine"]["batch_size"] == 4 and run.step == 2
    assert saved["params"]["hidden"] == 16 and saved["params"]["latent_dim"] == 8
    assert saved["params"]["lr"] == 0.005  # the argument beats the file
    assert ganforge.load_generator(run.run_dir).signature[0]["shape"] == [8]


@pytest.mark.e2e
def test_cli_flags_reach_the_recipe(tmp_path):
    out = tmp_path / "run"
    result = cli("train", "dcgan", "--steps", "1", "-b", "4", "--upsampler", "resize-conv",
                     "--real-label", "0.9", "--d-steps", "2", "--lr", "0.003", "-p", "g_width=4",
                     "-p", "d_width=4", "--out", str(out), "-q")
    assert result.returncode == 0, result.stderr
    params = json.loads((out / "config.json").read_text())["params"]
    assert params["upsampler"] == "resize-conv" and params["real_label"] == 0.9
    assert params["d_steps"] == 2 and params["lr"] == 0.003
    shown = json.loads(cli("show", "dcgan", "--json").stdout)
    assert shown["params"]["lr"] == 0.001 and shown["params"]["beta1"] == 0.5
    assert shown["engine"]["dataset"] == "mnist-5k"


@pytest.mark.e2e
def test_every_training_setting_ganforge_show_names_is_a_train_flag():
    """`ganforge show` tells users to set training settings with --key value."""
    from ganforge.training.settings import SETTINGS

    train_help, shown = cli("train", "--help").stdout, cli("show", "gan").stdout
    missing = [s.name for s in SETTINGS if f"{s.option} " not in train_help or f" {s.option} " not in shown]
    assert not missing


@pytest.mark.parametrize("args,message", [
    (["train", "dcgan", "-p", "lrr=1"], "unknown setting 'lrr' in recipe parameters; did you mean lr?"),
    (["train", "dcgan", "-p", "lr=fast"], "'lr' must be a float, got 'fast'"),
    (["train", "dcgan", "-p", "novalue"], "expected KEY=VALUE, got 'novalue'"),
    (["train", "dcgan", "--dataset", "mnist5k"], "unknown dataset 'mnist5k'; did you mean mnist-5k"),
    (["train", "dcgan", "--loss", "hinj"], "unknown loss 'hinj'"),
    (["train", "dcgan", "-p", "image_size=30"], "DCGAN supports image sizes"),
    (["train", "gan", "--steps", "2", "--epochs", "2"], "either steps or epochs, not both"),
    (["train", "gan", "--device", "cuda:7"], "no CUDA device"),
    (["train", "gan", "--resume", "/nonexistent"], "not a ganforge run directory"),
    (["train", "gan", "--config", "/nonexistent.toml"], "does not exist"),
    (["train", "gan", "--dataset", "image-folder"], "needs a folder: pass --data-root"),
])
def test_bad_training_input_is_one_line_and_nonzero(args, message):
    result = cli(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.e2e
def test_existing_run_is_never_overwritten(tmp_path):
    ganforge.train("gan", steps=1, batch_size=8, out=tmp_path, params=TINY_GAN, quiet=True)
    with pytest.raises(GanforgeError, match="already holds a run; continue it with --resume"):
        ganforge.train("gan", steps=1, batch_size=8, out=tmp_path, params=TINY_GAN, quiet=True)


@pytest.mark.e2e
def test_resume_refuses_to_change_the_configuration(tmp_path):
    ganforge.train("gan", steps=1, batch_size=8, out=tmp_path, params=TINY_GAN, quiet=True)
    with pytest.raises(GanforgeError, match="keeps its configuration"):
        ganforge.train("gan", steps=2, resume=tmp_path, batch_size=16)
    with pytest.raises(GanforgeError, match="trained 'gan', not 'dcgan'"):
        ganforge.train("dcgan", resume=tmp_path)
    with pytest.raises(GanforgeError, match="already at step 1"):
        ganforge.train("gan", steps=0, resume=tmp_path)


@pytest.mark.e2e
def test_image_folder_dataset_trains_a_dcgan(tmp_path):
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    for cls in ("cats", "dogs"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(4):
            pixels = (torch.rand(40, 50, 3, generator=g) * 255).to(torch.uint8).numpy()
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    from ganforge.hooks.manager import get

    ds = get("datasets", "image-folder")(root=tmp_path / "imgs", image_size=32)
    image, label = ds[5]
    assert len(ds) == 8 and ds.num_classes == 2 and label == 1
    assert image.shape == (3, 32, 32) and -1 <= image.min() and image.max() <= 1
    run = ganforge.train("dcgan", dataset="image-folder", data_root=tmp_path / "imgs", steps=2, batch_size=4,
                         params={**TINY_DCGAN, "image_size": 32}, out=tmp_path / "run", quiet=True)
    assert ganforge.load_generator(run.run_dir).generate(2).shape == (2, 3, 32, 32)


@pytest.mark.e2e
def test_sigmoid_generator_trains_on_unit_range_and_says_so(tmp_path):
    run = ganforge.train("gan", steps=2, batch_size=8, out=tmp_path, quiet=True,
                         params={**TINY_GAN, "output": "sigmoid", "g_activation": "leaky-relu", "loss": "minimax"})
    G = ganforge.load_generator(run.run_dir)
    assert G.output_range == (0.0, 1.0)
    images = G.generate(4, seed=0)
    assert images.min() >= 0 and images.max() <= 1


@pytest.mark.e2e
def test_d_and_g_steps_run_that_many_updates(tmp_path):
    ganforge.train("gan", steps=3, batch_size=8, out=tmp_path, quiet=True,
                   params={**TINY_GAN, "d_steps": 2, "g_steps": 3})
    from ganforge.artifacts import checkpoint

    _, meta = checkpoint.load(tmp_path / "state.ckpt")
    adam_steps = {name: checkpoint.unpack(opt, checkpoint.load(tmp_path / "state.ckpt")[0])["state"][0]["step"]
                  for name, opt in meta["optimizers"].items()}
    assert adam_steps["D"].item() == 6 and adam_steps["G"].item() == 9


@pytest.mark.parametrize("d_steps, g_forwards_per_step", [(1, 1), (2, 3)])
def test_one_update_each_reuses_d_fakes_for_g(d_steps, g_forwards_per_step):
    """With one update of D and of G, G runs forward once per iteration (its fakes serve
    both steps, as in the usual hand-written loop); more updates draw fresh fakes each."""
    from types import SimpleNamespace

    from ganforge.data.datasets import InMemoryDataset
    from ganforge.hooks.manager import get

    images = torch.rand(16, 1, 28, 28) * 2 - 1
    data = InMemoryDataset(images, torch.zeros(16, dtype=torch.long), num_classes=10)
    hp = {k: p.default for k, p in declared(get("gans", "gan").hparams).items()} | TINY_GAN | {"d_steps": d_steps}
    recipe = get("gans", "gan")(hp, data, torch.device("cpu"))
    calls = SimpleNamespace(n=0)
    recipe.generator.register_forward_hook(lambda *_: setattr(calls, "n", calls.n + 1))
    before = {k: v.clone() for k, v in recipe.generator.state_dict().items()}
    recipe.train_step(images[:8], torch.zeros(8, dtype=torch.long))
    assert calls.n == g_forwards_per_step
    assert any(not torch.equal(before[k], v) for k, v in recipe.generator.state_dict().items())


@pytest.mark.system
def test_without_a_terminal_progress_is_one_plain_line_per_logging_step_written_while_training(tmp_path):
    """ganforge train gan --steps 400 --log-every 100 > log.txt"""
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ganforge", "train", "gan", "--steps", "400", "--log-every", "100",
                             "--batch-size", "8", "-p", "hidden=16", "-p", "latent_dim=8", "--out", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert f"training in {run} (step 0 of 400)" in first  # the run directory, at the start
    progress = proc.stdout.readline()
    still_running = proc.poll() is None
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and not err, err
    lines = [progress, *rest.splitlines()]
    steps = [line for line in lines if line.startswith("gan step ")]
    assert [s.split()[2] for s in steps] == ["100/400", "200/400", "300/400", "400/400"]
    assert all("d_loss=" in s and "images/s" in s and "elapsed" in s and "eta" in s for s in steps)
    assert still_running  # the first line came while it trained, not at the end
    done = next(line for line in lines if line.startswith("Done"))
    assert "Done: 400 steps in 0:00:" in done and "images/s" in done
    assert all(len(line) < 2000 and "…" not in line for line in lines)  # nothing cut, nothing wrapped
    assert str(run / "G.ckpt") in rest.replace("\n", "")


@pytest.mark.e2e
def test_a_runs_config_json_as_a_config_file_reproduces_the_run(tmp_path):
    first = cli("train", "dcgan", "--steps", 3, "--log-every", 1, "--ema", 0.9, "--out", tmp_path / "a", "-q",
                *[f"-p{k}={v}" for k, v in TINY_DCGAN.items()])
    assert first.returncode == 0, first.stderr
    again = cli("train", "dcgan", "--config", tmp_path / "a" / "config.json", "--out", tmp_path / "b", "-q")
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "a" / "config.json").read_text()) == \
        json.loads((tmp_path / "b" / "config.json").read_text())
    assert (tmp_path / "a" / "G.ckpt").read_bytes() == (tmp_path / "b" / "G.ckpt").read_bytes()
    other = cli("train", "gan", "--config", tmp_path / "a" / "config.json", "--out", tmp_path / "c")
    assert other.returncode == 1 and "is the configuration of a dcgan run; train dcgan with it" in other.stderr
