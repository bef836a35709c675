"""The training dashboard: frames rendered from realistic TRL/r1 metric sequences, the plain log, the reporters' lifecycle."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from rich.console import Console

from r1cli.ui.console import console as shared_console
from r1cli.ui.dashboard import (
    Dashboard,
    DashboardState,
    PlainReporter,
    RunInfo,
    make_reporter,
    render_dashboard,
    summary_table,
)
from r1cli.ui.dashboard_panels import SPARK_BLOCKS, trend_line

ANSI = re.compile(r"\x1b\[")
REWARDS = ["accuracy", "format", "tag_count"]


def grpo_info(total_steps: int = 40) -> RunInfo:
    return RunInfo(run_name="gsm8k-qwen", model="Qwen/Qwen2.5-0.5B-Instruct", trainer="grpo", total_steps=total_steps,
                   output_dir="runs/gsm8k-qwen", reward_names=REWARDS, reward_weights=[1.0, 0.5, 0.25])


def grpo_metrics(step: int) -> dict[str, float]:
    """One TRL 1.16 GRPO log dict plus r1's reject-sampling keys; accuracy climbs, so its sparkline does too."""
    return {
        "loss": 0.01 * step, "grad_norm": 0.3, "learning_rate": 1e-6, "epoch": step / 40, "num_tokens": 4000.0 * step,
        "reward": 0.5 + 0.01 * step, "reward_std": 0.2, "frac_reward_zero_std": 0.25,
        "rewards/accuracy/mean": 0.25 + 0.0125 * step, "rewards/accuracy/std": 0.4,
        "rewards/format/mean": 0.9, "rewards/format/std": 0.1,
        "rewards/tag_count/mean": 0.5 + 0.1 * (step % 3), "rewards/tag_count/std": 0.2,
        "completions/mean_length": 48.0, "completions/min_length": 10.0, "completions/max_length": 128.0,
        "completions/clipped_ratio": 0.03, "completions/mean_terminated_length": 45.0,
        "kl": 0.0011, "entropy": 0.51, "clip_ratio/low_mean": 0.0, "clip_ratio/high_mean": 0.012,
        "clip_ratio/region_mean": 0.012, "step_time": 15.0,
        "reject_sampling/groups_total": 16, "reject_sampling/rejected_initial": 5, "reject_sampling/rescued": 3,
        "reject_sampling/still_rejected": 2, "reject_sampling/extra_completions": 48, "reject_sampling/time_s": 12.3,
        "reject_sampling/zero_spread_before": 0.3125, "reject_sampling/zero_spread_after": 0.125,
    }


def eval_metrics(step: int) -> dict[str, float]:
    return {"eval/accuracy": 0.4 + 0.01 * step, "eval/reward": 0.7, "eval/rewards/accuracy/mean": 0.6,
            "eval/rewards/format/mean": 0.95, "eval/completion_length": 52.0}


def grpo_state(steps: int = 12) -> DashboardState:
    """``steps`` logged steps 15 s apart, eval every 4 steps in its own update, then one long sample."""
    state = DashboardState()
    state.begin(grpo_info(), now=0.0)
    for step in range(1, steps + 1):
        state.record(step, grpo_metrics(step), now=15.0 * step)
        if step % 4 == 0:
            state.record(step, eval_metrics(step), now=15.0 * step + 1)
    reasoning = "\n".join(f"Step {i}: two and two make four, checking the sum once more." for i in range(30))
    state.record_sample(steps, "What is 2+2? Put the final answer in <answer></answer> tags. " * 4,
                        f"<think>\n{reasoning}\n</think>\n<answer>4</answer>", {"accuracy": 1.0, "format": 0.5, "tag_count": None})
    state.now = 15.0 * steps + 2
    return state


def frame(state: DashboardState, width: int, height: int) -> list[str]:
    console = Console(record=True, width=width, height=height, file=io.StringIO())
    console.print(render_dashboard(state, width, height))
    return console.export_text().splitlines()


