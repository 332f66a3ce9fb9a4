"""``/api/v1/connections`` over real HTTP: list and read (any user), add, change, test,
pause and resume (admins); the page's validation; secrets never in an answer; accounts
apart."""

from __future__ import annotations

import itertools
from typing import Any

from servicetrade_spectrum.emulators import seed

from .conftest import ADMIN, OFFICE, OTHER_ADMIN, OTHER_CONNECTION, WebEnvironment

_numbers = itertools.count(1)


def _body(env: WebEnvironment, **overrides: Any) -> dict[str, Any]:
    number = next(_numbers)
    body: dict[str, Any] = {"name": f"Api {number}", "url": env.spectrum_url,
                            "company_code": seed.DEMO_COMPANY_CODE,
                            "authorization_id": f"apiSecret{number:03d}Kw", "prefix": "A"}
    body.update(overrides)
    return body


def test_any_user_lists_the_accounts_connections_without_secrets(
        web_env: WebEnvironment) -> None:
    answer = web_env.api(OFFICE).get("/connections")
    assert answer.status_code == 200
    names = [c["name"] for c in answer.json()]
    assert "Main" in names
    assert OTHER_CONNECTION not in names
    main = next(c for c in answer.json() if c["name"] == "Main")
    assert (main["url"], main["prefix"], main["work_order_type"], main["paused"]) == (
        web_env.spectrum_url, "T", "SVC", False)
    assert "authorization_id" not in main
    assert "client_secret" not in main
    assert seed.DEMO_AUTHORIZATION_ID not in answer.text


def test_an_admin_adds_a_connection_and_its_secrets_are_never_answered(
        web_env: WebEnvironment) -> None:
    api = web_env.api(ADMIN)
    body = _body(web_env, client_id="sdx-api", client_secret="api-client-secret-9",
                 client_secret_expires_on="2030-06-30", lead_source="WEB",
                 preserve_edits=True)
    answer = api.post("/connections", json=body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert (made["name"], made["account"], made["client_id"], made["enhanced_authentication"],
            made["preserve_edits"], made["rules"]) == (body["name"], "Northwind", "sdx-api",
                                                       True, True, [])
    stored = web_env.store.connection(body["name"])
    assert (stored.authorization_id, stored.client_secret) == (body["authorization_id"],
                                                               "api-client-secret-9")
    for text in (answer.text, api.get(f"/connections/{body['name']}").text,
                 api.get("/connections").text):
        assert body["authorization_id"] not in text
        assert "api-client-secret-9" not in text


def test_a_user_who_is_not_an_admin_cannot_change_connections(web_env: WebEnvironment) -> None:
    api = web_env.api(OFFICE)
    body = _body(web_env)
    assert api.post("/connections", json=body).status_code == 403
    assert api.patch("/connections/Main", json={"lead_source": "X"}).status_code == 403
    assert api.post("/connections/Main/pause", json={"reason": "no"}).status_code == 403
    assert api.post("/connections/Main/test").status_code == 403
    assert body["name"] not in {c.name for c in web_env.store.connections()}
    assert web_env.store.connection("Main").lead_source == ""


def test_invalid_values_answer_422_with_the_pages_words(web_env: WebEnvironment) -> None:
    api = web_env.api(ADMIN)
    for field, value, words in (("prefix", "TT", "must be one letter or digit"),
                                ("url", "ftp://spectrum/ws", "must be Spectrum's Web Services"),
                                ("system", "Bad", "must start with a lower-case letter"),
                                ("company_code", "ABCD", "accepts at most 3")):
        body = _body(web_env, **{field: value})
        answer = api.post("/connections", json=body)
        assert answer.status_code == 422, field
        error = answer.json()["error"]
        assert error["code"] == "invalid_request"
        assert field in error["message"]
        assert words in error["message"]
        assert body["authorization_id"] not in answer.text
        assert body["name"] not in {c.name for c in web_env.store.connections()}


def test_a_malformed_body_never_echoes_the_secret(web_env: WebEnvironment) -> None:
    api = web_env.api(ADMIN)
    body = _body(web_env)
    del body["url"]
    answer = api.post("/connections", json=body)
    assert answer.status_code == 422
    assert "url" in answer.json()["error"]["message"]
    assert body["authorization_id"] not in answer.text
    answer = api.post("/connections", json={**_body(web_env), "authorization_id": 12345678901})
    assert answer.status_code == 422
    assert "12345678901" not in answer.text


def test_a_taken_name_answers_409(web_env: WebEnvironment) -> None:
    api = web_env.api(ADMIN)
    for taken in ("Main", OTHER_CONNECTION):
        answer = api.post("/connections", json=_body(web_env, name=taken))
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "conflict"
        assert "already exists" in answer.json()["error"]["message"]
    assert web_env.store.connection(OTHER_CONNECTION).account_name == "Contoso"


def test_patch_changes_what_is_given_and_keeps_secrets_left_out(
        web_env: WebEnvironment) -> None:
    api = web_env.api(ADMIN)
    body = _body(web_env)
    api.post("/connections", json=body)
    answer = api.patch(f"/connections/{body['name']}", json={"lead_source": "REFERRAL",
                                                             "prefix": ""})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["lead_source"], answer.json()["prefix"]) == ("REFERRAL", "")
    stored = web_env.store.connection(body["name"])
    assert stored.authorization_id == body["authorization_id"]
    assert stored.company_code == seed.DEMO_COMPANY_CODE

    renamed = f"{body['name']} renamed"
    answer = api.patch(f"/connections/{body['name']}",
                       json={"name": renamed, "authorization_id": "replacedViaApi1"})
    assert answer.status_code == 200
    assert "replacedViaApi1" not in answer.text
    assert web_env.store.connection(renamed).authorization_id == "replacedViaApi1"
    assert api.get(f"/connections/{body['name']}").status_code == 404

    assert api.patch(f"/connections/{renamed}", json={"prefix": "!!"}).status_code == 422
    assert api.patch(f"/connections/{renamed}",
                     json={"authorization_id": " "}).status_code == 422
    assert api.patch(f"/connections/{renamed}", json={"name": "Main"}).status_code == 409
    assert web_env.store.connection(renamed).prefix == ""


