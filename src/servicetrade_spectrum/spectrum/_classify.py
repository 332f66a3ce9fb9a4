"""Deciding the outcome of one answer: the single place where Spectrum's codes get meaning.

Rules, in order:

1. HTTP 401 / 403: authentication failed (the client fetched a fresh token once already).
2. A SOAP fault, with HTTP 500 or 200: "Could not find WebService" means the service is not
   deployed or not authorized (not retried); ``SOAP-ENV:Server`` ("Error executing Web
   Service", seen under concurrent load) is transient; any other client fault is a rejection.
3. Any other HTTP status >= 400, or a body that is not a SOAP answer: transient (proxies and
   load balancers answer 502/503 HTML while Spectrum restarts).
4. Rows. Blank, ``G`` and ``S`` are success; ``W`` is a warning on get services. ``A`` (and
   an ``E`` that says "not authorized") is not authorized. "Time out has occurred" means the
   GUID expired: transient, the retry uses a fresh GUID. Every other code is a rejection,
   even one the vendor never documented.
5. A cut-off answer with no complete row is transient: we cannot know what it said, and the
   retry is safe because WorkOrderHeader is an upsert on our own WO_Number.
"""

from __future__ import annotations

from servicetrade_spectrum.spectrum._outcomes import (
    AuthenticationFailed,
    Exchange,
    NotAuthorized,
    Outcome,
    Rejected,
    Row,
    Succeeded,
    Transient,
)
from servicetrade_spectrum.spectrum._parsing import UnreadableAnswer, parse_answer

__all__ = ["classify_answer"]

_NOT_FOUND_SERVICE = "could not find webservice"
_GUID_TIMEOUT = "time out has occurred"


def classify_answer(exchange: Exchange, body: bytes, *, get_service: bool) -> Outcome:
    status = exchange.http_status or 0
    if status in (401, 403):
        return AuthenticationFailed(exchange, f"Spectrum refused the credentials (HTTP {status})")
    try:
        answer = parse_answer(body)
    except UnreadableAnswer as exc:
        if status >= 400:
            return Transient(exchange, f"Spectrum answered HTTP {status}", status)
        return Transient(exchange, str(exc), status or None)

    if answer.fault is not None:
        fault = answer.fault
        if _NOT_FOUND_SERVICE in fault.message.lower():
            return NotAuthorized(exchange, fault.message)
        if fault.is_server:
            return Transient(exchange, f"{fault.code}: {fault.message}", status or None)
        return Rejected(exchange, (Row(code="FAULT", message=fault.message,
                                       column=fault.code),))
    if status >= 400:
        return Transient(exchange, f"Spectrum answered HTTP {status}", status)
    return _classify_rows(exchange, answer.rows, truncated=answer.truncated,
                          get_service=get_service)


def _classify_rows(exchange: Exchange, rows: tuple[Row, ...], *, truncated: bool,
                   get_service: bool) -> Outcome:
    if truncated and not rows:
        return Transient(exchange, "Spectrum's answer was cut off before any result")
    warnings = tuple(row for row in rows if get_service and row.code == "W")
    failures = tuple(row for row in rows if not row.is_success and row not in warnings)
    if not failures:
        if get_service:
            records = tuple(row.values for row in rows if row.is_success)
            return Succeeded(exchange, records=records, warnings=warnings, truncated=truncated)
        return Succeeded(exchange, rows=rows, truncated=truncated)
    if any(_GUID_TIMEOUT in row.message.lower() for row in failures):
        return Transient(exchange, "Spectrum's session timed out (Time out has occurred)")
    denied = [row for row in failures if row.code == "A" or
              (row.code == "E" and "not authorized" in row.message.lower())]
    if denied:
        return NotAuthorized(exchange, denied[0].message, failures)
    return Rejected(exchange, failures)
