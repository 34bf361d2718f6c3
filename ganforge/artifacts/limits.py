"""What a file may make ganforge allocate.

Checkpoints and run configurations are untrusted input: their metadata says which
network to build and how big. Building it runs under ``bounded(n)``, which stops
the construction as soon as the network's parameters and buffers exceed ``n``
elements (the tensors the file really holds, plus a margin), before the memory
is touched; input signatures are bounded too.
"""

from __future__ import annotations

import contextlib
import math

from torch.nn.modules import module as nn_module

from ganforge.errors import CheckpointError

MAX_INPUT_ELEMENTS = 1 << 24  # per sample, per generator input (a 4096 x 4096 RGB image is 50M: too big)
MAX_MODULES = 10_000  # the built-in networks have at most a few hundred


class TooLarge(Exception):
    pass


@contextlib.contextmanager
def bounded(max_elements: int, what: str):
    """Build networks inside: more than ``max_elements`` parameter and buffer elements, or an
    absurd number of modules, stops the construction with a one-line ``CheckpointError``."""
    count = {"elements": 0, "modules": 0}

    def on_tensor(module, name, tensor):
        if tensor is not None:
            count["elements"] += tensor.numel()
            if count["elements"] > max_elements:
                raise TooLarge(f"more than {max_elements:,} weights")

    def on_module(module, name, submodule):
        count["modules"] += 1
        if count["modules"] > MAX_MODULES:
            raise TooLarge(f"more than {MAX_MODULES:,} layers")

    handles = [nn_module.register_module_parameter_registration_hook(on_tensor),
               nn_module.register_module_buffer_registration_hook(on_tensor),
               nn_module.register_module_module_registration_hook(on_module)]
    try:
        yield
    except TooLarge as exc:
        raise CheckpointError(f"{what} asks for a network with {exc}, more than its file holds; refused") from None
    except MemoryError:  # an allocation that failed outright
        raise CheckpointError(f"{what} asks for a network this machine cannot hold (out of memory); refused") from None
    except RuntimeError as exc:
        text = " ".join(str(exc).split())
        reason = "out of memory" if "allocate" in text or "memory" in text.lower() else text[:100]
        raise CheckpointError(f"{what} asks for a network this machine cannot hold ({reason}); refused") from None
    finally:
        for handle in handles:
            handle.remove()


def elements(tensors) -> int:
    """How many elements some tensors hold."""
    return sum(t.numel() for t in tensors)


def check_signature(signature, where: str) -> None:
    """A generator's inputs, as metadata describes them: a list of named inputs of sane size."""
    if not isinstance(signature, list) or not signature:
        raise CheckpointError(f"{where} does not describe the generator's inputs (no signature)")
    for spec in signature:
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if not isinstance(shape, list) or not all(isinstance(d, int) and 0 < d for d in shape) \
                or math.prod(shape) > MAX_INPUT_ELEMENTS or "name" not in spec:
            raise CheckpointError(f"{where} describes an input that is malformed or too large: {str(spec)[:80]}")
