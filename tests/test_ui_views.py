"""The validate, dry-run, score and eval views, rendered at 80 columns with no terminal and NO_COLOR.

Each report is the real dataclass its command builds, filled in by hand. The views print through the
shared consoles of r1cli.ui.console; each test swaps in recording consoles for the module it draws.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

import r1cli.ui.dry_run_view as dry_run_view
import r1cli.ui.eval_view as eval_view
import r1cli.ui.score_view as score_view
import r1cli.ui.validate_view as validate_view
from r1cli.config.loader import Finding, read_recipe
from r1cli.config.validate import ValidationReport
from r1cli.evaluation.evaluate import Comparison, EvalMetrics, EvalReport, Item, Sample
from r1cli.evaluation.metrics import BootstrapCI, paired_bootstrap
from r1cli.scoring import AccuracySummary, Example, Flag, RewardSummary, ScoreReport
from r1cli.training.dry_run import DryRunReport
from r1cli.training.memory import ModelShape, estimate_memory, plan_steps

WIDTH = 80
ANSI = re.compile(r"\x1b\[")


class Screens:
    """Recording stand-ins for r1cli.ui.console.console / err_console."""

    def __init__(self):
        self.stdout = Console(file=io.StringIO(), width=WIDTH, force_terminal=False, highlight=False)
        self.stderr = Console(file=io.StringIO(), width=WIDTH, force_terminal=False, highlight=False, stderr=True)

    def out(self) -> str:
        return self.stdout.file.getvalue()

    def err(self) -> str:
        return self.stderr.file.getvalue()

    def lines(self) -> list[str]:
        return self.out().splitlines()


@pytest.fixture
def screens(monkeypatch) -> Screens:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    s = Screens()
    assert not s.stdout.is_terminal and s.stdout.no_color
    for module in (validate_view, dry_run_view, score_view, eval_view):
        monkeypatch.setattr(module, "console", s.stdout)
        if hasattr(module, "err_console"):
            monkeypatch.setattr(module, "err_console", s.stderr)
    yield s
    assert not ANSI.search(s.out() + s.err())  # no colour codes without a terminal


def row(lines: list[str], label: str) -> str:
    """The one table row whose first cell is ``label``: the label, then the column gap (two spaces or more) or nothing."""
    pattern = re.compile(rf"\s*{re.escape(label)}(\s{{2,}}|$)")
    found = [ln for ln in lines if pattern.match(ln)]
    assert len(found) == 1, (label, lines)
    return found[0]


def cells(line: str) -> list[str]:
    return line.split()


# --- validate -----------------------------------------------------------------------------------

RECIPE = "recipes/gsm8k.yaml"
LONG_KEY = "reward_kwargs.soft_overlong_punishment.soft_punish_cache"


def validation(findings: list[Finding], preview: str | None = None) -> ValidationReport:
    return ValidationReport(path=Path(RECIPE), findings=findings, preview=preview)


def test_validate_errors_go_to_stderr_as_file_line_key_message_fix(screens):
    validate_view.render_report(validation([
        Finding("error", RECIPE, 7, "learning_rate", "expected float, got str 'fast'", "write a number such as 1e-6"),
        Finding("warning", RECIPE, 3, "beta", "is a GRPOConfig field; `r1 sft` ignores it", "delete it or use the matching command"),
        Finding("error", RECIPE, 0, "num_generations", "must be at least 2", "use 2 or more"),
    ]))
    assert screens.err().splitlines() == [
        f"error: {RECIPE}:7: learning_rate: expected float, got str 'fast' (fix: write a number such as 1e-6)",
        f"error: {RECIPE} (--set): num_generations: must be at least 2 (fix: use 2 or more)",
        f"✗ {RECIPE}: 2 errors, 1 warning",
    ]
    assert screens.lines() == [
        f"warning: {RECIPE}:3: beta: is a GRPOConfig field; `r1 sft` ignores it (fix: delete it or use the matching command)"]


def test_validate_long_findings_stay_on_one_line_and_markup_is_shown_as_written(screens):
    message = "must be at most max_completion_length [512], which a [bold]much[/bold] longer message goes past"
    validate_view.render_report(validation([Finding("error", RECIPE, 12, LONG_KEY, message, "use [red]511[/] or less")]))
    err = screens.err().splitlines()
    assert err[0] == f"error: {RECIPE}:12: {LONG_KEY}: {message} (fix: use [red]511[/] or less)"
    assert len(err[0]) > WIDTH  # one grep-able line, not wrapped at 80
    assert err[1] == f"✗ {RECIPE}: 1 error, 0 warnings"


@pytest.mark.parametrize("warnings, verdict", [(0, f"✓ {RECIPE} is valid"), (1, f"✓ {RECIPE} is valid (1 warning)"),
                                               (2, f"✓ {RECIPE} is valid (2 warnings)")])
def test_validate_valid_recipe_verdict(screens, warnings, verdict):
    validate_view.render_report(validation([Finding("warning", RECIPE, i + 1, "seed", "odd") for i in range(warnings)]))
    assert screens.lines()[-1] == verdict
    assert screens.err() == ""


def test_validate_preview_panel_shows_the_prompt_verbatim(screens):
    validate_view.render_report(validation([], preview="<|im_start|>user\nWhat is [red]2+2[/]?<|im_end|>"))
    lines = screens.lines()
    assert "first prompt, as the model sees it" in lines[0]
    assert any("What is [red]2+2[/]?<|im_end|>" in ln for ln in lines)
    assert lines[-1] == f"✓ {RECIPE} is valid"


def test_validate_findings_from_a_real_recipe(screens, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("seed: 1\nbeta: 0.1\nseed: 2\n")
    raw = read_recipe(path)
    validate_view.render_report(ValidationReport(path=path, findings=raw.findings))
    assert screens.err().splitlines() == [
        f"error: {path}:3: seed: duplicate key (first set on line 1); the last value would win (fix: keep one of the two lines)",
        f"✗ {path}: 1 error, 0 warnings"]


# --- dry run ------------------------------------------------------------------------------------


def dry_run_report(trainer: str = "grpo", **changes) -> DryRunReport:
    """Built as r1cli.training.dry_run.dry_run builds it, for Qwen2.5-0.5B on GSM8K."""
    shape = ModelShape(parameters=494_032_768, trainable=494_032_768, layers=24, kv_heads=2, head_dim=64)
    grpo = trainer == "grpo"
    memory = estimate_memory(shape, dtype="bfloat16", beta=0.04, grpo=grpo, generation_batch=8, sequence_length=683)
    plan = plan_steps(rows=7473, per_device_batch=8, grad_accum=4, processes=1, num_generations=8 if grpo else None,
                      max_steps=-1, epochs=1.0)
    report = DryRunReport(
        recipe="recipes/gsm8k.yaml", trainer=trainer, output_dir="runs/gsm8k-qwen", rows=7473,
        prompts=["<|im_start|>user\nNatalia sold clips to [48] of her friends<|im_end|>"],
        prompt_tokens={"count": 256, "min": 41, "mean": 88.4, "p95": 140, "max": 171},
        budget={"max_completion_length": 512, "sequence_max": 683},
        model={"parameters": shape.parameters, "trainable": shape.trainable, "dtype": "bfloat16", "layers": 24},
        memory=memory.as_dict(), steps=vars(plan) | {"processes": 1},
        gold={"rows": 256, "verified": 254, "not_equal": 1, "unparseable": 1,
              "examples": ["seventy-two dollars and [some] cents " * 4, "n/a"]} if grpo else None,
        samples=[{"prompt": "Natalia sold clips to 48 of her friends in April", "completion": "<think>48/2 = 24</think> [24]",
                  "tokens": 12, "rewards": {"accuracy": 1.0, "format": None}, "total": 1.0}] if grpo else [],
        warnings=["2 of 256 gold answers do not verify against themselves; those samples can never earn the accuracy reward"],
    )
    for key, value in changes.items():
        setattr(report, key, value)
    return report


def test_dry_run_sections_and_numbers(screens):
    dry_run_view.render_dry_run(dry_run_report())
    lines = screens.lines()
    assert lines[0] == "dry run of recipes/gsm8k.yaml (grpo) -> runs/gsm8k-qwen"
    assert "first prompt, as the model sees it" in lines[1]
    assert any("Natalia sold clips to [48] of her friends<|im_end|>" in ln for ln in lines)
    assert cells(row(lines, "training rows")) == ["training", "rows", "7473"]
    assert row(lines, "prompt tokens").split("prompt tokens")[1].strip() == "min 41  mean 88.4  p95 140  max 171 (of 256)"
    assert row(lines, "budget").split("budget")[1].strip() == "max_completion_length 512, sequence_max 683"
    assert row(lines, "parameters").split("parameters")[1].strip() == "494,032,768 (494,032,768 trainable, bfloat16)"
    # memory, through human_bytes: 494,032,768 bf16 parameters are 942.29 MiB of weights
    assert cells(row(lines, "weights")) == ["weights", "942.29", "MiB"]
    assert cells(row(lines, "reference model")) == ["reference", "model", "942.29", "MiB"]  # beta > 0
    assert cells(row(lines, "optimizer")) == ["optimizer", "5.52", "GiB"]
    assert cells(row(lines, "total")) == ["total", "8.34", "GiB"]
    # 8 completions per device x 4 accumulation / 8 generations = 4 prompts per step; 7473 / 4 -> 1869 steps
    assert cells(row(lines, "per optimizer step")) == ["per", "optimizer", "step", "4", "prompts"]
    assert cells(row(lines, "steps per epoch")) == ["steps", "per", "epoch", "1869"]
    assert cells(row(lines, "total steps")) == ["total", "steps", "1869"]
    assert cells(row(lines, "processes")) == ["processes", "1"]
    assert cells(row(lines, "verified (1.0)")) == ["verified", "(1.0)", "254"]
    assert cells(row(lines, "unparseable (None)")) == ["unparseable", "(None)", "1"]
    examples = [ln for ln in lines if ln.startswith("e.g.")]
    assert examples[0].split("e.g.")[1].strip().startswith("seventy-two dollars and [some] cents")
    assert examples[-1].split() == ["e.g.", "n/a"]
    assert any("<think>48/2 = 24</think> [24]" in ln for ln in lines)
    assert any("accuracy 1.00  format -  total 1.00" in ln for ln in lines)
    assert lines[-2] == "warning: 2 of 256 gold answers do not verify against themselves; those samples can never earn the accuracy reward"
    assert lines[-1] == "✓ ready to train"


def test_dry_run_fits_80_columns_and_folds_gold_examples_at_word_boundaries(screens):
    dry_run_view.render_dry_run(dry_run_report(warnings=[]))
    lines = screens.lines()
    assert max(len(ln) for ln in lines) <= WIDTH
    assert "…" not in screens.out()
    # the first gold example (80 characters of it) wraps inside its cell, between words
    start = next(i for i, ln in enumerate(lines) if ln.startswith("e.g."))
    end = next(i for i, ln in enumerate(lines) if i > start and ln.startswith("e.g."))
    pieces = [ln[len("e.g."):].strip() for ln in lines[start:end]]
    assert len(pieces) >= 2
    assert " ".join(pieces) == ("seventy-two dollars and [some] cents " * 4)[:80].strip()


def test_dry_run_sft_with_errors(screens):
    dry_run_view.render_dry_run(dry_run_report("sft", errors=["dataset has no `completion` column", "max_length [0] is too small"]))
    lines = screens.lines()
    assert lines[0] == "dry run of recipes/gsm8k.yaml (sft) -> runs/gsm8k-qwen"
    assert cells(row(lines, "per optimizer step")) == ["per", "optimizer", "step", "32", "examples"]
    assert not any("golds" in ln or "verified" in ln for ln in lines)  # no gold check for SFT
    assert lines[-3:] == ["error: dataset has no `completion` column", "error: max_length [0] is too small",
                          "✗ 2 problem(s) would stop this run"]


# --- score --------------------------------------------------------------------------------------


def summary(name: str, weight: float | None, mean: float | None, histogram: list[int], *, nulls: int = 0, timeouts: int = 0,
            zeros: int = 3, count: int = 10, corr: float | None = None, low: float | None = 0.0, high: float | None = 1.0,
            edges: list[float] | None = None) -> RewardSummary:
    return RewardSummary(name=name, weight=weight, count=count, nulls=nulls, zeros=zeros, mean=mean, std=0.25, min=low,
                         max=high, histogram=histogram, edges=[0.0, 0.1, 1.0] if edges is None else edges,
                         corr_accuracy=corr, timeouts=timeouts)


def score_report(**changes) -> ScoreReport:
    report = ScoreReport(
        path="completions/[run]-gsm8k.jsonl", rows=1319,
        rewards={"accuracy": summary("accuracy", 1.0, 0.5, [5, 0, 0, 0, 0, 0, 0, 0, 0, 5], nulls=2, timeouts=1, corr=1.0),
                 "format": summary("format", 0.5, 0.9, [1, 0, 0, 0, 0, 0, 0, 0, 0, 9], corr=0.31)},
        total=summary("total", None, 0.95, [0] * 10, edges=[]),
        completion_column="completion", solution_column="solution", workers=4, seconds=2.5, skipped=3,
        accuracy=AccuracySummary(reward="accuracy", correct=658, verifiable=1317, unverified=2),
        flags=[Flag("mostly_zero", "format is 0 on 90% of rows [check the tags]", 10)],
        worst=[Example(line=17, total=0.0, rewards={"accuracy": 0.0, "format": None}, completion="I think [b]5[/b]", solution="4")],
        best=[Example(line=3, total=1.5, rewards={"accuracy": 1.0, "format": 1.0}, completion="<answer>4</answer>", solution=None)],
        output="scored.jsonl")
    for key, value in changes.items():
        setattr(report, key, value)
    return report


def score_table(lines: list[str]) -> list[str]:
    """The table's lines: title to total row (the lines after it are soft-wrapped text, free to run long)."""
    return lines[:lines.index(row(lines, "total")) + 1]


