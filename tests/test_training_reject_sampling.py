"""Reject-sampling decisions, round plans and bookkeeping, without a model (r1cli.training.reject_sampling)."""

from __future__ import annotations

import math

import pytest

from r1cli.training.reject_sampling import (
    GroupScore,
    Layout,
    choose_winners,
    plan_round,
    run_rounds,
    score_groups,
)


def test_zero_spread_groups_are_rejected():
    scores = score_groups([1, 1, 1, 1, 0, 1, 0, 0], 4)
    assert [s.rejected for s in scores] == [True, False]
    assert scores[0].zero_spread and not scores[1].zero_spread
    assert scores[1].best == 1.0 and scores[1].spread == 1.0 and scores[1].mean == 0.25


def test_threshold_rejects_groups_whose_best_is_below_it():
    scores = score_groups([0.1, 0.4, 1.0, 2.0, 3.0, 3.0], 2, threshold=1.5)
    assert [s.rejected for s in scores] == [True, False, True]  # low best; fine; zero spread though high
    assert [s.zero_spread for s in scores] == [False, False, True]


def test_unscorable_completions_are_ignored_and_an_all_nan_group_is_rejected():
    nan = math.nan
    scores = score_groups([nan, 1.0, 0.0, nan, nan, nan], 3)
    assert not scores[0].rejected and scores[0].spread == 1.0
    assert scores[1].rejected and scores[1].best == -math.inf and math.isnan(scores[1].mean)


def test_rewards_must_split_into_whole_groups():
    with pytest.raises(ValueError):
        score_groups([1.0, 2.0, 3.0], 2)


def test_layout_local_rows_when_groups_straddle_processes():
    layout = Layout(num_processes=2, rows_per_process=3, num_generations=2)  # groups: rows 0-1, 2-3, 4-5
    assert not layout.compact and layout.num_groups == 3
    assert layout.local_rows(1, 0) == [2] and layout.local_rows(1, 1) == [0]
    assert layout.local_rows(2, 0) == [] and layout.local_rows(2, 1) == [1, 2]


def test_compact_plan_regenerates_only_each_process_own_rejected_groups():
    layout = Layout(num_processes=2, rows_per_process=8, num_generations=4)  # slots 0,1 on p0; 2,3 on p1
    p0, p1 = plan_round(layout, [1, 2], 0), plan_round(layout, [1, 2], 1)
    assert p0.candidates == p1.candidates == (1, 2)
    assert [(r.source, r.target, r.group) for r in p0.rows] == [(i, i, 0) for i in range(4, 8)]
    assert [(r.source, r.target, r.group) for r in p1.rows] == [(i, i, 1) for i in range(4)]
    assert p0.rows_per_process == p1.rows_per_process == 4


def test_compact_plan_pads_every_process_to_the_same_width():
    layout = Layout(num_processes=2, rows_per_process=4, num_generations=2)  # slots 0,1 on p0; 2,3 on p1
    p0, p1 = plan_round(layout, [0, 1, 3], 0), plan_round(layout, [0, 1, 3], 1)
    # p1 has one rejected group, p0 two: p1 regenerates its group twice (a second chance), same batch size.
    assert p0.candidates == p1.candidates == (0, 1, 3, 3)
    assert len(p0.rows) == len(p1.rows) == 4
    assert [r.target for r in p1.rows] == [2, 3, 2, 3]
    # A process with nothing rejected regenerates a throw-away padding group, so collectives still match.
    only_p0 = plan_round(layout, [0], 1)
    assert only_p0.candidates == (0, None)
    assert [r.target for r in only_p0.rows] == [None, None] and [r.source for r in only_p0.rows] == [0, 1]


def test_straddling_plan_keeps_the_layout_and_targets_only_rejected_slots():
    layout = Layout(num_processes=2, rows_per_process=3, num_generations=2)
    p0, p1 = plan_round(layout, [1], 0), plan_round(layout, [1], 1)
    assert p0.candidates == p1.candidates == (None, 1, None)
    assert [r.target for r in p0.rows] == [None, None, 2]
    assert [r.target for r in p1.rows] == [0, None, None]
    assert [r.group for r in p1.rows] == [1, 2, 2]


def test_no_plan_when_nothing_is_rejected():
    assert plan_round(Layout(1, 8, 4), [], 0) is None


def _score(best, spread, rejected):
    return GroupScore(best=best, mean=best, spread=spread, zero_spread=spread == 0, rejected=rejected)


def test_accepted_candidate_wins_and_keep_best_upgrades_rejected_slots():
    current = {0: _score(0, 0, True), 1: _score(0, 0, True), 2: _score(1, 1, False)}
    candidates = [0, 0, 1]
    scores = [_score(0.5, 0, True), _score(2, 1, False), _score(0.2, 0.2, True)]
    assert choose_winners(current, candidates, scores, keep_best=False) == {0: 1}
    # keep_best: slot 1's candidate has spread, which beats the zero-spread group it holds.
    assert choose_winners(current, candidates, scores, keep_best=True) == {0: 1, 1: 2}
    # Never replaces an accepted slot, and never a rejected one with something worse.
    worse = [_score(-1, 0, True), _score(-1, 0, True), _score(-1, 0, True)]
    assert choose_winners(current, [0, 1, 2], worse, keep_best=True) == {}