def assert_fits(lines: list[str], width: int, height: int) -> None:
    assert len(lines) <= height, "\n".join(lines)
    assert max(len(line) for line in lines) <= width, "\n".join(lines)


def reward_row(lines: list[str], name: str) -> str:
    return next(line for line in lines if re.search(rf"[│ ]{name}\s+\d", line) or line.startswith(f"{name} "))


# --- frames ------------------------------------------------------------------


def test_grpo_frame_at_80x24_shows_everything_and_fits():
    lines = frame(grpo_state(), 80, 24)
    text = "\n".join(lines)
    assert_fits(lines, 80, 24)
    assert "step 12/40" in text and "gsm8k-qwen" in text
    assert "ETA 7:00" in text  # 28 steps left at 15 s a step
    assert "267 tok/s" in text  # 4000 tokens every 15 s
    for name, mean in [("accuracy", "0.400"), ("format", "0.900"), ("tag_count", "0.500")]:
        assert mean in reward_row(lines, name)
    assert "0.620" in reward_row(lines, "total")  # the weighted total: `reward`
    assert "▁▂" in reward_row(lines, "accuracy") and reward_row(lines, "accuracy").rstrip().endswith("█")
    for piece in ["groups 16", "rejected 5", "rescued 3", "still rejected 2", "extra 48", "time 12.3s", "31% → 12%"]:
        assert piece in text
    assert "eval · step 12" in text and "0.520 best 0.520 @12" in text
    assert "<answer>4</answer>" in text and "more lines" in text  # the sample, cut in the middle


def test_wide_frame_uses_two_columns_and_longer_history():
    state = grpo_state(steps=100)
    narrow, wide = frame(state, 80, 24), frame(state, 160, 48)
    assert_fits(wide, 160, 48)
    side_by_side = [line for line in wide if "training" in line and "eval" in line]
    assert side_by_side and side_by_side[0].count("╭") == 2
    spark = lambda line: sum(ch in SPARK_BLOCKS for ch in line)  # noqa: E731
    assert spark(reward_row(wide, "accuracy")) >= 100 > spark(reward_row(narrow, "accuracy"))
    assert any(line.lstrip("│ ").startswith("loss") and spark(line) > 30 for line in wide)  # a sparkline per statistic
    assert "over the run 500 rejected, 300 rescued, 4800 extra" in "\n".join(wide)
    assert "runs/gsm8k-qwen" in wide[0]


@pytest.mark.parametrize("size", [(80, 16), (60, 20), (50, 12), (120, 20), (160, 24), (200, 60), (40, 8)])
def test_small_and_odd_terminals_degrade_without_overflowing(size):
    width, height = size
    lines = frame(grpo_state(), width, height)
    assert_fits(lines, width, height)
    assert any("rewards" in line for line in lines)


def test_80x16_drops_the_sample_and_eval_before_the_rewards():
    text = "\n".join(frame(grpo_state(), 80, 16))
    assert "sample" not in text and "eval ·" not in text
    assert "rewards" in text and "training" in text


def test_sft_frame_shows_loss_history_token_accuracy_and_eval_loss():
    state = DashboardState()
    state.begin(RunInfo(run_name="sft-warmup", model="Qwen/Qwen2.5-0.5B", trainer="sft", total_steps=100), now=0.0)
    for step in range(1, 31):
        logs = {"loss": 2.0 - step / 20, "learning_rate": 2e-5, "grad_norm": 1.1, "num_tokens": 1000.0 * step,
                "mean_token_accuracy": 0.4 + step / 100, "epoch": step / 100}
        state.record(step, logs, now=2.0 * step)
        if step % 10 == 0:  # the Trainer's own evaluate(): HF-style eval_* keys
            state.record(step, {"eval_loss": 1.5 - step / 100, "eval_mean_token_accuracy": 0.5, "eval_runtime": 3.0}, now=2.0 * step + 1)
    lines = frame(state, 80, 24)
    text = "\n".join(lines)
    assert_fits(lines, 80, 24)
    assert "r1 sft" in text and "step 30/100" in text and "500 tok/s" in text
    loss = next(line for line in lines if "loss" in line and "0.5000" in line)
    assert trend_line([2.0 - s / 20 for s in range(1, 31)], 30) in loss
    assert "token acc" in text and "0.700" in text and "lr 2.0e-05" in text
    assert "eval · step 30" in text and "1.2000" in text  # eval_loss at step 30
    assert "rewards" not in text


