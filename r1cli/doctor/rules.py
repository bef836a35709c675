"""The diagnosis rules: each watches the metric stream and says what is going wrong and what to try.

A rule is fed every logged record in order (``observe(step, metrics)``: a train
log such as ``{"loss": .., "reward": .., "entropy": ..}`` or a real-time eval log
``{"eval/accuracy": .., "eval/samples": ..}``) and returns a :class:`Finding`
when its trigger is met. A rule fires once per episode: it stays quiet while
the condition holds and can fire again after it has cleared.

The triggers (every threshold is a class attribute, documented where it is set):

========================  ============================================================================
rule                      trigger
========================  ============================================================================
``zero_spread``           share of prompt groups with zero reward spread reaching the loss
                          (``reject_sampling/zero_spread_frac_after``, else ``frac_reward_zero_std``)
                          >= 0.5 for 5 consecutive train logs
``entropy_collapse``      ``entropy`` < 0.05 nats, or < 15% of its median over the first 5 logs,
                          for 5 consecutive train logs
``entropy_explosion``     ``entropy`` > 3x its early median and > 1.5 nats for 3 consecutive logs
``clipped``               ``completions/clipped_ratio`` >= 0.3 for 5 consecutive train logs
``format_hacking``        over the last 10 train logs against the first 10: a reward other than
                          accuracy rose by >= 0.25 while ``rewards/<accuracy>/mean`` did not rise,
                          on 5 consecutive train logs
                          (and real-time eval accuracy, when logged, is not clearly up: the mean of
                          its last two values is not 0.05 above the mean of its first two)
``train_up_eval_down``    the last two real-time evals both >= 0.1 below the one before them (the
                          drop significant at z >= 2.5 when ``eval/samples`` is logged, else >= 0.15)
                          while the train ``reward`` (mean of 5 logs) rose >= 0.05
``collapse``              real-time eval accuracy <= its best - max(0.1, 40% of best), and
                          significantly so (z >= 2.5), on 2 consecutive evals
``kl_spike`` /            ``kl`` (``grad_norm``) > 10x the median of its previous 20 values
``grad_norm_spike``       and > 0.1 (kl) / 1.0 (grad_norm); needs 5 earlier values
``nonfinite``             ``loss`` or ``grad_norm`` is NaN or infinite (``null`` in metrics.jsonl)
``slow_phase``            an overhead phase of the step (``time/rewards``, ``time/reject_sampling``,
                          ``time/logprobs``, ``time/eval`` or ``time/save``) took >= 40% of
                          ``time/step`` in each of its latest whole periods (at least 2 of them,
                          covering at least 5 train logs; a period runs from just after one logged
                          run of the phase to the end of its next)
========================  ============================================================================

``slow_phase`` judges only the step's overhead. Generation and the loss's forward and
backward pass (``time/generate``, ``time/backward``, ``time/optimizer``) are the work itself:
on a CPU generation is normally 70-90% of a step, and its cost is set by the model,
``num_generations`` and ``max_completion_length``, not by a setting that buys time back. It
measures whole periods because real-time eval and checkpoints run every N steps: a phase that
ran once (the start-of-run eval, one slow checkpoint) has no whole period and is never judged,
and one slow period among normal ones fails the "each period" test. Records without the
``time/*`` metrics (trainer_state.json from plain TRL) are not judged.

``collapse`` and ``nonfinite`` are the findings that stop a run under
``stop_on_collapse``. Nothing here imports torch: ``r1 doctor`` runs the same
rules after the fact on a metrics.jsonl or a transformers trainer_state.json.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from r1cli.training.phases import STEP, metric_name

WARNING, CRITICAL = "warning", "critical"


@dataclass
class Finding:
    """One diagnosis: what is wrong (``message``), since when (``step``), and what to try."""

    rule: str
    step: int  # the step at which the condition started
    seen_at: int  # the step at which the trigger was met (the rule's window ended)
    severity: str
    message: str
    recommendation: str
    settings: dict[str, Any] = field(default_factory=dict)  # recipe key -> a value to try
    stops: bool = False  # stop_on_collapse stops the run on it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})

    def line(self) -> str:
        """One line for a note or a log: ``doctor @12 zero_spread: ...; try use_reject_sampling: true``."""
        tried = ", ".join(f"{k}: {format_value(v)}" for k, v in self.settings.items())
        return f"doctor @{self.step} {self.rule}: {self.message}" + (f"; try {tried}" if tried else "")


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.1e}"
    return str(value)


# Beyond this a logged value is as good as infinite; the rules' means (fsum) of such values would overflow.
_HUGE = 1e150


def number(metrics: dict, key: str) -> float | None:
    """A finite number logged under ``key`` (of a size the rules can average), else None."""
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)  # a JSON integer of 400 digits: OverflowError
    except OverflowError:
        return None
    return value if math.isfinite(value) and abs(value) < _HUGE else None


def is_eval(metrics: dict) -> bool:
    return any(k.startswith("eval/") for k in metrics)


def half_lr(metrics: dict) -> dict[str, Any]:
    """``learning_rate`` at half the logged one (the recommendation for instability), when it was logged.

    :class:`~r1cli.doctor.diagnose.Doctor` hands eval records the last train log's ``learning_rate`` too."""
    lr = number(metrics, "learning_rate")
    return {"learning_rate": float(f"{lr / 2:.2g}")} if lr else {}


