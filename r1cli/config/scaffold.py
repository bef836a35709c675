"""Turning a template plus the user's choices into recipe values (the logic behind `r1 init`).

The wizard (:mod:`r1cli.ui.wizard`) and the non-interactive flags both fill
an :class:`InitChoices`; :func:`build_values` applies it to the template.
A choice left as ``None`` keeps the template's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from r1cli.config.templates import Template

HARDWARE = {
    "cpu": "CPU only (this laptop; slow but works anywhere)",
    "gpu": "one GPU",
    "zero2": "several GPUs, DeepSpeed ZeRO-2",
    "zero3": "several GPUs, DeepSpeed ZeRO-3 (large models)",
}
LOGGING = {"none": "metrics.jsonl only", "wandb": "Weights & Biases", "tensorboard": "TensorBoard"}


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


def build_values(template: Template, choices: InitChoices) -> dict[str, Any]:
    values = template.values()
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
