"""Creating the database engine: SQLite embedded by default, PostgreSQL in production."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["create_database_engine"]

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
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **{**_POOL, **kwargs})
