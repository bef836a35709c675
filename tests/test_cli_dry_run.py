"""`r1 dry-run`: prompts, lengths, parameters, steps and the gold check, without training."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()


def recipe(tmp_path, model_dir, data_path, extra=""):
    path = tmp_path / "r.yaml"
    path.write_text(f"model_name_or_path: {model_dir}\ndataset_name: {data_path}\nnum_generations: 2\n"
                    f"per_device_train_batch_size: 4\nmax_completion_length: 8\nmax_steps: 5\n{extra}")
    return path


def test_dry_run_on_gsm8k_rows(tmp_path, tiny_model_dir, shared_data):
    data = tmp_path / "gsm8k.jsonl"
    data.write_text("".join((shared_data / "gsm8k_test.jsonl").open().readlines()[:20]))
    result = runner.invoke(app, ["dry-run", str(recipe(tmp_path, tiny_model_dir, data)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"] == 20 and report["gold"] == {"reward": "accuracy", "rows": 20, "verified": 20, "not_equal": 0,
                                                       "unparseable": 0, "examples": []}
    assert report["notes"] == []
    assert report["prompts"][0].startswith("<|im_start|>user\nJanet")
    assert report["prompt_tokens"]["count"] == 20 and report["prompt_tokens"]["max"] >= report["prompt_tokens"]["mean"]
    assert report["steps"]["samples_per_step"] == 2 and report["steps"]["total_steps"] == 5
    tiny_params = report["model"]["parameters"]
    assert report["memory"]["weights"] == tiny_params * 4  # float32 on CPU
    assert report["memory"]["reference_model"] == 0  # beta defaults to 0 in TRL 1.x


def test_unparseable_golds_are_an_error(tmp_path, tiny_model_dir):
    data = tmp_path / "bad.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"q{i}", "solution": "see the textbook"}) for i in range(4)))
    result = runner.invoke(app, ["dry-run", str(recipe(tmp_path, tiny_model_dir, data))])
    assert result.exit_code == 1
    assert "no gold answer verifies against itself" in result.output


def test_without_a_reward_that_verifies_answers_the_gold_check_is_skipped(tmp_path, tiny_model_dir):
    data = tmp_path / "bad.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"q{i}", "solution": "see the textbook"}) for i in range(4)))
    path = recipe(tmp_path, tiny_model_dir, data, "reward_funcs: [format, length]\n")
    result = runner.invoke(app, ["dry-run", str(path)])
    assert result.exit_code == 0, result.output  # nothing scores golds, so unparseable ones stop nothing
    assert "no reward verifies answers: gold check skipped" in result.output
    assert "gold answers scored" not in result.output
    report = json.loads(runner.invoke(app, ["dry-run", str(path), "--json"]).stdout)
    assert report["gold"] is None and report["notes"] == ["no reward verifies answers: gold check skipped"]


def test_generate_samples_and_scores(tmp_path, tiny_model_dir):
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i}+1?", "solution": str(i + 1)}) for i in range(4)))
    result = runner.invoke(app, ["dry-run", str(recipe(tmp_path, tiny_model_dir, data)), "--generate", "2", "--json"])
    assert result.exit_code == 0, result.output
    samples = json.loads(result.stdout)["samples"]
    assert len(samples) == 2
    assert set(samples[0]["rewards"]) == {"accuracy", "format", "tag_count"} and samples[0]["tokens"] <= 8
    # The recipe's reward list, as the calculator names it: repeated rewards get their metric names.
    path = recipe(tmp_path, tiny_model_dir, data, "reward_funcs: [length, accuracy, length]\nreward_weights: [1, 2, 3]\n")
    result = runner.invoke(app, ["dry-run", str(path), "--generate", "1", "--json"])
    assert result.exit_code == 0, result.output
    sample = json.loads(result.stdout)["samples"][0]
    assert list(sample["rewards"]) == ["length", "accuracy", "length_2"]
    expected = sample["rewards"]["length"] + 2 * sample["rewards"]["accuracy"] + 3 * sample["rewards"]["length_2"]
    assert sample["total"] == pytest.approx(expected)


def test_invalid_recipe_stops_before_loading(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model_name_or_path: x/y\ndataset_name: a/b\nbeta: -1\n")
    result = runner.invoke(app, ["dry-run", str(path)])
    assert result.exit_code == 1 and ":3: beta" in result.output


# --- issue 15: a broken chat template, or none, fails dry-run and grpo before step 1 at file:line ---------------

def _no_template_model(tmp_path, tiny_model_dir):
    """The tiny model saved again with its tokenizer's chat template removed."""
    import shutil

    from transformers import AutoTokenizer

    model = tmp_path / "no-template"
    shutil.copytree(tiny_model_dir, model)
    for name in ("chat_template.jinja", "chat_template.json"):
        (model / name).unlink(missing_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(model)
    assert not AutoTokenizer.from_pretrained(model).chat_template
    return model


def _fails_at_the_key(tmp_path, path, key, message):
    """dry-run and grpo refuse ``path`` in one finding at ``key``'s line, no traceback, nothing trained."""
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith(f"{key}:"))
    for argv in (["dry-run", str(path)], ["grpo", str(path), "--no-live", "--set", f"output_dir={tmp_path / 'run'}"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "ready to train" not in result.output
        assert f"{path}:{line}: {key}: " in result.output and message in result.output, result.output
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # refused before the run directory was touched


@pytest.mark.parametrize("as_file", [False, True], ids=["inline", "jinja-file"])
def test_a_chat_template_with_a_jinja_error_fails_before_step_one(tmp_path, tiny_model_dir, as_file):
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i}+1?", "solution": str(i + 1)}) for i in range(4)))
    broken = "{% for m in messages %}{{ m.content }"
    if as_file:
        (tmp_path / "broken.jinja").write_text(broken + "\n")
        value = str(tmp_path / "broken.jinja")
    else:
        value = json.dumps(broken)
    path = recipe(tmp_path, tiny_model_dir, data, f"chat_template: {value}\n")
    _fails_at_the_key(tmp_path, path, "chat_template", "TemplateSyntaxError")


def test_a_model_without_a_chat_template_names_the_key_to_set(tmp_path, tiny_model_dir):
    model = _no_template_model(tmp_path, tiny_model_dir)
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i}+1?", "solution": str(i + 1)}) for i in range(4)))
    path = recipe(tmp_path, model, data)
    _fails_at_the_key(tmp_path, path, "model_name_or_path", "has no chat template")
    result = runner.invoke(app, ["dry-run", str(path)])
    assert "set chat_template" in result.output
    # Setting it, as the hint says, is the way out.
    fixed = recipe(tmp_path, model, data, "chat_template: chatml\n")
    assert runner.invoke(app, ["dry-run", str(fixed)]).exit_code == 0


