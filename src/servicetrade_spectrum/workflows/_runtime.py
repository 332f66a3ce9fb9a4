"""DBOS for this process: start it in a role, keep it alive, take over dead processes' work.

Roles: ``serve`` (web app and workers), ``worker`` (workers only), ``embedded`` (a command
doing its own sends because no server or worker is running). Every role runs the send queue
and heartbeats into the ``executors`` table.

DBOS recovers a process's unfinished workflows only when a process with the same executor ID
starts again; without DBOS Conductor nothing notices a process that never comes back. So
every running process also reaps: the pending sends of executors whose heartbeat is older
than ``executor_timeout`` are recovered here (a resumed send is safe to run again).

The queue: one partition per connection, at most ``SENDS_PER_SPECTRUM_SLOT`` x
``spectrum_concurrency`` sends in flight per partition across all processes; a send of a job
already queued or running for the same connection is not queued again (its handle is
returned instead). The Spectrum server's own limit (``spectrum_concurrency`` calls in flight)
is kept by the shared Spectrum gate (``sync._spectrum_gate``), around the call alone: while
some sends wait for a slot, others read their job or write back their work order number.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from typing import Any

from dbos import DBOS, DBOSClient, DBOSConfig, EnqueueOptions
from dbos._dbos import _get_dbos_instance
from dbos._error import DBOSNonExistentWorkflowError
from dbos._outcome import NoResult
from sqlalchemy import Engine

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.store import Store, create_database_engine
from servicetrade_spectrum.sync import SendRequest, SendResult, SendService
from servicetrade_spectrum.workflows import _send_workflow
from servicetrade_spectrum.workflows._claim_now import claim_now, listen_here, stop_listening
from servicetrade_spectrum.workflows._finished_here import ended_here, runs_here, wait_here
from servicetrade_spectrum.workflows._pending_sends import PendingSends
from servicetrade_spectrum.workflows._queue_poller import QueuePoller, tell_here
from servicetrade_spectrum.workflows._queue_signal import SendQueuedSignal
from servicetrade_spectrum.workflows._send_workflow import WORKFLOW_NAME, use_services
from servicetrade_spectrum.workflows._sqlite_system_database import prepare_statements

__all__ = ["APP_NAME", "APP_VERSION", "QUEUE", "DurableRuntime", "SendQueue", "server_running"]

_log = get_logger(__name__)

APP_NAME = "st-spectrum"
APP_VERSION = "sends-4"
"""Fixed, not DBOS's default hash of the code: recovery and the queue only pick up work of
the same version. Change it only when the send workflow changes incompatibly."""
QUEUE = "sends"
SENDS_PER_SPECTRUM_SLOT = 4
"""Sends of a connection in flight per Spectrum call slot: enough that a slot given back finds
a send ready to call at once (measured in bench/bulk_throughput.py)."""
RECORDED_POLL_SECONDS = 0.002
RECORDED_WAIT_SECONDS = 5.0
"""How often, and for how long at most, a new send of a job looks for the record of the send
of the same job that has just ended in this process (DBOS writes it a few ms after)."""
HEARTBEAT_SECONDS = 1.0
REAP_SECONDS = 2.0
SERVER_ROLES = ("serve", "worker")


def _system_database_url(settings: Settings) -> str:
    return settings.effective_database_url


def _on_sqlite(settings: Settings) -> bool:
    return settings.effective_database_url.startswith("sqlite")


def _schema(settings: Settings) -> str | None:
    return None if _on_sqlite(settings) else settings.dbos_schema


def server_running(store: Store, settings: Settings) -> bool:
    """Is a ``serve`` or ``worker`` process alive on this database (fresh heartbeat)?"""
    live = store.live_executors(time.time() - settings.executor_timeout)
    return any(role in SERVER_ROLES for role in live.values())


class SendQueue:
    """Enqueue sends and wait for them, from any process (no DBOS launch needed)."""

    def __init__(self, settings: Settings) -> None:
        kwargs: dict[str, Any] = {"application_name": APP_NAME}
        schema = _schema(settings)
        self._client_engine: Engine | None = None
        if schema:
            kwargs["dbos_system_schema"] = schema
            # Ours, for its pings only after idle (see DurableRuntime._config).
            self._client_engine = create_database_engine(settings.effective_database_url)
            kwargs["system_database_engine"] = self._client_engine
        else:
            kwargs["system_database_url"] = _system_database_url(settings)
        self._client = DBOSClient(**kwargs)
        prepare_statements(self._client._sys_db)  # its enqueue's inserts, on SQLite
        self._poll = settings.queue_polling_interval
        self._idle_poll = settings.effective_queue_idle_polling_interval
        self._signal = SendQueuedSignal(settings.effective_database_url)

    @staticmethod
    def options(request: SendRequest, connection_id: int, *, workflow_id: str | None = None,
                return_existing: bool = True) -> EnqueueOptions:
        """Where a send goes: its connection's partition, deduplicated per (connection, job).

        ``return_existing``: a send of a job already queued or running for the connection
        gets that send's handle (DBOS raises instead when it is False)."""
        options: EnqueueOptions = {
            "queue_name": QUEUE, "workflow_name": WORKFLOW_NAME, "app_version": APP_VERSION,
            "queue_partition_key": str(connection_id),
            "deduplication_id": f"{connection_id}:{request.job_id}",
        }
        if return_existing:
            options["duplication_policy"] = "return-existing"
        if workflow_id is not None:
            options["workflow_id"] = workflow_id
        return options

    def enqueue(self, request: SendRequest, connection_id: int, *,
                workflow_id: str | None = None) -> Any:
        """Queue one send (or join the job's send already queued or running).

        A send given no ``workflow_id`` is a single one (a click, an API or CLI send, a rule):
        when this process runs the queue, it is claimed and started at once rather
        than at the queue's next poll (:mod:`._claim_now`). Bulk sends name their workflows.
        Every send not started here is signalled to the processes that run the queue
        (:mod:`._queue_signal`)."""
        options = self.options(request, connection_id, workflow_id=workflow_id)
        args = (request.job_id, request.connection, request.trigger, request.triggered_by)
        handle: Any = self._client.enqueue(options, *args)
        if workflow_id is None:
            returned_id = str(handle.get_workflow_id())
            if ended_here(returned_id):
                # Deduplication handed back a send of this job that has just ended here: its
                # waiter has the result already, but DBOS is still recording the end (which
                # frees the job for a new send). Once it has, queue the new send.
                self._wait_recorded(returned_id)
                handle = self._client.enqueue(options, *args)
            if claim_now(str(connection_id)):  # started here at once: nobody else to tell
                return handle
        self.signal_queued()
        return handle

    def signal_queued(self) -> None:
        """Tell the processes that run the queue that sends were queued."""
        tell_here()
        self._signal.send()

    def _wait_recorded(self, workflow_id: str) -> None:
        deadline = time.monotonic() + RECORDED_WAIT_SECONDS
        while self._recorded_result(workflow_id) is None and time.monotonic() < deadline:
            time.sleep(RECORDED_POLL_SECONDS)

    def status(self, workflow_id: str) -> Any | None:
        """DBOS's ``WorkflowStatus`` of a send (``.status``, ``.error``, ``.input``), or None
        when there is no such workflow."""
        try:
            return self._client.retrieve_workflow(workflow_id).get_status()
        except DBOSNonExistentWorkflowError:
            return None

    def result(self, handle: Any) -> SendResult:
        """Wait for the send's result: handed over at once when it runs in this process,
        else found by polling the database (seldom while it runs here: its end wakes us)."""
        workflow_id = str(handle.get_workflow_id())
        while True:
            was_running_here = runs_here(workflow_id)
            result = wait_here(workflow_id,
                               self._idle_poll if was_running_here else self._poll)
            if result is None and (was_running_here or not runs_here(workflow_id)):
                # A send that started here while we waited will wake us as it ends: no
                # query (a send claimed on enqueue starts a moment after; at L = 50 ms that
                # query was 2.3 ms of a durable send's CPU on PostgreSQL).
                result = self._recorded_result(workflow_id)
            if result is not None:
                assert isinstance(result, SendResult)
                return result

    def _recorded_result(self, workflow_id: str) -> Any | None:
        """The send's recorded result, or None while it has none. One query; DBOS's own
        ``get_result`` only blocks, so its one-look check (an internal) is used."""
        found = self._client._sys_db.check_workflow_result(workflow_id)
        return None if isinstance(found, NoResult) else found

    def close(self) -> None:
        self._client.destroy()
        self._signal.close()
        if self._client_engine is not None:
            self._client_engine.dispose()


