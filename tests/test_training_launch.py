"""The `accelerate launch` command r1 builds, for every shipped config, and how r1 runs it (exit code, signals)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from r1cli.config.launch import ACCELERATE_CONFIGS, LaunchPlan, launch_plan, launch_problems
from r1cli.config.templates import templates_dir
from r1cli.errors import ConfigError
from r1cli.training.launch import launch_argv, launched_by_a_launcher, process_rank, world_size

SHIPPED = templates_dir() / "accelerate"
KINDS = {"ddp": "MULTI_GPU", "zero2": "DEEPSPEED", "zero3": "DEEPSPEED", "fsdp": "FSDP"}


def argv_for(values: dict, gpus: int = 8, **options) -> list[str]:
    return launch_argv(launch_plan(values, gpus=gpus), trainer="grpo", recipe="recipe.yaml", **options)


@pytest.mark.parametrize("name", ACCELERATE_CONFIGS)
def test_one_node_eight_gpus(name):
    """The README's one-node commands: `r1 grpo recipe.yaml --accelerate-config NAME --num-processes 8`."""
    overrides = [f"accelerate_config={name}", "num_processes=8"]
    argv = argv_for({"accelerate_config": name, "num_processes": 8}, overrides=overrides)
    assert argv == ["accelerate", "launch", "--config_file", str(SHIPPED / f"{name}.yaml"), "--num_processes", "8",
                    "-m", "r1cli", "grpo", "recipe.yaml", "--set", f"accelerate_config={name}", "--set", "num_processes=8"]
    assert launch_plan({"accelerate_config": name}, gpus=8).distributed_type == KINDS[name]


@pytest.mark.parametrize("name", ACCELERATE_CONFIGS)
def test_accelerate_reads_the_shipped_config_and_the_command_as_r1_means_them(name):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    config = load_config_from_file(str(SHIPPED / f"{name}.yaml"))
    assert config.distributed_type.value == KINDS[name]
    argv = argv_for({"accelerate_config": name, "num_processes": 4, "bf16": True}, gpus=4, resume=True, live=False)
    args, _, _ = _validate_launch_command(launch_command_parser().parse_args(argv[2:]))
    assert args.num_processes == 4 and args.mixed_precision == "bf16" and args.module
    assert (args.training_script, args.training_script_args) == ("r1cli", ["grpo", "recipe.yaml", "--resume", "--no-live"])
    assert (args.multi_gpu, args.use_deepspeed, args.use_fsdp) == (name == "ddp", name.startswith("zero"), name == "fsdp")
    if name.startswith("zero"):
        assert args.zero_stage == int(name[-1])
    if name == "fsdp":
        assert args.fsdp_state_dict_type == "FULL_STATE_DICT"  # the final model is one loadable checkpoint


def test_multi_node_slurm_command():
    """The README's SLURM line on node 1 of 2: rank, main address and port go to accelerate."""
    values = {"accelerate_config": "zero3", "num_processes": 16, "num_machines": 2, "machine_rank": 1,
              "main_process_ip": "10.0.0.1", "main_process_port": 29500}
    argv = argv_for(values, overrides=["num_machines=2"])
    assert argv[:16] == ["accelerate", "launch", "--config_file", str(SHIPPED / "zero3.yaml"), "--num_processes", "16",
                         "--num_machines", "2", "--machine_rank", "1", "--main_process_ip", "10.0.0.1",
                         "--main_process_port", "29500", "-m", "r1cli"]
    assert launch_plan(values, gpus=8).processes_per_machine == 8


def test_defaults_one_process_per_gpu_and_cpu_runs_in_float32():
    assert launch_plan({}, gpus=8) is None and launch_plan({"num_processes": 1}, gpus=8) is None
    assert launch_plan({"accelerate_config": "zero3"}, gpus=1).num_processes == 1  # DeepSpeed needs its launcher
    assert launch_plan({"accelerate_config": "ddp"}, gpus=4).num_processes == 4
    assert launch_plan({"accelerate_config": "ddp", "num_machines": 2}, gpus=4).num_processes == 8
    cpu = launch_plan({"num_processes": 2}, gpus=0)
    assert cpu.config_file == SHIPPED / "ddp.yaml" and cpu.mixed_precision == "no"
    assert argv_for({"num_processes": 2}, gpus=0)[6:8] == ["--mixed_precision", "no"]
    assert launch_plan({"num_processes": 2, "fp16": True}, gpus=2).mixed_precision == "fp16"
    assert launch_plan({"num_processes": 2, "bf16": False}, gpus=2).mixed_precision == "no"
    assert launch_plan({"num_processes": 2}, gpus=2).mixed_precision is None  # the config file decides


def test_flags_reach_the_launched_command():
    argv = argv_for({"num_processes": 2}, overwrite=True, live=True, debug=True, overrides=["seed=1", "num_processes=2"])
    assert argv[argv.index("-m"):] == ["-m", "r1cli", "--debug", "grpo", "recipe.yaml", "--set", "seed=1",
                                       "--set", "num_processes=2", "--overwrite", "--live"]


