"""`r1 validate` through the CLI runner: exit codes, file:line output, --json, --set."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()
GOOD = "model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\ndataset_name: openai/gsm8k\nnum_generations: 4\nper_device_train_batch_size: 8\n"


def test_valid_recipe_exits_0(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output


def test_warnings_still_exit_0(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD + "torch_dtype: bfloat16\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert f"{path}:5: torch_dtype: deprecated" in result.output and "1 warning" in result.output


def test_invalid_recipe_exits_1_with_file_line_and_fix(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD + "lerning_rate: 1.0e-5\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5: lerning_rate: unknown key (fix: did you mean `learning_rate`?)" in result.output
    assert "Traceback" not in result.output


def test_json_output(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD + "beta: -1\n")
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["errors"][0]["line"] == 5 and data["errors"][0]["key"] == "beta" and data["errors"][0]["hint"]


def test_set_override_fixes_a_recipe(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD.replace("num_generations: 4", "num_generations: 3"))
    assert runner.invoke(app, ["validate", str(path), "--here"]).exit_code == 1  # 8 completions in groups of 3
    assert runner.invoke(app, ["validate", str(path), "--here", "--set", "num_generations=4"]).exit_code == 0


def test_usage_errors_exit_2(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    assert runner.invoke(app, ["validate"]).exit_code == 2
    assert runner.invoke(app, ["validate", str(path), "--set", "oops"]).exit_code == 2
    assert runner.invoke(app, ["validate", str(path), "--trainer", "dpo"]).exit_code == 2


def test_trainer_option_changes_which_keys_warn(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD + "packing: true\n")
    as_grpo = runner.invoke(app, ["validate", str(path)])
    as_sft = runner.invoke(app, ["validate", str(path), "--trainer", "sft"])
    assert "packing: is a SFTConfig field" in as_grpo.output
    assert "packing" not in as_sft.output
