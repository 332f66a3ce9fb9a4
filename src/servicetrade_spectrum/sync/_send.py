"""Send Job to Spectrum: one send, its write-back, its comment and its history record.

The order of a send, and why:

1. Take the send lock of (connection, job). A second send of the same job waits, then reports
   the first one's outcome: never two WorkOrderHeader calls at once, never two comments.
2. Read the job, then its company, location and contract at once (one round trip).
3. Build the work order with the pure rules in :mod:`servicetrade_spectrum.domain`: anything
   the user must fix is found here, before Spectrum is called.
4. Call WorkOrderHeader with our own WO_Number (so a retry updates, never duplicates).
5. On success write the number to the job's external ID (skipped when already there); on
   failure add one private comment with the fix (skipped when ServiceTrade itself failed, and
   when the previous attempt already posted the very same comment).
6. Record the attempt: fields, Spectrum's rows, request and response with secrets masked.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import timedelta

from servicetrade_spectrum.domain import (
    ConnectionRules,
    Failure,
    FailureKind,
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
from servicetrade_spectrum.store import ConnectionConfig, Store
from servicetrade_spectrum.sync._clients import ClientPool
from servicetrade_spectrum.sync._facts import job_facts
from servicetrade_spectrum.sync._results import (
    ConnectionPaused,
    JobNotFound,
    SendResult,
)

__all__ = ["SendService"]

_log = get_logger(__name__)

PAUSE_AFTER = 5
"""Consecutive ``not_authorized`` failures after which a connection pauses itself: the
Authorization ID is wrong or inactive, and every further call would fail the same way."""

LOCK_LEASE = timedelta(minutes=15)
"""Longer than any send can take (retries included); a crashed holder's lock expires."""


def _rules(connection: ConnectionConfig) -> ConnectionRules:
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


