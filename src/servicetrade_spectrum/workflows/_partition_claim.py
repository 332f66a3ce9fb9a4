"""DBOS's claim of a partition's queued sends, in statements built once per process.

DBOS's own claim (``SystemDatabase.start_queued_workflows``, then ``get_workflow_statuses``
for what it claimed) builds its SQL expressions anew at every call, for every kind of queue
DBOS supports. Issue 7's profile of a durable send: that building took 4.2-5.0 ms of CPU a claim,
more than half of what the send's own reads and writes took, and the database's share of it
was under a tenth. A bulk run makes about one claim per send, in each of its processes.

So the claim is made here, for the one kind of queue this product has (a partition
concurrency limit and nothing else), with statements built when the queue starts, compiled
once to their driver's SQL (``store.DriverStatement``) and run with new parameters each time. It
is DBOS 3.4's claim for that kind, statement for statement:

1. in one transaction (REPEATABLE READ on PostgreSQL, as DBOS's; SQLite's is IMMEDIATE):
   count the partition's running sends; if the partition has no room, stop;
2. select up to that many of its queued sends of our version, oldest first (``FOR UPDATE
   NOWAIT`` on PostgreSQL: a claim that meets another's locks fails, and the next look
   claims);
3. mark them PENDING for this executor, with DBOS's bookkeeping (owner, start time,
   dispatch count, deadline), returning the ones it flipped;
4. read their statuses back, in the same transaction, in DBOS's status format.

The poller's listing of the partitions that hold queued sends (DBOS's ``get_queue_partitions``,
also built anew at every call: 2 ms of client CPU a look on PostgreSQL) is prepared here too.

A queue of any other kind, or a sharded DBOS database, gets DBOS's own claim
(:func:`claim_for`). ``tests/workflows/test_partition_claim.py`` claims the same queued
sends both ways, lists them both ways, and fails if the rows, statuses or partitions ever
differ.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from dbos import Queue
from dbos._sys_db import SystemDatabase, WorkflowStatusInternal, WorkflowStatusString

from servicetrade_spectrum.store import DriverStatement, driver_dialect, one_statement

__all__ = ["PartitionClaim", "claim_for"]

_MAX_BIGINT = 2**63 - 1
_ENQUEUED = WorkflowStatusString.ENQUEUED.value
_PENDING = WorkflowStatusString.PENDING.value
_STATUS_COLUMNS = (
    "workflow_uuid", "status", "name", "recovery_attempts", "config_name", "class_name",
    "authenticated_user", "authenticated_roles", "assumed_role", "queue_name", "executor_id",
    "created_at", "updated_at", "application_version", "application_id",
    "workflow_deadline_epoch_ms", "workflow_timeout_ms", "deduplication_id", "priority",
    "inputs", "queue_partition_key", "forked_from", "parent_workflow_id",
    "started_at_epoch_ms", "serialization", "delay_until_epoch_ms", "attributes",
    "schedule_name", "debounce_deadline_epoch_ms", "is_debounced", "application_name")
"""The columns of DBOS's status of a workflow (``SystemDatabase.get_workflow_statuses``)."""
_STATUS_KEYS = {"application_version": "app_version", "application_id": "app_id"}
"""The status's keys that are not named as their columns."""


def claim_for(sys_db: SystemDatabase, queue: Queue) -> PartitionClaim | None:
    """The prepared claim for ``queue``, or None when only DBOS's own claim fits it."""
    only_partition_limit = (
        queue._partition_concurrency is not None and queue._concurrency is None
        and queue._worker_concurrency is None and queue._partition_worker_concurrency is None
        and queue._limiter is None and queue._partition_limiter is None)
    if not only_partition_limit or sys_db.sharded:
        return None
    return PartitionClaim(sys_db, queue)


