"""`accuracy`: answer extraction, gold normalisation, verification, time limits, and coverage of the shared data."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from r1cli.rewards import accuracy as acc
from r1cli.rewards import math_answers as ma
from r1cli.rewards.accuracy import (
    Answer,
    accuracy,
    answers_equal,
    extract_answer,
    gold_answer_text,
    last_boxed,
    parse_answer,
    parse_gold,
    verify_completion,
)
from r1cli.rewards.timeout import timeout_count


def chat(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


# --- extraction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<think>maybe \\boxed{3}</think><answer>7</answer>", "7"),  # the answer block wins over an earlier \boxed
        ("<answer>so \\boxed{\\frac{1}{2}} it is</answer>", "\\frac{1}{2}"),  # a \boxed inside the block is the answer
        ("<answer>1</answer> then <answer> 2 </answer>", "2"),  # the last block
        ("first \\boxed{1}, finally \\boxed{2}.", "2"),  # the last \boxed
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces are not structure
        ("\\boxed{\\frac{a}{b}} and \\boxed{x", "\\frac{a}{b}"),  # an unclosed \boxed is ignored
        ("<answer>unclosed \\boxed{5}", "5"),  # an unclosed <answer> is no block: the \boxed rule applies
        ("She earns 9 * 2 = $18.\n#### 1,018", "1018"),  # GSM8K's final line
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\left( 3, \\frac{\\pi}{2} \\right)"),  # a bare answer is the answer
        (" 18 ", "18"),
        ("The answer is 42.", "42"),  # math-verify's own extraction
        ("no numbers here", None),
        ("", None),
    ],
)
def test_extract_answer_order(text, expected):
    assert extract_answer(text) == expected
    assert extract_answer(chat(text)) == expected


def test_last_boxed_is_linear_on_hostile_input():
    started = time.perf_counter()
    assert last_boxed("\\boxed{" * 20000) is None
    assert last_boxed("\\boxed{1} " * 20000) == "1"
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "gold, expected",
    [
        ("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\n#### 18", "18"),
        ("#### 1,080", "1080"),
        ("#### -3.5", "-3.5"),
        ("so the total is $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$.", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("\\frac{14}{3}", "\\frac{14}{3}"),
        ("  72 ", "72"),
        (18, "18"),
        (0.5, "0.5"),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_gold_answer_text(gold, expected):
    assert gold_answer_text(gold) == expected


# --- verification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        ("<think>..</think><answer>\\boxed{\\frac{14}{3}}</answer>", "\\frac{14}{3}", 1.0),  # MATH-500 answer column
        ("<answer>\\left( 3, \\frac{\\pi}{2} \\right)</answer>", "\\left( 3, \\frac{\\pi}{2} \\right)", 1.0),
        ("<answer>(3, \\pi/2)</answer>", "\\left( 3, \\frac{\\pi}{2} \\right)", 1.0),  # an equal tuple, written differently
        ("<answer>(3, \\pi)</answer>", "\\left( 3, \\frac{\\pi}{2} \\right)", 0.0),
        ("<answer>0.5</answer>", "\\frac{1}{2}", 1.0),
        ("<answer>18</answer>", "She makes 9 * 2 = $18.\n#### 18", 1.0),  # GSM8K answer column
        ("<answer>1,080</answer>", "#### 1,080", 1.0),  # thousands separators on both sides
        ("<answer>1080 dollars</answer>", "#### 1,080", 1.0),  # a number in words
        ("<answer>17</answer>", "#### 18", 0.0),
        ("<answer>Evelyn</answer>", "\\text{Evelyn}", 1.0),  # a word answer
        ("<answer>\\$18.90</answer>", "\\$18.90", 1.0),
        ("Therefore $x = \\boxed{\\frac43}$.", "\\frac{4}{3}", 1.0),  # TeX shorthand \frac43 is valid LaTeX
        ("I do not know.", "18", 0.0),  # no answer at all is wrong, not unknown
        ("<answer>18</answer>", "", None),  # no gold: left out
        ("<answer>18</answer>", "not a math answer at all, sorry", None),  # unparseable gold: left out
    ],
)
def test_accuracy_hand_checked(completion, gold, expected):
    assert accuracy([completion], [gold]) == [expected]
    assert accuracy([chat(completion)], solution=[gold]) == [expected]


def test_each_distinct_gold_is_parsed_once_per_call(monkeypatch):
    calls = []
    real = acc.parse_gold

    def counting(gold, **kwargs):
        calls.append(gold)
        return real(gold, **kwargs)

    monkeypatch.setattr(acc, "parse_gold", counting)
    golds = ["#### 4"] * 4 + ["\\frac{1}{2}"] * 4  # num_generations = 4
    completions = ["<answer>4</answer>", "<answer>5</answer>"] * 2 + ["<answer>0.5</answer>"] * 4
    assert accuracy(completions, golds) == [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    assert calls == ["#### 4", "\\frac{1}{2}"]


def slow_answer(seed: int) -> str:
    """A legitimate answer that takes milliseconds to parse; distinct per seed so no cache helps."""
    return "<answer>" + " + ".join(f"\\frac{{{seed + i}}}{{{seed + i + 1}}}" for i in range(30)) + "</answer>"


def test_timeout_returns_none_and_is_counted():
    before = timeout_count()
    assert accuracy([slow_answer(1)], ["100"], timeout=1e-4) == [None]
    assert timeout_count() == before + 1
    metrics = {}
    accuracy([slow_answer(2)], ["100"], timeout=1e-4, log_metric=metrics.__setitem__)
    assert metrics == {"accuracy/timeouts": 1.0}
    assert accuracy([slow_answer(3)], ["100"]) == [0.0]  # with time to finish, it is simply wrong


def test_time_limit_works_off_the_main_thread():
    long = slow_answer(100)
    out = {}

    def work():
        before = timeout_count()
        out["limited"] = accuracy([long], ["100"], timeout=1e-4)
        out["counted"] = timeout_count() - before
        out["normal"] = accuracy(["<answer>4</answer>"], ["4"])

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert out == {"limited": [None], "counted": 1, "normal": [1.0]}


def _score_in_worker(completions, golds, timeout):
    before = timeout_count()
    return accuracy(completions, golds, timeout=timeout), timeout_count() - before


def test_time_limit_works_in_worker_processes():
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        assert pool.submit(_score_in_worker, [slow_answer(200)], ["100"], 1e-4).result(timeout=120) == ([None], 1)
        both = pool.submit(_score_in_worker, [slow_answer(300), "<answer>4</answer>"], ["100", "4"], 5.0)
        assert both.result(timeout=120) == ([0.0, 1.0], 0)


@pytest.mark.parametrize(
    "completion",
    [
        "<answer>\\boxed{9^{9^{9^{9}}}}</answer>",  # evaluating it would never end
        "<answer>100000000!</answer>",
        "<answer>" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "</answer>",
        "\\boxed{1} " * 5000 + "\\boxed{",
        "x" * 1_000_000,
        "<answer>" + "1+" * 5000 + "1</answer>",
    ],
)
def test_hostile_answers_are_wrong_and_cheap(completion):
    started = time.perf_counter()
    assert accuracy([completion], ["5"]) == [0.0]
    assert time.perf_counter() - started < 3.0


# --- helpers for eval and dry-run ------------------------------------------------------------


def test_parse_helpers_and_answers_equal():
    gold = parse_gold("#### 1,234")
    assert isinstance(gold, Answer) and gold.text == "1234" and gold.key == "1234"
    assert parse_gold("") is None and parse_gold("no math here at all, sorry") is None
    answer = parse_answer(chat("<answer>\\frac{2468}{2}</answer>"))
    assert answer is not None and answer.text == "\\frac{2468}{2}"
    assert verify_completion(gold, "<answer>1234</answer>") == 1.0
    assert verify_completion(gold, "<answer>1235</answer>") == 0.0
    assert answers_equal("\\frac{1}{2}", "0.5") is True
    assert answers_equal(answer, gold) is True
    assert answers_equal("2", "3") is False
    assert answers_equal("2", "") is None


# --- the shared data -------------------------------------------------------------------------


def _rows(shared_data, name):
    with open(shared_data / f"{name}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_first_rows_of_the_shared_data_hand_checked(shared_data):
    gsm8k = _rows(shared_data, "gsm8k_test")[0]  # Janet's ducks: "... #### 18"
    math500 = _rows(shared_data, "math500_test")[0]  # (0, 3) in polar coordinates
    assert gold_answer_text(gsm8k["answer"]) == "18"
    assert math500["answer"] == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert gold_answer_text(math500["solution"]) == math500["answer"]
    completions = ["<answer>$18</answer>", "<answer>\\boxed{16}</answer>", "<answer>(3, \\frac{\\pi}{2})</answer>",
                   "<answer>(3, \\pi)</answer>"]
    golds = [gsm8k["answer"], gsm8k["answer"], math500["answer"], math500["solution"]]
    assert accuracy(completions, golds) == [1.0, 0.0, 1.0, 0.0]


def test_every_gold_in_the_shared_data_parses(shared_data):
    failed = []
    for name, column in [("gsm8k_test", "answer"), ("gsm8k_train", "answer"), ("math500_test", "answer"), ("math500_test", "solution")]:
        golds = {row[column] for row in _rows(shared_data, name)}
        failed += [(name, g[-80:]) for g in golds if parse_gold(g) is None]
    assert failed == []


@pytest.mark.parametrize(
    "name, gold_column, completion_column",
    [
        ("gsm8k_test", "answer", "answer"),
        ("math500_test", "answer", "solution"),
        ("math500_test", "answer", "answer"),  # each gold against itself, as `r1 dry-run` checks golds
    ],
)
def test_reference_solutions_score_1(shared_data, name, gold_column, completion_column):
    rows = _rows(shared_data, name)
    scores = accuracy([r[completion_column] for r in rows], [r[gold_column] for r in rows])
    wrong = [(r[gold_column][-40:], s) for r, s in zip(rows, scores) if s != 1.0]
    assert wrong == []


def test_plain_number_shortcut_builds_what_math_verify_builds(shared_data):
    import sympy
    from math_verify import LatexExtractionConfig, parse

    spans = {gold_answer_text(r["answer"]) for r in _rows(shared_data, "gsm8k_test")}
    spans |= {"3.50", "-0.5", "007", "0", "1,080", "-1,000.25", "12345678901234567890"}
    for span in sorted(spans):
        fast = ma._parse_span(span, ma._mv().gold_configs)
        slow = parse(f"${span}$", [LatexExtractionConfig()], parsing_timeout=None)
        assert (sympy.srepr(fast[0]), fast[1]) == (sympy.srepr(slow[0]), slow[1]), span


def test_integer_shortcut_agrees_with_math_verify():
    from math_verify import verify

    spans = ["18", "-3", "007", "0", "1,080", "1080", "19", "-0"]
    for g in spans:
        for a in spans:
            gold = ma._parse_span(g, ma._mv().gold_configs)
            answer = ma._parse_span(a, ma._mv().answer_configs)
            assert ma._integers_equal(tuple(gold), tuple(answer)) == verify(gold, answer, timeout_seconds=None), (g, a)
    assert ma._integers_equal((ma._mv().Float("0.5"), "0.5"), (ma._mv().Integer(1), "1")) is None
