"""Fixtures: a ServiceTrade emulator on a real loopback port, and clients pointed at it.

One server runs for the whole session (starting and stopping uvicorn per test would be most of
the run time); each test gets a fresh emulator, which the server's app forwards to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from servicetrade_spectrum.emulators.seed import (
    DEMO_OAUTH_CLIENT_ID,
    DEMO_OAUTH_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
)
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.retry import RetryPolicy
from servicetrade_spectrum.servicetrade import (
    OAuthClientCredentials,
    ServiceTradeAuth,
    ServiceTradeClient,
    SessionAuth,
)
from servicetrade_spectrum.serving import BackgroundServer, SwitchableApp

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


class SleepRecorder:
    """Stands in for ``time.sleep``: records the waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def emulator() -> Iterator[ServiceTradeEmulator]:
    emu = ServiceTradeEmulator.from_seed(webhook_retry_delay=0.01)
    yield emu
    emu.close()


@pytest.fixture(scope="session")
def shared_server() -> Iterator[tuple[BackgroundServer, SwitchableApp]]:
    app = SwitchableApp()
    with BackgroundServer(app) as server:
        yield server, app


@pytest.fixture
def api_url(emulator: ServiceTradeEmulator,
            shared_server: tuple[BackgroundServer, SwitchableApp]) -> str:
    server, app = shared_server
    app.target = emulator.app
    return f"{server.url}/api"


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_client(api_url: str, sleeps: SleepRecorder
                ) -> Iterator[Callable[..., ServiceTradeClient]]:
    clients: list[ServiceTradeClient] = []

    def make(auth: ServiceTradeAuth | None = None, **options: object) -> ServiceTradeClient:
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("sleep", sleeps)
        client = ServiceTradeClient(api_url, auth or SessionAuth(DEMO_USERNAME, DEMO_PASSWORD),
                                    **options)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., ServiceTradeClient]) -> ServiceTradeClient:
    """A session-authenticated client."""
    return make_client()


@pytest.fixture
def oauth_client(make_client: Callable[..., ServiceTradeClient]) -> ServiceTradeClient:
    return make_client(OAuthClientCredentials(DEMO_OAUTH_CLIENT_ID, DEMO_OAUTH_CLIENT_SECRET))
