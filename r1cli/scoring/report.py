"""What ``r1 score`` returns: :class:`ScoreReport` and its parts, plain dataclasses (``r1cli.ui.score_view`` draws them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from r1cli.rewards.calculator import NO_VERIFIER


@dataclass
class RewardSummary:
    """Statistics of one reward (or of the weighted total) over the scored rows."""

    name: str
    weight: float | None
    count: int  # rows with a value (not None)
    nulls: int
    zeros: int
    mean: float | None
    std: float | None  # sample std (Bessel), as TRL logs reward_std
    min: float | None
    max: float | None
    histogram: list[int]
    edges: list[float]
    corr_accuracy: float | None = None
    timeouts: int = 0

    @property
    def zero_share(self) -> float | None:
        return self.zeros / self.count if self.count else None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["zero_share"] = self.zero_share
        return out


@dataclass
class AccuracySummary:
    """Accuracy as the verifying reward (``calc.accuracy_name``) measures it: rows scoring 1.0 among verifiable rows."""

    reward: str
    correct: int
    verifiable: int  # rows whose answer could be verified (a score, not None)
    unverified: int  # rows left out: unparseable gold, or a verification that timed out

    @property
    def share(self) -> float | None:
        return self.correct / self.verifiable if self.verifiable else None

    def to_dict(self) -> dict:
        return {**asdict(self), "accuracy": self.share}


@dataclass
class Example:
    line: int
    total: float
    rewards: dict[str, float | None]
    completion: str
    solution: str | None


@dataclass
class Flag:
    code: str
    message: str
    rows: int = 0


@dataclass
class ScoreReport:
    path: str
    rows: int
    rewards: dict[str, RewardSummary]
    total: RewardSummary
    completion_column: str
    solution_column: str | None
    workers: int
    seconds: float
    accuracy: AccuracySummary | None = None  # None: no reward verifies answers
    skipped: int = 0
    skipped_lines: list[int] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    worst: list[Example] = field(default_factory=list)
    best: list[Example] = field(default_factory=list)
    output: str | None = None
    peak_memory_mb: dict[str, float] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        """The ``--json`` summary: ``rows``, ``rewards: {name: {mean, std, min, max, zeros, nulls, ...}}``, ``reward``,
        ``accuracy`` (``{"reward": null, "note": ...}`` when no reward verifies answers)."""
        return {
            "file": self.path,
            "rows": self.rows,
            "skipped": self.skipped,
            "skipped_lines": self.skipped_lines,
            "rewards": {name: s.to_dict() for name, s in self.rewards.items()},
            "reward": self.total.to_dict(),
            "accuracy": self.accuracy.to_dict() if self.accuracy is not None else {"reward": None, "note": NO_VERIFIER},
            "flags": [asdict(f) for f in self.flags],
            "worst": [asdict(e) for e in self.worst],
            "best": [asdict(e) for e in self.best],
            "completion_column": self.completion_column,
            "solution_column": self.solution_column,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "rows_per_s": round(self.rows_per_s, 1),
            "output": self.output,
            "peak_memory_mb": self.peak_memory_mb,
        }