def test_first_frame_before_any_metrics():
    state = DashboardState()
    state.begin(grpo_info(), now=0.0)
    lines = frame(state, 80, 24)
    assert_fits(lines, 80, 24)
    assert "step 0/40" in lines[1] and "ETA —" in lines[1]
    assert "waiting for the first logged step" in "\n".join(lines)


def test_trend_line_scales_between_min_and_max_and_keeps_the_latest_values():
    assert trend_line([0, 1, 2, 3, 4, 5, 6, 7], 8) == SPARK_BLOCKS
    assert trend_line(range(100), 8) == SPARK_BLOCKS  # only the last eight, rescaled to their own range
    assert trend_line([0.5] * 3, 10) == "▄▄▄"
    assert trend_line([], 10) == "" and trend_line([1.0], 0) == ""


# --- state -------------------------------------------------------------------


def test_step_time_eta_and_token_rate_come_from_wall_time():
    state = grpo_state(steps=12)
    assert state.sec_per_step == pytest.approx(15.0)
    assert state.eta == pytest.approx(28 * 15.0)
    assert state.tokens_per_s == pytest.approx(4000 / 15)
    state.record(12, eval_metrics(12), now=500.0)  # eval for the same step, much later
    assert state.sec_per_step == pytest.approx(15.0) and state.eval_step == 12


def test_a_time_budget_shortens_the_eta_and_shows_in_the_first_line():
    from r1cli.ui.dashboard import describe_run

    state = DashboardState()
    info = grpo_info(total_steps=1000)
    info.minutes = 10
    state.begin(info, now=0.0)
    state.record(4, grpo_metrics(4), now=60.0)  # 15 s a step: 996 steps left would take 4 hours
    assert state.eta == pytest.approx(540.0)  # but the budget ends the run in 9 minutes
    assert "1000 steps or 10 min" in describe_run(info)


def test_reject_sampling_names_from_r1_training_are_understood():
    state = DashboardState()
    state.begin(grpo_info(), now=0.0)
    state.record(1, {"reject_sampling/groups_total": 8.0, "reject_sampling/rejected_initial": 4.0,
                     "reject_sampling/recovered": 3.0, "reject_sampling/seconds": 2.5,
                     "reject_sampling/zero_spread_frac_before": 0.5, "reject_sampling/zero_spread_frac_after": 0.125}, now=1.0)
    text = "\n".join(frame(state, 80, 24))
    assert "rescued 3" in text and "time 2.5s" in text and "50% → 12%" in text


def test_missing_none_nan_and_unknown_keys_do_not_crash():
    odd = [{}, {"loss": None, "reward": float("nan"), "kl": "n/a", "weird/key": 1.0, 3: 4.0},
           {"rewards/made_up/mean": 0.5}, {"eval/accuracy": None}, {"train_runtime": 12.0, "train_loss": 0.1}]
    out = io.StringIO()
    plain = PlainReporter(Console(file=out, width=100))
    plain.start(RunInfo(run_name="r", model="m"))
    state = DashboardState()
    for step, logs in enumerate(odd, start=1):
        state.record(step, logs, now=float(step))
        plain.update(step, logs)
    plain.sample(5, "p", "c", {"accuracy": None, "x": "bad"})
    plain.stop()
    assert "made_up" in "\n".join(frame(state, 80, 24))  # a reward only the metrics name still gets its row
    assert "step 5 | runtime 12.0s" in out.getvalue() and "weird" not in out.getvalue()


# --- plain reporter ----------------------------------------------------------


