"""The history pages over real HTTP: the list (filters, keyset paging, the paused banner),
an attempt's detail with its secrets removed, retrying a failed send, and account isolation.

Attempts that only need to exist are written straight to the store (quick, and with job IDs
no seed job has, so each test finds its own rows in the shared history); retries go through
real sends.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.store import AttemptRecord, Store
from servicetrade_spectrum.web._sending import start_send, wait_for_send

from .conftest import ADMIN, OFFICE, OTHER_ADMIN, OTHER_CONNECTION, WebEnvironment

_job_ids = itertools.count(9_100_000)
"""Job IDs no seed job has: one per test that writes attempts to the store directly."""


def record_attempt(store: Store, job_id: int, *, connection: str = "Main",
                   status: str = "failed", failure_kind: str = "customer_not_mapped",
                   started_at: datetime | None = None, **values: Any) -> int:
    """An attempt as a send would have left it, written straight to the store."""
    config = store.connection(connection)
    attempt_id = store.start_attempt(config, job_id, job_number=f"N{job_id}", trigger="web",
                                     triggered_by=ADMIN)
    if status == "failed":
        values = {"failure_kind": failure_kind, "failure_message": "Company 'Acme' has no "
                  "external ID for spectrum.", "failure_fix": "Add the customer code.",
                  "spectrum_message": "Customer code is missing", **values}
    elif status == "sent":
        values = {"work_order_number": f"T{job_id}"[:10], **values}
    if status != "running":
        values["status"] = status
    store.update_attempt(attempt_id, **values)
    if started_at is not None:  # after the status, which times the attempt from its start
        finished = {} if status == "running" else {
            "finished_at": started_at + timedelta(seconds=1), "duration_ms": 1000}
        store.update_attempt(attempt_id, started_at=started_at, **finished)
    return attempt_id


def attempt_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-attempt="(\d+)"', html)]


def link(html: str, label: str) -> str:
    found = re.search(r'<a href="([^"]+)"[^>]*>[^<]*' + label, html)
    assert found, f"no {label} link"
    return unescape(found.group(1))


def real_failed_send(web_env: WebEnvironment, job_id: int | None = None) -> AttemptRecord:
    """A real send of a job whose customer is not mapped: it fails, and is the job's latest."""
    admin = web_env.store.users.by_email(ADMIN)
    assert admin is not None
    workflow_id = start_send(web_env.services, admin,
                             job_id or web_env.jobs.customer_not_mapped,
                             web_env.store.connection("Main"))
    state = wait_for_send(web_env.services, admin.account_id, workflow_id, timeout=30)
    assert state.phase == "failed", state
    assert state.attempt is not None
    return state.attempt


@pytest.fixture(scope="module")
def admin(web_env: WebEnvironment) -> httpx.Client:
    return web_env.client(ADMIN)


# -- the list ---------------------------------------------------------------------------------
def test_history_needs_a_signed_in_user(web_env: WebEnvironment) -> None:
    answer = web_env.client(None).get("/history")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_history_lists_the_accounts_attempts_newest_first_with_their_columns(
        web_env: WebEnvironment, admin: httpx.Client) -> None:
    job = next(_job_ids)
    older = record_attempt(web_env.store, job, status="failed")
    newer = record_attempt(web_env.store, job, status="sent")
    answer = admin.get(f"/history?job_id={job}")
    assert answer.status_code == 200
    assert attempt_ids(answer.text) == [newer, older]
    row = answer.text[answer.text.index(f'data-attempt="{older}"'):]
    row = row[:row.index("</tr>")]
    assert f'href="/jobs/{job}"' in row
    assert f"N{job}" in row
    assert f'href="/history/{older}"' in row
    assert "Main" in row
    assert "web" in row
    assert ADMIN in row
    assert "Customer not mapped" in row  # the kind's label, not its code
    assert "Customer code is missing" in row  # Spectrum's words
    assert f"T{job}"[:10] in answer.text  # the sent one's work order number
    assert 'aria-current="page"' in answer.text  # History is the current page in the nav


