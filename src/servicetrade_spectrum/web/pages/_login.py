"""``/login`` and ``/logout``.

The sign-in form has no session yet, so its CSRF token is a double-submit cookie: a random
value in a cookie and in the form, which another site can neither read nor set.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from servicetrade_spectrum.store import SESSION_LIFETIME
from servicetrade_spectrum.web._auth import (
    Form as SignedInForm,
)
from servicetrade_spectrum.web._auth import (
    clear_session_cookie,
    services_of,
    set_cookie,
    set_session_cookie,
)
from servicetrade_spectrum.web._templates import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "st_login_csrf"


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to another one."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/jobs"
    return target


def _login_page(request: Request, *, next_url: str, email: str = "", error: str = "",
                status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"login_csrf": token, "next": next_url,
                                              "email": email, "error": error},
                      status_code=status_code)
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login",
               samesite="strict")
    return response


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/jobs", status_code=303)


@router.get("/login")
async def login_form(request: Request, next: str = "/jobs") -> Response:
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
async def login(request: Request, email: Annotated[str, Form()],
                password: Annotated[str, Form()],
                csrf_token: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "/jobs") -> Response:
    next_url = _safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_page(request, next_url=next_url, email=email, status_code=403,
                           error="The sign-in form expired: enter your email and password "
                                 "again.")
    services = services_of(request)
    limiter = services.sign_in_limiter
    address = request.client.host if request.client else ""
    key = email.strip().lower()
    wait = limiter.wait_seconds(key, address)
    if wait > 0:
        return _login_page(request, next_url=next_url, email=email, status_code=429,
                           error=f"Too many failed sign-ins: try again in "
                                 f"{max(1, round(wait / 60))} minute(s).")
    user = await run_in_threadpool(services.store.users.authenticate, email, password)
    if user is None:
        limiter.failed(key, address)
        return _login_page(request, next_url=next_url, email=email, status_code=401,
                           error="That email and password do not match: check both, or ask "
                                 "an admin of your account to set a new password.")
    limiter.succeeded(key)
    token, _session = await run_in_threadpool(services.store.users.start_session, user.id)
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, request, token, int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.get("/login/link/{token}")
async def login_by_link(request: Request, token: str) -> Response:
    """A one-time sign-in link (``st-spectrum user link``, the demo)."""
    store = services_of(request).store
    user = await run_in_threadpool(store.users.use_sign_in_link, token)
    if user is None:
        return _login_page(request, next_url="/jobs", status_code=401,
                           error="This sign-in link has expired or was used already: sign in "
                                 "with your password, or ask for a new link.")
    session_token, _session = await run_in_threadpool(store.users.start_session, user.id)
    response = RedirectResponse("/jobs", status_code=303)
    set_session_cookie(response, request, session_token, int(SESSION_LIFETIME.total_seconds()))
    return response


@router.post("/logout")
async def logout(request: Request, viewer: SignedInForm) -> Response:
    await run_in_threadpool(services_of(request).store.users.end_session, viewer.token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response

