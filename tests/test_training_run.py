"""Run lifecycle with real processes: a signal mid-run checkpoints and resumes; W&B offline; run-dir rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from r1cli.errors import OutputExistsError, R1Error
from r1cli.run_dir import RunDirectory
from r1cli.training.run import prepare_output_dir


def recipe(tmp_path: Path, model_dir: Path, steps: int, extra: str = "") -> Path:
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(16)))
    path = tmp_path / "r.yaml"
    path.write_text(f"model_name_or_path: {model_dir}\ndataset_name: {data}\nreward_funcs: [format, length]\n"
                    f"reward_kwargs: {{length: {{target: 4, sigma: 2}}}}\nnum_generations: 2\nper_device_train_batch_size: 4\n"
                    f"max_completion_length: 8\nmax_steps: {steps}\nlogging_steps: 1\nsave_steps: 1000\nlearning_rate: 1.0e-4\n"
                    f"seed: 3\noutput_dir: {tmp_path / 'run'}\n{extra}")
    return path


def r1(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "r1cli", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, **(env or {})})


def wait_for_step(metrics: Path, step: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run ended early:\n{proc.stdout.read()}")
        if metrics.exists() and any(json.loads(line).get("step", 0) >= step
                                    for line in metrics.read_text().splitlines() if line.strip()):
            return
        time.sleep(0.2)
    proc.kill()
    pytest.fail("no progress")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_checkpoints_then_resume_continues(tmp_path, tiny_model_dir, signum):
    path = recipe(tmp_path, tiny_model_dir, steps=200, extra="report_to: none\n")
    proc = r1("grpo", str(path), "--no-live")
    run = RunDirectory(tmp_path / "run")
    wait_for_step(run.metrics, 2, proc)
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "resume with: r1 grpo" in out and "Traceback" not in out
    checkpoint = run.last_checkpoint()
    stopped_at = RunDirectory.checkpoint_step(checkpoint)
    assert stopped_at >= 2
    state = json.loads((checkpoint / RunDirectory.TRAINER_STATE).read_text())
    assert state["global_step"] == stopped_at
    assert (checkpoint / "optimizer.pt").exists() and (checkpoint / "scheduler.pt").exists()
    resumed = subprocess.run([sys.executable, "-m", "r1cli", "grpo", str(path), "--no-live", "--resume",
                              "--set", f"max_steps={stopped_at + 2}"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    steps = [json.loads(line)["step"] for line in run.metrics.read_text().splitlines() if "loss" in json.loads(line)]
    assert steps == list(range(1, stopped_at + 3))


def complete_checkpoints(run: Path) -> list[int]:
    """Steps of the checkpoint-N directories whose trainer_state.json reads as JSON (told apart here on their own)."""
    steps = []
    for path in run.glob("checkpoint-*"):
        try:
            json.loads((path / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        steps.append(int(path.name.split("-")[1]))
    return sorted(steps)


def test_kill_9_then_resume_continues_from_the_last_complete_checkpoint(tmp_path, tiny_model_dir):
    path = recipe(tmp_path, tiny_model_dir, steps=200, extra="report_to: none\n")
    path.write_text(path.read_text().replace("save_steps: 1000", "save_steps: 2"))
    run = tmp_path / "run"
    proc = r1("grpo", str(path), "--no-live")
    wait_for_step(run / "metrics.jsonl", 2, proc)
    deadline = time.time() + 120
    while not complete_checkpoints(run):
        assert proc.poll() is None and time.time() < deadline, "no checkpoint written"
        time.sleep(0.1)
    proc.kill()  # SIGKILL: no handler runs, nothing is flushed or saved
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    complete = complete_checkpoints(run)[-1]
    # What a kill during a save leaves behind, later than the last complete checkpoint: a directory without
    # trainer_state.json (written last), and one whose trainer_state.json was cut short.
    state = (run / f"checkpoint-{complete}" / "trainer_state.json").read_text()
    (run / f"checkpoint-{complete + 10}").mkdir()
    (run / f"checkpoint-{complete + 10}" / "model.safetensors").write_bytes(b"\0" * 64)
    (run / f"checkpoint-{complete + 12}").mkdir()
    (run / f"checkpoint-{complete + 12}" / "trainer_state.json").write_text(state[: len(state) // 2])
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 999, "loss": 0.1')  # a record cut short by the kill
    assert RunDirectory(run).last_checkpoint() == RunDirectory(run).checkpoint(complete)

    resumed = subprocess.run([sys.executable, "-m", "r1cli", "grpo", str(path), "--no-live", "--resume",
                              "--set", f"max_steps={complete + 2}"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps == list(range(1, complete + 3))  # up to the checkpoint from the first run, then the resumed steps
    assert json.loads((run / "summary.json").read_text())["global_step"] == complete + 2
    assert f"checkpoint-{complete}" in (run / "training.log").read_text()


def test_wandb_offline_run(tmp_path, tiny_model_dir):
    path = recipe(tmp_path, tiny_model_dir, steps=2, extra="report_to: wandb\nwandb_project: r1-tests\n")
    env = {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true"}
    result = subprocess.run([sys.executable, "-m", "r1cli", "grpo", str(path), "--no-live"], capture_output=True,
                            text=True, timeout=300, env={**os.environ, **env})
    assert result.returncode == 0, result.stdout + result.stderr
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert runs, "no offline W&B run written"
    assert any(f.suffix == ".wandb" for f in runs[0].iterdir())


def test_tensorboard_events_land_in_the_run_directory(tmp_path, tiny_model_dir):
    path = recipe(tmp_path, tiny_model_dir, steps=1, extra="report_to: tensorboard\n")
    result = subprocess.run([sys.executable, "-m", "r1cli", "grpo", str(path), "--no-live"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list((tmp_path / "run").rglob("events.out.tfevents.*")), "no TensorBoard event file written"


def test_output_dir_rules(tmp_path):
    run = tmp_path / "run"
    assert prepare_output_dir(run, resume=False, overwrite=False) is None and run.is_dir()
    with pytest.raises(R1Error, match="nothing to resume"):
        prepare_output_dir(run, resume=True, overwrite=False)
    (run / "checkpoint-4").mkdir()  # half-written: no trainer_state.json
    (run / "checkpoint-6").mkdir()  # half-written: trainer_state.json cut short
    (run / "checkpoint-6" / "trainer_state.json").write_text('{"global_step": 6, "log_hi')
    (run / "checkpoint-8").mkdir()  # not a state at all
    (run / "checkpoint-8" / "trainer_state.json").write_bytes(b"\xff\xfe[]")
    (run / "checkpoint-2").mkdir()
    (run / "checkpoint-2" / "trainer_state.json").write_text("{}")
    (run / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2}\n{"step": 3}\n{"step": 4, "cut')
    assert prepare_output_dir(run, resume=True, overwrite=False) == run / "checkpoint-2"
    assert (run / "metrics.jsonl").read_text() == '{"step": 1}\n{"step": 2}\n'
    with pytest.raises(OutputExistsError):
        prepare_output_dir(run, resume=False, overwrite=False)
    with pytest.raises(R1Error, match="contradict"):
        prepare_output_dir(run, resume=True, overwrite=True)


def test_time_budget_ends_the_run_with_the_model_saved(tmp_path, tiny_model_dir):
    # 0.06 s is over after a step or two of the tiny model: the run must end there, normally, with its final model.
    path = recipe(tmp_path, tiny_model_dir, steps=200, extra=(
        "report_to: none\nmax_train_minutes: 0.001\neval_dataset_name: " + str(tmp_path / "d.jsonl") +
        "\neval_steps: 50\nmax_eval_samples: 2\n"))
    result = subprocess.run([sys.executable, "-m", "r1cli", "grpo", str(path), "--no-live"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stopped_by_time_budget"] is True and summary["interrupted_by"] is None
    stopped = summary["global_step"]
    assert 1 <= stopped < 200 and summary["max_steps"] == 200
    assert (tmp_path / "run" / "model.safetensors").exists()
    assert "malloc tuned for CPU training: True" in (tmp_path / "run" / "training.log").read_text()
    # The step the budget ended on is evaluated, though it is off the eval_steps grid.
    # (eval/reward, not eval/accuracy: neither format nor length verifies answers, so there is no accuracy to log.)
    records = [json.loads(line) for line in RunDirectory(tmp_path / "run").metrics.read_text().splitlines()]
    evals = [r for r in records if "eval/reward" in r]
    assert [r["step"] for r in evals] == [stopped]


def test_resume_hint_repeats_overrides_but_hides_secret_values():
    from r1cli.config.recipe import Recipe
    from r1cli.training.run import _set_args

    recipe = Recipe(path=Path("r.yaml"), values={}, report=None,
                    overrides=("learning_rate=2e-5", "hub_token=hf_abcdefghijklmnopqrstuvwxyz", "wandb_api_key=k"))
    assert _set_args(recipe) == " --set learning_rate=2e-5 --set 'hub_token=<hidden>' --set 'wandb_api_key=<hidden>'"
