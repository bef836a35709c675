"""Keep the best: best/ follows the metric, survives checkpoint rotation, becomes the final model, resumes.
The live callback: findings as notes and doctor lines in metrics.jsonl, stop_on_collapse, replay on resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

from r1cli.doctor.keep_best import KeepBest, greater_is_better
from r1cli.run_dir import RunDirectory


def save_checkpoint(run: RunDirectory, step: int, weights: str) -> Path:
    """A checkpoint as transformers lays it out: model files, training state, trainer_state.json last."""
    path = run.checkpoint(step)
    path.mkdir(parents=True)
    (path / "model.safetensors").write_text(weights)
    (path / "config.json").write_text("{}")
    (path / "optimizer.pt").write_text("optimizer")
    (path / "rng_state.pth").write_text("rng")
    (path / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    return path


def test_greater_is_better():
    assert greater_is_better("eval/accuracy") and greater_is_better("eval/reward")
    assert not greater_is_better("eval/loss") and not greater_is_better("eval/completion_length")


def test_best_follows_the_metric_and_survives_rotation(tmp_path):
    run = RunDirectory(tmp_path)
    keeper = KeepBest(run)
    assert not keeper.offer(0, {"eval/accuracy": 0.9})  # step 0 is the starting model: nothing to copy
    assert keeper.offer(3, {"eval/accuracy": 0.3})
    save_checkpoint(run, 3, "w3")
    assert keeper.keep(3) == tmp_path / "best"
    assert not keeper.offer(6, {"eval/accuracy": 0.2})  # worse: best/ stays
    assert not keeper.offer(6, {"loss": 0.1})
    assert keeper.offer(9, {"eval/accuracy": 0.4})
    assert keeper.keep(8) is None  # another step's checkpoint is not the pending best
    save_checkpoint(run, 9, "w9")
    keeper.keep(9)
    shutil.rmtree(run.checkpoint(3))
    shutil.rmtree(run.checkpoint(9))  # save_total_limit rotated them away
    assert (tmp_path / "best" / "model.safetensors").read_text() == "w9"
    state = json.loads((tmp_path / "best" / "keep_best.json").read_text())
    assert state == {"metric": "eval/accuracy", "value": 0.4, "step": 9, "checkpoint": "checkpoint-9"}
    assert not list(tmp_path.glob(".best-*"))


def write_model(weights: str):
    """A save(dir) as keep_start receives it: writes the starting model's files."""
    def save(directory: Path) -> None:
        (directory / "model.safetensors").write_text(weights)
        (directory / "config.json").write_text("{}")
    return save


def test_the_starting_model_is_the_first_best_and_only_a_better_step_replaces_it(tmp_path):
    run = RunDirectory(tmp_path)
    keeper = KeepBest(run)
    assert keeper.keep_start({"eval/accuracy": 0.44}, write_model("start")) == tmp_path / "best"
    assert json.loads((tmp_path / "best" / "keep_best.json").read_text()) == {
        "metric": "eval/accuracy", "value": 0.44, "step": 0, "checkpoint": None}
    assert not keeper.offer(3, {"eval/accuracy": 0.12})  # the run only gets worse: the start stays best
    assert (tmp_path / "best" / "model.safetensors").read_text() == "start"
    (tmp_path / "model.safetensors").write_text("wrecked")
    keeper.make_final(tmp_path)  # final_model: best ends with the model the run started from
    assert (tmp_path / "model.safetensors").read_text() == "start"
    assert keeper.offer(6, {"eval/accuracy": 0.5})
    save_checkpoint(run, 6, "w6")
    keeper.keep(6)
    assert (tmp_path / "best" / "model.safetensors").read_text() == "w6"
    assert KeepBest(run).best == (6, 0.5)


def test_the_starting_value_is_noted_on_processes_that_write_nothing(tmp_path):
    keeper = KeepBest(RunDirectory(tmp_path))
    assert keeper.keep_start({"eval/accuracy": 0.3}, None) is None
    assert keeper.best == (0, 0.3) and not (tmp_path / "best").exists()
    assert not keeper.offer(2, {"eval/accuracy": 0.2}) and keeper.offer(2, {"eval/accuracy": 0.31})
    assert keeper.keep_start({"eval/reward": 1.0}, None) is None  # another metric: not this keeper's


def test_state_is_read_back_on_resume(tmp_path):
    run = RunDirectory(tmp_path)
    keeper = KeepBest(run)
    keeper.offer(5, {"eval/accuracy": 0.5})
    save_checkpoint(run, 5, "w5")
    keeper.keep(5)
    resumed = KeepBest(run)
    assert resumed.best == (5, 0.5)
    assert not resumed.offer(10, {"eval/accuracy": 0.45})
    assert resumed.offer(10, {"eval/accuracy": 0.55})
    assert KeepBest(run, "eval/reward").best is None  # another metric starts afresh


