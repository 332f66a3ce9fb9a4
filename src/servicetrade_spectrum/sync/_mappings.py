"""Mappings of one connection: which companies, locations and contracts have a Spectrum value
under the connection's external system, which open jobs each gap holds back, and fixing them.

Mappings live in ServiceTrade, as external IDs (company -> customer code, location -> site ID,
contract -> contract number), so this reads and writes ServiceTrade only; nothing is kept
locally that could drift from what a send will read.

Cost: an account may have thousands of records, so an overview reads each list once (at
ServiceTrade's largest page size) and the open jobs once, all four at the same time, and never
calls per record when the lists carry their external IDs.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

from servicetrade_spectrum.servicetrade import (
    AuthenticationFailed,
    Company,
    Contract,
    Job,
    Location,
    NotFound,
    RequestRejected,
    ServiceTradeClient,
    ServiceTradeError,
)
from servicetrade_spectrum.spectrum import WORK_ORDER_HEADER
from servicetrade_spectrum.store import ConnectionConfig, Store
from servicetrade_spectrum.sync._clients import ClientPool

__all__ = [
    "MAPPING_ENTITIES",
    "OPEN_JOB_STATUSES",
    "BlockedJob",
    "InvalidMappingValue",
    "Mapping",
    "MappingChange",
    "MappingEntity",
    "MappingError",
    "MappingKind",
    "MappingOverview",
    "MappingRecordNotFound",
    "MappingRefused",
    "MappingUnavailable",
    "Mappings",
    "mapping_kind",
    "validate_mapping_value",
]

MappingEntity = Literal["company", "location", "contract"]
MAPPING_ENTITIES: tuple[MappingEntity, ...] = ("company", "location", "contract")

OPEN_JOB_STATUSES: tuple[str, ...] = ("new", "scheduled", "bidding", "pending_invoice")
"""Every ServiceTrade job status but completed, closed and canceled: the jobs someone may
still send, so the ones a missing mapping holds back. Searched by status, so finished jobs
(most of an account's history) are never read."""

_Record = TypeVar("_Record", Company, Location, Contract)


@dataclass(frozen=True)
class MappingKind:
    """How one kind of record maps to Spectrum, in the words the pages and messages use."""

    entity: MappingEntity
    label: str
    """"Company": how ServiceTrade names the record."""
    section: str
    """"Customers": how the page names the list."""
    spectrum_label: str
    """"Spectrum customer": what the value points at."""
    value_label: str
    """"customer code": what the value is called in Spectrum."""
    column: str
    """The work order field the value feeds (its length limit is Spectrum's)."""
    unmapped_effect: str
    """What happens to the record's jobs while it has no value."""

    @property
    def max_length(self) -> int:
        return WORK_ORDER_HEADER.max_length(self.column)


_KINDS: dict[MappingEntity, MappingKind] = {
    "company": MappingKind("company", "Company", "Customers", "Spectrum customer",
                           "customer code", "Bill_Customer_Code",
                           "its jobs cannot be sent to Spectrum until it is mapped"),
    "location": MappingKind("location", "Location", "Sites", "Spectrum site", "site ID",
                            "WO_Job_Number",
                            "its jobs cannot be sent to Spectrum until it is mapped"),
    "contract": MappingKind("contract", "Contract", "Contracts", "Spectrum contract",
                            "contract number", "Contract_Number",
                            "its jobs are sent with a blank Contract_Number until it is "
                            "mapped"),
}


def mapping_kind(entity: str) -> MappingKind:
    """The kind for ``entity``; :class:`MappingRecordNotFound` for anything else (a page
    address naming another entity is a page that does not exist)."""
    kind = next((k for k in _KINDS.values() if k.entity == entity), None)
    if kind is None:
        raise MappingRecordNotFound(f"There is no '{entity}' mapping: mappings are kept for "
                                    "company, location and contract records.")
    return kind


# -- errors ----------------------------------------------------------------------------------
class MappingError(Exception):
    """A mapping could not be read or written; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidMappingValue(MappingError, ValueError):
    """The value cannot be a Spectrum value (too long, control characters): nothing was
    written."""


class MappingRecordNotFound(MappingError, LookupError):
    """The account's ServiceTrade has no such record (or the entity is not a mapped one)."""


class MappingRefused(MappingError):
    """ServiceTrade refused the write, e.g. because another record already holds the value."""

    def __init__(self, message: str, *, duplicate: bool, holder: Mapping | None = None) -> None:
        super().__init__(message)
        self.duplicate = duplicate
        """True when the value is already used by another record under the same system."""
        self.holder = holder


class MappingUnavailable(MappingError):
    """ServiceTrade could not be reached or refused our credentials: try again later."""


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockedJob:
    id: int
    number: int


@dataclass(frozen=True)
class Mapping:
    """One record and its Spectrum value (``None``: missing) under the connection's system."""

    entity: MappingEntity
    id: int
    name: str
    value: str | None
    company_name: str = ""
    """The owning company, for locations and contracts (their names repeat across
    customers: "Main Campus")."""
    blocked_jobs: tuple[BlockedJob, ...] = ()
    """Open jobs this record's missing value holds back (empty when it is mapped)."""

    @property
    def missing(self) -> bool:
        return not self.value

    @property
    def kind(self) -> MappingKind:
        return _KINDS[self.entity]


@dataclass(frozen=True)
class MappingOverview:
    """Every company, location and contract of the account, for one connection's system."""

    connection: str
    system: str
    companies: list[Mapping] = field(default_factory=list)
    locations: list[Mapping] = field(default_factory=list)
    contracts: list[Mapping] = field(default_factory=list)

    def of(self, entity: MappingEntity) -> list[Mapping]:
        return {"company": self.companies, "location": self.locations,
                "contract": self.contracts}[entity]

    def missing(self, entity: MappingEntity) -> list[Mapping]:
        return [m for m in self.of(entity) if m.missing]


@dataclass(frozen=True)
class MappingChange:
    """The outcome of setting or clearing one mapping."""

    mapping: Mapping
    """The record as it is now."""
    previous: str | None
    system: str

    @property
    def changed(self) -> bool:
        return (self.previous or None) != (self.mapping.value or None)

    def describe(self) -> str:
        """One sentence for the user: what the record maps to now (or no longer)."""
        m, kind, system = self.mapping, self.mapping.kind, self.system
        if not self.changed:
            if m.value:
                return (f"{kind.label} '{m.name}' already maps to {kind.spectrum_label} "
                        f"'{m.value}' for system '{system}': nothing changed.")
            return (f"{kind.label} '{m.name}' has no {kind.spectrum_label} for system "
                    f"'{system}': nothing to clear.")
        if m.value:
            was = f" (it was '{self.previous}')" if self.previous else ""
            return (f"{kind.label} '{m.name}' now maps to {kind.spectrum_label} '{m.value}' "
                    f"for system '{system}'{was}.")
        return (f"{kind.label} '{m.name}' no longer maps to a {kind.spectrum_label} for system "
                f"'{system}' (it was '{self.previous}'): {kind.unmapped_effect}.")


# -- the use case ----------------------------------------------------------------------------
def validate_mapping_value(entity: MappingEntity, raw: str) -> str:
    """The value to write, trimmed; ``""`` clears. Checked before anything is written, with
    Spectrum's own limits, because a send would fail on the same value later."""
    kind = _KINDS[entity]
    value = raw.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise InvalidMappingValue(
            f"The {kind.value_label} contains a control character (a tab, line break or "
            f"invisible character): type the {kind.value_label} again exactly as Spectrum "
            "shows it.")
    if len(value) > kind.max_length:
        raise InvalidMappingValue(
            f"The {kind.value_label} '{value}' is {len(value)} characters, but Spectrum's "
            f"{kind.column} accepts at most {kind.max_length}: use the {kind.value_label} "
            "exactly as Spectrum shows it.")
    return value


def _jobs_by_record(jobs: Iterable[Job]) -> dict[tuple[MappingEntity, int], list[BlockedJob]]:
    found: dict[tuple[MappingEntity, int], list[BlockedJob]] = defaultdict(list)
    for job in jobs:
        ref = BlockedJob(job.id, job.number)
        if job.customer is not None:
            found["company", job.customer.id].append(ref)
        if job.location is not None:
            found["location", job.location.id].append(ref)
        if job.contract is not None:
            found["contract", job.contract.id].append(ref)
    return found


def _unavailable(exc: ServiceTradeError, doing: str) -> MappingUnavailable:
    if isinstance(exc, AuthenticationFailed):
        return MappingUnavailable(
            f"ServiceTrade refused this account's credentials while {doing}: an admin should "
            f"check the account's ServiceTrade user or OAuth client. ({exc})")
    return MappingUnavailable(f"ServiceTrade did not answer while {doing}: try again in a "
                              f"minute. ({exc})")


class Mappings:
    """The mappings of one connection, read from and written to the account's ServiceTrade.

    Build it with :meth:`for_connection`, which picks the ServiceTrade of the connection's
    own account: a user can only ever reach records of their account's ServiceTrade.
    """

    def __init__(self, client: ServiceTradeClient, connection: str, system: str) -> None:
        self.client = client
        self.connection = connection
        self.system = system

    @classmethod
    def for_connection(cls, clients: ClientPool, store: Store,
                       connection: ConnectionConfig) -> Mappings:
        account = store.account_by_id(connection.account_id)
        return cls(clients.servicetrade(account), connection.name, connection.system)

    # -- reads -------------------------------------------------------------------------------
    def _open_jobs(self) -> list[Job]:
        return list(self.client.search_jobs(status=OPEN_JOB_STATUSES, page_size=2000))

    def _mapping(self, entity: MappingEntity, record: Company | Location | Contract,
                 blocked: Iterable[BlockedJob] = ()) -> Mapping:
        value = record.external_ids.get(self.system) or None
        owner = getattr(record, "company", None)
        return Mapping(entity, record.id, record.name, value,
                       company_name=owner.name if owner is not None else "",
                       blocked_jobs=() if value else tuple(
                           sorted(blocked, key=lambda j: j.number)))

    def overview(self) -> MappingOverview:
        """Every company, location and contract, with its value and, when it has none, the
        open jobs it holds back. Four reads, at the same time."""
        client = self.client
        try:
            with ThreadPoolExecutor(max_workers=4, thread_name_prefix="mappings") as pool:
                companies = pool.submit(client.list_companies)
                locations = pool.submit(client.list_locations)
                contracts = pool.submit(client.list_contracts)
                jobs = pool.submit(self._open_jobs)
                blocked = _jobs_by_record(jobs.result())

                def rows(entity: MappingEntity, records: Iterable[_Record]) -> list[Mapping]:
                    return sorted((self._mapping(entity, r, blocked.get((entity, r.id), ()))
                                   for r in records),
                                  key=lambda m: (m.name.casefold(), m.id))

                return MappingOverview(
                    self.connection, self.system,
                    companies=rows("company", companies.result()),
                    locations=rows("location", locations.result()),
                    contracts=rows("contract", contracts.result()))
        except ServiceTradeError as exc:
            raise _unavailable(exc, "reading the companies, locations, contracts and open "
                                    "jobs") from exc

    def _read(self, entity: MappingEntity, record_id: int) -> Company | Location | Contract:
        readers: dict[MappingEntity, Callable[[int], Company | Location | Contract]] = {
            "company": self.client.get_company, "location": self.client.get_location,
            "contract": self.client.get_contract}
        try:
            return readers[entity](record_id)
        except NotFound as exc:
            raise MappingRecordNotFound(
                f"This account's ServiceTrade has no {entity} with ID {record_id}: check the "
                "ID (the mappings page lists every one).") from exc
        except ServiceTradeError as exc:
            raise _unavailable(exc, f"reading {entity} {record_id}") from exc

    def _with_blocked_jobs(self, mapping: Mapping) -> Mapping:
        """The mapping with the open jobs it holds back, when it is missing (one search)."""
        if not mapping.missing:
            return mapping
        try:
            blocked = _jobs_by_record(self._open_jobs()).get((mapping.entity, mapping.id), [])
        except ServiceTradeError as exc:
            raise _unavailable(exc, "reading the open jobs") from exc
        return replace(mapping, blocked_jobs=tuple(sorted(blocked, key=lambda j: j.number)))

    def get(self, entity: MappingEntity, record_id: int) -> Mapping:
        """One record's mapping (and, when missing, the open jobs it holds back)."""
        return self._with_blocked_jobs(self._mapping(entity, self._read(entity, record_id)))

    # -- writes ------------------------------------------------------------------------------
    def set(self, entity: MappingEntity, record_id: int, raw_value: str) -> MappingChange:
        """Write ``raw_value`` (trimmed; blank clears) as the record's external ID under the
        connection's system. ServiceTrade's refusal (a value another record already holds)
        is :class:`MappingRefused`, naming that record."""
        kind = _KINDS[entity]
        value = validate_mapping_value(entity, raw_value)
        record = self._read(entity, record_id)
        previous = record.external_ids.get(self.system) or None
        try:
            if value and value != previous:
                self.client.set_external_id(entity, record_id, self.system, value,
                                            known=record.external_ids)
            elif not value and previous:
                self.client.clear_external_id(entity, record_id, self.system)
        except NotFound as exc:
            raise MappingRecordNotFound(
                f"{kind.label} {record_id} was removed from ServiceTrade while it was being "
                "mapped: reload the mappings page.") from exc
        except RequestRejected as exc:
            raise self._refusal(kind, record, value, exc) from exc
        except ServiceTradeError as exc:
            raise _unavailable(exc, f"writing the {kind.value_label} of {entity} "
                                    f"'{record.name}'") from exc
        ids = {**record.external_ids}
        if value:
            ids[self.system] = value
        else:
            ids.pop(self.system, None)
        mapping = self._mapping(entity, record.model_copy(update={"external_ids": ids}))
        return MappingChange(self._with_blocked_jobs(mapping), previous, self.system)

    def _refusal(self, kind: MappingKind, record: Company | Location | Contract, value: str,
                 exc: RequestRejected) -> MappingRefused:
        """ServiceTrade's refusal in plain words. The usual cause is a value another record
        already holds (a value may be used once per system): find that record and name it."""
        holder = None
        if value:
            try:
                holder = self.client.find_by_external_id(kind.entity, self.system, value)
            except ServiceTradeError:
                holder = None  # the refusal itself is still worth reporting
        said = "; ".join([*exc.errors, *exc.validation.values()]) or str(exc)
        if holder is not None and holder.id != record.id:
            other = self._mapping(kind.entity, holder)
            return MappingRefused(
                f"ServiceTrade refused to map {kind.entity} '{record.name}' to "
                f"{kind.spectrum_label} '{value}': {kind.entity} '{other.name}' (ID {other.id}) "
                f"already has '{value}' for system '{self.system}', and a value may be used "
                f"only once per system. Check the {kind.value_label} in Spectrum, or clear it "
                f"from {kind.entity} '{other.name}' first.", duplicate=True, holder=other)
        return MappingRefused(
            f"ServiceTrade refused to set the '{self.system}' external ID of {kind.entity} "
            f"'{record.name}' to '{value}': {said}. Check the {kind.value_label} and that the "
            f"external system '{self.system}' exists in ServiceTrade.", duplicate=False)
