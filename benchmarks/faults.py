"""Fault injection, the long version of tests/test_faults.py: prints how a run fares.

    python benchmarks/faults.py [--kills 100] [--terms 10]

1. kill -9 at random moments (saves every 3 steps, so many kills land inside one):
   after each kill the run must load; at the end, resumed to its last step, it must
   equal a run that was never killed, bit for bit.
2. SIGTERM, then --resume, repeatedly: each must save and exit with status 143.
3. Interrupted-and-resumed against uninterrupted, per dataset path.
4. Crafted files: each refused in one line; wall time and peak memory beyond start-up.

Real processes throughout (each pays the interpreter's start-up); run it alone on the machine.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the shared crafted-file table

import ganforge  # noqa: E402
from ganforge import checkpoint  # noqa: E402
from support.crafted import crafted_files, run_measured  # noqa: E402

TINY = ["--batch-size", "8", "-p", "hidden=16", "-p", "latent_dim=8", "-q"]


def ganforge_process(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ganforge", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists() and time.time() < deadline:
        time.sleep(0.02)


def log_lines(run: Path) -> int:
    log = run / "metrics.jsonl"
    return log.read_text().count("\n") if log.exists() else 0


def wait_for_growth(run: Path, lines: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while log_lines(run) <= lines and time.time() < deadline:
        time.sleep(0.02)


def same_weights(a: Path, b: Path) -> bool:
    for name in ("G", "D"):
        x, y = checkpoint.load(a / f"{name}.ckpt")[0], checkpoint.load(b / f"{name}.ckpt")[0]
        if not all(torch.equal(x[k], y[k]) for k in x):
            return False
    return True


def kills(tmp: Path, count: int, seed: int = 0) -> None:
    run, total, rng = tmp / "killed", 100_000, random.Random(seed)
    unreadable = inconsistent = 0
    proc = ganforge_process("train", "gan", "--steps", total, *TINY, "--checkpoint-every", 3, "--log-every", 3,
                            "--out", run)
    began = time.time()
    for _ in range(count):
        lines = log_lines(run)
        wait_for_growth(run, lines)  # the process is training, not starting up
        time.sleep(rng.uniform(0.0, 1.0))
        proc.kill()
        proc.wait()
        try:
            state_step = checkpoint.load(run / "state.ckpt")[1]["step"]
            G = ganforge.load_generator(run)  # takes state.ckpt's step if G.ckpt lags behind
            G.generate(2, seed=0)
            inconsistent += checkpoint.load(run / "G.ckpt")[1]["step"] != state_step
        except ganforge.GanforgeError:
            unreadable += 1
        proc = ganforge_process("train", "gan", "--resume", run, "--steps", total)
    proc.kill()
    proc.wait()
    last = checkpoint.load(run / "state.ckpt")[1]["step"]
    end = last + 5
    for args in (["--resume", run, "--steps", end, "-q"], ["--steps", end, *TINY, "--out", tmp / "straight"]):
        subprocess.run([sys.executable, "-m", "ganforge", "train", "gan", *map(str, args)], check=True,
                       capture_output=True)
    leftovers = len(list(run.glob(".*.tmp")))
    print(f"kill -9: {count} kills in {time.time() - began:.0f} s; unreadable runs after a kill: {unreadable}; "
          f"G.ckpt behind state.ckpt (served from state.ckpt): {inconsistent}; temporary files left: {leftovers}; "
          f"resumed to step {end}: {'bit-exact' if same_weights(run, tmp / 'straight') else 'DIFFERENT'}")


def terms(tmp: Path, count: int) -> None:
    run, saved, statuses, rng = tmp / "termed", 0, set(), random.Random(1)
    proc = ganforge_process("train", "gan", "--steps", 10_000_000, *TINY, "--log-every", 1, "--out", run)
    for _ in range(count):
        wait_for(run / "state.ckpt")
        time.sleep(rng.uniform(0.0, 4.0))  # sometimes while the process still starts up
        before = checkpoint.load(run / "state.ckpt")[1]["step"]
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        statuses.add(proc.returncode)
        saved += checkpoint.load(run / "state.ckpt")[1]["step"] >= before and "Stopped by SIGTERM" in out
        proc = ganforge_process("train", "gan", "--resume", run, "--steps", 10_000_000, "--log-every", 1)
    proc.kill()
    proc.wait()
    print(f"SIGTERM: {count} signals; saved and resumable: {saved}; exit statuses: {sorted(statuses)}")


def datasets(tmp: Path) -> None:
    import numpy as np
    from PIL import Image

    folder = tmp / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    tiny = {"g_width": 4, "d_width": 4, "latent_dim": 8}
    cases = {"in memory (mnist-5k)": ({"dataset": "mnist-5k"}, tiny, 0),
             "image-folder, 0 workers": ({"dataset": "image-folder", "data_root": folder}, {**tiny, "image_size": 32}, 0),
             "image-folder, 2 workers": ({"dataset": "image-folder", "data_root": folder}, {**tiny, "image_size": 32}, 2)}
    for name, (data, params, workers) in cases.items():
        common = dict(batch_size=4, params=params, quiet=True, num_workers=workers, **data)
        key = name.split()[0] + str(workers)
        ganforge.train("dcgan", steps=13, out=tmp / f"{key}-straight", **common)
        ganforge.train("dcgan", steps=6, out=tmp / f"{key}-split", **common)
        ganforge.train("dcgan", steps=13, resume=tmp / f"{key}-split", quiet=True, num_workers=workers)
        exact = same_weights(tmp / f"{key}-straight", tmp / f"{key}-split")
        print(f"resume, {name}: {'bit-exact' if exact else 'DIFFERENT'}")


def crafted(tmp: Path) -> None:
    gan = tmp / "gan"
    ganforge.train("gan", steps=1, out=gan, batch_size=8, params={"hidden": 16, "latent_dim": 8}, quiet=True)
    baseline = run_measured(["sample", tmp / "missing.ckpt"])[2]  # start-up with torch imported
    print(f"crafted files (peak memory beyond the {baseline / 1e3:.0f} MB of a ganforge command that fails at once):")
    refused = 0
    table = crafted_files(tmp / "crafted", gan)
    for what, args, expected in table:
        code, err, peak, seconds = run_measured(args)
        ok = code == 1 and expected in err and len(err.strip().splitlines()) == 1
        refused += ok
        print(f"  {what:42s} {'refused' if ok else 'NOT REFUSED'} in {in_process(args) * 1e3:6.1f} ms "
              f"({seconds:4.2f} s with start-up), +{(peak - baseline) / 1e3:4.0f} MB: {err.strip()[6:80]}")
    ran = (tmp / "crafted" / "code-ran").exists()
    print(f"  {refused} of {len(table)} refused in one line; code from a file ran: {'YES' if ran else 'no'}")
    capped = sum(code == 1 and expected in err and len(err.strip().splitlines()) == 1
                 for what, args, expected in table for code, err, _, _ in [run_measured(args, 4_000_000 * 1024)])
    print(f"  under ulimit -v 4000000: {capped} of {len(table)} refused in one line")


def in_process(args) -> float:
    """Seconds the command takes in this (warm) process: the refusal itself, without start-up."""
    import contextlib
    import io

    from ganforge.cli import cli

    began = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.main(list(map(str, args)), prog_name="ganforge", standalone_mode=False)
        except SystemExit:
            pass
    return time.perf_counter() - began


def main() -> None:
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)  # figures from different processors are not comparable
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--terms", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        crafted(tmp)
        datasets(tmp)
        terms(tmp, args.terms)
        kills(tmp, args.kills)


if __name__ == "__main__":
    main()
