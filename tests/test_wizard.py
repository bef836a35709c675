"""`r1 init`'s wizard: each answer checked when given, no template defaults leaking into other data, Ctrl-C.

The real wizard runs in a pseudo-terminal at 80x24 (questionary needs one); the checks are also tested alone.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import sys
import termios
import time

import pytest
import yaml
from typer.testing import CliRunner

from r1cli.cli import app
from r1cli.ui import wizard

runner = CliRunner()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Z0-9]|\r")


def gsm8k_file(tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in (
        ("Natalia sold 48 clips in April and half as many in May. How many?", "She sold 48/2 = 24.\n#### 72"),
        ("What is 2 + 2?", "#### 4"))))
    return path


class Terminal:
    """A command in a pseudo-terminal of 80x24: type keys, wait for text on the screen."""

    def __init__(self, argv, cwd):
        pid, fd = pty.fork()
        if pid == 0:  # the child: the real r1 command
            os.chdir(cwd)
            os.environ.update(COLUMNS="80", LINES="24", TERM="xterm", PYTHONPATH=REPO)
            os.execv(sys.executable, [sys.executable, "-m", "r1cli", *argv])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.pid, self.fd, self.seen = pid, fd, ""

    def read_until(self, text: str, limit: float = 60.0) -> str:
        """Everything shown until ``text`` appears (ANSI codes removed); fails after ``limit`` seconds of waiting."""
        deadline = time.monotonic() + limit
        while text not in self.seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {text!r}; screen so far:\n{self.seen[-2000:]}")
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if b"\x1b[6n" in chunk:  # a cursor position request: answer as a terminal does
                    os.write(self.fd, b"\x1b[1;1R")
                self.seen += ANSI.sub("", chunk.decode("utf-8", "replace"))
        return self.seen

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def exit_code(self) -> int:
        """Read what is left until the command closes the terminal, then its exit code."""
        while True:
            ready, _, _ = select.select([self.fd], [], [], 30)
            try:
                chunk = os.read(self.fd, 65536) if ready else b""
            except OSError:
                chunk = b""
            if not chunk:
                break
            self.seen += ANSI.sub("", chunk.decode("utf-8", "replace"))
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


ENTER, CTRL_U, SPACE, DOWN, CTRL_C = "\r", "\x15", " ", "\x1b[B", "\x03"


def answer(term: Terminal, question: str, keys: str) -> str:
    screen = term.read_until(question)
    time.sleep(0.2)  # let prompt_toolkit draw and start reading keys
    term.type(keys)
    return screen


def test_real_wizard_checks_each_answer_and_reads_the_files_columns(tmp_path):
    data = gsm8k_file(tmp_path)
    term = Terminal(["init", "recipe.yaml", "--template", "quickstart"], tmp_path)
    answer(term, "Model", ENTER)
    answer(term, "Training data", CTRL_U + "missing.jsonl" + ENTER)
    term.read_until("missing.jsonl does not exist")  # asked again, not after 12 questions
    term.type(CTRL_U + data.name + ENTER)
    answer(term, "Prompt column", "")
    screen = term.read_until("answer")
    assert "problem" not in screen[screen.index("Prompt column"):]  # the file's own columns, not the template's
    term.type(ENTER)
    answer(term, "Gold answer column", ENTER)
    # Untick every reward: asked again instead of silently keeping the template's.
    from r1cli.config.templates import get_template
    from r1cli.rewards.registry import available_rewards

    names = available_rewards()  # the checkbox lists every registered reward, in this order
    ticked = sorted(names.index(n) for n in get_template("quickstart").values()["reward_funcs"])
    keys, at = "", 0
    for index in ticked:
        keys += DOWN * (index - at) + SPACE
        at = index
    answer(term, "Rewards", keys + ENTER)
    term.read_until("tick at least one reward")
    term.type("\x1b[A" * (at - names.index("accuracy")) + SPACE + ENTER)  # back up to accuracy, tick it
    answer(term, "Weights for accuracy:", CTRL_U + "1,2" + ENTER)
    term.read_until("2 weight(s) for 1 reward(s)")
    term.type(CTRL_U + "2" + ENTER)
    answer(term, "Reject sampling", ENTER)
    answer(term, "Real-time eval data", ENTER)
    answer(term, "Hardware", "")
    term.read_until("CPU only")
    term.type(ENTER)  # this machine's default (the tests run without a GPU, or with the template's CPU setting)
    answer(term, "Logging", ENTER)
    answer(term, "Run directory", ENTER)
    term.read_until("wrote recipe.yaml")
    assert term.exit_code() == 0
    values = yaml.safe_load((tmp_path / "recipe.yaml").read_text())
    assert values["dataset_name"] == data.name
    assert (values["dataset_prompt_column"], values["dataset_solution_column"]) == ("question", "answer")
    assert "dataset_config" not in values and "eval_dataset_name" not in values and "eval_steps" not in values
    assert values["reward_funcs"] == ["accuracy"] and values["reward_weights"] == [2.0]
    assert "# LoRA: on a small model RL moves every weight" in (tmp_path / "recipe.yaml").read_text()


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    term = Terminal(["init", "recipe.yaml"], tmp_path)
    answer(term, "Template", CTRL_C)
    code = term.exit_code()
    assert code == 130
    assert term.seen.count("cancelled") == 1 and "Traceback" not in term.seen
    assert not (tmp_path / "recipe.yaml").exists()


def test_each_answer_has_its_check():
    assert wizard.check_dataset("nope/missing.jsonl") == "nope/missing.jsonl does not exist"
    assert wizard.check_dataset("openai/gsm8k") is True and wizard.check_dataset("arithmetic") is True
    assert wizard.check_model("./no-such-model") == "./no-such-model does not exist"
    assert wizard.check_model("Qwen/Qwen2.5-0.5B-Instruct") is True
    check = wizard.weights_check(3)
    assert check("1,0.5,0.25") is True and check("") is True
    assert check("1,0.5") == "2 weight(s) for 3 reward(s): give one per reward, or leave empty for all 1"
    assert "numbers" in check("1,x,2")
    assert wizard.check_rewards([]) != True and wizard.check_rewards(["accuracy"]) is True  # noqa: E712


def test_other_data_by_flags_drops_the_templates_config_and_eval(tmp_path):
    data = gsm8k_file(tmp_path)
    path = tmp_path / "r.yaml"
    result = runner.invoke(app, ["init", str(path), "--template", "quickstart", "-y", "--dataset", str(data)])
    assert result.exit_code == 0, result.output
    values = yaml.safe_load(path.read_text())
    assert values["dataset_name"] == str(data)
    assert not {"dataset_config", "eval_dataset_name", "eval_dataset_split", "eval_steps"} & set(values)


@pytest.mark.parametrize("name, rows, columns", [
    ("d.jsonl", '{"question": "q", "answer": "a"}\n{"question": "q2", "answer": "a2", "id": 3}\n', ["question", "answer", "id"]),
    ("d.json", '[{"problem": "p", "solution": "s"}]', ["problem", "solution"]),
    ("d.csv", "prompt,gold\nq,a\n", ["prompt", "gold"]),
    ("d.txt", "hello", None),
    ("d.jsonl", "not json\n", None),
])
def test_peek_columns_reads_the_first_rows(tmp_path, name, rows, columns):
    from r1cli.data.peek import peek_columns

    path = tmp_path / name
    path.write_text(rows)
    assert peek_columns(path) == columns


def test_peek_columns_of_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from r1cli.data.peek import peek_columns

    pq.write_table(pa.table({"question": ["q"], "answer": ["a"]}), tmp_path / "d.parquet")
    assert peek_columns(tmp_path / "d.parquet") == ["question", "answer"]
