"""Scale-out: `r1 grpo` / `r1 sft` re-launch themselves under ``accelerate launch``.

    plan = launch_plan(recipe.values, gpus=gpu_count())   # r1cli.config.launch; None: train in this process
    if plan is not None and not launched_by_a_launcher():
        argv = launch_argv(plan, trainer="grpo", recipe=path, overrides=["num_processes=8"])
        sys.exit(relaunch(argv))                            # accelerate launch ... -m r1cli grpo RECIPE ...

:func:`launch_argv` is pure, so the command the tests check is the one that
runs. The launched processes run ``python -m r1cli grpo RECIPE`` again; they
see the launcher's environment (``LOCAL_RANK``, ``WORLD_SIZE``...) and train
instead of launching again. Starting r1 under ``accelerate launch -m r1cli``
or ``torchrun -m r1cli`` yourself lands in the same place.

The engines are accelerate's: what a recipe's launch keys ask for (the
:class:`~r1cli.config.launch.LaunchPlan`) is read by :mod:`r1cli.config.launch`,
which ``r1 validate`` uses too. On a machine without a GPU the ``ddp`` config
still starts several processes (torch's elastic launcher), and each one trains
on the CPU with the gloo backend. Nothing here imports torch.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from typing import IO, Iterable, Iterator, Mapping, Sequence

from r1cli.config.launch import LaunchPlan

# Set by every launcher r1 can be started under: torchrun / accelerate (multi-GPU, DeepSpeed, FSDP)
# set LOCAL_RANK and WORLD_SIZE; accelerate's single-process launcher sets only its ACCELERATE_* flags;
# mpirun sets its own.
LAUNCHER_ENV = ("LOCAL_RANK", "WORLD_SIZE", "ACCELERATE_MIXED_PRECISION", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_RANK_ENV = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
_WORLD_ENV = ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")

# A first Ctrl-C asks every process to checkpoint at the end of its step, which can take longer than
# torch's default 30 s grace before the launcher kills the workers.
SHUTDOWN_GRACE_SECONDS = "600"


def launch_argv(plan: LaunchPlan, *, trainer: str, recipe: str | os.PathLike, overrides: Sequence[str] = (),
                resume: bool = False, overwrite: bool = False, live: bool | None = None,
                debug: bool = False, allow_changes: bool = False) -> list[str]:
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
    if allow_changes:
        argv.append("--allow-changes")
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
    """Run ``command`` and return its exit code; SIGINT/SIGTERM/SIGHUP reach it once, the way a one-process run gets them.

    The child runs in its own session, so a Ctrl-C reaches it once, from
    here (the terminal would otherwise signal every worker directly, and the
    launcher would signal them again: a second signal, which stops at once).
    The launcher hands the first signal to every worker once: each saves a
    checkpoint at the end of its step and stops. A second signal goes to
    every process of the session: stop now. The child's stderr passes through
    :func:`filter_launcher_noise`: once a signal was received, the elastic
    launcher's own log lines and traceback (its ``SignalException`` or
    ``ChildFailedError`` report of the stop r1 asked for) are dropped, so r1's
    resume hint is the last thing said; everything else is shown as it comes.
    """
    process = subprocess.Popen(list(command), env=None if env is None else dict(env), start_new_session=True,
                               stderr=subprocess.PIPE)
    received: list[int] = []
    pump = threading.Thread(target=_pump_stderr, args=(process.stderr, sys.stderr, received), daemon=True)
    pump.start()

    def forward(signum, frame) -> None:
        received.append(signum)
        try:
            if len(received) == 1:
                process.send_signal(signum)
            else:
                os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass  # already gone

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        code = process.wait()
        pump.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code < 0:
        code = 128 - code  # killed by a signal: the shell's convention
    # The launcher reports a stopped worker as a plain failure; say "interrupted" like a one-process run.
    return 130 if received and code != 0 else code


_ELASTIC_LOG = re.compile(r"^[DIWEF]\d{4} [\d:.]+ +\d+ .*torch/distributed/elastic/")
_ELASTIC_ERROR = "torch.distributed.elastic."
_TRACEBACK = "Traceback (most recent call last):"
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


def filter_launcher_noise(lines: Iterable[str], stopping: Sequence[int]) -> Iterator[str]:
    """The child's stderr lines, without the elastic launcher's report of a stop r1 asked for.

    While ``stopping`` is empty (no signal received) every line passes. After a
    signal, the launcher's log lines (``W1130 ... torch/distributed/elastic/...``)
    are dropped, and so is a traceback whose exception is the launcher's own
    (``torch.distributed.elastic...SignalException`` / ``ChildFailedError``, with
    the ``=====`` failure table after it). Any other traceback or line (a real
    error in a worker) is passed on whole.
    """
    block: list[str] = []
    table_rules = 0  # "=====" lines still to drop after a ChildFailedError
    for line in lines:
        if not stopping:
            yield line
            continue
        bare = line.rstrip("\r\n")
        if table_rules:
            table_rules -= bare.startswith("====")
            continue
        if block:
            if not bare or bare[0].isspace() or bare.startswith((_TRACEBACK, *_CHAINED)) or bare.startswith("^"):
                block.append(line)
                continue
            if _ELASTIC_ERROR in bare:  # the launcher's exception: drop the whole traceback
                block = []
                table_rules = 2 if "ChildFailedError" in bare else 0
                continue
            yield from block
            block = []
            yield line
            continue
        if _ELASTIC_LOG.match(bare):
            continue
        if bare == _TRACEBACK:
            block = [line]
            continue
        yield line
    yield from block


def _pump_stderr(source: IO[bytes], target: IO[str], stopping: Sequence[int]) -> None:
    """Copy the child's stderr to ours line by line, through :func:`filter_launcher_noise`."""
    lines = (raw.decode("utf-8", errors="replace") for raw in iter(source.readline, b""))
    for line in filter_launcher_noise(lines, stopping):
        try:
            target.write(line)
            target.flush()
        except (OSError, ValueError):
            pass  # our stderr is gone: keep draining so the child never blocks on a full pipe
    source.close()
