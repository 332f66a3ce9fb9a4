"""The two ways to authenticate to ServiceTrade, and keeping one credential per process.

Session
    ``POST /auth {"username", "password"}`` answers ``data.authToken``, sent back as the cookie
    ``PHPSESSID``. ServiceTrade keeps a few sessions per user and drops the oldest, so a client
    that logged in per call would log its own other threads out: one session is shared, a 401
    logs in again (once, by one thread), and ``DELETE /auth`` ends it on close.
OAuth2
    ``POST /oauth2/token`` (form-encoded), grant ``client_credentials`` or ``refresh_token``.
    The token is renewed shortly before it expires, by one thread at a time (a rotated refresh
    token is single-use: two concurrent refreshes would invalidate each other).

Credentials are held privately and never appear in a repr, a log line or an exception.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from servicetrade_spectrum.logs import get_logger
from servicetrade_spectrum.servicetrade._exceptions import (
    AuthenticationFailed,
    UnexpectedResponse,
)
from servicetrade_spectrum.servicetrade._responses import (
    REQUEST_ID_HEADER,
    envelope_data,
    error_for,
    transport_error,
)

__all__ = [
    "Authenticator",
    "Credential",
    "OAuthClientCredentials",
    "OAuthRefreshToken",
    "ServiceTradeAuth",
    "SessionAuth",
    "make_authenticator",
]

_log = get_logger(__name__)

SESSION_COOKIE = "PHPSESSID"
REFRESH_MARGIN_SECONDS = 60.0
"""Renew an OAuth token this long before it expires (or at half its life, if sooner)."""


def _reveal(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


@dataclass(frozen=True)
class SessionAuth:
    """Log in with a ServiceTrade user's username and password (session cookie)."""

    username: str
    password: str | SecretStr = field(repr=False)


@dataclass(frozen=True)
class OAuthClientCredentials:
    """OAuth2 client-credentials grant: an API client's ID and secret."""

    client_id: str
    client_secret: str | SecretStr = field(repr=False)


@dataclass(frozen=True)
class OAuthRefreshToken:
    """OAuth2 refresh-token grant. ServiceTrade may rotate the refresh token on every use:
    ``on_rotate`` receives each new one so the caller can store it (the old one is dead)."""

    client_id: str
    refresh_token: str | SecretStr = field(repr=False)
    client_secret: str | SecretStr | None = field(default=None, repr=False)
    on_rotate: Callable[[str], None] | None = field(default=None, repr=False, compare=False)


ServiceTradeAuth = SessionAuth | OAuthClientCredentials | OAuthRefreshToken


@dataclass(frozen=True)
class Credential:
    """What to add to a request, and which login produced it (to spot a stale one on 401)."""

    generation: int
    headers: dict[str, str] = field(repr=False)


class Authenticator(Protocol):
    def credential(self) -> Credential:
        """The current credential, logging in or refreshing first when needed."""

    def renew(self, stale: Credential) -> Credential:
        """After a 401 with ``stale``: log in again, unless another thread already did."""

    def close(self) -> None:
        """End the session, if there is one. Never raises."""


def _send(http: httpx.Client, request: httpx.Request, *, what: str) -> httpx.Response:
    try:
        return http.send(request)
    except httpx.TransportError as exc:
        raise transport_error(exc, request, what=what) from exc


class _SessionAuthenticator:
    def __init__(self, http: httpx.Client, base_url: str, auth: SessionAuth) -> None:
        self._http = http
        self._base_url = base_url
        self._auth = auth
        self._lock = threading.Lock()
        self._token: str | None = None
        self._generation = 0

    def _login(self) -> None:
        request = self._http.build_request(
            "POST", f"{self._base_url}/auth",
            json={"username": self._auth.username, "password": _reveal(self._auth.password)})
        response = _send(self._http, request, what="login")
        if response.status_code in (400, 401, 403):
            raise AuthenticationFailed(
                f"ServiceTrade refused the login of user {self._auth.username!r} "
                f"(HTTP {response.status_code}); check the username and password of the "
                "account's ServiceTrade API user",
                request_id=response.headers.get(REQUEST_ID_HEADER))
        if not response.is_success:
            raise error_for(response, what="login")
        data = envelope_data(response, what="login")
        token = data.get("authToken") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise UnexpectedResponse("ServiceTrade's login answer has no data.authToken; "
                                     "check that the ServiceTrade URL is the API root",
                                     request_id=response.headers.get(REQUEST_ID_HEADER))
        self._token = token
        self._generation += 1
        _log.info("servicetrade.login", username=self._auth.username,
                  request_id=response.headers.get(REQUEST_ID_HEADER))

    def _current(self) -> Credential:
        assert self._token is not None
        return Credential(self._generation, {"Cookie": f"{SESSION_COOKIE}={self._token}"})

    def credential(self) -> Credential:
        with self._lock:
            if self._token is None:
                self._login()
            return self._current()

    def renew(self, stale: Credential) -> Credential:
        with self._lock:
            if self._token is None or self._generation == stale.generation:
                self._token = None
                self._login()
            return self._current()

    def close(self) -> None:
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        request = self._http.build_request("DELETE", f"{self._base_url}/auth",
                                           headers={"Cookie": f"{SESSION_COOKIE}={token}"})
        try:
            self._http.send(request)
        except httpx.HTTPError as exc:  # best effort: the session expires on its own
            _log.warning("servicetrade.logout_failed", error=type(exc).__name__)


