"""Two evaluations on the same items: every metric's difference and a paired bootstrap CI on accuracy."""

from __future__ import annotations

from dataclasses import dataclass

from r1cli.errors import DataError, UsageError
from r1cli.evaluation import metrics as M
from r1cli.evaluation.results import EvalReport


@dataclass
class Comparison:
    a: EvalReport
    b: EvalReport
    accuracy_ci: M.BootstrapCI  # on b - a

    def rows(self) -> dict[str, tuple]:
        """``{metric: (a, b, b - a)}`` for every scalar metric either side has (None where one lacks it)."""
        x, y = self.a.metrics.scalars(), self.b.metrics.scalars()
        out = {}
        for name in [*x, *(n for n in y if n not in x)]:
            va, vb = x.get(name), y.get(name)
            out[name] = (va, vb, None if va is None or vb is None else vb - va)
        return out

    def to_dict(self) -> dict:
        ci = self.accuracy_ci
        return {"a": self.a.to_dict(), "b": self.b.to_dict(),
                "difference": {name: delta for name, (_, _, delta) in self.rows().items()},
                "accuracy_ci": {"difference": ci.difference, "low": ci.low, "high": ci.high,
                                "confidence": ci.confidence, "resamples": ci.resamples, "items": ci.items,
                                "excludes_zero": ci.excludes_zero}}


def compare(a: EvalReport, b: EvalReport, *, resamples: int = 10_000, confidence: float = 0.95, seed: int = 0) -> Comparison:
    """B against A on the same items: every metric's difference and a paired bootstrap CI on accuracy."""
    if len(a.items) != len(b.items) or any(x.gold != y.gold for x, y in zip(a.items, b.items)):
        raise UsageError("the two evaluations are not on the same items", hint="evaluate both on the same data and --limit")
    pairs = [(x, y) for x, y in zip(a.item_accuracies(), b.item_accuracies()) if x is not None and y is not None]
    if not pairs:
        raise DataError("no item could be verified for both models", hint="check the gold column (--solution-column)")
    ci = M.paired_bootstrap([x for x, _ in pairs], [y for _, y in pairs], resamples=resamples, confidence=confidence, seed=seed)
    return Comparison(a, b, ci)
