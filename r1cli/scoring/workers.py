"""Scoring chunks in order, in this process or in a pool of spawned worker processes.

With ``workers > 1`` at most four chunks per worker are in flight, and results
come back in input order. A worker rebuilds the command's reward calculator
from ``calc.refs``, ``calc.weights`` and its bound parameters, so every reward
must be resolvable by name or path in a fresh process.

Ctrl-C is the parent's to handle: workers start with SIGINT blocked (the mask
is inherited through spawn's exec) and then ignore it, so an early Ctrl-C never
prints a worker's traceback; the parent stops the pool and exits with one line.
"""

from __future__ import annotations

import contextlib
import signal
from collections import deque
from typing import Any, Iterator

from r1cli import errors
from r1cli.errors import R1Error
from r1cli.rewards.calculator import RewardCalculator
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


def _init_worker(refs: list[str], weights: list[float], kwargs_by_name: dict, spec: RowSpec) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool on Ctrl-C
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        from r1cli.rewards import get_reward_calculator  # registers the built-ins in a fresh worker process

        _worker = Scorer(get_reward_calculator(refs, weights, kwargs_by_name), spec)
    except R1Error as exc:  # reported with the first chunk: a failing initializer breaks the pool
        _worker = exc


def _worker_chunk(chunk: list) -> Any:
    if isinstance(_worker, R1Error):
        return ("error", type(_worker).__name__, _worker.message, _worker.hint)
    try:
        return _worker.score_chunk(chunk)
    except R1Error as exc:  # R1Error's hint does not survive pickling; send the parts
        return ("error", type(exc).__name__, exc.message, exc.hint)


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
            yield scorer.score_chunk(chunk), done
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    init_args = (calc.refs, calc.weights, dict(zip(calc.names, calc.kwargs)), spec)
    # spawn, not fork: the parent may run threads (the progress display), which fork would copy half-way.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                               initargs=init_args)
    pending: deque = deque()
    try:
        for chunk, done in chunks:
            with _sigint_held():  # submit may spawn a worker
                pending.append((pool.submit(_worker_chunk, chunk), done))
            if len(pending) >= 4 * workers:
                future, at = pending.popleft()
                yield future.result(), at
        while pending:
            future, at = pending.popleft()
            yield future.result(), at
    finally:
        with _sigint_held():  # a Ctrl-C during shutdown waits for it rather than leaving workers behind
            pool.shutdown(wait=True, cancel_futures=True)
