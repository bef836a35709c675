"""Reject sampling for GRPO, as pure logic: which groups to reject, what to regenerate, what to keep.

GRPO learns nothing from a group of ``num_generations`` completions whose total
rewards are all equal: every advantage is zero. This module decides, from the
per-completion total rewards of one generation batch, which groups ("slots")
are rejected, plans the regeneration rounds, picks the replacement groups and
keeps the statistics. ``EnhancedGRPOTrainer`` (``grpo_trainer.py``) supplies
the two model-dependent steps as callbacks: generating and scoring a round,
and splicing chosen groups into the batch. No torch here, so the logic is
tested without a model.

Layout (TRL's ``RepeatSampler``): the global generation batch is the
concatenation of every process's local batch, ``rows_per_process`` rows each,
and group ``s`` is global rows ``s*G .. s*G+G-1``. Rewards are gathered before
advantages are computed, so every process sees the same totals and makes the
same decisions; every plan below is a pure function of them, so every process
runs the same number of rounds with the same batch size (no deadlock).

Rounds: when every group lies inside one process (``rows_per_process % G == 0``)
a round regenerates only rejected groups: each process regenerates its own
rejected groups, cycled to the largest count any process has (extra copies are
extra chances; a process with none regenerates a padding group that is thrown
away). Otherwise (a group straddles processes) a round regenerates the whole
batch in the same layout and only rejected slots take the new groups.

Fallback when rounds run out (``fallback``):
- ``"keep"``: each still-rejected slot keeps the best group seen (one with
  spread over one without, then the higher best reward); a zero-spread group
  contributes no policy gradient anyway, exactly as in plain TRL.
- ``"mask"``: still-rejected groups are dropped from the loss (the trainer zeroes
  their advantages and completion masks).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

# The modes and fallbacks are reject sampling's settings, listed once in r1cli.config.features.
from r1cli.config.features import REJECT_SAMPLING_FALLBACKS as FALLBACKS
from r1cli.config.features import REJECT_SAMPLING_MODES as MODES  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class GroupScore:
    """The verdict on one group of completions."""

    best: float  # highest total reward (-inf when every completion is unscorable)
    mean: float  # mean total reward (NaN when every completion is unscorable)
    spread: float  # max - min of the total rewards (NaN rewards ignored)
    zero_spread: bool
    rejected: bool

    def rank(self) -> tuple:
        """Sort key: accepted first, then groups with spread, then higher best reward, then wider spread."""
        return (not self.rejected, not self.zero_spread, self.best, self.spread)


def score_groups(
    totals: Sequence[float], num_generations: int, *, threshold: float | None = None, atol: float = 1e-6
) -> list[GroupScore]:
    """Judge consecutive groups of ``num_generations`` total rewards.

    A group is rejected when its rewards have zero spread (within ``atol``) or,
    with ``threshold`` set, when its best reward is below ``threshold``.
    """
    if num_generations < 1 or len(totals) % num_generations:
        raise ValueError(f"{len(totals)} rewards do not split into groups of {num_generations}")
    scores = []
    for start in range(0, len(totals), num_generations):
        valid = [float(v) for v in totals[start : start + num_generations] if not math.isnan(float(v))]
        best = max(valid) if valid else -math.inf
        mean = sum(valid) / len(valid) if valid else math.nan
        spread = max(valid) - min(valid) if valid else 0.0
        zero = spread <= atol
        below = threshold is not None and best < threshold
        scores.append(GroupScore(best=best, mean=mean, spread=spread, zero_spread=zero, rejected=zero or below))
    return scores


@dataclass(frozen=True)
class Layout:
    """How the global generation batch is split over processes."""

    num_processes: int
    rows_per_process: int
    num_generations: int

    def __post_init__(self):
        if (self.num_processes * self.rows_per_process) % self.num_generations:
            raise ValueError("the global batch is not a whole number of groups")

    @property
    def num_groups(self) -> int:
        return self.num_processes * self.rows_per_process // self.num_generations

    @property
    def compact(self) -> bool:
        """True when no group straddles two processes, so rounds can regenerate rejected groups only."""
        return self.rows_per_process % self.num_generations == 0

    def local_rows(self, slot: int, process: int) -> list[int]:
        """Local row indices, on ``process``, of the completions of group ``slot``."""
        first = process * self.rows_per_process
        rows = range(slot * self.num_generations, (slot + 1) * self.num_generations)
        return [r - first for r in rows if first <= r < first + self.rows_per_process]


@dataclass(frozen=True)
class PlannedRow:
    """One row of a round's local batch."""

    source: int  # local row of the original batch whose prompt this row regenerates (resample)
    target: int | None  # local row of the batch it replaces if its group wins; None for padding
    group: int  # index of its group in the round's global batch


@dataclass(frozen=True)
class RoundPlan:
    candidates: tuple[int | None, ...]  # per group of the round's global batch: the slot it may replace
    rows: tuple[PlannedRow, ...]  # this process's local rows of the round
    rows_per_process: int


