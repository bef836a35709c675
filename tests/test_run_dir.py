"""RunDirectory: the names of a run's files (a user-visible contract), its checkpoints, and what counts as a run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from r1cli.run_dir import RunDirectory


def test_file_names_are_the_ones_users_and_tools_know(tmp_path):
    run = RunDirectory(tmp_path / "run")
    names = {"config": "config.yaml", "metrics": "metrics.jsonl", "log": "training.log", "summary": "summary.json",
             "completions": "completions.jsonl", "report_png": "report.png", "report_html": "report.html"}
    for attribute, name in names.items():
        assert getattr(run, attribute) == tmp_path / "run" / name
    assert run.checkpoint(7) == tmp_path / "run" / "checkpoint-7"
    assert run.name == "run"


def test_a_recipe_names_its_run_directory(tmp_path):
    recipe = SimpleNamespace(path=tmp_path / "gsm8k.yaml", r1=SimpleNamespace(output_dir=None))
    assert RunDirectory.of(recipe).path == Path("runs") / "gsm8k"
    recipe.r1.output_dir = str(tmp_path / "elsewhere")
    assert RunDirectory.of(recipe).path == tmp_path / "elsewhere"


def test_only_checkpoints_with_a_whole_trainer_state_count(tmp_path):
    run = RunDirectory(tmp_path)
    assert run.checkpoints() == [] and run.last_checkpoint() is None
    for step, state in [(2, "{}"), (10, '{"global_step": 10}'), (4, None), (6, '{"global_step": 6, "log_hi'),
                        (8, b"\xff\xfe[]"), (12, "[]")]:
        run.checkpoint(step).mkdir()
        if isinstance(state, str):
            (run.checkpoint(step) / "trainer_state.json").write_text(state)
        elif isinstance(state, bytes):
            (run.checkpoint(step) / "trainer_state.json").write_bytes(state)
    (tmp_path / "checkpoint-last").mkdir()
    (tmp_path / "checkpoint-3.json").write_text("{}")
    assert run.checkpoints() == [run.checkpoint(2), run.checkpoint(10)]  # by step, not by name: 10 after 2
    assert run.last_checkpoint() == run.checkpoint(10)
    assert RunDirectory.checkpoint_step(run.checkpoint(10)) == 10 and RunDirectory.checkpoint_step("checkpoint-x") is None


def test_what_looks_like_a_run(tmp_path):
    missing = RunDirectory(tmp_path / "missing")
    assert missing.is_empty() and not missing.is_run() and not missing.exists()
    other = RunDirectory(tmp_path / "other")
    other.path.mkdir()
    (other.path / "notes.txt").write_text("mine")
    assert not other.is_empty() and not other.is_run()
    for marker in ("metrics", "log", "config", "summary"):
        run = RunDirectory(tmp_path / marker)
        run.path.mkdir()
        getattr(run, marker).write_text("")
        assert run.is_run(), marker
    checkpointed = RunDirectory(tmp_path / "checkpointed")
    checkpointed.checkpoint(1).mkdir(parents=True)
    assert not checkpointed.is_run()  # a checkpoint without its trainer_state.json is not evidence
    (checkpointed.checkpoint(1) / "trainer_state.json").write_text("{}")
    assert checkpointed.is_run()


def test_importing_it_is_cheap():
    code = "import sys, r1cli.run_dir; assert not {'torch', 'transformers', 'yaml'} & set(sys.modules), sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- ownership: r1 deletes only what r1 wrote (issue 14) ---------------------------------------------------------

import pytest  # noqa: E402

from r1cli.errors import OutputExistsError, R1Error  # noqa: E402
from r1cli.training.run import prepare_output_dir  # noqa: E402


def owned_run(path: Path, *names: str) -> RunDirectory:
    """A run directory whose entries ``names`` r1 wrote (recorded in its manifest)."""
    run = RunDirectory(path)
    path.mkdir(parents=True, exist_ok=True)
    for name in names:
        (path / name).mkdir() if name.startswith("checkpoint-") else (path / name).write_text("r1")
    if any(n.startswith("checkpoint-") for n in names):
        for n in names:
            if n.startswith("checkpoint-"):
                (path / n / "trainer_state.json").write_text("{}")
    run.record(*names)
    return run


def test_experiment_folder_with_the_recipe_as_config_yaml_is_never_cleared(tmp_path, monkeypatch, tiny_model_dir):
    from typer.testing import CliRunner

    from r1cli.cli import app

    exp = tmp_path / "exp1"
    exp.mkdir()
    (exp / "notes.md").write_text("my notes")
    (exp / "data.jsonl").write_text('{"problem": "1+1?", "answer": "2"}\n')
    (exp / "config.yaml").write_text(f"model_name_or_path: {tiny_model_dir}\ndataset_name: {exp / 'data.jsonl'}\n"
                                     f"output_dir: {exp}\nreward_funcs: [format]\nnum_generations: 2\n"
                                     "per_device_train_batch_size: 2\nmax_completion_length: 4\nmax_steps: 1\n")
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(app, ["grpo", str(exp / "config.yaml"), "--no-live"])
    assert first.exit_code != 0 and "not empty" in first.output
    assert "--overwrite" not in first.output  # it would be refused: never suggested
    second = CliRunner().invoke(app, ["grpo", str(exp / "config.yaml"), "--no-live", "--overwrite"])
    assert second.exit_code != 0 and "--overwrite refused" in second.output, second.output
    assert "config.yaml" in second.output or "the recipe" in second.output
    assert sorted(p.name for p in exp.iterdir()) == ["config.yaml", "data.jsonl", "notes.md"]
    assert (exp / "notes.md").read_text() == "my notes"


def test_overwrite_names_files_r1_did_not_write_and_keeps_everything(tmp_path):
    run = owned_run(tmp_path / "run", "config.yaml", "metrics.jsonl", "checkpoint-2")
    (run.path / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="files r1 did not write: notes.txt") as refused:
        prepare_output_dir(run, resume=False, overwrite=True)
    assert "--overwrite" not in (refused.value.hint or "")
    assert {"config.yaml", "metrics.jsonl", "checkpoint-2", "notes.txt"} <= run.entries()


def test_overwrite_removes_exactly_what_r1_recorded(tmp_path):
    run = owned_run(tmp_path / "run", "config.yaml", "metrics.jsonl", "checkpoint-2", "model.safetensors")
    assert prepare_output_dir(run, resume=False, overwrite=True) is None
    assert run.entries() == {RunDirectory.MANIFEST} and run.is_empty()


def test_a_directory_without_a_manifest_belongs_to_its_user(tmp_path):
    legacy = tmp_path / "old"
    legacy.mkdir()
    for name in ("config.yaml", "training.log", "metrics.jsonl", "summary.json"):
        (legacy / name).write_text("x")
    with pytest.raises(OutputExistsError, match="r1 did not write"):
        prepare_output_dir(legacy, resume=False, overwrite=True)
    assert len(list(legacy.iterdir())) == 4


def test_output_dir_dot_never_clears_the_current_directory(tmp_path, monkeypatch):
    run = owned_run(tmp_path / "here", "config.yaml", "metrics.jsonl")
    monkeypatch.chdir(run.path)
    with pytest.raises(OutputExistsError, match="current directory"):
        prepare_output_dir(RunDirectory("."), resume=False, overwrite=True)
    monkeypatch.chdir(run.path / "..")
    (tmp_path / "here" / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "here" / "sub")  # a parent of the current directory
    with pytest.raises(OutputExistsError, match="current directory or a parent"):
        prepare_output_dir(RunDirectory(".."), resume=False, overwrite=True)
    assert (run.path / "config.yaml").exists()


def test_output_dir_equal_to_the_model_being_trained_is_never_cleared(tmp_path):
    # The SFT stage's run directory, every file r1's: still never cleared while a run reads its model.
    sft = owned_run(tmp_path / "sft", "config.yaml", "model.safetensors", "tokenizer.json", "config.json")
    with pytest.raises(OutputExistsError, match="holds the model this run reads"):
        prepare_output_dir(sft, resume=False, overwrite=True, reads={"the model": sft.path})
    data_inside = owned_run(tmp_path / "r", "config.yaml")
    with pytest.raises(OutputExistsError, match="the dataset"):
        prepare_output_dir(data_inside, resume=False, overwrite=True, reads={"the dataset": data_inside.path / "d.jsonl"})
    assert (sft.path / "model.safetensors").exists()


def test_symlinked_run_directory_clears_its_own_entries_and_follows_no_link(tmp_path):
    real = owned_run(tmp_path / "scratch" / "run", "config.yaml", "checkpoint-1")
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (real.path / "linked").symlink_to(outside)
    real.record("linked")  # even an entry r1 recorded is removed as a link, never through it
    (real.path / "checkpoint-1" / "inner").symlink_to(outside)
    link = tmp_path / "run"
    link.symlink_to(real.path)
    assert prepare_output_dir(link, resume=False, overwrite=True) is None
    assert link.is_symlink() and real.path.is_dir() and RunDirectory(link).is_empty()
    assert (outside / "keep.txt").read_text() == "keep"


def test_after_a_failed_start_the_hints_give_one_way_out(tmp_path):
    run = owned_run(tmp_path / "run", "config.yaml", "training.log")  # started, crashed before any checkpoint
    with pytest.raises(R1Error, match="nothing to resume") as resumed:
        prepare_output_dir(run, resume=True, overwrite=False)
    assert "--overwrite" in resumed.value.hint and "without --resume" not in resumed.value.hint
    with pytest.raises(OutputExistsError) as fresh:
        prepare_output_dir(run, resume=False, overwrite=False)
    assert "--overwrite" in fresh.value.hint and "--resume" not in fresh.value.hint
    (run.path / "mine.txt").write_text("x")
    with pytest.raises(OutputExistsError) as foreign:
        prepare_output_dir(run, resume=False, overwrite=False)
    assert "--overwrite" not in foreign.value.hint and "another output_dir" in foreign.value.hint


def test_manifest_entries_are_plain_names(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.record("config.yaml", tmp_path / "run" / "metrics.jsonl")
    assert {"config.yaml", "metrics.jsonl", RunDirectory.MANIFEST} <= run.recorded()
    with pytest.raises(ValueError):
        run.record("../escape")
    run.manifest.write_text('{"created": ["../../etc", "a/b", "ok"]}')
    assert run.recorded() == {"ok"}
