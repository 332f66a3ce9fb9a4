"""Serve an ASGI app on a real TCP port from a background thread.

Tests, the demo and the benchmarks all need the emulators (and later the web app) listening
on loopback while the calling code goes on. ``BackgroundServer`` binds the socket itself
(port 0 picks a free port), so the address is known before the first request and no two
test runs race for a port.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

__all__ = ["BackgroundServer", "listening_socket"]


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound TCP socket for uvicorn's ``sockets=``; port 0 picks a free port.

    TCP_NODELAY is set here and inherited by accepted sockets: without it uvicorn's separate
    writes of headers and body meet Nagle + delayed ACK, and every answer waits ~40 ms
    (measured on loopback: 43 ms -> 1.7 ms per call).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    # Listening now, not when uvicorn gets to it: a client told the address (it is printed
    # as soon as it is known) waits in the backlog instead of being refused.
    sock.listen(2048)
    return sock


class BackgroundServer:
    """Run ``app`` under uvicorn on ``host:port`` until :meth:`stop` (or the ``with`` ends)."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning") -> None:
        self._socket = listening_socket(host, port)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level=log_level, access_log=False,
                                lifespan="auto", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"server:{self.port}",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} stopped while starting")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on port {self.port} did not start in {timeout}s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class SwitchableApp:
    """An ASGI app that forwards every request to ``target``.

    One real server can then serve a whole test module, each test pointing it at its own
    emulator: starting and stopping uvicorn costs ~200 ms, more than most tests.
    """

    def __init__(self, target: Any = None) -> None:
        self.target: Any = target

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the server's lifespan, not any one target's
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self.target is None:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"no app selected"})
            return
        await self.target(scope, receive, send)
