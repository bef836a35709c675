"""The training doctor, live: the rules of :mod:`r1cli.doctor` on every logged step, and keep-the-best.

    callback = doctor_callback_for(recipe, metrics, run, rewards)   # None when the recipe turns it off
    trainer.add_callback(callback)
    ...train...
    callback.finish(run.path)                                       # final_model: best

On every ``on_log`` (train metrics and real-time ``eval/*`` alike) the
:class:`~r1cli.doctor.Doctor` observes the record. Each finding is

- appended to ``metrics.jsonl`` as ``{"step": s, "event": "doctor", "rule": ..., "message": ...,
  "recommendation": ..., "settings": {...}}`` (``r1 report`` plots only numeric metric keys, so it
  ignores these lines; ``r1 doctor`` lists them),
- emitted to the metrics subscribers as a ``{"event": "note"}`` (the dashboard's notes, a ``note:``
  line in plain mode) and written to training.log,
- with ``stop_on_collapse``, a ``collapse`` or ``nonfinite`` finding stops the run after this step.

With ``keep_best``, a new best value of ``keep_best_metric`` makes the trainer save
``checkpoint-<step>`` at once, and :class:`~r1cli.doctor.keep_best.KeepBest` links it into
``<run>/best/``; a value at step 0 (``eval_on_start``) saves the starting model there, so a run
that only gets worse keeps where it started. ``final_model: best`` copies best/ over the final
model at the end.

On ``--resume`` the rules replay the run's metrics.jsonl (already cut at the
checkpoint's step) so their windows and bests go on where they were, and
``best/keep_best.json`` says what best/ holds. Only the main process writes files;
every process sees the same logged metrics, so they all decide to stop alike.
"""

from __future__ import annotations

import logging
from pathlib import Path

from transformers import TrainerCallback

from r1cli.doctor import Doctor, Finding, finding_record
from r1cli.doctor.keep_best import KeepBest
from r1cli.run_dir import RunDirectory

logger = logging.getLogger(__name__)


class DoctorCallback(TrainerCallback):
    def __init__(self, metrics, run: RunDirectory, *, accuracy_reward: str = "accuracy", diagnose: bool = True,
                 keep_best_metric: str | None = None, final_model: str = "last", stop_on_collapse: bool = False,
                 settings: dict | None = None):
        self.metrics = metrics  # MetricsCallback: its emit() reaches the dashboard
        self.run = run
        # settings: the recipe's values, so no finding recommends what the run already has
        self.doctor = Doctor(accuracy_reward=accuracy_reward, settings=settings) if diagnose else None
        self.keeper = KeepBest(run, keep_best_metric) if keep_best_metric else None
        self.final_model = final_model
        self.stop_on_collapse = stop_on_collapse
        self.stopped_by: Finding | None = None

    def _say(self, state, message: str) -> None:
        logger.warning(message)
        if state.is_world_process_zero:
            self.metrics.emit({"event": "note", "step": state.global_step, "message": message})

    def on_train_begin(self, args, state, control, **kwargs):
        if self.doctor is not None and state.global_step > 0 and self.run.metrics.is_file():
            from r1cli.doctor.sources import load_history

            history = load_history(self.run.metrics)
            self.doctor.replay(r for r in history.records if r.get("step", 0) <= state.global_step)
            self.doctor.findings = history.logged  # said before the resume: not said again

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs:
            return
        step = state.global_step
        for finding in self.doctor.observe(step, logs) if self.doctor is not None else []:
            if state.is_world_process_zero:
                import json

                with open(self.run.metrics, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(finding_record(finding)) + "\n")
            self._say(state, finding.line())
            if finding.stops and self.stop_on_collapse and self.stopped_by is None:
                self.stopped_by = finding
                control.should_training_stop = True
                self._say(state, f"stop_on_collapse: stopping after step {step}"
                          + (f"; the best model is in {self.keeper.path}" if self.keeper and self.keeper.best else ""))
        if self.keeper is not None and step == 0:  # eval_on_start: the starting model is the first best
            self._keep_start(args, state, logs, kwargs)
        elif self.keeper is not None and self.keeper.offer(step, logs):
            if self.keeper.keep(step) is None:  # checkpoint-<step> is not on disk yet: save it now
                control.should_save = True  # whatever save_steps says
            else:  # the eval at a resumed run's start: the checkpoint it resumed from is that model
                self._said_best(state)
        return control

    def _keep_start(self, args, state, logs: dict, kwargs: dict) -> None:
        sharded = args is not None and (bool(getattr(args, "fsdp", None)) or _zero3(args))
        save = _model_saver(kwargs) if state.is_world_process_zero and not sharded else None
        try:
            kept = self.keeper.keep_start(logs, save)
        except OSError as exc:  # a full disk must not end the run: best/ is a convenience
            self._say(state, f"keep_best: could not save the starting model in {self.keeper.path}: {exc}")
            return
        if self.keeper.best is None or self.keeper.best[0] != 0:
            return
        where = f"kept in {kept}" if kept is not None else (
            "not copied (sharded weights): it is where model_name_or_path points" if sharded else "")
        if where:
            self._say(state, f"{self.keeper.metric} of the starting model: {self.keeper.best[1]:.3g}, {where}")

    def _said_best(self, state) -> None:
        step, value = self.keeper.best
        self._say(state, f"best {self.keeper.metric} so far: {value:.3g} at step {step}, kept in {self.keeper.path}")

    def on_save(self, args, state, control, **kwargs):
        if self.keeper is None or not state.is_world_process_zero:
            return
        if self.keeper.keep(state.global_step) is not None:
            self._said_best(state)

    def on_train_end(self, args, state, control, **kwargs):
        if self.keeper is not None and self.keeper.best is None:
            self._say(state, f"keep_best: no {self.keeper.metric} was logged, so nothing was kept "
                      "(real-time eval needs eval_steps and an eval dataset)")

    def finish(self, output_dir: Path) -> Path | None:
        """``final_model: best``: the best checkpoint's model becomes the final one (main process only)."""
        if self.keeper is None or self.final_model != "best":
            return None
        kept = self.keeper.make_final(output_dir)
        if kept is not None:
            step, value = self.keeper.best
            logger.warning("final_model=best: the final model is step %d's (%s=%.3g)", step, self.keeper.metric, value)
        return kept