HEADERS = ["reward", "w", "mean", "std", "min", "max", "zeros", "None", "histogram", "r(acc)"]


def test_score_table_rows_and_footer(screens):
    score_view.render_report(score_report())
    lines = screens.lines()
    assert lines[0].rstrip() == "completions/[run]-gsm8k.jsonl: 1319 rows"
    assert cells(lines[1]) == HEADERS
    assert cells(row(lines, "accuracy")) == ["accuracy", "1", "0.500", "0.250", "0.00", "1.00", "30%", "2", "(1", "t/o)",
                                             "█", "█", "1.00"]
    assert cells(row(lines, "format")) == ["format", "0.5", "0.900", "0.250", "0.00", "1.00", "30%", "0", "▁", "█", "0.31"]
    assert cells(row(lines, "total")) == ["total", "0.950", "0.250", "0.00", "1.00", "30%", "0", "—"]
    assert "w: weight · histogram: 10 bins over each reward's possible range · r(acc): correlation with accuracy" in lines
    footer = lines.index("1319 rows · 2.5s · 528 rows/s · 4 workers · 3 skipped · written to scored.jsonl")
    assert lines[footer + 1] == "accuracy (accuracy): 50.0% of 1317 verifiable row(s) correct · 2 could not be verified"
    assert "! format is 0 on 90% of rows [check the tags]" in lines
    worst = lines.index("worst 1")
    assert lines[worst + 1:worst + 4] == ["line 17  total 0.000  accuracy=0.00, format=—",
                                          "  gold answer 4 · extracted — (none found)", "    I think [b]5[/b]"]
    best = lines.index("best 1")
    assert lines[best + 1:] == ["line 3  total 1.500  accuracy=1.00, format=1.00", "  extracted 4",
                                "    <answer>4</answer>"]
    assert max(len(ln) for ln in score_table(lines)) <= WIDTH
    assert "…" not in screens.out()  # short texts are not shortened


