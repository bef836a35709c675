"""``repetition_penalty``: penalise repeated n-grams (open-r1; "Demystifying Long CoT", App. C.2).

Over token ids when ``completion_ids`` are given (as TRL's version does), else
over lower-cased words, where each Chinese character counts as a word (Chinese
has no spaces; open-r1 needs jieba for that, r1 needs nothing).
"""

from __future__ import annotations

from typing import Any, Sequence

from r1cli.rewards.registry import Param, register_reward
from r1cli.rewards.text import texts, words

# n-grams are counted over at most this many units: plenty for any completion,
# and it bounds the work on a hostile megabyte string.
MAX_UNITS = 50_000


def _words(text: str) -> list[str]:
    # Words average well under 16 characters: this slice holds MAX_UNITS words.
    return words(text[: MAX_UNITS * 16])[:MAX_UNITS]


def repeated_share(units: Sequence[Any], ngram_size: int) -> float:
    """1 - distinct n-grams / all n-grams (0.0 when there are fewer units than ``ngram_size``)."""
    units = list(units[:MAX_UNITS])
    if len(units) < ngram_size:
        return 0.0
    ngrams = list(zip(*(units[i:] for i in range(ngram_size))))
    return 1.0 - len(set(ngrams)) / len(ngrams)


@register_reward(
    "repetition_penalty",
    range=lambda p: (p["max_penalty"], 0.0),
    description="Share of repeated n-grams times max_penalty (<= 0): 0 for no repetition, max_penalty for pure repetition.",
    params={
        "ngram_size": Param("Size of the n-grams compared.", ge=1),
        "max_penalty": Param("Score of a completion that is nothing but repetition (must be <= 0).", le=0),
    },
)
def repetition_penalty(
    completions: list, *, ngram_size: int = 3, max_penalty: float = -1.0, completion_ids: list | None = None, **kwargs: Any
) -> list[float]:
    """max_penalty · (1 - distinct n-grams / n-grams), over token ids if given, else words."""
    if completion_ids is not None and len(completion_ids) == len(completions):
        units = [list(ids[:MAX_UNITS]) if ids is not None else _words(text) for ids, text in zip(completion_ids, texts(completions))]
    else:
        units = [_words(text) for text in texts(completions)]
    scores = []
    for unit in units:
        share = repeated_share(unit, ngram_size)
        scores.append(share * max_penalty if share else 0.0)
    return scores
