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


MAX_HEADER = 64 << 20  # bytes of JSON header; ganforge's own are a few kB


def header(path) -> dict:
    """A safetensors file's JSON header, read with plain bounded reads and checked against the
    file's size before anything memory-maps it: a file whose header claims more than it holds,
    or more header than any checkpoint has, costs two small reads (under ``ulimit -v`` too)."""
    import struct

    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        start = f.read(8)
        if len(start) < 8:
            raise ValueError("shorter than a safetensors header")
        (length,) = struct.unpack("<Q", start)
        if not 2 <= length <= min(MAX_HEADER, size - 8):
            raise ValueError(f"its header claims {length:,} bytes of a {size:,}-byte file")
        text = f.read(length)
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError("its header is not a table")
    ends = [entry["data_offsets"][1] for key, entry in parsed.items() if key != "__metadata__"
            and isinstance(entry, dict) and isinstance(entry.get("data_offsets"), list) and entry["data_offsets"]]
    if 8 + length + max(ends, default=0) != size:
        raise ValueError(f"its header describes {8 + length + max(ends, default=0):,} bytes, the file has {size:,}")
    return parsed


def load(path, kind: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of a ganforge checkpoint; one-line errors for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    try:  # safetensors' own reader, after a bounded look at the header: nothing is mapped before it
        header(path)
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
        return json.loads(header(path)["__metadata__"][META_KEY])
    except (OSError, KeyError, TypeError, ValueError, UnicodeDecodeError):
        return None


def stored_elements(path) -> int:
    """How many tensor elements a checkpoint holds, from its header alone."""
    import math

    try:
        return sum(math.prod(entry["shape"]) for key, entry in header(path).items() if key != "__metadata__")
    except (OSError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
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
