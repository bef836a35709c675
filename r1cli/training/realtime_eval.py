"""Real-time evaluation during GRPO training: generate on held-out prompts, score with the training rewards.

``EnhancedGRPOTrainer`` adds a :class:`RealtimeEvalCallback` when it has an
eval dataset and ``eval_steps`` / ``eval_on_start``; the callback calls
``trainer.run_realtime_eval()`` before the first step (``eval_on_start``),
after every ``eval_steps``-th optimizer step and after the last one. ``run_realtime_eval`` generates
(greedy by default) for the first ``max_eval_samples`` eval prompts with
``r1cli.evaluation.generation.generate``, scores the completions with the
trainer's own reward functions (TRL's call contract, built by
:func:`r1cli.rewards.calling.call_arguments`) and returns:

- ``eval/accuracy``: share of scored completions whose accuracy reward is >= 1.
  The accuracy reward is the one rule's (:attr:`RewardCalculator.accuracy_name`):
  the reward whose :class:`RewardSpec` has ``verifies_answers=True`` (``BoundReward.spec``
  for r1's rewards, ``func.__r1_reward_spec__`` for a registered plain function), or the one a
  Python user names with ``eval_accuracy_reward``. When no reward verifies answers,
  no ``eval/accuracy`` is logged, and that is said once: in training.log and as a
  ``{"event": "note"}`` to the metrics subscribers (the dashboard shows it).
  Completions the accuracy reward returned ``None`` for are left out.
- ``eval/reward``: mean weighted total reward (:func:`weighted_total`, TRL's sum), ``eval/rewards/<name>/mean`` per reward,
- ``eval/completion_length``, ``eval/clipped_ratio``, ``eval/samples``, ``eval/seconds``.

The settings are :class:`r1cli.config.features.RealtimeEvalSettings`; :class:`RealtimeEval`
is the runtime state a trainer keeps beside them (the dataset, the resolved generation length).
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
from typing import Any, Callable, Sequence

from transformers import TrainerCallback

from r1cli.config.features import RealtimeEvalSettings
from r1cli.errors import ConfigError
from r1cli.rewards.calculator import weighted_total
from r1cli.rewards.calculator import NO_VERIFIER
from r1cli.rewards.calling import call_arguments, columns_of
from r1cli.training.flags import RunFlags

logger = logging.getLogger(__name__)

NO_VERIFIER_NOTE = f"{NO_VERIFIER}: real-time eval logs no eval/accuracy"


@dataclass
class RealtimeEval:
    """Real-time eval in one trainer: its settings plus the runtime state they apply to."""

    settings: RealtimeEvalSettings
    dataset: Any
    max_new_tokens: int
    accuracy_index: int | None  # index in the trainer's reward functions of the accuracy reward; None: none
    announced: bool = False  # the missing-accuracy note was said

    @classmethod
    def for_trainer(cls, trainer, settings: RealtimeEvalSettings, dataset) -> "RealtimeEval":
        return cls(settings=settings, dataset=dataset,
                   max_new_tokens=settings.eval_max_new_tokens or trainer.max_completion_length,
                   accuracy_index=accuracy_index(trainer.reward_funcs, list(trainer.reward_func_names),
                                                 settings.eval_accuracy_reward))

    # The callback reads these two as before.
    @property
    def eval_steps(self) -> float | None:
        return self.settings.eval_steps

    @property
    def eval_on_start(self) -> bool:
        return self.settings.eval_on_start


def check_eval_dataset(settings: RealtimeEvalSettings, eval_dataset) -> None:
    """Real-time eval needs one map-style eval dataset; raises :class:`ConfigError` otherwise."""
    if not settings.enabled:
        return
    if eval_dataset is None:
        raise ConfigError("real-time evaluation (eval_steps / eval_on_start) needs an eval dataset")
    if isinstance(eval_dataset, dict) or not hasattr(eval_dataset, "__len__"):
        raise ConfigError("real-time evaluation needs one map-style eval dataset (not a dict of them, not a stream)")


def verifies_answers(func: Callable) -> bool:
    """The one rule, read from a reward function: its :class:`RewardSpec` has ``verifies_answers=True``.

    r1's bound rewards carry the spec as ``.spec``; a function registered with ``@register_reward``
    as ``.__r1_reward_spec__``. An unregistered function never verifies answers, whatever its name.
    """
    spec = getattr(func, "spec", None) or getattr(func, "__r1_reward_spec__", None)
    return bool(getattr(spec, "verifies_answers", False))


def accuracy_index(funcs: Sequence[Callable], names: list[str], requested: str | None = None) -> int | None:
    """Which reward ``eval/accuracy`` reports: ``requested`` by name, else the first that verifies answers, else None."""
    if requested is not None:
        if requested not in names:
            raise ConfigError(f"eval accuracy reward {requested!r} is not one of the trainer's rewards: {', '.join(names)}")
        return names.index(requested)
    return next((i for i, func in enumerate(funcs) if verifies_answers(func)), None)


class RealtimeEvalCallback(TrainerCallback):
    """Triggers ``trainer.run_realtime_eval()`` on start and every ``eval_steps`` steps."""

    def __init__(self, trainer, flags: RunFlags | None = None):
        self._trainer = weakref.ref(trainer)  # the trainer holds this callback: avoid a reference cycle
        self._last_step: int | None = None
        self.flags = flags if flags is not None else RunFlags()  # shared with the run's time-budget callback

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
        every = trainer.realtime_eval.settings.interval(state.max_steps) if trainer is not None else None
        # The last step is evaluated too, so a run's curve ends where its model does: at max_steps, or
        # where max_train_minutes ended it (not on Ctrl-C, where the user wants out now).
        last = state.global_step >= state.max_steps or self.flags.time_budget_reached
        if every and (state.global_step % every == 0 or last):
            self._run(state.global_step)


def run_realtime_eval(trainer, realtime: RealtimeEval) -> dict[str, float]:
    """Generate and score the eval prompts; the ``eval/*`` metrics (identical on every process)."""
    from accelerate.utils import gather_object
    from trl.models import unwrap_model_for_generation

    from r1cli.evaluation.generation import generate

    start = time.perf_counter()
    settings, dataset = realtime.settings, realtime.dataset
    total = len(dataset) if settings.max_eval_samples is None else min(len(dataset), settings.max_eval_samples)
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
            max_new_tokens=realtime.max_new_tokens,
            temperature=settings.eval_temperature,
            batch_size=settings.eval_batch_size,
            seed=trainer.args.seed,
            chat_template_kwargs=getattr(trainer, "chat_template_kwargs", None),
            loop=trainer.generation.generation_loop,
        )
    completions = [samples[0] for samples in outputs]
    scores = score_completions(trainer, rows, completions)
    records = [
        {"scores": scores[i], "length": c.num_tokens, "finished": c.finished} for i, c in enumerate(completions)
    ]
    records = gather_object(records)

    metrics = eval_metrics(records, list(trainer.reward_func_names), [float(w) for w in trainer.reward_weights.tolist()],
                           realtime.accuracy_index)
    if realtime.accuracy_index is None and not realtime.announced:
        realtime.announced = True
        announce(trainer, NO_VERIFIER_NOTE)
    metrics["eval/seconds"] = time.perf_counter() - start
    return metrics


def eval_metrics(records: list[dict], names: list[str], weights: list[float], accuracy: int | None) -> dict[str, float]:
    """The ``eval/*`` numbers of scored completions (``records``: ``scores`` per reward, ``length``, ``finished``)."""
    metrics: dict[str, float] = {"eval/samples": float(len(records))}
    if not records:
        return metrics
    if accuracy is not None:
        # Unscorable samples (reward None, e.g. an unparseable gold) are left out, as TRL leaves them out of means.
        column = [v for r in records if not math.isnan(v := r["scores"][accuracy])]
        metrics["eval/accuracy"] = sum(v >= 1.0 for v in column) / len(column) if column else math.nan
    metrics["eval/reward"] = _nanmean([weighted_total(r["scores"], weights) for r in records])
    for i, name in enumerate(names):
        metrics[f"eval/rewards/{name}/mean"] = _nanmean([r["scores"][i] for r in records])
    metrics["eval/completion_length"] = sum(r["length"] for r in records) / len(records)
    metrics["eval/clipped_ratio"] = sum(not r["finished"] for r in records) / len(records)
    return metrics


def announce(trainer, message: str) -> None:
    """Say something once, without a metric: training.log, and a plain ``note`` event to metrics subscribers."""
    logger.warning(message)
    if not trainer.state.is_world_process_zero:
        return
    for callback in trainer.callback_handler.callbacks:
        emit = getattr(callback, "emit", None)  # MetricsCallback: its subscribers include the dashboard
        if callable(emit):
            emit({"event": "note", "step": trainer.state.global_step, "message": message})


def score_completions(trainer, rows: list[dict], completions) -> list[list[float]]:
    """Per completion, one value per reward function (NaN where a reward returned None or cannot run here)."""
    import torch

    if not rows:
        return []
    prompts = [row["prompt"] for row in rows]
    conversational = not isinstance(prompts[0], str)
    texts = [c.text for c in completions]
    formatted = [[{"role": "assistant", "content": t}] for t in texts] if conversational else texts
    # Reward-side metrics (log_metric / log_extra) are train-only: call_arguments drops them.
    arguments = call_arguments(formatted, prompts=prompts, completion_ids=[c.token_ids for c in completions],
                               columns=columns_of(rows), trainer_state=trainer.state)
    table = [[math.nan] * len(trainer.reward_funcs) for _ in rows]
    for j, func in enumerate(trainer.reward_funcs):
        if isinstance(func, torch.nn.Module):
            logger.warning("real-time eval skips reward model %s (only reward functions are scored)", trainer.reward_func_names[j])
            continue
        if inspect.iscoroutinefunction(func):
            loop = getattr(trainer, "async_loop", None)
            call = func(completions=formatted, **arguments)
            values = asyncio.run_coroutine_threadsafe(call, loop).result() if loop else asyncio.run(call)
        else:
            values = func(completions=formatted, **arguments)
        for i, value in enumerate(values):
            table[i][j] = math.nan if value is None else float(value)
    return table


def _nanmean(values: list[float]) -> float:
    valid = [v for v in values if not math.isnan(v)]
    return sum(valid) / len(valid) if valid else math.nan
