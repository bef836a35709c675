"""Rewards for GRPO: one registry that training, `r1 score`, `r1 eval` and `r1 dry-run` all use.

Importing this package registers the built-in rewards and imports nothing heavy
(math-verify and sympy load on the first accuracy check). Scripting::

    from r1cli.rewards import get_reward_calculator, REWARD_FUNCS_REGISTRY, register_reward

    calc = get_reward_calculator(["accuracy", "format"], reward_weights=[1.0, 0.5])
    scores = calc.score(completions, solution=golds)   # scores.per_reward, scores.total
    trainer = GRPOTrainer(..., reward_funcs=calc.funcs, args=GRPOConfig(reward_weights=calc.weights))
"""

from r1cli.rewards import accuracy, format_rewards, length, openr1_rewards, reasoning, repetition, trl_rewards  # noqa: F401  (registers the built-ins)
from r1cli.rewards.calculator import DEFAULT_REWARDS, RewardCalculator, RewardScores, get_reward_calculator
from r1cli.rewards.registry import (
    REWARD_FUNCS_REGISTRY,
    Param,
    ParamSpec,
    RewardSpec,
    available_rewards,
    check_reward_kwargs,
    get_reward_spec,
    register_reward,
)
from r1cli.rewards.selection import calculator_for

__all__ = [
    "DEFAULT_REWARDS",
    "calculator_for",
    "REWARD_FUNCS_REGISTRY",
    "Param",
    "ParamSpec",
    "RewardCalculator",
    "RewardScores",
    "RewardSpec",
    "available_rewards",
    "check_reward_kwargs",
    "get_reward_calculator",
    "get_reward_spec",
    "register_reward",
]
