"""One ServiceTrade client per account and one Spectrum client per connection, per process.

Reusing clients matters: ServiceTrade keeps a limited number of sessions per user and drops
the oldest, so a process logs in once and shares the session; Spectrum clients share their
token cache and keep their connections open.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import TYPE_CHECKING

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.retry import RetryPolicy
from servicetrade_spectrum.servicetrade import (
    OAuthClientCredentials,
    ServiceTradeAuth,
    ServiceTradeClient,
    SessionAuth,
)
from servicetrade_spectrum.spectrum import ClientCredentials, Gate, SpectrumClient
from servicetrade_spectrum.store import AccountConfig, ConnectionConfig, Store

if TYPE_CHECKING:
    from servicetrade_spectrum.sync._spectrum_gate import SharedSpectrumGate

__all__ = ["ClientPool"]


def _fingerprint(*settings: str) -> str:
    """Changed settings or credentials must get a new client, never a stale one; a digest
    keeps the secrets themselves out of the pool's keys."""
    return hashlib.sha256("\x00".join(settings).encode()).hexdigest()


def _close_quietly(client: ServiceTradeClient | SpectrumClient | None) -> None:
    if client is not None:
        with contextlib.suppress(Exception):  # best effort: it is being dropped
            client.close()


class ClientPool:
    def __init__(self, settings: Settings, *, spectrum_gate: Gate | None = None) -> None:
        """``spectrum_gate``: how Spectrum calls share a server's slots (default: this
        process only; :class:`SharedSpectrumGate` for all processes on a database)."""
        self._settings = settings
        self._spectrum_gate = spectrum_gate
        self._lock = threading.Lock()
        # id -> (fingerprint of settings and credentials, client)
        self._servicetrade: dict[int, tuple[str, ServiceTradeClient]] = {}
        self._spectrum: dict[int, tuple[str, SpectrumClient]] = {}
        self._shared_gate: SharedSpectrumGate | None = None
        """Closed with the pool: it may hold a connection of its own."""

    @classmethod
    def sharing_spectrum_slots(cls, settings: Settings, store: Store) -> ClientPool:
        """The pool of a process that sends: its Spectrum calls share each server's
        ``spectrum_concurrency`` slots with every other process on the database."""
        from servicetrade_spectrum.sync._spectrum_gate import SharedSpectrumGate

        gate = SharedSpectrumGate(store, settings.spectrum_concurrency,
                                  request_timeout=settings.spectrum_timeout)
        pool = cls(settings, spectrum_gate=gate.slot)
        pool._shared_gate = gate
        return pool

    @property
    def request_timeout(self) -> float:
        """Seconds after which a ServiceTrade request is given up."""
        return self._settings.servicetrade_timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        s = self._settings
        return RetryPolicy(s.retry_attempts, s.retry_base_delay, s.retry_max_delay)

    def servicetrade(self, account: AccountConfig) -> ServiceTradeClient:
        fingerprint = _fingerprint(account.servicetrade_url, account.auth_kind,
                                   account.username, account.client_id, account.secret)
        with self._lock:
            cached = self._servicetrade.get(account.id)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            stale = cached[1] if cached is not None else None
            auth: ServiceTradeAuth = (
                SessionAuth(account.username, account.secret)
                if account.auth_kind == "session"
                else OAuthClientCredentials(account.client_id, account.secret))
            client = ServiceTradeClient(account.servicetrade_url, auth,
                                        timeout=self._settings.servicetrade_timeout,
                                        retry=self.retry_policy)
            self._servicetrade[account.id] = (fingerprint, client)
        _close_quietly(stale)
        return client

    def spectrum(self, connection: ConnectionConfig) -> SpectrumClient:
        fingerprint = _fingerprint(connection.ws_url, connection.company_code,
                                   connection.authorization_id, connection.client_id,
                                   connection.client_secret)
        with self._lock:
            cached = self._spectrum.get(connection.id)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            stale = cached[1] if cached is not None else None
            credentials = (ClientCredentials(connection.client_id, connection.client_secret)
                           if connection.client_id else None)
            client = SpectrumClient(
                connection.ws_url, authorization_id=connection.authorization_id,
                company_code=connection.company_code, credentials=credentials,
                timeout=self._settings.spectrum_timeout,
                concurrency=self._settings.spectrum_concurrency, retry=self.retry_policy,
                gate=self._spectrum_gate)
            self._spectrum[connection.id] = (fingerprint, client)
        _close_quietly(stale)
        return client

    def close(self) -> None:
        """End ServiceTrade sessions (``DELETE /auth``) and close connections, the shared
        Spectrum gate's listening one included."""
        with self._lock:
            clients: list[ServiceTradeClient | SpectrumClient] = [
                *(client for _, client in self._servicetrade.values()),
                *(client for _, client in self._spectrum.values())]
            self._servicetrade.clear()
            self._spectrum.clear()
        for client in clients:
            _close_quietly(client)
        if self._shared_gate is not None:
            self._shared_gate.close()
