"""`r1 sft RECIPE`: train with supervised fine-tuning (completion-only loss), with a live dashboard."""

from __future__ import annotations

from r1cli.commands._options import LiveOpt, OverrideOpt, OverwriteOpt, RecipeArg, ResumeOpt


def sft(
    recipe: RecipeArg,
    overrides: OverrideOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    live: LiveOpt = None,
) -> None:
    """Supervised fine-tuning (e.g. a format cold start before GRPO): dashboard, metrics, checkpoints."""
    from r1cli.commands._train import train_command

    train_command("sft", recipe, overrides, resume=resume, overwrite=overwrite, live=live)
