"""``/api/v1/attempts`` over real HTTP with personal API tokens: filters, cursor paging, an
attempt's detail without secrets, retry, and account isolation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.web._sending import wait_for_send

from .conftest import ADMIN, OFFICE, OTHER_ADMIN, OTHER_CONNECTION, WebEnvironment
from .test_history_pages import real_failed_send, record_attempt

_job_ids = itertools.count(9_200_000)
"""Job IDs no seed job has (and none the page tests use)."""

SUMMARY_KEYS = {"id", "job_id", "job_number", "connection", "trigger", "triggered_by", "time",
                "finished_at", "duration_ms", "status", "work_order_number", "failure_kind",
                "failure_message", "spectrum_message", "warnings", "comment_posted"}


@pytest.fixture(scope="module")
def api(web_env: WebEnvironment) -> httpx.Client:
    return web_env.api(ADMIN)


def ids(answer: httpx.Response) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [attempt["id"] for attempt in answer.json()["attempts"]]


def test_the_api_needs_a_token(web_env: WebEnvironment) -> None:
    answer = httpx.get(f"{web_env.url}/api/v1/attempts")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"


def test_attempts_are_listed_newest_first_in_the_history_json_shape(
        web_env: WebEnvironment, api: httpx.Client) -> None:
    job = next(_job_ids)
    failed = record_attempt(web_env.store, job)
    sent = record_attempt(web_env.store, job, status="sent")
    answer = api.get("/attempts", params={"job_id": job})
    assert ids(answer) == [sent, failed]
    body = answer.json()
    assert body["next_cursor"] is None
    first = body["attempts"][0]
    assert set(first) == SUMMARY_KEYS
    assert first == {**web_env.store.attempt(sent).summary(),
                     "time": first["time"], "finished_at": first["finished_at"]}
    assert first["status"] == "sent"
    assert body["attempts"][1]["failure_kind"] == "customer_not_mapped"
    assert "request_body" not in first  # the bodies only come with one attempt


def test_an_office_user_reads_the_attempts_too(web_env: WebEnvironment) -> None:
    job = next(_job_ids)
    attempt = record_attempt(web_env.store, job)
    assert ids(web_env.api(OFFICE).get("/attempts", params={"job_id": job})) == [attempt]


def test_attempts_are_filtered_like_the_history_page(web_env: WebEnvironment,
                                                    api: httpx.Client) -> None:
    job = next(_job_ids)
    sent = record_attempt(web_env.store, job, status="sent",
                          started_at=datetime(2022, 1, 10, 12, tzinfo=UTC))
    unmapped = record_attempt(web_env.store, job, failure_kind="customer_not_mapped",
                              started_at=datetime(2022, 1, 11, 12, tzinfo=UTC))
    unreachable = record_attempt(web_env.store, job, failure_kind="spectrum_unreachable",
                                 started_at=datetime(2022, 1, 12, 12, tzinfo=UTC))

    def shown(**params: Any) -> list[int]:
        return ids(api.get("/attempts", params={"job_id": job, **params}))

    assert shown(status="sent") == [sent]
    assert shown(status="failed") == [unreachable, unmapped]
    assert shown(failure_kind="spectrum_unreachable") == [unreachable]
    assert shown(connection="Main") == [unreachable, unmapped, sent]
    assert shown(since="2022-01-11") == [unreachable, unmapped]
    assert shown(until="2022-01-11") == [unmapped, sent]  # a date includes its day
    assert shown(since="2022-01-11T00:00:00Z", until="2022-01-12T00:00:00Z") == [unmapped]
    assert shown(since="2022-01-11T13:00:00") == [unreachable]  # no zone: UTC


@pytest.mark.parametrize(("params", "words"), [
    ({"status": "done"}, "status"),
    ({"failure_kind": "oops"}, "failure_kind"),
    ({"job_id": "12a"}, "job_id"),
    ({"since": "31/05/2024"}, "since: '31/05/2024' is not a date"),
    ({"limit": "201"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"cursor": "abc"}, "cursor: 'abc' is not a page cursor"),
])
def test_a_bad_parameter_is_named_in_the_answer(api: httpx.Client, params: dict[str, str],
                                                words: str) -> None:
    answer = api.get("/attempts", params=params)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert words in error["message"]


def test_an_unknown_or_other_accounts_connection_is_not_found(api: httpx.Client) -> None:
    for name in ("Nowhere", OTHER_CONNECTION):
        answer = api.get("/attempts", params={"connection": name})
        assert answer.status_code == 404
        assert answer.json()["error"] == {
            "code": "not_found",
            "message": f"No connection named '{name}' in this account: see the connections "
                       "page, or GET /api/v1/connections."}


def test_attempts_page_with_the_next_cursor_up_to_the_limit(web_env: WebEnvironment,
                                                           api: httpx.Client) -> None:
    job = next(_job_ids)
    created = [record_attempt(web_env.store, job) for _ in range(7)]
    newest_first = created[::-1]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"job_id": job, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        answer = api.get("/attempts", params=params)
        seen += ids(answer)
        pages += 1
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first
    assert pages == 3
    assert ids(api.get("/attempts", params={"job_id": job, "limit": 200})) == newest_first


def test_one_attempt_in_full_without_secrets(web_env: WebEnvironment,
                                             api: httpx.Client) -> None:
    secret = seed.DEMO_AUTHORIZATION_ID
    job = next(_job_ids)
    attempt_id = record_attempt(
        web_env.store, job, tries=3, http_status=200,
        fields={"WO_Number": f"T{job}", "Bill_Customer_Code": "GHOSTCO"},
        spectrum_rows=[{"code": "I", "message": "Invalid customer", "column": "Customer_Code"}],
        request_body=f"<Authorization_ID>{secret}</Authorization_ID>",
        response_body=f"<Error>{secret}</Error>", comment_text="Send failed")
    answer = api.get(f"/attempts/{attempt_id}")
    assert answer.status_code == 200
    assert secret not in answer.text
    detail = answer.json()
    assert set(detail) >= SUMMARY_KEYS
    assert detail["fields"] == {"WO_Number": f"T{job}", "Bill_Customer_Code": "GHOSTCO"}
    assert detail["spectrum_rows"] == [{"code": "I", "message": "Invalid customer",
                                        "column": "Customer_Code"}]
    assert detail["request_body"] == "<Authorization_ID>[redacted]</Authorization_ID>"
    assert detail["response_body"] == "<Error>[redacted]</Error>"
    assert detail["failure_fix"] == "Add the customer code."
    assert detail["tries"] == 3
    assert detail["http_status"] == 200
    assert detail["external_id_written"] is False
    assert detail["comment_text"] == "Send failed"


def test_a_real_rejected_send_in_full(web_env: WebEnvironment, api: httpx.Client) -> None:
    attempt = real_failed_send(web_env, web_env.jobs.unknown_customer_code)
    answer = api.get(f"/attempts/{attempt.id}")
    assert answer.status_code == 200
    assert seed.DEMO_AUTHORIZATION_ID not in answer.text
    detail = answer.json()
    assert detail["failure_kind"] == "rejected_by_spectrum"
    assert detail["spectrum_rows"]
    assert detail["fields"]["Bill_Customer_Code"]
    assert "<" in detail["request_body"]
    assert detail["response_body"]


def test_another_accounts_attempt_is_not_found(web_env: WebEnvironment) -> None:
    job = next(_job_ids)
    attempt_id = record_attempt(web_env.store, job)
    other = web_env.api(OTHER_ADMIN)
    for answer in (other.get(f"/attempts/{attempt_id}"),
                   other.post(f"/attempts/{attempt_id}/retry"),
                   other.get("/attempts/987654321")):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    assert ids(other.get("/attempts", params={"job_id": job})) == []
    assert len(web_env.store.history(job_id=job)) == 1


def test_retry_queues_a_send_and_answers_where_to_follow_it(web_env: WebEnvironment,
                                                            api: httpx.Client) -> None:
    attempt = real_failed_send(web_env)
    answer = api.post(f"/attempts/{attempt.id}/retry")
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status_url"] == f"/api/v1/sends/{body['send_id']}"
    state = wait_for_send(web_env.services, attempt.account_id, body["send_id"], timeout=30)
    assert state.attempt is not None
    assert state.attempt.id > attempt.id
    assert state.attempt.trigger == "retry"
    assert state.attempt.triggered_by == ADMIN
    again = api.post(f"/attempts/{attempt.id}/retry")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert "has a newer attempt" in again.json()["error"]["message"]


def test_a_sent_attempt_cannot_be_retried(web_env: WebEnvironment, api: httpx.Client) -> None:
    attempt_id = record_attempt(web_env.store, next(_job_ids), status="sent")
    answer = api.post(f"/attempts/{attempt_id}/retry")
    assert answer.status_code == 409
    assert "did not fail" in answer.json()["error"]["message"]


def test_the_attempts_api_is_documented(web_env: WebEnvironment) -> None:
    schema = httpx.get(f"{web_env.url}/openapi.json").json()
    assert {"/api/v1/attempts", "/api/v1/attempts/{attempt_id}",
            "/api/v1/attempts/{attempt_id}/retry"} <= set(schema["paths"])
    assert {"AttemptList", "AttemptDetail", "RetryStarted"} <= set(schema["components"]["schemas"])
