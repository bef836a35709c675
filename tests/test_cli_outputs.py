"""Every command that writes a file: nothing existing is overwritten without --force / --overwrite, writes are atomic.

One table of commands (init, score, eval, report, merge, grpo, sft). For each:
an existing target is refused without the flag, byte for byte untouched; with
the flag the command succeeds and replaces it; no temporary file is left
behind. Then a write that fails half-way leaves the existing file as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from r1cli.cli import app
from r1cli.run_dir import RunDirectory

runner = CliRunner()
RIGHT = "<think>\nadd\nthem\n</think>\n<answer>4</answer>"


def completions(tmp: Path) -> Path:
    path = tmp / "completions.jsonl"
    path.write_text("".join(json.dumps({"prompt": "2 + 2?", "completion": RIGHT, "solution": "4"}) + "\n" for _ in range(3)))
    return path


def run_with_metrics(tmp: Path) -> Path:
    run = RunDirectory(tmp / "run")
    run.path.mkdir()
    run.metrics.write_text("".join(json.dumps({"step": s, "loss": 0.1 / s, "reward": 0.2 * s}) + "\n" for s in range(1, 4)))
    return run.path


def adapter(tmp: Path, model_dir: Path) -> Path:
    """A LoRA adapter on the tiny model, saved by peft (not trained: merging only needs its files)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir),
                           LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    out = tmp / "adapter"
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(model_dir)
    return out


def training_recipe(tmp: Path, model_dir: Path, trainer: str) -> Path:
    data = tmp / "train.jsonl"
    data.write_text("".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1),
                                        "completion": f"<answer>{i + 1}</answer>"}) + "\n" for i in range(8)))
    path = tmp / f"{trainer}.yaml"
    grpo = "num_generations: 2\nmax_completion_length: 4\nreward_funcs: [format]\n" if trainer == "grpo" else ""
    path.write_text(f"model_name_or_path: {model_dir}\ndataset_name: {data}\nper_device_train_batch_size: 2\n{grpo}"
                    f"max_steps: 1\nlogging_steps: 1\nsave_strategy: 'no'\nreport_to: none\noutput_dir: {tmp / 'run'}\n")
    (tmp / "run").mkdir()
    return path


@dataclass
class Writer:
    """A command that writes ``target`` (relative to tmp), refusing to replace it without ``flag``."""

    argv: Callable[[Path, Path], list[str]]  # (tmp, tiny model) -> arguments
    target: str
    flag: str
    refusal: str
    # A run directory is r1's only where r1 wrote it (a hand-made one is never deleted: see test_run_dir.py),
    # so for training the earlier output is made by running the command once before the file is changed by hand.
    made_by_r1_first: bool = False


WRITERS = {
    "init": Writer(lambda tmp, m: ["init", str(tmp / "recipe.yaml"), "--template", "quickstart", "-y"], "recipe.yaml",
                   "--force", "already exists"),
    "score -o jsonl": Writer(lambda tmp, m: ["score", str(completions(tmp)), "-o", str(tmp / "scored.jsonl")],
                             "scored.jsonl", "--force", "already exists"),
    "score -o csv": Writer(lambda tmp, m: ["score", str(completions(tmp)), "-o", str(tmp / "scored.csv")],
                           "scored.csv", "--force", "already exists"),
    "eval -o": Writer(lambda tmp, m: ["eval", "--completions", str(completions(tmp)), "-o", str(tmp / "results.jsonl")],
                      "results.jsonl", "--force", "already exists"),
    "eval model -o": Writer(lambda tmp, m: ["eval", str(m), "-d", str(completions(tmp)), "--prompt-column", "prompt",
                                            "--solution-column", "solution", "--max-new-tokens", "2",
                                            "-o", str(tmp / "model_results.jsonl")],
                            "model_results.jsonl", "--force", "already exists"),
    "report png": Writer(lambda tmp, m: ["report", str(run_with_metrics(tmp))], f"run/{RunDirectory.REPORT_PNG}", "--force",
                         "already exists"),
    "report html": Writer(lambda tmp, m: ["report", str(run_with_metrics(tmp))], f"run/{RunDirectory.REPORT_HTML}", "--force",
                          "already exists"),
    "merge": Writer(lambda tmp, m: ["merge", str(adapter(tmp, m)), str(tmp / "merged")], "merged/config.json",
                    "--force", "is not empty"),
    "grpo": Writer(lambda tmp, m: ["grpo", str(training_recipe(tmp, m, "grpo")), "--no-live"], f"run/{RunDirectory.CONFIG}",
                   "--overwrite", "is not empty", made_by_r1_first=True),
    "sft": Writer(lambda tmp, m: ["sft", str(training_recipe(tmp, m, "sft")), "--no-live"], f"run/{RunDirectory.CONFIG}",
                  "--overwrite", "is not empty", made_by_r1_first=True),
}


