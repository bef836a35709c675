"""The "rewards" layer of validation: reward names, weights, parameters and the reject-sampling threshold."""

from __future__ import annotations

import math

from r1cli.config import types
from r1cli.config.check_values import value_of
from r1cli.config.loader import RawRecipe
from r1cli.config.schema import FOREIGN_KEYS, OPENR1_REWARD_KEYS
from r1cli.errors import R1Error

# Reward names open-r1's recipes use with another meaning than r1's, when the recipe gives the reward no
# reward_kwargs (open-r1's take none): name -> (what open-r1 means, what r1 gives, the one-line fix).
OPENR1_MEANINGS: dict[str, tuple[str, str, str]] = {
    "format": (
        "open-r1's `format` is binary (1.0 only for <think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>)",
        "r1's is graded (a layout open-r1 scores 1.0 can score 0.8)",
        "for open-r1's check add `reward_kwargs: {format: {strict: true}}`; "
        "to keep r1's graded score, say so with `{format: {strict: false}}`",
    ),
    "length": (
        "open-r1's `length` is Kimi 1.5's len_reward (0.5 - (n - min)/(max - min) across the completions, "
        "at most 0 for a wrong answer)",
        "r1's `length` is a Gaussian around a target length (300)",
        "for open-r1's reward write `len_reward` instead of `length` in reward_funcs; "
        "to keep r1's, give it parameters, e.g. `reward_kwargs: {length: {target: 300}}`",
    ),
}


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


def openr1_signs(raw: RawRecipe) -> list[str]:
    """The keys that mark a recipe as written for open-r1: its own keys, or its flat reward parameters.

    The flat parameters (``cosine_max_len``) have been moved into reward_kwargs by now; their lines remain.
    """
    return [key for key in raw.lines if "." not in key and (key in FOREIGN_KEYS or key in OPENR1_REWARD_KEYS)]


def _check_openr1_meanings(raw: RawRecipe) -> None:
    """Warn where a recipe written for open-r1 names a reward that means something else in r1 (no silent change)."""
    funcs = value_of(raw, "reward_funcs")
    signs = openr1_signs(raw)
    if not isinstance(funcs, list) or not signs:
        return
    kwargs = value_of(raw, "reward_kwargs")
    kwargs = kwargs if isinstance(kwargs, dict) else {}
    shown = ", ".join(signs[:3]) + (", ..." if len(signs) > 3 else "")
    for index, name in enumerate(funcs):
        if name not in OPENR1_MEANINGS or kwargs.get(name):
            continue  # parameters for it: the recipe chose r1's reward knowingly
        theirs, ours, fix = OPENR1_MEANINGS[name]
        raw.warning(f"reward_funcs.{index}",
                    f"this recipe looks written for open-r1 ({shown}): {theirs}; {ours}", fix)


def check_reward_layer(raw: RawRecipe, trainer: str) -> None:
    """The "rewards" layer: reward names, weights, parameters, the reject-sampling threshold, open-r1 meanings."""
    if trainer == "grpo":
        _check_reachable_threshold(raw, _check_rewards(raw))
        _check_openr1_meanings(raw)
