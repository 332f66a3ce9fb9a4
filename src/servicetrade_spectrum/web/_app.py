"""The web application: pages (Jinja2), the REST API (``/api/v1``, OpenAPI at ``/docs``) and
the ServiceTrade webhook intake."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicetrade_spectrum import __version__
from servicetrade_spectrum.servicetrade import ServiceTradeError
from servicetrade_spectrum.store import NotFound
from servicetrade_spectrum.sync import JobNotFound
from servicetrade_spectrum.web import api, pages
from servicetrade_spectrum.web._errors import ApiProblem, PageProblem, SignInRequired
from servicetrade_spectrum.web._hooks import hooks_router
from servicetrade_spectrum.web._services import WebServices
from servicetrade_spectrum.web._templates import render

__all__ = ["create_app"]

_TITLES = {400: "That request is not valid", 401: "Sign-in needed", 403: "Not allowed",
           404: "Not found", 405: "Not allowed", 409: "Conflict", 429: "Too many attempts",
           503: "Unavailable"}

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # /docs loads Swagger UI from a CDN; every other page needs nothing from elsewhere.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'",
}


def _is_api(request: Request) -> bool:
    return _is_api_path(request.url.path)


def _is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def _problem(request: Request, status: int, message: str, code: str = "") -> Response:
    if _is_api(request):
        return JSONResponse({"error": {"code": code or _code(status), "message": message}},
                            status_code=status)
    return render(request, "error.html", {"title": _TITLES.get(status, "Error"),
                                          "message": message}, status_code=status)


def _code(status: int) -> str:
    return {400: "invalid_request", 401: "unauthenticated", 403: "forbidden",
            404: "not_found", 405: "method_not_allowed", 409: "conflict",
            422: "invalid_request", 503: "unavailable"}.get(status, "error")


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(PageProblem)
    async def page_problem(request: Request, exc: PageProblem) -> Response:
        return _problem(request, exc.status, exc.message)

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> Response:
        response = _problem(request, exc.status, exc.message, exc.code)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _problem(request, 404, str(exc))

    @app.exception_handler(JobNotFound)
    async def job_not_found(request: Request, exc: JobNotFound) -> Response:
        return _problem(request, 404, str(exc))

    @app.exception_handler(ServiceTradeError)
    async def servicetrade_unavailable(request: Request, exc: ServiceTradeError) -> Response:
        # Every page and API call that reads ServiceTrade: its failure is a 503 that says
        # so (the client has already retried), never a server error.
        return _problem(request, 503, f"ServiceTrade did not answer ({exc}). Nothing was "
                                      "changed: try again in a minute.",
                        "servicetrade_unavailable")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = (exc.detail if isinstance(exc.detail, str) and exc.status_code != 404
                   else "There is nothing at this address in your account.")
        return _problem(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else "Invalid request."
        if _is_api(request):
            # Without each error's "input": it can be the whole body, secrets included.
            details = [{k: v for k, v in error.items() if k != "input"}
                       for error in exc.errors()]
            return JSONResponse({"error": {"code": "invalid_request", "message": message,
                                           "details": details}}, status_code=422)
        return _problem(request, 400, message)


class _SecurityHeaders:
    """Security headers and CSP on every response (not on ``/docs``, whose page needs its CDN
    script), and ``Cache-Control: no-store`` on pages, which carry account data.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs every request
    through a task group and memory streams, a cost each webhook delivery paid too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    if name == "Content-Security-Policy" and path.startswith("/docs"):
                        continue
                    if name not in headers:
                        headers.append(name, value)
                if not _is_api_path(path) and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(services: WebServices) -> FastAPI:
    app = FastAPI(title="st-spectrum", version=__version__, docs_url="/docs", redoc_url=None,
                  description="Send ServiceTrade jobs to Trimble Spectrum as work orders. "
                              "Authenticate with 'Authorization: Bearer <token>' (make one "
                              "with 'st-spectrum token create --user EMAIL').")
    app.state.services = services
    _install_error_pages(app)

    app.add_middleware(_SecurityHeaders)

    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))),
              name="static")
    app.include_router(hooks_router(services.store, services.wake))
    for router in pages.routers():
        app.include_router(router)
    app.include_router(api.router(), prefix="/api/v1")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
