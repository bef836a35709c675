"""training/build.py: TRL args on CPU, secrets out of them, LoRA, data from a tiny JSONL, rewards and settings handed in."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from r1cli.config import load_recipe  # noqa: E402
from r1cli.config.features import RealtimeEvalSettings, RejectSamplingSettings  # noqa: E402
from r1cli.rewards.selection import calculator_for  # noqa: E402
from r1cli.training import build  # noqa: E402


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    monkeypatch.setattr(build, "has_gpu", lambda: False)


def write_recipe(tmp_path, model_dir, extra="", trainer="grpo", rows=6):
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(rows)))
    path = tmp_path / "recipe.yaml"
    path.write_text(f"trainer: {trainer}\nmodel_name_or_path: {model_dir}\ndataset_name: {data}\n"
                    f"num_generations: 2\nper_device_train_batch_size: 2\nmax_completion_length: 8\nmax_steps: 1\n"
                    f"report_to: none\noutput_dir: {tmp_path / 'run'}\n{extra}")
    return load_recipe(path, trainer=trainer)


def test_grpo_args_on_cpu_leave_eval_to_r1(tmp_path, tiny_model_dir):
    recipe = write_recipe(tmp_path, tiny_model_dir, "bf16: true\neval_steps: 5\neval_on_start: true\n"
                                                    f"eval_dataset_name: {tmp_path / 'train.jsonl'}\n"
                                                    "reward_funcs: [accuracy, format]\nreward_weights: [1.0, 0.5]\n")
    args = build.training_args(recipe)
    assert args.use_cpu and not args.bf16 and not args.fp16 and args.disable_tqdm
    assert args.output_dir == str(tmp_path / "run") and args.run_name == "run"
    assert args.reward_weights == [1.0, 0.5]
    # eval_steps / eval_on_start mean r1's real-time eval for GRPO: TRL's own eval loop must not see them.
    assert args.eval_on_start is False and args.eval_strategy == "no"


def test_sft_args_keep_transformers_eval(tmp_path, tiny_model_dir):
    recipe = write_recipe(tmp_path, tiny_model_dir, f"eval_steps: 5\neval_dataset_name: {tmp_path / 'train.jsonl'}\n",
                          trainer="sft")
    args = build.training_args(recipe)
    assert args.eval_steps == 5 and args.eval_strategy == "steps"


def test_secrets_go_to_the_environment_not_the_args(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    recipe = write_recipe(tmp_path, tiny_model_dir, "hub_token: hf_abcdefghijklmnopqrstuvwx\n")
    args = build.training_args(recipe)
    assert args.hub_token is None
    assert "hf_abcdefghijklmnopqrstuvwx" not in repr(args.to_dict())
    import os

    assert os.environ["HF_TOKEN"] == "hf_abcdefghijklmnopqrstuvwx"


def test_peft_config_from_the_lora_keys(tmp_path, tiny_model_dir):
    assert build.peft_config(write_recipe(tmp_path, tiny_model_dir)) is None
    lora = build.peft_config(write_recipe(tmp_path, tiny_model_dir, "use_peft: true\nlora_r: 4\nlora_alpha: 8\n"))
    assert lora.r == 4 and lora.lora_alpha == 8 and lora.target_modules == "all-linear"


def test_data_from_a_tiny_jsonl(tmp_path, tiny_model_dir):
    recipe = write_recipe(tmp_path, tiny_model_dir, "max_train_samples: 4\nsystem_prompt: Think first.\n", rows=6)
    train, evaluation = build.build_data(recipe)
    assert len(train) == 4 and evaluation is None
    row = train[0]
    assert row["prompt"][0] == {"role": "system", "content": "Think first."}
    assert row["prompt"][-1]["role"] == "user" and "What is" in row["prompt"][-1]["content"]
    assert row["solution"] == str(int(row["prompt"][-1]["content"].split()[2]) + 1)
    recipe = write_recipe(tmp_path, tiny_model_dir, f"eval_dataset_name: {tmp_path / 'train.jsonl'}\n"
                                                    "eval_dataset_split: train\nmax_eval_samples: 3\n")
    _, evaluation = build.build_data(recipe)
    assert evaluation is not None and {"prompt", "solution"} <= set(evaluation.column_names)


def test_build_parts_uses_the_commands_calculator_and_the_recipes_settings(tmp_path, tiny_model_dir):
    recipe = write_recipe(tmp_path, tiny_model_dir, "reward_funcs: [accuracy, length, length]\n"
                                                    "reward_weights: [1.0, 0.5, 0.25]\nuse_reject_sampling: true\n"
                                                    "reject_sampling_mode: refill\nmax_eval_samples: 7\n")
    calc = calculator_for(recipe.values)
    parts = build.build_parts(recipe, rewards=calc)
    assert parts.rewards is calc and parts.args.reward_weights == [1.0, 0.5, 0.25]
    assert parts.reject_sampling == RejectSamplingSettings(use_reject_sampling=True, reject_sampling_mode="refill")
    assert parts.realtime_eval == RealtimeEvalSettings(max_eval_samples=7)
    trainer = build.build_trainer(parts)
    assert trainer.reject_sampling == parts.reject_sampling
    assert trainer.realtime_eval.settings == parts.realtime_eval
    assert list(trainer.reward_func_names) == calc.names == ["accuracy", "length", "length_2"]


def test_build_parts_without_a_calculator_builds_the_same_one(tmp_path, tiny_model_dir):
    recipe = write_recipe(tmp_path, tiny_model_dir, "reward_funcs: [accuracy, soft_overlong_punishment]\n"
                                                    "reward_kwargs: {soft_overlong_punishment: {soft_punish_cache: 4}}\n")
    parts = build.build_parts(recipe)
    assert parts.rewards.names == ["accuracy", "soft_overlong_punishment"]
    assert parts.rewards.kwargs[1]["max_completion_len"] == 8  # defaulted to the recipe's max_completion_length


def test_a_bad_setting_fails_before_the_model_loads(tmp_path, tiny_model_dir, monkeypatch):
    from r1cli.errors import ConfigError

    recipe = write_recipe(tmp_path, tiny_model_dir, f"eval_steps: 2\neval_dataset_name: {tmp_path / 'train.jsonl'}\n")
    recipe.values["eval_steps"] = 2.5  # r1 validate refuses it too; a Python caller can still build such a recipe
    monkeypatch.setattr(build, "build_model", lambda recipe: pytest.fail("the model was loaded"))
    with pytest.raises(ConfigError, match="eval_steps must be a whole number"):
        build.build_parts(recipe)


@pytest.mark.parametrize("extra, left_to_r1, checkpointing", [
    ("", True, True),  # TRL's default stands, and r1 may skip it where activations fit
    ("gradient_checkpointing: true\n", False, True),
    ("activation_checkpointing: false\n", False, False),
    ("gradient_checkpointing: false\n", False, False),
], ids=["unset", "gradient-true", "activation-false", "gradient-false"])
def test_activation_checkpointing_is_left_to_r1_only_when_the_recipe_leaves_it(tmp_path, tiny_model_dir, extra,
                                                                                left_to_r1, checkpointing):
    parts = build.build_parts(write_recipe(tmp_path, tiny_model_dir, extra))
    assert parts.args.activation_checkpointing is checkpointing
    assert build.build_trainer(parts).keep_activations_that_fit is left_to_r1