def test_score_footer_variants_and_no_legend_without_edges(screens):
    report = score_report(workers=1, seconds=0.0, skipped=0, output=None, flags=[], worst=[], best=[],
                          accuracy=AccuracySummary(reward="acc_v2", correct=3, verifiable=4, unverified=0))
    for summary_ in report.rewards.values():
        summary_.edges = []
    score_view.render_report(report)
    lines = screens.lines()
    assert lines[-2:] == ["1319 rows · 0.0s · 1 worker", "accuracy (acc_v2): 75.0% of 4 verifiable row(s) correct"]
    assert not any(ln.startswith("w: weight") for ln in lines)


@pytest.mark.parametrize("accuracy, line", [
    (None, "accuracy: no reward verifies answers"),
    (AccuracySummary(reward="accuracy", correct=0, verifiable=0, unverified=12),
     "accuracy (accuracy): — of 0 verifiable row(s) correct · 12 could not be verified"),
    (AccuracySummary(reward="[custom]", correct=1, verifiable=3, unverified=0),
     "accuracy ([custom]): 33.3% of 3 verifiable row(s) correct"),
])
def test_score_accuracy_line(screens, accuracy, line):
    score_view.render_report(score_report(accuracy=accuracy, flags=[], worst=[], best=[]))
    assert screens.lines()[-1] == line


