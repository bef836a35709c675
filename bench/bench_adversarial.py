"""Benchmark: every registered reward on the adversarial corpus of tests/test_rewards_adversarial.py, call by call.

Each completion is scored alone against the gold "4", every reward in its own
fresh process (no answer parsed by an earlier reward is cached), after one
warm-up call that imports math-verify. Prints the corpus size, each reward's
total and slowest call, the slowest accuracy calls, and any exception or
value that is neither a float nor None.

    .venv/bin/python bench/bench_adversarial.py [--top 5]

Exits 1 when a reward raises or returns something other than a float or None.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS_MODULE = REPO / "tests" / "test_rewards_adversarial.py"


def load_corpus() -> dict:
    spec = importlib.util.spec_from_file_location("test_rewards_adversarial", CORPUS_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.corpus()


def time_reward(name: str) -> None:
    """Child process: one JSON line per corpus item, {case, seconds, ok, problem}."""
    from r1cli.rewards import get_reward_calculator

    func = get_reward_calculator([name]).funcs[0]
    func(["<answer>\\frac{1}{2}</answer>"], solution=["4"])  # warm-up: math-verify and sympy imports
    for case, completion in load_corpus().items():
        started = time.perf_counter()
        problem = None
        try:
            value = func([completion], solution=["4"])[0]
            if value is not None and not (type(value) is float and math.isfinite(value)):
                problem = f"returned {value!r}"
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            problem = f"raised {type(exc).__name__}: {exc}"
        print(json.dumps({"case": case, "seconds": time.perf_counter() - started, "problem": problem}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5, help="slowest accuracy calls to list")
    parser.add_argument("--_reward", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._reward:
        time_reward(args._reward)
        return

    from r1cli.rewards import available_rewards

    corpus = load_corpus()
    rewards = available_rewards()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"adversarial corpus: {len(corpus)} completions ({sum(len(str(c)) for c in corpus.values()) / 1e6:.1f} M characters) "
          f"x {len(rewards)} rewards; CPU cores: {os.cpu_count()}, load average: {load}")
    problems = []
    accuracy_calls = []
    for name in rewards:
        proc = subprocess.run([sys.executable, __file__, "--_reward", name], capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            sys.exit(f"{name}: the timing process failed\n{proc.stderr[-2000:]}")
        calls = [json.loads(line) for line in proc.stdout.splitlines()]
        worst = max(calls, key=lambda c: c["seconds"])
        problems += [f"{name} on {c['case']}: {c['problem']}" for c in calls if c["problem"]]
        print(f"{name:26} {sum(c['seconds'] for c in calls):7.2f}s for {len(calls)} calls; "
              f"slowest {worst['seconds']:6.3f}s ({worst['case']})")
        if name == "accuracy":
            accuracy_calls = calls
    if accuracy_calls:
        slowest = sorted(accuracy_calls, key=lambda c: c["seconds"], reverse=True)[: args.top]
        worst = slowest[0]
        print(f"worst single accuracy call: {worst['seconds']:.3f}s on {worst['case']}")
        print("slowest accuracy calls: " + ", ".join(f"{c['case']} {c['seconds']:.3f}s" for c in slowest))
    print(f"exceptions or bad values: {len(problems)}")
    for problem in problems:
        print(f"  {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
