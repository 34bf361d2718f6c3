"""Plugins written against earlier guides keep working: every import path the guide documented
(today's before core v3, and ganforge.artifacts.Exporter from before core v2) still gives the
same object, with a DeprecationWarning that names the new path."""

import importlib
import sys
import warnings
from pathlib import Path

import pytest

import ganforge
import ganforge.plugin as surface
from ganforge._moved import REMOVED_IN

OLD = {  # old path -> the public name it is now
    "ganforge.recipe:Recipe": "Recipe",
    "ganforge.recipe:AdversarialRecipe": "AdversarialRecipe",
    "ganforge.recipe:ADVERSARIAL_HPARAMS": "ADVERSARIAL_HPARAMS",
    "ganforge.losses:Loss": "Loss",
    "ganforge.loggers:Logger": "Logger",
    "ganforge.loggers:needs": "needs",
    "ganforge.augmentation:Augmentation": "Augmentation",
    "ganforge.exporter:Exporter": "Exporter",
    "ganforge.exporter:artifact_meta": "artifact_meta",
    "ganforge.exporter:batch_dynamic_shapes": "batch_dynamic_shapes",
    "ganforge.exporter:dump_meta": "dump_meta",
    "ganforge.artifacts:Exporter": "Exporter",  # the guide before core v2
    "ganforge.evaluation:Extractor": "Extractor",
    "ganforge.context:TrainingContext": "TrainingContext",
    "ganforge.generator:Generator": "Generator",
    "ganforge.generator:load_network": "load_network",
    "ganforge.networks:latent_input": "latent_input",
    "ganforge.networks:random_inputs": "random_inputs",
    "ganforge.plugin_manager:get": "get",
    "ganforge.images:read_image": "read_image",
    "ganforge.data:InMemoryDataset": "InMemoryDataset",
    "ganforge.checkpoint:atomic_write": "atomic_write",
    "ganforge.limits:check_signature": "check_signature",
    "ganforge.digits:load_digit_classifier": "load_digit_classifier",
    "ganforge.hookspecs:hookimpl": "hookimpl",
}


def forget(module: str) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        if getattr(sys.modules[name], "__moved_to__", None) or name.startswith("ganforge.plugins"):
            del sys.modules[name]


@pytest.mark.parametrize("old", sorted(OLD))
def test_an_old_import_path_gives_the_same_object_and_names_the_new_one(old):
    module, _, name = old.partition(":")
    forget(module)
    with pytest.warns(DeprecationWarning, match=r"import ganforge\.") as caught:
        value = getattr(importlib.import_module(module), name)
    assert value is getattr(surface, OLD[old])
    assert any("ganforge.plugin" in str(w.message) for w in caught)


def test_the_builtins_old_package_name_still_imports():
    forget("ganforge.plugins")
    with pytest.warns(DeprecationWarning, match="ganforge.builtins"):
        from ganforge.plugins.gans.sgan import classify  # the guide before core v2
    from ganforge.builtins.gans.sgan import classify as now
    assert classify is now


def test_the_conformance_kit_and_the_api_need_no_new_path():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from ganforge.testing import check_loss  # noqa: F401
        from ganforge import GanforgeError, train  # noqa: F401
        from ganforge.plugin import hookimpl  # noqa: F401


@pytest.mark.e2e
def test_a_plugin_written_against_the_previous_guide_trains_unchanged(tmp_path, add_plugin, monkeypatch):
    """tests/fixtures/guide_v2_plugin is examples/ganforge-wgan as it was at 7f62249 (imports from
    ganforge.recipe, ganforge.networks, ganforge.losses), renamed so it can sit beside it."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "fixtures" / "guide_v2_plugin"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the old paths warn; that is tested above
        plugin = importlib.import_module("guide_v2_wgan")
        add_plugin(plugin, name="guide-v2-wgan")
        run = ganforge.train("wgan-v2-guide", steps=2, batch_size=8, out=tmp_path / "run", quiet=True,
                             params={"latent_dim": 8, "g_width": 4, "d_width": 4, "n_critic": 2})
    assert run.step == 2
    assert ganforge.load_generator(tmp_path / "run").generate(2, seed=0).shape == (2, 1, 28, 28)


GUIDE_NAMES = (Path(__file__).parent / "fixtures" / "guide_names.txt").read_text().split()


def split(reference: str) -> tuple[str, str]:
    """``(module, name)`` of a reference as the guide wrote it: ``module:name``, a module, or a
    dotted ``module.name`` (``name`` is "" for a module)."""
    if ":" in reference:
        module, name = reference.split(":", 1)
        return module, name
    try:
        importlib.import_module(reference)
        return reference, ""
    except ImportError:
        module, _, name = reference.rpartition(".")
        return module, name


def moved(module: str, name: str) -> bool:
    """Whether ``module.name`` is a path of an earlier release (ganforge/_moved.py's tables)."""
    from ganforge import _moved

    return (module in _moved.MODULES or any(module == old or module.startswith(old + ".") for old in _moved.PREFIXES)
            or f"{module}:{name}" in _moved.NAMES)


@pytest.mark.parametrize("reference", GUIDE_NAMES)
def test_every_name_any_earlier_guide_taught_still_imports(reference):
    """tests/fixtures/guide_names.txt: every name the guide's text and examples showed plugin
    authors how to import, in any commit of the history (tests/fixtures/make_guide_names.py).
    A moved one imports with a warning that names its new path and the release that removes it."""
    forget(reference.partition(":")[0].rpartition(".")[0] if ":" not in reference else reference.partition(":")[0])
    forget(reference.partition(":")[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module, name = split(reference)
        found = importlib.import_module(module)
        assert (getattr(found, name) if name else found) is not None
    if moved(module, name):
        messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
        assert any(f"removed in ganforge {REMOVED_IN}" in m and "instead" in m for m in messages), messages


def test_the_deprecated_paths_are_gone_by_the_release_that_removes_them():
    """The warnings promise removal in ganforge REMOVED_IN: once this version reaches it, the
    shims (ganforge/_moved.py, package_getattr, Param.__iter__, observe_real's one-argument
    form) must be deleted, and this test with them."""
    from packaging.version import Version

    from ganforge.version import __version__

    assert Version(__version__) < Version(REMOVED_IN), (
        f"ganforge {__version__} still carries the deprecated paths whose warnings say they are removed in "
        f"{REMOVED_IN}: delete them")


def test_a_param_unpacked_as_the_tuple_it_once_was_warns():
    from ganforge.plugin import Param

    with pytest.warns(DeprecationWarning, match=r"removed in ganforge 0\.3; read param.default"):
        default, help_ = Param(int, 3, "three")
    assert (default, help_) == (3, "three")
