"""What ``r1 score`` (and ``r1 eval``'s reward flags) ask for, resolved from the flags and an optional recipe.

    names, weights = reward_flags("accuracy,format", "1,0.5")     # the comma-separated flags, checked
    request = score_request(config, overrides, names=names, weights=weights, solution_column=None)
    score_file(path, request.calc, solution_column=request.solution_column, ...)

Rewards are decided once, by :func:`r1cli.rewards.selection.calculator_for`
(flags, else the recipe, else the defaults). The recipe is validated only as
far as scoring depends on it (:data:`r1cli.config.validate.REWARD_LAYERS`), so
a recipe whose model and data live on a GPU cluster scores files anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from r1cli.errors import UsageError
from r1cli.rewards.calculator import RewardCalculator


def split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def reward_flags(rewards: str | None, weights: str | None = None) -> tuple[list[str] | None, list[float] | None]:
    """``--rewards`` and ``--weights`` as lists (None when not given); UsageError when empty or not numbers."""
    names = split_list(rewards) or None
    if rewards is not None and not names:
        raise UsageError("--rewards is empty", hint="e.g. --rewards accuracy,format")
    if weights is None:
        return names, None
    try:
        return names, [float(w) for w in split_list(weights)]
    except ValueError:
        raise UsageError(f"--weights must be comma-separated numbers, got {weights!r}", hint="e.g. --weights 1,0.5,0.5") from None


def recipe_values(config: str | Path | None, overrides: list[str] | None) -> Mapping[str, Any] | None:
    """The resolved values of ``--config`` (validated for scoring only), or None without one."""
    from r1cli.config.recipe import optional_recipe
    from r1cli.config.validate import REWARD_LAYERS

    recipe = optional_recipe(config, overrides, layers=REWARD_LAYERS)
    return recipe.values if recipe is not None else None


@dataclass
class ScoreRequest:
    calc: RewardCalculator
    solution_column: str | None  # the flag, else the recipe's dataset_solution_column, else None (auto)


def score_request(config: str | Path | None, overrides: list[str] | None, *, names: list[str] | None = None,
                  weights: list[float] | None = None, solution_column: str | None = None,
                  values: Mapping[str, Any] | None = None) -> ScoreRequest:
    """Rewards and gold column for ``r1 score``: explicit flags win over the recipe (``values`` if already loaded)."""
    from r1cli.rewards.selection import calculator_for

    if values is None:
        values = recipe_values(config, overrides)
    calc = calculator_for(values, names=names, weights=weights)
    return ScoreRequest(calc, solution_column or (values or {}).get("dataset_solution_column"))
