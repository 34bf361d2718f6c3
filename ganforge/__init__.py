"""ganforge: a plugin-based PyTorch toolkit for GANs.

    import ganforge
    run = ganforge.train("dcgan", steps=500, out="runs/dcgan")
    G = ganforge.load_generator(run.run_dir)
    images = G.generate(16, seed=0)

Importing ganforge does not import torch; the functions below do when called. Plugin
authors import everything they need from ``ganforge.plugin``. Nothing inside the package
imports this module: it only gathers the Python API (``ganforge.api``) for users.
"""

import logging

from ganforge import _moved
from ganforge.version import __version__

# torch.utils.cpp_extension logs "No CUDA runtime is found, using CUDA_HOME=..." when
# it is imported on a machine without CUDA, which --compile, AOTInductor export and
# bench do. On a CPU machine that is the expected state, not news; drop that one line.
logging.getLogger("torch.utils.cpp_extension").addFilter(
    lambda record: not str(record.msg).startswith("No CUDA runtime is found"))

_moved.install()  # import paths of earlier releases keep working, with a deprecation warning

from ganforge.api import (arithmetic, bench, compare, components, evaluate, export, interpolate,  # noqa: E402
                          invert, load_generator, load_network, plugin_requirements, plugins, prepare, report, sample,
                          serve, show, train, translate, trust)
from ganforge.errors import GanforgeError  # noqa: E402

# Subpackages, imported on first use so that `import ganforge` (and `ganforge --help`) stay
# fast: ganforge.plugin.Recipe works after `import ganforge`.
SUBPACKAGES = {"artifacts", "contracts", "data", "evaluation", "hooks", "plugin", "testing", "tools", "training"}


def __getattr__(name):
    import importlib

    if name in SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if f"{__name__}.{name}" in _moved.MODULES:  # ganforge.evaluation.digits and the other paths of earlier releases
        return importlib.import_module(f"{__name__}.{name}")
    if f"{__name__}:{name}" in _moved.NAMES:  # ganforge.hookimpl: plugin authors' names live in ganforge.plugin
        return _moved.attribute(__name__, name)
    raise AttributeError(f"module 'ganforge' has no attribute '{name}'")


__all__ = ["train", "plugin_requirements", "export", "bench", "evaluate", "interpolate", "arithmetic", "invert",
           "report", "compare", "load_generator", "load_network", "sample", "show", "components", "plugins",
           "translate", "trust", "serve", "prepare", "GanforgeError", "__version__"]
