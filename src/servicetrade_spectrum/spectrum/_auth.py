"""Spectrum's enhanced authentication (hosted Spectrum): OAuth2 client credentials.

``POST {base}/connect/token`` with ``client_id``, ``client_secret``, ``scope=spectrumapi`` and
``grant_type=client_credentials`` answers a Bearer token. The token is cached until shortly
before it expires; one thread fetches at a time, the others wait for its result. A call that
gets 401 drops the token it used and fetches a new one once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["ClientCredentials", "RotatedSecret", "TokenProvider", "TokenRefused",
           "TokenUnavailable"]

_SCOPE = "spectrumapi"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret='***')"


@dataclass(frozen=True, slots=True)
class RotatedSecret:
    client_secret: str
    estimated_expiration: str

    def __repr__(self) -> str:
        return (f"RotatedSecret(client_secret='***', "
                f"estimated_expiration={self.estimated_expiration!r})")


class TokenRefused(Exception):
    """The token endpoint refused the client id or secret: not retryable."""


class TokenUnavailable(Exception):
    """The token endpoint could not be reached or failed (5xx): transient."""


class TokenProvider:
    """Fetches, caches and refreshes the Bearer token of one set of client credentials."""

    def __init__(self, base_url: str, credentials: ClientCredentials, http: httpx.Client,
                 *, refresh_margin: float = 60.0, clock: Any = time.monotonic) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._http = http
        self._margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    @property
    def token_url(self) -> str:
        return f"{self._base_url}/connect/token"

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._token, lifetime = self._fetch()
                self._expires_at = self._clock() + max(0.0, lifetime - self._margin)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after a 401, unless another thread already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _form(self) -> dict[str, str]:
        return {"client_id": self._credentials.client_id,
                "client_secret": self._credentials.client_secret,
                "scope": _SCOPE, "grant_type": "client_credentials"}

    def _post(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.post(url, data=self._form())
        except httpx.TransportError as exc:
            raise TokenUnavailable(f"could not reach {url}: {exc.__class__.__name__}") from exc
        if response.status_code >= 500:
            raise TokenUnavailable(f"{url} answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise TokenRefused(_oauth_error(response))
        try:
            payload = response.json()
        except ValueError as exc:
            raise TokenUnavailable(f"{url} answered something that is not JSON") from exc
        if not isinstance(payload, dict):
            raise TokenUnavailable(f"{url} answered something that is not a JSON object")
        return payload

    def _fetch(self) -> tuple[str, float]:
        payload = self._post(self.token_url)
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenUnavailable("the token endpoint answered without an access_token")
        try:
            lifetime = float(payload.get("expires_in", 300))
        except (TypeError, ValueError):
            lifetime = 300.0
        return token, lifetime

    def rotate_secret(self) -> RotatedSecret:
        """Ask Spectrum for a new client secret (the admin must allow self-rotation)."""
        payload = self._post(f"{self._base_url}/secretRotation")
        secret = payload.get("client_secret")
        if not isinstance(secret, str) or not secret:
            raise TokenUnavailable("the secret rotation answer has no client_secret")
        with self._lock:
            self._credentials = ClientCredentials(self._credentials.client_id, secret)
            self._token = None
        return RotatedSecret(secret, str(payload.get("estimated_expiration", "")))


def _oauth_error(response: httpx.Response) -> str:
    detail = ""
    try:
        payload = response.json()
        if isinstance(payload, dict):
            detail = str(payload.get("error_description") or payload.get("error") or "")
    except ValueError:
        pass
    return f"HTTP {response.status_code}" + (f" ({detail})" if detail else "")
