"""Length rewards: ``length`` (Gaussian around a target), ``cosine`` and ``soft_overlong_punishment``.

Lengths are in tokens when the trainer passes ``completion_ids`` (as TRL does),
else in characters (for example in ``r1 score`` on a JSONL without token ids).
``cosine`` follows open-r1 / "Demystifying Long Chain-of-Thought Reasoning"
(length-scaled correctness); ``soft_overlong_punishment`` follows DAPO's Eq. 13.
"""

from __future__ import annotations

import math
from typing import Any

from r1cli.rewards.accuracy import DEFAULT_TIMEOUT, correctness
from r1cli.rewards.registry import Param, register_reward
from r1cli.rewards.text import lengths


@register_reward(
    "length",
    range=(0.0, 1.0),
    description="Gaussian in the completion length around `target` (tokens if completion_ids are given, else characters).",
    params={
        "target": Param("Ideal completion length (tokens, or characters without completion_ids).", ge=0),
        "sigma": Param("Spread: the score is exp(-0.5) at target ± sigma.", gt=0),
    },
)
def length(
    completions: list, *, target: float = 300.0, sigma: float = 150.0, completion_ids: list | None = None, **kwargs: Any
) -> list[float]:
    """exp(-(n - target)² / (2·sigma²)) for a completion of length n."""
    return [math.exp(-((n - target) ** 2) / (2 * sigma**2)) for n in lengths(completions, completion_ids)]


def _cosine_range(p: dict) -> tuple[float, float]:
    values = (p["min_value_wrong"], p["max_value_wrong"], p["min_value_correct"], p["max_value_correct"])
    return min(values), max(values)


def _cosine_check(p: dict) -> str | None:
    if p["min_value_correct"] > p["max_value_correct"]:
        return "min_value_correct must not exceed max_value_correct"
    if p["min_value_wrong"] > p["max_value_wrong"]:
        return "min_value_wrong must not exceed max_value_wrong"
    if p["max_value_wrong"] > p["min_value_correct"]:
        return "a wrong answer must never score above a correct one (max_value_wrong <= min_value_correct)"
    return None


@register_reward(
    "cosine",
    range=_cosine_range,
    description="Correctness scaled by length on a cosine schedule: short correct answers score most, short wrong ones least.",
    params={
        "max_len": Param("Length at which the schedule ends (tokens, or characters without completion_ids).", gt=0),
        "min_value_wrong": Param("Score of a wrong answer of length 0."),
        "max_value_wrong": Param("Score of a wrong answer of length max_len or more."),
        "min_value_correct": Param("Score of a correct answer of length max_len or more."),
        "max_value_correct": Param("Score of a correct answer of length 0."),
        "timeout": Param("Seconds allowed for each parse and verification.", gt=0),
    },
    validate=_cosine_check,
)
def cosine(
    completions: list,
    solution: list,
    *,
    max_len: int = 1000,
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
    timeout: float = DEFAULT_TIMEOUT,
    completion_ids: list | None = None,
    **kwargs: Any,
) -> list[float | None]:
    """v_lo + (v_hi - v_lo)·(1 + cos(π·min(n, max_len)/max_len))/2, with (v_lo, v_hi) by correctness.

    A wrong answer swaps the bounds (short wrong answers are punished most).
    None where ``accuracy`` is None (gold unparseable, or timed out). Unlike
    open-r1, lengths past ``max_len`` stay at the end of the schedule instead
    of climbing back up the cosine.
    """
    scores: list[float | None] = []
    for correct, n in zip(correctness(completions, solution, timeout), lengths(completions, completion_ids)):
        if correct is None:
            scores.append(None)
            continue
        lo, hi = (min_value_correct, max_value_correct) if correct else (max_value_wrong, min_value_wrong)
        progress = min(n, max_len) / max_len
        scores.append(lo + 0.5 * (hi - lo) * (1.0 + math.cos(progress * math.pi)))
    return scores


def _overlong_check(p: dict) -> str | None:
    if p["soft_punish_cache"] > p["max_completion_len"]:
        return "soft_punish_cache must not exceed max_completion_len"
    return None


@register_reward(
    "soft_overlong_punishment",
    range=(-1.0, 0.0),
    description="DAPO's soft overlong punishment: 0 up to max_completion_len - soft_punish_cache, then linearly down to -1.",
    params={
        "max_completion_len": Param("Hard length limit (match training's max_completion_length; tokens).", gt=0),
        "soft_punish_cache": Param("Length of the zone before the limit in which the penalty grows.", ge=0),
    },
    validate=_overlong_check,
)
def soft_overlong_punishment(
    completions: list,
    *,
    max_completion_len: int = 1024,
    soft_punish_cache: int = 256,
    completion_ids: list | None = None,
    **kwargs: Any,
) -> list[float]:
    """0 if n <= L - c; (L - c - n)/c if L - c < n <= L; -1 beyond L (L = max_completion_len, c = soft_punish_cache)."""
    safe = max_completion_len - soft_punish_cache
    scores = []
    for n in lengths(completions, completion_ids):
        if n <= safe:
            scores.append(0.0)
        elif n <= max_completion_len:
            scores.append((safe - n) / soft_punish_cache)
        else:
            scores.append(-1.0)
    return scores
