"""The mappings page over HTTP: sections and counts against the seed, the jobs a gap holds
back, editing and clearing (written to the ServiceTrade emulator), the refusals and account
isolation.

The module's tests share one environment: each test that writes uses records no other test
here reads, and puts back what it changed.
"""

from __future__ import annotations

from typing import Any

import httpx
from lxml import html as lxml_html

from servicetrade_spectrum.emulators import seed

from .conftest import ADMIN, OFFICE, OTHER_ADMIN, OTHER_CONNECTION, WebEnvironment, csrf_token

SEED = seed.servicetrade_state()


def _company(name: str) -> dict[str, Any]:
    return next(c for c in SEED["companies"] if c["name"] == name)


BIRCHWOOD = _company("Birchwood Condominiums")  # unmapped; its open jobs: read-only here
QUARRY = _company("Quarry Ridge Golf Club")  # unmapped; refused duplicate
WESTFIELD = _company("Westfield Plastics")  # unmapped; mapped then cleared
SILVER_LAKE = _company("Silver Lake Arena")  # unmapped; invalid values
ACME = _company("Acme Manufacturing")  # mapped to ACMEMFG


def _connection_id(web_env: WebEnvironment, name: str = "Main") -> int:
    return web_env.store.connection(name).id


def _doc(text: str) -> Any:
    return lxml_html.fromstring(text)


def _page(client: httpx.Client, query: str = "") -> Any:
    answer = client.get(f"/mappings{query}")
    assert answer.status_code == 200, answer.text
    return _doc(answer.text)


def _row(document: Any, entity: str, record_id: int) -> Any:
    rows = document.xpath(f'//tr[@id="{entity}-{record_id}"]')
    assert rows, f"no row for {entity} {record_id}"
    return rows[0]


def _text(element: Any) -> str:
    return " ".join(element.text_content().split())


def _missing(web_env: WebEnvironment, key: str) -> int:
    return sum(1 for row in web_env.servicetrade.dump()[key]
               if not (row.get("externalIds") or {}).get("spectrum"))


def test_sections_count_mapped_and_missing_records(web_env: WebEnvironment) -> None:
    document = _page(web_env.client(OFFICE))
    for section, key in (("customers", "companies"), ("sites", "locations"),
                         ("contracts", "contracts")):
        node = document.xpath(f'//section[@id="{section}"]')[0]
        total, missing = len(SEED[key]), _missing(web_env, key)
        counts = _text(node.xpath('.//*[@class="counts"]')[0])
        assert counts == (f"{total - missing} mapped · {missing} missing · {total} in "
                          "ServiceTrade")
        rows = node.xpath(".//tbody/tr")
        assert len(rows) == missing  # "missing only" is the default when anything is missing
        assert all(row.get("class").startswith("missing") for row in rows)
    assert document.xpath('//select[@name="connection"]/option[@selected]')[0].text.startswith(
        "Main")


def test_show_all_lists_mapped_records_with_their_values(web_env: WebEnvironment) -> None:
    document = _page(web_env.client(), f"?connection={_connection_id(web_env)}&customers=all")
    row = _row(document, "company", ACME["id"])
    assert _text(row.xpath('.//td[@class="mapping-value"]')[0]) == "ACMEMFG"
    assert len(document.xpath('//section[@id="customers"]//tbody/tr')) == len(SEED["companies"])


def test_a_missing_company_shows_the_open_jobs_it_holds_back(web_env: WebEnvironment) -> None:
    document = _page(web_env.client())
    row = _row(document, "company", BIRCHWOOD["id"])
    links = {a.get("href") for a in row.xpath('.//td[@class="blocked-jobs"]//a')}
    assert f"/jobs/{web_env.jobs.customer_not_mapped}" in links
    open_jobs = [j for j in SEED["jobs"] if j["companyId"] == BIRCHWOOD["id"]
                 and j["status"] not in ("completed", "closed", "canceled")]
    assert f"{len(open_jobs)} open jobs" in _text(row)
    assert _text(row.xpath('.//td[@class="mapping-value"]')[0]) == "missing"


def test_the_name_filter_narrows_every_section(web_env: WebEnvironment) -> None:
    document = _page(web_env.client(), "?customers=all&q=acme")
    names = [_text(n) for n in document.xpath('//section[@id="customers"]//*[@class='
                                              '"record-name"]')]
    assert names == ["Acme Manufacturing"]


