"""build_request: `r1 eval`'s flags resolved against a recipe (flag wins, recipe fills gaps, defaults, errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from r1cli.errors import DataError, UsageError
from r1cli.evaluation.request import DEFAULT_MAX_NEW_TOKENS, EvalRequest, build_request

RECIPE = {
    "model_name_or_path": "/cluster/models/x", "gguf_file": None, "dataset_name": "/cluster/data/train.jsonl",
    "eval_dataset_name": "/cluster/data/test.jsonl", "eval_dataset_split": "validation", "dataset_config": "main",
    "dataset_prompt_column": "question", "dataset_solution_column": "target", "system_prompt": "Think first.",
    "chat_template": "{{ messages }}", "eval_temperature": 0.6, "max_completion_length": 256, "dtype": "bfloat16",
    "trust_remote_code": True,
}


def test_defaults_without_a_recipe():
    request = build_request(None, models=["m"], dataset="d.jsonl")
    assert request == EvalRequest(models=("m",), dataset="d.jsonl")
    assert (request.split, request.temperature, request.max_new_tokens, request.num_samples) == ("test", 0.0, DEFAULT_MAX_NEW_TOKENS, 1)
    assert request.decoding == {"num_samples": 1, "temperature": 0.0, "top_p": 1.0, "max_new_tokens": DEFAULT_MAX_NEW_TOKENS}


def test_recipe_fills_every_gap():
    request = build_request(RECIPE)
    assert request.models == ("/cluster/models/x",)
    assert (request.dataset, request.split, request.dataset_config) == ("/cluster/data/test.jsonl", "validation", "main")
    assert (request.prompt_column, request.solution_column, request.system_prompt) == ("question", "target", "Think first.")
    assert (request.temperature, request.max_new_tokens) == (0.6, 256)
    assert (request.chat_template, request.dtype, request.trust_remote_code) == ("{{ messages }}", "bfloat16", True)
    assert request.generation()["max_new_tokens"] == 256


def test_flags_win_over_the_recipe():
    request = build_request(RECIPE, models=["mine"], dataset="other.jsonl", split="test", prompt_column="problem",
                            solution_column="answer", system_prompt="", temperature=0.0, max_new_tokens=8)
    assert request.models == ("mine",) and request.dataset == "other.jsonl" and request.split == "test"
    # The recipe's split and dataset config belong to its own dataset: not applied to --dataset.
    assert build_request(RECIPE, dataset="other.jsonl").split == "test"
    assert build_request(RECIPE, dataset="other.jsonl").dataset_config is None
    assert (request.prompt_column, request.solution_column, request.system_prompt) == ("problem", "answer", "")
    assert (request.temperature, request.max_new_tokens) == (0.0, 8)


def test_completions_mode_takes_only_the_gold_column_from_the_recipe():
    request = build_request(RECIPE, completions=Path("c.jsonl"), skip_invalid=True)
    assert request.completions == Path("c.jsonl") and request.models == () and request.dataset is None
    assert (request.solution_column, request.skip_invalid) == ("target", True)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(), UsageError, "no model given"),
    (dict(models=["m"]), UsageError, "no dataset given"),
    (dict(models=["a", "b", "c"], dataset="d"), UsageError, "compares at most two"),
    (dict(models=["a", "b"], dataset="d", baseline=Path("b.jsonl")), UsageError, "give one MODEL"),
    (dict(models=["m"], dataset="d", skip_invalid=True), UsageError, "--completions files only"),
    (dict(completions=Path("c.jsonl"), models=["m"]), UsageError, "give no MODEL"),
    (dict(completions=Path("c.jsonl"), limit=3), UsageError, "does not apply to --completions"),
    (dict(models=["m"], dataset="d", num_samples=4), UsageError, "needs --temperature above 0"),
    (dict(models=["m"], dataset="d", top_p=0.0), UsageError, "--top-p"),
    (dict(models=["m"], dataset="d", backend="tgi"), UsageError, "unknown backend"),
    (dict(models=["m"], dataset="d", limit=0), DataError, "--limit 0 selects no items"),
])
def test_what_cannot_run_is_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        build_request(None, **kwargs)


def test_recipe_temperature_allows_several_samples():
    assert build_request(RECIPE, num_samples=4).num_samples == 4


def test_a_run_directory_lends_its_saved_recipe(tmp_path):
    """`r1 eval RUN_DIR` without --dataset evaluates on the eval data the run's config.yaml names."""
    import yaml

    from r1cli.run_dir import RunDirectory

    run = RunDirectory(tmp_path / "run")
    run.path.mkdir()
    run.config.write_text("# resolved from r.yaml\n" + yaml.safe_dump(RECIPE), encoding="utf-8")
    request = build_request(None, models=[str(run.path)])
    assert request.models == (str(run.path),)  # the run's weights, not its base model
    assert (request.dataset, request.split, request.prompt_column) == ("/cluster/data/test.jsonl", "validation", "question")
    assert request.system_prompt == "Think first." and request.max_new_tokens == 256
    assert build_request(None, models=[str(run.path)], dataset="d.jsonl").dataset == "d.jsonl"  # a flag still wins
    with pytest.raises(UsageError, match="no dataset given"):
        build_request(None, models=[str(tmp_path)])  # not a run directory: nothing to borrow
