"""Running the ``ganforge`` command in tests: in this process through click's runner
(fast, the default), or as a real process where the process itself is what is tested
(start-up, signals, environment, entry points)."""

import importlib
import os
import subprocess
import sys
from dataclasses import dataclass

from ganforge.hooks import manager as plugin_manager


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(*args, env=None, path=None) -> Result:
    """``ganforge ARGS`` in this process. An exception the command did not turn into an
    exit status is raised here, so a bug fails the test instead of passing for an error.
    ``path``: a folder put first on ``sys.path`` for the call, as PYTHONPATH would be for a fresh
    process (an installed distribution there is found by its entry points, then forgotten)."""
    from click.testing import CliRunner

    from ganforge.cli import cli as command

    before = set(sys.modules)
    if path is not None:
        sys.path.insert(0, str(path))
        importlib.invalidate_caches()
    plugin_manager.reset_plugins()  # plugins load as in a fresh process (env may choose them)
    try:
        result = CliRunner().invoke(command, [str(a) for a in args], env=env, prog_name="ganforge")
    finally:
        plugin_manager.reset_plugins()
        if path is not None:
            sys.path.remove(str(path))
            for name in set(sys.modules) - before:
                if str(getattr(sys.modules[name], "__file__", None) or "").startswith(str(path)):
                    del sys.modules[name]
            importlib.invalidate_caches()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.stdout, result.stderr)


def run_cli(*args, env=None, cwd=None, timeout=300) -> Result:
    """Run the real ``ganforge`` command in a fresh interpreter."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr)
