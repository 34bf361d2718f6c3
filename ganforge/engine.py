"""The training engine: everything around a recipe's ``train_step``.

It chooses the device, seeds, feeds batches in a deterministic order (so that a
resumed run continues exactly where it stopped), shows progress, logs metrics,
writes sample grids from a fixed latent batch and checkpoints, and turns Ctrl-C
into "save and stop".
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from . import checkpoint, config as cfg, distributed
from .data import InMemoryDataset
from .errors import GanforgeError
from .images import save_grid
from .plugin_manager import get, load_plugins

STATE_FILE = "state.ckpt"
# Settings a resumed run may change: they do not alter what it computes.
DIGIT_DATASETS = ("mnist-5k", "mnist")
RESUMABLE_CHANGES = {"steps", "epochs", "sample_every", "checkpoint_every", "log_every", "eval_every", "num_workers",
                     "channels_last"}


@dataclass
class RunResult:
    run_dir: Path
    step: int
    total_steps: int
    interrupted: bool = False
    last_metrics: dict = field(default_factory=dict)


def choose_device(device: str | None) -> torch.device:
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise GanforgeError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanforgeError(f"device '{device}' was asked for but no CUDA device is available")
    return dev


class Batches:
    """Batches in an order that depends only on (seed, epoch), so a run can restart mid-epoch.

    In a distributed run every process draws the same global batch and keeps its own
    contiguous share of it (rank r of W: rows r*B/W to (r+1)*B/W)."""

    def __init__(self, dataset, batch_size: int, seed: int, device: torch.device, num_workers: int = 0,
                 shard: tuple[int, int] = (0, 1), channels_last: bool = False):
        if len(dataset) < batch_size:
            raise GanforgeError(f"the dataset has {len(dataset)} items, fewer than one batch of {batch_size}")
        rank, world = shard
        if batch_size % world:
            raise GanforgeError(f"the batch size {batch_size} does not split evenly over {world} processes")
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.device, self.num_workers = device, num_workers
        self.share = slice(rank * batch_size // world, (rank + 1) * batch_size // world)
        self.channels_last = channels_last
        self.per_epoch = len(dataset) // batch_size  # the last partial batch is dropped
        if isinstance(dataset, InMemoryDataset):  # index tensors directly, on the training device
            self.images = dataset.images.to(device)
            self.labels = dataset.labels.to(device)

    def order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(len(self.dataset), generator=g)
        return perm[: self.per_epoch * self.batch_size].view(self.per_epoch, self.batch_size)

    def from_step(self, step: int):
        epoch, offset = divmod(step, self.per_epoch)
        while True:
            order = self.order(epoch)[offset:, self.share]
            if isinstance(self.dataset, InMemoryDataset):
                order = order.to(self.device)
                for idx in order:
                    yield self._layout(self.images[idx]), self.labels[idx]
            else:  # worker processes and pinned memory keep the device fed
                loader = DataLoader(self.dataset, batch_sampler=order.tolist(), num_workers=self.num_workers,
                                    pin_memory=self.device.type == "cuda")
                for images, labels in loader:
                    yield (self._layout(images.to(self.device, non_blocking=True)),
                           torch.as_tensor(labels).to(self.device, non_blocking=True))
            epoch, offset = epoch + 1, 0

    def _layout(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last and images.dim() == 4:
            return images.contiguous(memory_format=torch.channels_last)
        return images


class StopRequest:
    """First Ctrl-C asks the loop to save and stop after the current step; a second one aborts.

    In a distributed run every signal only asks (torchrun passes the terminal's Ctrl-C on,
    so each process sees it twice); the processes agree to stop at the next logging step."""

    def __init__(self, patient: bool = False):
        self.requested = False
        self.patient = patient
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested and not self.patient:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def new_run_dir(recipe: str) -> Path:
    base = Path("runs") / f"{recipe}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _versions(*components) -> dict:
    from . import __version__

    system = load_plugins()
    plugins = {}
    for kind, name in components:
        plugin = system.registry.component(kind, name).plugin
        plugins[plugin] = system.info[plugin].version if plugin in system.info else "unknown"
    return {"ganforge": __version__, "torch": torch.__version__, "plugins": plugins}


def generator_meta(recipe_name: str, G: torch.nn.Module, step: int) -> dict:
    spec = G.ganforge_spec
    return {
        "kind": "generator",
        "recipe": recipe_name,
        "network": spec["network"],
        "network_kwargs": spec["kwargs"],
        "signature": G.signature,
        "output_range": list(G.output_range),
        "step": step,
        "versions": _versions(("gans", recipe_name), ("networks", spec["network"])),
    }


def save_checkpoints(run_dir: Path, recipe_name: str, recipe, step: int, run_config: dict) -> None:
    """state.ckpt (everything resume needs, in one atomic file), then G.ckpt and D.ckpt."""
    tensors: dict[str, torch.Tensor] = {}
    networks = {name: distributed.unwrap(net) for name, net in recipe.networks.items()}
    for name, net in networks.items():
        tensors.update({f"net/{name}/{k}": v for k, v in net.state_dict().items()})
    optimizers = {name: checkpoint.pack(opt.state_dict(), f"opt/{name}", tensors)
                  for name, opt in recipe.optimizers.items()}
    tensors.update({f"extra/{k}": v for k, v in recipe.extra_state().items()})
    tensors["rng/torch"] = torch.get_rng_state()
    if recipe.device.type == "cuda":  # this process's device (each process of a distributed run has one)
        tensors["rng/cuda"] = torch.cuda.get_rng_state(recipe.device)
    for name, average in recipe.ema.items():
        tensors.update({f"ema/{name}/{k}": v for k, v in average.averaged.state_dict().items()})
    scalers = {name: scaler.state_dict() for name, scaler in recipe.scalers.items()}
    checkpoint.save(run_dir / STATE_FILE, tensors, {"kind": "train-state", "step": step, "optimizers": optimizers,
                                                    "scalers": scalers, "config": run_config})
    for name, filename in recipe.generator_files.items():
        G = networks[name]
        meta = generator_meta(recipe_name, G, step)
        weights = G.state_dict()
        if name in recipe.ema:  # sampling, evaluation and export then use the average
            weights, meta["ema"] = recipe.ema[name].weights(), recipe.ema[name].decay
        checkpoint.save(run_dir / filename, weights, meta)
    for name, net in networks.items():
        if name not in recipe.generator_files:
            checkpoint.save(run_dir / f"{name}.ckpt", net.state_dict(),
                            {"kind": "network", "role": name, "recipe": recipe_name, "step": step,
                             **({"network": net.ganforge_spec["network"], "network_kwargs": net.ganforge_spec["kwargs"]}
                                if hasattr(net, "ganforge_spec") else {})})


def restore(run_dir: Path, recipe) -> int:
    tensors, meta = checkpoint.load(run_dir / STATE_FILE, kind="train-state")
    for name, net in recipe.networks.items():
        prefix = f"net/{name}/"
        distributed.unwrap(net).load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, opt in recipe.optimizers.items():
        opt.load_state_dict(checkpoint.unpack(meta["optimizers"][name], tensors))
    recipe.load_extra_state({k[len("extra/"):]: v for k, v in tensors.items() if k.startswith("extra/")})
    for name, average in recipe.ema.items():
        prefix = f"ema/{name}/"
        average.averaged.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, scaler in recipe.scalers.items():
        if name in meta.get("scalers", {}):
            scaler.load_state_dict(meta["scalers"][name])
    torch.set_rng_state(tensors["rng/torch"])
    if "rng/cuda" in tensors and recipe.device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng/cuda"], recipe.device)
    return int(meta["step"])


def _trim_metrics(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from (a crash leaves them)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= step]
    checkpoint.atomic_write(path, ("\n".join(kept) + "\n" if kept else "").encode())


def train(recipe: str, *, dataset: str | None = None, data_root: str | None = None, steps: int | None = None,
          epochs: int | None = None, batch_size: int | None = None, seed: int | None = None,
          out: str | Path | None = None, resume: str | Path | None = None, params: dict | None = None,
          config: str | Path | None = None, device: str | None = "auto", sample_every: int | None = None,
          checkpoint_every: int | None = None, log_every: int | None = None, eval_every: int | None = None,
          grid_size: int | None = None, num_workers: int | None = None, precision: str | None = None,
          ema: float | None = None, compile: bool | None = None, channels_last: bool | None = None,
          sync_bn: bool | None = None, quiet: bool = False) -> RunResult:
    """Train the GAN recipe ``recipe`` and return where its run lives.

    Any argument left as ``None`` takes the recipe's default (``ganforge show NAME``),
    or the config file's value. ``params`` overrides recipe hyperparameters.
    With ``resume=RUN_DIR`` the run continues from its last checkpoint with its
    saved configuration; ``steps``/``epochs`` may then extend it.
    Started by torchrun (or inside an initialized process group), each process trains
    its share of every batch with DistributedDataParallel; see ``ganforge.distributed``.
    """
    overrides = dict(dataset=dataset, data_root=str(data_root) if data_root else None, steps=steps, epochs=epochs,
                     batch_size=batch_size, seed=seed, sample_every=sample_every, checkpoint_every=checkpoint_every,
                     log_every=log_every, eval_every=eval_every, grid_size=grid_size, num_workers=num_workers,
                     precision=precision, ema=ema, compile=compile, channels_last=channels_last, sync_bn=sync_bn)
    recipe_cls, run, run_dir = plan(recipe, overrides, out=out, resume=resume, params=params, config=config)
    ctx, dev = distributed.setup(device)
    if out is None and resume is None:
        run_dir = distributed.agree_on(run_dir, ctx)  # rank 0 names it (from the clock)
    return _train(ctx, dev, recipe, recipe_cls, run, run_dir, resume is not None, quiet)


def plan(recipe: str, overrides: dict, *, out=None, resume=None, params=None, config=None):
    """Check the settings and resolve the run's configuration, before anything is built:
    ``(recipe class, {"engine": ..., "params": ...}, run directory)``."""
    if overrides.get("steps") is not None and overrides.get("epochs") is not None:
        raise GanforgeError("give either steps or epochs, not both")
    recipe_cls = get("gans", recipe)
    if resume is not None:
        run_dir = Path(resume)
        saved = _load_run_config(run_dir)
        if saved["recipe"] != recipe:
            raise GanforgeError(f"run '{run_dir}' trained '{saved['recipe']}', not '{recipe}'")
        given = {k: v for k, v in overrides.items() if v is not None}
        changed = set(given) - RESUMABLE_CHANGES
        if changed or params or config:
            raise GanforgeError(f"a resumed run keeps its configuration; only {', '.join(sorted(RESUMABLE_CHANGES))} "
                                f"can change (got {', '.join(sorted(changed)) or 'params/config'})")
        engine_settings = dict(saved["engine"])
        if given.get("steps") is not None or given.get("epochs") is not None:
            engine_settings.update(steps=given.get("steps"), epochs=given.get("epochs"))
        engine_settings.update({k: v for k, v in given.items() if k not in ("steps", "epochs")})
        return recipe_cls, cfg.resolve(recipe_cls, engine_settings, saved["params"]), run_dir
    params = cfg.normalize_keys(params or {})
    if "loss" in params and "loss" not in recipe_cls.hparams:
        reason = getattr(recipe_cls, "no_loss_reason", "it has no adversarial loss to choose")
        raise GanforgeError(f"{recipe} does not take a loss plugin: {reason}")
    run = cfg.resolve(recipe_cls, overrides, params, config)
    run_dir = Path(out) if out else new_run_dir(recipe)
    if (run_dir / STATE_FILE).exists():
        raise GanforgeError(f"'{run_dir}' already holds a run; continue it with --resume {run_dir} "
                            "or choose another --out")
    return recipe_cls, run, run_dir


def _train(ctx, dev, recipe, recipe_cls, run, run_dir: Path, resuming: bool, quiet: bool) -> RunResult:
    engine = run["engine"]
    torch.manual_seed(engine["seed"])  # the same on every process: same weights, same global draws
    data = get("datasets", engine["dataset"])(root=engine["data_root"], image_size=run["params"].get("image_size"),
                                              split="train")
    try:
        model = recipe_cls(run["params"], data, dev)
    except ValueError as exc:  # a network refusing a hyperparameter
        raise GanforgeError(f"{recipe}: {exc}") from None
    model.shard = (ctx.rank, ctx.world)
    _set_precision(model, engine, dev)
    if engine.get("channels_last"):
        for net in model.networks.values():
            if any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in net.modules()):
                net.to(memory_format=torch.channels_last)
    if engine.get("compile"):
        for net in model.networks.values():
            net.compile()  # in place: parameters and state_dict keys stay as they are
    model.ema = {name: ExponentialAverage(model.networks[name], engine["ema"])
                 for name in model.generator_files} if engine.get("ema") else {}
    if ctx.active:
        distributed.wrap_networks(model, dev, engine.get("sync_bn", False))
    batches = Batches(data, engine["batch_size"], engine["seed"], dev, engine["num_workers"],
                      shard=(ctx.rank, ctx.world), channels_last=engine.get("channels_last", False))
    total = engine["steps"] if engine["epochs"] is None else engine["epochs"] * batches.per_epoch
    run_config = {"recipe": recipe, "engine": engine, "params": run["params"], "device": str(dev),
                  "processes": ctx.world}

    start = 0
    if resuming:
        start = restore(run_dir, model)  # every process reads the same state
        if total < start:
            raise GanforgeError(f"run '{run_dir}' is already at step {start}; ask for more steps than that")
    if ctx.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if resuming:
            _trim_metrics(run_dir / "metrics.jsonl", start)
        checkpoint.atomic_write(run_dir / "config.json", json.dumps(run_config, indent=2).encode())

    model.held_out = lambda: get("datasets", engine["dataset"])(
        root=engine["data_root"], image_size=run["params"].get("image_size"), split="test")
    fixed = model.fixed_inputs(engine["grid_size"], torch.Generator().manual_seed(engine["seed"] + 1))
    result = _loop(ctx, recipe, model, batches, run_dir, run_config, fixed, start, total, quiet)
    distributed.finish(model, ctx)
    return result


def _load_run_config(run_dir: Path) -> dict:
    if not (run_dir / STATE_FILE).exists():
        raise GanforgeError(f"'{run_dir}' is not a ganforge run directory (no {STATE_FILE} or config.json)")
    return checkpoint.read_run_config(run_dir)


class ExponentialAverage:
    """An exponential moving average of a network's weights and buffers, kept beside it
    (torch.optim.swa_utils.AveragedModel with an EMA rule)."""

    def __init__(self, network: torch.nn.Module, decay: float):
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        self.network, self.decay = network, decay
        self.averaged = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)

    def update(self) -> None:
        self.averaged.update_parameters(self.network)

    def weights(self) -> dict[str, torch.Tensor]:
        return self.averaged.module.state_dict()


@contextmanager
def _averaged(model):
    """Generators swapped for their moving averages, when there are any (grids, evaluation)."""
    saved = {name: model.networks[name] for name in model.ema}
    for name, average in model.ema.items():
        model.networks[name] = average.averaged.module.train(saved[name].training)
    try:
        yield
    finally:
        model.networks.update(saved)


def _set_precision(model, engine: dict, device: torch.device) -> None:
    """Autocast for bf16/fp16 and, for fp16, a gradient scaler per optimizer."""
    precision = engine.get("precision", "fp32")
    if precision not in ("fp32", "bf16", "fp16"):
        raise GanforgeError(f"precision must be fp32, bf16 or fp16, got '{precision}'")
    if not 0 <= engine.get("ema", 0.0) < 1:
        raise GanforgeError(f"--ema is a decay in [0, 1), e.g. 0.999; got {engine['ema']}")
    if precision == "fp32":
        model.autocast = contextlib.nullcontext
        return
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    model.autocast = lambda: torch.autocast(device.type, dtype=dtype)
    if precision == "fp16":
        model.scalers = {name: torch.amp.GradScaler(device.type) for name in model.optimizers}


@contextmanager
def _inference(model):
    """Every network in eval mode without gradients, then back to how they were; the random
    number generators too, so that training follows the same course however often grids and
    evaluations interrupt it (and rank 0, which does them alone, stays in step with the rest)."""
    modes = {name: net.training for name, net in model.networks.items()}
    for net in model.networks.values():
        net.eval()
    devices = [model.device] if model.device.type == "cuda" else []
    try:
        with torch.no_grad(), distributed.unwrapped(model), torch.random.fork_rng(devices=devices):
            yield
    finally:
        for name, net in model.networks.items():
            net.train(modes[name])


def _write_grid(model, fixed, run_dir: Path, step: int) -> Path:
    inputs, columns = fixed
    with _inference(model), _averaged(model):
        images = model.generate(inputs)
    path = run_dir / "samples" / f"step_{step:07d}.png"
    save_grid(images, model.generator.output_range, path, nrow=columns)
    return path


def _evaluate(model, step: int, probe=None) -> dict:
    """The recipe's own figures and, with a quality probe, sample quality; every network in eval mode."""
    with _inference(model), _averaged(model):
        figures = dict(model.evaluate())
        if probe is not None:
            figures.update(probe(model))
    return {"step": step, **{k: round(float(v), 6) for k, v in figures.items()}} if figures else {}


