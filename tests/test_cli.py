"""The `r1` entry point: help lists every command, unfinished ones refuse honestly, imports stay light."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from r1cli import __version__
from r1cli.cli import app

runner = CliRunner()
COMMANDS = ["init", "validate", "dry-run", "sft", "grpo", "eval", "score"]


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"r1 {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_without_importing_torch(command):
    code = ("import sys; from typer.testing import CliRunner; from r1cli.cli import app; "
            f"r = CliRunner().invoke(app, ['{command}', '--help']); assert r.exit_code == 0, r.output; "
            "assert 'torch' not in sys.modules, 'torch imported by --help'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_m_r1cli_runs_the_same_app():
    result = subprocess.run([sys.executable, "-m", "r1cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"r1 {__version__}"


def test_cli_import_leaves_heavy_libraries_out():
    code = ("import sys, r1cli.cli; heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'questionary', "
            "'sympy', 'math_verify') if m in sys.modules]; print(heavy); assert not heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_flag_shows_traceback_for_user_errors():
    quiet = runner.invoke(app, ["grpo", "missing.yaml"])
    assert quiet.exit_code == 1 and "Traceback" not in quiet.output
    assert isinstance(quiet.exception, SystemExit)
    loud = runner.invoke(app, ["--debug", "grpo", "missing.yaml"])
    from r1cli.errors import ConfigError

    assert isinstance(loud.exception, ConfigError)
