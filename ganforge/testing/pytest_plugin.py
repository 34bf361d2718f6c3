"""pytest fixtures for plugin authors: ganforge's conformance checks, ready to use.

Installed with ganforge (entry point ``pytest11``), so a plugin's tests can write

    def test_my_generator(check_generator):
        check_generator(MyGenerator())

Each check of ``ganforge.testing`` (its ``__all__``) is a fixture of the same name; a check
that writes files (it takes ``workdir``) writes them in the test's ``tmp_path``.
"""

import functools
import inspect

import pytest

from ganforge.testing import checks


def _fixture(check):
    if "workdir" in inspect.signature(check).parameters:
        def provide(tmp_path):
            return functools.partial(check, workdir=tmp_path)
    else:
        def provide():
            return check
    provide.__name__ = provide.__qualname__ = check.__name__
    provide.__doc__ = f"``{check.__name__}``; see ``ganforge.testing``."
    return pytest.fixture(provide, name=check.__name__)


for _name in checks.__all__:
    globals()[_name] = _fixture(getattr(checks, _name))
