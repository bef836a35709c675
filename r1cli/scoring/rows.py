"""From JSONL lines to scored rows: reading, checking and scoring a chunk of lines (in this process or a worker).

:func:`read_lines` yields raw lines with their numbers and byte offsets;
:class:`Scorer` turns a chunk of them into :class:`ScoredRow` objects: an
error message for an invalid line, else the row's scores (and, as asked by
its :class:`RowSpec`, the row to write back, example snippets, or what
``r1 eval`` groups and shows: prompt, gold, tokens, the parsed answer). The
gold column is the one named, else the first of
:data:`r1cli.data.prompts.SOLUTION_COLUMNS` a row has. Results files written
by ``r1 eval --output`` (one line per item, its ``samples`` inside) are read
as one row per sample, straight from their lines.
Inputs that are not regular files (standard input, FIFOs, gzip) are made
readable by offset first, in :mod:`r1cli.scoring.inputs`.
"""

from __future__ import annotations

import json
import math
import re
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from r1cli.data.prompts import SOLUTION_COLUMNS
from r1cli.rewards.calculator import RewardCalculator

CHUNK_ROWS = 64
SNIPPET_CHARS = 400
_SURROGATE = re.compile("[\ud800-\udfff]")
GOLD_COLUMNS = ", ".join(SOLUTION_COLUMNS[:-1]) + f" or {SOLUTION_COLUMNS[-1]}"

Line = tuple[int, int, bytes]  # (line number, byte offset, raw line)
def read_lines(path: Path) -> Iterator[tuple[int, bytes, int]]:
    """(line number, raw line, bytes read so far) for every non-blank line; binary, so bad UTF-8 gets a line number."""
    done = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            done += len(raw)
            if raw.strip():
                yield number, raw, done


def chunks(path: Path, size: int) -> Iterator[tuple[list[Line], int]]:
    """Chunks of ``size`` lines as (line number, offset, raw), with the bytes read after each chunk."""
    chunk: list[Line] = []
    done = 0
    for number, raw, done in read_lines(path):
        chunk.append((number, done - len(raw), raw))
        if len(chunk) >= size:
            yield chunk, done
            chunk = []
    if chunk:
        yield chunk, done


def is_results_file(path: Path) -> bool:
    """Is this an ``r1 eval --output`` file (its first line has ``samples`` and no ``completion``)?"""
    for _, raw, _ in read_lines(path):
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError):
            return False  # the scorer reports the bad line with its number
        return isinstance(row, dict) and isinstance(row.get("samples"), list) and "completion" not in row
    return False


@dataclass(frozen=True)
class RowSpec:
    """How to read and what to keep of each row (sent to worker processes)."""

    path: str
    completion_column: str = "completion"
    solution_column: str | None = None
    prompt_column: str = "prompt"
    results_file: bool = False  # an r1 eval --output file: one line per item, its samples inside
    keep_rows: bool = False  # the row with its scores, for --output
    keep_examples: bool = False  # completion and gold snippets, for --show-worst/--show-best
    for_eval: bool = False  # answers (parsed once), prompt, gold, group key, tokens, format score


@dataclass
class ScoredRow:
    line: int
    offset: int = 0  # byte offset of its line in the source file
    sample: int | None = None  # its index in the line's `samples` (results files)
    error: str | None = None  # "FILE:LINE: ..." message for an invalid row
    hint: str | None = None
    values: tuple = ()
    total: float = math.nan
    example: tuple | None = None  # (completion, solution) snippets
    row: dict | None = None  # the row with its scores
    # for r1 eval
    group: str | None = None  # rows with the same prompt, gold (and model) are one item's samples
    prompt: Any = None
    gold: Any = None
    num_tokens: int | None = None
    finished: bool | None = None
    answer: Any = None  # the parsed answer (accuracy.Answer) or None
    answer_text: str | None = None
    format_score: float | None = None  # the registry's `format`, when it is not among the rewards


