"""``ganforge train NAME --nproc N``: start torchrun on this machine, one worker process
per rank, each running ``ganforge.train``, and hand rank 0's result back.

This module sits above the engine (its workers call it); the engine and
``ganforge.training.distributed`` know nothing of it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ganforge.errors import GanforgeError

ARGS_ENV, RESULT_ENV = "GANFORGE_TRAIN_ARGS", "GANFORGE_TRAIN_RESULT"
LAUNCH_FLAG = "--launch"


def launch(recipe_name: str, nproc: int, options: dict):
    """Run ``ganforge.train(recipe_name, **options)`` in ``nproc`` processes on this machine
    through torchrun, and return rank 0's result.

    The settings are checked here first, so that mistakes cost one line, not ``nproc``
    failing processes. Ctrl-C reaches every process; they agree to stop, rank 0 saves,
    and the result says ``interrupted``. An error in any process stops all of them."""
    from ganforge.devices import choose_device
    from ganforge.training.distributed import check_sync_bn, launched_by_torchrun
    from ganforge.training.planning import new_run_dir, plan
    from ganforge.training.settings import RUN_OPTIONS

    if launched_by_torchrun():
        raise GanforgeError("--nproc starts torchrun itself; under torchrun, leave it out")
    options = dict(options)
    settings = {k: v for k, v in options.items() if k not in RUN_OPTIONS}
    planned = plan(recipe_name, settings, out=options.get("out"), resume=options.get("resume"),
                   overwrite=options.get("overwrite", False), params=options.get("params"),
                   config=options.get("config"))
    check_sync_bn(planned.engine["sync_bn"], choose_device(options.get("device")))
    if planned.engine["batch_size"] % nproc:
        raise GanforgeError(f"the batch size {planned.engine['batch_size']} does not split evenly over "
                            f"{nproc} processes")
    if not options.get("out") and not options.get("resume"):
        options["out"] = str(new_run_dir(recipe_name))
    threads = max((os.cpu_count() or 1) // nproc, 1)
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        env = {**os.environ, ARGS_ENV: json.dumps({"recipe": recipe_name, "options": options}, default=str),
               RESULT_ENV: str(result_file),
               "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))}
        command = [sys.executable, "-m", "ganforge.training.launcher", LAUNCH_FLAG, "--standalone",
                   f"--nproc-per-node={nproc}", "-m", "ganforge.training.launcher"]
        # The terminal's Ctrl-C reaches torchrun and the workers; this process waits for them. A
        # SIGTERM sent to this process alone (timeout, docker stop) is passed on to torchrun, which
        # passes it to the workers: they save and stop as for Ctrl-C.
        child = subprocess.Popen(command, env=env)
        previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
                    signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))}
        try:
            code = child.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if not result_file.exists():
            raise GanforgeError(f"distributed training stopped with an error (exit status {code}); "
                                "the processes' messages are above")
        result = json.loads(result_file.read_text())
    from ganforge.training.engine import RunResult

    return RunResult(Path(result["run_dir"]), result["step"], result["total_steps"], result["interrupted"],
                     result["last_metrics"], result["signum"], result["seconds"], result["images_per_sec"])


def _torchrun(argv: list[str]) -> int:
    """torchrun, with its failure report shortened to the exit status (each process has
    already said what went wrong, in one line)."""
    os.environ.setdefault("LOGLEVEL", "ERROR")  # torchrun's notices of shutting down processes
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    try:
        run(parse_args(argv))
    except ChildFailedError as exc:
        rank, failure = min(exc.failures.items())
        return failure.exitcode if failure.exitcode and failure.exitcode > 0 else 1
    except SignalException as exc:
        return 128 + int(exc.sigval)
    return 0


def _worker() -> int:
    """One process of a ``launch()``: train, and let rank 0 report the result to the launcher."""
    from ganforge.training.engine import train

    job = json.loads(os.environ[ARGS_ENV])
    rank = int(os.environ.get("RANK", "0"))
    try:
        result = train(job["recipe"], **job["options"])
    except GanforgeError as exc:
        print(f"Error{f' (process {rank})' if rank else ''}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before training began (the loop itself stops cleanly)
        return 130
    if rank == 0:
        Path(os.environ[RESULT_ENV]).write_text(json.dumps(
            {"run_dir": str(result.run_dir), "step": result.step, "total_steps": result.total_steps,
             "interrupted": result.interrupted, "last_metrics": result.last_metrics, "signum": result.signum,
             "seconds": result.seconds, "images_per_sec": result.images_per_sec}))
    return 0


if __name__ == "__main__":
    sys.exit(_torchrun(sys.argv[2:]) if sys.argv[1:2] == [LAUNCH_FLAG] else _worker())