def test_score_missing_values_show_a_dash(screens):
    empty = summary("accuracy", None, None, [0] * 10, nulls=10, zeros=0, count=0, low=None, high=None)
    empty.std = None
    score_view.render_report(score_report(rewards={"accuracy": empty}, total=empty, worst=[], best=[], flags=[]))
    assert cells(row(screens.lines(), "accuracy")) == ["accuracy", "—", "—", "—", "—", "—", "10", "—"]


def test_score_long_reward_name_folds_and_the_numbers_stay_whole(screens):
    name = "soft_overlong_punishment_for_long_answers"
    report = score_report(rewards={name: summary(name, 0.25, -0.123, [1] * 10, low=-1.0, high=0.0, corr=-0.42)})
    score_view.render_report(report)
    lines = screens.lines()
    assert max(len(ln) for ln in score_table(lines)) <= WIDTH
    first = next(ln for ln in lines if ln.startswith("soft_overlong"))
    assert cells(first)[1:] == ["0.25", "-0.123", "0.250", "-1.00", "0.00", "30%", "0", "██████████", "-0.42"]
    folded = "".join(ln.split()[0] for ln in lines[lines.index(first):lines.index(first) + 3] if ln.strip())
    assert folded.startswith(name)


def test_score_table_keeps_every_column_with_timeouts_and_long_names(screens):
    report = score_report(rewards={
        "repetition_penalty": summary("repetition_penalty", 0.25, -0.123, [1] * 10, low=-1.0, high=0.0, corr=-0.42),
        "accuracy": summary("accuracy", 1.0, 0.5, [1] * 10, nulls=123, timeouts=45, corr=1.0)})
    score_view.render_report(report)
    lines = screens.lines()
    assert cells(lines[1]) == HEADERS
    assert cells(next(ln for ln in lines if ln.startswith("repetition_penalty")))[-1] == "-0.42"
    assert cells(row(lines, "accuracy"))[-1] == "1.00"
    assert max(len(ln) for ln in score_table(lines)) <= WIDTH
    assert "(45 t/o)" in screens.out()  # under the None count, not cut off