def plain_run(width: int = 200, force_terminal: bool = False) -> tuple[str, PlainReporter]:
    out = io.StringIO()
    times = iter([0.0, 15.2, 30.4, 31.0, 32.0, 40.0])
    reporter = PlainReporter(Console(file=out, width=width, force_terminal=force_terminal), clock=lambda: next(times))
    with reporter:
        reporter.start(RunInfo(run_name="gsm8k", model="Qwen/Qwen2.5-0.5B-Instruct", trainer="grpo", total_steps=40,
                               output_dir="runs/gsm8k", reward_names=["accuracy", "format"], reward_weights=[1.0, 0.5]))
        logs = {"loss": 0.0123, "reward": 0.812, "reward_std": 0.2, "rewards/accuracy/mean": 0.75,
                "rewards/format/mean": 0.9, "kl": 0.0011, "completions/mean_length": 48.0, "entropy": 0.5,
                "reject_sampling/groups_total": 4, "reject_sampling/rejected_initial": 2, "reject_sampling/rescued": 1}
        reporter.update(1, logs)
        reporter.update(2, dict(logs, loss=0.0456, kl=None))
        reporter.update(2, {"eval/accuracy": 0.62, "eval/reward": 0.71, "eval/rewards/accuracy/mean": 0.6,
                            "eval/rewards/format/mean": 0.95, "eval/completion_length": 52.0})
        reporter.sample(2, "What is 2+2?", "<think>two plus two</think>\n<answer>4</answer>", {"accuracy": 1.0, "format": None})
        reporter.stop({"train_runtime": 612.3})
    return out.getvalue(), reporter


def test_plain_reporter_prints_one_line_per_update():
    lines = plain_run()[0].splitlines()
    assert lines[:5] == [
        "r1 grpo | run gsm8k | model Qwen/Qwen2.5-0.5B-Instruct | 40 steps | rewards accuracy*1 + format*0.5 | output runs/gsm8k",
        "step 1/40 | loss 0.0123 | reward 0.812 ±0.20 | accuracy 0.75 format 0.90 | kl 0.0011 | len 48 | reject 2/4 rescued 1 | 15.2s/step",
        "step 2/40 | loss 0.0456 | reward 0.812 ±0.20 | accuracy 0.75 format 0.90 | len 48 | reject 2/4 rescued 1 | 15.2s/step",
        "eval step 2 | accuracy 0.62 | reward 0.710 | format 0.95 | len 52",
        "sample step 2 | accuracy 1.00 format — | <think>two plus two</think> <answer>4</answer>",
    ]


def test_plain_reporter_has_no_ansi_on_a_terminal_and_ends_with_the_summary_table():
    text, reporter = plain_run(width=100, force_terminal=True)
    assert not ANSI.search(text)
    captured = Console(file=io.StringIO(), width=100, record=True)
    captured.print(summary_table(reporter.state, {"train_runtime": 612.3}, plain=True))
    table = [line.rstrip() for line in captured.export_text().splitlines()]
    assert text.splitlines()[-len(table):] == table
    assert table[0] == "run summary" and "train_runtime    612.3" in table[-1]
    assert any("eval accuracy" in line and "best 0.620 at step 2" in line for line in table)


# --- live reporter -----------------------------------------------------------


def terminal(width: int = 80, height: int = 24) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, height=height, force_terminal=True, color_system="truecolor"), out


def test_make_reporter_picks_live_or_plain():
    console, _ = terminal()
    assert isinstance(make_reporter(True, console), Dashboard)
    assert isinstance(make_reporter(False, console), PlainReporter)
    assert make_reporter(False).console is shared_console  # r1's stdout console unless told otherwise


