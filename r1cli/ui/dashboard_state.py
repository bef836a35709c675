"""What the training dashboard knows: run info, the latest metrics and their history, the latest sample, notes.

A plain data model with no drawing: :mod:`r1cli.ui.dashboard` (reporters, plain
lines, summary table) and :mod:`r1cli.ui.dashboard_panels` (the live frame) both
read a :class:`DashboardState`; neither is imported here, so the two never import
each other.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

HISTORY = 256  # values kept per metric: enough sparkline for a 250-column terminal
TOKEN_WINDOW = 10  # logged steps over which tokens/s is measured: recent throughput, not the run's average

_ALIASES = {
    "reject_sampling/recovered": "reject_sampling/rescued",
    "reject_sampling/seconds": "reject_sampling/time_s",
    "reject_sampling/zero_spread_frac_before": "reject_sampling/zero_spread_before",
    "reject_sampling/zero_spread_frac_after": "reject_sampling/zero_spread_after",
}
_REJECT_SUMMED = ("rejected_initial", "rescued", "extra_completions", "time_s")


@dataclass
class RunInfo:
    """What the dashboard knows before the first step."""

    run_name: str
    model: str
    trainer: str = "grpo"  # "grpo" | "sft"
    total_steps: int = 0
    minutes: float | None = None  # max_train_minutes: the run may end before total_steps
    output_dir: str = ""
    reward_names: list[str] = field(default_factory=list)
    reward_weights: list[float] = field(default_factory=list)
    start_step: int = 0  # the checkpoint's step on --resume: speed and ETA count only the steps run since


@dataclass
class Sample:
    step: int
    prompt: str
    completion: str
    rewards: dict[str, float | None]


def _as_float(value: object) -> float | None:
    try:
        number = float(value)  # also 0-d tensors and numpy scalars, without importing either
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def clean_metrics(metrics: Mapping[str, object] | None) -> dict[str, float]:
    """Finite numbers only, under the dashboard's key names."""
    clean = {}
    for key, value in (metrics or {}).items():
        number = _as_float(value)
        if isinstance(key, str) and number is not None:
            key = "eval/" + key[5:] if key.startswith("eval_") else key
            clean[_ALIASES.get(key, key)] = number
    return clean


