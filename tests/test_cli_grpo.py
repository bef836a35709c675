"""`r1 grpo` and `r1 sft` end to end on CPU with the tiny model: artifacts, resume, refusal, no-TTY output."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_data(tmp_path, n=8):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1),
                                          "completion": f"<think>{i} + 1 = {i + 1}</think><answer>{i + 1}</answer>"})
                              for i in range(n)))
    return path


def grpo_recipe(tmp_path, model_dir, extra=""):
    data = write_data(tmp_path)
    path = tmp_path / "grpo.yaml"
    path.write_text(f"""\
model_name_or_path: {model_dir}
dataset_name: {data}
reward_funcs: [format, tag_count, length]
reward_kwargs:
  length: {{target: 6, sigma: 3}}
num_generations: 2
per_device_train_batch_size: 4
max_completion_length: 8
max_steps: 3
logging_steps: 1
save_steps: 2
learning_rate: 1.0e-4
seed: 7
save_completions: true
report_to: none
output_dir: {tmp_path / 'run'}
{extra}""")
    return path


def test_grpo_writes_every_artifact(tmp_path, tiny_model_dir):
    recipe = grpo_recipe(tmp_path, tiny_model_dir, "hub_token: hf_abcdefghijklmnopqrstuvwx\n")
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    for name in ("config.yaml", "metrics.jsonl", "training.log", "summary.json", "completions.jsonl",
                 "model.safetensors", "tokenizer.json", "checkpoint-2", "checkpoint-3"):
        assert (run / name).exists(), name
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["hub_token"] == "<redacted>" and config["num_generations"] == 2
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "loss" in r]
    assert steps == [1, 2, 3]
    assert all("rewards/format/mean" in r and "rewards/length/mean" in r for r in records if "loss" in r)
    completions = [json.loads(line) for line in (run / "completions.jsonl").read_text().splitlines()]
    assert len(completions) == 3 * 4 and set(completions[0]["rewards"]) == {"format", "tag_count", "length"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["global_step"] == 3 and summary["interrupted_by"] is None
    # no-TTY output: one plain line per logging step, no ANSI codes
    step_lines = [ln for ln in result.output.splitlines() if ln.startswith("step ")]
    assert len(step_lines) >= 3 and "\x1b[" not in result.output
    assert "hf_abcdefghijklmnopqrstuvwx" not in (run / "training.log").read_text()
    # Library warnings (deprecated TRL/transformers arguments) go to training.log, never between r1's lines.
    assert "Warning" not in result.output and "warnings.warn" not in result.output, result.output


def test_dashboard_rows_are_the_rewards_trl_logs(tmp_path, tiny_model_dir, monkeypatch):
    """One calculator per command: the dashboard lists exactly the metric names TRL logs, each with its weight."""
    import r1cli.ui.dashboard as dashboard

    (tmp_path / "my_rewards.py").write_text(
        "def brevity(completions, **kwargs):\n"
        "    return [1.0 / (1 + len(str(c))) for c in completions]\n")
    recipe = grpo_recipe(tmp_path, tiny_model_dir, "max_steps: 2\n").read_text()
    recipe = recipe.replace("reward_funcs: [format, tag_count, length]",
                            f"reward_funcs: [accuracy, length, length, {tmp_path / 'my_rewards.py'}:brevity]\n"
                            "reward_weights: [1.0, 0.5, 0.25, 2.0]").replace("max_steps: 3\n", "")
    path = tmp_path / "rewards.yaml"
    path.write_text(recipe)
    reporters = []

    def capture(live, console=None):
        reporters.append(dashboard.PlainReporter(console))
        return reporters[-1]

    monkeypatch.setattr(dashboard, "make_reporter", capture)
    result = runner.invoke(app, ["grpo", str(path), "--no-live"])
    assert result.exit_code == 0, result.output
    state = reporters[0].state
    names = ["accuracy", "length", "length_2", "brevity"]
    assert state.info.reward_names == names and state.info.reward_weights == [1.0, 0.5, 0.25, 2.0]
    assert state.reward_names() == names  # no extra rows from the metrics: TRL logged the same names
    assert [state.reward_weight(n) for n in names] == [1.0, 0.5, 0.25, 2.0]
    logged = {key[len("rewards/"):-len("/mean")] for r in read_jsonl(tmp_path / "run" / "metrics.jsonl")
              for key in r if key.startswith("rewards/") and key.endswith("/mean")}
    assert logged == set(names)
    assert all(state.latest.get(f"rewards/{n}/mean") is not None for n in names)  # every row filled
    assert "rewards accuracy*1 + length*0.5 + length_2*0.25 + brevity*2" in result.output


def test_grpo_refuses_a_used_run_dir_then_resumes(tmp_path, tiny_model_dir):
    recipe = grpo_recipe(tmp_path, tiny_model_dir)
    assert runner.invoke(app, ["grpo", str(recipe), "--no-live", "--set", "max_steps=2"]).exit_code == 0
    again = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    assert again.exit_code == 1 and "--resume" in again.output and "--overwrite" in again.output
    resumed = runner.invoke(app, ["grpo", str(recipe), "--no-live", "--resume", "--set", "max_steps=3"])
    assert resumed.exit_code == 0, resumed.output
    run = tmp_path / "run"
    state = json.loads((run / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps == [1, 2, 3]  # continued at step 3, nothing logged twice
    summary = json.loads((run / "summary.json").read_text())
    assert summary["resumed_from_step"] == 2  # the report can say which steps this session's wall time covers
    assert "since resuming at step 2" in resumed.output  # speed from the steps run since the resume
    assert runner.invoke(app, ["grpo", str(recipe), "--no-live", "--overwrite", "--set", "max_steps=1"]).exit_code == 0
    assert not (run / "checkpoint-3").exists()


def test_overwrite_never_deletes_a_foreign_directory(tmp_path, tiny_model_dir):
    recipe = grpo_recipe(tmp_path, tiny_model_dir)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "thesis.tex").write_text("precious")
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live", "--overwrite"])
    assert result.exit_code == 1 and ("does not look like an r1 run" in result.output or "did not write" in result.output)
    assert (tmp_path / "run" / "thesis.tex").read_text() == "precious"


def test_sft_trains_on_completions_and_saves(tmp_path, tiny_model_dir):
    data = write_data(tmp_path)
    path = tmp_path / "sft.yaml"
    path.write_text(f"""\
