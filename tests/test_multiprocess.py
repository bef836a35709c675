"""`r1 grpo` / `r1 sft --num-processes 2` on CPU: a real `accelerate launch` of 2 gloo processes, against 1 process.

Each test runs the command exactly as a user would (it re-launches itself under
`accelerate launch`), then the same recipe in one process with the same global
batch, and compares what must not depend on the process count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()
TIMEOUT = 240  # a deadlock fails the test instead of hanging CI

# "flat" prompts always score 0 (a zero-spread group: rejected, regenerated, never rescued); "spread"
# prompts score each completion's position in its group (always spread). The rewards depend on the
# prompts alone, so 1 and 2 processes, which draw the same prompts, must agree on every statistic of
# them. Each call is logged per rank, so the test sees which generation rounds each process ran.
REWARD = '''
import json, os

def by_kind(completions, prompts, trainer_state=None, **kwargs):
    rank = os.environ.get("RANK", "0")
    with open(os.path.join(os.environ["R1_TEST_CALLS"], f"rank{rank}.jsonl"), "a") as handle:
        handle.write(json.dumps({"step": trainer_state.global_step, "prompts": [p[-1]["content"] for p in prompts]}) + "\\n")
    return [0.0 if "flat" in p[-1]["content"] else float(i % 2) for i, p in enumerate(prompts)]
'''

# What must match between 1 and 2 processes (TRL's reward statistics and reject sampling's decisions).
GRPO_SAME = ("reward", "reward_std", "rewards/by_kind/mean", "rewards/by_kind/std", "frac_reward_zero_std",
             "reject_sampling/groups_total", "reject_sampling/rejected_initial", "reject_sampling/recovered",
             "reject_sampling/still_rejected", "reject_sampling/rounds", "reject_sampling/zero_spread_frac_before",
             "reject_sampling/zero_spread_frac_after", "reject_sampling/reward_mean_before",
             "reject_sampling/reward_mean_after")
# SFT sees the same rows per step either way, and transformers averages the loss over the tokens of all processes.
SFT_SAME = ("loss", "grad_norm", "num_tokens", "mean_token_accuracy", "entropy", "learning_rate")


def write_rows(path: Path, n: int = 8) -> Path:
    rows = [{"problem": f"{'flat' if i % 2 == 0 else 'spread'} question {i}", "answer": str(i),
             "completion": f"<think>{i}</think><answer>{i}</answer>"} for i in range(n)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def launch(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m r1cli ... --num-processes 2`; port 0 lets accelerate pick a free one."""
    command = [sys.executable, "-m", "r1cli", *args, "--num-processes", "2", "--main-process-port", "0", "--no-live"]
    clean = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env={**clean, **(env or {})})
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def steps_of(run: Path) -> dict[int, dict]:
    return {r["step"]: r for r in records(run) if "loss" in r}


def assert_written_once(run: Path, done: subprocess.CompletedProcess, steps: int) -> None:
    logged = [r["step"] for r in records(run) if "loss" in r]
    assert logged == list(range(1, steps + 1))  # one record per step, not one per process
    assert (run / "training.log").read_text().count("***** Running training *****") == 1
    assert done.stdout.count("done: ") == 1 and done.stdout.count("launching 2 processes: accelerate launch") == 1
    assert "[rank1]" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert json.loads((run / "summary.json").read_text())["global_step"] == steps
    assert (run / "model.safetensors").is_file() and (run / "config.yaml").is_file()


def test_grpo_two_processes_agree_and_match_one(tmp_path, tiny_model_dir, monkeypatch):
    (tmp_path / "reward.py").write_text(REWARD)
    data = write_rows(tmp_path / "train.jsonl")
    recipe = tmp_path / "grpo.yaml"
    recipe.write_text(f"""\
model_name_or_path: {tiny_model_dir}
dataset_name: {data}
reward_funcs: [{tmp_path / 'reward.py'}:by_kind]
num_generations: 2
per_device_train_batch_size: 4
max_completion_length: 4
max_steps: 2
logging_steps: 1
save_strategy: "no"
use_reject_sampling: true
max_resample_attempts: 2
save_completions: true
seed: 3
report_to: none
output_dir: {tmp_path / 'two'}
""")
    calls_two, calls_one = tmp_path / "calls-two", tmp_path / "calls-one"
    calls_two.mkdir(), calls_one.mkdir()
    done = launch("grpo", str(recipe), env={"R1_TEST_CALLS": str(calls_two)})
    two = tmp_path / "two"
    assert_written_once(two, done, steps=2)
    assert len((two / "completions.jsonl").read_text().splitlines()) == 2 * 8  # the global batch, written once

    # Both ranks ran the same generation rounds at every step (a mismatch would have deadlocked or
    # shown here), and between them regenerated every flat prompt of the step.
    calls = {rank: [json.loads(line) for line in (calls_two / f"rank{rank}.jsonl").read_text().splitlines()]
             for rank in (0, 1)}
    per_step = {rank: [sum(c["step"] == s for c in calls[rank]) for s in (0, 1)] for rank in (0, 1)}
    logged = steps_of(two)
    assert per_step[0] == per_step[1] == [1 + int(logged[s]["reject_sampling/rounds"]) for s in (1, 2)]
    assert all(logged[s]["reject_sampling/rounds"] == 2 and logged[s]["reject_sampling/rejected_initial"] > 0
               for s in (1, 2))
    for step in (0, 1):
        rounds = [[c for c in calls[rank] if c["step"] == step] for rank in (0, 1)]
        flat = {p for r in rounds for p in r[0]["prompts"] if p.startswith("flat")}
        regenerated = {p for r in rounds for c in r[1:] for p in c["prompts"]}
        assert flat and flat <= regenerated

    # One process with the same global batch (8 completions per step): the same statistics.
    monkeypatch.setenv("R1_TEST_CALLS", str(calls_one))
    one = runner.invoke(app, ["grpo", str(recipe), "--no-live", "--set", "per_device_train_batch_size=8",
                              "--set", f"output_dir={tmp_path / 'one'}"])
    assert one.exit_code == 0, one.output
    single = steps_of(tmp_path / "one")
    for step in (1, 2):
        for key in GRPO_SAME:
            assert single[step][key] == pytest.approx(logged[step][key], abs=1e-6), (step, key)


def test_sft_two_processes_match_one(tmp_path, tiny_model_dir):
    data = write_rows(tmp_path / "train.jsonl")
    recipe = tmp_path / "sft.yaml"
    recipe.write_text(f"""\
model_name_or_path: {tiny_model_dir}
dataset_name: {data}
per_device_train_batch_size: 2
max_steps: 2
logging_steps: 1
save_strategy: "no"
learning_rate: 1.0e-3
seed: 3
report_to: none
output_dir: {tmp_path / 'two'}
""")
    done = launch("sft", str(recipe))
    assert_written_once(tmp_path / "two", done, steps=2)
    one = runner.invoke(app, ["sft", str(recipe), "--no-live", "--set", "per_device_train_batch_size=4",
                              "--set", f"output_dir={tmp_path / 'one'}"])
    assert one.exit_code == 0, one.output
    two, single = steps_of(tmp_path / "two"), steps_of(tmp_path / "one")
    for step in (1, 2):
        for key in SFT_SAME:
            assert single[step][key] == pytest.approx(two[step][key], rel=1e-4), (step, key)
    # The weights after two steps are the same too: the processes trained one model, not two.
    from safetensors.torch import load_file

    a, b = load_file(tmp_path / "two" / "model.safetensors"), load_file(tmp_path / "one" / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] - b[k]).abs().max() < 1e-4 for k in a)
