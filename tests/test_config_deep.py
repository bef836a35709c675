"""`r1 validate --deep` with a tiny local model: rendered prompt, missing columns, a template that opens <think>."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from r1cli.cli import app
from tiny_model import build_tiny_model

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def recipe(tmp_path, model_dir, extra=""):
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i}+1?", "answer": str(i + 1)}) for i in range(6)))
    path = tmp_path / "r.yaml"
    path.write_text(f"model_name_or_path: {model_dir}\ndataset_name: {data}\nnum_generations: 2\n"
                    f"per_device_train_batch_size: 2\nsystem_prompt: Think first.\n{extra}")
    return path


def test_deep_renders_the_first_prompt(tmp_path, model_dir):
    result = runner.invoke(app, ["validate", str(recipe(tmp_path, model_dir)), "--deep"])
    assert result.exit_code == 0, result.output
    assert "<|im_start|>system" in result.output and "Think first.<|im_end|>" in result.output
    assert "What is 0+1?" in result.output


def test_deep_reports_a_missing_column(tmp_path, model_dir):
    result = runner.invoke(app, ["validate", str(recipe(tmp_path, model_dir, "dataset_prompt_column: question\n")), "--deep", "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["errors"][0]
    assert error["key"] == "dataset_prompt_column" and error["line"] == 6 and "problem, answer" in error["hint"]


def test_deep_warns_when_the_template_opens_think(tmp_path, model_dir):
    template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\\n{{ m['content'] }}<|im_end|>\\n{% endfor %}"
                "{% if add_generation_prompt %}<|im_start|>assistant\\n<think>\\n{% endif %}")
    result = runner.invoke(app, ["validate", str(recipe(tmp_path, model_dir, f'chat_template: "{template}"\n')), "--deep", "--json"])
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert any(w["key"] == "chat_template" and "<think>" in w["message"] for w in warnings)
