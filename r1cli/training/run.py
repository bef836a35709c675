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
from r1cli.errors import OutputExistsError, R1Error, first_line
from r1cli.files import atomic_write_text, write_file
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
                          hint=_start_over_hint(run, reads, resuming=True))
        _truncate_metrics(run.metrics, RunDirectory.checkpoint_step(checkpoint))
        return checkpoint
    if run.is_empty():
        run.record()  # the manifest: from now on this directory is an r1 run
        return None
    if not overwrite:
        raise OutputExistsError(f"run directory {output_dir} is not empty", hint=_start_over_hint(run, reads))
    refusal = _overwrite_refusal(run, reads)
    if refusal is not None:
        raise OutputExistsError(f"--overwrite refused: {refusal}",
                                hint="choose another output_dir (r1 deletes only what it wrote)")
    run.remove_owned()
    return None


def _overwrite_refusal(run: RunDirectory, reads: dict[str, Path] | None) -> str | None:
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


def _start_over_hint(run: RunDirectory, reads: dict[str, Path] | None, resuming: bool = False) -> str:
    """The one way out of a used run directory: resume, start over, or go elsewhere."""
    checkpoint = run.last_checkpoint()
    refusal = _overwrite_refusal(run, reads)
    if run.is_empty():
        return "run without --resume to start a new run"
    if checkpoint is not None and not resuming:
        tail = "" if refusal else ", or --overwrite to start over"
        return f"pass --resume to continue from {checkpoint.name}{tail}"
    if refusal is None:
        return "it holds no checkpoint to resume: pass --overwrite (instead of --resume) to start over" if resuming \
            else "it holds no checkpoint to resume: pass --overwrite to start over"
    return f"choose another output_dir; r1 will not clear this one ({refusal})"


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
    bars = _quiet_progress_bars(handler)  # issue 16: tqdm bars and import-time prints stay off the dashboard
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        bars()
        logging.captureWarnings(False)
        for lg, lvl, prop, handlers in saved:
            lg.handlers, lg.propagate = handlers, prop
            lg.setLevel(lvl)
        handler.close()


_IMPORT_PRINTS: list[str] = []


def _quiet_imports() -> list[str]:
    """Import transformers' integrations with their import-time prints caught; return what they printed, once."""
    import io
    import sys

    if "transformers.integrations.integration_utils" not in sys.modules:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            import transformers.integrations.integration_utils  # noqa: F401
        _IMPORT_PRINTS.extend(printed.getvalue().splitlines())
    said = list(_IMPORT_PRINTS)
    _IMPORT_PRINTS.clear()
    return said


def _quiet_progress_bars(handler: logging.Handler) -> Callable[[], None]:
    """Switch off transformers', datasets' and the hub's tqdm bars (r1 names the phases instead); return the undo.

    transformers prints ``[INFO] Running in WANDB offline mode`` when its integrations are first imported
    (with WANDB_MODE=offline, whatever ``report_to`` says): that import happens here, its print going to the log.
    """
    import io
    import sys

    import transformers

    undo = []
    if transformers.utils.logging.is_progress_bar_enabled():
        transformers.utils.logging.disable_progress_bar()
        undo.append(transformers.utils.logging.enable_progress_bar)
    with contextlib.suppress(ImportError):
        import datasets

        if datasets.is_progress_bar_enabled():
            datasets.disable_progress_bars()
            undo.append(datasets.enable_progress_bars)
    with contextlib.suppress(ImportError):
        from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

        if not are_progress_bars_disabled():
            disable_progress_bars()
            undo.append(enable_progress_bars)
    for line in _quiet_imports():
        handler.emit(logging.LogRecord("transformers", logging.INFO, __file__, 0, line, None, None))

    def restore() -> None:
        for enable in undo:
            enable()

    return restore


def _signal_callback(emit: Callable[[dict], Any] | None = None):
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


# --- issue 16: phases and the resumed run's start-of-run eval ---------------------------------------------
class _PhaseEvents(logging.Handler):
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


def _emitter(subscribers: list[Callable[[dict], Any]] | None) -> Callable[[dict], None]:
    def emit(event: dict) -> None:
        for subscriber in subscribers or []:
            try:
                subscriber(event)
            except Exception:  # a broken display must not stop a training run
                logger.exception("subscriber %r failed on %s", subscriber, event.get("event"))

    return emit


def _phase_callback(emit: Callable[[dict], None], eval_on_start: bool):
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


def _drop_eval_records(path: Path, step: int | None) -> None:
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
# --- end issue 16 ----------------------------------------------------------------------------------------


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
_TRAINING_STATE = ("optimizer.pt", "scheduler.pt", "scaler.pt", "trainer_state.json", "rng_state")


