"""Distributed training (torchrun + DistributedDataParallel) on CPU with gloo: the same
results as one process, every GAN, resume, Ctrl-C and errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import ganforge
from ganforge.artifacts import checkpoint

from support.cli import cli
from support.sizes import TINY_R3GAN

pytestmark = pytest.mark.e2e  # every test here trains, exports or starts processes

JOB = Path(__file__).with_name("distributed_job.py")
# The MLP GAN without dropout: nothing random inside its networks, and no batch norm,
# whose statistics depend on how the batch is split (--sync-bn covers that on CUDA).
EXACT = {"hidden": 32, "latent_dim": 16, "d_dropout": 0.0}
TWO_PROCESSES = {"OMP_NUM_THREADS": "1"}


def weights(run_dir, name):
    return checkpoint.load(Path(run_dir) / f"{name}.ckpt")[0]


def max_difference(a_dir, b_dir):
    return max((weights(a_dir, n)[k] - weights(b_dir, n)[k]).abs().max().item()
               for n in ("G", "D") for k in weights(a_dir, n))


def processes_training(out: Path) -> list[int]:
    """Processes whose environment names the run directory ``out`` (the launcher hands its
    settings to the workers in GANFORGE_TRAIN_ARGS)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(out).encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def torchrun(*args, timeout=240):
    env = {**os.environ, **TWO_PROCESSES, "JOB_TIMEOUT": str(timeout - 30)}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                           str(JOB), *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.system
def test_two_processes_end_with_the_weights_of_one_and_resume_across_process_counts(two_process_runs, tmp_path,
                                                                                   monkeypatch):
    for key, value in TWO_PROCESSES.items():
        monkeypatch.setenv(key, value)
    keywords = match_one("")["exact-gan"]  # trained to step 8 in two processes by the fixture
    ganforge.train(**{**keywords, "steps": 12}, out=tmp_path / "one")
    config = json.loads((two_process_runs.folder / "exact-gan" / "config.json").read_text())
    assert config["processes"] == 2
    # The 2-process run continues in 2 processes (the launcher: ganforge.train(nproc=2)), and a
    # second copy of it in 1 process.
    for copy in ("two", "two-then-one"):
        (tmp_path / copy).mkdir()
        for f in ("state.ckpt", "config.json", "metrics.jsonl", "G.ckpt", "D.ckpt"):
            (tmp_path / copy / f).write_bytes((two_process_runs.folder / "exact-gan" / f).read_bytes())
    resumed = ganforge.train("gan", steps=12, resume=tmp_path / "two", nproc=2, quiet=True)
    assert resumed.step == 12 and not resumed.interrupted
    ganforge.train("gan", steps=12, resume=tmp_path / "two-then-one", quiet=True)
    assert max_difference(tmp_path / "one", tmp_path / "two") < 1e-5
    assert max_difference(tmp_path / "one", tmp_path / "two-then-one") < 1e-5
    # Logged losses are averaged over the processes: the same figures as one process.
    log_one = [json.loads(line) for line in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    log_two = [json.loads(line) for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log_two] == [4, 8, 12]
    for a, b in zip(log_one, log_two):
        assert a["d_loss"] == pytest.approx(b["d_loss"], abs=1e-4)
        assert a["g_loss"] == pytest.approx(b["g_loss"], abs=1e-4)
    # A different seed really gives different weights (the comparison above can fail).
    other = ganforge.train(**{**keywords, "seed": 4, "steps": 12}, out=tmp_path / "other")
    assert max_difference(tmp_path / "one", other.run_dir) > 1e-3


@pytest.mark.system
def test_torchrun_runs_the_ganforge_command_and_rank_0_alone_reports(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                             "-m", "ganforge", "train", "gan", "--steps", "4", "-b", "8", "-p", "hidden=16",
                             "--out", str(out), "--device", "cpu", "-q", "--log-every", "2", "--logger", "tensorboard"],
                            capture_output=True, text=True, env={**os.environ, **TWO_PROCESSES}, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("Done: 4 steps") == 1
    config = json.loads((out / "config.json").read_text())
    assert config["processes"] == 2 and checkpoint.load(out / "G.ckpt")[1]["step"] == 4
    assert len(list((out / "tensorboard").glob("events.*"))) == 1  # rank 0 alone writes TensorBoard events
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/d_loss")] == [2, 4]


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory):
    """One torchrun launch (tests/distributed_job.py) for what this module needs of two
    processes: every built-in GAN and ``match_one``'s runs, then a run whose process 1 fails
    (last: it ends the job). Starting processes is what two-process tests spend their time on."""
    from types import SimpleNamespace

    from support.picture_files import good_images

    out = tmp_path_factory.mktemp("two-processes")
    good_images(out.parent / "folder", 40)
    (out / "runs.json").write_text(json.dumps(match_one(str(out.parent / "folder"))))
    result = torchrun("recipes", str(out), "fail", str(out.parent / "failing"))
    return SimpleNamespace(folder=out, result=result, ended=time.time(), failing=out.parent / "failing")


