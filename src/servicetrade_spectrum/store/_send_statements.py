"""The statements every send runs, built once and run on a plain connection.

Building a SQLAlchemy statement (``select(...).where(...)``) and going through an ORM session
cost more CPU than the database spends running the statement: through the ORM, a send's
dozen statements took 4 of its 10 ms of CPU (py-spy over bench/single_send.py's path).
These are built at import with bound parameters, so a send only binds values; and each store
runs them compiled once to its driver's SQL (:class:`SendStatements`, ``_driver_sql``), which
spares the cache key and execution set-up SQLAlchemy's compiled cache still costs at every
execution (issue 7: 2.3 ms of a durable send's CPU went to the store's six transactions).
Everything else in the store stays with the ORM, where clarity matters more than a
millisecond.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Engine,
    Integer,
    Table,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from servicetrade_spectrum.store._driver_sql import DriverStatement, driver_dialect
from servicetrade_spectrum.store._models import (
    Account,
    Connection,
    SendLock,
    SpectrumSlot,
    SyncAttempt,
)

__all__ = [
    "ACCOUNT_PREFIX",
    "ATTEMPT_OF_RUN",
    "ATTEMPT_PROGRESS",
    "ATTEMPT_STARTED_AT",
    "CONNECTION_WITH_ACCOUNT",
    "DELETE_EXPIRED_LOCK",
    "DELETE_LOCK",
    "FINISH_ATTEMPT",
    "INSERT_ATTEMPT",
    "INSERT_LOCK",
    "LAST_SENT_SOURCE_FIELDS",
    "MARK_PREPARED_CONCLUDING",
    "RELEASE_SPECTRUM_SLOT",
    "SPECTRUM_SLOTS",
    "TAKE_SPECTRUM_SLOT",
    "MillisecondsSince",
    "SendStatements",
]

_attempts = cast(Table, SyncAttempt.__table__)
_connections = cast(Table, Connection.__table__)
_accounts = cast(Table, Account.__table__)
_locks = cast(Table, SendLock.__table__)
_slots = cast(Table, SpectrumSlot.__table__)

ACCOUNT_PREFIX = "account__"
"""The account's columns come labelled with this prefix (both tables have ``name``...)."""

CONNECTION_WITH_ACCOUNT = (
    select(_connections, *(c.label(ACCOUNT_PREFIX + c.key) for c in _accounts.columns))
    .join(_accounts, _accounts.c.id == _connections.c.account_id)
    .where(_connections.c.name == bindparam("name")))

LAST_SENT_SOURCE_FIELDS = (
    select(_attempts.c.source_fields)
    .where(_attempts.c.connection_id == bindparam("connection_id"),
           _attempts.c.job_id == bindparam("job_id"), _attempts.c.status == "sent")
    .order_by(_attempts.c.id.desc()).limit(1))

ATTEMPT_OF_RUN = select(_attempts.c.id).where(_attempts.c.run_id == bindparam("run_id"))
INSERT_ATTEMPT = insert(_attempts).returning(_attempts.c.id)
ATTEMPT_STARTED_AT = select(_attempts.c.started_at).where(
    _attempts.c.id == bindparam("attempt_id"))
ATTEMPT_PROGRESS = select(_attempts.c.status, _attempts.c.stage).where(
    _attempts.c.id == bindparam("attempt_id"))

# An UPDATE's WHERE parameters end in "_": SQLAlchemy keeps a column's own name for its SET.
_UPDATE_ATTEMPT = update(_attempts).where(_attempts.c.id == bindparam("attempt_id_"))


class MillisecondsSince(FunctionElement[int]):
    """Whole milliseconds (rounded) from a timestamp column to a later time, reckoned by the
    database: ``MillisecondsSince(column, later)``."""

    type = Integer()
    name = "milliseconds_since"
    inherit_cache = True


@compiles(MillisecondsSince, "postgresql")
def _milliseconds_since_on_postgresql(element: MillisecondsSince, compiler: SQLCompiler,
                                      **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start})) * 1000) AS INTEGER)"


@compiles(MillisecondsSince, "sqlite")
def _milliseconds_since_on_sqlite(element: MillisecondsSince, compiler: SQLCompiler,
                                  **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400000) AS INTEGER)"


FINISH_ATTEMPT = _UPDATE_ATTEMPT.values(duration_ms=MillisecondsSince(
    _attempts.c.started_at, bindparam("finished_at_", type_=DateTime(timezone=True))))
"""An attempt's final UPDATE: with its values and ``finished_at``, the duration from its
start, in the same statement (no read of ``started_at`` first, no transaction around two
statements: on PostgreSQL one round trip instead of four)."""

