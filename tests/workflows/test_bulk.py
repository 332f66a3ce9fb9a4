"""Queueing many sends at once (``bulk-send``'s engine), in-process on an isolated database.

A live ``worker`` heartbeat (no process behind it) keeps the sends queued, so what is
measured and counted is the queueing alone.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import ClientPool, SendRequest, SendService
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
from servicetrade_spectrum.workflows._bulk import BulkSender

JOBS = 2000


@pytest.fixture
def bulk(durable_settings: Settings, durable_store: Store) -> Iterator[BulkSender]:
    clients = ClientPool(durable_settings)
    sender = SendService(durable_store, clients)
    # Create DBOS's tables, as any first run does, then pretend a worker is alive.
    DurableRuntime(durable_settings, durable_store, sender, role="embedded").start().stop()
    durable_store.heartbeat("worker-elsewhere", role="worker", host=socket.gethostname(),
                            pid=os.getpid(), at=time.time() + 3600)
    yield BulkSender(durable_settings, durable_store, sender,
                     durable_store.connection("Main"), trigger="bulk", triggered_by="test")
    clients.close()


def queued_ids(queue: SendQueue, prefix: str) -> list[str]:
    return [w.workflow_id for w in queue._client.list_workflows(
        workflow_id_prefix=prefix, load_input=False, load_output=False)]


def test_thousands_queue_in_one_pass_and_queueing_them_again_adds_nothing(
        bulk: BulkSender, send_queue: SendQueue) -> None:
    job_ids = list(range(1, JOBS + 1))
    # One job already queued by someone else (a rule, a send): followed, not queued twice.
    other = send_queue.enqueue(SendRequest(7, "Main", "rule", "test"), bulk.connection.id)
    # Speed is measured in bench/, not asserted here (docs/benchmarks.md).
    report = bulk.run(job_ids, id_prefix="bulk-t-", stop=threading.Event(), follow=False)
    assert sorted(report.unfinished) == job_ids  # queued for the worker, none finished
    assert not report.embedded
    mine = queued_ids(send_queue, "bulk-t-")
    assert len(mine) == JOBS - 1
    assert "bulk-t-7" not in mine
    assert other.get_status().status == "ENQUEUED"

    again = bulk.run(job_ids, id_prefix="bulk-t-", stop=threading.Event(), follow=False)
    assert sorted(again.unfinished) == job_ids
    assert sorted(queued_ids(send_queue, "bulk-t-")) == sorted(mine)
    assert len(queued_ids(send_queue, "")) == JOBS  # every job once, the other send included


def test_a_stop_before_queueing_queues_nothing(bulk: BulkSender, send_queue: SendQueue) -> None:
    stop = threading.Event()
    stop.set()
    report = bulk.run([1, 2, 3], id_prefix="bulk-s-", stop=stop)
    assert sorted(report.unfinished) == [1, 2, 3]
    assert report.interrupted
    assert queued_ids(send_queue, "bulk-s-") == []
