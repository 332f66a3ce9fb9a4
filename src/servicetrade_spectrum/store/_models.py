"""The database tables (SQLAlchemy 2 declarative). Migrations live in ``migrations/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Account", "ApiToken", "Base", "BulkRun", "Connection", "Executor", "Rule",
           "SendLock", "SignInLink", "SpectrumSlot", "SyncAttempt", "User", "WebSession",
           "WebhookMessage"]


class Base(DeclarativeBase):
    pass


class Account(Base):
    """One ServiceTrade account and how to sign in to its API."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    servicetrade_url: Mapped[str] = mapped_column(String(500))
    auth_kind: Mapped[str] = mapped_column(String(10))  # session | oauth
    username: Mapped[str] = mapped_column(String(200), default="")
    client_id: Mapped[str] = mapped_column(String(200), default="")
    secret_encrypted: Mapped[str] = mapped_column(Text)
    """The password (session) or client secret (OAuth), Fernet-encrypted."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    webhook_secret_digest: Mapped[str] = mapped_column(String(64), default="",
                                                       server_default="")
    """SHA-256 of the secret in the hook URL; the secret itself is never stored."""
    webhook_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    swept_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The polling sweep's watermark: ServiceTrade ``updated`` time (Unix seconds)."""

    connections: Mapped[list[Connection]] = relationship(back_populates="account")


class Connection(Base):
    """One Spectrum instance an account sends to, with the settings of the reference page."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    ws_url: Mapped[str] = mapped_column(String(500))
    company_code: Mapped[str] = mapped_column(String(3))
    authorization_id_encrypted: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(200), default="")
    client_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    client_secret_expires_on: Mapped[str] = mapped_column(String(40), default="")
    system: Mapped[str] = mapped_column(String(50), default="spectrum")
    prefix: Mapped[str] = mapped_column(String(1), default="")
    work_order_type: Mapped[str] = mapped_column(String(5), default="")
    lead_source: Mapped[str] = mapped_column(String(15), default="")
    preserve_edits: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    pause_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship(back_populates="connections")


class SyncAttempt(Base):
    """One send of one job on one connection: what was sent, what came back, what followed."""

    __tablename__ = "sync_attempts"
    __table_args__ = (
        Index("ix_sync_attempts_job_connection", "job_id", "connection_id", "id"),
        Index("ix_sync_attempts_started", "started_at"),
        # The history page: an account's attempts, newest first, under each filter.
        Index("ix_sync_attempts_account", "account_id", "id"),
        Index("ix_sync_attempts_account_connection", "account_id", "connection_id", "id"),
        Index("ix_sync_attempts_account_status", "account_id", "status", "id"),
        Index("ix_sync_attempts_account_kind", "account_id", "failure_kind", "id"),
        Index("ix_sync_attempts_account_job", "account_id", "job_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(BigInteger)
    job_number: Mapped[str] = mapped_column(String(40), default="")
    trigger: Mapped[str] = mapped_column(String(20))  # cli, web, rule, bulk, retry, demo
    triggered_by: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10))  # running, sent, failed
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    work_order_number: Mapped[str] = mapped_column(String(10), default="")
    failure_kind: Mapped[str] = mapped_column(String(40), default="")
    failure_message: Mapped[str] = mapped_column(Text, default="")
    failure_fix: Mapped[str] = mapped_column(Text, default="")
    spectrum_message: Mapped[str] = mapped_column(Text, default="")
    """Spectrum's own words (row descriptions or fault text), when it gave any."""
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The WorkOrderHeader elements as sent (blank = left alone)."""
    source_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The managed fields' ServiceTrade values: the base of the next preview and re-send."""
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    spectrum_rows: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    request_body: Mapped[str] = mapped_column(Text, default="")
    response_body: Mapped[str] = mapped_column(Text, default="")
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    external_id_written: Mapped[bool] = mapped_column(Boolean, default=False)
    comment_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    comment_text: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    """The durable workflow's ID: a resumed send finds its attempt instead of adding one."""
    stage: Mapped[str] = mapped_column(String(20), default="", server_default="")
    """prepared, concluding (older attempts may say called): how far a send got, so a resumed
    send knows whether its conclusion's writes may already have happened."""


class SendLock(Base):
    """Held while one job is being sent on one connection, across processes.

    Taking it is an INSERT that fails on the primary key when another process holds it; a
    lock older than its lease (a crashed holder) may be taken over.
    """

    __tablename__ = "send_locks"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Rule(Base):
    """Send automatically on a connection when a job event matches."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20))  # on_create, on_status, on_tag
    value: Mapped[str] = mapped_column(String(100), default="")
    job_type: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookMessage(Base):
    """A ServiceTrade webhook delivery, persisted before it is acknowledged."""

    __tablename__ = "webhook_messages"
    __table_args__ = (UniqueConstraint("account_id", "message_id"),
                      Index("ix_webhook_messages_unprocessed", "processed_at", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str] = mapped_column(Text, default="")


class Executor(Base):
    """A process that runs durable sends, and when it last said it was alive.

    DBOS recovers a crashed process's sends only when a process with the same executor ID
    starts again; a reaper in every server recovers the sends of executors whose heartbeat
    stopped (see ``workflows``).
    """

    __tablename__ = "executors"

    executor_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))  # serve, worker, cli
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    """Unix time of the last heartbeat (seconds, float)."""


class BulkRun(Base):
    """One ``bulk-send``: the jobs it chose, and whether it got to the end.

    A run interrupted before its end is resumed by the next ``bulk-send`` of the same
    connection and selection (same ``selection_key``): its sends have workflow IDs made from
    ``token`` and the job ID, so a send that already finished is not sent again.
    """

    __tablename__ = "bulk_runs"
    __table_args__ = (Index("ix_bulk_runs_selection", "connection_id", "selection_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    selection_key: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the connection and the selection (filters, or the listed job IDs)."""
    token: Mapped[str] = mapped_column(String(32), unique=True)
    """The run's part of its sends' workflow IDs."""
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The options as given (status, since, job IDs file), for people reading the row."""
    job_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    """The jobs chosen when the run started; a resumed run sends exactly these."""
    not_found: Mapped[list[int]] = mapped_column(JSON, default=list)
    """Listed job IDs that ServiceTrade does not have."""
    triggered_by: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class User(Base):
    """A person who signs in to the web app; they see and act on their account only."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    """Lower-cased, so sign-in is case-insensitive."""
    password_hash: Mapped[str] = mapped_column(String(200))
    """argon2id, with its parameters and salt."""
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship()


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so
    a copy of the database cannot be used to sign in."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    """Every form of this session carries it; a POST without it is refused."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A personal REST API token (``Authorization: Bearer ...``); stored as its SHA-256."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)


class SignInLink(Base):
    """A one-time sign-in link (``st-spectrum user link``, the demo): its token's SHA-256,
    good once and for minutes."""

    __tablename__ = "sign_in_links"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SpectrumSlot(Base):
    """One of the N calls a Spectrum server may have in flight, across all processes.

    Taking a slot is an UPDATE that succeeds only while the slot is free (or its holder's
    lease ran out: a crashed process); the rows of a server are created on first use.
    """

    __tablename__ = "spectrum_slots"

    server: Mapped[str] = mapped_column(String(300), primary_key=True)
    """scheme://host:port of the Web Services URL, lower case."""
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str] = mapped_column(String(100), default="")
    """'' when free."""
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
