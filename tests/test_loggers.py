"""Experiment loggers: what they wrote, read back by TensorBoard's own reader."""

import shutil

import pytest

import ganforge
from ganforge.errors import GanforgeError

from support.cli import run_cli
from support.sizes import TINY_DCGAN


def scalars(run, tag="train/d_loss"):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return [e.step for e in events.Scalars(tag)], events


@pytest.mark.e2e
def test_tensorboard_gets_losses_learning_rates_grids_and_the_configuration(tmp_path):
    run = tmp_path / "run"
    ganforge.train("dcgan", steps=4, batch_size=4, out=run, params=TINY_DCGAN, quiet=True, log_every=2,
                   sample_every=2, loggers=["tensorboard"])
    steps, events = scalars(run)
    assert steps == [2, 4]
    tags = events.Tags()
    assert {"train/g_loss", "train/lr_G", "train/lr_D", "train/images_per_sec"} <= set(tags["scalars"])
    assert [e.step for e in events.Images("samples")] == [0, 2, 4]
    assert "config/text_summary" in tags["tensors"]


@pytest.mark.e2e
def test_a_resumed_run_continues_its_tensorboard_log_without_duplicates(tmp_path):
    common = dict(batch_size=4, params=TINY_DCGAN, quiet=True, log_every=2, sample_every=100,
                  checkpoint_every=4, loggers=["tensorboard"])
    ganforge.train("dcgan", steps=4, out=tmp_path / "at4", **common)
    shutil.copytree(tmp_path / "at4", tmp_path / "crashed")
    ganforge.train("dcgan", steps=8, resume=tmp_path / "crashed", quiet=True)  # logs 6 and 8 ...
    for name in ("state.ckpt", "G.ckpt", "D.ckpt", "metrics.jsonl"):  # ... then "dies" back at its step-4 state
        shutil.copy(tmp_path / "at4" / name, tmp_path / "crashed" / name)
    ganforge.train("dcgan", steps=8, resume=tmp_path / "crashed", quiet=True)
    assert scalars(tmp_path / "crashed")[0] == [2, 4, 6, 8]  # each step once


@pytest.mark.e2e
def test_tensorboard_in_a_two_process_run_is_written_by_rank_0_alone(tmp_path):
    result = run_cli("train", "gan", "--nproc", 2, "--steps", 4, "-b", 8, "-p", "hidden=16", "-p", "latent_dim=8",
                     "--log-every", 2, "--logger", "tensorboard", "--out", tmp_path / "run", "-q",
                     env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "run" / "tensorboard").glob("events.*"))) == 1
    assert scalars(tmp_path / "run")[0] == [2, 4]


def test_a_missing_logger_package_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(GanforgeError, match=r"logger 'tensorboard': needs the tensorboard package: "
                                            r"pip install 'ganforge\[tensorboard\]'"):
        ganforge.train("dcgan", steps=1, out=tmp_path / "run", loggers=["tensorboard"])
    assert not (tmp_path / "run").exists()
    with pytest.raises(GanforgeError, match="unknown logger 'tensorbored'; did you mean tensorboard"):
        ganforge.train("dcgan", steps=1, out=tmp_path / "run", loggers=["tensorbored"])
