"""The emulator's HTTP face: ServiceTrade's API under ``/api``, controls under ``/_emulator``.

Every ``/api`` answer has ServiceTrade's envelope (``{"data", "messages"}``), errors are
non-2xx with ``messages.error`` and ``messages.validation``, and every response carries an
``x-request-id``. Before a request reaches its handler it may be delayed (``latency_ms``),
hit by an injected fault, or refused for want of a session cookie or bearer token.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from servicetrade_spectrum.emulators.servicetrade._faults import api_path
from servicetrade_spectrum.emulators.servicetrade._state import ApiError, invalid

if TYPE_CHECKING:
    from servicetrade_spectrum.emulators.servicetrade._emulator import ServiceTradeEmulator

__all__ = ["RecordedRequest", "build_app"]

SESSION_COOKIE = "PHPSESSID"
REQUEST_ID_HEADER = "x-request-id"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator answered, as it arrived."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    time: float
    """When it arrived (``time.time()``)."""
    status: int
    answered: float
    """When its answer was ready, after any latency or ``slow`` fault."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Call:
    """What a handler gets: the request, its body, and who made it."""

    request: Request
    body: bytes
    user_id: int | None
    emulator: ServiceTradeEmulator

    def path_int(self, name: str) -> int:
        value: int = self.request.path_params[name]
        return value

    def path_str(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    def json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.body or b"{}")
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return body


@dataclass
class Reply:
    data: Any
    status: int = 200
    cookies: dict[str, str] = field(default_factory=dict)
    delete_cookies: list[str] = field(default_factory=list)
    bare: bool = False
    """Send ``data`` as the whole body (OAuth token answers have no envelope)."""


Handler = Callable[[Call], Any]


def _envelope_error(status: int, errors: list[str], validation: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"data": None, "messages": {"error": errors,
                                                    "validation": validation or {}}},
                        status_code=status, headers=headers)


def _to_response(reply: Any) -> Response:
    if not isinstance(reply, Reply):
        reply = Reply(reply)
    body = reply.data if reply.bare else {"data": reply.data, "messages": {"success": []}}
    response = JSONResponse(body, status_code=reply.status)
    for name, value in reply.cookies.items():
        response.set_cookie(name, value, httponly=True, samesite="lax")
    for name in reply.delete_cookies:
        response.delete_cookie(name)
    return response


def _authenticate(emulator: ServiceTradeEmulator, request: Request) -> int | None:
    account = emulator.account
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        user_id = account.session_user(token)
        if user_id is not None:
            return user_id
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer and account.bearer_client(bearer.strip()):
        return account.users[0]["id"] if account.users else 0
    return None


async def _answer(emulator: ServiceTradeEmulator, request: Request, body: bytes,
                  handler: Handler, public: bool) -> Response:
    emulator.api_url = str(request.base_url).rstrip("/") + "/api"
    if emulator.latency_ms:
        await asyncio.sleep(emulator.latency_ms / 1000)
    fault = emulator.faults.take(request.method, api_path(request.url.path))
    fail_after_applying = False
    if fault is not None:
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        elif fault.kind == "http_429":
            return _envelope_error(429, ["Too many requests: slow down and retry later"],
                                   headers={"Retry-After": str(math.ceil(fault.delay))})
        elif fault.kind in ("http_500", "http_503"):
            status = int(fault.kind[-3:])
            return _envelope_error(status, ["The service is temporarily unavailable"
                                            if status == 503 else "Internal server error"])
        elif fault.kind == "http_401":
            return _envelope_error(401, ["Your session has expired: log in again"])
        else:
            fail_after_applying = True
    user_id = None
    if not public:
        user_id = _authenticate(emulator, request)
        if user_id is None:
            return _envelope_error(401, ["Authentication required: log in with POST /api/auth "
                                         "or send an OAuth2 bearer token"])
    try:
        reply = handler(Call(request, body, user_id, emulator))
    except ApiError as exc:
        return _envelope_error(exc.status, exc.errors, exc.validation, exc.headers)
    if fail_after_applying:
        return _envelope_error(500, ["Internal server error"])
    return _to_response(reply)


