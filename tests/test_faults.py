"""Faults while writing: one line naming the path and the cause, the file that was there intact; paths expanded once."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest

from r1cli.files import WriteError, atomic_write_text, check_writable


def test_disk_full_names_the_file_and_keeps_the_earlier_one(small_fs):
    target = small_fs / "summary.json"
    atomic_write_text(target, "earlier", force=True)
    with pytest.raises(WriteError, match=rf"cannot write {target}: no space left on device") as failed:
        atomic_write_text(target, "x" * (3 * 1024 * 1024), force=True)
    assert "free some space" in failed.value.hint
    assert target.read_text() == "earlier"
    assert [p.name for p in small_fs.iterdir()] == ["summary.json"]  # no temporary file left


def test_read_only_file_system(small_fs):
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    with pytest.raises(WriteError, match="read-only file system"):
        atomic_write_text(small_fs / "out.jsonl", "x")
    with pytest.raises(WriteError, match="read-only file system"):
        check_writable(small_fs / "out.jsonl")


def test_a_parent_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    for call in (lambda p: atomic_write_text(p, "y"), check_writable):
        with pytest.raises(WriteError, match="a parent of it is a file"):
            call(tmp_path / "file" / "sub" / "out.json")
    assert (tmp_path / "file").read_text() == "x"


def test_a_directory_where_the_file_goes(tmp_path):
    (tmp_path / "out.json").mkdir()
    for call in (lambda p: atomic_write_text(p, "y", force=True), lambda p: check_writable(p, force=True)):
        with pytest.raises(WriteError, match="it is a directory"):
            call(tmp_path / "out.json")


def test_write_error_is_one_line_for_any_cause(tmp_path):
    error = WriteError.from_os_error(OSError(errno.EDQUOT, "Disk quota exceeded"), tmp_path / "x")
    assert str(error).count("\n") == 0 and "disk quota exceeded" in str(error)


def test_paths_are_expanded_once_for_every_path_key(tmp_path, monkeypatch, tiny_model_dir):
    from r1cli.config import load_recipe
    from r1cli.run_dir import RunDirectory

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("R1_DATA", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.jsonl").write_text('{"problem": "1+1?", "answer": "2"}\n')
    path = tmp_path / "r.yaml"
    path.write_text(f"model_name_or_path: {tiny_model_dir}\ndataset_name: ~/data/d.jsonl\n"
                    "output_dir: ~/runs/x\nreward_funcs: [format]\n")
    recipe = load_recipe(path, overrides=["eval_dataset_name=$R1_DATA/d.jsonl"], layers=("schema", "rewards"))
    assert RunDirectory.of(recipe).path == tmp_path / "runs" / "x"  # where transformers writes too
    assert recipe.values["dataset_name"] == str(tmp_path / "data" / "d.jsonl")
    assert recipe.values["eval_dataset_name"] == str(tmp_path / "data" / "d.jsonl")
    assert recipe.values["model_name_or_path"] == str(tiny_model_dir)


def test_a_chat_template_given_as_text_is_left_alone():
    from r1cli.config.recipe import expand_path

    template = "{% for m in messages %}$HOME {{ m.content }}{% endfor %}"
    assert expand_path(template) == template
    assert expand_path("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"
    assert expand_path(Path("~")) == Path("~")  # not a string: as it is


# --- r1 score -o / r1 eval -o under faults: checked before the work, results printed when saving fails ----------


def _completions(path: Path, rows: int = 40, size: int = 20_000) -> Path:
    import json

    line = json.dumps({"completion": "x" * size + "<answer>4</answer>", "solution": "4"}) + "\n"
    path.write_text(line * rows)
    return path


def _fill(mount: Path, leave: int = 64 * 1024) -> None:
    """Fill the small file system until about ``leave`` bytes are free."""
    import os

    with open(mount / "filler", "wb") as handle:
        while (free := os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize) > leave:
            try:
                handle.write(b"\0" * min(64 * 1024, free - leave))
                handle.flush()
            except OSError:
                break


@pytest.mark.parametrize("command", [["score"], ["eval", "--completions"]])
def test_output_on_a_full_disk_prints_the_results_then_one_line(small_fs, tmp_path, command):
    from typer.testing import CliRunner

    from r1cli.cli import app

    source = _completions(tmp_path / "c.jsonl")  # ~800 KB written back: more than is left
    _fill(small_fs)
    target = small_fs / "out.jsonl"
    result = CliRunner().invoke(app, [*command, str(source), "-o", str(target)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "accuracy" in result.output  # the computed results, printed
    assert result.output.count("error:") == 1 and f"cannot write {target}: no space left on device" in result.output
    assert "written to" not in result.output
    assert sorted(p.name for p in small_fs.iterdir()) == ["filler"]  # no half-written file


@pytest.mark.parametrize("command", [["score"], ["eval", "--completions"], ["eval", "MODEL", "--dataset"]])
def test_output_on_a_read_only_file_system_is_refused_before_any_work(small_fs, tmp_path, command, monkeypatch):
    from typer.testing import CliRunner

    from r1cli.cli import app

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the destination was checked")

    monkeypatch.setattr("r1cli.scoring.stream.RowStream.__iter__", no_work)
    monkeypatch.setattr("r1cli.evaluation.request.EvalRequest.check_sources", no_work)
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    source = _completions(tmp_path / "c.jsonl", rows=2)
    argv = [*command, str(source)] if command[-1] != "--dataset" else [command[0], str(tmp_path / "model"), "--dataset", str(source)]
    result = CliRunner().invoke(app, [*argv, "-o", str(small_fs / "out.jsonl")])
    assert result.exit_code == 1, result.output
    assert "read-only file system" in result.output and "Traceback" not in result.output


def test_score_output_whose_parent_is_a_file_is_refused_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from r1cli.cli import app

    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(app, ["score", str(_completions(tmp_path / "c.jsonl", rows=2)),
                                      "-o", str(tmp_path / "file" / "out.jsonl")])
    assert result.exit_code == 1 and "a parent of it is a file" in result.output, result.output
    assert (tmp_path / "file").read_text() == "x"


# --- Ctrl-C on a --num-processes run: no torch-elastic traceback after r1's resume hint -----------------------

# What accelerate's elastic launcher printed on stderr after a Ctrl-C on a real 2-process CPU run (trimmed).
ELASTIC_STOP = """\
W1130 12:38:47.306000 5646 torch/distributed/elastic/agent/server/api.py:753] Received 2 death signal, shutting down workers
W1130 12:38:47.309000 5646 torch/distributed/elastic/multiprocessing/api.py:1028] Sending process 5667 closing signal SIGINT
stopped: stopped by SIGINT at step 8; checkpoint saved in /tmp/run/checkpoint-8
hint: resume with: r1 grpo grpo.yaml --resume --set num_processes=2
Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "/venv/lib/python3.11/site-packages/torch/distributed/elastic/agent/server/api.py", line 745, in run
    result = self._invoke_run(role)
             ^^^^^^^^^^^^^^^^^^^^^^
  File "/venv/lib/python3.11/site-packages/torch/distributed/elastic/multiprocessing/api.py", line 86, in _terminate_process_handler
    raise SignalException(f"Process {os.getpid()} got signal: {sigval}", sigval=sigval)
