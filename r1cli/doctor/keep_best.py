"""Keep the best checkpoint of a run: ``<run>/best/``, chosen by an eval metric, safe from checkpoint rotation.

    keeper = KeepBest(RunDirectory("runs/x"), metric="eval/accuracy")
    if keeper.offer(step, logs):       # a new best value: the trainer saves checkpoint-<step> now
        control.should_save = True
    keeper.keep(step)                  # after the save: checkpoint-<step> is hard-linked into best/
    keeper.keep_start(logs, save)      # step 0 (eval_on_start): save(dir) writes the starting model into best/
    keeper.make_final(run.path)        # at the end (final_model: best): best's weights become the final model

``best/`` holds a copy of the whole checkpoint (files hard-linked where the file
system allows, so it costs no space while the checkpoint exists, and survives
``save_total_limit`` deleting it) and ``keep_best.json``: the metric, its value
and the step. That file is read back on ``--resume``, so a resumed run only
replaces ``best/`` with a better value. A value logged at step 0 (``eval_on_start``)
is the starting model's: it is the first best, and the starting model is saved into ``best/``
(``"step": 0``), so a run that only gets worse keeps the model it started from.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

from r1cli.files import atomic_write_text
from r1cli.run_dir import RunDirectory

STATE = RunDirectory.BEST_STATE  # <run>/best/keep_best.json
# A checkpoint's training state, not part of the model: left out when best/ becomes the final model.
TRAINING_STATE = ("optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state", RunDirectory.TRAINER_STATE, STATE)
LOWER_IS_BETTER = ("loss", "kl", "clipped", "length", "perplexity")


def greater_is_better(metric: str) -> bool:
    """Accuracy and rewards: higher is better; losses, KL, lengths and clipped shares: lower."""
    return not any(word in metric for word in LOWER_IS_BETTER)


def _link_tree(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, hard-linking files (a plain copy where links are not possible)."""

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


class KeepBest:
    def __init__(self, run: RunDirectory, metric: str = "eval/accuracy") -> None:
        self.run = run
        self.metric = metric
        self.greater = greater_is_better(metric)
        self.pending: tuple[int, float] | None = None
        self.best: tuple[int, float] | None = None  # (step, value) of what best/ holds
        state = self.read_state()
        if state is not None and state.get("metric") == metric:
            self.best = (int(state["step"]), float(state["value"]))

    @property
    def path(self) -> Path:
        return self.run.best

    def read_state(self) -> dict | None:
        try:
            state = json.loads((self.path / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and {"metric", "step", "value"} <= state.keys() else None

    def _better(self, value: float, than: tuple[int, float] | None) -> bool:
        return than is None or (value > than[1] if self.greater else value < than[1])

    def _value(self, metrics: dict) -> float | None:
        value = metrics.get(self.metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return None
        return float(value)

    def offer(self, step: int, metrics: dict) -> bool:
        """A new best value logged at ``step``: remember it and return True (save a checkpoint at this step)."""
        value = self._value(metrics)
        if step <= 0 or value is None:
            return False
        if not (self._better(value, self.best) and self._better(value, self.pending)):
            return False
        self.pending = (step, value)
        return True

    def keep(self, step: int) -> Path | None:
        """After checkpoint-<step> was saved: make it best/ when it holds the pending best value."""
        if self.pending is None or self.pending[0] != step:
            return None
        checkpoint = self.run.checkpoint(step)
        if not checkpoint.is_dir():
            return None
        self._install(lambda staging: _link_tree(checkpoint, staging), step, self.pending[1], checkpoint.name)
        self.best, self.pending = self.pending, None
        return self.path

    def keep_start(self, metrics: dict, save: Callable[[Path], None] | None) -> Path | None:
        """Step 0's value (``eval_on_start``: the starting model's) is the first best; ``save(dir)`` writes the
        starting model into best/. ``save`` is None on processes that write no files (the value is still noted)."""
        value = self._value(metrics)
        if value is None or not self._better(value, self.best):
            return None
        if save is None:
            self.best = (0, value)
            return None

        def fill(staging: Path) -> None:
            staging.mkdir(parents=True)
            save(staging)

        self._install(fill, 0, value, None)
        self.best = (0, value)
        return self.path

    def _install(self, fill: Callable[[Path], None], step: int, value: float, checkpoint: str | None) -> None:
        """Build the new best/ beside the old one (``fill(staging)`` writes the model), then swap it in."""
        staging = self.run.path / f".{RunDirectory.BEST}-{step}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            fill(staging)
            atomic_write_text(staging / STATE, json.dumps({"metric": self.metric, "value": value, "step": step,
                                                           "checkpoint": checkpoint}, indent=2) + "\n", force=True)
        except BaseException:  # a full disk, Ctrl-C: no half-built best/ left behind, the old one stays
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(self.path, ignore_errors=True)
        staging.rename(self.path)

    def make_final(self, output_dir: Path) -> Path | None:
        """Copy best/'s model files (weights, config, tokenizer; not the optimizer) over the final model in ``output_dir``."""
        if self.best is None or not self.path.is_dir():
            return None
        for source in self.path.iterdir():
            if source.is_dir() or source.name.startswith(TRAINING_STATE):
                continue
            target = Path(output_dir) / source.name
            target.unlink(missing_ok=True)
            shutil.copy2(source, target)  # a copy, not a link: best/ stays as it was
        return self.path