def leftovers(tmp: Path) -> list[Path]:
    return [p for p in tmp.rglob(".*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name", WRITERS)
def test_existing_output_needs_the_flag_and_is_replaced_with_it(name, tmp_path, tiny_model_dir):
    writer = WRITERS[name]
    argv = writer.argv(tmp_path, tiny_model_dir)
    target = tmp_path / writer.target
    if writer.made_by_r1_first:
        first = runner.invoke(app, argv)
        assert first.exit_code == 0, first.output
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"precious: written by hand\n")

    refused = runner.invoke(app, argv)
    assert refused.exit_code == 1, refused.output
    assert writer.refusal in refused.output and writer.flag in refused.output and "Traceback" not in refused.output
    assert target.read_bytes() == b"precious: written by hand\n"

    done = runner.invoke(app, [*argv, writer.flag])
    assert done.exit_code == 0, done.output
    assert target.read_bytes() != b"precious: written by hand\n" and target.stat().st_size > 0
    assert not leftovers(tmp_path)


def test_every_command_that_writes_is_in_the_table():
    from r1cli.cli import app as typer_app

    commands = {c.name or c.callback.__name__.rstrip("_").replace("_", "-") for c in typer_app.registered_commands}
    writes_nothing = {"validate", "dry-run", "vllm-serve", "doctor"}
    assert commands - writes_nothing == {name.split()[0] for name in WRITERS}


def test_a_write_that_fails_half_way_leaves_the_old_file(tmp_path):
    """Rows are written as they are scored; a bad line late in the file stops the run, and the old output stands."""
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"completion": RIGHT, "solution": "4"}) + "\n" for _ in range(500)) + "not json\n")
    for argv, out in ((["score", str(data), "-o"], tmp_path / "scored.jsonl"),
                      (["eval", "--completions", str(data), "-o"], tmp_path / "results.jsonl")):
        out.write_text("old\n")
        result = runner.invoke(app, [*argv, str(out), "--force"])
        assert result.exit_code == 1 and f"{data}:501: invalid JSON" in result.output, result.output
        assert out.read_text() == "old\n"
    assert not leftovers(tmp_path)


def test_a_merge_that_fails_while_saving_leaves_the_directory_as_it_was(tmp_path, tiny_model_dir, monkeypatch):
    from transformers import PreTrainedTokenizerBase

    source = adapter(tmp_path, tiny_model_dir)
    out = tmp_path / "merged"
    out.mkdir()
    (out / "config.json").write_text("{}")

    def fail(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(PreTrainedTokenizerBase, "save_pretrained", fail)
    result = runner.invoke(app, ["merge", str(source), str(out), "--force"])
    assert result.exit_code != 0
    assert [p.name for p in out.iterdir()] == ["config.json"] and (out / "config.json").read_text() == "{}"
    assert not leftovers(tmp_path) and not [p for p in tmp_path.iterdir() if p.name.startswith(".merged.")]
