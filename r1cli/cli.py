"""The `r1` command: wires one function per subcommand, nothing else.

Each subcommand lives in ``r1cli/commands/<verb>.py``; it parses options,
calls library code and renders the result. Errors meant for users
(:class:`r1cli.errors.R1Error`) become one line on stderr here, in
:func:`r1cli.commands._options.cli_command`.
"""

from __future__ import annotations

import typer

from r1cli import __version__
from r1cli.commands import _options, dry_run, eval as eval_cmd, grpo, init, merge, report, score, sft, validate, vllm_serve
from r1cli.commands import doctor as doctor_cmd

app = typer.Typer(
    name="r1",
    help="Train reasoning language models with GRPO on the Hugging Face stack.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"r1 {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors (also R1_DEBUG=1)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Train reasoning language models with GRPO on the Hugging Face stack."""
    _options.set_debug(debug)


_COMMANDS = [
    ("init", init.init),
    ("validate", validate.validate),
    ("dry-run", dry_run.dry_run),
    ("sft", sft.sft),
    ("grpo", grpo.grpo),
    ("eval", eval_cmd.eval_),
    ("score", score.score),
    ("report", report.report),
    ("doctor", doctor_cmd.doctor, ["r1 doctor runs/quickstart/grpo", "r1 doctor trl-output-dir/checkpoint-500 --json"]),
    ("merge", merge.merge),
    ("vllm-serve", vllm_serve.vllm_serve),
]
for _name, _fn in _COMMANDS:
    app.command(_name)(_options.cli_command(_fn))


def main() -> None:
    app(prog_name="r1")
