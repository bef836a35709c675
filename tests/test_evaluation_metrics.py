"""pass@k, majority vote and the paired bootstrap against values worked out by hand (r1cli.evaluation.metrics)."""

from __future__ import annotations

import pytest

from r1cli.evaluation.metrics import (
    default_ks,
    item_accuracy,
    majority_correct,
    majority_index,
    mean_pass_at_k,
    paired_bootstrap,
    pass_at_k,
)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 2 / 5),  # pass@1 is the share correct
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (10, 3, 4, 1 - 35 / 210),  # 1 - C(7,4)/C(10,4)
        (4, 0, 2, 0.0),  # nothing correct
        (3, 2, 2, 1.0),  # n - c < k: every pair holds a correct sample
        (5, 2, 5, 1.0),
    ],
)
def test_pass_at_k_matches_the_unbiased_estimator(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 4), (3, 1, 0), (0, 0, 1)])
def test_pass_at_k_refuses_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_default_ks_are_one_powers_of_two_and_n():
    assert default_ks(1) == [1]
    assert default_ks(4) == [1, 2, 4]
    assert default_ks(5) == [1, 2, 4, 5]
    assert default_ks(16) == [1, 2, 4, 8, 16]


def test_mean_pass_at_k_leaves_out_unverifiable_items_and_counts_a_timeout_as_wrong():
    items = [
        [1.0, 0.0, 0.0, 1.0],  # n=4, c=2: pass@2 = 1 - C(2,2)/C(4,2) = 5/6
        [0.0, 0.0, 0.0, 0.0],  # 0
        [None, None, None, None],  # unverifiable gold: left out
        [1.0, None, 0.0, 0.0],  # the None is a timeout: n=4, c=1: 1 - C(3,2)/C(4,2) = 1/2
    ]
    assert mean_pass_at_k(items, 2) == pytest.approx((5 / 6 + 0 + 1 / 2) / 3)
    assert mean_pass_at_k(items, 1) == pytest.approx((2 / 4 + 0 + 1 / 4) / 3)
    assert [item_accuracy(s) for s in items] == [0.5, 0.0, None, 0.25]
    assert mean_pass_at_k([[None, None]], 1) is None


def _same(a, b):
    return a == b


def test_majority_vote_picks_the_largest_group_and_breaks_ties_by_first_appearance():
    assert majority_index(["4", "5", "4", None, "5", "5"], _same) == 1  # "5" x3 beats "4" x2
    assert majority_index(["a", "b", "b", "a"], _same) == 0  # 2-2 tie: the group seen first
    assert majority_index([None, None], _same) is None  # nobody voted
    calls = []

    def counting(a, b):
        calls.append((a, b))
        return a == b

    # With a key, repeated identical answers are grouped without calling `equal` again.
    assert majority_index(["x", "x", "x", "y"], counting, key=lambda a: a) == 0
    assert calls == [("x", "y")]


def test_majority_vote_merges_mathematically_equal_answers():
    from r1cli.rewards.accuracy import answers_equal

    answers = ["2", "0.5", "\\frac{1}{2}", "1/2"]
    # As strings every answer is alone and "2" would win the tie; as numbers 1/2 has three votes.
    assert majority_index(answers, _same) == 0
    assert majority_index(answers, lambda a, b: bool(answers_equal(a, b))) == 1


def test_majority_correct_uses_the_winner_and_treats_no_answer_as_wrong():
    scores = [1.0, 0.0, 0.0]
    assert majority_correct(scores, 0) == 1.0
    assert majority_correct(scores, 1) == 0.0
    assert majority_correct(scores, None) == 0.0
    assert majority_correct([None, None, None], 0) is None


def test_paired_bootstrap_degenerate_cases_are_exact():
    same = paired_bootstrap([0.0, 1.0, 1.0], [0.0, 1.0, 1.0], resamples=200)
    assert (same.difference, same.low, same.high, same.excludes_zero) == (0.0, 0.0, 0.0, False)
    better = paired_bootstrap([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], resamples=200)
    assert (better.difference, better.low, better.high, better.excludes_zero) == (1.0, 1.0, 1.0, True)


def test_paired_bootstrap_interval_matches_the_exact_resampling_distribution():
    # Differences (1, 0, 0): a resample of 3 items has mean 0, 1/3, 2/3, 1 with probabilities
    # 8/27, 12/27, 6/27, 1/27. The 5th percentile is 0; P(mean <= 2/3) = 26/27 = 0.963 >= 0.95,
    # so the 95th percentile is 2/3. 10,000 resamples put both far from a bucket edge.
    ci = paired_bootstrap([0.0, 1.0, 0.0], [1.0, 1.0, 0.0], resamples=10_000, confidence=0.9, seed=0)
    assert ci.difference == pytest.approx(1 / 3)
    assert (ci.low, ci.high) == (0.0, pytest.approx(2 / 3))
    assert not ci.excludes_zero and ci.items == 3 and ci.resamples == 10_000
    # Four items, differences (1, 1, 0, 0): P(mean = 0) = P(mean = 1) = 1/16 > 2.5%, so the 95% CI is [0, 1].
    wide = paired_bootstrap([0, 0, 1, 0], [1, 1, 1, 0], resamples=10_000, seed=3)
    assert (wide.difference, wide.low, wide.high) == (0.5, 0.0, 1.0)


def test_paired_bootstrap_is_reproducible_and_checks_its_input():
    a, b = [0, 1, 0, 1, 0, 0, 1, 0], [1, 1, 0, 1, 1, 0, 1, 1]
    assert paired_bootstrap(a, b, seed=5) == paired_bootstrap(a, b, seed=5)
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 0.0])
    with pytest.raises(ValueError):
        paired_bootstrap([], [])