def match_one(folder):
    """Runs that two processes must train as one does (keywords of ganforge.train)."""
    return {
        # Nothing random inside the networks: two processes end with the weights of one.
        "exact-gan": dict(recipe_name="gan", batch_size=16, seed=3, params=EXACT, device="cpu", quiet=True,
                          log_every=4, steps=8),
        # DiffAugment's draws are sharded like latent codes and ADA's r_t is taken over the
        # global batch, so two processes augment, adapt p and train as one does.
        "augmented": dict(recipe_name="gan", batch_size=16, seed=3, params=EXACT, device="cpu", quiet=True,
                          log_every=4, steps=8, augment="ada:speed=500"),
        # R1 and R2 differentiate D's gradient again, which DDP cannot: such runs average the
        # gradients by hand. Each process reads its share of every global batch from the prepared
        # store, flipped by the same per-item draws.
        "r1-r2-store-mirror": dict(recipe_name="gan", batch_size=16, seed=3, params={**EXACT, "image_size": 16},
                                   device="cpu", quiet=True, log_every=4, steps=6, r1=1.0, r2=1.0, r1_every=2,
                                   dataset="image-folder", data_root=str(folder), mirror=True,
                                   precision="fp32"),  # not --cfg auto's bf16: exact across shard sizes
        # R3GAN applies R1 and R2 at every D step itself (its gamma), with its own schedules.
        "r3gan-r1-r2": dict(recipe_name="r3gan", batch_size=8, seed=3, params=TINY_R3GAN, device="cpu", quiet=True,
                            log_every=2, steps=4),
    }


@pytest.mark.system
def test_every_gan_trains_in_two_processes_with_every_network_kept_in_sync(two_process_runs):
    """Each process trains on other rows of the batch, so weights that DDP failed to
    synchronize would differ between the processes."""
    recipes = ["acgan", "cgan", "cyclegan", "dcgan", "dcgan-wgan-gp", "discogan", "gan", "lsgan", "r3gan", "sgan",
               "stackgan"]
    for name in recipes + list(match_one("")):
        run = two_process_runs.folder / name
        ranks = [json.loads((run / f"rank-{r}.json").read_text()) for r in (0, 1)]
        assert ranks[0] == ranks[1], name
        assert json.loads((run / "config.json").read_text())["processes"] == 2, name
    for name in recipes:
        assert checkpoint.load(two_process_runs.folder / name / "state.ckpt")[1]["step"] == 2, name
        assert (two_process_runs.folder / name / "samples" / "step_0000002.png").exists()


@pytest.mark.system
@pytest.mark.parametrize("name", ["augmented", "r1-r2-store-mirror", "r3gan-r1-r2"])
def test_runs_in_two_processes_match_one(two_process_runs, name, tmp_path, monkeypatch):
    for key, value in TWO_PROCESSES.items():
        monkeypatch.setenv(key, value)
    keywords = match_one(str(two_process_runs.folder.parent / "folder"))[name]
    ganforge.train(**keywords, out=tmp_path / "one")
    assert max_difference(tmp_path / "one", two_process_runs.folder / name) < 1e-5
    if name == "augmented":  # D grew sure of reals: p rose, alike in both
        p = [[json.loads(line)["aug_p"] for line in (run / "metrics.jsonl").read_text().splitlines()]
             for run in (tmp_path / "one", two_process_runs.folder / name)]
        assert p[0] == pytest.approx(p[1], abs=1e-6) and max(p[0]) > 0
    if name == "r1-r2-store-mirror":  # the penalties and the flips took effect
        for changed in ({"r1": 0.0, "r2": 0.0}, {"mirror": False}):
            ganforge.train(**{**keywords, **changed}, out=tmp_path / "changed", overwrite=True)
            assert max_difference(tmp_path / "one", tmp_path / "changed") > 1e-4, changed


