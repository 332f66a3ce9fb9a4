"""Fixtures: a seeded Spectrum emulator on a real loopback port, and clients for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from servicetrade_spectrum.emulators.seed import DEMO_AUTHORIZATION_ID, DEMO_COMPANY_CODE
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.retry import RetryPolicy
from servicetrade_spectrum.serving import BackgroundServer
from servicetrade_spectrum.spectrum import SpectrumClient


@pytest.fixture
def emulator() -> SpectrumEmulator:
    return SpectrumEmulator.from_seed()


@pytest.fixture
def server(emulator: SpectrumEmulator) -> Iterator[BackgroundServer]:
    with BackgroundServer(emulator.app) as running:
        yield running


@pytest.fixture
def ws_url(server: BackgroundServer) -> str:
    return f"{server.url}/ws"


@pytest.fixture
def make_client(ws_url: str) -> Iterator[Callable[..., SpectrumClient]]:
    clients: list[SpectrumClient] = []

    def make(**overrides: Any) -> SpectrumClient:
        options: dict[str, Any] = {
            "authorization_id": DEMO_AUTHORIZATION_ID,
            "company_code": DEMO_COMPANY_CODE,
            "timeout": 5.0,
            "retry": RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05),
        }
        options.update(overrides)
        url = options.pop("ws_url", ws_url)
        client = SpectrumClient(url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., SpectrumClient]) -> SpectrumClient:
    return make_client()
