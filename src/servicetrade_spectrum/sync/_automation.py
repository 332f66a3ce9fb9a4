"""Automatic sends: webhook messages and the polling sweep, judged against the rules.

Webhook messages are persisted by the web app before they are acknowledged; this service
processes them afterwards (reading each job, since messages carry IDs only) and hands every
send a rule asks for to ``enqueue``. The sweep asks ServiceTrade for jobs updated since its
watermark, to catch what a lost webhook missed; the watermark is stored per account.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from servicetrade_spectrum.domain.rules import JobEvent, Rule, matching_rules
from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.servicetrade import (
    InvalidWebhook,
    Job,
    NotFound,
    ServiceTradeError,
    ServiceTradeUnavailable,
    parse_webhook,
)
from servicetrade_spectrum.store import AccountConfig, Store
from servicetrade_spectrum.sync._clients import ClientPool

__all__ = ["Automation", "Enqueue", "SendRequest"]

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SendRequest:
    job_id: int
    connection: str
    trigger: str  # "rule" or "sweep"
    triggered_by: str


Enqueue = Callable[[SendRequest], None]


def _event(job: Job, action: str) -> JobEvent:
    return JobEvent(job_id=job.id, action=action, status=job.status or "",
                    job_type=job.type or "", tags=tuple(job.tag_names))


class Automation:
    def __init__(self, store: Store, clients: ClientPool, enqueue: Enqueue,
                 *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clients = clients
        self.enqueue = enqueue
        self._clock = clock
        self._accounts: dict[int, tuple[AccountConfig, float]] = {}

    def _fire(self, rules: list[Rule], event: JobEvent, trigger: str) -> int:
        fired = matching_rules(rules, event)
        for rule in fired:
            self.enqueue(SendRequest(event.job_id, rule.connection, trigger, rule.describe()))
        return len(fired)

    # -- webhooks --------------------------------------------------------------------------
    def process_webhooks(self, limit: int = 100) -> int:
        """Process persisted messages, oldest first; return how many were finished.

        A message whose jobs cannot be read because ServiceTrade is unavailable stays
        unprocessed and is tried again on the next call; nothing accepted is ever lost. An
        account's rules and client are looked up once per call, and the finished messages
        are marked in one transaction: a burst of deliveries is processed in batches. (A
        crash before the marking processes the batch again: the sends it queues join those
        already queued, and a finished send is an idempotent re-send.)
        """
        finished: list[tuple[int, str]] = []
        rules: dict[int, list[Rule]] = {}
        try:
            for row_id, account_id, body in self.store.unprocessed_webhook_messages(limit):
                if account_id not in rules:
                    rules[account_id] = self.store.rules(account_id=account_id)
                try:
                    outcome = self._process_message(account_id, rules[account_id], body)
                except ServiceTradeUnavailable as exc:
                    _log.warning("webhook.deferred", message=row_id, error=str(exc))
                    break  # keep order; the next pass retries from here
                finished.append((row_id, outcome))
        finally:
            if finished:
                self.store.mark_webhooks_processed(finished)
        return len(finished)

    def _process_message(self, account_id: int, rules: list[Rule],
                         body: dict[str, object]) -> str:
        try:
            message = parse_webhook(body)
        except InvalidWebhook as exc:
            return f"ignored: {exc}"
        if not rules:
            return "no rules"
        client = self.clients.servicetrade(self._account(account_id))
        sends = 0
        seen: set[tuple[int, str]] = set()
        for event in message.events:
            if event.entity_type != "job" or (event.entity_id, event.action) in seen:
                continue
            seen.add((event.entity_id, event.action))
            try:
                job = client.get_job(event.entity_id)
            except NotFound:
                continue  # deleted since; nothing to send
            except ServiceTradeUnavailable:
                raise
            except ServiceTradeError as exc:
                _log.warning("webhook.job_unreadable", job_id=event.entity_id, error=str(exc))
                continue
            sends += self._fire(rules, _event(job, event.action), "rule")
        return f"{sends} send(s) queued from {len(message.events)} event(s)"

    def _account(self, account_id: int) -> AccountConfig:
        """The account, read at most once a second (a burst reads it once, a changed secret
        is seen within a second)."""
        now = time.monotonic()
        cached = self._accounts.get(account_id)
        if cached is None or cached[1] < now:
            cached = (self.store.account_by_id(account_id), now + 1.0)
            self._accounts[account_id] = cached
        return cached[0]

    # -- polling sweep ---------------------------------------------------------------------
    def sweep(self, account_id: int) -> int:
        """Judge every job updated since the watermark; return how many sends were queued.

        The first sweep of an account only sets the watermark: automation applies to what
        happens from now on, not to the account's whole past (that is what bulk-send is for).
        """
        rules = self.store.rules(account_id=account_id)
        watermark = self.store.swept_until(account_id)
        now = int(self._clock())
        if watermark is None:
            self.store.set_swept_until(account_id, now)
            return 0
        if not rules:
            self.store.set_swept_until(account_id, now)
            return 0
        client = self.clients.servicetrade(self.store.account_by_id(account_id))
        newest = watermark
        sends = 0
        # ServiceTrade times are whole seconds and its filter is "after": ask from the second
        # before the watermark so a change in the watermark's own second is never missed. A
        # job judged twice at that boundary is re-sent, which is an idempotent update.
        for job in client.search_jobs(updated_after=watermark - 1):
            action = "created" if (job.created or 0) >= watermark else "updated"
            sends += self._fire(rules, _event(job, action), "sweep")
            newest = max(newest, job.updated or watermark)
        self.store.set_swept_until(account_id, newest)
        return sends
