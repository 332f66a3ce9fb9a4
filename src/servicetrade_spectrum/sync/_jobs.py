"""The jobs list and the job overview: what the jobs pages and ``/api/v1/jobs`` show.

Search
    ServiceTrade filters jobs by status itself; it has no free-text search, so the text is
    matched here (job number, customer name, location name) over at most ``scan_limit`` jobs.
    The result says when that bound was reached, so a page can tell the user to narrow the
    search instead of silently showing a partial answer as if it were complete.

Overview
    One read of the job with its customer, location and contract, judged per connection of
    the account with the very rules a send uses (:func:`build_work_order`): each mapping's
    Spectrum value, or what is missing with the fix a failed send would give. Nothing is sent,
    posted or recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from servicetrade_spectrum.domain import (
    Failure,
    FailureKind,
    JobFacts,
    ResendEffects,
    WorkOrderDraft,
    build_work_order,
    mapping_failures,
    resend_effects,
)
from servicetrade_spectrum.servicetrade import Job, JobContext, ServiceTradeClient
from servicetrade_spectrum.servicetrade import NotFound as ServiceTradeNotFound
from servicetrade_spectrum.store import AttemptRecord, ConnectionConfig, NotFound, Store
from servicetrade_spectrum.sync._clients import ClientPool
from servicetrade_spectrum.sync._facts import job_facts
from servicetrade_spectrum.sync._send import connection_rules

__all__ = [
    "JOB_STATUSES",
    "SCAN_LIMIT",
    "SHOW_LIMIT",
    "ConnectionJobView",
    "JobListing",
    "JobOverview",
    "JobRow",
    "JobSearch",
    "MappingView",
    "job_overview",
    "parse_job_id",
    "read_job",
    "search_jobs",
]

JOB_STATUSES = ("new", "scheduled", "completed", "closed", "canceled")
"""The job statuses offered as a filter (ServiceTrade's own names)."""

SCAN_LIMIT = 2000
"""At most this many jobs are read for one text search."""

SHOW_LIMIT = 200
"""At most this many matching jobs are listed: more would be a page nobody reads."""

_STATUS = re.compile(r"^[a-z][a-z_]{0,39}$")


def parse_job_id(text: str) -> int:
    """A job ID from an address; anything but a positive integer is a job that does not
    exist (so it answers 404 like one)."""
    if not text.isascii() or not text.isdigit() or len(text) > 20 or int(text) == 0:
        raise NotFound(f"There is no job with ID '{text}': a job ID is the number in the job's "
                       "address in ServiceTrade, not the job number.")
    return int(text)


def _account_client(store: Store, clients: ClientPool, account_id: int) -> ServiceTradeClient:
    return clients.servicetrade(store.account_by_id(account_id))


# -- search ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobSearch:
    text: str = ""
    """Matched, case-insensitively, against the job number, customer name and location name."""
    status: str = ""
    """A ServiceTrade job status; blank for any."""

    def __post_init__(self) -> None:
        if self.status and not _STATUS.match(self.status):
            raise ValueError(f"'{self.status}' is not a job status: use one of "
                             f"{', '.join(JOB_STATUSES)}, or leave it blank for any.")

    def matches(self, job: Job) -> bool:
        needle = self.text.strip().lower()
        if not needle:
            return True
        haystack = (str(job.number), job.customer.name if job.customer else "",
                    job.location.name if job.location else "")
        return any(needle in value.lower() for value in haystack)


@dataclass(frozen=True)
class JobRow:
    job_id: int
    number: int
    customer: str
    location: str
    status: str
    latest: dict[int, AttemptRecord] = field(default_factory=dict)
    """Connection ID -> the latest attempt of this job on it."""


@dataclass(frozen=True)
class JobListing:
    search: JobSearch
    connections: list[ConnectionConfig]
    rows: list[JobRow]
    scanned: int
    """How many jobs were read from ServiceTrade."""
    scan_limited: bool
    """ServiceTrade had more jobs than :data:`SCAN_LIMIT`; those were not searched."""
    show_limited: bool
    """More than :data:`SHOW_LIMIT` jobs matched; only the first are listed."""


def search_jobs(store: Store, clients: ClientPool, account_id: int, search: JobSearch, *,
                scan_limit: int = SCAN_LIMIT, show_limit: int = SHOW_LIMIT) -> JobListing:
    """The account's jobs matching ``search``, each with its latest attempt per connection."""
    client = _account_client(store, clients, account_id)
    found: Iterator[Job] = client.search_jobs(status=search.status or None,
                                              page_size=min(scan_limit, 500))
    matching: list[Job] = []
    scanned = 0
    scan_limited = show_limited = False
    for job in found:
        if scanned >= scan_limit:
            scan_limited = True
            break
        scanned += 1
        if search.matches(job):
            if len(matching) >= show_limit:
                show_limited = True
                break
            matching.append(job)
    latest = store.latest_attempts_of_jobs(account_id, [job.id for job in matching])
    rows = []
    for job in matching:
        rows.append(JobRow(
            job_id=job.id, number=job.number,
            customer=job.customer.name if job.customer else "",
            location=job.location.name if job.location else "", status=job.status or "",
            latest={connection_id: attempt for (job_id, connection_id), attempt
                    in latest.items() if job_id == job.id}))
    return JobListing(search, store.connections(account_id=account_id), rows, scanned,
                      scan_limited, show_limited)


# -- one job -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MappingView:
    """One Spectrum field of a connection's work order, and where its value comes from."""

    element: str
    """The Spectrum element, e.g. ``Bill_Customer_Code``."""
    label: str
    """What users call it: 'Customer code'."""
    source: str
    """The ServiceTrade record or value it comes from, in words ('' when there is none)."""
    value: str
    """The value a send would set ('' when missing or blank)."""
    missing: Failure | None = None
    """The mapping is missing and stops a send: the failure a send would report."""
    note: str = ""
    """Anything else the user should know (sent blank, cut, ...)."""


@dataclass(frozen=True)
class ConnectionJobView:
    """The job as one connection would send it."""

    connection: ConnectionConfig
    work_order_number: str
    mappings: list[MappingView]
    blocker: Failure | None
    """What stops a send now (every problem at once), as a send would report it."""
    draft: WorkOrderDraft | None
    latest: AttemptRecord | None
    """The latest attempt of the job on this connection, whatever its outcome."""
    last_sent: AttemptRecord | None
    """The latest successful send: with one, a send is a re-send."""
    effects: ResendEffects | None
    """What a re-send overwrites or keeps; None when the draft cannot be built."""

    @property
    def is_resend(self) -> bool:
        return self.last_sent is not None

    @property
    def sendable(self) -> bool:
        """Offered in the Send menu: a paused connection refuses sends. A job with a missing
        mapping stays sendable, so the failure (and its comment on the job) can be had."""
        return not self.connection.paused

    @property
    def overwritten(self) -> list[str]:
        """Spectrum fields a re-send writes again (manual edits there are lost)."""
        return list(self.effects.overwritten) if self.effects else []

    @property
    def warnings(self) -> list[str]:
        found = list(self.draft.warnings) if self.draft else []
        return found + (list(self.effects.warnings) if self.effects else [])


@dataclass(frozen=True)
class JobOverview:
    context: JobContext
    connections: list[ConnectionJobView]

    @property
    def job(self) -> Job:
        return self.context.job

    def connection(self, connection_id: int) -> ConnectionJobView:
        for view in self.connections:
            if view.connection.id == connection_id:
                return view
        raise NotFound(f"No connection with ID {connection_id} in this account.")


def read_job(store: Store, clients: ClientPool, account_id: int, job_id: int) -> JobContext:
    """The job with its customer, location and contract, from the account's ServiceTrade. A job
    that ServiceTrade does not have (another account's, say) is :class:`NotFound`."""
    client = _account_client(store, clients, account_id)
    try:
        return client.read_job_context(client.get_job(job_id))
    except ServiceTradeNotFound as exc:
        raise NotFound(f"Your ServiceTrade account has no job with ID {job_id}: check the "
                       "address, or search for the job on the jobs page.") from exc


def job_overview(store: Store, clients: ClientPool, account_id: int, job_id: int, *,
                 connection_id: int | None = None) -> JobOverview:
    """The job and, per connection of the account (or only ``connection_id``), its mappings
    and what a send would do."""
    context = read_job(store, clients, account_id, job_id)
    if connection_id is not None:
        connections = [store.account_connection(account_id, connection_id)]
    else:
        connections = store.connections(account_id=account_id)
    return JobOverview(context, [_connection_view(store, context, c) for c in connections])


def _connection_view(store: Store, context: JobContext,
                     connection: ConnectionConfig) -> ConnectionJobView:
    facts = job_facts(context, connection.system)
    rules = connection_rules(connection)
    last_sent = store.last_attempt(connection.id, facts.job_id, status="sent")
    latest = store.last_attempt(connection.id, facts.job_id)
    built = build_work_order(facts, rules, last_sent.source_fields if last_sent else None)
    draft = built if isinstance(built, WorkOrderDraft) else None
    blocker = built if isinstance(built, Failure) else None
    effects = (resend_effects(draft, last_sent.source_fields if last_sent else None)
               if draft is not None else None)
    return ConnectionJobView(
        connection=connection, work_order_number=f"{connection.prefix}{facts.job_number}",
        mappings=_mappings(facts, connection, draft, mapping_failures(facts, rules)),
        blocker=blocker, draft=draft, latest=latest, last_sent=last_sent, effects=effects)


def _mappings(facts: JobFacts, connection: ConnectionConfig, draft: WorkOrderDraft | None,
              missing: list[Failure]) -> list[MappingView]:
    system = connection.system
    by_kind = {failure.kind: failure for failure in missing}
    sent = draft.source_fields if draft is not None else {}

    contract = facts.contract
    if contract is None:
        contract_view = MappingView("Contract_Number", "Contract number", "", "",
                                    note="The job has no contract: sent blank.")
    elif not facts.contract_number:
        contract_view = MappingView(
            "Contract_Number", "Contract number",
            f"the '{system}' external ID of {contract.label()}", "",
            note=f"Not mapped, so sent blank. To send it, add the Spectrum contract number as "
                 f"the external ID for '{system}' of contract '{contract.name}' in "
                 "ServiceTrade.")
    else:
        contract_view = MappingView("Contract_Number", "Contract number",
                                    f"the '{system}' external ID of {contract.label()}",
                                    facts.contract_number)
    summary = sent.get("Summary_Description", facts.description)
    summary_note = ("" if summary else "The job has no description: sent blank.")
    if draft is not None and any("Spectrum keeps the first" in w for w in draft.warnings):
        summary_note = next(w for w in draft.warnings if "Spectrum keeps the first" in w)
    return [
        MappingView("Bill_Customer_Code", "Customer code",
                    f"the '{system}' external ID of {facts.company.label()}",
                    facts.customer_code or "",
                    missing=by_kind.get(FailureKind.CUSTOMER_NOT_MAPPED)),
        MappingView("WO_Job_Number", "Site ID",
                    f"the '{system}' external ID of {facts.location.label()}",
                    facts.site_id or "",
                    missing=by_kind.get(FailureKind.SITE_NOT_MAPPED)),
        contract_view,
        MappingView("Summary_Description", "Summary", f"the description of job "
                    f"{facts.job_number}", summary, note=summary_note),
        MappingView("Customer_PO_Number", "Customer PO",
                    f"the customer PO of job {facts.job_number}", facts.customer_po,
                    note="" if facts.customer_po else "The job has no customer PO: sent blank."),
    ]