trainer: sft
model_name_or_path: {tiny_model_dir}
dataset_name: {data}
max_steps: 2
per_device_train_batch_size: 4
logging_steps: 1
save_strategy: "no"
max_length: 64
report_to: none
output_dir: {tmp_path / 'sft'}
""")
    result = runner.invoke(app, ["sft", str(path), "--no-live"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "sft"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]
    assert (run / "model.safetensors").exists() and (run / "summary.json").exists()


def test_training_log_gets_library_output_not_the_terminal(tmp_path, tiny_model_dir):
    recipe = grpo_recipe(tmp_path, tiny_model_dir)
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live", "--set", "max_steps=1"])
    assert result.exit_code == 0
    log = (tmp_path / "run" / "training.log").read_text()
    assert "r1 grpo run from" in log
    assert "Writing model shards" not in result.output


def test_a_resumed_start_of_run_eval_is_logged_once(tmp_path, tiny_model_dir):
    """eval_on_start runs again at the resumed step: metrics.jsonl keeps one eval record for that step, not two."""
    data = write_data(tmp_path)
    recipe = grpo_recipe(tmp_path, tiny_model_dir, f"eval_dataset_name: {data}\neval_on_start: true\neval_steps: 1\n"
                                                   "max_eval_samples: 2\n").read_text()
    path = tmp_path / "grpo.yaml"
    path.write_text(recipe.replace("max_steps: 3", "max_steps: 2").replace("save_steps: 2", "save_steps: 1"))
    first = runner.invoke(app, ["grpo", str(path), "--no-live"])
    assert first.exit_code == 0, first.output
    resumed = runner.invoke(app, ["grpo", str(path), "--no-live", "--resume", "--allow-changes", "--set", "max_steps=3"])
    assert resumed.exit_code == 0, resumed.output
    records = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    eval_steps = [r["step"] for r in records if "eval/reward" in r]
    assert sorted(eval_steps) == [0, 1, 2, 3], eval_steps  # step 2: logged once, by the resumed run


def test_keep_best_keeps_the_best_evaluated_model_counting_the_start(tmp_path, tiny_model_dir):
    """keep_best with eval_on_start: best/ holds the model of the best eval/reward, the starting model included,
    loadable as a model; final_model: best makes it the final one."""
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    data = write_data(tmp_path)
    recipe = grpo_recipe(tmp_path, tiny_model_dir, f"eval_dataset_name: {data}\neval_on_start: true\neval_steps: 1\n"
                                                   "max_eval_samples: 4\nkeep_best: true\nkeep_best_metric: eval/reward\n"
                                                   "final_model: best\n")
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live", "--set", "learning_rate=5.0e-3"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    evals = [(r["step"], r["eval/reward"]) for r in read_jsonl(run / "metrics.jsonl") if "eval/reward" in r]
    assert [step for step, _ in evals] == [0, 1, 2, 3]
    best_step, best_value = max(evals, key=lambda e: (e[1], -e[0]))  # the first of equal bests stays
    state = json.loads((run / "best" / "keep_best.json").read_text())
    assert (state["step"], state["value"]) == (best_step, pytest.approx(best_value))
    assert state["checkpoint"] == (None if best_step == 0 else f"checkpoint-{best_step}")
    AutoModelForCausalLM.from_pretrained(run / "best")  # a whole model, whichever step it came from
    kept, final = load_file(run / "best" / "model.safetensors"), load_file(run / "model.safetensors")
    assert kept.keys() == final.keys() and all((kept[k] == final[k]).all() for k in kept)
    if best_step == 0:  # the run never beat its start: the kept weights are the starting model's
        start = load_file(tiny_model_dir / "model.safetensors")
        assert all((kept[k] == start[k]).all() for k in kept)
