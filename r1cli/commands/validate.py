"""`r1 validate RECIPE`: report every problem in a recipe, each as file:line: key: message."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from r1cli.commands._options import JsonOpt, OverrideOpt, RecipeArg


def validate(
    recipe: RecipeArg,
    overrides: OverrideOpt = None,
    deep: Annotated[bool, typer.Option("--deep", help="Also load the tokenizer and first dataset rows; render one prompt.")] = False,
    trainer: Annotated[str | None, typer.Option("--trainer", help="Validate for grpo or sft (default: the recipe's `trainer`).")] = None,
    here: Annotated[bool, typer.Option("--here", "--this-machine",
                                       help="Also fail on what this machine cannot run (a missing package or GPU, "
                                            "too few processes); without it those are warnings.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a recipe without running it: exit 0 if valid (warnings allowed), 1 if not."""
    from r1cli.config import validate_recipe
    from r1cli.ui.validate_view import render_report

    if trainer not in (None, "grpo", "sft"):
        raise typer.BadParameter("must be grpo or sft", param_hint="--trainer")
    report = validate_recipe(recipe, overrides=overrides or [], trainer=trainer, deep=deep, here=here)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        render_report(report)
    if not report.ok:
        raise typer.Exit(1)
