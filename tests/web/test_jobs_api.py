"""``/api/v1/jobs`` and ``/api/v1/sends`` over real HTTP: search, the overview, preview, send
(waited for, or 202 and followed), paused connections, and account isolation."""

from __future__ import annotations

import time
from typing import Any

import httpx

from servicetrade_spectrum.store import NewConnection

from .conftest import ADMIN, OFFICE, OTHER_ADMIN, OTHER_CONNECTION, OTHER_JOB_OFFSET, WebEnvironment


def _follow(api: httpx.Client, send_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = api.get(f"/sends/{send_id}").json()
        if state["done"] or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_the_api_needs_a_token(web_env: WebEnvironment) -> None:
    answer = httpx.get(f"{web_env.url}/api/v1/jobs", timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"


def test_jobs_are_searched_by_number_and_status(web_env: WebEnvironment) -> None:
    job = web_env.servicetrade.job(web_env.jobs.ready)
    api = web_env.api(OFFICE)
    found = api.get("/jobs", params={"q": str(job["number"]), "status": job["status"]}).json()
    assert [row["id"] for row in found["jobs"]] == [web_env.jobs.ready]
    row = found["jobs"][0]
    assert row["number"] == job["number"]
    assert row["customer"] == job["customer"]["name"]
    assert row["location"] == job["location"]["name"]
    assert row["sends"] == []
    assert found["scan_limited"] is False
    other_status = next(s for s in ("new", "scheduled", "completed") if s != job["status"])
    assert api.get("/jobs", params={"q": str(job["number"]),
                                    "status": other_status}).json()["jobs"] == []


def test_an_invalid_status_is_a_422_naming_the_valid_ones(web_env: WebEnvironment) -> None:
    answer = web_env.api(OFFICE).get("/jobs", params={"status": "Not A Status"})
    assert answer.status_code == 422
    assert "scheduled" in answer.json()["error"]["message"]


def test_a_job_shows_each_mapping_or_what_is_missing(web_env: WebEnvironment) -> None:
    job = web_env.api(OFFICE).get(f"/jobs/{web_env.jobs.customer_not_mapped}").json()
    [main] = [c for c in job["connections"] if c["connection"] == "Main"]
    assert main["sendable"] is True
    assert main["blocker"]["kind"] == "customer_not_mapped"
    mappings = {m["element"]: m for m in main["mappings"]}
    customer = mappings["Bill_Customer_Code"]
    assert customer["value"] == ""
    assert customer["missing"]["kind"] == "customer_not_mapped"
    assert "Find the customer code in Spectrum" in customer["missing"]["fix"]
    assert mappings["WO_Job_Number"]["missing"]["kind"] == "site_not_mapped"
    assert "Find the site ID in Spectrum" in main["blocker"]["fix"]  # every fix at once
    assert main["latest_attempt"] is None
    assert main["is_resend"] is False


def test_a_mapped_customer_shows_its_spectrum_code(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.site_not_mapped
    company_id = web_env.servicetrade.job(job_id)["customer"]["id"]
    job = web_env.api(OFFICE).get(f"/jobs/{job_id}").json()
    [main] = [c for c in job["connections"] if c["connection"] == "Main"]
    mappings = {m["element"]: m for m in main["mappings"]}
    assert mappings["Bill_Customer_Code"]["missing"] is None
    assert (mappings["Bill_Customer_Code"]["value"]
            == web_env.servicetrade.external_ids("company", company_id)["spectrum"])
    assert main["blocker"]["kind"] == "site_not_mapped"


def test_other_accounts_jobs_and_bad_ids_answer_404(web_env: WebEnvironment) -> None:
    api = web_env.api(OFFICE)
    contoso_job = web_env.jobs.ready + OTHER_JOB_OFFSET
    for path in (f"/jobs/{contoso_job}", "/jobs/abc",
                 f"/jobs/{contoso_job}/preview?connection=Main"):
        answer = api.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"
    answer = api.post(f"/jobs/{contoso_job}/send", json={"connection": "Main"})
    assert answer.status_code == 404
    assert web_env.api(OTHER_ADMIN).get(f"/jobs/{contoso_job}").status_code == 200


def test_another_accounts_connection_answers_404(web_env: WebEnvironment) -> None:
    api = web_env.api(ADMIN)
    job_id = web_env.jobs.long_summary
    assert api.get(f"/jobs/{job_id}/preview",
                   params={"connection": OTHER_CONNECTION}).status_code == 404
    answer = api.post(f"/jobs/{job_id}/send", json={"connection": OTHER_CONNECTION})
    assert answer.status_code == 404
    other = web_env.store.connection(OTHER_CONNECTION)
    assert web_env.store.last_attempt(other.id, job_id) is None


def test_a_preview_has_the_send_json_shape_and_records_nothing(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.long_po
    answer = web_env.api(OFFICE).get(f"/jobs/{job_id}/preview", params={"connection": "Main"})
    assert answer.status_code == 200
    preview = answer.json()
    assert set(preview) == {"job_id", "connection", "status", "work_order_number", "fields",
                            "warnings", "failure"}
    assert preview["status"] == "preview"
    assert preview["failure"]["kind"] == "value_too_long"
    assert web_env.store.last_attempt(web_env.store.connection("Main").id, job_id) is None


def test_a_send_waited_for_answers_its_work_order(web_env: WebEnvironment) -> None:
    api = web_env.api(OFFICE)
    answer = api.post(f"/jobs/{web_env.jobs.ready}/send", json={"connection": "Main"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "sent"
    assert result["work_order_number"]
    assert result["failure"] is None
    attempt = web_env.store.attempt(result["attempt_id"])
    assert attempt.trigger == "api"
    assert attempt.triggered_by == OFFICE
    assert attempt.work_order_number == result["work_order_number"]
    state = api.get(f"/sends/{result['send_id']}").json()
    assert state["status"] == "sent"
    assert state["done"] is True
    assert state["result"]["work_order_number"] == result["work_order_number"]
    listed = api.get("/jobs", params={"q": str(attempt.job_number)}).json()["jobs"]
    [row] = [r for r in listed if r["id"] == web_env.jobs.ready]
    assert row["sends"][0]["connection"] == "Main"
    assert row["sends"][0]["latest_attempt"]["work_order_number"] == result["work_order_number"]
    overview = api.get(f"/jobs/{web_env.jobs.ready}").json()
    [main] = [c for c in overview["connections"] if c["connection"] == "Main"]
    assert main["is_resend"] is True
    assert "Bill_Customer_Code" in main["overwritten"]


def test_a_send_not_waited_for_answers_202_and_is_followed(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.ready_without_contract
    # The send's own read of the job is slowed (the call's existence check takes the first),
    # so it is certainly still under way when the call answers.
    web_env.servicetrade.inject("slow", path_prefix=f"/job/{job_id}", method="GET", count=2,
                                delay=1.0)
    api = web_env.api(OFFICE)
    answer = api.post(f"/jobs/{job_id}/send", json={"connection": "Main", "wait": 0})
    assert answer.status_code == 202, answer.text
    queued = answer.json()
    assert queued["status"] in ("queued", "sending")
    assert queued["status_url"] == f"/api/v1/sends/{queued['send_id']}"
    assert web_env.api(OTHER_ADMIN).get(f"/sends/{queued['send_id']}").status_code == 404
    state = _follow(api, queued["send_id"])
    assert state["status"] == "sent"
    assert state["result"]["work_order_number"]


def test_a_failed_send_answers_the_failure_and_its_fix(web_env: WebEnvironment) -> None:
    answer = web_env.api(OFFICE).post(f"/jobs/{web_env.jobs.site_not_mapped}/send",
                                      json={"connection": "Main"})
    assert answer.status_code == 200
    result = answer.json()
    assert result["status"] == "failed"
    assert result["failure"]["kind"] == "site_not_mapped"
    assert "Find the site ID in Spectrum" in result["failure"]["fix"]


def test_a_paused_connection_refuses_a_send_with_409(web_env: WebEnvironment) -> None:
    web_env.store.add_connection(NewConnection(
        name="Paused API", account="Northwind", ws_url=web_env.spectrum_url,
        company_code="1", authorization_id="whatever"))
    paused = web_env.store.update_connection("Paused API", paused=True,
                                             pause_reason="refused as not authorized 5 times")
    answer = web_env.api(ADMIN).post(f"/jobs/{web_env.jobs.unmapped_contract}/send",
                                     json={"connection": "Paused API"})
    assert answer.status_code == 409
    assert "refused as not authorized 5 times" in answer.json()["error"]["message"]
    assert web_env.store.last_attempt(paused.id, web_env.jobs.unmapped_contract) is None


def test_a_wait_out_of_range_is_refused(web_env: WebEnvironment) -> None:
    answer = web_env.api(OFFICE).post(f"/jobs/{web_env.jobs.ready}/send",
                                      json={"connection": "Main", "wait": 1000})
    assert answer.status_code == 422


def test_the_openapi_document_describes_the_jobs_calls(web_env: WebEnvironment) -> None:
    document = httpx.get(f"{web_env.url}/openapi.json", timeout=10).json()
    paths = document["paths"]
    for path in ("/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/preview",
                 "/api/v1/jobs/{job_id}/send", "/api/v1/sends/{send_id}"):
        assert path in paths, path
    assert "202" in paths["/api/v1/jobs/{job_id}/send"]["post"]["responses"]


def test_servicetrade_not_answering_is_a_503_with_its_code(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.ready_without_contract
    api = web_env.api(OFFICE)
    web_env.servicetrade.inject("http_503", path_prefix=f"/job/{job_id}", count=10)
    try:
        answer = api.get(f"/jobs/{job_id}")
    finally:
        web_env.servicetrade.faults.clear()
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "servicetrade_unavailable"
    assert "ServiceTrade did not answer" in answer.json()["error"]["message"]
