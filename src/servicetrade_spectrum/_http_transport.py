"""An httpx transport on the standard library's ``http.client``: HTTP/1.1, kept-alive.

Both adapters send through an ``httpx.Client``; this replaces only what sits under it, the
transport (httpx's default is httpcore with h11). Per request, httpcore's pool and h11's
state machine cost more CPU than the whole exchange does on ``http.client``: on this one a
request took about 100 us less of the calling thread's CPU, and a send (six requests)
0.8-1.3 ms less on average (issue 7, ``bench/http_client.py`` and ``bench/send_loop.py``;
docs/decisions.md).

What it keeps of httpx's default transport:

- **Errors** are httpx's: ``ConnectError``/``ConnectTimeout`` when nothing was sent,
  ``WriteError``/``WriteTimeout`` while sending, ``ReadTimeout``, ``ReadError`` and
  ``RemoteProtocolError`` once the request may have arrived. Callers tell "maybe applied"
  apart by these types.
- **Timeouts** from the request's ``timeout`` extension: connect, write and read, each on
  the socket while that phase runs. (``pool`` has no meaning here: nothing waits for a
  connection, see below.)
- **TLS** with httpx's context (certifi's roots, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), made
  once per transport; ``verify`` and ``trust_env`` mean what they mean to httpx.
- **Keep-alive** as httpx's defaults: at most 20 idle connections per origin, each dropped
  after 5 s idle. An idle connection the server has closed meanwhile is seen (its socket
  reads as ready) and dropped before it is used, as httpcore does; there is no silent
  re-send of a request that failed.
- **Proxies**, as the adapters' ``CookielessClient`` puts this transport in place of
  httpx's own: a proxy named in ``HTTP(S)_PROXY`` still gets httpx's proxy transport, and
  only direct requests come here. (An ``httpx.Client`` given this transport as
  ``transport=`` ignores those variables, as it would for any transport given so.)

What it does not do: HTTP/2, Unix sockets, streamed answers (each answer is read whole before
``handle_request`` returns, as every caller here reads it), and a cap on open connections
(callers bound their own concurrency: Spectrum's slots, the reading threads).
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import time
from typing import Final

import httpx

__all__ = ["StdlibTransport"]

_Origin = tuple[str, str, int]
"""(scheme, host, port): connections to one origin are interchangeable."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class _Idle:
    """A kept-alive connection and when it was put back."""

    __slots__ = ("connection", "since")

    def __init__(self, connection: http.client.HTTPConnection) -> None:
        self.connection = connection
        self.since = time.monotonic()


class StdlibTransport(httpx.BaseTransport):
    """Sends each request on a kept-alive ``http.client`` connection (see the module)."""

    def __init__(self, *, verify: ssl.SSLContext | str | bool = True, trust_env: bool = True,
                 max_idle_per_origin: int = 20, keepalive_expiry: float = 5.0) -> None:
        self._verify = verify
        self._trust_env = trust_env
        self._ssl_context: ssl.SSLContext | None = None
        self._max_idle = max_idle_per_origin
        self._expiry = keepalive_expiry
        self._idle: dict[_Origin, list[_Idle]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{url.scheme}://'.", request=request)
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])
        timeouts = request.extensions.get("timeout", {})
        connection = self._reuse(origin) or self._connect(origin, timeouts.get("connect"),
                                                          request)
        try:
            self._write(connection, request, timeouts.get("write"))
            response, body = self._read(connection, request, timeouts.get("read"))
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._put_back(origin, connection)
        version = b"HTTP/1.0" if response.version == 10 else b"HTTP/1.1"
        return httpx.Response(
            response.status,
            # http.client decodes header lines as latin-1: encoding back gives their bytes.
            headers=[(name.encode("latin-1"), value.encode("latin-1"))
                     for name, value in response.getheaders()],
            stream=httpx.ByteStream(body),
            extensions={"http_version": version,
                        "reason_phrase": response.reason.encode("latin-1")},
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [entry for entries in self._idle.values() for entry in entries]
            self._idle.clear()
        for entry in idle:
            entry.connection.close()

    # -- connections ---------------------------------------------------------------------
    def _reuse(self, origin: _Origin) -> http.client.HTTPConnection | None:
        """The most recently used idle connection that is still open, if any."""
        now = time.monotonic()
        while True:
            with self._lock:
                entries = self._idle.get(origin)
                if not entries:
                    return None
                entry = entries.pop()
            if now - entry.since < self._expiry and not _closed_by_server(entry.connection):
                return entry.connection
            entry.connection.close()

    def _put_back(self, origin: _Origin, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            entries = self._idle.setdefault(origin, [])
            if not self._closed and len(entries) < self._max_idle:
                entries.append(_Idle(connection))
                return
        connection.close()

    def _connect(self, origin: _Origin, timeout: float | None,
                 request: httpx.Request) -> http.client.HTTPConnection:
        scheme, host, port = origin
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                     context=self._tls())
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:  # refused, unreachable, unknown host, TLS handshake refused
            connection.close()
            raise httpx.ConnectError(str(exc), request=request) from exc
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:  # loading the roots takes milliseconds: once
            self._ssl_context = httpx.create_ssl_context(verify=self._verify,
                                                         trust_env=self._trust_env)
        return self._ssl_context

    # -- one exchange --------------------------------------------------------------------
    @staticmethod
    def _write(connection: http.client.HTTPConnection, request: httpx.Request,
               timeout: float | None) -> None:
        assert connection.sock is not None
        connection.sock.settimeout(timeout)
        body = request.read()
        # The request's headers are httpx's, complete (Host, Accept-Encoding, length or
        # chunking): http.client adds none of its own. A body httpx framed as chunked (it
        # was streamed) goes as one chunk.
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        try:
            connection.putrequest(request.method, request.url.raw_path.decode("ascii"),
                                  skip_host=True, skip_accept_encoding=True)
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            connection.endheaders(body, encode_chunked=chunked)
        except TimeoutError as exc:
            raise httpx.WriteTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc), request=request) from exc

    @staticmethod
    def _read(connection: http.client.HTTPConnection, request: httpx.Request,
              timeout: float | None) -> tuple[http.client.HTTPResponse, bytes]:
        assert connection.sock is not None
        connection.sock.settimeout(timeout)
        try:
            response = connection.getresponse()
            return response, response.read()
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except http.client.HTTPException as exc:  # also RemoteDisconnected, an OSError too
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__,
                                            request=request) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc), request=request) from exc


def _closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection can be read from: the server closed it (or sent bytes it
    had no request for); either way it cannot carry a request."""
    sock = connection.sock
    if sock is None:
        return True
    if hasattr(select, "poll"):  # select.select fails on descriptors above 1023
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)
