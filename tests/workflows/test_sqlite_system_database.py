"""DBOS's SQLite system database with its hot-path writes compiled once writes what DBOS's own
writes: the same rows for an enqueue, a deduplicated enqueue and a workflow's outcome.

Real DBOS runtime on a SQLite database of the test's own, in both runs of the suite (the
prepared writes exist for SQLite only). Each test does the same thing twice, once through a
DBOS client of our own (prepared) and once through a plain one, in two partitions, and
compares what is left in the tables. If DBOS changes a write, these fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOSClient
from dbos._dbos import _get_dbos_instance
from dbos._error import DBOSQueueDeduplicatedError
from dbos._serialization import DefaultSerializer
from dbos._sys_db import SystemDatabase
from dbos._sys_db_postgres import PostgresSystemDatabase
from dbos._sys_db_sqlite import SQLiteSystemDatabase
from dbos._utils import GlobalParams, generate_uuid

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import SendRequest
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
from servicetrade_spectrum.workflows._runtime import APP_NAME
from servicetrade_spectrum.workflows._sqlite_system_database import (
    PreparedSQLiteSystemDatabase,
    prepare_statements,
)

from .conftest import started_runtime

PER_WORKFLOW = {"workflow_uuid", "owner_xid", "creator_xid", "deduplication_id",
                "queue_partition_key", "created_at", "updated_at", "started_at_epoch_ms",
                "completed_at", "retention_timestamp"}
"""Columns that differ between two sends queued and ended a moment apart (SQLite keeps some
times to the second, so even two writes made alike may straddle one)."""


@pytest.fixture
def sqlite_settings(settings: Settings, tmp_path: Path) -> Settings:
    """``settings`` on a SQLite database of this test's own, whatever the suite runs on."""
    return Settings(**{**settings.model_dump(),
                       "database_url": f"sqlite:///{tmp_path / 'system.db'}",
                       "dbos_schema": "dbos"})


@pytest.fixture
def runtime(sqlite_settings: Settings) -> Iterator[DurableRuntime]:
    # Looked at once at start, then not within the test: only the claims below take sends.
    quiet = sqlite_settings.model_copy(update={"queue_polling_interval": 30,
                                                "queue_idle_polling_interval": 60})
    store = Store.open(quiet)
    # Nothing claimed here is ever run: nothing to drain.
    with started_runtime(quiet, store, drain_seconds=0) as running:
        yield running
    store.close()


@pytest.fixture
def queues(runtime: DurableRuntime, sqlite_settings: Settings
           ) -> Iterator[tuple[DBOSClient, DBOSClient]]:
    """(ours, plain): our send queue's DBOS client, and a DBOS client left as DBOS makes it."""
    ours = SendQueue(sqlite_settings)
    plain = DBOSClient(system_database_url=sqlite_settings.effective_database_url,
                       application_name=APP_NAME)
    yield ours._client, plain
    ours.close()
    plain.destroy()


def enqueue(client: DBOSClient, partition: int, job_id: int, *,
            return_existing: bool = True) -> str:
    # The client itself, not SendQueue.enqueue: that would start the send here at once.
    request = SendRequest(job_id, "Main", "test", "pytest")
    options = SendQueue.options(request, partition, return_existing=return_existing)
    handle = client.enqueue(options, request.job_id, request.connection, request.trigger,
                            request.triggered_by)
    return str(handle.get_workflow_id())


def rows(sys_db: SystemDatabase, table_name: str, ids: list[str]) -> list[dict[str, Any]]:
    table = getattr(sys_db.tables, table_name)
    with sys_db.engine.connect() as connection:
        found = {row["workflow_uuid"]: dict(row) for row in connection.execute(
            sa.select(table).where(table.c.workflow_uuid.in_(ids))).mappings()}
    return [found[workflow_id] for workflow_id in ids if workflow_id in found]


def alike(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in record.items() if k not in PER_WORKFLOW} for record in records]


def test_the_runtime_and_the_queue_write_with_prepared_statements(
        queues: tuple[DBOSClient, DBOSClient]) -> None:
    ours, plain = queues
    assert type(_get_dbos_instance()._sys_db) is PreparedSQLiteSystemDatabase
    assert type(ours._sys_db) is PreparedSQLiteSystemDatabase
    assert type(plain._sys_db) is SQLiteSystemDatabase


def test_a_postgresql_system_database_is_left_as_dbos_made_it() -> None:
    # PostgreSQL's compiles its hot path once already. Made, never connected.
    sys_db = SystemDatabase.create(
        system_database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", engine_kwargs={},
        engine=None, schema="dbos", serializer=DefaultSerializer(), executor_id=None)
    try:
        prepare_statements(sys_db)
        assert type(sys_db) is PostgresSystemDatabase
    finally:
        sys_db.engine.dispose()


def test_an_enqueue_and_a_deduplicated_one_write_what_dbos_writes(
        queues: tuple[DBOSClient, DBOSClient]) -> None:
    ours, plain = queues
    mine, theirs = enqueue(ours, 911, 1001), enqueue(plain, 912, 1001)
    for table in ("workflow_status", "workflow_input"):
        assert alike(rows(ours._sys_db, table, [mine])) == alike(
            rows(plain._sys_db, table, [theirs]))
    assert rows(ours._sys_db, "workflow_status", [mine])[0]["status"] == "ENQUEUED"

    # The same job again: the send already queued is handed back, or refused when asked.
    assert enqueue(ours, 911, 1001) == mine
    assert enqueue(plain, 912, 1001) == theirs
    for client, partition in ((ours, 911), (plain, 912)):
        with pytest.raises(DBOSQueueDeduplicatedError):
            enqueue(client, partition, 1001, return_existing=False)


def test_an_outcome_writes_what_dbos_writes_and_only_for_its_owner(
        queues: tuple[DBOSClient, DBOSClient], runtime: DurableRuntime) -> None:
    ours, plain = queues
    sys_db = _get_dbos_instance()._sys_db
    assert runtime.poller is not None
    queue = runtime.poller.queue
    ended: list[str] = []
    for client, partition in ((ours, 913), (plain, 914)):
        workflow_id = enqueue(client, partition, 1002)
        owner = generate_uuid()
        claimed, _ = sys_db.start_queued_workflows(
            queue, GlobalParams.executor_id, GlobalParams.app_version, str(partition),
            owner_xid=owner, is_latest_version=False)
        assert claimed == [workflow_id]
        # Another owner's outcome is refused and writes nothing.
        assert client._sys_db.update_workflow_outcome(
            workflow_id, "SUCCESS", output="wrong", owner_xid=generate_uuid()) is False
        assert rows(client._sys_db, "workflow_output", [workflow_id]) == []
        assert rows(client._sys_db, "workflow_status", [workflow_id])[0]["status"] == "PENDING"
        assert client._sys_db.update_workflow_outcome(
            workflow_id, "SUCCESS", output="sent", owner_xid=owner) is True
        ended.append(workflow_id)

    mine, theirs = ended
    for table in ("workflow_status", "workflow_output"):
        assert alike(rows(ours._sys_db, table, [mine])) == alike(
            rows(plain._sys_db, table, [theirs]))
    status = rows(ours._sys_db, "workflow_status", [mine])[0]
    assert (status["status"], status["deduplication_id"], status["owner_xid"]) == (
        "SUCCESS", None, None)
    assert status["completed_at"] is not None
    assert rows(ours._sys_db, "workflow_output", [mine])[0]["output"] == "sent"
    # Ended, the job is free for a new send.
    assert enqueue(ours, 913, 1002) != mine
