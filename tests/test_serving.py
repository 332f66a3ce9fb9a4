"""The product's servers run on uvicorn's C HTTP parser and uvloop (httptools and uvloop
are dependencies; uvicorn picks them by itself): acknowledgements under a webhook burst
depend on it (docs/decisions.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from servicetrade_spectrum.serving import BackgroundServer


async def loop_reporter(scope: Any, receive: Any, send: Any) -> None:
    """Answers every request with the module of the event loop serving it."""
    if scope["type"] != "http":
        return
    loop = type(asyncio.get_running_loop())
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": loop.__module__.encode()})


def test_a_server_parses_http_with_httptools_on_uvloop() -> None:
    with BackgroundServer(loop_reporter) as server:
        answer = httpx.get(server.url, timeout=10)
        protocol = server._server.config.http_protocol_class
    assert answer.status_code == 200
    assert answer.text.startswith("uvloop")
    assert protocol.__name__ == "HttpToolsProtocol"
