"""`r1 report`: PNG and self-contained HTML from a run's metrics.jsonl."""

from __future__ import annotations

import base64
import json

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
    run.summary.write_text(json.dumps({"global_step": 5, "max_steps": 5, "wall_seconds": 12.5, "last": {"reward": 1.0}}))
    return run


def test_report_writes_png_and_self_contained_html(tmp_path):
    run = run_dir(tmp_path)
    result = runner.invoke(app, ["report", str(run.path)])
    assert result.exit_code == 0, result.output
    png = run.report_png.read_bytes()
    assert png.startswith(b"\x89PNG")
    page = run.report_html.read_text()
    assert base64.b64encode(png).decode() in page and "5 of 5 steps" in page and "<script" not in page


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


def test_existing_report_needs_force_and_missing_metrics_is_clear(tmp_path):
    run = run_dir(tmp_path).path
    assert runner.invoke(app, ["report", str(run)]).exit_code == 0
    again = runner.invoke(app, ["report", str(run)])
    assert again.exit_code == 1 and "--force" in again.output
    assert runner.invoke(app, ["report", str(run), "--force"]).exit_code == 0
    empty = runner.invoke(app, ["report", str(tmp_path)])
    assert empty.exit_code == 1 and "no metrics.jsonl" in empty.output
