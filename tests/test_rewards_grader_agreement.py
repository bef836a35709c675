"""`accuracy` against independent graders: bug classes where r1 and Math-Verify once disagreed, and MATH-500.

Every class below once had a wrong answer scoring 1.0 or a right one scoring 0.0. The cases are
examples of each class (r1 is also tried on cases its authors never see), written for r1, checked
against Math-Verify's own verdict where Math-Verify is right, and against arithmetic where it is
not (it reads LaTeX's thin space in ``1\\,000\\,000`` as a product: r1 reads a number).

MATH-500: every gold, written bare, in ``$...$`` and in ``\\boxed{}``, is scored against a correct
completion ending in ``\\boxed{}`` and one ending in ``<answer>``, and against a wrong completion
(another problem's answer that Math-Verify itself says differs).
"""

from __future__ import annotations

import json

import pytest

from r1cli.rewards.accuracy import accuracy, parse_gold
from r1cli.rewards.answer_text import last_boxed, number_from_words


def score(completion: str, gold: str) -> float | None:
    return accuracy([completion], [gold])[0]


# (gold, completion, expected): each class has a right answer and a wrong one that once scored the other way.
CLASSES = {
    "digit-group separators": [
        ("900,\\!000,\\!000", "\\boxed{900000000}", 1.0),
        ("900,\\!000,\\!000", "\\boxed{900}", 0.0),
        ("1\\,000\\,000", "\\boxed{1000000}", 1.0),
        ("1\\,000\\,000", "\\boxed{0}", 0.0),  # once 1*000*000 = 0: a wrong answer scored 1
        ("10,\\!080", "The total is $\\boxed{10{,}080}$.", 1.0),
        ("\\$32,\\!348", "\\boxed{\\$32,348}", 1.0),
        ("12,\\!000", "\\boxed{12}", 0.0),  # once the set {12, 0}
        ("12,\\!000", "\\boxed{0}", 0.0),
        ("1 000", "\\boxed{1000}", 1.0),
        ("10{,}000", "<answer>10000</answer>", 1.0),
        ("1,000.99$", "\\boxed{1000.99}", 1.0),
        ("1,000.99$", "\\boxed{1000}", 0.0),
        ("0,111", "\\boxed{0.111}", 1.0),  # a decimal comma, as Math-Verify reads it: not 111
        ("0,111", "\\boxed{111}", 0.0),
        ("2, 3", "\\boxed{2, 3}", 1.0),  # a comma and a space: two answers, not a thousands group
    ],
    "matrices and environments outside $...$": [
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\boxed{2}", 0.0),  # once reduced to its last entry
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", 1.0),
        ("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "\\boxed{1}", 0.0),
        ("\\begin{pmatrix} -1 & 0 \\\\ 0 & 3 \\end{pmatrix}", "<answer>\\begin{pmatrix} -1 & 0 \\\\ 0 & 3 \\end{pmatrix}</answer>", 1.0),
        ("\\begin{pmatrix} -1 & 0 \\\\ 0 & 3 \\end{pmatrix}", "<answer>\\begin{pmatrix} -1 & 0 \\\\ 0 & 4 \\end{pmatrix}</answer>", 0.0),
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", 1.0),  # a bare completion
    ],
    "several boxed answers": [
        ("2, -3", "\\boxed{2} and \\boxed{-3}", 1.0),  # one answer written in two boxes (Math-Verify joins them)
        ("2, -3", "$\\boxed{-3}$, $\\boxed{2}$", 1.0),
        ("2, -3", "\\boxed{2}", 0.0),  # half the answer
        ("-3, 2", "\\boxed{2} or \\boxed{-3}", 1.0),
        ("5", "First \\boxed{3} is wrong. Redo it: the answer is \\boxed{5}", 1.0),  # an earlier box is not the answer
        ("3", "First \\boxed{3} is wrong. Redo it: the answer is \\boxed{5}", 0.0),
        ("5", "\\boxed{3} and \\boxed{5}", 0.0),  # hedging two answers earns nothing
        ("(2, 2), (6, 2)", "$$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$$", 1.0),
    ],
    "long golds and golds in words": [
        ("We compute carefully. " * 90 + "Therefore the final answer is $7$.", "\\boxed{7}", 1.0),
        ("We compute carefully. " * 90 + "Therefore the final answer is $7$.", "\\boxed{8}", 0.0),
        ("forty two", "\\boxed{42}", 1.0),
        ("forty-two", "\\boxed{24}", 0.0),
        ("one hundred and five", "<answer>105</answer>", 1.0),
        ("42", "<answer>forty two</answer>", 1.0),
        ("Evelyn", "\\boxed{\\text{Evelyn}}", 1.0),  # a word answer stays a word
        ("Evelyn", "\\boxed{\\text{Evan}}", 0.0),
    ],
}


@pytest.mark.parametrize("gold, completion, expected",
                         [case for cases in CLASSES.values() for case in cases],
                         ids=[f"{name}-{i}" for name, cases in CLASSES.items() for i in range(len(cases))])
def test_bug_classes(gold, completion, expected):
    assert score(completion, gold) == expected


def test_math_verify_agrees_where_it_reads_the_number():
    """The independent grader's verdict on the classes it parses as numbers, beside r1's."""
    from math_verify import parse, verify

    for gold, completion, expected in CLASSES["digit-group separators"]:
        if "\\," in gold or " " in gold or "$" in gold or "\\boxed" not in completion:
            continue  # Math-Verify reads 1\,000 and 1 000 as products, "$" as LaTeX, and no <answer> tags: r1 differs
        oracle = verify(parse(f"${gold}$"), parse(completion))
        assert float(oracle) == expected == score(completion, gold), (gold, completion)


def test_box_groups_and_number_words():
    assert last_boxed("\\boxed{1},\\boxed{2}, and \\boxed{3}") == "1, 2, 3"
    assert last_boxed("\\boxed{1} then later \\boxed{2}") == "2"
    assert last_boxed("\\boxed{\\boxed{1}}") == "\\boxed{1}"
    assert last_boxed("unclosed \\boxed{1") is None
    assert [number_from_words(t) for t in ("forty-two", "minus three", "two thousand and twelve", "zero")] == \
        [42, -3, 2012, 0]
    assert [number_from_words(t) for t in ("two apples", "hundred", "and", "", "the answer is two")] == \
        [None, None, None, None, None]


def _math500(shared_data):
    rows = [json.loads(line) for line in (shared_data / "math500_test.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["answer"] for r in rows]


def test_every_math500_gold_in_every_form_against_right_and_wrong_completions(shared_data):
    from math_verify import parse, verify

    answers = _math500(shared_data)
    failures = []
    for index, answer in enumerate(answers):
        right = [f"<think>work</think>\nSo the answer is $\\boxed{{{answer}}}$.", f"<think>work</think>\n<answer>{answer}</answer>"]
        golds = [answer, f"${answer}$", f"\\boxed{{{answer}}}"]
        for gold in golds:
            for completion in right:
                if score(completion, gold) != 1.0:
                    failures.append(("right", index, gold, completion))
        # A wrong answer: the next different answer that Math-Verify, independently, says is not equal.
        for other in answers[index + 1:] + answers[:index]:
            if other != answer and not verify(parse(f"\\boxed{{{answer}}}"), parse(f"\\boxed{{{other}}}")):
                break
        wrong = f"<think>work</think>\nSo the answer is $\\boxed{{{other}}}$."
        for gold in golds:
            if score(wrong, gold) != 0.0:
                failures.append(("wrong", index, gold, wrong))
    assert failures == [], f"{len(failures)} disagreements, first: {failures[:3]}"


def test_every_math500_gold_still_parses(shared_data):
    assert [a for a in _math500(shared_data) if parse_gold(a) is None] == []


def test_the_classes_through_r1_score(tmp_path):
    """The same verdicts through `r1 score` (rows read from JSONL, scored in the streaming core)."""
    from typer.testing import CliRunner

    from r1cli.cli import app

    cases = [case for cases in CLASSES.values() for case in cases]
    data = tmp_path / "classes.jsonl"
    data.write_text("".join(json.dumps({"completion": c, "solution": g}) + "\n" for g, c, _ in cases), encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    result = CliRunner().invoke(app, ["score", str(data), "--rewards", "accuracy", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    scored = [json.loads(line)["rewards"]["accuracy"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert scored == [expected for _, _, expected in cases]
