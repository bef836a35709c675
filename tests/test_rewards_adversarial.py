"""Every registered reward against hostile completions: a float or None, in time, never an exception or a hang.

The corpus is generated here, in code: megabyte strings, deep nesting, thousands
of ``\\boxed{}``, unbalanced braces, control characters, other scripts, NUL
bytes, lone surrogates, huge numbers, backslash floods, injection attempts. Each
reward scores each completion against a gold answer; ``r1 score`` then scores
the corpus as a JSONL file and must count and show accuracy timeouts.
``bench/bench_adversarial.py`` prints the corpus size and the slowest call.
"""

from __future__ import annotations

import faulthandler
import json
import math
import re
import time

import pytest
from typer.testing import CliRunner

from r1cli.rewards import available_rewards, get_reward_calculator

GOLD = "4"
MB = 1_000_000
# Seconds one call may take. accuracy and cosine run math-verify under their 5 s limit per
# parse; "a few seconds" leaves room for a loaded 2-core machine. Other rewards are string work.
LIMITS = {"accuracy": 8.0, "cosine": 8.0}
DEFAULT_LIMIT = 3.0


def corpus() -> dict[str, object]:
    """name -> completion (a string, or chat messages)."""
    answer = "<answer>4</answer>"
    cases: dict[str, object] = {
        # size
        "megabyte_letters": "a" * MB,
        "megabyte_reasoning_then_answer": "<think>\n" + "so we add two and two\n" * (MB // 22) + "</think>\n" + answer,
        "megabyte_single_line_words": "word " * (MB // 5) + answer,
        "megabyte_answer_block": "<answer>" + "1+" * (MB // 2) + "1</answer>",
        "megabyte_boxed": "\\boxed{" + "2" * MB + "}",
        "megabyte_digits_bare": "9" * MB,
        "long_decimal": "<answer>0." + "3" * 100_000 + "</answer>",
        # nesting
        "nested_frac_50": "<answer>" + "\\frac{" * 50 + "1" + "}{2}" * 50 + "</answer>",
        "nested_frac_500": "<answer>" + "\\frac{" * 500 + "1" + "}{2}" * 500 + "</answer>",
        "nested_frac_5000_boxed": "\\boxed{" + "\\frac{" * 5000 + "1" + "}{2}" * 5000 + "}",
        "nested_sqrt_1000": "\\boxed{" + "\\sqrt{" * 1000 + "4" + "}" * 1000 + "}",
        "nested_parentheses": "<answer>" + "(" * 20_000 + "4" + ")" * 20_000 + "</answer>",
        "nested_left_right": "<answer>" + "\\left(" * 3000 + "4" + "\\right)" * 3000 + "</answer>",
        "nested_answer_tags": "<answer>" * 5000 + "4" + "</answer>" * 5000,
        "nested_environments": "\\boxed{" + "\\begin{matrix}" * 1000 + "4" + "\\end{matrix}" * 1000 + "}",
        # repetition of answers and tags
        "thousands_of_boxed": "\\boxed{1} " * 10_000 + "\\boxed{4}",
        "thousands_of_open_boxed": "\\boxed{" * 10_000,
        "thousands_of_answer_blocks": answer * 20_000,
        "thousands_of_think_tags": "<think>\n</think>\n" * 20_000 + answer,
        "repeated_trigram_megabyte": "a b c " * (MB // 6),
        # braces
        "open_braces": "{" * 200_000 + answer,
        "close_braces": "}" * 200_000 + answer,
        "unclosed_boxed": "The answer is \\boxed{4",
        "unbalanced_in_answer": "<answer>\\boxed{{{{4}</answer>",
        "escaped_braces_only": "\\{" * 50_000 + "\\}" * 50_000,
        "unclosed_answer_tag": "<think>\nx\n</think>\n<answer>4",
        # backslashes
        "backslash_flood": "\\" * MB,
        "double_backslash_flood_in_answer": "<answer>" + "\\\\" * 100_000 + "4</answer>",
        "frac_commands_without_arguments": "\\boxed{" + "\\frac" * 50_000 + "}",
        "unknown_commands": "<answer>" + "\\foo" * 20_000 + "4</answer>",
        # huge numbers
        "power_tower_9": "\\boxed{9^{9^{9}}}",
        "power_tower_9_deep": "\\boxed{9^{9^{9^{9}}}}",
        "power_tower_plain": "<answer>9^9^9</answer>",
        "power_tower_10": "The answer is $10^{10^{10^{10}}}$.",
        "huge_factorial": "\\boxed{1000000!}",
        "factorial_of_power": "\\boxed{(10^{100})!}",
        "two_to_two_to_64": "<answer>2^{2^{64}}</answer>",
        "hundred_thousand_digits": "\\boxed{" + "7" * 100_000 + "}",
        "float_overflow": "<answer>1e999999</answer>",
        "infinity_and_nan": "<answer>\\infty - \\infty</answer> nan NaN inf",
        "division_by_zero": "\\boxed{\\frac{1}{0}}",
        # answers that get past the screens into sympy and are expensive there
        "polynomial_power": "\\boxed{(x+1)^{1000}}",
        "binomial_of_a_million": "\\boxed{\\binom{1000000}{500000}}",
        "power_of_two_near_the_cap": "\\boxed{2^{300000}}",
        "sine_of_a_huge_argument": "\\boxed{\\sin(10^{100})}",
        "exponential_tower": "\\boxed{e^{e^{e^{e}}}}",
        "definite_integral": "\\boxed{\\int_0^1 e^{-x^2} \\, dx}",
        "long_product": "\\boxed{\\prod_{k=1}^{100000} k}",
        "long_sum": "\\boxed{\\sum_{k=1}^{10^{9}} k^{k}}",
        "short_sum_of_huge_terms": "\\boxed{\\sum_{k=1}^{999} k^{k}}",
        "nested_sums": "\\boxed{\\sum_{k=1}^{3} \\sum_{j=1}^{10^{7}} j^{j}}",
        "limit": "\\boxed{\\lim_{x \\to 0} \\frac{\\sin x}{x}}",
        "many_fractions": "\\boxed{" + "+".join(f"\\frac{{1}}{{{p}}}" for p in range(2, 400)) + "}",
        "large_set": "\\boxed{\\{" + ", ".join(map(str, range(3000))) + "\\}}",
        "large_matrix": "\\boxed{\\begin{pmatrix}" + " \\\\ ".join(" & ".join(["1"] * 60) for _ in range(60)) + "\\end{pmatrix}}",
        "chained_equalities": "<answer>" + " = ".join(["4"] * 3000) + "</answer>",
        "many_variables": "\\boxed{" + "+".join(f"x_{{{i}}}" for i in range(2000)) + "}",
        # control characters and invisible text
        "nul_bytes": "\x00" * 100_000 + answer,
        "nul_inside_answer": "<answer>4\x00</answer>",
        "c0_controls": "".join(map(chr, range(32))) * 1000 + answer,
        "c1_controls_and_del": "".join(map(chr, range(127, 160))) * 1000 + answer,
        "bidi_overrides": "\u202e<answer>\u202d4\u202c</answer>\u2066\u2069",
        "zero_width_characters": "<answer>\u200b4\u200d\ufeff</answer>",
        "combining_marks_flood": "4" + "\u0301" * 100_000,
        # other scripts
        "chinese_reasoning": "<think>\n首先，我们计算二加二。\n因此答案是四。\n</think>\n<answer>4</answer>",
        "chinese_numeral_answer": "<answer>四</answer>",
        "arabic_indic_digits": "<answer>٤</answer> الجواب هو ٤",
        "fullwidth_digits": "<answer>４</answer>",
        "emoji_flood": "🤔" * 100_000 + "<answer>4️⃣</answer>",
        "mixed_scripts": "ответ: <answer>4</answer> 答案 الجواب 🎉 עברית",
        "surrogate_pairs_and_astral": "\U0001d7d2 \U0001f600 <answer>\U0001d7d2</answer>",
        # lone surrogates (valid in JSON as "\ud800", not in UTF-8)
        "lone_high_surrogate": "\ud800<answer>4</answer>",
        "lone_low_surrogate_in_answer": "<answer>4\udfff</answer>",
        "reversed_surrogate_pair": "\udc00\ud800" * 1000 + "\\boxed{4}",
        # injection attempts: must be scored as text, never run
        "python_injection": "<answer>__import__('os').system('echo pwned')</answer>",
        "shell_injection": "<answer>$(echo pwned) `echo pwned`</answer>",
        "latex_write18": "\\boxed{\\immediate\\write18{echo pwned}}",
        "sympy_eval_string": "\\boxed{eval('1+1')}",
        # odd shapes
        "empty": "",
        "whitespace_only": " \n\t\r" * 10_000,
        "chat_without_assistant": [{"role": "user", "content": "hi"}],
        "chat_content_parts": [{"role": "assistant", "content": [{"type": "text", "text": answer}, {"type": "image"}]}],
        "chat_content_none": [{"role": "assistant", "content": None}],
        "chat_non_dict_items": [1, None, "<answer>4</answer>"],
    }
    return cases


CORPUS = corpus()
REWARDS = available_rewards()


@pytest.fixture(scope="module", autouse=True)
def no_hangs():
    # A hang must fail the run, not stall it: dump every thread's stack and exit after 10 minutes.
    faulthandler.dump_traceback_later(600, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def score_one(name: str, completion: object) -> tuple[object, float]:
    func = get_reward_calculator([name]).funcs[0]
    started = time.perf_counter()
    values = func([completion], solution=[GOLD])
    return values, time.perf_counter() - started


@pytest.mark.parametrize("reward", REWARDS)
def test_every_reward_survives_the_corpus(reward, record_property):
    slowest = (0.0, "")
    for case, completion in CORPUS.items():
        try:
            values, seconds = score_one(reward, completion)
        except Exception as exc:  # noqa: BLE001 - the point is that nothing escapes
            pytest.fail(f"{reward} raised {type(exc).__name__} on {case}: {exc}")
        assert isinstance(values, list) and len(values) == 1, (reward, case, values)
        value = values[0]
        assert value is None or (type(value) is float and math.isfinite(value)), (reward, case, value)
        assert seconds < LIMITS.get(reward, DEFAULT_LIMIT), f"{reward} took {seconds:.2f}s on {case}"
        slowest = max(slowest, (seconds, case))
    record_property("slowest_call", f"{slowest[0]:.3f}s on {slowest[1]}")


def test_the_corpus_is_large_and_every_reward_is_covered(record_property):
    record_property("corpus_size", len(CORPUS))
    print(f"adversarial corpus: {len(CORPUS)} completions x {len(REWARDS)} rewards")
    assert len(CORPUS) >= 60
    assert {"accuracy", "format", "tag_count", "length", "cosine", "repetition_penalty"} <= set(REWARDS)


def test_hostile_answers_are_not_counted_correct():
    """What the corpus writes in place of 4 (huge numbers, injections, floods) is wrong, or unscorable."""
    wrong = ["power_tower_9", "power_tower_10", "huge_factorial", "python_injection", "shell_injection",
             "megabyte_digits_bare", "nested_frac_5000_boxed", "thousands_of_open_boxed", "float_overflow"]
    scores = get_reward_calculator(["accuracy"]).score([CORPUS[name] for name in wrong], solution=[GOLD] * len(wrong))
    assert all(v in (0.0, None) for v in scores.per_reward["accuracy"]), dict(zip(wrong, scores.per_reward["accuracy"]))
    right = get_reward_calculator(["accuracy"]).score([CORPUS["megabyte_reasoning_then_answer"]], solution=[GOLD])
    assert right.per_reward["accuracy"] == [1.0]


def write_corpus(path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for case, completion in CORPUS.items():
            # ensure_ascii: the lone surrogates go into the file as JSON escapes, as a producer would write them.
            handle.write(json.dumps({"case": case, "completion": completion, "solution": GOLD}) + "\n")


def test_r1_score_on_the_corpus_counts_and_shows_timeouts(tmp_path):
    from r1cli.cli import app

    runner = CliRunner()
    path = tmp_path / "adversarial.jsonl"
    write_corpus(path)
    head = "model_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\ndataset_name: openai/gsm8k\n"
    every = tmp_path / "every.yaml"  # every reward; a 1 s limit keeps the slowest answers short
    every.write_text(head + f"reward_funcs: [{', '.join(REWARDS)}]\n"
                     "reward_kwargs:\n  accuracy: {timeout: 1.0}\n  cosine: {timeout: 1.0}\n")
    # A list that is not chat messages is no completion: r1 score flags its line (the rewards above survive it).
    not_completions = sum(isinstance(c, list) and not all(isinstance(m, dict) for m in c) for c in CORPUS.values())
    assert not_completions == 1
    refused = runner.invoke(app, ["score", str(path), "--config", str(every), "--json"])
    assert refused.exit_code == 1 and "not chat messages" in refused.output
    result = runner.invoke(app, ["score", str(path), "--config", str(every), "--json", "--skip-invalid"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    scored = len(CORPUS) - not_completions
    assert summary["rows"] == scored and summary["skipped"] == not_completions
    assert list(summary["rewards"]) == REWARDS
    assert all(s["count"] + s["nulls"] == scored for s in summary["rewards"].values())

    # A limit no parse can meet: math-verify times out on every answer it is given, and the table and flags say so.
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(head + "reward_funcs: [accuracy, format]\nreward_kwargs:\n  accuracy: {timeout: 0.000001}\n")
    result = runner.invoke(app, ["score", str(path), "--config", str(tiny), "--json", "--skip-invalid"])
    assert result.exit_code == 0, result.output
    accuracy = json.loads(result.stdout)["rewards"]["accuracy"]
    assert accuracy["timeouts"] > 0 and accuracy["nulls"] >= accuracy["timeouts"]
    shown = runner.invoke(app, ["score", str(path), "--config", str(tiny), "--skip-invalid"])
    assert shown.exit_code == 0, shown.output
    # How many parses a 1 µs limit cuts short varies from run to run: the table and the flag agree within one run.
    in_table = re.search(r"\((\d+) t/o\)", shown.output)
    flagged = re.search(r"accuracy: (\d+) verification\(s\) timed out and were left out", shown.output)
    assert in_table and flagged and in_table.group(1) == flagged.group(1) and int(flagged.group(1)) > 0, shown.output


def test_a_limit_too_small_to_meet_leaves_no_alarm_behind():
    """With a microsecond limit the alarm goes off as soon as it is armed: still TimeLimitExceeded, and afterwards
    no timer runs and the old SIGALRM handler is back (a stray alarm used to raise into unrelated code later)."""
    import signal

    from r1cli.rewards.timeout import TimeLimitExceeded, call_with_time_limit

    before = signal.getsignal(signal.SIGALRM)
    outcomes = set()
    for _ in range(300):
        try:
            outcomes.add(call_with_time_limit(1e-6, sum, range(1000)))
        except TimeLimitExceeded:
            outcomes.add("timed out")
    assert outcomes <= {"timed out", 499500} and "timed out" in outcomes
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before
    time.sleep(0.6)  # longer than the re-fire interval: a timer left running would raise here
