"""Comparing a model against an earlier ``r1 eval --output`` file instead of evaluating the baseline again.

    r1 eval runs/sft  -c recipe.yaml -o before.jsonl         # before training
    r1 eval runs/grpo -c recipe.yaml --baseline before.jsonl  # after: the comparison, baseline not regenerated

The saved completions are re-scored with this run's rewards (the command's
calculator); the comparison is refused when the file was measured on other
items or with other decoding settings, since the difference would then mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from r1cli.errors import DataError, UsageError
from r1cli.evaluation.completions import evaluate_completions
from r1cli.evaluation.output import DECODING, decoding_of
from r1cli.evaluation.results import EvalReport
from r1cli.rewards.calculator import RewardCalculator


def saved_decoding(path: Path) -> tuple[str | None, dict[str, Any]]:
    """The model name and decoding settings recorded in the first line of a results file."""
    from r1cli.scoring.rows import read_lines

    for number, raw, _ in read_lines(path):
        try:
            row = json.loads(raw)
        except ValueError:
            raise DataError(f"{path}:{number}: not JSON", hint="pass a file written by r1 eval --output") from None
        if not isinstance(row, dict) or not isinstance(row.get("samples"), list):
            raise UsageError(f"{path} is not an r1 eval results file (line {number} has no samples)",
                             hint="pass a file written by r1 eval --output")
        return row.get("model"), dict(row.get("decoding") or {})
    raise DataError(f"{path} is empty", hint="pass a file written by r1 eval --output")


def check_same_decoding(path: Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    differ = [f"{name} {saved[name]} there, {current[name]} here" for name in DECODING
              if name in saved and name in current and saved[name] != current[name]]
    if differ:
        raise UsageError(f"{path} was measured with other decoding settings: {'; '.join(differ)}",
                         hint="evaluate with the same settings, or both models in one command: r1 eval BEFORE AFTER")


def load_baseline(path: str | Path, current_settings: dict[str, Any], calc: RewardCalculator) -> EvalReport:
    """The baseline's :class:`EvalReport`, re-scored with ``calc`` like this run."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file", hint="write it first with r1 eval MODEL --output FILE")
    model, saved = saved_decoding(path)
    check_same_decoding(path, saved, decoding_of(current_settings))
    report = evaluate_completions(path, calc)
    report.label = model or str(path)
    return report
