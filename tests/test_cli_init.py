"""`r1 init`: templates, non-interactive flags, commented output, refusal to overwrite, the wizard."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from r1cli.cli import app
from r1cli.config import validate_recipe
from r1cli.config.templates import DEFAULT_TEMPLATE, TEMPLATES

runner = CliRunner()


def test_list_shows_every_template_with_a_description():
    result = runner.invoke(app, ["init", "--list"])
    assert result.exit_code == 0
    for name in TEMPLATES:
        line = next(ln for ln in result.output.splitlines() if ln.startswith(name + " "))
        assert len(line.split(None, 1)[1]) > 20


def test_each_template_writes_a_valid_commented_recipe(tmp_path):
    for name in TEMPLATES:
        path = tmp_path / f"{name}.yaml"
        result = runner.invoke(app, ["init", str(path), "--template", name, "--yes"])
        assert result.exit_code == 0, result.output
        text = path.read_text()
        assert "# Model to train" in text  # every key carries its help line
        assert validate_recipe(path).ok


def test_flags_change_the_recipe(tmp_path):
    path = tmp_path / "r.yaml"
    result = runner.invoke(app, ["init", str(path), "--template", "gsm8k", "-y", "--model", "Qwen/Qwen2.5-0.5B-Instruct",
                                 "--rewards", "accuracy,format", "--weights", "1,0.2", "--no-reject-sampling",
                                 "--hardware", "zero3", "--logging", "wandb", "--output-dir", "runs/x"])
    assert result.exit_code == 0, result.output
    values = yaml.safe_load(path.read_text())
    assert values["model_name_or_path"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert values["reward_funcs"] == ["accuracy", "format"] and values["reward_weights"] == [1.0, 0.2]
    assert values["use_reject_sampling"] is False
    assert values["accelerate_config"] == "zero3" and values["bf16"] is True
    assert values["report_to"] == "wandb" and values["wandb_project"] == "r1"
    assert values["output_dir"] == "runs/x"


def test_changing_rewards_drops_mismatched_template_weights(tmp_path):
    path = tmp_path / "r.yaml"
    assert runner.invoke(app, ["init", str(path), "--template", "quickstart", "-y", "--rewards", "accuracy"]).exit_code == 0
    values = yaml.safe_load(path.read_text())
    assert values["reward_funcs"] == ["accuracy"] and "reward_weights" not in values


def test_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("keep me")
    result = runner.invoke(app, ["init", str(path), "-y"])
    assert result.exit_code == 1 and "already exists" in result.output and "--force" in result.output
    assert path.read_text() == "keep me"
    assert runner.invoke(app, ["init", str(path), "-y", "--force"]).exit_code == 0


def test_an_invalid_result_is_not_written(tmp_path):
    path = tmp_path / "r.yaml"
    result = runner.invoke(app, ["init", str(path), "--template", "quickstart", "-y", "--rewards", "accuracy,no_such_reward"])
    assert result.exit_code == 1 and "not written" in result.output
    assert not path.exists()


def test_unknown_template_and_bad_flags_are_usage_errors(tmp_path):
    assert runner.invoke(app, ["init", str(tmp_path / "a.yaml"), "--template", "nope", "-y"]).exit_code == 2
    assert runner.invoke(app, ["init", str(tmp_path / "a.yaml"), "-y", "--hardware", "tpu"]).exit_code == 2
    assert runner.invoke(app, ["init", str(tmp_path / "a.yaml"), "-y", "--weights", "a,b"]).exit_code == 2


def test_without_a_terminal_the_wizard_asks_for_yes(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "a.yaml")])
    assert result.exit_code == 2 and "--yes" in result.output


def test_wizard_enter_through_gives_the_template(tmp_path, monkeypatch):
    """Pressing Enter at every question: each prompt returns its default."""
    import questionary

    class Answer:
        def __init__(self, default):
            self.default = default

        def unsafe_ask(self):
            return self.default

    def fake(kind):
        def make(message, choices=None, default=None, **kwargs):
            if kind == "checkbox":
                return Answer([c.value for c in choices if c.checked])
            return Answer(default)
        return make

    for kind in ("text", "select", "confirm", "checkbox"):
        monkeypatch.setattr(questionary, kind, fake(kind))
    monkeypatch.setattr("r1cli.commands.init._is_terminal", lambda: True)
    path = tmp_path / "wizard.yaml"
    result = runner.invoke(app, ["init", str(path)])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(path.read_text())
    first = next(iter(TEMPLATES))
    assert first == DEFAULT_TEMPLATE  # offered first, taken by Enter: runnable on its own (no earlier step)
    template = yaml.safe_load((TEMPLATES_DIR() / TEMPLATES[first]).read_text())
    assert written == template and not template["model_name_or_path"].startswith("runs/")
    assert "# A cold start, not a full SFT" in path.read_text()  # the template's own comments are kept


def TEMPLATES_DIR():
    from r1cli.config.templates import templates_dir

    return templates_dir()
