"""Per-phase timing (issue 18): the torch-free timer on a fake clock, the trainer's time/* metrics on the tiny model,
the dashboard line and the report panel."""

from __future__ import annotations

import pytest

from r1cli.training.phases import PHASES, STEP, PhaseTimer


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


def timer_with_clock() -> tuple[PhaseTimer, FakeClock]:
    clock = FakeClock()
    return PhaseTimer(clock), clock


def test_nested_phases_count_their_self_time_and_the_step_its_wall_time():
    timer, clock = timer_with_clock()
    timer.start_window(0)
    clock.tick(1)  # no phase open: in the step only
    with timer.phase("generate"):
        clock.tick(5)
        with timer.phase("rewards"):
            clock.tick(2)
        clock.tick(1)
    timer.begin("optimizer")
    clock.tick(0.5)
    timer.end("optimizer")
    out = timer.flush(1)
    assert out["time/generate"] == 6 and out["time/rewards"] == 2 and out["time/optimizer"] == 0.5
    assert out[STEP] == 9.5
    assert set(out) == {f"time/{p}" for p in PHASES} | {STEP}
    assert out["time/save"] == 0.0


def test_an_absorbing_phase_keeps_what_is_nested_in_it():
    timer, clock = timer_with_clock()
    timer.start_window(0)
    with timer.phase("backward"):
        clock.tick(1)
        with timer.phase("backward", absorb=True):  # the loss: its forward pass computes log-probs
            with timer.phase("logprobs"):
                clock.tick(3)
        with timer.phase("logprobs"):  # outside the loss: its own phase
            clock.tick(2)
    out = timer.flush(1)
    assert out["time/backward"] == 4 and out["time/logprobs"] == 2 and out[STEP] == 6


def test_a_window_of_several_steps_is_averaged_and_then_restarts():
    timer, clock = timer_with_clock()
    timer.start_window(10)  # resumed at step 10
    with timer.phase("generate"):
        clock.tick(8)
    assert timer.flush(10) == {}  # no step since the window began
    out = timer.flush(12)
    assert out["time/generate"] == 4 and out[STEP] == 4
    clock.tick(3)
    out = timer.flush(13)
    assert out["time/generate"] == 0 and out[STEP] == 3


def test_a_phase_open_at_a_flush_is_split_between_the_windows():
    timer, clock = timer_with_clock()
    timer.start_window(0)
    timer.begin("save")
    clock.tick(2)
    assert timer.flush(1)["time/save"] == 2
    clock.tick(3)
    timer.end("save")
    out = timer.flush(2)
    assert out["time/save"] == 3 and out[STEP] == 3


def test_time_before_the_window_and_stray_ends_are_ignored():
    timer, clock = timer_with_clock()
    assert timer.flush(1) == {}  # never started
    with timer.phase("eval"):
        clock.tick(100)
    timer.end("optimizer")  # nothing open by that name
    timer.start_window(0)
    clock.tick(1)
    out = timer.flush(1)
    assert out["time/eval"] == 0 and out[STEP] == 1
    assert timer.current is None


def test_the_window_restarts_only_before_its_first_step():
    timer, clock = timer_with_clock()
    timer.start_window(0)
    with timer.phase("eval"):
        clock.tick(90)  # eval_on_start
    assert timer.restart_before_first_step(0)
    with timer.phase("generate"):
        clock.tick(10)
    assert not timer.restart_before_first_step(1)  # a step ran: nothing is dropped
    metrics = timer.flush(1)
    assert metrics["time/eval"] == 0 and metrics["time/generate"] == 10 and metrics["time/step"] == 10
    # right after a flush the window's step is the current step again, but steps have run: nothing dropped
    with timer.phase("eval"):
        clock.tick(5)
    assert not timer.restart_before_first_step(1)
    assert timer.flush(2)["time/eval"] == 5
    assert not PhaseTimer(clock).restart_before_first_step(0)  # no window yet


