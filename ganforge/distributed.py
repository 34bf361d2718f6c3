"""Data-parallel training across processes with PyTorch's own engine (torchrun + DDP).

Every process builds the same recipe from the same seed. Each one trains on its
own rows of every global batch (``Batches`` deals them out) and draws its own
rows of every global batch of random numbers (``Recipe.sharded``), while
DistributedDataParallel averages the gradients. A distributed run therefore
computes what one process computes on the whole global batch. Rank 0 alone
writes logs, grids and checkpoints.

``launch()`` (``ganforge train NAME --nproc N``) starts torchrun on this machine;
``torchrun ... -m ganforge train NAME`` does the same by hand, also across machines.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .errors import GanforgeError


@dataclass
class Context:
    """Who this process is in the run (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str | None) -> tuple[Context, torch.device]:
    """Join the process group torchrun describes (or the one the caller started) and pick
    this process's device: its own GPU (LOCAL_RANK) when CUDA is asked for in general.

    The group stays up for later ``train`` calls in the same process and is destroyed
    when the process exits."""
    from .engine import choose_device

    dev = choose_device(device)
    initialized = dist.is_available() and dist.is_initialized()
    if not initialized and not launched_by_torchrun():
        return Context(), dev
    if dev.type == "cuda" and dev.index is None:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if local_rank >= torch.cuda.device_count():
            raise GanforgeError(f"process {local_rank} on this machine has no GPU of its own "
                                f"({torch.cuda.device_count()} visible); start at most one process per GPU")
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    if not initialized:
        if not dist.is_available():
            raise GanforgeError("this PyTorch build has no torch.distributed")
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo",
                                device_id=dev if dev.type == "cuda" else None)
        atexit.register(_shutdown)
    return Context(dist.get_rank(), dist.get_world_size()), dev


def _shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


class Parallel(DistributedDataParallel):
    """DDP that still answers for its network's own attributes (``signature``, ...)."""

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, DistributedDataParallel) else net


def check_sync_bn(sync_bn: bool, device: torch.device) -> None:
    if sync_bn and device.type != "cuda":
        raise GanforgeError("--sync-bn needs CUDA devices (torch's SyncBatchNorm runs on GPUs only)")


def wrap_networks(recipe, device: torch.device, sync_bn: bool) -> None:
    """Every network with trainable weights in DDP (after batch norm is made synchronized,
    if asked); networks without any stay as they are."""
    check_sync_bn(sync_bn, device)
    # A performance note about gradient layouts (CPU convolutions trigger it); nothing to act on.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    for name, net in recipe.networks.items():
        if not any(p.requires_grad for p in net.parameters()):
            continue
        if sync_bn:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)  # reuses the same parameters
        recipe.networks[name] = Parallel(net, device_ids=[device] if device.type == "cuda" else None)


def finish(recipe, ctx: Context) -> None:
    """The end of a distributed run: drop the DDP wrappers now, while the process group is
    up (left to interpreter exit, their teardown can abort the process), and wait until
    every process, rank 0 with its last checkpoint included, is done."""
    if not ctx.active:
        return
    recipe.networks.update({name: unwrap(net) for name, net in recipe.networks.items()})
    dist.barrier()


@contextmanager
def unwrapped(recipe):
    """The plain networks in ``recipe.networks``, for work rank 0 does alone (grids,
    evaluation): DDP's forward would wait for the other processes."""
    saved = dict(recipe.networks)
    recipe.networks.update({name: unwrap(net) for name, net in saved.items()})
    try:
        yield
    finally:
        recipe.networks.update(saved)


def average(values: dict[str, torch.Tensor], ctx: Context) -> dict[str, torch.Tensor]:
    """The mean of each logged figure over all processes."""
    if not ctx.active or not values:
        return values
    keys = list(values)  # the same order on every process: the same code logged them
    stacked = torch.stack([values[k].float() for k in keys])
    dist.all_reduce(stacked)
    return dict(zip(keys, stacked / ctx.world))