def _zero3(args) -> bool:
    """DeepSpeed ZeRO-3: each process holds a shard of the weights, which one process cannot save."""
    config = getattr(args, "hf_deepspeed_config", None)
    return bool(config is not None and getattr(config, "is_zero3", lambda: False)())


def _model_saver(kwargs: dict):
    """``save(dir)``: the model (with PEFT, its adapter) and tokenizer that transformers hands its callbacks."""
    model, tokenizer = kwargs.get("model"), kwargs.get("processing_class")
    if model is None or not hasattr(model, "save_pretrained"):
        return None

    def save(directory: Path) -> None:
        model.save_pretrained(directory)
        if tokenizer is not None and hasattr(tokenizer, "save_pretrained"):
            tokenizer.save_pretrained(directory)

    return save


def doctor_callback_for(recipe, metrics, run: RunDirectory, rewards=None) -> DoctorCallback | None:
    """The run's doctor callback from its recipe (``doctor``, ``keep_best``...); None for SFT or when all is off.

    ``final_model: best`` turns ``keep_best`` on (there is no best model to end with otherwise)."""
    r1 = recipe.r1
    if recipe.trainer != "grpo" or not (r1.doctor or r1.keep_best or r1.stop_on_collapse or r1.final_model == "best"):
        return None
    accuracy = getattr(rewards, "accuracy_name", None) or "accuracy"
    return DoctorCallback(metrics, run, accuracy_reward=accuracy, diagnose=bool(r1.doctor or r1.stop_on_collapse),
                          keep_best_metric=r1.keep_best_metric if r1.keep_best or r1.final_model == "best" else None,
                          final_model=r1.final_model, stop_on_collapse=bool(r1.stop_on_collapse),
                          settings=run_settings(recipe))


def run_settings(recipe) -> dict:
    """Every recipe value the doctor may compare a recommendation with: what was written, and the
    defaults of r1's keys and TRL's (``keep_best`` off, ``beta``, ``num_iterations``...)."""
    from r1cli.config.trl_fields import trl_fields

    names = set(recipe.values) | set(recipe.r1_values()) | set(trl_fields())
    return {name: value for name in names if (value := recipe.get(name)) is not None}
