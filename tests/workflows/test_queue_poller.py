"""Looking at the send queue: seldom while it is empty, at once when a send is queued.

Real DBOS runtime on the test's own database; the emulators answer the sends.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import SendRequest
from servicetrade_spectrum.workflows import DurableRuntime, SendQueue
from servicetrade_spectrum.workflows._queue_signal import SendQueuedSignal, SendQueuedWatch

from .conftest import Processes, started_runtime

CONNECTION = "Main"


@pytest.fixture
def idle_settings(durable_settings: Settings) -> Settings:
    """Ticks every 50 ms; an empty queue looked at only once a minute."""
    return durable_settings.model_copy(update={"queue_polling_interval": 0.05,
                                                "queue_idle_polling_interval": 60})


@pytest.fixture
def runtime(idle_settings: Settings, durable_store: Store) -> Iterator[DurableRuntime]:
    with started_runtime(idle_settings, durable_store, drain_seconds=2) as running:
        yield running


def test_an_empty_queue_is_looked_at_once_at_start_then_seldom(
        runtime: DurableRuntime) -> None:
    assert runtime.poller is not None
    time.sleep(1.0)  # 20 ticks
    assert runtime.poller.looks == 1


def test_an_empty_queue_does_not_wake_the_poller_where_the_signal_would(
        runtime: DurableRuntime, idle_settings: Settings) -> None:
    # A send queued anywhere wakes the poller (PostgreSQL's notice; on Linux, inotify on
    # SQLite's marker file): while none is queued it sleeps until then, or the idle look.
    # Elsewhere it must look at the signal's file at every tick.
    poller = runtime.poller
    assert poller is not None
    time.sleep(0.3)
    ticks = poller.ticks
    time.sleep(1.0)  # 20 ticks
    pushed = (not idle_settings.effective_database_url.startswith("sqlite")
              or sys.platform.startswith("linux"))
    if pushed:
        assert poller.ticks == ticks
    else:
        assert poller.ticks - ticks >= 10


def test_a_send_queued_by_another_queue_client_starts_once_it_is_told(
        runtime: DurableRuntime, idle_settings: Settings, durable_store: Store,
        jobs: seed.NotableJobs) -> None:
    # A send with a workflow ID of its own (as a bulk send) is not claimed on enqueue: only
    # the signal can start it before the queue's next look, a minute away.
    queue = SendQueue(idle_settings)
    try:
        connection_id = durable_store.connection(CONNECTION).id
        started = time.monotonic()
        handle = queue.enqueue(SendRequest(jobs.ready, CONNECTION, "test", "pytest"),
                               connection_id, workflow_id="told-1")
        assert queue.result(handle).status == "sent"
        assert time.monotonic() - started < 30
    finally:
        queue.close()


def test_a_send_queued_signal_is_seen_once_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'signal.db'}"
    signal = SendQueuedSignal(url)
    watch = SendQueuedWatch(url, engine=None, on_queued=lambda: None)  # type: ignore[arg-type]
    assert not watch.look()
    signal.send()
    assert watch.look()
    assert not watch.look()
    signal.send()  # within a tick of the file system's clock of the first: still seen
    assert watch.look()
    signal.close()
    watch.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="inotify is Linux's; elsewhere the queue looks at the file")
def test_a_send_queued_signal_wakes_the_watch_on_sqlite_under_linux(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'signal.db'}"
    signal = SendQueuedSignal(url)
    woken = threading.Event()
    watch = SendQueuedWatch(url, engine=None, on_queued=woken.set)  # type: ignore[arg-type]
    try:
        assert watch.pushes
        signal.send()
        assert woken.wait(5)
        woken.clear()
        signal.send()
        assert woken.wait(5)
    finally:
        signal.close()
        watch.close()


def test_a_send_queued_in_another_process_starts_on_its_signal(
        processes: Processes, send_queue: SendQueue, durable_store: Store,
        jobs: seed.NotableJobs) -> None:
    # The worker looks at an empty queue once a minute: only the signal (PostgreSQL's notice,
    # SQLite's marker file) can start a send queued by this process sooner.
    worker = processes.start("worker", env={"ST_SPECTRUM_QUEUE_IDLE_POLLING_INTERVAL": "60"})
    worker.wait_for_output(r"running sends until stopped")
    time.sleep(1.0)  # past its first look, made at start, and its listener connected
    connection_id = durable_store.connection(CONNECTION).id
    started = time.monotonic()
    handle = send_queue.enqueue(SendRequest(jobs.ready, CONNECTION, "test", "pytest"),
                                connection_id)
    assert send_queue.result(handle).status == "sent"
    assert time.monotonic() - started < 30


def test_a_signal_that_cannot_be_written_does_not_fail_the_send(tmp_path: Path) -> None:
    # The queued send is in the database already: a marker file that cannot be written only
    # leaves it to the queue's seldom look.
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'signal.db'}"
    signal = SendQueuedSignal(url)
    signal.send()
    assert not (tmp_path / "missing-folder").exists()
    signal.close()
