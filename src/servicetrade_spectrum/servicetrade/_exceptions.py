"""Everything the ServiceTrade client raises, grouped by what the caller should do about it.

Hierarchy::

    ServiceTradeError
    ├── ServiceTradeUnavailable   retriable: 429, 5xx, timeout, connection failure
    ├── AuthenticationFailed      fatal: login or token refused, or 401 right after logging in
    └── (data problems: the same request would fail the same way)
        ├── RequestRejected       any other 4xx, with ServiceTrade's messages
        │   └── NotFound          404: no such record
        ├── UnexpectedResponse    a 2xx whose body is not the documented shape
        └── InvalidWebhook        a webhook body that is not a ServiceTrade message

Only ``ServiceTradeUnavailable`` is worth retrying; the client already did so with the
configured :class:`~servicetrade_spectrum.retry.RetryPolicy` before raising it. Messages name
ServiceTrade, the request and the fix, and never carry a password, secret or token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "AuthenticationFailed",
    "InvalidWebhook",
    "NotFound",
    "RequestRejected",
    "ServiceTradeError",
    "ServiceTradeUnavailable",
    "UnexpectedResponse",
]


class ServiceTradeError(Exception):
    """Base of every error raised by the ServiceTrade client."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id
        """ServiceTrade's ``x-request-id`` for the failed call: quote it to their support."""

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (ServiceTrade request id {self.request_id})"
        return self.message


class ServiceTradeUnavailable(ServiceTradeError):
    """ServiceTrade did not answer usefully: 429, 5xx, a timeout or a broken connection."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 request_id: str | None = None, retry_after: float | None = None,
                 maybe_applied: bool = False) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        """HTTP status, or ``None`` when no answer arrived at all."""
        self.retry_after = retry_after
        """Seconds ServiceTrade asked us to wait (``Retry-After``), when it said."""
        self.maybe_applied = maybe_applied
        """True when the request may have reached ServiceTrade and been applied (5xx, read
        timeout): a non-idempotent write (a comment) must be checked before it is sent again."""


class AuthenticationFailed(ServiceTradeError):
    """ServiceTrade refused the credentials, or answered 401 again right after a new login."""


class RequestRejected(ServiceTradeError):
    """ServiceTrade refused the request (a 4xx other than 401 and 429): do not retry it."""

    def __init__(self, message: str, *, status_code: int, errors: Sequence[str] = (),
                 validation: Mapping[str, str] | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.errors: list[str] = list(errors)
        """ServiceTrade's ``messages.error``."""
        self.validation: dict[str, str] = dict(validation or {})
        """ServiceTrade's ``messages.validation``: field name -> what is wrong with it."""


class NotFound(RequestRejected):
    """ServiceTrade has no such record (404)."""


class UnexpectedResponse(ServiceTradeError):
    """ServiceTrade answered 2xx with a body that is not the documented shape."""


class InvalidWebhook(ServiceTradeError, ValueError):
    """A webhook delivery whose body is not a ServiceTrade webhook message."""