class Streak:
    """Counts consecutive True observations; ``update`` returns the streak's first step when it reaches ``needed``."""

    def __init__(self, needed: int):
        self.needed = needed
        self.count = 0
        self.start: int | None = None

    def update(self, condition: bool, step: int) -> int | None:
        if not condition:
            self.count, self.start = 0, None
            return None
        if self.count == 0:
            self.start = step
        self.count += 1
        return self.start if self.count == self.needed else None


class Rule:
    """A rule: ``observe`` each record in order; a Finding when the trigger is met."""

    name = ""
    severity = WARNING
    stops = False

    def observe(self, step: int, metrics: dict) -> Finding | None:  # pragma: no cover - interface
        raise NotImplementedError

    def finding(self, step: int, seen_at: int, message: str, recommendation: str, **settings: Any) -> Finding:
        return Finding(self.name, step, seen_at, self.severity, message, recommendation, settings, self.stops)


class ZeroSpread(Rule):
    name = "zero_spread"
    share = 0.5  # share of prompt groups with no reward spread
    steps = 5  # consecutive train logs

    def __init__(self) -> None:
        self.streak = Streak(self.steps)

    def observe(self, step, metrics):
        after = number(metrics, "reject_sampling/zero_spread_frac_after")
        value = after if after is not None else number(metrics, "frac_reward_zero_std")
        if value is None:
            return None
        start = self.streak.update(value >= self.share, step)
        if start is None:
            return None
        accuracy = next((number(metrics, k) for k in metrics if k.startswith("rewards/") and "accuracy" in k
                         and k.endswith("/mean")), None)
        data = ("the problems are mostly too easy: train on harder data" if accuracy is not None and accuracy > 0.8
                else "the problems are mostly too hard: train on easier data or a longer SFT cold start"
                if accuracy is not None and accuracy < 0.2 else "use more varied problems")
        msg = f"{value:.0%} of prompt groups had no reward spread (no learning signal) for {self.steps} steps"
        if after is None:
            return self.finding(start, step, msg, f"turn on reject sampling in refill mode, or raise temperature; {data}",
                                use_reject_sampling=True, reject_sampling_mode="refill")
        return self.finding(start, step, msg + " even after reject sampling",
                            f"raise temperature (more diverse samples) or num_generations; {data}",
                            temperature=1.2, reject_sampling_mode="refill")


class _EntropyRule(Rule):
    """A rule on ``entropy`` against its early level (the median of the first ``early`` logs).

    Each subclass says what is wrong (``wrong(value, base, settled)``) and how to say it
    (``report(start, step, value, base, metrics)``).
    """

    early = 5  # logs that set the early level (their median)
    steps = 5
    judge_early = True  # whether the logs that set the early level are judged too

    def __init__(self) -> None:
        self.first: list[float] = []
        self.streak = Streak(self.steps)

    def observe(self, step, metrics):
        value = number(metrics, "entropy")
        if value is None:
            return None
        settling = len(self.first) < self.early
        if settling:
            self.first.append(value)
            if not self.judge_early:
                return None
        base = statistics.median(self.first)
        start = self.streak.update(self.wrong(value, base, settled=len(self.first) == self.early), step)
        if start is None:
            return None
        return self.report(start, step, value, base, metrics)


