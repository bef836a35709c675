"""Launch settings: what a recipe's launch keys ask ``accelerate launch`` for, checked against this machine.

    plan = launch_plan(recipe.values, gpus=gpu_count())    # None: train in this process
    problems = launch_problems(plan, gpus=gpu_count(), deepspeed_installed=package_available("deepspeed"))

Pure and torch-free, so ``r1 validate`` and the training commands read a recipe's
launch keys the same way: ``r1 validate`` reports the problems as findings,
``r1 grpo`` / ``r1 sft`` refuse to launch on them and then hand the plan to
:mod:`r1cli.training.launch`, which builds and runs the command. The shipped
accelerate configs (``templates/accelerate``) are DDP, DeepSpeed ZeRO-2 /
ZeRO-3 and FSDP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from r1cli.config.templates import templates_dir
from r1cli.errors import ConfigError, first_line

# The accelerate configs r1 ships, by short name (templates/accelerate/<name>.yaml).
ACCELERATE_CONFIGS = ("ddp", "zero2", "zero3", "fsdp")
# accelerate's distributed_type values that need CUDA GPUs (DDP also runs on CPU with gloo).
GPU_ONLY_TYPES = {"DEEPSPEED": "DeepSpeed", "FSDP": "FSDP"}
KNOWN_TYPES = ("NO", "MULTI_GPU", "MULTI_CPU", "DEEPSPEED", "FSDP", "MEGATRON_LM", "XLA", "MULTI_NPU", "MULTI_XPU",
               "MULTI_MLU", "MULTI_MUSA", "MULTI_HPU", "MULTI_SDAA", "MULTI_NEURON")


def accelerate_config_path(name_or_path: str) -> Path:
    """A shipped accelerate config (ddp, zero2, zero3, fsdp) or the user's own file."""
    if name_or_path in ACCELERATE_CONFIGS:
        return templates_dir() / "accelerate" / f"{name_or_path}.yaml"
    return Path(name_or_path).expanduser()


@dataclass(frozen=True)
class LaunchPlan:
    """What ``accelerate launch`` is told: a config file and the process layout."""

    config_file: Path
    distributed_type: str
    num_processes: int
    num_machines: int = 1
    machine_rank: int = 0
    main_process_ip: str | None = None
    main_process_port: int | None = None
    mixed_precision: str | None = None  # None: the config file's

    @property
    def processes_per_machine(self) -> int:
        return max(self.num_processes // self.num_machines, 1)


def read_accelerate_config(name_or_path: str) -> tuple[Path, dict[str, Any]]:
    """(path, contents) of a shipped config name or a YAML file; :class:`ConfigError` if unusable."""
    path = accelerate_config_path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"accelerate config {name_or_path!r} not found",
                          hint=f"use one of {', '.join(ACCELERATE_CONFIGS)} or the path of a YAML file "
                               "written by `accelerate config`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"accelerate config {path} is not valid YAML: {first_line(exc)}",
                          hint="fix the file, or regenerate it with `accelerate config`") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"accelerate config {path} is not a mapping of settings",
                          hint="regenerate it with `accelerate config`")
    kind = str(data.get("distributed_type", "NO"))
    if kind not in KNOWN_TYPES:
        raise ConfigError(f"accelerate config {path} has an unknown distributed_type {kind!r}",
                          hint=f"use one of {', '.join(KNOWN_TYPES)}")
    return path, data


def _mixed_precision(values: Mapping[str, Any], gpus: int) -> str | None:
    if gpus == 0:
        return "no"  # the shipped configs say bf16; r1 trains in float32 on a CPU
    if values.get("bf16"):
        return "bf16"
    if values.get("fp16"):
        return "fp16"
    if values.get("bf16") is False and not values.get("fp16"):
        return "no"
    return None


def launch_plan(values: Mapping[str, Any], *, gpus: int) -> LaunchPlan | None:
    """The launch the recipe's launch keys ask for, or None to train in this process.

    A launch is needed for more than one process or machine, or for any
    ``accelerate_config`` (DeepSpeed needs its launcher even on one GPU).
    Without ``num_processes``, a shipped config starts one process per
    visible GPU on each machine, and your own config keeps its ``num_processes``.
    """
    name = values.get("accelerate_config")
    processes = values.get("num_processes")
    machines = int(values.get("num_machines") or 1)
    if name is None and (processes or 1) <= 1 and machines <= 1:
        return None
    path, config = read_accelerate_config(name or "ddp")
    if processes is None:
        own = name is not None and name not in ACCELERATE_CONFIGS and config.get("num_processes")
        processes = int(own) if own else max(gpus, 1) * machines
    return LaunchPlan(
        config_file=path,
        distributed_type=str(config.get("distributed_type", "NO")),
        num_processes=int(processes),
        num_machines=machines,
        machine_rank=int(values.get("machine_rank") or 0),
        main_process_ip=values.get("main_process_ip"),
        main_process_port=values.get("main_process_port"),
        mixed_precision=_mixed_precision(values, gpus),
    )


@dataclass(frozen=True)
class LaunchProblem:
    """Something that stops ``plan`` from running on this machine (a recipe key, what, how to fix it)."""

    key: str
    message: str
    hint: str


def launch_problems(plan: LaunchPlan, *, gpus: int, deepspeed_installed: bool, key: str = "accelerate_config"
                    ) -> list[LaunchProblem]:
    """Why ``plan`` cannot run here: DeepSpeed missing, no GPU for DeepSpeed/FSDP, more processes than GPUs."""
    problems = []
    engine = GPU_ONLY_TYPES.get(plan.distributed_type)
    if plan.distributed_type == "DEEPSPEED" and not deepspeed_installed:
        problems.append(LaunchProblem(key, f"the accelerate config {plan.config_file.name} uses DeepSpeed, which is "
                                      "not installed", "pip install 'r1cli[deepspeed]', or use accelerate_config: ddp or fsdp"))
    if engine and gpus == 0:
        problems.append(LaunchProblem(key, f"{engine} needs CUDA GPUs and none is visible",
                                      "use accelerate_config: ddp to try the run on CPU"))
    elif gpus and plan.processes_per_machine > gpus:
        problems.append(LaunchProblem("num_processes", f"{plan.processes_per_machine} processes per machine but only "
                                      f"{gpus} GPU{'s are' if gpus > 1 else ' is'} visible",
                                      f"set num_processes to at most {gpus * plan.num_machines}"))
    return problems
