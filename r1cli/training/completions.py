"""Sampled completions during GRPO: the dashboard's "latest sample" and ``completions.jsonl``.

TRL keeps the prompts, completions, per-reward scores and advantages of the
latest generation batch in ``trainer._logs`` (gathered from every process).
At each log step this callback reads that batch once: it emits a ``sample``
event (the first completion, for the dashboard), and with ``save_completions``
appends every completion with its per-reward scores to ``completions.jsonl``.
"""

from __future__ import annotations

import json
import logging
import math
import weakref
from pathlib import Path

from transformers import TrainerCallback

logger = logging.getLogger("r1cli")


def as_text(value) -> str:
    """Chat messages -> the last message's content; strings unchanged."""
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return str(value[-1].get("content", ""))
    return str(value)


def _score(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


class CompletionsCallback(TrainerCallback):
    def __init__(self, metrics, path: Path | None = None, *, log_details: bool = False):
        self.metrics = metrics  # MetricsCallback: its emit() reaches the dashboard
        self.path = path
        self.log_details = log_details
        self._trainer = None
        self._last_batch = None

    def bind(self, trainer) -> None:
        self._trainer = weakref.ref(trainer)

    def on_log(self, args, state, control, logs=None, **kwargs):
        trainer = self._trainer() if self._trainer else None
        if trainer is None or not state.is_world_process_zero or not hasattr(trainer, "_logs"):
            return
        batch = trainer._logs
        prompts, completions = list(batch["prompt"]), list(batch["completion"])
        fingerprint = (len(completions), as_text(completions[0]) if completions else None)
        if not completions or fingerprint == self._last_batch:
            return  # nothing new generated since the last log (steps_per_generation > 1)
        self._last_batch = fingerprint
        names = list(batch["rewards"])
        rows = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions)):
            rewards = {name: _score(list(batch["rewards"][name])[i]) for name in names}
            advantages = list(batch["advantages"])
            rows.append({"step": state.global_step, "prompt": as_text(prompt), "completion": as_text(completion),
                         "rewards": rewards, "advantage": _score(advantages[i]) if i < len(advantages) else None})
        first = rows[0]
        self.metrics.emit({"event": "sample", "step": state.global_step, "prompt": first["prompt"],
                           "completion": first["completion"], "rewards": first["rewards"]})
        if self.log_details:
            for row in rows:
                logger.info("completion step=%s rewards=%s advantage=%s\n%s", row["step"], row["rewards"],
                            row["advantage"], row["completion"])
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