def test_dashboard_frame_follows_the_console_size():
    console, _ = terminal(160, 48)
    dashboard = Dashboard(console, clock=lambda: 100.0)
    dashboard.state = grpo_state()
    lines = Console(record=True, width=160, file=io.StringIO())
    lines.print(dashboard._frame())
    text = lines.export_text().splitlines()
    assert_fits(text, 160, 47)  # one line is left for the cursor
    assert any(line.count("╭") == 2 for line in text)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_context_manager_stops_cleanly_on_exceptions(error):
    console, out = terminal()
    with pytest.raises(type(error)):
        with make_reporter(True, console) as reporter:
            reporter.start(grpo_info())
            for step in (1, 2):
                reporter.update(step, grpo_metrics(step))
            raise error
    assert not reporter._live.is_started
    text = out.getvalue()
    assert text.rindex("\x1b[?25h") > text.rindex("\x1b[?25l")  # the cursor is shown again
    outcome = "quit — nothing saved" if isinstance(error, KeyboardInterrupt) else "failed"
    assert f"2/40 ({outcome})" in text and text.count("run summary") == 1
    reporter.stop()  # a second stop is harmless
    assert out.getvalue().count("run summary") == 1


def test_dashboard_final_frame_stays_and_the_summary_follows():
    console, out = terminal()
    with make_reporter(True, console) as reporter:
        reporter.start(grpo_info(total_steps=2))
        reporter.update(1, grpo_metrics(1))
        reporter.update(2, grpo_metrics(2))
        reporter.update(2, eval_metrics(2))
        reporter.sample(2, "What is 2+2?", "<answer>4</answer>", {"accuracy": 1.0})
        reporter.stop({"train_runtime": 31.0})
    text = out.getvalue()
    assert text.index("step 2/2") < text.index("run summary") < text.index("train_runtime")
    assert "done" in text and "<answer>4</answer>" in text


def test_the_dashboard_imports_no_training_stack():
    code = "import sys, r1cli.ui.dashboard; print(sorted({'torch', 'transformers', 'trl', 'datasets'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- notes -------------------------------------------------------------------

NOTE = "no reward verifies answers: real-time eval logs no eval/accuracy"


def test_a_note_is_printed_once_and_kept_for_the_summary():
    out = io.StringIO()
    console = Console(file=out, width=120)
    with PlainReporter(console, clock=lambda: 0.0) as reporter:
        reporter.start(RunInfo(run_name="r", model="m", reward_names=["format", "length"], reward_weights=[1.0, 0.5]))
        reporter.note(NOTE)
        reporter.note(NOTE)
        reporter.update(1, {"eval/reward": 0.5, "eval/rewards/format/mean": 0.9})
    lines = out.getvalue().splitlines()
    assert lines.count(f"note: {NOTE}") == 1
    assert any(line.startswith("eval step 1 | reward 0.500 | format 0.90") for line in lines)
    assert not any("accuracy" in line for line in lines if not line.startswith(("note", "r1 grpo")) and NOTE not in line)
    assert any(line.startswith("note") and NOTE in line for line in lines[lines.index(f"note: {NOTE}") + 1:])


def test_the_live_eval_panel_shows_the_note_instead_of_an_accuracy():
    state = DashboardState()
    state.begin(RunInfo(run_name="r", model="m", total_steps=4, reward_names=["format", "length"],
                        reward_weights=[1.0, 0.5]), now=0.0)
    state.record(1, {"reward": 0.5, "rewards/format/mean": 0.9, "rewards/length/mean": 0.1}, now=10.0)
    assert state.record_note(NOTE) and not state.record_note(NOTE)
    state.record(1, {"eval/reward": 0.5, "eval/rewards/format/mean": 0.9}, now=11.0)
    lines = frame(state, 100, 30)
    assert any(NOTE[:40] in line for line in lines)
    assert not any(re.search(r"\baccuracy\b", line) for line in lines if NOTE[:40] not in line)
    assert_fits(lines, 100, 30)


DOCTOR_NOTE = ("doctor @6 collapse: held-out accuracy collapsed to 12% from its best 55% (step 3); "
               "try learning_rate: 1.5e-05, stop_on_collapse: true")


