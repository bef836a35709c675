"""A run directory and the files r1 writes into it: the one place their names are spelled.

    run = RunDirectory.of(recipe)          # output_dir, else runs/<recipe file name>
    run.metrics                            # <run>/metrics.jsonl
    run.last_checkpoint()                  # newest complete checkpoint-N, or None

Every writer (training, the real-time completions log, `r1 report`) and every
reader (resume, `r1 report`, the tests) asks this object for a path instead of
spelling a file name. Nothing here imports torch, or anything above the lowest
layer: a recipe is read by its attributes only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class RunDirectory:
    """The directory of one sft/grpo run (it need not exist yet)."""

    CONFIG = "config.yaml"  # the resolved recipe, secrets removed
    METRICS = "metrics.jsonl"  # every logged step
    LOG = "training.log"  # what transformers, TRL and r1 log
    SUMMARY = "summary.json"  # how the run ended
    COMPLETIONS = "completions.jsonl"  # sampled completions (save_completions)
    REPORT_PNG = "report.png"  # `r1 report`
    REPORT_HTML = "report.html"
    CHECKPOINT_PREFIX = "checkpoint-"  # transformers' checkpoint-N directories
    TRAINER_STATE = "trainer_state.json"  # written last into a checkpoint by transformers

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @classmethod
    def of(cls, recipe: Any) -> "RunDirectory":
        """A recipe's run directory: its ``output_dir``, else ``runs/<recipe file name>``."""
        return cls(recipe.r1.output_dir or Path("runs") / Path(recipe.path).stem)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def metrics(self) -> Path:
        return self.path / self.METRICS

    @property
    def log(self) -> Path:
        return self.path / self.LOG

    @property
    def summary(self) -> Path:
        return self.path / self.SUMMARY

    @property
    def completions(self) -> Path:
        return self.path / self.COMPLETIONS

    @property
    def report_png(self) -> Path:
        return self.path / self.REPORT_PNG

    @property
    def report_html(self) -> Path:
        return self.path / self.REPORT_HTML

    @property
    def markers(self) -> tuple[Path, ...]:
        """The files only an r1 run writes: one of them (or a checkpoint) makes a directory an r1 run."""
        return (self.config, self.metrics, self.log, self.summary)

    def checkpoint(self, step: int) -> Path:
        return self.path / f"{self.CHECKPOINT_PREFIX}{step}"

    @classmethod
    def checkpoint_step(cls, checkpoint: str | os.PathLike) -> int | None:
        """N of a ``checkpoint-N`` path, else None."""
        name = Path(checkpoint).name
        suffix = name.rpartition("-")[2] if name.startswith(cls.CHECKPOINT_PREFIX) else ""
        return int(suffix) if suffix.isascii() and suffix.isdigit() else None

    def checkpoints(self) -> list[Path]:
        """The complete ``checkpoint-N`` directories, oldest first.

        transformers writes trainer_state.json last, and not atomically: a run killed
        while saving leaves a directory without it, or with it cut short. Only a
        trainer_state.json that reads as a JSON object makes a checkpoint complete.
        """
        found = []
        for path in self.path.glob(f"{self.CHECKPOINT_PREFIX}*"):
            step = self.checkpoint_step(path)
            if step is not None and path.is_dir() and _complete_state(path / self.TRAINER_STATE):
                found.append((step, path))
        return [path for _, path in sorted(found)]

    def last_checkpoint(self) -> Path | None:
        """The newest complete ``checkpoint-N`` directory, or None."""
        found = self.checkpoints()
        return found[-1] if found else None

    def exists(self) -> bool:
        return self.path.is_dir()

    def is_empty(self) -> bool:
        """True when the directory is missing or has nothing in it."""
        return not (self.path.is_dir() and any(self.path.iterdir()))

    def is_run(self) -> bool:
        """Does this directory look like an r1 run (a file only r1 writes, or a complete checkpoint)?"""
        return any(path.exists() for path in self.markers) or self.last_checkpoint() is not None


def _complete_state(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):  # missing, unreadable, cut short, not UTF-8
        return False
