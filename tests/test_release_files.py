"""Files written by the last release before core v3 (commit 7f62249) still load, sample the
same pixels for the same seed and resume bit-exactly (tests/fixtures/make_release_fixtures.py
says how they were made)."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import ganforge

FIXTURES = Path(__file__).parent / "fixtures" / "release-7f62249"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def weights_digest(ckpt: Path) -> str:
    from safetensors.torch import load_file

    tensors = load_file(ckpt)
    h = hashlib.sha256()
    for key in sorted(tensors):
        h.update(key.encode())
        h.update(tensors[key].numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_released_generator_samples_the_same_pixels(name, tmp_path):
    expected = EXPECTED[name]
    sample = dict(expected["sample"])
    npz = tmp_path / "x.npz"
    ganforge.sample(FIXTURES / name / "G.ckpt", sample.pop("n"), npz=npz, **sample)
    assert hashlib.sha256(np.load(npz)["x"].tobytes()).hexdigest() == expected["pixels_sha256"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_released_run_resumes_bit_exactly(name, tmp_path):
    expected = EXPECTED[name]
    run = tmp_path / name
    shutil.copytree(FIXTURES / name, run)
    ganforge.train(expected["recipe"], resume=run, steps=expected["resumed_steps"], quiet=True)
    assert weights_digest(run / "G.ckpt") == expected["resumed_G_sha256"]
