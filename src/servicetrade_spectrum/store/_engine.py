"""Creating the database engine: SQLite embedded by default, PostgreSQL in production."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

__all__ = ["create_database_engine", "write_promptly"]

_BUSY_TIMEOUT_MS = 30_000
_PROMPT_RETRY_SECONDS = 0.0005
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()

_POOL = {"pool_size": 20, "max_overflow": 20}
"""Enough connections for the web app's threads, the send workers and the automation at
once. With SQLAlchemy's default (5 + 10 overflow) a webhook burst kept opening and closing
overflow connections (each one re-running the SQLite pragmas), and requests waited for them."""


def create_database_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings each backend needs to behave well.

    SQLite gets WAL (readers do not block the writer), foreign keys on, a busy timeout so
    several processes on one home wait for each other instead of failing, and
    ``synchronous=NORMAL``: in WAL mode a commit then survives the process crashing (what
    durable sends are built for) and skips the fsync that only a power cut needs; a send
    does about ten commits (see docs/decisions.md).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               **{**_POOL, **kwargs})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **{**_POOL, **kwargs})


@contextmanager
def write_promptly(engine: Engine) -> Iterator[Connection]:
    """A write transaction that starts as soon as SQLite's write lock is free; commit it.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ... up to 100 ms between looks
    at a lock held by another process, so a write that found the lock taken waited up to
    100 ms longer than it had to. Measured on the webhook intake (issue 7): with the
    automation worker writing at the same time, the insert of a delivery waited p90 19 ms,
    p99 104 ms for the lock (the sums of those sleeps), while the insert and its commit
    took under 2 ms. Here the lock is asked for every half millisecond instead, the whole
    wait still bounded by the busy timeout.

    Only one thread of a process asks at a time; the others queue on a Python lock, since
    dozens of threads asking every 0.5 ms took the process's whole CPU (measured: acks
    then took 30 s). For the writes someone waits on; on PostgreSQL, a plain transaction.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with _writers_of(engine), engine.connect() as conn:
        _begin_immediate_promptly(conn)
        yield conn
        conn.commit()


def _writers_of(engine: Engine) -> threading.Lock:
    with _WRITERS_LOCK:
        return _WRITERS.setdefault(engine, threading.Lock())


def _begin_immediate_promptly(conn: Connection) -> None:
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    conn.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(_PROMPT_RETRY_SECONDS)
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
