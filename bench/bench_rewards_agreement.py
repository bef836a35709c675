"""Agreement of r1's `accuracy` with an independent labelled set, beside an open-r1-style math-verify reward.

The labelled set: the (gold, prediction, label) cases of Math-Verify's own public test suite, most of
them taken from real model outputs (OpenThoughts and NuminaMath completions, MATH-style answers), each
labelled correct or wrong by Math-Verify's authors. They are read at run time from a checkout of
github.com/huggingface/Math-Verify (nothing of it is copied into this repository); r1's reward was
never tuned on them: its own tests are built from MATH-500's answers and the issue's bug classes.

    python bench/bench_rewards_agreement.py --math-verify /path/to/Math-Verify  # a git checkout or bare repo

For each case the prediction is scored as a completion against the gold by
  * r1: ``accuracy`` (``r1cli.rewards.accuracy``), None counted as "not correct";
  * open-r1: its ``accuracy_reward`` recipe: math-verify ``parse`` of the gold (first match), of the
    completion with open-r1's LaTeX normalisation (boxed first, no anchors), then ``verify``;
    a gold that does not parse is skipped by open-r1 (None): counted as "not correct" here too.
Printed: cases, agreement with the labels for both (and their ratio), and r1's disagreements.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_REPO = Path("/work/.mirror/huggingface+Math-Verify/repo")
SUITES = ("tests/test_open_thoughts.py", "tests/test_numina_cases.py", "tests/test_boxed.py", "tests/test_all.py")


def read(repo: Path, path: str) -> str:
    if (repo / path).is_file():
        return (repo / path).read_text(encoding="utf-8")
    return subprocess.run(["git", "--git-dir", str(repo if (repo / "HEAD").exists() else repo / ".git"), "show",
                           f"HEAD:{path}"], check=True, capture_output=True, text=True).stdout


def cases_of(source: str, suite: str) -> list[tuple[str, str, int, str]]:
    """(gold, prediction, label, where) from every ``parametrize("gold,pred,expected", [...])`` of string pairs."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize" and len(node.args) >= 2):
            continue
        names = node.args[0]
        if not isinstance(names, ast.Constant) or [n.strip() for n in str(names.value).split(",")] not in (
                ["gold", "pred", "expected"], ["gold", "pred", "result"]):
            continue
        for item in getattr(node.args[1], "elts", []):
            try:
                gold, pred, label = ast.literal_eval(item)
            except (ValueError, SyntaxError, TypeError):
                continue
            if isinstance(gold, str) and isinstance(pred, str) and label in (0, 1, True, False):
                found.append((gold, pred, int(label), f"{suite}:{item.lineno}"))
    return found


def openr1_accuracy(completion: str, gold: str) -> float | None:
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    gold_parsed = parse(gold, extraction_mode="first_match")
    if not gold_parsed:
        return None
    answer = parse(completion, extraction_config=[LatexExtractionConfig(
        normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
                                                 equations=True, boxed="all", units=True),
        boxed_match_priority=0, try_extract_without_anchor=False)], extraction_mode="first_match")
    try:
        return float(verify(gold_parsed, answer))
    except Exception:
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--math-verify", type=Path, default=DEFAULT_REPO, help="Math-Verify checkout or bare repository")
    parser.add_argument("--show", type=int, default=15, help="r1 disagreements to print")
    args = parser.parse_args()
    if not args.math_verify.exists():
        sys.exit(f"no Math-Verify repository at {args.math_verify}: clone github.com/huggingface/Math-Verify and pass its path")

    from r1cli.rewards.accuracy import accuracy

    cases = [c for suite in SUITES for c in cases_of(read(args.math_verify, suite), suite)]
    started = time.perf_counter()
    r1 = [accuracy([pred], [gold])[0] for gold, pred, _, _ in cases]
    r1_seconds = time.perf_counter() - started
    started = time.perf_counter()
    openr1 = [openr1_accuracy(pred, gold) for gold, pred, _, _ in cases]
    openr1_seconds = time.perf_counter() - started

    def agree(scores):
        return sum(int(s == 1.0) == label for s, (_, _, label, _) in zip(scores, cases))

    a_r1, a_or = agree(r1), agree(openr1)
    n = len(cases)
    print(f"labelled cases: {n} (Math-Verify's suites: {', '.join(Path(s).name for s in SUITES)})")
    print(f"r1 accuracy        agrees on {a_r1}/{n} = {a_r1 / n:.2%}  ({r1_seconds:.1f} s)")
    print(f"open-r1-style      agrees on {a_or}/{n} = {a_or / n:.2%}  ({openr1_seconds:.1f} s)")
    print(f"disagreements: r1 {n - a_r1}, open-r1-style {n - a_or} "
          f"(ratio r1/open-r1 {((n - a_r1) / max(n - a_or, 1)):.2f}x)")
    wrong = [(c, s) for c, s in zip(cases, r1) if int(s == 1.0) != c[2]]
    for (gold, pred, label, where), score in wrong[: args.show]:
        print(f"  {where}: label {label}, r1 {score}: gold {gold[:60]!r} pred {pred[:60]!r}")


if __name__ == "__main__":
    main()
