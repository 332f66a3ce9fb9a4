"""``/api/v1/jobs`` and ``/api/v1/sends``: search jobs, read one with its mappings, preview a
send, send, and follow a send.

A job is read from the token's own ServiceTrade account: a job it does not have (another
account's included) answers 404, like a connection of another account. A send goes through
the durable queue, as from the job page; ``wait`` says how long the call may wait for the
outcome (200) before answering 202 with the address to follow it at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from servicetrade_spectrum.domain import Failure
from servicetrade_spectrum.servicetrade import Job
from servicetrade_spectrum.store import AttemptRecord, UserRecord
from servicetrade_spectrum.sync import (
    JOB_STATUSES,
    ConnectionJobView,
    ConnectionPaused,
    JobSearch,
    SendResult,
    job_overview,
    parse_job_id,
    read_job,
    search_jobs,
)
from servicetrade_spectrum.web._auth import ApiUser, services_of
from servicetrade_spectrum.web._errors import ApiProblem
from servicetrade_spectrum.web._sending import SendState, send_state, start_send, wait_for_send
from servicetrade_spectrum.web._services import WebServices

__all__ = ["router"]

router = APIRouter(tags=["jobs"])

MAX_WAIT = 120.0


class _Error(BaseModel):
    code: str = Field(description="not_found, conflict, servicetrade_unavailable, ...")
    message: str = Field(description="What is wrong and how to fix it.")


class ErrorBody(BaseModel):
    error: _Error


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid API token."},
    404: {"model": ErrorBody,
          "description": "No such job in your ServiceTrade account, or no such connection."},
    503: {"model": ErrorBody, "description": "ServiceTrade did not answer; try again."},
}


# -- response models -----------------------------------------------------------------------------
class FailureOut(BaseModel):
    kind: str = Field(description="customer_not_mapped, site_not_mapped, value_too_long, ...")
    message: str = Field(description="What failed, naming the record and the value.")
    fix: str = Field(description="What to do about it.")

    @classmethod
    def of(cls, failure: Failure | None) -> FailureOut | None:
        return cls(**failure.as_dict()) if failure is not None else None


class AttemptOut(BaseModel):
    """One send attempt (see /api/v1/attempts for the whole record)."""

    id: int
    status: Literal["running", "sent", "failed"]
    time: datetime = Field(description="When it started (UTC).")
    finished_at: datetime | None
    work_order_number: str | None
    failure_kind: str | None
    failure_message: str | None
    trigger: str = Field(description="What started it: web, api, cli, automation, ...")
    triggered_by: str

    @classmethod
    def of(cls, attempt: AttemptRecord | None) -> AttemptOut | None:
        return cls.of_record(attempt) if attempt is not None else None

    @classmethod
    def of_record(cls, attempt: AttemptRecord) -> AttemptOut:
        return cls(id=attempt.id, status=attempt.status,
                   time=attempt.started_at, finished_at=attempt.finished_at,
                   work_order_number=attempt.work_order_number or None,
                   failure_kind=attempt.failure_kind or None,
                   failure_message=attempt.failure_message or None,
                   trigger=attempt.trigger, triggered_by=attempt.triggered_by)


class JobSendOut(BaseModel):
    connection: str
    latest_attempt: AttemptOut


class JobRowOut(BaseModel):
    id: int = Field(description="The ServiceTrade job ID (what the other calls take).")
    number: int = Field(description="The job number people see.")
    customer: str
    location: str
    status: str
    sends: list[JobSendOut] = Field(description="The latest attempt per connection it was "
                                                "sent to (none: never sent).")


class JobListOut(BaseModel):
    jobs: list[JobRowOut]
    scanned: int = Field(description="How many jobs were read from ServiceTrade.")
    scan_limited: bool = Field(description="ServiceTrade had more jobs than were searched: "
                                           "filter by status to search the rest.")
    show_limited: bool = Field(description="More jobs matched than are listed: narrow 'q'.")


class RecordOut(BaseModel):
    id: int
    name: str


class MappingOut(BaseModel):
    element: str = Field(description="The Spectrum element, e.g. Bill_Customer_Code.")
    label: str
    source: str = Field(description="The ServiceTrade value it comes from, in words.")
    value: str = Field(description="What a send would set ('' when missing or blank).")
    missing: FailureOut | None = Field(description="The mapping is missing: the failure a "
                                                   "send would report, with its fix.")
    note: str


class JobConnectionOut(BaseModel):
    connection: str
    paused: bool
    pause_reason: str
    work_order_number: str
    sendable: bool = Field(description="False while the connection is paused.")
    blocker: FailureOut | None = Field(description="What stops a send now (every problem).")
    mappings: list[MappingOut]
    latest_attempt: AttemptOut | None
    last_sent: AttemptOut | None
    is_resend: bool = Field(description="The job was sent before on this connection.")
    overwritten: list[str] = Field(description="Spectrum fields a re-send writes again: any "
                                               "manual change there is lost.")
    warnings: list[str]

    @classmethod
    def of(cls, view: ConnectionJobView) -> JobConnectionOut:
        connection = view.connection
        return cls(
            connection=connection.name, paused=connection.paused,
            pause_reason=connection.pause_reason, work_order_number=view.work_order_number,
            sendable=view.sendable, blocker=FailureOut.of(view.blocker),
            mappings=[MappingOut(element=m.element, label=m.label, source=m.source,
                                 value=m.value, missing=FailureOut.of(m.missing), note=m.note)
                      for m in view.mappings],
            latest_attempt=AttemptOut.of(view.latest), last_sent=AttemptOut.of(view.last_sent),
            is_resend=view.is_resend, overwritten=view.overwritten, warnings=view.warnings)


class JobOut(BaseModel):
    id: int
    number: int
    name: str
    status: str
    type: str
    description: str
    customer_po: str
    customer: RecordOut | None
    location: RecordOut | None
    contract: RecordOut | None
    connections: list[JobConnectionOut]


class SendResultOut(BaseModel):
    """The shape of ``st-spectrum send --json``."""

    job_id: int
    connection: str
    status: Literal["sent", "failed", "preview"]
    work_order_number: str | None
    fields: dict[str, str] = Field(description="The WorkOrderHeader fields, by element.")
    warnings: list[str]
    failure: FailureOut | None


class SendDoneOut(SendResultOut):
    attempt_id: int | None
    send_id: str = Field(description="Follow it at /api/v1/sends/{send_id}.")


class SendQueuedOut(BaseModel):
    send_id: str
    status: Literal["queued", "sending"]
    status_url: str


class SendIn(BaseModel):
    connection: str = Field(description="The connection's name.")
    wait: float = Field(30.0, ge=0, le=MAX_WAIT,
                        description="Seconds to wait for the outcome; 0 answers 202 at once.")


class SendStateOut(BaseModel):
    send_id: str
    job_id: int
    connection: str
    status: Literal["queued", "sending", "sent", "failed", "error"]
    done: bool
    result: SendDoneOut | None = Field(description="Once sent or failed.")
    error: str = Field(description="Why the send stopped before it finished (status error).")


# -- helpers -------------------------------------------------------------------------------------
def _record(ref: Any) -> RecordOut | None:
    return RecordOut(id=ref.id, name=ref.name) if ref is not None else None


def _job_out(job: Job, connections: list[ConnectionJobView]) -> JobOut:
    return JobOut(id=job.id, number=job.number, name=job.name, status=job.status or "",
                  type=job.type or "", description=job.description or "",
                  customer_po=job.customer_po or "", customer=_record(job.customer),
                  location=_record(job.location), contract=_record(job.contract),
                  connections=[JobConnectionOut.of(view) for view in connections])


def _done(state: SendState) -> SendDoneOut:
    assert state.attempt is not None
    return SendDoneOut(**SendResult.from_attempt(state.attempt).to_json(),
                       attempt_id=state.attempt.id, send_id=state.workflow_id)


def _state_out(state: SendState) -> SendStateOut:
    result = _done(state) if state.phase in ("sent", "failed") else None
    return SendStateOut(send_id=state.workflow_id, job_id=state.job_id,
                        connection=state.connection, status=state.phase, done=state.done,
                        result=result, error=state.error)


def _send(services: WebServices, user: UserRecord, job_id: int, body: SendIn) -> SendState:
    connection = services.store.account_connection_named(user.account_id, body.connection)
    if connection.paused:
        raise ApiProblem(409, "connection_paused",
                         f"Connection '{connection.name}' is paused ({connection.pause_reason}); "
                         "nothing was sent. An admin can resume it once the cause is fixed.")
    read_job(services.store, services.clients, user.account_id, job_id)
    try:
        send_id = start_send(services, user, job_id, connection, trigger="api")
    except ConnectionPaused as exc:
        raise ApiProblem(409, "connection_paused", str(exc)) from exc
    return wait_for_send(services, user.account_id, send_id, timeout=body.wait)


# -- routes --------------------------------------------------------------------------------------
@router.get("/jobs", response_model=JobListOut, responses=_ERRORS,
            summary="Search jobs by number, customer, location and status")
def list_jobs(request: Request, user: ApiUser,
              q: Annotated[str, Query(description="Part of the job number, customer name or "
                                                  "location name.")] = "",
              status: Annotated[str, Query(description="A job status: "
                                                       + ", ".join(JOB_STATUSES))] = ""
              ) -> JobListOut:
    services = services_of(request)
    try:
        search = JobSearch(text=q.strip(), status=status.strip())
    except ValueError as exc:
        raise ApiProblem(422, "invalid_request", str(exc)) from exc
    listing = search_jobs(services.store, services.clients, user.account_id, search)
    names = {connection.id: connection.name for connection in listing.connections}
    rows = []
    for row in listing.rows:
        sends = [JobSendOut(connection=names.get(connection_id, attempt.connection),
                            latest_attempt=AttemptOut.of_record(attempt))
                 for connection_id, attempt in sorted(row.latest.items())]
        rows.append(JobRowOut(id=row.job_id, number=row.number, customer=row.customer,
                              location=row.location, status=row.status, sends=sends))
    return JobListOut(jobs=rows, scanned=listing.scanned, scan_limited=listing.scan_limited,
                      show_limited=listing.show_limited)


@router.get("/jobs/{job_id}", response_model=JobOut, responses=_ERRORS,
            summary="A job with its Spectrum mappings and latest send, per connection")
def get_job(request: Request, user: ApiUser, job_id: str) -> JobOut:
    services = services_of(request)
    overview = job_overview(services.store, services.clients, user.account_id,
                            parse_job_id(job_id))
    return _job_out(overview.job, overview.connections)


@router.get("/jobs/{job_id}/preview", response_model=SendResultOut, responses=_ERRORS,
            summary="What a send would set; nothing is sent, posted or recorded")
def preview(request: Request, user: ApiUser, job_id: str,
            connection: Annotated[str, Query(description="The connection's name.")]
            ) -> dict[str, Any]:
    services = services_of(request)
    number = parse_job_id(job_id)
    found = services.store.account_connection_named(user.account_id, connection)
    read_job(services.store, services.clients, user.account_id, number)
    return services.sender.preview(number, found.name).to_json()


@router.post("/jobs/{job_id}/send", response_model=SendDoneOut,
             responses={**_ERRORS,
                        202: {"model": SendQueuedOut,
                              "description": "Still queued or sending after 'wait' seconds: "
                                             "follow it at status_url."},
                        409: {"model": ErrorBody, "description": "The connection is paused."}},
             summary="Send the job to Spectrum as a work order (trigger 'api')")
async def send(request: Request, user: ApiUser, job_id: str, body: SendIn) -> JSONResponse:
    number = parse_job_id(job_id)
    state = await run_in_threadpool(_send, services_of(request), user, number, body)
    if state.phase == "error":
        raise ApiProblem(500, "send_error", f"The send of job {number} stopped before it "
                                            f"finished: {state.error}. See /api/v1/attempts.")
    if not state.done:
        queued = SendQueuedOut(send_id=state.workflow_id, status=state.phase,
                               status_url=f"/api/v1/sends/{state.workflow_id}")
        return JSONResponse(queued.model_dump(), status_code=202)
    return JSONResponse(_done(state).model_dump(mode="json"), status_code=200)


@router.get("/sends/{send_id}", response_model=SendStateOut, responses=_ERRORS,
            summary="Where a send stands, and its outcome once done")
def get_send(request: Request, user: ApiUser, send_id: str) -> SendStateOut:
    return _state_out(send_state(services_of(request), user.account_id, send_id))