class Scorer:
    """Turns raw JSONL lines into scored rows; one per process."""

    def __init__(self, calc: RewardCalculator, spec: RowSpec):
        self.calc, self.spec = calc, spec
        self.needs_gold = "solution" in calc.columns
        self.format_calc = None
        if spec.for_eval and not any(s.name == "format" for s in calc.specs):
            from r1cli.rewards import get_reward_calculator

            self.format_calc = get_reward_calculator(["format"])

    def score_chunk(self, chunk: list[Line]) -> tuple[list[ScoredRow], dict[str, int], float]:
        results: list[ScoredRow] = []
        valid: list[tuple[ScoredRow, dict, str | None]] = []
        for line, offset, raw in chunk:
            for result, row in self._rows(line, offset, raw):
                results.append(result)
                if result.error is not None:
                    continue
                gold_key = self._gold_key(row)
                if gold_key is None and (self.needs_gold or self.spec.solution_column is not None):
                    wanted = f"column {self.spec.solution_column!r}" if self.spec.solution_column else f"gold column ({GOLD_COLUMNS})"
                    results[-1] = self._missing(line, row, wanted, "--solution-column")
                    continue
                valid.append((result, row, gold_key))
        timeouts: dict[str, int] = {}
        if valid:
            timeouts = self._score(valid)
        return results, timeouts, max_rss_mb()

    def _rows(self, line: int, offset: int, raw: bytes) -> list[tuple[ScoredRow, dict | None]]:
        path = self.spec.path
        try:
            row = json.loads(raw)
        except UnicodeDecodeError:
            return [(ScoredRow(line, offset, error=f"{path}:{line}: not valid UTF-8",
                               hint="save the file as UTF-8, or pass --skip-invalid to skip bad lines"), None)]
        except ValueError as exc:
            return [(ScoredRow(line, offset, error=f"{path}:{line}: invalid JSON ({exc})"), None)]
        except RecursionError:
            return [(ScoredRow(line, offset, error=f"{path}:{line}: invalid JSON (nested too deeply)"), None)]
        if not isinstance(row, dict):
            return [(ScoredRow(line, offset, error=f"{path}:{line}: expected a JSON object, got {_json_type(row)}",
                               hint="each line must be one object, e.g. {\"completion\": ..., \"solution\": ...}"), None)]
        if self.spec.results_file:
            return self._samples(line, offset, row)
        if self.spec.completion_column not in row:
            return [(self._missing(line, row, f"column {self.spec.completion_column!r}", "--completion-column"), None)]
        problem = completion_problem(row[self.spec.completion_column])
        if problem is not None:
            return [(self._not_text(line, offset, f"column {self.spec.completion_column!r}", problem), None)]
        return [(ScoredRow(line, offset), row)]

    def _not_text(self, line: int, offset: int, where: str, problem: str) -> ScoredRow:
        return ScoredRow(line, offset, error=f"{self.spec.path}:{line}: {where} holds {problem}, not a completion",
                         hint="a completion is a string or a list of chat messages ({\"role\": ..., \"content\": ...}); "
                              "fix the line, or pass --skip-invalid to skip it")

    def _samples(self, line: int, offset: int, item: dict) -> list[tuple[ScoredRow, dict | None]]:
        """One row per sample of an ``r1 eval --output`` line (prompt, completion, solution, num_tokens...)."""
        try:
            rows = [{"prompt": item.get("prompt"), "completion": s["completion"], "solution": item.get("gold"),
                     "num_tokens": s.get("num_tokens"), "finished": s.get("finished"), "model": item.get("model")}
                    for s in item["samples"]]
        except (KeyError, TypeError) as exc:
            return [(ScoredRow(line, offset, error=f"{self.spec.path}:{line}: not an r1 eval results line ({type(exc).__name__}: {exc})",
                               hint="each line needs prompt, gold and samples[].completion"), None)]
        for j, row in enumerate(rows):
            problem = completion_problem(row["completion"])
            if problem is not None:
                return [(self._not_text(line, offset, f"samples[{j}].completion", problem), None)]
        return [(ScoredRow(line, offset, sample=j), row) for j, row in enumerate(rows)]

    def _gold_key(self, row: dict) -> str | None:
        if self.spec.solution_column is not None:
            return self.spec.solution_column if self.spec.solution_column in row else None
        return next((k for k in SOLUTION_COLUMNS if k in row), None)

    def _missing(self, line: int, row: dict, wanted: str, flag: str) -> ScoredRow:
        have = ", ".join(map(str, row)) or "none"
        return ScoredRow(line, error=f"{self.spec.path}:{line}: no {wanted}; the columns are: {have}",
                         hint=f"choose the column with {flag}")

    def _score(self, valid: list[tuple[ScoredRow, dict, str | None]]) -> dict[str, int]:
        from r1cli.rewards.calling import columns_of
        from r1cli.scoring.batch import score_batch

        spec = self.spec
        rows = [row for _, row, _ in valid]
        completions = [row[spec.completion_column] for row in rows]
        columns = columns_of(rows, skip=[spec.completion_column, spec.prompt_column])
        golds = [row.get(key) if key else None for _, row, key in valid]
        if any(key is not None for _, _, key in valid):
            columns["solution"] = golds
        prompts = [row.get(spec.prompt_column) for row in rows] if spec.prompt_column in rows[0] else None
        ids = [row.get("completion_ids") for row in rows] if "completion_ids" in rows[0] else None
        batch = score_batch(self.calc, completions, prompts=prompts, completion_ids=ids, columns=columns,
                            answers=spec.for_eval)
        scores = batch.scores
        names = scores.names
        formats = None
        if self.format_calc is not None:
            formats = self.format_calc.score(completions).per_reward["format"]
        for i, (result, row, _) in enumerate(valid):
            result.values = tuple(scores.per_reward[name][i] for name in names)
            result.total = scores.total[i]
            if spec.keep_examples:
                result.example = (_snippet(completions[i]), None if golds[i] is None else _snippet(golds[i], 200))
            if spec.keep_rows:
                out = dict(row)
                out["rewards"] = dict(zip(names, result.values))
                out["reward"] = None if math.isnan(result.total) else result.total
                result.row = out
            if spec.for_eval:
                prompt = row.get(spec.prompt_column)
                result.prompt, result.gold = prompt, golds[i]
                if prompt is not None:
                    result.group = json.dumps([prompt, golds[i], row.get("model")], sort_keys=True, default=str)
                result.num_tokens = _tokens(row)
                result.finished = row.get("finished")
                result.answer, result.answer_text = batch.answers[i], batch.answer_texts[i]
                result.format_score = formats[i] if formats is not None else None
        return scores.timeouts


def completion_at(path: Path, offset: int, sample: int | None, completion_column: str) -> str:
    """The completion text of the row (or results-file sample) whose line starts at ``offset``."""
    from r1cli.rewards.text import completion_text

    with open(path, "rb") as handle:
        handle.seek(offset)
        row = json.loads(handle.readline())
    value = row["samples"][sample]["completion"] if sample is not None else row[completion_column]
    return completion_text(value)


def completion_problem(value: Any) -> str | None:
    """Why ``value`` is not a completion (a string, chat messages, or one message), else None."""
    if isinstance(value, str):
        return None
    if isinstance(value, dict):
        return None if "content" in value else "an object without \"content\""
    if isinstance(value, list):
        if not value:
            return "an empty array"
        if all(isinstance(m, dict) and "content" in m for m in value):
            return None
        return "an array that is not chat messages"
    return _json_type(value)


def _tokens(row: dict) -> int | None:
    if isinstance(row.get("num_tokens"), int):
        return row["num_tokens"]
    ids = row.get("completion_ids")
    return len(ids) if isinstance(ids, list) else None


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


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
