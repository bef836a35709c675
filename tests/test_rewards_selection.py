"""calculator_for: which rewards a command uses (flags, else the recipe, else the defaults), decided once."""

from __future__ import annotations

import pytest

from r1cli.errors import RewardError
from r1cli.rewards import DEFAULT_REWARDS, calculator_for

RECIPE = {"reward_funcs": ["accuracy", "length"], "reward_weights": [1.0, 0.5],
          "reward_kwargs": {"length": {"target": 40}}}


def test_the_recipe_supplies_rewards_weights_and_parameters():
    calc = calculator_for(RECIPE)
    assert calc.describe() == [("accuracy", 1.0), ("length", 0.5)]
    assert calc.kwargs[1]["target"] == 40


def test_flags_win_their_weights_only_and_matching_parameters_stay():
    calc = calculator_for(RECIPE, names=["format", "length"], weights=[2.0, 1.0])
    assert calc.describe() == [("format", 2.0), ("length", 1.0)]
    assert calc.kwargs[1]["target"] == 40  # the recipe's parameters for a reward the flags chose
    assert calculator_for(RECIPE, names=["format", "length"]).weights == [1.0, 1.0]  # not the recipe's list


def test_recipe_list_with_flag_weights():
    assert calculator_for(RECIPE, weights=[3.0, 0.0]).weights == [3.0, 0.0]
    with pytest.raises(RewardError, match="1 reward weights for 2 rewards"):
        calculator_for(RECIPE, weights=[1.0])


def test_defaults_without_flags_or_recipe():
    assert calculator_for(None).names == list(DEFAULT_REWARDS)
    assert calculator_for({"max_completion_length": 64}).names == list(DEFAULT_REWARDS)


def test_repeated_and_custom_rewards_get_one_metric_name_each(tmp_path):
    (tmp_path / "my_rewards.py").write_text("def brevity(completions, **kwargs):\n    return [1.0 for _ in completions]\n")
    refs = ["accuracy", "length", "length", f"{tmp_path / 'my_rewards.py'}:brevity"]
    calc = calculator_for({"reward_funcs": refs, "reward_weights": [1.0, 0.2, 0.3, 0.5]})
    assert calc.describe() == [("accuracy", 1.0), ("length", 0.2), ("length_2", 0.3), ("brevity", 0.5)]
    assert [f.__name__ for f in calc.funcs] == calc.names  # what TRL logs as rewards/<name>/mean


def test_soft_overlong_punishment_defaults_to_the_generation_budget():
    calc = calculator_for({"reward_funcs": ["soft_overlong_punishment"], "max_completion_length": 512})
    assert calc.kwargs[0]["max_completion_len"] == 512
    own = calculator_for({"reward_funcs": ["soft_overlong_punishment"], "max_completion_length": 512,
                          "reward_kwargs": {"soft_overlong_punishment": {"max_completion_len": 80,
                                                                         "soft_punish_cache": 16}}})
    assert own.kwargs[0]["max_completion_len"] == 80  # a value the recipe sets wins


def test_the_recipe_is_not_modified():
    recipe = {"reward_funcs": ["soft_overlong_punishment"], "max_completion_length": 512, "reward_kwargs": {}}
    calculator_for(recipe)
    assert recipe["reward_kwargs"] == {}
