"""`reasoning_steps` and `mathematical_rigor`, English and Chinese, with hand-checked values."""

from __future__ import annotations

import pytest

from r1cli.rewards.reasoning import count_steps, mathematical_rigor, reasoning_steps, rigor_parts


@pytest.mark.parametrize(
    "text, count",
    [
        ("Step 1: add. Step 2: multiply. Therefore 12.", 3),  # two steps, one connective
        ("First, x. Next, y. Finally z.", 3),
        ("1. add\n2. multiply", 2),  # numbered lines
        ("- a\n* b\n• c", 3),  # bulleted lines
        ("x is 2 because y, so z; thus w, hence v.", 4),  # connectives
        ("首先，计算。然后，相加。所以答案是5。", 3),  # 首先, 然后, 所以
        ("第一步：列方程。第二步：求解。因此 x=2。", 3),  # 第一步, 第二步, 因此
        ("then first", 0),  # lower-case mid-sentence words are not steps
        ("The answer is 5.", 0),
    ],
)
def test_count_steps(text, count):
    assert count_steps(text) == count


def test_reasoning_steps_saturates():
    texts = ["The answer is 5.", "First, x. so y", "Step 1. Step 2. Step 3. Step 4."]
    assert reasoning_steps(texts) == [0.0, pytest.approx(2 / 3), 1.0]
    assert reasoning_steps(["First, x. so y"], saturate_at=2) == [1.0]
    assert reasoning_steps([[{"role": "assistant", "content": "首先 然后 最后"}]]) == [1.0]


def test_rigor_parts_hand_checked():
    text = "We solve the equation 2x + 3 = 7. Therefore x = 2. Check: 2*2 + 3 = 7."
    # terms: solve, equation, "+", "=" -> 4/5; equations: three "=" with operands -> 3/3;
    # logic: "Therefore" -> 1/2; verification: "Check" -> 1
    assert rigor_parts(text) == {"terms": 0.8, "equations": 1.0, "logic": 0.5, "verification": 1.0}
    assert mathematical_rigor([text]) == [pytest.approx((0.8 + 1.0 + 0.5 + 1.0) / 4)]


def test_rigor_in_chinese_and_without_maths():
    text = "解方程 2x+3=7，所以 x=2。因此答案是 2。验证：2×2+3=7。"
    # terms: 方程, "+", "=", "×" -> 4/5; equations: 3; logic: 所以, 因此 -> 1; verification: 验证 -> 1
    assert rigor_parts(text) == {"terms": 0.8, "equations": 1.0, "logic": 1.0, "verification": 1.0}
    assert mathematical_rigor(["I like turtles."]) == [0.0]


def test_rigor_saturation_parameters():
    text = "x = 1"
    # terms: "=" -> 1/1; equations: 1/1; no logic, no verification
    assert mathematical_rigor([text], saturate_terms=1, saturate_equations=1) == [0.5]
