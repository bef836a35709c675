"""Turning a template plus the user's choices into recipe values (the logic behind `r1 init`).

The wizard (:mod:`r1cli.ui.wizard`) and the non-interactive flags both fill
an :class:`InitChoices`; :func:`build_values` applies it to the template.
A choice left as ``None`` keeps the template's value. :func:`write_recipe`
renders the values as commented YAML and writes them only if they validate.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1cli.config.templates import Template, render_recipe
from r1cli.run_dir import RunDirectory

HARDWARE = {
    "cpu": "CPU only (slow, but works anywhere)",
    "gpu": "one GPU",
    "zero2": "several GPUs, DeepSpeed ZeRO-2",
    "zero3": "several GPUs, DeepSpeed ZeRO-3 (large models)",
}
LOGGING = {"none": f"{RunDirectory.METRICS} only", "wandb": "Weights & Biases", "tensorboard": "TensorBoard"}


@dataclass
class InitChoices:
    model: str | None = None
    dataset: str | None = None
    prompt_column: str | None = None
    solution_column: str | None = None
    rewards: list[str] | None = None
    weights: list[float] | None = None
    reject_sampling: bool | None = None
    eval_dataset: str | None = None
    hardware: str | None = None
    logging: str | None = None
    output_dir: str | None = None


def _hardware(values: dict[str, Any], profile: str) -> None:
    for name in ("use_cpu", "bf16", "accelerate_config", "gradient_checkpointing"):
        values.pop(name, None)
    if profile == "cpu":
        values.update(use_cpu=True, bf16=False)
        return
    values.update(bf16=True, gradient_checkpointing=True)
    if profile in ("zero2", "zero3"):
        values["accelerate_config"] = profile


# Keys that describe the template's own data: wrong for any other dataset.
DATA_KEYS = ("dataset_config", "dataset_prompt_column", "dataset_solution_column", "dataset_train_split")
EVAL_KEYS = ("eval_dataset_name", "eval_dataset_split", "eval_steps", "eval_on_start")


def build_values(template: Template, choices: InitChoices) -> dict[str, Any]:
    values = template.values()
    if choices.dataset is not None and choices.dataset != values.get("dataset_name"):
        # Another dataset: the template's config, columns and real-time eval data (e.g. `dataset_config: add`,
        # `eval_dataset_name: arithmetic`) belong to its data, not this one. Eval stays off unless chosen.
        for name in DATA_KEYS + (EVAL_KEYS if choices.eval_dataset is None else ()):
            values.pop(name, None)
    simple = {"model_name_or_path": choices.model, "dataset_name": choices.dataset,
              "dataset_prompt_column": choices.prompt_column, "dataset_solution_column": choices.solution_column,
              "reward_funcs": choices.rewards, "output_dir": choices.output_dir,
              "use_reject_sampling": choices.reject_sampling}
    values.update({k: v for k, v in simple.items() if v is not None})
    if choices.rewards is not None:
        # Weights must match the rewards; keep the template's only when the list is unchanged.
        same = choices.rewards == template.values().get("reward_funcs")
        weights = choices.weights or (values.get("reward_weights") if same else None)
        values.pop("reward_weights", None)
        if weights:
            values["reward_weights"] = [float(w) for w in weights]
    elif choices.weights:
        values["reward_weights"] = [float(w) for w in choices.weights]
    if choices.eval_dataset is not None:
        for name in ("eval_dataset_name", "eval_dataset_split", "eval_steps", "eval_on_start"):
            values.pop(name, None)
        if choices.eval_dataset:  # "" turns real-time evaluation off
            values.update(eval_dataset_name=choices.eval_dataset, eval_steps=values.get("save_steps") or 50)
    if choices.hardware:
        _hardware(values, choices.hardware)
    if choices.logging:
        values.pop("wandb_project", None)
        values["report_to"] = choices.logging
        if choices.logging == "wandb":
            values["wandb_project"] = "r1"
    return values


def write_recipe(path: Path, values: dict[str, Any], title: str, *, force: bool = False,
                 comments: dict[str, list[str]] | None = None) -> None:
    """Validate the rendered recipe first; write it atomically only if it is valid."""
    from r1cli.config.validate import validate_recipe
    from r1cli.errors import ConfigError
    from r1cli.files import atomic_write_text, refuse_overwrite

    refuse_overwrite(path, force)
    text = render_recipe(values, title, comments)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / path.name
        probe.write_text(text, encoding="utf-8")
        report = validate_recipe(probe)
    if not report.ok:
        problems = "; ".join(f"{f.key}: {f.message}" for f in report.errors)
        raise ConfigError(f"the recipe would not be valid, so it was not written: {problems}",
                          hint="change the answers or flags named above")
    atomic_write_text(path, text, force=force)