class EntropyCollapse(_EntropyRule):
    name = "entropy_collapse"
    floor = 0.05  # nats: below this the policy is near-deterministic
    fraction = 0.15  # ... or below this share of its early level

    def wrong(self, value, base, settled):
        return value < self.floor or (settled and value < self.fraction * base)

    def report(self, start, step, value, base, metrics):
        return self.finding(start, step, f"entropy fell to {value:.3f} nats (early level {base:.3f}): the policy "
                            "stopped exploring", "raise the sampling temperature, lower the learning rate, "
                            "or add a KL penalty (beta)", temperature=1.2, **half_lr(metrics), beta=0.04)


class EntropyExplosion(_EntropyRule):
    name = "entropy_explosion"
    severity = CRITICAL
    factor = 3.0  # times the early median
    floor = 1.5  # nats, and above this
    steps = 3
    judge_early = False

    def wrong(self, value, base, settled):
        return value > self.factor * base and value > self.floor

    def report(self, start, step, value, base, metrics):
        return self.finding(start, step, f"entropy rose to {value:.2f} nats, {value / max(base, 1e-9):.0f}x its early "
                            "level: the model is producing noise", "lower the learning rate and clip gradients harder",
                            **half_lr(metrics), max_grad_norm=0.5)


class Clipped(Rule):
    name = "clipped"
    share = 0.3  # of completions cut at max_completion_length
    steps = 5

    def __init__(self) -> None:
        self.streak = Streak(self.steps)

    def observe(self, step, metrics):
        value = number(metrics, "completions/clipped_ratio")
        if value is None:
            return None
        start = self.streak.update(value >= self.share, step)
        if start is None:
            return None
        cap = number(metrics, "completions/max_length")
        settings = {"max_completion_length": int(2 * cap)} if cap else {}
        return self.finding(start, step, f"{value:.0%} of completions were cut at max_completion_length "
                            f"for {self.steps} steps (cut answers score 0)",
                            "raise max_completion_length, or add the soft_overlong_punishment reward to teach shorter "
                            "answers", **settings)


class FormatHacking(Rule):
    name = "format_hacking"
    window = 10  # train logs: the last ones against the first ones
    rise = 0.25  # a non-accuracy reward's mean rose at least this much
    accuracy_rise = 0.0  # ... while accuracy rose no more than this
    steps = 5  # consecutive train logs where both hold

    def __init__(self, accuracy_reward: str = "accuracy") -> None:
        self.accuracy = f"rewards/{accuracy_reward}/mean"
        self.series: dict[str, list[float]] = {}
        self.evals: list[float] = []
        self.fired: set[str] = set()
        self.streaks: dict[str, Streak] = {}

    def observe(self, step, metrics):
        if (acc := number(metrics, "eval/accuracy")) is not None:
            self.evals.append(acc)
        for key in metrics:
            if key.startswith("rewards/") and key.endswith("/mean") and (value := number(metrics, key)) is not None:
                self.series.setdefault(key, []).append(value)
        accuracy = self.series.get(self.accuracy, [])
        w = self.window
        if len(accuracy) < 2 * w or self.accuracy not in metrics:
            return None
        acc_change = statistics.fmean(accuracy[-w:]) - statistics.fmean(accuracy[:w])
        # held-out accuracy clearly up (means of the first and last two evals): real learning, not hacking
        eval_up = len(self.evals) >= 3 and statistics.fmean(self.evals[-2:]) > statistics.fmean(self.evals[:2]) + 0.05
        for key, values in self.series.items():
            if key == self.accuracy or key in self.fired or len(values) < 2 * w:
                continue
            change = statistics.fmean(values[-w:]) - statistics.fmean(values[:w])
            hit = change >= self.rise and acc_change <= self.accuracy_rise and not eval_up
            start = self.streaks.setdefault(key, Streak(self.steps)).update(hit, step)
            if start is not None:
                self.fired.add(key)
                name = key.split("/")[1]
                return self.finding(start, step, f"reward '{name}' rose by {change:+.2f} while accuracy changed by "
                                    f"{acc_change:+.2f}: the model learns the format, not the answers",
                                    f"lower the weight of '{name}' in reward_weights (or drop it) so accuracy "
                                    "dominates the total")
        return None