def test_an_exception_closes_the_phase():
    timer, clock = timer_with_clock()
    timer.start_window(0)
    with pytest.raises(ValueError), timer.phase("rewards"):
        clock.tick(1)
        raise ValueError
    clock.tick(1)
    out = timer.flush(1)
    assert out["time/rewards"] == 1 and out[STEP] == 2 and timer.current is None


# -- on the tiny model -------------------------------------------------------------------


def test_every_logged_step_says_where_its_time_went(tiny_model_dir, tmp_path):
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import GRPOConfig

    from r1cli.training.grpo_trainer import EnhancedGRPOTrainer
    from r1cli.training.metrics import MetricsCallback, read_metrics

    G = 4
    data = Dataset.from_dict({"prompt": [[{"role": "user", "content": f"question {i}"}] for i in range(8)],
                              "solution": [str(i) for i in range(8)]})
    calls = []

    def flaky(completions, **kwargs):  # every group zero-spread on the first call: reject sampling runs a round
        calls.append(1)
        return [1.0] * len(completions) if len(calls) == 1 else [float(i % G) for i in range(len(completions))]

    args = GRPOConfig(output_dir=str(tmp_path / "run"), use_cpu=True, bf16=False, per_device_train_batch_size=2 * G,
                      num_generations=G, max_completion_length=6, max_steps=2, logging_steps=1, learning_rate=1e-2,
                      beta=0.1, report_to=[], save_strategy="steps", save_steps=1, disable_tqdm=True, seed=0)
    trainer = EnhancedGRPOTrainer(str(tiny_model_dir), reward_funcs=[flaky], args=args, train_dataset=data,
                                  eval_dataset=data.select(range(2)), eval_on_start=True, max_eval_samples=2,
                                  use_reject_sampling=True, reject_sampling_mode="resample", max_resample_attempts=1,
                                  callbacks=[MetricsCallback()])
    trainer.train()
    steps = [r for r in read_metrics(tmp_path / "run") if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
    for record in steps:
        phases = {k: v for k, v in record.items() if k.startswith("time/") and k != STEP}
        assert set(phases) == {f"time/{p}" for p in PHASES}
        assert all(v >= 0 for v in phases.values())
        assert sum(phases.values()) <= record[STEP] + 1e-6
        for phase in ("generate", "rewards", "logprobs", "backward", "optimizer"):  # beta > 0: reference log-probs
            assert record[f"time/{phase}"] > 0, phase
    first, second = steps
    assert first["time/reject_sampling"] > 0  # the extra round
    # The start-of-run eval is no step's time (it would make step 1 look several times slower): its own
    # record says how long it took.
    assert first["time/eval"] == 0
    start_eval = [r for r in read_metrics(tmp_path / "run") if r["step"] == 0 and "eval/reward" in r]
    assert start_eval and start_eval[0]["eval/seconds"] > 0
    assert second["time/save"] > 0  # step 1's checkpoint, saved after step 1's log
    assert first["time/save"] == 0


def test_the_dashboard_line_fits_and_the_report_plots_the_phases():
    from r1cli.reporting import panels
    from r1cli.ui.phase_line import step_phases_line

    latest = {"loss": 0.1, "time/step": 58.0, "time/generate": 41.2, "time/rewards": 1.7, "time/backward": 11.6,
              "time/optimizer": 1.2, "time/save": 0.0, "time/logprobs": 0.1, "time/reject_sampling": 0.0}
    (line,) = step_phases_line(latest, 80)
    assert line.plain == "step 58s: gen 71% · fwd/bwd 20% · rew 3% · opt 2%"
    assert step_phases_line(latest, 30)[0].cell_len <= 30
    assert step_phases_line({"time/generate": 1.0}, 80) == []  # no step time: no line
    records = [{"step": 1, **latest}, {"step": 2, **latest, "time/save": 2.0}]
    (title, lines), = [p for p in panels(records) if p[0].startswith("Time")]
    assert [s.label for s in lines] == ["step (wall)", "backward", "generate", "logprobs", "optimizer", "rewards", "save"]
