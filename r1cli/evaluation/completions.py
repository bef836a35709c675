"""Evaluating completions that already exist (``r1 eval --completions FILE``): no model, one pass over the file.

The file's scored rows come from :class:`r1cli.scoring.stream.RowStream`, the
core ``r1 score`` uses; rows with the same prompt (and gold, and model) are
the K samples of one item. Each sample keeps its scores, its answer (parsed
once, when it was scored) and where its row starts in the source file, not
its completion: ``--output`` reads completions back from the source by
offset, so memory stays flat; only standard input, a FIFO or a gzip file is
first copied to a temporary spool file, removed with the report.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path
from typing import Callable

from r1cli.evaluation.results import EvalReport, Item, Sample, SourceRows, finish_item, finite, format_name, summarise
from r1cli.scoring.batch import answer_timeout
from r1cli.rewards.calculator import RewardCalculator


def evaluate_completions(
    path: str | Path,
    calc: RewardCalculator | None = None,
    *,
    completion_column: str = "completion",
    prompt_column: str = "prompt",
    solution_column: str | None = None,
    workers: int = 1,
    skip_invalid: bool = False,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> EvalReport:
    """Metrics of the completions in ``path``, scored with ``calc.with_verifier()`` (None: the default rewards).

    One row per completion, as ``r1 score`` reads them; ``num_tokens`` (or
    ``completion_ids``) in a row gives its length in tokens. A results file
    written by ``r1 eval --output`` (one row per item, with ``samples``) is
    read too, so a run can be re-scored with other rewards.
    """
    from r1cli.scoring.inputs import open_input, release

    if calc is None:
        from r1cli.rewards.selection import calculator_for

        calc = calculator_for(None)
    calc = calc.with_verifier()
    source = open_input(path)  # standard input, a FIFO or a gzip file: r1's spool, kept while the report reads it
    try:
        report = _evaluate(source, calc, completion_column=completion_column, prompt_column=prompt_column,
                           solution_column=solution_column, workers=workers, skip_invalid=skip_invalid,
                           on_progress=on_progress)
    except BaseException:
        release(source)
        raise
    if source.spooled:
        weakref.finalize(report.stored, release, source)  # removed with the report, or at exit
    return report


def _evaluate(source, calc: RewardCalculator, *, completion_column: str, prompt_column: str, solution_column: str | None,
              workers: int, skip_invalid: bool, on_progress) -> EvalReport:
    from r1cli.scoring.rows import RowSpec, is_results_file
    from r1cli.scoring.stream import RowStream

    path, name = source.path, source.name
    started = time.perf_counter()
    results_file = is_results_file(path)
    if results_file:
        completion_column, prompt_column, solution_column = "completion", "prompt", "solution"
    spec = RowSpec(name, completion_column, solution_column, prompt_column, results_file=results_file, for_eval=True)
    stream = RowStream(path, calc, spec, workers=max(workers, 1), skip_invalid=skip_invalid, on_progress=on_progress)

    groups: dict[str, Item] = {}
    parsed: dict[int, list] = {}
    formats: list[list] = []
    measure_format = format_name(calc) is None
    for index, row in enumerate(stream):
        key = row.group if row.group is not None else f"#{index}"
        item = groups.get(key)
        if item is None:
            item = groups[key] = Item(len(groups), row.prompt, row.gold, None, [])
            parsed[item.index] = []
            formats.append([])
        item.samples.append(Sample(
            completion="", answer=row.answer_text, num_tokens=row.num_tokens,
            rewards=dict(zip(calc.names, row.values)), reward=finite(row.total), finished=row.finished,
            source=(row.offset, row.sample),
        ))
        parsed[item.index].append(row.answer)
        if measure_format:
            formats[item.index].append(row.format_score)
    items = list(groups.values())
    for item in items:
        finish_item(item, parsed.pop(item.index), answer_timeout(calc))
    format_scores = [v for item in items for v in formats[item.index]] if measure_format else None
    return EvalReport(
        label=name, dataset=name, split=None, benchmark=None,
        columns={"prompt": prompt_column, "completion": completion_column, "solution": solution_column},
        settings={"source": "completions", "rewards": list(calc.names), "weights": list(calc.weights)},
        metrics=summarise(items, calc, format_scores), items=items, accuracy_reward=calc.accuracy_name,
        seconds=time.perf_counter() - started, skipped=stream.skipped,
        stored=SourceRows(path, completion_column),
    )
