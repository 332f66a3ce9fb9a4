"""The issue's "done when", in a real browser (Playwright driving Debian's chromium): sign in,
open a job, pick ``Send Job to Spectrum — <name>`` and see the work order number; see a
failure with its fix; be asked before a re-send; get 404 for another account's job."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from .conftest import OFFICE, OTHER_JOB_OFFSET, WebEnvironment, sign_in

SEND_MAIN = "Send Job to Spectrum \u2014 Main"


def _send_from_the_menu(page: Any, job_id: int) -> None:
    page.goto(f"/jobs/{job_id}")
    page.click("details.send-menu > summary")
    page.get_by_role("button", name=SEND_MAIN, exact=True).click()


def test_sending_a_job_shows_its_work_order_number(page: Any, web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.ready
    sign_in(page, OFFICE)
    _send_from_the_menu(page, job_id)
    expect(page.locator("#send-status.sent")).to_be_visible(timeout=20_000)
    attempt = web_env.store.last_attempt(web_env.store.connection("Main").id, job_id)
    assert attempt is not None
    assert attempt.status == "sent"
    expect(page.locator("#send-status .work-order-number")).to_have_text(
        attempt.work_order_number)
    expect(page.locator("#job-history")).to_contain_text(attempt.work_order_number)


def test_a_missing_mapping_shows_the_failure_and_its_fix(page: Any,
                                                         web_env: WebEnvironment) -> None:
    sign_in(page, OFFICE)
    _send_from_the_menu(page, web_env.jobs.customer_not_mapped)
    status = page.locator("#send-status.failed")
    expect(status).to_be_visible(timeout=20_000)
    expect(status.locator(".failure-kind")).to_have_text("Customer not mapped")
    expect(status.locator(".failure-fix")).to_contain_text("Find the customer code in Spectrum")


def test_the_live_status_follows_a_slow_send_to_its_outcome(page: Any,
                                                             web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.long_summary
    # Both reads of the job (the page's check, then the send's) take longer than the Send
    # button waits, so the page first shows the send under way and its script takes over.
    web_env.servicetrade.inject("slow", path_prefix=f"/job/{job_id}", method="GET", count=2,
                                delay=2.0)
    sign_in(page, OFFICE)
    _send_from_the_menu(page, job_id)
    page.wait_for_url(re.compile(rf".*/jobs/{job_id}\?send=.+"))
    sent = page.locator("#send-status.sent")
    expect(sent).to_be_visible(timeout=20_000)
    attempt = web_env.store.last_attempt(web_env.store.connection("Main").id, job_id)
    assert attempt is not None
    expect(sent.locator(".work-order-number")).to_have_text(attempt.work_order_number)
    expect(sent).to_contain_text("Spectrum keeps the first")  # the long summary's warning
    expect(page.locator("#job-history")).to_contain_text(attempt.work_order_number)


def test_a_resend_lists_the_fields_it_overwrites_first(page: Any,
                                                       web_env: WebEnvironment) -> None:
    job_id = web_env.jobs.ready_without_contract
    sign_in(page, OFFICE)
    _send_from_the_menu(page, job_id)
    expect(page.locator("#send-status.sent")).to_be_visible(timeout=20_000)
    _send_from_the_menu(page, job_id)
    confirmation = page.locator("section.resend-confirmation")
    expect(confirmation).to_contain_text("overwrites these Spectrum fields")
    expect(confirmation.locator('tr[data-element="Bill_Customer_Code"]')).to_be_visible()
    expect(confirmation.locator('tr[data-element="WO_Job_Number"]')).to_be_visible()
    page.get_by_role("button", name="Overwrite and re-send to Main").click()
    expect(page.locator("#send-status.sent")).to_be_visible(timeout=20_000)
    attempts = web_env.store.history(job_id=job_id)
    assert [a.status for a in attempts[:2]] == ["sent", "sent"]


def test_another_accounts_job_answers_404(page: Any, web_env: WebEnvironment) -> None:
    sign_in(page, OFFICE)
    answer = page.goto(f"/jobs/{web_env.jobs.ready + OTHER_JOB_OFFSET}")
    assert answer is not None
    assert answer.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
