"""The issue's "done when", in a real browser: an admin adds a connection through the form and
its secret is absent from the page source of the connections list and of the edit form."""

from __future__ import annotations

import re
from typing import Any

from servicetrade_spectrum.emulators import seed

from .conftest import ADMIN, WebEnvironment, sign_in

AUTHORIZATION_ID = "brwsrZ9Secret41"
CLIENT_SECRET = "browser-client-secret-7Qx"
NAME = "Browser Spectrum"


def test_an_added_connections_secret_is_absent_from_the_page_source(
        page: Any, web_env: WebEnvironment) -> None:
    sign_in(page, ADMIN)
    page.goto("/connections")
    page.click("text=Add a connection")
    page.wait_for_url(re.compile(r".*/connections/new$"))
    page.fill("input[name=name]", NAME)
    page.fill("input[name=url]", web_env.spectrum_url)
    page.fill("input[name=company_code]", seed.DEMO_COMPANY_CODE)
    page.fill("input[name=authorization_id]", AUTHORIZATION_ID)
    page.fill("input[name=prefix]", "B")
    page.fill("input[name=client_id]", "browser-client")
    page.fill("input[name=client_secret]", CLIENT_SECRET)
    page.click("button:has-text('Add connection')")
    page.wait_for_url(re.compile(r".*/connections$"))

    assert page.locator(".notice").inner_text().startswith(f"Connection '{NAME}' added")
    stored = web_env.store.connection(NAME)
    assert (stored.authorization_id, stored.client_secret) == (AUTHORIZATION_ID, CLIENT_SECRET)
    card = page.locator(f"[data-connection='{NAME}']")
    assert "browser-client" in card.inner_text()
    listing = page.content()
    assert AUTHORIZATION_ID not in listing
    assert CLIENT_SECRET not in listing

    card.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url(re.compile(rf".*/connections/{stored.id}/edit$"))
    assert page.input_value("input[name=name]") == NAME
    assert page.input_value("input[name=authorization_id]") == ""
    assert page.get_attribute("input[name=authorization_id]", "type") == "password"
    edit = page.content()
    assert AUTHORIZATION_ID not in edit
    assert CLIENT_SECRET not in edit

    # The test button runs the CLI's check and shows its result in the connection's card.
    page.goto("/connections")
    page.locator(f"[data-connection='{NAME}'] button:has-text('Test')").click()
    outcome = page.locator(".connection-test")
    outcome.wait_for()
    assert "Spectrum answers: yes" in outcome.inner_text()
    assert AUTHORIZATION_ID not in page.content()