def test_first_line_is_on_screen_before_the_heavy_imports(tmp_path, tiny_model_dir, monkeypatch):
    """Issue 16: dry-run said nothing for 12-30 s. Its first line (stderr) comes before torch/transformers load."""
    import subprocess
    import sys

    from r1cli.training import dry_run as module

    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i}+1?", "solution": str(i + 1)}) for i in range(4)))
    path = recipe(tmp_path, tiny_model_dir, data)

    def loading(*args, **kwargs):  # stands for the imports and loading: whatever it writes comes after the line
        sys.stderr.write("HEAVY WORK STARTS\n")
        raise SystemExit(3)

    monkeypatch.setattr(module, "dry_run", loading)
    result = runner.invoke(app, ["dry-run", str(path)])
    assert result.output.splitlines()[:2] == [
        f"dry-run: {path}: importing torch and transformers, then loading the tokenizer, data and the model config…",
        "HEAVY WORK STARTS"]
    monkeypatch.undo()
    # The real command: the line first, on stderr, so stdout stays the report (here JSON).
    result = runner.invoke(app, ["dry-run", str(path), "--generate", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (f"dry-run: {path}: importing torch and transformers, then loading the "
                                             "tokenizer, data and the model (to sample 1 completion)…")
    assert result.stderr.startswith("dry-run: ") and json.loads(result.stdout)["samples"]
    # What the command imports before printing the line loads none of the heavy libraries.
    probe = ("import sys, r1cli.commands.dry_run, r1cli.config, r1cli.rewards.selection, r1cli.training.dry_run, "
             "r1cli.ui.dry_run_view; print(sorted({'torch', 'transformers', 'trl', 'datasets'} & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_an_invalid_recipe_says_no_loading_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model_name_or_path: x/y\ndataset_name: a/b\nbeta: -1\n")
    result = runner.invoke(app, ["dry-run", str(path)])
    assert result.exit_code == 1 and "importing torch" not in result.output
