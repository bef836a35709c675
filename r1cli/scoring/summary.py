"""``score_file``: stream a JSONL file's scored rows into a :class:`ScoreReport` (the library behind ``r1 score``).

The rows come from :class:`r1cli.scoring.stream.RowStream` (the core ``r1 eval
--completions`` shares); :class:`Fold` turns them into running statistics,
correlations with accuracy, suspicious patterns and example rows, and
``--output`` writes each row back as it passes. Memory stays flat whatever
the file size.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path
from typing import Callable

from r1cli.errors import UsageError
from r1cli.files import WriteError
from r1cli.rewards.calculator import RewardCalculator
from r1cli.scoring.patterns import Patterns
from r1cli.scoring.report import AccuracySummary, Example, RewardSummary, ScoreReport
from r1cli.scoring.rows import CHUNK_ROWS, RowSpec, ScoredRow, max_rss_mb
from r1cli.scoring.stats import Correlation, Running, keep_top, total_bounds
from r1cli.scoring.stream import RowStream
from r1cli.scoring.writer import Writer, check_output


class Fold:
    """Folds scored rows into statistics, correlations, patterns and examples; memory does not grow with rows."""

    def __init__(self, calc: RewardCalculator, show_worst: int, show_best: int):
        self.names = names = calc.names
        ranges = calc.ranges()
        self.stats = {n: Running(n, w, ranges[n]) for n, w in zip(names, calc.weights)}
        self.total = Running("reward", None, total_bounds(ranges, calc.weights))
        self.acc = calc.accuracy_name
        self.corr = {n: Correlation() for n in names if n != self.acc} if self.acc else {}
        self.corr_total = Correlation()
        self.patterns = Patterns(names, calc.specs, self.acc)
        self.show_worst, self.show_best = show_worst, show_best
        self.worst: list = []
        self.best: list = []
        self.rows = 0

    def add(self, r: ScoredRow) -> None:
        self.rows += 1
        values = dict(zip(self.names, r.values))
        for name, v in values.items():
            self.stats[name].add(v)
        total = None if math.isnan(r.total) else r.total
        self.total.add(total)
        if self.acc:
            for name, c in self.corr.items():
                c.add(values[self.acc], values[name])
            self.corr_total.add(values[self.acc], total)
        self.patterns.add(values)
        if total is not None and r.example is not None:
            example = (r.line, total, values, r.example)
            keep_top(self.worst, self.show_worst, (-total, -r.line, example))
            keep_top(self.best, self.show_best, (total, -r.line, example))

    def summaries(self) -> tuple[dict[str, RewardSummary], RewardSummary]:
        per_reward = {n: self.stats[n].summary(self.corr[n].value() if n in self.corr else None) for n in self.names}
        return per_reward, self.total.summary(self.corr_total.value() if self.acc else None)

    def accuracy(self) -> AccuracySummary | None:
        if self.acc is None:
            return None
        s = self.stats[self.acc]
        return AccuracySummary(self.acc, correct=s.ones, verifiable=s.n, unverified=s.nulls)

    def examples(self) -> tuple[list[Example], list[Example]]:
        return [_example(e) for e in sorted(self.worst, reverse=True)], [_example(e) for e in sorted(self.best, reverse=True)]


def _example(item: tuple) -> Example:
    line, total, values, snippets = item[2]
    completion, solution = snippets or ("", None)
    return Example(line=line, total=total, rewards=values, completion=completion, solution=solution)


def score_file(
    path: str | os.PathLike,
    calc: RewardCalculator | None = None,
    *,
    completion_column: str = "completion",
    solution_column: str | None = None,
    workers: int = 1,
    skip_invalid: bool = False,
    output: str | os.PathLike | None = None,
    force: bool = False,
    show_worst: int = 0,
    show_best: int = 0,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> ScoreReport:
    """Score every row of a JSONL file with ``calc``; see the module docstring. Raises :class:`DataError` on bad input.

    ``calc`` is the command's reward calculator (:func:`r1cli.rewards.selection.calculator_for`;
    None: the default rewards). ``workers=0`` means one per CPU core.
    ``on_progress(rows, bytes_read, total_bytes)`` is called after each chunk.
    """
    from r1cli.files import JSON_ERRORS, atomic_open, check_writable
    from r1cli.scoring.inputs import local_input

    if calc is None:
        from r1cli.rewards.selection import calculator_for

        calc = calculator_for(None)
    if workers < 0:
        raise UsageError(f"--workers must be 0 (all cores) or more, got {workers}")
    workers = workers or os.cpu_count() or 1
    out_path = Path(output) if output is not None else None
    check_output(out_path, Path(path), force)  # an existing output fails here, before any work
    if out_path is not None:
        check_writable(out_path, force=force)  # a read-only or full destination too

    fold = Fold(calc, show_worst, show_best)
    started = time.perf_counter()
    failed: WriteError | None = None
    with local_input(path) as source:  # standard input, a FIFO or a gzip file: a spool r1 removes
        spec = RowSpec(source.name, completion_column, solution_column, keep_rows=out_path is not None,
                       keep_examples=show_worst > 0 or show_best > 0)
        stream = RowStream(source.path, calc, spec, workers=workers, skip_invalid=skip_invalid, chunk_rows=chunk_rows,
                           on_progress=on_progress)
        rows = iter(stream)
        writer = Writer(out_path, calc.names) if out_path is not None else None
        try:
            with atomic_open(out_path, "w", force=force, errors=JSON_ERRORS) if out_path is not None else contextlib.nullcontext() as handle:
                for row in rows:
                    fold.add(row)
                    if writer is not None:
                        writer.write(handle, row.row)
        except WriteError as exc:  # the scores are still worth having: finish them, then say the file failed
            failed = exc
            for row in rows:
                fold.add(row)
    for name, count in stream.timeouts.items():
        fold.stats[name].timeouts += count

    per_reward, total = fold.summaries()
    worst, best = fold.examples()
    memory = {"main": round(max_rss_mb(), 1)}
    if workers > 1:
        memory["worker"] = round(stream.worker_rss_mb, 1)
    report = ScoreReport(
        path=source.name, rows=fold.rows, rewards=per_reward, total=total, completion_column=completion_column,
        solution_column=solution_column, workers=workers, seconds=time.perf_counter() - started,
        accuracy=fold.accuracy(), skipped=stream.skipped, skipped_lines=stream.skipped_lines, worst=worst, best=best,
        output=str(out_path) if out_path is not None and failed is None else None, peak_memory_mb=memory,
    )
    report.flags = fold.patterns.flags(report)
    if failed is not None:
        raise NotSaved(failed, report)
    return report


class NotSaved(WriteError):
    """The scores were computed but ``--output`` could not be written: show ``report``, then this one-line error."""

    def __init__(self, error: WriteError, report: ScoreReport):
        super().__init__(error.message, hint=error.hint)
        self.report = report
