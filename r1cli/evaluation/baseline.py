"""Comparing a model against an earlier ``r1 eval --output`` file instead of evaluating the baseline again.

    r1 eval runs/sft  -c recipe.yaml -o before.jsonl         # before training
    r1 eval runs/grpo -c recipe.yaml --baseline before.jsonl  # after: the comparison, baseline not regenerated

The saved completions are re-scored with this run's rewards; the comparison is
refused when the file was measured on other items or with other decoding
settings, since the difference would then mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from r1cli.errors import DataError, UsageError

# Settings that change what a model's answers are; a comparison needs them equal.
DECODING = ("num_samples", "temperature", "top_p", "max_new_tokens")


def decoding_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The decoding part of an evaluation's settings (written into every ``--output`` line)."""
    return {name: settings[name] for name in DECODING if name in settings}


def saved_decoding(path: Path) -> tuple[str | None, dict[str, Any]]:
    """The model name and decoding settings recorded in the first line of a results file."""
    from r1cli.scoring import read_lines

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


def load_baseline(path: str | Path, current_settings: dict[str, Any], **scoring: Any):
    """The baseline's :class:`EvalReport`, re-scored with ``scoring`` (rewards, weights, kwargs) like this run."""
    from r1cli.evaluation.evaluate import evaluate_completions

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file", hint="write it first with r1 eval MODEL --output FILE")
    model, saved = saved_decoding(path)
    check_same_decoding(path, saved, decoding_of(current_settings))
    report = evaluate_completions(path, **scoring)
    report.label = model or str(path)
    return report
