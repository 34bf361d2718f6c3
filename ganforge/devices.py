"""Which device a command uses: the one place that turns ``--device`` into a ``torch.device``,
for every command that takes one (train, sample, eval, bench, export, translate and the latent
tools), so that a misspelled or missing device is one line everywhere."""

from __future__ import annotations

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
