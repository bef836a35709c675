"""Benchmark: peak memory of `r1 score` and `r1 eval --completions` on a multi-hundred-MB JSONL file.

Writes ROWS rows whose completions are about KB kilobytes each (long reasoning,
a final ``\\boxed{}`` answer; four samples per prompt, so ``eval`` has items to
group), then runs each command as its own process and reads that process's
peak resident memory from ``os.wait4``. Memory should stay flat: far below the
file's size, whatever the size.

    .venv/bin/python bench/bench_large_jsonl.py [--rows 3000] [--kb 100] [--limit-mb 500]

Exits 1 when a command fails or its peak RSS is over --limit-mb.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_LINE = "Step {i}: multiply both sides by {j}, so the left side stays {k} and the right side grows.\n"


def write_file(path: Path, rows: int, kb: int, samples: int = 4) -> int:
    """``rows`` rows of about ``kb`` KB each; returns the file size in bytes."""
    reasoning = "".join(_LINE.format(i=i, j=i % 7 + 2, k=i * 3) for i in range(kb * 1024 // len(_LINE.format(i=0, j=2, k=0))))
    with open(path, "w", encoding="utf-8") as handle:
        for row in range(rows):
            item = row // samples
            answer = item if row % 2 == 0 else item + 1  # half right, half wrong
            completion = f"<think>\n{reasoning}</think>\n<answer>\\boxed{{{answer}}}</answer>"
            handle.write(json.dumps({"prompt": f"problem {item}", "completion": completion, "solution": str(item),
                                     "num_tokens": len(completion) // 4}) + "\n")
    return path.stat().st_size


# Linux counts a parent's resident memory at fork in the child's peak RSS (it keeps the old image's
# high-water mark across exec), so a child of a big process (pytest with torch loaded) would
# report that process's size. The command runs under this small launcher instead, which reports
# its child's own peak.
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "proc = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(proc.pid, 0)\n"
    "print('\\nMARK=' + str(usage.ru_maxrss), flush=True)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
_MARK = "peak-rss-kb"


def peak_rss(argv: list[str]) -> tuple[int, float, float, str]:
    """(exit status, seconds, peak RSS in MB of that process alone, last output) for one command."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _LAUNCHER.replace("MARK", _MARK), *argv],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO)
    seconds = time.perf_counter() - started
    output, _, peak = done.stdout.decode(errors="replace").rpartition(f"\n{_MARK}=")
    return done.returncode, seconds, int(peak) / 1024, output[-2000:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--kb", type=int, default=100, help="completion size in KB")
    parser.add_argument("--limit-mb", type=float, default=500.0)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="r1-bench-") as tmp:
        path = Path(tmp) / "large.jsonl"
        size = write_file(path, args.rows, args.kb)
        print(f"file: {args.rows:,} rows of ~{args.kb} KB completions, {size / 1e6:.0f} MB; CPU cores: {os.cpu_count()}")
        r1 = [sys.executable, "-m", "r1cli"]
        commands = {
            "r1 score": [*r1, "score", str(path), "--json"],
            "r1 score -o": [*r1, "score", str(path), "--json", "-o", str(Path(tmp) / "scored.jsonl")],
            "r1 eval --completions": [*r1, "eval", "--completions", str(path), "--json"],
            "r1 eval --completions -o": [*r1, "eval", "--completions", str(path), "--json", "-o",
                                         str(Path(tmp) / "results.jsonl")],
        }
        for label, argv in commands.items():
            code, seconds, rss, output = peak_rss(argv)
            ok = code == 0 and rss < args.limit_mb
            failed |= not ok
            print(f"{label:26} exit {code}  {seconds:6.1f}s  peak RSS {rss:6.0f} MB  "
                  f"({rss / (size / 1e6):.2f}x the file; limit {args.limit_mb:.0f} MB){'' if ok else '  FAILED'}")
            if code != 0:
                print(output)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