def _z(best: float, current: float, n_best: float | None, n_current: float | None) -> float | None:
    """Two-proportion z statistic of best - current; None when the sample sizes are unknown."""
    if not n_best or not n_current:
        return None
    pooled = (best * n_best + current * n_current) / (n_best + n_current)
    se = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n_best + 1 / n_current))
    return (best - current) / se


class TrainUpEvalDown(Rule):
    name = "train_up_eval_down"
    drop = 0.1  # both of the last two evals at least this much below the one before them
    z = 2.5  # ... significantly, when eval/samples is logged (else the drop must be 0.15)
    rise = 0.05  # while the mean train reward rose at least this much
    window = 5  # train logs averaged at each end

    def __init__(self) -> None:
        self.evals: list[tuple[int, float, float | None]] = []
        self.rewards: list[tuple[int, float]] = []
        self.active = False

    def observe(self, step, metrics):
        if (reward := number(metrics, "reward")) is not None:
            self.rewards.append((step, reward))
        acc = number(metrics, "eval/accuracy")
        if acc is None:
            return None
        self.evals.append((step, acc, number(metrics, "eval/samples")))
        if len(self.evals) < 3:
            return None
        (s0, a0, n0), (_, a1, _), (s2, a2, n2) = self.evals[-3:]
        # both later evals well below the first (one noisy eval is not a trend), the higher of them significantly
        z = _z(a0, max(a1, a2), n0, n2)
        dropped = (a0 - max(a1, a2) >= self.drop) and (z >= self.z if z is not None else a0 - max(a1, a2) >= 0.15)
        before = [r for s, r in self.rewards if s <= s0][-self.window:] or [r for s, r in self.rewards][:self.window]
        after = [r for s, r in self.rewards if s <= s2][-self.window:]
        rose = bool(before and after) and statistics.fmean(after) - statistics.fmean(before) >= self.rise
        hit = dropped and rose
        if not hit:
            self.active = False
            return None
        if self.active:
            return None
        self.active = True
        return self.finding(s0, step, f"train reward rose {statistics.fmean(after) - statistics.fmean(before):+.2f} "
                            f"while held-out accuracy fell {a0:.0%} -> {a2:.0%}: the rewards are being gamed",
                            "check sampled completions (save_completions: true); lower the learning rate; "
                            "keep the best checkpoint", save_completions=True, keep_best=True)


class Collapse(Rule):
    name = "collapse"
    severity = CRITICAL
    stops = True
    drop = 0.1  # absolute
    relative = 0.4  # ... and this share of the best
    z = 2.5  # significance of best - current, when eval/samples is logged
    evals = 2  # consecutive evals

    def __init__(self) -> None:
        self.best: tuple[int, float, float | None] | None = None
        self.streak = Streak(self.evals)

    def observe(self, step, metrics):
        acc = number(metrics, "eval/accuracy")
        if acc is None:
            return None
        n = number(metrics, "eval/samples")
        if self.best is None or acc > self.best[1]:
            self.best = (step, acc, n)
        best_step, best, n_best = self.best
        z = _z(best, acc, n_best, n)
        low = best - acc >= max(self.drop, self.relative * best) and (z is None or z >= self.z)
        start = self.streak.update(low, step)
        if start is None:
            return None
        return self.finding(start, step, f"held-out accuracy collapsed to {acc:.0%} from its best {best:.0%} "
                            f"(step {best_step})", "lower the learning rate (or train LoRA); keep the best "
                            "checkpoint and stop on collapse", **half_lr(metrics), keep_best=True,
                            stop_on_collapse=True)


class Spike(Rule):
    factor = 10.0  # times the median of the previous values
    history = 20
    minimum_history = 5

    def __init__(self, name: str, key: str, floor: float) -> None:
        self.name, self.key, self.floor = name, key, floor
        self.values: list[float] = []
        self.active = False

    def observe(self, step, metrics):
        value = number(metrics, self.key)
        if value is None:
            return None
        previous = self.values[-self.history:]
        self.values.append(value)
        if len(previous) < self.minimum_history:
            return None
        median = statistics.median(previous)
        if value <= max(self.factor * median, self.floor):
            if value <= 3 * median:
                self.active = False
            return None
        if self.active:
            return None
        self.active = True
        settings = half_lr(metrics) | ({"max_grad_norm": 0.5} if self.key == "grad_norm" else {"beta": 0.04})
        return self.finding(step, step, f"{self.key} spiked to {value:.3g}, {value / max(median, 1e-12):.0f}x its "
                            "recent median: an unstable update", "lower the learning rate; "
                            + ("clip gradients harder" if self.key == "grad_norm" else "raise the KL penalty beta"),
                            **settings)


