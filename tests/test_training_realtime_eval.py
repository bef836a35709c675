"""Real-time eval without generation: which reward is accuracy, scoring hand-made completions, metrics, step logic."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

pytest.importorskip("transformers")

from r1cli.config.features import RealtimeEvalSettings  # noqa: E402
from r1cli.errors import ConfigError  # noqa: E402
from r1cli.rewards import register_reward  # noqa: E402
from r1cli.rewards.selection import calculator_for  # noqa: E402
from r1cli.training.metrics import MetricsCallback  # noqa: E402
from r1cli.training.realtime_eval import (  # noqa: E402
    NO_VERIFIER_NOTE,
    RealtimeEval,
    RealtimeEvalCallback,
    accuracy_index,
    announce,
    check_eval_dataset,
    eval_metrics,
    score_completions,
    verifies_answers,
)


def funcs_of(*names):
    calc = calculator_for(names=list(names))
    return calc.funcs, calc.names


# -- the one accuracy rule ---------------------------------------------------------------


def test_format_is_never_accuracy_just_because_it_comes_first():
    funcs, names = funcs_of("format", "length")
    assert accuracy_index(funcs, names) is None  # the old rule logged format compliance as eval/accuracy


def test_the_reward_that_verifies_answers_is_accuracy_wherever_it_is():
    funcs, names = funcs_of("format", "length", "accuracy")
    assert accuracy_index(funcs, names) == 2
    assert accuracy_index(funcs, names) == names.index(calculator_for(names=["format", "length", "accuracy"]).accuracy_name)


def test_a_registered_plain_function_carries_its_spec(clean_registry):
    @register_reward("test_rt_exact_match", verifies_answers=True, range=(0.0, 1.0))
    def exact(completions, solution, **kwargs):
        return [1.0 if c == s else 0.0 for c, s in zip(completions, solution)]

    def accuracy_by_name_only(completions, **kwargs):  # not registered: its name means nothing
        return [1.0] * len(completions)

    assert verifies_answers(exact) and not verifies_answers(accuracy_by_name_only)
    assert accuracy_index([accuracy_by_name_only, exact], ["accuracy_by_name_only", "exact"]) == 1
    assert accuracy_index([accuracy_by_name_only], ["accuracy_by_name_only"]) is None


def test_a_python_user_may_name_the_accuracy_reward_and_a_wrong_name_is_an_error():
    funcs, names = funcs_of("format", "length")
    assert accuracy_index(funcs, names, "length") == 1
    with pytest.raises(ConfigError, match="not one of the trainer's rewards"):
        accuracy_index(funcs, names, "accuracy")


# -- scoring and metrics -----------------------------------------------------------------


def completion(text, ids=(1, 2, 3), finished=True):
    return SimpleNamespace(text=text, token_ids=list(ids), num_tokens=len(ids), finished=finished)


def fake_trainer(funcs, names):
    return SimpleNamespace(reward_funcs=list(funcs), reward_func_names=list(names), state=SimpleNamespace(global_step=3))


def test_rewards_are_called_with_trls_arguments():
    seen = {}

    def spy(completions, prompts, completion_ids, trainer_state, log_metric, log_extra, **columns):
        seen.update(completions=completions, prompts=prompts, ids=completion_ids, state=trainer_state, columns=columns)
        log_metric("x", 1.0)  # may always be called; eval drops it
        return [0.5, None]

    rows = [{"prompt": [{"role": "user", "content": "q1"}], "solution": "1", "level": 3},
            {"prompt": [{"role": "user", "content": "q2"}], "solution": "2", "level": 4}]
    table = score_completions(fake_trainer([spy], ["spy"]), rows, [completion("a", (5,)), completion("b", (6, 7))])
    assert table[0] == [0.5] and math.isnan(table[1][0])
    assert seen["completions"] == [[{"role": "assistant", "content": "a"}], [{"role": "assistant", "content": "b"}]]
    assert seen["ids"] == [[5], [6, 7]] and seen["columns"] == {"solution": ["1", "2"], "level": [3, 4]}
    assert seen["state"].global_step == 3 and seen["prompts"][1][0]["content"] == "q2"


def test_r1_rewards_score_hand_made_completions():
    funcs, names = funcs_of("accuracy", "format")
    rows = [{"prompt": "What is 1+1?", "solution": "2"}, {"prompt": "What is 2+2?", "solution": "4"}]
    texts = ["<think>1+1</think>\n<answer>2</answer>", "<answer>5</answer>"]
    table = score_completions(fake_trainer(funcs, names), rows, [completion(t) for t in texts])
    assert [row[0] for row in table] == [1.0, 0.0]


def test_metrics_say_accuracy_only_when_a_reward_verifies_answers():
    records = [{"scores": [1.0, 0.5], "length": 4, "finished": True},
               {"scores": [0.0, 1.0], "length": 8, "finished": False},
               {"scores": [math.nan, 0.0], "length": 6, "finished": True}]
    names, weights = ["accuracy", "format"], [2.0, 1.0]
    with_accuracy = eval_metrics(records, names, weights, accuracy=0)
    assert with_accuracy["eval/accuracy"] == 0.5  # the unscorable third sample is left out
    assert with_accuracy["eval/reward"] == pytest.approx((2.5 + 1.0 + 0.0) / 3)  # TRL's weighted nansum
    assert with_accuracy["eval/rewards/format/mean"] == pytest.approx(0.5)
    assert with_accuracy["eval/completion_length"] == 6 and with_accuracy["eval/clipped_ratio"] == pytest.approx(1 / 3)
    without = eval_metrics(records, names, weights, accuracy=None)
    assert "eval/accuracy" not in without and without["eval/reward"] == with_accuracy["eval/reward"]
    assert eval_metrics([], names, weights, accuracy=0) == {"eval/samples": 0.0}


def test_no_verifier_is_said_as_a_plain_note_on_the_main_process(caplog):
    events = []
    metrics = MetricsCallback()
    metrics.subscribe(events.append)
    trainer = SimpleNamespace(state=SimpleNamespace(is_world_process_zero=True, global_step=0),
                              callback_handler=SimpleNamespace(callbacks=[object(), metrics]))
    with caplog.at_level("WARNING", logger="r1cli.training.realtime_eval"):
        announce(trainer, NO_VERIFIER_NOTE)
    assert events == [{"event": "note", "step": 0, "message": NO_VERIFIER_NOTE}]
    assert NO_VERIFIER_NOTE in caplog.text
    trainer.state.is_world_process_zero = False
    announce(trainer, NO_VERIFIER_NOTE)
    assert len(events) == 1


def test_eval_needs_one_map_style_dataset():
    check_eval_dataset(RealtimeEvalSettings(), None)  # off: nothing to check
    with pytest.raises(ConfigError, match="needs an eval dataset"):
        check_eval_dataset(RealtimeEvalSettings(eval_steps=5), None)
    with pytest.raises(ConfigError, match="one map-style eval dataset"):
        check_eval_dataset(RealtimeEvalSettings(eval_on_start=True), {"a": [1]})


# -- the callback's step logic -------------------------------------------------------------


class Trainer:
    """Just what RealtimeEvalCallback touches."""

    def __init__(self, **settings):
        self.realtime_eval = RealtimeEval(RealtimeEvalSettings(**settings), dataset=[1, 2], max_new_tokens=8,
                                          accuracy_index=None)
        self.evaluated_at: list[int] = []
        self.step = 0

    def run_realtime_eval(self):
        self.evaluated_at.append(self.step)


def drive(trainer, max_steps, stop_at=None):
    from r1cli.training.flags import RunFlags

    flags = RunFlags()
    callback = RealtimeEvalCallback(trainer, flags)
    state = SimpleNamespace(global_step=0, max_steps=max_steps)
    control = SimpleNamespace()
    callback.on_train_begin(None, state, control)
    for step in range(1, max_steps + 1):
        state.global_step = trainer.step = step
        if step == stop_at:
            flags.time_budget_reached = True  # what the run's time-budget callback says
        callback.on_step_end(None, state, control)
        if step == stop_at:
            break
    return trainer.evaluated_at


def test_callback_evaluates_on_start_every_n_steps_and_after_the_last():
    assert drive(Trainer(eval_steps=2, eval_on_start=True), 5) == [0, 2, 4, 5]
    assert drive(Trainer(eval_steps=2), 4) == [2, 4]  # the last step is on the grid: evaluated once
    assert drive(Trainer(eval_on_start=True), 3) == [0]


def test_callback_reads_a_fraction_of_the_run_and_stops_with_the_time_budget():
    assert drive(Trainer(eval_steps=0.5), 6) == [3, 6]
    assert drive(Trainer(eval_steps=4), 10, stop_at=6) == [4, 6]
