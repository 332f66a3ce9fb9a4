"""The connections pages over real HTTP: add, edit, test, pause/resume and automation rules;
validation that stores nothing; secrets never rendered back; admins only; accounts apart."""

from __future__ import annotations

import itertools
import re

import httpx

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.store import ConnectionConfig

from .conftest import ADMIN, OFFICE, OTHER_ADMIN, OTHER_CONNECTION, WebEnvironment, csrf_token

_names = itertools.count(1)


def _unique(stem: str) -> str:
    return f"{stem} {next(_names)}"


def _secret(stem: str) -> str:
    """A distinctive Authorization ID (at most 20 characters, as Spectrum's)."""
    return f"{stem}{next(_names):03d}Zq"[:20]


def _form(env: WebEnvironment, **overrides: str) -> dict[str, str]:
    values = {"name": _unique("Pages"), "url": env.spectrum_url,
              "company_code": seed.DEMO_COMPANY_CODE, "authorization_id": _secret("pgSecret"),
              "system": "spectrum", "prefix": "P", "work_order_type": "SVC",
              "lead_source": "", "client_id": "", "client_secret": "",
              "client_secret_expires_on": ""}
    values.update(overrides)
    return values


def _add(env: WebEnvironment, client: httpx.Client, **overrides: str) -> ConnectionConfig:
    data = _form(env, **overrides)
    answer = env.post_form(client, "/connections/new", "/connections", data)
    assert answer.status_code == 303, answer.text
    return env.store.connection(data["name"])


def _main(env: WebEnvironment) -> ConnectionConfig:
    return env.store.connection("Main")


def _field_error(html: str) -> list[str]:
    return re.findall(r'class="error field-error"[^>]*>([^<]*)<', html)


# -- who may see the pages ---------------------------------------------------------------------
def test_the_connections_page_lists_the_accounts_connections_with_their_settings(
        web_env: WebEnvironment) -> None:
    page = web_env.client(ADMIN).get("/connections")
    assert page.status_code == 200
    html = page.text
    main = _main(web_env)
    assert 'data-connection="Main"' in html
    assert main.ws_url in html
    assert "SVC" in html  # the demo's default work order type
    assert OTHER_CONNECTION not in html  # another account's
    assert main.authorization_id not in html


def test_a_user_who_is_not_an_admin_is_told_to_ask_one(web_env: WebEnvironment) -> None:
    office = web_env.client(OFFICE)
    for address in ("/connections", "/connections/new",
                    f"/connections/{_main(web_env).id}/edit"):
        answer = office.get(address)
        assert answer.status_code == 403, address
        assert "ask one" in answer.text
    token = csrf_token(office.get("/connections").text)  # the 403 page still has sign-out
    answer = office.post(f"/connections/{_main(web_env).id}/pause",
                         data={"csrf_token": token, "reason": "not mine to pause"})
    assert answer.status_code == 403
    assert not _main(web_env).paused


