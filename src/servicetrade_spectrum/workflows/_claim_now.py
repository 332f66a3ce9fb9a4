"""Start a send queued in this process at once, instead of at the queue's next poll.

DBOS's queue thread looks for queued sends every ``queue_polling_interval`` and cannot be
woken: a send queued by the web app of the same ``serve`` waited half a poll on average, up to
a whole one (issue 7: at the 20 ms polling of the time, 20 of the 30 ms a re-send may spend
above its floor; polling is 50 ms now that single sends do not wait for it).
So when this process runs the send queue, queuing a single send also claims its partition
right away, as the queue thread claims one partition: the same transaction claims it (made
from statements prepared once, :mod:`._partition_claim`), under the same partition limit,
and the same dispatch runs it. Nothing else changes: deduplication, durability and recovery
are the queue's, and whatever this claim does not take (the partition is full, another
worker holds its rows, the database is busy) the queue's next look takes as before.

The looks themselves are made here too (:func:`claim_queued`), by this process's
``QueuePoller`` in place of DBOS's queue thread (``_queue_poller``).

On both databases. A claim on enqueue that meets another's (a poller's look in a bulk run,
another worker) waits for SQLite's write lock, or fails at once on PostgreSQL's row locks
(``FOR UPDATE NOWAIT``); then the send is signalled and a look claims it. Bulk sends do
not claim on enqueue: thousands are queued at once, and the poll keeps the partition full
anyway. The calls used are DBOS internals (pinned to DBOS 3.x in
``pyproject.toml``); ``tests/workflows/test_durable_send.py`` and
``test_partition_claim.py`` fail if they change.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from dbos import DBOS, Queue
from dbos._core import execute_dequeued_workflow
from dbos._dbos import _get_dbos_instance
from dbos._sys_db import SystemDatabase, WorkflowStatusInternal
from dbos._utils import GlobalParams, generate_uuid
from sqlalchemy.exc import DBAPIError

from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.workflows._partition_claim import PartitionClaim, claim_for

__all__ = ["Claim", "claim_now", "claim_partition", "claim_queued", "listen_here",
           "queued_partitions", "stop_listening"]

_log = get_logger(__name__)

_queue: Queue | None = None
"""The queue this process runs, if any (set once at start, cleared at stop)."""


def listen_here(queue: Queue) -> None:
    """This process runs ``queue`` (its DBOS runtime is launched and listens to it)."""
    global _queue
    _queue = queue


def stop_listening() -> None:
    global _queue
    _queue = None


def claim_now(partition_key: str) -> int:
    """Claim and start the queued sends of one partition, as the queue's poll would.

    Returns how many were started here (0 when this process does not run the queue)."""
    queue = _queue
    if queue is None:
        return 0
    return claim_partition(queue, partition_key).started


def queued_partitions(queue: Queue) -> list[str]:
    """The partitions of ``queue`` that hold queued sends. One query, but not a cheap one
    while thousands are queued (issue 7's bulk on PostgreSQL: 9 ms of the server's CPU);
    from SQL compiled once where the claim is (DBOS builds it anew: 2 ms of client CPU a
    look on PostgreSQL)."""
    sys_db = _get_dbos_instance()._sys_db
    prepared = _prepared_claim(sys_db, queue)
    if prepared is not None:
        return prepared.queued_partitions()
    return sys_db.get_queue_partitions(queue.name)


def claim_queued(queue: Queue, partitions: list[str]) -> list[str]:
    """One look at ``partitions``, as DBOS's queue thread makes it: claim and start in each
    as many queued sends as it has room for, in random order (so that none starves).
    Returns the partitions that may still hold queued sends (full, or not looked at)."""
    partitions = list(partitions)
    random.shuffle(partitions)
    return [partition_key for partition_key in partitions
            if claim_partition(queue, partition_key).more_queued]


@dataclass(frozen=True)
class Claim:
    started: int
    """Sends claimed and started here."""
    more_queued: bool
    """The partition may still hold queued sends: it was full, or the claim could not look."""


def claim_partition(queue: Queue, partition_key: str) -> Claim:
    """Claim and start the queued sends of one partition that it has room for."""
    dbos = _get_dbos_instance()
    owner = generate_uuid()
    try:
        statuses, stopped_by = _claim(dbos, queue, partition_key, owner)
    except DBAPIError as exc:  # a lock or a conflict: the queue's next look claims it
        _log.debug("queue.claim_now_skipped", partition=partition_key, error=str(exc))
        return Claim(0, more_queued=True)
    # No room stops a claim with a reason; a claim that found fewer queued than it had room
    # for stops without one. One that filled its room exactly also stops without one, and
    # more may be queued: its next claim finds out.
    more_queued = stopped_by is not None or bool(statuses)
    for status in statuses:
        try:
            execute_dequeued_workflow(dbos, status, owner)
        except Exception as exc:  # as the queue thread does: log; recovery takes it over
            _log.error("queue.claim_now_failed", workflow=status["workflow_uuid"],
                       error=str(exc))
    return Claim(len(statuses), more_queued)


_prepared: tuple[SystemDatabase, str, PartitionClaim | None] | None = None
"""The system database and queue of the last claim, and their prepared claim (None where
DBOS's own must be made). Compared by identity: a new DBOS launch (tests launch one per
database) has a system database of its own, and the statements of the last one are bound to
the last one's engine."""


def _prepared_claim(sys_db: SystemDatabase, queue: Queue) -> PartitionClaim | None:
    global _prepared
    if _prepared is None or _prepared[0] is not sys_db or _prepared[1] != queue.name:
        _prepared = (sys_db, queue.name, claim_for(sys_db, queue))
    return _prepared[2]


def _claim(dbos: DBOS, queue: Queue, partition_key: str, owner: str
           ) -> tuple[list[WorkflowStatusInternal], str | None]:
    """The statuses of the sends claimed (in queue order), and the limit that stopped it."""
    sys_db = dbos._sys_db
    prepared = _prepared_claim(sys_db, queue)
    if prepared is not None:
        return prepared.claim(partition_key, executor_id=GlobalParams.executor_id,
                              app_version=GlobalParams.app_version, owner_xid=owner,
                              start_ms=int(time.time() * 1000))
    running = dbos._active_workflows_set
    claimed, stopped_by = sys_db.start_queued_workflows(
        queue, GlobalParams.executor_id, GlobalParams.app_version, partition_key,
        running.count_for_queue(queue.name),
        running.count_for_partition(queue.name, partition_key), owner_xid=owner,
        # Every send is queued with APP_VERSION, so no version-less one is ever waiting:
        # claiming ours only spares the query of which version is the latest.
        is_latest_version=False)
    return sys_db.get_workflow_statuses(claimed) if claimed else [], stopped_by
