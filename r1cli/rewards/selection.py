"""Which rewards a command uses, decided once: flags, else the recipe, else the defaults.

    calc = calculator_for(recipe.values)                          # r1 grpo / dry-run / real-time eval
    calc = calculator_for(recipe_values, names=["accuracy"])      # r1 score -r accuracy --config recipe.yaml

Explicit ``names`` (``--rewards``) win over the recipe's ``reward_funcs``, and
explicit ``weights`` over ``reward_weights`` (the recipe's weights belong to
its own list, so they apply only when its list is used). The recipe's
``reward_kwargs`` apply to whichever of its rewards are chosen. A reward whose
parameter is relative to the generation budget (``soft_overlong_punishment``)
defaults it to the recipe's ``max_completion_length``; every reward call runs under the recipe's
``reward_timeout`` (:data:`r1cli.rewards.calling.DEFAULT_REWARD_TIMEOUT` without one). The result is one
:class:`~r1cli.rewards.calculator.RewardCalculator`, handed to every consumer.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from r1cli.rewards.calculator import DEFAULT_REWARDS, RewardCalculator, get_reward_calculator
from r1cli.rewards.calling import DEFAULT_REWARD_TIMEOUT

# reward name -> (its parameter, the recipe key whose value it defaults to)
RECIPE_DEFAULTED_PARAMS = {"soft_overlong_punishment": ("max_completion_len", "max_completion_length")}


def calculator_for(
    recipe: Mapping[str, Any] | None = None,
    *,
    names: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
) -> RewardCalculator:
    """The reward calculator for a command; ``recipe`` is a recipe's resolved values (or None)."""
    recipe = recipe or {}
    recipe_kwargs = {name: dict(params or {}) for name, params in (recipe.get("reward_kwargs") or {}).items()}
    if names is None and recipe.get("reward_funcs"):
        names = list(recipe["reward_funcs"])
        weights = weights if weights is not None else recipe.get("reward_weights")
        kwargs = recipe_kwargs
    else:
        names = list(names) if names is not None else list(DEFAULT_REWARDS)
        chosen = {str(n).strip() for n in names}
        kwargs = {name: params for name, params in recipe_kwargs.items() if name in chosen}
    for reward, (param, key) in RECIPE_DEFAULTED_PARAMS.items():
        if reward in names and recipe.get(key):
            kwargs.setdefault(reward, {}).setdefault(param, recipe[key])
    timeout = recipe.get("reward_timeout", DEFAULT_REWARD_TIMEOUT)
    return get_reward_calculator(names, list(weights) if weights is not None else None, kwargs or None,
                                 reward_timeout=timeout)
