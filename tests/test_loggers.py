"""Experiment loggers: what they wrote, read back by TensorBoard's own reader."""


import pytest

import ganforge
from ganforge.errors import GanforgeError

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


def die_before_saving(monkeypatch, step):
    """The training process "dies" just before writing the checkpoint of ``step``: what it
    logged after its last checkpoint is left behind, as after a kill -9."""
    from ganforge.training.engine import Trainer

    original = Trainer.save

    def save(self, at):
        if at == step:
            raise KeyboardInterrupt("killed")
        return original(self, at)

    monkeypatch.setattr(Trainer, "save", save)


@pytest.mark.e2e
@pytest.mark.parametrize("logger", ["tensorboard", "mlflow"])
def test_a_run_resumed_after_dying_logs_every_step_once(tmp_path, monkeypatch, logger):
    run = tmp_path / "run"
    common = dict(batch_size=4, params=TINY_DCGAN, quiet=True, log_every=2, sample_every=100, checkpoint_every=4,
                  loggers=[logger])
    with monkeypatch.context() as patch:
        die_before_saving(patch, 8)
        with pytest.raises(KeyboardInterrupt):
            ganforge.train("dcgan", steps=8, out=run, **common)  # logged 2, 4, 6, 8; saved 0 and 4
    ganforge.train("dcgan", steps=8, resume=run, quiet=True)
    steps = scalars(run)[0] if logger == "tensorboard" else mlflow_history(run)[0]
    assert steps == [2, 4, 6, 8]


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


def mlflow_history(run, key="train/d_loss"):
    import json

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(run / "mlruns").resolve().as_uri())
    run_id = json.loads((run / "mlflow.json").read_text())["run_id"]
    return [m.step for m in client.get_metric_history(run_id, key)], client, run_id


@pytest.mark.e2e
def test_mlflow_gets_metrics_grids_and_parameters(tmp_path):
    ganforge.train("dcgan", steps=4, out=tmp_path / "run", batch_size=4, params=TINY_DCGAN, quiet=True, log_every=2,
                   sample_every=2, loggers=["mlflow"])
    steps, client, run_id = mlflow_history(tmp_path / "run")
    assert steps == [2, 4]
    assert mlflow_history(tmp_path / "run", "train/lr_G")[0] == [2, 4]
    run = client.get_run(run_id)
    assert run.data.params["engine.batch_size"] == "4" and run.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(run_id, "samples")} == {
        f"samples/step_000000{i}.png" for i in (0, 2, 4)}