def test_office_users_see_the_history_too(web_env: WebEnvironment) -> None:
    job = next(_job_ids)
    attempt = record_attempt(web_env.store, job)
    answer = web_env.client(OFFICE).get(f"/history?job_id={job}")
    assert attempt_ids(answer.text) == [attempt]


def test_history_filters_by_outcome_failure_kind_and_connection(
        web_env: WebEnvironment, admin: httpx.Client) -> None:
    job = next(_job_ids)
    sent = record_attempt(web_env.store, job, status="sent")
    unmapped = record_attempt(web_env.store, job, failure_kind="customer_not_mapped")
    unreachable = record_attempt(web_env.store, job, failure_kind="spectrum_unreachable")
    running = record_attempt(web_env.store, job, status="running")

    def shown(query: str) -> list[int]:
        answer = admin.get(f"/history?job_id={job}&{query}")
        assert answer.status_code == 200, answer.text
        return attempt_ids(answer.text)

    assert shown("status=sent") == [sent]
    assert shown("status=failed") == [unreachable, unmapped]
    assert shown("status=running") == [running]
    assert shown("failure_kind=spectrum_unreachable") == [unreachable]
    assert shown("status=failed&failure_kind=customer_not_mapped") == [unmapped]
    assert shown("connection=Main") == [running, unreachable, unmapped, sent]
    # Blank values (an untouched form) mean "any".
    assert shown("connection=&status=&failure_kind=&from=&to=") == [
        running, unreachable, unmapped, sent]
    page = admin.get(f"/history?job_id={job}&status=failed").text
    assert '<option value="failed" selected>' in page  # the form shows the filter in force


def test_history_filters_by_date_range_in_utc(web_env: WebEnvironment,
                                              admin: httpx.Client) -> None:
    job = next(_job_ids)
    early = record_attempt(web_env.store, job,
                           started_at=datetime(2021, 3, 14, 0, 0, 1, tzinfo=UTC))
    late = record_attempt(web_env.store, job,
                          started_at=datetime(2021, 3, 15, 23, 59, 59, tzinfo=UTC))
    after = record_attempt(web_env.store, job,
                           started_at=datetime(2021, 3, 16, 0, 0, 0, tzinfo=UTC))

    def shown(query: str) -> list[int]:
        return attempt_ids(admin.get(f"/history?job_id={job}&{query}").text)

    assert shown("from=2021-03-14&to=2021-03-15") == [late, early]  # "to" includes its day
    assert shown("from=2021-03-15") == [after, late]
    assert shown("to=2021-03-14") == [early]
    assert shown("from=2021-03-17") == []
    assert "match these filters" in admin.get(f"/history?job_id={job}&from=2021-03-17").text


@pytest.mark.parametrize(("query", "words"), [
    ("status=done", "Outcome filter: 'done' is not an outcome"),
    ("failure_kind=oops", "Failure kind filter: 'oops' is not a failure kind"),
    ("job_id=12a", "Job ID filter: '12a' is not a job ID"),
    ("from=31/05/2024", "From filter: '31/05/2024' is not a date"),
    ("to=tomorrow", "To filter: 'tomorrow' is not a date"),
    ("from=2024-06-02&to=2024-06-01", "end date is before the start date"),
    ("connection=Nowhere", "no connection named 'Nowhere'"),
    ("connection=" + OTHER_CONNECTION.replace(" ", "+"), "no connection named 'Contoso Spectrum'"),
    ("before=abc", "Older filter: 'abc' is not a page cursor"),
    ("before=5&after=9", "either 'before' or 'after'"),
])
def test_a_bad_filter_value_is_a_400_page_naming_the_field(
        admin: httpx.Client, query: str, words: str) -> None:
    answer = admin.get(f"/history?{query}")
    assert answer.status_code == 400
    assert words in unescape(answer.text)


