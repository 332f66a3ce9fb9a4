"""What a send or a preview reports back to its caller (CLI, web page, API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from servicetrade_spectrum.domain import Failure, FailureKind
from servicetrade_spectrum.store import AttemptRecord

__all__ = ["ConnectionPaused", "JobNotFound", "SendResult", "SendStatus", "SyncError"]

SendStatus = Literal["sent", "failed", "preview"]


class SyncError(Exception):
    """A send that could not even start: a usage or configuration problem."""


class JobNotFound(SyncError):
    pass


class ConnectionPaused(SyncError):
    pass


@dataclass(frozen=True)
class SendResult:
    job_id: int
    connection: str
    status: SendStatus
    work_order_number: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    failure: Failure | None = None
    attempt_id: int | None = None
    spectrum_message: str = ""
    """Spectrum's own words, when it gave any."""
    job_number: str = ""
    """The job number people see (the JSON keeps to the documented keys)."""
    joined: bool = False
    """True when this call waited for a send of the same job already under way and reports
    that send's outcome instead of sending again."""

    @property
    def job_label(self) -> str:
        return (f"job {self.job_number} (ID {self.job_id})" if self.job_number
                else f"job ID {self.job_id}")

    def to_json(self) -> dict[str, Any]:
        """The ``send --json`` object, exactly the documented keys."""
        return {
            "job_id": self.job_id, "connection": self.connection, "status": self.status,
            "work_order_number": self.work_order_number, "fields": dict(self.fields),
            "warnings": list(self.warnings),
            "failure": self.failure.as_dict() if self.failure else None,
        }

    @classmethod
    def from_attempt(cls, attempt: AttemptRecord, *, joined: bool = False) -> SendResult:
        failure = (Failure(FailureKind(attempt.failure_kind), attempt.failure_message,
                           attempt.failure_fix) if attempt.failure_kind else None)
        status: SendStatus = "sent" if attempt.status == "sent" else "failed"
        return cls(job_id=attempt.job_id, connection=attempt.connection, status=status,
                   work_order_number=attempt.work_order_number or None,
                   fields={k: str(v) for k, v in attempt.fields.items()},
                   warnings=list(attempt.warnings), failure=failure, attempt_id=attempt.id,
                   spectrum_message=attempt.spectrum_message,
                   job_number=attempt.job_number, joined=joined)
