"""Recipe validation: a corpus of broken recipes, each with the file:line, key and fix it must produce."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from r1cli.config import load_recipe, validate_recipe
from r1cli.errors import ConfigError, UsageError

GOOD = """\
model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct
dataset_name: openai/gsm8k
num_generations: 4
per_device_train_batch_size: 8
"""

# (name, recipe text, expected line, expected key, text the message or fix must contain)
BROKEN = [
    # kinds that used to pass validate and fail (or train wrongly) later
    ("recursive_anchor", GOOD + "reward_funcs: &r [accuracy, *r]\n", 5, None, "recursive"),
    ("inf_inside_a_list", GOOD + "reward_funcs: [accuracy, format]\nreward_weights: [1.0, .inf]\n", 6, "reward_weights.1", "finite"),
    ("chat_template_file_missing", GOOD + "chat_template: templates/none.jinja\n", 5, "chat_template", "does not exist"),
    ("lr_scheduler_typo", GOOD + "lr_scheduler_type: cosin\n", 5, "lr_scheduler_type", "did you mean `cosine`"),
    ("optim_typo", GOOD + "optim: adamw_torh\n", 5, "optim", "adamw_torch"),
    ("report_to_typo", GOOD + "report_to: [wandb, tensorbord]\n", 5, "report_to", "tensorboard"),
    ("log_level_typo", GOOD + "log_level: infoo\n", 5, "log_level", "did you mean `info`"),
    ("merge_key_not_a_mapping", GOOD + "<<: 5\n", 5, "<<", "merge key"),
    ("reward_kwargs_item_not_mapping", GOOD + "reward_kwargs: {length: [1]}\n", 5, "reward_kwargs.length", "mapping"),
    ("yaml_syntax_unclosed_quote", GOOD + 'system_prompt: "never closed\nlearning_rate: 1.0e-5\n', 5, None, "never closed"),
    ("yaml_tab_indent", GOOD + "reward_kwargs:\n\tlength: {target: 3}\n", 6, None, "spaces, not tabs"),
    ("yaml_bad_mapping", GOOD + "learning_rate: a: b\n", 5, None, "YAML syntax error"),
    ("duplicate_key", GOOD + "num_generations: 8\n", 5, "num_generations", "duplicate key (first set on line 3)"),
    ("unknown_key_typo", GOOD + "lerning_rate: 1.0e-5\n", 5, "lerning_rate", "did you mean `learning_rate`"),
    ("unknown_key_typo_r1", GOOD + "reward_func: [accuracy]\n", 5, "reward_func", "did you mean `reward_funcs`"),
    ("unknown_key_no_match", GOOD + "banana: 3\n", 5, "banana", "unknown key"),
    ("wrong_type_lr", GOOD + "learning_rate: fast\n", 5, "learning_rate", "expected a number, got the text 'fast'"),
    ("wrong_type_bool", GOOD + "use_reject_sampling: maybe\n", 5, "use_reject_sampling", "use true or false"),
    ("wrong_type_list", GOOD + "reward_funcs: accuracy\n", 5, "reward_funcs", "expected a list of texts, got the text 'accuracy'"),
    ("wrong_type_int", GOOD + "max_completion_length: 12.5\n", 5, "max_completion_length", "expected an integer or null, got the number 12.5"),
    ("negative_lr", GOOD + "learning_rate: -1.0e-5\n", 5, "learning_rate", "must be > 0"),
    ("zero_lr", GOOD + "learning_rate: 0\n", 5, "learning_rate", "must be > 0"),
    ("one_generation", GOOD.replace("num_generations: 4", "num_generations: 1"), 3, "num_generations", "must be >= 2"),
    ("top_p_above_one", GOOD + "top_p: 1.5\n", 5, "top_p", "must be <= 1"),
    ("negative_beta", GOOD + "beta: -0.1\n", 5, "beta", "must be >= 0"),
    ("bad_choice", GOOD + "reject_sampling_mode: refil\n", 5, "reject_sampling_mode", "did you mean `refill`"),
    ("bad_dtype", GOOD + "dtype: bf16\n", 5, "dtype", "not one of"),
    ("weights_length", GOOD + "reward_funcs: [accuracy, format]\nreward_weights: [1.0]\n", 6, "reward_weights", "one weight per entry"),
    ("unknown_reward", GOOD + "reward_funcs: [accuracy, formatt]\n", 5, "reward_funcs.1", "format"),
    ("reward_kwargs_not_listed", GOOD + "reward_funcs: [accuracy]\nreward_kwargs:\n  length: {target: 10}\n", 7, "reward_kwargs.length", "not in reward_funcs"),
    ("reward_kwargs_bad_param", GOOD + "reward_funcs: [length]\nreward_kwargs:\n  length:\n    targt: 10\n", 8, "reward_kwargs.length.targt", "targt"),
    ("threshold_unreachable", GOOD + "reward_funcs: [accuracy, format]\nuse_reject_sampling: true\nreject_sampling_threshold: 5\n", 7, "reject_sampling_threshold", "above the best total"),
    ("eval_steps_without_data", GOOD + "eval_steps: 10\n", 5, "eval_steps", "no eval dataset"),
    ("eval_on_start_without_data", GOOD + "eval_on_start: true\n", 5, "eval_on_start", "no eval dataset"),
    ("missing_local_dataset", GOOD.replace("openai/gsm8k", "./data/nope.jsonl"), 2, "dataset_name", "does not exist"),
    ("missing_local_model", GOOD.replace("Qwen/Qwen2.5-0.5B-Instruct", "/models/nope"), 1, "model_name_or_path", "does not exist"),
    ("no_model", GOOD.replace("model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\n", ""), 1, "model_name_or_path", "no model given"),
    ("both_quantisations", GOOD + "load_in_4bit: true\nload_in_8bit: true\n", 5, "load_in_4bit", "choose one"),
    ("top_level_list", "- model_name_or_path: x\n", 1, None, "mapping of `key: value`"),
    ("empty_file", "", 1, None, "recipe is empty"),
    ("comments_only", "# nothing here\n\n", 1, None, "recipe is empty"),
    ("max_train_samples_zero", GOOD + "max_train_samples: 0\n", 5, "max_train_samples", "must be >= 1"),
    ("nested_key_not_scalar", GOOD + "reward_kwargs:\n  [a, b]: 1\n", 6, "reward_kwargs", "plain name"),
    ("reward_param_wrong_type", GOOD + "reward_funcs: [length]\nreward_kwargs:\n  length:\n    target: far\n", 8, "reward_kwargs.length.target", "target"),
    ("reward_kwargs_not_mapping", GOOD + "reward_funcs: [length]\nreward_kwargs:\n  length: 300\n", 7, "reward_kwargs.length", "mapping"),
    ("weights_not_numbers", GOOD + "reward_funcs: [accuracy, format]\nreward_weights: [high, low]\n", 6, "reward_weights.0", "expected a number, got the text 'high'"),
    ("generations_as_word", GOOD.replace("num_generations: 4", "num_generations: four"), 3, "num_generations", "e.g. `num_generations: 3`"),
    ("zero_resample_attempts", GOOD + "max_resample_attempts: 0\n", 5, "max_resample_attempts", "must be >= 1"),
    ("too_many_resample_attempts", GOOD + "max_resample_attempts: 99\n", 5, "max_resample_attempts", "must be <= 16"),
    ("zero_temperature", GOOD + "temperature: 0\n", 5, "temperature", "must be > 0"),
    ("negative_eval_temperature", GOOD + "eval_temperature: -1\n", 5, "eval_temperature", "must be >= 0"),
    ("lora_dropout_above_one", GOOD + "lora_dropout: 1.5\n", 5, "lora_dropout", "must be <= 1"),
    ("zero_batch", GOOD + "per_device_eval_batch_size: 0\n", 5, "per_device_eval_batch_size", "must be >= 1"),
    ("mode_wrong_case", GOOD + "reject_sampling_mode: Resample\n", 5, "reject_sampling_mode", "did you mean `resample`"),
    ("trainer_unknown", GOOD + "trainer: dpo\n", 5, "trainer", "not one of"),
    ("missing_eval_file", GOOD + "eval_dataset_name: ./eval/missing.parquet\n", 5, "eval_dataset_name", "does not exist"),
    ("system_prompt_is_list", GOOD + "system_prompt: [a, b]\n", 5, "system_prompt", "expected a text or null, got a list"),
    # Whole-file problems: there is no line to point at, so the message starts with the file alone.
    ("recipe_is_a_directory", lambda tmp: _mkdir(tmp / "recipe.yaml"), None, None, "is a directory, not a recipe file"),
    ("recipe_file_missing", lambda tmp: tmp / "nope.yaml", None, None, "recipe file not found"),
    ("huge_recipe_5mb", lambda tmp: _write(tmp, GOOD + "# padding padding padding padding\n" * 150_000), None, None,
     "recipe is 5.1 MB"),
    ("whitespace_only", " \n\t\n   \n", 1, None, "recipe is empty"),
    ("binary_file", bytes(range(256)) * 40, 2, None, "not valid UTF-8"),
    ("latin1_encoded", GOOD.encode() + b"system_prompt: caf\xe9\n", 5, None, "not valid UTF-8"),
    ("scalar_document", "just some words\n", 1, None, "mapping of `key: value`"),
    ("two_documents", GOOD + "---\nbeta: 0.1\n", 5, None, "YAML syntax error"),
    ("python_object_tag", GOOD + "system_prompt: !!python/object/apply:os.system ['touch pwned']\n", 5, None,
     "remove the `!!` tag"),
    ("nested_too_deeply", GOOD + "reward_kwargs: " + "[" * 5000 + "]" * 5000 + "\n", 5, None, "nested more than 50"),
    ("billion_laughs", GOOD + "reward_kwargs: {length: {target: &a [x, x, x, x, x, x, x, x, x]}}\n"
     + "".join(f"k{i}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)), 6, None,
     "expand this recipe to more than 100,000 values"),
    ("too_many_aliases", GOOD + "x: &x 1\n" + "".join(f"y{i}: *x\n" for i in range(101)), 106, None,
     "more than 100 YAML aliases"),
    # Values YAML reads but no key accepts
    ("integer_of_5000_digits", GOOD + "max_steps: " + "9" * 5000 + "\n", 5, "max_steps", "cannot read the value"),
    ("nan_learning_rate", GOOD + "learning_rate: .nan\n", 5, "learning_rate", "not a finite number"),
    ("infinite_learning_rate", GOOD + "learning_rate: .inf\n", 5, "learning_rate", "not a finite number"),
    ("bool_for_int", GOOD + "max_steps: true\n", 5, "max_steps", "expected an integer, got true"),
    ("date_for_string", GOOD + "system_prompt: 2024-01-01\n", 5, "system_prompt", 'put it in quotes, e.g. `system_prompt: "2024-01-01"`'),
    ("null_as_a_key", GOOD + "null: 3\n", 5, "null", "unknown key"),
    ("duplicate_nested_key", GOOD + "reward_funcs: [length]\nreward_kwargs:\n  length: {target: 3, target: 4}\n", 7,
     "reward_kwargs.length.target", "duplicate key"),
    # A directory where a file is expected, a file where a directory is expected, more missing files
    ("dataset_is_an_empty_directory", lambda tmp: _write(tmp, GOOD.replace("openai/gsm8k", str(_mkdir(tmp / "data")))),
     2, "dataset_name", "is a directory with no .jsonl"),
    ("dataset_jsonl_is_a_directory", lambda tmp: _write(tmp, GOOD.replace("openai/gsm8k", str(_mkdir(tmp / "d.jsonl")))),
     2, "dataset_name", "is a directory with no .jsonl"),
    ("eval_dataset_is_a_directory", lambda tmp: _write(tmp, GOOD + f"eval_dataset_name: {_mkdir(tmp / 'held_out')}\n"),
     5, "eval_dataset_name", "is a directory with no .jsonl"),
    ("chat_template_file_missing", GOOD + "chat_template: ./templates/missing.jinja\n", 5, "chat_template", "does not exist"),
    ("chat_template_is_a_directory", lambda tmp: _write(tmp, GOOD + f"chat_template: {_mkdir(tmp / 't.jinja')}\n"),
     5, "chat_template", "is not a file"),
    ("output_dir_is_a_file", lambda tmp: _write(tmp, GOOD + f"output_dir: {_write(tmp, 'x', 'notes.txt')}\n"),
     5, "output_dir", "the run directory must be a directory"),
    ("mixture_file_missing", GOOD.replace("dataset_name: openai/gsm8k\n", "") +
     "dataset_mixture:\n  datasets:\n    - id: ./data/missing.jsonl\n", 4, "dataset_mixture", "does not exist"),
]


def write(tmp_path: Path, text: str | bytes, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    return write(tmp_path, text, name)


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def make(tmp_path: Path, text) -> Path:
    """The recipe path of a corpus entry: text or bytes written to recipe.yaml, or a function that sets it up."""
    return text(tmp_path) if callable(text) else write(tmp_path, text)


def where(path: Path, line: int | None) -> str:
    return f"{path}:{line}: " if line is not None else f"{path}: "


@pytest.mark.parametrize("name,text,line,key,needle", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_recipe_reports_file_line_key_and_fix(tmp_path, name, text, line, key, needle):
    path = make(tmp_path, text)
    report = validate_recipe(path)
    assert not report.ok, f"{name} should be invalid"
    matching = [f for f in report.errors if f.line == line and f.key == key]
    assert matching, f"no error at line {line} for key {key}: {[f.format() for f in report.errors]}"
    formatted = matching[0].format()
    assert formatted.startswith(where(path, line))
    assert needle in formatted, formatted
    assert matching[0].hint, "every error carries a fix"


@pytest.mark.parametrize("name,text,line,key,needle", BROKEN, ids=[b[0] for b in BROKEN])
def test_r1_validate_exits_1_with_the_message_and_no_traceback(tmp_path, name, text, line, key, needle):
    from typer.testing import CliRunner

    from r1cli.cli import app

    path = make(tmp_path, text)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert where(path, line) + (f"{key}: " if key else "") in result.output and needle in result.output, result.output
    assert "(fix: " in result.output


def test_corpus_is_large_enough(record_property):
    record_property("broken_recipes", len(BROKEN))
    print(f"broken recipes in the corpus: {len(BROKEN)}")
    assert len(BROKEN) >= 75


@pytest.mark.parametrize("name,text,line,key,needle", BROKEN[::5], ids=[b[0] for b in BROKEN[::5]])
def test_training_commands_stop_on_the_same_errors_without_a_traceback(tmp_path, name, text, line, key, needle):
    """`r1 grpo` and `r1 dry-run` refuse a broken recipe with the validator's file:line message, exit 1."""
    from typer.testing import CliRunner

    from r1cli.cli import app

    path = make(tmp_path, text)
    for command in ("grpo", "dry-run"):
        result = CliRunner().invoke(app, [command, str(path), "--no-live"] if command == "grpo" else [command, str(path)])
        assert result.exit_code == 1, result.output
        assert where(path, line) in result.output and "Traceback" not in result.output


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD + "lerning_rate: 1.0e-5\nbeta: -1\nreward_weights: [1.0]\n"
    report = validate_recipe(write(tmp_path, text))
    keys = {f.key for f in report.errors}
    assert {"lerning_rate", "beta", "reward_weights"} <= keys


