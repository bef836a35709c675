"""`r1 eval`: measure one model, two models side by side, or a file of completions, on math data.

Parses options, resolves them against ``--config``'s recipe with
:func:`r1cli.evaluation.request.build_request` (explicit flags win), builds the
reward calculator once, calls the evaluation library, and renders the report
(:mod:`r1cli.ui.eval_view`) or prints it as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1cli.commands._options import ForceOpt, JsonOpt, OutputOpt, OverrideOpt, SkipInvalidOpt


def eval_(
    models: Annotated[list[str] | None, typer.Argument(
        help="Model: a local directory, a hub id or a .gguf file. Two models are compared (B against A).",
        show_default=False, metavar="MODEL")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", show_default=False,
        help="Data: a hub id, a .jsonl/.json/.parquet/.csv file or a directory. GSM8K and MATH layouts are recognised.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", show_default=False,
        help="Recipe: model, eval data, columns, system prompt, chat template and rewards come from it (flags win).")] = None,
    overrides: OverrideOpt = None,
    completions: Annotated[Path | None, typer.Option("--completions", show_default=False,
        help="Score this JSONL of existing completions (as `r1 score` reads it) instead of generating.")] = None,
    skip_invalid: SkipInvalidOpt = False,
    split: Annotated[str | None, typer.Option("--split", show_default=False, help="Dataset split; default test.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", show_default=False, help="Evaluate the first N items only.")] = None,
    benchmark: Annotated[str, typer.Option("--benchmark", help="Column preset: auto (detect), gsm8k or math.")] = "auto",
    prompt_column: Annotated[str | None, typer.Option("--prompt-column", show_default=False,
        help="Column holding the problem (overrides the preset).")] = None,
    solution_column: Annotated[str | None, typer.Option("--solution-column", show_default=False,
        help="Column holding the gold answer (overrides the preset).")] = None,
    completion_column: Annotated[str, typer.Option("--completion-column",
        help="With --completions: the column holding each completion.")] = "completion",
    system_prompt: Annotated[str | None, typer.Option("--system-prompt", show_default=False,
        help="System message put before every problem.")] = None,
    num_samples: Annotated[int, typer.Option("--num-samples", "-k", help="Samples per problem (K > 1 needs --temperature > 0).")] = 1,
    temperature: Annotated[float | None, typer.Option("--temperature", "-t", show_default=False,
        help="Sampling temperature; default 0 (greedy).")] = None,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling threshold.")] = 1.0,
    max_new_tokens: Annotated[int | None, typer.Option("--max-new-tokens", show_default=False,
        help="Token budget per completion; default the recipe's max_completion_length, else 512.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", help="Prompts generated together.")] = 16,
    seed: Annotated[int, typer.Option("--seed", help="Seed for sampling and the bootstrap (same seed, same results).")] = 0,
    rewards: Annotated[str | None, typer.Option("--rewards", "-r", show_default=False,
        help="Comma-separated rewards to report; default accuracy,format,tag_count (accuracy is always measured).")] = None,
    backend: Annotated[str, typer.Option("--backend", help="transformers (CPU or GPU) or vllm (GPU, vllm installed).")] = "transformers",
    baseline: Annotated[Path | None, typer.Option("--baseline", show_default=False,
        help="Compare MODEL against this earlier `r1 eval --output` file (same items, same decoding) instead of a second model.")] = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Measure a model (or two, or a file of completions) on math problems: accuracy, pass@k, maj@k, format, length."""
    from r1cli.evaluation.request import build_request
    from r1cli.files import check_writable
    from r1cli.rewards.selection import calculator_for
    from r1cli.scoring.request import recipe_values, reward_flags
    from r1cli.ui import eval_view

    if output is not None:
        check_writable(output, force=force)  # existing, read-only, a directory: before minutes of generation, not after
    names, _ = reward_flags(rewards)
    values = recipe_values(config, overrides)
    request = build_request(
        values, models=models, completions=completions, baseline=baseline, dataset=dataset, split=split, limit=limit,
        benchmark=benchmark, prompt_column=prompt_column, solution_column=solution_column,
        completion_column=completion_column, system_prompt=system_prompt, skip_invalid=skip_invalid,
        num_samples=num_samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
        batch_size=batch_size, seed=seed, backend=backend)
    calc = calculator_for(values, names=names).with_verifier()  # accuracy is what eval measures

    if request.completions is not None:
        from r1cli.evaluation.completions import evaluate_completions

        with _score_progress(not json_out) as on_progress:
            report = evaluate_completions(request.completions, calc, completion_column=request.completion_column,
                                          solution_column=request.solution_column, skip_invalid=request.skip_invalid,
                                          on_progress=on_progress)
        _finish([report], output, force, json_out, seed)
        return

    from r1cli.evaluation.model_eval import evaluate_model

    request.check_sources()  # everything that can be refused cheaply, before data or weights load
    reports = []
    if request.baseline is not None:  # re-scored and checked now, before minutes of generation
        from r1cli.evaluation.baseline import load_baseline

        reports.append(load_baseline(request.baseline, request.decoding, calc))
    data = request.load_data()
    for model in request.models:
        with eval_view.progress(model, enabled=not json_out) as on_progress:
            reports.append(evaluate_model(model, data, calc, progress=on_progress, **request.generation()))
    _finish(reports, output, force, json_out, seed, saved=1 if request.baseline is not None else 0)


def _score_progress(enabled: bool):
    from r1cli.ui import score_view

    return score_view.progress(enabled=enabled)


def _finish(reports, output: Path | None, force: bool, json_out: bool, seed: int, saved: int = 0) -> None:
    """Write the new results (not the ``saved`` baseline ones), then show the report or the comparison.

    A write that fails (disk full...) still shows the computed results first, then its one-line error.
    """
    from r1cli.evaluation.output import write_results
    from r1cli.files import WriteError

    unsaved = None
    if output is not None:
        try:
            write_results(reports[saved:], output, force=force)
        except WriteError as exc:
            unsaved = exc
            for report in reports[saved:]:
                report.output = None  # not saved: the report must not say it was
    _show(reports, json_out, seed)
    if unsaved is not None:
        raise unsaved


def _show(reports, json_out: bool, seed: int) -> None:
    from r1cli.evaluation.compare import compare
    from r1cli.ui import eval_view

    if len(reports) == 2:
        comparison = compare(reports[0], reports[1], seed=seed)
        if json_out:
            eval_view.print_json(comparison.to_dict())
        else:
            eval_view.render_comparison(comparison)
        return
    if json_out:
        eval_view.print_json(reports[0].to_dict())
    else:
        eval_view.render_report(reports[0])
