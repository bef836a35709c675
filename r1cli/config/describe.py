"""What a recipe trains, in a few lines a person reads: model, data, rewards with weights, key settings.

    facts = describe(values)      # values: a recipe's resolved values, or a run's saved config.yaml
    facts.title                   # "GRPO of Qwen/Qwen2.5-1.5B-Instruct on openai/gsm8k (main)"

The one place that decides what a run's report page (:mod:`r1cli.reporting`) and
its model card (:mod:`r1cli.training.model_card`) say about the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# The settings a colleague asks about first, in the order they are shown (only those the recipe sets).
KEY_SETTINGS = ("learning_rate", "lr_scheduler_type", "num_generations", "per_device_train_batch_size",
                "gradient_accumulation_steps", "max_completion_length", "temperature", "beta", "max_steps",
                "num_train_epochs", "max_train_minutes", "use_peft", "lora_r", "use_reject_sampling", "seed")


@dataclass
class RecipeFacts:
    trainer: str
    model: str
    data: str
    eval_data: str | None
    rewards: list[tuple[str, float]] = field(default_factory=list)
    settings: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.trainer.upper()} of {self.model} on {self.data}"


def _data(name: Any, config: Any = None, split: Any = None) -> str:
    extra = ", ".join(str(x) for x in (config, split) if x)
    return f"{name} ({extra})" if extra else str(name)


def describe(values: Mapping[str, Any]) -> RecipeFacts:
    trainer = str(values.get("trainer") or "grpo")
    rewards: list[tuple[str, float]] = []
    if trainer == "grpo":
        from r1cli.rewards.selection import calculator_for

        try:
            calc = calculator_for(values)
            rewards = list(zip(calc.names, calc.weights))
        except Exception:  # noqa: BLE001 - a run saved with a reward this install lacks: show the names only
            names = list(values.get("reward_funcs") or [])
            weights = list(values.get("reward_weights") or [1.0] * len(names))
            rewards = list(zip(map(str, names), weights))
    evaluates = values.get("eval_steps") or values.get("eval_on_start")
    eval_name = (values.get("eval_dataset_name") or values.get("dataset_name")) if evaluates else None
    return RecipeFacts(
        trainer=trainer, model=str(values.get("model_name_or_path") or "?"),
        data=_data(values.get("dataset_name") or "?", values.get("dataset_config")),
        eval_data=_data(eval_name, values.get("dataset_config") if eval_name == values.get("dataset_name") else None,
                        values.get("eval_dataset_split") or ("test" if eval_name == values.get("dataset_name") else None))
        if eval_name else None,
        rewards=rewards, settings=[(k, values[k]) for k in KEY_SETTINGS if values.get(k) is not None])


def number(value: Any) -> str:
    """A metric as a person reads it: 4 significant digits, integers whole."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}"
