"""Data-parallel training across processes with PyTorch's own engine (torchrun + DDP).

Every process builds the same recipe from the same seed. Each one trains on its
own rows of every global batch (``Batches`` deals them out) and draws its own
rows of every global batch of random numbers (``Recipe.sharded``), while
DistributedDataParallel averages the gradients. A distributed run therefore
computes what one process computes on the whole global batch. Rank 0 alone
writes logs, grids and checkpoints.

``ganforge.training.launcher`` (``ganforge train NAME --nproc N``) starts torchrun on this
machine; ``torchrun ... -m ganforge train NAME`` does the same by hand, also across machines.
"""

from __future__ import annotations

import atexit
import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganforge.devices import choose_device
from ganforge.errors import GanforgeError


@dataclass
class Process:
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


def setup(device: str | None) -> tuple[Process, torch.device]:
    """Join the process group torchrun describes (or the one the caller started) and pick
    this process's device: its own GPU (LOCAL_RANK) when CUDA is asked for in general.

    The group stays up for later ``train`` calls in the same process and is destroyed
    when the process exits."""
    dev = choose_device(device)
    initialized = dist.is_available() and dist.is_initialized()
    if not initialized and not launched_by_torchrun():
        return Process(), dev
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
    return Process(dist.get_rank(), dist.get_world_size()), dev


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


def check_sync_bn(sync_bn: bool, device: torch.device) -> None:
    if sync_bn and device.type != "cuda":
        raise GanforgeError("--sync-bn needs CUDA devices (torch's SyncBatchNorm runs on GPUs only)")


def average_gradients(parameters, process: Process) -> None:
    """Every process's gradients of ``parameters`` replaced by their mean over the processes,
    in one all-reduce of one flat buffer: what DDP's reducer does, done by hand for runs whose
    losses differentiate a gradient again (R1 and R2), which DDP cannot (as StyleGAN2-ADA's
    training loop does). Parameters without a gradient are left out; every process has the
    same ones, as every process runs the same code."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not process.active or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= process.world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_buffers(networks: dict[str, nn.Module], process: Process) -> None:
    """Rank 0's buffers (batch norm's running statistics) to every process, as DDP does before
    each forward pass: the networks then agree on what they save and sample with."""
    if not process.active:
        return
    for net in networks.values():
        for buffer in net.buffers():
            dist.broadcast(buffer, 0)


def wrapped(networks: dict[str, nn.Module], device: torch.device, sync_bn: bool,
            penalties: bool = False) -> dict[str, nn.Module]:
    """The networks as training calls them in a distributed run: every network with trainable
    weights in DDP (its batch norm made synchronized first, if asked); the rest as they are.
    The networks themselves stay what checkpoints save. With gradient ``penalties`` (R1, R2)
    nothing is wrapped: the recipe's updates average the gradients themselves
    (``average_gradients``), because DDP cannot differentiate a gradient a second time."""
    check_sync_bn(sync_bn, device)
    if penalties:
        if sync_bn:
            raise GanforgeError("--sync-bn does not combine with R1/R2 penalties in a distributed run")
        return dict(networks)
    # A performance note about gradient layouts (CPU convolutions trigger it); nothing to act on.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    view = {}
    for name, net in networks.items():
        if not any(p.requires_grad for p in net.parameters()):
            view[name] = net
            continue
        if sync_bn:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)  # reuses the same parameters and buffers
        view[name] = Parallel(net, device_ids=[device] if device.type == "cuda" else None)
    return view


def finish(view: dict[str, nn.Module], process: Process) -> None:
    """The end of a distributed run: drop the DDP wrappers now, while the process group is
    up (left to interpreter exit, their teardown can abort the process), and wait until
    every process, rank 0 with its last checkpoint included, is done."""
    if not process.active:
        return
    view.clear()
    dist.barrier()


def average(values: dict[str, torch.Tensor], process: Process) -> dict[str, torch.Tensor]:
    """The mean of each logged figure over all processes."""
    if not process.active or not values:
        return values
    keys = list(values)  # the same order on every process: the same code logged them
    stacked = torch.stack([values[k].float() for k in keys])
    dist.all_reduce(stacked)
    return dict(zip(keys, stacked / process.world))


def total(tensor: torch.Tensor, process: Process) -> torch.Tensor:
    """``tensor`` summed over every process (the statistics channel's ``sum``)."""
    if not process.active:
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor)
    return tensor


def largest(value: int, process: Process, device: torch.device) -> int:
    """The largest of every process's ``value`` (e.g. a stop signal asked for on any of them)."""
    if not process.active:
        return value
    t = torch.tensor([float(value)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def agree_on(value, process: Process):
    """Rank 0's ``value`` on every process (e.g. the run directory it named)."""
    if not process.active:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
