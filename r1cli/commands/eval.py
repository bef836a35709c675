"""`r1 eval`: measure one model, two models side by side, or a file of completions, on math data.

Parses options (explicit flags win over ``--config``'s recipe), calls
:mod:`r1cli.evaluation.evaluate`, and renders the report
(:mod:`r1cli.ui.eval_view`) or prints it as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1cli.commands._options import ForceOpt, JsonOpt, OutputOpt, OverrideOpt, SkipInvalidOpt
from r1cli.errors import UsageError

def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


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
    from r1cli.evaluation import evaluate as ev
    from r1cli.files import refuse_overwrite
    from r1cli.ui import eval_view

    if output is not None:
        refuse_overwrite(output, force)  # before minutes of generation, not after
    reward_list, weights, reward_kwargs = _split(rewards) or None, None, None
    if rewards is not None and not reward_list:
        raise UsageError("--rewards is empty", hint="e.g. --rewards accuracy,format")

    from r1cli.config.recipe import choose_rewards

    choice = choose_rewards(config, overrides, reward_list, weights)
    reward_list, weights, reward_kwargs, recipe = choice.names, choice.weights, choice.kwargs or None, choice.recipe
    values = recipe.values if recipe is not None else {}

    if skip_invalid and completions is None:
        raise UsageError("--skip-invalid applies to --completions files only")
    if completions is not None:
        if models or dataset:
            raise UsageError("--completions scores existing completions: give no MODEL or --dataset")
        if limit is not None:
            raise UsageError("--limit selects dataset items; it does not apply to --completions")
        with _score_progress(not json_out) as on_progress:
            report = ev.evaluate_completions(
                completions, rewards=reward_list, reward_weights=weights, reward_kwargs=reward_kwargs,
                completion_column=completion_column, skip_invalid=skip_invalid,
                solution_column=solution_column or values.get("dataset_solution_column"), on_progress=on_progress)
        _finish([report], output, force, json_out, seed)
        return

    models = list(models or [])
    gguf_file = None
    if not models and values.get("model_name_or_path"):
        models, gguf_file = [values["model_name_or_path"]], values.get("gguf_file")
    if not models:
        raise UsageError("no model given", hint="r1 eval MODEL --dataset DATA (or --config RECIPE with model_name_or_path)")
    if len(models) > 2:
        raise UsageError(f"{len(models)} models given; r1 eval compares at most two", hint="r1 eval BEFORE AFTER --dataset DATA")
    if baseline is not None and len(models) != 1:
        raise UsageError("--baseline compares one model against a saved evaluation; give one MODEL",
                         hint="r1 eval AFTER --baseline BEFORE_RESULTS.jsonl")
    from_recipe = not dataset
    dataset = dataset or values.get("eval_dataset_name") or values.get("dataset_name")
    if not dataset:
        raise UsageError("no dataset given", hint="pass --dataset (a hub id, a file or a directory), or --config RECIPE")
    temperature = temperature if temperature is not None else float(values.get("eval_temperature") or 0.0)
    max_new_tokens = max_new_tokens or values.get("max_completion_length") or ev.DEFAULT_MAX_NEW_TOKENS
    # Everything that can be refused cheaply is refused before data or weights load.
    ev.check_generation(num_samples=num_samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                        batch_size=batch_size, backend=backend)
    ev.check_limit(limit)
    ev.reward_calculator(reward_list, weights, reward_kwargs)
    for model in models:
        ev.check_model_source(model, gguf_file)
    if backend == "vllm":
        from r1cli.evaluation.vllm_backend import check_available

        check_available()

    reports = []
    if baseline is not None:  # re-scored and checked now, before minutes of generation
        from r1cli.evaluation.baseline import load_baseline

        decoding = {"num_samples": num_samples, "temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens}
        reports.append(load_baseline(baseline, decoding, rewards=reward_list, reward_weights=weights,
                                     reward_kwargs=reward_kwargs))
    data = ev.load_eval_set(
        dataset, split=split or (from_recipe and values.get("eval_dataset_split")) or "test",
        dataset_config=values.get("dataset_config") if from_recipe else None,
        limit=limit, benchmark=benchmark, prompt_column=prompt_column or values.get("dataset_prompt_column"),
        solution_column=solution_column or values.get("dataset_solution_column"),
        system_prompt=system_prompt if system_prompt is not None else values.get("system_prompt"),
    )
    for model in models:
        with eval_view.progress(model, enabled=not json_out) as on_progress:
            reports.append(ev.evaluate_model(
                model, data, num_samples=num_samples, temperature=temperature, top_p=top_p,
                max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed, rewards=reward_list,
                reward_weights=weights, reward_kwargs=reward_kwargs, chat_template=values.get("chat_template"),
                gguf_file=gguf_file, dtype=values.get("dtype") or "auto",
                trust_remote_code=bool(values.get("trust_remote_code")), backend=backend, progress=on_progress,
            ))
    _finish(reports, output, force, json_out, seed, saved=1 if baseline is not None else 0)


def _score_progress(enabled: bool):
    from r1cli.ui import score_view

    return score_view.progress(enabled=enabled)


def _finish(reports, output: Path | None, force: bool, json_out: bool, seed: int, saved: int = 0) -> None:
    """Write the new results (not the ``saved`` baseline ones), then show the report or the comparison."""
    from r1cli.evaluation import evaluate as ev
    from r1cli.ui import eval_view

    if output is not None:
        ev.write_results(reports[saved:], output, force=force)
    if len(reports) == 2:
        comparison = ev.compare(reports[0], reports[1], seed=seed)
        if json_out:
            eval_view.print_json(comparison.to_dict())
        else:
            eval_view.render_comparison(comparison)
        return
    if json_out:
        eval_view.print_json(reports[0].to_dict())
    else:
        eval_view.render_report(reports[0])
