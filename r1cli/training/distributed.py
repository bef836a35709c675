"""Several training processes, one run directory: what only the main process does.

Under ``accelerate launch`` (see :mod:`r1cli.training.launch`) every process
runs :func:`r1cli.training.run.run_training`. Only the main process prepares
or deletes the run directory and writes files; the others wait for it and log
errors only:

    start_process_group(recipe)                       # before anything collective
    checkpoint = on_main_process(lambda: prepare(...))  # every process gets the result, or the error
    with replica_logging():                            # on processes other than the main one
        ...

With a single process these are plain calls: nothing is initialised.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from typing import Any, Callable, Iterator, TypeVar

from r1cli.errors import R1Error
from r1cli.training.launch import is_main_process, process_rank, world_size

T = TypeVar("T")


def distributed() -> bool:
    return world_size() > 1


def start_process_group(ddp_timeout: int | None = None, ddp_backend: str | None = None) -> None:
    """Join the launched processes now, so r1 can coordinate the run directory before the trainer exists.

    The settings are those ``TrainingArguments`` uses (CPU flag, backend,
    timeout). It rebuilds accelerate's shared state later; the process group
    joined here stays, as accelerate and DeepSpeed only create one when none exists.
    """
    if not distributed():
        return
    from datetime import timedelta

    from accelerate import PartialState

    from r1cli.hardware import has_gpu

    kwargs: dict[str, Any] = {"timeout": timedelta(seconds=ddp_timeout or 1800)}
    if ddp_backend:
        kwargs["backend"] = ddp_backend
    PartialState(cpu=not has_gpu(), **kwargs)


def on_main_process(fn: Callable[[], T]) -> T:
    """Run ``fn`` on the main process only; every process returns its result or raises its :class:`R1Error`.

    The others wait for the main process, so nothing they do next can see a
    half-prepared run directory, and a refusal (say, a used run directory)
    stops every process instead of leaving them waiting.
    """
    if not distributed():
        return fn()
    from accelerate.utils import broadcast_object_list

    outcome: list[Any] = [None]
    failure: BaseException | None = None
    if is_main_process():
        try:
            outcome = [("ok", fn())]
        except R1Error as exc:
            failure, outcome = exc, [("error", (type(exc), exc.message, exc.hint))]
        except BaseException as exc:  # a bug: the others must not wait forever for it
            failure, outcome = exc, [("error", (R1Error, f"the main process failed: {type(exc).__name__}: {exc}", None))]
    broadcast_object_list(outcome, from_process=0)
    if failure is not None:
        raise failure
    kind, value = outcome[0]
    if kind == "error":
        cls, message, hint = value
        error = cls(message, hint=hint)
        error.reported_by_main_process = True  # the main process prints it; the others exit quietly
        raise error
    return value


def as_main_process_says(value: T) -> T:
    """The main process's ``value`` on every process (a decision every rank must follow, e.g. stopping)."""
    if not distributed():
        return value
    from accelerate.utils import broadcast_object_list

    box = [value]
    broadcast_object_list(box, from_process=0)
    return box[0]


def main_process_first():
    """A context in which the main process goes first (downloads, dataset caches), then the others."""
    if not distributed():
        return contextlib.nullcontext()
    from accelerate import PartialState

    return PartialState().main_process_first()


@contextlib.contextmanager
def replica_logging() -> Iterator[None]:
    """Logging for processes other than the main one: errors only, on stderr; no warnings."""
    import transformers

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(levelname)s [rank {process_rank()}] %(name)s: %(message)s"))
    hf_logger = transformers.utils.logging.get_logger()
    loggers = [logging.getLogger(name) for name in ("r1cli", "trl", "accelerate", "datasets")] + [hf_logger]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers)) for lg in loggers]
    for lg in loggers:
        lg.handlers = [handler]
        lg.setLevel(logging.ERROR)
        lg.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level, propagate, handlers in saved:
            lg.handlers, lg.propagate = handlers, propagate
            lg.setLevel(level)
