"""Typed views of the ServiceTrade records the integration reads and writes.

Every model tolerates fields it does not declare (ServiceTrade adds fields freely; they stay
reachable through ``model_extra``). IDs are strict ``int``: a float would have lost digits
above 2**53 already, so one is refused rather than silently accepted. Field names are
snake_case in Python and camelCase on the wire (``customer_po`` <-> ``customerPo``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict
from pydantic.alias_generators import to_camel

__all__ = [
    "Address",
    "Comment",
    "Company",
    "CompanyRef",
    "Contract",
    "ContractRef",
    "EntityEvents",
    "Job",
    "JobContext",
    "JobPage",
    "Location",
    "LocationRef",
    "Tag",
    "Webhook",
]

RecordId = Annotated[int, Strict()]
"""A ServiceTrade ID: a JSON integer, never a float or a string."""


def _empty_list_as_dict(value: Any) -> Any:
    """PHP serialises an empty map as ``[]``; read it as ``{}``."""
    if value is None or value == []:
        return {}
    return value


ExternalIds = Annotated[dict[str, str], BeforeValidator(_empty_list_as_dict)]
"""External system name -> the record's ID there, e.g. ``{"spectrum": "T1042"}``."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)


class Address(_Record):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


class CompanyRef(_Record):
    """A company as embedded in another record (a job's ``customer``)."""

    id: RecordId
    name: str = ""


class LocationRef(_Record):
    """A location as embedded in another record (a job's ``location``)."""

    id: RecordId
    name: str = ""
    address: Address | None = None


class ContractRef(_Record):
    """A contract as embedded in another record (a job's ``contract``)."""

    id: RecordId
    name: str = ""


class Company(_Record):
    id: RecordId
    name: str = ""
    address: Address | None = None
    status: str | None = None
    external_ids: ExternalIds = Field(default_factory=dict)


class Location(_Record):
    id: RecordId
    name: str = ""
    address: Address | None = None
    company: CompanyRef | None = None
    status: str | None = None
    external_ids: ExternalIds = Field(default_factory=dict)


class Contract(_Record):
    id: RecordId
    name: str = ""
    company: CompanyRef | None = None
    status: str | None = None
    external_ids: ExternalIds = Field(default_factory=dict)


def _tag_from_name(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class Tag(_Record):
    id: RecordId | None = None
    name: str


class Job(_Record):
    """A ServiceTrade job. ``number`` is what users see; ``id`` is what the API takes."""

    id: RecordId
    number: int
    name: str = ""
    description: str | None = None
    customer_po: str | None = None
    type: str | None = None
    status: str | None = None
    customer: CompanyRef | None = None
    location: LocationRef | None = None
    contract: ContractRef | None = None
    tags: list[Annotated[Tag, BeforeValidator(_tag_from_name)]] = Field(default_factory=list)
    external_ids: ExternalIds = Field(default_factory=dict)
    created: int | None = None
    updated: int | None = None
    scheduled_date: int | None = None
    due_by: int | None = None
    completed_on: int | None = None

    @property
    def tag_names(self) -> list[str]:
        return [tag.name for tag in self.tags]


class JobPage(_Record):
    """One page of a job search (``page`` is 1-based)."""

    jobs: list[Job]
    page: int = 1
    total_pages: int = 1
    total_items: int | None = None


class JobContext(BaseModel):
    """A job with the full records of its customer, location and contract (with external IDs)."""

    job: Job
    company: Company | None
    location: Location | None
    contract: Contract | None


class Comment(_Record):
    id: RecordId
    content: str
    entity_type: int | None = None
    entity_id: RecordId | None = None
    visibility: list[str] | None = None
    created: int | None = None


class EntityEvents(_Record):
    """Which actions on one entity type a webhook is told about (job = 3)."""

    entity_type: int
    actions: list[str]


class Webhook(_Record):
    id: RecordId
    hook_url: str
    enabled: bool = True
    include_changesets: bool = False
    entity_events: list[EntityEvents] = Field(default_factory=list)
