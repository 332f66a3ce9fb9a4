"""Durable sends in one process: the queue, deduplication, paused connections, resumed runs.

Real HTTP to both emulators, a real database of the test's own (DBOS tables included).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS
from sqlalchemy import event

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import ClientPool, SendRequest, SendService
from servicetrade_spectrum.sync._send import Called, Prepared
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue, server_running

from .conftest import wait_until

CONNECTION = "Main"


@pytest.fixture
def sender(durable_store: Store, durable_settings: Settings) -> Iterator[SendService]:
    clients = ClientPool(durable_settings)
    yield SendService(durable_store, clients)
    clients.close()


@pytest.fixture
def runtime(durable_settings: Settings, durable_store: Store,
            sender: SendService) -> Iterator[DurableRuntime]:
    running = DurableRuntime(durable_settings, durable_store, sender, role="worker").start()
    yield running
    running.stop(drain_seconds=2)


@pytest.fixture
def queue(durable_settings: Settings) -> Iterator[SendQueue]:
    opened = SendQueue(durable_settings)
    yield opened
    opened.close()


def request(job_id: int) -> SendRequest:
    return SendRequest(job_id, CONNECTION, "test", "pytest")


def test_a_queued_send_runs_and_reports_its_result(
        runtime: DurableRuntime, queue: SendQueue, durable_store: Store,
        jobs: seed.NotableJobs, servicetrade_emulator: ServiceTradeEmulator) -> None:
    connection_id = durable_store.connection(CONNECTION).id
    result = queue.result(queue.enqueue(request(jobs.ready), connection_id))
    assert result.status == "sent"
    assert result.work_order_number == "T10002"
    assert servicetrade_emulator.external_ids("job", jobs.ready)["spectrum"] == "T10002"
    (attempt,) = durable_store.history(job_id=jobs.ready)
    assert attempt.status == "sent"
    assert attempt.trigger == "test"
    failed = queue.result(queue.enqueue(request(jobs.customer_not_mapped), connection_id))
    assert failed.failure is not None
    assert failed.failure.kind.value == "customer_not_mapped"


def test_a_send_records_no_steps_its_attempt_is_the_checkpoint(
        runtime: DurableRuntime, queue: SendQueue, durable_store: Store,
        jobs: seed.NotableJobs) -> None:
    # Each recorded step costs DBOS two transactions; a resumed send goes on from its attempt
    # record instead (docs/decisions.md). DBOS records the workflow's start and result only.
    connection_id = durable_store.connection(CONNECTION).id
    handle = queue.enqueue(request(jobs.ready), connection_id)
    assert queue.result(handle).status == "sent"
    assert DBOS.list_workflow_steps(handle.get_workflow_id()) == []
    attempt = durable_store.attempt_for_run(handle.get_workflow_id())
    assert attempt is not None
    assert (attempt.status, attempt.work_order_number) == ("sent", "T10002")


def test_a_run_resumed_after_its_attempt_finished_returns_it_and_reads_nothing(
        sender: SendService, durable_store: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    # The crash came after the attempt was finished but before DBOS recorded the result.
    first = sender.run(jobs.ready, CONNECTION, trigger="test", triggered_by="pytest",
                       run_id="run-finished")
    assert first.status == "sent"
    spectrum_calls = len(spectrum_emulator.requests)
    servicetrade_emulator.clear_requests()
    again = sender.run(jobs.ready, CONNECTION, trigger="test", triggered_by="pytest",
                       run_id="run-finished")
    assert (again.status, again.attempt_id, again.work_order_number) == (
        "sent", first.attempt_id, "T10002")
    assert servicetrade_emulator.requests == []
    assert len(spectrum_emulator.requests) == spectrum_calls
    assert len(durable_store.history(job_id=jobs.ready)) == 1


def crash_in_conclusion(sender: SendService, store: Store, job_id: int,
                        run_id: str) -> tuple[Prepared, Called]:
    """A run that called Spectrum and began its conclusion, then died."""
    prepared = sender.prepare(job_id, CONNECTION, trigger="test", triggered_by="pytest",
                              run_id=run_id)
    called = sender.call_spectrum(prepared)
    store.begin_concluding(prepared.attempt_id, **called.as_columns())
    return prepared, called


def test_a_run_resumed_in_its_conclusion_neither_calls_again_nor_comments_twice(
        sender: SendService, durable_store: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    # The crashed run had Spectrum's rejection and had posted its comment.
    job = jobs.unknown_customer_code
    crashed, called = crash_in_conclusion(sender, durable_store, job, "run-rejected")
    assert called.failure is not None
    comment = called.failure.as_comment(CONNECTION)
    servicetrade_emulator.account.add_comment(
        {"entityType": 3, "entityId": job, "content": comment}, 41)
    spectrum_calls = len(spectrum_emulator.requests)
    servicetrade_emulator.clear_requests()
    result = sender.run(job, CONNECTION, trigger="test", triggered_by="pytest",
                        run_id="run-rejected")
    assert (result.status, result.attempt_id) == ("failed", crashed.attempt_id)
    assert result.failure is not None
    assert result.failure.kind.value == "rejected_by_spectrum"
    assert len(spectrum_emulator.requests) == spectrum_calls
    assert [r.method for r in servicetrade_emulator.requests] == ["GET"]  # the read-back
    assert [c["content"] for c in servicetrade_emulator.comments(job)] == [comment]
    (attempt,) = durable_store.history(job_id=job)
    assert attempt.comment_posted
    assert attempt.request_body  # the call's record, written as the conclusion began


def test_a_run_resumed_in_its_conclusion_writes_the_recorded_work_order_number(
        sender: SendService, durable_store: Store, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    crashed, called = crash_in_conclusion(sender, durable_store, jobs.ready, "run-sent")
    assert called.failure is None
    spectrum_calls = len(spectrum_emulator.requests)
    result = sender.run(jobs.ready, CONNECTION, trigger="test", triggered_by="pytest",
                        run_id="run-sent")
    assert (result.status, result.attempt_id) == ("sent", crashed.attempt_id)
    assert result.work_order_number == "T10002"
    assert result.fields["WO_Number"] == "T10002"
    assert len(spectrum_emulator.requests) == spectrum_calls
    assert servicetrade_emulator.external_ids("job", jobs.ready) == {"spectrum": "T10002"}
    (attempt,) = durable_store.history(job_id=jobs.ready)
    assert (attempt.status, attempt.external_id_written) == ("sent", True)


def test_a_job_already_queued_is_not_queued_again(
        runtime: DurableRuntime, queue: SendQueue, durable_store: Store,
        jobs: seed.NotableJobs, spectrum_emulator: SpectrumEmulator) -> None:
    spectrum_emulator.settings.latency_ms = 300
    connection_id = durable_store.connection(CONNECTION).id
    first = queue.enqueue(request(jobs.ready), connection_id)
    second = queue.enqueue(request(jobs.ready), connection_id)
    assert first.get_workflow_id() == second.get_workflow_id()
    assert queue.result(first).status == queue.result(second).status == "sent"
    assert len(spectrum_emulator.requests) == 1
    assert len(durable_store.history(job_id=jobs.ready)) == 1


def test_sends_on_a_paused_connection_wait_until_it_is_resumed(
        runtime: DurableRuntime, queue: SendQueue, durable_store: Store,
        jobs: seed.NotableJobs, spectrum_emulator: SpectrumEmulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from servicetrade_spectrum.workflows import _send_workflow

    monkeypatch.setattr(_send_workflow, "PAUSED_RECHECK_SECONDS", 0.2)
    durable_store.update_connection(CONNECTION, paused=True, pause_reason="test")
    handle = queue.enqueue(request(jobs.ready), durable_store.connection(CONNECTION).id)
    time.sleep(1.0)
    assert spectrum_emulator.requests == []
    assert durable_store.history() == []
    durable_store.update_connection(CONNECTION, paused=False, pause_reason="")
    assert queue.result(handle).status == "sent"


def test_server_running_sees_live_workers_only(
        runtime: DurableRuntime, durable_store: Store, durable_settings: Settings) -> None:
    assert server_running(durable_store, durable_settings)
    durable_store.heartbeat(runtime.executor_id, role="worker", host="x", pid=1, at=0.0)
    assert not server_running(durable_store, durable_settings)


def test_a_resumed_prepare_finds_its_attempt_and_a_resumed_conclusion_reads_back(
        sender: SendService, durable_store: Store, jobs: seed.NotableJobs,
        servicetrade_emulator: ServiceTradeEmulator) -> None:
    first = sender.prepare(jobs.customer_not_mapped, CONNECTION, trigger="test",
                           triggered_by="pytest", run_id="run-1")
    again = sender.prepare(jobs.customer_not_mapped, CONNECTION, trigger="test",
                           triggered_by="pytest", run_id="run-1")
    assert first.attempt_id == again.attempt_id
    # The crash came after the comment was posted but before the attempt was finished:
    durable_store.update_attempt(first.attempt_id, stage="concluding")
    assert first.failure is not None
    comment = first.failure.as_comment(CONNECTION)
    servicetrade_emulator.account.add_comment(
        {"entityType": 3, "entityId": jobs.customer_not_mapped, "content": comment}, 41)
    result = sender.conclude(again, None)
    assert result.status == "failed"
    assert [c["content"] for c in servicetrade_emulator.comments(jobs.customer_not_mapped)] \
        == [comment]
    (attempt,) = durable_store.history(job_id=jobs.customer_not_mapped)
    assert attempt.comment_posted
    assert sender.conclude(again, None).status == "failed"  # a finished record stays finished


def test_concurrent_sends_per_connection_stay_within_the_limit(
        runtime: DurableRuntime, queue: SendQueue, durable_store: Store,
        spectrum_emulator: SpectrumEmulator, servicetrade_emulator: ServiceTradeEmulator
        ) -> None:
    spectrum_emulator.settings.latency_ms = 100
    connection_id = durable_store.connection(CONNECTION).id
    job_ids = [job["id"] for job in servicetrade_emulator.dump()["jobs"][:12]]
    handles = [queue.enqueue(request(job_id), connection_id) for job_id in job_ids]
    results = [queue.result(handle) for handle in handles]
    assert len(results) == 12
    assert spectrum_emulator.max_in_flight == 3  # the limit is used, and never exceeded


def test_no_secret_reaches_the_durable_queue_tables(
        runtime: DurableRuntime, queue: SendQueue, durable_store: Store,
        durable_settings: Settings, jobs: seed.NotableJobs,
        spectrum_emulator: SpectrumEmulator) -> None:
    spectrum_emulator.settings.enhanced_auth = True
    durable_store.update_connection(CONNECTION, client_id=seed.DEMO_CLIENT_ID)
    durable_store.set_connection_secret(CONNECTION, client_secret=seed.DEMO_CLIENT_SECRET)
    connection_id = durable_store.connection(CONNECTION).id
    for job_id in (jobs.ready, jobs.unknown_customer_code, jobs.customer_not_mapped):
        queue.result(queue.enqueue(request(job_id), connection_id))
    secrets = [seed.DEMO_AUTHORIZATION_ID, seed.DEMO_PASSWORD, seed.DEMO_CLIENT_SECRET]
    engine = durable_store.engine
    if engine.dialect.name == "sqlite":
        database = Path(engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert b"send_job" in raw  # the DBOS tables are in this file
        for secret in secrets:
            assert secret.encode() not in raw
    else:
        schema = durable_settings.dbos_schema
        with engine.connect() as connection:
            tables = connection.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,)).scalars().all()
            assert "workflow_status" in tables
            dump = "".join(str(connection.exec_driver_sql(
                f'SELECT * FROM "{schema}"."{table}"').all())  # noqa: S608 - names from the catalog
                for table in tables)
        for secret in secrets:
            assert secret not in dump


def test_a_send_run_in_this_process_hands_its_result_to_its_waiter_at_once(
        runtime: DurableRuntime, durable_settings: Settings, durable_store: Store,
        jobs: seed.NotableJobs) -> None:
    # The waiter's own database polling is set to a minute: only the hand-over can end
    # the wait in seconds. The runtime's queue still polls at the test setting.
    slow_poller = SendQueue(durable_settings.model_copy(update={"queue_polling_interval": 60}))
    try:
        connection_id = durable_store.connection(CONNECTION).id
        handle = slow_poller.enqueue(request(jobs.ready), connection_id)
        started = time.monotonic()
        result = slow_poller.result(handle)
        assert time.monotonic() - started < 30
        assert result.status == "sent"
        assert result.work_order_number == "T10002"
        # Asked again after the end, the kept result is answered without waiting.
        started = time.monotonic()
        assert slow_poller.result(handle).attempt_id == result.attempt_id
        assert time.monotonic() - started < 1
    finally:
        slow_poller.close()


def test_a_waiter_does_not_look_in_the_database_for_a_send_running_here(
        runtime: DurableRuntime, durable_settings: Settings, durable_store: Store,
        jobs: seed.NotableJobs, spectrum_emulator: SpectrumEmulator) -> None:
    # The send outlasts the waiter's first wait (0.5 s) by far, and starts here within it
    # (claimed on enqueue): its end wakes the waiter, who never asks the database (its
    # look while a send runs here, the fallback, is a minute away).
    spectrum_emulator.settings.latency_ms = 1500
    waiter = SendQueue(durable_settings.model_copy(update={
        "queue_polling_interval": 0.5, "queue_idle_polling_interval": 60}))
    looks: list[str] = []
    try:
        connection_id = durable_store.connection(CONNECTION).id
        handle = waiter.enqueue(request(jobs.ready), connection_id)
        event.listen(waiter._client._sys_db.engine, "before_cursor_execute",
                     lambda *args: looks.append(args[2]))
        assert waiter.result(handle).status == "sent"
        assert looks == []
    finally:
        spectrum_emulator.settings.latency_ms = 0
        waiter.close()


def test_a_send_queued_right_after_one_ended_here_is_a_new_send(
        runtime: DurableRuntime, queue: SendQueue, durable_store: Store,
        jobs: seed.NotableJobs, spectrum_emulator: SpectrumEmulator) -> None:
    # The first send's waiter gets its result before DBOS has recorded the end (which frees
    # the job's deduplication ID): the re-send must still be a send of its own.
    connection_id = durable_store.connection(CONNECTION).id
    first = queue.enqueue(request(jobs.ready), connection_id)
    assert queue.result(first).status == "sent"
    again = queue.enqueue(request(jobs.ready), connection_id)
    assert again.get_workflow_id() != first.get_workflow_id()
    assert queue.result(again).status == "sent"
    assert len(spectrum_emulator.requests) == 2
    assert len(durable_store.history(job_id=jobs.ready)) == 2


def test_a_single_send_queued_where_sends_run_starts_without_waiting_for_a_look(
        durable_settings: Settings, durable_store: Store, sender: SendService,
        jobs: seed.NotableJobs) -> None:
    # The queue is looked at once at start, then every 30 s at best here: the send must be
    # claimed by its enqueue, on both databases, not by a look of the poller (told of it).
    slow = durable_settings.model_copy(update={"queue_polling_interval": 30,
                                                "queue_idle_polling_interval": 60})
    running = DurableRuntime(slow, durable_store, sender, role="worker").start()
    queue = SendQueue(slow)
    try:
        poller = running.poller
        assert poller is not None
        wait_until(lambda: poller.looks, 10, "the poller's look at start")
        looks = poller.looks
        connection_id = durable_store.connection(CONNECTION).id
        started = time.monotonic()
        handle = queue.enqueue(request(jobs.ready), connection_id)
        status = queue.status(handle.get_workflow_id())
        assert status is not None
        assert status.status != "ENQUEUED"
        assert queue.result(handle).status == "sent"
        assert time.monotonic() - started < 20
        assert poller.looks == looks
    finally:
        queue.close()
        running.stop(drain_seconds=2)
