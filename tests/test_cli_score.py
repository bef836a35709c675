"""`r1 score` through the CLI runner: summary, --json, --output, --config, examples, exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()
RIGHT = "<think>\nadd\nthem\n</think>\n<answer>4</answer>"
WRONG = "<think>\nadd\nthem\n</think>\n<answer>5</answer>"


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "completions.jsonl"
    rows = [
        {"completion": RIGHT, "solution": "4"},
        {"completion": WRONG, "solution": "4"},
        {"completion": [{"role": "assistant", "content": "4"}], "answer": "#### 4"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_default_rewards_summary(data):
    result = runner.invoke(app, ["score", str(data)])
    assert result.exit_code == 0, result.output
    for word in ("accuracy", "format", "tag_count", "total", "3 rows", "1 worker"):
        assert word in result.output
    assert "mean" in result.output and "histogram" in result.output and "r(acc)" in result.output


def test_json_summary(data):
    result = runner.invoke(app, ["score", str(data), "--rewards", "accuracy,format", "--weights", "1,0.5", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 3
    assert list(summary["rewards"]) == ["accuracy", "format"]
    assert summary["rewards"]["accuracy"]["mean"] == pytest.approx(2 / 3)
    assert summary["rewards"]["format"]["weight"] == 0.5
    # totals: 1 + 0.5, 0 + 0.5, 1 + 0 (a bare answer has no format)
    assert summary["reward"]["mean"] == pytest.approx(1.0)
    assert {"mean", "std", "min", "max", "zeros", "nulls"} <= set(summary["reward"])


def test_output_file_and_force(data, tmp_path):
    out = tmp_path / "scored.jsonl"
    assert runner.invoke(app, ["score", str(data), "-o", str(out)]).exit_code == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert first["rewards"] == {"accuracy": 1.0, "format": 1.0, "tag_count": 1.0} and first["reward"] == 3.0
    again = runner.invoke(app, ["score", str(data), "-o", str(out)])
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output
    assert runner.invoke(app, ["score", str(data), "-o", str(out), "--force"]).exit_code == 0


def test_show_worst_and_best(data):
    result = runner.invoke(app, ["score", str(data), "--show-worst", "1", "--show-best", "1"])
    assert result.exit_code == 0, result.output
    assert "worst 1" in result.output and "line 3" in result.output  # the bare answer: total 1
    assert "best 1" in result.output and "line 1" in result.output


def test_config_takes_rewards_weights_and_parameters(data, tmp_path):
    pytest.importorskip("r1cli.config")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\ndataset_name: openai/gsm8k\n"
        "reward_funcs: [accuracy, length]\nreward_weights: [1.0, 0.5]\n"
        "reward_kwargs:\n  length: {target: 1, sigma: 1}\n"
    )
    result = runner.invoke(app, ["score", str(data), "--config", str(recipe), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["rewards"]) == ["accuracy", "length"]
    assert summary["rewards"]["length"]["weight"] == 0.5
    # chat row "4" has length 1 = target: 1.0; the others are far longer: ~0
    assert summary["rewards"]["length"]["max"] == 1.0 and summary["rewards"]["length"]["min"] < 1e-6
    result = runner.invoke(app, ["score", str(data), "--config", str(recipe), "--set", "reward_weights=[2.0, 1.0]", "--json"])
    assert json.loads(result.stdout)["rewards"]["accuracy"]["weight"] == 2.0
    # explicit flags win; the recipe's parameters still apply to the rewards named
    result = runner.invoke(app, ["score", str(data), "--config", str(recipe), "--rewards", "length", "--json"])
    summary = json.loads(result.stdout)
    assert list(summary["rewards"]) == ["length"] and summary["rewards"]["length"]["weight"] == 1.0
    assert summary["rewards"]["length"]["max"] == 1.0


def test_usage_errors_exit_2(data, tmp_path):
    result = runner.invoke(app, ["score", str(data), "--set", "reward_weights=[1]"])
    assert result.exit_code == 2 and "--set needs --config" in result.output
    result = runner.invoke(app, ["score", str(data), "--rewards", ","])
    assert result.exit_code == 2 and "--rewards is empty" in result.output
    result = runner.invoke(app, ["score", str(data), "--weights", "one"])
    assert result.exit_code == 2 and "--weights must be comma-separated numbers" in result.output


def test_user_errors_exit_1_with_a_hint(data, tmp_path):
    result = runner.invoke(app, ["score", str(data), "--rewards", "acuracy"])
    assert result.exit_code == 1 and "did you mean 'accuracy'?" in result.output
    result = runner.invoke(app, ["score", str(data), "--weights", "1,2"])
    assert result.exit_code == 1 and "2 reward weights for 3 rewards" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"completion": "x", "solution": "1"}\nnot json\n')
    result = runner.invoke(app, ["score", str(bad)])
    assert result.exit_code == 1 and f"{bad}:2: invalid JSON" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["score", str(bad), "--skip-invalid"])
    assert result.exit_code == 0 and "1 skipped" in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = runner.invoke(app, ["score", str(empty)])
    assert result.exit_code == 1 and "is empty" in result.output


def test_columns_options(tmp_path):
    path = tmp_path / "cols.jsonl"
    path.write_text(json.dumps({"response": RIGHT, "gold": "#### 4"}) + "\n")
    result = runner.invoke(app, ["score", str(path)])
    assert result.exit_code == 1 and "the columns are: response, gold" in result.output
    result = runner.invoke(app, ["score", str(path), "--completion-column", "response", "--solution-column", "gold", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["rewards"]["accuracy"]["mean"] == 1.0


CLUSTER_RECIPE = ("model_name_or_path: /cluster/models/x\ndataset_name: /cluster/data/train.jsonl\n"
                  "reward_funcs: [accuracy, format]\nreward_weights: [1.0, 0.25]\ndataset_solution_column: target\n")


def test_recipe_with_cluster_paths_scores_anywhere(tmp_path):
    # The model and data exist only on the GPU cluster: scoring needs neither, so the recipe is accepted.
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(CLUSTER_RECIPE)
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"completion": c, "target": "4"}) + "\n" for c in (RIGHT, WRONG)))
    result = runner.invoke(app, ["score", str(path), "--config", str(recipe), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["rewards"]) == ["accuracy", "format"] and summary["rewards"]["format"]["weight"] == 0.25
    assert summary["solution_column"] == "target" and summary["rewards"]["accuracy"]["mean"] == 0.5


def test_accuracy_line_or_no_verifier(data):
    result = runner.invoke(app, ["score", str(data)])
    assert "accuracy (accuracy): 66.7% of 3 verifiable row(s) correct" in result.output
    summary = json.loads(runner.invoke(app, ["score", str(data), "--json"]).stdout)
    assert summary["accuracy"] == {"reward": "accuracy", "correct": 2, "verifiable": 3, "unverified": 0,
                                   "accuracy": pytest.approx(2 / 3)}
    plain = runner.invoke(app, ["score", str(data), "--rewards", "format,tag_count"])
    assert plain.exit_code == 0 and "no reward verifies answers" in plain.output
    summary = json.loads(runner.invoke(app, ["score", str(data), "--rewards", "format", "--json"]).stdout)
    assert summary["accuracy"] == {"reward": None, "note": "no reward verifies answers"}
