"""Enhanced authentication: OAuth2 client credentials, Bearer tokens, secret rotation.

Hosted Spectrum puts an IdentityServer in front of the web services. Clients get a token from
``/connect/token``, send it as ``Authorization: Bearer``, fetch a new one on 401, and may
rotate their own secret at ``/secretRotation``. Tokens live in memory only (a restart, like
:meth:`TokenIssuer.expire_all`, invalidates them all); secrets are part of the state.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import unquote_plus

from servicetrade_spectrum.emulators.spectrum._state import SpectrumState

__all__ = ["SCOPE", "OAuthError", "TokenIssuer"]

SCOPE: Final = "spectrumapi"


class OAuthError(Exception):
    """An OAuth2 error answer: HTTP 400 with ``{"error": code}``."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.description = description


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """Client credentials sent as HTTP Basic (RFC 6749 allows either place)."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


class TokenIssuer:
    """Issues and checks Bearer tokens for the OAuth clients in the state."""

    def __init__(self, state: SpectrumState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        """token -> expiry (``time.monotonic``)."""

    def _client(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = _basic_credentials(authorization)
        if basic and not client_id:
            client_id, secret = basic
        client = self._state.oauth_clients.get(client_id)
        if client is None or not hmac.compare_digest(
                str(client.get("client_secret", "")).encode(), secret.encode()):
            raise OAuthError("invalid_client")
        expires = client.get("secret_expires_at")
        if expires and datetime.fromisoformat(str(expires)) <= datetime.now(UTC):
            raise OAuthError("invalid_client", "The client secret has expired")
        return client

    def issue(self, form: Mapping[str, str], authorization: str | None,
              lifetime: int) -> dict[str, Any]:
        """``/connect/token``: a token for valid client credentials and scope."""
        with self._state.lock:
            self._client(form, authorization)
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type")
        scope = form.get("scope", SCOPE)
        if scope != SCOPE:
            raise OAuthError("invalid_scope")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + lifetime
        return {"access_token": token, "expires_in": lifetime, "token_type": "Bearer",
                "scope": SCOPE}

    def rotate(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
        """``/secretRotation``: a new secret replaces the current one, when allowed."""
        with self._state.lock:
            client = self._client(form, authorization)
            if not client.get("self_rotation"):
                raise OAuthError("unauthorized_client",
                                 "Self-rotation is not enabled for this client")
            new_secret = secrets.token_urlsafe(24)
            days = int(client.get("secret_lifetime_days", 90))
            expires = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
            client["client_secret"] = new_secret
            client["secret_expires_at"] = expires.isoformat()
        return {"client_secret": new_secret, "estimated_expiration": expires.isoformat()}

    def valid(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries a live Bearer token."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return False
        token = authorization[7:].strip()
        with self._lock:
            expiry = self._tokens.get(token)
            if expiry is not None and expiry <= time.monotonic():
                del self._tokens[token]
                expiry = None
        return expiry is not None

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()
