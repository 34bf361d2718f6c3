"""ganforge: a plugin-based PyTorch toolkit for GANs.

    import ganforge
    run = ganforge.train("dcgan", steps=500, out="runs/dcgan")
    G = ganforge.load_generator(run.run_dir / "G.ckpt")
    images = G.generate(16, seed=0)

Importing ganforge does not import torch; the functions below do when called.
"""

__version__ = "0.1.0"

import logging  # noqa: E402

# torch.utils.cpp_extension logs "No CUDA runtime is found, using CUDA_HOME=..." when
# it is imported on a machine without CUDA, which --compile, AOTInductor export and
# bench do. On a CPU machine that is the expected state, not news; drop that one line.
logging.getLogger("torch.utils.cpp_extension").addFilter(
    lambda record: not str(record.msg).startswith("No CUDA runtime is found"))

from .api import (arithmetic, bench, compare, components, evaluate, export, interpolate, invert,  # noqa: E402
                  load_generator, load_network, plugin_requirements, plugins, report, sample, show, train, translate)
from .errors import GanforgeError  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402

# Public submodules the documentation names, imported on first use so that `import ganforge`
# (and `ganforge --help`) stay fast: ganforge.digits.load_digit_classifier() works after `import ganforge`.
SUBMODULES = {"augmentation", "checkpoint", "context", "data", "digits", "evaluation", "exporter", "generator", "losses",
              "networks", "recipe", "settings", "testing"}


def __getattr__(name):
    if name in SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'ganforge' has no attribute '{name}'")


__all__ = ["train", "plugin_requirements", "export", "bench", "evaluate", "interpolate", "arithmetic", "invert",
           "report", "compare", "load_generator", "load_network", "sample", "show", "components", "plugins",
           "translate", "hookimpl", "GanforgeError", "__version__"]