def _api(path: str, handler: Handler, methods: list[str], *, public: bool = False) -> Route:
    async def endpoint(request: Request) -> Response:
        emulator: ServiceTradeEmulator = request.app.state.emulator
        body = await request.body()
        received = time.time()
        response = await _answer(emulator, request, body, handler, public)
        response.headers[REQUEST_ID_HEADER] = uuid.uuid4().hex
        emulator.record(RecordedRequest(request.method, request.url.path, request.url.query,
                                        dict(request.headers), body, received,
                                        response.status_code, time.time()))
        return response

    return Route(f"/api{path}", endpoint, methods=methods, name=f"{handler.__name__}")


# --- auth ------------------------------------------------------------------------------------
def login(call: Call) -> Reply:
    body = call.json()
    session = call.emulator.account.login(body.get("username"), body.get("password"))
    return Reply({"authToken": session.token, "user": {"id": session.user_id,
                                                       "username": session.username}},
                 cookies={SESSION_COOKIE: session.token})


def session_info(call: Call) -> Any:
    return {"user": {"id": call.user_id}}


def logout(call: Call) -> Reply:
    call.emulator.account.logout(call.request.cookies.get(SESSION_COOKIE))
    return Reply(None, delete_cookies=[SESSION_COOKIE])


def oauth_token(call: Call) -> Reply:
    form = dict(parse_qsl(call.body.decode("utf-8", "replace")))
    try:
        return Reply(call.emulator.account.issue_token(form), bare=True)
    except ApiError as exc:
        code, _, description = exc.errors[0].partition(": ")
        return Reply({"error": code, "error_description": description,
                      "messages": {"error": exc.errors}}, status=exc.status, bare=True)


# --- records ---------------------------------------------------------------------------------
def get_job(call: Call) -> Any:
    return call.emulator.account.render_job(call.path_int("id"))


def search_jobs(call: Call) -> Any:
    return call.emulator.account.search_jobs(dict(call.request.query_params))


def create_job(call: Call) -> Any:
    change = call.emulator.account.create_job(call.json(), call.user_id)
    call.emulator.publish(change)
    return call.emulator.account.render_job(change.job_id)


def update_job(call: Call) -> Any:
    change = call.emulator.account.update_job(call.path_int("id"), call.json(), call.user_id)
    call.emulator.publish(change)
    return call.emulator.account.render_job(change.job_id)


def _record_reader(entity: str) -> Handler:
    def read(call: Call) -> Any:
        return call.emulator.account.render(entity, call.path_int("id"))

    read.__name__ = f"get_{entity}"
    return read


