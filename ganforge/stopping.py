"""Ctrl-C during training: the first one asks the loop to save and stop, a second aborts."""

from __future__ import annotations

import signal
import threading


class StopRequest:
    """First Ctrl-C asks the loop to save and stop after the current step; a second one aborts.

    In a distributed run every signal only asks (torchrun passes the terminal's Ctrl-C on,
    so each process sees it twice); the processes agree to stop at the next logging step."""

    def __init__(self, patient: bool = False):
        self.requested = False
        self.patient = patient
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested and not self.patient:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
