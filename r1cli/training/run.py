"""Running a recipe: the run directory, logs, signals, resume, and the artifacts a run leaves.

    result = run_training(recipe, resume=False, overwrite=False, subscribers=[print])

A run directory (:class:`r1cli.run_dir.RunDirectory`, which names its files)
holds the resolved recipe (secrets removed), the metrics of every logged step,
the training log (everything transformers, TRL and r1 log, so the terminal
stays the dashboard's), ``checkpoint-N/`` directories, the final model and
tokenizer, the summary and, with ``save_completions``, the sampled completions.

Ctrl-C (SIGINT), SIGTERM or SIGHUP (terminal closed, ssh dropped) asks the trainer to save a checkpoint at the end of
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
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from r1cli.config import Recipe
from r1cli.errors import R1Error, first_line
from r1cli.files import write_file
from r1cli.run_dir import RunDirectory
from r1cli.training.callbacks import PhaseEvents, drop_eval_records, emitter, phase_callback, signal_callback, time_budget_callback
from r1cli.training.flags import RunFlags
from r1cli.training.model_card import write_model_card
from r1cli.training.output_dir import (
    RunResult,
    ownership_callback,
    prepare_output_dir,
    read_paths,
    scrub_saved_secrets,
    write_resolved_config,
)
from r1cli.training.resume import (
    check_resume_changes,
    finish_without_training,
    learning_rate_callback,
    recipe_checkpoint,
    resume_changes,
    run_finished,
)
from r1cli.training.run_logging import log_to_file, quiet_imports

__all__ = ["RunResult", "TrainingInterrupted", "prepare_output_dir", "run_training"]

logger = logging.getLogger("r1cli")


class TrainingInterrupted(R1Error):
    """Training stopped on a signal after saving a checkpoint; exit code 130 like any Ctrl-C."""

    exit_code = 130
    label = "stopped"









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


def _saving_failed(exc: OSError, run: RunDirectory, recipe: Recipe) -> R1Error:
    from r1cli.files import WriteError

    last = run.last_checkpoint()
    where = f"last complete checkpoint: {last.name}; " if last else ""
    return WriteError.from_os_error(exc, exc.filename or run.path,
                                    hint=f"{where}free space or fix the path, then: "
                                         f"r1 {recipe.trainer} {recipe.path} --resume{_set_args(recipe)}"
                                    if last else "free space or fix the path, then run again with --overwrite")


def _damaged_model(exc: Exception, recipe: Recipe, checkpoint: Path | None) -> R1Error:
    from r1cli.errors import ModelError

    if checkpoint is not None:
        return ModelError(f"{checkpoint} is damaged ({first_line(exc)})",
                          hint=f"delete {checkpoint} and resume from the checkpoint before it (--resume)")
    return ModelError(f"the model files of {recipe.r1.model_name_or_path} are damaged or cut short ({first_line(exc)})",
                      hint="download or save the model again (a hub model: delete it from the cache, see `hf cache`)")


def run_training(recipe: Recipe, *, resume: bool = False, overwrite: bool = False,
                 subscribers: list[Callable[[dict], Any]] | None = None, debug: bool = False,
                 rewards=None, allow_changes: bool = False) -> RunResult:
    """Build and train ``recipe``; raise :class:`TrainingInterrupted` after a clean stop on a signal.

    ``rewards``: the command's :class:`~r1cli.rewards.calculator.RewardCalculator` (GRPO), handed to the trainer.
    ``allow_changes``: on resume, apply what differs from the run's config.yaml instead of refusing.
    The main process holds the run directory's lock for the whole run.
    """
    from r1cli.config.secrets import secret_values
    from r1cli.training.distributed import on_main_process, start_process_group
    from r1cli.training.launch import is_main_process

    quiet_imports()  # issue 16: before anything imports TRL (its prints go to training.log, not the terminal)
    run = RunDirectory.of(recipe)
    output_dir = run.path
    # Under `accelerate launch` every process runs this; only the main one touches the run directory.
    start_process_group(recipe.values.get("ddp_timeout"), recipe.values.get("ddp_backend"))
    main = is_main_process()
    held = contextlib.ExitStack()

    def start_run_dir() -> tuple[Path | None, list, bool]:
        held.enter_context(run.lock())
        resuming, wanted = recipe_checkpoint(recipe, run, resume)
        found = prepare_output_dir(run, resume=resuming, overwrite=overwrite, reads=read_paths(recipe),
                                   checkpoint=wanted)
        changes: list = []
        finished = False
        if found is not None:
            finished = run_finished(recipe, run, found)
            if not finished:
                changes = resume_changes(recipe, run)
                check_resume_changes(changes, allow_changes)
        if not finished:
            names = [run.CONFIG, run.METRICS, run.LOG, run.SUMMARY] + ([run.COMPLETIONS] if recipe.r1.save_completions else [])
            run.record(*names)
            write_resolved_config(recipe, run, changes=changes, at=found)
        return found, changes, finished

    from r1cli.training.build import prepare_parts

    # What would fail before step 1 fails here, at the recipe's file:line, before the run directory is touched.
    # Libraries warn while it builds (deprecated TRL arguments...): kept for training.log, not the terminal.
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        prepared = prepare_parts(recipe, output_dir, rewards=rewards)
    prepared.extra["warnings"] = [f"{w.category.__name__}: {w.message}" for w in said]
    with held:
        checkpoint, changes, finished = on_main_process(start_run_dir)
        if finished:
            return on_main_process(lambda: finish_without_training(recipe, run, checkpoint))
        return _train(recipe, run, checkpoint, changes, main=main, subscribers=subscribers, debug=debug, rewards=rewards,
                      secrets=secret_values(recipe.values), prepared=prepared)


def _train(recipe: Recipe, run: RunDirectory, checkpoint: Path | None, changes: list, *, main: bool, subscribers,
           debug: bool, rewards, secrets: set[str], prepared=None) -> RunResult:
    from r1cli.hardware import has_gpu
    from r1cli.training.allocator import keep_freed_memory
    from r1cli.training.build import build_parts, build_trainer
    from r1cli.training.completions import CompletionsCallback
    from r1cli.training.distributed import replica_logging
    from r1cli.training.metrics import MetricsCallback

    output_dir = run.path
    before = run.entries()
    _configure_wandb(recipe)
    started = time.time()
    logs = log_to_file(run.log, debug=debug or bool(recipe.r1.debug_mode)) if main else replica_logging()
    with logs:
        # --- issue 16: long phases named on screen; a resumed start-of-run eval not logged twice ---
        emit = emitter(subscribers if main else [])
        logging.getLogger("r1cli").addHandler(PhaseEvents(emit))  # removed with log_to_file's handlers
        if main and checkpoint is not None and recipe.get("eval_on_start"):
            drop_eval_records(run.metrics, RunDirectory.checkpoint_step(checkpoint))
        # --- end issue 16 ---
        logger.info("r1 %s run from %s into %s", recipe.trainer, recipe.path, output_dir)
        for message in (prepared.extra.get("warnings", []) if prepared is not None else []):
            logger.warning("while checking the recipe: %s", message)
        for key, old, new in changes:
            logger.warning("resumed with a change (--allow-changes): %s %r -> %r", key, old, new)
        if not has_gpu():
            keep_freed_memory()
        try:
            parts = build_parts(recipe, output_dir, rewards=rewards, prepared=prepared)
        except Exception as exc:
            if type(exc).__name__ == "SafetensorError":
                raise _damaged_model(exc, recipe, None) from exc
            raise
        metrics = MetricsCallback(run.metrics, overwrite=True)
        for subscriber in subscribers or []:
            metrics.subscribe(subscriber)
        stopper = signal_callback(metrics.emit)
        callbacks = [metrics, stopper, phase_callback(emit, bool(recipe.get("eval_on_start"))), ownership_callback(run, before, secrets, main)]
        if any(key == "learning_rate" for key, _, _ in changes):
            callbacks.append(learning_rate_callback(float(recipe.get("learning_rate"))))
        flags = RunFlags()
        budget = time_budget_callback(recipe.r1.max_train_minutes, flags) if recipe.r1.max_train_minutes else None
        if budget is not None:
            callbacks.append(budget)
        if recipe.trainer == "grpo":
            callbacks.append(CompletionsCallback(metrics, run.completions if recipe.r1.save_completions else None,
                                                 log_details=bool(recipe.r1.log_completion_details)))
        # --- issue 17: the training doctor (findings as notes and metrics.jsonl events, keep_best, stop_on_collapse) ---
        from r1cli.training.doctor_callback import doctor_callback_for

        doctor = doctor_callback_for(recipe, metrics, run, rewards)
        if doctor is not None:
            callbacks.append(doctor)
        # --- end issue 17 ---
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
            summary = _summary(trainer, started, stopper.signal_name,
                               budget is not None and budget.stopped_at is not None)
            summary["resumed_from_step"] = RunDirectory.checkpoint_step(checkpoint) if checkpoint else None
            if stopper.signal_name is None:
                trainer.save_model(str(output_dir))  # on every process: ZeRO-3 and FSDP gather the weights to save them
                if main:
                    parts.tokenizer.save_pretrained(str(output_dir))
                    if doctor is not None:
                        doctor.finish(output_dir)  # issue 17: final_model: best
                    write_model_card(recipe.values, run, summary)  # over transformers' card (base model "None")
            if main:
                run.record_new(before)
                scrub_saved_secrets(output_dir, secrets, trainer.args)
                write_file(run.summary, json.dumps(summary, indent=2) + "\n")
        except OSError as exc:
            raise _saving_failed(exc, run, recipe) from exc
        except Exception as exc:
            if type(exc).__name__ == "SafetensorError":
                raise _damaged_model(exc, recipe, checkpoint) from exc
            from r1cli.rewards.calling import RewardCallError  # issue 13: a failing reward stops the run cleanly

            if isinstance(exc, RewardCallError):
                last = run.last_checkpoint()
                raise exc.at(exc.where, hint=f"last complete checkpoint: {last.name}; fix the reward, then: r1 "
                             f"{recipe.trainer} {recipe.path} --resume{_set_args(recipe)}" if last else
                             "no checkpoint was saved yet; fix the reward, then run again with --overwrite") from exc
            raise
        finally:
            stopper.uninstall()
            if main:
                with contextlib.suppress(OSError):
                    run.record_new(before)  # whatever was saved, even half-way: r1's to remove with --overwrite
    if stopper.signal_name is not None:
        saved = run.last_checkpoint()
        interrupted = TrainingInterrupted(
            f"stopped by {stopper.signal_name} at step {trainer.state.global_step}; checkpoint saved in {saved}",
            hint=f"resume with: r1 {recipe.trainer} {recipe.path} --resume{_set_args(recipe)}")
        interrupted.checkpoint = saved
        raise interrupted
    return RunResult(output_dir=output_dir, global_step=trainer.state.global_step, metrics=summary["last"])
