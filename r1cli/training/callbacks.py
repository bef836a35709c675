"""Trainer callbacks of a run: signals (checkpoint and stop), the time budget, and the phases the
terminal names (loading, start-of-run eval, steps)."""

from __future__ import annotations

import json
import logging
import signal
import time
from pathlib import Path
from typing import Any, Callable

from r1cli.files import atomic_write_text
from r1cli.training.flags import RunFlags

logger = logging.getLogger("r1cli")


def signal_callback(emit: Callable[[dict], Any] | None = None):
    from transformers import TrainerCallback

    class StopOnSignal(TrainerCallback):
        """First SIGINT/SIGTERM/SIGHUP: checkpoint at the end of this step and stop. Second: stop now."""

        def __init__(self) -> None:
            self.signal_name: str | None = None
            self._previous: dict[int, Any] = {}

        def install(self) -> None:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal or ssh went away
                self._previous[sig] = signal.signal(sig, self._handle)

        def uninstall(self) -> None:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
            self._previous.clear()

        def _handle(self, signum, frame) -> None:
            if self.signal_name is not None:
                raise KeyboardInterrupt
            self.signal_name = signal.Signals(signum).name
            logger.warning("%s received: saving a checkpoint after this step", self.signal_name)
            if emit is not None:  # on screen at once: a step can take minutes, and a second signal loses the checkpoint
                emit({"event": "stopping", "signal": self.signal_name})

        def on_step_end(self, args, state, control, **kwargs):
            if self.signal_name is not None:
                control.should_save = True
                control.should_training_stop = True
            return control

    return StopOnSignal()


class PhaseEvents(logging.Handler):
    """A log record carrying ``extra={"phase": "loading model"}`` becomes a ``{"event": "phase"}`` for the dashboard.

    Code below training (model loading, data) names its long phases this way without knowing who listens.
    """

    def __init__(self, emit: Callable[[dict], Any]) -> None:
        super().__init__(logging.INFO)
        self.emit_event = emit

    def emit(self, record: logging.LogRecord) -> None:
        phase = getattr(record, "phase", None)
        if phase:
            self.emit_event({"event": "phase", "phase": str(phase)})


def emitter(subscribers: list[Callable[[dict], Any]] | None) -> Callable[[dict], None]:
    def emit(event: dict) -> None:
        for subscriber in subscribers or []:
            try:
                subscriber(event)
            except Exception:  # a broken display must not stop a training run
                logger.exception("subscriber %r failed on %s", subscriber, event.get("event"))

    return emit


def phase_callback(emit: Callable[[dict], None], eval_on_start: bool):
    from transformers import TrainerCallback

    class NamePhases(TrainerCallback):
        """Training's own phases: the start-of-run eval, then each step (generation happens inside it)."""

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                emit({"event": "phase", "phase": "start-of-run eval" if eval_on_start else f"step {state.global_step + 1}"})

        def on_step_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                emit({"event": "phase", "phase": f"step {state.global_step + 1}"})

    return NamePhases()


def drop_eval_records(path: Path, step: int | None) -> None:
    """A resumed run evaluates again at its first step (eval_on_start): drop the eval the interrupted run logged there."""
    if step is None or not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        keys = set(record) - {"step", "epoch"}
        if record.get("step") == step and keys and all(k.startswith(("eval/", "eval_")) for k in keys):
            continue
        kept.append(line)
    atomic_write_text(path, "".join(f"{line}\n" for line in kept), force=True)


def time_budget_callback(minutes: float, flags: RunFlags):
    from transformers import TrainerCallback

    from r1cli.training.distributed import as_main_process_says

    class StopAfterTime(TrainerCallback):
        """max_train_minutes: end the run after the step that crosses the budget; the model is saved as usual.

        The clock starts when training starts (model loading and data preparation
        are not counted) and restarts on --resume. The main process's clock decides,
        so every process stops after the same step. ``flags.time_budget_reached``
        tells the real-time eval that this step is the last.
        """

        def __init__(self) -> None:
            self.deadline = float("inf")
            self.stopped_at: int | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.deadline = time.monotonic() + minutes * 60

        def on_step_end(self, args, state, control, **kwargs):
            if as_main_process_says(time.monotonic() >= self.deadline) and not control.should_training_stop:
                self.stopped_at = state.global_step
                logger.info("max_train_minutes=%s reached at step %d: stopping", minutes, state.global_step)
                control.should_training_stop = True
                flags.time_budget_reached = True
            return control

    return StopAfterTime()
