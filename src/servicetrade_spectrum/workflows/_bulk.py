"""Many sends at once (``bulk-send``, ``retry-failed``): queue them in one pass, then follow
them as they finish.

Each send is the ordinary durable send on the connection's queue partition, so the
per-connection concurrency limit holds, and with no ``serve`` or ``worker`` alive this
process runs the queue meanwhile (an ``embedded`` runtime).

The caller names each send's workflow ID (``{prefix}{job_id}``). DBOS keeps a finished
workflow's result under its ID: queueing the same ID again returns that result instead of
sending again, and a send left under way by a killed process is completed by the runtime
that recovers it. A resumed run therefore queues every job again with the same IDs and only
the unfinished ones are sent.

Queueing is done in transactions of :data:`CHUNK` sends (10,000 jobs queue in seconds, not in
10,000 round trips). A job already queued or running for the connection by someone else (a
rule, a ``send``) is not queued twice: its chunk is queued again one send at a time, and
that job follows the send already under way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from dbos import WorkflowStatus
from dbos._error import DBOSQueueDeduplicatedError

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.store import ConnectionConfig, Store, create_database_engine
from servicetrade_spectrum.sync import (
    ConnectionPaused,
    JobNotFound,
    SendRequest,
    SendResult,
    SendService,
)
from servicetrade_spectrum.workflows._runtime import (
    DurableRuntime,
    SendQueue,
    server_running,
)
from servicetrade_spectrum.workflows._send_workflow import WORKFLOW_NAME

__all__ = ["CHUNK", "BulkReport", "BulkSender", "JobOutcome"]

_log = get_logger(__name__)

CHUNK = 500
"""Sends queued per transaction."""
POLL_SECONDS = 0.2
FULL_LOOK_SECONDS = 10.0
"""How often to look at every unfinished send, not only the recently finished ones."""
LOOK_BACK_MS = 1000
"""How far back from the newest completion a look reads. At 5 s, each look of a bulk run on
PostgreSQL read and decoded again ~250 finished sends, 5 looks a second, for ~50 new ones
(8-19 ms of the server's CPU a look; issue 7's bulk benchmark)."""
FINISHED = ["SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]


@dataclass(frozen=True)
class JobOutcome:
    """How one job's send ended."""

    job_id: int
    status: Literal["sent", "failed"]
    kind: str = ""
    message: str = ""
    fix: str = ""
    job_number: str = ""
    work_order_number: str = ""
    earlier: bool = False
    """Finished before this process looked (by an earlier, interrupted run of the same
    selection): reported, not sent again."""

    @property
    def label(self) -> str:
        return (f"job {self.job_number} (ID {self.job_id})" if self.job_number
                else f"job ID {self.job_id}")

    @classmethod
    def from_result(cls, result: SendResult, *, earlier: bool = False) -> JobOutcome:
        failure = result.failure
        return cls(job_id=result.job_id, status="sent" if result.status == "sent" else "failed",
                   kind=failure.kind.value if failure else "",
                   message=failure.message if failure else "",
                   fix=failure.fix if failure else "", job_number=result.job_number,
                   work_order_number=result.work_order_number or "", earlier=earlier)

    @classmethod
    def from_workflow(cls, job_id: int, workflow: WorkflowStatus, connection: str, *,
                      earlier: bool = False) -> JobOutcome:
        if workflow.status == "SUCCESS" and isinstance(workflow.output, SendResult):
            return cls.from_result(workflow.output, earlier=earlier)
        error = workflow.error
        if isinstance(error, JobNotFound):
            return cls(job_id, "failed", "job_not_found", str(error),
                       "Check the job ID (the ID in the job's address, not the job number).",
                       earlier=earlier)
        if isinstance(error, ConnectionPaused):
            return cls(job_id, "failed", "connection_paused", str(error),
                       f"Run 'st-spectrum connection resume {connection}' once the cause is "
                       "fixed, then 'st-spectrum retry-failed --connection "
                       f"{connection}'.", earlier=earlier)
        what = (str(error) if error is not None
                else f"the send ended as {workflow.status.lower()}")
        return cls(job_id, "failed", "error", f"The send of job ID {job_id} stopped: {what}",
                   "See 'st-spectrum history --job "
                   f"{job_id}', then 'st-spectrum retry-failed --connection {connection}'.",
                   earlier=earlier)


