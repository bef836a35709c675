"""`r1 report`: PNG and self-contained HTML from a run's metrics.jsonl."""

from __future__ import annotations

import base64
import json

import yaml

from typer.testing import CliRunner

from r1cli.cli import app
from r1cli.reporting import panels
from r1cli.run_dir import RunDirectory

runner = CliRunner()


def run_dir(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.path.mkdir()
    records = []
    for step in range(1, 6):
        records.append({"step": step, "loss": 0.1 / step, "reward": 0.2 * step, "reward_std": 0.1,
                        "rewards/accuracy/mean": 0.1 * step, "rewards/format/mean": 0.9,
                        "completions/mean_length": 40 + step, "completions/clipped_ratio": 0.1,
                        "reject_sampling/zero_spread_frac_before": 0.6, "reject_sampling/zero_spread_frac_after": 0.2,
                        "reject_sampling/rejected_initial": 3, "reject_sampling/recovered": 2})
        if step % 2 == 0:
            records.append({"step": step, "eval/accuracy": 0.3 + 0.05 * step})
    run.metrics.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"step": 6, "lo')  # crash-cut line
    run.summary.write_text(json.dumps({"global_step": 5, "max_steps": 5, "wall_seconds": 72.5, "last": {"reward": 1.0}}))
    run.config.write_text(yaml.safe_dump({
        "trainer": "grpo", "model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct", "dataset_name": "openai/gsm8k",
        "dataset_config": "main", "reward_funcs": ["accuracy", "format"], "reward_weights": [1.0, 0.5],
        "learning_rate": 1e-6, "beta": 0.0, "num_generations": 8, "eval_steps": 2}))
    return run


def test_report_writes_png_and_self_contained_html(tmp_path):
    run = run_dir(tmp_path)
    result = runner.invoke(app, ["report", str(run.path)])
    assert result.exit_code == 0, result.output
    png = run.report_png.read_bytes()
    assert png.startswith(b"\x89PNG")
    page = run.report_html.read_text()
    assert base64.b64encode(png).decode() in page and "<script" not in page
    # What was trained, on what, with what: from the run's config.yaml.
    assert "GRPO of Qwen/Qwen2.5-0.5B-Instruct on openai/gsm8k (main)" in page
    assert "accuracy (weight 1), format (weight 0.5)" in page and "<th>learning_rate</th><td>1e-06</td>" in page
    # How it went: steps and wall time, last and best values at 4 significant digits, the eval by step.
    assert "5 of 5 steps in 1:12" in page
    assert "<tr><td>reward</td><td>1</td><td>1</td></tr>" in page
    assert "<tr><td>eval/accuracy</td><td>0.5</td><td>0.5</td></tr>" in page
    assert "Real-time eval accuracy by step: 2: 0.4, 4: 0.5" in page
    assert "KL not computed: beta is 0" in page
    assert "0.30000000000000004" not in page  # no full-precision floats


def test_report_png_axes_are_fixed_labelled_and_whole_steps(tmp_path, monkeypatch):
    """The real figure: accuracy on 0-1 even when it is all zero, integer step ticks, axis labels, a descriptive title."""
    import matplotlib.pyplot as plt

    from r1cli import reporting

    figures = []
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    records = [{"step": s, "rewards/accuracy/mean": 0.0, "loss": 0.01 * s, "reward": 0.1} for s in range(1, 11)]
    reporting.render_png("run", records, reporting.describe({"model_name_or_path": "m", "dataset_name": "d",
                                                             "reward_funcs": ["accuracy"]}), "KL not computed")
    fig = figures[0]
    axes = {ax.get_title(): ax for ax in fig.axes}
    accuracy = axes["Accuracy"]
    low, high = accuracy.get_ylim()
    assert low <= 0 and high >= 1 and high - low < 1.1
    assert accuracy.get_ylabel() == "share correct" and accuracy.get_xlabel() == "step"
    ticks = [t for t in accuracy.get_xticks() if 1 <= t <= 10]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert "GRPO of m on d" in fig._suptitle.get_text()
    assert any("KL not computed" in t.get_text() for t in axes["Loss and KL"].texts)


def test_panels_follow_the_metrics_present(tmp_path):
    from r1cli.files import read_jsonl

    records = read_jsonl(run_dir(tmp_path).metrics)
    titles = dict(panels(records))
    assert [s.label for s in titles["Reward per function (train mean)"]] == ["accuracy", "format"]
    assert [s.label for s in titles["Accuracy"]] == ["train (sampled)", "held-out eval (real-time)"]
    assert titles["Accuracy"][1].steps == [2, 4]
    assert "Reject sampling: zero-spread groups" in titles
    sft_only = panels([{"step": 1, "loss": 1.0}])
    assert [t for t, _ in sft_only] == ["Loss and KL"]


def test_own_report_regenerates_but_a_foreign_file_needs_force(tmp_path):
    run = run_dir(tmp_path)
    assert runner.invoke(app, ["report", str(run.path)]).exit_code == 0
    again = runner.invoke(app, ["report", str(run.path)])  # r1 wrote it: derived from the run, replaced freely
    assert again.exit_code == 0, again.output
    run.report_html.write_text("<html>my own notes</html>")
    refused = runner.invoke(app, ["report", str(run.path)])
    assert refused.exit_code == 1 and "--force" in refused.output
    assert run.report_html.read_text() == "<html>my own notes</html>"
    assert runner.invoke(app, ["report", str(run.path), "--force"]).exit_code == 0
    assert "r1 report" in run.report_html.read_text()
    empty = runner.invoke(app, ["report", str(tmp_path)])
    assert empty.exit_code == 1 and "no metrics.jsonl" in empty.output


def test_a_resumed_run_says_which_part_the_wall_time_covers(tmp_path):
    """Issue 16: after --resume, summary.json describes only the resumed part; the page said `15 of 15 steps in 0:25`
    for about 90 s of training. It says where the run resumed, and the whole run's time from the per-step times."""
    run = RunDirectory(tmp_path / "run")
    run.path.mkdir()
    records = [{"step": s, "loss": 0.1, "reward": 0.5, "time/step": 6.0} for s in range(1, 16)]
    run.metrics.write_text("".join(json.dumps(r) + "\n" for r in records))
    run.summary.write_text(json.dumps({"global_step": 15, "max_steps": 15, "wall_seconds": 24.52, "interrupted_by": None,
                                       "stopped_by_time_budget": False, "last": {}, "resumed_from_step": 10}))
    result = runner.invoke(app, ["report", str(run.path)])
    assert result.exit_code == 0, result.output
    page = run.report_html.read_text()
    assert ("15 of 15 steps (resumed at step 10: the last 5 in 0:25; 1:30 of training steps in all, "
            "from metrics.jsonl&#x27;s per-step times)") in page
    assert "15 of 15 steps in 0:25" not in page
    # Only some steps logged (logging_steps > 1): the total is an estimate and says so.
    run.metrics.write_text("".join(json.dumps(r) + "\n" for r in records if r["step"] % 5 == 0))
    assert runner.invoke(app, ["report", str(run.path)]).exit_code == 0
    assert "the last 5 in 0:25; about 1:30 of training steps in all" in run.report_html.read_text()
    # No per-step times (an older run): the resumed part alone, still said to be that.
    run.metrics.write_text(json.dumps({"step": 15, "loss": 0.1}) + "\n")
    assert runner.invoke(app, ["report", str(run.path)]).exit_code == 0
    assert "15 of 15 steps (resumed at step 10: the last 5 in 0:25)" in run.report_html.read_text()


def doctor_event(started: int, rule: str, severity: str = "warning", message: str = "m") -> dict:
    """A finding as a live run writes it into metrics.jsonl (r1cli.doctor.diagnose.finding_record)."""
    return {"step": started + 2, "started": started, "event": "doctor", "rule": rule, "seen_at": started + 2,
            "severity": severity, "message": message, "recommendation": "r", "settings": {"max_completion_length": 128},
            "stops": severity == "critical"}


def test_the_plot_marks_the_doctors_findings(tmp_path, monkeypatch):
    """Each finding in metrics.jsonl is marked on every panel at the step it started, labelled with its rule, and
    listed under the panels; the PNG is written."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Annotation

    from r1cli import reporting
    from r1cli.doctor.annotations import PlotMark

    run = RunDirectory(tmp_path / "run")
    run.path.mkdir()
    records = [{"step": s, "loss": 0.1, "reward": 0.5, "rewards/accuracy/mean": 0.3, "completions/clipped_ratio": 0.5}
               for s in range(1, 11)]
    records.append(doctor_event(4, "clipped", message="50% of completions were cut"))
    run.metrics.write_text("".join(json.dumps(r) + "\n" for r in records))
    drawn, figures = [], []
    draw = reporting.draw_marks
    monkeypatch.setattr(reporting, "draw_marks", lambda axes, marks: (drawn.append((axes, marks)), draw(axes, marks)))
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    result = runner.invoke(app, ["report", str(run.path)])
    assert result.exit_code == 0, result.output
    assert run.report_png.read_bytes().startswith(b"\x89PNG")
    (axes, marks), = drawn
    line = "doctor @4 clipped: 50% of completions were cut; try max_completion_length: 128"
    assert marks == [PlotMark(4, ("clipped",), "warning", (("warning", line),))]
    assert sorted(ax.get_title() for ax in axes) == sorted(t for t, _ in panels(records))
    for ax in axes:  # a vertical line at step 4 in the warning colour, and the rule's name
        assert [ln.get_xdata()[0] for ln in ax.lines if ln.get_linestyle() == "--"] == [4]
        assert [t.get_text() for t in ax.texts if isinstance(t, Annotation)] == ["clipped"]
    notes = [t.get_text() for t in figures[0].texts if t is not figures[0]._suptitle]
    assert notes[0].startswith("Training doctor (dashed lines") and notes[1] == line


def test_plot_marks_group_findings_of_one_step_and_fall_back_to_diagnosing():
    from r1cli.doctor.annotations import plot_marks

    records = [doctor_event(7, "collapse", "critical"), doctor_event(3, "clipped"), doctor_event(7, "kl_spike")]
    marks = plot_marks(records)
    assert [(m.step, m.label, m.severity) for m in marks] == [(3, "clipped", "warning"),
                                                              (7, "collapse, kl_spike", "critical")]
    assert [severity for severity, _ in marks[1].lines] == ["critical", "warning"]
    # No finding logged (the doctor was off, an older run): the rules are applied now.
    nan_loss = [{"step": s, "loss": 0.1 if s != 6 else None, "grad_norm": 0.3} for s in range(1, 10)]
    assert [(m.step, m.label, m.severity) for m in plot_marks(nan_loss)] == [(6, "nonfinite", "critical")]
    assert plot_marks([{"step": s, "loss": 0.1} for s in range(1, 10)]) == []


def test_a_plot_without_findings_has_no_marks_or_note(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from r1cli import reporting

    figures = []
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    reporting.render_png("run", [{"step": s, "loss": 0.1, "reward": 0.5} for s in range(1, 11)])
    fig = figures[0]
    assert fig.texts == [fig._suptitle] and all(not ax.texts for ax in fig.axes)
    assert not [ln for ax in fig.axes for ln in ax.lines if ln.get_linestyle() == "--"]


def test_a_cut_or_hand_edited_doctor_line_and_a_stepless_record_are_skipped_not_a_traceback(tmp_path):
    from r1cli.doctor.annotations import plot_marks

    records = [{"step": s, "loss": 0.1, "reward": 0.5} for s in range(1, 11)]
    records.append({"step": "x", "loss": None})  # no step: never a finding at a step
    assert plot_marks(records) == []
    records += [{"event": "doctor", "rule": "clipped", "step": 4},  # the rest of the line lost
                {**doctor_event(6, "clipped"), "started": "six"},
                doctor_event(8, "kl_spike")]
    assert [(m.step, m.label) for m in plot_marks(records)] == [(8, "kl_spike")]
    run = RunDirectory(tmp_path / "run")
    run.path.mkdir()
    run.metrics.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(app, ["report", str(run.path)])
    assert result.exit_code == 0, result.output
    assert run.report_png.read_bytes().startswith(b"\x89PNG")
    doctor = runner.invoke(app, ["doctor", str(run.path), "--json"])
    assert doctor.exit_code == 0, doctor.output
    assert json.loads(doctor.stdout)["last_step"] == 10
