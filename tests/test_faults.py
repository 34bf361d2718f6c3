"""Fault injection: real processes, real signals, real files. A run survives kill -9,
SIGTERM, divergence, a second writer, a failing disk and crafted files, and says what
happened in one line. benchmarks/faults.py runs the long version."""

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.plugin import hookimpl
from ganforge.artifacts import checkpoint

from support.cli import cli
from support.crafted import crafted_files, run_measured, run_measured_many

pytestmark = pytest.mark.e2e  # every test here trains or starts processes

TINY_GAN_ARGS = ["--batch-size", "8", "-p", "hidden=16", "-p", "latent_dim=8", "-q"]


def start(*args, env=None, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ganforge", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, **popen)


def wait_for(predicate, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def saved_step(run: Path) -> int:
    """The step of the run's state.ckpt, -1 while there is none or it is being replaced."""
    try:
        return checkpoint.load(run / "state.ckpt")[1]["step"]
    except Exception:
        return -1


def logged(run: Path) -> int:
    log = run / "metrics.jsonl"
    return log.read_text().count("\n") if log.exists() else 0


def weights(run: Path, name="G"):
    return checkpoint.load(run / f"{name}.ckpt")[0]


def assert_same(a: Path, b: Path):
    for name in ("G", "D"):
        x, y = weights(a, name), weights(b, name)
        assert all(torch.equal(x[k], y[k]) for k in x), name


# -- 1. exact resume for every dataset path --------------------------------------------------

class NoisyShapes(torch.utils.data.Dataset):
    """A plugin dataset with only __len__/__getitem__ and random transforms of its own
    (noise and flips drawn from torch, NumPy and Python's generators while reading)."""

    def __init__(self, root=None, image_size=None, channels=None, split="train"):
        self.channels, self.image_size, self.num_classes = 1, 28, 1

    def __len__(self):
        return 40

    def __getitem__(self, i):
        image = torch.zeros(1, 28, 28)
        image[:, 4 + i % 10:14 + i % 10, 8:20] = 1
        image = image + 0.1 * torch.randn(1, 28, 28) + 0.05 * float(np.random.rand()) + 0.05 * random.random()
        if torch.rand(()) < 0.5:
            image = image.flip(-1)
        return image.clamp(-1, 1), 0


class ShapesPlugin:
    @hookimpl
    def register_datasets(self, register):
        register("noisy-shapes", NoisyShapes)


def _image_folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir()
    for i in range(40):
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(root / f"{i}.png")
    return root


@pytest.mark.parametrize("kind,workers", [("in-memory", 0), ("image-folder", 0), ("image-folder", 2),
                                          ("plugin", 0), ("plugin", 2)])
def test_interrupted_and_resumed_equals_uninterrupted_bit_for_bit(tmp_path, add_plugin, kind, workers):
    add_plugin(ShapesPlugin())
    tiny = {"g_width": 4, "d_width": 4, "latent_dim": 8}
    data = {"in-memory": {"dataset": "mnist-5k"},
            "image-folder": {"dataset": "image-folder", "data_root": _image_folder(tmp_path / "imgs")},
            "plugin": {"dataset": "noisy-shapes"}}[kind]
    params = {**tiny, "image_size": 32} if kind == "image-folder" else tiny
    common = dict(batch_size=4, params=params, quiet=True, num_workers=workers, **data)
    # 10 batches per epoch (of the 40 images): 13 steps cross an epoch boundary
    ganforge.train("dcgan", steps=13, out=tmp_path / "straight", **common)
    ganforge.train("dcgan", steps=6, out=tmp_path / "split", **common)
    ganforge.train("dcgan", steps=13, resume=tmp_path / "split", quiet=True, num_workers=workers)
    assert_same(tmp_path / "straight", tmp_path / "split")


# -- 2. kill -9 and SIGTERM --------------------------------------------------------------------

@pytest.mark.system
def test_kill_9_at_random_moments_loses_no_checkpoint_and_resumes_exactly(tmp_path):
    """Killed 3 times, at random moments (saves every 3 steps, so some kills land inside one),
    the run always loads, and resumed to the end it equals a run never killed
    (benchmarks/faults.py kills many more times)."""
    run, total, rng = tmp_path / "killed", 300, random.Random(0)
    args = ["train", "gan", "--steps", total, *TINY_GAN_ARGS, "--checkpoint-every", 3, "--log-every", 3]
    proc = start(*args, "--out", run)
    for attempt in range(3):
        # Kill once this process is training (it has saved a step past the last kill's),
        # not after a fixed time: a fast machine would otherwise finish all the steps first.
        before = saved_step(run)
        wait_for(lambda: saved_step(run) > before + 3)
        time.sleep(rng.uniform(0.0, 0.05))
        proc.kill()
        proc.wait()
        ganforge.load_generator(run).generate(2, seed=0)  # always loadable
        step = checkpoint.load(run / "state.ckpt")[1]["step"]
        assert 0 <= step < total
        proc = start("train", "gan", "--resume", run, "--steps", total)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert not list(run.glob(".*.tmp"))
    straight = cli("train", "gan", "--steps", total, *TINY_GAN_ARGS, "--out", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr
    assert_same(run, tmp_path / "straight")


@pytest.mark.system
def test_a_run_is_resumable_from_its_first_seconds(tmp_path):
    run = tmp_path / "early"
    proc = start("train", "gan", "--steps", 100000, *TINY_GAN_ARGS, "--out", run)
    wait_for(lambda: (run / "state.ckpt").exists())
    proc.kill()
    proc.wait()
    assert (run / "config.json").exists() and checkpoint.load(run / "state.ckpt")[1]["step"] == 0
    resumed = cli("train", "gan", "--resume", run, "--steps", 4)
    assert resumed.returncode == 0, resumed.stderr


@pytest.mark.system
def test_sigterm_saves_at_the_end_of_the_step_and_resume_continues(tmp_path):
    run = tmp_path / "term"
    proc = start("train", "gan", "--steps", 1000000, *TINY_GAN_ARGS, "--out", run, "--log-every", 1,
                 "--checkpoint-every", 100000)
    wait_for(lambda: logged(run) >= 10)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Stopped by SIGTERM at step" in out and "--resume" in out and "Traceback" not in err
    step = checkpoint.load(run / "state.ckpt")[1]["step"]
    assert step >= 10 and checkpoint.load(run / "G.ckpt")[1]["step"] == step
    resumed = cli("train", "gan", "--resume", run, "--steps", step + 3)
    assert resumed.returncode == 0, resumed.stderr


@pytest.mark.system
def test_sigterm_to_a_two_process_run_saves_in_every_process_and_resumes(tmp_path):
    run = tmp_path / "term2"
    proc = start("train", "gan", "--nproc", 2, "--steps", 1000000, *TINY_GAN_ARGS, "--out", run,
                 "--log-every", 2, "--checkpoint-every", 100000, env={"OMP_NUM_THREADS": "1"})
    wait_for(lambda: logged(run) >= 5, timeout=180)
    proc.send_signal(signal.SIGTERM)  # to the launcher alone, as timeout and docker stop do
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 143, err
    assert "Stopped by SIGTERM" in out and "Traceback" not in err
    step = checkpoint.load(run / "state.ckpt")[1]["step"]
    assert step >= 10 and step % 2 == 0  # the processes agreed at a logging step
    # it resumes (in one process here: tests/test_distributed.py resumes a two-process run in two)
    resumed = cli("train", "gan", "--resume", run, "--steps", step + 2, "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.load(run / "state.ckpt")[1]["step"] == step + 2


def test_a_save_interrupted_between_files_is_made_whole(tmp_path):
    """state.ckpt of a later step than G.ckpt (kill -9 between the two): sampling uses the
    later step, and resume rewrites the files."""
    run = tmp_path / "run"
    ganforge.train("gan", steps=2, out=run, batch_size=8, params={"hidden": 16, "latent_dim": 8}, quiet=True)
    old_g = (run / "G.ckpt").read_bytes()
    ganforge.train("gan", steps=4, resume=run, quiet=True)
    (run / "G.ckpt").write_bytes(old_g)  # as if killed right after state.ckpt was written
    result = cli("sample", run, "-o", tmp_path / "grid.png")
    assert result.returncode == 0 and "of step 2 but the run's state.ckpt of step 4" in result.stderr
    ganforge.train("gan", steps=4, resume=run, quiet=True)
    assert checkpoint.load(run / "G.ckpt")[1]["step"] == 4


# -- 3. divergence -----------------------------------------------------------------------------

@pytest.mark.parametrize("blowup", ["nan", "finite"])
def test_a_diverging_run_stops_with_one_line_and_keeps_finite_checkpoints(tmp_path, monkeypatch, blowup):
    """From step 25 D's last bias is made NaN, or 3e31 (its losses then stay finite, as an
    exploding run's may on some processors): the same course on every processor."""
    from ganforge.hooks.manager import get

    recipe = get("gans", "gan")
    original = recipe.train_step

    def train_step(self, images, labels):
        if self.context.step == 25:
            with torch.no_grad():
                list(self.networks["D"].parameters())[-1].fill_(float("nan") if blowup == "nan" else 3e31)
        return original(self, images, labels)

    monkeypatch.setattr(recipe, "train_step", train_step)
    run = tmp_path / "diverged"
    result = cli("train", "gan", "--steps", 100, "--checkpoint-every", 20, "--log-every", 10, "--out", run,
                 *TINY_GAN_ARGS)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: training diverged by step 30 (d_loss = ") and \
        len(result.stderr.splitlines()) == 1, result.stderr
    assert ("beyond 1e+06" in result.stderr) == (blowup == "finite") and "lower learning rate" in result.stderr
    assert checkpoint.load(run / "state.ckpt")[1]["step"] == 20
    for name in ("G", "D"):
        assert all(torch.isfinite(t).all() and t.abs().max() < 1e3 for t in weights(run, name).values())
    assert torch.isfinite(ganforge.load_generator(run).generate(4, seed=0)).all()
    monkeypatch.undo()
    resumed = cli("train", "gan", "--resume", run, "--steps", 40, "-q")  # starts from the last good state
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.load(run / "state.ckpt")[1]["step"] == 40


def test_weights_past_any_meaningful_size_are_never_saved(tmp_path, monkeypatch):
    from ganforge.hooks.manager import get

    recipe = get("gans", "gan")
    original = recipe.train_step

    def train_step(self, images, labels):
        if self.context.step == 5:
            with torch.no_grad():
                next(self.networks["G"].parameters()).mul_(1e10)  # G's losses stay small
        return original(self, images, labels)

    monkeypatch.setattr(recipe, "train_step", train_step)
    result = cli("train", "gan", "--steps", 20, "--checkpoint-every", 4, "--log-every", 100, "--out",
                 tmp_path / "run", *TINY_GAN_ARGS)
    assert result.returncode == 1 and "weights reached" in result.stderr, result.stderr
    assert checkpoint.load(tmp_path / "run" / "state.ckpt")[1]["step"] == 4


def test_non_finite_generators_are_refused_by_sample_eval_and_export(tmp_path):
    run = tmp_path / "run"
    ganforge.train("gan", steps=1, out=run, batch_size=8, params={"hidden": 16, "latent_dim": 8}, quiet=True)
    tensors, meta = checkpoint.load(run / "G.ckpt")
    checkpoint.save(run / "G.ckpt", {k: torch.full_like(v, float("nan")) for k, v in tensors.items()}, meta)
    for args in (["sample", run, "-o", tmp_path / "g.png"], ["eval", run, "-n", 20], ["export", run]):
        result = cli(*args)
        assert result.returncode == 1 and "NaN or infinite" in result.stderr, args
    assert not (run / "G.onnx").exists() and not (tmp_path / "g.png").exists()


# -- 4. one writer per run -----------------------------------------------------------------------

@pytest.mark.system
def test_a_second_writer_is_refused_and_the_first_finishes_intact(tmp_path):
    run = tmp_path / "run"
    first = start("train", "gan", "--steps", 1000000, *TINY_GAN_ARGS, "--out", run, "--log-every", 5)
    wait_for(lambda: logged(run) >= 2)
    for args in (["--out", run], ["--resume", run, "--steps", 10], ["--out", run, "--overwrite"]):
        # in this process (a second writer is any other holder of the run's lock): no start-up to pay
        second = cli("train", "gan", "--steps", 10, *TINY_GAN_ARGS, *args) if "--out" in args else \
            cli("train", "gan", *args)
        assert second.returncode == 1, second.stderr
        assert "being written by another ganforge process (pid" in second.stderr or "already holds a run" \
            in second.stderr, second.stderr
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # one writer's log
    ganforge.load_generator(run).generate(2)


def test_a_folder_that_is_not_empty_is_refused_unless_overwritten(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    refused = cli("train", "gan", "--steps", 1, *TINY_GAN_ARGS, "--out", folder)
    assert refused.returncode == 1 and "is not empty" in refused.stderr
    assert (folder / "notes.txt").read_text() == "keep me"
    (folder / ".G.ckpt.abc.tmp").write_bytes(b"x" * 100)
    done = cli("train", "gan", "--steps", 1, *TINY_GAN_ARGS, "--out", folder, "--overwrite")
    assert done.returncode == 0, done.stderr
    assert not (folder / "notes.txt").exists() and not list(folder.glob(".*.tmp"))
    file = tmp_path / "file"
    file.write_text("x")
    assert "is a file, not a folder" in cli("train", "gan", "--out", file).stderr


def test_temporary_files_of_dead_writers_are_removed_on_resume(tmp_path):
    run = tmp_path / "run"
    ganforge.train("gan", steps=1, out=run, batch_size=8, params={"hidden": 16, "latent_dim": 8}, quiet=True)
    (run / ".state.ckpt.x1y2.tmp").write_bytes(b"\0" * 1000)
    ganforge.train("gan", steps=2, resume=run, quiet=True)
    assert not list(run.glob(".*.tmp"))


def test_an_artifact_older_than_its_checkpoint_is_marked_stale(tmp_path):
    run = tmp_path / "run"
    ganforge.train("gan", steps=1, out=run, batch_size=8, params={"hidden": 16, "latent_dim": 8}, quiet=True)
    ganforge.export(run, "onnx")
    fresh = cli("sample", run / "G.onnx", "-o", tmp_path / "a.png")
    assert fresh.returncode == 0 and "warning" not in fresh.stderr
    ganforge.train("gan", steps=3, resume=run, quiet=True)
    stale = cli("sample", run / "G.onnx", "-o", tmp_path / "b.png")
    assert stale.returncode == 0 and "was exported from step 1, but" in stale.stderr and "of step 3" in stale.stderr


# -- 5. a failing disk ---------------------------------------------------------------------------

def _small_files(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.system
def test_a_write_failure_is_one_line_and_keeps_the_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    ganforge.train("gan", steps=2, out=run, batch_size=8, params={"hidden": 16, "latent_dim": 8}, quiet=True)
    before = (run / "state.ckpt").read_bytes()
    # 100 kB: logs and sample grids can be written, the 300 kB state.ckpt cannot
    proc = start("train", "gan", "--resume", run, "--steps", 10, "-q", preexec_fn=_small_files(100_000))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "could not save step" in err and "the checkpoint of step 2 is intact" in err
    assert (run / "state.ckpt").read_bytes() == before and not list(run.glob(".*.tmp"))


@pytest.mark.parametrize("args,message", [
    (["-p", "hidden=-5"], "hidden must be a whole number of at least 1, got -5"),
    (["-p", "hidden=0"], "hidden must be a whole number of at least 1, got 0"),
    (["-p", "image_size=0"], "'image_size' must be at least 1, got 0"),
])
def test_impossible_sizes_are_one_line(tmp_path, args, message):
    result = cli("train", "gan", "--steps", 1, *args, "--out", tmp_path / "run")
    assert result.returncode == 1 and message in result.stderr


def test_an_out_that_cannot_be_created_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")  # a folder cannot be made inside a file, even by root
    result = cli("train", "gan", "--steps", 1, "--out", tmp_path / "file" / "run")
    assert result.returncode == 1 and "cannot create the run directory" in result.stderr


# -- 6. crafted files ----------------------------------------------------------------------------

@pytest.mark.system
def test_crafted_files_are_refused_in_one_line_quickly_with_bounded_memory_under_an_address_space_cap(tmp_path):
    """Under ulimit -v 4000000, common on shared clusters: every crafted file, the 40 GB one
    included, is its own one Error: line (headers are read with plain bounded reads before any
    memory map; a refusal that came from a failed allocation would say "out of memory"
    instead), quickly, and at a bounded cost in memory beyond start-up."""
    gan = tmp_path / "gan"
    ganforge.train("gan", steps=1, out=gan, batch_size=8, params={"hidden": 16, "latent_dim": 8}, quiet=True)
    table = crafted_files(tmp_path / "crafted", gan)
    cap = 4_000_000 * 1024

    def refused(what, expected, code, err, peak, start_up):
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1 and lines[0].startswith("Error: ") and expected in err, (what, err)
        assert "Traceback" not in err and "out of memory" not in err, what
        assert peak - start_up < 400_000, f"{what}: {(peak - start_up) / 1e3:.0f} MB beyond start-up"

    # the files `sample` reads in one interpreter, through the CLI's entry point as `ganforge`
    # runs it (peak memory only grows: the last peak bounds each); the resume on its own
    read = [row for row in table if row[1][0] == "sample"]
    start_up, results = run_measured_many([args for _, args, _ in read], address_space=cap)
    for (what, _, expected), (code, err, peak, elapsed) in zip(read, results, strict=True):
        refused(what, expected, code, err, peak, start_up)
        assert elapsed < 20, what
    start_up = run_measured(["sample", tmp_path / "missing.ckpt"], address_space=cap)[2]  # torch imported
    for what, args, expected in (row for row in table if row not in read):
        code, err, peak, elapsed = run_measured(args, address_space=cap)
        refused(what, expected, code, err, peak, start_up)
        assert elapsed < 30, what  # a fresh interpreter's start-up included
    assert not (tmp_path / "crafted" / "code-ran").exists()
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()



@pytest.mark.parametrize("lacking", ["recipe", "engine", "params"])
def test_resuming_a_run_whose_config_lacks_a_part_is_one_line(tmp_path, lacking):
    run = tmp_path / "run"
    done = cli("train", "gan", "--steps", 2, *TINY_GAN_ARGS, "--out", run)
    assert done.returncode == 0, done.stderr
    config = json.loads((run / "config.json").read_text())
    del config[lacking]
    (run / "config.json").write_text(json.dumps(config))
    for named in ([], ["gan"]):  # the recipe read from the run, or given
        resumed = cli("train", *named, "--resume", run, "--steps", 4)
        assert resumed.returncode == 1 and resumed.stderr.startswith("Error:"), resumed.stderr
        assert len(resumed.stderr.splitlines()) == 1 and "corrupt" in resumed.stderr and lacking in resumed.stderr
