"""Where a training step's time goes: a per-phase stopwatch, torch-free.

    timer = PhaseTimer()
    timer.start_window(step=0)                 # training begins
    with timer.phase("generate"):
        ...                                    # generation...
        with timer.phase("rewards"):           # ...with reward scoring nested inside it
            ...
    metrics = timer.flush(step=1)              # {"time/generate": s, "time/rewards": s, ..., "time/step": s}

Accounting is by *self time*: at every moment at most one phase owns the clock,
the innermost open one, so a phase nested in another is not counted twice
(generation's time excludes the reward scoring inside it). A phase opened with
``absorb=True`` keeps everything nested in it as its own (a reject-sampling round
generates and scores, and all of it is ``reject_sampling``; the loss's forward pass
computes log-probs, and all of it is ``backward``). Time with no phase open (the
trainer's own bookkeeping, gradient clipping, the dataloader) is in ``time/step``
only, so the phases never sum to more than the step.

``flush(step)`` returns seconds *per step* since the last flush (or since
``start_window``): every phase of :data:`PHASES` (0.0 when it did not run) and
``time/step``, the wall time; a window of several steps (``logging_steps`` > 1) is
averaged. Then it starts the next window. A phase still open at a flush is split at
that moment between the two windows. Work done before a run's first step (the start-of-run
eval and the keep-best save it may cause) is no step's: the trainer restarts the first window
after it (:meth:`PhaseTimer.restart_before_first_step`); the eval's own ``eval/seconds`` says
how long it took.

The metric names (``time/<phase>``) are owned here; the dashboard and ``r1 report``
read every ``time/*`` key of the metric stream without importing this module.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PREFIX = "time/"
# The phases of a GRPO step, in the order a step runs them (what each one wraps: EnhancedGRPOTrainer).
PHASES = ("generate", "rewards", "reject_sampling", "logprobs", "backward", "optimizer", "eval", "save")
STEP = PREFIX + "step"  # the step's wall time


def metric_name(phase: str) -> str:
    return PREFIX + phase


@dataclass
class _Frame:
    label: str  # the name it was opened with (matched by end())
    owner: str  # the phase its time is credited to (an absorbing ancestor's, if any)
    absorb: bool


class PhaseTimer:
    """A context-manager stopwatch per phase, accumulated over a window of steps; see the module doc."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._stack: list[_Frame] = []
        self._totals: dict[str, float] = {}
        self._mark = clock()  # when the clock was last credited to a phase (or to nobody)
        self._window_start: float | None = None
        self._window_step = 0
        self._before_first_step = False

    # -- the clock -------------------------------------------------------------------------

    def _credit(self) -> float:
        """Give the time since the last mark to the phase that owns the clock now; return now."""
        now = self._clock()
        if self._stack:
            owner = self._stack[-1].owner
            self._totals[owner] = self._totals.get(owner, 0.0) + max(now - self._mark, 0.0)
        self._mark = now
        return now

    def begin(self, name: str, *, absorb: bool = False) -> None:
        """Open a phase (callbacks use this pair; code uses :meth:`phase`)."""
        self._credit()
        top = self._stack[-1] if self._stack else None
        if top is not None and top.absorb:  # inside an absorbing phase: its time stays the ancestor's
            self._stack.append(_Frame(name, top.owner, True))
        else:
            self._stack.append(_Frame(name, name, absorb))

    def end(self, name: str) -> None:
        """Close the innermost phase if it is ``name``; a stray end (nothing open by that name) is ignored."""
        if not self._stack or self._stack[-1].label != name:
            return
        self._credit()
        self._stack.pop()

    @contextlib.contextmanager
    def phase(self, name: str, *, absorb: bool = False) -> Iterator[None]:
        self.begin(name, absorb=absorb)
        try:
            yield
        finally:
            self.end(name)

    @property
    def current(self) -> str | None:
        """The phase that owns the clock now, or None."""
        return self._stack[-1].owner if self._stack else None

    # -- windows ---------------------------------------------------------------------------

    def start_window(self, step: int = 0) -> None:
        """Start measuring at ``step`` (training begins or resumes): what was credited before is dropped."""
        self._window_start = self._credit()
        self._window_step = step
        self._before_first_step = True  # until the first flush
        self._totals.clear()

    def restart_before_first_step(self, step: int) -> bool:
        """Start the first window afresh if no step has run since training began at ``step`` (work before a run's
        first step, such as ``eval_on_start``, is not the first step's time); True if it did."""
        if not self._before_first_step or step != self._window_step:
            return False
        self.start_window(step)
        return True

    def flush(self, step: int) -> dict[str, float]:
        """Seconds per step of each phase and of the wall clock since the last flush; {} when no step passed."""
        steps = step - self._window_step
        if self._window_start is None or steps <= 0:
            return {}
        now = self._credit()  # a phase still open is split here: its time so far belongs to this window
        out = {metric_name(name): self._totals.get(name, 0.0) / steps for name in PHASES}
        out.update({metric_name(name): value / steps for name, value in self._totals.items() if name not in PHASES})
        out[STEP] = (now - self._window_start) / steps
        self._totals.clear()
        self._window_start, self._window_step = now, step
        self._before_first_step = False
        return out
