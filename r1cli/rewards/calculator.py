"""From reward names to TRL-ready callables and weighted scores.

:func:`get_reward_calculator` resolves names (or ``module:function`` paths),
validates and binds each reward's parameters, and gives every function a
unique metric name (``length``, ``length_2``...). ``calc.funcs`` and
``calc.weights`` go straight into ``GRPOTrainer(reward_funcs=...)`` and
``GRPOConfig(reward_weights=...)``; ``calc.score(...)`` computes the same
numbers outside training, with the total summed exactly as TRL sums it.

A command builds its calculator once (:func:`r1cli.rewards.selection.calculator_for`)
and hands that object to every consumer: the trainer, the dashboard, real-time
eval, ``score``, ``eval`` and ``dry-run``. The calculator owns the facts they
share: the metric names, the weights, the weighted total
(:func:`weighted_total`) and which reward is "accuracy" (:attr:`RewardCalculator.accuracy_name`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from r1cli.errors import RewardError
from r1cli.rewards.calling import DEFAULT_REWARD_TIMEOUT, CallReport, guarded_call
from r1cli.rewards.registry import RewardSpec, check_reward_kwargs, get_reward_spec
from r1cli.rewards.timeout import timeout_count

# The rewards a command uses when neither its flags nor a recipe name any (also the schema's default).
DEFAULT_REWARDS = ("accuracy", "format", "tag_count")
# What `r1 eval` adds, at weight 0, when no chosen reward verifies answers: accuracy is what it measures.
VERIFIER = "accuracy"
# What every command says when no chosen reward verifies answers (instead of relabelling another reward).
NO_VERIFIER = "no reward verifies answers"


class BoundReward:
    """A reward with its parameters bound, named by its metric name.

    A callable object rather than ``functools.partial``: TRL names a partial
    after the wrapped function (so two ``length`` rewards would collide), and a
    closure cannot be pickled. This pickles as (reference, parameters, name) and
    is resolved again on unpickling, so it also travels to spawned processes.

    Every call is a guarded call (:func:`r1cli.rewards.calling.guarded_call`): under
    ``timeout`` seconds, exits and exceptions turned into a ``RewardCallError``, values
    checked, non-finite ones left out (None); ``last_report`` says what the last call did.
    In training, a custom reward's share of non-finite values is logged as
    ``rewards/<name>/nonfinite`` through TRL's ``log_metric``.
    """

    def __init__(self, spec: RewardSpec, kwargs: dict, name: str, timeout: float | None = DEFAULT_REWARD_TIMEOUT):
        self.spec = spec
        self.kwargs = spec.resolved_kwargs(kwargs)
        self.__name__ = name
        self.__doc__ = spec.func.__doc__
        self.timeout = timeout
        self.last_report = CallReport()

    def __call__(self, completions: Sequence[Any], **columns: Any) -> list[float | None]:
        if self.spec.verifies_answers and self.spec.source == "builtin":
            # math-verify and sympy load before the clock starts: an import cut short by reward_timeout
            # would leave half-initialised modules behind for every later call.
            import math_verify  # noqa: F401
        # Bound parameters win over a dataset column that happens to share their name.
        values, self.last_report = guarded_call(self.spec.func, self.__name__, completions,
                                                {**columns, **self.kwargs}, timeout=self.timeout)
        log_metric = columns.get("log_metric")
        if self.spec.source != "builtin" and callable(log_metric) and values:
            log_metric(f"rewards/{self.__name__}/nonfinite", self.last_report.nonfinite / len(values))
        return values

    def __reduce__(self):
        return (_rebind, (self.spec.ref, self.kwargs, self.__name__, self.timeout))

    def __repr__(self) -> str:
        return f"BoundReward({self.__name__!r}, {self.spec.ref!r}, {self.kwargs!r})"


def _rebind(ref: str, kwargs: dict, name: str, timeout: float | None = DEFAULT_REWARD_TIMEOUT) -> BoundReward:
    # Unpickling imports this module, hence the r1cli.rewards package: the built-ins are registered.
    return BoundReward(get_reward_spec(ref), kwargs, name, timeout)


@dataclass
class RewardScores:
    """Per-reward scores and their weighted total, one entry per completion.

    ``total`` is TRL's ``(rewards_per_func * weights).nansum(dim=1)``: a ``None``
    score contributes nothing, and a completion for which every reward returned
    ``None`` gets NaN (TRL marks it unscorable and gives it no advantage).
    ``timeouts`` counts completions left unscored by a time limit (an answer check, or a
    whole call past ``reward_timeout``); ``nonfinite`` counts NaN/inf/huge values left out.
    """

    names: list[str]
    weights: list[float]
    per_reward: dict[str, list[float | None]]
    total: list[float]
    timeouts: dict[str, int] = field(default_factory=dict)
    nonfinite: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.total)

    def row(self, i: int) -> dict[str, float | None]:
        return {name: values[i] for name, values in self.per_reward.items()}

    @classmethod
    def concat(cls, parts: Sequence["RewardScores"]) -> "RewardScores":
        """The scores of consecutive slices of one list of completions, as one (timeouts summed)."""
        first = parts[0]
        return cls(list(first.names), list(first.weights),
                   {name: [v for p in parts for v in p.per_reward[name]] for name in first.names},
                   [t for p in parts for t in p.total],
                   {name: sum(p.timeouts.get(name, 0) for p in parts) for name in first.names},
                   {name: sum(p.nonfinite.get(name, 0) for p in parts) for name in first.names})


def weighted_total(values: Sequence[float | None], weights: Sequence[float]) -> float:
    """TRL's weighted nansum for one completion; NaN when every value is None/NaN."""
    present = [(v, w) for v, w in zip(values, weights) if v is not None and not math.isnan(v)]
    if not present:
        return math.nan
    return math.fsum(v * w for v, w in present)


