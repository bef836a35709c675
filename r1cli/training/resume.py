"""--resume means the same run: what may change on resume, a finished run (nothing to do), the recipe's
``resume_from_checkpoint``, and a changed learning rate applied to the restored schedule."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from r1cli.config import Recipe
from r1cli.config.secrets import redact
from r1cli.errors import R1Error
from r1cli.files import write_file
from r1cli.run_dir import RunDirectory
from r1cli.training.output_dir import RunResult

logger = logging.getLogger("r1cli")


# Keys a resumed run may change: they decide how long it runs, what it logs and saves, and where;
# not what it learns. Any other difference from the run's config.yaml alters training (--allow-changes).
RESUME_MAY_CHANGE = frozenset({
    "max_steps", "max_train_minutes", "save_steps", "save_strategy", "save_total_limit", "save_only_model",
    "logging_steps", "logging_strategy", "logging_first_step", "logging_dir", "report_to", "run_name",
    "wandb_project", "wandb_entity", "output_dir", "push_to_hub", "hub_model_id", "hub_strategy", "hub_token",
    "hub_private_repo", "debug_mode", "save_completions", "log_completion_details", "resume_from_checkpoint",
    "dataloader_num_workers", "disable_tqdm", "log_level", "eval_steps", "eval_strategy", "eval_on_start",
    "max_eval_samples", "accelerate_config", "num_processes", "num_machines", "machine_rank", "main_process_ip",
    "main_process_port", "ddp_timeout"})


# Restored from the checkpoint's optimizer state whatever the recipe says: a change could not be applied.
RESUME_CANNOT_CHANGE = frozenset({"optim", "optim_args", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon"})


# What a checkpoint holds besides the model: not copied when a missing final save is repaired from it.
TRAINING_STATE = ("optimizer.pt", "scheduler.pt", "scaler.pt", "trainer_state.json", "rng_state")


def saved_values(run: RunDirectory) -> dict[str, Any] | None:
    try:
        values = yaml.safe_load(run.config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    return values if isinstance(values, dict) else None


def resume_changes(recipe: Recipe, run: RunDirectory) -> list[tuple[str, Any, Any]]:
    """(key, saved value, new value) for every key that alters training and differs from the run's config.yaml."""
    saved = saved_values(run)
    if saved is None:
        return []
    now = yaml.safe_load(yaml.safe_dump(redact(recipe.values), sort_keys=True, allow_unicode=True)) or {}
    # A key only one side has came with another version of r1 (its default): not a change the user made.
    return [(key, saved[key], now[key]) for key in sorted(set(saved) & set(now))
            if key not in RESUME_MAY_CHANGE and saved[key] != now[key]]


def check_resume_changes(changes: list[tuple[str, Any, Any]], allow: bool) -> None:
    if not changes:
        return
    listed = "; ".join(f"{key}: {old!r} -> {new!r}" for key, old, new in changes)
    fixed = [key for key, _, _ in changes if key in RESUME_CANNOT_CHANGE]
    if fixed:
        raise R1Error(f"cannot change {', '.join(fixed)} on resume (the checkpoint's optimizer state keeps them): {listed}",
                      hint="resume with the run's own values (its config.yaml), or start a new run")
    if not allow:
        raise R1Error(f"the recipe differs from the run being resumed in what it trains: {listed}",
                      hint="resume with the run's own values (its config.yaml), or pass --allow-changes to apply them")


def run_finished(recipe: Recipe, run: RunDirectory, checkpoint: Path) -> bool:
    """Has the run already done all it was asked (max_steps reached, or ended by itself at this checkpoint)?"""
    step = RunDirectory.checkpoint_step(checkpoint) or 0
    max_steps = recipe.get("max_steps") or -1
    if max_steps > 0 and step >= max_steps:
        return True
    try:
        summary = json.loads(run.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(summary, dict) or summary.get("interrupted_by") is not None or summary.get("global_step") != step:
        return False
    saved = saved_values(run) or {}
    if summary.get("stopped_by_time_budget"):
        return saved.get("max_train_minutes") == recipe.r1.max_train_minutes and summary.get("max_steps") == max_steps
    return max_steps <= 0 or summary.get("max_steps") == max_steps


def has_final_model(run: RunDirectory) -> bool:
    names = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "adapter_model.safetensors",
             "adapter_model.bin", "pytorch_model.bin.index.json")
    return any((run.path / name).exists() for name in names)


