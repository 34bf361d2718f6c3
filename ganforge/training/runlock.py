"""One writer per run directory.

A training process holds an exclusive lock on its run directory (``filelock``; the
operating system releases it when the process dies, however it dies) for as long
as it writes there. A second writer is refused in one line that names the holder.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import filelock

from ganforge.artifacts import rundir
from ganforge.errors import GanforgeError

LOCK_FILE, OWNER_FILE = ".ganforge.lock", ".ganforge.owner"
OWN_FILES = {LOCK_FILE, OWNER_FILE}  # not the user's: a folder holding only these is empty


class RunLock:
    """``with RunLock(run_dir):`` the run directory is this process's alone."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._lock = filelock.FileLock(self.run_dir / LOCK_FILE, timeout=0)

    def __enter__(self):
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise GanforgeError(f"'{self.run_dir}' is being written by another ganforge process ({self.holder()}); "
                                "wait for it to finish, or choose another --out") from None
        except OSError as exc:  # a read-only folder
            raise GanforgeError(f"cannot write in the run directory '{self.run_dir}': {exc.strerror}") from None
        (self.run_dir / OWNER_FILE).write_text(
            f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        return self

    def __exit__(self, *exc):
        (self.run_dir / OWNER_FILE).unlink(missing_ok=True)
        self._lock.release()

    def holder(self) -> str:
        try:
            return (self.run_dir / OWNER_FILE).read_text().strip() or "unknown"
        except OSError:
            return "unknown"


def user_files(run_dir: Path) -> list[Path]:
    """What a folder holds besides ganforge's own lock files."""
    return [p for p in Path(run_dir).iterdir() if p.name not in OWN_FILES] if Path(run_dir).is_dir() else []


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Temporary files of writers that died mid-save (``.NAME.*.tmp``): call with the lock held,
    when no live writer can own them."""
    found = [p for folder in (run_dir, run_dir / rundir.SAMPLES) if folder.is_dir()
             for p in folder.glob(".*.tmp") if p.is_file()]
    for path in found:
        path.unlink(missing_ok=True)
    return found
