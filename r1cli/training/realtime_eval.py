"""Real-time evaluation during GRPO training: generate on held-out prompts, score with the training rewards.

``EnhancedGRPOTrainer`` adds a :class:`RealtimeEvalCallback` when it has an
eval dataset and ``eval_steps`` / ``eval_on_start``; the callback calls
``trainer.run_realtime_eval()`` before the first step (``eval_on_start``),
after every ``eval_steps``-th optimizer step and after the last one. ``run_realtime_eval`` generates
(greedy by default) for the first ``max_samples`` eval prompts with
``r1cli.evaluation.generation.generate``, scores the completions with the
trainer's own reward functions (same call contract as TRL: ``prompts``,
``completions``, ``completion_ids``, every dataset column, ``trainer_state``,
``log_metric``, ``log_extra``) and returns:

- ``eval/accuracy``: share of scored completions whose accuracy reward is >= 1
  (the reward named by ``accuracy_reward``; by default the first reward whose
  name contains "accuracy", else the first reward; completions it returned
  ``None`` for are left out),
- ``eval/reward``: mean weighted total reward, ``eval/rewards/<name>/mean`` per reward,
- ``eval/completion_length``, ``eval/clipped_ratio``, ``eval/samples``, ``eval/seconds``.

With several processes each one generates for its share of the prompts and
the scores are gathered, so every process returns the same numbers.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
import weakref
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


@dataclass
class RealtimeEvalSettings:
    dataset: Any
    eval_steps: int | None = None
    eval_on_start: bool = False
    max_samples: int | None = None
    batch_size: int = 16
    max_new_tokens: int = 256
    temperature: float = 0.0
    accuracy_reward: str | None = None


class RealtimeEvalCallback(TrainerCallback):
    """Triggers ``trainer.run_realtime_eval()`` on start and every ``eval_steps`` steps."""

    def __init__(self, trainer):
        self._trainer = weakref.ref(trainer)  # the trainer holds this callback: avoid a reference cycle
        self._last_step: int | None = None

    def _run(self, step: int) -> None:
        trainer = self._trainer()
        if trainer is not None and step != self._last_step:
            self._last_step = step
            trainer.run_realtime_eval()

    def on_train_begin(self, args, state, control, **kwargs):
        trainer = self._trainer()
        if trainer is not None and trainer.realtime_eval.eval_on_start:
            self._run(state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        trainer = self._trainer()
        every = trainer.realtime_eval.eval_steps if trainer is not None else None
        # The last step is evaluated too, so a run's curve ends where its model does: at max_steps, or
        # where max_train_minutes ended it (not on Ctrl-C, where the user wants out now).
        last = state.global_step >= state.max_steps or getattr(control, "time_budget_reached", False)
        if every and (state.global_step % every == 0 or last):
            self._run(state.global_step)


def accuracy_reward_name(names: list[str], requested: str | None) -> str:
    if requested is not None:
        if requested not in names:
            from r1cli.errors import ConfigError

            raise ConfigError(f"eval accuracy reward {requested!r} is not one of the trainer's rewards: {', '.join(names)}")
        return requested
    return next((name for name in names if "accuracy" in name.lower()), names[0])


def run_realtime_eval(trainer, settings: RealtimeEvalSettings) -> dict[str, float]:
    """Generate and score the eval prompts; the ``eval/*`` metrics (identical on every process)."""
    from accelerate.utils import gather_object
    from trl.models import unwrap_model_for_generation

    from r1cli.evaluation.generation import generate

    start = time.perf_counter()
    dataset = settings.dataset
    total = len(dataset) if settings.max_samples is None else min(len(dataset), settings.max_samples)
    accelerator = trainer.accelerator
    indices = list(range(accelerator.process_index, total, accelerator.num_processes))
    rows = [dict(dataset[i]) for i in indices]
    prompts = [row["prompt"] for row in rows]

    with unwrap_model_for_generation(
        trainer.model_wrapped,
        accelerator,
        gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
        gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
    ) as model:
        outputs = generate(
            model,
            trainer.processing_class,
            prompts,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            batch_size=settings.batch_size,
            seed=trainer.args.seed,
            chat_template_kwargs=getattr(trainer, "chat_template_kwargs", None),
        )
    completions = [samples[0] for samples in outputs]
    scores = score_completions(trainer, rows, completions)
    records = [
        {"scores": scores[i], "length": c.num_tokens, "finished": c.finished} for i, c in enumerate(completions)
    ]
    records = gather_object(records)

    names = list(trainer.reward_func_names)
    weights = [float(w) for w in trainer.reward_weights.tolist()]
    metrics: dict[str, float] = {"eval/samples": float(len(records))}
    if records:
        accuracy_name = accuracy_reward_name(names, settings.accuracy_reward)
        # Unscorable samples (reward None, e.g. an unparseable gold) are left out, as TRL leaves them out of means.
        column = [v for r in records if not math.isnan(v := r["scores"][names.index(accuracy_name)])]
        metrics["eval/accuracy"] = sum(v >= 1.0 for v in column) / len(column) if column else math.nan
        totals = [_weighted(r["scores"], weights) for r in records]
        metrics["eval/reward"] = _nanmean(totals)
        for i, name in enumerate(names):
            metrics[f"eval/rewards/{name}/mean"] = _nanmean([r["scores"][i] for r in records])
        metrics["eval/completion_length"] = sum(r["length"] for r in records) / len(records)
        metrics["eval/clipped_ratio"] = sum(not r["finished"] for r in records) / len(records)
    metrics["eval/seconds"] = time.perf_counter() - start
    return metrics


def score_completions(trainer, rows: list[dict], completions) -> list[list[float]]:
    """Per completion, one value per reward function (NaN where a reward returned None or cannot run here)."""
    import torch

    if not rows:
        return []
    prompts = [row["prompt"] for row in rows]
    conversational = not isinstance(prompts[0], str)
    texts = [c.text for c in completions]
    formatted = [[{"role": "assistant", "content": t}] for t in texts] if conversational else texts
    columns = {key: [row[key] for row in rows] for key in rows[0] if key not in ("prompt", "completion", "completion_ids")}
    kwargs = {
        **columns,
        "trainer_state": trainer.state,
        "log_metric": lambda name, value: None,  # eval scores are logged as eval/*; reward-side metrics are train-only
        "log_extra": lambda column, values: None,
    }
    table = [[math.nan] * len(trainer.reward_funcs) for _ in rows]
    for j, func in enumerate(trainer.reward_funcs):
        if isinstance(func, torch.nn.Module):
            logger.warning("real-time eval skips reward model %s (only reward functions are scored)", trainer.reward_func_names[j])
            continue
        call = dict(prompts=prompts, completions=formatted, completion_ids=[c.token_ids for c in completions], **kwargs)
        if inspect.iscoroutinefunction(func):
            loop = getattr(trainer, "async_loop", None)
            values = asyncio.run_coroutine_threadsafe(func(**call), loop).result() if loop else asyncio.run(func(**call))
        else:
            values = func(**call)
        for i, value in enumerate(values):
            table[i][j] = math.nan if value is None else float(value)
    return table


def _weighted(values: list[float], weights: list[float]) -> float:
    valid = [(v, w) for v, w in zip(values, weights) if not math.isnan(v)]
    return sum(v * w for v, w in valid) if valid else math.nan


def _nanmean(values: list[float]) -> float:
    valid = [v for v in values if not math.isnan(v)]
    return sum(valid) / len(valid) if valid else math.nan