def test_score_examples_put_both_answers_on_one_line_then_the_texts_shortened(screens):
    """--show-worst with a GSM8K rationale and a long completion: answers side by side, texts indented and cut."""
    rationale = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips.\n#### 72"
    completion = "<think>" + "Let me add the clips one by one. " * 40 + "</think>\n<answer>70</answer>"
    worst = [Example(line=9, total=0.25, rewards={"accuracy": 0.0, "format": 1.0}, completion=completion, solution=rationale)]
    score_view.render_report(score_report(worst=worst, best=[], flags=[]))
    lines = screens.lines()
    at = lines.index("worst 1")
    assert lines[at + 2] == "  gold answer 72 · extracted 70"
    texts = lines[at + 3:]
    assert texts[0].startswith("    gold: Natalia sold 48/2") and "#### 72" in "".join(texts)
    assert all(ln.startswith("    ") for ln in texts) and all(len(ln) <= WIDTH for ln in texts)
    flat = " ".join(ln.strip() for ln in texts)
    assert len(texts) <= 5 and " … " in flat and flat.endswith("</think> <answer>70</answer>")  # the end is kept


@pytest.mark.parametrize("counts, bars", [
    ([0, 1, 2, 8], " ▁▂█"), ([1, 1], "██"), ([1, 7, 8, 100], "▁▁▁█"), ([3, 0, 0, 6], "▄  █"), ([], ""), ([0, 0], ""),
])
def test_histogram_bars(counts, bars):
    assert score_view.histogram_bars(counts) == bars


