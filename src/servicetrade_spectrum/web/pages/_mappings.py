"""``/mappings``: per connection, the companies, locations and contracts with and without a
Spectrum value, the open jobs each gap holds back, and in-place editing.

Values live in ServiceTrade as external IDs under the connection's system, so the page reads
them from the account's ServiceTrade on every view (each list once) and an edit writes there
at once: what the page shows is what the next send will use.

Any signed-in user may fix a mapping (office staff are the ones who find the gaps); the
connection must be their account's, and the records are read through their account's
ServiceTrade only, so another account's IDs answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi import Form as FormField
from starlette.responses import RedirectResponse, Response

from servicetrade_spectrum.store import ConnectionConfig
from servicetrade_spectrum.sync import (
    MAPPING_ENTITIES,
    InvalidMappingValue,
    Mapping,
    MappingEntity,
    MappingOverview,
    MappingRecordNotFound,
    MappingRefused,
    Mappings,
    MappingUnavailable,
    mapping_kind,
)
from servicetrade_spectrum.sync._mappings import MappingKind
from servicetrade_spectrum.web._auth import Form, SignedIn, Viewer, services_of, set_notice
from servicetrade_spectrum.web._errors import PageProblem
from servicetrade_spectrum.web._templates import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ROW_LIMIT = 500
"""Rows shown per section: an account may have thousands of records, and a page of thousands
of forms helps nobody; the name filter narrows it."""
BLOCKED_SHOWN = 8
"""Job links shown per row; the count says how many more there are."""

_FILTER_PARAM: dict[MappingEntity, str] = {"company": "customers", "location": "sites",
                                           "contract": "contracts"}
_VIEW_PARAMS = ("customers", "sites", "contracts", "q")
"""The query parameters a page view is made of (kept across an edit's redirect)."""


@dataclass(frozen=True)
class RowError:
    entity: MappingEntity
    record_id: int
    value: str
    message: str


@dataclass
class Section:
    kind: MappingKind
    rows: list[Mapping]
    total: int
    missing: int
    missing_only: bool
    matching: int
    """Rows that pass the filters, before :data:`ROW_LIMIT`."""
    all_url: str = ""
    missing_url: str = ""

    @property
    def entity(self) -> MappingEntity:
        return self.kind.entity

    @property
    def anchor(self) -> str:
        return _FILTER_PARAM[self.kind.entity]


@dataclass
class PageView:
    """What one view of the page asked for: filters, and the row just edited (always shown,
    so a fixed row does not vanish under "missing only")."""

    params: dict[str, str] = field(default_factory=dict)
    edited: tuple[MappingEntity, int] | None = None

    @property
    def query(self) -> str:
        return urlencode(self.params)


def _connections(request: Request, viewer: SignedIn) -> list[ConnectionConfig]:
    return services_of(request).store.connections(account_id=viewer.account_id)


def _connection(request: Request, viewer: SignedIn, connection_id: int | None
                ) -> ConnectionConfig | None:
    """The account's connection (404 for another account's), or its first one by default."""
    if connection_id is not None:
        return services_of(request).store.account_connection(viewer.account_id, connection_id)
    connections = _connections(request, viewer)
    return connections[0] if connections else None


def _mappings(request: Request, connection: ConnectionConfig) -> Mappings:
    services = services_of(request)
    return Mappings.for_connection(services.clients, services.store, connection)


def _parse_edited(text: str) -> tuple[MappingEntity, int] | None:
    entity, _, record_id = text.partition("-")
    for known in MAPPING_ENTITIES:
        if entity == known and record_id.isdigit():
            return known, int(record_id)
    return None


def _matches(mapping: Mapping, text: str) -> bool:
    needle = text.casefold()
    return (needle in mapping.name.casefold() or needle in mapping.company_name.casefold()
            or needle == str(mapping.id) or needle in (mapping.value or "").casefold())


def _sections(overview: MappingOverview, connection: ConnectionConfig,
              view: PageView) -> list[Section]:
    sections = []
    text = view.params.get("q", "").strip()
    for entity in MAPPING_ENTITIES:
        records = overview.of(entity)
        missing = sum(1 for m in records if m.missing)
        chosen = view.params.get(_FILTER_PARAM[entity], "")
        missing_only = chosen == "missing" or (chosen != "all" and missing > 0)
        rows = [m for m in records
                if (not missing_only or m.missing or view.edited == (entity, m.id))
                and (not text or _matches(m, text) or view.edited == (entity, m.id))]
        section = Section(mapping_kind(entity), rows[:ROW_LIMIT], len(records), missing,
                          missing_only, len(rows))
        for mode in ("all", "missing"):
            params = {**view.params, "connection": str(connection.id),
                      _FILTER_PARAM[entity]: mode}
            url = f"/mappings?{urlencode(params)}#{section.anchor}"
            if mode == "all":
                section.all_url = url
            else:
                section.missing_url = url
        sections.append(section)
    return sections


def _page(request: Request, viewer: SignedIn, connection: ConnectionConfig | None,
          view: PageView, *, error: RowError | None = None, status_code: int = 200
          ) -> Response:
    context: dict[str, object] = {
        "nav": "mappings", "connections": _connections(request, viewer),
        "connection": connection, "view": view, "error": error,
        "blocked_shown": BLOCKED_SHOWN, "row_limit": ROW_LIMIT,
        "q": view.params.get("q", ""),
    }
    if connection is not None:
        try:
            overview = _mappings(request, connection).overview()
        except MappingUnavailable as exc:
            raise PageProblem(503, exc.message) from exc
        context["overview"] = overview
        context["sections"] = _sections(overview, connection, view)
    return render(request, "mappings.html", context, status_code=status_code)


@router.get("/mappings")
def mappings_page(request: Request, viewer: Viewer, connection: int | None = None,
                  customers: str = "", sites: str = "", contracts: str = "", q: str = "",
                  edited: str = "") -> Response:
    chosen = _connection(request, viewer, connection)
    params = {name: value for name, value in (("customers", customers), ("sites", sites),
                                              ("contracts", contracts), ("q", q)) if value}
    return _page(request, viewer, chosen, PageView(params, _parse_edited(edited)))


@router.post("/mappings/{connection_id}/{entity}/{record_id}")
def save_mapping(request: Request, viewer: Form, connection_id: int, entity: str,
                 record_id: int, value: Annotated[str, FormField()] = "",
                 back: Annotated[str, FormField()] = "") -> Response:
    """Write the value (blank clears) to ServiceTrade, then back to the page the user was
    on with a notice; a value refused or not valid re-renders the page with the reason on
    the row, and the value typed kept in its field."""
    connection = services_of(request).store.account_connection(viewer.account_id,
                                                               connection_id)
    try:
        kind = mapping_kind(entity)
    except MappingRecordNotFound as exc:
        raise PageProblem(404, exc.message) from exc
    params = {k: v for k, v in parse_qsl(back) if k in _VIEW_PARAMS and v}
    view = PageView(params, (kind.entity, record_id))
    try:
        change = _mappings(request, connection).set(kind.entity, record_id, value)
    except MappingRecordNotFound as exc:
        raise PageProblem(404, exc.message) from exc
    except MappingUnavailable as exc:
        raise PageProblem(503, exc.message) from exc
    except InvalidMappingValue as exc:
        return _page(request, viewer, connection, view, status_code=422,
                     error=RowError(kind.entity, record_id, value, exc.message))
    except MappingRefused as exc:
        return _page(request, viewer, connection, view, status_code=409,
                     error=RowError(kind.entity, record_id, value, exc.message))
    query = urlencode({"connection": connection.id, **params,
                       "edited": f"{kind.entity}-{record_id}"})
    response = RedirectResponse(f"/mappings?{query}#{kind.entity}-{record_id}",
                                status_code=303)
    set_notice(response, request, viewer, change.describe())
    return response
