"""The HTTP face of the emulator: Spectrum's endpoints plus ``/_emulator/`` controls.

``/ws/{Service}`` runs in this order, like a live server behind its proxy: count the call,
consume an injected fault, wait the configured latency, check the Bearer token (enhanced
authentication), bind the SOAP body to the layout, run the service, write the answer.
The control endpoints let a separate process (demo, benchmarks) steer and inspect it.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from servicetrade_spectrum.emulators.spectrum._auth import OAuthError
from servicetrade_spectrum.emulators.spectrum._faults import Fault, FaultKind, canned_reply
from servicetrade_spectrum.emulators.spectrum._requests import RequestFault, parse_call
from servicetrade_spectrum.emulators.spectrum._responses import (
    get_response,
    put_response,
    soap_fault,
)
from servicetrade_spectrum.emulators.spectrum._services import Answer, perform
from servicetrade_spectrum.emulators.spectrum._wsdl import wsdl
from servicetrade_spectrum.spectrum._layouts import LAYOUTS

if TYPE_CHECKING:
    from servicetrade_spectrum.emulators.spectrum._emulator import (
        RecordedRequest,
        SpectrumEmulator,
    )

__all__ = ["build_app", "truncate"]

_XML = "text/xml; charset=utf-8"
_AUTHORIZATION_ID = re.compile(r"(<(?:[\w.-]+:)?Authorization_ID(?:\s[^>]*)?>)[^<]*(</)")


def truncate(payload: bytes, cut_bytes: int) -> bytes:
    """Cut ``cut_bytes`` off the end, or by default everything after the last data row."""
    if cut_bytes:
        return payload[:-cut_bytes]
    end = payload.rfind(b"</response>")
    if end >= 0:
        return payload[:end + len(b"</response>")]
    return payload[:payload.rfind(b"</returnData>")]


def _render(service: str, answer: Answer) -> bytes:
    if answer.records is None:
        return put_response(service, answer.rows)
    return get_response(service, answer.columns, answer.records, answer.rows)


def _form(body: bytes) -> dict[str, str]:
    return {name: values[0] for name, values in
            parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _redacted(request: RecordedRequest) -> dict[str, Any]:
    """A recorded call as JSON, without the secrets it carried."""
    headers = {name: ("***" if name == "authorization" else value)
               for name, value in request.headers.items()}
    return {"service": request.service, "method": request.method, "path": request.path,
            "headers": headers, "body": _AUTHORIZATION_ID.sub(r"\1***\2", request.body),
            "guid": request.guid, "authorization_id": "***" if request.authorization_id else "",
            "received_at": request.received_at.isoformat(), "fault": request.fault}


def build_app(emu: SpectrumEmulator) -> Starlette:
    """The ASGI app serving ``emu``."""

    async def delay() -> None:
        if emu.settings.latency_ms > 0:
            await asyncio.sleep(emu.settings.latency_ms / 1000)

    async def web_service(request: Request) -> Response:
        service = request.path_params["service"]
        body = await request.body()
        with emu.handling():
            fault = emu.faults.take(service)
            emu.record(service, request.method, request.url.path, request.headers, body,
                       fault.kind.value if fault else "")
            await delay()
            if fault is not None and fault.kind is FaultKind.SLOW:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.fails_call:
                reply = canned_reply(fault, service)
                return Response(reply.body, reply.status, dict(reply.headers),
                                media_type=reply.content_type)
            if emu.settings.enhanced_auth and not emu.tokens.valid(
                    request.headers.get("authorization")):
                return Response(b"", 401, {"WWW-Authenticate": "Bearer"})
            try:
                call = parse_call(service, body)
            except RequestFault as exc:
                return Response(soap_fault(exc.faultcode, exc.faultstring), 500,
                                media_type=_XML)
            payload = _render(service, perform(emu.state, call, emu.settings.success_style))
            if fault is not None and fault.kind is FaultKind.TRUNCATE:
                payload = truncate(payload, fault.cut_bytes)
            return Response(payload, 200, media_type=_XML)

    async def oauth(request: Request) -> Response:
        body = await request.body()
        name = request.url.path.strip("/")
        emu.record(name, request.method, request.url.path, request.headers, body)
        await delay()
        form, authorization = _form(body), request.headers.get("authorization")
        try:
            if name == "secretRotation":
                answer = emu.tokens.rotate(form, authorization)
            else:
                answer = emu.tokens.issue(form, authorization, emu.settings.token_lifetime)
        except OAuthError as exc:
            error = {"error": exc.error}
            if exc.description:
                error["error_description"] = exc.description
            return JSONResponse(error, 400, {"Cache-Control": "no-store"})
        return JSONResponse(answer, 200, {"Cache-Control": "no-store"})

    async def service_description(request: Request) -> Response:
        layout = LAYOUTS.get(request.path_params["name"])
        if layout is None:
            return Response(b"<html><body><h1>404 Not Found</h1></body></html>", 404,
                            media_type="text/html")
        endpoint = str(request.base_url).rstrip("/") + f"/ws/{layout.service}"
        return Response(wsdl(layout, endpoint), 200, media_type=_XML)

    async def state(_request: Request) -> Response:
        return JSONResponse(emu.dump())

    async def work_orders(_request: Request) -> Response:
        return JSONResponse(emu.work_orders())

    async def requests(_request: Request) -> Response:
        return JSONResponse([_redacted(r) for r in emu.requests])

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emu.clear_faults()
            return JSONResponse({"faults": []})
        if request.method == "POST":
            try:
                fault = Fault(**(await request.json()))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
            emu.faults.arm(fault)
        return JSONResponse({"faults": [f.as_dict() for f in emu.faults.pending()]})

    async def settings(request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise TypeError("expected a JSON object")
                emu.settings.update(changes)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(emu.settings.as_dict())

    async def stats(request: Request) -> Response:
        if request.method == "DELETE":
            emu.reset_stats()
        handled, seconds = emu.handled
        return JSONResponse({"max_in_flight": emu.max_in_flight, "in_flight": emu.in_flight,
                             "requests": len(emu.requests), "handled": handled,
                             "handled_seconds": round(seconds, 6)})

    async def expire_tokens(_request: Request) -> Response:
        emu.expire_tokens()
        return JSONResponse({"expired": True})

    return Starlette(routes=[
        Route("/ws/{service}", web_service, methods=["POST"]),
        Route("/wsdls/{name}.jws", service_description, methods=["GET"]),
        Route("/connect/token", oauth, methods=["POST"]),
        Route("/secretRotation", oauth, methods=["POST"]),
        Route("/_emulator/state", state, methods=["GET"]),
        Route("/_emulator/work-orders", work_orders, methods=["GET"]),
        Route("/_emulator/requests", requests, methods=["GET"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/settings", settings, methods=["GET", "POST"]),
        Route("/_emulator/stats", stats, methods=["GET", "DELETE"]),
        Route("/_emulator/expire-tokens", expire_tokens, methods=["POST"]),
    ])