def anyone(flag: bool, ctx: Context, device: torch.device) -> bool:
    """True on every process when it is true on any (a stop asked for on one of them)."""
    if not ctx.active:
        return flag
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def agree_on(value, ctx: Context):
    """Rank 0's ``value`` on every process (e.g. the run directory it named)."""
    if not ctx.active:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


# -- the --nproc shortcut ---------------------------------------------------------------

ARGS_ENV, RESULT_ENV = "GANFORGE_TRAIN_ARGS", "GANFORGE_TRAIN_RESULT"
LAUNCH_FLAG = "--launch"


def launch(recipe: str, nproc: int, options: dict):
    """Run ``ganforge.train(recipe, **options)`` in ``nproc`` processes on this machine
    through torchrun, and return rank 0's result.

    The settings are checked here first, so that mistakes cost one line, not ``nproc``
    failing processes. Ctrl-C reaches every process; they agree to stop, rank 0 saves,
    and the result says ``interrupted``. An error in any process stops all of them."""
    from .engine import RunResult, choose_device, new_run_dir, plan

    if launched_by_torchrun():
        raise GanforgeError("--nproc starts torchrun itself; under torchrun, leave it out")
    options = dict(options)
    engine_keys = set(options) - {"out", "resume", "params", "config", "device", "quiet"}
    _, run, _ = plan(recipe, {k: options[k] for k in engine_keys}, out=options.get("out"),
                     resume=options.get("resume"), params=options.get("params"), config=options.get("config"))
    check_sync_bn(run["engine"]["sync_bn"], choose_device(options.get("device")))
    if run["engine"]["batch_size"] % nproc:
        raise GanforgeError(f"the batch size {run['engine']['batch_size']} does not split evenly over "
                            f"{nproc} processes")
    if not options.get("out") and not options.get("resume"):
        options["out"] = str(new_run_dir(recipe))
    threads = max((os.cpu_count() or 1) // nproc, 1)
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        env = {**os.environ, ARGS_ENV: json.dumps({"recipe": recipe, "options": options}, default=str),
               RESULT_ENV: str(result_file),
               "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))}
        command = [sys.executable, "-m", "ganforge.distributed", LAUNCH_FLAG, "--standalone",
                   f"--nproc-per-node={nproc}", "-m", "ganforge.distributed"]
        # The terminal's Ctrl-C reaches torchrun and the workers; this process waits for them.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            code = subprocess.run(command, env=env).returncode
        finally:
            signal.signal(signal.SIGINT, previous)
        if not result_file.exists():
            raise GanforgeError(f"distributed training stopped with an error (exit status {code}); "
                                "the processes' messages are above")
        result = json.loads(result_file.read_text())
    return RunResult(Path(result["run_dir"]), result["step"], result["total_steps"], result["interrupted"],
                     result["last_metrics"])


def _torchrun(argv: list[str]) -> int:
    """torchrun, with its failure report shortened to the exit status (each process has
    already said what went wrong, in one line)."""
    os.environ.setdefault("LOGLEVEL", "ERROR")  # torchrun's notices of shutting down processes
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    try:
        run(parse_args(argv))
    except ChildFailedError as exc:
        rank, failure = min(exc.failures.items())
        return failure.exitcode if failure.exitcode and failure.exitcode > 0 else 1
    except SignalException:
        return 130
    return 0


def _worker() -> int:
    """One process of a ``launch()``: train, and let rank 0 report the result to the launcher."""
    from .engine import train

    job = json.loads(os.environ[ARGS_ENV])
    rank = int(os.environ.get("RANK", "0"))
    try:
        result = train(job["recipe"], **job["options"])
    except GanforgeError as exc:
        print(f"Error{f' (process {rank})' if rank else ''}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before training began (the loop itself stops cleanly)
        return 130
    if rank == 0:
        Path(os.environ[RESULT_ENV]).write_text(json.dumps(
            {"run_dir": str(result.run_dir), "step": result.step, "total_steps": result.total_steps,
             "interrupted": result.interrupted, "last_metrics": result.last_metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(_torchrun(sys.argv[2:]) if sys.argv[1:2] == [LAUNCH_FLAG] else _worker())
