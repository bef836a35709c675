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

A non-finite value (NaN, +-inf, beyond +-1e9) is left out like None (the rule of
:mod:`r1cli.rewards.calling`); the first batch in a process that has one says so
once per reward, on stderr (``r1cli.rewards`` log), so a file of NaNs never
passes for a file of Nones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from r1cli.rewards.calculator import RewardCalculator, RewardScores
from r1cli.rewards.calling import call_arguments


@dataclass
class Batch:
    scores: RewardScores
    answers: list | None = None  # accuracy.Answer or None, per completion
    answer_texts: list[str | None] | None = None
    timeout: float | None = None  # the time limit answers were parsed under (majority votes compare under it too)


# With answers=True, completions are scored in slices no larger than this, so every parse the accuracy
# reward makes is still remembered (math_answers keeps the last 2,048) when the answer is asked for.
ANSWER_SLICE = 1_024

_warned_nonfinite: set[str] = set()  # rewards already said to return non-finite values, in this process


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
    batch = _score_batch(calc, completions, prompts=prompts, completion_ids=completion_ids, columns=columns,
                         answers=answers)
    for name, count in batch.scores.nonfinite.items():
        if count and name not in _warned_nonfinite:
            _warned_nonfinite.add(name)
            logging.getLogger("r1cli.rewards").warning(
                "warning: reward %r returned NaN, inf or a value beyond +-1e9 for %d of %d rows of a batch; "
                "such values are left out, like None", name, count, len(completions))
    return batch


def _score_batch(calc: RewardCalculator, completions: Sequence[Any], *, prompts, completion_ids, columns,
                 answers: bool) -> Batch:
    if not answers:
        arguments = call_arguments(completions, prompts=prompts, completion_ids=completion_ids, columns=columns)
        return Batch(calc.score(completions, **arguments))
    from r1cli.rewards.math_answers import parse_answer
    from r1cli.rewards.text import completion_text

    timeout = answer_timeout(calc)
    parts: list[RewardScores] = []
    parsed: list = []
    texts: list[str] = []
    for start in range(0, len(completions), ANSWER_SLICE):
        window = slice(start, start + ANSWER_SLICE)
        part = completions[window]
        arguments = call_arguments(
            part, prompts=None if prompts is None else prompts[window],
            completion_ids=None if completion_ids is None else completion_ids[window],
            columns={name: values[window] for name, values in (columns or {}).items()})
        parts.append(calc.score(part, **arguments))
        # The accuracy reward has just parsed these very texts: parse_answer finds its parses remembered.
        part_texts = [completion_text(c) for c in part]
        parsed += [parse_answer(text, timeout=timeout) for text in part_texts]
        texts += part_texts
    scores = RewardScores.concat(parts) if parts else calc.score([])
    return Batch(scores, parsed, [_answer_text(a, t) for a, t in zip(parsed, texts)], timeout)


def answer_timeout(calc: RewardCalculator) -> float:
    """The time limit for parsing and comparing answers: the answer-verifying reward's own ``timeout``."""
    from r1cli.rewards.math_answers import DEFAULT_TIMEOUT

    acc = calc.accuracy_name
    return calc.kwargs[calc.names.index(acc)].get("timeout", DEFAULT_TIMEOUT) if acc is not None else DEFAULT_TIMEOUT


def _answer_text(answer: Any, text: str) -> str | None:
    """The answer as shown: the parsed span, else the span located without math-verify (unless refused)."""
    from r1cli.rewards.answer_text import locate_answer, refused

    if answer is not None:
        return answer.text
    span = locate_answer(text)
    return None if span is None or refused(span) else span
