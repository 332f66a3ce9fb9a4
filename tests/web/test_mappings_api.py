"""``/api/v1/mappings``: reading a connection's mappings and setting/clearing one, with the
same isolation and refusals as the page. Each writing test uses its own record and puts it
back."""

from __future__ import annotations

from typing import Any

from servicetrade_spectrum.emulators import seed

from .conftest import OFFICE, OTHER_ADMIN, OTHER_CONNECTION, WebEnvironment

SEED = seed.servicetrade_state()


def _company(name: str) -> dict[str, Any]:
    return next(c for c in SEED["companies"] if c["name"] == name)


BIRCHWOOD = _company("Birchwood Condominiums")
QUARRY = _company("Quarry Ridge Golf Club")
WESTFIELD = _company("Westfield Plastics")
SILVER_LAKE = _company("Silver Lake Arena")
UNMAPPED_CONTRACT = next(c for c in SEED["contracts"] if not c["externalIds"])


def test_get_lists_every_record_with_its_value_and_blocked_jobs(
        web_env: WebEnvironment) -> None:
    answer = web_env.api(OFFICE).get("/mappings", params={"connection": "Main"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["connection"] == "Main"
    assert body["system"] == "spectrum"
    assert len(body["companies"]) == len(SEED["companies"])
    assert len(body["locations"]) == len(SEED["locations"])
    assert len(body["contracts"]) == len(SEED["contracts"])
    acme = next(c for c in body["companies"] if c["name"] == "Acme Manufacturing")
    assert acme == {"id": acme["id"], "name": "Acme Manufacturing", "value": "ACMEMFG",
                    "blocked_jobs": []}
    birchwood = next(c for c in body["companies"] if c["id"] == BIRCHWOOD["id"])
    assert birchwood["value"] is None
    assert web_env.jobs.customer_not_mapped in {j["id"] for j in birchwood["blocked_jobs"]}
    assert all(isinstance(j["number"], int) for j in birchwood["blocked_jobs"])


def test_missing_true_keeps_only_records_without_a_value(web_env: WebEnvironment) -> None:
    body = web_env.api().get("/mappings", params={"missing": "true"}).json()  # default: Main
    assert body["connection"] == "Main"
    for key in ("companies", "locations", "contracts"):
        assert body[key]
        assert all(item["value"] is None for item in body[key])
    assert {c["id"] for c in body["companies"]} >= {BIRCHWOOD["id"]}


def test_put_sets_then_clears_a_mapping(web_env: WebEnvironment) -> None:
    api = web_env.api(OFFICE)
    path = f"/mappings/Main/contract/{UNMAPPED_CONTRACT['id']}"
    answer = api.put(path, json={"value": " SC26999 "})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": UNMAPPED_CONTRACT["id"], "name": UNMAPPED_CONTRACT["name"],
                             "value": "SC26999", "blocked_jobs": []}
    assert web_env.servicetrade.external_ids("contract", UNMAPPED_CONTRACT["id"]) == {
        "spectrum": "SC26999"}
    cleared = api.put(path, json={"value": ""})
    assert cleared.status_code == 200
    assert cleared.json()["value"] is None
    assert web_env.servicetrade.external_ids("contract", UNMAPPED_CONTRACT["id"]) == {}


def test_put_refuses_invalid_values_with_422(web_env: WebEnvironment) -> None:
    api = web_env.api()
    answer = api.put(f"/mappings/Main/company/{SILVER_LAKE['id']}",
                     json={"value": "SILVERLAKEARENA"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_value"
    assert "Bill_Customer_Code accepts at most 10" in error["message"]
    assert api.put(f"/mappings/Main/company/{SILVER_LAKE['id']}", json={}).status_code == 422
    assert api.put(f"/mappings/Main/job/{SILVER_LAKE['id']}",
                   json={"value": "X"}).status_code == 422  # not a mapped entity
    assert web_env.servicetrade.external_ids("company", SILVER_LAKE["id"]) == {}


def test_put_answers_409_when_servicetrade_refuses_a_duplicate(web_env: WebEnvironment) -> None:
    answer = web_env.api().put(f"/mappings/Main/company/{QUARRY['id']}",
                               json={"value": "ACMEMFG"})
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "duplicate_value"
    assert "company 'Acme Manufacturing'" in error["message"]
    assert web_env.servicetrade.external_ids("company", QUARRY["id"]) == {}


def test_unknown_and_other_accounts_connections_and_records_answer_404(
        web_env: WebEnvironment) -> None:
    other = web_env.api(OTHER_ADMIN)
    assert other.get("/mappings", params={"connection": "Main"}).status_code == 404
    answer = other.put(f"/mappings/Main/company/{WESTFIELD['id']}", json={"value": "WESTPLAS"})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert web_env.servicetrade.external_ids("company", WESTFIELD["id"]) == {}
    api = web_env.api()
    assert api.get("/mappings", params={"connection": "Nope"}).status_code == 404
    assert api.put(f"/mappings/{OTHER_CONNECTION}/company/{WESTFIELD['id']}",
                   json={"value": "WESTPLAS"}).status_code == 404
    missing = api.put("/mappings/Main/company/42", json={"value": "WESTPLAS"})
    assert missing.status_code == 404
    assert "no company with ID 42" in missing.json()["error"]["message"]


def test_the_api_needs_a_token(web_env: WebEnvironment) -> None:
    import httpx

    with httpx.Client(base_url=f"{web_env.url}/api/v1") as anonymous:
        assert anonymous.get("/mappings").status_code == 401


def test_the_mappings_api_is_documented(web_env: WebEnvironment) -> None:
    import httpx

    schema = httpx.get(f"{web_env.url}/openapi.json").json()
    assert "/api/v1/mappings" in schema["paths"]
    put = schema["paths"]["/api/v1/mappings/{connection}/{entity}/{record_id}"]["put"]
    assert {"404", "409", "422"} <= set(put["responses"])
    assert "MappingItemOut" in schema["components"]["schemas"]
