"""Sign-in attempts, counted per email and per client address, in this process's memory.

Several ``serve`` processes each keep their own counts, so the effective limit is that many
times higher; still far below what a password guesser needs.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

__all__ = ["SignInLimiter"]


class SignInLimiter:
    def __init__(self, *, per_email: int = 5, per_address: int = 30,
                 window_seconds: float = 15 * 60,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = {"email": per_email, "address": per_address}
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures[key]
        cutoff = self._clock() - self._window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def wait_seconds(self, email: str, address: str) -> float:
        """0 when a sign-in may be tried now, else how long until it may."""
        with self._lock:
            waits = []
            for kind, value in (("email", email), ("address", address)):
                failures = self._recent((kind, value))
                if len(failures) >= self._limits[kind]:
                    waits.append(failures[0] + self._window - self._clock())
            return max(waits, default=0.0)

    def failed(self, email: str, address: str) -> None:
        with self._lock:
            now = self._clock()
            self._failures[("email", email)].append(now)
            self._failures[("address", address)].append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(("email", email), None)
