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
