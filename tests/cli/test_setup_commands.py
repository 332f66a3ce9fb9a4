"""``account add``, ``connection add``, ``connection list`` and ``connection test``, as run."""

from __future__ import annotations

import pytest

from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.spectrum import SpectrumEmulator
from servicetrade_spectrum.store import Store

from .conftest import SECRETS, RunCli, closed_port

ACCOUNT = "Northwind"  # what the `configured` fixture adds
CONNECTION = "Main"


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# -- account add -----------------------------------------------------------------------------
def test_account_add_takes_the_oauth_secret_from_the_environment_and_refuses_a_duplicate(
        run_cli: RunCli, servicetrade_url: str, store: Store) -> None:
    oauth = run_cli("account", "add", "Northwind OAuth", "--servicetrade-url",
                    servicetrade_url + "/", "--client-id", seed.DEMO_OAUTH_CLIENT_ID)
    assert oauth.returncode == 0, oauth.stderr
    assert "Northwind OAuth" in oauth.stdout
    duplicate = run_cli("account", "add", "Northwind OAuth", "--servicetrade-url",
                        servicetrade_url, "--username", "someone@example.com")
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr
    assert_no_secret(oauth.stdout, oauth.stderr, duplicate.stdout, duplicate.stderr)
    assert [(a.name, a.servicetrade_url, a.auth_kind, a.username, a.client_id, a.secret)
            for a in store.accounts()] == [
        ("Northwind OAuth", servicetrade_url, "oauth", "", seed.DEMO_OAUTH_CLIENT_ID,
         seed.DEMO_OAUTH_CLIENT_SECRET)]


@pytest.mark.parametrize(("options", "env", "exit_code", "message"), [
    pytest.param(["--username", seed.DEMO_USERNAME, "--client-id", "x"], None, 2,
                 "exactly one of --username", id="both-logins"),
    pytest.param([], None, 2, "exactly one of --username", id="no-login"),
    pytest.param(["--username", seed.DEMO_USERNAME], {"url": "/api/v1"}, 2, "ending in /api",
                 id="url-not-api-root"),
    pytest.param(["--username", seed.DEMO_USERNAME],
                 {"ST_SPECTRUM_SERVICETRADE_PASSWORD": None}, None,
                 "ST_SPECTRUM_SERVICETRADE_PASSWORD", id="no-password-no-tty"),
])
def test_account_add_refuses_and_stores_nothing(
        run_cli: RunCli, servicetrade_url: str, store: Store, options: list[str],
        env: dict[str, str | None] | None, exit_code: int | None, message: str) -> None:
    env = dict(env or {})
    url = servicetrade_url.removesuffix("/api") + str(env.pop("url", "/api"))
    result = run_cli("account", "add", "Northwind", "--servicetrade-url", url, *options,
                     env=env)
    if exit_code is None:
        assert result.returncode != 0
    else:
        assert result.returncode == exit_code
    assert message in result.stderr
    assert result.stdout == ""
    assert store.accounts() == []


# -- connection add ---------------------------------------------------------------------------
_GOOD = {"--account": ACCOUNT, "--company-code": "1"}


@pytest.mark.parametrize(("changes", "env", "message"), [
    pytest.param({"--prefix": "TX"}, None, "--prefix 'TX' must be one letter or digit",
                 id="prefix-two-characters"),
    pytest.param({"--system": "Spectrum"}, None, "--system 'Spectrum'", id="system-upper"),
    pytest.param({"--account": "Nobody"}, None, "No account named 'Nobody'",
                 id="unknown-account"),
    pytest.param({"url": "/api"}, None, "ending in /ws", id="url-not-ws"),
    pytest.param({"--company-code": "1234"}, None, "at most 3", id="company-code-too-long"),
    pytest.param({"--work-order-type": "INSPECT"}, None, "at most 5",
                 id="work-order-type-too-long"),
    pytest.param({"--lead-source": "L" * 16}, None, "at most 15", id="lead-source-too-long"),
])
def test_connection_add_refuses_bad_settings_and_stores_nothing(
        run_cli: RunCli, configured: Store, spectrum_url: str, changes: dict[str, str],
        env: dict[str, str | None] | None, message: str) -> None:
    changes = dict(changes)
    name = changes.pop("name", "Second")
    url = spectrum_url.removesuffix("/ws") + changes.pop("url", "/ws")
    options = [part for option, value in {**_GOOD, **changes}.items()
               for part in (option, value)]
    before = [c.public() for c in configured.connections()]
    result = run_cli("connection", "add", name, "--url", url, *options, env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert [c.public() for c in configured.connections()] == before
    assert [c.name for c in configured.connections()] == [CONNECTION]


# -- connection test -------------------------------------------------------------------------
def test_connection_test_passes_with_the_demo_authorization_id(
        run_cli: RunCli, configured: Store, spectrum_emulator: SpectrumEmulator) -> None:
    result = run_cli("connection", "test", CONNECTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Sends can work." in result.stdout
    assert "WorkOrderHeader authorized: ok" in result.stdout
    assert_no_secret(result.stdout, result.stderr)
    assert spectrum_emulator.work_orders() == []


def test_connection_test_fails_and_says_why(
        run_cli: RunCli, configured: Store, spectrum_emulator: SpectrumEmulator) -> None:
    configured.set_connection_secret(CONNECTION,
                                     authorization_id=seed.LIMITED_AUTHORIZATION_ID)
    limited = run_cli("connection", "test", CONNECTION)
    assert limited.returncode == 1, limited.stdout + limited.stderr
    assert "Spectrum answers:         ok" in limited.stdout
    assert "WorkOrderHeader authorized: FAILED" in limited.stdout
    assert "WorkOrderHeader to its Build list" in limited.stdout
    assert seed.LIMITED_AUTHORIZATION_ID not in limited.stdout + limited.stderr

    configured.set_connection_secret(CONNECTION, authorization_id=seed.DEMO_AUTHORIZATION_ID)
    configured.update_connection(CONNECTION, ws_url=f"http://127.0.0.1:{closed_port()}/ws")
    unreachable = run_cli("connection", "test", CONNECTION)
    assert unreachable.returncode == 1, unreachable.stdout + unreachable.stderr
    assert "Spectrum answers:         FAILED" in unreachable.stdout
    assert "Sends can work." not in unreachable.stdout
    assert spectrum_emulator.work_orders() == []
