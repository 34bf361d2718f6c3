"""The training engine: everything around a recipe's ``train_step``.

``train()`` plans the run (``ganforge.planning``), joins a process group if there is
one, builds the recipe with its ``TrainingContext``, restores a resumed run's state
(``ganforge.state``) and runs the loop: batches in a deterministic order
(``ganforge.batches``), progress, metrics, sample grids from a fixed latent batch,
evaluation, checkpoints, and Ctrl-C as "save and stop" (``ganforge.stopping``).
"""

from __future__ import annotations

import contextlib
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import checkpoint, distributed, state
from .averaging import ExponentialAverage
from .batches import Batches
from .context import TrainingContext
from .errors import GanforgeError
from .images import save_grid
from .planning import Plan, plan
from .plugin_manager import get
from .stopping import StopRequest


@dataclass
class RunResult:
    run_dir: Path
    step: int
    total_steps: int
    interrupted: bool = False
    last_metrics: dict = field(default_factory=dict)


def train(recipe_name: str, *, out=None, resume=None, params: dict | None = None, config=None,
          device: str | None = "auto", quiet: bool = False, **settings) -> RunResult:
    """Train the GAN recipe ``recipe_name`` and return where its run lives.

    ``settings`` are the engine settings of ``ganforge.settings`` by name; any left out
    (or ``None``) takes the recipe's default (``ganforge show NAME``) or the config file's
    value. ``params`` overrides recipe hyperparameters. With ``resume=RUN_DIR`` the run
    continues from its last checkpoint with its saved configuration. Started by torchrun
    (or inside an initialized process group), each process trains its share of every
    batch with DistributedDataParallel; see ``ganforge.distributed``.
    """
    planned = plan(recipe_name, settings, out=out, resume=resume, params=params, config=config)
    process, dev = distributed.setup(device)
    if out is None and resume is None:
        planned.run_dir = distributed.agree_on(planned.run_dir, process)  # rank 0 names it (from the clock)
    trainer = Trainer(planned, process, dev)
    result = trainer.run(quiet)
    distributed.finish(trainer.training, process)  # not after an error: the others may never get there
    return result


