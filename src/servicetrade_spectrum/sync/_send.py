"""Send Job to Spectrum: one send, its write-back, its comment and its history record.

A send is three steps, each safe to run again after a crash. :meth:`SendService.send` runs
them directly, under a lock; :meth:`SendService.run` runs them for a durable send (the DBOS
workflow of :mod:`servicetrade_spectrum.workflows`), where a run resumed after a crash goes on
from what the send's attempt record shows:

1. :meth:`~SendService.prepare`: read the job, then its company, location and contract at once
   (one round trip); record the attempt (found again by its run ID when resumed); build the
   work order with the pure rules of :mod:`servicetrade_spectrum.domain`, so anything the user
   must fix is found before Spectrum is called.
2. :meth:`~SendService.call_spectrum`: WorkOrderHeader with our own WO_Number, so a retry or
   a resumed call updates the same work order and never creates a second one.
3. :meth:`~SendService.conclude`: on success write the number to the job's external ID
   (skipped when already there); on failure add one private comment with the fix (not when
   ServiceTrade itself failed, nor when the previous attempt posted the very same comment).
   A resumed conclusion reads back before writing, since its writes may already have happened.

A send's result carries no secret: DBOS stores it in its tables.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from servicetrade_spectrum.domain import (
    ConnectionRules,
    Failure,
    FailureKind,
    JobFacts,
    SpectrumRow,
    WorkOrderDraft,
    build_work_order,
    explain_rejection,
    resend_effects,
)
from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.servicetrade import (
    AuthenticationFailed as ServiceTradeAuthenticationFailed,
)
from servicetrade_spectrum.servicetrade import (
    JobContext,
    ServiceTradeClient,
    ServiceTradeError,
    ServiceTradeUnavailable,
)
from servicetrade_spectrum.servicetrade import (
    NotFound as ServiceTradeNotFound,
)
from servicetrade_spectrum.spectrum import (
    AuthenticationFailed,
    InvalidRequest,
    NotAuthorized,
    Outcome,
    Rejected,
    Succeeded,
    Transient,
)
from servicetrade_spectrum.store import AccountConfig, AttemptRecord, ConnectionConfig, Store
from servicetrade_spectrum.sync._clients import ClientPool
from servicetrade_spectrum.sync._facts import job_facts
from servicetrade_spectrum.sync._results import (
    ConnectionPaused,
    JobNotFound,
    SendResult,
)

__all__ = ["Called", "Prepared", "SendService", "connection_rules"]

_log = get_logger(__name__)

PAUSE_AFTER = 5
"""Consecutive ``not_authorized`` failures after which a connection pauses itself: the
Authorization ID is wrong or inactive, and every further call would fail the same way."""

LOCK_LEASE = timedelta(minutes=15)
"""Longer than any send can take (retries included); a crashed holder's lock expires."""


def _unless_paused(connection: ConnectionConfig) -> ConnectionConfig:
    if connection.paused:
        raise ConnectionPaused(
            f"Connection '{connection.name}' is paused ({connection.pause_reason}); "
            f"nothing was sent. Resume it with 'st-spectrum connection resume "
            f"{connection.name}' once the cause is fixed.")
    return connection


def connection_rules(connection: ConnectionConfig) -> ConnectionRules:
    """The connection settings that shape a work order, for the pure rules in ``domain``."""
    return ConnectionRules(name=connection.name, company_code=connection.company_code,
                           system=connection.system, prefix=connection.prefix,
                           work_order_type=connection.work_order_type,
                           lead_source=connection.lead_source,
                           preserve_edits=connection.preserve_edits)


def _servicetrade_failure(exc: ServiceTradeError, doing: str) -> Failure:
    if isinstance(exc, ServiceTradeAuthenticationFailed):
        return Failure(FailureKind.AUTHENTICATION_FAILED,
                       f"ServiceTrade refused the account's credentials while {doing}: {exc}",
                       "Check the ServiceTrade username and password (or OAuth client) of the "
                       "account with 'st-spectrum account add', then send again.")
    return Failure(FailureKind.SERVICETRADE_UNAVAILABLE,
                   f"ServiceTrade did not answer while {doing}: {exc}",
                   "Nothing to fix on the job: it was retried automatically. Send again once "
                   "ServiceTrade is back; no comment could be posted, so this failure is only "
                   "in the sync history.")