def test_valid_recipe_has_no_errors_and_fills_defaults(tmp_path):
    report = validate_recipe(write(tmp_path, GOOD))
    assert report.ok, [f.format() for f in report.findings]
    assert report.values["reward_funcs"] == ["accuracy", "format", "tag_count"]
    assert report.values["num_generations"] == 4


def test_yaml_1_1_exponent_strings_become_floats(tmp_path):
    report = validate_recipe(write(tmp_path, GOOD + "learning_rate: 1e-5\n"))
    assert report.ok
    assert report.values["learning_rate"] == pytest.approx(1e-5)


OPEN_R1 = """\
# Model arguments
model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct
model_revision: main
torch_dtype: bfloat16
attn_implementation: sdpa

# Data training arguments
dataset_name: open-r1/OpenR1-Math-220k
dataset_prompt_column: problem
system_prompt: "You are a helpful AI Assistant. Respond in the following format: <think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>"

# GRPO trainer config
do_eval: false
gradient_accumulation_steps: 4
gradient_checkpointing: true
gradient_checkpointing_kwargs:
  use_reentrant: false
hub_model_id: Qwen2.5-1.5B-Open-R1-GRPO
hub_strategy: every_save
learning_rate: 2.0e-05
log_completions: true
log_level: info
logging_first_step: true
logging_steps: 1
logging_strategy: steps
lr_scheduler_type: cosine
max_prompt_length: 512
max_completion_length: 1024
max_steps: -1
num_generations: 16
num_train_epochs: 1
output_dir: data/Qwen2.5-1.5B-Open-R1-GRPO
overwrite_output_dir: true
per_device_eval_batch_size: 16
per_device_train_batch_size: 16
push_to_hub: false
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
save_strategy: "epoch"
save_total_limit: 1
seed: 42
temperature: 0.7
warmup_ratio: 0.1
"""