def _nonfinite(value: Any) -> bool:
    """NaN or infinite as any writer logs it: a float, ``null`` (metrics.jsonl), the string ``"NaN"``."""
    if isinstance(value, str):
        try:
            return not math.isfinite(float(value))
        except ValueError:
            return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return not math.isfinite(float(value))
        except OverflowError:
            return True
    return True


class NonFinite(Rule):
    name = "nonfinite"
    severity = CRITICAL
    stops = True
    keys = ("loss", "grad_norm")

    def __init__(self) -> None:
        self.active = False

    def observe(self, step, metrics):
        bad = [k for k in self.keys if k in metrics and _nonfinite(metrics[k])]
        if not bad:
            self.active = False
            return None
        if self.active:
            return None
        self.active = True
        return self.finding(step, step, f"{' and '.join(bad)} is NaN or infinite: the weights are being destroyed",
                            "lower the learning rate, clip gradients, and use bf16 rather than fp16; resume from "
                            "the last good checkpoint", **half_lr(metrics), max_grad_norm=0.5)


@dataclass
class _TimedLog:
    """One train log as :class:`SlowPhase` keeps it: its step, ``time/step`` and each overhead phase's seconds."""

    step: int
    total: float
    seconds: dict[str, float]
    kl: bool  # kl was logged: TRL logs it only when beta != 0, when the reference model's pass runs
    rounds: float | None  # reject sampling's extra generation rounds, when logged


@dataclass
class _Periods:
    """The latest whole periods of one phase: the train logs they cover, and what :meth:`SlowPhase.judge` saw."""

    logs: list[_TimedLog]
    share: float  # the phase's share of their summed time/step
    slow: bool  # the phase reached SlowPhase.share in each period
    interval: float  # steps from one run of the phase to the next, on average
    runs: int  # the periods' count: the runs of the phase they end with