def test_another_accounts_connection_answers_404(web_env: WebEnvironment) -> None:
    api = web_env.api(OTHER_ADMIN)
    assert "Main" not in [c["name"] for c in api.get("/connections").json()]
    for method, path, body in (("GET", "/connections/Main", None),
                               ("PATCH", "/connections/Main", {"lead_source": "X"}),
                               ("POST", "/connections/Main/test", None),
                               ("POST", "/connections/Main/pause", {"reason": "x"}),
                               ("POST", "/connections/Main/resume", None)):
        answer = api.request(method, path, json=body)
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"]["code"] == "not_found"
    main = web_env.store.connection("Main")
    assert (main.lead_source, main.paused) == ("", False)


def test_test_reports_what_connection_test_reports(web_env: WebEnvironment) -> None:
    api = web_env.api(ADMIN)
    answer = api.post("/connections/Main/test")
    assert answer.status_code == 200
    assert answer.json() == {"connection": "Main", "ok": True, "reachable": True,
                             "credentials_accepted": True,
                             "authorized": {"WorkOrderHeader": True}, "problems": [],
                             "fix": ""}
    body = _body(web_env, authorization_id=seed.INACTIVE_AUTHORIZATION_ID)
    api.post("/connections", json=body)
    refused = api.post(f"/connections/{body['name']}/test").json()
    assert (refused["ok"], refused["reachable"], refused["authorized"]) == (
        False, True, {"WorkOrderHeader": False})
    assert "not authorized" in refused["problems"][0]
    assert "WorkOrderHeader to its Build list" in refused["fix"]
    assert seed.INACTIVE_AUTHORIZATION_ID not in str(refused)


def test_pause_and_resume(web_env: WebEnvironment) -> None:
    api = web_env.api(ADMIN)
    body = _body(web_env)
    api.post("/connections", json=body)
    answer = api.post(f"/connections/{body['name']}/pause", json={"reason": "year-end close"})
    assert answer.status_code == 200
    assert (answer.json()["paused"], answer.json()["pause_reason"]) == (True, "year-end close")
    assert web_env.store.connection(body["name"]).paused
    answer = api.post(f"/connections/{body['name']}/resume")
    assert (answer.json()["paused"], answer.json()["pause_reason"]) == (False, "")
    answer = api.post(f"/connections/{body['name']}/pause")
    assert answer.json()["pause_reason"] == f"paused by {ADMIN}"


def test_the_openapi_document_marks_secrets_write_only(web_env: WebEnvironment) -> None:
    schema = web_env.client(None).get("/openapi.json").json()
    new = schema["components"]["schemas"]["NewConnectionBody"]["properties"]
    assert new["authorization_id"]["writeOnly"] is True
    answer = schema["components"]["schemas"]["ConnectionAnswer"]["properties"]
    assert "authorization_id" not in answer
    assert "client_secret" not in answer
