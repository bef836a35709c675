"""open-r1's `len_reward` against its published behaviour, and recipes written for open-r1 keeping their meaning.

Expected values are worked out by hand from open-r1's src/open_r1/rewards.py (len_reward: lengths in characters,
min and max over the completions of the call, λ = 0.5 - (n - min)/(max - min), min(0, λ) for a wrong answer, an
unparseable gold counted as correct) and the cases of its tests/test_rewards.py; the cases here are written anew.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from r1cli.config import validate_recipe
from r1cli.rewards import get_reward_calculator, get_reward_spec
from r1cli.rewards.format_rewards import format_reward
from r1cli.rewards.openr1_rewards import len_reward

RIGHT = r"\boxed{\frac{3}{7}}"  # 19 characters
WRONG = r"\boxed{\frac{4}{7}}"  # 19 characters
GOLD = r"\frac{3}{7}"


def test_spec_range_and_columns():
    spec = get_reward_spec("len_reward")
    assert spec.range == (-0.5, 0.5) and spec.columns == ("solution",) and not spec.verifies_answers
    assert set(spec.params) == {"per_prompt", "timeout"}
    assert get_reward_spec("length").range == (0.0, 1.0)  # r1's `length` is still r1's


def test_equal_lengths_score_zero_right_or_wrong():
    assert len_reward([RIGHT, WRONG], [GOLD, GOLD]) == [0.0, 0.0]
    assert len_reward([RIGHT], [GOLD]) == [0.0]
    assert len_reward([], []) == []


def test_hand_checked_values_over_the_call():
    # lengths 19, 29, 39, 19, 39: min 19, max 39, λ = 0.5 - (n - 19)/20 = 0.5, 0, -0.5
    pad = " " * 10
    completions = [RIGHT, RIGHT + pad, RIGHT + pad * 2, WRONG, WRONG + pad * 2]
    assert len_reward(completions, [GOLD] * 5) == [0.5, 0.0, -0.5, 0.0, -0.5]
    # 19 and 24 characters: λ = 0.5 and 0.5 - 5/20 = 0.25 for the right answer, min(0, 0.25) = 0 for the wrong one
    assert len_reward([RIGHT, WRONG + " " * 5, RIGHT + " " * 20], [GOLD] * 3) == [0.5, 0.0, -0.5]
    assert len_reward([RIGHT, RIGHT + " " * 5, RIGHT + " " * 20], [GOLD] * 3) == [0.5, pytest.approx(0.25), -0.5]


def test_chat_messages_and_unparseable_gold_count_as_correct():
    chats = [[{"role": "assistant", "content": text}] for text in (r"\boxed{x}", r"\boxed{x}" + "y" * 10)]
    # open-r1: a gold it cannot parse is treated as correct ("to avoid penalizing")
    assert len_reward(chats, ["no answer here at all"] * 2) == [0.5, -0.5]


def test_per_prompt_compares_each_prompt_group_alone():
    completions = [RIGHT, RIGHT + " " * 10, RIGHT + " " * 40, RIGHT + " " * 50]
    prompts = ["p1", "p1", "p2", "p2"]
    # over the call: min 19, max 69 -> 0.5, 0.3, -0.3, -0.5; per prompt each pair is its own group
    assert len_reward(completions, [GOLD] * 4, prompts=prompts) == pytest.approx([0.5, 0.3, -0.3, -0.5])
    assert len_reward(completions, [GOLD] * 4, prompts=prompts, per_prompt=True) == [0.5, -0.5, 0.5, -0.5]
    chat_prompts = [[{"role": "user", "content": p}] for p in prompts]
    assert len_reward(completions, [GOLD] * 4, prompts=chat_prompts, per_prompt=True) == [0.5, -0.5, 0.5, -0.5]


def test_through_the_calculator_with_recipe_kwargs():
    calc = get_reward_calculator(["len_reward"], reward_kwargs={"len_reward": {"per_prompt": True}})
    scores = calc.score([RIGHT, WRONG + " x"], solution=[GOLD, GOLD], prompts=["a", "b"])
    assert scores.per_reward["len_reward"] == [0.0, 0.0]  # one completion per prompt: equal lengths


# --- recipes written for open-r1 -----------------------------------------------------------------

OPENR1_HEAD = """\
model_name_or_path: Qwen/Qwen2.5-Math-1.5B
dataset_name: open-r1/OpenR1-Math-220k
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def meaning_warnings(report):
    return {f.key: f for f in report.warnings if "looks written for open-r1" in f.message}


def test_open_r1_recipe_naming_format_and_length_is_told_the_difference_and_the_fix(tmp_path):
    recipe = OPENR1_HEAD + "callbacks: [push_to_hub_revision]\nreward_funcs: [accuracy, format, length]\n"
    report = validate_recipe(write(tmp_path, recipe), layers=("schema", "rewards"))
    assert report.ok
    warned = meaning_warnings(report)
    assert set(warned) == {"reward_funcs.1", "reward_funcs.2"}
    fmt, length = warned["reward_funcs.1"], warned["reward_funcs.2"]
    assert "callbacks" in fmt.message and "binary" in fmt.message and "graded" in fmt.message
    assert "reward_kwargs: {format: {strict: true}}" in fmt.hint
    assert "len_reward" in length.message and "Gaussian" in length.message
    assert "`len_reward` instead of `length`" in length.hint
    assert fmt.line == length.line == 4


def test_the_fixes_silence_the_warnings(tmp_path):
    fixed = OPENR1_HEAD + ("callbacks: [push_to_hub_revision]\nreward_funcs: [accuracy, format, len_reward]\n"
                           "reward_kwargs: {format: {strict: true}}\n")
    report = validate_recipe(write(tmp_path, fixed), layers=("schema", "rewards"))
    assert report.ok and not meaning_warnings(report)
    # Choosing r1's meaning explicitly is as good as choosing open-r1's.
    kept = OPENR1_HEAD + ("benchmarks: [math_500]\nreward_funcs: [format, length]\n"
                          "reward_kwargs: {format: {strict: false}, length: {target: 500}}\n")
    assert not meaning_warnings(validate_recipe(write(tmp_path, kept), layers=("schema", "rewards")))


def test_open_r1_flat_reward_parameters_mark_an_open_r1_recipe(tmp_path):
    recipe = OPENR1_HEAD + "reward_funcs: [accuracy, format, cosine]\ncosine_max_len: 1000\n"
    warned = meaning_warnings(validate_recipe(write(tmp_path, recipe), layers=("schema", "rewards")))
    assert set(warned) == {"reward_funcs.1"} and "cosine_max_len" in warned["reward_funcs.1"].message


def test_an_r1_recipe_is_not_warned(tmp_path):
    recipe = OPENR1_HEAD + "reward_funcs: [accuracy, format, length]\n"
    assert not meaning_warnings(validate_recipe(write(tmp_path, recipe), layers=("schema", "rewards")))


def test_r1_validate_prints_the_warning_with_its_fix(tmp_path):
    from r1cli.cli import app

    path = write(tmp_path, OPENR1_HEAD + "callbacks: []\nreward_funcs: [accuracy, format]\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "reward_funcs.1" in text and "looks written for open-r1" in text
    assert "reward_kwargs: {format: {strict: true}}" in text


def test_the_fix_gives_open_r1s_binary_format():
    # A layout open-r1's format scores 1.0 (one-line reasoning): r1's graded format 0.8, strict 1.0.
    layout = "<think>\nreason\n</think>\n<answer>\n42\n</answer>"
    assert format_reward([layout]) == [pytest.approx(0.8)]
    assert format_reward([layout], strict=True) == [1.0]
