"""TRL's rewards (``trl.rewards``), under TRL's names: ``think_format_reward`` and ``reasoning_accuracy_reward``.

A recipe written for TRL's ``grpo`` script names them as TRL does and gets TRL's meaning.
``reasoning_accuracy_reward`` strips the reasoning as TRL does, then checks the rest with r1's
answer checking (:func:`r1cli.rewards.accuracy.correctness`, the same as ``accuracy``).
"""

from __future__ import annotations

from typing import Any, Callable

from r1cli.rewards.accuracy import DEFAULT_TIMEOUT, correctness
from r1cli.rewards.registry import Param, register_reward
from r1cli.rewards.text import per_completion, texts
from r1cli.rewards.timeout import timeout_count

_OPEN, _CLOSE = "<think>", "</think>"
DEFAULT_DELIMITERS = ("</think>",)


def think_format_ok(text: str) -> bool:
    """TRL's rule: the text starts with <think>, has no second <think>, and closes it with </think>."""
    if not text.startswith(_OPEN):
        return False
    rest = text[len(_OPEN):]
    return _OPEN not in rest and _CLOSE in rest


@register_reward(
    "think_format_reward",
    range=(0.0, 1.0),
    description="TRL's think_format_reward: 1.0 if the completion starts with <think>, opens it once and closes it "
                "with </think> (anything may follow), else 0.0.",
)
def think_format_reward(completions: list, **kwargs: Any) -> list[float]:
    """1.0 when the reasoning is enclosed in one leading <think>...</think> block (empty reasoning counts), else 0.0."""
    return [1.0 if think_format_ok(text) else 0.0 for text in texts(completions)]


def final_part(text: str, delimiters: tuple[str, ...] | list[str]) -> str | None:
    """What follows the last occurrence of the first delimiter present (TRL's order), or None if none is."""
    for delimiter in delimiters:
        if delimiter in text:
            return text.rpartition(delimiter)[2]
    return None


def _check_delimiters(p: dict) -> str | None:
    delimiters = p["reasoning_delimiters"]
    if delimiters is None:
        return None
    if not delimiters:
        return "reasoning_delimiters must name at least one delimiter (or be null for ['</think>'])"
    if not all(isinstance(d, str) and d for d in delimiters):
        return "reasoning_delimiters must be non-empty strings, e.g. ['</think>']"
    return None


@register_reward(
    "reasoning_accuracy_reward",
    range=(0.0, 1.0),
    description="TRL's reasoning_accuracy_reward: accuracy of what follows the reasoning (after the last </think>); "
                "0.0 without the delimiter; None if the gold cannot be parsed.",
    params={
        "reasoning_delimiters": Param("Strings that end the reasoning, tried in order; the answer is read after the "
                                      "last occurrence of the first one present. null: ['</think>']."),
        "timeout": Param("Seconds allowed for each parse and verification.", gt=0),
    },
    validate=_check_delimiters,
    verifies_answers=True,
)
def reasoning_accuracy_reward(
    completions: list,
    solution: list,
    *,
    reasoning_delimiters: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    log_metric: Callable[[str, float], None] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    """Is the final answer, read after the reasoning, equal to the gold?

    As TRL: the reasoning ends at the last occurrence of the first delimiter present (default
    ``</think>``); a completion with none scores 0.0 (unfinished reasoning is wrong, not skipped),
    whatever the gold. An answer given only inside the reasoning does not count. The rest is
    checked exactly as ``accuracy`` checks a completion: 1.0 / 0.0, None when the gold cannot be
    parsed or the check timed out.
    """
    delimiters = tuple(reasoning_delimiters) if reasoning_delimiters else DEFAULT_DELIMITERS
    items = texts(completions)
    golds = per_completion(solution, "solution", len(items))
    answers = [final_part(text, delimiters) for text in items]
    finished = [i for i, answer in enumerate(answers) if answer is not None]
    scores: list[float | None] = [0.0] * len(items)
    before = timeout_count()
    if finished:
        verdicts = correctness([answers[i] for i in finished], [golds[i] for i in finished], timeout)
        for i, verdict in zip(finished, verdicts):
            scores[i] = verdict
    if log_metric is not None and items:
        log_metric("reasoning_accuracy_reward/timeouts", float(timeout_count() - before))
        log_metric("reasoning_accuracy_reward/unfinished_reasoning", (len(items) - len(finished)) / len(items))
    return scores
