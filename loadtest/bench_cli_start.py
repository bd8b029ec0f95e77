"""How long the `quoteflow` command takes to start, per command (median of N runs).

    python loadtest/bench_cli_start.py [--runs 10] [--source DIR ...]

Each --source is a `services` folder put first on PYTHONPATH (compare two commits in
one run: a worktree of the old one and this tree). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--help"], ["traffic", "--help"], ["traffic", "kill", "--help"])


def median_seconds(source: Path, args: list[str], runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(source)}
    took = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "quoteflow.cli", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        took.append(time.perf_counter() - t0)
    return statistics.median(took)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--source", type=Path, action="append")
    a = ap.parse_args()
    sources = a.source or [Path(__file__).resolve().parents[1] / "services"]
    print(f"{'source':<40} {'command':<28} {'median s':>9}")
    for src in sources:
        for args in COMMANDS:
            print(f"{src!s:<40} {' '.join(args):<28} {median_seconds(src, args, a.runs):>9.3f}")


if __name__ == "__main__":
    main()
