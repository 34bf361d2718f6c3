"""Old import paths that keep working, with a ``DeprecationWarning`` naming the new one.

Core v3 moved the modules that sat side by side in ``ganforge/`` into subpackages by job,
and gave plugin authors one surface, ``ganforge.plugin``. Packages written against an
earlier guide import ``ganforge.recipe``, ``ganforge.losses``, ``ganforge.artifacts.Exporter``
(before core v2) or ``ganforge.plugins.gans.sgan`` (the built-ins' name before core v2):
``MODULES`` and ``NAMES`` below are the whole table of such paths, and ``install()`` (called
by ``ganforge/__init__.py``) makes Python find them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import pkgutil
import sys
import types
import warnings

# The release that removes every deprecated path (this module, the package ``__getattr__``s that
# use it, ``Param.__iter__`` and ``Recipe.observe_real``'s one-argument ``observe``); a test fails
# once ganforge's version reaches it.
REMOVED_IN = "0.3"

# Old module -> the module that holds its names now.
MODULES = {
    "ganforge.hookspecs": "ganforge.hooks.specs",
    "ganforge.plugin_manager": "ganforge.hooks.manager",
    "ganforge.images": "ganforge.data.images",
    "ganforge.recipe": "ganforge.contracts.recipe",
    "ganforge.context": "ganforge.contracts.context",
    "ganforge.losses": "ganforge.contracts.loss",
    "ganforge.loggers": "ganforge.contracts.logger",
    "ganforge.augmentation": "ganforge.contracts.augmentation",
    "ganforge.exporter": "ganforge.contracts.exporter",
    "ganforge.networks": "ganforge.contracts.networks",
    "ganforge.checkpoint": "ganforge.artifacts.checkpoint",
    "ganforge.limits": "ganforge.artifacts.limits",
    "ganforge.generator": "ganforge.artifacts.loading",
    "ganforge.settings": "ganforge.training.settings",
    "ganforge.config": "ganforge.training.config",
    "ganforge.planning": "ganforge.training.planning",
    "ganforge.launcher": "ganforge.training.launcher",
    "ganforge.engine": "ganforge.training.engine",
    "ganforge.batches": "ganforge.training.batches",
    "ganforge.stopping": "ganforge.training.stopping",
    "ganforge.averaging": "ganforge.training.averaging",
    "ganforge.state": "ganforge.training.state",
    "ganforge.distributed": "ganforge.training.distributed",
    "ganforge.progress": "ganforge.training.progress",
    "ganforge.runlock": "ganforge.training.runlock",
    "ganforge.digits": "ganforge.evaluation.digits",
    "ganforge.latent": "ganforge.tools.latent",
    "ganforge.reporting": "ganforge.tools.report",
    "ganforge.benchmark": "ganforge.tools.bench",
    "ganforge.pytest_plugin": "ganforge.testing.pytest_plugin",
}
# Names whose old module is now a package of the same name (``ganforge.artifacts``,
# ``ganforge.data``, ``ganforge.evaluation``), or that moved to another module than the
# rest of their module: "old.module:name" -> "new.module:name".
NAMES = {
    "ganforge:hookimpl": "ganforge.plugin:hookimpl",  # the guides before core v3 imported it from ganforge
    "ganforge.artifacts:export": "ganforge.artifacts.export:export",
    "ganforge.artifacts:compare": "ganforge.artifacts.export:compare",
    "ganforge.artifacts:ExportResult": "ganforge.artifacts.export:ExportResult",
    "ganforge.artifacts:Exporter": "ganforge.contracts.exporter:Exporter",  # before core v2, with its helpers:
    "ganforge.artifacts:artifact_meta": "ganforge.contracts.exporter:artifact_meta",
    "ganforge.artifacts:dump_meta": "ganforge.contracts.exporter:dump_meta",
    "ganforge.artifacts:batch_dynamic_shapes": "ganforge.contracts.exporter:batch_dynamic_shapes",
    "ganforge.data:InMemoryDataset": "ganforge.data.datasets:InMemoryDataset",
    "ganforge.data:UnpairedDataset": "ganforge.data.datasets:UnpairedDataset",
    "ganforge.data:class_balanced_split": "ganforge.data.datasets:class_balanced_split",
    "ganforge.evaluation:Extractor": "ganforge.contracts.extractor:Extractor",
    "ganforge.evaluation:evaluate": "ganforge.evaluation.metrics:evaluate",
    "ganforge.evaluation:QualityProbe": "ganforge.evaluation.metrics:QualityProbe",
    "ganforge.exporter:exporter_for": "ganforge.artifacts.loading:exporter_for",
    "ganforge.exporter:unclaimed": "ganforge.artifacts.loading:unclaimed",
    "ganforge.exporter:default_backends": "ganforge.tools.bench:default_backends",
    "ganforge.exporter:backend_name": "ganforge.tools.bench:backend_name",
    "ganforge.exporter:RUNTIME_NAMES": "ganforge.tools.bench:RUNTIME_NAMES",
    "ganforge.state:newer_generator": "ganforge.artifacts.rundir:newer_generator",
    "ganforge.state:trim_metrics": "ganforge.artifacts.rundir:trim_metrics",
    "ganforge.checkpoint:read_run_config": "ganforge.artifacts.rundir:read_config",
    "ganforge.digits:SHA256": "ganforge.evaluation.digits:DIGIT_CLASSIFIER_SHA256",
    "ganforge.plugin:run_files": "ganforge.plugin:rundir",  # exported as defined since core v3.1
}
# The built-ins' package before core v2.
PREFIXES = {"ganforge.plugins": "ganforge.builtins"}


def deprecated(what: str, instead: str, stacklevel: int = 3) -> None:
    """The one warning of every deprecated path: what it is, the release that removes it, and
    what to do instead."""
    warnings.warn(f"{what} is deprecated and will be removed in ganforge {REMOVED_IN}; {instead}",
                  DeprecationWarning, stacklevel=stacklevel + 1)


def warn(old: str, new: str, stacklevel: int = 3) -> None:
    deprecated(old, f"import {new} instead (plugin authors: everything is in ganforge.plugin)", stacklevel + 1)


def attribute(module_name: str, name: str):
    """``module_name.name`` by the ``NAMES`` table, warning; AttributeError if it has no entry."""
    target = NAMES.get(f"{module_name}:{name}")
    if target is None:
        raise AttributeError(f"module '{module_name}' has no attribute '{name}'")
    warn(f"{module_name}.{name}", target.replace(":", "."))
    return pkgutil.resolve_name(target)


def package_getattr(module_name: str):
    """A module ``__getattr__`` for a package that replaced an old module of its name: its
    submodules import on first use (``ganforge.evaluation.digits`` after ``import ganforge``),
    and the old module's names are found where they live now, with a warning."""

    def getattr_(name: str):
        if not name.startswith("__") and importlib.util.find_spec(f"{module_name}.{name}") is not None:
            return importlib.import_module(f"{module_name}.{name}")
        return attribute(module_name, name)

    return getattr_