@pytest.mark.system
def test_ctrl_c_stops_every_process_and_rank_0_saves_a_resumable_run(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, **TWO_PROCESSES}
    process = subprocess.Popen([sys.executable, "-m", "ganforge", "train", "gan", "--nproc", "2", "--steps",
                                "1000000", "-b", "16", "-p", "hidden=32", "--out", str(out), "--device", "cpu",
                                "--log-every", "5", "-q"], env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (log.exists() and log.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert log.exists(), "training never logged"
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole process group
    stdout, stderr = process.communicate(timeout=90)
    assert process.returncode == 130, stderr
    assert "Stopped by SIGINT at step" in stdout and "Traceback" not in stderr, stderr
    with pytest.raises(ProcessLookupError):  # neither the launcher nor torchrun is left running,
        os.killpg(process.pid, 0)
    assert not processes_training(out)         # nor a worker (torchrun gives each its own session)
    step = checkpoint.load(out / "state.ckpt")[1]["step"]
    assert step % 5 == 0 and step == json.loads(log.read_text().splitlines()[-1])["step"], (step, stderr)
    # it resumes (in one process here: test_two_processes_end_with_the_weights_of_one_... resumes in two)
    resumed = cli("train", "gan", "--resume", str(out), "--steps", str(step + 5), "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.load(out / "state.ckpt")[1]["step"] == step + 5


@pytest.mark.system
def test_an_error_in_one_process_stops_them_all_and_keeps_the_last_checkpoint(two_process_runs):
    result, failing = two_process_runs.result, two_process_runs.failing
    assert result.returncode != 0
    assert "process 1 fails on purpose" in result.stderr
    started = float(failing.with_suffix(".started").read_text())
    assert two_process_runs.ended - started < 150  # the other process was stopped, not left waiting
    tensors, meta = checkpoint.load(failing / "state.ckpt")
    assert meta["step"] == 2 and tensors


@pytest.mark.parametrize("args, message", [
    (["-b", "15"], "does not split evenly over 2 processes"),
    (["--sync-bn", "--device", "cpu"], "--sync-bn needs CUDA"),
])
def test_bad_distributed_settings_are_one_line_errors(tmp_path, args, message):
    result = cli("train", "gan", "--nproc", "2", "--steps", "2", "--out", str(tmp_path / "run"), *args)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_nproc_under_torchrun_is_refused(tmp_path):
    result = cli("train", "gan", "--nproc", "2", "--out", str(tmp_path / "run"), env={"WORLD_SIZE": "2"})
    assert result.returncode == 1 and "leave it out" in result.stderr


def test_channels_last_trains_convolutions_in_that_layout_to_the_same_weights(tmp_path, monkeypatch):
    from ganforge.contracts.recipe import Recipe

    layouts = []
    original = Recipe.update

    def update(self, optimizer, loss):
        conv = next(m for m in self.networks["D"].modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1)
        layouts.append(conv.weight.is_contiguous(memory_format=torch.channels_last))
        original(self, optimizer, loss)

    common = dict(steps=3, batch_size=8, params={"g_width": 8, "d_width": 8, "latent_dim": 16, "lr": 2e-4},
                  quiet=True, log_every=1)
    ganforge.train("dcgan", out=tmp_path / "plain", **common)
    monkeypatch.setattr(Recipe, "update", update)
    ganforge.train("dcgan", out=tmp_path / "cl", channels_last=True, **common)
    assert layouts and all(layouts)
    # The first step starts from the same weights: the same losses, whatever the layout.
    first = [json.loads((tmp_path / run / "metrics.jsonl").read_text().splitlines()[0]) for run in ("plain", "cl")]
    for key in ("d_loss", "g_loss"):
        assert first[0][key] == pytest.approx(first[1][key], abs=1e-5)
    # Later steps agree to ten of Adam's steps (lr 2e-4): the conv biases before batch norm have zero
    # gradient in exact arithmetic, so rounding alone picks the sign of their updates.
    for name in ("G", "D"):
        a, b = weights(tmp_path / "plain", name), weights(tmp_path / "cl", name)
        assert all(torch.allclose(a[k], b[k], atol=2e-3) for k in a), name


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="synchronized batch norm over NCCL needs two CUDA GPUs")
def test_sync_bn_on_two_gpus_matches_one_gpu(tmp_path):
    """With batch norm over the global batch, the first step's losses are one process's
    (each process alone would normalize over half the batch)."""
    params = {"g_width": 8, "d_width": 8, "latent_dim": 16}
    common = dict(batch_size=16, steps=6, params=params, quiet=True, seed=1, log_every=1)
    ganforge.train("dcgan", out=tmp_path / "one", device="cuda", **common)
    ganforge.train("dcgan", out=tmp_path / "two", nproc=2, sync_bn=True, **common)
    logs = [[json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
            for run in ("one", "two")]
    for key in ("d_loss", "g_loss"):
        assert logs[0][0][key] == pytest.approx(logs[1][0][key], abs=1e-4)
    assert max_difference(tmp_path / "one", tmp_path / "two") < 5e-3
