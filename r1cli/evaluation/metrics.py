"""Evaluation metrics as pure functions: pass@k, majority vote, paired bootstrap.

``r1 eval`` computes every number it shows through these; they take plain
lists (per-sample scores, extracted answers) so they can be checked against
values worked out by hand::

    pass_at_k(n=5, c=2, k=2)                 # 1 - C(3,2)/C(5,2) = 0.7
    majority_index(["4", "5", "4"], equal)  # 0: the "4" group wins
    paired_bootstrap(acc_a, acc_b, seed=0)  # mean(b - a) and its confidence interval

A per-sample score is 1.0 (correct), 0.0 (wrong) or ``None`` (could not be
verified). An item whose samples are all ``None`` (its gold cannot be parsed)
is *unverifiable* and left out of accuracy, pass@k and maj@k; a ``None`` among
scored samples (a verification that timed out) counts as not correct, so a
timeout never raises a score.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

A = TypeVar("A")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al., 2021): ``1 - C(n-c, k) / C(n, k)``.

    The probability that at least one of ``k`` samples drawn without
    replacement from ``n`` (``c`` of them correct) is correct.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:  # every draw of k must contain a correct sample
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def default_ks(n: int) -> list[int]:
    """The k reported for ``n`` samples per item: 1, the powers of two below n, and n."""
    ks = {1, n}
    k = 2
    while k < n:
        ks.add(k)
        k *= 2
    return sorted(ks)


def correct_count(scores: Sequence[float | None]) -> tuple[int, int] | None:
    """(samples, correct samples) of one item; None if no sample could be verified."""
    if all(s is None for s in scores):
        return None
    return len(scores), sum(1 for s in scores if s is not None and s >= 1.0)


def item_accuracy(scores: Sequence[float | None]) -> float | None:
    """Share of an item's samples that are correct (pass@1 over its K samples); None if unverifiable."""
    counts = correct_count(scores)
    return None if counts is None else counts[1] / counts[0]


def mean_pass_at_k(items: Sequence[Sequence[float | None]], k: int) -> float | None:
    """pass@k averaged over the verifiable items (each needs at least ``k`` samples)."""
    values = []
    for scores in items:
        counts = correct_count(scores)
        if counts is not None:
            values.append(pass_at_k(counts[0], counts[1], k))
    return sum(values) / len(values) if values else None


def majority_index(
    answers: Sequence[A | None],
    equal: Callable[[A, A], bool | None],
    key: Callable[[A], object] | None = None,
) -> int | None:
    """Index of a sample from the largest group of equal answers; None if no sample has an answer.

    Samples without an answer (``None``) do not vote. Answers are grouped by
    ``key`` first (cheap: identical strings need no comparison), then groups
    whose representatives are ``equal`` are merged. A tie goes to the group
    whose first member comes first, so the result is deterministic. ``equal``
    returning None (could not compare) counts as not equal.
    """
    groups: list[list[int]] = []  # sample indices; the first is the group's representative
    by_key: dict[object, int] = {}
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        k = key(answer) if key is not None else None
        if k is not None and k in by_key:
            groups[by_key[k]].append(i)
            continue
        for g, members in enumerate(groups):
            if equal(answers[members[0]], answer):
                groups[g].append(i)
                break
        else:
            g = len(groups)
            groups.append([i])
        if k is not None:
            by_key[k] = g
    if not groups:
        return None
    best = max(range(len(groups)), key=lambda g: (len(groups[g]), -groups[g][0]))
    return groups[best][0]


def majority_correct(scores: Sequence[float | None], winner: int | None) -> float | None:
    """maj@k of one item: 1.0 if the majority answer is correct; None if the item is unverifiable.

    No majority (no sample produced an answer) counts as wrong.
    """
    if correct_count(scores) is None:
        return None
    if winner is None:
        return 0.0
    score = scores[winner]
    return 1.0 if score is not None and score >= 1.0 else 0.0


@dataclass(frozen=True)
class BootstrapCI:
    """Mean paired difference (b - a) with a percentile bootstrap confidence interval."""

    difference: float
    low: float
    high: float
    confidence: float
    resamples: int
    items: int

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies entirely above or below 0: the difference is unlikely to be noise."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Paired bootstrap over items of ``mean(b) - mean(a)``.

    ``a[i]`` and ``b[i]`` are two models' scores on the same item. Each
    resample draws ``len(a)`` items with replacement (the same items for both
    models, which is what makes it paired) and records the mean difference;
    the interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
    percentiles of those means (nearest rank). Reproducible for a ``seed``.
    """
    if len(a) != len(b):
        raise ValueError(f"paired bootstrap needs one score per item from each model, got {len(a)} and {len(b)}")
    if not a:
        raise ValueError("paired bootstrap needs at least one item")
    if resamples < 1 or not 0 < confidence < 1:
        raise ValueError("resamples must be >= 1 and confidence in (0, 1)")
    diffs = [y - x for x, y in zip(a, b)]
    n = len(diffs)
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
    tail = (1.0 - confidence) / 2
    low = means[max(0, math.ceil(tail * resamples) - 1)]
    high = means[min(resamples - 1, math.ceil((1.0 - tail) * resamples) - 1)]
    return BootstrapCI(math.fsum(diffs) / n, low, high, confidence, resamples, n)