def _spectrum_failure(outcome: Outcome, connection: ConnectionConfig) -> Failure:
    """The failure for a Spectrum outcome other than success and rejection."""
    if isinstance(outcome, NotAuthorized):
        return Failure(
            FailureKind.NOT_AUTHORIZED,
            f"Spectrum did not authorize the call: \"{outcome.message}\"",
            "In Spectrum, System Administration > Installation > Data Exchange: check that "
            f"the Authorization ID of connection '{connection.name}' is Active, belongs to "
            f"company {connection.company_code}, and has WorkOrder -> WorkOrderHeader in its "
            "Build list.",
            spectrum_rows=tuple(SpectrumRow(r.code, r.message, r.column) for r in outcome.rows))
    if isinstance(outcome, AuthenticationFailed):
        return Failure(
            FailureKind.AUTHENTICATION_FAILED,
            f"Spectrum refused connection '{connection.name}': {outcome.message}.",
            f"Re-enter the client secret of connection '{connection.name}'; it may have "
            "expired (Spectrum secrets expire every 7 to 120 days).")
    reason = outcome.reason if isinstance(outcome, Transient) else "no answer"
    return Failure(
        FailureKind.SPECTRUM_UNREACHABLE,
        f"Spectrum at {connection.ws_url} could not be reached after "
        f"{outcome.exchange.attempts} tries: {reason}.",
        "This was retried automatically. Check that the Spectrum server is running and "
        "reachable from the internet on its port, then send again.")


@dataclass(frozen=True)
class Prepared:
    """What step 1 found; everything the next steps need (and no secret)."""

    attempt_id: int
    job_id: int
    job_number: str
    connection_id: int
    connection_name: str
    facts: JobFacts | None = None
    draft: WorkOrderDraft | None = None
    failure: Failure | None = None
    """A problem found before Spectrum is called."""
    can_comment: bool = True
    """False when ServiceTrade itself failed: no comment can be posted."""
    job_external_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Called:
    """What step 2 got from Spectrum."""

    failure: Failure | None
    information: str = ""
    exchange: dict[str, Any] = field(default_factory=dict)
    """The call's request and response (secrets masked) and its tries, as the attempt
    records them."""

    def as_columns(self) -> dict[str, Any]:
        """The call as the attempt records it when the conclusion begins, in the same write:
        a send resumed after that concludes with it instead of calling Spectrum again."""
        if self.failure is None:
            return {**self.exchange, "spectrum_message": self.information}
        return {**self.exchange, **_failure_columns(self.failure)}

    @classmethod
    def recorded(cls, attempt: AttemptRecord) -> Called | None:
        """The call an earlier run recorded as its conclusion began, or None if it made none
        (no tries: its conclusion was for a problem found before the call)."""
        if attempt.stage != "concluding" or attempt.tries == 0:
            return None
        if not attempt.failure_kind:
            return cls(None, attempt.spectrum_message)
        rows = tuple(SpectrumRow(r.get("code", ""), r.get("message", ""), r.get("column", ""))
                     for r in attempt.spectrum_rows)
        return cls(Failure(FailureKind(attempt.failure_kind), attempt.failure_message,
                           attempt.failure_fix, rows))


def _failure_columns(failure: Failure) -> dict[str, Any]:
    """A failure as the attempt records it (:meth:`Called.recorded` reads it back)."""
    return {"failure_kind": failure.kind.value, "failure_message": failure.message,
            "failure_fix": failure.fix,
            "spectrum_rows": [{"code": r.code, "message": r.message, "column": r.column}
                              for r in failure.spectrum_rows]}


