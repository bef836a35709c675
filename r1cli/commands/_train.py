"""What `r1 sft` and `r1 grpo` share: load the recipe, draw the run, train, say how it ended."""

from __future__ import annotations

import sys
from pathlib import Path

from r1cli.commands._options import debug_enabled


def train_command(trainer: str, recipe_path: Path, overrides: list[str] | None, *, resume: bool, overwrite: bool,
                  live: bool | None) -> None:
    from r1cli.config import load_recipe
    from r1cli.training.build import output_dir_of
    from r1cli.training.run import run_training
    from r1cli.ui.console import console
    from r1cli.ui.dashboard import RunInfo, make_reporter

    recipe = load_recipe(recipe_path, overrides=overrides or [], trainer=trainer)
    for warning in recipe.report.warnings:
        console.print(f"warning: {warning.format()}", soft_wrap=True, markup=False)
    live = sys.stdout.isatty() if live is None else live
    run_dir = output_dir_of(recipe)
    names = list(recipe.reward_funcs) if trainer == "grpo" else []
    weights = list(recipe.reward_weights or [1.0] * len(names)) if trainer == "grpo" else []
    with make_reporter(live, console) as reporter:
        def on_event(event: dict) -> None:
            kind = event.get("event")
            if kind == "train_begin":
                reporter.start(RunInfo(run_name=run_dir.name, model=str(recipe.model_name_or_path),
                                       trainer=trainer, total_steps=int(event.get("max_steps") or 0),
                                       output_dir=str(run_dir), reward_names=names, reward_weights=weights))
            elif kind == "log":
                reporter.update(int(event["step"]), event["metrics"])
            elif kind == "sample":
                reporter.sample(int(event["step"]), event["prompt"], event["completion"], event["rewards"])

        result = run_training(recipe, resume=resume, overwrite=overwrite, subscribers=[on_event], debug=debug_enabled())
        reporter.stop({"train_runtime (s)": result.metrics.get("train_runtime", 0.0)})
    console.print(f"done: {result.global_step} steps; model, metrics.jsonl and summary.json in {result.output_dir}",
                  markup=False)
