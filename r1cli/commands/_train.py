"""What `r1 sft` and `r1 grpo` share: load the recipe, launch or draw the run, train, say how it ended.

With launch settings asking for several processes (or any accelerate config)
the command re-launches itself under ``accelerate launch`` and waits for it
(:mod:`r1cli.training.launch`); inside the launched processes only the main
one draws the dashboard and prints, the others stay quiet except for errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from r1cli.errors import R1Error
from r1cli.commands._options import (
    AccelerateConfigOpt,
    LiveOpt,
    MachineRankOpt,
    MainProcessIpOpt,
    MainProcessPortOpt,
    NumMachinesOpt,
    NumProcessesOpt,
    OverrideOpt,
    OverwriteOpt,
    RecipeArg,
    ResumeOpt,
    debug_enabled,
)


@dataclass
class LaunchFlags:
    """``--accelerate-config``, ``--num-processes``...: shorthands for the recipe's launch keys."""

    accelerate_config: str | None = None
    num_processes: int | None = None
    num_machines: int | None = None
    machine_rank: int | None = None
    main_process_ip: str | None = None
    main_process_port: int | None = None

    def overrides(self) -> list[str]:
        return [f"{name}={value}" for name, value in vars(self).items() if value is not None]


def train_command(trainer: str, recipe_path: Path, overrides: list[str] | None, *, resume: bool, overwrite: bool,
                  live: bool | None, launch: LaunchFlags | None = None, allow_changes: bool = False) -> None:
    from r1cli.config import load_recipe
    from r1cli.errors import R1Error
    from r1cli.training import launch as launching

    overrides = list(overrides or []) + (launch.overrides() if launch else [])
    recipe = load_recipe(recipe_path, overrides=overrides, trainer=trainer)
    if not launching.launched_by_a_launcher():
        from r1cli.config.launch import launch_plan
        from r1cli.hardware import gpu_count

        plan = launch_plan(recipe.values, gpus=gpu_count())
        if plan is not None:
            _launch(plan, trainer, recipe_path, overrides, resume=resume, overwrite=overwrite, live=live,
                    allow_changes=allow_changes)
            return
    if launching.is_main_process():
        _train_and_draw(trainer, recipe, resume=resume, overwrite=overwrite, live=live, allow_changes=allow_changes)
        return
    from r1cli.training.run import TrainingInterrupted, run_training

    try:
        run_training(recipe, resume=resume, overwrite=overwrite, debug=debug_enabled(), rewards=_rewards(trainer, recipe),
                     allow_changes=allow_changes)
    except TrainingInterrupted as exc:
        raise typer.Exit(exc.exit_code) from None  # the main process says how to resume
    except R1Error as exc:
        if getattr(exc, "reported_by_main_process", False):
            raise typer.Exit(exc.exit_code) from None
        raise


def _launch(plan, trainer: str, recipe_path: Path, overrides: list[str], *, resume: bool, overwrite: bool,
            live: bool | None, allow_changes: bool = False) -> None:
    import shlex

    from r1cli.errors import ConfigError
    from r1cli.hardware import gpu_count, package_available
    from r1cli.config.launch import launch_problems
    from r1cli.training.launch import launch_argv, relaunch
    from r1cli.ui.console import console

    # `r1 validate` only warns about these on a machine without GPUs (the recipe may be meant for another one).
    problems = launch_problems(plan, gpus=gpu_count(), deepspeed_installed=package_available("deepspeed"))
    if problems:
        raise ConfigError(f"cannot launch on this machine: {problems[0].message}", hint=problems[0].hint)
    argv = launch_argv(plan, trainer=trainer, recipe=recipe_path, overrides=overrides, resume=resume,
                       overwrite=overwrite, live=live, debug=debug_enabled(), allow_changes=allow_changes)
    where = f" on {plan.num_machines} machines" if plan.num_machines > 1 else ""
    console.print(f"launching {plan.num_processes} process{'es' if plan.num_processes > 1 else ''}{where}: "
                  f"{shlex.join(argv)}", soft_wrap=True, markup=False)
    code = relaunch(argv)
    if code:
        raise typer.Exit(code)


