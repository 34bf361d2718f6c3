"""The plugin template and the example package, installed as users install them."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import cli, run_cli

pytestmark = pytest.mark.e2e  # every test here trains, exports or starts processes

ROOT = Path(__file__).resolve().parent.parent


def _pip_install(source: Path, target: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                             "--target", str(target), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.system
def test_template_copied_renamed_and_installed_is_discovered_and_passes_its_tests(tmp_path):
    """What the template's README tells a user to do: copy it, rename it, install it."""
    copy = shutil.copytree(ROOT / "examples" / "plugin-template", tmp_path / "ganforge-mine")
    (copy / "ganforge_template").rename(copy / "ganforge_mine")
    for path in (copy / "pyproject.toml", copy / "ganforge_mine" / "__init__.py", copy / "tests" / "test_template.py"):
        path.write_text(path.read_text().replace("template", "mine"))
    site = tmp_path / "site"
    _pip_install(copy, site)
    env = {"PYTHONPATH": str(site)}
    plugins = {p["name"]: p for p in json.loads(run_cli("plugins", "--json", env=env).stdout)}
    assert (plugins["mine"]["version"], plugins["mine"]["registered"]) == ("0.1.0", {"losses": ["squared-hinge"]})
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(copy / "tests")],
                           capture_output=True, text=True, cwd=tmp_path, env={**__import__("os").environ, **env})
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout


@pytest.mark.skipif(importlib.util.find_spec("ganforge_wgan") is None,
                    reason="examples/ganforge-wgan is not installed (.ci/run installs it: pip install ./examples/ganforge-wgan)")
@pytest.mark.system
def test_example_package_works_with_every_command(tmp_path):
    run = tmp_path / "wgan"
    steps = [
        ("train", "wgan", "--steps", "3", "-b", "8", "-q", "--out", str(run), "-p", "n_critic=2", "-p", "g_width=8"),
        ("sample", str(run), "-n", "4", "-o", str(tmp_path / "s.png")),
        ("export", "--onnx", str(run)),
        ("sample", str(run / "G.onnx"), "-n", "4", "-o", str(tmp_path / "o.png")),
        ("eval", str(run), "-n", "100", "--real-split", "test", "--json"),
    ]
    for i, args in enumerate(steps):
        # the first in a fresh interpreter (entry points found from scratch), the rest in this
        # process, which loads plugins the same way (support.cli resets them) without the start-up
        result = run_cli(*args) if i == 0 else cli(*args)
        assert result.returncode == 0, (args, result.stderr)
    assert json.loads(result.stdout)["metrics"]["fid"] > 0