def test_open_r1_recipe_validates_with_deprecation_warnings(tmp_path):
    report = validate_recipe(write(tmp_path, OPEN_R1))
    assert report.ok, [f.format() for f in report.errors]
    by_key = {f.key: f for f in report.warnings}
    assert "dtype" in by_key["torch_dtype"].message and by_key["torch_dtype"].line == 4
    assert "max_prompt_length" in by_key and "removed" in by_key["max_prompt_length"].message
    assert "--overwrite" in by_key["overwrite_output_dir"].message
    assert "warmup_steps" in by_key["warmup_ratio"].message
    assert report.values["dtype"] == "bfloat16"
    assert report.values["warmup_steps"] == 0.1
    assert "max_prompt_length" not in report.values


def test_open_r1_flat_reward_parameters_move_into_reward_kwargs(tmp_path):
    text = GOOD + "reward_funcs: [cosine]\ncosine_max_len: 500\n"
    report = validate_recipe(write(tmp_path, text))
    assert report.ok, [f.format() for f in report.errors]
    assert report.values["reward_kwargs"]["cosine"]["max_len"] == 500


def test_sft_only_key_in_grpo_recipe_is_a_warning(tmp_path):
    report = validate_recipe(write(tmp_path, GOOD + "packing: true\n"))
    assert report.ok
    assert any(f.key == "packing" and "SFTConfig" in f.message for f in report.warnings)


