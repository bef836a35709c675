"""How a reward function is called: TRL's contract, written down once.

TRL's GRPOTrainer calls every reward function as::

    f(prompts=[...], completions=[...], completion_ids=[...], **columns,
      trainer_state=state, log_extra=fn, log_metric=fn)

where ``columns`` are the batch's dataset columns (every key of a row except
``prompt``, ``completion`` and ``completion_ids``), one value per completion.
In training TRL makes that call itself; real-time eval, ``r1 score``, ``r1 eval``
and ``r1 dry-run`` build theirs here, so a custom reward sees the same
arguments everywhere.

**Guarded calls.** r1 calls every reward through :func:`guarded_call`, so no
reward can hurt a run (training, ``r1 score``, ``r1 eval``, real-time eval):

* it runs under a time limit, ``reward_timeout`` seconds per call (one call
  scores one batch: a training step's completions, or up to 64 rows of
  ``r1 score``); default :data:`DEFAULT_REWARD_TIMEOUT`. At the limit the call's
  values are all None and the call is reported as timed out: ``r1 score``
  counts those rows under t/o, training stops (see ``EnhancedGRPOTrainer``);
* an exception, ``sys.exit`` or ``os._exit`` inside the reward becomes a
  :class:`RewardCallError` naming the reward (the caller adds the row or step);
* what it returns must be one number (or None) per completion: a list, tuple
  or 1-D array of the right length; a scalar, a generator, a string or a wrong
  length is a :class:`RewardCallError`;
* **non-finite values** (NaN, +-inf, or a magnitude above :data:`MAX_REWARD`,
  which would overflow the weighted total and GRPO's standard deviation) are
  left out exactly like None and counted (:attr:`CallReport.nonfinite`);
* what it prints (stdout/stderr, Python level) is captured: the first
  :data:`PRINT_KEPT` characters of each call go to the ``r1cli.rewards`` log
  (training.log in training), the rest is only counted.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from r1cli.errors import RewardError, first_line

# Row keys TRL passes under their own argument names, never as a dataset column.
TRL_OWN_KEYS = ("prompt", "completion", "completion_ids")
# Keyword arguments TRL passes to every reward; a reward's tunables may not use these names.
RESERVED_KWARGS = frozenset(
    {"completions", "prompts", "completion_ids", "trainer_state", "log_metric", "log_extra", "environments", "kwargs"}
)


def columns_of(rows: Sequence[Mapping[str, Any]], *, skip: Sequence[str] = ()) -> dict[str, list]:
    """The dataset columns of ``rows`` as TRL hands them to rewards: ``{column: [value per row]}``.

    Keys come from the first row (TRL's rule); a later row lacking one gives None there.
    ``skip`` names further keys that are not columns (e.g. the completion column of a scored file).
    """
    if not rows:
        return {}
    excluded = set(TRL_OWN_KEYS) | set(skip) | (RESERVED_KWARGS - {"completion_ids"})
    return {key: [row.get(key) for row in rows] for key in rows[0] if key not in excluded}


def _ignore(*args: Any) -> None:
    return None


def call_arguments(
    completions: Sequence[Any],
    *,
    prompts: Sequence[Any] | None = None,
    completion_ids: Sequence[Any] | None = None,
    columns: Mapping[str, Sequence[Any]] | None = None,
    trainer_state: Any = None,
    log_metric: Callable[[str, float], None] | None = None,
    log_extra: Callable[[str, list], None] | None = None,
) -> dict[str, Any]:
    """The keyword arguments (besides ``completions``) of one reward call outside TRL's own loop.

    ``prompts`` and ``completion_ids`` are passed only when known; ``log_metric`` and ``log_extra``
    default to functions that drop what they are given, so a reward may always call them.
    """
    arguments: dict[str, Any] = dict(columns or {})
    if prompts is not None:
        arguments["prompts"] = list(prompts)
    if completion_ids is not None:
        arguments["completion_ids"] = list(completion_ids)
    if trainer_state is not None:
        arguments["trainer_state"] = trainer_state
    arguments["log_metric"] = log_metric or _ignore
    arguments["log_extra"] = log_extra or _ignore
    return arguments


# --- guarded calls (see the module docstring) ---------------------------------------------------

# Seconds one reward call may run (the default of the recipe key and `r1 score` flag `reward_timeout`).
DEFAULT_REWARD_TIMEOUT = 300.0
# A value larger in magnitude is non-finite for r1: left out like None (TRL's float32 std would overflow).
MAX_REWARD = 1e9
# Characters of a call's prints kept in the log; the rest is counted only.
PRINT_KEPT = 2_000

logger = logging.getLogger("r1cli.rewards")


class RewardCallError(RewardError):
    """A reward call failed: it raised, exited, or returned something that is not one number per completion.

    The message names the reward and, once a caller adds it with :meth:`at`, where: a file's line
    (``r1 score``) or a training step. ``per_row`` says whether calling the reward on one row at a
    time can find the row that fails (an exception or a bad value, not a wrong length).
    """

    def __init__(self, message: str, hint: str | None = None, *, reward: str | None = None, what: str = "",
                 where: str = "", per_row: bool = False):
        super().__init__(message, hint)
        self.reward, self.what, self.where, self.per_row = reward, what, where, per_row

    @classmethod
    def of(cls, reward: str, what: str, *, per_row: bool = False, hint: str | None = None) -> "RewardCallError":
        hint = hint or "fix the reward function (--debug shows the traceback)"
        return cls(f"reward {reward!r} {what}", hint, reward=reward, what=what, per_row=per_row)

    def at(self, where: str, hint: str | None = None) -> "RewardCallError":
        """The same failure, said with where it happened (``on data.jsonl:3``, ``at step 4``)."""
        if self.reward is None:
            return self
        return RewardCallError(f"reward {self.reward!r} {self.what} {where}", hint or self.hint, reward=self.reward,
                               what=self.what, where=where, per_row=self.per_row)


@dataclass
class CallReport:
    """What one guarded call did besides returning values."""

    n: int = 0
    nonfinite: int = 0  # values that were NaN, +-inf or beyond MAX_REWARD (left out like None)
    first_nonfinite: Any = None  # the first such value, as returned
    timed_out: bool = False
    printed: int = 0  # characters printed to stdout/stderr (captured)


class _OsExit(BaseException):
    # A BaseException, so a reward's `except Exception:` cannot swallow the exit it asked for.
    def __init__(self, code: Any) -> None:
        super().__init__(code)
        self.code = code


@contextlib.contextmanager
def no_exit() -> Iterator[None]:
    """While the block runs, ``os._exit`` in this process raises instead of ending it (a forked child still exits)."""
    real, pid = os._exit, os.getpid()

    def refuse(code: int = 0) -> None:
        if os.getpid() != pid:  # a child forked by the reward: its exit is its own
            real(code)
        raise _OsExit(code)

    os._exit = refuse
    try:
        yield
    finally:
        os._exit = real


def exit_message(exc: BaseException) -> str | None:
    """``called sys.exit(3)`` / ``called os._exit(7)`` for an exit caught inside a reward or its import."""
    if isinstance(exc, _OsExit):
        return f"called os._exit({exc.code!r})"
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})" if exc.code is not None else "called sys.exit()"
    return None


class _PrintSink(io.TextIOBase):
    """Keeps the first PRINT_KEPT characters written, counts the rest."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.chars = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = PRINT_KEPT - min(self.chars, PRINT_KEPT)
        if room > 0:
            self.kept.append(text[:room])
        self.chars += len(text)
        return len(text)


def guarded_call(func: Callable[..., Any], name: str, completions: Sequence[Any], kwargs: Mapping[str, Any], *,
                 timeout: float | None = DEFAULT_REWARD_TIMEOUT) -> tuple[list[float | None], CallReport]:
    """``func(completions, **kwargs)`` under the rules of the module docstring: checked values and a report."""
    from r1cli.rewards.timeout import TimeLimitExceeded, call_with_time_limit

    n = len(completions)
    report = CallReport(n=n)
    sink = _PrintSink()
    try:
        with no_exit(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            values = call_with_time_limit(timeout, func, completions, **kwargs)
    except TimeLimitExceeded:
        report.timed_out = True
        values = [None] * n
    except (SystemExit, _OsExit) as exc:
        raise RewardCallError.of(name, exit_message(exc),
                                 hint="a reward returns its values; r1 stops the run itself") from None
    except Exception as exc:
        raise RewardCallError.of(name, f"raised {type(exc).__name__}: {first_line(exc)}", per_row=True) from exc
    finally:
        report.printed = sink.chars
        if sink.chars:
            more = f" (and {sink.chars - PRINT_KEPT:,} more characters, not kept)" if sink.chars > PRINT_KEPT else ""
            logger.info("reward %r printed%s:\n%s", name, more, "".join(sink.kept))
    return _checked(values, n, name, report), report


def _checked(values: Any, n: int, name: str, report: CallReport) -> list[float | None]:
    if values is None or isinstance(values, (str, bytes, dict, float, int)) or not hasattr(values, "__len__") \
            or not hasattr(values, "__getitem__"):
        got = "None" if values is None else f"a {type(values).__name__}"
        raise RewardCallError.of(name, f"returned {got} for {n} completions, not one value per completion",
                                 hint="return a list with one number (or None) per completion")
    if getattr(values, "ndim", 1) != 1 or len(values) != n:
        shape = getattr(values, "shape", None)
        got = f"shape {tuple(shape)}" if shape is not None and getattr(values, "ndim", 1) != 1 else f"{len(values)} values"
        raise RewardCallError.of(name, f"returned {got} for {n} completions",
                                 hint="a reward returns one value (or None) per completion")
    out: list[float | None] = []
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        number = None
        if not isinstance(value, (str, bytes)):
            with contextlib.suppress(TypeError, ValueError, OverflowError):
                number = float(value)
        if number is None:
            raise RewardCallError.of(name, f"returned {_short(value)} for completion {i}, not a number or None",
                                     per_row=True, hint="return a float (or None to leave a completion out)")
        if not math.isfinite(number) or abs(number) > MAX_REWARD:
            report.nonfinite += 1
            if report.first_nonfinite is None:
                report.first_nonfinite = number
            out.append(None)
            continue
        out.append(number)
    return out


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
