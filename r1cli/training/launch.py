"""Scale-out: `r1 grpo` / `r1 sft` re-launch themselves under ``accelerate launch``.

    plan = launch_plan(recipe.values, gpus=gpu_count())   # None: train in this process
    if plan is not None and not launched_by_a_launcher():
        argv = launch_argv(plan, trainer="grpo", recipe=path, overrides=["num_processes=8"])
        sys.exit(relaunch(argv))                            # accelerate launch ... -m r1cli grpo RECIPE ...

:func:`launch_argv` is pure, so the command the tests check is the one that
runs. The launched processes run ``python -m r1cli grpo RECIPE`` again; they
see the launcher's environment (``LOCAL_RANK``, ``WORLD_SIZE``...) and train
instead of launching again. Starting r1 under ``accelerate launch -m r1cli``
or ``torchrun -m r1cli`` yourself lands in the same place.

The engines are accelerate's: the shipped configs (``templates/accelerate``)
are DDP, DeepSpeed ZeRO-2 / ZeRO-3 and FSDP. On a machine without a GPU the
``ddp`` config still starts several processes (torch's elastic launcher),
and each one trains on the CPU with the gloo backend.

Nothing here imports torch: ``r1 validate`` uses :func:`launch_plan` too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from r1cli.config.templates import ACCELERATE_CONFIGS, accelerate_config_path
from r1cli.errors import ConfigError, first_line

# Set by every launcher r1 can be started under: torchrun / accelerate (multi-GPU, DeepSpeed, FSDP)
# set LOCAL_RANK and WORLD_SIZE; accelerate's single-process launcher sets only its ACCELERATE_* flags;
# mpirun sets its own.
LAUNCHER_ENV = ("LOCAL_RANK", "WORLD_SIZE", "ACCELERATE_MIXED_PRECISION", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_RANK_ENV = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
_WORLD_ENV = ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")

# accelerate's distributed_type values that need CUDA GPUs (DDP also runs on CPU with gloo).
GPU_ONLY_TYPES = {"DEEPSPEED": "DeepSpeed", "FSDP": "FSDP"}
KNOWN_TYPES = ("NO", "MULTI_GPU", "MULTI_CPU", "DEEPSPEED", "FSDP", "MEGATRON_LM", "XLA", "MULTI_NPU", "MULTI_XPU",
               "MULTI_MLU", "MULTI_MUSA", "MULTI_HPU", "MULTI_SDAA", "MULTI_NEURON")

# A first Ctrl-C asks every process to checkpoint at the end of its step, which can take longer than
# torch's default 30 s grace before the launcher kills the workers.
SHUTDOWN_GRACE_SECONDS = "600"


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


def launch_argv(plan: LaunchPlan, *, trainer: str, recipe: str | os.PathLike, overrides: Sequence[str] = (),
                resume: bool = False, overwrite: bool = False, live: bool | None = None,
                debug: bool = False) -> list[str]:
    """``accelerate launch ... -m r1cli <trainer> RECIPE ...``: the command :func:`relaunch` runs."""
    argv = ["accelerate", "launch", "--config_file", str(plan.config_file), "--num_processes", str(plan.num_processes)]
    if plan.num_machines > 1:
        argv += ["--num_machines", str(plan.num_machines), "--machine_rank", str(plan.machine_rank),
                 "--main_process_ip", str(plan.main_process_ip)]
    if plan.main_process_port is not None:
        argv += ["--main_process_port", str(plan.main_process_port)]
    if plan.mixed_precision is not None:
        argv += ["--mixed_precision", plan.mixed_precision]
    argv += ["-m", "r1cli", *(["--debug"] if debug else []), trainer, str(recipe)]
    for item in overrides:
        argv += ["--set", item]
    if resume:
        argv.append("--resume")
    if overwrite:
        argv.append("--overwrite")
    if live is not None:
        argv.append("--live" if live else "--no-live")
    return argv


def launched_by_a_launcher(env: Mapping[str, str] | None = None) -> bool:
    """True inside a process started by accelerate, torchrun or mpirun (so r1 trains instead of launching)."""
    env = os.environ if env is None else env
    return any(name in env for name in LAUNCHER_ENV)


def _first_int(env: Mapping[str, str], names: Sequence[str], default: int) -> int:
    for name in names:
        if env.get(name, "").strip().isdigit():
            return int(env[name])
    return default


def process_rank(env: Mapping[str, str] | None = None) -> int:
    """This process's global rank (0 when not launched)."""
    return _first_int(os.environ if env is None else env, _RANK_ENV, 0)


def world_size(env: Mapping[str, str] | None = None) -> int:
    """How many processes train together (1 when not launched)."""
    return _first_int(os.environ if env is None else env, _WORLD_ENV, 1)


def is_main_process(env: Mapping[str, str] | None = None) -> bool:
    return process_rank(env) == 0


def relaunch(argv: Sequence[str]) -> int:
    """Run ``argv`` (from :func:`launch_argv`) in this interpreter's environment; return its exit code."""
    if list(argv[:2]) != ["accelerate", "launch"]:
        raise ValueError(f"not an accelerate launch command: {list(argv[:2])}")
    # accelerate's module entry point, so the launcher runs in this very interpreter and environment.
    command = [sys.executable, "-m", "accelerate.commands.accelerate_cli", *argv[1:]]
    env = dict(os.environ)
    env.setdefault("TORCH_ELASTIC_SHUTDOWN_TIMEOUT", SHUTDOWN_GRACE_SECONDS)
    return run_forwarding_signals(command, env)


def run_forwarding_signals(command: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Run ``command`` and return its exit code; SIGINT/SIGTERM reach it once, the way a one-process run gets them.

    The child runs in its own session, so a Ctrl-C reaches it once, from
    here (the terminal would otherwise signal every worker directly, and the
    launcher would signal them again: a second signal, which stops at once).
    The launcher hands the first signal to every worker once: each saves a
    checkpoint at the end of its step and stops. A second signal goes to
    every process of the session: stop now.
    """
    process = subprocess.Popen(list(command), env=None if env is None else dict(env), start_new_session=True)
    received: list[int] = []

    def forward(signum, frame) -> None:
        received.append(signum)
        try:
            if len(received) == 1:
                process.send_signal(signum)
            else:
                os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass  # already gone

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code < 0:
        code = 128 - code  # killed by a signal: the shell's convention
    # The launcher reports a stopped worker as a plain failure; say "interrupted" like a one-process run.
    return 130 if received and code != 0 else code
