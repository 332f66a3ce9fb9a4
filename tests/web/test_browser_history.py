"""The history in a real browser: filter to the failed sends, open one, read its fix."""

from __future__ import annotations

import re
from typing import Any

from .conftest import WebEnvironment, sign_in
from .test_history_pages import real_failed_send


def test_a_user_finds_a_failed_send_in_the_history_and_reads_its_fix(
        web_env: WebEnvironment, page: Any) -> None:
    failed = real_failed_send(web_env)
    sign_in(page)
    page.click("nav >> text=History")
    page.wait_for_url(re.compile(r".*/history$"))
    page.select_option("select[name=status]", "failed")
    page.click("form.history-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*/history\?.*status=failed.*"))
    outcomes = page.locator("table.history tbody td.status-failed, "
                            "table.history tbody td.status-sent, "
                            "table.history tbody td.status-running").all_inner_texts()
    assert outcomes
    assert set(outcomes) == {"failed"}
    row = page.locator(f'tr[data-attempt="{failed.id}"]')
    assert "Customer not mapped" in row.inner_text()
    row.locator(f'a[href="/history/{failed.id}"]').first.click()
    page.wait_for_url(re.compile(rf".*/history/{failed.id}$"))
    fix = page.locator(".failure-fix")
    assert fix.inner_text() == f"How to fix: {failed.failure_fix}"
    assert page.locator("form[action$='/retry'] button").inner_text() == "Retry"