def test_a_form_post_without_the_csrf_token_changes_nothing(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    data = _form(web_env)
    answer = client.post("/connections", data=data)
    assert answer.status_code == 403
    assert data["name"] not in {c.name for c in web_env.store.connections()}
    answer = client.post(f"/connections/{_main(web_env).id}/pause",
                         data={"reason": "forged", "csrf_token": "not the token"})
    assert answer.status_code == 403
    assert not _main(web_env).paused


def test_another_accounts_connection_answers_404_everywhere(web_env: WebEnvironment) -> None:
    other = web_env.client(OTHER_ADMIN)
    main = _main(web_env)
    assert 'data-connection="Main"' not in other.get("/connections").text
    assert other.get(f"/connections/{main.id}/edit").status_code == 404
    token = csrf_token(other.get("/connections").text)
    for action, data in ((f"/connections/{main.id}/edit", _form(web_env, name="Hijacked")),
                         (f"/connections/{main.id}/test", {}),
                         (f"/connections/{main.id}/pause", {"reason": "hijacked"}),
                         (f"/connections/{main.id}/resume", {}),
                         (f"/connections/{main.id}/rules",
                          {"trigger": "on_create", "value": "", "job_type": ""})):
        answer = other.post(action, data={**data, "csrf_token": token})
        assert answer.status_code == 404, action
    after = _main(web_env)
    assert (after.name, after.paused, after.authorization_id) == ("Main", False,
                                                                  main.authorization_id)
    assert not [r for r in web_env.store.rules() if r.connection == "Main"]


# -- add --------------------------------------------------------------------------------------
def test_adding_a_connection_stores_every_setting_and_never_shows_the_secrets(
        web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    authorization_id, client_secret = _secret("addAuth"), "cs-add-Xy7-very-secret"
    data = _form(web_env, authorization_id=authorization_id, prefix="Q", lead_source="WEB",
                 work_order_type="INSP", system="spectrum_two", client_id="sdx-client",
                 client_secret=client_secret, client_secret_expires_on="2031-01-31",
                 preserve_edits="on")
    answer = web_env.post_form(client, "/connections/new", "/connections", data)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/connections"

    stored = web_env.store.connection(data["name"])
    assert stored.account_name == "Northwind"
    assert (stored.ws_url, stored.company_code, stored.prefix, stored.work_order_type,
            stored.lead_source, stored.system, stored.preserve_edits) == (
        web_env.spectrum_url, seed.DEMO_COMPANY_CODE, "Q", "INSP", "WEB", "spectrum_two", True)
    assert (stored.authorization_id, stored.client_id, stored.client_secret,
            stored.client_secret_expires_on) == (authorization_id, "sdx-client", client_secret,
                                                 "2031-01-31")

    listing = client.get("/connections").text
    assert f"Connection &#39;{data['name']}&#39; added" in listing  # the notice
    assert "sdx-client" in listing
    assert "2031-01-31" in listing
    edit = client.get(f"/connections/{stored.id}/edit").text
    assert "spectrum_two" in edit
    for html in (listing, edit):
        assert authorization_id not in html
        assert client_secret not in html
    for secret_input in re.findall(r'<input[^>]*name="(?:authorization_id|client_secret)"[^>]*>',
                                   edit):
        assert 'type="password"' in secret_input
        assert "value=" not in secret_input


def test_invalid_values_are_named_next_to_their_field_and_nothing_is_stored(
        web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    cases = {
        "url": ("https://spectrum.example.com:8482/api", "must be Spectrum's Web Services URL"),
        "prefix": ("TT", "must be one letter or digit"),
        "system": ("Spectrum-Two", "must start with a lower-case letter"),
        "company_code": ("1234", "accepts at most 3"),
        "work_order_type": ("TOOLONG", "accepts at most 5"),
        "authorization_id": ("", "Authorization ID is required"),
    }
    for field, (value, words) in cases.items():
        secret = _secret("bad")
        data = _form(web_env, **{"authorization_id": secret, field: value})
        answer = web_env.post_form(client, "/connections/new", "/connections", data)
        assert answer.status_code == 422, field
        errors = _field_error(answer.text)
        assert any(words in e.replace("&#39;", "'") for e in errors), (field, errors)
        assert f'id="{field}-error"' in answer.text
        assert data["name"] not in {c.name for c in web_env.store.connections()}
        assert data["name"] in answer.text  # what was typed is kept...
        if secret:
            assert secret not in answer.text  # ...except the secrets


def test_enhanced_authentication_needs_both_the_client_id_and_its_secret(
        web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    answer = web_env.post_form(client, "/connections/new", "/connections",
                               _form(web_env, client_id="sdx-only-id"))
    assert answer.status_code == 422
    assert 'id="client_secret-error"' in answer.text
    answer = web_env.post_form(client, "/connections/new", "/connections",
                               _form(web_env, client_secret="orphan-secret-123"))
    assert answer.status_code == 422
    assert 'id="client_id-error"' in answer.text
    assert "orphan-secret-123" not in answer.text
    answer = web_env.post_form(client, "/connections/new", "/connections",
                               _form(web_env, client_id="sdx", client_secret="s3cr3t-value",
                                     client_secret_expires_on="31/01/2031"))
    assert answer.status_code == 422
    assert "use YYYY-MM-DD" in answer.text


def test_a_taken_name_is_refused_even_when_another_account_has_it(
        web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    before = len(web_env.store.connections())
    for taken in (OTHER_CONNECTION, "Main"):
        answer = web_env.post_form(client, "/connections/new", "/connections",
                                   _form(web_env, name=taken))
        assert answer.status_code == 409
        assert "already exists" in answer.text
        assert "pick another name" in answer.text
    assert len(web_env.store.connections()) == before
    assert web_env.store.connection(OTHER_CONNECTION).account_name == "Contoso"


# -- edit --------------------------------------------------------------------------------------
def test_editing_keeps_a_blank_secret_and_replaces_a_filled_one(
        web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    first_secret = _secret("keepMe")
    added = _add(web_env, client, authorization_id=first_secret)
    edit_page = f"/connections/{added.id}/edit"
    form = client.get(edit_page).text
    assert "leave blank to keep the current one" in form
    assert first_secret not in form

    renamed = _unique("Renamed")
    answer = web_env.post_form(client, edit_page, f"/connections/{added.id}/edit",
                               _form(web_env, name=renamed, authorization_id="",
                                     work_order_type="REP", prefix=""))
    assert answer.status_code == 303, answer.text
    changed = web_env.store.account_connection(added.account_id, added.id)
    assert (changed.name, changed.work_order_type, changed.prefix) == (renamed, "REP", "")
    assert changed.authorization_id == first_secret

    new_secret = _secret("replaced")
    answer = web_env.post_form(client, edit_page, f"/connections/{added.id}/edit",
                               _form(web_env, name=renamed, authorization_id=new_secret,
                                     client_id="sdx-edit", client_secret="edit-secret-42"))
    assert answer.status_code == 303, answer.text
    changed = web_env.store.account_connection(added.account_id, added.id)
    assert (changed.authorization_id, changed.client_id, changed.client_secret) == (
        new_secret, "sdx-edit", "edit-secret-42")
    for html in (client.get("/connections").text, client.get(edit_page).text):
        for secret in (first_secret, new_secret, "edit-secret-42"):
            assert secret not in html

    # A blank client secret keeps it; clearing the client ID removes it.
    web_env.post_form(client, edit_page, f"/connections/{added.id}/edit",
                      _form(web_env, name=renamed, authorization_id="", client_id="sdx-edit"))
    assert web_env.store.account_connection(added.account_id, added.id).client_secret == (
        "edit-secret-42")
    web_env.post_form(client, edit_page, f"/connections/{added.id}/edit",
                      _form(web_env, name=renamed, authorization_id="", client_id=""))
    cleared = web_env.store.account_connection(added.account_id, added.id)
    assert (cleared.client_id, cleared.client_secret) == ("", "")


def test_an_invalid_edit_changes_nothing_and_says_why(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    added = _add(web_env, client)
    edit_page = f"/connections/{added.id}/edit"
    answer = web_env.post_form(client, edit_page, edit_page,
                               _form(web_env, name=added.name, prefix="!",
                                     authorization_id="typed-not-saved"))
    assert answer.status_code == 422
    assert "must be one letter or digit" in answer.text
    assert "typed-not-saved" not in answer.text
    answer = web_env.post_form(client, edit_page, edit_page,
                               _form(web_env, name=OTHER_CONNECTION, authorization_id=""))
    assert answer.status_code == 409
    assert web_env.store.account_connection(added.account_id, added.id) == added


# -- test, pause, resume -----------------------------------------------------------------------
def _test(env: WebEnvironment, client: httpx.Client, connection: ConnectionConfig) -> str:
    answer = env.post_form(client, "/connections", f"/connections/{connection.id}/test", {})
    assert answer.status_code == 200
    found = re.search(r'<div class="outcome connection-test.*?</div>', answer.text, re.S)
    assert found, "no test outcome on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(0)))


def test_testing_a_working_connection_says_sends_can_work(web_env: WebEnvironment) -> None:
    text = _test(web_env, web_env.client(ADMIN), _main(web_env))
    assert "sends can work" in text
    assert "Spectrum answers: yes" in text
    assert "Credentials accepted: yes" in text
    assert "WorkOrderHeader authorized: yes" in text


def test_testing_an_unauthorized_id_quotes_spectrum_and_gives_the_fix(
        web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    limited = _add(web_env, client, authorization_id=seed.LIMITED_AUTHORIZATION_ID)
    text = _test(web_env, client, limited)
    assert "sends cannot work yet" in text
    assert "Spectrum answers: yes" in text
    assert "WorkOrderHeader authorized: no" in text
    assert "The Web Service is not authorized" in text  # Spectrum's words
    assert "WorkOrder -> WorkOrderHeader" in text.replace("&gt;", ">")
    assert seed.LIMITED_AUTHORIZATION_ID not in text


def test_testing_an_unreachable_server_says_so(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    nowhere = _add(web_env, client, url="http://127.0.0.1:9/ws")
    text = _test(web_env, client, nowhere)
    assert "Spectrum answers: no" in text
    assert "reachable from this server" in text


def test_pause_with_a_reason_then_resume(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    added = _add(web_env, client)
    answer = web_env.post_form(client, "/connections", f"/connections/{added.id}/pause",
                               {"reason": "Spectrum upgrade this weekend"})
    assert answer.status_code == 303
    paused = web_env.store.account_connection(added.account_id, added.id)
    assert (paused.paused, paused.pause_reason) == (True, "Spectrum upgrade this weekend")
    listing = client.get("/connections").text
    assert "Paused: Spectrum upgrade this weekend" in listing
    assert f'action="/connections/{added.id}/resume"' in listing

    answer = web_env.post_form(client, "/connections", f"/connections/{added.id}/resume", {})
    assert answer.status_code == 303
    resumed = web_env.store.account_connection(added.account_id, added.id)
    assert (resumed.paused, resumed.pause_reason) == (False, "")

    web_env.post_form(client, "/connections", f"/connections/{added.id}/pause", {})
    assert web_env.store.account_connection(added.account_id, added.id).pause_reason == (
        f"paused by {ADMIN}")


# -- automation rules ----------------------------------------------------------------------------
def test_rules_are_added_shown_and_removed(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    added = _add(web_env, client)
    answer = web_env.post_form(client, "/connections", f"/connections/{added.id}/rules",
                               {"trigger": "on_status", "value": "scheduled",
                                "job_type": "inspection"})
    assert answer.status_code == 303
    web_env.post_form(client, "/connections", f"/connections/{added.id}/rules",
                      {"trigger": "on_create", "value": "ignored", "job_type": ""})
    rules = [r for r in web_env.store.rules() if r.connection == added.name]
    assert [(r.trigger.value, r.value, r.job_type) for r in rules] == [
        ("on_status", "scheduled", "inspection"), ("on_create", "", "")]
    listing = client.get("/connections").text
    card = listing[listing.index(f'id="connection-{added.id}"'):]
    card = card[:card.index("</section>")]
    assert "scheduled" in card
    assert "inspection" in card
    assert "when a job is created" in card

    answer = web_env.post_form(client, "/connections",
                               f"/connections/{added.id}/rules/{rules[0].id}/remove", {})
    assert answer.status_code == 303
    assert [r.id for r in web_env.store.rules() if r.connection == added.name] == [rules[1].id]


def test_a_rule_without_its_status_or_tag_is_refused(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    added = _add(web_env, client)
    for trigger in ("on_status", "on_tag"):
        answer = web_env.post_form(client, "/connections", f"/connections/{added.id}/rules",
                                   {"trigger": trigger, "value": "  ", "job_type": ""})
        assert answer.status_code == 422
        assert "enter it" in answer.text
    answer = web_env.post_form(client, "/connections", f"/connections/{added.id}/rules",
                               {"trigger": "on_whim", "value": "x", "job_type": ""})
    assert answer.status_code == 422
    assert "is not a rule trigger" in answer.text
    assert not [r for r in web_env.store.rules() if r.connection == added.name]


def test_another_accounts_rule_cannot_be_removed(web_env: WebEnvironment) -> None:
    from servicetrade_spectrum.domain.rules import Trigger

    rule = web_env.store.add_rule(OTHER_CONNECTION, Trigger.ON_TAG, "urgent")
    client = web_env.client(ADMIN)
    answer = web_env.post_form(client, "/connections",
                               f"/connections/{_main(web_env).id}/rules/{rule.id}/remove", {})
    assert answer.status_code == 404
    assert rule.id in {r.id for r in web_env.store.rules()}
