"""`r1 dry-run RECIPE`: everything but the optimisation -- prompts, lengths, memory, steps, rewards on gold."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from r1cli.commands._options import JsonOpt, OverrideOpt, RecipeArg


def first_line(recipe: object, generate: int = 0) -> str:
    """What dry-run does first, named as `r1 grpo` names its phases (``loading tokenizer and data``)."""
    completions = f"{generate} completion{'s' if generate != 1 else ''}"
    model = f"the model (to sample {completions})" if generate else "the model config"
    return f"dry-run: {recipe}: importing torch and transformers, then loading the tokenizer, data and {model}…"


def dry_run(
    recipe: RecipeArg,
    overrides: OverrideOpt = None,
    generate: Annotated[int, typer.Option("--generate", min=0, help="Also sample N completions and show their rewards.")] = 0,
    trainer: Annotated[str | None, typer.Option("--trainer", help="grpo or sft (default: the recipe's `trainer`).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a run end to end without training; exit 1 when something would make it fail."""
    from r1cli.config import load_recipe
    from r1cli.rewards.selection import calculator_for
    from r1cli.training.dry_run import dry_run as run_dry
    from r1cli.ui.dry_run_view import render_dry_run

    if trainer not in (None, "grpo", "sft"):
        raise typer.BadParameter("must be grpo or sft", param_hint="--trainer")
    loaded = load_recipe(recipe, overrides=overrides or [], trainer=trainer)
    # Issue 16: the imports and loading below take 12-30 s; say so at once, on stderr (stdout stays the report / JSON).
    typer.echo(first_line(recipe, generate), err=True)
    # The command's one reward calculator: the gold check and --generate score with it.
    rewards = calculator_for(loaded.values) if loaded.trainer == "grpo" else None
    report = run_dry(loaded, generate=generate, rewards=rewards)
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2, default=str))
    else:
        render_dry_run(report)
    if not report.ok:
        raise typer.Exit(1)
