"""Scoring one batch of completions: every reward called as TRL calls it, and each final answer parsed once.

    batch = score_batch(calc, completions, prompts=..., columns={"solution": golds, ...}, answers=True)
    batch.scores.per_reward, batch.scores.total   # as calc.score computes them
    batch.answers[i]                               # the parsed final answer (math-verify), or None
    batch.answer_texts[i]                          # its text, for reports

The call arguments come from :mod:`r1cli.rewards.calling` (``prompts``, the
dataset columns, ``completion_ids``, ``log_metric``, ``log_extra``), so a
custom reward sees here what it sees in training. With ``answers=True`` (what
``r1 eval`` needs for its majority vote) every completion's answer is parsed
once with :mod:`r1cli.rewards.accuracy`'s public helpers, and when the
verifying reward is the registry's own ``accuracy`` its score is computed from
that parse (:func:`~r1cli.rewards.accuracy.parse_gold`,
:func:`~r1cli.rewards.accuracy.answers_equal`) instead of parsing again. A
custom verifier owns its parsing and is called as it is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from r1cli.rewards.calculator import RewardCalculator, RewardScores
from r1cli.rewards.calling import call_arguments


@dataclass
class Batch:
    scores: RewardScores
    answers: list | None = None  # accuracy.Answer or None, per completion
    answer_texts: list[str | None] | None = None


class _Known:
    """Stands in for a reward whose scores are already computed (calc.score still validates and sums them)."""

    def __init__(self, values: list[float | None]):
        self.values = values

    def __call__(self, completions: Sequence[Any], **columns: Any) -> list[float | None]:
        return self.values


def score_batch(
    calc: RewardCalculator,
    completions: Sequence[Any],
    *,
    prompts: Sequence[Any] | None = None,
    completion_ids: Sequence[Any] | None = None,
    columns: Mapping[str, Sequence[Any]] | None = None,
    answers: bool = False,
) -> Batch:
    """Score ``completions`` with ``calc``; with ``answers``, also each completion's parsed answer (see the module doc)."""
    arguments = call_arguments(completions, prompts=prompts, completion_ids=completion_ids, columns=columns)
    if not answers:
        return Batch(calc.score(completions, **arguments))
    from r1cli.rewards import accuracy as A
    from r1cli.rewards.text import completion_text
    from r1cli.rewards.timeout import timeout_count

    acc = calc.accuracy_name
    index = calc.names.index(acc) if acc is not None else None
    builtin = index is not None and calc.specs[index].func is A.accuracy
    timeout = calc.kwargs[index].get("timeout", A.DEFAULT_TIMEOUT) if builtin else A.DEFAULT_TIMEOUT
    texts = [completion_text(c) for c in completions]
    before = timeout_count()
    parsed, timed_out = [], []
    for text in texts:
        start = timeout_count()
        parsed.append(A.parse_answer(text, timeout=timeout))
        timed_out.append(timeout_count() > start)
    if builtin:
        golds = list((columns or {}).get("solution") or [None] * len(texts))
        values = [_verdict(A, gold, answer, late, timeout) for gold, answer, late in zip(golds, parsed, timed_out)]
        own_timeouts = timeout_count() - before
        quick = copy.copy(calc)
        quick.funcs = [_Known(values) if i == index else f for i, f in enumerate(calc.funcs)]
        scores = quick.score(completions, **arguments)
        scores.timeouts[acc] = scores.timeouts.get(acc, 0) + own_timeouts
    else:
        scores = calc.score(completions, **arguments)
    return Batch(scores, parsed, [_answer_text(a, t) for a, t in zip(parsed, texts)])


def _verdict(A: Any, gold: Any, answer: Any, timed_out: bool, timeout: float | None) -> float | None:
    """The accuracy reward's rule on an already parsed answer: 1.0 / 0.0, None when the gold is unparseable or time ran out."""
    target = A.parse_gold(gold, timeout=timeout)
    if target is None:
        return None
    if answer is None:
        return None if timed_out else 0.0
    same = A.answers_equal(target, answer, timeout=timeout)
    return None if same is None else (1.0 if same else 0.0)


def _answer_text(answer: Any, text: str) -> str | None:
    """The answer as shown: the parsed span, else the span located without math-verify (unless refused)."""
    from r1cli.rewards.answer_text import locate_answer, refused

    if answer is not None:
        return answer.text
    span = locate_answer(text)
    return None if span is None or refused(span) else span
