"""get_reward_calculator: unique metric names, bound parameters, TRL's calling convention and weighted sum."""

from __future__ import annotations

import math

import pytest

from r1cli.errors import RewardError
from r1cli.rewards import REWARD_FUNCS_REGISTRY, RewardScores, get_reward_calculator
from r1cli.rewards.calculator import weighted_total

GOOD = "<think>\nadd\nthem\n</think>\n<answer>\\boxed{4}</answer>"


def test_names_weights_and_trl_ready_funcs():
    calc = get_reward_calculator(["accuracy", "length", "length"], reward_weights=[2, 0.5, 0.25],
                                 reward_kwargs={"length": {"sigma": 10}, "length_2": {"target": 5}})
    assert calc.names == ["accuracy", "length", "length_2"]
    assert calc.weights == [2.0, 0.5, 0.25]
    assert [f.__name__ for f in calc.funcs] == calc.names
    # the plain name applies to every copy; the metric name to one copy, and wins
    assert calc.kwargs[1] == {"target": 300.0, "sigma": 10}
    assert calc.kwargs[2] == {"target": 5, "sigma": 10}
    assert calc.columns == {"solution"}


def test_funcs_take_what_trl_passes():
    calc = get_reward_calculator(["accuracy", "format"])
    metrics, extra = {}, {}
    for func in calc.funcs:
        out = func(
            prompts=[[{"role": "user", "content": "2+2?"}]] * 2,
            completions=[[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": "5"}]],
            completion_ids=[[1, 2, 3], [4]],
            solution=["4", "4"],
            level=[1, 1],  # any other dataset column
            trainer_state=object(),
            log_metric=metrics.__setitem__,
            log_extra=extra.__setitem__,
        )
        assert len(out) == 2
    assert metrics == {"accuracy/timeouts": 0.0}


def test_score_per_reward_and_total():
    calc = get_reward_calculator(["accuracy", "format", "tag_count"], reward_weights=[1.0, 0.5, 0.25])
    scores = calc.score([GOOD, "<answer>5</answer>", GOOD], solution=["4", "4", "no gold here, sorry"])
    assert isinstance(scores, RewardScores)
    assert scores.per_reward["accuracy"] == [1.0, 0.0, None]
    assert scores.per_reward["format"] == [1.0, pytest.approx(0.2), 1.0]
    assert scores.per_reward["tag_count"] == [1.0, 0.5, 1.0]
    # 1 + 0.5 + 0.25; 0 + 0.1 + 0.125; None contributes nothing: 0.5 + 0.25
    assert scores.total == pytest.approx([1.75, 0.225, 0.75])
    assert scores.timeouts == {"accuracy": 0, "format": 0, "tag_count": 0}
    assert scores.row(1) == {"accuracy": 0.0, "format": pytest.approx(0.2), "tag_count": 0.5}


def test_weighted_total_matches_trl_nansum():
    rows = [[1.0, None, 0.5], [None, None, None], [0.0, -1.0, None], [0.25, 0.5, 1.0]]
    weights = [1.0, 2.0, 3.0]
    ours = [weighted_total(r, weights) for r in rows]
    assert ours[0] == 2.5 and math.isnan(ours[1]) and ours[2] == -2.0 and ours[3] == 4.25
    torch = pytest.importorskip("torch")
    # TRL: None -> NaN, (rewards_per_func * weights).nansum(dim=1), rows with every value NaN -> NaN
    per_func = torch.tensor([[math.nan if v is None else v for v in r] for r in rows], dtype=torch.float32)
    trl = (per_func * torch.tensor(weights).unsqueeze(0)).nansum(dim=1)
    trl[torch.isnan(per_func).all(dim=1)] = math.nan
    for a, b in zip(ours, trl.tolist()):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


def test_bad_inputs_are_reward_errors():
    with pytest.raises(RewardError, match="2 reward weights for 3 rewards"):
        get_reward_calculator(["accuracy", "format", "tag_count"], reward_weights=[1, 2])
    with pytest.raises(RewardError, match="reward_kwargs names 'lenght'"):
        get_reward_calculator(["length"], reward_kwargs={"lenght": {"target": 1}})
    with pytest.raises(RewardError, match="parameter 'sigma' must be > 0"):
        get_reward_calculator(["length"], reward_kwargs={"length": {"sigma": -1}})
    with pytest.raises(RewardError, match="no rewards given"):
        get_reward_calculator([])
    with pytest.raises(RewardError, match="not a number"):
        get_reward_calculator(["format"], reward_weights=["x"])


def test_a_reward_returning_the_wrong_count_is_caught():
    def broken(completions, **kwargs):
        return [1.0]

    REWARD_FUNCS_REGISTRY["test_broken"] = broken
    try:
        with pytest.raises(RewardError, match="returned 1 values for 2 completions"):
            get_reward_calculator(["test_broken"]).score(["a", "b"])
    finally:
        del REWARD_FUNCS_REGISTRY["test_broken"]


def test_nan_from_a_reward_counts_as_none():
    def half_nan(completions, **kwargs):
        return [math.nan, 1.0][: len(completions)]

    REWARD_FUNCS_REGISTRY["test_nan"] = half_nan
    try:
        scores = get_reward_calculator(["test_nan"]).score(["a", "b"])
        assert scores.per_reward["test_nan"] == [None, 1.0]
        assert math.isnan(scores.total[0]) and scores.total[1] == 1.0
    finally:
        del REWARD_FUNCS_REGISTRY["test_nan"]


def test_bound_parameters_win_over_a_same_named_column():
    calc = get_reward_calculator(["length"], reward_kwargs={"length": {"target": 3, "sigma": 1}})
    assert calc.score(["abc"], target=["a dataset column"]).per_reward["length"] == [1.0]


# --- one rule for "which reward is accuracy" -------------------------------------------------


def test_accuracy_is_the_reward_that_verifies_answers_and_nothing_else():
    from r1cli.rewards import get_reward_calculator

    assert get_reward_calculator(["format", "accuracy", "length"]).accuracy_name == "accuracy"
    # No reward verifies answers: nothing is relabelled as accuracy (not the first, not a name match).
    assert get_reward_calculator(["format", "length"]).accuracy_name is None


def test_a_custom_verifier_is_accuracy_by_its_registration_not_its_name(clean_registry):
    from r1cli.rewards import get_reward_calculator, register_reward

    @register_reward("exact_match", range=(0.0, 1.0), verifies_answers=True)
    def exact_match(completions, solution, **kwargs):
        return [1.0 if c == s else 0.0 for c, s in zip(completions, solution)]

    @register_reward("accuracy_like_name", range=(0.0, 1.0))
    def accuracy_like_name(completions, **kwargs):
        return [0.5 for _ in completions]

    calc = get_reward_calculator(["accuracy_like_name", "exact_match"])
    assert calc.accuracy_name == "exact_match"


def test_with_verifier_adds_accuracy_at_weight_zero_only_when_none_verifies():
    from r1cli.rewards import get_reward_calculator

    calc = get_reward_calculator(["format", "length"], [1.0, 0.5])
    measured = calc.with_verifier()
    assert measured.describe() == [("accuracy", 0.0), ("format", 1.0), ("length", 0.5)]
    assert measured.accuracy_name == "accuracy"
    scores = measured.score(["<think>a</think><answer>4</answer>"], solution=["4"])
    assert scores.total == calc.score(["<think>a</think><answer>4</answer>"], solution=["4"]).total  # total unchanged
    already = get_reward_calculator(["accuracy", "format"])
    assert already.with_verifier() is already
