"""Scoring chunks in order, in this process or in a pool of spawned worker processes.

With ``workers > 1`` at most four chunks per worker are in flight, and results
come back in input order. A worker rebuilds the command's reward calculator
from ``calc.refs``, ``calc.weights`` and its bound parameters, so every reward
must be resolvable by name or path in a fresh process.

Ctrl-C is the parent's to handle: workers start with SIGINT blocked (the mask
is inherited through spawn's exec) and then ignore it, so an early Ctrl-C never
prints a worker's traceback; the parent stops the pool and exits with one line.

A reward that fails (:class:`~r1cli.rewards.calling.RewardCallError`) is named with
the line it failed on: when calling it on a chunk fails, the chunk's lines are
scored one at a time to find the first that fails (for a failure that belongs to a
row: an exception or a bad value), else the chunk's lines are named. A worker
process that dies (killed, or crashed in C code) ends the run with one line naming
the lines it was scoring; the pool is shut down, and the input's spool file is
removed by its owner as for any other error.
"""

from __future__ import annotations

import contextlib
import signal
from collections import deque
from typing import Any, Iterator

from r1cli import errors
from r1cli.errors import R1Error
from r1cli.rewards.calculator import RewardCalculator
from r1cli.rewards.calling import RewardCallError
from r1cli.scoring.rows import RowSpec, Scorer

_worker: Scorer | R1Error | None = None


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold SIGINT back while workers are spawned: they inherit the block, the parent gets the signal after."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _init_worker(refs: list[str], weights: list[float], kwargs_by_name: dict, spec: RowSpec,
                 reward_timeout: float | None = None) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool on Ctrl-C
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        from r1cli.rewards import get_reward_calculator  # registers the built-ins in a fresh worker process

        _worker = Scorer(get_reward_calculator(refs, weights, kwargs_by_name, reward_timeout=reward_timeout), spec)
    except R1Error as exc:  # reported with the first chunk: a failing initializer breaks the pool
        _worker = exc


def _worker_chunk(chunk: list) -> Any:
    if isinstance(_worker, R1Error):
        return ("error", type(_worker).__name__, _worker.message, _worker.hint)
    try:
        return score_located(_worker, chunk)
    except R1Error as exc:  # R1Error's hint does not survive pickling; send the parts
        return ("error", type(exc).__name__, exc.message, exc.hint)


def score_located(scorer: Scorer, chunk: list) -> Any:
    """``scorer.score_chunk(chunk)``; a failing reward is named with the line it failed on (see the module doc)."""
    try:
        return scorer.score_chunk(chunk)
    except RewardCallError as exc:
        path = scorer.spec.path
        if exc.per_row and len(chunk) > 1:
            for item in chunk:
                try:
                    scorer.score_chunk([item])
                except RewardCallError as one:
                    raise one.at(f"on {path}:{item[0]}") from one.__cause__
        first, last = chunk[0][0], chunk[-1][0]
        raise exc.at(f"on {path}:{first}" if first == last else f"on {path} lines {first}-{last}") from exc.__cause__


def _lines(chunk: list) -> str:
    first, last = chunk[0][0], chunk[-1][0]
    return f"line {first}" if first == last else f"lines {first}-{last}"


def reraise_if_failed(result: Any) -> None:
    """Raise a worker's R1Error again in this process (it travels as its parts)."""
    if isinstance(result, tuple) and result and result[0] == "error":
        _, cls_name, message, hint = result
        cls = getattr(errors, cls_name, R1Error)
        raise cls(message, hint=hint)


def run_chunks(chunks: Iterator, calc: RewardCalculator, spec: RowSpec, workers: int) -> Iterator[tuple[Any, int]]:
    """(chunk result, bytes read) per chunk, in order; a failure comes back as ("error", ...) (see :func:`reraise_if_failed`)."""
    if workers <= 1:
        scorer = Scorer(calc, spec)
        for chunk, done in chunks:
            yield score_located(scorer, chunk), done
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    init_args = (calc.refs, calc.weights, dict(zip(calc.names, calc.kwargs)), spec, calc.reward_timeout)
    # spawn, not fork: the parent may run threads (the progress display), which fork would copy half-way.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                               initargs=init_args)
    pending: deque = deque()
    procs: dict = {}
    try:
        for chunk, done in chunks:
            with _sigint_held():  # submit may spawn a worker
                try:
                    pending.append((pool.submit(_worker_chunk, chunk), done, _lines(chunk)))
                except BrokenProcessPool:
                    raise _worker_died(procs, pending[0][2] if pending else _lines(chunk)) from None
                procs.update(getattr(pool, "_processes", None) or {})  # to say how a worker ended, should one die
            if len(pending) >= 4 * workers:
                yield _result(procs, pending.popleft())
        while pending:
            yield _result(procs, pending.popleft())
    finally:
        with _sigint_held():  # a Ctrl-C during shutdown waits for it rather than leaving workers behind
            pool.shutdown(wait=True, cancel_futures=True)


def _result(procs: dict, item: tuple) -> tuple[Any, int]:
    from concurrent.futures.process import BrokenProcessPool

    future, done, lines = item
    try:
        return future.result(), done
    except BrokenProcessPool:
        raise _worker_died(procs, lines) from None


def _worker_died(procs: dict, lines: str) -> R1Error:
    """One line for a worker process that died: what it was scoring and how it ended, when known."""
    for process in procs.values():
        process.join(0.5)  # the pool saw it die; give the OS a moment to report how
    codes = sorted({p.exitcode for p in procs.values() if p.exitcode not in (None, 0)})
    how = ""
    if codes:
        how = " (" + ", ".join(f"killed by signal {-c}" if c < 0 else f"exit code {c}" for c in codes) + ")"
    return R1Error(f"a worker process died{how} while scoring {lines} (or a chunk after them)",
                   hint="a reward may crash in C code or be killed for memory; --workers 1 names the reward "
                        "and the line when it raises")
