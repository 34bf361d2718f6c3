"""Which device a command uses: the one place that turns ``--device`` into a ``torch.device``,
for every command that takes one (train, sample, eval, bench, export, translate and the latent
tools), so that a misspelled or missing device is one line everywhere."""

from __future__ import annotations

import functools
import time

import torch

from ganforge.errors import GanforgeError


def choose_device(device: str | None) -> torch.device:
    """``auto`` (or nothing) is CUDA when present, else the CPU; anything else is checked."""
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise GanforgeError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanforgeError(f"device '{device}' was asked for but no CUDA device is available")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise GanforgeError(f"device '{device}' was asked for but this machine has {torch.cuda.device_count()} "
                            f"CUDA device(s): cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if dev.type not in ("cpu", "cuda"):
        raise GanforgeError(f"device '{device}' is not supported; use auto, cpu, cuda or cuda:N")
    return dev


def cpu_bf16_units() -> list[str]:
    """The bf16 units of this CPU that PyTorch's kernels use: "AVX512-BF16" and "AMX", as present."""
    return [name for name, check in (("AVX512-BF16", "_is_avx512_bf16_supported"), ("AMX", "_is_amx_tile_supported"))
            if getattr(torch.cpu, check, lambda: False)()]


@functools.cache
def cpu_bf16_speedup(rounds: int = 3, steps: int = 2) -> float:
    """How many times faster a DCGAN-like pair of layers (a strided convolution and a transposed
    one, forward and backward, batch 16 at 32 px) runs under bf16 autocast than in fp32 on this
    CPU: the fastest of ``rounds`` alternating timings of ``steps`` passes each, about a second
    in all. A CPU that computes bf16 natively can still run these layers slower in it than in
    fp32 (docs/auto.md), so ``--cfg auto`` measures rather than reads the processor's flags.
    Draws from a random generator of its own: the run's random state is left as it was."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(16, 64, 32, 32, generator=generator, requires_grad=True)
    w_down = (0.05 * torch.randn(128, 64, 4, 4, generator=generator)).requires_grad_()
    w_up = (0.05 * torch.randn(128, 64, 4, 4, generator=generator)).requires_grad_()

    def seconds(bf16: bool) -> float:
        started = time.perf_counter()
        for _ in range(steps):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                hidden = torch.nn.functional.leaky_relu(torch.nn.functional.conv2d(x, w_down, stride=2, padding=1), 0.2)
                y = torch.nn.functional.conv_transpose2d(hidden, w_up, stride=2, padding=1)
            y.float().square().mean().backward()
        return time.perf_counter() - started

    seconds(False), seconds(True)  # the first pass of each sets up its kernels
    fp32, bf16 = zip(*((seconds(False), seconds(True)) for _ in range(rounds)))
    return min(fp32) / min(bf16)


def describe(device: str | torch.device = "cpu") -> str:
    """The hardware behind figures, in one line: the processor's model and the instruction sets
    PyTorch's CPU kernels use (they pick kernels by them, so speeds and floating-point results
    differ between processors), or the CUDA device's name. Benchmarks print it with every figure."""
    import platform

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    extras = cpu_bf16_units()
    line = (f"{model}, torch {torch.__version__}, CPU kernels: {torch.backends.cpu.get_cpu_capability()}"
            + (f" ({', '.join(extras)} present)" if extras else ""))
    if torch.device(device).type == "cuda":
        line = f"{torch.cuda.get_device_name(torch.device(device))}; host {line}"
    return line
