"""`format` (graded and strict) and `tag_count`, with hand-checked values."""

from __future__ import annotations

import pytest

from r1cli.rewards.format_rewards import format_reward, tag_count


@pytest.mark.parametrize(
    "text, expected",
    [
        # all four structure parts (0.8) + segmented reasoning, two lines (0.2)
        ("<think>\nStep one.\nStep two.\n</think>\n<answer>42</answer>", 1.0),
        ("<think>one line</think><answer>42</answer>", 0.8),  # structure only
        ("Sure! <think>a\nb</think><answer>42</answer>", 0.8),  # text outside the blocks: 3/4 * 0.8 + 0.2
        ("<answer>42</answer><think>a\nb</think>", 0.6),  # wrong order: no order, no clean part
        ("<think>a\nb</think>", 0.4),  # think block only: 1/4 * 0.8 + 0.2
        ("<think> </think><answer>42</answer>", 0.2),  # blank reasoning counts as no think block
        ("<think>a\nb</think><think>c</think><answer>1</answer>", 0.2),  # two think blocks: none counts
        ("42", 0.0),
        ("", 0.0),
    ],
)
def test_graded_format(text, expected):
    assert format_reward([text]) == [pytest.approx(expected)]
    assert format_reward([[{"role": "assistant", "content": text}]]) == [pytest.approx(expected)]


def test_segment_share_and_threshold():
    text = "<think>a\nb</think><answer>1</answer>"
    # min_segments=3: two lines earn (2-1)/(3-1) of the segment share
    assert format_reward([text], min_segments=3) == [pytest.approx(0.8 + 0.2 * 0.5)]
    assert format_reward([text], segment_weight=0.0) == [1.0]
    assert format_reward(["<think>a</think><answer>1</answer>"], min_segments=1) == [1.0]


def test_strict_is_open_r1s_regex():
    good = "<think>\nreason\n</think>\n<answer>\n42\n</answer>"
    assert format_reward([good], strict=True) == [1.0]
    assert format_reward(["<think>reason</think><answer>42</answer>", good + " extra"], strict=True) == [0.0, 0.0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<think>x</think><answer>y</answer>", 1.0),
        ("<think>x</think><answer>y", 0.75),
        ("<think>x", 0.25),
        ("<think><think>x</think><answer>y</answer>", 0.65),  # 3 tags once (0.75) - one extra copy (0.1)
        ("<think>" * 20, 0.0),  # floored at 0
        ("", 0.0),
    ],
)
def test_tag_count(text, expected):
    assert tag_count([text]) == [pytest.approx(expected)]


def test_tag_count_penalty_is_configurable():
    assert tag_count(["<answer><answer></answer>"], extra_penalty=0.25) == [pytest.approx(0.0)]
    assert tag_count(["<answer><answer></answer>"], extra_penalty=0.0) == [pytest.approx(0.25)]
