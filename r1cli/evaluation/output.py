"""``r1 eval --output``: one JSON line per item (prompt, gold, every sample with its answer and rewards, the decoding).

Such a file is accepted back as input (``r1 eval --completions``, ``--baseline``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from r1cli.evaluation import metrics as M
from r1cli.evaluation.results import EvalReport, Item, Sample

# Settings that change what a model's answers are; a comparison needs them equal.
DECODING = ("num_samples", "temperature", "top_p", "max_new_tokens")


def decoding_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The decoding part of an evaluation's settings (written into every ``--output`` line)."""
    return {name: settings[name] for name in DECODING if name in settings}


def item_record(report: EvalReport, item: Item) -> dict:
    """One ``--output`` line: prompt, gold, every sample with its answer and rewards, and the decoding settings."""
    scores = [s.rewards[report.accuracy_reward] for s in item.samples]
    majority = item.samples[item.majority] if item.majority is not None else None
    return {
        "model": report.label, "decoding": decoding_of(report.settings), "index": item.index, "prompt": item.prompt, "gold": item.gold,
        "gold_answer": item.gold_answer, "accuracy": M.item_accuracy(scores),
        "majority_answer": majority.answer if majority else None,
        "majority_correct": M.majority_correct(scores, item.majority),
        "samples": [_sample_record(report, s) for s in item.samples],
    }


def _sample_record(report: EvalReport, sample: Sample) -> dict:
    record = asdict(sample)
    del record["source"]
    record["completion"] = report.completion(sample)
    return record


def write_results(reports: Sequence[EvalReport], path: str | Path, *, force: bool = False) -> None:
    """Every item of every report, one JSON line each (atomically; an existing file only with ``force``)."""
    from r1cli.files import JSON_ERRORS, atomic_open

    with atomic_open(path, "w", force=force, errors=JSON_ERRORS) as handle:
        for report in reports:
            for item in report.items:
                handle.write(json.dumps(item_record(report, item), ensure_ascii=False, default=str) + "\n")
            report.output = str(path)