def test_make_final_copies_the_model_not_the_training_state(tmp_path):
    run = RunDirectory(tmp_path)
    (tmp_path / "model.safetensors").parent.mkdir(exist_ok=True)
    (tmp_path / "model.safetensors").write_text("last")
    keeper = KeepBest(run)
    assert keeper.make_final(tmp_path) is None  # nothing kept yet: the last model stays
    keeper.offer(4, {"eval/accuracy": 0.5})
    save_checkpoint(run, 4, "best weights")
    keeper.keep(4)
    keeper.make_final(tmp_path)
    assert (tmp_path / "model.safetensors").read_text() == "best weights"
    assert not (tmp_path / "optimizer.pt").exists() and not (tmp_path / "rng_state.pth").exists()
    assert (tmp_path / "best" / "model.safetensors").read_text() == "best weights"  # best/ unchanged


# --- the live callback, driven as transformers drives it ----------------------------------------


def callback(tmp_path, **kwargs):
    from transformers import TrainerControl

    from r1cli.training.doctor_callback import DoctorCallback

    events = []
    metrics = SimpleNamespace(emit=events.append)
    run = RunDirectory(tmp_path)
    run.metrics.write_text("")
    return DoctorCallback(metrics, run, **kwargs), events, run, TrainerControl()


def state(step):
    return SimpleNamespace(global_step=step, is_world_process_zero=True)


def collapse_logs():
    """(step, logs) of a full fine-tuning run collapsing: eval every 3 steps on 64 prompts."""
    accuracy = {0: 0.25, 3: 0.3, 6: 0.28, 9: 0.08, 12: 0.03}
    for step in range(0, 13):
        if step:
            yield step, {"loss": 0.01, "grad_norm": 0.5, "learning_rate": 3e-5, "reward": 0.8, "entropy": 0.4}
        if step % 3 == 0:
            yield step, {"eval/accuracy": accuracy[step], "eval/samples": 64}


def test_callback_writes_findings_keeps_the_best_and_stops_on_collapse(tmp_path):
    doctor, events, run, control = callback(tmp_path, keep_best_metric="eval/accuracy", stop_on_collapse=True)
    for step, logs in collapse_logs():
        control.should_save = False
        doctor.on_log(None, state(step), control, logs=logs)
        if control.should_save:  # transformers saves, then calls on_save
            save_checkpoint(run, step, f"w{step}")
            doctor.on_save(None, state(step), control)
        if control.should_training_stop:
            break
    assert step == 12 and control.should_training_stop
    # step 0's 0.25 was the first best (no model handed to the callback here, so none was saved); step 3 beat it
    assert json.loads((run.path / "best" / "keep_best.json").read_text())["step"] == 3
    lines = [json.loads(line) for line in run.metrics.read_text().splitlines()]
    assert [(r["event"], r["rule"], r["started"], r["step"]) for r in lines] == [("doctor", "collapse", 9, 12)]
    notes = [e["message"] for e in events if e["event"] == "note"]
    assert any(m.startswith("doctor @9 collapse: held-out accuracy collapsed to 3% from its best 30%") for m in notes)
    assert any("best eval/accuracy so far: 0.3 at step 3" in m for m in notes)
    assert any(m.startswith("stop_on_collapse: stopping after step 12") for m in notes)


def test_callback_without_stop_on_collapse_goes_on(tmp_path):
    doctor, events, run, control = callback(tmp_path)
    for step, logs in collapse_logs():
        doctor.on_log(None, state(step), control, logs=logs)
    assert not control.should_training_stop and not (run.path / "best").exists()
    assert [e["message"].split(":")[0] for e in events] == ["doctor @9 collapse"]


def test_resumed_callback_replays_the_run_and_does_not_repeat_itself(tmp_path):
    doctor, events, run, control = callback(tmp_path)
    logs = list(collapse_logs())
    with open(run.metrics, "a") as handle:  # what MetricsCallback wrote before the interruption
        for step, record in logs[:10]:
            handle.write(json.dumps({"step": step, **record}) + "\n")
    doctor.on_train_begin(None, state(9), control)
    for step, record in logs[10:]:
        doctor.on_log(None, state(step), control, logs=record)
    # the collapse started at step 9 (before the resume) and is seen at step 12: said once
    assert [e["message"].split(":")[0] for e in events] == ["doctor @9 collapse"]
    doctor.on_log(None, state(12), control, logs={"eval/accuracy": 0.02, "eval/samples": 64})
    assert len(events) == 1


