"""The jobs list and the job page, where office staff send a job to Spectrum.

    GET  /jobs                            search: number, customer, location, status
    GET  /jobs/{job_id}                   the job, its mappings per connection, the Send menu,
                                          a send's live status (?send=<workflow ID>), history
    POST /jobs/{job_id}/send              start a send (a re-send asks for confirmation first)
    GET  /jobs/{job_id}/sends/{send_id}   a send's state, for the page's script (JSON)
    GET  /jobs/{job_id}/history           the history section alone, refreshed after a send

A job is read from the signed-in user's own ServiceTrade account: a job it does not have
(another account's included) answers 404, as does an address whose job ID is not a number.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Form as FormField
from starlette.responses import JSONResponse, RedirectResponse, Response

from servicetrade_spectrum.store import HistoryFilter, NotFound
from servicetrade_spectrum.sync import (
    JOB_STATUSES,
    ConnectionPaused,
    JobSearch,
    job_overview,
    parse_job_id,
    read_job,
    search_jobs,
)
from servicetrade_spectrum.web._auth import Form, SignedIn, Viewer, services_of
from servicetrade_spectrum.web._errors import PageProblem
from servicetrade_spectrum.web._sending import SendState, send_state, start_send, wait_for_send
from servicetrade_spectrum.web._templates import render, templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

SEND_WAIT_SECONDS = 1.5
"""How long the Send button waits for the outcome before showing the live status instead."""
HISTORY_ROWS = 20


# -- the list ------------------------------------------------------------------------------------
@router.get("/jobs")
def jobs(request: Request, viewer: Viewer, q: str = "", status: str = "") -> Response:
    services = services_of(request)
    try:
        search = JobSearch(text=q.strip(), status=status.strip())
    except ValueError as exc:
        raise PageProblem(400, str(exc)) from exc
    listing = search_jobs(services.store, services.clients, viewer.account_id, search)
    return render(request, "jobs.html", {"nav": "jobs", "listing": listing,
                                         "statuses": JOB_STATUSES})


# -- one job -------------------------------------------------------------------------------------
def _history(request: Request, viewer: SignedIn, job_id: int) -> dict[str, Any]:
    page = services_of(request).store.history_page(
        HistoryFilter(account_id=viewer.account_id, job_id=job_id), limit=HISTORY_ROWS)
    return {"job_id": job_id, "attempts": page.attempts, "more": page.older_than is not None}


def _state_of(request: Request, viewer: SignedIn, job_id: int, send_id: str) -> SendState:
    """The send, if it is one of this job's in the viewer's account (else NotFound)."""
    state = send_state(services_of(request), viewer.account_id, send_id)
    if state.job_id != job_id:
        raise NotFound(f"No send {send_id} of job {job_id}.")
    return state


def _status_context(job_id: int, state: SendState) -> dict[str, Any]:
    return {"state": state, "job_id": job_id,
            "status_url": f"/jobs/{job_id}/sends/{state.workflow_id}"}


@router.get("/jobs/{job_id}")
def job(request: Request, viewer: Viewer, job_id: str, send: str = "") -> Response:
    services = services_of(request)
    number = parse_job_id(job_id)
    overview = job_overview(services.store, services.clients, viewer.account_id, number)
    sending: dict[str, Any] | None = None
    send_missing = ""
    if send:
        try:
            sending = _status_context(number, _state_of(request, viewer, number, send))
        except NotFound:
            send_missing = (f"There is no send '{send}' of this job in your account: see the "
                            "job's history below.")
    return render(request, "job.html", {"nav": "jobs", "overview": overview, "job": overview.job,
                                        "sending": sending, "send_missing": send_missing,
                                        **_history(request, viewer, number)})


@router.post("/jobs/{job_id}/send")
def send(request: Request, viewer: Form, job_id: str,
         connection_id: Annotated[int, FormField()],
         confirmed: Annotated[str, FormField()] = "") -> Response:
    services = services_of(request)
    number = parse_job_id(job_id)
    connection = services.store.account_connection(viewer.account_id, connection_id)
    if connection.paused:
        raise PageProblem(409, f"Connection '{connection.name}' is paused "
                               f"({connection.pause_reason}); nothing was sent. An admin can "
                               "resume it on the Connections page once the cause is fixed.")
    if not confirmed:
        overview = job_overview(services.store, services.clients, viewer.account_id, number,
                                connection_id=connection.id)
        view = overview.connections[0]
        if view.is_resend and view.overwritten:
            return render(request, "job_resend.html", {
                "nav": "jobs", "job": overview.job, "view": view})
    else:
        read_job(services.store, services.clients, viewer.account_id, number)
    try:
        send_id = start_send(services, viewer.user, number, connection, trigger="web")
    except ConnectionPaused as exc:  # paused a moment ago
        raise PageProblem(409, str(exc)) from exc
    wait_for_send(services, viewer.account_id, send_id, timeout=SEND_WAIT_SECONDS)
    return RedirectResponse(f"/jobs/{number}?send={send_id}", status_code=303)


@router.get("/jobs/{job_id}/sends/{send_id}")
def send_status(request: Request, viewer: Viewer, job_id: str, send_id: str) -> Response:
    number = parse_job_id(job_id)
    state = _state_of(request, viewer, number, send_id)
    html = templates.get_template("_send_status.html").render(_status_context(number, state))
    return JSONResponse({"done": state.done, "html": html, "reload_history": state.done},
                        headers={"Cache-Control": "no-store"})


@router.get("/jobs/{job_id}/history")
def job_history(request: Request, viewer: Viewer, job_id: str) -> Response:
    number = parse_job_id(job_id)
    return render(request, "_job_history.html", _history(request, viewer, number))