def plan_round(layout: Layout, rejected: Sequence[int], process: int) -> RoundPlan | None:
    """The next round for ``process``, or None when nothing is rejected. Identical decisions on every process."""
    rejected = sorted(set(rejected))
    if not rejected:
        return None
    G = layout.num_generations
    if not layout.compact:
        # Same layout as the original batch: row r regenerates row r; only rejected slots may be replaced.
        wanted = set(rejected)
        first = process * layout.rows_per_process
        rows = []
        for r in range(layout.rows_per_process):
            slot = (first + r) // G
            rows.append(PlannedRow(source=r, target=r if slot in wanted else None, group=slot))
        candidates = tuple(s if s in wanted else None for s in range(layout.num_groups))
        return RoundPlan(candidates, tuple(rows), layout.rows_per_process)

    per_process = layout.rows_per_process // G
    own = [[s for s in rejected if q * per_process <= s < (q + 1) * per_process] for q in range(layout.num_processes)]
    width = max(len(slots) for slots in own)
    candidates: list[int | None] = []
    for slots in own:
        candidates.extend(slots[k % len(slots)] if slots else None for k in range(width))
    rows = []
    for k in range(width):
        group = process * width + k
        slot = candidates[group]
        local_group = (slot if slot is not None else process * per_process) - process * per_process
        for i in range(G):
            source = local_group * G + i
            rows.append(PlannedRow(source=source, target=source if slot is not None else None, group=group))
    return RoundPlan(tuple(candidates), tuple(rows), width * G)


def choose_winners(
    current: dict[int, GroupScore], candidates: Sequence[int | None], scores: Sequence[GroupScore], *, keep_best: bool
) -> dict[int, int]:
    """Slot -> winning group of this round, for slots still rejected in ``current``.

    An accepted candidate always wins. With ``keep_best``, a rejected candidate
    that ranks above what the slot holds also wins (so the slot ends with the
    best group seen). Ties go to the earliest candidate.
    """
    best: dict[int, int] = {}
    for group, slot in enumerate(candidates):
        if slot is None or not current[slot].rejected:
            continue
        if slot not in best or scores[group].rank() > scores[best[slot]].rank():
            best[slot] = group
    return {
        slot: group
        for slot, group in best.items()
        if not scores[group].rejected or (keep_best and scores[group].rank() > current[slot].rank())
    }


@dataclass
class RejectStats:
    """What reject sampling did to one generation batch (global counts, the same on every process)."""

    groups_total: int = 0
    rejected_initial: int = 0
    zero_spread_initial: int = 0
    recovered: int = 0  # rejected slots that ended with an accepted group (rescued or replaced)
    still_rejected: int = 0
    zero_spread_final: int = 0
    rounds: int = 0
    extra_completions: int = 0
    seconds: float = 0.0
    reward_mean_before: float = math.nan  # mean total reward of the batch as first generated
    reward_mean_after: float = math.nan  # ... and of the batch that reaches the loss
    still_rejected_slots: list[int] = field(default_factory=list)

    def as_metrics(self, prefix: str = "reject_sampling/") -> dict[str, float]:
        total = max(self.groups_total, 1)
        return {
            f"{prefix}groups_total": float(self.groups_total),
            f"{prefix}rejected_initial": float(self.rejected_initial),
            f"{prefix}recovered": float(self.recovered),
            f"{prefix}still_rejected": float(self.still_rejected),
            f"{prefix}extra_completions": float(self.extra_completions),
            f"{prefix}rounds": float(self.rounds),
            f"{prefix}seconds": self.seconds,
            f"{prefix}zero_spread_frac_before": self.zero_spread_initial / total,
            f"{prefix}zero_spread_frac_after": self.zero_spread_final / total,
            f"{prefix}reward_mean_before": self.reward_mean_before,
            f"{prefix}reward_mean_after": self.reward_mean_after,
        }


def run_rounds(
    first_totals: Sequence[float],
    layout: Layout,
    process: int,
    *,
    max_rounds: int,
    fallback: str = "keep",
    threshold: float | None = None,
    run_round: Callable[[int, RoundPlan], Sequence[float]],
    splice: Callable[[RoundPlan, dict[int, int]], None],
) -> RejectStats:
    """Judge the first batch, then regenerate rejected groups for up to ``max_rounds`` rounds.

    ``run_round(round_index, plan)`` generates and scores the plan's local rows
    and returns the round's gathered total rewards (every process's rows).
    ``splice(plan, winners)`` copies the winning groups' rows over their targets.
    Returns the statistics; ``still_rejected_slots`` is what the fallback applies to.
    """
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    G = layout.num_generations
    current = dict(enumerate(score_groups(first_totals, G, threshold=threshold)))
    stats = RejectStats(groups_total=len(current))
    stats.rejected_initial = sum(s.rejected for s in current.values())
    stats.zero_spread_initial = sum(s.zero_spread for s in current.values())
    stats.reward_mean_before = _mean_of_means(current.values())
    initially_rejected = {slot for slot, s in current.items() if s.rejected}
    start = time.perf_counter()
    for round_index in range(max_rounds):
        plan = plan_round(layout, [slot for slot, s in current.items() if s.rejected], process)
        if plan is None:
            break
        totals = run_round(round_index, plan)
        stats.rounds += 1
        stats.extra_completions += len(totals)
        scores = score_groups(totals, G, threshold=threshold)
        winners = choose_winners(current, plan.candidates, scores, keep_best=fallback == "keep")
        if winners:
            splice(plan, winners)
            for slot, group in winners.items():
                current[slot] = scores[group]
    stats.seconds = time.perf_counter() - start
    stats.still_rejected_slots = sorted(slot for slot, s in current.items() if s.rejected)
    stats.still_rejected = len(stats.still_rejected_slots)
    stats.recovered = sum(not current[slot].rejected for slot in initially_rejected)
    stats.zero_spread_final = sum(s.zero_spread for s in current.values())
    stats.reward_mean_after = _mean_of_means(current.values())
    return stats


def _mean_of_means(scores) -> float:
    # Mean of the group means: the batch mean when every completion is scorable.
    means = [s.mean for s in scores if not math.isnan(s.mean)]
    return sum(means) / len(means) if means else math.nan