def test_score_print_json_is_plain_json_on_stdout(capsys):
    score_view.print_json(score_report())
    data = json.loads(capsys.readouterr().out)
    assert data["rows"] == 1319 and data["file"] == "completions/[run]-gsm8k.jsonl"
    assert data["rewards"]["accuracy"]["zero_share"] == 0.3
    assert data["worst"][0]["rewards"]["format"] is None
    assert data["accuracy"] == {"reward": "accuracy", "correct": 658, "verifiable": 1317, "unverified": 2,
                                "accuracy": 658 / 1317}


def test_score_print_json_says_when_no_reward_verifies(capsys):
    score_view.print_json(score_report(accuracy=None))
    assert json.loads(capsys.readouterr().out)["accuracy"] == {"reward": None, "note": "no reward verifies answers"}


def test_score_progress_is_a_no_op_without_a_terminal(screens):
    with score_view.progress() as update:
        assert update(10, 100, 1000) is None
    with score_view.progress(enabled=False) as update:
        update(1, 2, 3)
    assert screens.err() == ""


# --- eval ---------------------------------------------------------------------------------------


def metrics(accuracy: float | None, k: int = 4, **changes) -> EvalMetrics:
    m = EvalMetrics(items=8, samples_per_item=k, accuracy=accuracy,
                    pass_at_k={1: accuracy, 2: 0.7, 4: 0.8} if k > 1 else {1: accuracy}, maj_at_k=0.66 if k > 1 else accuracy,
                    format_compliance=0.925, mean_tokens=187.26, reward_means={"accuracy": accuracy, "format": 0.9},
                    reward_total=1.35, unverifiable=3, none_samples=5)
    for key, value in changes.items():
        setattr(m, key, value)
    return m


def items(n: int = 8, k: int = 4) -> list[Item]:
    return [Item(index=i, prompt=[{"role": "user", "content": f"q{i}"}], gold="4", gold_answer="4",
                 samples=[Sample(completion="<answer>4</answer>", answer="4", num_tokens=187, rewards={"accuracy": 1.0},
                                 reward=1.0) for _ in range(k)]) for i in range(n)]


def eval_report(label: str = "Qwen/Qwen2.5-0.5B-Instruct", m: EvalMetrics | None = None, **changes) -> EvalReport:
    report = EvalReport(label=label, dataset="openai/gsm8k", split="test", benchmark="gsm8k", columns={}, settings={},
                        metrics=m or metrics(0.3125), items=items(), accuracy_reward="accuracy", seconds=123.45,
                        generation_seconds=4.0, tokens_generated=5992, output="eval/[a].jsonl", skipped=2)
    for key, value in changes.items():
        setattr(report, key, value)
    return report


def test_eval_report_table(screens):
    eval_view.render_report(eval_report())
    lines = screens.lines()
    assert lines[0] == "Qwen/Qwen2.5-0.5B-Instruct on openai/gsm8k (gsm8k): 8 items × 4 samples"
    table = {" ".join(cells(ln)[:-1]): cells(ln)[-1] for ln in lines[3:-1]}
    assert table == {"accuracy": "31.2%", "pass@2": "70.0%", "pass@4": "80.0%", "maj@4": "66.0%",
                     "format compliance": "92.5%", "mean tokens": "187.3", "reward: accuracy": "0.312",
                     "reward: format": "0.900", "total reward": "1.350", "unverifiable": "3"}
    assert cells(lines[1]) == ["metric", "value"]
    assert lines[-1] == ("123.5s · 2.00 items/s · 1,498 tokens/s · 5 unverifiable sample(s) · "
                         "2 invalid line(s) skipped · written to eval/[a].jsonl")


def test_eval_report_of_a_completions_file_with_one_sample(screens):
    report = eval_report("completions.jsonl", metrics(float("nan"), k=1, format_compliance=None, none_samples=0),
                         dataset="completions.jsonl", benchmark=None, generation_seconds=None, tokens_generated=None,
                         output=None, skipped=0)
    eval_view.render_report(report)
    lines = screens.lines()
    assert lines[0] == "completions.jsonl: 8 items"
    labels = [" ".join(cells(ln)[:-1]) for ln in lines[3:-1]]
    assert labels == ["accuracy", "format compliance", "mean tokens", "reward: accuracy", "reward: format",
                      "total reward", "unverifiable"]  # no pass@k or maj@k with one sample
    assert cells(row(lines, "accuracy"))[-1] == "—"  # NaN
    assert cells(row(lines, "format compliance"))[-1] == "—"
    assert lines[-1] == "123.5s"


