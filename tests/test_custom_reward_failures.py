"""Custom rewards cannot hurt a run: every way a user's reward can misbehave ends in one line (or a documented rule).

``r1 score`` in this process and with real worker processes (``--workers 2``), and ``r1 grpo`` on the
tiny model: a reward that raises, returns a scalar, a generator, strings, the wrong length, +-1e308,
inf or NaN, sleeps forever, prints 40 MB, or calls ``sys.exit``/``os._exit`` (also at import). The
rules live in :mod:`r1cli.rewards.calling`.
"""

from __future__ import annotations

import json
import math
import re
import tempfile

import pytest
from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()

REWARDS = '''\
import os, signal, sys, time

def raises(completions, **kw):
    return [1.0 if "boom" not in str(c) else 1 / 0 for c in completions]

def scalar(completions, **kw):
    return 1.0

def generator(completions, **kw):
    return (1.0 for _ in completions)

def strings(completions, **kw):
    return ["high" for _ in completions]

def wrong_length(completions, **kw):
    return [1.0]

def huge(completions, **kw):
    return [1e308 if i % 2 else -1e308 for i, _ in enumerate(completions)]

def inf(completions, **kw):
    return [math_inf() for _ in completions]

def math_inf():
    return float("inf")

def nan(completions, **kw):
    return [float("nan") for _ in completions]

def half_nan(completions, **kw):
    return [float("nan") if i % 2 else 1.0 for i, _ in enumerate(completions)]

def sleeps(completions, **kw):
    time.sleep(3600)

def loud(completions, **kw):
    print("x" * (40 << 20))
    return [1.0 for _ in completions]

def exits(completions, **kw):
    sys.exit(3)

def hard_exit(completions, **kw):
    os._exit(7)

def killed(completions, **kw):
    os.kill(os.getpid(), signal.SIGKILL)

def late(completions, trainer_state=None, **kw):
    if trainer_state is not None and trainer_state.global_step >= 1:
        raise RuntimeError("went wrong at the second step")
    return [float(len(str(c)) % 3) for c in completions]
'''


@pytest.fixture
def files(tmp_path):
    rewards = tmp_path / "bad_rewards.py"
    rewards.write_text(REWARDS)
    (tmp_path / "exit_at_import.py").write_text("import os\nos._exit(5)\ndef r(completions, **kw):\n    return [1.0] * len(completions)\n")
    (tmp_path / "sysexit_at_import.py").write_text("import sys\nsys.exit(4)\ndef r(completions, **kw):\n    return [1.0] * len(completions)\n")
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"completion": text, "solution": "1"}) + "\n"
                            for text in ["\\boxed{1}", "\\boxed{2}", "boom \\boxed{1}", "\\boxed{3}"]))
    return tmp_path


def score(files, reward, *extra):
    return runner.invoke(app, ["score", str(files / "data.jsonl"), "-r", f"{files / 'bad_rewards.py'}:{reward}", *extra])


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and all(line.startswith(("error: ", "hint: ")) for line in lines), result.output
    return lines[0]


def training_error(result) -> str:
    """The run's one error line (the plain dashboard's lines come before it)."""
    assert result.exit_code == 1, result.output[-3000:]
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output[-3000:]
    return errors[0]


# --- r1 score, in this process ------------------------------------------------------------------

def test_a_raising_reward_is_named_with_the_line_it_failed_on(files):
    line = one_line_error(score(files, "raises"))
    assert "reward 'raises' raised ZeroDivisionError" in line and line.endswith("data.jsonl:3")


@pytest.mark.parametrize("reward, said", [
    ("scalar", "returned a float for 4 completions"),
    ("generator", "returned a generator for 4 completions"),
    ("wrong_length", "returned 1 values for 4 completions"),
    ("strings", "returned 'high' for completion 0, not a number or None"),
    ("exits", "called sys.exit(3)"),
    ("hard_exit", "called os._exit(7)"),
])
def test_a_reward_that_misbehaves_is_one_line_naming_it_and_the_rows(files, reward, said):
    line = one_line_error(score(files, reward))
    assert f"reward {reward!r} {said}" in line
    assert "data.jsonl" in line  # lines 1-4, or the first line that fails


@pytest.mark.parametrize("module", ["exit_at_import", "sysexit_at_import"])
def test_exiting_at_import_is_reported_not_obeyed(files, module):
    result = runner.invoke(app, ["score", str(files / "data.jsonl"), "-r", f"{files / module}.py:r"])
    line = one_line_error(result)
    assert f"importing reward file {files / module}.py failed: it called" in line


