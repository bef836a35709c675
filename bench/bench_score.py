"""Benchmark: `r1 score` against a plain open-r1-style accuracy loop, in one run.

Builds a JSONL of at least 10,000 rows from the shared GSM8K and MATH-500 data
(two completions per problem, one right and one wrong, GRPO-style groups), then
times, each as its own process, on the same file:

* baseline: a single-process loop calling math-verify exactly as open-r1's
  ``accuracy_reward`` does (parse the gold with ``extraction_mode="first_match"``,
  parse the completion with boxed-first LaTeX extraction, ``verify``), per row;
* ``r1 score --rewards accuracy --workers N`` (and, unless ``--quick``, with one worker).

Prints rows/s of each, the ratio, peak memory, and whether the accuracy scores
are identical row by row. Wall times include process start-up and imports for both.

    .venv/bin/python bench/bench_score.py [--workers 2] [--problems 5000] [--quick] [--before DIR]

``--before DIR`` also times ``r1 score`` from another checkout of r1 (``git worktree add DIR REV``),
imported from there with the same interpreter, on the same file: the throughput of this version
against that one, side by side in one run. The two are run alternately ``--repeat`` times (default 5)
and compared by their median wall times: on a shared 2-core machine one run of either varies by 15%
or more from the next. One untimed run of each comes first, and bytecode caching is on for both (as
in a user's Python), so neither pays for compiling its source in every worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"


def build_file(path: Path, problems: int) -> int:
    """Two completions per problem (right, wrong); returns the number of rows written."""
    sources = [("gsm8k_test", "gsm8k"), ("math500_test", "math"), ("gsm8k_train", "gsm8k")]
    items = []
    for name, kind in sources:
        with open(DATA / f"{name}.jsonl", encoding="utf-8") as handle:
            for line in handle:
                items.append((kind, json.loads(line)))
    items = items[:problems]
    rows = 0
    with open(path, "w", encoding="utf-8") as out:
        for i, (kind, row) in enumerate(items):
            if kind == "gsm8k":
                work, _, final = row["answer"].rpartition("####")
                answer = final.strip()
                gold = answer  # a bare number, as open-r1-style GSM8K datasets carry it
                number = float(answer.replace(",", ""))
                wrong = str(int(number) + 1) if number.is_integer() else f"{number + 1:g}"
                question = row["question"]
            else:
                work = re.sub(r"\\boxed\{", r"\\text{so }{", row["solution"])
                answer = row["answer"]
                gold = row["solution"]  # a worked solution ending in \boxed{}
                other = items[(i + 1) % len(items)][1]
                wrong = other.get("answer", "0") if other.get("answer") != answer else "0"
                if "####" in str(wrong):
                    wrong = wrong.rpartition("####")[2].strip()
                question = row["problem"]
            for final_answer in (answer, wrong):
                completion = f"<think>\n{work.strip()}\n</think>\n<answer>\\boxed{{{final_answer}}}</answer>"
                out.write(json.dumps({"prompt": question, "completion": completion, "solution": gold}) + "\n")
                rows += 1
    return rows


def baseline(path: str, out: str) -> None:
    """open-r1's accuracy_reward, one row at a time (run in its own process)."""
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    answer_config = [
        LatexExtractionConfig(
            # open-r1 also passes equations=True, deprecated and ignored by latex2sympy2_extended 1.11.
            normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True, boxed="all", units=True),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        )
    ]
    scores = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            content, sol = row["completion"], row["solution"]
            gold_parsed = parse(sol, extraction_mode="first_match")
            if len(gold_parsed) != 0:
                answer_parsed = parse(content, extraction_config=answer_config, extraction_mode="first_match")
                try:
                    reward = float(verify(gold_parsed, answer_parsed))
                except Exception:
                    reward = None
            else:
                reward = None
            scores.append(reward)
    Path(out).write_text(json.dumps(scores))


def timed(cmd: list[str], env: dict | None = None, cwd: Path = REPO) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return elapsed, proc


def run_r1(bench: Path, workers: int, tmp: Path, checkout: Path | None = None) -> tuple[float, list, dict]:
    scored = tmp / f"scored_w{workers}{'_before' if checkout else ''}.jsonl"
    cmd = [sys.executable, "-m", "r1cli", "score", str(bench), "--rewards", "accuracy", "--workers", str(workers),
           "--json", "--output", str(scored), "--force"]
    # Bytecode caching on, as in a user's Python: both versions run from .pyc after the first run, so
    # neither pays for compiling its own source in every process (PYTHONDONTWRITEBYTECODE may be set).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if checkout is not None:  # import r1cli from the other checkout (workers inherit PYTHONPATH)
        env["PYTHONPATH"] = str(checkout)
    elapsed, proc = timed(cmd, env=env, cwd=checkout or REPO)
    summary = json.loads(proc.stdout)
    with open(scored, encoding="utf-8") as handle:
        scores = [json.loads(line)["rewards"]["accuracy"] for line in handle]
    return elapsed, scores, summary


