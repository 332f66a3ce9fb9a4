"""The retry policy, decided here and nowhere else.

What is retried
    Only *transient* failures: a Spectrum server that is unreachable, times out, answers HTTP
    5xx or a ``SOAP-ENV:Server`` fault; ServiceTrade answering 429 or 5xx or not answering.
    Data problems (a rejected value, a missing mapping) and authorization problems are never
    retried: the same request would fail the same way, and a retry could only add noise.

How often
    ``attempts`` counts total tries (3 = the first try and two retries). The delay before
    retry *n* (1-based) is drawn uniformly from ``[0, min(max_delay, base_delay * 2**(n-1))]``
    ("full jitter"), so many workers that failed together do not come back together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["RetryPolicy", "retry_call"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts total tries and must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays cannot be negative")

    def backoff_ceiling(self, retry_number: int) -> float:
        """The longest wait before retry ``retry_number`` (1 = the first retry)."""
        return float(min(self.max_delay, self.base_delay * (2 ** (retry_number - 1))))

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """Yield the wait before each retry: ``attempts - 1`` values."""
        draw = (rng or random).uniform
        for retry_number in range(1, self.attempts):
            yield draw(0.0, self.backoff_ceiling(retry_number))

    @classmethod
    def no_retries(cls) -> RetryPolicy:
        return cls(attempts=1, base_delay=0.0, max_delay=0.0)


def retry_call(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    is_transient: Callable[[T | BaseException], bool],
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, float, T | BaseException], None] | None = None,
) -> T:
    """Call ``attempt`` until it succeeds, fails for good, or the tries run out.

    ``attempt`` may return a result or raise. ``is_transient`` sees either and says whether
    another try could succeed. The last result is returned (or the last exception re-raised),
    so the caller sees the real final failure, never a wrapper.
    """
    delays = policy.delays()
    retry_number = 0
    while True:
        try:
            result: T | BaseException = attempt()
        except Exception as exc:  # classified below; anything not transient is re-raised
            result = exc
        if not is_transient(result):
            break
        delay = next(delays, None)
        if delay is None:
            break
        retry_number += 1
        if on_retry is not None:
            on_retry(retry_number, delay, result)
        sleep(delay)
    if isinstance(result, BaseException):
        raise result
    return result
