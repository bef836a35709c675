"""The one streaming core of ``r1 score`` and ``r1 eval --completions``: the valid scored rows of a file, in order.

::

    stream = RowStream(path, calc, RowSpec(str(path)), workers=2, skip_invalid=True)
    for row in stream:            # ScoredRow objects, one pass, memory flat
        ...
    stream.skipped, stream.skipped_lines, stream.timeouts, stream.worker_rss_mb

An invalid line stops the stream with a ``FILE:LINE`` :class:`DataError`, or
is counted and skipped with ``skip_invalid``; a file with nothing to score is
an error either way. Worker processes stop as soon as the stream is closed.
``path`` is a regular file (:func:`r1cli.scoring.inputs.local_input` spools
streams and gzip files); messages name ``spec.path``, the user's name for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from r1cli.errors import DataError
from r1cli.rewards.calculator import RewardCalculator
from r1cli.scoring.rows import CHUNK_ROWS, RowSpec, ScoredRow, chunks
from r1cli.scoring.workers import reraise_if_failed, run_chunks


class RowStream:
    """Iterate once over the valid :class:`ScoredRow` of ``path`` (see the module docstring)."""

    def __init__(self, path: Path, calc: RewardCalculator, spec: RowSpec, *, workers: int = 1,
                 skip_invalid: bool = False, chunk_rows: int = CHUNK_ROWS,
                 on_progress: Callable[[int, int, int], None] | None = None):
        self.path, self.calc, self.spec = Path(path), calc, spec
        self.workers, self.skip_invalid, self.chunk_rows, self.on_progress = workers, skip_invalid, chunk_rows, on_progress
        self.rows = self.skipped = 0
        self.skipped_lines: list[int] = []
        self.timeouts: dict[str, int] = {}
        self.worker_rss_mb = 0.0

    def __iter__(self) -> Iterator[ScoredRow]:
        total_bytes = self.path.stat().st_size
        first_error: ScoredRow | None = None
        results = run_chunks(chunks(self.path, self.chunk_rows), self.calc, self.spec, self.workers)
        try:
            for result, done in results:
                reraise_if_failed(result)
                rows, timeouts, rss = result
                self.worker_rss_mb = max(self.worker_rss_mb, rss)
                for name, count in timeouts.items():
                    self.timeouts[name] = self.timeouts.get(name, 0) + count
                for row in rows:
                    if row.error is None:
                        self.rows += 1
                        yield row
                        continue
                    if not self.skip_invalid:
                        raise DataError(row.error, hint=row.hint or "fix the line, or pass --skip-invalid to skip bad lines")
                    first_error = first_error or row
                    self.skipped += 1
                    if len(self.skipped_lines) < 20:
                        self.skipped_lines.append(row.line)
                if self.on_progress is not None:
                    self.on_progress(self.rows, done, total_bytes)
            if self.rows == 0:
                if first_error is not None:
                    raise DataError(f"none of the {self.skipped} non-blank lines could be scored; the first: {first_error.error}",
                                    hint=first_error.hint)
                raise DataError(f"{self.spec.path} is empty: nothing to score", hint="give a JSONL file with one JSON object per line")
        finally:
            results.close()  # stops worker processes now, even when a bad line ended the run early
