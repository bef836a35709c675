"""The run directory at the start and the end of a run: the refusal and --overwrite rules, the resolved
recipe, what r1 wrote (recorded for --overwrite) and secrets kept out of every file a save leaves."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from r1cli.config import Recipe
from r1cli.config.secrets import redact
from r1cli.errors import OutputExistsError, R1Error
from r1cli.files import atomic_write_text, write_file
from r1cli.run_dir import RunDirectory


@dataclass
class RunResult:
    """How a run ended: its directory, the last step, the last logged metrics."""

    output_dir: Path
    global_step: int
    metrics: dict[str, Any]
    nothing_to_do: str | None = None  # why a resumed run did not train (it had already finished)


def prepare_output_dir(output_dir: Path | RunDirectory, *, resume: bool, overwrite: bool,
                       reads: dict[str, Path] | None = None, checkpoint: Path | None = None) -> Path | None:
    """Check the run directory against --resume/--overwrite; return the checkpoint to resume from.

    ``reads``: what the run reads (``{"the recipe": path, "the model": path, ...}``); ``--overwrite``
    never removes a directory holding one of them, nor the current directory or a parent of it.
    ``--overwrite`` removes exactly the entries r1 recorded (:meth:`RunDirectory.owned`) and refuses,
    naming them, when anything else is there. ``checkpoint``: resume from this one (the recipe's
    ``resume_from_checkpoint``) instead of the newest.
    """
    run = output_dir if isinstance(output_dir, RunDirectory) else RunDirectory(output_dir)
    output_dir = run.path
    if resume and overwrite:
        raise R1Error("--resume and --overwrite contradict each other", hint="pass one of them")
    if resume:
        checkpoint = checkpoint or run.last_checkpoint()
        if checkpoint is None:
            raise R1Error(f"nothing to resume: {output_dir} has no complete checkpoint",
                          hint=start_over_hint(run, reads, resuming=True))
        truncate_metrics(run.metrics, RunDirectory.checkpoint_step(checkpoint))
        return checkpoint
    if run.is_empty():
        run.record()  # the manifest: from now on this directory is an r1 run
        return None
    if not overwrite:
        raise OutputExistsError(f"run directory {output_dir} is not empty", hint=start_over_hint(run, reads))
    refusal = overwrite_refusal(run, reads)
    if refusal is not None:
        raise OutputExistsError(f"--overwrite refused: {refusal}",
                                hint="choose another output_dir (r1 deletes only what it wrote)")
    run.remove_owned()
    return None


def overwrite_refusal(run: RunDirectory, reads: dict[str, Path] | None) -> str | None:
    """Why ``--overwrite`` must not clear ``run`` (None: it may)."""
    here = Path(os.path.realpath(run.path))
    cwd = Path(os.path.realpath(os.getcwd()))
    if here == cwd or here in cwd.parents:
        return f"{run.path} is the current directory or a parent of it"
    for what, path in (reads or {}).items():
        real = Path(os.path.realpath(path))
        if real == here or here in real.parents:
            return f"{run.path} holds {what} this run reads ({path})"
    foreign = run.foreign()
    if foreign:
        shown = ", ".join(foreign[:8]) + (f" and {len(foreign) - 8} more" if len(foreign) > 8 else "")
        return f"{run.path} holds files r1 did not write: {shown}"
    return None


def start_over_hint(run: RunDirectory, reads: dict[str, Path] | None, resuming: bool = False) -> str:
    """The one way out of a used run directory: resume, start over, or go elsewhere."""
    checkpoint = run.last_checkpoint()
    refusal = overwrite_refusal(run, reads)
    if run.is_empty():
        return "run without --resume to start a new run"
    if checkpoint is not None and not resuming:
        tail = "" if refusal else ", or --overwrite to start over"
        return f"pass --resume to continue from {checkpoint.name}{tail}"
    if refusal is None:
        return "it holds no checkpoint to resume: pass --overwrite (instead of --resume) to start over" if resuming \
            else "it holds no checkpoint to resume: pass --overwrite to start over"
    return f"choose another output_dir; r1 will not clear this one ({refusal})"


def truncate_metrics(path: Path, step: int) -> None:
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


def write_resolved_config(recipe: Recipe, run: RunDirectory, changes: list | None = None,
                          at: Path | None = None) -> None:
    """config.yaml: the recipe as resolved, secrets removed; a resume with changes says what changed and where."""
    text = yaml.safe_dump(redact(recipe.values), sort_keys=True, allow_unicode=True)
    history = ""
    if run.config.is_file():
        history = "".join(line + "\n" for line in run.config.read_text(encoding="utf-8", errors="replace").splitlines()
                          if line.startswith("# resumed at "))
    if changes:
        listed = "; ".join(f"{key}: {old!r} -> {new!r}" for key, old, new in changes)
        history += f"# resumed at {at.name if at else 'start'} with --allow-changes: {listed}\n"
    write_file(run.config, f"# resolved from {recipe.path}\n{history}{text}")


def read_paths(recipe: Recipe) -> dict[str, Path]:
    """The local paths a run reads (recipe, model, data, chat template): ``--overwrite`` never removes them."""
    found: dict[str, Path] = {"the recipe": Path(recipe.path)}
    candidates = [("the model", recipe.values.get("model_name_or_path")),
                  ("the dataset", recipe.values.get("dataset_name")),
                  ("the eval dataset", recipe.values.get("eval_dataset_name")),
                  ("the chat template", recipe.values.get("chat_template"))]
    mixture = recipe.values.get("dataset_mixture")
    if isinstance(mixture, dict):
        for entry in mixture.get("datasets") or []:
            if isinstance(entry, dict):
                candidates.append(("a dataset_mixture dataset", entry.get("id")))
    for what, value in candidates:
        if isinstance(value, str) and "\n" not in value and len(value) < 4096:
            path = Path(value)
            with contextlib.suppress(OSError):
                if path.exists():
                    found.setdefault(what, path)
    return found


def ownership_callback(run: RunDirectory, before: set[str], secrets: set[str], main: bool):
    from transformers import TrainerCallback

    class RecordWhatTransformersSaved(TrainerCallback):
        """After each save: record the new entries as the run's, and scrub secret values from what was saved."""

        def on_save(self, args, state, control, **kwargs):
            if main:
                run.record_new(before)
                scrub_saved_secrets(run.path, secrets, args)
            return control

    return RecordWhatTransformersSaved()


