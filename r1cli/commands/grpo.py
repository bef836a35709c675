"""`r1 grpo RECIPE`: train with GRPO (reject sampling, real-time eval), with a live dashboard."""

from __future__ import annotations

from r1cli.commands._options import LiveOpt, OverrideOpt, OverwriteOpt, RecipeArg, ResumeOpt


def grpo(
    recipe: RecipeArg,
    overrides: OverrideOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    live: LiveOpt = None,
) -> None:
    """Train a recipe with GRPO: live dashboard, metrics.jsonl, checkpoints, final model."""
    from r1cli.commands._train import train_command

    train_command("grpo", recipe, overrides, resume=resume, overwrite=overwrite, live=live)
