"""Reads, writes and error handling of the client, against the emulator over real HTTP."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicetrade_spectrum.emulators.seed import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    notable_jobs,
    servicetrade_state,
)
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.retry import RetryPolicy
from servicetrade_spectrum.servicetrade import (
    Company,
    Job,
    NotFound,
    RequestRejected,
    ServiceTradeClient,
    ServiceTradeUnavailable,
    SessionAuth,
    UnexpectedResponse,
)
from servicetrade_spectrum.serving import BackgroundServer

from .conftest import SleepRecorder

NOTABLE = notable_jobs()
JOB = NOTABLE.ready
MakeClient = Callable[..., ServiceTradeClient]


def _company_id(emulator: ServiceTradeEmulator, job_id: int) -> int:
    customer: dict[str, Any] = emulator.job(job_id)["customer"]
    return int(customer["id"])


# --- reads -------------------------------------------------------------------------------------
def test_get_job_reads_typed_fields_and_stubs(client: ServiceTradeClient,
                                              emulator: ServiceTradeEmulator) -> None:
    job = client.get_job(JOB)
    raw = emulator.job(JOB)
    assert job.id == JOB
    assert job.number == raw["number"]
    assert job.description == raw["description"]
    assert job.customer is not None
    assert job.customer.id == raw["customer"]["id"]
    assert job.location is not None
    assert job.contract is not None
    assert job.model_extra is not None
    assert job.model_extra["owner"]["name"] == "Pat Office"  # unknown fields kept


def test_read_job_context_reads_mappings_from_the_entities(
        client: ServiceTradeClient) -> None:
    context = client.read_job_context(JOB)
    assert context.company is not None
    assert context.location is not None
    assert context.contract is not None
    assert context.company.external_ids["spectrum"] == "MERCYGEN"
    assert context.location.external_ids["spectrum"].startswith("S1")
    assert context.contract.external_ids["spectrum"].startswith("SC26")


def test_read_job_context_without_contract(client: ServiceTradeClient) -> None:
    context = client.read_job_context(NOTABLE.ready_without_contract)
    assert context.contract is None
    assert context.company is not None


def test_read_job_context_reads_the_three_records_at_once(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    job = client.get_job(JOB)
    emulator.latency_ms = 200
    emulator.clear_requests()
    started = time.monotonic()
    client.read_job_context(job)
    elapsed = time.monotonic() - started
    arrivals = [r.time for r in emulator.requests]
    assert len(arrivals) == 3
    assert max(arrivals) - min(arrivals) < 0.15  # sequential reads would be >= 0.2 s apart
    assert elapsed < 0.5


def test_external_ids_come_from_the_resource_when_the_entity_lacks_them(
        make_client: MakeClient, api_url: str,
        shared_server: Any) -> None:
    emulator = ServiceTradeEmulator(entity_external_ids=False)
    shared_server[1].target = emulator.app
    client = make_client()
    company = client.get_company(_company_id(emulator, JOB))
    assert company.external_ids == {"spectrum": "MERCYGEN"}
    assert [r.path for r in emulator.requests][-2:] == [
        f"/api/company/{company.id}", f"/api/externalid/company/{company.id}"]


def test_unmapped_records_have_no_external_id(client: ServiceTradeClient,
                                              emulator: ServiceTradeEmulator) -> None:
    company_id = _company_id(emulator, NOTABLE.customer_not_mapped)
    assert client.get_company(company_id).external_ids == {}
    assert client.external_id("company", company_id, "spectrum") is None  # 404: not mapped
    assert client.external_ids("company", company_id) == {}


def test_missing_job_is_not_found_and_not_retried(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    with pytest.raises(NotFound, match="job 42") as caught:
        client.get_job(42)
    assert caught.value.status_code == 404
    assert caught.value.request_id
    assert caught.value.errors == ["Job 42 not found"]
    assert sum(r.path == "/api/job/42" for r in emulator.requests) == 1


# --- search ------------------------------------------------------------------------------------
def test_search_pages_through_every_match(client: ServiceTradeClient,
                                          emulator: ServiceTradeEmulator) -> None:
    expected = sorted(j["id"] for j in emulator.dump()["jobs"] if j["status"] == "completed")
    found = [job.id for job in client.search_jobs(status="completed", page_size=13)]
    assert found == expected
    pages = [parse_qs(r.query) for r in emulator.requests if r.path == "/api/job"]
    assert [p["page"] for p in pages] == [[str(n)] for n in range(1, math.ceil(len(expected)
                                                                              / 13) + 1)]
    assert all(p["limit"] == ["13"] and p["status"] == ["completed"] for p in pages)
    assert len(pages) > 3


def test_search_filters_combine(client: ServiceTradeClient,
                                emulator: ServiceTradeEmulator) -> None:
    jobs = emulator.dump()["jobs"]
    cutoff = sorted(j["updated"] for j in jobs)[len(jobs) // 2]
    expected = sorted(j["id"] for j in jobs if j["status"] in ("new", "scheduled")
                      and j["type"] in ("repair", "inspection") and j["updated"] > cutoff)
    found = [job.id for job in client.search_jobs(status=["new", "scheduled"],
                                                  type=["repair", "inspection"],
                                                  updated_after=cutoff)]
    assert found == expected
    assert expected


def test_search_by_many_ids_in_chunks(client: ServiceTradeClient,
                                      emulator: ServiceTradeEmulator) -> None:
    ids = sorted(j["id"] for j in emulator.dump()["jobs"])[:250]
    found = [job.id for job in client.search_jobs(ids=[*ids, 7])]
    assert found == ids
    assert sum(r.path == "/api/job" for r in emulator.requests) == 2


def test_search_refuses_a_page_size_over_the_limit(client: ServiceTradeClient) -> None:
    with pytest.raises(ValueError, match="2000"):
        next(client.search_jobs(page_size=2001))


# --- external IDs ------------------------------------------------------------------------------
def test_setting_a_job_external_id_is_idempotent(client: ServiceTradeClient,
                                                 emulator: ServiceTradeEmulator) -> None:
    assert client.set_job_external_id(JOB, "spectrum", "T10002") is True
    assert client.set_job_external_id(JOB, "spectrum", "T10002") is False
    assert emulator.external_ids("job", JOB) == {"spectrum": "T10002"}
    writes = [r for r in emulator.requests if r.method in ("POST", "PUT")
              and r.path.startswith("/api/externalid")]
    assert [(w.method, w.json()) for w in writes] == [("POST", {"value": "T10002"})]


def test_known_external_ids_save_the_read(client: ServiceTradeClient,
                                          emulator: ServiceTradeEmulator) -> None:
    job = client.get_job(JOB)
    emulator.clear_requests()
    assert client.set_job_external_id(JOB, "spectrum", "T1", known=job.external_ids)
    assert client.set_job_external_id(JOB, "spectrum", "T1", known={"spectrum": "T1"}) is False
    assert [r.method for r in emulator.requests] == ["POST"]


def test_a_different_value_is_updated_with_put_then_cleared(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    client.set_job_external_id(JOB, "spectrum", "T1")
    assert client.set_job_external_id(JOB, "spectrum", "T2") is True
    assert emulator.requests[-1].method == "PUT"
    assert client.external_id("job", JOB, "spectrum") == "T2"
    client.clear_external_id("job", JOB, "spectrum")
    assert client.external_id("job", JOB, "spectrum") is None


def test_external_id_writes_are_retried_through_5xx(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    emulator.inject("http_500_after_apply", path_prefix="/externalid", method="POST")
    assert client.set_job_external_id(JOB, "spectrum", "T9") is True
    assert emulator.external_ids("job", JOB) == {"spectrum": "T9"}


def test_a_value_held_by_another_record_is_rejected_with_validation(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    other = NOTABLE.ready_without_contract
    client.set_job_external_id(other, "spectrum", "T5")
    emulator.clear_requests()
    with pytest.raises(RequestRejected) as caught:
        client.set_job_external_id(JOB, "spectrum", "T5")
    assert caught.value.status_code == 400
    assert "already used" in caught.value.validation["value"]
    assert caught.value.request_id
    assert "already used" in str(caught.value)
    assert [r.method for r in emulator.requests] == ["GET", "POST"]  # never retried


def test_reverse_lookup(client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    found = client.find_by_external_id("company", "spectrum", "MERCYGEN")
    assert isinstance(found, Company)
    assert found.name == "Mercy General Hospital"
    client.set_job_external_id(JOB, "spectrum", "T 1/2")
    job = client.find_by_external_id("job", "spectrum", "T 1/2")
    assert isinstance(job, Job)
    assert job.id == JOB
    assert client.find_by_external_id("company", "spectrum", "NOPE") is None


def test_system_names_are_checked_before_calling(client: ServiceTradeClient) -> None:
    with pytest.raises(ValueError, match="lower-case"):
        client.set_job_external_id(JOB, "Spectrum", "T1")


# --- comments ----------------------------------------------------------------------------------
def test_comments_are_private(client: ServiceTradeClient,
                              emulator: ServiceTradeEmulator) -> None:
    comment = client.add_job_comment(JOB, "Send to Spectrum failed: customer not mapped.")
    assert comment.entity_id == JOB
    posted = next(r for r in emulator.requests if r.path == "/api/comment")
    assert posted.json() == {"entityType": 3, "entityId": JOB,
                             "content": "Send to Spectrum failed: customer not mapped."}
    assert [c["content"] for c in emulator.comments(JOB)] == [comment.content]
    assert client.job_comments(JOB)[0].id == comment.id


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=300).filter(lambda t: t.strip()))
def test_comment_text_round_trips(client: ServiceTradeClient,
                                  emulator: ServiceTradeEmulator, text: str) -> None:
    comment = client.add_job_comment(JOB, text)
    assert comment.content == text
    assert emulator.comments(JOB)[-1]["content"] == text


def test_a_comment_applied_before_a_5xx_is_not_posted_twice(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    emulator.inject("http_500_after_apply", path_prefix="/comment", method="POST")
    comment = client.add_job_comment(JOB, "Work order T10002 created")
    assert [c["id"] for c in emulator.comments(JOB)] == [comment.id]


def test_a_comment_refused_with_5xx_is_posted_once_on_retry(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    emulator.inject("http_503", path_prefix="/comment", method="POST")
    client.add_job_comment(JOB, "retry me")
    assert [c["content"] for c in emulator.comments(JOB)] == ["retry me"]


def test_without_checking_an_ambiguous_comment_failure_is_not_retried(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    emulator.inject("http_500", path_prefix="/comment", method="POST")
    with pytest.raises(ServiceTradeUnavailable) as caught:
        client.add_job_comment(JOB, "once", check_before_retry=False)
    assert caught.value.maybe_applied
    assert sum(r.path == "/api/comment" for r in emulator.requests) == 1


def test_a_comment_hit_by_429_is_retried(client: ServiceTradeClient,
                                         emulator: ServiceTradeEmulator) -> None:
    emulator.inject("http_429", path_prefix="/comment")
    client.add_job_comment(JOB, "after the rate limit", check_before_retry=False)
    assert len(emulator.comments(JOB)) == 1


# --- transient failures -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["http_429", "http_500", "http_503"])
def test_transient_answers_are_retried(kind: str, client: ServiceTradeClient,
                                       emulator: ServiceTradeEmulator,
                                       sleeps: SleepRecorder) -> None:
    emulator.inject(kind, path_prefix="/job", count=2)
    assert client.get_job(JOB).id == JOB
    assert len(sleeps.waits) == 2


@pytest.mark.parametrize("kind", ["http_429", "http_500", "http_503"])
def test_transient_answers_on_every_try_are_unavailable(
        kind: str, client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    emulator.inject(kind, path_prefix="/job", count=3)
    with pytest.raises(ServiceTradeUnavailable, match="ServiceTrade answered HTTP") as caught:
        client.get_job(JOB)
    assert caught.value.status_code == int(kind[-3:])
    assert caught.value.request_id
    assert sum(r.path == f"/api/job/{JOB}" for r in emulator.requests) == 3


def test_retry_after_is_honoured(client: ServiceTradeClient, emulator: ServiceTradeEmulator,
                                 sleeps: SleepRecorder) -> None:
    client.get_job(JOB)
    emulator.inject("http_429", path_prefix="/job", delay=0.04)  # Retry-After: 1, capped
    client.get_job(JOB)
    assert sleeps.waits == [0.05]  # at least Retry-After, at most the policy's max_delay


def test_a_slow_answer_times_out_and_is_retried(make_client: MakeClient,
                                                emulator: ServiceTradeEmulator) -> None:
    client = make_client(timeout=0.2)
    client.get_job(JOB)
    emulator.inject("slow", path_prefix="/job", delay=0.5)
    assert client.get_job(JOB).id == JOB


def test_an_unreachable_server_is_unavailable(sleeps: SleepRecorder) -> None:
    with BackgroundServer(lambda *a: None) as server:  # bind a port, then free it
        url = f"{server.url}/api"
    client = ServiceTradeClient(url, SessionAuth(DEMO_USERNAME, DEMO_PASSWORD),
                                retry=RetryPolicy(attempts=2, base_delay=0), sleep=sleeps)
    with pytest.raises(ServiceTradeUnavailable, match="did not answer") as caught:
        client.get_job(JOB)
    assert caught.value.status_code is None
    assert not caught.value.maybe_applied
    assert len(sleeps.waits) == 1
    client.close()


def test_other_4xx_are_not_retried(client: ServiceTradeClient,
                                   emulator: ServiceTradeEmulator) -> None:
    with pytest.raises(RequestRejected) as caught:
        client.register_webhook("ftp://example.invalid/hook")
    assert caught.value.validation == {"hookUrl": "hookUrl must be an http(s) URL"}
    assert sum(r.path == "/api/webhook" for r in emulator.requests) == 1


# --- wire details ------------------------------------------------------------------------------
def test_ids_above_2_to_the_53_stay_exact(make_client: MakeClient, shared_server: Any) -> None:
    state = servicetrade_state()
    big = 2**53 + 1
    state["jobs"][0]["id"] = big
    emulator = ServiceTradeEmulator(state)
    shared_server[1].target = emulator.app
    client = make_client()
    assert client.get_job(big).id == big
    assert [j.id for j in client.search_jobs(ids=[big])] == [big]
    assert client.add_job_comment(big, "exact").entity_id == big


def _mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> ServiceTradeClient:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/auth":
            return httpx.Response(200, json={"data": {"authToken": "t"}})
        return handler(request)

    return ServiceTradeClient("https://st.example/api", SessionAuth("u", "p"),
                              transport=httpx.MockTransport(route), sleep=lambda s: None)


def test_injected_transport_and_php_empty_maps() -> None:
    client = _mock_client(lambda r: httpx.Response(200, json={"data": {
        "id": 5, "name": "Acme", "externalIds": [], "newField": {"x": 1}}}))
    company = client.get_company(5)
    assert company.external_ids == {}
    assert company.model_extra == {"newField": {"x": 1}}


def test_a_body_without_the_envelope_is_unexpected() -> None:
    client = _mock_client(lambda r: httpx.Response(200, text="<html>login</html>",
                                                   headers={"x-request-id": "r-1"}))
    with pytest.raises(UnexpectedResponse, match="ending in /api") as caught:
        client.get_job(1)
    assert caught.value.request_id == "r-1"


def test_a_float_id_is_refused() -> None:
    client = _mock_client(lambda r: httpx.Response(200, json={"data": {
        "id": 3.1e15, "number": 1}}))
    with pytest.raises(UnexpectedResponse, match="Job"):
        client.get_job(1)
