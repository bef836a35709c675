"""Running statistics over a stream of scores, in constant memory: mean/variance, histogram, correlation, top-N.

Used by :mod:`r1cli.scoring.summary` to fold scored rows into a :class:`~r1cli.scoring.report.ScoreReport`.
"""

from __future__ import annotations

import heapq
import math

from r1cli.scoring.report import RewardSummary


class Histogram:
    """Ten bins over a known range; for an unknown range, bins that double in width as values arrive."""

    BINS = 10

    def __init__(self, bounds: tuple[float, float] | None):
        self.counts = [0] * self.BINS
        self.fixed = bounds is not None and bounds[1] > bounds[0]
        self.lo, self.hi = bounds if self.fixed else (None, None)
        self.pending: list[float] = []

    def add(self, v: float) -> None:
        if not math.isfinite(v):
            return
        if self.lo is None:
            self.pending.append(v)
            if len(self.pending) >= 256:
                self._settle()
            return
        if not self.fixed:
            while v < self.lo or v > self.hi:
                self._grow(v > self.hi)
        self.counts[self._bin(v)] += 1

    def _bin(self, v: float) -> int:
        return min(self.BINS - 1, max(0, int((v - self.lo) / (self.hi - self.lo) * self.BINS)))

    def _settle(self) -> None:
        values, self.pending = self.pending, []
        if not values:
            return
        self.lo, self.hi = min(values), max(values)
        if self.hi == self.lo:
            self.lo, self.hi = self.lo - 0.5, self.hi + 0.5
        for v in values:
            self.counts[self._bin(v)] += 1

    def _grow(self, upward: bool) -> None:
        width = self.hi - self.lo
        merged = [self.counts[i] + self.counts[i + 1] for i in range(0, self.BINS, 2)]
        empty = [0] * (self.BINS - len(merged))
        if upward:
            self.hi = self.lo + 2 * width
            self.counts = merged + empty
        else:
            self.lo = self.hi - 2 * width
            self.counts = empty + merged

    def result(self) -> tuple[list[int], list[float]]:
        if self.lo is None:
            self._settle()
        if self.lo is None:
            return [0] * self.BINS, []
        step = (self.hi - self.lo) / self.BINS
        return list(self.counts), [self.lo + i * step for i in range(self.BINS + 1)]


class Running:
    """Mean and variance (Welford), min, max, zeros and Nones of a stream of values."""

    def __init__(self, name: str, weight: float | None, bounds: tuple[float, float] | None):
        self.name, self.weight = name, weight
        self.n = self.nulls = self.zeros = self.ones = 0
        self.mean = self.m2 = 0.0
        self.lo, self.hi = math.inf, -math.inf
        self.hist = Histogram(bounds)
        self.timeouts = 0

    def add(self, v: float | None) -> None:
        if v is None or math.isnan(v):
            self.nulls += 1
            return
        self.n += 1
        delta = v - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (v - self.mean)
        self.lo, self.hi = min(self.lo, v), max(self.hi, v)
        self.zeros += v == 0
        self.ones += v >= 1.0
        self.hist.add(v)

    def summary(self, corr: float | None) -> RewardSummary:
        counts, edges = self.hist.result()
        return RewardSummary(
            name=self.name,
            weight=self.weight,
            count=self.n,
            nulls=self.nulls,
            zeros=self.zeros,
            mean=self.mean if self.n else None,
            std=math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None,
            min=self.lo if self.n else None,
            max=self.hi if self.n else None,
            histogram=counts,
            edges=edges,
            corr_accuracy=corr,
            timeouts=self.timeouts,
        )


class Correlation:
    """Pearson correlation of a stream of pairs, over pairs where both values exist."""

    def __init__(self) -> None:
        self.n = 0
        self.sx = self.sy = self.sxx = self.syy = self.sxy = 0.0

    def add(self, x: float | None, y: float | None) -> None:
        if x is None or y is None or math.isnan(x) or math.isnan(y):
            return
        self.n += 1
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.syy += y * y
        self.sxy += x * y

    def value(self) -> float | None:
        if self.n < 2:
            return None
        vx = self.n * self.sxx - self.sx**2
        vy = self.n * self.syy - self.sy**2
        if vx <= 1e-12 * max(1.0, self.n * self.sxx) or vy <= 1e-12 * max(1.0, self.n * self.syy):
            return None
        return max(-1.0, min(1.0, (self.n * self.sxy - self.sx * self.sy) / math.sqrt(vx * vy)))


def total_bounds(ranges: dict, weights: list[float]) -> tuple[float, float] | None:
    """The weighted total's possible range, from each reward's range; None when one is unknown."""
    if any(r is None for r in ranges.values()):
        return None
    lo = sum(min(w * r[0], w * r[1]) for r, w in zip(ranges.values(), weights))
    hi = sum(max(w * r[0], w * r[1]) for r, w in zip(ranges.values(), weights))
    # None for one row can drop a negative or positive part: the total can reach 0 too.
    return (min(lo, 0.0), max(hi, 0.0))


def keep_top(heap: list, limit: int, item: tuple) -> None:
    """A min-heap of the ``limit`` largest keys (``item[:2]``): worst uses -total as key, best uses total."""
    if limit <= 0:
        return
    if len(heap) < limit:
        heapq.heappush(heap, item)
    elif item[:2] > heap[0][:2]:
        heapq.heapreplace(heap, item)
