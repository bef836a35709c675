"""The "rewards" layer of validation: reward names, weights, parameters and the reject-sampling threshold."""

from __future__ import annotations

import math

from r1cli.config import types
from r1cli.config.check_values import value_of
from r1cli.config.loader import RawRecipe
from r1cli.errors import R1Error


def _param_key(reward: str, params: dict, message: str) -> str:
    """The dotted key of the parameter a reward error names (its line), else the reward's own."""
    for name in params:
        if f"parameter {str(name)!r}" in message:
            return f"reward_kwargs.{reward}.{name}"
    return f"reward_kwargs.{reward}"


def _check_rewards(raw: RawRecipe) -> list[tuple[float, float] | None]:
    """Reward names, weights and parameters; returns each reward's (min, max) when known."""
    from r1cli.rewards.registry import check_reward_kwargs, get_reward_spec

    funcs = value_of(raw, "reward_funcs") or []
    weights = value_of(raw, "reward_weights")
    ranges: list[tuple[float, float] | None] = []
    if not isinstance(funcs, list):
        return ranges
    for index, name in enumerate(funcs):
        try:
            ranges.append(get_reward_spec(str(name)).range)
        except R1Error as exc:
            raw.error(f"reward_funcs.{index}", exc.message, exc.hint)
            ranges.append(None)
    if isinstance(weights, list) and len(weights) != len(funcs):
        raw.error("reward_weights", f"{len(weights)} weights for {len(funcs)} reward functions",
                  "give exactly one weight per entry of reward_funcs")
    kwargs = value_of(raw, "reward_kwargs") or {}
    for reward, params in kwargs.items() if isinstance(kwargs, dict) else []:
        where = f"reward_kwargs.{reward}"
        if reward not in funcs:
            raw.error(where, f"parameters for `{reward}`, which is not in reward_funcs",
                      f"add {reward} to reward_funcs or delete these parameters")
            continue
        if not isinstance(params, dict):
            raw.error(where, "expected a mapping of parameter: value", f"e.g. `{reward}: {{param: value}}`")
            continue
        try:
            check_reward_kwargs(reward, params)
        except R1Error as exc:
            raw.error(_param_key(reward, params, exc.message), exc.message, exc.hint)
    return ranges


def _check_reachable_threshold(raw: RawRecipe, ranges: list[tuple[float, float] | None]) -> None:
    threshold = value_of(raw, "reject_sampling_threshold")
    if not types.fits("float", threshold) or not math.isfinite(threshold) or not ranges or any(r is None for r in ranges):
        return  # no threshold, or one already reported as the wrong type or not finite
    weights = value_of(raw, "reward_weights")
    weights = weights if isinstance(weights, list) and len(weights) == len(ranges) else [1.0] * len(ranges)
    best = sum(w * (hi if w >= 0 else lo) for w, (lo, hi) in zip(weights, ranges))
    worst = sum(w * (lo if w >= 0 else hi) for w, (lo, hi) in zip(weights, ranges))
    if threshold > best:
        raw.error("reject_sampling_threshold", f"{threshold} is above the best total the rewards can reach ({best:g})",
                  f"set it at most {best:g}")
    elif threshold <= worst:
        raw.warning("reject_sampling_threshold", f"{threshold} is at or below the worst possible total ({worst:g}); it never rejects",
                    "raise it or delete it")


def check_reward_layer(raw: RawRecipe, trainer: str) -> None:
    """The "rewards" layer: reward names, weights, parameters and the reject-sampling threshold."""
    if trainer == "grpo":
        _check_reachable_threshold(raw, _check_rewards(raw))