def _train_and_draw(trainer: str, recipe, *, resume: bool, overwrite: bool, live: bool | None,
                    allow_changes: bool = False) -> None:
    from r1cli.run_dir import RunDirectory
    from r1cli.training.run import TrainingInterrupted, run_training
    from r1cli.ui.console import console
    from r1cli.ui.dashboard import INTERRUPTED_SAVED, QUIT_UNSAVED, RunInfo, make_reporter

    for warning in recipe.report.warnings:
        console.print(f"warning: {warning.format()}", soft_wrap=True, markup=False)
    run = RunDirectory.of(recipe)
    run_dir = run.path
    rewards = _rewards(trainer, recipe)
    # The dashboard's rows are the calculator's metric names: the very names TRL logs as rewards/<name>/mean.
    described = rewards.describe() if rewards is not None else []
    names, weights = [n for n, _ in described], [w for _, w in described]
    with make_reporter(live, console) as reporter:
        def on_event(event: dict) -> None:
            kind = event.get("event")
            if kind == "train_begin":
                reporter.start(RunInfo(run_name=run_dir.name, model=str(recipe.r1.model_name_or_path),
                                       trainer=trainer, total_steps=int(event.get("max_steps") or 0),
                                       minutes=recipe.r1.max_train_minutes,
                                       output_dir=str(run_dir), reward_names=names, reward_weights=weights,
                                       start_step=int(event.get("step") or 0)))
            elif kind == "phase":
                reporter.phase(str(event.get("phase", "")))
            elif kind == "stopping":
                reporter.stopping(str(event.get("signal", "SIGINT")))
            elif kind == "log":
                reporter.update(int(event["step"]), event["metrics"])
            elif kind == "sample":
                reporter.sample(int(event["step"]), event["prompt"], event["completion"], event["rewards"])
            elif kind == "note":
                reporter.note(str(event.get("message", "")))

        reporter.phase("starting: importing torch, transformers and TRL")  # the first seconds are imports
        try:
            result = run_training(recipe, resume=resume, overwrite=overwrite, subscribers=[on_event],
                                  debug=debug_enabled(), rewards=rewards, allow_changes=allow_changes)
        except TrainingInterrupted as exc:  # the first Ctrl-C: stopped cleanly after the step
            reporter.end(INTERRUPTED_SAVED if getattr(exc, "checkpoint", True) else "interrupted")
            raise
        except KeyboardInterrupt:  # the second Ctrl-C (or the first, before training started)
            reporter.end(QUIT_UNSAVED)
            raise _quit_unsaved(run, reporter.state.step, reporter.state.started_training, recipe) from None
        if not result.nothing_to_do:
            reporter.stop({"train_runtime (s)": result.metrics.get("train_runtime", 0.0)})
    if result.nothing_to_do:  # a resumed run that had already finished
        console.print(f"nothing to do: {result.nothing_to_do}; model and {run.SUMMARY} in {result.output_dir}",
                      markup=False, soft_wrap=True)
        return
    console.print(f"done: {result.global_step} steps; model, {run.METRICS} and {run.SUMMARY} in {result.output_dir}",
                  markup=False)


class QuitUnsaved(R1Error):
    """Ctrl-C again (or before training started): stopped at once, nothing saved; exit 130 like any Ctrl-C."""

    exit_code = 130
    label = "quit"


def _quit_unsaved(run, step: int, trained: bool, recipe) -> QuitUnsaved:
    if not trained:
        return QuitUnsaved("interrupted before training started; nothing was saved")
    last = run.last_checkpoint()
    if last is None:
        return QuitUnsaved(f"quit at step {step} without saving; the run has no checkpoint",
                           hint=f"start again with: r1 {recipe.trainer} {recipe.path} --overwrite")
    return QuitUnsaved(f"quit at step {step} without saving; the last checkpoint is {last.name}",
                       hint=f"continue from it with: r1 {recipe.trainer} {recipe.path} --resume")


def _rewards(trainer: str, recipe):
    """The command's one reward calculator (GRPO), handed to the trainer and the dashboard; None for SFT."""
    if trainer != "grpo":
        return None
    from r1cli.rewards.selection import calculator_for

    return calculator_for(recipe.values)


def training_command(trainer: str, doc: str):
    """The Typer command for ``r1 <trainer>``: `r1 sft` and `r1 grpo` take the same options."""

    def command(
        recipe: RecipeArg,
        overrides: OverrideOpt = None,
        resume: ResumeOpt = False,
        overwrite: OverwriteOpt = False,
        live: LiveOpt = None,
        accelerate_config: AccelerateConfigOpt = None,
        num_processes: NumProcessesOpt = None,
        num_machines: NumMachinesOpt = None,
        machine_rank: MachineRankOpt = None,
        main_process_ip: MainProcessIpOpt = None,
        main_process_port: MainProcessPortOpt = None,
        allow_changes: Annotated[bool, typer.Option(
            "--allow-changes", help="With --resume: apply recipe changes that alter training (else refused).")] = False,
    ) -> None:
        launch = LaunchFlags(accelerate_config, num_processes, num_machines, machine_rank, main_process_ip, main_process_port)
        train_command(trainer, recipe, overrides, resume=resume, overwrite=overwrite, live=live, launch=launch,
                      allow_changes=allow_changes)

    command.__name__ = command.__qualname__ = trainer
    command.__doc__ = doc
    return command
