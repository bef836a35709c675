"""`r1 sft RECIPE`: train with supervised fine-tuning (completion-only loss), with a live dashboard."""

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


def sft(
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
    """Supervised fine-tuning (e.g. a format cold start before GRPO): dashboard, metrics, checkpoints."""
    from r1cli.commands._train import LaunchFlags, train_command

    launch = LaunchFlags(accelerate_config, num_processes, num_machines, machine_rank, main_process_ip, main_process_port)
    train_command("sft", recipe, overrides, resume=resume, overwrite=overwrite, live=live, launch=launch)
