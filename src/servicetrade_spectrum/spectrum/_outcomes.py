"""The typed outcome of one Spectrum call.

Spectrum reports business results as rows in an HTTP 200 answer, infrastructure trouble as
SOAP faults or HTTP errors. Callers should not have to know that: every call ends in exactly
one of these outcomes::

    Outcome
     ├── Succeeded             blank, G or S rows (G rows carry information); get rows in records
     ├── NotAuthorized         an A row, or "Could not find WebService": a setup problem
     ├── Rejected              I / M (or any other unknown code) rows: a data problem
     ├── Transient             unreachable, timeout, HTTP 5xx, SOAP-ENV:Server: retryable
     └── AuthenticationFailed  enhanced authentication refused: client id / secret / token

Only :class:`Transient` is retryable (see :mod:`servicetrade_spectrum.retry`). Every outcome
carries the :class:`Exchange`: what was sent and received, with secrets removed, for the sync
history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "AuthenticationFailed",
    "Exchange",
    "NotAuthorized",
    "Outcome",
    "Rejected",
    "Row",
    "Succeeded",
    "Transient",
]

@dataclass(frozen=True, slots=True)
class Row:
    """One ``response`` row: its code, message and column, plus data values on get rows."""

    code: str
    message: str = ""
    column: str = ""
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_success(self) -> bool:
        return self.code in ("", "G", "S")

    def describe(self) -> str:
        where = f" (column {self.column})" if self.column else ""
        return f"{self.code or '-'}: {self.message or '(no message)'}{where}"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP exchange, safe to store: the Authorization ID and secrets are masked."""

    service: str
    url: str
    guid: str
    request_body: str
    response_body: str = ""
    http_status: int | None = None
    duration_seconds: float = 0.0
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class Succeeded:
    exchange: Exchange
    rows: tuple[Row, ...] = ()
    """Informational rows (``G``/``S``/blank) of a put service."""
    records: tuple[Mapping[str, str], ...] = ()
    """Data rows of a get service, values trimmed."""
    warnings: tuple[Row, ...] = ()
    """``W`` rows of a get service (e.g. the 500-row cap was reached)."""
    truncated: bool = False
    """The answer's closing tags were cut off; the complete rows were still read."""

    retryable = False
    kind = "succeeded"

    @property
    def information(self) -> str:
        """The ``desc`` of the ``G`` rows, joined: e.g. the work order number."""
        return "; ".join(row.message for row in self.rows if row.code == "G" and row.message)

    def info_for(self, column: str) -> str:
        for row in self.rows:
            if row.code == "G" and row.column == column and row.message:
                return row.message
        return ""


@dataclass(frozen=True, slots=True)
class NotAuthorized:
    exchange: Exchange
    message: str
    rows: tuple[Row, ...] = ()

    retryable = False
    kind = "not_authorized"


@dataclass(frozen=True, slots=True)
class Rejected:
    exchange: Exchange
    rows: tuple[Row, ...]
    """The failing rows, in Spectrum's order: several problems come back together."""

    retryable = False
    kind = "rejected"

    @property
    def message(self) -> str:
        return "; ".join(row.describe() for row in self.rows)


@dataclass(frozen=True, slots=True)
class Transient:
    exchange: Exchange
    reason: str
    status_code: int | None = None

    retryable = True
    kind = "transient"


@dataclass(frozen=True, slots=True)
class AuthenticationFailed:
    exchange: Exchange
    message: str

    retryable = False
    kind = "authentication_failed"


Outcome = Succeeded | NotAuthorized | Rejected | Transient | AuthenticationFailed
