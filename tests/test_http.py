"""The adapters' HTTP client keeps no cookies, whatever a server sets."""

from __future__ import annotations

import httpx
import pytest

from servicetrade_spectrum._http import CookielessClient


def _server_setting_a_cookie(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"Set-Cookie": "PHPSESSID=from-server; Path=/"})
    return httpx.MockTransport(answer)


def test_a_cookie_set_by_the_server_is_neither_kept_nor_sent_back() -> None:
    seen: list[httpx.Request] = []
    with CookielessClient(transport=_server_setting_a_cookie(seen)) as client:
        client.get("http://spectrum.test/ws/WorkOrderHeader")
        client.get("http://spectrum.test/ws/WorkOrderHeader")
        assert len(client.cookies) == 0
    assert "cookie" not in seen[1].headers


def test_a_cookie_header_given_with_the_request_is_sent_as_given() -> None:
    seen: list[httpx.Request] = []
    with CookielessClient(transport=_server_setting_a_cookie(seen)) as client:
        client.get("http://st.test/api/job/1", headers={"Cookie": "PHPSESSID=mine"})
    assert seen[0].headers["cookie"] == "PHPSESSID=mine"


def test_setting_cookies_on_the_client_is_refused_with_the_way_to_send_one() -> None:
    with CookielessClient() as client:
        with pytest.raises(TypeError, match="Cookie header"):
            client.cookies = {"PHPSESSID": "x"}
        with pytest.raises(TypeError, match="Cookie header"):
            client.cookies.set("PHPSESSID", "x")
