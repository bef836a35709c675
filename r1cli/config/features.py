"""One settings object per training feature: each setting's default, choices and range, defined once.

    reject = RejectSamplingSettings.from_values(recipe.values)   # validated: raises ConfigError
    realtime = RealtimeEvalSettings.from_values(recipe.values)
    EnhancedGRPOTrainer(..., **reject.as_kwargs(), **realtime.as_kwargs())

A field's name is both the recipe key (where the recipe has one) and the keyword
argument of :class:`~r1cli.training.grpo_trainer.EnhancedGRPOTrainer`; its
metadata holds the allowed ``choices`` or range (``min``, ``max``,
``min_exclusive``). The schema (:mod:`r1cli.config.schema`) declares its keys
from these fields (:func:`setting_spec`) and the trainer's keyword defaults are
these defaults, so a recipe, ``r1 validate``, the README and a Python user of
the trainer all see the same numbers. Torch-free: ``r1 validate`` imports it.

Runtime state (the eval dataset, the resolved generation length) is not a
setting and lives with the trainer (:mod:`r1cli.training.realtime_eval`).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Mapping

from r1cli.errors import ConfigError

REJECT_SAMPLING_MODES = ("resample", "refill")
REJECT_SAMPLING_FALLBACKS = ("keep", "mask")
# How completions are generated (GRPO training, real-time eval, r1 eval): r1's decoding loop
# (r1cli/evaluation/decoding.py), where it can reproduce generate(), or transformers' generate().
GENERATION_LOOPS = ("r1", "transformers")
# How GRPO's loss runs the backbone: the completions that share a prompt in one packed row, the
# prompt computed once (r1cli/training/shared_prompts.py), where that applies; or TRL's padded rows.
LOSS_LAYOUTS = ("shared_prompts", "padded")


def setting(default: Any, *, min: float | None = None, max: float | None = None, min_exclusive: bool = False,
            choices: tuple | None = None, whole: bool = False):
    """A settings field; ``whole``: a number that must be an integer (at least where it is >= 1, see eval_steps)."""
    return field(default=default, metadata={"min": min, "max": max, "min_exclusive": min_exclusive,
                                            "choices": choices, "whole": whole})


class _Settings:
    """Validation and conversion shared by the settings dataclasses."""

    def __post_init__(self) -> None:
        from r1cli.config.types import describe, fits

        for f in fields(self):
            value = getattr(self, f.name)
            if not fits(str(f.type), value):
                raise ConfigError(f"{f.name} must be {f.type}, got {describe(value)}")
            _check(f.name, value, f.metadata)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]):
        """The settings a recipe's resolved values give (keys the recipe does not set keep their default)."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    def as_kwargs(self) -> dict[str, Any]:
        """The trainer's keyword arguments for these settings."""
        return asdict(self)


def _check(name: str, value: Any, meta: Mapping[str, Any]) -> None:
    choices, low, high = meta.get("choices"), meta.get("min"), meta.get("max")
    if choices:
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
        return
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (meta.get("min_exclusive") and value == low)):
        raise ConfigError(f"{name} must be {'>' if meta.get('min_exclusive') else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be <= {high}, got {value!r}")
    if meta.get("whole") and value >= 1 and value != int(value):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")


@dataclass(frozen=True)
class RejectSamplingSettings(_Settings):
    """Reject sampling (``reject_sampling.py``): regenerate groups whose rewards carry no learning signal."""

    use_reject_sampling: bool = setting(False)
    reject_sampling_mode: str = setting("resample", choices=REJECT_SAMPLING_MODES)
    # 2 rounds, at least 1: the recipe's documented contract (what `r1 grpo` always ran with);
    # turning reject sampling off is use_reject_sampling: false, not zero rounds.
    max_resample_attempts: int = setting(2, min=1, max=16, whole=True)
    reject_sampling_threshold: float | None = setting(None)
    reject_sampling_fallback: str = setting("keep", choices=REJECT_SAMPLING_FALLBACKS)


@dataclass(frozen=True)
class RealtimeEvalSettings(_Settings):
    """Real-time evaluation during GRPO (``realtime_eval.py``): generate on held-out prompts, score with the rewards."""

    # Every N optimizer steps (and after the last one); below 1, a fraction of the run's total steps,
    # as transformers reads eval_steps for SFT. None: only with eval_on_start.
    eval_steps: float | None = setting(None, min=0, min_exclusive=True, whole=True)
    eval_on_start: bool = setting(False)
    max_eval_samples: int | None = setting(64, min=1, whole=True)  # None: every eval prompt
    eval_temperature: float = setting(0.0, min=0.0)
    eval_batch_size: int = setting(16, min=1, whole=True)
    eval_max_new_tokens: int | None = setting(None, min=1, whole=True)  # None: the run's max_completion_length
    # Python API only: the name of the reward to report as eval/accuracy when a plain function is not
    # registered with verifies_answers=True. None: the reward that verifies answers, if any.
    eval_accuracy_reward: str | None = setting(None)

    @property
    def enabled(self) -> bool:
        return bool(self.eval_steps) or self.eval_on_start

    def interval(self, max_steps: int) -> int | None:
        """Optimizer steps between evaluations for a run of ``max_steps`` steps; None when only on start."""
        if not self.eval_steps:
            return None
        if self.eval_steps < 1:
            return max(1, math.ceil(self.eval_steps * max_steps))
        return int(self.eval_steps)


@dataclass(frozen=True)
class GenerationSettings(_Settings):
    """How completions are generated: in GRPO's steps, real-time eval and ``r1 dry-run``."""

    # r1: r1's decoding loop wherever it reproduces generate() (r1cli/evaluation/decoding.py); transformers: generate().
    generation_loop: str = setting(GENERATION_LOOPS[0], choices=GENERATION_LOOPS)


@dataclass(frozen=True)
class LossSettings(_Settings):
    """How GRPO's loss (and its reference/old log-probs) runs the model over prompt + completion."""

    loss_layout: str = setting(LOSS_LAYOUTS[0], choices=LOSS_LAYOUTS)


def setting_spec(settings: type, name: str) -> dict[str, Any]:
    """``default``, ``min``, ``max``, ``min_exclusive``, ``choices`` and ``whole`` of one setting (what a schema key takes)."""
    f = next(f for f in fields(settings) if f.name == name)
    assert f.default is not MISSING
    return {"default": f.default, **{k: f.metadata.get(k) for k in ("min", "max", "min_exclusive", "choices")},
            "whole": bool(f.metadata.get("whole"))}


def defaults_of(settings: type) -> dict[str, Any]:
    return {f.name: f.default for f in fields(settings)}
