"""Ctrl-C and SIGTERM during training: the first asks the loop to save and stop, a second
Ctrl-C aborts.

SIGTERM is what ``timeout``, ``docker stop``, Slurm and Kubernetes send before they
kill a process, so it is treated like Ctrl-C: save at the end of the current step,
then stop. The run's exit status is 128 + the signal's number (130 for Ctrl-C, 143
for SIGTERM).
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_early: list[int] = []  # signals that came before the training loop began


def listen_early() -> None:
    """From now on, a SIGTERM is noted instead of killing the process, so that one arriving
    while ganforge starts up still ends in "save and stop" (``ganforge train`` calls this
    before importing torch)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: _early.append(signum))


class StopRequest:
    """Records the first stop signal (``signum``; 0 while none came).

    In a distributed run every signal only asks (torchrun passes the terminal's Ctrl-C on,
    so each process sees it twice); the processes agree to stop at the next logging step."""

    def __init__(self, patient: bool = False):
        self.signum = _early[0] if _early else 0
        self.patient = patient
        self._previous: dict = {}

    @property
    def requested(self) -> bool:
        return self.signum != 0

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.requested and not self.patient and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = self.signum or signum

    def __exit__(self, *exc):
        for s, previous in self._previous.items():
            signal.signal(s, previous)


def exit_status(signum: int) -> int:
    """The shell's exit status of a process stopped by ``signum``."""
    return 128 + signum


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name if signum else ""
