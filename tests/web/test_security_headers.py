"""Security headers on every kind of response, over real HTTP."""

from __future__ import annotations

from .conftest import WebEnvironment

CSP = ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
       "form-action 'self'")


def test_pages_carry_the_security_headers_and_are_not_cached(web_env: WebEnvironment) -> None:
    for answer in (web_env.client().get("/jobs"), web_env.client(None).get("/login"),
                   web_env.client(None).get("/jobs")):  # a page, a form, a redirect
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["cache-control"] == "no-store"
        assert len(answer.headers.get_list("content-security-policy")) == 1


def test_the_api_carries_them_and_keeps_its_own_caching(web_env: WebEnvironment) -> None:
    answer = web_env.api().get("/connections")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["x-frame-options"] == "DENY"
    assert "cache-control" not in answer.headers


def test_the_api_docs_page_has_no_csp_so_its_script_loads(web_env: WebEnvironment) -> None:
    answer = web_env.client(None).get("/docs")
    assert answer.status_code == 200
    assert "content-security-policy" not in answer.headers
    assert answer.headers["x-frame-options"] == "DENY"


def test_webhook_answers_carry_them_too(web_env: WebEnvironment) -> None:
    answer = web_env.client(None).post("/hooks/servicetrade/not-a-secret", json={})
    assert answer.status_code == 404
    assert answer.headers["x-content-type-options"] == "nosniff"
