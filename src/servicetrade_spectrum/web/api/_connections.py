"""``/api/v1/connections``: the account's Spectrum connections, by name.

Any user of the account may list and read them (public settings only); admins add, change,
test, pause and resume them. Secrets (``authorization_id``, ``client_secret``) are
write-only: accepted in request bodies, never part of an answer. Values are checked with the
same rules and words as the connections page and ``st-spectrum connection add``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, SecretStr

from servicetrade_spectrum.domain.rules import Rule
from servicetrade_spectrum.store import ConnectionConfig, Store
from servicetrade_spectrum.sync._connection_settings import (
    PAUSE_REASON_MAX,
    ConnectionInput,
    Invalid,
    NameTaken,
    add_connection,
    run_test,
    update_connection,
)
from servicetrade_spectrum.web._auth import ApiAdmin, ApiUser, services_of
from servicetrade_spectrum.web._errors import ApiProblem

__all__ = ["ConnectionAnswer", "ConnectionChange", "ConnectionTestAnswer", "NewConnectionBody",
           "router"]

router = APIRouter(tags=["connections"])


class ErrorDetail(BaseModel):
    code: str = Field(description="not_found, invalid_request, conflict, forbidden, ...")
    message: str = Field(description="What is wrong and how to fix it.")


class ErrorAnswer(BaseModel):
    error: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorAnswer, "description": "No valid API token."},
    404: {"model": ErrorAnswer, "description": "No connection of that name in your account."},
}
_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 403: {"model": ErrorAnswer, "description": "Only an admin may do this."}}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ADMIN_ERRORS,
    409: {"model": ErrorAnswer, "description": "The name is taken (names are unique across "
                                               "st-spectrum)."},
    422: {"model": ErrorAnswer, "description": "A value is not valid (named in the message)."}}


class RuleAnswer(BaseModel):
    id: int
    trigger: str = Field(description="on_create, on_status or on_tag.")
    value: str = Field(description="The status (on_status) or tag (on_tag); blank otherwise.")
    job_type: str = Field(description="Only jobs of this type; blank: any.")
    description: str


class ConnectionAnswer(BaseModel):
    """A connection's settings. Never its secrets."""

    id: int
    name: str = Field(description="Users pick it as 'Send Job to Spectrum — <name>'.")
    account: str
    url: str = Field(description="Spectrum's Web Services URL (ends in /ws).")
    company_code: str
    system: str = Field(description="The ServiceTrade external system holding the mappings.")
    prefix: str = Field(description="Leading character of work order numbers (may be blank).")
    work_order_type: str
    lead_source: str
    preserve_edits: bool = Field(description="Re-sends send only fields changed in "
                                             "ServiceTrade.")
    enhanced_authentication: bool
    client_id: str
    client_secret_expires_on: str = Field(description="YYYY-MM-DD, or blank.")
    paused: bool
    pause_reason: str
    rules: list[RuleAnswer] = Field(description="Automation rules sending to it.")


class _Settings(BaseModel):
    model_config = {"extra": "forbid"}


class NewConnectionBody(_Settings):
    name: str
    url: str = Field(description="Spectrum's Web Services URL, e.g. "
                                 "https://spectrum.example.com:8482/ws.")
    company_code: str = Field(description="1 to 3 characters.")
    authorization_id: SecretStr = Field(description="Write-only: never shown back.")
    system: str = "spectrum"
    prefix: str = ""
    work_order_type: str = ""
    lead_source: str = ""
    preserve_edits: bool = False
    client_id: str = Field("", description="Enhanced authentication (optional).")
    client_secret: SecretStr = Field(SecretStr(""), description="Write-only; required with a "
                                                                "client_id.")
    client_secret_expires_on: str = Field("", description="YYYY-MM-DD, or blank.")


class ConnectionChange(_Settings):
    """Only the settings given change. A secret left out (or null) keeps the stored one."""

    name: str | None = None
    url: str | None = None
    company_code: str | None = None
    authorization_id: SecretStr | None = Field(None, description="Write-only; left out: kept.")
    system: str | None = None
    prefix: str | None = None
    work_order_type: str | None = None
    lead_source: str | None = None
    preserve_edits: bool | None = None
    client_id: str | None = Field(None, description="Blank: enhanced authentication off (the "
                                                    "client secret is removed).")
    client_secret: SecretStr | None = Field(None, description="Write-only; left out: kept.")
    client_secret_expires_on: str | None = None


class PauseBody(BaseModel):
    reason: str = Field("", max_length=PAUSE_REASON_MAX, description="Why, shown in lists.")


class ConnectionTestAnswer(BaseModel):
    """What ``st-spectrum connection test`` reports. Nothing is created or changed in
    Spectrum."""

    connection: str
    ok: bool = Field(description="Sends can work.")
    reachable: bool = Field(description="Spectrum answers.")
    credentials_accepted: bool | None = Field(description="null when Spectrum did not answer.")
    authorized: dict[str, bool] = Field(description="Service -> authorized "
                                                    "(WorkOrderHeader above all).")
    problems: list[str] = Field(description="Spectrum's own words (or the network's).")
    fix: str = Field(description="What to do, when ok is false.")