def compare_before(bench: Path, rows: int, workers: int, tmp: Path, before: Path, repeat: int) -> None:
    """This checkout against ``before``, run alternately ``repeat`` times; median wall times."""
    runs: dict[str, list[float]] = {"this": [], "before": []}
    scores: dict[str, list] = {}
    for checkout in (before.resolve(), None):  # one untimed run each: bytecode written, files cached
        run_r1(bench, workers, tmp, checkout=checkout)
    for _ in range(repeat):
        for name, checkout in (("before", before.resolve()), ("this", None)):
            elapsed, scores[name], _ = run_r1(bench, workers, tmp, checkout=checkout)
            runs[name].append(elapsed)
    wall = {name: statistics.median(values) for name, values in runs.items()}
    for name, label in (("this", "this version"), ("before", str(before))):
        walls = " ".join(f"{e:.2f}" for e in runs[name])
        print(f"r1 score --workers {workers}, {label}: median {rows / wall[name]:8.1f} rows/s, {wall[name]:.2f}s "
              f"(runs: {walls})")
    differ = sum(a != b for a, b in zip(scores["before"], scores["this"]))
    print(f"this version / {before}: {wall['before'] / wall['this']:.2f}x the throughput (median wall time), "
          f"{repeat} alternating runs each; scores differ on {differ:,} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--problems", type=int, default=5000, help="problems (two rows each); default 5000 = 10,000 rows")
    parser.add_argument("--quick", action="store_true", help="skip the single-worker r1 run")
    parser.add_argument("--before", type=Path, help="another r1 checkout to time side by side (git worktree add DIR REV)")
    parser.add_argument("--repeat", type=int, default=5, help="alternating runs of each version with --before (default 5)")
    parser.add_argument("--_baseline", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._baseline:
        baseline(*args._baseline)
        return

    with tempfile.TemporaryDirectory(prefix="r1-bench-") as tmp_name:
        tmp = Path(tmp_name)
        bench = tmp / "bench.jsonl"
        rows = build_file(bench, args.problems)
        size_mb = bench.stat().st_size / 1e6
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"file: {rows:,} rows ({size_mb:.1f} MB) from gsm8k_test, math500_test, gsm8k_train; "
              f"CPU cores: {os.cpu_count()}, load average before the run: {load}")

        base_out = tmp / "baseline.json"
        base_s, _ = timed([sys.executable, __file__, "--_baseline", str(bench), str(base_out)])
        base_scores = json.loads(base_out.read_text())
        base_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        runs = [args.workers] if args.quick or args.workers == 1 else [1, args.workers]
        results = {w: run_r1(bench, w, tmp) for w in runs}

        print(f"baseline (open-r1 loop, 1 process): {rows / base_s:8.1f} rows/s  {base_s:6.1f}s  peak RSS {base_rss:.0f} MB")
        for w, (elapsed, _, summary) in results.items():
            mem = summary["peak_memory_mb"]
            rss = f"peak RSS {mem['main']:.0f} MB" + (f" + {mem['worker']:.0f} MB per worker" if "worker" in mem else "")
            print(f"r1 score --workers {w}:              {rows / elapsed:8.1f} rows/s  {elapsed:6.1f}s  {rss}  "
                  f"(ratio {base_s / elapsed:.2f}x)")
        elapsed, scores, summary = results[args.workers]
        print(f"ratio r1 --workers {args.workers} / baseline: {base_s / elapsed:.2f}x")
        mismatches = [(i, b, r) for i, (b, r) in enumerate(zip(base_scores, scores)) if b != r]
        identical = not mismatches and len(scores) == len(base_scores)
        only_r1 = sum(1 for _, b, r in mismatches if r == 1.0)
        only_base = sum(1 for _, b, r in mismatches if b == 1.0)
        print(f"identical accuracy scores (r1 vs baseline): {'yes' if identical else 'no'} "
              f"({len(scores) - len(mismatches):,}/{len(scores):,} rows agree; correct only for r1: {only_r1}, "
              f"only for the baseline: {only_base}, other: {len(mismatches) - only_r1 - only_base})")
        if mismatches:
            lines = bench.read_text(encoding="utf-8").splitlines()
            for i, b, r in mismatches[:5]:
                row = json.loads(lines[i])
                print(f"  row {i + 1}: baseline {b} r1 {r}; answer {row['completion'].rpartition('<answer>')[2][:60]!r}")
        if args.before is not None:
            compare_before(bench, rows, args.workers, tmp, args.before, max(args.repeat, 1))
        for w, (_, other, _) in results.items():
            if w != args.workers:
                same = "yes" if other == scores else "NO (a bug)"
                print(f"identical accuracy scores (r1 --workers {w} vs --workers {args.workers}): {same}")


if __name__ == "__main__":
    main()