def test_eval_long_title_is_one_line(screens):
    label = "runs/gsm8k-qwen2.5-0.5b-instruct-grpo-lora-refill/checkpoint-1200"
    eval_view.render_report(eval_report(label))
    title = screens.lines()[0]
    assert title == f"{label} on openai/gsm8k (gsm8k): 8 items × 4 samples"
    assert len(title) > WIDTH


def comparison(ci: BootstrapCI) -> Comparison:
    b_metrics = metrics(0.4525, reward_means={"accuracy": 0.4525, "format": 0.95, "tag_count": 0.5}, unverifiable=1)
    return Comparison(eval_report(), eval_report("runs/gsm8k-qwen/checkpoint-500", b_metrics, benchmark=None), ci)


def test_eval_comparison_table_and_verdict(screens):
    eval_view.render_comparison(comparison(BootstrapCI(difference=0.14, low=0.1, high=0.18, confidence=0.95,
                                                       resamples=10_000, items=8)))
    lines = screens.lines()
    assert lines[0] == "A: Qwen/Qwen2.5-0.5B-Instruct on openai/gsm8k (gsm8k): 8 items × 4 samples"
    assert lines[1] == "B: runs/gsm8k-qwen/checkpoint-500 on openai/gsm8k: 8 items × 4 samples"
    assert cells(lines[2]) == ["metric", "A", "B", "B", "−", "A"]
    assert cells(row(lines, "accuracy"))[1:] == ["31.2%", "45.2%", "+14.0%"]
    assert cells(row(lines, "reward: accuracy"))[2:] == ["0.312", "0.453", "+0.140"]
    assert cells(row(lines, "mean tokens"))[2:] == ["187.3", "187.3", "+0.0"]
    assert cells(row(lines, "unverifiable"))[1:] == ["3", "1", "-2"]
    assert cells(row(lines, "reward: tag_count"))[2:] == ["—", "0.500", "—"]  # only B has it
    assert ("accuracy B − A: +14.0 points, 95% CI [+10.0, +18.0] (paired bootstrap, 8 items, 10,000 resamples): "
            "B is better") in lines
    assert lines[-2].startswith("A: 123.5s · 2.00 items/s") and lines[-1].startswith("B: 123.5s")


@pytest.mark.parametrize("ci, verdict", [
    (BootstrapCI(-0.01, -0.03, 0.012, 0.9, 2000, 8), "-1.0 points, 90% CI [-3.0, +1.2] (paired bootstrap, 8 items, "
                                                     "2,000 resamples): the difference could be noise"),
    (BootstrapCI(-0.2, -0.3, -0.1, 0.95, 500, 8), "-20.0 points, 95% CI [-30.0, -10.0] (paired bootstrap, 8 items, "
                                                  "500 resamples): B is worse"),
])
def test_eval_comparison_verdicts(screens, ci, verdict):
    eval_view.render_comparison(comparison(ci))
    assert f"accuracy B − A: {verdict}" in screens.lines()


def test_eval_comparison_with_a_real_bootstrap(screens):
    ci = paired_bootstrap([0.0] * 8, [1.0] * 8, resamples=200, seed=0)
    eval_view.render_comparison(comparison(ci))
    assert ("accuracy B − A: +100.0 points, 95% CI [+100.0, +100.0] (paired bootstrap, 8 items, 200 resamples): "
            "B is better") in screens.lines()


def test_eval_print_json_keeps_unicode(capsys):
    eval_view.print_json({"metric": "B − A", "value": 0.5})
    out = capsys.readouterr().out
    assert "B − A" in out and json.loads(out) == {"metric": "B − A", "value": 0.5}


def test_eval_progress_is_a_no_op_without_a_terminal(screens):
    with eval_view.progress("Qwen/Qwen2.5-0.5B-Instruct") as update:
        assert update(object()) is None
    assert screens.err() == ""
