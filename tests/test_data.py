"""Dataset loading, column detection, prompt building and the built-in arithmetic task."""

from __future__ import annotations

import json

import pytest

from r1cli.data.prompts import build_messages, pick_column, prepare_grpo, prepare_sft
from r1cli.data.sources import load_source
from r1cli.data.synthetic import generate, split_of
from r1cli.errors import DataError


def test_arithmetic_is_seeded_exact_and_splits_never_overlap():
    train = generate("medium", "train", size=500, seed=1)
    test = generate("medium", "test", size=100, seed=1)
    assert generate("medium", "train", size=500, seed=1) == train
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in test}
    assert all(split_of(r["prompt"]) == "test" for r in test)
    for row in train[:50] + generate("hard", "train", size=50):
        expression = row["prompt"].removeprefix("What is ").removesuffix("?").replace("×", "*")
        tokens = expression.split()
        # recompute with the usual precedence, independently of the generator
        values, ops = [int(tokens[0])], []
        for op, n in zip(tokens[1::2], tokens[2::2]):
            if op == "*":
                values[-1] *= int(n)
            else:
                ops.append(op)
                values.append(int(n))
        total = values[0]
        for op, v in zip(ops, values[1:]):
            total = total + v if op == "+" else total - v
        assert row["solution"] == str(total)
        assert row["completion"].endswith(f"<answer>{total}</answer>")


def test_arithmetic_completions_earn_full_format_and_accuracy():
    """SFT on these teaches exactly what the GRPO rewards ask for (two reasoning lines, both tags)."""
    from r1cli.rewards import get_reward_calculator

    rows = [r for level in ("add", "easy", "medium", "hard") for r in generate(level, "train", size=20)]
    scores = get_reward_calculator(["accuracy", "format", "tag_count"]).score(
        [r["completion"] for r in rows], solution=[r["solution"] for r in rows]).per_reward
    assert all(v == 1.0 for name in scores for v in scores[name])
    assert not any("Multiplication comes" in r["completion"] for r in rows if "+" not in r["prompt"] and "-" not in r["prompt"])


def test_arithmetic_add_level_is_one_addition_on_1_to_50():
    rows = generate("add", "test", size=100)
    for row in rows:
        a, b = row["prompt"].removeprefix("What is ").removesuffix("?").split(" + ")
        assert 1 <= int(a) <= 50 and 1 <= int(b) <= 50 and row["solution"] == str(int(a) + int(b))


def test_arithmetic_rejects_unknown_config_and_split():
    with pytest.raises(DataError):
        generate("impossible")
    with pytest.raises(DataError):
        generate("easy", "validation")


def test_load_local_jsonl_directory_and_builtin(tmp_path):
    rows = [{"question": f"q{i}", "answer": f"#### {i}"} for i in range(5)]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert load_source(str(path))["question"] == [r["question"] for r in rows]
    assert len(load_source(str(tmp_path), split="train")) == 5
    assert len(load_source("arithmetic", config="easy", split="test", size=7)) == 7


def test_load_errors_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_source("./missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{not json\n')
    with pytest.raises(DataError, match=rf"{bad}:2: invalid JSON"):  # the line, not datasets' "error occurred"
        load_source(str(bad))
    (tmp_path / "blank.jsonl").write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_source(str(tmp_path / "blank.jsonl"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .jsonl"):
        load_source(str(tmp_path / "empty"))


def test_pick_column_prefers_the_named_then_known_names():
    assert pick_column(["question", "answer"], None, ("prompt", "problem", "question"), "prompt", "k") == "question"
    with pytest.raises(DataError, match="columns are: question, answer"):
        pick_column(["question", "answer"], "problem", (), "prompt", "dataset_prompt_column")


def test_build_messages_adds_system_prompt_once():
    assert build_messages("2+2?", "Think.") == [{"role": "system", "content": "Think."}, {"role": "user", "content": "2+2?"}]
    existing = [{"role": "user", "content": "hi"}]
    assert build_messages(existing, "S")[0] == {"role": "system", "content": "S"}
    assert build_messages(existing, None) == existing


def test_prepare_grpo_and_sft(shared_data):
    import datasets

    ds = datasets.Dataset.from_list([json.loads(line) for line in (shared_data / "gsm8k_test.jsonl").open().readlines()[:3]])
    grpo = prepare_grpo(ds, prompt_column=None, solution_column=None, system_prompt="S")
    assert grpo[0]["prompt"][1]["content"] == ds[0]["question"] and grpo[0]["solution"] == ds[0]["answer"]
    sft = prepare_sft(ds, prompt_column=None, completion_column=None, system_prompt=None)
    assert sft.column_names == ["prompt", "completion"]
    assert sft[0]["completion"] == [{"role": "assistant", "content": ds[0]["answer"]}]