class PartitionClaim:
    """The claim of one partitioned queue's sends, its statements built once."""

    def __init__(self, sys_db: SystemDatabase, queue: Queue) -> None:
        assert queue._partition_concurrency is not None
        self.limit: int = queue._partition_concurrency
        self._engine = sys_db.engine
        self._isolation = ("REPEATABLE READ" if sys_db.engine.dialect.name == "postgresql"
                           else None)
        ws, inputs = sys_db.tables.workflow_status, sys_db.tables.workflow_input
        # The SQLite planner needs the in-flight partial indexes' predicate spelled out.
        in_flight = sys_db._in_flight_status_prover()
        this_app = sys_db._name_filter(ws.c.application_name, sys_db.app_name)
        ours = sa.and_(ws.c.queue_name == queue.name,
                       ws.c.queue_partition_key == sa.bindparam("partition"), this_app)
        running = (sa.select(sa.func.count()).select_from(ws)
                   .where(ours, ws.c.status == _PENDING, in_flight))
        queued = (
            sa.select(ws.c.workflow_uuid)
            .where(ours, ws.c.status == _ENQUEUED, in_flight,
                   ws.c.application_version == sa.bindparam("version"))
            .with_for_update(nowait=True)
            .order_by(ws.c.priority.asc(), ws.c.created_at.asc())
            .limit(sa.bindparam("room", type_=sa.Integer)))
        now_ms = sys_db._now_ms_sql()
        start_ms = sa.bindparam("start_ms", type_=sa.BigInteger)
        flip = (
            ws.update()
            .where(ws.c.workflow_uuid.in_(sa.bindparam("ids", expanding=True)),
                   ws.c.status == _ENQUEUED, this_app)
            .values(
                status=_PENDING, owner_xid=sa.bindparam("owner"),
                application_version=sa.bindparam("claim_version"),
                executor_id=sa.bindparam("executor"), application_name=sys_db.app_name,
                started_at_epoch_ms=now_ms, rate_limited=False,
                recovery_attempts=ws.c.recovery_attempts + 1, updated_at=now_ms,
                # A timeout set at enqueue becomes a deadline at dispatch, as DBOS sets it.
                workflow_deadline_epoch_ms=sa.case(
                    (sa.and_(ws.c.workflow_timeout_ms.isnot(None),
                             ws.c.workflow_deadline_epoch_ms.is_(None)),
                     sa.case((ws.c.workflow_timeout_ms
                              > sa.bindparam("latest_start_ms", type_=sa.BigInteger),
                              _MAX_BIGINT),
                             else_=start_ms + ws.c.workflow_timeout_ms)),
                    else_=ws.c.workflow_deadline_epoch_ms))
            .returning(ws.c.workflow_uuid))
        # The inputs live in their own table; older rows kept them in the status's own column.
        statuses = (
            sa.select(*(sa.func.coalesce(inputs.c.inputs, ws.c.inputs).label(name)
                        if name == "inputs" else ws.c[name] for name in _STATUS_COLUMNS))
            .select_from(ws.outerjoin(inputs, ws.c.workflow_uuid == inputs.c.workflow_uuid))
            .where(ws.c.workflow_uuid.in_(sa.bindparam("ids", expanding=True))))
        dialect = driver_dialect(self._engine)
        schemas = self._engine.get_execution_options().get("schema_translate_map")
        self._running, self._queued, self._flip, self._statuses, self._partitions = (
            DriverStatement(statement, dialect, schema_translate_map=schemas)
            for statement in (running, queued, flip, statuses,
                              _partitions_with_queued(sys_db, queue.name)))

    def queued_partitions(self) -> list[str]:
        """The partitions that hold queued sends (of any version, as DBOS lists them)."""
        with one_statement(self._engine) as connection:
            return [row[0] for row in self._partitions.execute(connection, {}).rows]

    def claim(self, partition_key: str, *, executor_id: str, app_version: str, owner_xid: str,
              start_ms: int) -> tuple[list[WorkflowStatusInternal], str | None]:
        """Claim what the partition has room for. Returns the claimed sends' statuses in
        queue order, and ``"partition_concurrency"`` when the partition had no room (as
        DBOS's claim names it). A lock held by another claim raises ``DBAPIError``."""
        with self._engine.connect() as connection:
            if self._isolation is not None:
                connection.execution_options(isolation_level=self._isolation)
            with connection.begin():
                running = self._running.scalar(connection, {"partition": partition_key}) or 0
                room = self.limit - running
                if room <= 0:
                    return [], "partition_concurrency"
                queued = [row[0] for row in self._queued.execute(
                    connection, {"partition": partition_key, "version": app_version,
                                 "room": room}).rows]
                if not queued:
                    return [], None
                flipped = {row[0] for row in self._flip.execute(connection, {
                    "owner": owner_xid, "claim_version": app_version,
                    "executor": executor_id, "start_ms": start_ms,
                    "latest_start_ms": _MAX_BIGINT - start_ms}, expand=("ids", queued)).rows}
                claimed = [workflow_id for workflow_id in queued if workflow_id in flipped]
                if not claimed:
                    return [], None
                rows = self._statuses.mappings(connection, {}, expand=("ids", claimed))
        by_id = {row["workflow_uuid"]: _status(row) for row in rows}
        return [by_id[workflow_id] for workflow_id in claimed if workflow_id in by_id], None


def _partitions_with_queued(sys_db: SystemDatabase, queue_name: str) -> Any:
    """DBOS 3.4's ``get_queue_partitions`` query for ``queue_name``: a recursive CTE that
    seeks the next partition key with queued sends in the partition index, one seek per
    partition, where a SELECT DISTINCT would scan every queued row."""
    ws = sys_db.tables.workflow_status
    queued = sa.and_(
        ws.c.queue_name == queue_name, ws.c.status == _ENQUEUED,
        sys_db._in_flight_status_prover(),
        sys_db._name_filter(ws.c.application_name, sys_db.app_name))
    partitions = (
        sa.select(sa.func.min(ws.c.queue_partition_key).label("pk"))
        .where(queued, ws.c.queue_partition_key.isnot(None))
        .cte("partitions", recursive=True))
    next_key = (sa.select(sa.func.min(ws.c.queue_partition_key))
                .where(queued, ws.c.queue_partition_key > partitions.c.pk)
                .scalar_subquery())
    partitions = partitions.union_all(sa.select(next_key).where(partitions.c.pk.isnot(None)))
    return sa.select(partitions.c.pk).where(partitions.c.pk.isnot(None))


def _status(row: Any) -> WorkflowStatusInternal:
    """A status row in DBOS's format (``SystemDatabase.get_workflow_statuses``)."""
    status = {_STATUS_KEYS.get(name, name): row[name] for name in _STATUS_COLUMNS}
    status["is_debounced"] = bool(status["is_debounced"])
    status["shard_key"] = None
    return cast(WorkflowStatusInternal, status)
