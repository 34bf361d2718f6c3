"""A time budget (--minutes): planned once after a warm-up that leaves no trace, kept in the run
for --resume, refused in one line when it cannot be met."""

import json
import os
import re
import signal
import time

import pytest
import torch
from safetensors.torch import load_file

import ganforge
from ganforge.errors import GanforgeError
from ganforge.plugin import linear_decay
from support.cli import cli
from support.sizes import TINY_DCGAN


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_budget_that_is_not_a_positive_number_is_one_line(value, tmp_path):
    result = cli("train", "dcgan", "--minutes", value, "--out", tmp_path / "run")
    assert result.returncode in (1, 2) and len(result.stderr.splitlines()) == 1 and "minutes" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_budget_too_short_for_one_step_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(GanforgeError, match="too short to train"):
        ganforge.train("dcgan", minutes=1e-4, params=TINY_DCGAN, batch_size=8, out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_a_budget_counts_from_the_start_it_is_given(tmp_path):
    """The command line gives its own start, so that a budget includes torch's import: a budget
    the time before the call has used up is refused as one that is too short."""
    with pytest.raises(GanforgeError, match="too short to train"):
        ganforge.train("dcgan", minutes=0.5, started=time.time() - 60, params=TINY_DCGAN, batch_size=8,
                       out=tmp_path / "run", quiet=True)
    run = ganforge.train("dcgan", minutes=0.5, started=time.time() - 25, params=TINY_DCGAN, batch_size=8,
                         out=tmp_path / "run", quiet=True)
    assert run.seconds < 10  # what was left of the 30 s


def same(a, b):
    x, y = load_file(a), load_file(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.mark.e2e
def test_the_warm_up_leaves_no_trace_and_the_plan_is_kept_for_resume(tmp_path, monkeypatch):
    """A budgeted run stopped by SIGTERM and resumed ends bit-exactly where a run given its planned
    steps does: the warm-up's steps are undone, and --resume follows the plan in config.json."""
    from ganforge.training import engine

    step_once = engine.Trainer.step

    def stepping(self, batch, step, total):
        if step == 30 and self.deadline is not None and total > 40:  # in the loop, not the warm-up
            os.kill(os.getpid(), signal.SIGTERM)
        return step_once(self, batch, step, total)

    monkeypatch.setattr(engine.Trainer, "step", stepping)
    settings = dict(batch_size=8, params=TINY_DCGAN, augment="ada", ema_images=500, log_every=10, quiet=True)
    first = ganforge.train("dcgan", minutes=0.04, out=tmp_path / "budget", **settings)
    config = json.loads((tmp_path / "budget" / "config.json").read_text())
    planned = config["engine"]["steps"]
    assert first.interrupted and first.step == 31 and planned > 40 and config["engine"]["minutes"] == 0.04
    resumed = ganforge.train("dcgan", resume=tmp_path / "budget", quiet=True)
    assert resumed.step == planned and not resumed.interrupted
    ganforge.train("dcgan", steps=planned, out=tmp_path / "straight", **settings)
    assert same(tmp_path / "budget" / "G.ckpt", tmp_path / "straight" / "G.ckpt")
    assert same(tmp_path / "budget" / "D.ckpt", tmp_path / "straight" / "D.ckpt")


@pytest.mark.e2e
def test_the_warm_up_times_whole_lazy_r1_cycles_for_its_share_of_the_budget(tmp_path, monkeypatch):
    """Past its minimum, the warm-up goes on in whole cycles of lazy R1 (dcgan: every 16 steps)
    until it has taken about WARMUP_SHARE of the budget."""
    from ganforge.training import engine

    monkeypatch.setattr(engine, "WARMUP_SHARE", 0.5)
    notes, plan_once = [], engine.Trainer.planned_steps

    def planning(self):
        planned = plan_once(self)
        notes.append(self.budget_note)
        return planned

    monkeypatch.setattr(engine.Trainer, "planned_steps", planning)
    ganforge.train("dcgan", minutes=0.05, batch_size=8, params=TINY_DCGAN, out=tmp_path / "run", quiet=True,
                   log_every=1000)
    timed, count = map(int, re.search(r"measured over (\d+) of (\d+) warm-up steps", notes[0]).groups())
    assert timed % 16 == 0 and timed > 16 and count == timed + 17  # the first cycle and its step untimed


@pytest.mark.e2e
def test_steps_and_a_budget_together_end_at_whichever_comes_first(tmp_path):
    done = cli("train", "dcgan", "--minutes", "5", "--steps", "12", "-b", "8", "--out", tmp_path / "run",
               *[f"-p{k}={v}" for k, v in TINY_DCGAN.items()])
    assert done.returncode == 0, done.stderr
    assert "time budget 5 min:" in done.stdout and "--steps/--epochs end it first, at 12" in done.stdout
    assert json.loads((tmp_path / "run" / "config.json").read_text())["engine"]["steps"] == 12
    assert ganforge.load_generator(tmp_path / "run").meta["step"] == 12


@pytest.mark.e2e
def test_a_budget_ends_the_run_at_its_deadline_as_a_finished_run(tmp_path, monkeypatch):
    """When the steps run slower than the warm-up measured, the clock ends the run: evaluated,
    drawn and saved at the step it reached."""
    from ganforge.training import engine

    monkeypatch.setattr(engine, "BUDGET_SHARE", 50.0)  # plan far more steps than the budget allows
    result = ganforge.train("dcgan", minutes=0.03, batch_size=8, params=TINY_DCGAN, out=tmp_path / "run",
                            quiet=True, log_every=1000)
    planned = json.loads((tmp_path / "run" / "config.json").read_text())["engine"]["steps"]
    assert 0 < result.step < planned and not result.interrupted
    assert ganforge.load_generator(tmp_path / "run").meta["step"] == result.step
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["step"] == result.step


@pytest.mark.e2e
def test_a_plan_the_warm_up_misjudged_is_corrected_from_the_loop(tmp_path, monkeypatch):
    """A warm-up that thought the steps ten times slower than they are: the loop's own speed
    corrects the plan at a tenth of it, config.json says so, and the run goes on towards its budget."""
    from ganforge.training import engine

    monkeypatch.setattr(engine, "BUDGET_SHARE", 0.1)
    result = ganforge.train("dcgan", minutes=0.08, batch_size=8, params=TINY_DCGAN, out=tmp_path / "run", quiet=True,
                            log_every=1000)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    first, corrected_at = config["budget"]["plans"][0]
    assert corrected_at == max(engine.WARMUP_STEPS + 1, -(-first // 10))
    assert config["engine"]["steps"] > 3 * first and result.step > 3 * first


def _fixed_plan(monkeypatch, first: int, corrected: tuple[int, ...]):
    """Budgeted runs planned at ``first`` steps and corrected to each of ``corrected`` in turn
    (the last for every later correction), whatever the clock says (the deadline put far off)."""
    from ganforge.training import engine

    correct = engine.Trainer.correct_plan

    def planned(self):
        self.budget_note = f"fixed plan of {first}"
        return first

    def correcting(self, step, seconds_per_step, progress):
        self.corrections = getattr(self, "corrections", 0) + 1  # this run's
        plan = corrected[min(self.corrections, len(corrected)) - 1]
        self.deadline = time.perf_counter() + 1000.0
        return correct(self, step, 1000.0 / (plan - step + 0.5), progress)

    monkeypatch.setattr(engine.Trainer, "planned_steps", planned)
    monkeypatch.setattr(engine.Trainer, "correct_plan", correcting)


@pytest.mark.e2e
def test_a_corrected_plan_resumes_exactly(tmp_path, monkeypatch):
    """Stopped by SIGTERM after its corrections and resumed, a budgeted run ends bit-exactly where
    the same run uninterrupted does, its schedules (here a learning-rate decay from a tenth of the
    run) spanning each plan over the steps taken under it."""
    from ganforge.training import engine

    _fixed_plan(monkeypatch, first=40, corrected=(66, 80))
    settings = dict(minutes=5, batch_size=8, params={**TINY_DCGAN, "decay_from": 0.1}, log_every=1, quiet=True)
    ganforge.train("dcgan", out=tmp_path / "straight", **settings)
    logged = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    at = engine.WARMUP_STEPS + 1  # the first correction's step (the next: half of 66)
    lr = json.loads((tmp_path / "straight" / "config.json").read_text())["params"]["lr"]
    for record in logged:  # the learning rate G's step s - 1 took, logged after it
        step = record["step"] - 1
        plan = 40 if step < at else 66 if step < 33 else 80
        assert record["lr_G"] == pytest.approx(lr * linear_decay(step, plan, 0.1))
    step_once = engine.Trainer.step

    def stepping(self, batch, step, total):
        if step == 50 and self.deadline is not None:
            os.kill(os.getpid(), signal.SIGTERM)
        return step_once(self, batch, step, total)

    monkeypatch.setattr(engine.Trainer, "step", stepping)
    first = ganforge.train("dcgan", out=tmp_path / "budget", **settings)
    config = json.loads((tmp_path / "budget" / "config.json").read_text())
    assert first.interrupted and config["engine"]["steps"] == 80
    assert config["budget"] == {"plans": [[40, at], [66, 33]]}  # and kept at 80 at step 72
    resumed = ganforge.train("dcgan", resume=tmp_path / "budget", quiet=True)
    assert resumed.step == 80 and not resumed.interrupted
    assert same(tmp_path / "budget" / "G.ckpt", tmp_path / "straight" / "G.ckpt")
    assert same(tmp_path / "budget" / "D.ckpt", tmp_path / "straight" / "D.ckpt")


@pytest.mark.e2e
def test_a_crash_after_a_correction_resumes_its_earlier_steps_on_their_plan(tmp_path, monkeypatch):
    """Killed after its plan was corrected, with its last checkpoint before that correction: the
    resumed run takes those steps on the plan then in force, as the uninterrupted run did."""
    from ganforge.training import engine

    _fixed_plan(monkeypatch, first=40, corrected=(66, 80))
    settings = dict(minutes=5, batch_size=8, params={**TINY_DCGAN, "decay_from": 0.1}, quiet=True)
    ganforge.train("dcgan", out=tmp_path / "straight", **settings)
    step_once = engine.Trainer.step

    def crashing(self, batch, step, total):
        if step == 40 and self.deadline is not None:
            raise MemoryError("the machine went away")
        return step_once(self, batch, step, total)

    monkeypatch.setattr(engine.Trainer, "step", crashing)
    with pytest.raises(MemoryError):
        ganforge.train("dcgan", out=tmp_path / "crashed", checkpoint_every=30, **settings)
    assert ganforge.load_generator(tmp_path / "crashed").meta["step"] == 30  # before the correction at 33
    resumed = ganforge.train("dcgan", resume=tmp_path / "crashed", quiet=True)
    assert resumed.step == 80
    assert json.loads((tmp_path / "crashed" / "config.json").read_text())["budget"] == {"plans": [[40, 7], [66, 33]]}
    assert same(tmp_path / "crashed" / "G.ckpt", tmp_path / "straight" / "G.ckpt")
