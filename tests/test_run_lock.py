"""One run per directory: a second r1 on a run in progress refuses, naming the holder; a lock left by kill -9 is stale."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from test_training_run import r1, recipe, wait_for_step

from r1cli.run_dir import RunDirectory

HOLD = """
import sys, time
from r1cli.run_dir import RunDirectory
with RunDirectory(sys.argv[1]).lock():
    print("locked", flush=True)
    time.sleep(600)
"""


def test_second_run_on_the_same_directory_refuses_naming_the_holder(tmp_path, tiny_model_dir):
    path = recipe(tmp_path, tiny_model_dir, steps=200, extra="report_to: none\n")
    first = r1("grpo", str(path), "--no-live")
    run = RunDirectory(tmp_path / "run")
    try:
        wait_for_step(run.metrics, 1, first)
        second = subprocess.run([sys.executable, "-m", "r1cli", "grpo", str(path), "--no-live", "--resume",
                                 "--set", "learning_rate=0.5", "--allow-changes"],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1, second.stdout + second.stderr
        said = second.stdout + second.stderr
        assert "in use by another r1 run" in said and f"pid {first.pid}" in said and "Traceback" not in said
        assert "learning_rate: 0.0001" in run.config.read_text()  # the second run wrote nothing
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)


def test_a_lock_left_by_kill_9_is_stale(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    run = RunDirectory(tmp_path / "run")
    import pytest

    from r1cli.run_dir import RunLockedError

    with pytest.raises(RunLockedError, match=f"pid {holder.pid} on "):
        with run.lock():
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert (run.path / RunDirectory.LOCK).exists()  # the file stays behind; the lock itself died with its process
    with run.lock():
        assert str(os.getpid()) in (run.path / RunDirectory.LOCK).read_text()