def test_callback_saves_the_starting_model_when_step_0_is_evaluated(tmp_path):
    doctor, events, run, control = callback(tmp_path, keep_best_metric="eval/accuracy")
    saved = []
    model = SimpleNamespace(save_pretrained=lambda d: (Path(d, "model.safetensors").write_text("start"), saved.append(d)))
    tokenizer = SimpleNamespace(save_pretrained=lambda d: Path(d, "tokenizer.json").write_text("{}"))
    doctor.on_log(None, state(0), control, logs={"eval/accuracy": 0.44, "eval/samples": 64}, model=model,
                  processing_class=tokenizer)
    assert not control.should_save  # nothing for transformers to save: the starting model is written directly
    assert {p.name for p in (run.path / "best").iterdir()} == {"model.safetensors", "tokenizer.json", "keep_best.json"}
    assert any("of the starting model: 0.44" in e["message"] for e in events)
    doctor.on_log(None, state(3), control, logs={"eval/accuracy": 0.1, "eval/samples": 64}, model=model)
    assert not control.should_save and len(saved) == 1


def test_a_finding_never_recommends_what_the_run_already_has(tmp_path):
    doctor, events, run, control = callback(tmp_path, keep_best_metric="eval/accuracy",
                                            settings={"keep_best": True, "stop_on_collapse": False,
                                                      "learning_rate": 3e-5})
    for step, logs in collapse_logs():
        doctor.on_log(None, state(step), control, logs=logs)
    (line,) = [json.loads(x) for x in run.metrics.read_text().splitlines()]
    assert line["rule"] == "collapse"
    assert "keep_best" not in line["settings"]  # on already: not said
    assert line["settings"]["stop_on_collapse"] is True and line["settings"]["learning_rate"] == 1.5e-5
    assert not any("keep_best: true" in e["message"] for e in events)


def test_the_run_settings_the_doctor_compares_with_come_from_the_recipe(tmp_path):
    from r1cli.config.recipe import load_recipe
    from r1cli.training.doctor_callback import run_settings

    recipe_path = tmp_path / "grpo.yaml"
    recipe_path.write_text("trainer: grpo\nmodel_name_or_path: m\ndataset_name: arithmetic\nkeep_best: true\n"
                           "learning_rate: 3.0e-5\noutput_dir: out\n")
    settings = run_settings(load_recipe(recipe_path, layers=("schema",)))
    assert settings["keep_best"] is True and settings["learning_rate"] == 3e-5
    assert settings["stop_on_collapse"] is False  # r1's default
    assert "num_iterations" in settings and "beta" in settings  # TRL's defaults, which slow_phase may recommend


def test_a_failed_save_of_the_starting_model_is_a_note_not_a_crash(tmp_path):
    doctor, events, run, control = callback(tmp_path, keep_best_metric="eval/accuracy")

    def full_disk(directory):
        Path(directory, "model.safetensors").write_text("half")
        raise OSError(28, "No space left on device")

    doctor.on_log(None, state(0), control, logs={"eval/accuracy": 0.4},
                  model=SimpleNamespace(save_pretrained=full_disk))
    assert any("could not save the starting model" in e["message"] for e in events)
    assert not (run.path / "best").exists() and not list(run.path.glob(".best-*"))  # nothing half-built
    assert doctor.keeper.best is None  # so the first evaluated step becomes the best instead
    assert doctor.keeper.offer(3, {"eval/accuracy": 0.1})


def test_sharded_weights_are_not_saved_by_one_process(tmp_path):
    doctor, events, run, control = callback(tmp_path, keep_best_metric="eval/accuracy")
    saved = []
    args = SimpleNamespace(fsdp="full_shard")
    doctor.on_log(args, state(0), control, logs={"eval/accuracy": 0.4},
                  model=SimpleNamespace(save_pretrained=saved.append))
    assert not saved and not (run.path / "best").exists()
    assert doctor.keeper.best == (0, 0.4)
    assert any("not copied (sharded weights)" in e["message"] for e in events)


def test_the_eval_at_a_resumed_start_keeps_the_checkpoint_it_resumed_from(tmp_path):
    doctor, events, run, control = callback(tmp_path, keep_best_metric="eval/accuracy")
    save_checkpoint(run, 6, "w6")  # the run resumes from checkpoint-6 and evaluates before its first step
    doctor.on_log(None, state(6), control, logs={"eval/accuracy": 0.5})
    assert not control.should_save  # no new save: checkpoint-6 is that model
    assert (run.path / "best" / "model.safetensors").read_text() == "w6"
    assert any("best eval/accuracy so far: 0.5 at step 6" in e["message"] for e in events)
