"""Group commit: concurrent writes that someone waits on, committed together in one transaction.

SQLite has one writer at a time. Under a webhook burst every delivery was its own transaction,
each one waiting for SQLite's write lock and then for the deliveries ahead of it; the waits,
not the inserts, made the acknowledgement's tail (issue 7: p99 81 ms for a write of 2 ms).
Here a caller adds its row to a list and takes its turn as the writer; whoever gets the turn
writes every row waiting at that moment in one transaction, and each caller returns once the
transaction holding its row has committed. Under load a transaction carries many rows; alone,
a caller writes its own row at once, as before.

A failed transaction fails every caller whose row it carried (nothing was committed for
them): each answers as if its own write had failed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine

from servicetrade_spectrum.store._engine import write_promptly

__all__ = ["GroupCommit"]

Row = TypeVar("Row")
Outcome = TypeVar("Outcome")


@dataclass
class _Waiting(Generic[Row, Outcome]):
    row: Row
    done: bool = False
    outcome: Outcome | None = None
    error: BaseException | None = field(default=None)


class GroupCommit(Generic[Row, Outcome]):
    def __init__(self, engine: Engine, write: Callable[[Connection, Row], Outcome]) -> None:
        """``write`` writes one row inside the group's transaction; it must not fail for one
        row alone (a duplicate is an outcome, e.g. ``INSERT ... ON CONFLICT DO NOTHING``)."""
        self._engine = engine
        self._write = write
        self._turn = threading.Lock()
        self._list_lock = threading.Lock()
        self._waiting: list[_Waiting[Row, Outcome]] = []

    def submit(self, row: Row) -> Outcome:
        """Write ``row``; return its outcome once it is committed."""
        mine: _Waiting[Row, Outcome] = _Waiting(row)
        with self._list_lock:
            self._waiting.append(mine)
        with self._turn:
            if not mine.done:  # no writer before us took it: write everything waiting
                with self._list_lock:
                    group, self._waiting = self._waiting, []
                self._commit(group)
        if mine.error is not None:
            raise mine.error
        return mine.outcome  # type: ignore[return-value]  # set when done without error

    def _commit(self, group: list[_Waiting[Row, Outcome]]) -> None:
        try:
            with write_promptly(self._engine) as conn:
                outcomes = [self._write(conn, waiting.row) for waiting in group]
        except Exception as exc:
            for waiting in group:
                waiting.error, waiting.done = exc, True
            return
        for waiting, outcome in zip(group, outcomes, strict=True):
            waiting.outcome, waiting.done = outcome, True
