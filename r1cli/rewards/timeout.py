"""A time limit for one call, on the main thread, on other threads and in worker processes.

math-verify's own timeouts use ``signal.alarm``: whole seconds, main thread only
(it raises ``ValueError`` elsewhere), and it would cancel any timer of ours. So
r1 turns math-verify's timeouts off and wraps each verification in
:func:`call_with_time_limit` instead:

* on the main thread, a ``SIGALRM`` from ``setitimer`` (sub-second). A signal is
  the only interrupt that also stops long C-level work that checks for signals,
  such as big-integer powers (``9^{9^{9^9}}``);
* on any other thread, a watchdog thread raises an exception into the thread
  (``PyThreadState_SetAsyncExc``). That stops Python-level work (most of sympy)
  but not a single long C call, which is why the accuracy code also screens
  parsed answers for huge powers and factorials before verifying them.

Worker processes run their tasks on their own main thread, so they get the
signal path. Every expiry is counted per thread (:func:`timeout_count`) so a
caller can report how many verifications timed out.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import signal
import threading
import time
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class TimeLimitExceeded(Exception):
    """Raised by :func:`call_with_time_limit` when the call ran past its limit."""


class _Expired(BaseException):
    # A BaseException so that sympy's and math-verify's `except Exception:` blocks
    # cannot swallow it; it never leaves this module.
    pass


_local = threading.local()


def timeout_count() -> int:
    """How many time limits have expired on this thread so far (monotonic)."""
    return getattr(_local, "count", 0)


def _record_expiry() -> None:
    _local.count = timeout_count() + 1


def call_with_time_limit(seconds: float | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Return ``fn(*args, **kwargs)``, or raise :class:`TimeLimitExceeded` after ``seconds``.

    ``seconds`` of ``None`` or ``<= 0`` means no limit. Limits nest: a call
    inside a limited call (an answer check inside a whole reward call, see
    :mod:`r1cli.rewards.calling`) gets its own, shorter limit; when the outer
    limit would expire first, the inner call runs under the outer one only.
    """
    if seconds is None or seconds <= 0:
        return fn(*args, **kwargs)
    now = time.monotonic()
    outer = getattr(_local, "deadline", None)
    if outer is not None and outer - now <= seconds:
        return fn(*args, **kwargs)
    _local.deadline = now + seconds
    try:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            return _with_alarm(seconds, outer, fn, args, kwargs)
        return _with_watchdog(seconds, fn, args, kwargs)
    finally:
        _local.deadline = outer


# After the first expiry, raise again at this interval until the call gives up.
_REFIRE_S = 0.25


class _Flag:
    __slots__ = ("armed",)

    def __init__(self) -> None:
        self.armed = True


# The alarm limits running on the main thread, innermost last. While the list is not empty
# r1's handler is installed and the timer belongs to the innermost limit, so a nested limit
# (one answer inside a whole reward call) costs two setitimer calls, not a handler swap.
_alarm_levels: list[_Flag] = []
# Timers are not inherited across fork: a child forked inside a limit has none of its parent's
# levels running, and a nested limit there must not re-arm the parent's deadline.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_alarm_levels.clear)


def _on_alarm(signum, frame):
    # A late signal (delivered after its call finished) must not raise anywhere.
    if _alarm_levels and _alarm_levels[-1].armed:
        raise _Expired


