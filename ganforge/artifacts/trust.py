"""Which native-code artifacts may load.

A safetensors checkpoint and an ONNX model are data: loading them runs no code from the
file. An AOTInductor package (``.pt2``) holds a shared library, which runs its constructors
the moment it is opened, and a TensorRT engine may embed plugin libraries that TensorRT
opens while deserializing; loading either runs its author's native code with the user's
rights. So ganforge loads such an artifact only when it is trusted:

- ganforge trusts what it wrote itself: every export records the artifact's SHA-256 in a
  small per-user store (``store_path()``), and re-exporting over a file replaces its record;
- ``ganforge trust FILE`` records a file the user decided to trust;
- ``--trust`` (``trust=True`` in Python) trusts one load, and ``GANFORGE_TRUST_ARTIFACTS=1``
  every load, for a deployment that builds its own artifacts.

Anything else, a changed file included, is refused with one line before any byte of it
reaches torch's or TensorRT's loader. The check reads the file once, in bounded chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from ganforge.artifacts.checkpoint import atomic_write
from ganforge.errors import GanforgeError

ENV = "GANFORGE_TRUST_ARTIFACTS"  # "1": trust every native-code artifact (a deployment's own)
STORE_ENV = "GANFORGE_TRUST_STORE"  # where the store is, instead of the user's configuration folder
CHUNK = 1 << 20


def store_path() -> Path:
    """The per-user trust store: ``$GANFORGE_TRUST_STORE``, else ``trusted-artifacts.json`` in
    the user's configuration folder (``~/.config/ganforge`` on Linux)."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV])
    import platformdirs

    return platformdirs.user_config_path("ganforge") / "trusted-artifacts.json"


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read() -> dict:
    path = store_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError):
        raise GanforgeError(f"the trust store '{path}' is unreadable; remove it (exported artifacts are then "
                            "recorded again when exported, others with ganforge trust FILE)") from None
    return data.get("artifacts", {}) if isinstance(data, dict) else {}


def _write(artifacts: dict) -> None:
    atomic_write(store_path(), json.dumps({"version": 1, "artifacts": artifacts}, indent=2).encode())


def _locked():
    from filelock import FileLock

    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock")


def record(path, how: str = "exported") -> str:
    """Trust ``path`` as it is now (its SHA-256), replacing any record of a file at that path;
    ``how`` says why ("exported" by ganforge, "trusted" by the user). Returns the digest."""
    path = Path(path).resolve()
    digest = sha256_of(path)
    with _locked():
        artifacts = {sha: entry for sha, entry in _read().items() if entry.get("path") != str(path)}
        artifacts[digest] = {"path": str(path), "how": how,
                             "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        _write(artifacts)
    return digest


def forget(path) -> bool:
    """Stop trusting the file at ``path`` (whatever its content); whether there was a record."""
    path = Path(path).resolve()
    digest = sha256_of(path) if path.is_file() else None
    with _locked():
        artifacts = _read()
        kept = {sha: e for sha, e in artifacts.items() if e.get("path") != str(path) and sha != digest}
        if len(kept) == len(artifacts):
            return False
        _write(kept)
    return True


def records() -> dict[str, dict]:
    """Every trusted artifact: digest -> path, how and when."""
    return _read()


def trusted(path) -> bool:
    return sha256_of(path) in _read()


def everything_trusted() -> bool:
    return os.environ.get(ENV, "") not in ("", "0", "false", "no")


def require(path, what: str, trust: bool = False) -> None:
    """Refuse ``path``, a native-code artifact (``what`` names its kind), unless it is trusted."""
    if trust or everything_trusted() or trusted(path):
        return
    raise GanforgeError(
        f"'{path}' is {what}, which runs native code when it loads, and this ganforge did not export it (or it "
        f"changed since): load it only if you trust where it came from, with --trust (trust=True in Python, "
        f"{ENV}=1 for a deployment), or record it once with: ganforge trust '{path}'")
