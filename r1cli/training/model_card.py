"""The model card (README.md) r1 leaves in a run directory, written from the run's recipe.

    write_model_card(recipe.values, run, summary)   # after the final save, on the main process

transformers/TRL write their own card on save, which for a model loaded from a
local path or a built-in name reads ``fine-tuned version of [None](https://huggingface.co/None)``.
This one says what was trained: the base model, the data, the rewards with their
weights, the key settings, the r1 version, how many steps ran and, when the run
evaluated as it trained, the held-out results from ``metrics.jsonl``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from r1cli.config.describe import describe, number
from r1cli.files import atomic_write_text, read_jsonl
from r1cli.run_dir import RunDirectory

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _is_hub_id(model: str) -> bool:
    return bool(_HUB_ID.match(model)) and not Path(model).exists()


def eval_results(run: RunDirectory) -> dict[str, tuple[float, float, int]]:
    """Each ``eval/...`` metric of the run: (last value, best value, step of the last)."""
    found: dict[str, tuple[float, float, int]] = {}
    if not run.metrics.is_file():
        return found
    for record in read_jsonl(run.metrics):
        for key, value in record.items():
            if key.startswith("eval/") and isinstance(value, (int, float)) and not isinstance(value, bool):
                best = max(value, found[key][1]) if key in found else value
                found[key] = (value, best, int(record.get("step", 0)))
    return found


def render_model_card(values: Mapping[str, Any], run: RunDirectory, summary: Mapping[str, Any] | None = None) -> str:
    from r1cli import __version__

    facts = describe(values)
    hub = _is_hub_id(facts.model)
    front = ["---", "library_name: " + ("peft" if values.get("use_peft") else "transformers"),
             "tags: [r1, trl, " + facts.trainer + "]"]
    if hub:
        front.append(f"base_model: {facts.model}")
    lines = front + ["---", "", f"# {run.name}", ""]
    base = f"[{facts.model}](https://huggingface.co/{facts.model})" if hub else f"`{facts.model}`"
    lines.append(f"{facts.trainer.upper()} fine-tune of {base}, trained with r1 {__version__} "
                 f"(TRL on the Hugging Face stack).")
    lines += ["", "## Data", "", f"- training: `{facts.data}`"]
    if facts.eval_data:
        lines.append(f"- held-out evaluation during training: `{facts.eval_data}`")
    if facts.rewards:
        lines += ["", "## Rewards", "", "| reward | weight |", "|---|---|"]
        lines += [f"| {name} | {number(weight)} |" for name, weight in facts.rewards]
    if facts.settings:
        lines += ["", "## Settings", ""] + [f"- {key}: {number(value)}" for key, value in facts.settings]
    if summary:
        lines += ["", "## Training", "", f"- steps: {summary.get('global_step')} of {summary.get('max_steps')}",
                  f"- wall time: {number(summary.get('wall_seconds'))} s"]
    results = eval_results(run)
    if results:
        lines += ["", "## Evaluation results", "", "| metric | last | best |", "|---|---|---|"]
        lines += [f"| {key} (step {step}) | {number(last)} | {number(best)} |" for key, (last, best, step) in results.items()]
    lines += ["", "## Reproduce", "", "The resolved recipe is saved next to this card:", "",
              "```bash", f"r1 {facts.trainer} {RunDirectory.CONFIG}", "```", ""]
    return "\n".join(lines)


def write_model_card(values: Mapping[str, Any], run: RunDirectory, summary: Mapping[str, Any] | None = None) -> Path:
    """Write (replace) the run directory's README.md: after the final save, which writes TRL's own card."""
    path = run.model_card
    atomic_write_text(path, render_model_card(values, run, summary), force=True)
    return path
