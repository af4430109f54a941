"""The failed-login throttle on a clock the test moves: five checks a minute, then waits that double, a ceiling."""

from __future__ import annotations

from web.throttle import LONGEST_WAIT, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_checks_a_minute_then_a_wait_that_doubles_with_each_failure():
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        assert throttle.admit("a") == 0
        throttle.failed("a")
    assert throttle.admit("a") == 60  # the fifth failure in a row: a minute
    clock.now += 60
    assert throttle.admit("a") == 0
    throttle.failed("a")
    assert throttle.admit("a") == 120  # the sixth: two minutes
    clock.now += 120
    assert throttle.admit("a") == 0
    throttle.failed("a")
    assert throttle.admit("a") == 240
    for _ in range(20):
        clock.now += LONGEST_WAIT
        assert throttle.admit("a") == 0
        throttle.failed("a")
    assert throttle.admit("a") == LONGEST_WAIT  # never longer than an hour


def test_the_right_password_forgives_the_run_of_failures():
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        assert throttle.admit("a") == 0
        throttle.failed("a")
    assert throttle.admit("a") == 0
    throttle.succeeded("a")
    clock.now += 61
    for _ in range(5):
        assert throttle.admit("a") == 0
        throttle.failed("a")
    assert throttle.admit("a") == 60  # counted from zero again, not from nine


def test_all_addresses_together_have_a_ceiling_and_a_waiting_address_books_nothing():
    clock = Clock()
    throttle = LoginThrottle(per_address=5, overall=30, clock=clock)
    for n in range(30):
        assert throttle.admit(f"10.0.0.{n // 5}") == 0
    assert throttle.admit("10.9.9.9") == 60  # a fresh address waits for the minute to pass
    assert throttle.admit("10.0.0.0") == 60
    clock.now += 60
    assert throttle.admit("10.9.9.9") == 0