def test_trust_remote_code_warns(tmp_path):
    report = validate_recipe(write(tmp_path, GOOD + "trust_remote_code: true\n"))
    assert report.ok and any(f.key == "trust_remote_code" for f in report.warnings)


def test_overrides_are_typed_and_located(tmp_path):
    path = write(tmp_path, GOOD)
    report = validate_recipe(path, overrides=["learning_rate=3e-6", "num_generations=8"])
    assert report.ok and report.values["learning_rate"] == pytest.approx(3e-6) and report.values["num_generations"] == 8
    bad = validate_recipe(path, overrides=["beta=-2"])
    assert bad.errors[0].format().startswith(f"{path} (--set): beta:")
    with pytest.raises(UsageError):
        validate_recipe(path, overrides=["no_equals_sign"])


def test_load_recipe_raises_one_config_error_naming_all(tmp_path):
    path = write(tmp_path, GOOD + "beta: -1\nlerning_rate: 1\n")
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    assert "2 errors" in info.value.message and ":5: beta" in info.value.message and ":6: lerning_rate" in info.value.message


def test_load_recipe_gives_attribute_access_and_trl_split(tmp_path):
    recipe = load_recipe(write(tmp_path, GOOD + "learning_rate: 2.0e-6\nlora_r: 8\n"))
    assert recipe.get("learning_rate") == pytest.approx(2e-6)
    assert recipe.trainer == "grpo"
    grpo = recipe.trl_kwargs("grpo")
    assert grpo["learning_rate"] == pytest.approx(2e-6) and "lora_r" not in grpo
    assert recipe.trl_kwargs("model")["lora_r"] == 8


