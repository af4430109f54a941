"""How fast the admin password may be guessed: a few checks a minute per address, a growing wait after that,
and a ceiling for all addresses together.

A check is booked before the password is compared, in the event loop's one thread, so parallel guesses
cannot all slip in before the first failure is counted. It lives in the dashboard's process: one
`videofactory web` serves the dashboard (several would each allow their own share).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

PER_ADDRESS = 5  # password checks a minute from one address
OVERALL = 30  # password checks a minute from all addresses together
WINDOW = 60.0
LONGEST_WAIT = 3600.0
KEPT_ADDRESSES = 4096  # above this, addresses with nothing to remember are forgotten


@dataclass
class _Address:
    checks: deque[float] = field(default_factory=deque)  # when its recent checks were made (the last stays)
    failures: int = 0  # failed in a row
    blocked_until: float = 0.0


class LoginThrottle:
    """Books password checks per client address and overall; says how long to wait when none may be made."""

    def __init__(self, per_address: int = PER_ADDRESS, overall: int = OVERALL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_address, self.overall, self.clock = per_address, overall, clock
        self._addresses: dict[str, _Address] = {}
        self._all: deque[float] = deque()

    def admit(self, address: str) -> int:
        """Book a check for this address and return 0, or return the whole seconds to wait (nothing booked)."""
        now = self.clock()
        record = self._addresses.setdefault(address, _Address())
        _forget_before(record.checks, now - WINDOW)
        _forget_before(self._all, now - WINDOW)
        waits = [record.blocked_until - now]
        if len(record.checks) >= self.per_address:
            waits.append(record.checks[0] + WINDOW - now)
        if len(self._all) >= self.overall:
            waits.append(self._all[0] + WINDOW - now)
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        record.checks.append(now)
        self._all.append(now)
        self._tidy(now)
        return 0

    def failed(self, address: str) -> None:
        """A wrong password: from the fifth in a row on, each adds a wait twice as long as the one before."""
        record = self._addresses.setdefault(address, _Address())
        record.failures += 1
        if record.failures >= self.per_address:
            wait = min(LONGEST_WAIT, WINDOW * 2 ** min(record.failures - self.per_address, 16))
            record.blocked_until = self.clock() + wait

    def succeeded(self, address: str) -> None:
        """The right password: the address's run of failures is forgiven."""
        record = self._addresses.get(address)
        if record is not None:
            record.failures, record.blocked_until = 0, 0.0

    def _tidy(self, now: float) -> None:
        """Forget addresses silent for an hour and not blocked, once many are remembered (a spread-out attack)."""
        if len(self._addresses) <= KEPT_ADDRESSES:
            return
        idle = [name for name, record in self._addresses.items() if record.blocked_until <= now
                and (not record.checks or record.checks[-1] <= now - LONGEST_WAIT)]
        for name in idle:
            del self._addresses[name]


def _forget_before(times: deque[float], oldest: float) -> None:
    while times and times[0] <= oldest:
        times.popleft()
