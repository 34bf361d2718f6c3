"""TensorBoard event files in RUN/tensorboard (``tensorboard --logdir runs``)."""

from __future__ import annotations

import json

from ganforge.plugin import Logger, needs


class TensorBoardLogger(Logger):
    """Scalars under train/ and eval/, the sample grids as images, the configuration as
    text and as hyperparameters. A resumed run purges the steps after its checkpoint, so
    none is shown twice."""

    @classmethod
    def unavailable(cls):
        return needs("tensorboard", "tensorboard")

    def __init__(self, run_dir, config, start):
        super().__init__(run_dir, config, start)
        from torch.utils.tensorboard import SummaryWriter

        # Step `start` itself was logged before its checkpoint was saved; anything later comes again.
        self.writer = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=start + 1 if start else None)
        if not start:
            self.writer.add_text("config", "```\n" + json.dumps(config, indent=2) + "\n```", 0)
            self._hyperparameters(config)

    def _hyperparameters(self, config):
        from torch.utils.tensorboard.summary import hparams

        flat = {f"{section}/{k}": v for section in ("engine", "params") for k, v in config.get(section, {}).items()
                if isinstance(v, (int, float, str, bool))}
        for summary in hparams(flat, {})[:2]:  # the experiment and the session start, in this run's folder
            self.writer.file_writer.add_summary(summary)

    def metrics(self, step, values, kind="train"):
        for key, value in values.items():
            if key not in ("step", "epoch") and isinstance(value, (int, float)):
                self.writer.add_scalar(f"{kind}/{key}", value, step)
        self.writer.flush()

    def image(self, step, name, path):
        import numpy as np
        from PIL import Image

        pixels = np.asarray(Image.open(path).convert("RGB"))
        self.writer.add_image(name, pixels, step, dataformats="HWC")
        self.writer.flush()

    def close(self):
        self.writer.close()