def _saved_values(run: RunDirectory) -> dict[str, Any] | None:
    try:
        values = yaml.safe_load(run.config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    return values if isinstance(values, dict) else None


def resume_changes(recipe: Recipe, run: RunDirectory) -> list[tuple[str, Any, Any]]:
    """(key, saved value, new value) for every key that alters training and differs from the run's config.yaml."""
    saved = _saved_values(run)
    if saved is None:
        return []
    now = yaml.safe_load(yaml.safe_dump(redact(recipe.values), sort_keys=True, allow_unicode=True)) or {}
    # A key only one side has came with another version of r1 (its default): not a change the user made.
    return [(key, saved[key], now[key]) for key in sorted(set(saved) & set(now))
            if key not in RESUME_MAY_CHANGE and saved[key] != now[key]]


def _check_resume_changes(changes: list[tuple[str, Any, Any]], allow: bool) -> None:
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


def _finished(recipe: Recipe, run: RunDirectory, checkpoint: Path) -> bool:
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
    saved = _saved_values(run) or {}
    if summary.get("stopped_by_time_budget"):
        return saved.get("max_train_minutes") == recipe.r1.max_train_minutes and summary.get("max_steps") == max_steps
    return max_steps <= 0 or summary.get("max_steps") == max_steps


def _has_final_model(run: RunDirectory) -> bool:
    names = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "adapter_model.safetensors",
             "adapter_model.bin", "pytorch_model.bin.index.json")
    return any((run.path / name).exists() for name in names)


def _repair_final_save(run: RunDirectory, checkpoint: Path) -> list[str]:
    """Copy the model files of the run's last checkpoint to the run directory when its final save is missing."""
    if _has_final_model(run):
        return []
    copied = []
    for item in sorted(checkpoint.iterdir()):
        if item.is_file() and not item.name.startswith(_TRAINING_STATE):
            target = run.path / item.name
            if target.exists() and target.name not in run.recorded():
                continue  # never replace a file r1 did not write
            run.record(item.name)
            shutil.copy2(item, target)
            copied.append(item.name)
    return copied


def _finish_without_training(recipe: Recipe, run: RunDirectory, checkpoint: Path) -> RunResult:
    step = RunDirectory.checkpoint_step(checkpoint) or 0
    repaired = _repair_final_save(run, checkpoint)
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


def _recipe_checkpoint(recipe: Recipe, run: RunDirectory, resume: bool) -> tuple[bool, Path | None]:
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


def _ownership_callback(run: RunDirectory, before: set[str], secrets: set[str], main: bool):
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


def _learning_rate_callback(learning_rate: float):
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

    _quiet_imports()  # issue 16: before anything imports TRL (its prints go to training.log, not the terminal)
    run = RunDirectory.of(recipe)
    output_dir = run.path
    # Under `accelerate launch` every process runs this; only the main one touches the run directory.
    start_process_group(recipe.values.get("ddp_timeout"), recipe.values.get("ddp_backend"))
    main = is_main_process()
    held = contextlib.ExitStack()

    def start_run_dir() -> tuple[Path | None, list, bool]:
        held.enter_context(run.lock())
        resuming, wanted = _recipe_checkpoint(recipe, run, resume)
        found = prepare_output_dir(run, resume=resuming, overwrite=overwrite, reads=read_paths(recipe),
                                   checkpoint=wanted)
        changes: list = []
        finished = False
        if found is not None:
            finished = _finished(recipe, run, found)
            if not finished:
                changes = resume_changes(recipe, run)
                _check_resume_changes(changes, allow_changes)
        if not finished:
            names = [run.CONFIG, run.METRICS, run.LOG, run.SUMMARY] + ([run.COMPLETIONS] if recipe.r1.save_completions else [])
            run.record(*names)
            write_resolved_config(recipe, run, changes=changes, at=found)
        return found, changes, finished

    from r1cli.training.build import prepare_parts

    # What would fail before step 1 fails here, at the recipe's file:line, before the run directory is touched.
    prepared = prepare_parts(recipe, output_dir, rewards=rewards)
    with held:
        checkpoint, changes, finished = on_main_process(start_run_dir)
        if finished:
            return on_main_process(lambda: _finish_without_training(recipe, run, checkpoint))
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
        emit = _emitter(subscribers if main else [])
        logging.getLogger("r1cli").addHandler(_PhaseEvents(emit))  # removed with log_to_file's handlers
        if main and checkpoint is not None and recipe.get("eval_on_start"):
            _drop_eval_records(run.metrics, RunDirectory.checkpoint_step(checkpoint))
        # --- end issue 16 ---
        logger.info("r1 %s run from %s into %s", recipe.trainer, recipe.path, output_dir)
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
        stopper = _signal_callback(metrics.emit)
        callbacks = [metrics, stopper, _phase_callback(emit, bool(recipe.get("eval_on_start"))), _ownership_callback(run, before, secrets, main)]
        if any(key == "learning_rate" for key, _, _ in changes):
            callbacks.append(_learning_rate_callback(float(recipe.get("learning_rate"))))
        flags = RunFlags()
        budget = _time_budget_callback(recipe.r1.max_train_minutes, flags) if recipe.r1.max_train_minutes else None
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
