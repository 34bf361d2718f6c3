"""What a training run shows while it trains, on standard output (errors go to standard
error), so that ``ganforge train ... > log.txt`` keeps it.

On a terminal: a progress bar with the latest losses. Anywhere else (nohup, Slurm,
CI, a pipe to a file): one plain line per logging step, written as it happens, so
a log file shows the run's progress while it trains. Both start with the run
directory.
"""

from __future__ import annotations

import time
from datetime import timedelta


def clock(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


class TrainingProgress:
    """``with TrainingProgress(...) as progress``: ``progress.step(n)`` after every step,
    ``progress.logged(record)`` at every logging step."""

    def __init__(self, name: str, run_dir, start: int, total: int, quiet: bool = False, notes=()):
        from rich.console import Console

        self.name, self.run_dir, self.start, self.total = name, run_dir, start, total
        self.notes = list(notes)  # lines said once, under the first (what the data held)
        self.console = Console(quiet=quiet, highlight=False, soft_wrap=True)
        self.terminal = self.console.is_terminal
        self.began = time.perf_counter()
        self._bar = None

    def __enter__(self):
        from rich.markup import escape

        self.console.print(f"{escape(self.name)}: training in {escape(str(self.run_dir))} "
                           f"(step {self.start} of {self.total})")
        for note in self.notes:
            self.console.print(escape(note))
        if self.terminal and not self.console.quiet:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._bar = Progress(TextColumn(f"[bold]{escape(self.name)}[/]"), BarColumn(bar_width=24),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[losses]}"), console=self.console)
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=self.total, completed=self.start, losses="")
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def replan(self, total: int, note: str) -> None:
        """The run's length changed (a time budget's plan corrected): said once, the bar follows."""
        from rich.markup import escape

        self.total = total
        self.console.print(escape(note))
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def step(self, step: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=step)

    def logged(self, record: dict, losses: list[str]) -> None:
        text = " ".join(f"{k}={record[k]:.3f}" for k in losses)
        if self._bar is not None:
            self._bar.update(self._task, losses=text)
            return
        step, elapsed = record["step"], time.perf_counter() - self.began
        done = step - self.start
        eta = elapsed / done * (self.total - step) if done else 0.0
        self.console.print(f"{self.name} step {step}/{self.total}  {text}  {record['images_per_sec']:,.0f} images/s  "
                           f"elapsed {clock(elapsed)}  eta {clock(eta)}")
