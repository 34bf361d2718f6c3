"""The training engine: everything around a recipe's ``train_step``.

``train()`` plans the run (``ganforge.training.planning``), joins a process group if there is
one, builds the recipe with its ``TrainingContext``, restores a resumed run's state
(``ganforge.training.state``) and runs the loop: batches in a deterministic order
(``ganforge.training.batches``), progress, metrics, sample grids from a fixed latent batch,
evaluation, checkpoints, and Ctrl-C as "save and stop" (``ganforge.training.stopping``).
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ganforge.artifacts import checkpoint, rundir
from ganforge.training import auto, distributed
from ganforge.training import state
from ganforge.contracts.augmentation import build as build_augmentation
from ganforge.training.averaging import ExponentialAverage
from ganforge.training.batches import Batches
from ganforge.contracts.context import Statistics, TrainingContext
from ganforge.contracts.loss import Loss
from ganforge.contracts.recipe import Recipe
from ganforge.errors import GanforgeError
from ganforge.data import datasets, prepared
from ganforge.data.images import save_grid
from ganforge.artifacts.limits import bounded
from ganforge.training.planning import Plan, plan
from ganforge.hooks.manager import get
from ganforge.training.progress import TrainingProgress
from ganforge.training.runlock import RunLock, remove_leftovers, user_files
from ganforge.training.settings import BY_NAME, ema_decay, ramped_half_life
from ganforge.training.stopping import StopRequest


@dataclass
class RunResult:
    run_dir: Path
    step: int
    total_steps: int
    interrupted: bool = False
    last_metrics: dict = field(default_factory=dict)
    signum: int = 0  # the signal that stopped an interrupted run (SIGINT, SIGTERM)
    seconds: float = 0.0  # how long this call trained
    images_per_sec: float = 0.0


def train(recipe_name: str, *, out=None, resume=None, overwrite: bool = False, params: dict | None = None,
          config=None, device: str | None = "auto", quiet: bool = False, started: float | None = None,
          **settings) -> RunResult:
    """Train the GAN recipe ``recipe_name`` and return where its run lives.

    ``settings`` are the engine settings of ``ganforge.training.settings`` by name; any left out
    (or ``None``) takes the recipe's default (``ganforge show NAME``) or the config file's
    value. ``params`` overrides recipe hyperparameters. With ``resume=RUN_DIR`` the run
    continues from its last checkpoint with its saved configuration; ``overwrite`` clears an
    ``out`` folder that holds something else first. ``started`` (a ``time.time()`` value) is
    when a time budget began, if before this call. Started by torchrun
    (or inside an initialized process group), each process trains its share of every
    batch with DistributedDataParallel; see ``ganforge.training.distributed``.
    """
    planned = plan(recipe_name, settings, out=out, resume=resume, overwrite=overwrite, params=params, config=config)
    process, dev = distributed.setup(device)
    if out is None and resume is None:
        planned.run_dir = distributed.agree_on(planned.run_dir, process)  # rank 0 names it (from the clock)
    trainer = Trainer(planned, process, dev, started)
    result = trainer.run(quiet)
    distributed.finish(trainer.training, process)  # not after an error: the others may never get there
    return result


def file_options(dataset, engine: dict) -> dict:
    """The dataset settings the dataset takes (``--background``, ``--square``, ``--direction``);
    one changed from its default for a dataset that takes none is refused, not ignored."""
    options = datasets.file_options(dataset, engine)
    refused = [name for name in datasets.IMAGE_FILE_OPTIONS
               if name not in options and engine[name] != BY_NAME[name].default]
    if refused:
        taker = "paired-folder" if refused[0] == "direction" else "image-folder"
        raise GanforgeError(f"dataset '{engine['dataset']}' takes no --{refused[0].replace('_', '-')} "
                            f"({taker} does)")
    return options


class Trainer:
    """One run: the recipe, the engine's views of its networks, the batches and the loop."""

    def __init__(self, planned: Plan, process: distributed.Process, device: torch.device,
                 started: float | None = None):
        # a time budget counts from here (data and networks included), or from ``started`` (a
        # time.time() value: the command's start, its imports included)
        self.started = time.perf_counter() - (max(0.0, time.time() - started) if started is not None else 0.0)
        self.plan, self.process = planned, process
        engine, params = planned.engine, planned.params
        torch.manual_seed(engine["seed"])  # the same on every process: same weights, same global draws
        dataset = get("datasets", engine["dataset"])
        # The dataset's own image size, unless the user (or a recipe that needs one) asked for a size.
        wanted = params.get("image_size")
        if getattr(planned.recipe_cls, "image_size_follows_data", True) and not planned.set_by_user("image_size"):
            wanted = None

        options = file_options(dataset, engine)

        def load(split: str):
            return dataset(root=engine["data_root"], image_size=wanted, split=split, **options)

        data = load("train")
        self.data_report = getattr(data, "report", None)
        self.held_out_note = getattr(data, "held_out_note", None)  # a test split the dataset made: said once
        unusable = (self.data_report or {}).get("problems") or []
        if engine["strict_data"] and unusable:
            named = "; ".join(f"{p['file']} ({p['reason']})" for p in unusable[:STRICT_NAMED])
            more = ""
            if len(unusable) > STRICT_NAMED:
                where = self.data_report.get("store")
                more = f" and {len(unusable) - STRICT_NAMED} more" + (f", every one listed in {where}/store.json"
                                                                      if where else "")
            raise GanforgeError(f"--strict-data: {len(unusable)} image files cannot be used: {named}{more}")
        if wanted is not None and data.image_size != wanted:
            raise GanforgeError(f"dataset '{engine['dataset']}' gives {data.image_size} px images and does not resize "
                                f"them to image_size {wanted}; leave image_size unset to train at {data.image_size} px")
        if "image_size" in params:
            params["image_size"] = data.image_size  # config.json records the size used
        # --cfg auto: unset values chosen now that the data is known (a resumed run reads them back)
        saved = planned.saved  # a resumed run's config.json: what --cfg auto chose and its budget's plans
        if planned.resuming:  # chosen when the run began, and kept in its configuration
            self.auto = saved.get("auto", {})
        else:
            self.auto = (auto.choose(planned, data, device, process.world,
                                     once=lambda measure: distributed.agree_on(
                                         measure() if process.rank == 0 else None, process))
                         if engine["cfg"] == "auto" else {})
        # R1/R2 differentiate D's gradient again, which DDP cannot: such distributed runs average
        # gradients by hand (distributed.average_gradients) instead.
        self.manual_sync = process.active and bool(engine["r1"] or engine["r2"]
                                                   or getattr(planned.recipe_cls, "gradient_penalties", False))
        self.context = TrainingContext(device, shard=(process.rank, process.world), precision=engine["precision"],
                                       augmentation=build_augmentation(engine["augment"]), r1=(engine["r1"], engine["r1_every"]),
                                       r2=engine["r2"],
                                       gradient_sync=((lambda params: distributed.average_gradients(params, process))
                                                      if self.manual_sync else None),
                                       stats=Statistics(lambda t: distributed.total(t, process)),
                                       held_out=lambda: load("test"))
        # A resumed run's configuration is a file like any other: it may not ask for networks
        # larger than its state.ckpt holds.
        limit = (bounded(checkpoint.stored_elements(planned.run_dir / rundir.STATE) + 10_000_000,
                         f"the configuration of '{planned.run_dir}'")
                 if planned.resuming else contextlib.nullcontext())
        try:
            with limit:
                self.recipe = planned.recipe_cls(params, data, self.context)
        except (ValueError, RuntimeError) as exc:  # a network refusing a hyperparameter
            raise GanforgeError(f"{planned.recipe_name}: {' '.join(str(exc).split())[:200]}") from None
        self.context.make_scalers(self.recipe.optimizers)
        built = self.recipe.built
        _prepare(built, engine)
        decay = ema_decay(engine)
        scheduled = type(self.recipe).ema_half_life is not Recipe.ema_half_life
        self.averages = ({name: ExponentialAverage(built[name], decay) for name in self.recipe.generators}
                         if decay or scheduled else {})
        # What the recipe's networks are while training (DDP wrappers in a distributed run) and
        # while drawing grids or evaluating (the generators' moving averages, when kept).
        self.training = (distributed.wrapped(built, device, engine["sync_bn"], penalties=self.manual_sync)
                         if process.active else dict(built))
        self.inference = {**built, **{name: average.module for name, average in self.averages.items()}}
        self.batches = Batches(data, engine["batch_size"], engine["seed"], device, engine["num_workers"],
                               shard=(process.rank, process.world), channels_last=engine["channels_last"],
                               mirror=engine["mirror"])
        self.total = engine["steps"] if engine["epochs"] is None else engine["epochs"] * self.batches.per_epoch
        # A time budget: planned after a warm-up (planned_steps), corrected as the run goes from the
        # loop's own speed (correct_plan) and kept in config.json as the run's steps, its budget
        # holding each earlier plan and the step it held to; a resumed run follows them to the end,
        # with no clock of its own.
        self.deadline, self.budget_note, self.step_cap = None, None, self.total
        self.budget = saved.get("budget", {})
        if engine["minutes"] is not None and not planned.resuming:
            self.deadline = self.started + engine["minutes"] * 60
        self.run_config = {"recipe": planned.recipe_name, "engine": engine, "params": params, "device": str(device),
                           "processes": process.world, **({"auto": self.auto} if self.auto else {}),
                           **({"budget": self.budget} if self.budget else {})}

    def run(self, quiet: bool) -> RunResult:
        """Hold the run directory (rank 0 writes it, alone), restore a resumed run, write the
        configuration and a first checkpoint, then loop."""
        if self.deadline is not None:  # before anything is written: a budget too short is one line
            self.total = self.planned_steps()
            self.plan.engine.update(steps=self.total, epochs=None)  # config.json keeps the plan for --resume
        with RunLock(self._writable()) if self.process.main else contextlib.nullcontext():
            run_dir, start = self.plan.run_dir, 0
            if self.process.main:
                self._prepare_directory()
            if self.plan.resuming:
                start = state.restore(run_dir, self.recipe, self.averages)  # every process reads the same state
                if self.total < start:
                    raise GanforgeError(f"run '{run_dir}' is already at step {start}; ask for more steps than that")
            self.saved_step = start
            if self.process.main:
                if self.plan.resuming:
                    rundir.trim_metrics(run_dir, start)
                rundir.write_config(run_dir, self.run_config)
                if self.data_report is not None:
                    rundir.write_data_report(run_dir, self.data_report)
                if not self.plan.resuming or not rundir.consistent(run_dir, start):
                    self.save(start)  # resumable from its first seconds; files of an interrupted save made whole
            fixed = self.recipe.fixed_inputs(self.plan.engine["grid_size"],
                                             torch.Generator().manual_seed(self.plan.engine["seed"] + 1))
            return self.loop(fixed, start, quiet)

    def _writable(self) -> Path:
        try:
            self.plan.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GanforgeError(f"cannot create the run directory '{self.plan.run_dir}': {exc.strerror}") from None
        return self.plan.run_dir

    def _prepare_directory(self) -> None:
        """With the lock held: clear the folder if asked to, and remove temporary files that
        writers killed mid-save left behind."""
        run_dir = self.plan.run_dir
        if self.plan.overwrite and not self.plan.resuming:
            for path in user_files(run_dir):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        remove_leftovers(run_dir)

    def loop(self, fixed, start: int, quiet: bool) -> RunResult:
        """The training loop. In a distributed run every process steps through it; rank 0
        alone logs, draws grids, evaluates and saves, and at each logging step all of them
        average their losses and agree whether to stop."""
        from ganforge.evaluation.metrics import QualityProbe

        recipe, process, run_dir, total = self.recipe, self.process, self.plan.run_dir, self.total
        engine, main = self.plan.engine, self.process.main
        log_every, eval_every = engine["log_every"], engine["eval_every"]
        with torch.random.fork_rng(devices=[]):  # building the extractor draws initial weights: not from training's RNG
            probe = QualityProbe.for_recipe(recipe) if main and eval_every else None
        sums: dict[str, torch.Tensor] = {}
        last: dict = {}
        step, interrupted = start, False
        save_every = engine["checkpoint_minutes"] * 60
        saved_at = time.monotonic()
        loggers = [get("loggers", name)(run_dir, self.run_config, start) for name in engine["loggers"]] if main else []
        if main and (start == 0 or not rundir.sample_grids(run_dir)):
            self.write_grid(fixed, start, loggers)
        notes = []
        if self.data_report:
            listed = f" (listed in {run_dir / rundir.DATA})" if self.data_report.get("problems") else ""
            notes.append(prepared.summary(self.data_report) + listed)
        if self.held_out_note:
            notes.append(self.held_out_note)
        if self.auto:
            notes.append(auto.summary(self.auto))
        if self.budget_note:
            notes.append(self.budget_note)
        shown = TrainingProgress(self.plan.recipe_name, run_dir, start, total, quiet=quiet or not main, notes=notes)
        began = time.perf_counter()
        with _closing(loggers), StopRequest(patient=process.active) as stop, shown as progress, \
                self.context.using(self.training):
            tick, tick_step = time.perf_counter(), start
            batch_iter = self.batches.from_step(start)
            shares = list(CHECK_SHARES) if self.deadline is not None else []

            def next_check(after: int) -> int | None:  # the step of the plan's next correction
                while shares:
                    at = max(after + WARMUP_STEPS + 1, math.ceil(shares.pop(0) * total))
                    if at < total:
                        return at
                return None

            check = next_check(start)
            while step < total:
                losses = self.step(next(batch_iter), step, total)
                step += 1
                if step == start + 1:
                    mark = (step, time.perf_counter())  # the loop's speed is timed from its second step
                if step == check:
                    total = self.correct_plan(step, (time.perf_counter() - mark[1]) / (step - mark[0]), progress)
                    mark, check = (step, time.perf_counter()), next_check(step)
                for k, v in losses.items():
                    sums[k] = sums[k] + v if k in sums else v.clone()
                signum = stop.signum if not process.active else 0  # one process stops at once; several agree
                # a time budget's end: every step alone, at logging steps in a distributed run (all agree)
                out_of_time = self.deadline is not None and not process.active and time.perf_counter() >= self.deadline
                if step % log_every == 0 or step == total or out_of_time:
                    sums = distributed.average(sums, process)
                    signum = distributed.largest(stop.signum, process, recipe.device)
                    if self.deadline is not None:
                        out_of_time = bool(distributed.largest(int(time.perf_counter() >= self.deadline), process,
                                                               recipe.device))
                    now = time.perf_counter()
                    n = step - tick_step
                    last = {"step": step, "epoch": round(step / self.batches.per_epoch, 3),
                            **{k: round(v.item() / n, 6) for k, v in sums.items()},
                            "images_per_sec": round(n * self.batches.batch_size / max(now - tick, 1e-9), 1),
                            **{f"lr_{name}": opt.param_groups[0]["lr"] for name, opt in recipe.optimizers.items()}}
                    for logger in loggers:
                        logger.metrics(step, last, "train")
                    self._check_bounded(step, {k: last[k] for k in sums})
                    progress.logged(last, list(sums))
                    sums, tick, tick_step = {}, now, step
                ends = step == total or out_of_time  # the last step: evaluated, drawn and saved
                if main and (eval_every and step % eval_every == 0 or ends):
                    figures = self.evaluate(step, probe)
                    if figures:
                        for logger in loggers:
                            logger.metrics(step, figures, "eval")
                        last.update(figures)
                interrupted = bool(signum) and step < total  # then save and draw now, once
                if main and (step % engine["sample_every"] == 0 or ends or interrupted):
                    self.write_grid(fixed, step, loggers)
                due = save_every and time.monotonic() - saved_at >= save_every  # kill -9 costs minutes, not hours
                if main and (step % engine["checkpoint_every"] == 0 or ends or interrupted or due):
                    self.save(step)
                    saved_at = time.monotonic()
                    for logger in loggers:
                        logger.saved(step)
                progress.step(step)
                if interrupted or out_of_time:
                    break
        seconds = time.perf_counter() - began
        return RunResult(run_dir, step, total, interrupted, last, signum if interrupted else 0, seconds,
                         (step - start) * self.batches.batch_size / max(seconds, 1e-9))

    def correct_plan(self, step: int, seconds_per_step: float, progress) -> int:
        """A budget's plan, corrected at ``step`` from the loop's own ``seconds_per_step`` since
        the previous correction (a short warm-up misjudges the speed by as much as a fifth, and a
        machine's speed drifts): the steps done and the time left at that speed, within
        ``--steps``. Each plan spans the schedules of the steps taken under it; config.json keeps
        the earlier ones for ``--resume``."""
        left = self.deadline - time.perf_counter()
        corrected = step + max(1, int(left / seconds_per_step))
        if self.step_cap is not None:
            corrected = min(corrected, self.step_cap)
        corrected = distributed.agree_on(corrected, self.process)
        if corrected == self.total:
            return self.total
        self.budget.setdefault("plans", []).append([self.total, step])
        self.total = corrected
        self.plan.engine["steps"] = corrected
        if self.process.main:
            self.run_config["budget"] = self.budget
            rundir.write_config(self.plan.run_dir, self.run_config)
        progress.replan(corrected, f"time budget: {corrected:,} steps planned from step {step:,} on, at "
                                   f"{1 / seconds_per_step:.1f} steps/s")
        return corrected

    def step(self, batch, step: int, total: int) -> dict:
        """One training step at ``step`` of ``total``: the recipe's schedule and train_step, then
        the moving averages; returns the losses and the figures plugins reported."""
        images, labels = batch
        recipe = self.recipe
        for plan, until in self.budget.get("plans", ()):
            if step < until:  # a corrected budget's plan in force at this step
                total = plan
                break
        recipe.schedule(step, total)
        half_life = recipe.ema_half_life(step, total)
        if half_life is None and self.plan.engine["ema_images"]:
            half_life = self.plan.engine["ema_images"]
        if half_life is not None:
            half_life = ramped_half_life(half_life, step, self.batches.batch_size,
                                         self.plan.engine.get("ema_rampup") or 0.0)
            decay = 0.5 ** (self.batches.batch_size / half_life) if half_life > 0 else 0.0
            for average in self.averages.values():
                average.set_decay(decay)
        self.context.step = step
        with self.context.autocast():
            losses = recipe.train_step(images, labels)
        losses = {**losses, **self.context.stats.take()}  # figures plugins reported (ADA's aug_p)
        if self.manual_sync:
            distributed.broadcast_buffers(recipe.built, self.process)
        for average in self.averages.values():
            average.update()
        return losses

    def planned_steps(self) -> int:
        """The steps a time budget (``--minutes``) allows: whole cycles of lazy R1/R2 (or single
        steps), at least ``WARMUP_STEPS`` and about ``WARMUP_SHARE`` of the budget, are timed
        (after the first step, or the first cycle, which allocate and compile), then everything
        they changed is put back, so that the run starts from step 0 as one given ``--steps`` would; the time
        left after start-up at the measured speed (a slower run is ended by the clock).
        No more than ``--steps`` or ``--epochs`` when given too. Rank 0's figure is every process's."""
        minutes = self.plan.engine["minutes"]
        kept = state.snapshot(self.recipe, self.averages)
        # one batch, stepped on again and again: the warm-up times the arithmetic, not the first
        # reads of a prepared store from a cold disk cache (what it changes is put back anyway)
        batch = next(self.batches.from_step(0))
        # lazy R1/R2 every k steps: time a whole cycle of k, their update included, after a first
        # cycle (whose R1/R2 update allocates and picks kernels of its own) is left out
        interval = self.recipe.penalty_interval if self.recipe.regularized() else 1
        first = interval + 1 if interval > 1 else 1
        cycles = -(-(WARMUP_STEPS - 1) // interval)  # timed steps: whole cycles
        times = []

        def seconds_per_step() -> float:  # over the timed steps so far
            return (times[-1] - times[first - 1]) / (count - first)

        def timed(steps: range, total: int) -> None:
            for step in steps:
                self.step(batch, step, total)
                if self.recipe.device.type == "cuda":
                    torch.cuda.synchronize(self.recipe.device)
                times.append(time.perf_counter())

        with self.context.using(self.training):
            count = first + cycles * interval
            timed(range(count), max(self.total or 0, count))
            # then more whole cycles, up to WARMUP_SHARE of the budget, so that a few fast or slow
            # steps do not set the plan (every process takes rank 0's count: steps synchronize)
            more = max(0, math.ceil(WARMUP_SHARE * minutes * 60 / seconds_per_step()) - (count - first))
            more = distributed.agree_on(-(-more // interval) * interval, self.process)
            timed(range(count, count + more), max(self.total or 0, count + more))
            count += more
        state.put_back(self.recipe, self.averages, *kept)
        seconds = seconds_per_step()
        left = minutes * 60 - (time.perf_counter() - self.started)
        planned = distributed.agree_on(int(left / seconds * BUDGET_SHARE), self.process)
        if planned < 1:
            raise GanforgeError(f"--minutes {minutes:g} is too short to train: start-up and the warm-up took "
                                f"{time.perf_counter() - self.started:.1f} s and one step takes {seconds:.2f} s")
        self.budget_note = (f"time budget {minutes:g} min: {planned:,} steps planned at {1 / seconds:.1f} steps/s "
                            f"(measured over {count - first} of {count} warm-up steps)")
        if self.total is not None and self.total < planned:
            self.budget_note += f"; --steps/--epochs end it first, at {self.total:,}"
            return self.total
        return planned

    def save(self, step: int) -> None:
        """A checkpoint of ``step``, never of weights that diverged, and never at the cost of the
        previous one (each file is replaced atomically)."""
        largest = _largest_weight(self.recipe.built)
        if not largest <= WEIGHT_BOUND:  # NaN fails this too
            raise self._diverged(step, f"the networks' weights reached {largest:.3g}" if math.isfinite(largest)
                                 else "the networks' weights are no longer finite")
        try:
            state.save(self.plan.run_dir, self.plan.recipe_name, self.recipe, self.averages, step, self.run_config)
        except OSError as exc:
            raise GanforgeError(f"could not save step {step} in '{self.plan.run_dir}' ({exc.strerror}); "
                                f"the checkpoint of step {self.saved_step} is intact") from None
        self.saved_step = step

    def _check_bounded(self, step: int, losses: dict) -> None:
        """A run has diverged when a logged loss is not finite or larger than its loss's ``bound``."""
        bound = getattr(self.recipe.loss, "bound", Loss.bound)
        bad = [f"{k} = {v:.3g}" for k, v in losses.items() if not abs(v) <= bound]
        if bad:
            raise self._diverged(step, ", ".join(bad) + (f", beyond {bound:g}" if all(
                math.isfinite(v) for v in losses.values()) else ""))

    def _diverged(self, step: int, what: str) -> GanforgeError:
        return GanforgeError(
            f"training diverged by step {step} ({what}); '{self.plan.run_dir}' keeps the last good checkpoint, "
            f"of step {self.saved_step}. Try a lower learning rate (--lr, --g-lr, --d-lr), --precision fp32, "
            "or another --loss")

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

    def write_grid(self, fixed, step: int, loggers=()) -> Path:
        inputs, columns = fixed
        # a grid is a few dozen images now and then: compiling an eval-mode graph for it would cost
        # more than it saves, so compiled networks draw it eagerly
        eager = torch.compiler.set_stance("force_eager") if self.plan.engine["compile_networks"] else \
            contextlib.nullcontext()
        with self.inference_mode(), eager:
            images = self.recipe.generate(inputs)
        path = rundir.sample_grid(self.plan.run_dir, step)
        try:
            save_grid(images, self.recipe.generator.output_range, path, nrow=columns,
                      row_labels=self.recipe.grid_labels(inputs, columns))
        except OSError as exc:
            raise GanforgeError(f"could not write the sample grid '{path}' ({exc.strerror or exc}); "
                                f"the checkpoint of step {self.saved_step} is intact") from None
        for logger in loggers:
            logger.image(step, "samples", path)
        return path

    def evaluate(self, step: int, probe=None) -> dict:
        """The recipe's own figures and, with a quality probe, sample quality."""
        with self.inference_mode():
            figures = dict(self.recipe.evaluate())
            if probe is not None:
                figures.update(probe(self.recipe))
        return {"step": step, **{k: round(float(v), 6) for k, v in figures.items()}} if figures else {}


# A time budget's warm-up: steps timed before the run starts (the first is not counted), then undone;
# at least WARMUP_STEPS, and as many more as take WARMUP_SHARE of the budget.
WARMUP_STEPS = 6
WARMUP_SHARE = 0.01
# A budget's plan is corrected at these shares of it, each time from the loop's speed since the last.
CHECK_SHARES = (0.1, 0.5, 0.9)
# The share of the time left, at the warm-up's speed, that the planned steps may take. All of it: a run
# slower than its plan is ended by the clock as a finished run, while one faster than its plan ends
# early, so a margin for logging and grids would only end more runs early.
BUDGET_SHARE = 1.0
# --strict-data names this many unusable files in its one line (and where the rest are listed).
STRICT_NAMED = 10
# Past this magnitude a weight means a diverged run (a healthy network's are below 1e3).
WEIGHT_BOUND = 1e8


def _largest_weight(networks: dict) -> float:
    """The largest magnitude among every floating-point weight and buffer (NaN or inf when one is
    not finite; one device sync for all of them)."""
    largest = [t.detach().abs().amax().float() if t.numel() else t.new_zeros((), dtype=torch.float32)
               for net in networks.values() for t in [*net.parameters(), *net.buffers()] if t.is_floating_point()]
    if not largest:
        return 0.0
    values = torch.stack(largest)
    return float("nan") if not torch.isfinite(values).all() else float(values.max())


def _prepare(networks: dict, engine: dict) -> None:
    """Channels-last memory format and torch.compile, in place (checkpoint keys stay as they are)."""
    for net in networks.values():
        if engine["channels_last"] and any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in net.modules()):
            net.to(memory_format=torch.channels_last)
        if engine["compile_networks"]:
            net.compile()


@contextmanager
def _closing(loggers: list):
    try:
        yield
    finally:
        for logger in loggers:
            logger.close()