torch.distributed.elastic.multiprocessing.api.SignalException: Process 5646 got signal: 2
"""
CHILD_FAILED = """\
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/torch/distributed/run.py", line 1019, in run
    elastic_launch(
torch.distributed.elastic.multiprocessing.errors.ChildFailedError: 
============================================================
r1cli FAILED
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  exitcode  : 1 (pid: 5667)
============================================================
"""
WORKER_ERROR = """\
error: cannot write /full/checkpoint-8/model.safetensors: no space left on device
Traceback (most recent call last):
  File "worker.py", line 3, in save
ValueError: a real bug in a worker
"""


def test_the_launchers_report_of_a_requested_stop_is_dropped():
    from r1cli.training.launch import filter_launcher_noise

    kept = "".join(filter_launcher_noise((ELASTIC_STOP + CHILD_FAILED).splitlines(keepends=True), stopping=[2]))
    assert kept.splitlines()[-1].startswith("hint: resume with:")  # r1's hint is the last word
    assert "Traceback" not in kept and "elastic" not in kept and "=====" not in kept
    # Without a signal nothing is hidden: a launcher failure r1 did not ask for stays visible.
    assert "".join(filter_launcher_noise(CHILD_FAILED.splitlines(keepends=True), stopping=[])) == CHILD_FAILED
    # After a signal, a worker's real error (a line, a traceback of its own) is still shown whole.
    mixed = "".join(filter_launcher_noise((WORKER_ERROR + CHILD_FAILED).splitlines(keepends=True), stopping=[2]))
    assert mixed == WORKER_ERROR


def test_ctrl_c_through_the_relaunch_ends_with_the_hint(tmp_path, capfd):
    """run_forwarding_signals with a stand-in launcher that prints what accelerate's does on SIGINT."""
    import json
    import os
    import signal
    import sys
    import threading

    from r1cli.training.launch import run_forwarding_signals

    ready = tmp_path / "ready"
    child = tmp_path / "launcher.py"
    child.write_text(f"""\
import pathlib, signal, sys, time
def stop(signum, frame):
    sys.stderr.write({json.dumps(ELASTIC_STOP + CHILD_FAILED)})
    sys.exit(1)
signal.signal(signal.SIGINT, stop)
sys.stderr.write("W1130 12:38:40.000000 5646 torch/distributed/run.py:800] before any signal: shown\\n")
sys.stderr.flush()
pathlib.Path({str(ready)!r}).write_text("x")
time.sleep(60)
""")

    def interrupt() -> None:
        for _ in range(600):
            if ready.exists():
                break
            threading.Event().wait(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, as the terminal sends it to r1

    threading.Thread(target=interrupt, daemon=True).start()
    code = run_forwarding_signals([sys.executable, str(child)])
    err = capfd.readouterr().err
    assert code == 130
    assert "before any signal: shown" in err
    assert err.rstrip().splitlines()[-1].startswith("hint: resume with:"), err
    assert "Traceback" not in err and "SignalException" not in err and "ChildFailedError" not in err


# --- issue 14: truncated model files and a checkpoint save that fails: one line, how to repair -------------------

def _truncated_model(tmp_path, tiny_model_dir) -> Path:
    """The tiny model with its model.safetensors cut in half."""
    import shutil

    model = tmp_path / "cut-model"
    shutil.copytree(tiny_model_dir, model)
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    return model


def _grpo_recipe(tmp_path, model, extra="") -> Path:
    import json

    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(4)))
    path = tmp_path / "grpo.yaml"
    path.write_text(f"model_name_or_path: {model}\ndataset_name: {data}\nreward_funcs: [format, length]\n"
                    f"num_generations: 2\nper_device_train_batch_size: 2\nmax_completion_length: 4\nmax_steps: 1\n"
                    f"logging_steps: 1\nreport_to: none\noutput_dir: {tmp_path / 'run'}\n{extra}")
    return path