class Trainer:
    """One run: the recipe, the engine's views of its networks, the batches and the loop."""

    def __init__(self, planned: Plan, process: distributed.Process, device: torch.device):
        self.plan, self.process = planned, process
        engine, params = planned.engine, planned.params
        torch.manual_seed(engine["seed"])  # the same on every process: same weights, same global draws
        dataset = get("datasets", engine["dataset"])

        def load(split: str):
            return dataset(root=engine["data_root"], image_size=params.get("image_size"), split=split)

        data = load("train")
        self.context = TrainingContext(device, shard=(process.rank, process.world), precision=engine["precision"],
                                       held_out=lambda: load("test"))
        try:
            self.recipe = planned.recipe_cls(params, data, self.context)
        except ValueError as exc:  # a network refusing a hyperparameter
            raise GanforgeError(f"{planned.recipe_name}: {exc}") from None
        self.context.make_scalers(self.recipe.optimizers)
        built = self.recipe.built
        _prepare(built, engine)
        self.averages = ({name: ExponentialAverage(built[name], engine["ema"]) for name in self.recipe.generator_files}
                         if engine["ema"] else {})
        # What the recipe's networks are while training (DDP wrappers in a distributed run) and
        # while drawing grids or evaluating (the generators' moving averages, when kept).
        self.training = distributed.wrapped(built, device, engine["sync_bn"]) if process.active else dict(built)
        self.inference = {**built, **{name: average.module for name, average in self.averages.items()}}
        self.batches = Batches(data, engine["batch_size"], engine["seed"], device, engine["num_workers"],
                               shard=(process.rank, process.world), channels_last=engine["channels_last"])
        self.total = engine["steps"] if engine["epochs"] is None else engine["epochs"] * self.batches.per_epoch
        self.run_config = {"recipe": planned.recipe_name, "engine": engine, "params": params, "device": str(device),
                           "processes": process.world}

    def run(self, quiet: bool) -> RunResult:
        run_dir, start = self.plan.run_dir, 0
        if self.plan.resuming:
            start = state.restore(run_dir, self.recipe, self.averages)  # every process reads the same state
            if self.total < start:
                raise GanforgeError(f"run '{run_dir}' is already at step {start}; ask for more steps than that")
        if self.process.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            if self.plan.resuming:
                state.trim_metrics(run_dir / "metrics.jsonl", start)
            checkpoint.atomic_write(run_dir / "config.json", json.dumps(self.run_config, indent=2).encode())
        fixed = self.recipe.fixed_inputs(self.plan.engine["grid_size"],
                                         torch.Generator().manual_seed(self.plan.engine["seed"] + 1))
        return self.loop(fixed, start, quiet)

    def loop(self, fixed, start: int, quiet: bool) -> RunResult:
        """The training loop. In a distributed run every process steps through it; rank 0
        alone logs, draws grids, evaluates and saves, and at each logging step all of them
        average their losses and agree whether to stop."""
        from .evaluation import QualityProbe

        recipe, process, run_dir, total = self.recipe, self.process, self.plan.run_dir, self.total
        engine, main = self.plan.engine, self.process.main
        log_every, eval_every = engine["log_every"], engine["eval_every"]
        probe = QualityProbe.for_recipe(recipe) if main and eval_every else None
        sums: dict[str, torch.Tensor] = {}
        last: dict = {}
        step, interrupted = start, False
        if main and (start == 0 or not (run_dir / "samples").exists()):
            self.write_grid(fixed, start)
        log = open(run_dir / "metrics.jsonl", "a") if main else contextlib.nullcontext()
        with log, StopRequest(patient=process.active) as stop, _progress(self.plan.recipe_name, quiet or not main) \
                as progress, self.context.using(self.training):
            task = progress.add_task("train", total=total, completed=start, losses="")
            tick, tick_step = time.perf_counter(), start
            batch_iter = self.batches.from_step(start)
            while step < total:
                images, labels = next(batch_iter)
                recipe.schedule(step, total)
                with self.context.autocast():
                    losses = recipe.train_step(images, labels)
                for average in self.averages.values():
                    average.update()
                step += 1
                for k, v in losses.items():
                    sums[k] = sums[k] + v if k in sums else v.clone()
                requested = stop.requested
                stopping = requested and not process.active  # one process stops at once; several agree first
                if step % log_every == 0 or step == total:
                    sums = distributed.average(sums, process)
                    stopping = distributed.anyone(requested, process, recipe.device)
                    now = time.perf_counter()
                    n = step - tick_step
                    last = {"step": step, "epoch": round(step / self.batches.per_epoch, 3),
                            **{k: round(v.item() / n, 6) for k, v in sums.items()},
                            "images_per_sec": round(n * self.batches.batch_size / max(now - tick, 1e-9), 1)}
                    if main:
                        _append(log, last)
                    progress.update(task, losses=" ".join(f"{k}={last[k]:.3f}" for k in sums))
                    sums, tick, tick_step = {}, now, step
                if main and (eval_every and step % eval_every == 0 or step == total):
                    figures = self.evaluate(step, probe)
                    if figures:
                        _append(log, {"eval": True, **figures})
                        last.update(figures)
                interrupted = stopping and step < total  # then save and draw now, once
                if main and (step % engine["sample_every"] == 0 or step == total or interrupted):
                    self.write_grid(fixed, step)
                if main and (step % engine["checkpoint_every"] == 0 or step == total or interrupted):
                    self.save(step)
                progress.update(task, completed=step)
                if interrupted:
                    break
            if total == start and main:  # nothing to do, but leave a complete run behind
                self.save(step)
        return RunResult(run_dir, step, total, interrupted, last)

    def save(self, step: int) -> None:
        state.save(self.plan.run_dir, self.plan.recipe_name, self.recipe, self.averages, step, self.run_config)

    @contextmanager
    def inference_mode(self):
        """The inference view of the networks, in eval mode, without gradients; then back as
        they were. The random number generators too, so that training follows the same course
        however often grids and evaluations interrupt it (and rank 0, which does them alone,
        stays in step with the others)."""
        modes = {name: net.training for name, net in self.inference.items()}
        for net in self.inference.values():
            net.eval()
        devices = [self.recipe.device] if self.recipe.device.type == "cuda" else []
        try:
            with torch.no_grad(), self.context.using(self.inference), torch.random.fork_rng(devices=devices):
                yield
        finally:
            for name, net in self.inference.items():
                net.train(modes[name])

    def write_grid(self, fixed, step: int) -> Path:
        inputs, columns = fixed
        with self.inference_mode():
            images = self.recipe.generate(inputs)
        path = self.plan.run_dir / "samples" / f"step_{step:07d}.png"
        save_grid(images, self.recipe.generator.output_range, path, nrow=columns)
        return path

    def evaluate(self, step: int, probe=None) -> dict:
        """The recipe's own figures and, with a quality probe, sample quality."""
        with self.inference_mode():
            figures = dict(self.recipe.evaluate())
            if probe is not None:
                figures.update(probe(self.recipe))
        return {"step": step, **{k: round(float(v), 6) for k, v in figures.items()}} if figures else {}


def _prepare(networks: dict, engine: dict) -> None:
    """Channels-last memory format and torch.compile, in place (checkpoint keys stay as they are)."""
    for net in networks.values():
        if engine["channels_last"] and any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in net.modules()):
            net.to(memory_format=torch.channels_last)
        if engine["compile_networks"]:
            net.compile()


def _append(log, record: dict) -> None:
    log.write(json.dumps(record) + "\n")
    log.flush()


def _progress(recipe_name: str, disable: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn(f"[bold]{recipe_name}[/]"), BarColumn(bar_width=24), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[losses]}")]
    return Progress(*columns, console=Console(stderr=True, quiet=disable), disable=disable)