def scrub_saved_secrets(directory: Path, secrets: set[str], args: Any) -> None:
    """One rule for every file a run writes: the values config.yaml redacts appear in none of them.

    transformers pickles its TrainingArguments (``training_args.bin``) and TRL writes a model card
    (``README.md``) into the run directory and each checkpoint; both may carry ``run_name``,
    ``hub_model_id``... Each is rewritten with the secret values replaced.
    """
    if not secrets:
        return
    from r1cli.config.secrets import REDACTED

    for folder in [directory, *RunDirectory(directory).path.glob(f"{RunDirectory.CHECKPOINT_PREFIX}*")]:
        card = folder / "README.md"
        if card.is_file():
            text = card.read_text(encoding="utf-8", errors="replace")
            cleaned = text
            for secret in secrets:
                cleaned = cleaned.replace(secret, REDACTED)
            if cleaned != text:
                write_file(card, cleaned)
        pickled = folder / "training_args.bin"
        if pickled.is_file() and args is not None:
            import copy

            import torch

            clean = copy.copy(args)
            for name, value in list(vars(clean).items()):
                if isinstance(value, str) and any(secret in value for secret in secrets):
                    for secret in secrets:
                        value = value.replace(secret, REDACTED)
                    object.__setattr__(clean, name, value)
            if clean.__dict__ != args.__dict__:
                torch.save(clean, pickled)
