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



def test_type_messages_are_words_with_an_example_of_the_right_kind(tmp_path):
    """Issue 16: no Python annotations (`int | None`, `str 'x'`); an integer key suggests 3, a float key 1.0e-5."""
    path = tmp_path / "r.yaml"
    path.write_text(GOOD.replace("num_generations: 4", "num_generations: x") + "learning_rate: fast\n"
                    "system_prompt: 2024-01-01\nreward_funcs: [accuracy, format]\nreward_weights: [high, 1.0]\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    out = result.output.replace("\n", " ")
    assert (f"{path}:3: num_generations: expected an integer or null, got the text 'x' "
            "(fix: write an integer, e.g. `num_generations: 3`)") in out
    assert (f"{path}:5: learning_rate: expected a number, got the text 'fast' "
            "(fix: write a number, e.g. `learning_rate: 1.0e-5`)") in out
    assert (f"{path}:6: system_prompt: expected a text or null, got the date 2024-01-01 "
            '(fix: put it in quotes, e.g. `system_prompt: "2024-01-01"`)') in out
    assert f"{path}:8: reward_weights.0: expected a number, got the text 'high' (fix: write a number there, e.g. `0.5`)" in out
    assert "int | None" not in out and "str '" not in out and "1.0e-5" not in out.split("learning_rate")[0]


def test_set_with_a_wrong_type_and_a_secret_stays_hidden(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    result = runner.invoke(app, ["validate", str(path), "--set", "max_steps=true", "--set", "hub_token=12345"])
    assert result.exit_code == 1
    assert "max_steps: expected an integer, got true (fix: write an integer, e.g. `max_steps: 3`)" in result.output
    assert "hub_token: expected a text or null, got an integer (value hidden)" in result.output
    assert "12345" not in result.output


def test_a_key_indented_by_mistake_is_called_an_indentation_problem(tmp_path):
    from typer.testing import CliRunner

    from r1cli.cli import app

    indented = tmp_path / "indented.yaml"
    indented.write_text("model_name_or_path: a/b\n  dataset_name: c/d\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(indented)])
    assert result.exit_code == 1
    assert f"{indented}:2: YAML syntax error" in result.output and "indented under the line above" in result.output
    colon = tmp_path / "colon.yaml"
    colon.write_text("model_name_or_path: a/b\nsystem_prompt: Answer: think first\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(colon)])
    assert "put a space after each ':'" in result.output and "indented under" not in result.output
