"""``/api/v1/attempts``: the account's send attempts (the history), one attempt's detail with
its request and response (secrets removed), and retrying a failed one.

The list pages newest first with an opaque ``cursor``: pass the ``next_cursor`` of one answer
to get the next (older) page; it is null on the last page. The summaries have the shape of
``st-spectrum history --json``, so scripts can move between the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from servicetrade_spectrum.domain import FailureKind
from servicetrade_spectrum.store import AttemptRecord
from servicetrade_spectrum.web._attempts import (
    BadFilter,
    RetryRefused,
    attempt_connection,
    history_filter,
    owned_attempt,
    parse_cursor,
    redact_attempt,
    retry,
)
from servicetrade_spectrum.web._auth import ApiUser, services_of
from servicetrade_spectrum.web._errors import ApiProblem

__all__ = ["AttemptDetail", "AttemptList", "AttemptSummary", "RetryStarted", "router"]

router = APIRouter(tags=["attempts"])


class ErrorDetail(BaseModel):
    code: str = Field(description="not_found, invalid_request, conflict, ...")
    message: str = Field(description="What is wrong and how to fix it.")


class ErrorAnswer(BaseModel):
    error: ErrorDetail

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorAnswer, "description": "No valid API token."},
    404: {"model": ErrorAnswer, "description": "No such attempt or connection in your account."},
    422: {"model": ErrorAnswer, "description": "A parameter is not valid (named in the message)."},
}


class AttemptSummary(BaseModel):
    """One send attempt, as ``st-spectrum history --json`` prints it."""

    id: int
    job_id: int = Field(description="The ServiceTrade job ID.")
    job_number: str
    connection: str = Field(description="The Spectrum connection's name.")
    trigger: str = Field(description="What started it: web, cli, api, retry, automation, ...")
    triggered_by: str = Field(description="Who started it (an email, a user, a rule).")
    time: datetime = Field(description="When it started (UTC).")
    finished_at: datetime | None
    duration_ms: int | None
    status: Literal["running", "sent", "failed"]
    work_order_number: str | None
    failure_kind: FailureKind | None
    failure_message: str | None
    spectrum_message: str | None = Field(description="Spectrum's own words, when it gave any.")
    warnings: list[str]
    comment_posted: bool = Field(description="Whether a comment was posted on the job.")


class AttemptList(BaseModel):
    attempts: list[AttemptSummary] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as 'cursor' for the next (older) page; "
                                                "null on the last page.")


class SpectrumRowAnswer(BaseModel):
    code: str = Field(description="Spectrum's row code: I (invalid), M (missing), "
                                  "A (not authorized), ...")
    message: str
    column: str


class AttemptDetail(AttemptSummary):
    """The whole attempt: what was sent, what Spectrum answered, what was done about it."""

    failure_fix: str | None = Field(description="What to do about the failure.")
    fields: dict[str, str] = Field(description="The WorkOrderHeader elements sent, element "
                                               "-> value.")
    spectrum_rows: list[SpectrumRowAnswer]
    tries: int
    http_status: int | None = Field(description="Spectrum's HTTP status (last try).")
    external_id_written: bool = Field(description="Whether the job's external ID was set to "
                                                  "the work order number.")
    comment_text: str | None = Field(description="The comment for the job.")
    request_body: str = Field(description="The SOAP request, secrets replaced by [redacted].")
    response_body: str = Field(description="Spectrum's answer, secrets replaced by "
                                           "[redacted].")


class RetryStarted(BaseModel):
    send_id: str = Field(description="The send's ID (its durable workflow ID).")
    status_url: str = Field(description="Follow the send here until it is done.")


def _summary(attempt: AttemptRecord) -> AttemptSummary:
    return AttemptSummary.model_validate(attempt.summary())


def _invalid(problem: BadFilter) -> ApiProblem:
    return ApiProblem(422, "invalid_request", f"{problem.field}: {problem.message}")


@router.get("/attempts", response_model=AttemptList, responses=_ERRORS)
def list_attempts(
    request: Request,
    user: ApiUser,
    connection: Annotated[str | None, Query(description="Only this connection (its name).")]
    = None,
    status: Annotated[Literal["sent", "failed", "running"] | None,
                      Query(description="Only this outcome.")] = None,
    failure_kind: Annotated[FailureKind | None, Query(description="Only this failure kind.")]
    = None,
    job_id: Annotated[int | None, Query(ge=1, description="Only this ServiceTrade job ID.")]
    = None,
    since: Annotated[str | None, Query(description="Started at or after: YYYY-MM-DD (UTC) or "
                                                   "an ISO date-time.")] = None,
    until: Annotated[str | None, Query(description="Started before: an ISO date-time, or "
                                                   "YYYY-MM-DD (that whole day included).")]
    = None,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many (1-200).")] = 50,
    cursor: Annotated[str | None, Query(description="The next_cursor of the previous page.")]
    = None,
) -> AttemptList:
    """The account's send attempts, newest first, filtered and paged."""
    store = services_of(request).store
    try:
        where = history_filter(store, user.account_id, connection=connection, status=status,
                               failure_kind=failure_kind.value if failure_kind else None,
                               job_id=str(job_id) if job_id is not None else None,
                               since=since, until=until)
        older_than = parse_cursor("cursor", cursor)
    except BadFilter as problem:
        raise _invalid(problem) from None
    page = store.history_page(where, older_than=older_than, limit=limit)
    return AttemptList(attempts=[_summary(a) for a in page.attempts],
                       next_cursor=str(page.older_than) if page.older_than else None)


@router.get("/attempts/{attempt_id}", response_model=AttemptDetail, responses=_ERRORS)
def get_attempt(request: Request, attempt_id: int, user: ApiUser) -> AttemptDetail:
    """One attempt of the account in full: the fields sent, Spectrum's rows, the failure and
    its fix, and the request and response with the connection's secrets removed."""
    store = services_of(request).store
    attempt = owned_attempt(store, user.account_id, attempt_id)
    shown = redact_attempt(attempt, attempt_connection(store, attempt))
    return AttemptDetail.model_validate({
        **shown.summary(),
        "failure_fix": shown.failure_fix or None,
        "fields": {element: str(value) for element, value in shown.fields.items()},
        "spectrum_rows": [{"code": str(row.get("code", "")),
                           "message": str(row.get("message", "")),
                           "column": str(row.get("column", ""))} for row in shown.spectrum_rows],
        "tries": shown.tries, "http_status": shown.http_status,
        "external_id_written": shown.external_id_written,
        "comment_text": shown.comment_text or None,
        "request_body": shown.request_body, "response_body": shown.response_body,
    })


@router.post("/attempts/{attempt_id}/retry", status_code=202, response_model=RetryStarted,
             responses={**_ERRORS, 409: {"model": ErrorAnswer,
                                         "description": "The attempt did not fail, a newer "
                                                        "attempt exists, or the connection is "
                                                        "paused."}})
def retry_attempt(request: Request, attempt_id: int, user: ApiUser) -> RetryStarted:
    """Send the job of a failed attempt again on its connection (trigger "retry"), once its
    cause is fixed. Only the job's latest attempt on the connection can be retried."""
    services = services_of(request)
    attempt = owned_attempt(services.store, user.account_id, attempt_id)
    try:
        send_id = retry(services, user, attempt)
    except RetryRefused as refused:
        raise ApiProblem(409, "conflict", str(refused)) from None
    return RetryStarted(send_id=send_id, status_url=f"/api/v1/sends/{quote(send_id, safe='')}")
