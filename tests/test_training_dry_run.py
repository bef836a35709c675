"""training/dry_run.py: token statistics, the gold check with the calculator's accuracy reward, a tiny dry run."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from datasets import Dataset  # noqa: E402

from r1cli.rewards import get_reward_calculator, register_reward  # noqa: E402
from r1cli.training import dry_run as dry  # noqa: E402


def short_verifier(completions, solution, *, max_chars: int = 100, **kwargs):
    """1.0 when equal; None when the gold is longer than max_chars (it cannot be parsed)."""
    return [None if len(str(s)) > max_chars else float(str(c) == str(s)) for c, s in zip(completions, solution)]


@pytest.fixture(autouse=True)
def verifier(clean_registry):
    """A registered reward that verifies answers, gone after each test (the registry is global)."""
    register_reward("test_dry_run_verifier", verifies_answers=True, range=(0.0, 1.0))(short_verifier)


def test_token_stats():
    stats = dry._token_stats([5, 1, 3, 2, 4] * 4)
    assert stats == {"count": 20, "min": 1, "mean": 3.0, "p95": 5, "max": 5}
    assert dry._token_stats([7]) == {"count": 1, "min": 7, "mean": 7.0, "p95": 7, "max": 7}


def golds(*values):
    return Dataset.from_dict({"prompt": [f"q{i}" for i in range(len(values))], "solution": list(values)})


def test_gold_check_scores_with_the_calculators_accuracy_reward_and_its_parameters():
    rows = golds("1", "22", "333")
    calc = get_reward_calculator(["format", "test_dry_run_verifier"], reward_kwargs={"test_dry_run_verifier": {"max_chars": 2}})
    gold = dry._score_golds(calc, rows)
    assert gold == {"reward": "test_dry_run_verifier", "rows": 3, "verified": 2, "not_equal": 0, "unparseable": 1,
                    "examples": ["333"]}


def test_gold_check_with_the_builtin_accuracy():
    gold = dry._score_golds(get_reward_calculator(["accuracy"]), golds("42", "\\frac{1}{2}", "see the textbook"))
    assert gold["reward"] == "accuracy" and gold["verified"] == 2 and gold["examples"] == ["see the textbook"]


def report(gold):
    return dry.DryRunReport(recipe="r.yaml", trainer="grpo", output_dir="runs/r", rows=3, gold=gold)


def test_no_verifier_means_no_gold_check_and_a_note():
    assert dry._score_golds(get_reward_calculator(["format", "length"]), golds("1")) is None
    skipped = report(None)
    dry._judge_golds(skipped)
    assert skipped.notes == [dry.NO_VERIFIER_NOTE] and skipped.ok and not skipped.warnings


def test_golds_judged_by_the_verifiers_name():
    none_verify = report({"reward": "exact", "rows": 2, "verified": 0, "not_equal": 0, "unparseable": 2, "examples": []})
    dry._judge_golds(none_verify)
    assert not none_verify.ok and "with the exact reward" in none_verify.errors[0]
    some = report({"reward": "accuracy", "rows": 4, "verified": 3, "not_equal": 1, "unparseable": 0, "examples": []})
    dry._judge_golds(some)
    assert some.ok and some.warnings == ["1 of 4 gold answers do not verify against themselves; "
                                         "those samples can never earn the accuracy reward"]


def test_a_tiny_dry_run_uses_the_calculator_it_is_given(tmp_path, tiny_model_dir):
    from r1cli.config import load_recipe

    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i}+1?", "solution": str(i + 1)}) for i in range(4)))
    path = tmp_path / "r.yaml"
    path.write_text(f"model_name_or_path: {tiny_model_dir}\ndataset_name: {data}\nnum_generations: 2\n"
                    "per_device_train_batch_size: 4\nmax_completion_length: 8\nmax_steps: 5\n")
    recipe = load_recipe(path)
    calc = get_reward_calculator(["format", "test_dry_run_verifier"])
    result = dry.dry_run(recipe, rewards=calc)
    assert result.ok and result.rows == 4 and result.gold["reward"] == "test_dry_run_verifier"
    assert result.gold["verified"] == 4 and result.steps["total_steps"] == 5
    assert result.budget["max_completion_length"] == 8 and result.prompt_tokens["count"] == 4
