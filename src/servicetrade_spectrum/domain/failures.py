"""Why a send failed, in words an office user can act on.

Each failure has a kind (a stable name scripts rely on), a message that names the record and
the value, and a fix. The kinds, grouped the way the retry policy treats them:

    data problems (never retried; the user fixes the job or the mapping)
     ├── customer_not_mapped         the job's company has no Spectrum customer code
     ├── site_not_mapped             the job's location has no Spectrum site ID
     ├── work_order_number_too_long  leading character + job number > 10 characters
     ├── value_too_long              a value is longer than Spectrum accepts
     └── rejected_by_spectrum        Spectrum answered I / M rows
    setup problems (never retried; an admin fixes the connection)
     ├── not_authorized              A row or "Could not find WebService"
     └── authentication_failed       refused client secret or ServiceTrade credentials
    transient (retried with backoff; see servicetrade_spectrum.retry)
     ├── spectrum_unreachable
     └── servicetrade_unavailable
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Failure", "FailureKind", "SpectrumRow"]


class FailureKind(StrEnum):
    CUSTOMER_NOT_MAPPED = "customer_not_mapped"
    SITE_NOT_MAPPED = "site_not_mapped"
    WORK_ORDER_NUMBER_TOO_LONG = "work_order_number_too_long"
    VALUE_TOO_LONG = "value_too_long"
    REJECTED_BY_SPECTRUM = "rejected_by_spectrum"
    NOT_AUTHORIZED = "not_authorized"
    AUTHENTICATION_FAILED = "authentication_failed"
    SPECTRUM_UNREACHABLE = "spectrum_unreachable"
    SERVICETRADE_UNAVAILABLE = "servicetrade_unavailable"

    @property
    def transient(self) -> bool:
        return self in (FailureKind.SPECTRUM_UNREACHABLE, FailureKind.SERVICETRADE_UNAVAILABLE)

    @property
    def label(self) -> str:
        return _TITLES[self]


_TITLES = {
    FailureKind.CUSTOMER_NOT_MAPPED: "Customer not mapped",
    FailureKind.SITE_NOT_MAPPED: "Site not mapped",
    FailureKind.WORK_ORDER_NUMBER_TOO_LONG: "Work order number too long",
    FailureKind.VALUE_TOO_LONG: "Value too long",
    FailureKind.REJECTED_BY_SPECTRUM: "Rejected by Spectrum",
    FailureKind.NOT_AUTHORIZED: "Not authorized in Spectrum",
    FailureKind.AUTHENTICATION_FAILED: "Authentication failed",
    FailureKind.SPECTRUM_UNREACHABLE: "Spectrum unreachable",
    FailureKind.SERVICETRADE_UNAVAILABLE: "ServiceTrade unavailable",
}


@dataclass(frozen=True, slots=True)
class SpectrumRow:
    """One of Spectrum's own answer rows, kept with the failure it explains."""

    code: str
    message: str
    column: str


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    message: str
    """What failed, naming the record and the value (and Spectrum's words, if any)."""
    fix: str
    """What to do about it."""
    spectrum_rows: tuple[SpectrumRow, ...] = field(default=())

    def as_comment(self, connection_name: str) -> str:
        """The private comment posted on the job: plain words, no markup."""
        return (f"Send Job to Spectrum ({connection_name}) failed: {self.kind.label}.\n"
                f"{self.message}\nHow to fix: {self.fix}")

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "message": self.message, "fix": self.fix}