def repair_final_save(run: RunDirectory, checkpoint: Path) -> list[str]:
    """Copy the model files of the run's last checkpoint to the run directory when its final save is missing."""
    if has_final_model(run):
        return []
    copied = []
    for item in sorted(checkpoint.iterdir()):
        if item.is_file() and not item.name.startswith(TRAINING_STATE):
            target = run.path / item.name
            if target.exists() and target.name not in run.recorded():
                continue  # never replace a file r1 did not write
            run.record(item.name)
            shutil.copy2(item, target)
            copied.append(item.name)
    return copied


def finish_without_training(recipe: Recipe, run: RunDirectory, checkpoint: Path) -> RunResult:
    step = RunDirectory.checkpoint_step(checkpoint) or 0
    repaired = repair_final_save(run, checkpoint)
    try:
        summary = json.loads(run.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = None
    if not isinstance(summary, dict) or summary.get("interrupted_by") is not None or repaired:
        state = json.loads((checkpoint / RunDirectory.TRAINER_STATE).read_text(encoding="utf-8"))
        summary = {"global_step": step, "max_steps": state.get("max_steps"), "wall_seconds": 0.0,
                   "interrupted_by": None, "stopped_by_time_budget": False,
                   "last": (summary or {}).get("last", {}) if isinstance(summary, dict) else {},
                   "final_model_from": checkpoint.name if repaired else None}
        run.record(RunDirectory.SUMMARY)
        write_file(run.summary, json.dumps(summary, indent=2) + "\n")
    note = f"; final model restored from {checkpoint.name}" if repaired else ""
    return RunResult(output_dir=run.path, global_step=step, metrics=summary.get("last", {}),
                     nothing_to_do=f"the run already finished at step {step}{note}")


def recipe_checkpoint(recipe: Recipe, run: RunDirectory, resume: bool) -> tuple[bool, Path | None]:
    """The recipe's ``resume_from_checkpoint``, honoured or refused: (resume?, which checkpoint)."""
    value = recipe.values.get("resume_from_checkpoint")
    if value in (None, False, ""):
        return resume, None
    if value is True or str(value).strip().lower() in ("true", "yes", "last"):
        return True, None
    path = Path(os.path.expanduser(str(value)))
    inside = Path(os.path.realpath(path)).parent == Path(os.path.realpath(run.path))
    if not inside or RunDirectory.checkpoint_step(path) is None:
        raise R1Error(f"resume_from_checkpoint: {value} is not a checkpoint of this run ({run.path})",
                      hint="name one of its checkpoint-N directories, or `true` for the last; to start from another "
                           "model's weights, set model_name_or_path")
    if path.resolve() not in [p.resolve() for p in run.checkpoints()]:
        raise R1Error(f"resume_from_checkpoint: {value} is not a complete checkpoint",
                      hint=f"its {RunDirectory.TRAINER_STATE} is missing or cut short; name an earlier checkpoint")
    return True, run.path / path.name


def learning_rate_callback(learning_rate: float):
    from transformers import TrainerCallback

    class ApplyNewLearningRate(TrainerCallback):
        """--allow-changes learning_rate on resume: the restored optimizer and schedule take the new peak rate."""

        def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
            if optimizer is None:
                return control
            for group in optimizer.param_groups:
                group["initial_lr"] = learning_rate
            if lr_scheduler is not None and hasattr(lr_scheduler, "base_lrs"):
                lr_scheduler.base_lrs = [learning_rate] * len(optimizer.param_groups)
                lambdas = getattr(lr_scheduler, "lr_lambdas", None)
                for group, rule in zip(optimizer.param_groups, lambdas or []):
                    group["lr"] = learning_rate * rule(lr_scheduler.last_epoch)
                if lambdas:
                    lr_scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
            else:
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate
            logger.info("learning_rate changed on resume: the schedule continues from %s", learning_rate)
            return control

    return ApplyNewLearningRate()
