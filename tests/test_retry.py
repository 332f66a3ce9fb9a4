from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicetrade_spectrum.retry import RetryPolicy, retry_call


@given(attempts=st.integers(1, 10), base=st.floats(0, 5), ceiling=st.floats(0, 60),
       seed=st.integers())
def test_delays_are_attempts_minus_one_and_within_the_exponential_ceiling(
        attempts: int, base: float, ceiling: float, seed: int) -> None:
    policy = RetryPolicy(attempts=attempts, base_delay=base, max_delay=ceiling)
    delays = list(policy.delays(random.Random(seed)))
    assert len(delays) == attempts - 1
    for n, delay in enumerate(delays, start=1):
        assert 0 <= delay <= min(ceiling, base * 2 ** (n - 1)) + 1e-9


def test_transient_results_are_retried_until_success() -> None:
    answers = iter(["busy", "busy", "done"])
    slept: list[float] = []
    result = retry_call(lambda: next(answers), RetryPolicy(attempts=3, base_delay=0.01),
                        is_transient=lambda r: r == "busy", sleep=slept.append)
    assert result == "done"
    assert len(slept) == 2


def test_the_last_transient_result_is_returned_when_tries_run_out() -> None:
    calls = []
    result = retry_call(lambda: calls.append(1) or "busy", RetryPolicy(attempts=4, base_delay=0),
                        is_transient=lambda r: r == "busy", sleep=lambda _: None)
    assert result == "busy"
    assert len(calls) == 4


def test_permanent_failures_are_not_retried_and_exceptions_propagate() -> None:
    calls = []

    def fail() -> str:
        calls.append(1)
        raise KeyError("permanent")

    with pytest.raises(KeyError):
        retry_call(fail, RetryPolicy(attempts=5), is_transient=lambda r: False,
                   sleep=lambda _: None)
    assert calls == [1]


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(attempts=0)
