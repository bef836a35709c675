"""CLI start-up latency: `r1 --help` and `r1 validate` against `trl grpo --help`, in one run.

Targets (issue #2): `r1 --help` under 0.3 s and `r1 validate` (no --deep) under 1 s on a
2-core machine. `trl grpo --help` imports torch, so it is the reference a hand-written TRL
workflow pays on every invocation. Each command runs REPEATS times; the median is reported.

    python bench/bench_cli_latency.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def median_seconds(argv: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    r1 = str(bindir / "r1")
    trl = str(bindir / "trl") if (bindir / "trl").exists() else shutil.which("trl")
    recipe = str(REPO / "templates" / "gsm8k" / "grpo.yaml")
    subprocess.run([r1, "validate", recipe], capture_output=True)  # warm the TRL field cache once
    rows = [
        ("r1 --help", median_seconds([r1, "--help"], args.repeats), 0.3),
        ("r1 validate gsm8k/grpo.yaml", median_seconds([r1, "validate", recipe], args.repeats), 1.0),
        ("trl grpo --help", median_seconds([trl, "grpo", "--help"], max(3, args.repeats // 2)), None),
    ]
    reference = rows[-1][1]
    print(f"{'command':32} {'median s':>9} {'target s':>9} {'vs trl grpo --help':>19}")
    for name, seconds, target in rows:
        verdict = "" if target is None else (" ok" if seconds < target else " MISSED")
        print(f"{name:32} {seconds:9.3f} {target if target else '-':>9} {seconds / reference:18.3f}x{verdict}")


if __name__ == "__main__":
    main()
