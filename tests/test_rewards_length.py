"""`length`, `cosine` and `soft_overlong_punishment`, with hand-checked values."""

from __future__ import annotations

import math

import pytest

from r1cli.rewards.length import cosine, length, soft_overlong_punishment


def test_length_is_gaussian_in_characters_without_ids():
    texts = ["x" * 300, "x" * 450, "x" * 150, ""]
    expected = [1.0, math.exp(-0.5), math.exp(-0.5), math.exp(-2.0)]
    assert length(texts) == pytest.approx(expected)


def test_length_counts_tokens_when_ids_are_given():
    ids = [[0] * 10, [0] * 20]
    assert length(["a", "b"], target=10, sigma=5, completion_ids=ids) == pytest.approx([1.0, math.exp(-2.0)])


CORRECT, WRONG = "<answer>4</answer>", "<answer>5</answer>"


@pytest.mark.parametrize(
    "n, correct, wrong",
    [
        (0, 1.0, -1.0),  # shortest: max_value_correct / min_value_wrong
        (500, 0.75, -0.75),  # half way: cos(pi/2) = 0, the midpoints
        (1000, 0.5, -0.5),  # at max_len: min_value_correct / max_value_wrong
        (5000, 0.5, -0.5),  # beyond max_len the schedule stays at its end
    ],
)
def test_cosine_schedule(n, correct, wrong):
    ids = [[0] * n, [0] * n]
    assert cosine([CORRECT, WRONG], ["4", "4"], completion_ids=ids) == pytest.approx([correct, wrong])


def test_cosine_leaves_out_unparseable_golds():
    assert cosine([CORRECT], ["not an answer at all, sorry"]) == [None]


@pytest.mark.parametrize("n, expected", [(50, 0.0), (80, 0.0), (90, -0.5), (100, -1.0), (101, -1.0)])
def test_soft_overlong_punishment_dapo(n, expected):
    # L = 100, cache = 20: no penalty up to 80, linear to -1 at 100, -1 beyond
    out = soft_overlong_punishment(["x"], max_completion_len=100, soft_punish_cache=20, completion_ids=[[0] * n])
    assert out == [pytest.approx(expected)]


def test_soft_overlong_punishment_counts_characters_without_ids():
    assert soft_overlong_punishment(["x" * 1000]) == [pytest.approx((768 - 1000) / 256)]