def _prepared_again(attempt: AttemptRecord) -> Prepared:
    """What step 1 had prepared, as its attempt recorded it (for a conclusion run again)."""
    fields = {name: str(value) for name, value in attempt.fields.items()}
    draft = WorkOrderDraft(number=fields.get("WO_Number") or attempt.work_order_number,
                           fields=fields,
                           source_fields={k: str(v) for k, v in attempt.source_fields.items()},
                           warnings=tuple(attempt.warnings))
    return Prepared(attempt.id, attempt.job_id, attempt.job_number, attempt.connection_id,
                    attempt.connection, draft=draft)


class SendService:
    def __init__(self, store: Store, clients: ClientPool, *,
                 lock_wait: float = 300.0, poll_interval: float = 0.1) -> None:
        self.store = store
        self.clients = clients
        self._lock_wait = lock_wait
        self._poll = poll_interval
        self._holder_prefix = f"{socket.gethostname()}:{os.getpid()}"
        # attempt ID -> the connection and account its prepare step read: steps 2 and 3 of
        # a send in this process reuse them instead of reading (and decrypting) them again.
        # A step resumed in another process reads them from the store.
        self._configs: dict[int, tuple[ConnectionConfig, AccountConfig]] = {}
        self._configs_lock = threading.Lock()

    # -- a whole send, directly --------------------------------------------------------------
    def send(self, job_id: int, connection_name: str, *, trigger: str = "cli",
             triggered_by: str = "") -> SendResult:
        """Run the three steps in this process, under the (connection, job) send lock.

        A second send of the same job waits for the first, then reports its outcome: never
        two WorkOrderHeader calls at once, never two comments.
        """
        configs = self.store.connection_and_account(connection_name)
        connection = _unless_paused(configs[0])
        before = self.store.last_attempt(connection.id, job_id)
        holder = f"{self._holder_prefix}:{uuid.uuid4().hex[:8]}"
        waited = self._lock(connection, job_id, holder)
        try:
            if waited:
                # The send we waited for may have recorded its attempt before we looked
                # (``before`` is then that attempt, still running): its outcome is ours too.
                latest = self.store.last_attempt(connection.id, job_id)
                if (latest is not None and latest.status != "running"
                        and (before is None or before.status == "running"
                             or latest.id > before.id)):
                    return SendResult.from_attempt(latest, joined=True)
            prepared = self.prepare(job_id, connection_name, trigger=trigger,
                                    triggered_by=triggered_by,
                                    configs=None if waited else configs)
            called = self.call_spectrum(prepared) if prepared.failure is None else None
            return self.conclude(prepared, called)
        finally:
            self.store.unlock_send(connection.id, job_id, holder)

    # -- a durable send's run ---------------------------------------------------------------
    def run(self, job_id: int, connection_name: str, *, trigger: str, triggered_by: str,
            run_id: str) -> SendResult:
        """Run the three steps of durable send ``run_id``, or finish what a crashed run of it
        left undone. No lock: the durable queue never runs two sends of a job at once.

        The attempt record, found by ``run_id``, is the checkpoint. Finished: its result is
        the send's. Concluding after a call: the conclusion runs again with the draft and
        Spectrum's answer recorded as it began, reading ServiceTrade back before it writes
        (the crashed one may have written); neither the job nor Spectrum is asked again.
        Otherwise the send starts over (a conclusion that had begun still reads back): the
        call names its own WO_Number, so a repeated call updates the same work order.
        :class:`ConnectionPaused` is raised before anything is read or recorded.
        """
        earlier = self.store.attempt_for_run(run_id)
        if earlier is not None:
            if earlier.status != "running":
                return SendResult.from_attempt(earlier)
            recorded_call = Called.recorded(earlier)
            if recorded_call is not None:
                return self.conclude(_prepared_again(earlier), recorded_call, resumed=True)
        prepared = self.prepare(job_id, connection_name, trigger=trigger,
                                triggered_by=triggered_by, run_id=run_id,
                                run_is_new=earlier is None)
        called = self.call_spectrum(prepared) if prepared.failure is None else None
        return self.conclude(prepared, called,
                             resumed=earlier is not None and earlier.stage == "concluding")

    def active_connection(self, connection_name: str) -> ConnectionConfig:
        """The connection, unless it is paused (then :class:`ConnectionPaused`)."""
        return _unless_paused(self.store.connection(connection_name))

    def _remember(self, attempt_id: int, configs: tuple[ConnectionConfig, AccountConfig]
                  ) -> None:
        with self._configs_lock:
            if len(self._configs) > 10_000:  # sends that ended elsewhere after a crash
                self._configs.clear()
            self._configs[attempt_id] = configs

    def _configs_of(self, prepared: Prepared) -> tuple[ConnectionConfig, AccountConfig]:
        with self._configs_lock:
            remembered = self._configs.get(prepared.attempt_id)
        return remembered or self.store.connection_and_account(prepared.connection_name)

    def _forget(self, attempt_id: int) -> None:
        with self._configs_lock:
            self._configs.pop(attempt_id, None)

    def _lock(self, connection: ConnectionConfig, job_id: int, holder: str) -> bool:
        """Take the lock; return whether we had to wait for another send."""
        waited = False
        deadline = time.monotonic() + self._lock_wait
        while not self.store.try_lock_send(connection.id, job_id, holder, LOCK_LEASE):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Job {job_id} has been being sent on connection '{connection.name}' for "
                    f"over {self._lock_wait:.0f}s; try again later.")
            waited = True
            time.sleep(self._poll)
        return waited

    def _read(self, client: ServiceTradeClient, job_id: int) -> JobContext:
        try:
            job = client.get_job(job_id)
        except ServiceTradeNotFound as exc:
            raise JobNotFound(f"ServiceTrade has no job with ID {job_id}: check the job ID "
                              "(the ID in the job's address, not the job number).") from exc
        return client.read_job_context(job)

    # -- step 1 ----------------------------------------------------------------------------
    def prepare(self, job_id: int, connection_name: str, *, trigger: str, triggered_by: str,
                run_id: str | None = None, run_is_new: bool = False,
                configs: tuple[ConnectionConfig, AccountConfig] | None = None) -> Prepared:
        """Step 1. ``configs``: the connection and account, when the caller has just read
        them (a direct send, under its lock). ``run_is_new``: no earlier run of ``run_id``
        has recorded an attempt, so none is looked for."""
        connection, account = configs or self.store.connection_and_account(connection_name)
        _unless_paused(connection)
        st = self.clients.servicetrade(account)
        try:
            context = self._read(st, job_id)
        except (ServiceTradeUnavailable, ServiceTradeAuthenticationFailed) as exc:
            attempt_id = self.store.start_attempt(connection, job_id, job_number="",
                                                  trigger=trigger, triggered_by=triggered_by,
                                                  run_id=run_id, run_is_new=run_is_new)
            self._remember(attempt_id, (connection, account))
            return Prepared(attempt_id, job_id, "", connection.id, connection.name,
                            failure=_servicetrade_failure(exc, f"reading job {job_id}"),
                            can_comment=False)
        job = context.job
        facts = job_facts(context, connection.system)
        built = build_work_order(facts, connection_rules(connection),
                                 self.store.last_sent_source_fields(connection.id, job_id))
        drafted = ({} if isinstance(built, Failure) else
                   {"fields": built.fields, "source_fields": built.source_fields,
                    "warnings": list(built.warnings), "stage": "prepared"})
        attempt_id = self.store.start_attempt(connection, job_id, job_number=str(job.number),
                                              trigger=trigger, triggered_by=triggered_by,
                                              run_id=run_id, run_is_new=run_is_new, **drafted)
        self._remember(attempt_id, (connection, account))
        prepared = Prepared(attempt_id, job_id, facts.job_number, connection.id,
                            connection.name, facts=facts,
                            job_external_ids=dict(job.external_ids))
        if isinstance(built, Failure):
            return dataclasses.replace(prepared, failure=built)
        return dataclasses.replace(prepared, draft=built)

    # -- step 2 ----------------------------------------------------------------------------
    def call_spectrum(self, prepared: Prepared) -> Called:
        assert prepared.draft is not None
        assert prepared.facts is not None
        draft = prepared.draft
        connection, _account = self._configs_of(prepared)
        spectrum = self.clients.spectrum(connection)
        try:
            outcome = spectrum.work_order_header(draft.fields)
        except InvalidRequest as exc:  # the domain checks lengths first; this is a backstop
            return Called(Failure(FailureKind.VALUE_TOO_LONG, str(exc),
                                  "Shorten the value named above, then send again."))
        exchange = {"request_body": outcome.exchange.request_body,
                    "response_body": outcome.exchange.response_body,
                    "http_status": outcome.exchange.http_status,
                    "tries": outcome.exchange.attempts}
        if isinstance(outcome, Succeeded):
            return Called(None, outcome.information, exchange)
        if isinstance(outcome, Rejected):
            rows = tuple(SpectrumRow(r.code, r.message, r.column) for r in outcome.rows)
            return Called(explain_rejection(rows, draft, prepared.facts,
                                            connection_rules(connection)), exchange=exchange)
        return Called(_spectrum_failure(outcome, connection), exchange=exchange)

    # -- step 3 ----------------------------------------------------------------------------
    def conclude(self, prepared: Prepared, called: Called | None, *,
                 resumed: bool = False) -> SendResult:
        """Step 3. ``resumed``: a crashed run of this send had begun its conclusion (its
        writes may have happened), which the attempt's stage also shows when this run has
        not rewritten it."""
        try:
            return self._conclude(prepared, called, resumed=resumed)
        finally:
            self._forget(prepared.attempt_id)

    def _conclude(self, prepared: Prepared, called: Called | None, *,
                  resumed: bool) -> SendResult:
        progress = self.store.begin_concluding(prepared.attempt_id,
                                               **(called.as_columns() if called else {}))
        if progress.finished is not None:  # a resumed send whose record was finished
            return SendResult.from_attempt(progress.finished)
        resumed = resumed or progress.stage == "concluding"
        connection, account = self._configs_of(prepared)
        failure = prepared.failure or (called.failure if called else None)
        if failure is not None:
            return self._finish_failed(prepared, connection, account, failure, resumed=resumed)
        assert prepared.draft is not None
        assert called is not None
        draft = prepared.draft
        st = self.clients.servicetrade(account)
        warnings = list(draft.warnings)
        written = False
        try:
            st.set_job_external_id(prepared.job_id, connection.system, draft.number,
                                   known=None if resumed else prepared.job_external_ids)
            written = True
        except ServiceTradeError as exc:
            warnings.append(f"Work order {draft.number} was created in Spectrum, but writing it "
                            f"to the job's '{connection.system}' external ID failed: {exc}. "
                            "Send the job again to write it.")
        self.store.update_attempt(prepared.attempt_id, status="sent",
                                  work_order_number=draft.number, warnings=warnings,
                                  external_id_written=written,
                                  spectrum_message=called.information)
        _log.info("send.sent", job_id=prepared.job_id, connection=connection.name,
                  work_order=draft.number)
        return SendResult(job_id=prepared.job_id, connection=connection.name, status="sent",
                          work_order_number=draft.number, fields=draft.fields,
                          warnings=warnings, attempt_id=prepared.attempt_id,
                          spectrum_message=called.information,
                          job_number=prepared.job_number)

    def _finish_failed(self, prepared: Prepared, connection: ConnectionConfig,
                       account: AccountConfig, failure: Failure, *,
                       resumed: bool) -> SendResult:
        comment = failure.as_comment(connection.name)
        posted = False
        if prepared.can_comment and failure.kind is not FailureKind.SERVICETRADE_UNAVAILABLE:
            posted = self._comment(prepared, connection, account, comment, resumed=resumed)
        spectrum_message = "; ".join(r.message for r in failure.spectrum_rows if r.message)
        self.store.update_attempt(
            prepared.attempt_id, status="failed", **_failure_columns(failure),
            spectrum_message=spectrum_message, comment_posted=posted, comment_text=comment)
        _log.info("send.failed", job_id=prepared.job_id, connection=connection.name,
                  kind=failure.kind.value)
        if failure.kind is FailureKind.NOT_AUTHORIZED:
            self._pause_if_never_authorized(connection)
        draft = prepared.draft
        return SendResult(job_id=prepared.job_id, connection=connection.name, status="failed",
                          work_order_number=None, fields=draft.fields if draft else {},
                          warnings=list(draft.warnings) if draft else [], failure=failure,
                          attempt_id=prepared.attempt_id, spectrum_message=spectrum_message,
                          job_number=prepared.job_number)

    def _comment(self, prepared: Prepared, connection: ConnectionConfig,
                 account: AccountConfig, comment: str, *, resumed: bool) -> bool:
        """Post the failure's comment once; return whether this attempt's comment is on the
        job."""
        if self._same_comment_as_before(connection, prepared.job_id, prepared.attempt_id,
                                        comment):
            return False
        st = self.clients.servicetrade(account)
        try:
            if resumed:
                # The crashed process may have posted it, or its POST may still be on its way:
                # ServiceTrade has no idempotency key for comments. Once our request timeout
                # has passed, that POST has landed or been given up, and the read-back is sure.
                time.sleep(self.clients.request_timeout)
                if any(c.content == comment for c in st.job_comments(prepared.job_id)):
                    return True  # posted before the crash
            st.add_job_comment(prepared.job_id, comment)
        except ServiceTradeError as exc:
            _log.warning("send.comment_failed", job_id=prepared.job_id, error=str(exc))
            return False
        return True

    def _pause_if_never_authorized(self, connection: ConnectionConfig) -> None:
        kinds = self.store.recent_failure_kinds(connection.id, PAUSE_AFTER)
        if len(kinds) == PAUSE_AFTER and all(k == FailureKind.NOT_AUTHORIZED for k in kinds):
            reason = (f"Spectrum refused the last {PAUSE_AFTER} sends as not authorized; check "
                      "the Authorization ID, then run 'st-spectrum connection resume "
                      f"{connection.name}'")
            self.store.update_connection(connection.name, paused=True, pause_reason=reason)
            _log.warning("connection.paused", connection=connection.name)

    def _same_comment_as_before(self, connection: ConnectionConfig, job_id: int,
                                attempt_id: int, comment: str) -> bool:
        """The previous attempt failed the same way and its comment is on the job already:
        a second identical comment would only be noise."""
        previous = self.store.last_attempt(connection.id, job_id, before_id=attempt_id)
        return (previous is not None and previous.status == "failed"
                and previous.comment_posted and previous.comment_text == comment)

    # -- preview ---------------------------------------------------------------------------
    def preview(self, job_id: int, connection_name: str) -> SendResult:
        """What a send would set; nothing is sent, posted or recorded anywhere."""
        connection, account = self.store.connection_and_account(connection_name)
        st = self.clients.servicetrade(account)
        try:
            context = self._read(st, job_id)
        except (ServiceTradeUnavailable, ServiceTradeAuthenticationFailed) as exc:
            return SendResult(job_id=job_id, connection=connection.name, status="preview",
                              failure=_servicetrade_failure(exc, f"reading job {job_id}"))
        facts = job_facts(context, connection.system)
        last_sent = self.store.last_sent_source_fields(connection.id, job_id)
        built = build_work_order(facts, connection_rules(connection), last_sent)
        number = f"{connection.prefix}{facts.job_number}"
        if isinstance(built, Failure):
            return SendResult(job_id=job_id, connection=connection.name, status="preview",
                              work_order_number=number, failure=built,
                              job_number=facts.job_number)
        effects = resend_effects(built, last_sent)
        return SendResult(job_id=job_id, connection=connection.name, status="preview",
                          work_order_number=built.number, fields=built.fields,
                          warnings=[*built.warnings, *effects.warnings],
                          job_number=facts.job_number)