class _OAuthAuthenticator:
    def __init__(self, http: httpx.Client, base_url: str,
                 auth: OAuthClientCredentials | OAuthRefreshToken,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._base_url = base_url
        self._auth = auth
        self._clock = clock
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._renew_at = 0.0
        self._generation = 0
        self._refresh_token: str | None = (
            _reveal(auth.refresh_token) if isinstance(auth, OAuthRefreshToken) else None)

    def _form(self) -> dict[str, str]:
        auth = self._auth
        if isinstance(auth, OAuthClientCredentials):
            return {"grant_type": "client_credentials", "client_id": auth.client_id,
                    "client_secret": _reveal(auth.client_secret)}
        assert self._refresh_token is not None
        form = {"grant_type": "refresh_token", "client_id": auth.client_id,
                "refresh_token": self._refresh_token}
        if auth.client_secret is not None:
            form["client_secret"] = _reveal(auth.client_secret)
        return form

    def _fetch_token(self) -> None:
        request = self._http.build_request("POST", f"{self._base_url}/oauth2/token",
                                           data=self._form())
        response = _send(self._http, request, what="OAuth token")
        request_id = response.headers.get(REQUEST_ID_HEADER)
        if response.status_code in (400, 401, 403):
            grant = ("refresh token" if isinstance(self._auth, OAuthRefreshToken)
                     else "client secret")
            raise AuthenticationFailed(
                f"ServiceTrade refused the OAuth {grant} of client {self._auth.client_id!r} "
                f"(HTTP {response.status_code}); re-enter the client ID and secret (or "
                "authorize again for a new refresh token)", request_id=request_id)
        if response.status_code == 429 or response.status_code >= 500:
            raise error_for(response, what="OAuth token")
        body = self._token_body(response)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise UnexpectedResponse("ServiceTrade's OAuth answer has no access_token; check "
                                     "that the ServiceTrade URL is the API root",
                                     request_id=request_id)
        lifetime = body.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
        self._access_token = token
        self._renew_at = self._clock() + lifetime - margin
        self._generation += 1
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and isinstance(self._auth, OAuthRefreshToken):
            self._refresh_token = rotated
            if self._auth.on_rotate is not None:
                self._auth.on_rotate(rotated)
        _log.info("servicetrade.oauth_token", client_id=self._auth.client_id,
                  expires_in=lifetime, request_id=request_id)

    @staticmethod
    def _token_body(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            body = body["data"]  # tolerate the API envelope around the token answer
        if not isinstance(body, dict):
            raise UnexpectedResponse(
                f"ServiceTrade's OAuth answer (HTTP {response.status_code}) is not a JSON "
                "object; check that the ServiceTrade URL is the API root ending in /api",
                request_id=response.headers.get(REQUEST_ID_HEADER))
        return body

    def _current(self) -> Credential:
        return Credential(self._generation, {"Authorization": f"Bearer {self._access_token}"})

    def credential(self) -> Credential:
        with self._lock:
            if self._access_token is None or self._clock() >= self._renew_at:
                self._fetch_token()
            return self._current()

    def renew(self, stale: Credential) -> Credential:
        with self._lock:
            if self._access_token is None or self._generation == stale.generation:
                self._access_token = None
                self._fetch_token()
            return self._current()

    def close(self) -> None:
        with self._lock:
            self._access_token = None


def make_authenticator(http: httpx.Client, base_url: str, auth: ServiceTradeAuth,
                       *, clock: Callable[[], float] = time.monotonic) -> Authenticator:
    if isinstance(auth, SessionAuth):
        return _SessionAuthenticator(http, base_url, auth)
    return _OAuthAuthenticator(http, base_url, auth, clock)

