"""pytest fixtures for plugin authors: ganforge's conformance checks, ready to use.

Installed with ganforge (entry point ``pytest11``), so a plugin's tests can write

    def test_my_generator(check_generator):
        check_generator(MyGenerator())
"""

import functools

import pytest

from ganforge.testing import checks as testing


@pytest.fixture
def check_generator(tmp_path):
    """``check_generator(module, batch=3, onnx=True)``; see ``ganforge.testing``."""
    return functools.partial(testing.check_generator, workdir=tmp_path)


@pytest.fixture
def check_loss():
    return testing.check_loss


@pytest.fixture
def check_upsampler():
    return testing.check_upsampler


@pytest.fixture
def check_dataset():
    return testing.check_dataset


@pytest.fixture
def check_augmentation():
    return testing.check_augmentation


@pytest.fixture
def check_recipe():
    return testing.check_recipe


@pytest.fixture
def check_resume(tmp_path):
    """``check_resume(recipe_name, params)``: a straight run and a resumed one give the same G."""
    return functools.partial(testing.check_resume, workdir=tmp_path)


@pytest.fixture
def check_exporter(tmp_path):
    return functools.partial(testing.check_exporter, workdir=tmp_path)


@pytest.fixture
def check_logger(tmp_path):
    return functools.partial(testing.check_logger, workdir=tmp_path)


@pytest.fixture
def check_extractor():
    return testing.check_extractor
