"""The HTTP client both adapters build on: httpx's, keeping no cookies.

Neither API needs the client to keep cookies: Spectrum's SDX sets none, and ServiceTrade's
session cookie is sent explicitly with each request (``servicetrade._auth``), so that one
thread's re-login cannot mix with another thread's stale cookie. An ``httpx.Client`` still
parses every response for cookies to keep (it builds a ``urllib`` request for its cookie jar
each time), even with a jar that refuses them all: 26-55 us of CPU a request on loopback,
6-12% of the client's share (issue 7, ``bench/http_client.py``).

Under the client, requests go out on :class:`StdlibTransport` (``_http_transport``) unless a
caller passes a transport of its own (tests pass handlers).
"""

from __future__ import annotations

from typing import Any, NoReturn

import httpx

from servicetrade_spectrum._http_transport import StdlibTransport

__all__ = ["CookielessClient"]


class _NoCookies(httpx.Cookies):
    """Cookies that are never kept: a response's ``Set-Cookie`` is not even read."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> NoReturn:
        raise TypeError("this HTTP client keeps no cookies: send them as a Cookie header")


class CookielessClient(httpx.Client):
    """An ``httpx.Client`` whose cookie store is always empty (see the module's docstring)."""

    _no_cookies = _NoCookies()

    def __init__(self, *, transport: httpx.BaseTransport | None = None, **options: Any) -> None:
        super().__init__(transport=transport or StdlibTransport(), **options)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> NoReturn:
        raise TypeError("this HTTP client keeps no cookies: send them as a Cookie header")
