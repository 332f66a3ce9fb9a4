"""What the history pages and the attempts API share: reading filters, finding an attempt of
the user's account, removing secrets before anything is shown, and retrying a failed send.

Pages and the API word their errors differently (a page, or JSON), so the problems here are
plain exceptions that each side turns into its own answer.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from servicetrade_spectrum.domain import FailureKind
from servicetrade_spectrum.store import (
    AttemptRecord,
    ConnectionConfig,
    HistoryFilter,
    NotFound,
    Store,
    UserRecord,
)
from servicetrade_spectrum.sync import ConnectionPaused
from servicetrade_spectrum.web._sending import start_send
from servicetrade_spectrum.web._services import WebServices

__all__ = [
    "REDACTED",
    "STATUSES",
    "BadFilter",
    "RetryRefused",
    "history_filter",
    "owned_attempt",
    "parse_cursor",
    "redact_attempt",
    "redact_text",
    "retry",
    "retryable",
]

REDACTED = "[redacted]"
STATUSES = ("sent", "failed", "running")


class BadFilter(ValueError):
    """A filter value that cannot be used; ``field`` names the query parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RetryRefused(Exception):
    """A retry that would not make sense (the attempt did not fail, or was sent again since)
    or cannot start (the connection is paused)."""


# -- filters ---------------------------------------------------------------------------------
def _moment(field: str, text: str, *, end: bool) -> datetime:
    """A date (``2024-05-31``: that whole day, UTC) or an ISO date-time (UTC unless it says).
    ``end`` turns a date into the start of the next day, so "until" includes the day."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadFilter(field, f"'{text}' is not a date: write it as YYYY-MM-DD (UTC), "
                               f"e.g. 2024-05-31.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_cursor(field: str, text: str | None) -> int | None:
    """A paging cursor (an attempt ID from a previous page), or None when absent."""
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) <= 0:
        raise BadFilter(field, f"'{text}' is not a page cursor: use the Newer/Older links "
                               "(or next_cursor) as given, or leave it out for the newest.")
    return int(text)


def history_filter(store: Store, account_id: int, *, connection: str | None = None,
                   status: str | None = None, failure_kind: str | None = None,
                   job_id: str | None = None, since: str | None = None,
                   until: str | None = None) -> HistoryFilter:
    """The account's filter from query text; blank values mean "any". An unknown connection
    is :class:`NotFound` (the API answers 404 for it, the page 400)."""
    connection_id = None
    if connection:
        connection_id = store.account_connection_named(account_id, connection).id
    if status and status not in STATUSES:
        raise BadFilter("status", f"'{status}' is not an outcome: use one of "
                                  f"{', '.join(STATUSES)}, or leave it blank for all.")
    kinds = [kind.value for kind in FailureKind]
    if failure_kind and failure_kind not in kinds:
        raise BadFilter("failure_kind", f"'{failure_kind}' is not a failure kind: use one of "
                                        f"{', '.join(kinds)}, or leave it blank for all.")
    job: int | None = None
    if job_id:
        if not job_id.strip().isdigit():
            raise BadFilter("job_id", f"'{job_id}' is not a job ID: use the ServiceTrade job "
                                      "ID (digits only, as in the job's address).")
        job = int(job_id.strip())
    started_from = _moment("since", since, end=False) if since else None
    started_before = _moment("until", until, end=True) if until else None
    if started_from and started_before and started_from >= started_before:
        raise BadFilter("until", "The end date is before the start date: swap them, or "
                                 "clear one.")
    return HistoryFilter(account_id=account_id, connection_id=connection_id,
                         status=status or None, failure_kind=failure_kind or None,
                         job_id=job, started_from=started_from, started_before=started_before)


# -- one attempt -----------------------------------------------------------------------------
def owned_attempt(store: Store, account_id: int, attempt_id: int) -> AttemptRecord:
    """The attempt, if it belongs to the account; another account's is :class:`NotFound`
    with the same words as a missing one, so IDs cannot be probed."""
    try:
        attempt = store.attempt(attempt_id)
    except NotFound:
        attempt = None
    if attempt is None or attempt.account_id != account_id:
        raise NotFound(f"No sync attempt {attempt_id} in this account: see the history page, "
                       "or GET /api/v1/attempts.")
    return attempt


def redact_text(text: str, connection: ConnectionConfig | None) -> str:
    """``text`` with the connection's Authorization ID and client secret replaced. The
    Spectrum client stores bodies already redacted; this is the second line of defence."""
    return text if connection is None else connection.redact(text, REDACTED)


def _redact_value(value: Any, connection: ConnectionConfig | None) -> Any:
    if isinstance(value, str):
        return redact_text(value, connection)
    if isinstance(value, dict):
        return {key: _redact_value(item, connection) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_value(item, connection) for item in value]
    return value


def redact_attempt(attempt: AttemptRecord, connection: ConnectionConfig | None) -> AttemptRecord:
    """The attempt with the connection's secrets removed from every text it carries, ready to
    be shown (page or JSON)."""
    changes = {f.name: _redact_value(getattr(attempt, f.name), connection)
               for f in dataclasses.fields(attempt)
               if isinstance(getattr(attempt, f.name), (str, dict, list))}
    return dataclasses.replace(attempt, **changes)


def attempt_connection(store: Store, attempt: AttemptRecord) -> ConnectionConfig | None:
    """The attempt's connection (for its secrets to redact); None if it was removed."""
    try:
        return store.account_connection(attempt.account_id, attempt.connection_id)
    except NotFound:
        return None


# -- retry ----------------------------------------------------------------------------------
def retryable(store: Store, attempt: AttemptRecord) -> bool:
    """A failed attempt that is still its job's latest on the connection: retrying it is
    what the user means. An older failure was already retried (or the job sent since)."""
    if attempt.status != "failed":
        return False
    latest = store.last_attempt(attempt.connection_id, attempt.job_id)
    return latest is not None and latest.id == attempt.id


def retry(services: WebServices, user: UserRecord, attempt: AttemptRecord) -> str:
    """Queue the job again on the attempt's connection (trigger "retry"); the workflow ID."""
    store = services.store
    if attempt.status != "failed":
        raise RetryRefused(f"Attempt {attempt.id} did not fail ({attempt.status}): there is "
                           f"nothing to retry. Send the job again from its page instead.")
    if not retryable(store, attempt):
        raise RetryRefused(f"Job {attempt.job_number or attempt.job_id} has a newer attempt on "
                           f"'{attempt.connection}' than {attempt.id}: open the newest one in "
                           "the history (retry that one if it failed).")
    connection = store.account_connection(user.account_id, attempt.connection_id)
    try:
        return start_send(services, user, attempt.job_id, connection, trigger="retry")
    except ConnectionPaused as exc:
        raise RetryRefused(str(exc)) from exc
