"""Scoring a JSONL file of completions with the reward registry (the library behind ``r1 score``).

The file is streamed: lines are read in chunks, scored (in this process or in
``workers`` spawned processes, with a bounded number of chunks in flight and
results kept in input order), folded into running statistics, and optionally
written back with their scores. Memory stays flat whatever the file size.

:func:`score_file` returns a :class:`ScoreReport`; rendering is
``r1cli.ui.score_view``'s job. No Rich here.
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import json
import math
import os
import re
import resource
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from r1cli import errors
from r1cli.errors import DataError, R1Error, UsageError

from r1cli.rewards.calculator import DEFAULT_REWARDS  # noqa: E402  (re-exported: the defaults have one owner)
CHUNK_ROWS = 64
SNIPPET_CHARS = 400
# Suspicious-pattern thresholds: a "high" format / rigor score, and the share of
# rows that must show the pattern before it is flagged.
HIGH_FORMAT, HIGH_RIGOR, FLAG_SHARE = 0.8, 0.7, 0.1
OUTPUT_SUFFIXES = (".jsonl", ".ndjson", ".csv")
_SURROGATE = re.compile("[\ud800-\udfff]")


# --- the report ------------------------------------------------------------------------------


@dataclass
class RewardSummary:
    """Statistics of one reward (or of the weighted total) over the scored rows."""

    name: str
    weight: float | None
    count: int  # rows with a value (not None)
    nulls: int
    zeros: int
    mean: float | None
    std: float | None  # sample std (Bessel), as TRL logs reward_std
    min: float | None
    max: float | None
    histogram: list[int]
    edges: list[float]
    corr_accuracy: float | None = None
    timeouts: int = 0

    @property
    def zero_share(self) -> float | None:
        return self.zeros / self.count if self.count else None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["zero_share"] = self.zero_share
        return out


@dataclass
class Example:
    line: int
    total: float
    rewards: dict[str, float | None]
    completion: str
    solution: str | None


@dataclass
class Flag:
    code: str
    message: str
    rows: int = 0


@dataclass
class ScoreReport:
    path: str
    rows: int
    rewards: dict[str, RewardSummary]
    total: RewardSummary
    completion_column: str
    solution_column: str | None
    workers: int
    seconds: float
    skipped: int = 0
    skipped_lines: list[int] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    worst: list[Example] = field(default_factory=list)
    best: list[Example] = field(default_factory=list)
    output: str | None = None
    peak_memory_mb: dict[str, float] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        """The ``--json`` summary: ``rows``, ``rewards: {name: {mean, std, min, max, zeros, nulls, ...}}``, ``reward``."""
        return {
            "file": self.path,
            "rows": self.rows,
            "skipped": self.skipped,
            "skipped_lines": self.skipped_lines,
            "rewards": {name: s.to_dict() for name, s in self.rewards.items()},
            "reward": self.total.to_dict(),
            "flags": [asdict(f) for f in self.flags],
            "worst": [asdict(e) for e in self.worst],
            "best": [asdict(e) for e in self.best],
            "completion_column": self.completion_column,
            "solution_column": self.solution_column,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "rows_per_s": round(self.rows_per_s, 1),
            "output": self.output,
            "peak_memory_mb": self.peak_memory_mb,
        }


# --- running statistics ----------------------------------------------------------------------


class _Histogram:
    """Ten bins over a known range; for an unknown range, bins that double in width as values arrive."""

    BINS = 10

    def __init__(self, bounds: tuple[float, float] | None):
        self.counts = [0] * self.BINS
        self.fixed = bounds is not None and bounds[1] > bounds[0]
        self.lo, self.hi = bounds if self.fixed else (None, None)
        self.pending: list[float] = []

    def add(self, v: float) -> None:
        if not math.isfinite(v):
            return
        if self.lo is None:
            self.pending.append(v)
            if len(self.pending) >= 256:
                self._settle()
            return
        if not self.fixed:
            while v < self.lo or v > self.hi:
                self._grow(v > self.hi)
        self.counts[self._bin(v)] += 1

    def _bin(self, v: float) -> int:
        return min(self.BINS - 1, max(0, int((v - self.lo) / (self.hi - self.lo) * self.BINS)))

    def _settle(self) -> None:
        values, self.pending = self.pending, []
        if not values:
            return
        self.lo, self.hi = min(values), max(values)
        if self.hi == self.lo:
            self.lo, self.hi = self.lo - 0.5, self.hi + 0.5
        for v in values:
            self.counts[self._bin(v)] += 1

    def _grow(self, upward: bool) -> None:
        width = self.hi - self.lo
        merged = [self.counts[i] + self.counts[i + 1] for i in range(0, self.BINS, 2)]
        empty = [0] * (self.BINS - len(merged))
        if upward:
            self.hi = self.lo + 2 * width
            self.counts = merged + empty
        else:
            self.lo = self.hi - 2 * width
            self.counts = empty + merged

    def result(self) -> tuple[list[int], list[float]]:
        if self.lo is None:
            self._settle()
        if self.lo is None:
            return [0] * self.BINS, []
        step = (self.hi - self.lo) / self.BINS
        return list(self.counts), [self.lo + i * step for i in range(self.BINS + 1)]


class _Running:
    """Mean and variance (Welford), min, max, zeros and Nones of a stream of values."""

    def __init__(self, name: str, weight: float | None, bounds: tuple[float, float] | None):
        self.name, self.weight = name, weight
        self.n = self.nulls = self.zeros = 0
        self.mean = self.m2 = 0.0
        self.lo, self.hi = math.inf, -math.inf
        self.hist = _Histogram(bounds)
        self.timeouts = 0

    def add(self, v: float | None) -> None:
        if v is None or math.isnan(v):
            self.nulls += 1
            return
        self.n += 1
        delta = v - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (v - self.mean)
        self.lo, self.hi = min(self.lo, v), max(self.hi, v)
        self.zeros += v == 0
        self.hist.add(v)

    def summary(self, corr: float | None) -> RewardSummary:
        counts, edges = self.hist.result()
        return RewardSummary(
            name=self.name,
            weight=self.weight,
            count=self.n,
            nulls=self.nulls,
            zeros=self.zeros,
            mean=self.mean if self.n else None,
            std=math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None,
            min=self.lo if self.n else None,
            max=self.hi if self.n else None,
            histogram=counts,
            edges=edges,
            corr_accuracy=corr,
            timeouts=self.timeouts,
        )


class _Correlation:
    """Pearson correlation of a stream of pairs, over pairs where both values exist."""

    def __init__(self) -> None:
        self.n = 0
        self.sx = self.sy = self.sxx = self.syy = self.sxy = 0.0

    def add(self, x: float | None, y: float | None) -> None:
        if x is None or y is None or math.isnan(x) or math.isnan(y):
            return
        self.n += 1
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.syy += y * y
        self.sxy += x * y

    def value(self) -> float | None:
        if self.n < 2:
            return None
        vx = self.n * self.sxx - self.sx**2
        vy = self.n * self.syy - self.sy**2
        if vx <= 1e-12 * max(1.0, self.n * self.sxx) or vy <= 1e-12 * max(1.0, self.n * self.syy):
            return None
        return max(-1.0, min(1.0, (self.n * self.sxy - self.sx * self.sy) / math.sqrt(vx * vy)))


# --- scoring chunks (runs in worker processes too) --------------------------------------------


@dataclass
class _RowResult:
    line: int
    error: str | None = None  # "FILE:LINE: ..." message for an invalid row
    hint: str | None = None
    values: tuple = ()
    total: float = math.nan
    example: tuple | None = None  # (completion, solution) snippets when examples are wanted
    row: dict | None = None  # the row with its scores, when writing an output file


class _Scorer:
    """Turns raw JSONL lines into scores; one per process."""

    def __init__(self, refs, weights, kwargs_by_name, completion_column, solution_column, path, want_rows, want_examples):
        from r1cli.rewards import get_reward_calculator  # registers the built-ins in a fresh worker process

        self.calc = get_reward_calculator(refs, weights, kwargs_by_name)
        self.completion_column = completion_column
        self.solution_column = solution_column
        self.path = path
        self.want_rows = want_rows
        self.want_examples = want_examples
        self.needs_gold = "solution" in self.calc.columns

    def _gold_key(self, row: dict) -> str | None:
        if self.solution_column is not None:
            return self.solution_column if self.solution_column in row else None
        return next((k for k in ("solution", "answer") if k in row), None)

    def score_chunk(self, chunk: list[tuple[int, bytes]]) -> tuple[list[_RowResult], dict[str, int], float]:
        results: list[_RowResult] = []
        valid: list[tuple[_RowResult, dict, str | None]] = []
        for line, raw in chunk:
            try:
                row = json.loads(raw)
            except UnicodeDecodeError:
                results.append(_RowResult(line, f"{self.path}:{line}: not valid UTF-8",
                                          "save the file as UTF-8, or pass --skip-invalid to skip bad lines"))
                continue
            except ValueError as exc:
                results.append(_RowResult(line, f"{self.path}:{line}: invalid JSON ({exc})"))
                continue
            except RecursionError:
                results.append(_RowResult(line, f"{self.path}:{line}: invalid JSON (nested too deeply)"))
                continue
            if not isinstance(row, dict):
                results.append(_RowResult(line, f"{self.path}:{line}: expected a JSON object, got {_json_type(row)}",
                                          "each line must be one object, e.g. {\"completion\": ..., \"solution\": ...}"))
                continue
            if self.completion_column not in row:
                results.append(self._missing(line, row, f"column {self.completion_column!r}", "--completion-column"))
                continue
            gold_key = self._gold_key(row)
            if gold_key is None and (self.needs_gold or self.solution_column is not None):
                wanted = f"column {self.solution_column!r}" if self.solution_column else "gold column (solution or answer)"
                results.append(self._missing(line, row, wanted, "--solution-column"))
                continue
            result = _RowResult(line)
            results.append(result)
            valid.append((result, row, gold_key))
        timeouts: dict[str, int] = {}
        if valid:
            timeouts = self._score(valid)
        return results, timeouts, _max_rss_mb()

    def _missing(self, line: int, row: dict, wanted: str, flag: str) -> _RowResult:
        have = ", ".join(map(str, row)) or "none"
        return _RowResult(line, f"{self.path}:{line}: no {wanted}; the columns are: {have}", f"choose the column with {flag}")

    def _score(self, valid: list[tuple[_RowResult, dict, str | None]]) -> dict[str, int]:
        from r1cli.rewards.registry import RESERVED_KWARGS

        rows = [row for _, row, _ in valid]
        completions = [row[self.completion_column] for row in rows]
        skip = {self.completion_column} | (RESERVED_KWARGS - {"completion_ids"})
        keys = [k for k in rows[0] if k not in skip]
        columns: dict[str, list] = {k: [row.get(k) for row in rows] for k in keys}
        if "prompt" in columns:
            columns["prompts"] = columns.pop("prompt")  # TRL passes the prompt column as `prompts`
        golds = [row.get(key) if key else None for _, row, key in valid]
        if any(key is not None for _, _, key in valid):
            columns["solution"] = golds
        scores = self.calc.score(completions, **columns)
        names = scores.names
        for i, (result, row, _) in enumerate(valid):
            result.values = tuple(scores.per_reward[name][i] for name in names)
            result.total = scores.total[i]
            if self.want_examples:
                result.example = (_snippet(completions[i]), None if golds[i] is None else _snippet(golds[i], 200))
            if self.want_rows:
                out = dict(row)
                out["rewards"] = dict(zip(names, result.values))
                out["reward"] = None if math.isnan(result.total) else result.total
                result.row = out
        return scores.timeouts


def _json_type(value: Any) -> str:
    """A parsed JSON value's type, as JSON names it."""
    if value is None:
        return "null"
    names = {bool: "a boolean", str: "a string", list: "an array", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _snippet(value: Any, limit: int = SNIPPET_CHARS) -> str:
    from r1cli.rewards.text import completion_text

    text = completion_text(value) if not isinstance(value, (int, float)) else str(value)
    text = text if len(text) <= limit else text[: limit // 2] + " … " + text[-limit // 2 :]
    # Snippets are printed; a lone surrogate (valid in JSON) cannot be, so it is shown as U+FFFD.
    return _SURROGATE.sub("\ufffd", text)


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


_worker: _Scorer | R1Error | None = None


def _init_worker(*args: Any) -> None:
    global _worker
    try:
        _worker = _Scorer(*args)
    except R1Error as exc:  # reported with the first chunk: a failing initializer breaks the pool
        _worker = exc


def _worker_chunk(chunk: list[tuple[int, bytes]]):
    if isinstance(_worker, R1Error):
        return ("error", type(_worker).__name__, _worker.message, _worker.hint)
    try:
        return _worker.score_chunk(chunk)
    except R1Error as exc:  # R1Error's hint does not survive pickling; send the parts
        return ("error", type(exc).__name__, exc.message, exc.hint)


def _reraise(failure: tuple) -> None:
    _, cls_name, message, hint = failure
    cls = getattr(errors, cls_name, R1Error)
    raise cls(message, hint=hint)


# --- reading and orchestrating ---------------------------------------------------------------


def read_lines(path: Path) -> Iterator[tuple[int, bytes, int]]:
    """(line number, raw line, bytes read so far) for every non-blank line; binary, so bad UTF-8 gets a line number."""
    done = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            done += len(raw)
            if raw.strip():
                yield number, raw, done


def _chunks(lines: Iterator[tuple[int, bytes, int]], size: int) -> Iterator[tuple[list[tuple[int, bytes]], int]]:
    chunk: list[tuple[int, bytes]] = []
    done = 0
    for number, raw, done in lines:
        chunk.append((number, raw))
        if len(chunk) >= size:
            yield chunk, done
            chunk = []
    if chunk:
        yield chunk, done


def _run(chunks, workers: int, init_args: tuple) -> Iterator[tuple[Any, int]]:
    """Score chunks in order; with workers > 1, at most 4 chunks per worker in flight."""
    if workers <= 1:
        scorer = _Scorer(*init_args)
        for chunk, done in chunks:
            yield scorer.score_chunk(chunk), done
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the parent may run threads (the progress display), which fork would copy half-way.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=init_args)
    pending: deque = deque()
    try:
        for chunk, done in chunks:
            pending.append((pool.submit(_worker_chunk, chunk), done))
            if len(pending) >= 4 * workers:
                future, at = pending.popleft()
                yield future.result(), at
        while pending:
            future, at = pending.popleft()
            yield future.result(), at
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Fold:
    """Folds scored rows into statistics, correlations, patterns and examples; memory does not grow with rows."""

    def __init__(self, calc: Any, show_worst: int, show_best: int):
        self.names = names = calc.names
        ranges = calc.ranges()
        self.stats = {n: _Running(n, w, ranges[n]) for n, w in zip(names, calc.weights)}
        self.total = _Running("reward", None, _total_bounds(ranges, calc.weights))
        self.acc = next((n for n, s in zip(names, calc.specs) if s.name == "accuracy"), None)
        self.corr = {n: _Correlation() for n in names if n != self.acc} if self.acc else {}
        self.corr_total = _Correlation()
        self.patterns = _Patterns(names, calc.specs, self.acc)
        self.show_worst, self.show_best = show_worst, show_best
        self.worst: list = []
        self.best: list = []
        self.rows = 0

    def add(self, r: _RowResult) -> None:
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
            _keep(self.worst, self.show_worst, (-total, -r.line, example))
            _keep(self.best, self.show_best, (total, -r.line, example))

    def summaries(self) -> tuple[dict[str, RewardSummary], RewardSummary]:
        per_reward = {n: self.stats[n].summary(self.corr[n].value() if n in self.corr else None) for n in self.names}
        return per_reward, self.total.summary(self.corr_total.value() if self.acc else None)

    def examples(self) -> tuple[list[Example], list[Example]]:
        return [_example(e) for e in sorted(self.worst, reverse=True)], [_example(e) for e in sorted(self.best, reverse=True)]


def _check_output(out_path: Path | None, path: Path, force: bool) -> None:
    from r1cli.files import refuse_overwrite

    if out_path is None:
        return
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UsageError(f"cannot write {out_path.name}: unknown format", hint="use a .jsonl or .csv file name")
    if out_path.resolve() == path.resolve():
        raise UsageError("the output file would replace the input file", hint="choose another --output")
    refuse_overwrite(out_path, force)


def score_file(
    path: str | os.PathLike,
    *,
    rewards: list[str] | None = None,
    weights: list[float] | None = None,
    reward_kwargs: dict | None = None,
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
    """Score every row of a JSONL file; see the module docstring. Raises :class:`DataError` on bad input.

    ``rewards`` default to ``accuracy, format, tag_count``; ``workers=0`` means
    one per CPU core. ``on_progress(rows, bytes_read, total_bytes)`` is called
    after each chunk. With ``workers > 1`` every reward must be resolvable by
    name or path in a fresh process (built-ins, plugins in importable modules,
    ``module:function``, ``file.py:function``, entry points).
    """
    from r1cli.files import JSON_ERRORS, atomic_open
    from r1cli.rewards import get_reward_calculator

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if workers < 0:
        raise UsageError(f"--workers must be 0 (all cores) or more, got {workers}")
    workers = workers or os.cpu_count() or 1
    # Unknown rewards, bad parameters and an existing output fail here, before any work.
    calc = get_reward_calculator(list(rewards) if rewards else list(DEFAULT_REWARDS), weights, reward_kwargs)
    out_path = Path(output) if output is not None else None
    _check_output(out_path, path, force)

    fold = _Fold(calc, show_worst, show_best)
    init_args = (calc.refs, calc.weights, dict(zip(calc.names, calc.kwargs)), completion_column, solution_column,
                 str(path), out_path is not None, show_worst > 0 or show_best > 0)
    total_bytes = path.stat().st_size
    skipped_lines: list[int] = []
    skipped = 0
    first_error: _RowResult | None = None
    worker_rss = 0.0
    started = time.perf_counter()
    writer = _Writer(out_path, calc.names) if out_path is not None else None
    results = _run(_chunks(read_lines(path), chunk_rows), workers, init_args)
    try:
        opened = atomic_open(out_path, "w", force=force, errors=JSON_ERRORS) if out_path is not None else None
        with opened or contextlib.nullcontext() as handle:
            for result, done in results:
                if isinstance(result, tuple) and result[0] == "error":
                    _reraise(result)
                row_results, timeouts, rss = result
                worker_rss = max(worker_rss, rss)
                for name, count in timeouts.items():
                    fold.stats[name].timeouts += count
                for r in row_results:
                    if r.error is None:
                        fold.add(r)
                        if writer is not None:
                            writer.write(handle, r.row)
                        continue
                    if not skip_invalid:
                        raise DataError(r.error, hint=r.hint or "fix the line, or pass --skip-invalid to skip bad lines")
                    first_error = first_error or r
                    skipped += 1
                    if len(skipped_lines) < 20:
                        skipped_lines.append(r.line)
                if on_progress is not None:
                    on_progress(fold.rows, done, total_bytes)
            if fold.rows == 0:
                if first_error is not None:
                    raise DataError(f"none of the {skipped} non-blank lines could be scored; the first: {first_error.error}", hint=first_error.hint)
                raise DataError(f"{path} is empty: nothing to score", hint="give a JSONL file with one JSON object per line")
    finally:
        results.close()  # stops worker processes now, even when a bad line ended the run early

    per_reward, total = fold.summaries()
    worst, best = fold.examples()
    memory = {"main": round(_max_rss_mb(), 1)}
    if workers > 1:
        memory["worker"] = round(worker_rss, 1)
    report = ScoreReport(
        path=str(path),
        rows=fold.rows,
        rewards=per_reward,
        total=total,
        completion_column=completion_column,
        solution_column=solution_column,
        workers=workers,
        seconds=time.perf_counter() - started,
        skipped=skipped,
        skipped_lines=skipped_lines,
        worst=worst,
        best=best,
        output=str(out_path) if out_path is not None else None,
        peak_memory_mb=memory,
    )
    report.flags = fold.patterns.flags(report, fold.acc)
    return report


def _total_bounds(ranges: dict, weights: list[float]) -> tuple[float, float] | None:
    if any(r is None for r in ranges.values()):
        return None
    lo = sum(min(w * r[0], w * r[1]) for r, w in zip(ranges.values(), weights))
    hi = sum(max(w * r[0], w * r[1]) for r, w in zip(ranges.values(), weights))
    # None for one row can drop a negative or positive part: the total can reach 0 too.
    return (min(lo, 0.0), max(hi, 0.0))


def _keep(heap: list, limit: int, item: tuple) -> None:
    # A min-heap of the `limit` largest keys: worst uses -total as key, best uses total.
    if limit <= 0:
        return
    if len(heap) < limit:
        heapq.heappush(heap, item)
    elif item[:2] > heap[0][:2]:
        heapq.heapreplace(heap, item)


def _example(item: tuple) -> Example:
    line, total, values, snippets = item[2]
    completion, solution = snippets or ("", None)
    return Example(line=line, total=total, rewards=values, completion=completion, solution=solution)


class _Writer:
    """Writes scored rows as JSONL, or as CSV (header from the first row; nested values as JSON)."""

    def __init__(self, path: Path, names: list[str]):
        self.csv = path.suffix.lower() == ".csv"
        self.names = names
        self.fields: list[str] | None = None
        self.csv_writer = None

    def write(self, handle, row: dict) -> None:
        if not self.csv:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        flat = {k: v for k, v in row.items() if k not in ("rewards", "reward")}
        flat.update({f"rewards.{n}": row["rewards"][n] for n in self.names})
        flat["reward"] = row["reward"]
        if self.csv_writer is None:
            self.fields = list(flat)
            self.csv_writer = csv.DictWriter(handle, fieldnames=self.fields, extrasaction="ignore", restval="")
            self.csv_writer.writeheader()
        self.csv_writer.writerow({k: _cell(v) for k, v in flat.items()})


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


class _Patterns:
    """Counts rows that look like reward hacking: a high format / rigor score with a wrong answer."""

    def __init__(self, names: list[str], specs: list, acc: str | None):
        by_spec = {s.name: n for n, s in zip(reversed(names), reversed(specs))}
        self.acc = acc
        self.format = by_spec.get("format")
        self.rigor = by_spec.get("mathematical_rigor")
        self.format_wrong = self.rigor_wrong = self.judged = 0

    def add(self, values: dict) -> None:
        if self.acc is None or values[self.acc] is None:
            return
        self.judged += 1
        if values[self.acc] != 0.0:
            return
        if self.format and (values[self.format] or 0.0) >= HIGH_FORMAT:
            self.format_wrong += 1
        if self.rigor and (values[self.rigor] or 0.0) >= HIGH_RIGOR:
            self.rigor_wrong += 1

    def flags(self, report: ScoreReport, acc: str | None) -> list[Flag]:
        flags: list[Flag] = []
        rows = report.rows
        if acc is not None:
            s = report.rewards[acc]
            unparsed = s.nulls - s.timeouts
            if s.count == 0 and unparsed > 0:
                flags.append(Flag("gold_never_parseable", f"the gold answer could not be parsed on any row: is {report.solution_column or 'solution/answer'} the right column?", unparsed))
            elif unparsed > 0:
                flags.append(Flag("gold_unparseable", f"the gold answer could not be parsed on {unparsed} row(s); accuracy leaves them out", unparsed))
            for name, count, what, threshold in (
                (self.format, self.format_wrong, "format", HIGH_FORMAT),
                (self.rigor, self.rigor_wrong, "mathematical_rigor", HIGH_RIGOR),
            ):
                if name and self.judged and count / self.judged >= FLAG_SHARE:
                    flags.append(Flag(f"high_{what}_wrong_answer", f"{count} row(s) ({count / self.judged:.0%}) score {what} >= {threshold} with a wrong answer: the structure is rewarded without the mathematics", count))
        for name, s in report.rewards.items():
            if s.timeouts:
                flags.append(Flag("timeouts", f"{name}: {s.timeouts} verification(s) timed out and were left out", s.timeouts))
            if rows > 1 and s.count > 1 and s.min == s.max:
                flags.append(Flag("constant", f"{name} is {s.min:g} on every row: no learning signal for GRPO", s.count))
        if report.skipped:
            flags.append(Flag("skipped_lines", f"{report.skipped} invalid line(s) skipped (first: line {report.skipped_lines[0]})", report.skipped))
        return flags
