"""Turning ServiceTrade's HTTP answers into data or into the right exception.

ServiceTrade wraps every answer in ``{"data": ..., "messages": {...}}``; failures are
non-2xx with ``messages.error`` (strings) and ``messages.validation`` (field -> message).
This module is the one place that reads that envelope and classifies failures, so that
"429 and 5xx are transient, other 4xx are not" is decided once.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx

from servicetrade_spectrum.servicetrade._exceptions import (
    AuthenticationFailed,
    NotFound,
    RequestRejected,
    ServiceTradeError,
    ServiceTradeUnavailable,
    UnexpectedResponse,
)

__all__ = ["REQUEST_ID_HEADER", "describe", "envelope_data", "error_for", "transport_error"]

REQUEST_ID_HEADER = "x-request-id"


def describe(request: httpx.Request) -> str:
    """``GET /job/123``: the method and the path, without the query (it may carry filters)."""
    return f"{request.method} {request.url.path}"


def _messages(response: httpx.Response) -> tuple[list[str], dict[str, str]]:
    try:
        body = response.json()
    except ValueError:
        return [], {}
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, dict):
        return [], {}
    raw_errors = messages.get("error") or []
    errors = [str(e) for e in raw_errors] if isinstance(raw_errors, list) else [str(raw_errors)]
    raw_validation = messages.get("validation") or {}
    validation: dict[str, str] = {}
    if isinstance(raw_validation, dict):
        for field, problem in raw_validation.items():
            validation[str(field)] = ("; ".join(map(str, problem))
                                      if isinstance(problem, list) else str(problem))
    return errors, validation


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def error_for(response: httpx.Response, *, what: str) -> ServiceTradeError:
    """The exception for a non-2xx ``response`` to the request that read or wrote ``what``."""
    status = response.status_code
    request_id = response.headers.get(REQUEST_ID_HEADER)
    errors, validation = _messages(response)
    said = "; ".join(errors + [f"{k}: {v}" for k, v in validation.items()])
    detail = f": {said}" if said else ""
    call = describe(response.request)
    if status == 429 or status >= 500:
        return ServiceTradeUnavailable(
            f"ServiceTrade answered HTTP {status} to {call} ({what}){detail}; this is "
            "temporary: the call was retried and will work again once ServiceTrade recovers",
            status_code=status, request_id=request_id, retry_after=_retry_after(response),
            maybe_applied=status >= 500)
    if status == 401:
        return AuthenticationFailed(
            f"ServiceTrade refused the credentials for {call} ({what}){detail}; check the "
            "account's ServiceTrade username and password or OAuth client", request_id=request_id)
    if status == 404:
        return NotFound(f"ServiceTrade has no {what} ({call} answered 404){detail}",
                        status_code=status, errors=errors, validation=validation,
                        request_id=request_id)
    if status == 403:
        fix = "; the API user needs the Account Admin role"
    else:
        fix = "; correct the value in ServiceTrade or the request"
    return RequestRejected(
        f"ServiceTrade rejected {call} ({what}) with HTTP {status}{detail}{fix}",
        status_code=status, errors=errors, validation=validation, request_id=request_id)


def transport_error(exc: httpx.TransportError, request: httpx.Request, *,
                    what: str) -> ServiceTradeUnavailable:
    """The exception for a call that got no HTTP answer at all."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return ServiceTradeUnavailable(
        f"ServiceTrade did not answer {describe(request)} ({what}): the connection {kind} "
        f"({type(exc).__name__}); check that {request.url.host} is reachable",
        maybe_applied=not never_sent)


def envelope_data(response: httpx.Response, *, what: str) -> Any:
    """The ``data`` of a 2xx answer; :class:`UnexpectedResponse` when there is no envelope."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        body = response.json()
    except ValueError as exc:
        raise UnexpectedResponse(
            f"ServiceTrade answered {describe(response.request)} ({what}) with a body that is "
            "not JSON; check that the ServiceTrade URL is the API root ending in /api",
            request_id=response.headers.get(REQUEST_ID_HEADER)) from exc
    if not isinstance(body, dict) or "data" not in body:
        raise UnexpectedResponse(
            f"ServiceTrade answered {describe(response.request)} ({what}) without the "
            "{data, messages} envelope; check that the ServiceTrade URL is the API root "
            "ending in /api", request_id=response.headers.get(REQUEST_ID_HEADER))
    return body["data"]
