"""choose_rewards: how `r1 score` and `r1 eval` combine --rewards/--weights with a recipe."""

from __future__ import annotations

import pytest

from r1cli.config.recipe import choose_rewards
from r1cli.errors import UsageError

RECIPE = ("model_name_or_path: a/b\ndataset_name: c/d\nnum_generations: 4\nper_device_train_batch_size: 8\n"
          "reward_funcs: [accuracy, length]\nreward_weights: [1.0, 0.5]\nreward_kwargs:\n  length: {target: 40}\n")


def test_recipe_supplies_rewards_weights_and_parameters(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE)
    choice = choose_rewards(path, None, None, None)
    assert (choice.names, choice.weights, choice.kwargs) == (["accuracy", "length"], [1.0, 0.5], {"length": {"target": 40}})


def test_flags_win_and_keep_only_matching_parameters(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE)
    choice = choose_rewards(path, None, ["format", "length"], [2.0, 1.0])
    assert (choice.names, choice.weights, choice.kwargs) == (["format", "length"], [2.0, 1.0], {"length": {"target": 40}})
    only = choose_rewards(path, ["learning_rate=1e-6"], ["format"], None)
    assert only.kwargs == {} and only.recipe.get("learning_rate") == pytest.approx(1e-6)


def test_without_a_recipe_flags_pass_through_and_set_is_refused():
    assert choose_rewards(None, None, ["accuracy"], [1.0]).names == ["accuracy"]
    with pytest.raises(UsageError, match="--set needs --config"):
        choose_rewards(None, ["beta=0"], None, None)