class SlowPhase(Rule):
    """An overhead phase takes a large share of the training time (``time/<phase>``: :mod:`r1cli.training.phases`)."""

    name = "slow_phase"
    share = 0.4  # of time/step, in each judged period
    steps = 5  # the judged periods are the latest ones, at least 2 of them covering at least this many train logs
    clear = 0.2  # it can fire again for a phase once the phase's share of its latest periods is under this
    window = 50  # train logs kept: a phase that runs less often than every 24 logs is not judged
    CORE = ("generate", "backward", "optimizer")  # the step's work itself, never judged
    LABELS = {"rewards": "reward scoring", "reject_sampling": "reject sampling's extra rounds",
              "logprobs": "log-prob passes outside the loss", "eval": "real-time eval",
              "save": "checkpoint saving"}  # the overhead phases, each as a finding names it

    def __init__(self) -> None:
        self.logs: deque[_TimedLog] = deque(maxlen=self.window)
        self.active: set[str] = set()
        self.eval_samples: float | None = None  # the last real-time eval's eval/samples

    def observe(self, step, metrics):
        if (samples := number(metrics, "eval/samples")) is not None:
            self.eval_samples = samples
        total = number(metrics, STEP)
        if total is None or total <= 0:
            return None
        seconds = {phase: number(metrics, metric_name(phase)) or 0.0 for phase in self.LABELS}
        self.logs.append(_TimedLog(step, total, seconds, number(metrics, "kl") is not None,
                                   number(metrics, "reject_sampling/rounds")))
        found = None
        for phase in self.LABELS:
            periods = self.judge(phase)
            if periods is None:
                continue
            if periods.share < self.clear:
                self.active.discard(phase)
            if found is not None or not periods.slow or phase in self.active:
                continue
            self.active.add(phase)
            every = ("" if len(periods.logs) == periods.runs  # it ran in every log
                     else f", running every {format_value(periods.interval)} steps")
            recommendation, settings = self.advice(phase, periods)
            found = self.finding(periods.logs[0].step, step, f"{self.LABELS[phase]} took {periods.share:.0%} of "
                                 f"the training time over steps {periods.logs[0].step}-{step}{every} (time/{phase})",
                                 recommendation, **settings)
        return found

    def judge(self, phase: str) -> _Periods | None:
        """The latest whole periods of ``phase`` (each from just after one logged run of it to the end of the
        next); None until there are enough of them (2, covering ``steps`` train logs)."""
        logs = list(self.logs)
        runs = [i for i, log in enumerate(logs) if log.seconds[phase] > 0]
        periods: list[list[_TimedLog]] = []
        for end in range(len(runs) - 1, 0, -1):
            periods.insert(0, logs[runs[end - 1] + 1:runs[end] + 1])
            if len(periods) >= 2 and sum(map(len, periods)) >= self.steps:
                break
        else:
            return None
        spent = [sum(log.seconds[phase] for log in period) for period in periods]
        totals = [sum(log.total for log in period) for period in periods]
        first = logs[runs[len(runs) - 1 - len(periods)]].step  # the run just before the first period
        return _Periods([log for period in periods for log in period], sum(spent) / sum(totals),
                        all(s >= self.share * t for s, t in zip(spent, totals)),
                        (periods[-1][-1].step - first) / len(periods), len(periods))

    def less_often(self, periods: _Periods) -> int:
        """Steps between runs that bring the phase's share down to ``clear``, its time per run unchanged:
        the interval times (share / (1 - share)) / (clear / (1 - clear))."""
        ratio = periods.share / (1 - periods.share) / (self.clear / (1 - self.clear))
        return math.ceil(round(periods.interval * ratio, 6))

    def advice(self, phase: str, periods: _Periods) -> tuple[str, dict[str, Any]]:
        """What to do about ``phase``: the recommendation and the recipe settings to try."""
        target = f"near {self.clear:.0%} of the time"
        if phase == "eval":
            samples = f" ({format_value(self.eval_samples)} prompts an eval now)" if self.eval_samples else ""
            steps = self.less_often(periods)
            return (f"evaluate less often: eval_steps about {steps} keeps real-time eval {target}; or lower "
                    f"max_eval_samples{samples}: fewer prompts make each eval faster and noisier",
                    {"eval_steps": steps})
        if phase == "save":
            steps = self.less_often(periods)
            return (f"save less often: save_steps about {steps} keeps saving {target} (with keep_best, each new "
                    "best eval also saves a checkpoint)", {"save_steps": steps})
        if phase == "rewards":
            return ("a reward function is slow (a custom reward, or answer checking on long completions): time each "
                    "one on saved completions with `r1 score completions.jsonl --rewards NAME` (it reports rows/s), "
                    "then speed it up or drop it from reward_funcs; reward_timeout only stops a run whose reward "
                    "hangs", {"save_completions": True})
        if phase == "reject_sampling":
            rounds = [log.rounds for log in periods.logs if log.rounds is not None]
            mean = statistics.fmean(rounds) if rounds else None
            said = f" ({mean:.1f} a step)" if mean is not None else ""
            fewer = {"max_resample_attempts": 1} if mean is None or mean > 1 else {}
            return (f"each extra round{said} generates again for the rejected groups: lower max_resample_attempts, "
                    "or use reject_sampling_mode: refill (fresh prompts are rescued in fewer rounds than the same "
                    "prompts regenerated); data the model sometimes solves leaves fewer groups to reject",
                    fewer | {"reject_sampling_mode": "refill"})
        if any(log.kl for log in periods.logs):  # logprobs, with the KL penalty on
            return ("the reference model's forward pass for the KL penalty (kl is logged: beta > 0) is the cost: "
                    "beta: 0 drops it, and the reference model with it, if the run holds without the penalty",
                    {"beta": 0})
        return ("TRL recomputes the old policy's log-probs when gradient_accumulation_steps is not a multiple of "
                "steps_per_generation x num_iterations (and always for vLLM's importance-sampling correction): "
                "num_iterations: 1 with steps_per_generation equal to gradient_accumulation_steps avoids that pass",
                {"num_iterations": 1})


def default_rules(accuracy_reward: str = "accuracy") -> list[Rule]:
    """A fresh set of every rule (rules keep state: one set per run)."""
    return [ZeroSpread(), EntropyCollapse(), EntropyExplosion(), Clipped(), FormatHacking(accuracy_reward),
            TrainUpEvalDown(), Collapse(), Spike("kl_spike", "kl", 0.1), Spike("grad_norm_spike", "grad_norm", 1.0),
            NonFinite(), SlowPhase()]