def _answer(connection: ConnectionConfig, rules: list[Rule]) -> ConnectionAnswer:
    public = connection.public()
    return ConnectionAnswer(
        id=connection.id, **public,
        rules=[RuleAnswer(id=r.id, trigger=r.trigger.value, value=r.value,
                          job_type=r.job_type, description=r.describe())
               for r in rules if r.connection == connection.name])


def _with_rules(store: Store, connection: ConnectionConfig) -> ConnectionAnswer:
    return _answer(connection, store.rules(account_id=connection.account_id))


def _invalid(exc: Invalid) -> ApiProblem:
    return ApiProblem(422, "invalid_request", str(exc))


@router.get("/connections", response_model=list[ConnectionAnswer], responses=_ERRORS)
def list_connections(request: Request, user: ApiUser) -> list[ConnectionAnswer]:
    """The account's connections, by name, with their settings and rules (no secrets)."""
    store = services_of(request).store
    rules = store.rules(account_id=user.account_id)
    return [_answer(c, rules) for c in store.connections(account_id=user.account_id)]


@router.post("/connections", status_code=201, response_model=ConnectionAnswer,
             responses=_WRITE_ERRORS)
def create_connection(request: Request, body: NewConnectionBody, user: ApiAdmin
                      ) -> ConnectionAnswer:
    """Add a connection to the account. Check it afterwards with ``POST .../test``."""
    values = ConnectionInput(
        name=body.name, url=body.url, company_code=body.company_code, system=body.system,
        prefix=body.prefix, work_order_type=body.work_order_type, lead_source=body.lead_source,
        preserve_edits=body.preserve_edits, client_id=body.client_id,
        client_secret_expires_on=body.client_secret_expires_on,
        authorization_id=body.authorization_id.get_secret_value(),
        client_secret=body.client_secret.get_secret_value())
    store = services_of(request).store
    try:
        added = add_connection(store, user.account_name, values)
    except Invalid as exc:
        raise _invalid(exc) from None
    except NameTaken as exc:
        raise ApiProblem(409, "conflict", str(exc)) from None
    return _with_rules(store, added)


@router.get("/connections/{name}", response_model=ConnectionAnswer, responses=_ERRORS)
def get_connection(request: Request, name: str, user: ApiUser) -> ConnectionAnswer:
    """One connection of the account (no secrets)."""
    store = services_of(request).store
    return _with_rules(store, store.account_connection_named(user.account_id, name))


@router.patch("/connections/{name}", response_model=ConnectionAnswer, responses=_WRITE_ERRORS)
def change_connection(request: Request, name: str, body: ConnectionChange, user: ApiAdmin
                      ) -> ConnectionAnswer:
    """Change the settings given; secrets left out are kept."""
    store = services_of(request).store
    current = store.account_connection_named(user.account_id, name)
    given = body.model_dump(exclude_none=True, exclude={"authorization_id", "client_secret"})
    values = ConnectionInput.of(current)
    for key, value in given.items():
        setattr(values, key, value)
    if body.authorization_id is not None:
        values.authorization_id = body.authorization_id.get_secret_value()
        if not values.authorization_id.strip():
            raise _invalid(Invalid({"authorization_id": "The Authorization ID cannot be blank: "
                                                        "leave it out to keep the current "
                                                        "one."}))
    if body.client_secret is not None:
        values.client_secret = body.client_secret.get_secret_value()
    try:
        changed = update_connection(store, current, values)
    except Invalid as exc:
        raise _invalid(exc) from None
    except NameTaken as exc:
        raise ApiProblem(409, "conflict", str(exc)) from None
    return _with_rules(store, changed)


@router.post("/connections/{name}/test", response_model=ConnectionTestAnswer,
             responses=_ADMIN_ERRORS)
def test_connection(request: Request, name: str, user: ApiAdmin) -> ConnectionTestAnswer:
    """Check that Spectrum answers, accepts the credentials and authorizes WorkOrderHeader,
    as ``st-spectrum connection test`` does. Nothing is created or changed in Spectrum."""
    services = services_of(request)
    connection = services.store.account_connection_named(user.account_id, name)
    outcome = run_test(services.clients, connection)
    return ConnectionTestAnswer(connection=outcome.connection, ok=outcome.ok,
                                reachable=outcome.reachable,
                                credentials_accepted=outcome.credentials_accepted,
                                authorized=outcome.authorized, problems=outcome.problems,
                                fix=outcome.fix)


@router.post("/connections/{name}/pause", response_model=ConnectionAnswer,
             responses=_ADMIN_ERRORS)
def pause_connection(request: Request, name: str, user: ApiAdmin,
                     body: PauseBody | None = None) -> ConnectionAnswer:
    """Stop sending on the connection until it is resumed (sends on it are refused)."""
    store = services_of(request).store
    connection = store.account_connection_named(user.account_id, name)
    reason = (body.reason.strip() if body else "") or f"paused by {user.email}"
    changed = store.update_account_connection(user.account_id, connection.id, paused=True,
                                              pause_reason=reason)
    return _with_rules(store, changed)


@router.post("/connections/{name}/resume", response_model=ConnectionAnswer,
             responses=_ADMIN_ERRORS)
def resume_connection(request: Request, name: str, user: ApiAdmin) -> ConnectionAnswer:
    """Send on a paused connection again."""
    store = services_of(request).store
    connection = store.account_connection_named(user.account_id, name)
    changed = store.update_account_connection(user.account_id, connection.id, paused=False,
                                              pause_reason="")
    return _with_rules(store, changed)