def test_directory_and_missing_file(tmp_path):
    assert "is a directory" in validate_recipe(tmp_path).errors[0].message
    assert "not found" in validate_recipe(tmp_path / "nope.yaml").errors[0].message


def test_huge_file_is_refused_without_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("a: 1\n" * 300_000)
    assert "MB" in validate_recipe(path).errors[0].message


def test_non_utf8_reports_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.encode() + b"system_prompt: caf\xe9\n")
    error = validate_recipe(path).errors[0]
    assert error.line == 5 and "UTF-8" in error.message


@pytest.mark.parametrize("template", sorted(p for p in (Path(__file__).parent.parent / "templates").rglob("*.yaml")
                                            if "accelerate" not in p.parts), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_templates_validate(template):
    report = validate_recipe(template)
    assert report.ok, [f.format() for f in report.errors]


def test_validation_imports_no_heavy_library(tmp_path):
    import subprocess
    import sys

    path = write(tmp_path, textwrap.dedent(GOOD))
    code = ("import sys; from r1cli.config import validate_recipe; r = validate_recipe(sys.argv[1]); "
            "heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'sympy', 'math_verify') if m in sys.modules]; "
            "print(heavy); assert r.ok and not heavy")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_eval_steps_above_one_must_be_whole_as_the_trainer_requires(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model_name_or_path: a/b\ndataset_name: c/d\nnum_generations: 4\nper_device_train_batch_size: 8\n"
                    "eval_dataset_name: e/f\neval_steps: 2.5\n", encoding="utf-8")
    report = validate_recipe(path)
    assert [f.format() for f in report.errors] == [f"{path}:6: eval_steps: 2.5 is not a whole number "
                                                   "(fix: set eval_steps to a whole number (or below 1: a fraction))"]
    assert validate_recipe(path, overrides=["eval_steps=0.25"]).ok  # a fraction of the run


def test_a_threshold_of_the_wrong_type_is_reported_not_a_traceback(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model_name_or_path: a/b\ndataset_name: c/d\nnum_generations: 4\nper_device_train_batch_size: 8\n"
                    "reject_sampling_threshold: nonsense\n", encoding="utf-8")
    assert [f.key for f in validate_recipe(path).errors] == ["reject_sampling_threshold"]


# What this machine cannot run is not a mistake in the recipe: a warning naming what is missing
# (exit 0), an error with --here. On this CPU test machine none of these packages is usable.
MACHINE = [
    ("vllm_without_gpu", GOOD + "use_vllm: true\n", 5, "use_vllm", "vLLM generation needs"),
    ("liger_without_package", GOOD + "use_liger_kernel: true\n", 5, "use_liger_kernel", "Liger kernels needs"),
    ("flash_attention_on_cpu", GOOD + "attn_implementation: flash_attention_2\n", 5, "attn_implementation", "flash_attention_2 needs"),
    ("batch_divides_only_over_more_processes", GOOD.replace("per_device_train_batch_size: 8", "per_device_train_batch_size: 6"),
     3, "num_generations", "it is with 2, 4"),
]


@pytest.mark.parametrize("name,text,line,key,needle", MACHINE, ids=[m[0] for m in MACHINE])
def test_what_this_machine_cannot_run_is_a_warning_and_an_error_with_here(tmp_path, name, text, line, key, needle):
    import r1cli.hardware

    if r1cli.hardware.has_gpu():
        pytest.skip("a GPU machine may run these")
    path = make(tmp_path, text)
    report = validate_recipe(path)
    assert report.ok, [f.format() for f in report.errors]
    [finding] = [f for f in report.machine if f.key == key]
    assert finding.severity == "warning" and finding.line == line and needle in finding.message and finding.hint
    strict = validate_recipe(path, here=True)
    assert [f.key for f in strict.errors] == [key] and strict.errors[0].format().startswith(where(path, line))


def test_launch_settings_decide_the_batch_arithmetic(tmp_path):
    """Given a process count, an indivisible generation batch is an error; without one, the counts that work."""
    text = GOOD.replace("per_device_train_batch_size: 8", "per_device_train_batch_size: 6")
    path = make(tmp_path, text)
    assert validate_recipe(path).ok
    errors = validate_recipe(path, overrides=["num_processes=3"]).errors
    assert [f.key for f in errors] == ["num_generations"] and "x 3 processes" in errors[0].message
    assert validate_recipe(path, overrides=["num_processes=2"]).ok


def test_set_values_pass_the_yaml_guards_and_are_reported_as_set(tmp_path):
    path = make(tmp_path, GOOD)
    bomb = "[" + ",".join(["&a [1,1,1,1,1,1,1,1,1]"] + ["&%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]" % ((chr(98 + i),) + (chr(97 + i),) * 9)
                                                       for i in range(8)]) + "]"
    report = validate_recipe(path, overrides=[f"reward_kwargs={bomb}"])
    assert [f.key for f in report.errors] == ["reward_kwargs"] and "aliases expand" in report.errors[0].message
    assert report.errors[0].format().startswith(f"{path} (--set): ")
    recursive = validate_recipe(path, overrides=["reward_weights=&w [1.0, *w]"])
    assert "recursive" in recursive.errors[0].message
    typo = validate_recipe(path, overrides=["lr_scheduler_type=cosin"])
    assert typo.errors[0].format().startswith(f"{path} (--set): lr_scheduler_type: ")


def test_open_r1_keys_are_recognised_with_what_r1_does_instead(tmp_path):
    path = make(tmp_path, GOOD + "callbacks: [push_to_hub_revision]\nbenchmarks: [math_500]\npush_to_hub_revision: true\n"
                "code_eval_test_batch_size: 3\nvllm_device: auto\n")
    report = validate_recipe(path)
    assert report.ok, [f.format() for f in report.errors]
    warned = {f.key: f.message for f in report.warnings}
    assert {"callbacks", "benchmarks", "push_to_hub_revision", "code_eval_test_batch_size", "vllm_device"} <= set(warned)
    assert "r1 eval" in warned["benchmarks"]


def test_smaller_things_are_warnings(tmp_path):
    import r1cli.hardware

    path = make(tmp_path, GOOD + "max_steps: 10\neval_steps: 50\neval_dataset_split: test\nwarmup_ratio: 1.5\n")
    report = validate_recipe(path)
    assert report.ok
    warned = {f.key: f.message for f in report.warnings}
    assert "more than max_steps" in warned["eval_steps"] and "neither a ratio" in warned["warmup_steps"]
    if not r1cli.hardware.has_gpu():
        cpu = validate_recipe(make(tmp_path, GOOD + "dtype: float16\n"))
        assert any(f.key == "dtype" and "CPU" in f.message for f in cpu.warnings)
