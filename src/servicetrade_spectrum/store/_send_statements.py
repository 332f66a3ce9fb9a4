"""The statements every send runs, built once and run on a plain connection.

Building a SQLAlchemy statement (``select(...).where(...)``) and going through an ORM session
cost more CPU than the database spends running the statement: through the ORM, a send's
dozen statements took 4 of its 10 ms of CPU (py-spy over bench/single_send.py's path).
These are built at import with bound parameters, so a send only binds values; SQLAlchemy's
compiled cache then serves them. Everything else in the store stays with the ORM, where clarity
matters more than a millisecond.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, delete, insert, or_, select, update

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
    "INSERT_ATTEMPT",
    "INSERT_LOCK",
    "LAST_SENT_SOURCE_FIELDS",
    "RELEASE_SPECTRUM_SLOT",
    "SPECTRUM_SLOTS",
    "TAKE_SPECTRUM_SLOT",
    "update_attempt",
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


def update_attempt(values: dict[str, Any], attempt_id: int) -> tuple[Update, dict[str, Any]]:
    """The UPDATE of one attempt's ``values`` and its parameters (the SET clause follows the
    parameters' keys; the compiled form is cached per set of columns)."""
    return _UPDATE_ATTEMPT, {**values, "attempt_id_": attempt_id}


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
