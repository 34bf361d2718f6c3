import os

import pytest

from ganforge.hooks import manager as plugin_manager

# Tests run on 2 CPU cores; keep torch from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "2")
# Artifacts the tests export are trusted in a store of the test session's own, not the user's.
if "GANFORGE_TRUST_STORE" not in os.environ:
    import tempfile

    os.environ["GANFORGE_TRUST_STORE"] = os.path.join(tempfile.mkdtemp(prefix="ganforge-trust-"), "trusted.json")
# Prepared image stores go to the session's own cache, never the user's.
if "GANFORGE_CACHE" not in os.environ:
    import tempfile

    os.environ["GANFORGE_CACHE"] = tempfile.mkdtemp(prefix="ganforge-cache-")

from support.sizes import TINY_DCGAN

# platform caches what `uname -p` says: asked once here, libraries that ask later (mlflow) start
# no process inside a test of the in-process tiers.
import platform

platform.processor()

# matplotlib (which torchmetrics imports) asks fc-list for the fonts on its first import on a
# machine: asked here, once, so that no test of the in-process tiers starts that process.
try:
    import matplotlib.font_manager  # noqa: F401
except ImportError:
    pass


@pytest.fixture(autouse=True)
def fresh_plugins():
    """Every test starts from the installed plugins only."""
    plugin_manager.reset_plugins()
    yield
    plugin_manager.reset_plugins()


@pytest.fixture
def add_plugin():
    """Load the normal plugins plus ``plugin`` (any object with hook implementations)."""

    def add(plugin, name="test-plugin", version="9.9", distribution=""):
        system = plugin_manager.load_plugins()
        system.add(plugin, name, version, builtin=False, distribution=distribution)
        return system

    return add


@pytest.fixture(scope="session")
def tiny_dcgan_run(tmp_path_factory):
    """A tiny trained DCGAN shared by sampling and checkpoint tests."""
    import ganforge

    plugin_manager.reset_plugins()
    out = tmp_path_factory.mktemp("runs") / "dcgan"
    ganforge.train("dcgan", steps=4, batch_size=8, out=out, params=TINY_DCGAN, log_every=2, quiet=True)
    return out


@pytest.fixture(scope="session")
def aoti_package(tmp_path_factory):
    """The released cgan generator exported once as an AOTInductor package (a C++ build: the
    slowest export there is), for the tests that need one: (G.ckpt, G.pt2)."""
    import shutil

    import ganforge

    folder = tmp_path_factory.mktemp("aoti")
    shutil.copy(os.path.join(os.path.dirname(__file__), "fixtures", "release-7f62249", "cgan", "G.ckpt"), folder)
    result = ganforge.export(folder / "G.ckpt", "aoti", folder / "G.pt2", max_batch=16)
    assert result.verified and result.max_abs_error <= 1e-4
    return folder / "G.ckpt", result.path


def pytest_sessionfinish(session, exitstatus):
    """The fixtures written by earlier releases are evidence: no test may change them."""
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures" / "release-7f62249"
    released = {"expected.json", "pixels.npz", *(f"{run}/{name}" for run in ("dcgan", "cgan")
                                    for name in ("D.ckpt", "G.ckpt", "config.json", "metrics.jsonl", "state.ckpt"))}
    extra = sorted(p.relative_to(fixtures).as_posix() for p in fixtures.rglob("*") if p.is_file()
                   and "__pycache__" not in p.parts)
    extra = [name for name in extra if name not in released]
    if extra:
        session.exitstatus = 1
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"tests wrote into tests/fixtures/release-7f62249: {', '.join(extra)}"
        reporter.write_line(message, red=True) if reporter else print(message)


@pytest.fixture(autouse=True)
def processes_are_the_system_tier(request, monkeypatch):
    """A test that starts a process (a fresh interpreter, torchrun, pip, a compiler, a browser)
    is marked ``system``: the unit and e2e tiers run in this process, so they stay fast."""
    if request.node.get_closest_marker("system") is None:
        import subprocess

        def refuse(self, args, *rest, **options):
            raise AssertionError(f"this test starts a process ({args!r}): mark it @pytest.mark.system")

        monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
