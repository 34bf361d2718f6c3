"""metrics.jsonl: the run's own log, which ganforge report and compare read."""

from __future__ import annotations

import json
import time

from ganforge.plugin import Logger, rundir


class JsonlLogger(Logger):
    """One JSON line per logging step and evaluation, with the wall-clock time."""

    def __init__(self, run_dir, config, start):
        super().__init__(run_dir, config, start)
        self.file = open(self.run_dir / rundir.METRICS, "a")  # trimmed to `start` by a resume already

    def metrics(self, step, values, kind="train"):
        record = {"step": step, "time": round(time.time(), 3), **({"eval": True} if kind == "eval" else {}),
                  **{k: v for k, v in values.items() if k != "step"}}
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self):
        self.file.close()
