"""The users page over real HTTP: the account's users, adding one, the admin role; admins
only; another account's users out of reach."""

from __future__ import annotations

import itertools

from .conftest import (
    ADMIN,
    OFFICE,
    OTHER_ADMIN,
    PASSWORD,
    WebEnvironment,
    csrf_token,
)

_numbers = itertools.count(1)


def _email(stem: str) -> str:
    return f"{stem}{next(_numbers)}@northwind.example"


def test_the_users_page_lists_the_accounts_users_only(web_env: WebEnvironment) -> None:
    page = web_env.client(ADMIN).get("/users")
    assert page.status_code == 200
    assert f'data-user="{ADMIN}"' in page.text
    assert f'data-user="{OFFICE}"' in page.text
    assert OTHER_ADMIN not in page.text


def test_a_user_who_is_not_an_admin_gets_403(web_env: WebEnvironment) -> None:
    office = web_env.client(OFFICE)
    answer = office.get("/users")
    assert answer.status_code == 403
    assert "ask one" in answer.text
    email = _email("sneaky")
    answer = office.post("/users", data={"email": email, "password": PASSWORD,
                                         "is_admin": "on", "csrf_token": csrf_token(answer.text)})
    assert answer.status_code == 403
    assert web_env.store.users.by_email(email) is None


def test_an_admin_adds_a_user_who_can_then_sign_in(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    email = _email("new")
    answer = web_env.post_form(client, "/users", "/users",
                               {"email": email.upper(), "password": PASSWORD})
    assert answer.status_code == 303
    added = web_env.store.users.by_email(email)
    assert added is not None
    assert (added.account_name, added.is_admin) == ("Northwind", False)
    page = client.get("/users").text
    assert f"{email} added as a user of Northwind" in page
    assert PASSWORD not in page
    web_env.client(email)  # signs in with the password the admin chose

    admin_email = _email("boss")
    web_env.post_form(client, "/users", "/users",
                      {"email": admin_email, "password": PASSWORD, "is_admin": "on"})
    boss = web_env.store.users.by_email(admin_email)
    assert boss is not None
    assert boss.is_admin


def test_bad_values_are_named_and_nobody_is_added(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    email = _email("short")
    answer = web_env.post_form(client, "/users", "/users",
                               {"email": email, "password": "short1"})
    assert answer.status_code == 422
    assert "too short: use at least 10 characters" in answer.text
    assert 'id="password-error"' in answer.text
    assert f'value="{email}"' in answer.text  # the email is kept
    assert "short1" not in answer.text  # the password is not
    assert web_env.store.users.by_email(email) is None

    answer = web_env.post_form(client, "/users", "/users",
                               {"email": "not-an-address", "password": PASSWORD})
    assert answer.status_code == 422
    assert "is not an email address" in answer.text

    answer = web_env.post_form(client, "/users", "/users",
                               {"email": OTHER_ADMIN, "password": PASSWORD})
    assert answer.status_code == 422
    assert "already exists" in answer.text
    other = web_env.store.users.by_email(OTHER_ADMIN)
    assert other is not None
    assert other.account_name == "Contoso"


def test_the_admin_role_is_given_and_taken_but_never_by_oneself(
        web_env: WebEnvironment) -> None:
    store = web_env.store
    client = web_env.client(ADMIN)
    email = _email("promoted")
    person = store.users.add(email, account_id=store.account("Northwind").id,
                             password=PASSWORD)
    answer = web_env.post_form(client, "/users", f"/users/{person.id}/admin", {"admin": "1"})
    assert answer.status_code == 303
    promoted = store.users.get(person.id)
    assert promoted is not None
    assert promoted.is_admin
    web_env.post_form(client, "/users", f"/users/{person.id}/admin", {"admin": "0"})
    demoted = store.users.get(person.id)
    assert demoted is not None
    assert not demoted.is_admin

    me = store.users.by_email(ADMIN)
    assert me is not None
    answer = web_env.post_form(client, "/users", f"/users/{me.id}/admin", {"admin": "0"})
    assert answer.status_code == 400
    assert "cannot remove your own admin role" in answer.text
    still = store.users.get(me.id)
    assert still is not None
    assert still.is_admin


def test_another_accounts_user_answers_404(web_env: WebEnvironment) -> None:
    other = web_env.store.users.by_email(OTHER_ADMIN)
    assert other is not None
    client = web_env.client(ADMIN)
    answer = web_env.post_form(client, "/users", f"/users/{other.id}/admin", {"admin": "0"})
    assert answer.status_code == 404
    after = web_env.store.users.get(other.id)
    assert after is not None
    assert after.is_admin


def test_adding_a_user_needs_the_csrf_token(web_env: WebEnvironment) -> None:
    email = _email("forged")
    answer = web_env.client(ADMIN).post("/users", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 403
    assert web_env.store.users.by_email(email) is None
