"""Plain values handed out by the store, with secrets decrypted and hidden from reprs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["AccountConfig", "AttemptProgress", "AttemptRecord", "BulkRunRecord",
           "ConnectionConfig", "HistoryFilter", "HistoryPage"]


@dataclass(frozen=True)
class AccountConfig:
    id: int
    name: str
    servicetrade_url: str
    auth_kind: str  # session | oauth
    username: str
    client_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class ConnectionConfig:
    id: int
    account_id: int
    account_name: str
    name: str
    ws_url: str
    company_code: str
    authorization_id: str = field(repr=False)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    client_secret_expires_on: str = ""
    system: str = "spectrum"
    prefix: str = ""
    work_order_type: str = ""
    lead_source: str = ""
    preserve_edits: bool = False
    paused: bool = False
    pause_reason: str = ""

    def redact(self, text: str, mask: str) -> str:
        """``text`` with this connection's Authorization ID and client secret replaced by
        ``mask``: for anything shown that Spectrum or the network may have echoed."""
        for secret in (self.authorization_id, self.client_secret):
            if secret:
                text = text.replace(secret, mask)
        return text

    def public(self) -> dict[str, Any]:
        """Everything but the secrets: for ``connection list --json`` and pages."""
        return {
            "name": self.name, "account": self.account_name, "url": self.ws_url,
            "company_code": self.company_code, "system": self.system, "prefix": self.prefix,
            "work_order_type": self.work_order_type, "lead_source": self.lead_source,
            "preserve_edits": self.preserve_edits,
            "enhanced_authentication": bool(self.client_id), "client_id": self.client_id,
            "client_secret_expires_on": self.client_secret_expires_on,
            "paused": self.paused, "pause_reason": self.pause_reason,
        }


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    job_id: int
    job_number: str
    connection: str
    trigger: str
    triggered_by: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    work_order_number: str
    failure_kind: str
    failure_message: str
    failure_fix: str
    spectrum_message: str
    fields: dict[str, Any]
    source_fields: dict[str, Any]
    warnings: list[str]
    spectrum_rows: list[dict[str, str]]
    request_body: str
    response_body: str
    http_status: int | None
    tries: int
    external_id_written: bool
    comment_posted: bool
    comment_text: str
    stage: str = ""
    account_id: int = 0
    connection_id: int = 0

    def summary(self) -> dict[str, Any]:
        """The ``history --json`` shape: one attempt, without the raw bodies."""
        return {
            "id": self.id, "job_id": self.job_id, "job_number": self.job_number,
            "connection": self.connection, "trigger": self.trigger,
            "triggered_by": self.triggered_by, "time": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_ms": self.duration_ms, "status": self.status,
            "work_order_number": self.work_order_number or None,
            "failure_kind": self.failure_kind or None,
            "failure_message": self.failure_message or None,
            "spectrum_message": self.spectrum_message or None,
            "warnings": self.warnings, "comment_posted": self.comment_posted,
        }


@dataclass(frozen=True)
class AttemptProgress:
    """How far an attempt got, as a resumed send needs to know it."""

    status: str  # running, sent, failed
    stage: str  # '', prepared, concluding (or called, in attempts of older versions)
    finished: AttemptRecord | None
    """The whole record once the attempt is no longer running."""


@dataclass(frozen=True)
class BulkRunRecord:
    """One ``bulk-send`` run (see the ``bulk_runs`` table)."""

    id: int
    connection_id: int
    selection_key: str
    token: str
    selection: dict[str, Any]
    job_ids: list[int]
    not_found: list[int]
    triggered_by: str
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class HistoryFilter:
    """Which attempts of one account the history page and API show (all given must match)."""

    account_id: int
    connection_id: int | None = None
    status: str | None = None  # running, sent, failed
    failure_kind: str | None = None
    job_id: int | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None


@dataclass(frozen=True)
class HistoryPage:
    """One page of attempts, newest first; ``older_than`` is the cursor of the next (older)
    page, ``newer_than`` of the previous (newer) one; None when there is no such page."""

    attempts: list[AttemptRecord]
    older_than: int | None
    newer_than: int | None = None
