"""Recipe: typed access to r1's keys, TRL keys by name, validation layers, and optional --config recipes."""

from __future__ import annotations

import pytest

from r1cli.config.recipe import Recipe, load_recipe, optional_recipe
from r1cli.config.schema import R1Config
from r1cli.config.validate import REWARD_LAYERS
from r1cli.errors import ConfigError, UsageError

RECIPE = ("model_name_or_path: a/b\ndataset_name: c/d\nnum_generations: 4\nper_device_train_batch_size: 8\n"
          "reward_funcs: [accuracy, length]\nreward_weights: [1.0, 0.5]\nreward_kwargs:\n  length: {target: 40}\n")
# Written for a cluster: the model and data exist only there.
CLUSTER = ("model_name_or_path: /cluster/models/qwen\ndataset_name: /cluster/data/train.jsonl\n"
           "num_generations: 4\nper_device_train_batch_size: 8\nreward_funcs: [accuracy, format]\n")


def write(tmp_path, text: str, name: str = "r.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_r1_keys_are_typed_and_trl_keys_come_by_name_with_trl_defaults(tmp_path):
    recipe = load_recipe(write(tmp_path, RECIPE + "learning_rate: 3e-6\n"))
    assert isinstance(recipe.r1, R1Config)
    assert recipe.r1.reward_funcs == ["accuracy", "length"] and recipe.r1.reward_weights == [1.0, 0.5]
    assert recipe.r1.max_train_minutes is None  # a default filled in
    assert recipe.get("learning_rate") == pytest.approx(3e-6)  # written (a YAML 1.1 string, coerced)
    assert recipe.get("beta") == 0.0  # not written: TRL's default
    assert recipe.get("no_such_key", "fallback") == "fallback"
    assert not hasattr(Recipe, "__getattr__")  # no dynamic attributes: every access names its owner
    with pytest.raises(AttributeError):
        recipe.learning_rate  # noqa: B018


def test_recipe_r1_follows_values(tmp_path):
    recipe = load_recipe(write(tmp_path, RECIPE))
    recipe.values["max_eval_samples"] = 7
    assert recipe.r1.max_eval_samples == 7


def test_reward_layers_accept_a_recipe_whose_paths_exist_elsewhere(tmp_path):
    path = write(tmp_path, CLUSTER)
    with pytest.raises(ConfigError, match="does not exist"):
        load_recipe(path)  # training needs the paths
    recipe = load_recipe(path, layers=REWARD_LAYERS)  # scoring does not
    assert recipe.r1.reward_funcs == ["accuracy", "format"]


def test_reward_layers_still_check_rewards(tmp_path):
    with pytest.raises(ConfigError, match="unknown reward 'acuracy'"):
        load_recipe(write(tmp_path, CLUSTER.replace("[accuracy, format]", "[acuracy, format]")), layers=REWARD_LAYERS)


def test_unknown_layer_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown validation layers: pathz"):
        load_recipe(write(tmp_path, RECIPE), layers=("schema", "pathz"))


def test_optional_recipe(tmp_path):
    assert optional_recipe(None, None) is None
    with pytest.raises(UsageError, match="--set needs --config"):
        optional_recipe(None, ["beta=0"])
    recipe = optional_recipe(write(tmp_path, CLUSTER), ["learning_rate=1e-6"], layers=REWARD_LAYERS)
    assert recipe.get("learning_rate") == pytest.approx(1e-6) and recipe.overrides == ("learning_rate=1e-6",)
