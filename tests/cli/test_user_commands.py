"""``user add``, ``user list``, ``user set-password``, ``user link`` and ``token create``."""

from __future__ import annotations

import json

from servicetrade_spectrum.store import API_TOKEN_PREFIX, Store

from .conftest import RunCli

PASSWORD = "a long enough password"


def test_user_add_takes_the_password_from_the_environment_never_argv(
        run_cli: RunCli, configured: Store) -> None:
    added = run_cli("user", "add", "Pat@Northwind.example", "--account", "Northwind",
                    "--admin", env={"ST_SPECTRUM_USER_PASSWORD": PASSWORD})
    assert added.returncode == 0, added.stderr
    assert "pat@northwind.example added as an admin of account 'Northwind'" in added.stdout
    assert PASSWORD not in added.stdout + added.stderr
    user = configured.users.authenticate("pat@northwind.example", PASSWORD)
    assert user is not None
    assert user.is_admin
    listed = run_cli("user", "list", "--account", "Northwind", "--json")
    assert json.loads(listed.stdout) == [
        {"email": "pat@northwind.example", "account": "Northwind", "admin": True}]


def test_user_add_refuses_bad_input_and_stores_nothing(run_cli: RunCli,
                                                       configured: Store) -> None:
    no_password = run_cli("user", "add", "a@b.example", "--account", "Northwind")
    assert no_password.returncode == 2
    assert "ST_SPECTRUM_USER_PASSWORD" in no_password.stderr
    short = run_cli("user", "add", "a@b.example", "--account", "Northwind",
                    env={"ST_SPECTRUM_USER_PASSWORD": "short"})
    assert short.returncode == 2
    assert "too short" in short.stderr
    no_account = run_cli("user", "add", "a@b.example", "--account", "Nowhere",
                         env={"ST_SPECTRUM_USER_PASSWORD": PASSWORD})
    assert no_account.returncode == 2
    assert "No account named 'Nowhere'" in no_account.stderr
    assert configured.users.by_email("a@b.example") is None
    run_cli("user", "add", "a@b.example", "--account", "Northwind",
            env={"ST_SPECTRUM_USER_PASSWORD": PASSWORD})
    twice = run_cli("user", "add", "A@b.example", "--account", "Northwind",
                    env={"ST_SPECTRUM_USER_PASSWORD": PASSWORD})
    assert twice.returncode == 2
    assert "already exists" in twice.stderr


def test_token_create_prints_only_the_token_which_authenticates_its_user(
        run_cli: RunCli, configured: Store) -> None:
    run_cli("user", "add", "api@northwind.example", "--account", "Northwind",
            env={"ST_SPECTRUM_USER_PASSWORD": PASSWORD})
    created = run_cli("token", "create", "--user", "api@northwind.example", "--name", "cron")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith(API_TOKEN_PREFIX)
    assert created.stdout == token + "\n"
    user = configured.users.user_for_token(token)
    assert user is not None
    assert user.email == "api@northwind.example"
    unknown = run_cli("token", "create", "--user", "nobody@northwind.example")
    assert unknown.returncode == 2
    assert "No user nobody@northwind.example" in unknown.stderr


def test_set_password_and_a_one_time_link(run_cli: RunCli, configured: Store) -> None:
    run_cli("user", "add", "kim@northwind.example", "--account", "Northwind",
            env={"ST_SPECTRUM_USER_PASSWORD": PASSWORD})
    changed = run_cli("user", "set-password", "kim@northwind.example",
                      env={"ST_SPECTRUM_USER_PASSWORD": "another long password"})
    assert changed.returncode == 0, changed.stderr
    assert configured.users.authenticate("kim@northwind.example", PASSWORD) is None
    assert configured.users.authenticate("kim@northwind.example",
                                         "another long password") is not None
    link = run_cli("user", "link", "kim@northwind.example", "--base-url", "https://st.example/")
    assert link.returncode == 0, link.stderr
    url = link.stdout.strip()
    assert url.startswith("https://st.example/login/link/")
    token = url.rsplit("/", 1)[1]
    used = configured.users.use_sign_in_link(token)
    assert used is not None
    assert used.email == "kim@northwind.example"
    assert configured.users.use_sign_in_link(token) is None  # once only
