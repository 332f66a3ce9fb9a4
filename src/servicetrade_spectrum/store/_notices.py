"""PostgreSQL's notices: telling every process at once that something happened.

Two channels use them:

- :data:`SLOT_RELEASED_CHANNEL`: a Spectrum slot was given back (below);
- ``st_spectrum_send_queued``: a send was queued (``workflows._queue_signal``).

A Spectrum slot given back:

A call waiting for a slot that another process holds asks the database again every few
milliseconds, backing off to 20 ms. In issue 7's bulk benchmark on PostgreSQL (``serve`` and
two workers), 39% of the calls got their slot that way, from another process, 25 ms after it
was given back on average (median 20 ms): the server's slots stood idle a quarter of the time.

So on PostgreSQL, giving a slot back also sends ``NOTIFY`` on :data:`SLOT_RELEASED_CHANNEL`
(in the same transaction: delivered once the slot is free), with the server as payload. Each
process whose calls have had to wait listens on a connection of its own (connecting in the
background) and wakes its waiting calls at once.
Asking again stays the fallback: a notice lost to a broken connection costs speed, never a
slot. SQLite has no such notices; there one process sends, and its slots pass from call to
call in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, bindparam, func, select

from servicetrade_spectrum.logs import get_logger

__all__ = ["NOTIFY", "SLOT_RELEASED_CHANNEL", "NoticeListener", "notify"]

_log = get_logger(__name__)

SLOT_RELEASED_CHANNEL = "st_spectrum_slot_released"
_LOOK_EVERY_SECONDS = 1.0
"""How often the listener looks up from waiting, to notice it is being closed."""
_RECONNECT_SECONDS = 1.0
NOTIFY = select(func.pg_notify(bindparam("channel"), bindparam("payload")))
"""A notice on ``channel``, sent when the transaction that runs it commits."""


def notify(engine: Engine, channel: str, payload: str = "") -> None:
    """Send a notice on ``channel``, in a transaction of its own (PostgreSQL only)."""
    with engine.begin() as connection:
        connection.execute(NOTIFY, {"channel": channel, "payload": payload})


class NoticeListener:
    """Calls ``on_notice(payload)`` for every notice on ``channel``, from any process, while
    open."""

    def __init__(self, engine: Engine, channel: str, on_notice: Callable[[str], None]) -> None:
        self._engine = engine
        self._channel = channel
        self._on_notice = on_notice
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._connection: Any = None
        self._thread = threading.Thread(target=self._run, name=f"{channel}-notices",
                                        daemon=True)
        self._thread.start()

    @property
    def listening(self) -> bool:
        """Connected and listening: notices arrive (until the connection breaks)."""
        return self._connection is not None

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._listen()
            except Exception as exc:  # a database blip: the waiting calls still poll
                if self._closed.is_set():
                    return
                _log.warning("notices.lost", channel=self._channel,
                             error=f"{type(exc).__name__}: {exc}")
                self._drop_connection()
                self._closed.wait(_RECONNECT_SECONDS)

    def _listen(self) -> None:
        connection = self._connect()
        for notice in connection.notifies(timeout=_LOOK_EVERY_SECONDS):
            self._on_notice(notice.payload)
        # The generator ends at each timeout: the loop in _run listens again unless closed.

    def _connect(self) -> Any:
        with self._lock:
            if self._connection is None:
                # A connection of the engine's, kept out of its pool for good: LISTEN belongs
                # to the session that ran it.
                pooled = self._engine.raw_connection()
                connection: Any = pooled.driver_connection
                pooled.detach()
                connection.rollback()
                connection.autocommit = True
                connection.execute(f"LISTEN {self._channel}")
                self._connection = connection
            return self._connection

    def _drop_connection(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # already broken: nothing more to free
                _log.debug("notices.close_failed", channel=self._channel, error=str(exc))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=_LOOK_EVERY_SECONDS + 1)
        self._drop_connection()
