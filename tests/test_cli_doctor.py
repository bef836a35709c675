"""`r1 doctor RUN_DIR`: an r1 run directory (metrics.jsonl) and a transformers output directory (trainer_state.json)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from r1cli.cli import app
from r1cli.doctor.sources import load_history
from r1cli.errors import DataError

runner = CliRunner()


def grpo_logs(steps: int = 12, collapse_at: int | None = None) -> list[dict]:
    """TRL GRPO train logs and r1 real-time eval logs; held-out accuracy collapses from ``collapse_at``."""
    records = []
    for step in range(1, steps + 1):
        records.append({"loss": 0.01, "grad_norm": 0.4, "learning_rate": 3e-5, "reward": 0.8, "reward_std": 0.3,
                        "frac_reward_zero_std": 0.2, "rewards/accuracy/mean": 0.3, "rewards/format/mean": 0.9,
                        "entropy": 0.45, "completions/clipped_ratio": 0.02, "completions/max_length": 64.0,
                        "step": step, "epoch": step / 100})
        if step % 2 == 0:
            bad = collapse_at is not None and step >= collapse_at
            records.append({"eval/accuracy": 0.02 if bad else 0.3, "eval/samples": 64, "step": step})
    return records


def write_r1_run(path, records, extra: list[dict] = ()) -> None:
    path.mkdir()
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [*records, *extra]))
    (path / "config.yaml").write_text("trainer: grpo\n")


def write_trainer_state(path, log_history: list[dict]) -> None:
    """trainer_state.json exactly as transformers writes it (TrainerState.save_to_json)."""
    from transformers import TrainerState

    state = TrainerState(global_step=max(r.get("step", 0) for r in log_history), max_steps=100, log_history=log_history)
    path.mkdir(parents=True, exist_ok=True)
    state.save_to_json(str(path / "trainer_state.json"))


def test_r1_run_with_a_collapse(tmp_path):
    run = tmp_path / "run"
    live = {"step": 10, "started": 8, "event": "doctor", "rule": "collapse", "seen_at": 10, "severity": "critical",
            "message": "m", "recommendation": "r", "settings": {}, "stops": True}
    write_r1_run(run, grpo_logs(12, collapse_at=8), extra=[live])
    result = runner.invoke(app, ["doctor", str(run), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"].endswith("metrics.jsonl") and report["last_step"] == 12
    assert [(f["rule"], f["step"], f["seen_at"]) for f in report["findings"]] == [("collapse", 8, 10)]
    assert report["findings"][0]["settings"]["learning_rate"] == 1.5e-5
    assert load_history(run).logged[0].step == 8  # the live run's own line reads back as the finding it wrote

    screen = runner.invoke(app, ["doctor", str(run)])
    assert screen.exit_code == 0, screen.output
    assert "step     8  critical collapse: held-out accuracy collapsed to 2% from its best 30% (step 2)" in screen.stdout
    assert "what to do: lower the learning rate" in screen.stdout and "learning_rate: 1.5e-05" in screen.stdout


def test_healthy_r1_run_says_so(tmp_path):
    write_r1_run(tmp_path / "run", grpo_logs(12))
    result = runner.invoke(app, ["doctor", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.stdout and "steps 1-12" in result.stdout


def test_transformers_output_dir_and_its_checkpoint(tmp_path):
    history = grpo_logs(12)
    history[14]["loss"] = math.nan  # transformers writes the bare word NaN
    history.append({"train_runtime": 12.0, "train_loss": 0.01, "step": 12, "epoch": 0.12})
    out = tmp_path / "trl-out"
    write_trainer_state(out / "checkpoint-12", history)
    assert "NaN" in (out / "checkpoint-12" / "trainer_state.json").read_text()
    for target in (out, out / "checkpoint-12", out / "checkpoint-12" / "trainer_state.json"):
        result = runner.invoke(app, ["doctor", str(target), "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["source"].endswith("checkpoint-12/trainer_state.json")
        assert [(f["rule"], f["step"]) for f in report["findings"]] == [("nonfinite", history[14]["step"])]


def test_nothing_to_read_is_a_user_error(tmp_path):
    result = runner.invoke(app, ["doctor", str(tmp_path)])
    assert result.exit_code == 1
    assert "has neither metrics.jsonl nor trainer_state.json" in result.output
    with pytest.raises(DataError):
        load_history(tmp_path / "missing")


def test_report_lines_prefer_what_the_live_run_wrote():
    from r1cli.doctor.annotations import report_lines

    records = grpo_logs(12, collapse_at=8)
    diagnosed = report_lines(records)
    assert len(diagnosed) == 1 and diagnosed[0].startswith("doctor, step 8: collapse: held-out accuracy collapsed")
    assert "(try learning_rate: 1.5e-05, keep_best: true, stop_on_collapse: true)" in diagnosed[0]
    live = {"step": 12, "started": 10, "event": "doctor", "rule": "clipped", "seen_at": 12, "severity": "warning",
            "message": "m", "recommendation": "r", "settings": {"max_completion_length": 128}, "stops": False}
    assert report_lines([*records, live]) == ["doctor, step 10: clipped: m. What to do: r (try max_completion_length: 128)"]


def test_odd_values_in_a_foreign_trainer_state_give_findings_not_a_traceback(tmp_path):
    # Hand-edited or converted files: a step that is not a number, a loss written as the string "NaN",
    # values too big to average (1e308, a 400-digit integer).
    history = grpo_logs(12)
    nan_loss = next(r for r in history if r["step"] == 5 and "loss" in r)
    nan_loss["loss"] = "NaN"
    for record in history[:8]:
        if "eval/accuracy" in record:
            record["eval/accuracy"] = 1e308
    history.insert(3, {"loss": 0.01, "step": "x"})
    history.insert(4, {"loss": 0.01, "step": None})
    out = tmp_path / "trl out"
    out.mkdir()
    text = json.dumps({"global_step": 12, "log_history": history})
    (out / "trainer_state.json").write_text(text.replace('"reward": 0.8,', '"reward": 1' + "0" * 400 + ",", 1))
    result = runner.invoke(app, ["doctor", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["records"] == len(history) - 2 and report["last_step"] == 12  # the two stepless lines are left out
    assert [(f["rule"], f["step"]) for f in report["findings"]] == [("nonfinite", 5)]


def test_a_home_relative_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_r1_run(tmp_path / "run", grpo_logs(4))
    assert load_history("~/run").source == tmp_path / "run" / "metrics.jsonl"


def test_an_r1_run_is_never_told_to_try_what_its_recipe_already_has(tmp_path):
    run = tmp_path / "run"
    write_r1_run(run, grpo_logs(12, collapse_at=8))
    (run / "config.yaml").write_text("trainer: grpo\nkeep_best: true\nstop_on_collapse: false\n")
    (finding,) = json.loads(runner.invoke(app, ["doctor", str(run), "--json"]).stdout)["findings"]
    assert finding["rule"] == "collapse" and "keep_best" not in finding["settings"]
    assert finding["settings"]["stop_on_collapse"] is True
    (run / "config.yaml").write_text(": not yaml [")  # unreadable: the findings simply keep every suggestion
    (finding,) = json.loads(runner.invoke(app, ["doctor", str(run), "--json"]).stdout)["findings"]
    assert finding["settings"]["keep_best"] is True


def test_an_empty_run_or_a_device_file_is_one_clear_line(tmp_path):
    run = tmp_path / "run"
    write_r1_run(run, [])
    result = runner.invoke(app, ["doctor", str(run)])
    assert result.exit_code == 1 and "has no logged metrics yet" in result.output  # not "no findings": nothing was read
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["doctor", "/dev/null"])
    assert result.exit_code == 1 and "is not a file or a directory" in result.output