def test_grpo_on_truncated_model_files_says_how_to_repair(tmp_path, tiny_model_dir):
    from typer.testing import CliRunner

    from r1cli.cli import app

    model = _truncated_model(tmp_path, tiny_model_dir)
    result = CliRunner().invoke(app, ["grpo", str(_grpo_recipe(tmp_path, model)), "--no-live"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("error:") == 1
    error = next(line for line in result.output.splitlines() if line.startswith("error:"))
    assert f"the model files of {model} are damaged or cut short" in error, result.output
    assert "download or save the model again" in result.output


def test_eval_on_truncated_model_files_says_how_to_repair(tmp_path, tiny_model_dir):
    import json

    from typer.testing import CliRunner

    from r1cli.cli import app

    model = _truncated_model(tmp_path, tiny_model_dir)
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(2)))
    result = CliRunner().invoke(app, ["eval", str(model), "-d", str(data), "--max-new-tokens", "2"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("error:") == 1
    assert "damaged or cut short" in result.output and str(model) in result.output, result.output
    assert "download or save the model again" in result.output


def test_a_checkpoint_save_that_fails_names_the_path_and_keeps_the_earlier_checkpoint(tmp_path, tiny_model_dir,
                                                                                      monkeypatch):
    from r1cli.config import load_recipe
    from r1cli.training.grpo_trainer import EnhancedGRPOTrainer
    from r1cli.training.run import run_training

    path = _grpo_recipe(tmp_path, tiny_model_dir, "save_steps: 1\n")
    path.write_text(path.read_text().replace("max_steps: 1", "max_steps: 2"))
    original = EnhancedGRPOTrainer._save_checkpoint
    target = tmp_path / "run" / "checkpoint-2"

    def save(self, model, trial, *args, **kwargs):
        if self.state.global_step < 2:
            return original(self, model, trial, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device", str(target / "model.safetensors"))

    monkeypatch.setattr(EnhancedGRPOTrainer, "_save_checkpoint", save)
    with pytest.raises(WriteError) as failed:
        run_training(load_recipe(path, trainer="grpo"))
    error = failed.value
    assert str(error).count("\n") == 0
    assert f"cannot write {target / 'model.safetensors'}: no space left on device" in str(error)
    assert "last complete checkpoint: checkpoint-1" in error.hint and "--resume" in error.hint, error.hint
    earlier = tmp_path / "run" / "checkpoint-1"
    assert (earlier / "model.safetensors").is_file() and (earlier / "trainer_state.json").is_file()


def test_truncated_model_files_fail_dry_run_and_grpo_before_the_run_directory_exists(tmp_path, tiny_model_dir):
    """Cut-short weights are found from the safetensors header before step 1: dry-run never says 'ready'."""
    from typer.testing import CliRunner

    from r1cli.cli import app

    model = _truncated_model(tmp_path, tiny_model_dir)
    recipe = _grpo_recipe(tmp_path, model)
    dry = CliRunner().invoke(app, ["dry-run", str(recipe)])
    assert dry.exit_code == 1 and "damaged or cut short" in dry.output and "ready" not in dry.output, dry.output
    assert "Traceback" not in dry.output
    run_dir = yaml_output_dir(recipe)
    grpo = CliRunner().invoke(app, ["grpo", str(recipe), "--no-live"])
    assert grpo.exit_code == 1 and "damaged or cut short" in grpo.output
    assert not run_dir.exists()  # the repaired rerun is not refused as "not empty"


def yaml_output_dir(recipe):
    import yaml

    from r1cli.run_dir import RunDirectory

    values = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    return Path(values["output_dir"]) if values.get("output_dir") else RunDirectory(Path("runs") / recipe.stem).path
