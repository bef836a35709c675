"""Training metrics as a file and as plain events: ``metrics.jsonl`` plus subscribers.

``MetricsCallback`` is a ``TrainerCallback`` (add it to any TRL/transformers
trainer). On the main process only, it appends every ``on_log`` dict, with its
step, as one JSON line to ``<output_dir>/metrics.jsonl``, and emits plain dict
events to subscribers:

    callback = MetricsCallback()
    callback.subscribe(lambda event: print(event))   # e.g. the Rich dashboard in r1cli.ui
    trainer.add_callback(callback)

Events (plain dicts, nothing to import to consume them):

- ``{"event": "train_begin", "step": 0, "max_steps": N}``
- ``{"event": "step", "step": s, "max_steps": N}`` after each optimizer step
- ``{"event": "log", "step": s, "epoch": e, "metrics": {...}}`` for every log call
  (train metrics, ``eval/*`` real-time eval, ``reject_sampling/*``...)
- ``{"event": "train_end", "step": s, "max_steps": N}``

Training never imports ``r1cli.ui``: the dashboard subscribes to these events.
A subscriber that raises is reported and unsubscribed; training goes on.
``read_metrics`` loads a ``metrics.jsonl`` back.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Callable

from transformers import TrainerCallback

from r1cli.files import refuse_overwrite
from r1cli.run_dir import RunDirectory

logger = logging.getLogger(__name__)

Subscriber = Callable[[dict], Any]


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: tensors and numpy numbers become floats, NaN/inf become None."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class MetricsCallback(TrainerCallback):
    """Writes ``metrics.jsonl`` and forwards metric events to subscribers (main process only)."""

    def __init__(self, path: str | Path | None = None, *, overwrite: bool = False):
        # path=None: <args.output_dir>/metrics.jsonl, resolved when training begins.
        self.path = Path(path) if path is not None else None
        self.overwrite = overwrite
        self._subscribers: list[Subscriber] = []
        self._started = False

    def subscribe(self, subscriber: Subscriber) -> Subscriber:
        self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def emit(self, event: dict) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a broken display must not stop a training run
                logger.exception("metrics subscriber %r failed; unsubscribing it", subscriber)
                self.unsubscribe(subscriber)

    def _open(self, args, state) -> None:
        if self._started:
            return
        self._started = True
        if self.path is None:
            self.path = RunDirectory(args.output_dir).metrics
        # A resumed run (global_step > 0) appends to its own file; a fresh run never clobbers one.
        if state.global_step == 0:
            refuse_overwrite(self.path, self.overwrite, flag="--overwrite")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("", encoding="utf-8")

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self._open(args, state)
        self.emit({"event": "train_begin", "step": state.global_step, "max_steps": state.max_steps})

    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.emit({"event": "step", "step": state.global_step, "max_steps": state.max_steps})

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        self._open(args, state)
        metrics = {key: _plain(value) for key, value in logs.items() if key != "step"}
        record = {"step": state.global_step, **metrics}
        # Appended line by line (not via r1cli.files's atomic whole-file writes): a crash loses at most the last line.
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        self.emit({"event": "log", "step": state.global_step, "epoch": state.epoch, "metrics": metrics})

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.emit({"event": "train_end", "step": state.global_step, "max_steps": state.max_steps})


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a ``metrics.jsonl`` file (or of ``<dir>/metrics.jsonl``), in order."""
    from r1cli.files import read_jsonl

    path = Path(path)
    return read_jsonl(RunDirectory(path).metrics if path.is_dir() else path)
