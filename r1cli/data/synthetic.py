"""Built-in synthetic tasks: seeded integer arithmetic with exact gold answers.

Usable anywhere a dataset name is (``dataset_name: arithmetic``), with no
download. Train and test never overlap: each problem is assigned to a split by
a hash of its text, so a problem generated for one split can never appear in
the other, whatever the sizes or seeds. ``dataset_config`` picks the
difficulty: ``add`` (one addition on 1..50, the quickstart's), ``easy`` (+ or - on 1..20),
``medium`` (+, - or x on 1..50), ``hard`` (two of those).

Columns: ``prompt`` (the problem), ``solution`` (the exact integer, as text),
``completion`` (a worked answer in the <think>/<answer> format, for SFT
cold starts) and ``level``.
"""

from __future__ import annotations

import hashlib
import random

BUILTIN_DATASETS = {"arithmetic": "integer arithmetic problems with exact answers (configs: add, easy, medium, hard)"}

# level -> (operators, largest operand, number of operations)
LEVELS = {
    "add": ("+", 50, 1),
    "easy": ("+-", 20, 1),
    "medium": ("+-*", 50, 1),
    "hard": ("+-*", 50, 2),
}
DEFAULT_SIZES = {"train": 2000, "test": 200}
_TEST_SHARE = 10  # one problem in ten belongs to the test split


def split_of(problem: str) -> str:
    """The split a problem belongs to, fixed by its text alone."""
    digest = int(hashlib.sha256(problem.encode()).hexdigest()[:8], 16)
    return "test" if digest % _TEST_SHARE == 0 else "train"


def _problem(rng: random.Random, level: str) -> tuple[str, int, str]:
    ops, largest, count = LEVELS[level]
    numbers = [rng.randint(1, largest) for _ in range(count + 1)]
    chosen = [rng.choice(ops) for _ in range(count)]
    expression = str(numbers[0])
    for op, n in zip(chosen, numbers[1:]):
        expression += f" {op} {n}"
    # Evaluate with the usual precedence, without eval(): multiply first, then add/subtract left to right.
    terms: list[int] = [numbers[0]]
    signs: list[str] = []
    for op, n in zip(chosen, numbers[1:]):
        if op == "*":
            terms[-1] *= n
        else:
            signs.append(op)
            terms.append(n)
    value = terms[0]
    for sign, term in zip(signs, terms[1:]):
        value = value + term if sign == "+" else value - term
    shown = expression.replace("*", "×")
    # At least two reasoning lines: the format reward gives part of its score for segmented reasoning.
    steps = [f"The problem asks for {shown}."]
    if "*" in chosen and any(op in "+-" for op in chosen):
        steps.append("Multiplication comes before addition and subtraction.")
    steps.append(f"{shown} = {value}")
    reasoning = "\n".join(steps)
    completion = f"<think>\n{reasoning}\n</think>\n<answer>{value}</answer>"
    return f"What is {shown}?", value, completion


def generate(config: str | None = None, split: str = "train", size: int | None = None, seed: int = 0) -> list[dict]:
    """Rows of the built-in arithmetic task for ``split`` (``train`` or ``test``)."""
    from r1cli.errors import DataError

    level = config or "medium"
    if level not in LEVELS:
        raise DataError(f"arithmetic has no config {level!r}", hint=f"use one of: {', '.join(LEVELS)}")
    if split not in DEFAULT_SIZES:
        raise DataError(f"arithmetic has no split {split!r}", hint="use train or test")
    wanted = size or DEFAULT_SIZES[split]
    rng = random.Random(f"arithmetic-{level}-{seed}")
    rows, seen = [], set()
    for _ in range(wanted * 200):  # ample: about 1 in 10 problems is a test problem
        prompt, value, completion = _problem(rng, level)
        if prompt in seen or split_of(prompt) != split:
            continue
        seen.add(prompt)
        rows.append({"prompt": prompt, "solution": str(value), "completion": completion, "level": level})
        if len(rows) == wanted:
            break
    return rows
