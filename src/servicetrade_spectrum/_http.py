"""The HTTP client both adapters build on: httpx's, keeping no cookies.

Neither API needs the client to keep cookies: Spectrum's SDX sets none, and ServiceTrade's
session cookie is sent explicitly with each request (``servicetrade._auth``), so that one
thread's re-login cannot mix with another thread's stale cookie. An ``httpx.Client`` still
parses every response for cookies to keep (it builds a ``urllib`` request for its cookie jar
each time), even with a jar that refuses them all: 26-55 us of CPU a request on loopback,
6-12% of the client's share (issue 7, ``bench/http_client.py``).

Under the client, requests go out on :class:`StdlibTransport` (``_http_transport``), unless a
caller passes a transport of its own (tests pass handlers) or a proxy variable sends them
through httpx's proxy transport.
"""

from __future__ import annotations

import ssl
from typing import Any, NoReturn

import httpx

from servicetrade_spectrum._http_transport import StdlibTransport

__all__ = ["CookielessClient"]

_HTTPX_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""httpx's own default (``httpx._config.DEFAULT_LIMITS``), which ``StdlibTransport`` keeps."""


class _NoCookies(httpx.Cookies):
    """Cookies that are never kept: a response's ``Set-Cookie`` is not even read."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> NoReturn:
        raise TypeError("this HTTP client keeps no cookies: send them as a Cookie header")


class CookielessClient(httpx.Client):
    """An ``httpx.Client`` whose cookie store is always empty (see the module's docstring)."""

    _no_cookies = _NoCookies()

    def _init_transport(self, verify: ssl.SSLContext | str | bool = True, cert: Any = None,
                        trust_env: bool = True, http1: bool = True, http2: bool = False,
                        limits: httpx.Limits = _HTTPX_DEFAULT_LIMITS,
                        transport: httpx.BaseTransport | None = None) -> httpx.BaseTransport:
        """Our transport where httpx would build its own.

        Here, not by passing ``transport=`` to ``__init__``: httpx honours the proxy
        variables only when it is given no transport. What ``StdlibTransport`` lacks
        (client certificates, HTTP/2, connection limits) gets httpx's own. A private
        method of httpx, pinned below 0.29: ``tests/test_http_transport.py`` fails if it
        changes.
        """
        if transport is not None:
            return transport
        if cert is not None or http2 or limits != _HTTPX_DEFAULT_LIMITS:
            return super()._init_transport(verify=verify, cert=cert, trust_env=trust_env,
                                           http1=http1, http2=http2, limits=limits)
        return StdlibTransport(verify=verify, trust_env=trust_env)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> NoReturn:
        raise TypeError("this HTTP client keeps no cookies: send them as a Cookie header")
