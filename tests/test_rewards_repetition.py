"""`repetition_penalty`: n-grams over words (CJK characters count as words) or token ids."""

from __future__ import annotations

import pytest

from r1cli.rewards.repetition import repetition_penalty


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a b c a b c", -0.25),  # 3-grams abc, bca, cab, abc: 1 - 3/4
        ("A b C a B c", -0.25),  # case does not matter
        ("the cat sat on the mat", 0.0),
        ("hello world", 0.0),  # fewer words than n
        ("", 0.0),
        ("好好好好", -0.5),  # characters: two 3-grams, both 好好好
    ],
)
def test_words(text, expected):
    assert repetition_penalty([text]) == [pytest.approx(expected)]


def test_token_ids_and_parameters():
    # TRL's documented example: [5, 5, 5, 5, 5] with 2-grams -> 1 - 1/4
    assert repetition_penalty(["ignored"], ngram_size=2, completion_ids=[[5, 5, 5, 5, 5]]) == [pytest.approx(-0.75)]
    assert repetition_penalty(["a b c a b c"], max_penalty=-2.0) == [pytest.approx(-0.5)]
    assert repetition_penalty([[{"role": "assistant", "content": "a a a a"}]], ngram_size=1) == [pytest.approx(-0.75)]
