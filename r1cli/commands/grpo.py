"""`r1 grpo RECIPE`: train with GRPO (reject sampling, real-time eval), with a live dashboard; on several GPUs with --num-processes."""

from __future__ import annotations

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
)


def grpo(
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
) -> None:
    """Train a recipe with GRPO: live dashboard, metrics.jsonl, checkpoints, final model."""
    from r1cli.commands._train import LaunchFlags, train_command

    launch = LaunchFlags(accelerate_config, num_processes, num_machines, machine_rank, main_process_ip, main_process_port)
    train_command("grpo", recipe, overrides, resume=resume, overwrite=overwrite, live=live, launch=launch)