@dataclass
class DashboardState:
    """Everything a frame is drawn from; times are seconds on the reporter's clock."""

    info: RunInfo | None = None
    started: float = 0.0
    now: float = 0.0
    step: int = 0
    step_seen_at: float | None = None  # when the newest step was first logged
    latest: dict[str, float] = field(default_factory=dict)
    history: dict[str, deque] = field(default_factory=dict)
    seen_at: dict[str, int] = field(default_factory=dict)  # the step each latest value was logged at
    eval_step: int | None = None
    best_eval_accuracy: tuple[float, int] | None = None
    tokens: deque = field(default_factory=lambda: deque(maxlen=TOKEN_WINDOW))  # (time, num_tokens)
    reject_totals: dict[str, float] = field(default_factory=dict)
    sample: Sample | None = None
    notes: list[str] = field(default_factory=list)  # said once by training, shown as they are
    outcome: str = "running"  # "running" | "done" | "failed" | an interruption, e.g. "interrupted — checkpoint saved"
    phase: str | None = None  # what the run is busy with now: "loading model", "start-of-run eval", "step 3"...
    phase_since: float = 0.0
    stopping: str | None = None  # said at once on the first Ctrl-C: the run stops after this step

    @property
    def started_training(self) -> bool:
        return self.info is not None

    @property
    def steps_run(self) -> int:
        """Steps run in this session (since the resumed checkpoint)."""
        return max(self.step - self.start_step, 0)

    @property
    def start_step(self) -> int:
        return self.info.start_step if self.info else 0

    @property
    def phase_elapsed(self) -> float:
        return max(self.now - self.phase_since, 0.0)

    @property
    def trainer(self) -> str:
        return self.info.trainer if self.info else "grpo"

    @property
    def total_steps(self) -> int:
        return self.info.total_steps if self.info else 0

    @property
    def elapsed(self) -> float:
        """Training time so far (0 before training starts: ``started`` is only set then)."""
        return max(self.now - self.started, 0.0) if self.info is not None else 0.0

    @property
    def sec_per_step(self) -> float | None:
        if not self.steps_run or self.step_seen_at is None:
            return None
        return (self.step_seen_at - self.started) / self.steps_run

    @property
    def eta(self) -> float | None:
        spp = self.sec_per_step
        eta = None if spp is None or not self.total_steps else spp * max(self.total_steps - self.step, 0)
        if self.info is not None and self.info.minutes and spp is not None:  # the time budget may end it first
            left = max(self.info.minutes * 60 - self.elapsed, 0.0)
            eta = left if eta is None else min(eta, left)
        return eta

    @property
    def tokens_per_s(self) -> float | None:
        if len(self.tokens) >= 2:
            (t0, n0), (t1, n1) = self.tokens[0], self.tokens[-1]
            return (n1 - n0) / (t1 - t0) if t1 > t0 and n1 >= n0 else None
        if self.tokens and self.tokens[0][0] > self.started and not self.start_step:  # resumed: num_tokens counts earlier steps
            t, n = self.tokens[0]
            return n / (t - self.started)
        return None

    def reward_names(self) -> list[str]:
        """The run's rewards in their configured order, then any others the metrics name."""
        names = list(self.info.reward_names) if self.info else []
        for key in self.latest:
            if key.startswith("rewards/") and key.endswith("/mean"):
                name = key[len("rewards/") : -len("/mean")]
                names += [name] if name not in names else []
        return names

    def reward_weight(self, name: str) -> float | None:
        configured = self.info.reward_names if self.info else []
        if name not in configured:
            return None
        i = configured.index(name)
        weights = self.info.reward_weights
        return weights[i] if i < len(weights) else 1.0  # TRL's default weight

    def begin(self, info: RunInfo, now: float) -> None:
        self.info, self.started, self.now = info, now, now
        self.step = max(self.step, info.start_step)

    def enter_phase(self, phase: str, now: float) -> bool:
        """Note what the run is busy with; False when it already was."""
        if phase == self.phase:
            return False
        self.phase, self.phase_since, self.now = phase, now, now
        return True

    def record(self, step: int, metrics: Mapping[str, object] | None, now: float) -> dict[str, float]:
        """Fold one log dict in; returns it cleaned (see ``clean_metrics``)."""
        clean = clean_metrics(metrics)
        step = int(step)
        self.now = now
        if step > self.step:  # an eval dict for the same step must not restart the step clock
            self.step, self.step_seen_at = step, now
        for key, value in clean.items():
            self.latest[key] = value
            self.seen_at[key] = step
            self.history.setdefault(key, deque(maxlen=HISTORY)).append(value)
        self._track(step, clean, now)
        return clean

    def _track(self, step: int, clean: dict[str, float], now: float) -> None:
        if "num_tokens" in clean:
            self.tokens.append((now, clean["num_tokens"]))
        if any(key.startswith("eval/") for key in clean):
            self.eval_step = step
        accuracy = clean.get("eval/accuracy")
        if accuracy is not None and (self.best_eval_accuracy is None or accuracy > self.best_eval_accuracy[0]):
            self.best_eval_accuracy = (accuracy, step)
        if "reject_sampling/groups_total" in clean:
            totals = self.reject_totals
            totals["steps"] = totals.get("steps", 0) + 1
            for key in _REJECT_SUMMED:
                totals[key] = totals.get(key, 0.0) + clean.get(f"reject_sampling/{key}", 0.0)

    def record_sample(self, step: int, prompt: str, completion: str, rewards: Mapping[str, float | None]) -> None:
        self.sample = Sample(step, str(prompt), str(completion), {str(k): _as_float(v) for k, v in (rewards or {}).items()})

    def record_note(self, message: str) -> bool:
        """Keep a note once; False when it was already noted."""
        message = str(message).strip()
        if not message or message in self.notes:
            return False
        self.notes.append(message)
        return True
