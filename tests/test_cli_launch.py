"""`r1 grpo` / `r1 sft` launch flags, `r1 validate` launch checks, and what each process does once launched.

The launcher itself is replaced by a recorder here (tests/test_multiprocess.py runs the real one), and a
"GPU machine" is this machine with `gpu_count` and `package_available("deepspeed")` patched.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import r1cli.config.validate
import r1cli.hardware
import r1cli.training.launch
import r1cli.training.run
from r1cli.cli import app
from r1cli.config.launch import ACCELERATE_CONFIGS
from r1cli.config.templates import templates_dir
from r1cli.errors import OutputExistsError

runner = CliRunner()
GOOD = "model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\ndataset_name: openai/gsm8k\nnum_generations: 4\n" \
       "per_device_train_batch_size: 8\n"


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(GOOD)
    return path


@pytest.fixture
def launches(monkeypatch):
    """Record the argv r1 would run instead of running it; the recorded call returns ``launches.code``."""
    calls = []

    def fake(argv):
        calls.append(list(argv))
        return fake.code

    fake.code = 0
    fake.calls = calls
    monkeypatch.setattr(r1cli.training.launch, "relaunch", fake)
    for name in ("LOCAL_RANK", "WORLD_SIZE", "RANK", "ACCELERATE_MIXED_PRECISION"):
        monkeypatch.delenv(name, raising=False)
    return fake


def gpu_machine(monkeypatch, gpus: int, deepspeed: bool = True) -> None:
    real = r1cli.hardware.package_available

    def available(name):
        return deepspeed if name == "deepspeed" else real(name)

    monkeypatch.setattr(r1cli.hardware, "gpu_count", lambda: gpus)
    monkeypatch.setattr(r1cli.hardware, "package_available", available)
    monkeypatch.setattr(r1cli.config.validate, "package_available", available)


@pytest.mark.parametrize("trainer", ["grpo", "sft"])
@pytest.mark.parametrize("name", ACCELERATE_CONFIGS)
def test_flags_relaunch_under_accelerate(recipe, launches, monkeypatch, trainer, name):
    gpu_machine(monkeypatch, 8)
    result = runner.invoke(app, [trainer, str(recipe), "--accelerate-config", name, "--num-processes", "8", "--no-live"])
    assert result.exit_code == 0, result.output
    expected = ["accelerate", "launch", "--config_file", str(templates_dir() / "accelerate" / f"{name}.yaml"),
                "--num_processes", "8", "-m", "r1cli", trainer, str(recipe),
                "--set", f"accelerate_config={name}", "--set", "num_processes=8", "--no-live"]
    assert launches.calls == [expected]
    assert f"launching 8 processes: {' '.join(expected)}" in result.output.replace("\n", " ")


def test_multi_node_flags_and_the_exit_code(recipe, launches, monkeypatch):
    gpu_machine(monkeypatch, 8)
    launches.code = 3
    result = runner.invoke(app, ["grpo", str(recipe), "--accelerate-config", "zero3", "--num-processes", "16",
                                 "--num-machines", "2", "--machine-rank", "1", "--main-process-ip", "10.0.0.1",
                                 "--main-process-port", "29500", "--resume", "--set", "seed=5"])
    assert result.exit_code == 3
    argv = launches.calls[0]
    assert argv[4:14] == ["--num_processes", "16", "--num_machines", "2", "--machine_rank", "1",
                          "--main_process_ip", "10.0.0.1", "--main_process_port", "29500"]
    assert argv[argv.index("-m"):] == ["-m", "r1cli", "grpo", str(recipe), "--set", "seed=5",
                                       "--set", "accelerate_config=zero3", "--set", "num_processes=16",
                                       "--set", "num_machines=2", "--set", "machine_rank=1",
                                       "--set", "main_process_ip=10.0.0.1", "--set", "main_process_port=29500", "--resume"]
    assert "on 2 machines" in result.output


def test_recipe_keys_launch_too_and_one_process_does_not(recipe, launches, monkeypatch):
    gpu_machine(monkeypatch, 2)
    recipe.write_text(GOOD + "num_processes: 2\n")
    assert runner.invoke(app, ["grpo", str(recipe)]).exit_code == 0
    assert launches.calls[0][:6] == ["accelerate", "launch", "--config_file", str(templates_dir() / "accelerate" / "ddp.yaml"),
                                     "--num_processes", "2"]


@pytest.mark.parametrize("name, needle", [("zero3", "DeepSpeed"), ("fsdp", "FSDP needs CUDA GPUs")])
def test_refuses_to_launch_what_this_machine_cannot_run(recipe, launches, monkeypatch, name, needle):
    gpu_machine(monkeypatch, 0, deepspeed=False)
    result = runner.invoke(app, ["grpo", str(recipe), "--accelerate-config", name])
    assert result.exit_code == 1 and "cannot launch on this machine" in result.output and needle in result.output
    assert launches.calls == []


# -- r1 validate -------------------------------------------------------------------------------


def validate(recipe, *sets: str):
    args = ["validate", str(recipe), "--json"]
    for item in sets:
        args += ["--set", item]
    result = runner.invoke(app, args)
    return result.exit_code, json.loads(result.stdout)


def messages(report: dict, kind: str = "errors") -> dict[str, str]:
    return {f["key"]: f"{f['message']} | {f['hint']}" for f in report[kind]}


@pytest.mark.parametrize("name", ACCELERATE_CONFIGS)
def test_validate_accepts_each_shipped_config_on_a_machine_that_can_run_it(recipe, monkeypatch, name):
    gpu_machine(monkeypatch, 8)
    code, report = validate(recipe, f"accelerate_config={name}", "num_processes=8")
    assert code == 0 and report["valid"], report


def test_validate_on_a_gpu_machine_errors_for_what_it_cannot_run(recipe, monkeypatch):
    gpu_machine(monkeypatch, 4, deepspeed=False)
    _, report = validate(recipe, "accelerate_config=zero2", "num_processes=8")
    errors = messages(report, "warnings")  # what this machine cannot run: warnings (errors with --here)
    assert "DeepSpeed, which is not installed" in errors["accelerate_config"]
    assert "8 processes per machine but only 4 GPUs" in errors["num_processes"]


def test_validate_without_gpus_warns_about_a_cluster_recipe(recipe, monkeypatch):
    gpu_machine(monkeypatch, 0, deepspeed=False)
    code, report = validate(recipe, "accelerate_config=zero3", "num_processes=16")
    assert code == 0 and "(on this machine)" in messages(report, "warnings")["accelerate_config"]
    code, report = validate(recipe, "num_processes=2")
    assert code == 0 and "train on the CPU (gloo)" in messages(report, "warnings")["num_processes"]


def test_validate_checks_the_config_file(recipe, tmp_path):
    _, report = validate(recipe, "accelerate_config=zero4")
    assert "not found" in messages(report)["accelerate_config"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("distributed_type: [\n")
    _, report = validate(recipe, f"accelerate_config={bad}")
    assert "not valid YAML" in messages(report)["accelerate_config"]


def test_validate_checks_the_global_batch_across_processes(recipe, monkeypatch):
    gpu_machine(monkeypatch, 8)
    # 6 completions per device: 2 processes make 12, three groups of 4 (TRL lets a group straddle processes).
    code, _ = validate(recipe, "per_device_train_batch_size=6", "num_processes=2")
    assert code == 0
    _, report = validate(recipe, "per_device_train_batch_size=6", "num_processes=3")
    assert "(18 completions = per_device_train_batch_size x 3 processes" in messages(report)["num_generations"]
    _, report = validate(recipe, "per_device_train_batch_size=6")  # no launch settings: the process counts that work
    assert "not divisible by num_generations" in messages(report, "warnings")["num_generations"]


def test_validate_checks_multi_node_settings(recipe, monkeypatch):
    gpu_machine(monkeypatch, 8)
    _, report = validate(recipe, "num_processes=16", "num_machines=2", "machine_rank=2", "main_process_port=0")
    errors = messages(report)
    assert "main_process_ip" in errors["num_machines"]
    assert "not below num_machines (2)" in errors["machine_rank"]
    assert "one machine only" in errors["main_process_port"]
    _, report = validate(recipe, "num_processes=15", "num_machines=2", "main_process_ip=10.0.0.1")
    assert "do not split evenly over 2 machines" in messages(report)["num_processes"]


def test_validate_checks_vllm_mode(recipe):
    _, report = validate(recipe, "vllm_mode=colocat")
    assert "did you mean `colocate`" in messages(report)["vllm_mode"]


# -- inside the launched processes ---------------------------------------------------------------


def launched(monkeypatch, rank: int, world: int = 2) -> None:
    monkeypatch.setenv("LOCAL_RANK", str(rank))
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", str(world))


def test_a_launched_process_trains_instead_of_launching_again(recipe, launches, monkeypatch, tmp_path):
    seen = []

    def fake_run(recipe, **kwargs):
        seen.append(kwargs)
        return r1cli.training.run.RunResult(output_dir=tmp_path, global_step=3, metrics={})

    monkeypatch.setattr(r1cli.training.run, "run_training", fake_run)
    launched(monkeypatch, rank=0)
    main = runner.invoke(app, ["grpo", str(recipe), "--num-processes", "2", "--no-live"])
    assert main.exit_code == 0 and "done: 3 steps" in main.output and launches.calls == []
    assert seen[0]["subscribers"]  # the main process draws the dashboard
    launched(monkeypatch, rank=1)
    other = runner.invoke(app, ["grpo", str(recipe), "--num-processes", "2", "--no-live"])
    assert other.exit_code == 0 and other.output == "" and "subscribers" not in seen[1]  # quiet


def test_other_processes_leave_errors_to_the_main_one(recipe, launches, monkeypatch):
    launched(monkeypatch, rank=1)
    raised = {}

    def fail(recipe, **kwargs):
        raise raised["error"]

    monkeypatch.setattr(r1cli.training.run, "run_training", fail)
    echoed = OutputExistsError("run directory runs/x is not empty", hint="pass --overwrite")
    echoed.reported_by_main_process = True
    for error, code in ((echoed, 1), (r1cli.training.run.TrainingInterrupted("stopped by SIGINT"), 130)):
        raised["error"] = error
        result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
        assert (result.exit_code, result.output) == (code, "")
    raised["error"] = OutputExistsError("only this process saw it")  # its own error: said, not swallowed
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    assert result.exit_code == 1 and "only this process saw it" in result.output
