"""Resume means the same run: a finished run has nothing to do; changes that alter training are refused
unless --allow-changes; the recipe's resume_from_checkpoint is honoured or refused; secrets reach no file."""

from __future__ import annotations

import json
import subprocess
import sys

from test_training_run import recipe

from r1cli.run_dir import RunDirectory

SECRET = "hf_" + "a1B2c3D4e5" * 3


def grpo(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "r1cli", "grpo", *args, "--no-live"], capture_output=True, text=True,
                          timeout=300)
    done.said = " ".join((done.stdout + done.stderr).split())  # as one line, whatever the terminal width
    return done


def trained_steps(run: RunDirectory) -> list[int]:
    return [r["step"] for r in map(json.loads, run.metrics.read_text().splitlines()) if "loss" in r]


def test_resume_is_the_same_run(tmp_path, tiny_model_dir):
    path = recipe(tmp_path, tiny_model_dir, steps=2, extra=f"report_to: none\nrun_name: {SECRET}\n")
    run = RunDirectory(tmp_path / "run")
    first = grpo(str(path))
    assert first.returncode == 0, first.stdout + first.stderr
    assert run.last_checkpoint() == run.checkpoint(2)
    # Secrets: what config.yaml redacts is in no file of the run (training_args.bin and the model card included).
    for file in run.path.rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file
    assert "<redacted>" in run.config.read_text()

    # A finished run resumes to "nothing to do", without training a step more.
    again = grpo(str(path), "--resume")
    assert again.returncode == 0 and "nothing to do" in again.said, again.said
    assert trained_steps(run) == [1, 2]
    # ...and repairs a missing final save from its last checkpoint.
    (run.path / "model.safetensors").unlink()
    repaired = grpo(str(path), "--resume")
    assert repaired.returncode == 0 and "final model restored from checkpoint-2" in repaired.said, repaired.said
    assert (run.path / "model.safetensors").read_bytes() == (run.checkpoint(2) / "model.safetensors").read_bytes()

    # A change that alters training is refused, listing it; max_steps alone is not such a change.
    changed = grpo(str(path), "--resume", "--set", "max_steps=3", "--set", "learning_rate=0.5")
    said = changed.said
    assert changed.returncode == 1 and "learning_rate: 0.0001 -> 0.5" in said and "--allow-changes" in said, said
    assert trained_steps(run) == [1, 2]
    # Said explicitly, it is applied (the restored schedule takes the new rate) and recorded in config.yaml.
    allowed = grpo(str(path), "--resume", "--set", "max_steps=3", "--set", "learning_rate=0.5", "--allow-changes")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert trained_steps(run) == [1, 2, 3]
    records = {r["step"]: r for r in map(json.loads, run.metrics.read_text().splitlines()) if "loss" in r}
    assert records[3]["learning_rate"] > 100 * records[2]["learning_rate"]
    config = run.config.read_text()
    assert "# resumed at checkpoint-2 with --allow-changes: learning_rate: 0.0001 -> 0.5" in config
    assert "learning_rate: 0.5" in config

    # resume_from_checkpoint in the recipe: another run's checkpoint is refused, never ignored.
    other = tmp_path / "elsewhere" / "checkpoint-1"
    refused = grpo(str(path), "--set", f"resume_from_checkpoint={other}")
    assert refused.returncode == 1 and "is not a checkpoint of this run" in refused.said


def test_recipe_resume_from_checkpoint_names_one_of_the_runs_checkpoints(tmp_path, tiny_model_dir):
    from r1cli.config.recipe import Recipe
    from r1cli.training.resume import recipe_checkpoint as _recipe_checkpoint

    run = RunDirectory(tmp_path / "run")
    for step in (1, 2):
        run.checkpoint(step).mkdir(parents=True)
        (run.checkpoint(step) / "trainer_state.json").write_text("{}")
    as_recipe = lambda value: Recipe(path=tmp_path / "r.yaml", values={"resume_from_checkpoint": value}, report=None)  # noqa: E731
    assert _recipe_checkpoint(as_recipe(None), run, False) == (False, None)
    assert _recipe_checkpoint(as_recipe(True), run, False) == (True, None)
    assert _recipe_checkpoint(as_recipe(str(run.checkpoint(1))), run, False) == (True, run.checkpoint(1))