MARK_PREPARED_CONCLUDING = (
    _UPDATE_ATTEMPT
    .where(_attempts.c.status == "running", _attempts.c.stage == "prepared")
    .values(stage="concluding"))
"""A conclusion's mark in the usual case: only a running attempt at stage ``prepared`` is
marked (with the Spectrum call's record), so a changed row says what the row was."""


DELETE_EXPIRED_LOCK = delete(_locks).where(
    _locks.c.connection_id == bindparam("connection_id"), _locks.c.job_id == bindparam("job_id"),
    _locks.c.expires_at < bindparam("now"))
INSERT_LOCK = insert(_locks)
DELETE_LOCK = delete(_locks).where(
    _locks.c.connection_id == bindparam("connection_id"), _locks.c.job_id == bindparam("job_id"),
    _locks.c.holder == bindparam("holder"))

_slot_is_free = or_(_slots.c.holder == "", _slots.c.expires_at < bindparam("now"))
SPECTRUM_SLOTS = select(_slots.c.slot, _slot_is_free.label("free")).where(
    _slots.c.server == bindparam("server"), _slots.c.slot < bindparam("limit"))
TAKE_SPECTRUM_SLOT = (
    update(_slots)
    .where(_slots.c.server == bindparam("server_"), _slots.c.slot == bindparam("slot_"),
           _slot_is_free)
    .values(holder=bindparam("new_holder"), expires_at=bindparam("new_expires_at")))
RELEASE_SPECTRUM_SLOT = (
    update(_slots)
    .where(_slots.c.server == bindparam("server_"), _slots.c.slot == bindparam("slot_"),
           _slots.c.holder == bindparam("holder_"))
    .values(holder=""))


class SendStatements:
    """The statements above, compiled once for one engine's driver (``_driver_sql``)."""

    def __init__(self, engine: Engine) -> None:
        self._dialect = driver_dialect(engine)
        prepared = self._prepared
        self.connection_with_account = prepared(CONNECTION_WITH_ACCOUNT)
        self.last_sent_source_fields = prepared(LAST_SENT_SOURCE_FIELDS)
        self.attempt_of_run = prepared(ATTEMPT_OF_RUN)
        self.attempt_started_at = prepared(ATTEMPT_STARTED_AT)
        self.attempt_progress = prepared(ATTEMPT_PROGRESS)
        self.delete_expired_lock = prepared(DELETE_EXPIRED_LOCK)
        self.insert_lock = prepared(INSERT_LOCK)
        self.delete_lock = prepared(DELETE_LOCK)
        self.spectrum_slots = prepared(SPECTRUM_SLOTS)
        self.take_spectrum_slot = prepared(TAKE_SPECTRUM_SLOT)
        self.release_spectrum_slot = prepared(RELEASE_SPECTRUM_SLOT)
        self._by_columns: dict[tuple[Any, tuple[str, ...]], DriverStatement] = {}
        """The attempt statements whose columns a caller chooses, by statement and columns."""

    def _prepared(self, statement: Any, columns: tuple[str, ...] | None = None
                  ) -> DriverStatement:
        return DriverStatement(statement, self._dialect, column_keys=columns)

    def _for_columns(self, statement: Any, columns: tuple[str, ...]) -> DriverStatement:
        """``statement`` compiled for these parameters, once per set of them."""
        key = (statement, columns)
        if key not in self._by_columns:
            self._by_columns[key] = self._prepared(statement, columns)
        return self._by_columns[key]

    def insert_attempt(self, row: dict[str, Any]) -> DriverStatement:
        """The INSERT of an attempt with ``row``'s columns (every column with a default:
        see ``_driver_sql``), returning its ID."""
        return self._for_columns(INSERT_ATTEMPT, tuple(row))

    def update_attempt(self, values: dict[str, Any]) -> DriverStatement:
        """The UPDATE of one attempt's ``values`` (its ID as ``attempt_id_``)."""
        return self._for_columns(_UPDATE_ATTEMPT, (*values, "attempt_id_"))

    def finish_attempt(self, values: dict[str, Any]) -> DriverStatement:
        """:data:`FINISH_ATTEMPT` with ``values`` (``finished_at`` among them), its ID as
        ``attempt_id_`` and the end again as ``finished_at_``."""
        return self._for_columns(FINISH_ATTEMPT, (*values, "finished_at_", "attempt_id_"))

    def mark_prepared_concluding(self, values: dict[str, Any]) -> DriverStatement:
        """:data:`MARK_PREPARED_CONCLUDING` with ``values`` (its ID as ``attempt_id_``)."""
        return self._for_columns(MARK_PREPARED_CONCLUDING, (*values, "attempt_id_"))
