"""``accuracy``: is the completion's final answer mathematically equal to the gold?

Answer extraction, in order: the content of the last ``<answer>...</answer>``
(its last ``\\boxed{}`` if it has one), else the last ``\\boxed{}`` in the
completion, else a GSM8K-style ``#### N`` final line, else the whole completion
if it is a bare answer (``\\frac{14}{3}``), else math-verify's own final-answer
extraction on the completion's tail. Gold normalisation
(:func:`gold_answer_text`) accepts bare LaTeX answers (MATH-500's ``answer``),
worked solutions ending in ``\\boxed{}`` (MATH's ``solution``), GSM8K answers
ending in ``#### 1,234``, and plain numbers.

Scores are 1.0 / 0.0, and ``None`` when the gold cannot be parsed or the
verification timed out (TRL then leaves the sample out of the mean). Every parse
and comparison runs under :func:`r1cli.rewards.timeout.call_with_time_limit`;
inputs are capped before parsing so hostile completions stay cheap.

Finding the answer is :mod:`r1cli.rewards.answer_text` (string work);
parsing and comparing it is :mod:`r1cli.rewards.math_answers` (math-verify,
imported on first use, each completion's parse remembered so ``r1 eval``'s
majority vote reuses it). Their public helpers are re-exported here for
scripts: :func:`extract_answer`, :func:`parse_gold`, :func:`parse_answer`,
:func:`answers_equal`, :func:`verify_completion`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from r1cli.rewards.answer_text import gold_answer_text, last_boxed, locate_answer
from r1cli.rewards.math_answers import (
    DEFAULT_TIMEOUT,
    Answer,
    answers_equal,
    extract_answer,
    parse_answer,
    parse_gold,
    verify_completion,
)
from r1cli.rewards.registry import Param, register_reward
from r1cli.rewards.text import per_completion, texts
from r1cli.rewards.timeout import timeout_count

__all__ = ["DEFAULT_TIMEOUT", "Answer", "accuracy", "answers_equal", "correctness", "extract_answer",
           "gold_answer_text", "last_boxed", "locate_answer", "parse_answer", "parse_gold", "verify_completion"]


def correctness(completions: Sequence[Any], solution: Any, timeout: float | None) -> list[float | None]:
    """Accuracy per completion, parsing each distinct gold once (GRPO repeats each gold per generation)."""
    items = texts(completions)
    golds = per_completion(solution, "solution", len(items))
    parsed: dict[Any, Answer | None] = {}
    scores: list[float | None] = []
    for text, gold in zip(items, golds):
        key = gold if isinstance(gold, (str, int, float)) else repr(gold)
        if key not in parsed:
            parsed[key] = parse_gold(gold, timeout=timeout)
        answer = parsed[key]
        scores.append(None if answer is None else verify_completion(answer, text, timeout=timeout))
    return scores


@register_reward(
    "accuracy",
    range=(0.0, 1.0),
    description="1.0 if the final answer equals the gold (math-verify), 0.0 if not; None if the gold cannot be parsed or it timed out.",
    params={"timeout": Param("Seconds allowed for each parse and verification.", gt=0)},
    verifies_answers=True,
)
def accuracy(
    completions: list,
    solution: list,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    log_metric: Callable[[str, float], None] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    """Is the final answer mathematically equal to the gold?"""
    before = timeout_count()
    scores = correctness(completions, solution, timeout)
    if log_metric is not None:
        log_metric("accuracy/timeouts", float(timeout_count() - before))
    return scores
