"""Telling the processes that run the send queue that a send was queued.

While the queue is empty, a process that runs it looks at it only seldom
(``queue_idle_polling_interval``; see ``_queue_poller``). A send queued anywhere tells every
such process, so that it still starts within a ``queue_polling_interval``:

- on PostgreSQL, by a notice on :data:`SEND_QUEUED_CHANNEL`, sent once the send is
  committed (each running process listens on a connection of its own, ``store._notices``);
- on SQLite, by setting the modification time of a file beside the database
  (``<database>-queued``). A SQLite database and all its processes are on one machine, so
  they all see the same file. On Linux the kernel wakes every process that runs the queue
  when the time is set (inotify, ``_file_touch_watch``); elsewhere each reads that time at
  every tick: one system call, no database work.

A signal lost (a broken connection, a file that cannot be written) costs speed, never a
send: the seldom look finds it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.store import NoticeListener, create_database_engine, notify
from servicetrade_spectrum.workflows._file_touch_watch import FileTouchWatch

__all__ = ["SEND_QUEUED_CHANNEL", "SendQueuedSignal", "SendQueuedWatch"]

_log = get_logger(__name__)

SEND_QUEUED_CHANNEL = "st_spectrum_send_queued"


def _on_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def _marker(database_url: str) -> Path | None:
    """The file whose modification time says when a send was last queued: SQLite only, None
    for PostgreSQL and for a database kept in memory."""
    database = make_url(database_url).database
    if not _on_sqlite(database_url) or not database or database == ":memory:":
        return None
    return Path(f"{database}-queued")


class SendQueuedSignal:
    """The sending side: :meth:`send` once sends are queued (and committed)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._postgres_notices = not _on_sqlite(database_url)
        self._marker = _marker(database_url)
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def send(self) -> None:
        if self._marker is not None:
            try:
                self._touch(self._marker)
            except OSError as exc:
                _log.warning("queue.signal_failed", marker=str(self._marker), error=str(exc),
                             fix="make the database's folder writable by this process: "
                                 "until then a send queued here may wait up to "
                                 "queue_idle_polling_interval to start")
        elif self._postgres_notices:
            try:
                notify(self._postgres(), SEND_QUEUED_CHANNEL)
            except SQLAlchemyError as exc:
                _log.warning("queue.signal_failed", channel=SEND_QUEUED_CHANNEL,
                             error=f"{type(exc).__name__}: {exc}",
                             fix="the send is queued; it starts at the queue's next look, "
                                 "within queue_idle_polling_interval")

    @staticmethod
    def _touch(marker: Path) -> None:
        # The time is set explicitly, to the nanosecond: a file system stamps a plain touch
        # with its coarse clock, and two sends queued within one of its ticks would leave
        # the same time, the second unseen.
        if not marker.exists():
            marker.touch()
        now = time.time_ns()
        os.utime(marker, ns=(now, now))

    def _postgres(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = create_database_engine(self._url, pool_size=1, max_overflow=1)
            return self._engine

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()


class SendQueuedWatch:
    """The receiving side, for a process that runs the queue.

    Where it :attr:`pushes`, ``on_queued()`` is called for every send queued anywhere
    (PostgreSQL's notice; on Linux, SQLite's marker file touched). Otherwise :meth:`look`
    must be called at each tick and says whether a send was queued since the last look."""

    def __init__(self, database_url: str, engine: Engine,
                 on_queued: Callable[[], None]) -> None:
        self._marker = _marker(database_url)
        self._seen = self._queued_at()
        self._listener = (None if _on_sqlite(database_url) else
                          NoticeListener(engine, SEND_QUEUED_CHANNEL, lambda _: on_queued()))
        self._file_watch = (FileTouchWatch.start(self._marker, on_queued)
                            if self._marker is not None else None)

    @property
    def pushes(self) -> bool:
        """Whether a send queued anywhere calls ``on_queued()``, rather than being seen only
        by :meth:`look`."""
        return self._listener is not None or self._file_watch is not None

    def _queued_at(self) -> int:
        if self._marker is None:
            return 0
        try:
            return self._marker.stat().st_mtime_ns
        except OSError:  # not there yet: nothing was queued since the database was made
            return 0

    def look(self) -> bool:
        queued_at = self._queued_at()
        if queued_at == self._seen:
            return False
        self._seen = queued_at
        return True

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._file_watch is not None:
            self._file_watch.close()