def _with_alarm(seconds: float, outer_deadline: float | None, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    # Nested only while r1's handler is still the one installed: a reward that put in its own
    # SIGALRM handler (and timer) inside our limit gets them back as the full path restores them.
    if _alarm_levels and outer_deadline is not None and signal.getsignal(signal.SIGALRM) is _on_alarm:
        return _nested_alarm(seconds, outer_deadline, fn, args, kwargs)
    flag = _Flag()
    started = time.monotonic()
    old_handler = signal.getsignal(signal.SIGALRM)
    old_delay, old_interval = signal.getitimer(signal.ITIMER_REAL)
    outer_levels = _alarm_levels[:]
    try:
        try:
            try:
                _alarm_levels[:] = [flag]
                # Armed inside the try: with a tiny limit the alarm goes off as soon as setitimer
                # returns, and an _Expired raised before the try would leave the timer running.
                signal.signal(signal.SIGALRM, _on_alarm)
                # The interval re-raises into code that swallowed the first exception.
                signal.setitimer(signal.ITIMER_REAL, seconds, _REFIRE_S)
                return fn(*args, **kwargs)
            finally:
                flag.armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Expired:
            flag.armed = False
    finally:
        _alarm_levels[:] = outer_levels
        # None: the old handler was not installed from Python; the default is the best we can restore.
        signal.signal(signal.SIGALRM, old_handler if old_handler is not None else signal.SIG_DFL)
        if old_delay:
            # Someone else's timer was running: give it back what is left of it.
            left = max(old_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, old_interval)
    # Only an expiry gets here: every other path returned or raised above.
    _record_expiry()
    raise TimeLimitExceeded(f"gave up after {seconds:g}s")


def _nested_alarm(seconds: float, outer_deadline: float, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    """A shorter limit inside one of ours: take the timer for ``seconds``, give the outer limit its rest after."""
    flag = _Flag()
    try:
        try:
            try:
                _alarm_levels.append(flag)
                signal.setitimer(signal.ITIMER_REAL, seconds, _REFIRE_S)
                return fn(*args, **kwargs)
            finally:
                flag.armed = False
        except _Expired:
            pass
    finally:
        # The outer limit's timer again (already past: it goes off at once). A signal arriving before
        # the pop finds this level disarmed and is ignored; the outer limit's re-fire follows.
        signal.setitimer(signal.ITIMER_REAL, max(outer_deadline - time.monotonic(), 1e-6), _REFIRE_S)
        if _alarm_levels and _alarm_levels[-1] is flag:
            _alarm_levels.pop()
    _record_expiry()
    raise TimeLimitExceeded(f"gave up after {seconds:g}s")


# --- other threads: one watchdog thread per process ------------------------------------------

# Two prototypes of the same C function: one sends an exception class, the other
# passes NULL, which clears a pending exception (Python's None would not).
_send_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)
_clear_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


class _Slot:
    __slots__ = ("tid", "deadline", "armed", "fired")

    def __init__(self, tid: int, deadline: float) -> None:
        self.tid, self.deadline, self.armed, self.fired = tid, deadline, True, False


class _Watchdog:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, _Slot]] = []
        self.seq = itertools.count()
        threading.Thread(target=self._run, name="r1-reward-watchdog", daemon=True).start()

    def arm(self, seconds: float) -> _Slot:
        slot = _Slot(threading.get_ident(), time.monotonic() + seconds)
        with self.cond:
            heapq.heappush(self.heap, (slot.deadline, next(self.seq), slot))
            if self.heap[0][2] is slot:
                self.cond.notify()
        return slot

    def disarm(self, slot: _Slot) -> None:
        slot.armed = False
        # The watchdog fires only while holding the lock, so after taking it we know
        # whether an exception was sent; clear it if it has not been raised yet.
        with self.cond:
            if slot.fired:
                _clear_async_exc(slot.tid, None)

    def _run(self) -> None:
        with self.cond:
            while True:
                while self.heap and not self.heap[0][2].armed:
                    heapq.heappop(self.heap)
                if not self.heap:
                    self.cond.wait()
                    continue
                deadline, _, slot = self.heap[0]
                now = time.monotonic()
                if now < deadline:
                    self.cond.wait(deadline - now)
                    continue
                heapq.heappop(self.heap)
                slot.fired = True
                _send_async_exc(slot.tid, _Expired)
                heapq.heappush(self.heap, (now + _REFIRE_S, next(self.seq), slot))


_watchdog: _Watchdog | None = None
_watchdog_lock = threading.Lock()


def _get_watchdog() -> _Watchdog:
    global _watchdog
    with _watchdog_lock:
        # Threads do not survive fork: a forked child needs its own watchdog.
        if _watchdog is None or _watchdog.pid != os.getpid():
            _watchdog = _Watchdog()
        return _watchdog


def _with_watchdog(seconds: float, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    watchdog = _get_watchdog()
    slot = watchdog.arm(seconds)
    try:
        try:
            return fn(*args, **kwargs)
        finally:
            watchdog.disarm(slot)
    except _Expired:
        watchdog.disarm(slot)
    _record_expiry()
    raise TimeLimitExceeded(f"gave up after {seconds:g}s")
