"""TRL's `think_format_reward` and `reasoning_accuracy_reward` against TRL's published behaviour.

Expected values are worked out by hand from trl/rewards/format_rewards.py (the pattern
^<think>(?!.*<think>)(.*?)</think>.*$ with DOTALL) and trl/rewards/accuracy_rewards.py (the answer is what
follows the last occurrence of the first delimiter present; none present: 0.0; unparseable gold: None), and from
the kinds of cases in TRL's tests/test_rewards.py; the cases here are written anew.
"""

from __future__ import annotations

import pytest

from r1cli.errors import RewardError
from r1cli.rewards import get_reward_calculator, get_reward_spec
from r1cli.rewards.registry import check_reward_kwargs
from r1cli.rewards.trl_rewards import final_part, reasoning_accuracy_reward, think_format_reward


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<think>why</think>so 5", 1.0),
        ("<think>\nline one\nline two\n</think>\nso 5", 1.0),
        ("<think></think>5", 1.0),  # empty reasoning is allowed
        ("<think>a <b> tag inside</think>", 1.0),  # other tags, and nothing after the block
        ("<think>why</think>so 5</think>", 1.0),  # a second closing tag is not refused
        ("<think>never closed\nso 5", 0.0),
        ("why</think>so 5", 0.0),  # no opening tag
        (" <think>why</think>so 5", 0.0),  # must start the completion
        ("\n<think>why</think>so 5", 0.0),
        ("so <think>why</think> 5", 0.0),
        ("<think>a<think>b</think></think>5", 0.0),  # nested
        ("<think>a</think>\nb\n<think>c</think>5", 0.0),  # a second block
        ("<think>a</think>5<think>", 0.0),  # a later opening tag anywhere
        ("<THINK>a</THINK>5", 0.0),
        ("", 0.0),
    ],
)
def test_think_format_matches_trls_pattern(text, expected):
    assert think_format_reward([text]) == [expected]
    assert think_format_reward([[{"role": "assistant", "content": text}]]) == [expected]


def test_think_format_is_linear_on_huge_inputs():
    import time

    huge = "<think>" + "x" * 2_000_000 + "</think>5"
    started = time.perf_counter()
    assert think_format_reward([huge, huge.replace("</think>", "")]) == [1.0, 0.0]
    assert time.perf_counter() - started < 1.0


def test_specs():
    fmt, acc = get_reward_spec("think_format_reward"), get_reward_spec("reasoning_accuracy_reward")
    assert fmt.range == acc.range == (0.0, 1.0) and fmt.params == {} and fmt.columns == ()
    assert acc.verifies_answers and not fmt.verifies_answers and acc.columns == ("solution",)
    assert set(acc.params) == {"reasoning_delimiters", "timeout"}


def test_final_part_follows_trls_split():
    assert final_part("a</think>b</think>c", ["</think>"]) == "c"  # after the last occurrence
    assert final_part("a</x>b</y>c", ["</y>", "</x>"]) == "c"
    assert final_part("a</x>b</y>c", ["</x>", "</y>"]) == "b</y>c"  # the first delimiter present wins, as in TRL
    assert final_part("no delimiter", ["</think>"]) is None


def test_reasoning_accuracy_hand_checked():
    completions = [
        r"<think>work</think> The answer is \boxed{\frac{2}{9}}",  # right, after the reasoning
        r"<think>work</think> The answer is \boxed{\frac{1}{9}}",  # wrong
        r"reasoning with no opening tag</think> \boxed{\frac{2}{9}}",  # TRL needs only the delimiter
        r"<think>it is \boxed{\frac{2}{9}}</think> Nothing more to say.",  # right only inside the reasoning
        r"<think>it is \boxed{\frac{2}{9}}</think> but then \boxed{7}",  # right inside, wrong after
        r"<think>never finished, \boxed{\frac{2}{9}}",  # no delimiter: 0.0, not None
        r"\boxed{\frac{2}{9}}",  # a right answer without reasoning: 0.0
        r"<think>a</think> \boxed{1} </think> \boxed{\frac{2}{9}}",  # after the last delimiter
    ]
    expected = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert reasoning_accuracy_reward(completions, [r"\frac{2}{9}"] * len(completions)) == expected
    chats = [[{"role": "assistant", "content": c}] for c in completions]
    assert reasoning_accuracy_reward(chats, [r"\frac{2}{9}"] * len(completions)) == expected


def test_custom_delimiters_and_unparseable_gold():
    text = r"<reason>work</reason_end> \boxed{12}"
    assert reasoning_accuracy_reward([text], ["12"]) == [0.0]  # default delimiter absent
    assert reasoning_accuracy_reward([text], ["12"], reasoning_delimiters=["</reason_end>"]) == [1.0]
    # A gold that cannot be parsed skips the sample (None) once the reasoning is finished; unfinished is 0.0 first.
    assert reasoning_accuracy_reward(["<think>a</think> \\boxed{3}", "<think>a"], [None, None]) == [None, 0.0]


def test_delimiters_are_checked_as_recipe_parameters():
    check_reward_kwargs("reasoning_accuracy_reward", {"reasoning_delimiters": ["</think>", "</reasoning>"]})
    check_reward_kwargs("reasoning_accuracy_reward", {"reasoning_delimiters": None})
    for bad in ([], [""], "</think>", [3]):
        with pytest.raises(RewardError):
            check_reward_kwargs("reasoning_accuracy_reward", {"reasoning_delimiters": bad})


def test_it_counts_as_the_runs_accuracy_and_logs_unfinished_reasoning():
    calc = get_reward_calculator(["think_format_reward", "reasoning_accuracy_reward"])
    assert calc.accuracy_name == "reasoning_accuracy_reward"
    logged = {}
    scores = calc.score(["<think>a</think> \\boxed{4}", "<think>a \\boxed{4}"], solution=["4", "4"],
                        log_metric=lambda key, value: logged.__setitem__(key, value))
    assert scores.per_reward == {"think_format_reward": [1.0, 0.0], "reasoning_accuracy_reward": [1.0, 0.0]}
    assert logged["reasoning_accuracy_reward/unfinished_reasoning"] == 0.5
