"""Recipes written the way open-r1's public recipes are (their keys and kinds of values) validate unchanged on any machine.

What this machine cannot run (vLLM, Liger, flash attention, 8 processes) and open-r1's own keys are warnings;
a recipe naming a reward r1 does not have fails naming that reward. The recipes are written here, in the style
of open-r1's recipes/*/grpo and */sft configs, not copied.
"""

from __future__ import annotations

import pytest

from r1cli.config import validate_recipe

GRPO_MATH = """\
# Model arguments
model_name_or_path: Qwen/Qwen2.5-Math-1.5B
model_revision: main
torch_dtype: bfloat16
attn_implementation: flash_attention_2

# Data training arguments
dataset_name: open-r1/OpenR1-Math-220k
dataset_prompt_column: problem
system_prompt: "Think first, then answer. Format: <think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>"

# GRPO trainer config
callbacks:
- push_to_hub_revision
benchmarks:
- math_500
- aime24
bf16: true
use_vllm: true
do_eval: false
gradient_accumulation_steps: 2
gradient_checkpointing: true
gradient_checkpointing_kwargs:
  use_reentrant: false
hub_model_id: Qwen2.5-Math-1.5B-GRPO-test
hub_strategy: every_save
learning_rate: 1.0e-06
log_completions: true
log_level: info
logging_first_step: true
logging_steps: 5
logging_strategy: steps
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
max_prompt_length: 256
max_completion_length: 2048
max_steps: -1
num_generations: 14
num_train_epochs: 1
output_dir: data/Qwen2.5-Math-1.5B-GRPO-test
overwrite_output_dir: true
per_device_eval_batch_size: 8
per_device_train_batch_size: 7
push_to_hub: true
push_to_hub_revision: true
report_to:
- wandb
reward_funcs:
- accuracy
- format
- tag_count
reward_weights:
- 1.0
- 1.0
- 1.0
save_strategy: "steps"
save_steps: 0.1
save_total_limit: 1
seed: 1234
temperature: 0.7
warmup_ratio: 0.05
wandb_entity: someone
wandb_project: r1-tests
"""

SFT_DISTILL = """\
model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct
model_revision: main
torch_dtype: bfloat16
attn_implementation: flash_attention_2
dataset_name: open-r1/Mixture-of-Thoughts
dataset_config: math
dataset_num_proc: 8
eos_token: <|im_end|>
bf16: true
do_eval: false
eval_strategy: 'no'
gradient_accumulation_steps: 4
gradient_checkpointing: true
hub_model_id: Qwen2.5-1.5B-SFT-test
learning_rate: 5.0e-05
log_level: info
logging_steps: 5
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
packing: false
max_grad_norm: 0.2
max_length: 16384
num_train_epochs: 3
output_dir: data/Qwen2.5-1.5B-SFT-test
per_device_train_batch_size: 2
push_to_hub: true
report_to:
- wandb
save_strategy: epoch
seed: 42
use_liger_kernel: true
warmup_ratio: 0.03
callbacks: []
benchmarks: []
"""

GRPO_CODE = """\
model_name_or_path: Qwen/Qwen2.5-Coder-1.5B-Instruct
torch_dtype: bfloat16
attn_implementation: flash_attention_2
dataset_name: open-r1/verifiable-coding-problems-python
dataset_prompt_column: problem
bf16: true
use_vllm: true
gradient_accumulation_steps: 4
learning_rate: 5.0e-06
num_generations: 16
per_device_train_batch_size: 16
reward_funcs:
- code
- format
reward_weights:
- 1.0
- 0.1
code_provider: e2b
code_eval_test_batch_size: 3
parallel_code_exec_per_proc: 2
e2b_router_url: 1.2.3.4:8000
"""


def write(tmp_path, text, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, trainer", [(GRPO_MATH, "grpo"), (SFT_DISTILL, "sft")], ids=["grpo_math", "sft_distill"])
def test_open_r1_style_recipes_validate_with_warnings(tmp_path, text, trainer):
    path = write(tmp_path, text, trainer)
    report = validate_recipe(path, trainer=trainer)
    assert report.ok, [f.format() for f in report.errors]
    warned = {f.key for f in report.warnings}
    assert {"torch_dtype", "warmup_ratio"} <= warned and {"callbacks", "benchmarks"} <= warned
    for finding in report.warnings:
        assert finding.line and finding.hint, finding.format()


def test_what_this_machine_lacks_is_named_and_refused_with_here(tmp_path):
    import r1cli.hardware

    path = write(tmp_path, GRPO_MATH, "grpo")
    report = validate_recipe(path)
    lacking = {f.key for f in report.machine}
    if not r1cli.hardware.has_gpu():
        assert {"use_vllm", "attn_implementation"} <= lacking
    # 7 per device x 2 steps = 14 completions: one process divides 14 generations; nothing about processes to say.
    assert "num_generations" not in lacking
    assert {f.key for f in validate_recipe(path, here=True).errors} == lacking


def test_a_reward_r1_does_not_have_fails_naming_it(tmp_path):
    report = validate_recipe(write(tmp_path, GRPO_CODE, "code"))
    errors = [f for f in report.errors]
    assert [f.key for f in errors] == ["reward_funcs.0"] and "code" in errors[0].message
    assert {"code_provider", "code_eval_test_batch_size", "parallel_code_exec_per_proc", "e2b_router_url"} <= \
        {f.key for f in report.warnings}
