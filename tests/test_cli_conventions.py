"""Habits users bring to a CLI: TRL-style recipe flags, --config, --debug anywhere, -h, completion, examples in
--help, plain metavars, one meaning for -t, comma lists for --set, and a bad indent named as such."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import r1cli.commands._train as train_module
from r1cli.cli import app

runner = CliRunner()
COMMANDS = ["init", "validate", "dry-run", "sft", "grpo", "eval", "score", "report", "merge", "vllm-serve"]


@pytest.fixture
def captured(monkeypatch):
    """What `r1 grpo` hands to training, without training."""
    calls = []
    monkeypatch.setattr(train_module, "train_command", lambda trainer, recipe, overrides, **kw: calls.append(
        (trainer, str(recipe), list(overrides or []))))
    return calls


def test_trl_style_recipe_flags_become_set_overrides(captured):
    result = runner.invoke(app, ["grpo", "r.yaml", "--learning_rate", "2e-6", "--max-steps=5", "--set", "seed=1"])
    assert result.exit_code == 0, result.output
    assert captured == [("grpo", "r.yaml", ["learning_rate=2e-6", "max_steps=5", "seed=1"])]


def test_config_flag_names_the_recipe(captured):
    assert runner.invoke(app, ["sft", "--config", "r.yaml", "--num_train_epochs", "2"]).exit_code == 0
    assert runner.invoke(app, ["grpo", "--config=r.yaml"]).exit_code == 0
    assert captured == [("sft", "r.yaml", ["num_train_epochs=2"]), ("grpo", "r.yaml", [])]


def test_unknown_flags_and_missing_values_are_usage_errors(captured):
    unknown = runner.invoke(app, ["grpo", "r.yaml", "--no_such_key", "1"])
    assert unknown.exit_code == 2 and "No such option: --no_such_key" in unknown.output
    missing = runner.invoke(app, ["grpo", "r.yaml", "--learning_rate"])
    assert missing.exit_code == 2 and "--set learning_rate=VALUE" in missing.output
    assert not captured


def test_debug_works_after_the_subcommand():
    from r1cli.errors import ConfigError

    loud = runner.invoke(app, ["grpo", "missing.yaml", "--debug"])
    assert isinstance(loud.exception, ConfigError)


def test_root_help_completion_and_full_summaries():
    result = runner.invoke(app, ["-h"])
    assert result.exit_code == 0
    assert "--install-completion" in result.output and "--show-completion" in result.output
    assert "Supervised fine-tuning, as a format cold start" in result.output and "(e.g." not in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_has_h_an_example_and_plain_metavars(command):
    result = runner.invoke(app, [command, "-h"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output and f"r1 {command}" in result.output.split("Examples:")[1]
    for python_type in ("<int", "<float", "<str>", "<path>", "<list[", "<bool"):
        assert python_type not in result.output, python_type
    for line in result.output.splitlines():  # -t is --temperature wherever it exists
        if line.strip().startswith("-t,"):
            assert "--temperature" in line


def test_set_takes_comma_lists_for_list_keys(tmp_path, tiny_model_dir):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"problem": "1+1?", "answer": "2"}) + "\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model_name_or_path: {tiny_model_dir}\ndataset_name: {data}\nreport_to: none\n")
    result = runner.invoke(app, ["validate", str(recipe), "--set", "reward_funcs=accuracy,format",
                                 "--set", "reward_weights=1,0.5"])
    assert result.exit_code == 0, result.output


def test_a_bad_indent_is_called_an_indentation_problem(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model_name_or_path: m\nreward_kwargs:\n  length:\n    target: 6\n   sigma: 3\n")
    result = runner.invoke(app, ["validate", str(recipe)])
    assert result.exit_code == 1 and "indentation" in result.output and "space after each" not in result.output
