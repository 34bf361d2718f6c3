"""Files written by the last release before core v3 (commit 7f62249) still load, sample the
same pixels for the same seed and resume as that release resumes them, on any processor
(tests/fixtures/make_release_fixtures.py says how the fixtures were made).

PyTorch's CPU kernels round differently on different processors, so a weight recorded
bit-exactly on one is not what another computes. Three checks together cannot pass when the
continuation changes, wherever they run:

- what does not depend on floating-point kernels is compared exactly everywhere: the batches
  and labels each resumed step trains on, the random generator's state before each step, the
  learning rates, the step counters and what ``state.ckpt`` holds;
- the resumed weights are compared bit-exactly where the processor's kernels are those they
  were recorded with (``support.kernels.fingerprint``), and the check skips, saying why, elsewhere;
- the release itself (7f62249, read from this repository's history) continues the same run on
  this processor, and today's continuation must end with exactly its weights (system tier).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ganforge
from ganforge.artifacts import checkpoint
from ganforge.hooks.manager import get

from support.kernels import fingerprint

FIXTURES = Path(__file__).parent / "fixtures" / "release-7f62249"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
RELEASE = "7f622496eeb4a4af7dadb8ef98c80df915b3a659"


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def weights_digest(ckpt: Path) -> str:
    from safetensors.torch import load_file

    tensors = load_file(ckpt)
    h = hashlib.sha256()
    for key in sorted(tensors):
        h.update(key.encode())
        h.update(tensors[key].numpy().tobytes())
    return h.hexdigest()


def continue_released_run(name: str, run: Path, monkeypatch) -> list:
    """Resume a copy of the released run to its recorded step, recording what every step
    trains on and the state it starts from (nothing of it depends on floating-point kernels)."""
    import torch

    expected = EXPECTED[name]
    shutil.copytree(FIXTURES / name, run)
    recipe = get("gans", expected["recipe"])
    original = recipe.train_step
    steps = []

    def train_step(self, images, labels):
        steps.append({"batch": digest(images.numpy(), labels.numpy()),
                      "rng": digest(torch.random.get_rng_state().numpy()),
                      "lr": {k: opt.param_groups[0]["lr"] for k, opt in sorted(self.optimizers.items())}})
        return original(self, images, labels)

    monkeypatch.setattr(recipe, "train_step", train_step)
    ganforge.train(expected["recipe"], resume=run, steps=expected["resumed_steps"], quiet=True)
    tensors, meta = checkpoint.load(run / "state.ckpt")
    return [*steps, {"step": meta["step"], "state": sorted(tensors), "G_step": checkpoint.load(run / "G.ckpt")[1]["step"]}]


def expected_weights(name: str, kernels: str) -> str:
    """The weights' digest recorded for these kernels; a skip that says why where none was."""
    recorded = EXPECTED[name]["resumed_G_sha256"]
    if kernels not in recorded:
        pytest.skip(f"the resumed weights were recorded on processors whose kernels compute otherwise "
                    f"(fingerprints {', '.join(sorted(recorded))}; this one: {kernels}); "
                    "test_a_released_run_resumes_as_the_release_itself_does_here checks them here")
    return recorded[kernels]


@pytest.fixture(scope="module")
def continued(tmp_path_factory):
    """Each released run continued once, for the tests below: (its record, its G.ckpt)."""
    done = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in sorted(EXPECTED):
            run = tmp_path_factory.mktemp("released") / name
            done[name] = (continue_released_run(name, run, monkeypatch), run / "G.ckpt")
    return done


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_released_generator_samples_the_same_pixels(name, tmp_path):
    """Pixels are compared to one level of 255: the last bit of a convolution may round a
    pixel the other way on another processor; another seed or a changed network moves most."""
    expected = EXPECTED[name]
    sample = dict(expected["sample"])
    npz = tmp_path / "x.npz"
    ganforge.sample(FIXTURES / name / "G.ckpt", sample.pop("n"), npz=npz, **sample)
    got = np.load(npz)["x"].astype(int)
    released = np.load(FIXTURES / "pixels.npz")[name].astype(int)
    assert got.shape == released.shape and np.abs(got - released).max() <= 1
    assert (got != released).mean() < 0.01


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_released_run_continues_on_the_same_batches_random_draws_and_schedule(name, continued):
    assert continued[name][0] == EXPECTED[name]["continuation"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_released_run_resumes_bit_exactly_where_its_weights_were_recorded(name, continued):
    assert weights_digest(continued[name][1]) == expected_weights(name, fingerprint())


def test_weights_recorded_on_other_kernels_are_skipped_with_the_reason():
    name = sorted(EXPECTED)[0]
    recorded = next(iter(EXPECTED[name]["resumed_G_sha256"]))
    assert expected_weights(name, recorded) == EXPECTED[name]["resumed_G_sha256"][recorded]
    with pytest.raises(pytest.skip.Exception, match="this one: 0000000000000000"):
        expected_weights(name, "0" * 16)


def release_checkout(tmp: Path) -> Path:
    """Release 7f62249 from this repository's history, laid out as its installation is
    (plugins/ as ganforge.builtins): a folder to put first on PYTHONPATH."""
    root = Path(__file__).parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", RELEASE], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"release {RELEASE[:7]} is not in this checkout's history (a shallow clone?)")
    src, site = tmp / "src", tmp / "site"
    src.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    shutil.copytree(src / "ganforge", site / "ganforge")
    shutil.copytree(src / "plugins", site / "ganforge" / "builtins")
    shutil.copytree(src / "exporters", site / "ganforge" / "builtins" / "exporters")
    return site


RELEASED_CONTINUATION = """
import hashlib, json, shutil, sys
from pathlib import Path
import ganforge
from safetensors.torch import load_file
assert Path(ganforge.__file__).is_relative_to(sys.argv[1]), ganforge.__file__
found = {}
for name, recipe, steps, released, run in json.loads(sys.argv[2]):
    shutil.copytree(released, run)
    ganforge.train(recipe, resume=Path(run), steps=steps, quiet=True)
    tensors = load_file(Path(run) / "G.ckpt")
    h = hashlib.sha256()
    for key in sorted(tensors):
        h.update(key.encode())
        h.update(tensors[key].numpy().tobytes())
    found[name] = h.hexdigest()
print(json.dumps(found))
"""


def released_continuations(site: Path, tmp: Path) -> dict:
    """G's weights after release 7f62249 itself resumes each released run here."""
    runs = [(name, e["recipe"], e["resumed_steps"], str(FIXTURES / name), str(tmp / name)) for name, e in EXPECTED.items()]
    env = {**os.environ, "PYTHONPATH": str(site), "GANFORGE_LOAD_PLUGINS": ""}
    done = subprocess.run([sys.executable, "-c", RELEASED_CONTINUATION, str(site), json.dumps(runs)],
                          capture_output=True, text=True, env=env, cwd=site.parent, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.system
def test_a_released_run_resumes_as_the_release_itself_does_here(continued, tmp_path):
    released = released_continuations(release_checkout(tmp_path), tmp_path / "runs")
    assert {name: weights_digest(ckpt) for name, (_, ckpt) in continued.items()} == released