@dataclass
class BulkReport:
    outcomes: dict[int, JobOutcome] = field(default_factory=dict)
    """Job ID -> outcome, in the order they finished."""
    unfinished: list[int] = field(default_factory=list)
    """Jobs queued (or not even queued) whose sends had not finished when we stopped."""
    interrupted: bool = False
    embedded: bool = False
    """True when this process did the sends (no ``serve`` or ``worker`` was running)."""


class _BulkQueue(SendQueue):
    """The send queue, plus queueing many sends at once and finding finished ones."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        # On PostgreSQL the DBOS client's engine is ours already: one pool, not two.
        self._engine = (self._client_engine
                        or create_database_engine(settings.effective_database_url))

    def close(self) -> None:
        super().close()  # disposes the client's engine, if it is ours
        if self._engine is not self._client_engine:
            self._engine.dispose()

    def enqueue_chunk(self, requests: Sequence[tuple[SendRequest, str]],
                      connection_id: int) -> dict[str, int]:
        """Queue (request, workflow ID) pairs; return workflow ID -> job ID to wait for (an
        ID other than the one asked for when the job was already queued by someone else)."""
        try:
            with self._engine.begin() as connection:
                for request, workflow_id in requests:
                    self._client.enqueue_in_transaction(
                        connection, self.options(request, connection_id, workflow_id=workflow_id,
                                                 return_existing=False),
                        request.job_id, request.connection, request.trigger,
                        request.triggered_by)
            self.signal_queued()
            return {workflow_id: request.job_id for request, workflow_id in requests}
        except DBOSQueueDeduplicatedError:
            waiting: dict[str, int] = {}
            for request, workflow_id in requests:
                handle = self.enqueue(request, connection_id, workflow_id=workflow_id)
                waiting[handle.get_workflow_id()] = request.job_id
            return waiting

    def finished(self, *, prefix: str | None = None, ids: Sequence[str] | None = None,
                 completed_since_ms: int | None = None) -> list[WorkflowStatus]:
        kwargs: dict[str, Any] = {"status": FINISHED, "name": WORKFLOW_NAME,
                                  "load_input": False, "load_output": True}
        if completed_since_ms is not None:
            kwargs["completed_after"] = datetime.fromtimestamp(
                completed_since_ms / 1000, UTC).isoformat()
        if prefix is not None:
            return self._client.list_workflows(workflow_id_prefix=prefix, **kwargs)
        found: list[WorkflowStatus] = []
        ids = list(ids or [])
        for start in range(0, len(ids), CHUNK):
            found += self._client.list_workflows(workflow_ids=ids[start:start + CHUNK],
                                                 **kwargs)
        return found


class BulkSender:
    """Send many jobs on one connection through the durable queue."""

    def __init__(self, settings: Settings, store: Store, sender: SendService,
                 connection: ConnectionConfig, *, trigger: str, triggered_by: str) -> None:
        self.settings = settings
        self.store = store
        self.sender = sender
        self.connection = connection
        self.trigger = trigger
        self.triggered_by = triggered_by

    def run(self, job_ids: Sequence[int], *, id_prefix: str, stop: threading.Event,
            on_outcome: Callable[[JobOutcome], None] = lambda _: None,
            drain_seconds: int = 5, follow: bool = True) -> BulkReport:
        """Send ``job_ids`` (workflow IDs ``{id_prefix}{job_id}``) and wait for them all,
        or until ``stop`` is set: then stop queueing, let the sends under way here finish
        for up to ``drain_seconds``, and return what finished.

        ``follow=False``: when a ``serve`` or ``worker`` runs, return once queued (the
        queued jobs are then ``unfinished``); without one, the sends are done here anyway.
        """
        report = BulkReport()
        if not job_ids:
            return report
        runtime: DurableRuntime | None = None
        if not server_running(self.store, self.settings):
            report.embedded = True  # (its start also creates DBOS's tables on a new database)
            runtime = DurableRuntime(self.settings, self.store, self.sender,
                                     role="embedded").start()
        queue: _BulkQueue | None = None
        waiting: dict[str, int] = {}
        try:
            queue = _BulkQueue(self.settings)
            wanted = {f"{id_prefix}{job_id}": job_id for job_id in dict.fromkeys(job_ids)}
            # Sends finished before we start (an interrupted run of the same selection).
            for workflow in queue.finished(prefix=id_prefix):
                job_id = wanted.pop(workflow.workflow_id, None)
                if job_id is not None:
                    self._record(report, JobOutcome.from_workflow(
                        job_id, workflow, self.connection.name, earlier=True), on_outcome)
            waiting = self._enqueue(queue, wanted, stop)
            queued = set(waiting.values())
            report.unfinished = [job_id for job_id in wanted.values() if job_id not in queued]
            if follow or runtime is not None:
                self._wait(queue, waiting, id_prefix, stop, report, on_outcome)
        finally:
            try:
                if runtime is not None:
                    runtime.stop(drain_seconds=drain_seconds if stop.is_set() else 10)
                if queue is not None and waiting and (follow or runtime is not None):
                    # the sends that finished while the runtime drained
                    for workflow in queue.finished(ids=list(waiting)):
                        job_id = waiting.pop(workflow.workflow_id)
                        self._record(report, JobOutcome.from_workflow(
                            job_id, workflow, self.connection.name), on_outcome)
            finally:
                if queue is not None:
                    queue.close()
        report.unfinished += list(waiting.values())
        report.interrupted = stop.is_set() and bool(report.unfinished)
        return report

    def _enqueue(self, queue: _BulkQueue, wanted: dict[str, int],
                 stop: threading.Event) -> dict[str, int]:
        items = list(wanted.items())
        waiting: dict[str, int] = {}
        started = time.monotonic()
        for start in range(0, len(items), CHUNK):
            if stop.is_set():
                break
            chunk = [(SendRequest(job_id, self.connection.name, self.trigger,
                                  self.triggered_by), workflow_id)
                     for workflow_id, job_id in items[start:start + CHUNK]]
            waiting.update(queue.enqueue_chunk(chunk, self.connection.id))
        _log.info("bulk.queued", connection=self.connection.name, sends=len(waiting),
                  seconds=round(time.monotonic() - started, 2))
        return waiting

    def _wait(self, queue: _BulkQueue, waiting: dict[str, int], id_prefix: str,
              stop: threading.Event, report: BulkReport,
              on_outcome: Callable[[JobOutcome], None]) -> None:
        """Follow the sends until all finished (or ``stop``): one query per look for our
        own, recently finished sends; the few followed under other IDs by ID."""
        since_ms: int | None = None
        last_full = time.monotonic()
        while waiting and not stop.is_set():
            full = time.monotonic() - last_full >= FULL_LOOK_SECONDS
            if full:
                last_full = time.monotonic()
            found = queue.finished(prefix=id_prefix,
                                   completed_since_ms=None if full else since_ms)
            others = [w for w in waiting if not w.startswith(id_prefix)]
            if others:
                found += queue.finished(ids=others)
            for workflow in found:
                if workflow.completed_at is not None:
                    # Back off from the newest completion seen (by the database's clock):
                    # commits may land slightly out of order. Each look reads again every
                    # send finished within the margin; one that lands later still is found
                    # by the next full look.
                    since_ms = max(since_ms or 0, workflow.completed_at - LOOK_BACK_MS)
                job_id = waiting.pop(workflow.workflow_id, None)
                if job_id is not None:
                    self._record(report, JobOutcome.from_workflow(
                        job_id, workflow, self.connection.name), on_outcome)
            if waiting:
                stop.wait(POLL_SECONDS)

    @staticmethod
    def _record(report: BulkReport, outcome: JobOutcome,
                on_outcome: Callable[[JobOutcome], None]) -> None:
        report.outcomes[outcome.job_id] = outcome
        on_outcome(outcome)
