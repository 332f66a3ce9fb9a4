"""``/connections`` (admins): the account's Spectrum connections and their automation rules;
add, edit, test, pause and resume, add and remove rules.

Connections are addressed by ID, always through the signed-in user's account, so another
account's connection answers 404 like one that does not exist. Secrets are write-only: the
form's secret inputs are never given a value, and no page ever shows one back.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from servicetrade_spectrum.store import ConnectionConfig
from servicetrade_spectrum.sync._connection_settings import (
    LABELS,
    PAUSE_REASON_MAX,
    TRIGGER_LABELS,
    ConnectionInput,
    ConnectionTest,
    Invalid,
    NameTaken,
    add_connection,
    check_rule,
    expiry_note,
    rules_by_connection,
    run_test,
    update_connection,
)
from servicetrade_spectrum.web._auth import Admin, AdminForm, SignedIn, services_of, set_notice
from servicetrade_spectrum.web._templates import render
from servicetrade_spectrum.web.pages._forms import checked, text

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _input_of(form: FormData) -> ConnectionInput:
    return ConnectionInput(
        name=text(form, "name"), url=text(form, "url"),
        company_code=text(form, "company_code"), system=text(form, "system"),
        prefix=text(form, "prefix"), work_order_type=text(form, "work_order_type"),
        lead_source=text(form, "lead_source"),
        preserve_edits=checked(form, "preserve_edits"),
        client_id=text(form, "client_id"),
        client_secret_expires_on=text(form, "client_secret_expires_on"),
        authorization_id=text(form, "authorization_id"),
        client_secret=text(form, "client_secret"))


def _redirect(request: Request, viewer: SignedIn, notice: str) -> Response:
    response = RedirectResponse("/connections", status_code=303)
    set_notice(response, request, viewer, notice)
    return response


async def _list_page(request: Request, viewer: SignedIn, *, status_code: int = 200,
                     tested: ConnectionTest | None = None, tested_id: int | None = None,
                     rule_form: dict[str, Any] | None = None) -> Response:
    store = services_of(request).store
    connections = await run_in_threadpool(store.connections, account_id=viewer.account_id)
    rules = await run_in_threadpool(store.rules, account_id=viewer.account_id)
    return render(request, "connections.html", {
        "nav": "connections", "connections": connections,
        "rules": rules_by_connection(rules), "trigger_labels": TRIGGER_LABELS,
        "expiry": {c.id: expiry_note(c.client_secret_expires_on) for c in connections},
        "tested": tested, "tested_id": tested_id, "rule_form": rule_form or {},
        "pause_reason_max": PAUSE_REASON_MAX,
    }, status_code=status_code)


def _form_page(request: Request, *, values: ConnectionInput,
               connection: ConnectionConfig | None, errors: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    return render(request, "connection_form.html", {
        "nav": "connections", "values": values, "connection": connection,
        "errors": errors or {}, "labels": LABELS,
        "action": f"/connections/{connection.id}/edit" if connection else "/connections",
    }, status_code=status_code)


async def _connection(request: Request, viewer: SignedIn, connection_id: int
                      ) -> ConnectionConfig:
    store = services_of(request).store
    return await run_in_threadpool(store.account_connection, viewer.account_id, connection_id)


# -- the list ------------------------------------------------------------------------------------
@router.get("/connections")
async def connections_page(request: Request, viewer: Admin) -> Response:
    return await _list_page(request, viewer)


# -- add -----------------------------------------------------------------------------------------
@router.get("/connections/new")
async def new_connection_form(request: Request, viewer: Admin) -> Response:
    return _form_page(request, values=ConnectionInput(), connection=None)


@router.post("/connections")
async def add(request: Request, viewer: AdminForm) -> Response:
    values = _input_of(await request.form())
    store = services_of(request).store
    try:
        added = await run_in_threadpool(add_connection, store, viewer.user.account_name, values)
    except Invalid as exc:
        return _form_page(request, values=values, connection=None, errors=exc.errors,
                          status_code=422)
    except NameTaken as exc:
        return _form_page(request, values=values, connection=None,
                          errors={"name": str(exc)}, status_code=409)
    return _redirect(request, viewer, f"Connection '{added.name}' added. Test it now to "
                     "check that Spectrum answers and accepts its credentials.")


# -- edit ----------------------------------------------------------------------------------------
@router.get("/connections/{connection_id}/edit")
async def edit_form(request: Request, viewer: Admin, connection_id: int) -> Response:
    connection = await _connection(request, viewer, connection_id)
    return _form_page(request, values=ConnectionInput.of(connection), connection=connection)


@router.post("/connections/{connection_id}/edit")
async def edit(request: Request, viewer: AdminForm, connection_id: int) -> Response:
    connection = await _connection(request, viewer, connection_id)
    values = _input_of(await request.form())
    store = services_of(request).store
    try:
        changed = await run_in_threadpool(update_connection, store, connection, values)
    except Invalid as exc:
        return _form_page(request, values=values, connection=connection, errors=exc.errors,
                          status_code=422)
    except NameTaken as exc:
        return _form_page(request, values=values, connection=connection,
                          errors={"name": str(exc)}, status_code=409)
    return _redirect(request, viewer, f"Connection '{changed.name}' saved.")


# -- test, pause, resume ---------------------------------------------------------------------------
@router.post("/connections/{connection_id}/test")
async def test(request: Request, viewer: AdminForm, connection_id: int) -> Response:
    connection = await _connection(request, viewer, connection_id)
    outcome = await run_in_threadpool(run_test, services_of(request).clients, connection)
    return await _list_page(request, viewer, tested=outcome, tested_id=connection.id)


@router.post("/connections/{connection_id}/pause")
async def pause(request: Request, viewer: AdminForm, connection_id: int) -> Response:
    connection = await _connection(request, viewer, connection_id)
    reason = text(await request.form(), "reason").strip()[:PAUSE_REASON_MAX]
    reason = reason or f"paused by {viewer.user.email}"
    store = services_of(request).store
    await run_in_threadpool(store.update_account_connection, viewer.account_id, connection.id,
                            paused=True, pause_reason=reason)
    return _redirect(request, viewer, f"Connection '{connection.name}' paused: nothing is "
                     "sent to it until it is resumed.")


@router.post("/connections/{connection_id}/resume")
async def resume(request: Request, viewer: AdminForm, connection_id: int) -> Response:
    connection = await _connection(request, viewer, connection_id)
    store = services_of(request).store
    await run_in_threadpool(store.update_account_connection, viewer.account_id, connection.id,
                            paused=False, pause_reason="")
    return _redirect(request, viewer, f"Connection '{connection.name}' resumed: sends go to "
                     "Spectrum again.")


# -- automation rules ------------------------------------------------------------------------------
@router.post("/connections/{connection_id}/rules")
async def add_rule(request: Request, viewer: AdminForm, connection_id: int) -> Response:
    connection = await _connection(request, viewer, connection_id)
    form = await request.form()
    trigger, value, job_type = (text(form, "trigger"), text(form, "value"),
                                text(form, "job_type"))
    try:
        chosen, value, job_type = check_rule(trigger, value, job_type)
    except Invalid as exc:
        return await _list_page(request, viewer, status_code=422, rule_form={
            "connection_id": connection.id, "trigger": trigger, "value": value,
            "job_type": job_type, "errors": exc.errors})
    store = services_of(request).store
    rule = await run_in_threadpool(store.add_rule, connection.name, chosen, value, job_type)
    return _redirect(request, viewer, f"Rule added: {rule.describe()}.")


@router.post("/connections/{connection_id}/rules/{rule_id}/remove")
async def remove_rule(request: Request, viewer: AdminForm, connection_id: int,
                      rule_id: int) -> Response:
    await _connection(request, viewer, connection_id)
    store = services_of(request).store
    rule = await run_in_threadpool(store.remove_account_rule, viewer.account_id, rule_id)
    return _redirect(request, viewer, f"Rule {rule.id} removed (it would {rule.describe()}).")
