"""Benchmark presets: which column is the problem, which the gold, and how the gold states its answer.

``r1 eval`` recognises two families of math data from their columns:

- ``gsm8k``: ``question`` / ``answer``, the answer a worked solution ending in ``#### 18``;
- ``math``: ``problem`` / ``answer`` (MATH-500: a bare LaTeX answer) or
  ``problem`` / ``solution`` (MATH: a worked solution ending in ``\\boxed{...}``).

:func:`resolve_columns` picks the preset (detected, or named with
``--benchmark``), and explicit ``--prompt-column`` / ``--solution-column``
win over it. Data that matches no preset falls back to the generic column
names every r1 command knows (``prompt``/``problem``/``question``...,
``solution``/``answer``...). Gold answers of every preset are read by
:func:`r1cli.rewards.accuracy.gold_answer_text`, the same normalisation the
``accuracy`` reward applies, so what ``eval`` shows as the gold is what the
reward compares against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from r1cli.data.prompts import PROMPT_COLUMNS, SOLUTION_COLUMNS, pick_column
from r1cli.errors import DataError, UsageError

AUTO = "auto"


@dataclass(frozen=True)
class Benchmark:
    """A dataset family: its prompt column and its gold columns, most preferred first."""

    name: str
    prompt_column: str
    solution_columns: tuple[str, ...]
    gold_format: str  # for --help and error hints

    def matches(self, columns: Sequence[str]) -> bool:
        return self.prompt_column in columns and any(c in columns for c in self.solution_columns)


PRESETS: dict[str, Benchmark] = {
    "gsm8k": Benchmark("gsm8k", "question", ("answer",), "a worked solution ending in '#### N'"),
    # MATH-500 carries both: `answer` is the bare final answer, cheaper and safer to parse than the solution.
    "math": Benchmark("math", "problem", ("answer", "solution"), "a LaTeX answer, or a solution ending in \\boxed{...}"),
}


@dataclass(frozen=True)
class Columns:
    """The columns an evaluation reads, and the preset they came from (None: generic names)."""

    prompt: str
    solution: str
    benchmark: str | None


def detect_benchmark(columns: Sequence[str], first_row: dict | None = None) -> Benchmark | None:
    """The preset whose columns the data has; None when none matches.

    ``question``/``answer`` is GSM8K's layout, but a plain Q&A file has it too:
    when ``first_row`` is given, its answer must contain ``####`` to count as GSM8K.
    """
    columns = list(columns)
    for preset in PRESETS.values():
        if not preset.matches(columns):
            continue
        if preset.name == "gsm8k" and first_row is not None and "####" not in str(first_row.get("answer", "")):
            continue
        return preset
    return None


def get_benchmark(name: str) -> Benchmark:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise UsageError(f"unknown benchmark {name!r}", hint=f"use one of: {AUTO}, {', '.join(PRESETS)}") from None


def resolve_columns(
    columns: Sequence[str],
    *,
    benchmark: str | None = AUTO,
    prompt_column: str | None = None,
    solution_column: str | None = None,
    first_row: dict | None = None,
) -> Columns:
    """Prompt and gold columns for a dataset with ``columns``; :class:`DataError` naming what exists.

    ``benchmark`` is ``"auto"`` (or None) to detect, or a preset name. Explicit
    columns override the preset's; a named preset whose columns are missing is
    an error rather than a silent fallback.
    """
    columns = list(columns)
    if benchmark in (None, AUTO):
        preset = detect_benchmark(columns, first_row)
    else:
        preset = get_benchmark(benchmark)
        if not preset.matches(columns) and not (prompt_column and solution_column):
            wanted = f"{preset.prompt_column} and one of {', '.join(preset.solution_columns)}"
            raise DataError(f"the data does not look like {preset.name}: it needs the columns {wanted}",
                            hint=f"columns are: {', '.join(columns)}; pass --prompt-column/--solution-column")
    if preset is None:
        prompt = pick_column(columns, prompt_column, PROMPT_COLUMNS, "prompt", "--prompt-column")
        solution = pick_column(columns, solution_column, SOLUTION_COLUMNS, "gold answer", "--solution-column")
        return Columns(prompt, solution, None)
    prompt = pick_column(columns, prompt_column, (preset.prompt_column,) + PROMPT_COLUMNS, "prompt", "--prompt-column")
    solution = pick_column(columns, solution_column, preset.solution_columns + SOLUTION_COLUMNS, "gold answer",
                           "--solution-column")
    return Columns(prompt, solution, preset.name)