class DurableRuntime:
    """DBOS launched in this process, running the send queue."""

    def __init__(self, settings: Settings, store: Store, sender: SendService, *,
                 role: str) -> None:
        self.settings = settings
        self.store = store
        self.sender = sender
        self.role = role
        self.executor_id = f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self.poller: QueuePoller | None = None
        """This process's looks at the send queue (DBOS's queue thread leaves it to them)."""
        self._pending: PendingSends | None = None

    def _config(self) -> DBOSConfig:
        config: DBOSConfig = {
            "name": APP_NAME, "system_database_url": _system_database_url(self.settings),
            "application_version": APP_VERSION, "executor_id": self.executor_id,
            # DBOS logs a traceback for every workflow that raises, expected ones included (an
            # unknown job ID); our own logs report what matters.
            "log_level": "CRITICAL" if self.role == "embedded" else "ERROR",
            # DBOS's default. On SQLite its listener wakes this often to look for messages and
            # events, which sends never use: at 0.05 s that was 20 wake-ups a second, about
            # 2.5 ms of CPU a second in an idle process (issue 7). PostgreSQL's listens.
            "notification_listener_polling_interval_sec": 1.0,
            # On PostgreSQL DBOS's notifier wakes this often (default 0.01 s: 100 times a
            # second, 5 ms of an idle process's CPU a second) to send the notices of
            # workflow events and streams, which sends never write either.
            "notification_coalesce_sec": 1.0,
        }
        schema = _schema(self.settings)
        if schema:
            config["dbos_system_schema"] = schema
        # Our engine, not one DBOS makes: on SQLite it has our pragmas (DBOS's tables share
        # our file); on PostgreSQL it pings a pooled connection only after it sat idle,
        # not before every transaction (``store.create_database_engine``).
        self._engine = create_database_engine(self.settings.effective_database_url)
        config["system_database_engine"] = self._engine
        return config

    def start(self) -> DurableRuntime:
        assert _send_workflow.send_job is not None  # registered at import, before launch
        use_services(self.sender)
        self._heartbeat()
        DBOS(config=self._config())
        DBOS.listen_queues([])  # the send queue is looked at by self.poller, not by DBOS
        DBOS.launch()
        # On SQLite, the writes of a send's enqueue and outcome from statements compiled once.
        sys_db = _get_dbos_instance()._sys_db
        prepare_statements(sys_db)
        self._pending = PendingSends(sys_db, WORKFLOW_NAME)
        queue = DBOS.register_queue(QUEUE, partition_concurrency=(
            self.settings.spectrum_concurrency * SENDS_PER_SPECTRUM_SLOT),
            polling_interval_sec=self.settings.queue_polling_interval,
            on_conflict="always_update")
        # Single sends queued here are claimed on enqueue, on both databases. PostgreSQL was
        # left out while DBOS's queue thread made the looks: its claims conflicted with
        # those and it backed off (docs/decisions.md); our poller, which now makes them, is
        # not told of a send claimed on enqueue and does not back off.
        listen_here(queue)
        self.poller = QueuePoller(
            queue, interval=self.settings.queue_polling_interval,
            idle_interval=self.settings.effective_queue_idle_polling_interval,
            database_url=self.settings.effective_database_url, engine=self.store.engine).start()
        self.reap()
        self._thread = threading.Thread(target=self._keep_alive, name="st-spectrum-heartbeat",
                                        daemon=True)
        self._thread.start()
        _log.info("runtime.started", role=self.role, executor=self.executor_id)
        return self

    def _heartbeat(self) -> None:
        self.store.heartbeat(self.executor_id, role=self.role, host=socket.gethostname(),
                             pid=os.getpid(), at=time.time())

    def _keep_alive(self) -> None:
        last_reap = time.monotonic()
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self._heartbeat()
                if time.monotonic() - last_reap >= REAP_SECONDS:
                    last_reap = time.monotonic()
                    self.reap()
            except Exception as exc:  # a database blip must not kill the heartbeat
                _log.warning("runtime.heartbeat_failed", error=str(exc))

    def reap(self) -> int:
        """Recover the pending sends of processes whose heartbeat stopped."""
        assert self._pending is not None, "reap() needs a started runtime"
        live = set(self.store.live_executors(time.time() - self.settings.executor_timeout))
        live.add(self.executor_id)
        dead = sorted(self._pending.executor_ids() - live)
        if not dead:
            return 0
        handles = DBOS._recover_pending_workflows(dead)
        _log.warning("runtime.recovered", executors=dead, sends=len(handles))
        return len(handles)

    def stop(self, *, drain_seconds: int = 10) -> None:
        """Stop: let running sends finish for up to ``drain_seconds``, then leave the rest to
        be recovered by another process."""
        self._stop.set()
        stop_listening()
        if self.poller is not None:
            self.poller.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        running_here = DBOS.list_workflows(status="PENDING", executor_id=self.executor_id,
                                           load_input=False, load_output=False)
        DBOS.destroy(workflow_completion_timeout_sec=drain_seconds if running_here else 0)
        use_services(None)
        if self._engine is not None:
            self._engine.dispose()
        self.store.forget_executor(self.executor_id)
        _log.info("runtime.stopped", role=self.role, executor=self.executor_id)
