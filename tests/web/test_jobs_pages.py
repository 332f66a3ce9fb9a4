"""The jobs list and the job page over real HTTP: search, mappings with their fixes, the Send
menu, sends followed to their outcome, re-send confirmation, CSRF and account isolation."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import httpx

from servicetrade_spectrum.store import NewConnection

from .conftest import ADMIN, OFFICE, OTHER_ADMIN, OTHER_JOB_OFFSET, WebEnvironment

EM_DASH = "\u2014"


def _number(web_env: WebEnvironment, job_id: int) -> int:
    return int(web_env.servicetrade.job(job_id)["number"])


def _send(web_env: WebEnvironment, client: httpx.Client, job_id: int, connection_id: int,
          *, confirmed: bool = False) -> httpx.Response:
    data = {"connection_id": str(connection_id)}
    if confirmed:
        data["confirmed"] = "1"
    return web_env.post_form(client, f"/jobs/{job_id}", f"/jobs/{job_id}/send", data)


def _follow(client: httpx.Client, location: str, timeout: float = 20) -> dict[str, Any]:
    """Poll the send's status the way the page's script does, until it is done."""
    job_id, send_id = re.fullmatch(r"/jobs/(\d+)\?send=(.+)", location).groups()  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = client.get(f"/jobs/{job_id}/sends/{send_id}").json()
        if state["done"] or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_jobs_are_found_by_number_with_a_link_to_the_job(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.ready
    number = _number(web_env, job_id)
    page = web_env.client(OFFICE).get("/jobs", params={"q": str(number)})
    assert page.status_code == 200
    assert f'href="/jobs/{job_id}"' in page.text
    assert f">{number}</a>" in page.text
    assert "Not sent" in page.text


def test_jobs_are_found_by_customer_and_filtered_by_status(web_env: WebEnvironment) -> None:
    job = web_env.servicetrade.job(web_env.jobs.ready)
    customer = job["customer"]["name"]
    page = web_env.client(OFFICE).get("/jobs", params={"q": customer.upper(),
                                                       "status": job["status"]})
    rows = re.findall(r'<tr data-job-id="(\d+)">(.*?)</tr>', page.text, re.S)
    assert str(web_env.jobs.ready) in [job_id for job_id, _ in rows]
    for _job_id, row in rows:
        assert html.escape(customer) in row
        assert f"<td>{job['status']}</td>" in row


def test_a_search_that_matches_nothing_says_so(web_env: WebEnvironment) -> None:
    page = web_env.client(OFFICE).get("/jobs", params={"q": "no such customer anywhere"})
    assert page.status_code == 200
    assert "No jobs match" in page.text


def test_an_invalid_status_is_refused_with_the_valid_ones(web_env: WebEnvironment) -> None:
    page = web_env.client(OFFICE).get("/jobs", params={"status": "<b>bad</b>"})
    assert page.status_code == 400
    assert "scheduled" in page.text
    assert "<b>bad</b>" not in page.text


def test_the_job_page_shows_each_mapping_and_the_send_menu(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.ready
    job = web_env.servicetrade.job(job_id)
    page = web_env.client(OFFICE).get(f"/jobs/{job_id}")
    assert page.status_code == 200
    text = page.text
    assert html.escape(job["customer"]["name"]) in text
    assert html.escape(job["location"]["name"]) in text
    assert html.escape(job["contract"]["name"]) in text
    assert '<details class="menu send-menu">' in text
    assert f"Send Job to Spectrum {EM_DASH} Main</button>" in text
    company = web_env.servicetrade.external_ids("company", job["customer"]["id"])
    assert f"<code>{company['spectrum']}</code>" in text
    assert "A send would fail" not in text


def test_a_missing_mapping_is_shown_with_its_fix(web_env: WebEnvironment) -> None:
    page = web_env.client(OFFICE).get(f"/jobs/{web_env.jobs.customer_not_mapped}")
    assert page.status_code == 200
    assert "Missing: Customer not mapped" in page.text
    assert "Find the customer code in Spectrum" in page.text
    assert "A send would fail: Customer not mapped." in page.text


def test_job_ids_that_are_not_numbers_answer_404(web_env: WebEnvironment) -> None:
    client = web_env.client(OFFICE)
    for address in ("/jobs/abc", "/jobs/1e3", "/jobs/-5", "/jobs/0"):
        assert client.get(address).status_code == 404, address


def test_another_accounts_job_answers_404(web_env: WebEnvironment) -> None:
    contoso_job = web_env.jobs.ready + OTHER_JOB_OFFSET
    assert web_env.client(OFFICE).get(f"/jobs/{contoso_job}").status_code == 404
    assert web_env.client(OTHER_ADMIN).get(f"/jobs/{contoso_job}").status_code == 200
    assert web_env.client(OTHER_ADMIN).get(f"/jobs/{web_env.jobs.ready}").status_code == 404


def test_a_send_needs_the_forms_csrf_token(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.long_summary
    connection = web_env.store.connection("Main")
    answer = web_env.client(ADMIN).post(f"/jobs/{job_id}/send",
                                        data={"connection_id": str(connection.id)})
    assert answer.status_code == 403
    assert web_env.store.last_attempt(connection.id, job_id) is None


def test_a_send_cannot_use_another_accounts_connection(web_env: WebEnvironment) -> None:
    contoso = web_env.store.connection("Contoso Spectrum")
    answer = _send(web_env, web_env.client(ADMIN), web_env.jobs.long_summary, contoso.id)
    assert answer.status_code == 404
    assert web_env.store.last_attempt(contoso.id, web_env.jobs.long_summary) is None


def test_a_send_is_followed_to_its_work_order_then_a_resend_asks_first(
        web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.ready_without_contract
    connection = web_env.store.connection("Main")
    client = web_env.client(OFFICE)
    answer = _send(web_env, client, job_id, connection.id)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(f"/jobs/{job_id}?send=")
    state = _follow(client, location)
    assert state["done"]
    assert state["reload_history"]
    sent = web_env.store.last_attempt(connection.id, job_id)
    assert sent is not None
    assert sent.status == "sent"
    assert sent.trigger == "web"
    assert sent.triggered_by == OFFICE
    assert f'class="work-order-number">{sent.work_order_number}<' in state["html"]
    page = client.get(location)
    assert sent.work_order_number in page.text
    assert 'id="job-history"' in page.text
    history = client.get(f"/jobs/{job_id}/history")
    assert history.text.lstrip().startswith("<section id=\"job-history\"")
    assert f"work order {sent.work_order_number}" in history.text

    again = _send(web_env, client, job_id, connection.id)
    assert again.status_code == 200
    assert "overwrites these Spectrum fields" in again.text
    assert '<tr data-element="Bill_Customer_Code">' in again.text
    assert '<tr data-element="WO_Job_Number">' in again.text
    assert web_env.store.last_attempt(connection.id, job_id) == sent  # nothing sent yet

    confirmed = _send(web_env, client, job_id, connection.id, confirmed=True)
    assert confirmed.status_code == 303
    assert _follow(client, confirmed.headers["location"])["done"]
    resent = web_env.store.last_attempt(connection.id, job_id)
    assert resent is not None
    assert resent.id > sent.id
    assert resent.status == "sent"


def test_a_failed_send_shows_the_kind_the_message_and_the_fix(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.site_not_mapped
    connection = web_env.store.connection("Main")
    client = web_env.client(OFFICE)
    answer = _send(web_env, client, job_id, connection.id)
    assert answer.status_code == 303
    state = _follow(client, answer.headers["location"])
    assert state["done"]
    assert "Site not mapped" in state["html"]
    assert "Find the site ID in Spectrum" in state["html"]
    listing = client.get("/jobs", params={"q": str(_number(web_env, job_id))})
    assert "Site not mapped" in listing.text


def test_a_send_of_another_account_cannot_be_followed(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.unmapped_contract
    connection = web_env.store.connection("Main")
    answer = _send(web_env, web_env.client(ADMIN), job_id, connection.id)
    send_id = answer.headers["location"].partition("?send=")[2]
    other = web_env.client(OTHER_ADMIN)
    assert other.get(f"/jobs/{job_id}/sends/{send_id}").status_code == 404
    assert other.get(f"/jobs/{job_id + OTHER_JOB_OFFSET}/sends/{send_id}").status_code == 404
    assert web_env.client(OFFICE).get(f"/jobs/{web_env.jobs.ready}/sends/{send_id}"
                                      ).status_code == 404


def test_a_paused_connection_is_shown_paused_and_refuses_sends(web_env: WebEnvironment) -> None:
    web_env.store.add_connection(NewConnection(
        name="Paused one", account="Northwind", ws_url=web_env.spectrum_url,
        company_code="1", authorization_id="whatever"))
    paused = web_env.store.update_connection("Paused one", paused=True,
                                             pause_reason="the Authorization ID was refused")
    client = web_env.client(ADMIN)
    page = client.get(f"/jobs/{web_env.jobs.ready}")
    assert f"<button type=\"button\" disabled>Send Job to Spectrum {EM_DASH} Paused one" \
           in page.text
    assert "the Authorization ID was refused" in page.text
    answer = _send(web_env, client, web_env.jobs.ready, paused.id)
    assert answer.status_code == 409
    assert "paused" in answer.text
    assert web_env.store.last_attempt(paused.id, web_env.jobs.ready) is None


def test_servicetrade_not_answering_is_a_503_page_that_says_so(web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.ready_without_contract
    client = web_env.client(OFFICE)
    web_env.servicetrade.inject("http_503", path_prefix=f"/job/{job_id}", count=10)
    try:
        answer = client.get(f"/jobs/{job_id}")
    finally:
        web_env.servicetrade.faults.clear()
    assert answer.status_code == 503
    assert "ServiceTrade did not answer" in answer.text
    assert "try again in a minute" in answer.text
    assert client.get(f"/jobs/{job_id}").status_code == 200
