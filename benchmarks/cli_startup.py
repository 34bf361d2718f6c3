"""How long `ganforge --help` and `ganforge list` take as a user runs them: a fresh
process each time, median of several runs. Targets: --help at most 0.3 s, list (loading
every built-in and installed plugin) at most 1.5 s.

    python benchmarks/cli_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {"ganforge --help": ["--help"], "ganforge list": ["list"], "ganforge plugins --all": ["plugins", "--all"]}
TARGETS = {"ganforge --help": 0.3, "ganforge list": 1.5}


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ganforge", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)  # figures from different processors are not comparable
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    baseline = statistics.median(wall_python() for _ in range(args.repeats))
    print(f"{'command':26s} {'median s':>9s} {'min s':>7s}  target")
    print(f"{'python -c pass':26s} {baseline:9.3f}        (interpreter start-up alone)")
    for name, cli_args in COMMANDS.items():
        times = [wall(cli_args) for _ in range(args.repeats)]
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target} s: {'met' if statistics.median(times) <= target else 'MISSED'}"
        print(f"{name:26s} {statistics.median(times):9.3f} {min(times):7.3f}  {verdict}")


def wall_python() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
