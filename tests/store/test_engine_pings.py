"""PostgreSQL's pooled connections: pinged before use only after sitting idle.

Real PostgreSQL; a connection is killed from another session (``pg_terminate_backend``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from servicetrade_spectrum.store import _engine
from servicetrade_spectrum.store._engine import create_database_engine

BACKEND = text("SELECT pg_backend_pid()")


@pytest.fixture
def admin(database_url: str) -> Iterator[Engine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's connections are files, never pinged")
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def one_connection_engine(url: str, monkeypatch: pytest.MonkeyPatch, idle_seconds: float
                          ) -> Engine:
    monkeypatch.setattr(_engine, "IDLE_PING_SECONDS", idle_seconds)
    return create_database_engine(url, pool_size=1, max_overflow=0)


def backend_of(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(BACKEND))


def kill(admin: Engine, backend: int) -> None:
    with admin.begin() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    time.sleep(0.2)  # the backend exits just after


def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced_when_dead(
        admin: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = one_connection_engine(database_url, monkeypatch, idle_seconds=0.1)
    try:
        first = backend_of(engine)
        kill(admin, first)  # and it sits idle meanwhile, past 0.1 s
        assert backend_of(engine) != first  # the failed ping replaced it; nothing failed
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_trusted_and_one_failure_renews_the_pool(
        admin: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = one_connection_engine(database_url, monkeypatch, idle_seconds=60)
    try:
        first = backend_of(engine)
        kill(admin, first)
        with pytest.raises(DBAPIError) as failed:  # not pinged: its statement meets the death
            backend_of(engine)
        assert failed.value.connection_invalidated
        assert backend_of(engine) != first  # and the next use has a new connection
    finally:
        engine.dispose()
