"""call_with_time_limit: main thread (signals), other threads (watchdog), nesting, no stray interrupts."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from r1cli.rewards.timeout import TimeLimitExceeded, call_with_time_limit, timeout_count


def busy(seconds: float) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


def calls_at_their_limit(n: int) -> int:
    """``n`` calls that end right around their 2 ms limit; how many expired. A stray interrupt (even a re-fire)
    after any of them would surface in the busy wait at the end."""
    expired = 0
    for _ in range(n):
        try:
            call_with_time_limit(0.002, busy, 0.0019)
        except TimeLimitExceeded:
            expired += 1
    busy(0.3)
    return expired


def run_checks() -> dict:
    out = {}
    before = timeout_count()
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(0.2, busy, 5)
    out["stopped_after"] = time.monotonic() - started
    out["counted"] = timeout_count() - before
    out["finished"] = call_with_time_limit(1.0, busy, 0.01)
    with pytest.raises(ZeroDivisionError):
        call_with_time_limit(1.0, lambda: 1 / 0)
    # many calls that end right around their limit: every expiry is caught inside, none escapes later
    expired = calls_at_their_limit(200)
    out["race_expired_counted"] = timeout_count() - before - 1 == expired
    return out


def test_main_thread():
    out = run_checks()
    assert out["stopped_after"] < 1.0 and out["counted"] == 1 and out["finished"] == "done"
    assert out["race_expired_counted"]


def test_other_threads_at_once():
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_checks())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2
    for out in results:
        assert out["stopped_after"] < 1.5 and out["counted"] == 1 and out["finished"] == "done"
        assert out["race_expired_counted"]


def test_big_integer_arithmetic_is_interrupted_on_the_main_thread():
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(0.3, pow, 9, 9**9)  # C code that checks for signals
    assert time.monotonic() - started < 2.0


def test_nested_calls_run_under_the_outer_limit_when_it_comes_first():
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(0.2, call_with_time_limit, 10.0, busy, 5)
    assert time.monotonic() - started < 1.0


def test_no_limit_and_an_existing_timer_is_given_back():
    assert call_with_time_limit(None, busy, 0.0) == "done"
    assert call_with_time_limit(0, busy, 0.0) == "done"
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        call_with_time_limit(2.0, busy, 0.05)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < remaining < 0.5
        busy(0.6)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_a_shorter_inner_limit_expires_inside_an_outer_one_and_the_outer_still_holds():
    def inner_times_out():
        with pytest.raises(TimeLimitExceeded):
            call_with_time_limit(0.1, busy, 5)
        return "inner expired"

    assert call_with_time_limit(5.0, inner_times_out) == "inner expired"
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(0.4, lambda: [call_with_time_limit(0.1, busy, 0.05) for _ in range(100)])
    assert time.monotonic() - started < 2.0


def test_inner_limits_ending_at_their_deadline_never_interrupt_the_outer_call():
    # Inside one of r1's alarms an inner limit only moves the timer; a signal that arrives as an
    # inner call ends must neither escape nor be taken for the outer limit's expiry.
    before, handler = timeout_count(), signal.getsignal(signal.SIGALRM)
    expired = call_with_time_limit(30.0, calls_at_their_limit, 300)
    assert timeout_count() - before == expired
    # afterwards: the handler given back, no timer left running
    assert signal.getsignal(signal.SIGALRM) == handler and signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_the_outer_limit_holds_when_inner_calls_keep_finishing():
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(0.3, lambda: [call_with_time_limit(0.2, busy, 0.01) for _ in range(1000)])
    assert time.monotonic() - started < 1.5


def test_an_inner_limit_inside_a_rewards_own_alarm_handler_still_expires_and_leaves_the_rewards_timer_alone():
    # A reward that runs under r1's limit and sets up its own SIGALRM handler and timer (signal-based
    # timeout helpers do) before asking for a shorter r1 limit: the inner limit must still fire, and the
    # reward's handler and timer must be as it left them afterwards.
    own_alarms = []

    def own_handler(signum, frame):
        own_alarms.append(signum)

    def reward():
        old = signal.signal(signal.SIGALRM, own_handler)
        signal.setitimer(signal.ITIMER_REAL, 5.0)
        try:
            started = time.monotonic()
            with pytest.raises(TimeLimitExceeded):
                call_with_time_limit(0.05, busy, 1.0)
            return time.monotonic() - started, signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    took, handler, (delay, interval) = call_with_time_limit(10.0, reward)
    assert took < 0.5
    assert handler is own_handler and own_alarms == []
    assert 4.0 < delay <= 5.0 and interval == 0  # the reward's own one-shot timer, not r1's outer limit


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_process_forked_inside_a_limit_is_not_interrupted_by_the_parents_deadline():
    # Timers are not inherited across fork: a child's nested limit must not re-arm the parent's deadline.
    read_end, write_end = os.pipe()

    def fork():
        pid = os.fork()
        if pid == 0:  # the child: report what happens, never return into pytest
            outcome = "finished"
            try:
                call_with_time_limit(0.05, busy, 0.01)
                busy(0.5)  # past the parent's 0.2 s deadline
            except BaseException as error:  # noqa: BLE001 - reported to the parent
                outcome = type(error).__name__
            os.write(write_end, outcome.encode())
            os._exit(0)
        return pid

    try:
        pid = call_with_time_limit(0.2, fork)
        os.waitpid(pid, 0)
        assert os.read(read_end, 100).decode() == "finished"
    finally:
        os.close(read_end)
        os.close(write_end)
