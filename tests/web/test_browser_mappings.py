"""In a real browser: fix the missing customer mapping that holds a job back, in place."""

from __future__ import annotations

import re
from typing import Any

from servicetrade_spectrum.emulators import seed

from .conftest import OFFICE, WebEnvironment, sign_in


def test_office_user_fixes_the_unmapped_company_in_place(web_env: WebEnvironment,
                                                         page: Any) -> None:
    job = web_env.servicetrade.job(web_env.jobs.customer_not_mapped)
    company_id, company_name = job["customer"]["id"], job["customer"]["name"]
    code = next(code for name, code, *_ in seed._CUSTOMERS if name == company_name)
    assert web_env.servicetrade.external_ids("company", company_id) == {}
    try:
        sign_in(page, OFFICE)
        page.click("nav >> text=Mappings")
        page.wait_for_url(re.compile(r".*/mappings.*"))
        row = page.locator(f"tr#company-{company_id}")
        assert row.locator("td.mapping-value").inner_text().strip() == "missing"
        assert row.locator(f"a[href='/jobs/{job['id']}']").inner_text() == str(job["number"])

        row.locator("input[name=value]").fill(code)
        row.locator("button[type=submit]").click()

        page.wait_for_selector("p.notice")
        assert page.locator("p.notice").inner_text() == (
            f"Company '{company_name}' now maps to Spectrum customer '{code}' for system "
            "'spectrum'.")
        row = page.locator(f"tr#company-{company_id}")
        assert row.locator("td.mapping-value").inner_text().strip() == code
        assert "mapped" in (row.get_attribute("class") or "")
        assert row.locator("td.blocked-jobs a").count() == 0
        assert web_env.servicetrade.external_ids("company", company_id) == {"spectrum": code}
    finally:
        web_env.servicetrade.account.set_external_id("company", company_id, "spectrum", "",
                                                     replace=True)
