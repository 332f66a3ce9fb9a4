"""Sends started from the web app (a page's Send menu, a retry, the REST API).

A send goes through the durable queue like every other, so it survives a restart and never
runs twice at once for the same job and connection. The page then follows it by its
workflow ID: queued, sending, then the attempt's outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from servicetrade_spectrum.store import AttemptRecord, ConnectionConfig, NotFound, UserRecord
from servicetrade_spectrum.sync import SendRequest
from servicetrade_spectrum.web._errors import PageProblem
from servicetrade_spectrum.web._services import WebServices
from servicetrade_spectrum.workflows import WORKFLOW_NAME, wait_here

__all__ = ["SendPhase", "SendState", "send_state", "start_send", "wait_for_send"]

SendPhase = Literal["queued", "sending", "sent", "failed", "error"]


@dataclass(frozen=True)
class SendState:
    workflow_id: str
    job_id: int
    connection: str
    phase: SendPhase
    attempt: AttemptRecord | None = None
    error: str = ""
    """Why the send could not even start (an unknown job, say); phase "error"."""

    @property
    def done(self) -> bool:
        return self.phase in ("sent", "failed", "error")


def start_send(services: WebServices, user: UserRecord, job_id: int,
               connection: ConnectionConfig, *, trigger: str = "web") -> str:
    """Queue a send of the job on the user's connection; return its workflow ID. A send of
    the same job already queued or running on the connection is joined, not repeated."""
    if connection.account_id != user.account_id:
        raise NotFound(f"No connection '{connection.name}' in this account.")
    if services.queue is None:
        raise PageProblem(503, "Sending is not available in this process: run "
                               "'st-spectrum serve'.")
    services.sender.active_connection(connection.name)  # paused: ConnectionPaused, now
    request = SendRequest(job_id, connection.name, trigger, user.email)
    handle = services.queue.enqueue(request, connection.id)
    return str(handle.get_workflow_id())


def send_state(services: WebServices, account_id: int, workflow_id: str) -> SendState:
    """Where a send stands. A send of another account's connection is :class:`NotFound`."""
    if services.queue is None:
        raise NotFound(f"No send {workflow_id}.")
    status = services.queue.status(workflow_id)
    args: list[Any] = list((status.input or {}).get("args", ())) if status is not None else []
    if status is None or status.name != WORKFLOW_NAME or len(args) < 2:
        raise NotFound(f"No send {workflow_id}.")
    job_id, connection_name = int(args[0]), str(args[1])
    connection = services.store.connection(connection_name)
    if connection.account_id != account_id:
        raise NotFound(f"No send {workflow_id}.")
    attempt = services.store.attempt_for_run(workflow_id)
    if attempt is not None and attempt.status in ("sent", "failed"):
        phase: SendPhase = "sent" if attempt.status == "sent" else "failed"
        return SendState(workflow_id, job_id, connection.name, phase, attempt)
    if status.status in ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED", "CANCELLED"):
        error = str(status.error) if status.error else "the send stopped before it finished"
        return SendState(workflow_id, job_id, connection.name, "error", attempt, error)
    phase = "sending" if attempt is not None or status.status == "PENDING" else "queued"
    return SendState(workflow_id, job_id, connection.name, phase, attempt)


def wait_for_send(services: WebServices, account_id: int, workflow_id: str, *,
                  timeout: float, poll: float = 0.05) -> SendState:
    """The send's state once it is done, or as it stands when ``timeout`` runs out. A send
    that runs in this process wakes the wait as it ends; others are found by polling."""
    deadline = time.monotonic() + timeout
    while True:
        state = send_state(services, account_id, workflow_id)
        if state.done or time.monotonic() >= deadline:
            return state
        wait_here(workflow_id, min(poll, max(0.0, deadline - time.monotonic())))