def _record_lister(entity: str, key: str) -> Handler:
    def list_records(call: Call) -> Any:
        account = call.emulator.account
        query = call.request.query_params
        try:
            page, limit = int(query.get("page", 1)), int(query.get("limit", 100))
        except ValueError:
            raise invalid("page", "page and limit are integers") from None
        with account.lock:
            ids = sorted(account._entity_rows(entity))
        chosen = ids[(page - 1) * limit: page * limit]
        return {key: account.list_records(entity, chosen), "page": page,
                "totalPages": max(1, -(-len(ids) // max(1, limit))), "totalItems": len(ids)}

    list_records.__name__ = f"list_{key}"
    return list_records


# --- external IDs ----------------------------------------------------------------------------
def external_ids(call: Call) -> Any:
    entity, entity_id = call.path_str("entity"), call.path_str("id")
    if not entity_id.isdigit():
        raise ApiError(404, f"{entity} ID {entity_id!r} is not a record ID")
    return {"values": call.emulator.account.external_ids(entity, int(entity_id))}


def external_id(call: Call) -> Any:
    """``/externalid/{entity}/{id}/{system}`` or, when the 2nd part is not a number,
    the reverse lookup ``/externalid/{entity}/{system}/{value}``."""
    account = call.emulator.account
    entity, first, second = (call.path_str(n) for n in ("entity", "first", "second"))
    method = call.request.method
    if not first.isdigit():
        if method != "GET":
            raise ApiError(405, "Only GET looks a record up by its external ID")
        return account.find_by_external_id(entity, first, second)
    entity_id, system = int(first), second
    if method == "GET":
        return {"system": system, "value": account.external_id(entity, entity_id, system)}
    value = "" if method == "DELETE" else call.json().get("value")
    values = account.set_external_id(entity, entity_id, system, value,
                                     replace=method != "POST")
    return {"values": values}


# --- comments --------------------------------------------------------------------------------
def add_comment(call: Call) -> Any:
    return call.emulator.account.add_comment(call.json(), call.user_id)


def list_comments(call: Call) -> Any:
    query = call.request.query_params
    try:
        entity_type = int(query["entityType"]) if "entityType" in query else None
        entity_id = int(query["entityId"]) if "entityId" in query else None
        page, limit = int(query.get("page", 1)), int(query.get("limit", 100))
    except ValueError:
        raise invalid("entityId", "entityType, entityId, page and limit are integers") from None
    comments = call.emulator.account.list_comments(entity_type, entity_id)
    return {"comments": comments[(page - 1) * limit: page * limit], "page": page,
            "totalPages": max(1, -(-len(comments) // max(1, limit))),
            "totalItems": len(comments)}


# --- webhooks --------------------------------------------------------------------------------
def add_webhook(call: Call) -> Any:
    return call.emulator.account.add_webhook(call.json())


def list_webhooks(call: Call) -> Any:
    with call.emulator.account.lock:
        hooks = [call.emulator.account.webhook(i) for i in sorted(call.emulator.account.webhooks)]
    return {"webhooks": hooks, "page": 1, "totalPages": 1, "totalItems": len(hooks)}


def get_webhook(call: Call) -> Any:
    return call.emulator.account.webhook(call.path_int("id"))


def update_webhook(call: Call) -> Any:
    return call.emulator.account.update_webhook(call.path_int("id"), call.json())


def delete_webhook(call: Call) -> Any:
    call.emulator.account.delete_webhook(call.path_int("id"))
    return None


# --- /_emulator controls ---------------------------------------------------------------------
def _emulator(request: Request) -> ServiceTradeEmulator:
    emulator: ServiceTradeEmulator = request.app.state.emulator
    return emulator


async def control_state(request: Request) -> Response:
    return JSONResponse(_emulator(request).dump())


async def control_comments(request: Request) -> Response:
    job_id = request.query_params.get("jobId")
    account = _emulator(request).account
    return JSONResponse(account.list_comments(3 if job_id else None,
                                              int(job_id) if job_id else None))


async def control_external_ids(request: Request) -> Response:
    try:
        values = _emulator(request).account.external_ids(request.path_params["entity"],
                                                         request.path_params["id"])
    except ApiError as exc:
        return JSONResponse({"error": exc.errors}, status_code=exc.status)
    return JSONResponse(values)


async def control_faults(request: Request) -> Response:
    emulator = _emulator(request)
    if request.method == "POST":
        body = await request.json()
        try:
            emulator.inject(body.get("kind", ""), path_prefix=body.get("path_prefix", "/"),
                            method=body.get("method"), count=int(body.get("count", 1)),
                            delay=float(body.get("delay", 0.0)))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
    elif request.method == "DELETE":
        emulator.faults.clear()
    return JSONResponse([f.to_json() for f in emulator.faults.pending()])


async def control_requests(request: Request) -> Response:
    emulator = _emulator(request)
    if request.method == "DELETE":
        emulator.clear_requests()
    return JSONResponse([{"method": r.method, "path": r.path, "query": r.query,
                          "status": r.status, "time": r.time,
                          "body": r.body.decode("utf-8", "replace")}
                         for r in emulator.requests])


async def control_settings(request: Request) -> Response:
    emulator = _emulator(request)
    if request.method == "PUT":
        body = await request.json()
        if "latency_ms" in body:
            emulator.latency_ms = float(body["latency_ms"])
        if "token_lifetime" in body:
            emulator.account.token_lifetime = float(body["token_lifetime"])
        if "max_sessions_per_user" in body:
            emulator.account.max_sessions_per_user = int(body["max_sessions_per_user"])
    return JSONResponse({"latency_ms": emulator.latency_ms,
                         "token_lifetime": emulator.account.token_lifetime,
                         "max_sessions_per_user": emulator.account.max_sessions_per_user,
                         "login_count": emulator.account.login_count,
                         "sessions": len(emulator.sessions)})


async def control_deliveries(request: Request) -> Response:
    return JSONResponse([{"hook_id": d.hook_id, "hook_url": d.hook_url,
                          "message_id": d.message_id, "outcomes": d.outcomes,
                          "delivered": d.delivered, "dropped": d.dropped}
                         for d in _emulator(request).deliveries])


async def control_update_job(request: Request) -> Response:
    try:
        job = _emulator(request).update_job(request.path_params["id"], **(await request.json()))
    except ApiError as exc:
        return JSONResponse({"error": exc.errors, "validation": exc.validation},
                            status_code=exc.status)
    return JSONResponse(job)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = ("No such ServiceTrade API resource" if status == 404
               else "Method not allowed on this resource")
    return _envelope_error(status, [f"{message}: {request.method} {request.url.path}"],
                           headers={REQUEST_ID_HEADER: uuid.uuid4().hex})


def build_app(emulator: ServiceTradeEmulator) -> Starlette:
    routes = [
        _api("/auth", login, ["POST"], public=True),
        _api("/auth", session_info, ["GET"]),
        _api("/auth", logout, ["DELETE"]),
        _api("/oauth2/token", oauth_token, ["POST"], public=True),
        _api("/job", search_jobs, ["GET"]),
        _api("/job", create_job, ["POST"]),
        _api("/job/{id:int}", get_job, ["GET"]),
        _api("/job/{id:int}", update_job, ["PUT"]),
        *(_api(f"/{entity}/{{id:int}}", _record_reader(entity), ["GET"])
          for entity in ("company", "location", "contract")),
        *(_api(f"/{entity}", _record_lister(entity, key), ["GET"])
          for entity, key in (("company", "companies"), ("location", "locations"),
                              ("contract", "contracts"))),
        _api("/externalid/{entity}/{id}", external_ids, ["GET"]),
        _api("/externalid/{entity}/{first}/{second:path}", external_id,
             ["GET", "POST", "PUT", "DELETE"]),
        _api("/comment", add_comment, ["POST"]),
        _api("/comment", list_comments, ["GET"]),
        _api("/webhook", add_webhook, ["POST"]),
        _api("/webhook", list_webhooks, ["GET"]),
        _api("/webhook/{id:int}", get_webhook, ["GET"]),
        _api("/webhook/{id:int}", update_webhook, ["PUT"]),
        _api("/webhook/{id:int}", delete_webhook, ["DELETE"]),
        Route("/_emulator/state", control_state, methods=["GET"]),
        Route("/_emulator/comments", control_comments, methods=["GET"]),
        Route("/_emulator/external-ids/{entity}/{id:int}", control_external_ids,
              methods=["GET"]),
        Route("/_emulator/faults", control_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/requests", control_requests, methods=["GET", "DELETE"]),
        Route("/_emulator/settings", control_settings, methods=["GET", "PUT"]),
        Route("/_emulator/deliveries", control_deliveries, methods=["GET"]),
        Route("/_emulator/jobs/{id:int}", control_update_job, methods=["PUT"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.emulator = emulator
    return app
