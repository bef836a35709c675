"""`r1 score FILE.jsonl`: score completions with the reward registry and summarise them.

Parses options, resolves them with :func:`r1cli.scoring.request.score_request` (the
rewards decided once), calls :func:`r1cli.scoring.score_file`, and renders the
report (``r1cli.ui.score_view``) or prints it as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1cli.commands._options import ForceOpt, JsonOpt, OutputOpt, OverrideOpt, SkipInvalidOpt


def score(
    file: Annotated[Path, typer.Argument(help="JSONL file: one JSON object per line (- reads standard input; gzip is read too).", show_default=False)],
    rewards: Annotated[str | None, typer.Option("--rewards", "-r", help="Comma-separated rewards (names or module:function); default accuracy,format,tag_count.", show_default=False)] = None,
    weights: Annotated[str | None, typer.Option("--weights", "-w", help="Comma-separated weights, one per reward; default 1 each.", show_default=False)] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Take rewards, weights, reward parameters and the gold column from this recipe (explicit flags win).", show_default=False)] = None,
    overrides: OverrideOpt = None,
    completion_column: Annotated[str, typer.Option("--completion-column", help="Column holding the completion (a string, or chat messages: the last assistant message is scored).")] = "completion",
    solution_column: Annotated[str | None, typer.Option("--solution-column", help="Column holding the gold answer; default the first of solution, answer, gold, target.", show_default=False)] = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
    show_worst: Annotated[int, typer.Option("--show-worst", min=0, help="Print the N rows with the lowest total.")] = 0,
    show_best: Annotated[int, typer.Option("--show-best", min=0, help="Print the N rows with the highest total.")] = 0,
    workers: Annotated[int, typer.Option("--workers", "-j", min=0, help="Score in N processes (0: one per CPU core).")] = 1,
    skip_invalid: SkipInvalidOpt = False,
    reward_timeout: Annotated[float | None, typer.Option("--reward-timeout", min=0.0, help="Seconds one reward call (up to 64 rows) may run; past it those rows are unscored (t/o). Default: the recipe's reward_timeout, else 300; 0: no limit.", show_default=False)] = None,
) -> None:
    """Score a JSONL file of completions: per-reward statistics, the weighted total, and suspicious patterns.

    The rewards are the ones training uses, and the total is summed as TRL sums
    it. --output writes every row back with `rewards` and `reward` (.jsonl or .csv).
    """
    from r1cli.scoring import score_file
    from r1cli.scoring.summary import NotSaved
    from r1cli.scoring.request import reward_flags, score_request
    from r1cli.ui import score_view

    names, weight_list = reward_flags(rewards, weights)
    request = score_request(config, overrides, names=names, weights=weight_list, solution_column=solution_column)
    if reward_timeout is not None:
        request.calc.reward_timeout = reward_timeout or None
    unsaved = None
    with score_view.progress(enabled=not json_out) as on_progress:
        try:
            report = score_file(
                file,
                request.calc,
                completion_column=completion_column,
                solution_column=request.solution_column,
                workers=workers,
                skip_invalid=skip_invalid,
                output=output,
                force=force,
                show_worst=show_worst,
                show_best=show_best,
                on_progress=on_progress,
            )
        except NotSaved as exc:  # the scores were computed: show them, then say why --output failed
            report, unsaved = exc.report, exc
    if json_out:
        score_view.print_json(report)
    else:
        score_view.render_report(report)
    if unsaved is not None:
        raise unsaved
