"""Self-describing checkpoints in safetensors.

Tensors go into a safetensors file; everything else (what network to rebuild,
optimizer hyperparameters, step, RNG seeds) goes into its JSON metadata. Loading
never executes code from the file, and writes are atomic, so a process killed
while saving leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from ganforge.errors import CheckpointError

META_KEY = "ganforge"
SUFFIX = ".ckpt"  # what checkpoints are called; exported artifacts end otherwise
FORMAT_VERSION = 1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def save(path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    meta = {"format_version": FORMAT_VERSION, **meta}
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write(path, st_save(tensors, metadata={META_KEY: json.dumps(meta)}))


def load(path, kind: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of a ganforge checkpoint; one-line errors for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    try:  # safetensors' own reader: the header is checked before any tensor is read
        with safe_open(path, framework="pt") as f:
            raw = (f.metadata() or {}).get(META_KEY)
            if raw is None:
                raise CheckpointError(f"'{path}' is a safetensors file but not a ganforge checkpoint")
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(
            f"'{path}' is not a readable ganforge checkpoint (truncated, corrupt or another format: "
            f"{' '.join(str(exc).split())[:120]})"
        ) from None
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise CheckpointError(f"'{path}' has corrupt ganforge metadata") from None
    if kind is not None and meta.get("kind") != kind:
        raise CheckpointError(f"'{path}' holds a {meta.get('kind', 'unknown')} checkpoint, expected {kind}")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"'{path}' was written by a newer ganforge (format {meta['format_version']})")
    return tensors, meta


def read_meta(path) -> dict | None:
    """The ganforge metadata of a checkpoint, read from its header alone; None if the file is
    missing or unreadable."""
    try:
        with safe_open(Path(path), framework="pt") as f:
            return json.loads((f.metadata() or {})[META_KEY])
    except (SafetensorError, OSError, KeyError, ValueError):
        return None


def stored_elements(path) -> int:
    """How many tensor elements a checkpoint holds, from its header alone."""
    import math

    try:
        with safe_open(Path(path), framework="pt") as f:
            return sum(math.prod(f.get_slice(key).get_shape()) for key in f.keys())
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"'{path}' is not a readable ganforge checkpoint ({' '.join(str(exc).split())[:120]})") \
            from None


def load_some(path, prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with ``prefix`` (prefix removed), reading nothing else."""
    with safe_open(Path(path), framework="pt") as f:
        return {key[len(prefix):]: f.get_tensor(key) for key in f.keys() if key.startswith(prefix)}


def pack(obj, prefix: str, tensors: dict[str, torch.Tensor]):
    """Replace the tensors in a nested structure (e.g. an optimizer's state_dict) by
    references into ``tensors``, leaving JSON. Dict keys keep their types (ints stay ints)."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}#{len(tensors)}"
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[k, pack(v, prefix, tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [pack(v, prefix, tensors) for v in obj], "tuple": isinstance(obj, tuple)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def unpack(obj, tensors: dict[str, torch.Tensor]):
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {k: unpack(v, tensors) for k, v in obj["__dict__"]}
        if "__list__" in obj:
            items = [unpack(v, tensors) for v in obj["__list__"]]
            return tuple(items) if obj.get("tuple") else items
    return obj
