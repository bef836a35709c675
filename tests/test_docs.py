"""The README's generated sections match `--help` and the schema."""

from __future__ import annotations

from pathlib import Path

from r1cli import docs
from r1cli.config.schema import R1_KEYS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_is_up_to_date():
    text = README.read_text(encoding="utf-8")
    assert docs.render(text) == text, "README.md is out of date: run `make docs`"


def test_readme_documents_every_key_and_command():
    text = README.read_text(encoding="utf-8")
    for name in R1_KEYS:
        assert f"| `{name}` |" in text
    for command in ("init", "validate", "dry-run", "sft", "grpo", "eval", "score"):
        assert f"$ r1 {command} --help" in text


def test_check_mode_detects_drift(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text("<!-- r1:config:start -->\nold\n<!-- r1:config:end -->\n")
    assert docs.main(["--check", str(stale)]) == 1
    assert docs.main([str(stale)]) == 0 and docs.main(["--check", str(stale)]) == 0


def test_command_reference_names_each_command_once():
    reference = docs.command_reference()
    assert "Usage: r1 init" in reference and "r1 r1 " not in reference
