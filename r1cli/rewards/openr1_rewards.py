"""open-r1's rewards that r1 names differently: ``len_reward`` (open-r1's ``length``, from Kimi 1.5).

open-r1's recipes call this reward ``length``; r1's ``length`` is a Gaussian around a target
length, so the open-r1 reward is registered under open-r1's function name, ``len_reward``,
and ``r1 validate`` tells a recipe written for open-r1 that names ``length`` which one it gets
(see :mod:`r1cli.config.check_rewards`). open-r1's binary ``format`` is ``format`` with
``strict: true`` (:mod:`r1cli.rewards.format_rewards`).
"""

from __future__ import annotations

from typing import Any

from r1cli.rewards.accuracy import DEFAULT_TIMEOUT, correctness
from r1cli.rewards.registry import Param, register_reward
from r1cli.rewards.text import per_completion, texts


def _groups(n: int, prompts: Any, per_prompt: bool) -> list[list[int]]:
    """Indices of the completions compared with each other: all of them, or those of one prompt."""
    if not per_prompt or prompts is None or isinstance(prompts, (str, bytes)) or len(prompts) != n:
        return [list(range(n))] if n else []
    groups: dict[str, list[int]] = {}
    for index, prompt in enumerate(prompts):
        groups.setdefault(prompt if isinstance(prompt, str) else repr(prompt), []).append(index)
    return list(groups.values())


@register_reward(
    "len_reward",
    range=(-0.5, 0.5),
    description="open-r1's `length` (Kimi 1.5): 0.5 - (n - min)/(max - min) over the call's completions (characters); "
                "a wrong answer gets at most 0; 0 for all when the lengths are equal.",
    params={
        "per_prompt": Param("Compare lengths among the completions of the same prompt (Kimi 1.5's group) instead of "
                            "the whole call (open-r1)."),
        "timeout": Param("Seconds allowed for each parse and verification.", gt=0),
    },
)
def len_reward(
    completions: list,
    solution: list,
    *,
    per_prompt: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    prompts: list | None = None,
    **kwargs: Any,
) -> list[float]:
    """Kimi 1.5's length reward, as open-r1 computes it.

    With n the completion's length in characters and min/max taken over the completions
    compared (the whole call, as open-r1; or one prompt's with ``per_prompt``),
    λ = 0.5 - (n - min)/(max - min): a correct answer scores λ, a wrong one min(0, λ).
    A completion whose gold cannot be parsed (or whose check timed out) counts as correct,
    as open-r1 does. All completions of equal length score 0. Only completions with λ > 0
    need their answer checked (for the others both cases give λ), so the rest are not parsed.
    """
    items = texts(completions)
    golds = per_completion(solution, "solution", len(items))
    sizes = [len(text) for text in items]
    scores = [0.0] * len(items)
    to_check: list[int] = []
    for group in _groups(len(items), prompts, per_prompt):
        low, high = min(sizes[i] for i in group), max(sizes[i] for i in group)
        if high == low:
            continue
        for i in group:
            scores[i] = 0.5 - (sizes[i] - low) / (high - low)
            if scores[i] > 0:
                to_check.append(i)
    if to_check:
        verdicts = correctness([items[i] for i in to_check], [golds[i] for i in to_check], timeout)
        for i, verdict in zip(to_check, verdicts):
            if verdict is not None and verdict < 1.0:
                scores[i] = 0.0  # min(0, λ) with λ > 0
    return scores
