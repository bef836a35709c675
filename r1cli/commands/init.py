"""`r1 init [PATH]`: scaffold a commented recipe from a template, by wizard or by flags."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from r1cli.commands._options import ForceOpt


def _is_terminal() -> bool:
    return sys.stdin.isatty()


def init(
    path: Annotated[Path | None, typer.Argument(help="Recipe file to write (default: recipe.yaml).", show_default=False)] = None,
    template: Annotated[str | None, typer.Option("--template", help="Template name (see --list).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the templates and exit.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="No questions: take the template plus the flags below.")] = False,
    model: Annotated[str | None, typer.Option(help="Model: hub id, local directory or .gguf file.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Training data: hub id or local file.")] = None,
    prompt_column: Annotated[str | None, typer.Option(help="Column with the problem text.")] = None,
    solution_column: Annotated[str | None, typer.Option(help="Column with the gold answer.")] = None,
    rewards: Annotated[str | None, typer.Option(help="Comma-separated reward names, e.g. accuracy,format.")] = None,
    weights: Annotated[str | None, typer.Option(help="Comma-separated weights, one per reward.")] = None,
    reject_sampling: Annotated[bool | None, typer.Option("--reject-sampling/--no-reject-sampling", help="Turn reject sampling on or off.", show_default=False)] = None,
    eval_dataset: Annotated[str | None, typer.Option(help="Held-out data for real-time eval ('' turns it off).")] = None,
    hardware: Annotated[str | None, typer.Option(help="cpu, gpu, zero2 or zero3.")] = None,
    logging: Annotated[str | None, typer.Option(help="none, wandb or tensorboard.")] = None,
    output_dir: Annotated[str | None, typer.Option(help="Run directory the recipe trains into.")] = None,
    force: ForceOpt = False,
) -> None:
    """Write a commented, validated recipe YAML from a template."""
    from r1cli.config.scaffold import HARDWARE, LOGGING, InitChoices, build_values, write_recipe
    from r1cli.config.templates import DEFAULT_TEMPLATE, get_template, list_templates
    from r1cli.errors import UsageError
    from r1cli.ui.console import console

    if list_:
        for t in list_templates():
            console.print(f"[bold]{t.name:15}[/] {t.description}")
        return
    for value, allowed, flag in ((hardware, HARDWARE, "--hardware"), (logging, LOGGING, "--logging")):
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"must be one of {', '.join(allowed)}", param_hint=flag)
    path = path or Path("recipe.yaml")
    if path.exists() and not force:  # ask nothing if the answer cannot be written
        from r1cli.files import refuse_overwrite

        refuse_overwrite(path, force)
    interactive = not yes
    if interactive and not _is_terminal():
        raise UsageError("not a terminal, so the wizard cannot ask questions", hint="pass --yes (and flags) to init without questions")
    if interactive and template is None:
        from r1cli.ui.wizard import choose_template

        template = choose_template(DEFAULT_TEMPLATE)
    chosen = get_template(template or DEFAULT_TEMPLATE)
    split = lambda text: [p.strip() for p in text.split(",") if p.strip()] if text else None  # noqa: E731
    try:
        weights_list = [float(w) for w in split(weights)] if weights else None
    except ValueError:
        raise typer.BadParameter("must be numbers separated by commas", param_hint="--weights") from None
    choices = InitChoices(model=model, dataset=dataset, prompt_column=prompt_column, solution_column=solution_column,
                          rewards=split(rewards), weights=weights_list, reject_sampling=reject_sampling,
                          eval_dataset=eval_dataset, hardware=hardware, logging=logging, output_dir=output_dir)
    if interactive:
        from r1cli.ui.wizard import run_wizard

        choices = run_wizard(chosen)
    values = build_values(chosen, choices)
    write_recipe(path, values, title=f"r1 recipe from the '{chosen.name}' template: {chosen.description}", force=force,
                 comments=chosen.comments())
    console.print(f"[green]✓[/] wrote {path} (template: {chosen.name}); next: [bold]r1 validate {path}[/]")
