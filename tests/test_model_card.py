"""The model card r1 writes into a run directory: from the recipe, not transformers' `[None]` placeholder."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from r1cli import __version__
from r1cli.cli import app
from r1cli.run_dir import RunDirectory
from r1cli.training.model_card import render_model_card

runner = CliRunner()


def test_card_says_what_was_trained_and_how_it_evaluated(tmp_path):
    from r1cli.config.templates import get_template

    run = RunDirectory(tmp_path / "gsm8k-grpo")
    run.path.mkdir()
    run.metrics.write_text("".join(json.dumps(r) + "\n" for r in (
        {"step": 1, "loss": 0.1}, {"step": 50, "eval/accuracy": 0.61234}, {"step": 100, "eval/accuracy": 0.58})))
    values = get_template("gsm8k").values()
    card = render_model_card(values, run, {"global_step": 100, "max_steps": 100, "wall_seconds": 3600.52})
    assert "base_model: Qwen/Qwen2.5-1.5B-Instruct" in card
    assert "[Qwen/Qwen2.5-1.5B-Instruct](https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct)" in card
    assert f"r1 {__version__}" in card and "- training: `openai/gsm8k (main)`" in card
    assert "- held-out evaluation during training: `openai/gsm8k (main, test)`" in card
    assert "| accuracy | 1 |" in card and "| format | 0.5 |" in card and "| tag_count | 0.25 |" in card
    assert "- learning_rate: 1e-06" in card and "- steps: 100 of 100" in card
    assert "| eval/accuracy (step 100) | 0.58 | 0.6123 |" in card
    assert "None" not in card


def test_a_local_model_is_named_without_a_hub_link(tmp_path):
    run = RunDirectory(tmp_path / "run")
    card = render_model_card({"trainer": "sft", "model_name_or_path": str(tmp_path), "dataset_name": "arithmetic"}, run)
    assert f"`{tmp_path}`" in card and "huggingface.co" not in card and "base_model" not in card
    assert "## Evaluation results" not in card and "## Rewards" not in card


def test_training_leaves_r1s_model_card(tmp_path, tiny_model_dir):
    """`r1 grpo` on the tiny model: the README.md in the run directory is r1's card, not `[None](...)`."""
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(4)))
    recipe = tmp_path / "grpo.yaml"
    recipe.write_text(yaml.safe_dump({
        "model_name_or_path": str(tiny_model_dir), "dataset_name": str(data), "reward_funcs": ["accuracy", "format"],
        "reward_weights": [1.0, 0.5], "num_generations": 2, "per_device_train_batch_size": 2, "max_completion_length": 4,
        "max_steps": 1, "logging_steps": 1, "save_strategy": "no", "report_to": "none", "output_dir": str(tmp_path / "run")}))
    result = runner.invoke(app, ["grpo", str(recipe), "--no-live"])
    assert result.exit_code == 0, result.output
    card = (tmp_path / "run" / "README.md").read_text()
    assert "[None]" not in card and f"`{tiny_model_dir}`" in card
    assert "| accuracy | 1 |" in card and "| format | 0.5 |" in card and "- steps: 1 of 1" in card
