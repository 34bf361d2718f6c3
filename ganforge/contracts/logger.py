"""The experiment-logger contract (``register_loggers``): where a run's figures and
pictures go besides its own files. ``ganforge train NAME --logger tensorboard``."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def needs(package: str, extra: str) -> str | None:
    """Why a logger cannot run without ``package``, naming the extra that installs it; None if installed."""
    if importlib.util.find_spec(package) is None:
        return f"needs the {package} package: pip install 'ganforge[{extra}]'"
    return None


class Logger:
    """One destination of a run's figures. Built by the process that writes the run, as
    ``(run_dir, config, start)``; a run resumed at step ``start`` must not show the steps
    after ``start`` that an interrupted process logged twice."""

    def __init__(self, run_dir: Path, config: dict, start: int):
        self.run_dir, self.config, self.start = Path(run_dir), config, start

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this logger cannot run here (a package to install), or None."""
        return None

    def metrics(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        """Figures at ``step``: losses, images/s and learning rates ("train"), or evaluation figures ("eval")."""

    def image(self, step: int, name: str, path: Path) -> None:
        """A picture the run wrote at ``step`` (the sample grid)."""

    def saved(self, step: int) -> None:
        """A checkpoint of ``step`` was saved: a resumed run will not log anything up to it again."""

    def close(self) -> None:
        pass
