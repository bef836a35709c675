"""The eval library: metrics of hand-built completions, results round trip, comparison, the tiny model (r1cli.evaluation.evaluate)."""

from __future__ import annotations

import json
import math

import pytest

from r1cli.errors import ModelError, OutputExistsError, UsageError
from r1cli.evaluation import evaluate as ev
from r1cli.rewards import get_reward_calculator
from r1cli.rewards.selection import calculator_for

DEFAULT = calculator_for(None)

FORMATTED_18 = "<think>\nstep one\nstep two\n</think>\n<answer>\\boxed{18}</answer>"  # format reward 1.0
SAMPLES = {
    # item: (gold, four completions)
    "A": ("Work.\n#### 18", [FORMATTED_18, "<think>\nadd\nmultiply\n</think>\n<answer>18</answer>",
                             "The answer is \\boxed{17}.", "I am not sure."]),  # 2 of 4 right; majority 18
    "B": ("\\frac{1}{2}", ["\\boxed{2}", "\\boxed{0.5}", "\\boxed{\\frac{1}{2}}", "\\boxed{1/2}"]),  # 3 of 4; majority 1/2
    "C": ("", ["\\boxed{1}"] * 4),  # no gold: unverifiable
    "D": ("#### 5", ["no answer here", "\\boxed{4}", "\\boxed{6}", "\\boxed{4}"]),  # 0 of 4; majority 4 (wrong)
}


