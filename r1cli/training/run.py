"""Running a recipe: the run directory, logs, signals, resume, and the artifacts a run leaves.

    result = run_training(recipe, resume=False, overwrite=False, subscribers=[print])

A run directory (:class:`r1cli.run_dir.RunDirectory`, which names its files)
holds the resolved recipe (secrets removed), the metrics of every logged step,
the training log (everything transformers, TRL and r1 log, so the terminal
stays the dashboard's), ``checkpoint-N/`` directories, the final model and
tokenizer, the summary and, with ``save_completions``, the sampled completions.

Ctrl-C (SIGINT) or SIGTERM asks the trainer to save a checkpoint at the end of
the current step and stop; :class:`TrainingInterrupted` then tells the CLI how
to resume. A second signal stops at once (the last checkpoint stands).

Under ``accelerate launch`` every process runs :func:`run_training`; only the
main one prepares the run directory and writes these files (the others wait
for it and log errors only, see :mod:`r1cli.training.distributed`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from r1cli.config import Recipe
from r1cli.config.secrets import redact
from r1cli.errors import OutputExistsError, R1Error
from r1cli.files import atomic_write_text
from r1cli.run_dir import RunDirectory
from r1cli.training.flags import RunFlags
from r1cli.training.model_card import write_model_card

logger = logging.getLogger("r1cli")


class TrainingInterrupted(R1Error):
    """Training stopped on a signal after saving a checkpoint; exit code 130 like any Ctrl-C."""

    exit_code = 130
    label = "stopped"


@dataclass
class RunResult:
    output_dir: Path
    global_step: int
    metrics: dict[str, Any]


def prepare_output_dir(output_dir: Path | RunDirectory, *, resume: bool, overwrite: bool) -> Path | None:
    """Check the run directory against --resume/--overwrite; return the checkpoint to resume from."""
    run = output_dir if isinstance(output_dir, RunDirectory) else RunDirectory(output_dir)
    output_dir = run.path
    if resume and overwrite:
        raise R1Error("--resume and --overwrite contradict each other", hint="pass one of them")
    busy = not run.is_empty()
    if resume:
        checkpoint = run.last_checkpoint()
        if checkpoint is None:
            raise R1Error(f"nothing to resume: {output_dir} has no complete checkpoint",
                          hint="run without --resume to start a new run")
        _truncate_metrics(run.metrics, RunDirectory.checkpoint_step(checkpoint))
        return checkpoint
    if busy and not overwrite:
        raise OutputExistsError(f"run directory {output_dir} is not empty",
                                hint="pass --resume to continue from its last checkpoint, or --overwrite to start over")
    if busy:
        # Only ever delete what looks like an r1 run, never an arbitrary directory someone pointed at.
        if not run.is_run():
            raise OutputExistsError(f"{output_dir} is not empty and does not look like an r1 run directory",
                                    hint="choose another output_dir; r1 will not delete it")
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    return None


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop records logged after ``step``: the resumed run logs those steps again."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except ValueError:
            continue  # a line cut short by a crash
    atomic_write_text(path, "".join(f"{line}\n" for line in kept), force=True)


def write_resolved_config(recipe: Recipe, run: RunDirectory) -> None:
    text = yaml.safe_dump(redact(recipe.values), sort_keys=True, allow_unicode=True)
    atomic_write_text(run.config, f"# resolved from {recipe.path}\n{text}", force=True)


@contextlib.contextmanager
def log_to_file(path: Path, debug: bool = False) -> Iterator[None]:
    """Send transformers/TRL/r1 logging and Python warnings to ``path`` instead of the terminal."""
    import transformers

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = logging.DEBUG if debug else logging.INFO
    hf_logger = transformers.utils.logging.get_logger()  # the "transformers" root logger
    loggers = [logging.getLogger(name) for name in ("r1cli", "trl", "accelerate", "datasets", "py.warnings")] + [hf_logger]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers)) for lg in loggers]
    for lg in loggers:
        lg.handlers = [handler]
        lg.setLevel(level)
        lg.propagate = False
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        logging.captureWarnings(False)
        for lg, lvl, prop, handlers in saved:
            lg.handlers, lg.propagate = handlers, prop
            lg.setLevel(lvl)
        handler.close()


def _signal_callback():
    from transformers import TrainerCallback

    class StopOnSignal(TrainerCallback):
        """First SIGINT/SIGTERM: checkpoint at the end of this step and stop. Second: stop now."""

        def __init__(self) -> None:
            self.signal_name: str | None = None
            self._previous: dict[int, Any] = {}

        def install(self) -> None:
            for sig in (signal.SIGINT, signal.SIGTERM):
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

        def on_step_end(self, args, state, control, **kwargs):
            if self.signal_name is not None:
                control.should_save = True
                control.should_training_stop = True
            return control

    return StopOnSignal()


def _time_budget_callback(minutes: float, flags: RunFlags):
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


def _configure_wandb(recipe: Recipe) -> None:
    """transformers' W&B integration reads the project and entity from the environment."""
    report_to = recipe.values.get("report_to")
    wants = report_to == "wandb" or (isinstance(report_to, list) and "wandb" in report_to) or report_to == "all"
    if not wants:
        return
    if recipe.r1.wandb_project:
        os.environ["WANDB_PROJECT"] = recipe.r1.wandb_project
    if recipe.r1.wandb_entity:
        os.environ["WANDB_ENTITY"] = recipe.r1.wandb_entity