def test_own_config_file_keeps_its_process_count_and_bad_ones_are_config_errors(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text("distributed_type: MULTI_GPU\nnum_processes: 3\nmixed_precision: fp16\n")
    plan = launch_plan({"accelerate_config": str(own)}, gpus=4)
    assert (plan.config_file, plan.num_processes, plan.distributed_type) == (own, 3, "MULTI_GPU")
    for text, needle in (("distributed_type: [unclosed\n", "not valid YAML"), ("- a\n", "not a mapping"),
                         ("distributed_type: WARP\n", "unknown distributed_type")):
        own.write_text(text)
        with pytest.raises(ConfigError, match=needle):
            launch_plan({"accelerate_config": str(own)}, gpus=4)
    with pytest.raises(ConfigError, match="not found") as found:
        launch_plan({"accelerate_config": "zero4"}, gpus=4)
    assert "ddp, zero2, zero3, fsdp" in found.value.hint


def test_what_stops_a_launch_on_this_machine():
    def problems(name, processes, gpus, deepspeed=True):
        plan = launch_plan({"accelerate_config": name, "num_processes": processes}, gpus=gpus)
        return [p.message for p in launch_problems(plan, gpus=gpus, deepspeed_installed=deepspeed)]

    assert problems("zero2", 8, 8) == [] and problems("ddp", 2, 0) == []  # DDP runs on CPU (gloo)
    assert problems("zero3", 8, 8, deepspeed=False) == ["the accelerate config zero3.yaml uses DeepSpeed, which is not installed"]
    assert problems("fsdp", 2, 0) == ["FSDP needs CUDA GPUs and none is visible"]
    assert problems("ddp", 8, 4) == ["8 processes per machine but only 4 GPUs are visible"]


def test_shipped_configs_are_the_ones_named():
    assert sorted(p.stem for p in SHIPPED.glob("*.yaml")) == sorted(ACCELERATE_CONFIGS)
    for path in SHIPPED.glob("*.yaml"):
        assert yaml.safe_load(path.read_text())["compute_environment"] == "LOCAL_MACHINE"


def test_launcher_environment_is_recognised():
    assert not launched_by_a_launcher({"PATH": "/bin"})
    for name in ("LOCAL_RANK", "WORLD_SIZE", "ACCELERATE_MIXED_PRECISION", "OMPI_COMM_WORLD_SIZE"):
        assert launched_by_a_launcher({name: "1"})
    assert (process_rank({}), world_size({})) == (0, 1)
    assert (process_rank({"RANK": "3", "WORLD_SIZE": "8"}), world_size({"RANK": "3", "WORLD_SIZE": "8"})) == (3, 8)
    assert process_rank({"OMPI_COMM_WORLD_RANK": "2"}) == 2


def test_plan_is_plain_data():
    plan = LaunchPlan(config_file=Path("x.yaml"), distributed_type="MULTI_GPU", num_processes=6, num_machines=3)
    assert plan.processes_per_machine == 2


# -- running it: exit codes and signals ---------------------------------------------------------

CHILD = textwrap.dedent('''
    import os, signal, sys, time
    log = sys.argv[1]
    def note(signum, frame):
        with open(log, "a") as handle:
            handle.write(signal.Signals(signum).name + "\\n")
        if signum == signal.SIGTERM:
            sys.exit(1)  # like a worker stopping after its checkpoint
    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)
    with open(log, "a") as handle:
        handle.write(f"ready {os.getsid(0) == os.getpid()}\\n")
    while True:
        time.sleep(0.05)
''')
PARENT = ("import sys; from r1cli.training.launch import run_forwarding_signals; "
          "sys.exit(run_forwarding_signals([sys.executable, sys.argv[1], sys.argv[2]]))")


def wait_for_lines(path: Path, count: int, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"{path} has fewer than {count} lines")


def test_signals_reach_the_launcher_once_then_every_process(tmp_path):
    child, log = tmp_path / "child.py", tmp_path / "log"
    child.write_text(CHILD)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(child), str(log)])
    assert wait_for_lines(log, 1) == ["ready True"]  # the launcher leads its own session
    parent.send_signal(signal.SIGINT)  # first: forwarded once (the launcher hands it to each worker)
    assert wait_for_lines(log, 2)[1] == "SIGINT"
    parent.send_signal(signal.SIGTERM)  # second: to the whole session at once
    assert parent.wait(timeout=30) == 130  # reported like an interrupted one-process run
    assert log.read_text().splitlines() == ["ready True", "SIGINT", "SIGTERM"]


def test_exit_code_is_forwarded():
    from r1cli.training.launch import relaunch, run_forwarding_signals

    assert run_forwarding_signals([sys.executable, "-c", "import sys; sys.exit(3)"]) == 3
    assert run_forwarding_signals([sys.executable, "-c", "import os; os.kill(os.getpid(), 9)"]) == 137
    with pytest.raises(ValueError):
        relaunch(["torchrun", "x"])