class RewardCalculator:
    """Scores completions with a fixed list of rewards and weights."""

    def __init__(self, specs: list[RewardSpec], weights: list[float], kwargs: list[dict],
                 reward_timeout: float | None = DEFAULT_REWARD_TIMEOUT):
        self.specs = specs
        self.weights = [float(w) for w in weights]
        self.names = _metric_names([s.name for s in specs])
        self.kwargs = [s.resolved_kwargs(k) for s, k in zip(specs, kwargs)]
        self.funcs = [BoundReward(s, k, n, reward_timeout) for s, k, n in zip(specs, kwargs, self.names)]

    @property
    def reward_timeout(self) -> float | None:
        """Seconds one call of each reward may run (``reward_timeout``; None or 0: no limit)."""
        return self.funcs[0].timeout if self.funcs else DEFAULT_REWARD_TIMEOUT

    @reward_timeout.setter
    def reward_timeout(self, seconds: float | None) -> None:
        for func in self.funcs:
            func.timeout = seconds

    @property
    def accuracy_name(self) -> str | None:
        """The metric name of the reward that verifies answers (the first one), or None when none does.

        The one rule for "which reward is accuracy" (``eval/accuracy``, ``r1 eval``, ``r1 score``):
        a reward registered with ``verifies_answers=True``. No other reward is relabelled as accuracy (a Python
        user of ``EnhancedGRPOTrainer`` may still name one explicitly with ``eval_accuracy_reward``).
        """
        return next((n for n, s in zip(self.names, self.specs) if s.verifies_answers), None)

    def weight_of(self, name: str) -> float:
        return self.weights[self.names.index(name)]

    def with_verifier(self) -> "RewardCalculator":
        """This calculator, or a copy with :data:`VERIFIER` first at weight 0 when no reward verifies answers.

        For measuring (``r1 eval``): accuracy is reported without changing the total the user asked for.
        """
        if self.accuracy_name is not None:
            return self
        spec = get_reward_spec(VERIFIER)
        return RewardCalculator([spec, *self.specs], [0.0, *self.weights], [{}, *self.kwargs], self.reward_timeout)

    def describe(self) -> list[tuple[str, float]]:
        """``(metric name, weight)`` per reward, in order: what a dashboard or a report lists."""
        return list(zip(self.names, self.weights))

    @property
    def refs(self) -> list[str]:
        """How each reward was named (for rebuilding this calculator in another process)."""
        return [s.ref for s in self.specs]

    @property
    def columns(self) -> set[str]:
        """Dataset columns the rewards need (e.g. ``solution``)."""
        return {c for s in self.specs for c in s.columns}

    def ranges(self) -> dict[str, tuple[float, float] | None]:
        return {n: s.range_for(k) for n, s, k in zip(self.names, self.specs, self.kwargs)}

    def score(self, completions: Sequence[Any], **columns: Any) -> RewardScores:
        """Call every reward as TRL would (``completions=`` plus columns) and sum them with the weights."""
        n = len(completions)
        per_reward: dict[str, list[float | None]] = {}
        timeouts: dict[str, int] = {}
        nonfinite: dict[str, int] = {}
        for name, func in zip(self.names, self.funcs):
            before = timeout_count()
            # A guarded call: a RewardCallError for a failure, None for a non-finite value (see rewards.calling).
            per_reward[name] = func(completions, **columns)
            report = func.last_report
            # A whole call past reward_timeout leaves every completion unscored; else the answer checks that timed out.
            timeouts[name] = n if report.timed_out else timeout_count() - before
            nonfinite[name] = report.nonfinite
        totals = [weighted_total([per_reward[name][i] for name in self.names], self.weights) for i in range(n)]
        return RewardScores(list(self.names), list(self.weights), per_reward, totals, timeouts, nonfinite)


