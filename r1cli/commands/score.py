"""`r1 score FILE.jsonl`: score completions with the reward registry and summarise them.

Parses options, calls :func:`r1cli.scoring.score_file`, and renders the
report (``r1cli.ui.score_view``) or prints it as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1cli.commands._options import ForceOpt, JsonOpt, OutputOpt, OverrideOpt, SkipInvalidOpt
from r1cli.errors import UsageError


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _weights(value: str | None) -> list[float] | None:
    if value is None:
        return None
    try:
        return [float(w) for w in _split(value)]
    except ValueError:
        raise UsageError(f"--weights must be comma-separated numbers, got {value!r}", hint="e.g. --weights 1,0.5,0.5") from None


def score(
    file: Annotated[Path, typer.Argument(help="JSONL file: one JSON object per line.", show_default=False)],
    rewards: Annotated[str | None, typer.Option("--rewards", "-r", help="Comma-separated rewards (names or module:function); default accuracy,format,tag_count.", show_default=False)] = None,
    weights: Annotated[str | None, typer.Option("--weights", "-w", help="Comma-separated weights, one per reward; default 1 each.", show_default=False)] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Take rewards, weights, reward parameters and the gold column from this recipe (explicit flags win).", show_default=False)] = None,
    overrides: OverrideOpt = None,
    completion_column: Annotated[str, typer.Option("--completion-column", help="Column holding the completion (a string, or chat messages: the last assistant message is scored).")] = "completion",
    solution_column: Annotated[str | None, typer.Option("--solution-column", help="Column holding the gold answer; default solution, then answer.", show_default=False)] = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
    show_worst: Annotated[int, typer.Option("--show-worst", min=0, help="Print the N rows with the lowest total.")] = 0,
    show_best: Annotated[int, typer.Option("--show-best", min=0, help="Print the N rows with the highest total.")] = 0,
    workers: Annotated[int, typer.Option("--workers", "-j", min=0, help="Score in N processes (0: one per CPU core).")] = 1,
    skip_invalid: SkipInvalidOpt = False,
) -> None:
    """Score a JSONL file of completions: per-reward statistics, the weighted total, and suspicious patterns.

    The rewards are the ones training uses, and the total is summed as TRL sums
    it. --output writes every row back with `rewards` and `reward` (.jsonl or .csv).
    """
    from r1cli.scoring import score_file
    from r1cli.ui import score_view

    reward_list, weight_list, reward_kwargs = _split(rewards) or None, _weights(weights), None
    if rewards is not None and not reward_list:
        raise UsageError("--rewards is empty", hint="e.g. --rewards accuracy,format")
    from r1cli.config.recipe import choose_rewards

    choice = choose_rewards(config, overrides, reward_list, weight_list)
    reward_list, weight_list, reward_kwargs = choice.names, choice.weights, choice.kwargs or None
    if choice.recipe is not None:
        solution_column = solution_column or choice.recipe.r1.dataset_solution_column

    with score_view.progress(enabled=not json_out) as on_progress:
        report = score_file(
            file,
            rewards=reward_list,
            weights=weight_list,
            reward_kwargs=reward_kwargs,
            completion_column=completion_column,
            solution_column=solution_column,
            workers=workers,
            skip_invalid=skip_invalid,
            output=output,
            force=force,
            show_worst=show_worst,
            show_best=show_best,
            on_progress=on_progress,
        )
    if json_out:
        score_view.print_json(report)
    else:
        score_view.render_report(report)