def test_history_pages_50_at_a_time_with_newer_and_older_links_keeping_the_filters(
        web_env: WebEnvironment, admin: httpx.Client) -> None:
    job = next(_job_ids)
    created = [record_attempt(web_env.store, job) for _ in range(57)]
    newest_first = created[::-1]
    first = admin.get(f"/history?job_id={job}&status=failed")
    assert attempt_ids(first.text) == newest_first[:50]
    assert "Newer" not in first.text
    older = link(first.text, "Older")
    query = parse_qs(urlsplit(older).query)
    assert query == {"job_id": [str(job)], "status": ["failed"], "before": [str(created[7])]}
    second = admin.get(older)
    assert attempt_ids(second.text) == newest_first[50:]
    assert "Older" not in second.text
    back = admin.get(link(second.text, "Newer"))
    assert attempt_ids(back.text) == newest_first[:50]
    assert "Newer" not in back.text
    assert "Older" in back.text


def test_a_paused_connection_is_announced_with_its_reason(web_env: WebEnvironment) -> None:
    reason = "Spectrum refused the Authorization ID 5 times"
    web_env.store.update_connection(OTHER_CONNECTION, paused=True, pause_reason=reason)
    try:
        other = web_env.client(OTHER_ADMIN).get("/history").text
        assert f"Connection '{OTHER_CONNECTION}' is paused: {reason}" in other
        assert 'class="error history-paused"' not in web_env.client(ADMIN).get("/history").text
    finally:
        web_env.store.update_connection(OTHER_CONNECTION, paused=False, pause_reason="")


# -- one attempt ---------------------------------------------------------------------------
def test_the_detail_of_a_real_failed_send_shows_what_was_sent_and_the_fix(
        web_env: WebEnvironment, admin: httpx.Client) -> None:
    attempt = real_failed_send(web_env)
    answer = admin.get(f"/history/{attempt.id}")
    assert answer.status_code == 200
    page = unescape(answer.text)
    assert "Failed: Customer not mapped" in page
    assert attempt.failure_message in page
    assert f"How to fix: {attempt.failure_fix}" in re.sub(r"<[^>]+>", "", page)
    assert attempt.comment_text
    assert attempt.comment_text in page
    assert "Posted on the job" in page
    assert f"Trigger</dt><dd>web by {ADMIN}" in page
    assert f"Tries</dt><dd>{attempt.tries}" in page
    assert "External ID written</dt><dd>no" in page


def test_the_detail_of_a_sent_attempt_shows_fields_rows_warnings_and_bodies(
        web_env: WebEnvironment, admin: httpx.Client) -> None:
    job = next(_job_ids)
    attempt_id = record_attempt(
        web_env.store, job, status="sent", tries=2, http_status=200,
        external_id_written=True, warnings=["Summary cut from 300 to 250 characters."],
        fields={"WO_Number": f"T{job}", "Bill_Customer_Code": "ACME <&> CO"},
        spectrum_rows=[{"code": "W", "message": "Lead source ignored",
                        "column": "Lead_Source"}],
        request_body="<WO_Number>T1</WO_Number>", response_body="<Status>OK</Status>")
    answer = admin.get(f"/history/{attempt_id}")
    assert answer.status_code == 200
    assert f"Sent: work order T{job}" in answer.text
    assert "<code>Bill_Customer_Code</code></td><td>ACME &lt;&amp;&gt; CO</td>" in answer.text
    assert "<td>W</td><td>Lead source ignored</td><td>Lead_Source</td>" in answer.text
    assert "Summary cut from 300 to 250 characters." in answer.text
    assert "&lt;WO_Number&gt;T1&lt;/WO_Number&gt;" in answer.text  # escaped, never raw
    assert "&lt;Status&gt;OK&lt;/Status&gt;" in answer.text
    assert "External ID written</dt><dd>yes" in answer.text
    assert "Tries</dt><dd>2" in answer.text
    assert "Retry" not in answer.text  # only failed attempts are retried


