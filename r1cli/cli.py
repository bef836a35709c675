"""The `r1` command: wires one function per subcommand, nothing else.

Each subcommand lives in ``r1cli/commands/<verb>.py``; it parses options,
calls library code and renders the result. Errors meant for users
(:class:`r1cli.errors.R1Error`) become one line on stderr here, in
:func:`r1cli.commands._options.cli_command`.
"""

from __future__ import annotations

import typer

from r1cli import __version__
from r1cli.commands import _click, _options, dry_run, eval as eval_cmd, grpo, init, merge, report, score, sft, validate, vllm_serve
from r1cli.commands import doctor as doctor_cmd

app = typer.Typer(
    name="r1",
    help="Train reasoning language models with GRPO on the Hugging Face stack.",
    no_args_is_help=True,
    cls=_click.R1Group,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"r1 {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors, anywhere on the line "
                               "(also R1_DEBUG=1)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Train reasoning language models with GRPO on the Hugging Face stack."""
    _options.set_debug(debug)


# (name, function, examples shown at the end of its --help); sft and grpo also read TRL-style flags (_click.py).
_COMMANDS = [
    ("init", init.init, ["r1 init", "r1 init --list",
                         "r1 init my.yaml --template gsm8k -y --model Qwen/Qwen2.5-0.5B-Instruct --hardware gpu"]),
    ("validate", validate.validate, ["r1 validate recipe.yaml", "r1 validate recipe.yaml --set max_steps=100 --json"]),
    ("dry-run", dry_run.dry_run, ["r1 dry-run recipe.yaml", "r1 dry-run recipe.yaml --generate 4"]),
    ("sft", sft.sft, ["r1 sft templates/quickstart/sft.yaml", "r1 sft recipe.yaml --set max_steps=50 --no-live"]),
    ("grpo", grpo.grpo, ["r1 grpo recipe.yaml", "r1 grpo recipe.yaml --set learning_rate=2e-6 --set max_steps=100",
                         "r1 grpo recipe.yaml --learning_rate 2e-6     (TRL style: same as --set)",
                         "r1 grpo recipe.yaml --resume",
                         "r1 grpo recipe.yaml --accelerate-config zero2 --num-processes 8"]),
    ("eval", eval_cmd.eval_, ["r1 eval HuggingFaceTB/SmolLM2-135M-Instruct --dataset openai/gsm8k --limit 200",
                              "r1 eval runs/sft runs/grpo -d gsm8k_test.jsonl -n 500",
                              "r1 eval model.gguf -d math500_test.jsonl -k 8 -t 0.7 -o results.jsonl"]),
    ("score", score.score, ["r1 score completions.jsonl",
                            "r1 score completions.jsonl --rewards accuracy,format --weights 1,0.5",
                            "r1 score completions.jsonl --config recipe.yaml -j 2 --show-worst 5 -o scored.jsonl"]),
    ("report", report.report, ["r1 report runs/quickstart/grpo"]),
    ("doctor", doctor_cmd.doctor, ["r1 doctor runs/quickstart/grpo", "r1 doctor trl-output-dir/checkpoint-500 --json"]),
    ("merge", merge.merge, ["r1 merge runs/lora-run runs/lora-run-merged"]),
    ("vllm-serve", vllm_serve.vllm_serve, ["r1 vllm-serve recipe.yaml"]),
]
for _name, _fn, _examples in _COMMANDS:
    _cls = _click.RecipeCommand if _name in ("sft", "grpo") else None
    _epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in _examples)  # \b: Click keeps the lines as written
    app.command(_name, cls=_cls, epilog=_epilog)(_options.cli_command(_fn))


def main() -> None:
    app(prog_name="r1")