def _summary(trainer, started: float, interrupted: str | None, time_limited: bool) -> dict[str, Any]:
    history = trainer.state.log_history
    last: dict[str, Any] = {}
    for record in history:
        last.update({k: v for k, v in record.items() if isinstance(v, (int, float))})
    return {"global_step": trainer.state.global_step, "max_steps": trainer.state.max_steps,
            "wall_seconds": round(time.time() - started, 2), "interrupted_by": interrupted,
            "stopped_by_time_budget": time_limited, "last": last}


def _set_args(recipe: Recipe) -> str:
    """The run's --set items for the resume hint, with secret values left for the user to fill in."""
    import shlex

    from r1cli.config.secrets import is_secret

    items = []
    for item in recipe.overrides:
        name, _, value = item.partition("=")
        items.append(f"{name}=<hidden>" if is_secret(name.strip(), value) else item)
    return "".join(f" --set {shlex.quote(item)}" for item in items)


def run_training(recipe: Recipe, *, resume: bool = False, overwrite: bool = False,
                 subscribers: list[Callable[[dict], Any]] | None = None, debug: bool = False,
                 rewards=None) -> RunResult:
    """Build and train ``recipe``; raise :class:`TrainingInterrupted` after a clean stop on a signal.

    ``rewards``: the command's :class:`~r1cli.rewards.calculator.RewardCalculator` (GRPO), handed to the trainer.
    """
    from r1cli.hardware import has_gpu
    from r1cli.training.allocator import keep_freed_memory
    from r1cli.training.build import build_parts, build_trainer
    from r1cli.training.completions import CompletionsCallback
    from r1cli.training.metrics import MetricsCallback

    from r1cli.training.distributed import on_main_process, replica_logging, start_process_group
    from r1cli.training.launch import is_main_process

    run = RunDirectory.of(recipe)
    output_dir = run.path
    # Under `accelerate launch` every process runs this; only the main one touches the run directory.
    start_process_group(recipe.values.get("ddp_timeout"), recipe.values.get("ddp_backend"))
    main = is_main_process()

    def start_run_dir() -> Path | None:
        found = prepare_output_dir(run, resume=resume, overwrite=overwrite)
        write_resolved_config(recipe, run)
        return found

    checkpoint = on_main_process(start_run_dir)
    _configure_wandb(recipe)
    started = time.time()
    logs = log_to_file(run.log, debug=debug or bool(recipe.r1.debug_mode)) if main else replica_logging()
    with logs:
        logger.info("r1 %s run from %s into %s", recipe.trainer, recipe.path, output_dir)
        if not has_gpu():
            keep_freed_memory()
        parts = build_parts(recipe, output_dir, rewards=rewards)
        metrics = MetricsCallback(run.metrics, overwrite=True)
        for subscriber in subscribers or []:
            metrics.subscribe(subscriber)
        stopper = _signal_callback()
        callbacks = [metrics, stopper]
        flags = RunFlags()
        budget = _time_budget_callback(recipe.r1.max_train_minutes, flags) if recipe.r1.max_train_minutes else None
        if budget is not None:
            callbacks.append(budget)
        if recipe.trainer == "grpo":
            callbacks.append(CompletionsCallback(metrics, run.completions if recipe.r1.save_completions else None,
                                                 log_details=bool(recipe.r1.log_completion_details)))
        trainer = build_trainer(parts, callbacks=callbacks, run_flags=flags)
        # With tqdm off, transformers prints every log dict to stdout; metrics reach the user through r1 instead.
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
        for callback in callbacks:
            if hasattr(callback, "bind"):
                callback.bind(trainer)
        stopper.install()
        try:
            trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        finally:
            stopper.uninstall()
        summary = _summary(trainer, started, stopper.signal_name, budget is not None and budget.stopped_at is not None)
        if stopper.signal_name is None:
            trainer.save_model(str(output_dir))  # on every process: ZeRO-3 and FSDP gather the weights to save them
            if main:
                parts.tokenizer.save_pretrained(str(output_dir))
                write_model_card(recipe.values, run, summary)  # over transformers' card (base model "None")
        if main:
            atomic_write_text(run.summary, json.dumps(summary, indent=2) + "\n", force=True)
    if stopper.signal_name is not None:
        saved = run.last_checkpoint()
        raise TrainingInterrupted(
            f"stopped by {stopper.signal_name} at step {trainer.state.global_step}; checkpoint saved in {saved}",
            hint=f"resume with: r1 {recipe.trainer} {recipe.path} --resume{_set_args(recipe)}")
    return RunResult(output_dir=output_dir, global_step=trainer.state.global_step, metrics=summary["last"])