def _metric_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def get_reward_calculator(
    reward_funcs: Sequence[str],
    reward_weights: Sequence[float] | None = None,
    reward_kwargs: dict[str, dict] | None = None,
    reward_timeout: float | None = DEFAULT_REWARD_TIMEOUT,
) -> RewardCalculator:
    """Resolve, validate and bind rewards.

    ``reward_kwargs`` maps a reward, as named in ``reward_funcs``, to its
    parameters; a metric name (``length_2``) targets one of several copies and
    wins over the plain name. Raises :class:`RewardError` on unknown names, bad
    parameters, or a weight count that does not match. ``reward_timeout``: seconds one call of
    each reward may run (the recipe key of that name; None or 0: no limit).
    """
    if isinstance(reward_funcs, str):
        reward_funcs = [reward_funcs]
    if not reward_funcs:
        raise RewardError("no rewards given", hint="name at least one, e.g. accuracy")
    specs = [get_reward_spec(ref) for ref in reward_funcs]
    if reward_weights is None:
        weights = [1.0] * len(specs)
    else:
        weights = list(reward_weights)
        if len(weights) != len(specs):
            raise RewardError(
                f"{len(weights)} reward weights for {len(specs)} rewards",
                hint="give one weight per reward, in the same order",
            )
        for w in weights:
            if isinstance(w, bool) or not isinstance(w, (int, float)) or math.isnan(w):
                raise RewardError(f"reward weight {w!r} is not a number")
    names = _metric_names([s.name for s in specs])
    known_keys = set(names) | {str(r).strip() for r in reward_funcs} | {s.name for s in specs}
    for key in reward_kwargs or {}:
        if key not in known_keys:
            raise RewardError(
                f"reward_kwargs names {key!r}, which is not among the rewards used",
                hint=f"rewards used: {', '.join(names)}",
            )
    bound = []
    for ref, spec, name in zip(reward_funcs, specs, names):
        params: dict = {}
        for key in (spec.name, str(ref).strip(), name):
            params.update((reward_kwargs or {}).get(key) or {})
        check_reward_kwargs(spec.ref, params)
        bound.append(params)
    return RewardCalculator(specs, weights, bound, reward_timeout)