@pytest.mark.parametrize("reward", ["huge", "inf", "nan"])
def test_non_finite_values_are_left_out_like_none_and_said(files, reward, caplog):
    result = score(files, f"{reward},accuracy", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    summary = report["rewards"][reward] if isinstance(report["rewards"], dict) else \
        next(r for r in report["rewards"] if r["name"] == reward)
    assert summary["nulls"] == 4, summary
    # said once per reward and process, on stderr (the r1cli.rewards log; pytest captures it here)
    assert f"reward {reward!r} returned NaN, inf or a value beyond +-1e9 for 4 of 4 rows" in caplog.text
    # the totals are the other rewards' alone: accuracy is 1 on two of the four rows
    scored = runner.invoke(app, ["score", str(files / "data.jsonl"), "-r", f"{files / 'bad_rewards.py'}:{reward},accuracy",
                                 "-o", str(files / f"{reward}.jsonl")])
    assert scored.exit_code == 0, scored.output
    rows = [json.loads(line) for line in (files / f"{reward}.jsonl").read_text().splitlines()]
    assert [row["rewards"][reward] for row in rows] == [None] * 4
    assert [row["reward"] for row in rows] == [1.0, 0.0, 1.0, 0.0]


def test_a_sleeping_reward_times_out_and_is_counted(files):
    result = score(files, "sleeps,accuracy", "--reward-timeout", "0.5", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rewards = report["rewards"] if isinstance(report["rewards"], dict) else {r["name"]: r for r in report["rewards"]}
    assert rewards["sleeps"]["timeouts"] == 4 and rewards["sleeps"]["nulls"] == 4
    assert rewards["accuracy"]["timeouts"] == 0 and rewards["accuracy"]["mean"] == 0.5


def test_forty_megabytes_of_prints_do_not_reach_the_output(files):
    result = score(files, "loud", "--json")
    assert result.exit_code == 0, result.output[:300]
    assert len(result.output) < 20_000
    json.loads(result.stdout)


# --- r1 score, worker processes -----------------------------------------------------------------

def test_workers_name_the_reward_and_line_and_contain_exits(files):
    line = one_line_error(score(files, "raises", "--workers", "2"))
    assert "reward 'raises' raised ZeroDivisionError" in line and line.endswith("data.jsonl:3")
    line = one_line_error(score(files, "hard_exit", "--workers", "2"))
    assert "reward 'hard_exit' called os._exit(7)" in line


def test_a_worker_that_dies_is_one_line_and_leaves_no_temporary_files(files, monkeypatch):
    spool = files / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    text = (files / "data.jsonl").read_text()
    result = runner.invoke(app, ["score", "-", "-r", f"{files / 'bad_rewards.py'}:killed", "--workers", "2",
                                 "-o", str(files / "out.jsonl")], input=text)
    line = one_line_error(result)
    # How it died is named when the OS has reported it by then (a loaded machine may not have yet).
    assert re.search(r"a worker process died( \(killed by signal 9\))? while scoring line", line), line
    assert list(spool.iterdir()) == []
    assert not (files / "out.jsonl").exists()
    assert [p.name for p in files.iterdir() if p.name.startswith(".") or "tmp" in p.name and p.name != "tmp"] == []


def test_workers_time_out_a_sleeping_reward(files):
    result = score(files, "sleeps", "--workers", "2", "--reward-timeout", "0.5", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rewards = report["rewards"] if isinstance(report["rewards"], dict) else {r["name"]: r for r in report["rewards"]}
    assert rewards["sleeps"]["timeouts"] == 4


# --- r1 grpo on the tiny model ------------------------------------------------------------------

def grpo_recipe(files, model_dir, rewards: str, extra: str = "", steps: int = 2):
    data = files / "train.jsonl"
    data.write_text("".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(8)))
    path = files / "grpo.yaml"
    path.write_text(f"""\
model_name_or_path: {model_dir}
dataset_name: {data}
reward_funcs: [{rewards}]
num_generations: 2
per_device_train_batch_size: 4
max_completion_length: 6
max_steps: {steps}
logging_steps: 1
save_steps: 1
learning_rate: 1.0e-4
seed: 7
report_to: none
output_dir: {files / 'run'}
{extra}""")
    return path


def test_grpo_stops_on_a_failing_reward_keeping_the_checkpoint(files, tiny_model_dir):
    recipe = grpo_recipe(files, tiny_model_dir, f"{files / 'bad_rewards.py'}:late")
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    line = training_error(result)
    assert "reward 'late' raised RuntimeError: went wrong at the second step at step 2" in line
    assert f"hint: last complete checkpoint: checkpoint-1; fix the reward, then: r1 grpo {recipe} --resume" in result.output
    assert (files / "run" / "checkpoint-1").is_dir()


@pytest.mark.parametrize("reward, extra, said", [
    ("sleeps", "reward_timeout: 0.5\n", "reward 'sleeps' did not return within reward_timeout (0.5s) at step 1"),
    ("nan", "", "reward 'nan' returned no finite value (nan and the like) for any of the 4 completions at step 1"),
    ("exits", "", "reward 'exits' called sys.exit(3) at step 1"),
])
def test_grpo_stops_at_step_one_naming_the_reward(files, tiny_model_dir, reward, extra, said):
    recipe = grpo_recipe(files, tiny_model_dir, f"format, {files / 'bad_rewards.py'}:{reward}", extra)
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    assert said in training_error(result)
    assert "no checkpoint was saved yet" in result.output


def test_grpo_leaves_out_some_nan_values_counts_them_and_logs_prints(files, tiny_model_dir):
    recipe = grpo_recipe(files, tiny_model_dir, f"format, {files / 'bad_rewards.py'}:half_nan, {files / 'bad_rewards.py'}:loud",
                         steps=1)
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    assert result.exit_code == 0, result.output[-2000:]
    assert len(result.output) < 20_000
    records = [json.loads(line) for line in (files / "run" / "metrics.jsonl").read_text().splitlines()]
    logged = next(r for r in records if "rewards/half_nan/nonfinite" in r)
    assert logged["rewards/half_nan/nonfinite"] == 0.5 and logged["rewards/half_nan/mean"] == 1.0
    assert not any(math.isnan(v) for r in records for v in r.values() if isinstance(v, float) and "loss" in str(r))
    log = (files / "run" / "training.log").read_text()
    assert "reward 'loud' printed (and" in log and len(log) < 1_000_000
