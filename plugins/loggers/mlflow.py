"""MLflow, in a local file store in RUN/mlruns (``mlflow ui --backend-store-uri RUN/mlruns``)."""

from __future__ import annotations

import json
import os
import time

from ganforge.plugin import Logger, needs


class MLflowLogger(Logger):
    """One MLflow run per ganforge run, continued by --resume. Figures and grids are sent
    when a checkpoint is saved, so MLflow never holds a step that a resumed run logs again."""

    @classmethod
    def unavailable(cls):
        return needs("mlflow", "mlflow")

    def __init__(self, run_dir, config, start):
        super().__init__(run_dir, config, start)
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file store, as a user would browse
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=(self.run_dir / "mlruns").resolve().as_uri())
        self.pending: list = []  # (step, metric or picture) not yet sent
        record = self.run_dir / "mlflow.json"
        if start and record.exists():
            self.run_id = json.loads(record.read_text())["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            return
        experiment = self.client.get_experiment_by_name("ganforge")
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment("ganforge")
        self.run_id = self.client.create_run(experiment_id, run_name=self.run_dir.name).info.run_id
        record.write_text(json.dumps({"run_id": self.run_id}))
        for section in ("engine", "params"):
            for key, value in config.get(section, {}).items():
                self.client.log_param(self.run_id, f"{section}.{key}", str(value)[:500])

    def metrics(self, step, values, kind="train"):
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending += [(step, Metric(f"{kind}/{key}", float(value), now, step)) for key, value in values.items()
                         if key not in ("step", "epoch") and isinstance(value, (int, float))]

    def image(self, step, name, path):
        self.pending.append((step, (name, path)))

    def saved(self, step):
        ready = [item for s, item in self.pending if s <= step]
        self.pending = [(s, item) for s, item in self.pending if s > step]
        metrics = [item for item in ready if not isinstance(item, tuple)]
        for i in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
            self.client.log_batch(self.run_id, metrics=metrics[i:i + 1000])
        for name, path in (item for item in ready if isinstance(item, tuple)):
            self.client.log_artifact(self.run_id, str(path), name)

    def close(self):
        self.client.set_terminated(self.run_id)
