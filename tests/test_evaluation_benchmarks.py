"""Benchmark presets: detection from columns, overrides, and the shared GSM8K / MATH-500 files (r1cli.evaluation.benchmarks)."""

from __future__ import annotations

import pytest

from r1cli.errors import DataError, UsageError
from r1cli.evaluation.benchmarks import Columns, detect_benchmark, resolve_columns


def test_gsm8k_is_detected_from_its_columns_and_its_answer_format():
    assert detect_benchmark(["question", "answer"]).name == "gsm8k"
    assert detect_benchmark(["question", "answer"], {"answer": "3 + 4 = 7\n#### 7"}).name == "gsm8k"
    # Same columns, but a bare answer: a generic Q&A file, read with the generic column names.
    assert detect_benchmark(["question", "answer"], {"answer": "7"}) is None
    assert resolve_columns(["question", "answer"], first_row={"answer": "7"}) == Columns("question", "answer", None)


def test_math_prefers_the_bare_answer_over_the_worked_solution():
    assert resolve_columns(["problem", "solution", "answer", "level"]) == Columns("problem", "answer", "math")
    assert resolve_columns(["problem", "solution"]) == Columns("problem", "solution", "math")


def test_explicit_columns_win_over_the_preset():
    columns = ["problem", "solution", "answer", "short"]
    assert resolve_columns(columns, solution_column="short") == Columns("problem", "short", "math")
    assert resolve_columns(["q", "a"], benchmark="gsm8k", prompt_column="q", solution_column="a") == Columns("q", "a", "gsm8k")


def test_generic_columns_when_no_preset_matches():
    assert resolve_columns(["prompt", "solution", "id"]) == Columns("prompt", "solution", None)


def test_bad_columns_and_presets_are_one_line_errors():
    with pytest.raises(DataError, match="'nope' not in the dataset") as missing:
        resolve_columns(["question", "answer"], prompt_column="nope")
    assert "question, answer" in missing.value.hint
    with pytest.raises(DataError, match="no prompt column"):
        resolve_columns(["text", "label"])
    with pytest.raises(DataError, match="does not look like math"):
        resolve_columns(["question", "answer"], benchmark="math")
    with pytest.raises(UsageError, match="unknown benchmark"):
        resolve_columns(["question", "answer"], benchmark="mmlu")


def test_shared_gsm8k_and_math500_files_are_recognised(shared_data):
    from r1cli.evaluation.evaluate import load_eval_set
    from r1cli.rewards.accuracy import gold_answer_text

    gsm8k = load_eval_set(str(shared_data / "gsm8k_test.jsonl"), limit=2, system_prompt="Be brief.")
    assert (len(gsm8k), gsm8k.columns) == (2, Columns("question", "answer", "gsm8k"))
    assert gsm8k.prompts[0][0] == {"role": "system", "content": "Be brief."}
    assert gsm8k.prompts[0][1]["content"].startswith("Janet")
    assert gold_answer_text(gsm8k.golds[0]) == "18"  # the number after ####

    math500 = load_eval_set(str(shared_data / "math500_test.jsonl"), limit=3)
    assert math500.columns == Columns("problem", "answer", "math")
    assert math500.golds[0] == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert set(math500.extra) == {"subject", "level", "unique_id"}  # other columns reach custom rewards
    # (`solution` is not among them: rewards receive the gold under that name)
    assert len(math500.extra["level"]) == 3