def test_editing_writes_the_external_id_then_clearing_removes_it(
        web_env: WebEnvironment) -> None:
    client = web_env.client(OFFICE)  # any signed-in user may fix a mapping
    connection_id = _connection_id(web_env)
    action = f"/mappings/{connection_id}/company/{WESTFIELD['id']}"
    answer = web_env.post_form(client, "/mappings", action,
                               {"value": " WESTPLAS ", "back": "customers=missing"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/mappings?connection={connection_id}")
    assert web_env.servicetrade.external_ids("company", WESTFIELD["id"]) == {
        "spectrum": "WESTPLAS"}
    page = client.get(answer.headers["location"])
    notice = _doc(page.text).xpath('//p[@class="notice"]')[0]
    assert _text(notice) == ("Company 'Westfield Plastics' now maps to Spectrum customer "
                             "'WESTPLAS' for system 'spectrum'.")
    row = _row(_doc(page.text), "company", WESTFIELD["id"])
    assert "edited" in row.get("class")  # still shown under "missing only"
    assert _text(row.xpath('.//td[@class="mapping-value"]')[0]) == "WESTPLAS"

    cleared = web_env.post_form(client, "/mappings", action, {"value": "  "})
    assert cleared.status_code == 303
    assert web_env.servicetrade.external_ids("company", WESTFIELD["id"]) == {}
    page = client.get(cleared.headers["location"])
    assert ("Company 'Westfield Plastics' no longer maps to a Spectrum customer for system "
            "'spectrum' (it was 'WESTPLAS')") in _text(_doc(page.text))


def test_an_invalid_value_is_explained_on_its_row_and_not_written(
        web_env: WebEnvironment) -> None:
    client = web_env.client()
    action = f"/mappings/{_connection_id(web_env)}/company/{SILVER_LAKE['id']}"
    answer = web_env.post_form(client, "/mappings", action, {"value": "SILVERLAKEARENA"})
    assert answer.status_code == 422
    row = _row(_doc(answer.text), "company", SILVER_LAKE["id"])
    error = _text(row.xpath('.//*[contains(@class, "field-error")]')[0])
    assert "'SILVERLAKEARENA' is 15 characters" in error
    assert "Bill_Customer_Code accepts at most 10" in error
    assert row.xpath('.//input[@name="value"]')[0].get("value") == "SILVERLAKEARENA"
    assert web_env.servicetrade.external_ids("company", SILVER_LAKE["id"]) == {}


def test_a_value_another_company_holds_is_refused_with_servicetrades_reason(
        web_env: WebEnvironment) -> None:
    client = web_env.client()
    action = f"/mappings/{_connection_id(web_env)}/company/{QUARRY['id']}"
    answer = web_env.post_form(client, "/mappings", action, {"value": "ACMEMFG"})
    assert answer.status_code == 409
    text = _text(_doc(answer.text))
    assert "company 'Acme Manufacturing'" in text
    assert "only once per system" in text
    assert web_env.servicetrade.external_ids("company", QUARRY["id"]) == {}


def test_an_edit_needs_the_forms_csrf_token(web_env: WebEnvironment) -> None:
    client = web_env.client()
    action = f"/mappings/{_connection_id(web_env)}/company/{QUARRY['id']}"
    answer = client.post(action, data={"value": "QUARRYRDG"})
    assert answer.status_code == 403
    answer = client.post(action, data={"value": "QUARRYRDG", "csrf_token": "forged"})
    assert answer.status_code == 403
    assert web_env.servicetrade.external_ids("company", QUARRY["id"]) == {}


def test_signed_out_visitors_are_sent_to_sign_in(web_env: WebEnvironment) -> None:
    answer = web_env.client(None).get("/mappings")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_another_accounts_connection_and_unknown_records_answer_404(
        web_env: WebEnvironment) -> None:
    client = web_env.client(OTHER_ADMIN)
    northwind = _connection_id(web_env)
    assert client.get(f"/mappings?connection={northwind}").status_code == 404
    token = csrf_token(client.get("/mappings").text)
    answer = client.post(f"/mappings/{northwind}/company/{QUARRY['id']}",
                         data={"value": "QUARRYRDG", "csrf_token": token})
    assert answer.status_code == 404
    assert web_env.servicetrade.external_ids("company", QUARRY["id"]) == {}

    admin = web_env.client(ADMIN)
    token = csrf_token(admin.get("/mappings").text)
    for path in (f"/mappings/{northwind}/company/42", f"/mappings/{northwind}/job/1",
                 f"/mappings/{_connection_id(web_env, OTHER_CONNECTION)}/company/"
                 f"{QUARRY['id']}"):
        assert admin.post(path, data={"value": "X", "csrf_token": token}).status_code == 404


def test_each_account_edits_its_own_servicetrade(web_env: WebEnvironment) -> None:
    client = web_env.client(OTHER_ADMIN)
    contoso = _connection_id(web_env, OTHER_CONNECTION)
    document = _page(client)
    assert _text(document.xpath('//select[@name="connection"]/option')[0]).startswith(
        OTHER_CONNECTION)
    action = f"/mappings/{contoso}/company/{QUARRY['id']}"
    try:
        answer = web_env.post_form(client, "/mappings", action, {"value": "QRGC"})
        assert answer.status_code == 303
        assert web_env.other_servicetrade.external_ids("company", QUARRY["id"]) == {
            "spectrum": "QRGC"}
        assert web_env.servicetrade.external_ids("company", QUARRY["id"]) == {}
    finally:
        web_env.other_servicetrade.account.set_external_id("company", QUARRY["id"],
                                                           "spectrum", "", replace=True)