class MovedModule(types.ModuleType):
    """What an old module path imports as: every name read from where it lives now."""

    def __init__(self, name: str, target: str):
        super().__init__(name, f"Moved to {target}.")
        self.__moved_to__ = target

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if f"{self.__name__}:{name}" in NAMES:
            return attribute(self.__name__, name)
        return getattr(importlib.import_module(self.__moved_to__), name)

    def __dir__(self):
        return sorted(set(dir(importlib.import_module(self.__moved_to__))))


class _OldBuiltins(types.ModuleType):
    """``ganforge.plugins`` as a package name (the built-ins before core v2) that is still the
    function ``ganforge.plugins()`` when called: importing ``ganforge.plugins.gans.sgan`` sets
    ``ganforge.plugins`` to this module, which must not break the function of that name."""

    def __init__(self, name: str, target: str):
        super().__init__(name, f"Moved to {target}.")
        self.__path__ = importlib.import_module(target).__path__
        self.__moved_to__ = target

    def __call__(self, *args, **kwargs):
        # resolved by name when called: the API sits at the top of the layers, this module at the bottom
        return pkgutil.resolve_name("ganforge.api:plugins")(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(importlib.import_module(self.__moved_to__), name)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if self._target(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    @staticmethod
    def _target(fullname: str) -> str | None:
        if fullname in MODULES:
            return MODULES[fullname]
        for old, new in PREFIXES.items():
            if fullname == old or fullname.startswith(old + "."):
                return new + fullname[len(old):]
        return None

    def create_module(self, spec):
        target = self._target(spec.name)
        warn(spec.name, target, stacklevel=2)
        if spec.name in MODULES:
            return MovedModule(spec.name, target)
        if spec.name in PREFIXES:
            return _OldBuiltins(spec.name, target)
        return importlib.import_module(target)  # a built-in plugin module: the same module object

    def exec_module(self, module):
        pass


def install() -> None:
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
