"""Scoring one batch of completions: every reward called as TRL calls it, and each final answer parsed once.

    batch = score_batch(calc, completions, prompts=..., columns={"solution": golds, ...}, answers=True)
    batch.scores.per_reward, batch.scores.total   # as calc.score computes them
    batch.answers[i]                               # the parsed final answer (math-verify), or None
    batch.answer_texts[i]                          # its text, for reports

The call arguments come from :mod:`r1cli.rewards.calling` (``prompts``, the
dataset columns, ``completion_ids``, ``log_metric``, ``log_extra``), so a
custom reward sees here what it sees in training. With ``answers=True`` (what
``r1 eval`` needs for its majority vote) each completion's parsed answer comes
back too: :func:`r1cli.rewards.math_answers.parse_answer` remembers the parses
the ``accuracy`` reward has just made, so no answer is parsed twice, and the
score stays the reward's own (one definition of "correct").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from r1cli.rewards.calculator import RewardCalculator, RewardScores
from r1cli.rewards.calling import call_arguments


@dataclass
class Batch:
    scores: RewardScores
    answers: list | None = None  # accuracy.Answer or None, per completion
    answer_texts: list[str | None] | None = None


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
    scores = calc.score(completions, **arguments)
    if not answers:
        return Batch(scores)
    from r1cli.rewards.math_answers import DEFAULT_TIMEOUT, parse_answer
    from r1cli.rewards.text import completion_text

    acc = calc.accuracy_name
    timeout = calc.kwargs[calc.names.index(acc)].get("timeout", DEFAULT_TIMEOUT) if acc is not None else DEFAULT_TIMEOUT
    texts = [completion_text(c) for c in completions]
    # The accuracy reward has just parsed these very texts: parse_answer finds its parses remembered.
    parsed = [parse_answer(text, timeout=timeout) for text in texts]
    return Batch(scores, parsed, [_answer_text(a, t) for a, t in zip(parsed, texts)])


def _answer_text(answer: Any, text: str) -> str | None:
    """The answer as shown: the parsed span, else the span located without math-verify (unless refused)."""
    from r1cli.rewards.answer_text import locate_answer, refused

    if answer is not None:
        return answer.text
    span = locate_answer(text)
    return None if span is None or refused(span) else span
