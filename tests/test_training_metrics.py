"""metrics.jsonl and metric events (r1cli.training.metrics); training never importing the ui is tests/test_architecture.py's."""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import pytest

pytest.importorskip("transformers")

from transformers import TrainerControl, TrainerState  # noqa: E402

from r1cli.errors import OutputExistsError  # noqa: E402
from r1cli.run_dir import RunDirectory  # noqa: E402
from r1cli.training.metrics import MetricsCallback, read_metrics  # noqa: E402


def run(callback, tmp_path, *, main=True, resumed_at=0):
    args = SimpleNamespace(output_dir=str(tmp_path))
    state = TrainerState(max_steps=3, is_world_process_zero=main)
    state.global_step = resumed_at
    control = TrainerControl()
    callback.on_train_begin(args, state, control)
    for step in (resumed_at + 1, resumed_at + 2):
        state.global_step, state.epoch = step, step / 4
        callback.on_step_end(args, state, control)
        callback.on_log(args, state, control, logs={"loss": 0.5 * step, "reward": float("nan"), "eval/accuracy": 1.0})
    callback.on_train_end(args, state, control)
    return args


def test_every_log_becomes_a_json_line_with_its_step(tmp_path):
    run(MetricsCallback(), tmp_path)
    records = read_metrics(tmp_path)
    assert records == [
        {"step": 1, "loss": 0.5, "reward": None, "eval/accuracy": 1.0},
        {"step": 2, "loss": 1.0, "reward": None, "eval/accuracy": 1.0},
    ]
    assert read_metrics(RunDirectory(tmp_path).metrics) == records


def test_subscribers_receive_plain_events(tmp_path):
    callback = MetricsCallback()
    events = []
    callback.subscribe(events.append)
    run(callback, tmp_path)
    assert [e["event"] for e in events] == ["train_begin", "step", "log", "step", "log", "train_end"]
    log = events[2]
    assert log["step"] == 1 and log["epoch"] == 0.25 and log["metrics"]["loss"] == 0.5
    assert events[0]["max_steps"] == 3 and events[-1]["step"] == 2


def test_a_failing_subscriber_is_dropped_and_training_goes_on(tmp_path):
    callback = MetricsCallback()
    calls = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("display crashed")

    callback.subscribe(broken)
    run(callback, tmp_path)
    assert len(calls) == 1 and len(read_metrics(tmp_path)) == 2


def test_only_the_main_process_writes_or_emits(tmp_path):
    callback = MetricsCallback()
    events = []
    callback.subscribe(events.append)
    run(callback, tmp_path, main=False)
    assert events == [] and not RunDirectory(tmp_path).metrics.exists()


def test_an_existing_file_is_kept_unless_overwrite_or_resuming(tmp_path):
    RunDirectory(tmp_path).metrics.write_text('{"step": 1, "loss": 9}\n')
    with pytest.raises(OutputExistsError):
        run(MetricsCallback(), tmp_path)
    run(MetricsCallback(), tmp_path, resumed_at=1)  # a resumed run appends
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3]
    run(MetricsCallback(overwrite=True), tmp_path)
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2]


def test_explicit_path_and_tensor_values(tmp_path):
    import torch

    callback = MetricsCallback(tmp_path / "logs" / "m.jsonl")
    args = SimpleNamespace(output_dir=str(tmp_path / "unused"))
    state = TrainerState(max_steps=1)
    callback.on_log(args, state, TrainerControl(), logs={"loss": torch.tensor(2.0), "x": math.inf})
    assert read_metrics(tmp_path / "logs" / "m.jsonl") == [{"step": 0, "loss": 2.0, "x": None}]


def test_the_library_packages_import_without_torch():
    code = (
        "import sys, r1cli, r1cli.models, r1cli.evaluation, r1cli.training, r1cli.training.reject_sampling;"
        "heavy = [m for m in ('torch', 'transformers', 'trl') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
