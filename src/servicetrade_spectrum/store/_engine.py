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
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

__all__ = ["create_database_engine", "one_statement", "ping_when_idle", "write_promptly"]

_BUSY_TIMEOUT_MS = 30_000
_PROMPT_RETRY_SECONDS = 0.0005
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()

_POOL = {"pool_size": 20, "max_overflow": 20}
"""Enough connections for the web app's threads, the send workers and the automation at
once. With SQLAlchemy's default (5 + 10 overflow) a webhook burst kept opening and closing
overflow connections (each one re-running the SQLite pragmas), and requests waited for them."""
IDLE_PING_SECONDS = 5.0
"""A pooled PostgreSQL connection idle at least this long is pinged before it is used."""


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for a single statement: a read, or a write that stands alone. On
    PostgreSQL it runs in autocommit: a transaction would add a BEGIN and a ROLLBACK or
    COMMIT round trip (psycopg's), each about 0.1 ms of this process's CPU and a statement
    for the server (issue 7). A write calls ``conn.commit()`` (on SQLite the statement is
    in a transaction until then)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


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
    engine = create_engine(url, **{**_POOL, **kwargs})
    ping_when_idle(engine, idle_seconds=IDLE_PING_SECONDS)
    return engine


def ping_when_idle(engine: Engine, *, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it has been idle ``idle_seconds``.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: on PostgreSQL a round trip (and
    psycopg's autocommit switched on and off) before each of the dozen transactions of a
    send. In issue 7's bulk benchmark that was 7-8% of each process's Python time, and the
    processes shared 2 cores with PostgreSQL: 3,000 sends ran at 76-84% of the bound with
    the pings, 89% without them (docs/decisions.md). A connection used a moment ago is
    alive as surely as one pinged a moment ago; one left idle (a quiet server, a database
    restarted overnight) is pinged, and replaced when the ping fails. A connection that
    died within ``idle_seconds`` of its last use fails its statement; SQLAlchemy then
    reconnects every connection of the pool, as it would after a failed ping.
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _idle_from(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry,
                      _proxy: PoolProxiedConnection) -> None:
        # A new connection has no mark (the mark goes with the connection it was made on).
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:  # dead: the pool replaces the connection and checks out again
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc
        if not alive:
            raise DisconnectionError("pooled connection failed its ping")


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
