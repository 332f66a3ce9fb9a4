"""Our prepared claim of a partition's queued sends leaves what DBOS's own claim leaves.

Real DBOS runtime on the test's own database; sends are queued in two partitions alike and
claimed, one partition each way, without being run. If DBOS's claim changes (a column it sets,
its status format, its limit), these fail.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from dbos._dbos import _get_dbos_instance
from dbos._utils import GlobalParams, generate_uuid

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.sync import SendRequest
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
from servicetrade_spectrum.workflows._partition_claim import PartitionClaim, claim_for

TIMEOUT_SECONDS = 3600
PER_WORKFLOW = {"workflow_uuid", "owner_xid", "creator_xid", "deduplication_id",
                "queue_partition_key", "created_at", "updated_at", "started_at_epoch_ms",
                "workflow_deadline_epoch_ms"}
"""Columns that differ between two sends queued and claimed a moment apart."""


def queue_alike(queue: SendQueue, partitions: tuple[str, str], count: int
                ) -> dict[str, list[str]]:
    """``count`` sends in each partition, the same inputs, queued in turn; the first of
    each with a timeout (its claim sets a deadline). Each has a priority of its own: the
    queue's order is (priority, time queued), and on SQLite DBOS keeps that time to the
    second, which would leave the order of sends queued in the same second to chance."""
    queued: dict[str, list[str]] = {partition: [] for partition in partitions}
    for number in range(count):
        for partition in partitions:
            request = SendRequest(1000 + number, "Main", "test", "pytest")
            options = SendQueue.options(request, int(partition))
            options["priority"] = number + 1
            if number == 0:
                options["workflow_timeout"] = TIMEOUT_SECONDS
            # DBOS's own client, not SendQueue.enqueue: that would tell the poller to look.
            handle = queue._client.enqueue(options, request.job_id, request.connection,
                                           request.trigger, request.triggered_by)
            queued[partition].append(handle.get_workflow_id())
    return queued


def rows(ids: list[str]) -> list[dict[str, Any]]:
    sys_db = _get_dbos_instance()._sys_db
    table = sys_db.tables.workflow_status
    with sys_db.engine.connect() as connection:
        found = {row["workflow_uuid"]: dict(row) for row in connection.execute(
            sa.select(table).where(table.c.workflow_uuid.in_(ids))).mappings()}
    return [found[workflow_id] for workflow_id in ids]


def alike(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in record.items() if k not in PER_WORKFLOW and k != "shard_key"}
            for record in records]


def test_the_runtime_claims_its_queue_with_the_prepared_claim(
        quiet_runtime: DurableRuntime) -> None:
    assert quiet_runtime.poller is not None
    assert isinstance(claim_for(_get_dbos_instance()._sys_db, quiet_runtime.poller.queue),
                      PartitionClaim)


def test_the_prepared_claim_leaves_the_rows_and_statuses_dbos_claim_leaves(
        quiet_runtime: DurableRuntime, durable_settings: Settings) -> None:
    assert quiet_runtime.poller is not None
    dbos_queue = quiet_runtime.poller.queue
    sys_db = _get_dbos_instance()._sys_db
    limit = dbos_queue._partition_concurrency
    assert limit is not None
    queue = SendQueue(durable_settings)
    try:
        queued = queue_alike(queue, ("901", "902"), limit + 1)
    finally:
        queue.close()
    prepared = claim_for(sys_db, dbos_queue)
    assert prepared is not None

    before_ms = int(time.time() * 1000)
    ours, our_stop = prepared.claim("901", executor_id=GlobalParams.executor_id,
                                    app_version=GlobalParams.app_version,
                                    owner_xid=generate_uuid(), start_ms=before_ms)
    theirs_ids, their_stop = sys_db.start_queued_workflows(
        dbos_queue, GlobalParams.executor_id, GlobalParams.app_version, "902",
        owner_xid=generate_uuid(), is_latest_version=False)
    after_ms = int(time.time() * 1000)
    theirs = sys_db.get_workflow_statuses(theirs_ids)

    # The oldest sends, up to the partition's limit, in queue order; the rest still queued.
    assert [status["workflow_uuid"] for status in ours] == queued["901"][:limit]
    assert theirs_ids == queued["902"][:limit]
    assert our_stop is None
    assert their_stop is None
    assert alike(ours) == alike(theirs)  # type: ignore[arg-type]
    assert ours[0]["status"] == "PENDING"
    assert rows(queued["901"][limit:])[0]["status"] == "ENQUEUED"

    our_rows, their_rows = rows(queued["901"]), rows(queued["902"])
    assert alike(our_rows) == alike(their_rows)
    for claimed in (our_rows[0], their_rows[0]):  # the timeout became a deadline
        deadline = claimed["workflow_deadline_epoch_ms"] - TIMEOUT_SECONDS * 1000
        assert before_ms - 1000 <= deadline <= after_ms + 1000
    assert our_rows[1]["workflow_deadline_epoch_ms"] is None

    # Both partitions are full now: both claims stop at the partition's limit.
    assert prepared.claim("901", executor_id=GlobalParams.executor_id,
                          app_version=GlobalParams.app_version, owner_xid=generate_uuid(),
                          start_ms=after_ms) == ([], "partition_concurrency")
    assert sys_db.start_queued_workflows(
        dbos_queue, GlobalParams.executor_id, GlobalParams.app_version, "902",
        owner_xid=generate_uuid(), is_latest_version=False) == ([], "partition_concurrency")


def test_the_prepared_claim_takes_only_its_own_version(
        quiet_runtime: DurableRuntime, durable_settings: Settings) -> None:
    assert quiet_runtime.poller is not None
    prepared = claim_for(_get_dbos_instance()._sys_db, quiet_runtime.poller.queue)
    assert prepared is not None
    queue = SendQueue(durable_settings)
    try:
        queued = queue_alike(queue, ("903", "904"), 1)
    finally:
        queue.close()
    claimed, stopped_by = prepared.claim("903", executor_id=GlobalParams.executor_id,
                                         app_version="another-version",
                                         owner_xid=generate_uuid(),
                                         start_ms=int(time.time() * 1000))
    assert (claimed, stopped_by) == ([], None)
    assert rows(queued["903"])[0]["status"] == "ENQUEUED"


def test_the_prepared_listing_of_queued_partitions_is_dbos_listing(
        quiet_runtime: DurableRuntime, durable_settings: Settings) -> None:
    assert quiet_runtime.poller is not None
    dbos_queue = quiet_runtime.poller.queue
    sys_db = _get_dbos_instance()._sys_db
    prepared = claim_for(sys_db, dbos_queue)
    assert prepared is not None
    assert prepared.queued_partitions() == sys_db.get_queue_partitions(dbos_queue.name) == []

    queue = SendQueue(durable_settings)
    try:
        queued = queue_alike(queue, ("905", "906", "9070"), 2)
    finally:
        queue.close()
    listed = prepared.queued_partitions()
    assert listed == sys_db.get_queue_partitions(dbos_queue.name)
    assert sorted(listed) == ["905", "906", "9070"]

    # A partition whose sends are all claimed is no longer listed.
    prepared.claim("906", executor_id=GlobalParams.executor_id,
                   app_version=GlobalParams.app_version, owner_xid=generate_uuid(),
                   start_ms=int(time.time() * 1000))
    assert [row["status"] for row in rows(queued["906"])] == ["PENDING", "PENDING"]
    assert prepared.queued_partitions() == sys_db.get_queue_partitions(dbos_queue.name)
    assert sorted(prepared.queued_partitions()) == ["905", "9070"]
