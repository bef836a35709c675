"""The training commands in a real pseudo-terminal: TERM=dumb falls back to plain lines, Ctrl-C is acknowledged
at once and labelled right (first: checkpoint saved; second: nothing saved), a resumed run counts only its own
steps, and `r1 score -j 2` stops on an early Ctrl-C with one line instead of worker tracebacks."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

R1 = [sys.executable, "-m", "r1cli"]


class Terminal:
    """A command on a pseudo-terminal of 80x24, in its own process group (Ctrl-C reaches the group, as a tty's does)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None):
        import fcntl
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.master, self.output = master, b""
        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                     env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24",
                                          **(env or {})})
        os.close(slave)

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                pass

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def wait_for(self, needle: str, limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        while needle not in self.text:
            assert time.monotonic() < deadline and self.proc.poll() is None, f"never saw {needle!r}:\n{self.text}"
            self._read(0.2)

    def interrupt(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self, limit: float = 120.0) -> int:
        deadline = time.monotonic() + limit
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        for _ in range(5):
            self._read(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            pytest.fail(f"did not end:\n{self.text}")
        os.close(self.master)
        return self.proc.returncode


def recipe(tmp_path: Path, model_dir: Path, *, rewards: str = "format", steps: int = 2) -> Path:
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(8)))
    (tmp_path / "slow_rewards.py").write_text(
        "import time\n\ndef slow(completions, **kwargs):\n    time.sleep(1.5)\n    return [0.5 for _ in completions]\n")
    path = tmp_path / "grpo.yaml"
    path.write_text(f"""\
model_name_or_path: {model_dir}
dataset_name: {data}
reward_funcs: [{rewards}]
num_generations: 2
per_device_train_batch_size: 4
max_completion_length: 8
max_steps: {steps}
logging_steps: 1
save_steps: 100
learning_rate: 1.0e-4
report_to: none
output_dir: {tmp_path / 'run'}
""")
    return path


def test_dumb_terminal_gets_plain_lines_and_named_phases(tmp_path, tiny_model_dir):
    term = Terminal(R1 + ["grpo", str(recipe(tmp_path, tiny_model_dir))], tmp_path,
                    env={"TERM": "dumb", "WANDB_MODE": "offline"})
    assert term.finish() == 0, term.text
    text = term.text
    assert "step 1/2 | " in text and "step 2/2 | " in text  # one line per step, as they happen
    assert "starting: importing torch" in text and "loading model…" in text and "] step 1…" in text
    assert "\x1b[?25l" not in text  # no live region (it hides the cursor): TERM=dumb cannot redraw
    assert "WANDB" not in text and "Loading weights" not in text  # library output goes to training.log
    assert "Warning" not in text and "warnings.warn" not in text, text  # deprecation warnings too
    assert "run summary" in text and "elapsed" in text


def test_first_ctrl_c_is_acknowledged_at_once_and_saves(tmp_path, tiny_model_dir):
    path = recipe(tmp_path, tiny_model_dir, rewards=f"{tmp_path / 'slow_rewards.py'}:slow", steps=3)
    term = Terminal(R1 + ["grpo", str(path), "--no-live"], tmp_path)
    term.wait_for("step 1/3 | ")
    term.interrupt()
    term.wait_for("stopping after this step and saving; Ctrl-C again quits without saving")  # before the run ends
    assert term.finish() == 130, term.text
    text = term.text
    assert "(interrupted — checkpoint saved)" in text and "(failed)" not in text
    assert "stopped by SIGINT at step" in text and "Traceback" not in text
    saved = sorted(p.name for p in (tmp_path / "run").glob("checkpoint-*"))
    assert saved and saved[-1] in text


def test_second_ctrl_c_quits_and_says_nothing_was_saved(tmp_path, tiny_model_dir):
    path = recipe(tmp_path, tiny_model_dir, rewards=f"{tmp_path / 'slow_rewards.py'}:slow", steps=4)
    term = Terminal(R1 + ["grpo", str(path), "--no-live"], tmp_path)
    term.wait_for("step 1/4 | ")
    term.interrupt()
    term.wait_for("Ctrl-C again quits without saving")
    term.interrupt()
    assert term.finish() == 130, term.text
    text = term.text
    assert "quit at step" in text and "without saving; the run has no checkpoint" in text
    assert "(quit — nothing saved)" in text and "(interrupted)" not in text and "Traceback" not in text
    assert not list((tmp_path / "run").glob("checkpoint-*"))


def test_score_with_workers_stops_on_an_early_ctrl_c_without_tracebacks(tmp_path):
    data = tmp_path / "c.jsonl"
    data.write_text("\n".join(json.dumps({"completion": f"<think>x</think><answer>{i}</answer>", "answer": str(i)})
                              for i in range(20000)))
    term = Terminal(R1 + ["score", str(data), "-j", "2"], tmp_path)
    time.sleep(1.0)  # workers are starting: importing r1cli in fresh processes
    term.interrupt()
    code = term.finish()
    assert code in (0, 130), term.text  # 0 if it finished first on a fast machine
    assert "Traceback" not in term.text and "KeyboardInterrupt" not in term.text
    if code == 130:
        assert "interrupted" in term.text