def test_a_doctor_finding_shows_with_its_recommendation_at_80x24():
    state = grpo_state()
    state.record_note("best eval/accuracy so far: 0.547 at step 3, kept in runs/x/best")
    state.record_note(DOCTOR_NOTE)
    lines = frame(state, 80, 24)
    assert_fits(lines, 80, 24)
    text = " ".join(line.strip("│ ") for line in lines)
    assert "doctor @6 collapse" in text and "try learning_rate: 1.5e-05" in text  # wrapped, not cut


def test_notes_are_newest_first_within_their_lines():
    from r1cli.ui.dashboard_panels import NOTE_LINES, note_lines

    notes = [f"note {i} " + "word " * 30 for i in range(5)]
    lines = [line.plain for line in note_lines(notes, 60)]
    assert len(lines) == NOTE_LINES and lines[0].startswith("note 4") and lines[2].startswith("note 3")
    assert all(len(line) <= 60 for line in lines) and lines[1].endswith("…")
    assert [line.plain for line in note_lines(["short"], 60)] == ["short"]


# --- issue 16: honest summaries, resumed speed, phases, the first Ctrl-C, TERM=dumb ---------------------------------


def plain_reporter(clock_values):
    out = io.StringIO()
    ticks = iter(clock_values)
    reporter = PlainReporter(Console(file=out, width=120), clock=lambda: next(ticks))
    return reporter, out


def test_no_summary_and_no_uptime_when_training_never_started():
    reporter, out = plain_reporter([5000.0, 5001.0, 5030.0])  # a monotonic clock reads the machine's uptime
    with pytest.raises(RuntimeError):
        with reporter:
            reporter.phase("starting")
            reporter.phase("loading model")
            raise RuntimeError("model not found")
    assert reporter.state.elapsed == 0.0
    assert "[0:01] loading model…" in out.getvalue()
    assert "run summary" not in out.getvalue() and "elapsed" not in out.getvalue()


def test_no_summary_block_for_a_run_of_zero_steps():
    reporter, out = plain_reporter([0.0, 1.0, 2.0, 3.0])
    with reporter:
        reporter.start(grpo_info())
    assert "run summary" not in out.getvalue()


def test_a_resumed_run_measures_speed_and_eta_from_its_own_steps():
    state = DashboardState()
    info = grpo_info(total_steps=15)
    info.start_step = 10
    state.begin(info, now=100.0)
    state.record(11, {"loss": 0.1}, now=104.0)
    state.record(12, {"loss": 0.1}, now=108.0)
    assert state.sec_per_step == pytest.approx(4.0)  # not (8 s / 12 steps)
    assert state.eta == pytest.approx(12.0)
    rows = dict((label, value) for label, value in __import__("r1cli.ui.dashboard", fromlist=["_summary_rows"])
                ._summary_rows(state))
    assert "since resuming at step 10" in rows["elapsed"]


def test_first_ctrl_c_is_shown_in_the_frame_and_in_plain_lines():
    state = grpo_state()
    reporter, out = plain_reporter([0.0, 1.0])
    reporter.stopping("SIGINT")
    assert "stopping after this step and saving; Ctrl-C again quits without saving" in out.getvalue()
    state.stopping = reporter.state.stopping
    lines = frame(state, 80, 24)
    assert_fits(lines, 80, 24)
    assert "Ctrl-C again quits without saving" in lines[0]


def test_phase_before_the_first_step_is_named_with_its_time():
    state = DashboardState()
    state.begin(grpo_info(), now=0.0)
    state.enter_phase("start-of-run eval", 0.0)
    state.now = 7.0
    assert "start-of-run eval… 0:07" in "\n".join(frame(state, 80, 24))


def test_dumb_terminals_get_plain_lines():
    dumb = Console(file=io.StringIO(), force_terminal=True, _environ={"TERM": "dumb"})
    smart = Console(file=io.StringIO(), force_terminal=True, _environ={"TERM": "xterm-256color"})
    assert isinstance(make_reporter(None, dumb), PlainReporter) and isinstance(make_reporter(True, dumb), PlainReporter)
    assert isinstance(make_reporter(None, smart), Dashboard)