class SendService:
    def __init__(self, store: Store, clients: ClientPool, *,
                 lock_wait: float = 300.0, poll_interval: float = 0.1) -> None:
        self.store = store
        self.clients = clients
        self._lock_wait = lock_wait
        self._poll = poll_interval
        self._holder_prefix = f"{socket.gethostname()}:{os.getpid()}"

    # -- send ------------------------------------------------------------------------------
    def send(self, job_id: int, connection_name: str, *, trigger: str = "cli",
             triggered_by: str = "") -> SendResult:
        connection = self.store.connection(connection_name)
        if connection.paused:
            raise ConnectionPaused(
                f"Connection '{connection.name}' is paused ({connection.pause_reason}); "
                f"nothing was sent. Resume it with 'st-spectrum connection resume "
                f"{connection.name}' once the cause is fixed.")
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
            return self._send_locked(connection, job_id, trigger, triggered_by)
        finally:
            self.store.unlock_send(connection.id, job_id, holder)

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

    def _send_locked(self, connection: ConnectionConfig, job_id: int, trigger: str,
                     triggered_by: str) -> SendResult:
        st = self.clients.servicetrade(self.store.account_by_id(connection.account_id))
        try:
            context = self._read(st, job_id)
        except (ServiceTradeUnavailable, ServiceTradeAuthenticationFailed) as exc:
            attempt_id = self.store.start_attempt(connection, job_id, job_number="",
                                                  trigger=trigger, triggered_by=triggered_by)
            failure = _servicetrade_failure(exc, f"reading job {job_id}")
            return self._finish_failed(attempt_id, connection, job_id, failure, post=False)

        job = context.job
        attempt_id = self.store.start_attempt(connection, job_id, job_number=str(job.number),
                                              trigger=trigger, triggered_by=triggered_by)
        facts = job_facts(context, connection.system)
        rules = _rules(connection)
        last_sent = self.store.last_attempt(connection.id, job_id, status="sent")
        built = build_work_order(facts, rules, last_sent.source_fields if last_sent else None)
        if isinstance(built, Failure):
            return self._finish_failed(attempt_id, connection, job_id, built, st=st,
                                       job_number=facts.job_number)
        draft = built
        self.store.update_attempt(attempt_id, fields=draft.fields,
                                  source_fields=draft.source_fields,
                                  warnings=list(draft.warnings))
        spectrum = self.clients.spectrum(connection)
        try:
            outcome = spectrum.work_order_header(draft.fields)
        except InvalidRequest as exc:  # the domain checks lengths first; this is a backstop
            failure = Failure(FailureKind.VALUE_TOO_LONG, str(exc),
                              "Shorten the value named above, then send again.")
            return self._finish_failed(attempt_id, connection, job_id, failure, st=st,
                                       job_number=facts.job_number)
        exchange = outcome.exchange
        self.store.update_attempt(
            attempt_id, request_body=exchange.request_body, response_body=exchange.response_body,
            http_status=exchange.http_status, tries=exchange.attempts)

        if not isinstance(outcome, Succeeded):
            failure = (explain_rejection(tuple(SpectrumRow(r.code, r.message, r.column)
                                               for r in outcome.rows), draft, facts, rules)
                       if isinstance(outcome, Rejected)
                       else _spectrum_failure(outcome, connection))
            return self._finish_failed(attempt_id, connection, job_id, failure, st=st,
                                       draft=draft, job_number=facts.job_number)

        warnings = list(draft.warnings)
        written = False
        try:
            st.set_job_external_id(job.id, connection.system, draft.number,
                                   known=job.external_ids)
            written = True
        except ServiceTradeError as exc:
            warnings.append(f"Work order {draft.number} was created in Spectrum, but writing it "
                            f"to the job's '{connection.system}' external ID failed: {exc}. "
                            "Send the job again to write it.")
        self.store.update_attempt(attempt_id, status="sent", work_order_number=draft.number,
                                  warnings=warnings, external_id_written=written,
                                  spectrum_message=outcome.information)
        _log.info("send.sent", job_id=job_id, connection=connection.name,
                  work_order=draft.number, tries=exchange.attempts)
        return SendResult(job_id=job_id, connection=connection.name, status="sent",
                          work_order_number=draft.number, fields=draft.fields,
                          warnings=warnings, attempt_id=attempt_id,
                          spectrum_message=outcome.information, job_number=str(job.number))

    def _finish_failed(self, attempt_id: int, connection: ConnectionConfig, job_id: int,
                       failure: Failure, *, st: ServiceTradeClient | None = None,
                       draft: WorkOrderDraft | None = None, post: bool = True,
                       job_number: str = "") -> SendResult:
        comment = failure.as_comment(connection.name)
        posted = False
        can_post = post and st is not None and failure.kind not in (
            FailureKind.SERVICETRADE_UNAVAILABLE,)
        if can_post and st is not None and not self._same_comment_as_before(
                connection, job_id, attempt_id, comment):
            try:
                st.add_job_comment(job_id, comment)
                posted = True
            except ServiceTradeError as exc:
                _log.warning("send.comment_failed", job_id=job_id, error=str(exc))
        spectrum_message = "; ".join(r.message for r in failure.spectrum_rows if r.message)
        self.store.update_attempt(
            attempt_id, status="failed", failure_kind=failure.kind.value,
            failure_message=failure.message, failure_fix=failure.fix,
            spectrum_message=spectrum_message,
            spectrum_rows=[{"code": r.code, "message": r.message, "column": r.column}
                           for r in failure.spectrum_rows],
            comment_posted=posted, comment_text=comment)
        _log.info("send.failed", job_id=job_id, connection=connection.name,
                  kind=failure.kind.value)
        if failure.kind is FailureKind.NOT_AUTHORIZED:
            self._pause_if_never_authorized(connection)
        return SendResult(job_id=job_id, connection=connection.name, status="failed",
                          work_order_number=None, fields=draft.fields if draft else {},
                          warnings=list(draft.warnings) if draft else [], failure=failure,
                          attempt_id=attempt_id, spectrum_message=spectrum_message,
                          job_number=job_number)

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
        connection = self.store.connection(connection_name)
        st = self.clients.servicetrade(self.store.account_by_id(connection.account_id))
        try:
            context = self._read(st, job_id)
        except (ServiceTradeUnavailable, ServiceTradeAuthenticationFailed) as exc:
            return SendResult(job_id=job_id, connection=connection.name, status="preview",
                              failure=_servicetrade_failure(exc, f"reading job {job_id}"))
        facts = job_facts(context, connection.system)
        last_sent = self.store.last_attempt(connection.id, job_id, status="sent")
        built = build_work_order(facts, _rules(connection),
                                 last_sent.source_fields if last_sent else None)
        number = f"{connection.prefix}{facts.job_number}"
        if isinstance(built, Failure):
            return SendResult(job_id=job_id, connection=connection.name, status="preview",
                              work_order_number=number, failure=built,
                              job_number=facts.job_number)
        effects = resend_effects(built, last_sent.source_fields if last_sent else None)
        return SendResult(job_id=job_id, connection=connection.name, status="preview",
                          work_order_number=built.number, fields=built.fields,
                          warnings=[*built.warnings, *effects.warnings],
                          job_number=facts.job_number)