def _simulate(layout, first_totals, world, **options):
    """Run run_rounds on every simulated process against the same gathered rewards; return stats and batches."""
    results = []
    for process in range(layout.num_processes):
        batch = [f"r0:{process * layout.rows_per_process + i}" for i in range(layout.rows_per_process)]
        rounds: list = []

        def run_round(round_index, plan, rounds=rounds):
            rounds.append(plan)
            return world(round_index, plan.candidates)

        def splice(plan, winners, batch=batch, rounds=rounds):
            for row in plan.rows:
                if row.target is not None and winners.get(plan.candidates[row.group]) == row.group:
                    batch[row.target] = f"r{len(rounds)}:g{row.group}"

        stats = run_rounds(first_totals, layout, process, run_round=run_round, splice=splice, **options)
        results.append((stats, batch, rounds))
    return results


def test_every_process_reaches_the_same_decisions_and_round_count():
    layout = Layout(num_processes=2, rows_per_process=4, num_generations=2)
    first = [1, 1, 0, 1, 2, 2, 3, 3]  # slot 0 and slots 2, 3 zero-spread

    def world(round_index, candidates):
        # Round 0: only the group regenerated for slot 3 gets spread; round 1: everything does.
        totals = []
        for slot in candidates:
            good = round_index >= 1 or slot == 3
            totals += [0.0, 1.0] if good else [5.0, 5.0]
        return totals

    results = _simulate(layout, first, world, max_rounds=4)
    stats = [r[0] for r in results]
    summary = [(s.rounds, s.rejected_initial, s.recovered, s.still_rejected, s.extra_completions) for s in stats]
    assert summary[0] == summary[1] == (2, 3, 3, 0, 12)
    assert [r[2][0].candidates for r in results] == [(0, 0, 2, 3)] * 2  # round 0: p1 has two rejected, p0 pads
    assert stats[0].zero_spread_initial == 3 and stats[0].zero_spread_final == 0
    # Round 0 rescues slot 3; "keep" also upgrades slots 0 and 2 to better (still rejected) groups;
    # round 1 rescues slots 0 and 2; then nothing is left and the loop stops.
    assert results[0][1] == ["r2:g0", "r2:g0", "r0:2", "r0:3"]
    assert results[1][1] == ["r2:g1", "r2:g1", "r1:g3", "r1:g3"]


def test_nothing_can_be_rescued_the_run_still_ends_after_max_rounds():
    layout = Layout(num_processes=1, rows_per_process=8, num_generations=4)
    results = _simulate(layout, [1.0] * 8, lambda r, c: [1.0] * (4 * len(c)), max_rounds=3, fallback="mask")
    stats, batch, rounds = results[0]
    assert stats.rounds == 3 and len(rounds) == 3
    assert stats.still_rejected == 2 and stats.still_rejected_slots == [0, 1] and stats.recovered == 0
    assert stats.extra_completions == 3 * 8
    assert batch == [f"r0:{i}" for i in range(8)]  # mask fallback: nothing spliced
    metrics = stats.as_metrics()
    assert metrics["reject_sampling/zero_spread_frac_before"] == metrics["reject_sampling/zero_spread_frac_after"] == 1.0


def test_keep_fallback_holds_the_best_rejected_group_seen():
    layout = Layout(num_processes=1, rows_per_process=4, num_generations=2)
    # With a threshold of 10 nothing is ever accepted; round 1's group for slot 0 has spread and the best top.
    worlds = {0: [0.0, 0.0, 1.0, 1.0], 1: [2.0, 3.0, 0.0, 0.0], 2: [1.0, 1.0, 0.5, 0.5]}
    results = _simulate(layout, [0.0, 0.0, 1.0, 1.0], lambda r, c: worlds[r], max_rounds=3, threshold=10.0)
    stats, batch, _ = results[0]
    assert stats.still_rejected == 2 and stats.recovered == 0
    assert batch[:2] == ["r2:g0", "r2:g0"]  # the round-1 group (with spread) replaced the zero-spread one
    assert batch[2:] == ["r0:2", "r0:3"]  # nothing better than the original ever came for slot 1
    assert stats.zero_spread_final == 1


def test_zero_rounds_only_judges_the_batch():
    stats = _simulate(Layout(1, 4, 2), [0.0, 0.0, 0.0, 1.0], lambda r, c: [], max_rounds=0)[0][0]
    assert stats.rounds == 0 and stats.rejected_initial == 1 and stats.still_rejected_slots == [0]
    assert stats.reward_mean_before == stats.reward_mean_after == 0.25


def test_unknown_fallback_is_refused():
    with pytest.raises(ValueError):
        run_rounds([0.0, 1.0], Layout(1, 2, 2), 0, max_rounds=1, fallback="drop", run_round=None, splice=None)
