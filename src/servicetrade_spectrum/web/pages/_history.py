"""``/history``: every send attempt of the account, filterable and paged; each attempt's
detail (the work order fields, Spectrum's rows, the request and response with secrets
removed); and retrying a failed one.

The list pages with keyset cursors (``before``/``after`` an attempt ID), so the Older link
costs the same on page 1 and page 1000, and a send finishing meanwhile never shifts rows
between pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from servicetrade_spectrum.domain import FailureKind
from servicetrade_spectrum.store import HistoryFilter, HistoryPage, NotFound
from servicetrade_spectrum.web._attempts import (
    STATUSES,
    BadFilter,
    RetryRefused,
    attempt_connection,
    history_filter,
    owned_attempt,
    parse_cursor,
    redact_attempt,
    retry,
    retryable,
)
from servicetrade_spectrum.web._auth import Form, Viewer, services_of, set_notice
from servicetrade_spectrum.web._errors import PageProblem
from servicetrade_spectrum.web._templates import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
_FILTERS = ("connection", "status", "failure_kind", "job_id", "from", "to")
"""The list's query parameters, kept in its paging links."""
_LABELS = {"connection": "Connection", "status": "Outcome", "failure_kind": "Failure kind",
           "job_id": "Job ID", "since": "From", "until": "To", "before": "Older",
           "after": "Newer"}


def _bad(problem: BadFilter) -> PageProblem:
    return PageProblem(400, f"{_LABELS.get(problem.field, problem.field)} filter: "
                            f"{problem.message}")


@router.get("/history")
async def history(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    store = services.store
    query = request.query_params
    chosen = {name: query.get(name, "").strip() for name in _FILTERS}
    account_id = viewer.account_id

    def load() -> tuple[HistoryPage, list[Any]]:
        try:
            where: HistoryFilter = history_filter(
                store, account_id, connection=chosen["connection"], status=chosen["status"],
                failure_kind=chosen["failure_kind"], job_id=chosen["job_id"],
                since=chosen["from"], until=chosen["to"])
            before = parse_cursor("before", query.get("before"))
            after = parse_cursor("after", query.get("after"))
        except BadFilter as problem:
            raise _bad(problem) from None
        except NotFound:
            raise PageProblem(400, f"Connection filter: there is no connection named "
                                   f"'{chosen['connection']}' in this account: pick one from "
                                   "the list, or leave it blank for all.") from None
        if before is not None and after is not None:
            raise PageProblem(400, "Paging: give either 'before' or 'after', not both: use "
                                   "the Newer/Older links.")
        page = store.history_page(where, older_than=before, newer_than=after,
                                  limit=PAGE_SIZE)
        return page, store.connections(account_id=account_id)

    page, connections = await run_in_threadpool(load)
    kept = {name: value for name, value in chosen.items() if value}

    def link(**cursor: int) -> str:
        return "/history?" + urlencode({**kept, **{k: str(v) for k, v in cursor.items()}})

    return render(request, "history.html", {
        "nav": "history", "attempts": page.attempts, "filters": chosen,
        "filtered": bool(kept),
        "connections": connections, "paused": [c for c in connections if c.paused],
        "statuses": STATUSES, "kinds": list(FailureKind),
        "older_link": link(before=page.older_than) if page.older_than else "",
        "newer_link": link(after=page.newer_than) if page.newer_than else "",
    })


@router.get("/history/{attempt_id}")
async def attempt_page(request: Request, attempt_id: int, viewer: Viewer) -> Response:
    store = services_of(request).store

    def load() -> dict[str, Any]:
        attempt = owned_attempt(store, viewer.account_id, attempt_id)
        connection = attempt_connection(store, attempt)
        shown = redact_attempt(attempt, connection)
        failure_kind = None
        if attempt.failure_kind:
            try:
                failure_kind = FailureKind(attempt.failure_kind)
            except ValueError:
                failure_kind = None
        return {"nav": "history", "attempt": shown, "failure_kind": failure_kind,
                "can_retry": retryable(store, attempt),
                "paused": connection is not None and connection.paused,
                "pause_reason": connection.pause_reason if connection else ""}

    return render(request, "attempt.html", await run_in_threadpool(load))


@router.post("/history/{attempt_id}/retry")
async def retry_attempt(request: Request, attempt_id: int, viewer: Form) -> Response:
    services = services_of(request)

    def start() -> tuple[int, str]:
        attempt = owned_attempt(services.store, viewer.account_id, attempt_id)
        try:
            return attempt.job_id, retry(services, viewer.user, attempt)
        except RetryRefused as refused:
            raise PageProblem(409, str(refused)) from None

    job_id, workflow_id = await run_in_threadpool(start)
    response = RedirectResponse(f"/jobs/{job_id}?{urlencode({'send': workflow_id})}",
                                status_code=303)
    set_notice(response, request, viewer, f"Retrying the send of attempt {attempt_id}: its status "
                                 "shows below.")
    return response