def _loop(ctx, recipe_name, model, batches, run_dir, run_config, fixed, start, total, quiet) -> RunResult:
    """The training loop. In a distributed run every process steps through it; rank 0
    alone logs, draws grids, evaluates and saves, and at each logging step all of them
    average their losses and agree whether to stop."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    engine = run_config["engine"]
    log_every, sample_every, ckpt_every = engine["log_every"], engine["sample_every"], engine["checkpoint_every"]
    eval_every = engine["eval_every"]
    main = ctx.main
    # Asked-for evaluation of digit generators also logs FID, KID and IS on the digit features.
    probe = None
    if main and eval_every and engine["dataset"] in DIGIT_DATASETS:
        from .evaluation import QualityProbe

        probe = QualityProbe.for_recipe(model)
    console = Console(stderr=True, quiet=quiet or not main)
    sums: dict[str, torch.Tensor] = {}
    last: dict = {}
    step, interrupted = start, False
    if main and (start == 0 or not (run_dir / "samples").exists()):
        _write_grid(model, fixed, run_dir, start)
    columns = [TextColumn(f"[bold]{recipe_name}[/]"), BarColumn(bar_width=24), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[losses]}")]
    log = open(run_dir / "metrics.jsonl", "a") if main else None
    with log or contextlib.nullcontext(), StopRequest(patient=ctx.active) as stop, \
            Progress(*columns, console=console, disable=quiet or not main) as progress:
        task = progress.add_task("train", total=total, completed=start, losses="")
        tick, tick_step = time.perf_counter(), start
        batch_iter = batches.from_step(start)
        while step < total:
            images, labels = next(batch_iter)
            model.schedule(step, total)
            with model.autocast():
                losses = model.train_step(images, labels)
            for average in model.ema.values():
                average.update()
            step += 1
            for k, v in losses.items():
                sums[k] = sums[k] + v if k in sums else v.clone()
            requested = stop.requested
            stopping = requested and not ctx.active  # one process stops at once; several agree first
            if step % log_every == 0 or step == total:
                sums = distributed.average(sums, ctx)
                stopping = distributed.anyone(requested, ctx, model.device)
                now = time.perf_counter()
                n = step - tick_step
                last = {"step": step, "epoch": round(step / batches.per_epoch, 3),
                        **{k: round(v.item() / n, 6) for k, v in sums.items()},
                        "images_per_sec": round(n * batches.batch_size / max(now - tick, 1e-9), 1)}
                if main:
                    log.write(json.dumps(last) + "\n")
                    log.flush()
                progress.update(task, losses=" ".join(f"{k}={last[k]:.3f}" for k in sums))
                sums, tick, tick_step = {}, now, step
            if main and (eval_every and step % eval_every == 0 or step == total):
                figures = _evaluate(model, step, probe)
                if figures:
                    log.write(json.dumps({"eval": True, **figures}) + "\n")
                    log.flush()
                    last.update(figures)
            interrupted = stopping and step < total  # then save and draw now, once
            if main and (step % sample_every == 0 or step == total or interrupted):
                _write_grid(model, fixed, run_dir, step)
            if main and (step % ckpt_every == 0 or step == total or interrupted):
                save_checkpoints(run_dir, recipe_name, model, step, run_config)
            progress.update(task, completed=step)
            if interrupted:
                break
        if total == start and main:  # nothing to do, but leave a complete run behind
            save_checkpoints(run_dir, recipe_name, model, step, run_config)
    return RunResult(run_dir, step, total, interrupted, last)