def test_secrets_never_reach_the_detail_page(web_env: WebEnvironment,
                                             admin: httpx.Client) -> None:
    secret = seed.DEMO_AUTHORIZATION_ID
    attempt_id = record_attempt(
        web_env.store, next(_job_ids),
        request_body=f"<Authorization_ID>{secret}</Authorization_ID>",
        response_body=f"Could not find WebService for {secret}",
        fields={"Authorization_ID": secret}, comment_text=f"failed for {secret}")
    answer = admin.get(f"/history/{attempt_id}")
    assert answer.status_code == 200
    assert secret not in answer.text
    assert "&lt;Authorization_ID&gt;[redacted]&lt;/Authorization_ID&gt;" in answer.text
    assert "Could not find WebService for [redacted]" in answer.text
    real = real_failed_send(web_env, web_env.jobs.unknown_customer_code)  # Spectrum said no
    assert real.request_body
    assert real.response_body
    page = admin.get(f"/history/{real.id}").text
    assert "Rejected by Spectrum" in page
    assert secret not in page


def test_another_accounts_attempt_is_not_found(web_env: WebEnvironment) -> None:
    job = next(_job_ids)
    attempt_id = record_attempt(web_env.store, job)
    other = web_env.client(OTHER_ADMIN)
    answer = other.get(f"/history/{attempt_id}")
    assert answer.status_code == 404
    assert answer.text == other.get("/history/987654321").text.replace("987654321",
                                                                        str(attempt_id))
    assert attempt_ids(other.get(f"/history?job_id={job}").text) == []
    refused = web_env.post_form(other, "/history", f"/history/{attempt_id}/retry", {})
    assert refused.status_code == 404
    assert len(web_env.store.history(job_id=job)) == 1


# -- retry -------------------------------------------------------------------------------------
def test_retry_starts_a_durable_send_and_redirects_to_the_job(
        web_env: WebEnvironment, admin: httpx.Client) -> None:
    attempt = real_failed_send(web_env)
    detail = admin.get(f"/history/{attempt.id}").text
    assert f'action="/history/{attempt.id}/retry"' in detail
    answer = web_env.post_form(admin, f"/history/{attempt.id}",
                               f"/history/{attempt.id}/retry", {})
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == f"/jobs/{attempt.job_id}"
    workflow_id = parse_qs(location.query)["send"][0]
    state = wait_for_send(web_env.services, attempt.account_id, workflow_id, timeout=30)
    assert state.attempt is not None
    assert state.attempt.id > attempt.id
    assert state.attempt.trigger == "retry"
    assert state.attempt.triggered_by == ADMIN
    # The old attempt is no longer its job's latest: no button, and a retry is refused.
    assert f'action="/history/{attempt.id}/retry"' not in admin.get(
        f"/history/{attempt.id}").text
    again = web_env.post_form(admin, f"/history/{attempt.id}",
                              f"/history/{attempt.id}/retry", {})
    assert again.status_code == 409
    assert "has a newer attempt" in unescape(again.text)


def test_retry_needs_the_forms_csrf_token(web_env: WebEnvironment,
                                          admin: httpx.Client) -> None:
    attempt = real_failed_send(web_env)
    answer = admin.post(f"/history/{attempt.id}/retry", data={})
    assert answer.status_code == 403
    latest = web_env.store.last_attempt(attempt.connection_id, attempt.job_id)
    assert latest is not None
    assert latest.id == attempt.id


def test_a_sent_attempt_cannot_be_retried(web_env: WebEnvironment,
                                          admin: httpx.Client) -> None:
    attempt_id = record_attempt(web_env.store, next(_job_ids), status="sent")
    answer = web_env.post_form(admin, f"/history/{attempt_id}",
                               f"/history/{attempt_id}/retry", {})
    assert answer.status_code == 409
    assert "did not fail" in answer.text
