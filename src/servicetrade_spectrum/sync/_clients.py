"""One ServiceTrade client per account and one Spectrum client per connection, per process.

Reusing clients matters: ServiceTrade keeps a limited number of sessions per user and drops
the oldest, so a process logs in once and shares the session; Spectrum clients share their
token cache and keep their connections open.
"""

from __future__ import annotations

import contextlib
import threading

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.retry import RetryPolicy
from servicetrade_spectrum.servicetrade import (
    OAuthClientCredentials,
    ServiceTradeAuth,
    ServiceTradeClient,
    SessionAuth,
)
from servicetrade_spectrum.spectrum import ClientCredentials, SpectrumClient
from servicetrade_spectrum.store import AccountConfig, ConnectionConfig

__all__ = ["ClientPool"]


class ClientPool:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._servicetrade: dict[tuple[int, str, str], ServiceTradeClient] = {}
        self._spectrum: dict[tuple[int, str, str], SpectrumClient] = {}

    @property
    def retry_policy(self) -> RetryPolicy:
        s = self._settings
        return RetryPolicy(s.retry_attempts, s.retry_base_delay, s.retry_max_delay)

    def servicetrade(self, account: AccountConfig) -> ServiceTradeClient:
        # Keyed by what identifies the login too, so changed credentials get a new client.
        key = (account.id, account.servicetrade_url, account.username or account.client_id)
        with self._lock:
            client = self._servicetrade.get(key)
            if client is None:
                auth: ServiceTradeAuth = (
                    SessionAuth(account.username, account.secret)
                    if account.auth_kind == "session"
                    else OAuthClientCredentials(account.client_id, account.secret))
                client = ServiceTradeClient(account.servicetrade_url, auth,
                                            timeout=self._settings.servicetrade_timeout,
                                            retry=self.retry_policy)
                self._servicetrade[key] = client
            return client

    def spectrum(self, connection: ConnectionConfig) -> SpectrumClient:
        key = (connection.id, connection.ws_url, connection.company_code)
        with self._lock:
            client = self._spectrum.get(key)
            if client is None:
                credentials = (ClientCredentials(connection.client_id, connection.client_secret)
                               if connection.client_id else None)
                client = SpectrumClient(
                    connection.ws_url, authorization_id=connection.authorization_id,
                    company_code=connection.company_code, credentials=credentials,
                    timeout=self._settings.spectrum_timeout,
                    concurrency=self._settings.spectrum_concurrency, retry=self.retry_policy)
                self._spectrum[key] = client
            return client

    def close(self) -> None:
        """End ServiceTrade sessions (``DELETE /auth``) and close connections."""
        with self._lock:
            clients: list[ServiceTradeClient | SpectrumClient] = [
                *self._servicetrade.values(), *self._spectrum.values()]
            self._servicetrade.clear()
            self._spectrum.clear()
        for client in clients:
            with contextlib.suppress(Exception):  # best effort: the process is ending
                client.close()