def write_completions(path, samples=SAMPLES):
    """One row per completion, interleaved (items are found by prompt, not by position)."""
    rows = []
    for j in range(4):
        for name, (gold, completions) in samples.items():
            rows.append({"prompt": f"question {name}", "completion": completions[j], "solution": gold,
                         "num_tokens": 10 * (j + 1)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_completions_metrics_match_hand_computed_values(tmp_path):
    report = ev.evaluate_completions(write_completions(tmp_path / "c.jsonl"))
    m = report.metrics
    assert (m.items, m.samples_per_item, m.unverifiable, m.none_samples) == (4, 4, 1, 4)
    # Verifiable items A, B, D with 2, 3, 0 correct of 4.
    assert m.accuracy == pytest.approx((2 / 4 + 3 / 4 + 0) / 3)
    assert m.pass_at_k[1] == pytest.approx(m.accuracy)
    assert m.pass_at_k[2] == pytest.approx((5 / 6 + 1 + 0) / 3)  # A: 1 - C(2,2)/C(4,2); B: n-c=1 < 2
    assert m.pass_at_k[4] == pytest.approx(2 / 3)
    assert m.maj_at_k == pytest.approx((1 + 1 + 0) / 3)  # B's majority needs 0.5 = \frac{1}{2} = 1/2
    assert m.format_compliance == pytest.approx(2 / 16)
    assert m.mean_tokens == pytest.approx(25.0)
    assert m.reward_means["accuracy"] == pytest.approx(5 / 12)  # 5 right of the 12 scored samples
    assert list(m.reward_means) == ["accuracy", "format", "tag_count"]  # r1 score's default rewards
    items = {item.prompt: item for item in report.items}
    assert [s.answer for s in items["question B"].samples] == ["2", "0.5", "\\frac{1}{2}", "1/2"]
    assert items["question B"].majority == 1 and items["question D"].majority == 1
    assert items["question A"].gold_answer == "18" and items["question C"].gold_answer is None


def test_results_file_round_trips_through_the_completions_mode(tmp_path):
    report = ev.evaluate_completions(write_completions(tmp_path / "c.jsonl"), get_reward_calculator(["accuracy", "format"]))
    out = tmp_path / "results.jsonl"
    ev.write_results([report], out)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    b = next(line for line in lines if line["prompt"] == "question B")
    assert (b["gold_answer"], b["accuracy"], b["majority_answer"], b["majority_correct"]) == ("\\frac{1}{2}", 0.75, "0.5", 1.0)
    assert b["samples"][3] == {"completion": "\\boxed{1/2}", "answer": "1/2", "num_tokens": 40,
                               "rewards": {"accuracy": 1.0, "format": 0.0}, "reward": 1.0, "finished": None}
    again = ev.evaluate_completions(out, get_reward_calculator(["accuracy", "format"]))
    assert again.metrics.scalars() == report.metrics.scalars()
    with pytest.raises(OutputExistsError, match="already exists"):
        ev.write_results([report], out)


def single_sample_file(path, correct):
    rows = [{"prompt": f"q{i}", "completion": f"\\boxed{{{i if ok else -1}}}", "solution": str(i)} for i, ok in enumerate(correct)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_compare_gives_differences_and_a_paired_bootstrap_interval(tmp_path):
    before = ev.evaluate_completions(single_sample_file(tmp_path / "a.jsonl", [0, 0, 1, 0]))
    after = ev.evaluate_completions(single_sample_file(tmp_path / "b.jsonl", [1, 1, 1, 0]))
    result = ev.compare(before, after, seed=0)
    assert result.rows()["accuracy"] == (0.25, 0.75, 0.5)
    # Differences (1, 1, 0, 0): a resample is all-0 or all-1 with probability 1/16 > 2.5%: the 95% CI is [0, 1].
    ci = result.accuracy_ci
    assert (ci.difference, ci.low, ci.high, ci.items) == (0.5, 0.0, 1.0, 4)
    assert result.to_dict()["difference"]["accuracy"] == 0.5
    shorter = ev.evaluate_completions(single_sample_file(tmp_path / "c.jsonl", [1, 1, 1]))
    with pytest.raises(UsageError, match="not on the same items"):
        ev.compare(before, shorter)


@pytest.fixture(scope="module")
def gsm8k(shared_data_dir):
    return ev.load_eval_set(str(shared_data_dir / "gsm8k_test.jsonl"), limit=3)


@pytest.fixture(scope="module")
def shared_data_dir():
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


def test_greedy_model_evaluation_is_deterministic_and_consistent(tiny_model_dir, gsm8k):
    first = ev.evaluate_model(str(tiny_model_dir), gsm8k, DEFAULT, max_new_tokens=8)
    again = ev.evaluate_model(str(tiny_model_dir), gsm8k, DEFAULT, max_new_tokens=8)
    texts = [[s.completion for s in item.samples] for item in first.items]
    assert texts == [[s.completion for s in item.samples] for item in again.items]
    assert first.benchmark == "gsm8k" and first.metrics.items == 3 and first.metrics.samples_per_item == 1
    tokens = [s.num_tokens for item in first.items for s in item.samples]
    assert first.tokens_generated == sum(tokens) and all(1 <= n <= 8 for n in tokens)
    assert first.metrics.mean_tokens == pytest.approx(sum(tokens) / 3)
    assert first.metrics.unverifiable == 0 and first.metrics.accuracy == 0.0  # random weights: never right
    assert first.items[0].gold_answer == "18" and first.tokens_per_s > 0


def test_sampling_is_seeded_and_rewards_see_token_ids(tiny_model_dir, gsm8k):
    calc = get_reward_calculator(["length"], reward_kwargs={"length": {"target": 8, "sigma": 2}}).with_verifier()
    kwargs = dict(num_samples=2, temperature=1.0, max_new_tokens=8)
    a = ev.evaluate_model(str(tiny_model_dir), gsm8k, calc, seed=1, **kwargs)
    b = ev.evaluate_model(str(tiny_model_dir), gsm8k, calc, seed=1, **kwargs)
    c = ev.evaluate_model(str(tiny_model_dir), gsm8k, calc, seed=2, **kwargs)
    texts = [[[s.completion for s in item.samples] for item in r.items] for r in (a, b, c)]
    assert texts[0] == texts[1] and texts[0] != texts[2]
    assert sorted(a.metrics.pass_at_k) == [1, 2]
    # accuracy is always measured, with weight 0 so the total stays the reward asked for
    assert (a.settings["rewards"], a.settings["weights"]) == (["accuracy", "length"], [0.0, 1.0])
    for sample in (s for item in a.items for s in item.samples):
        # length in tokens (completion_ids were passed), not characters
        assert sample.rewards["length"] == pytest.approx(math.exp(-((sample.num_tokens - 8) ** 2) / 8))
        assert sample.reward == pytest.approx(sample.rewards["length"])


def test_generation_settings_are_refused_before_any_model_loads(gsm8k):
    with pytest.raises(UsageError, match="needs --temperature above 0"):
        ev.evaluate_model("/does/not/matter", gsm8k, DEFAULT, num_samples=4, temperature=0.0)
    with pytest.raises(UsageError, match="--top-p"):
        ev.evaluate_model("/does/not/matter", gsm8k, DEFAULT, top_p=0.0)
    with pytest.raises(ModelError, match="does not exist"):
        ev.evaluate_model("/does/not/exist", gsm8k, DEFAULT)


def test_vllm_backend_refuses_clearly_without_the_package_or_a_gpu(monkeypatch):
    import r1cli.hardware
    from r1cli.evaluation import vllm_backend

    monkeypatch.setattr(r1cli.hardware, "package_available", lambda name: False)
    with pytest.raises(ModelError, match="`vllm` package"):
        vllm_backend.check_available()
    monkeypatch.setattr(r1cli.hardware, "package_available", lambda name: True)
    monkeypatch.setattr(r1cli.hardware, "has_gpu", lambda: False)
    with pytest.raises(ModelError, match="needs an NVIDIA GPU"):
        vllm_backend.check_available()
    with pytest.raises(ModelError, match="needs an NVIDIA GPU"):
        vllm_backend.generate("some/model", None, ["hi"], max_new_tokens=4)
