"""Who is asking: browser sessions (pages), API tokens (REST API), CSRF, and roles.

Pages: the ``st_session`` cookie (HttpOnly, SameSite=Lax, Secure whenever the request came
over HTTPS) holds a random token; the store keeps its digest and the session's CSRF token.
Every POST from a page must carry that CSRF token as the form field ``csrf_token``.

API: ``Authorization: Bearer sts_...``, a personal token made by ``st-spectrum token
create``. No cookies are read there, so no CSRF is needed.

A user only ever reaches their own account's records; anything else is answered like a
record that does not exist (404), so IDs of other accounts cannot be probed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from servicetrade_spectrum.store import BrowserSession, UserRecord
from servicetrade_spectrum.web._errors import ApiProblem, PageProblem, SignInRequired
from servicetrade_spectrum.web._services import WebServices

__all__ = [
    "NOTICE_COOKIE",
    "SESSION_COOKIE",
    "Admin",
    "AdminForm",
    "ApiAdmin",
    "ApiUser",
    "Form",
    "SignedIn",
    "Viewer",
    "clear_session_cookie",
    "read_notice",
    "services_of",
    "set_cookie",
    "set_notice",
    "set_session_cookie",
]

SESSION_COOKIE = "st_session"
NOTICE_COOKIE = "st_notice"


def services_of(request: Request) -> WebServices:
    services: WebServices = request.app.state.services
    return services


def set_cookie(response: Response, request: Request, name: str, value: str, *,
               max_age: int, path: str = "/", samesite: Literal["lax", "strict"] = "lax"
               ) -> None:
    """Every cookie of the app: HttpOnly, and Secure whenever the request came over HTTPS
    (or ``secure_cookies`` says the proxy in front does HTTPS)."""
    secure = request.url.scheme == "https" or services_of(request).settings.secure_cookies
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite=samesite,
                        secure=secure, path=path)


def set_session_cookie(response: Response, request: Request, token: str,
                       max_age: int) -> None:
    set_cookie(response, request, SESSION_COOKIE, token, max_age=max_age)


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


@dataclass(frozen=True)
class SignedIn:
    """A signed-in browser: the user, their CSRF token, and the cookie's token."""

    user: UserRecord
    csrf_token: str
    token: str

    @property
    def account_id(self) -> int:
        return self.user.account_id


async def _browser_session(request: Request) -> tuple[str, BrowserSession] | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    store = services_of(request).store
    found = await run_in_threadpool(store.users.session_for, token)
    return (token, found) if found is not None else None


async def signed_in(request: Request) -> SignedIn:
    """Dependency of every page: the signed-in user, or a redirect to the sign-in page."""
    found = await _browser_session(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(f"/login?next={quote(target, safe='')}")
    token, session = found
    request.state.signed_in = SignedIn(session.user, session.csrf_token, token)
    return request.state.signed_in  # type: ignore[no-any-return]


async def form_signed_in(request: Request,
                         viewer: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    """Dependency of every page POST: signed in, and the form carries the session's CSRF
    token (so another site cannot make the browser submit it)."""
    form = await request.form()
    sent = str(form.get("csrf_token", ""))
    if not hmac.compare_digest(sent.encode(), viewer.csrf_token.encode()):
        raise PageProblem(403, "This form has expired or did not come from st-spectrum: "
                               "reload the page and try again.")
    return viewer


def _require_admin(user: UserRecord) -> None:
    if not user.is_admin:
        raise PageProblem(403, "Only an admin of this account can do this: ask one to make "
                               "you an admin, or to do it for you.")


async def admin_page(viewer: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    _require_admin(viewer.user)
    return viewer


async def admin_form(viewer: Annotated[SignedIn, Depends(form_signed_in)]) -> SignedIn:
    _require_admin(viewer.user)
    return viewer


Viewer = Annotated[SignedIn, Depends(signed_in)]
"""A page's signed-in user."""
Form = Annotated[SignedIn, Depends(form_signed_in)]
"""A page POST's signed-in user, CSRF checked."""
Admin = Annotated[SignedIn, Depends(admin_page)]
"""An admin page's signed-in admin."""
AdminForm = Annotated[SignedIn, Depends(admin_form)]
"""An admin page POST's signed-in admin, CSRF checked."""


# -- the REST API --------------------------------------------------------------------------
async def api_user(request: Request) -> UserRecord:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "unauthenticated",
                         "Send a personal API token as 'Authorization: Bearer <token>' "
                         "(make one with 'st-spectrum token create --user EMAIL').")
    store = services_of(request).store
    user = await run_in_threadpool(store.users.user_for_token, token.strip())
    if user is None:
        raise ApiProblem(401, "unauthenticated",
                         "This API token is not valid (revoked, or mistyped): make a new one "
                         "with 'st-spectrum token create --user EMAIL'.")
    return user


async def api_admin(user: Annotated[UserRecord, Depends(api_user)]) -> UserRecord:
    if not user.is_admin:
        raise ApiProblem(403, "forbidden", "Only an admin of this account can do this.")
    return user


ApiUser = Annotated[UserRecord, Depends(api_user)]
ApiAdmin = Annotated[UserRecord, Depends(api_admin)]


# -- one-off notices after a redirect ("Connection 'Main' added") ------------------------------
def _notice_mac(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def set_notice(response: Response, request: Request, viewer: SignedIn, text: str) -> None:
    """Show ``text`` on the next page this browser opens. Signed with the session's CSRF
    token, so no other site (or user) can plant a message."""
    encoded = base64.urlsafe_b64encode(text.encode()).decode()
    set_cookie(response, request, NOTICE_COOKIE,
               f"{encoded}.{_notice_mac(viewer.csrf_token, text)}", max_age=60)


def read_notice(request: Request, viewer: SignedIn) -> str:
    """The notice a redirect left for this page ('' when none, or when it was forged)."""
    raw = request.cookies.get(NOTICE_COOKIE, "")
    encoded, _, mac = raw.partition(".")
    try:
        text = base64.urlsafe_b64decode(encoded.encode()).decode()
    except ValueError:
        return ""
    return text if text and hmac.compare_digest(mac, _notice_mac(viewer.csrf_token, text)) else ""
