"""How closely ``--minutes`` keeps its budget: ``ganforge train RECIPE --minutes M`` for each budget,
in its own process, one after another; prints the budget, the whole command's wall time (the budget
counts from the command's start, torch's import included; Python's own start-up before it is not), the steps planned after the warm-up,
the last plan the loop's own speed corrected it to, and the steps reached.

    python benchmarks/budget.py --minutes 0.5 1 3 [--recipe dcgan] [-- extra train arguments]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ganforge.devices import describe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[0.5, 1.0, 3.0])
    parser.add_argument("--recipe", default="dcgan")
    parser.add_argument("extra", nargs="*", help="more ganforge train arguments (after --)")
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)
    print("| budget | command wall time | over the budget | steps planned (warm-up) | corrected plan | steps reached |")
    print("|---|---|---|---|---|---|")
    for minutes in args.minutes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "ganforge", "train", args.recipe, "--minutes", str(minutes),
                                   "--out", str(out), "-q", *args.extra], capture_output=True, text=True)
            wall = time.perf_counter() - started
            if done.returncode != 0:
                sys.exit(f"Error: {done.stderr.strip()[-300:]}")
            config = json.loads((out / "config.json").read_text())
            planned = corrected = config["engine"]["steps"]
            if "budget" in config:  # corrected from the loop's speed
                planned = config["budget"]["plans"][0][0]
            reached = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"]
        budget = minutes * 60
        print(f"| {budget:.0f} s | {wall:.1f} s | {100 * (wall - budget) / budget:+.1f} % | {planned:,} | {corrected:,} | {reached:,} |",
              flush=True)


if __name__ == "__main__":
    main()
