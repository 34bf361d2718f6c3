"""A run directory's layout: the one place that knows its file names and how to read them.

    runs/dcgan-20261201-101500/
        config.json     what the engine resolved (recipe, settings, parameters, device)
        state.ckpt      everything --resume needs, written first at every save
        G.ckpt          the generator (the moving average with --ema); other generators and
                        networks beside it (G_BA.ckpt, D.ckpt)
        metrics.jsonl   one JSON line per logging step and evaluation
        samples/        step_0000500.png, ... grids from a fixed latent batch
        data.json       what an image folder held: images used, files skipped and why, conversions
        exports.json    what ganforge export wrote from this run (format, step, SHA-256)
        eval-*.json     what ganforge eval measured

Training writes it; loading, evaluation, reports, ``bench`` and ``translate`` read it, all
through these functions.
"""

from __future__ import annotations

import json
from pathlib import Path

from ganforge.artifacts import checkpoint
from ganforge.errors import GanforgeError

CONFIG = "config.json"
STATE = "state.ckpt"
GENERATOR = "G.ckpt"
METRICS = "metrics.jsonl"
SAMPLES = "samples"


def network_file(name: str) -> str:
    """The checkpoint a run keeps network ``name`` in (``D`` -> ``D.ckpt``)."""
    return f"{name}{checkpoint.SUFFIX}"


def generator_file(path) -> Path:
    """``G.ckpt`` of a run directory, or ``path`` itself when it names a file."""
    path = Path(path)
    return path / GENERATOR if path.is_dir() else path


def run_of(path) -> Path:
    """The run directory of a run directory or of a file in one."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def sample_grid(run_dir, step: int) -> Path:
    return Path(run_dir) / SAMPLES / f"step_{step:07d}.png"


def sample_grids(run_dir) -> list[Path]:
    """The run's sample grids, oldest first."""
    return sorted((Path(run_dir) / SAMPLES).glob("step_*.png"))


def read_config(run_dir, required: bool = True) -> dict:
    """A run directory's ``config.json``; ``{}`` for a folder without one when none is required."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        if required:
            raise GanforgeError(f"'{run_dir}' is not a ganforge run directory (no {CONFIG})")
        return {}
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GanforgeError(f"'{path}' is corrupt") from None


def read_run_config(run_dir) -> dict:
    """A run's ``config.json`` as ``--resume`` reads it: its recipe, engine settings and recipe
    parameters present, or one line saying the file is corrupt and what it lacks."""
    config = read_config(run_dir)
    lacking = [key for key, kind in (("recipe", str), ("engine", dict), ("params", dict))
               if not isinstance(config.get(key) if isinstance(config, dict) else None, kind)]
    if lacking:
        raise GanforgeError(f"'{Path(run_dir) / CONFIG}' is corrupt: it holds no {' or '.join(lacking)} "
                            f"(a run directory's config.json is written by ganforge train)")
    return config


def write_config(run_dir, config: dict) -> None:
    checkpoint.atomic_write(Path(run_dir) / CONFIG, json.dumps(config, indent=2).encode())


def read_metrics(run_dir) -> list[dict]:
    """Every line of ``metrics.jsonl`` (none for a run without one)."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def trim_metrics(run_dir, step: int) -> None:
    """Drop log lines written after the checkpoint a run resumes from (a crash leaves them)."""
    path = Path(run_dir) / METRICS
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= step]
    checkpoint.atomic_write(path, ("\n".join(kept) + "\n" if kept else "").encode())


def consistent(run_dir, step: int) -> bool:
    """Whether every file of the last save is of ``step``, the step of state.ckpt (a process
    killed between writing state.ckpt and G.ckpt leaves G.ckpt a save behind)."""
    files = (checkpoint.read_meta(Path(run_dir) / STATE) or {}).get("files", {})
    return all((checkpoint.read_meta(Path(run_dir) / f) or {}).get("step") == step for f in files)


def newer_generator(path, meta: dict):
    """For a generator checkpoint inside a run whose state.ckpt is of a later step (a save
    interrupted between the two files), that step's generator weights from state.ckpt and
    the step; None when the file is the newest."""
    state_path = Path(path).parent / STATE
    state = checkpoint.read_meta(state_path)
    name = (state or {}).get("files", {}).get(Path(path).name)
    if name is None or state.get("step") == meta.get("step"):
        return None
    prefix = f"ema/{name}/module." if name in state.get("ema", []) else f"net/{name}/"
    return checkpoint.load_some(state_path, prefix), int(state["step"])


def evaluation_file(run_dir, extractor: str, evaluated: str, real_split: str) -> Path:
    """Where ``ganforge eval`` keeps a result: the run's own G.ckpt against its training split
    is ``eval-EXTRACTOR.json``; an artifact or another split gets a file of its own."""
    plain = evaluated == GENERATOR and real_split == "train"
    return Path(run_dir) / f"eval-{extractor if plain else f'{extractor}-{evaluated}-{real_split}'}.json"


def read_evaluations(run_dir) -> dict[str, dict]:
    """Saved ``ganforge eval`` results by label (what follows ``eval-`` in the file name)."""
    return {p.stem[len("eval-"):]: json.loads(p.read_text()) for p in sorted(Path(run_dir).glob("eval-*.json"))}


DATA = "data.json"


def write_data_report(run_dir, report: dict) -> None:
    """Keep what the run's image folder held (``store.json`` of its prepared store) as ``data.json``."""
    checkpoint.atomic_write(Path(run_dir) / DATA, json.dumps(report, indent=1).encode())


EXPORTS = "exports.json"


def record_export(run_dir, artifact, entry: dict) -> None:
    """Add what ``ganforge export`` wrote to the run's ``exports.json`` (by artifact path)."""
    path = Path(run_dir) / EXPORTS
    try:
        exports = json.loads(path.read_text()) if path.is_file() else {}
    except (ValueError, UnicodeDecodeError):
        exports = {}
    exports[str(artifact)] = entry
    checkpoint.atomic_write(path, json.dumps(exports, indent=2).encode())
