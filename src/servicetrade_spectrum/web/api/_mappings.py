"""``/api/v1/mappings``: read a connection's mappings and set or clear one.

The same use case as the mappings page (``sync.Mappings``): values are ServiceTrade external
IDs under the connection's system, read from and written to the user's account's
ServiceTrade. A connection or record the account does not have answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from servicetrade_spectrum.store import ConnectionConfig, NotFound, UserRecord
from servicetrade_spectrum.sync import (
    InvalidMappingValue,
    Mapping,
    MappingEntity,
    MappingError,
    MappingRecordNotFound,
    MappingRefused,
    Mappings,
    MappingUnavailable,
)
from servicetrade_spectrum.web._auth import ApiUser, services_of
from servicetrade_spectrum.web._errors import ApiProblem

__all__ = ["router"]

router = APIRouter(tags=["mappings"])


class BlockedJobOut(BaseModel):
    id: int = Field(description="ServiceTrade job ID (what /jobs/{id} takes).")
    number: int = Field(description="The job number people see.")


class MappingItemOut(BaseModel):
    id: int = Field(description="ServiceTrade ID of the company, location or contract.")
    name: str
    value: str | None = Field(description="Its Spectrum value under the connection's system "
                                          "(customer code, site ID or contract number); "
                                          "null when missing.")
    blocked_jobs: list[BlockedJobOut] = Field(
        description="Open jobs this missing mapping holds back (empty when mapped). For a "
                    "contract, these jobs are sent with a blank Contract_Number.")

    @classmethod
    def of(cls, mapping: Mapping) -> MappingItemOut:
        return cls(id=mapping.id, name=mapping.name, value=mapping.value,
                   blocked_jobs=[BlockedJobOut(id=j.id, number=j.number)
                                 for j in mapping.blocked_jobs])


class MappingsOut(BaseModel):
    connection: str
    system: str = Field(description="The ServiceTrade external system holding the values.")
    companies: list[MappingItemOut]
    locations: list[MappingItemOut]
    contracts: list[MappingItemOut]


class MappingValueIn(BaseModel):
    value: str = Field(description="The Spectrum value (trimmed; at most 10 characters); "
                                   "\"\" clears the mapping.", examples=["ACMEMFG"])


def _mappings(request: Request, user: UserRecord,
              name: str | None) -> tuple[ConnectionConfig, Mappings]:
    """The user's account's connection (by name, or its first) and its mappings; another
    account's connection is :class:`NotFound` like one that does not exist."""
    services = services_of(request)
    store = services.store
    if name:
        connection = store.account_connection_named(user.account_id, name)
    else:
        connections = store.connections(account_id=user.account_id)
        if not connections:
            raise NotFound("This account has no connection yet: an admin adds one on the "
                           "connections page.")
        connection = connections[0]
    return connection, Mappings.for_connection(services.clients, store, connection)


def _problem(exc: MappingError) -> ApiProblem:
    if isinstance(exc, MappingRecordNotFound):
        return ApiProblem(404, "not_found", exc.message)
    if isinstance(exc, InvalidMappingValue):
        return ApiProblem(422, "invalid_value", exc.message)
    if isinstance(exc, MappingRefused):
        return ApiProblem(409, "duplicate_value" if exc.duplicate else "refused_by_servicetrade",
                          exc.message)
    if isinstance(exc, MappingUnavailable):
        return ApiProblem(503, "servicetrade_unavailable", exc.message)
    return ApiProblem(400, "invalid_request", exc.message)


@router.get("/mappings", response_model=MappingsOut,
            summary="A connection's mappings, and the open jobs each missing one holds back")
async def list_mappings(
        request: Request, user: ApiUser,
        connection: Annotated[str | None, Query(
            description="Connection name; default: the account's first connection.")] = None,
        missing: Annotated[bool, Query(description="Only records without a value.")] = False,
) -> MappingsOut:
    chosen, mappings = await run_in_threadpool(_mappings, request, user, connection)
    try:
        overview = await run_in_threadpool(mappings.overview)
    except MappingError as exc:
        raise _problem(exc) from exc

    def items(entity: MappingEntity) -> list[MappingItemOut]:
        return [MappingItemOut.of(m) for m in overview.of(entity) if m.missing or not missing]

    return MappingsOut(connection=chosen.name, system=chosen.system,
                       companies=items("company"), locations=items("location"),
                       contracts=items("contract"))


@router.put("/mappings/{connection}/{entity}/{record_id}", response_model=MappingItemOut,
            summary="Set (or, with \"\", clear) one record's Spectrum value",
            responses={404: {"description": "No such connection or record in this account"},
                       409: {"description": "ServiceTrade refused: the value is already "
                                            "used by another record under this system"},
                       422: {"description": "The value is not a valid Spectrum value"}})
async def put_mapping(
        request: Request, user: ApiUser, body: MappingValueIn,
        connection: Annotated[str, Path(description="Connection name.")],
        entity: Annotated[MappingEntity, Path(description="company, location or contract")],
        record_id: Annotated[int, Path(description="ServiceTrade ID of the record.")],
) -> MappingItemOut:
    _chosen, mappings = await run_in_threadpool(_mappings, request, user, connection)
    try:
        change = await run_in_threadpool(mappings.set, entity, record_id, body.value)
    except MappingError as exc:
        raise _problem(exc) from exc
    return MappingItemOut.of(change.mapping)
