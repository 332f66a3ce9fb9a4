"""Session and OAuth2 authentication, against the emulator over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from servicetrade_spectrum.emulators.seed import (
    DEMO_OAUTH_CLIENT_ID,
    DEMO_OAUTH_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    notable_jobs,
)
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.servicetrade import (
    AuthenticationFailed,
    OAuthClientCredentials,
    OAuthRefreshToken,
    ServiceTradeClient,
    SessionAuth,
)

JOB = notable_jobs().ready
MakeClient = Callable[..., ServiceTradeClient]


def test_one_session_is_reused_for_every_call_and_thread(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = list(pool.map(lambda _: client.get_job(JOB), range(24)))
    assert {job.id for job in jobs} == {JOB}
    assert emulator.login_count == 1
    cookies = {r.headers.get("cookie") for r in emulator.requests if r.path != "/api/auth"}
    assert len(cookies) == 1
    assert next(iter(cookies)).startswith("PHPSESSID=")  # type: ignore[union-attr]


def test_a_401_logs_in_again_once_and_repeats_the_call(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    client.get_job(JOB)
    emulator.expire_sessions()
    assert client.get_job(JOB).id == JOB
    assert emulator.login_count == 2
    assert [r.status for r in emulator.requests if r.path == f"/api/job/{JOB}"] == [200, 401, 200]


def test_threads_that_all_hit_a_401_log_in_again_only_once(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    client.get_job(JOB)
    emulator.expire_sessions()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: client.get_job(JOB), range(6)))
    assert emulator.login_count == 2


def test_a_401_again_right_after_logging_in_is_authentication_failed(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    client.get_job(JOB)
    emulator.inject("http_401", path_prefix="/job", count=2)
    with pytest.raises(AuthenticationFailed, match="again right after a new login"):
        client.get_job(JOB)
    assert emulator.login_count == 2


def test_a_refused_login_is_authentication_failed_without_the_password(
        make_client: MakeClient, emulator: ServiceTradeEmulator) -> None:
    bad = make_client(SessionAuth(DEMO_USERNAME, "wrong-horse-battery"))
    with pytest.raises(AuthenticationFailed) as caught:
        bad.get_job(JOB)
    assert DEMO_USERNAME in str(caught.value)
    assert "wrong-horse-battery" not in str(caught.value)
    assert "wrong-horse-battery" not in repr(SessionAuth(DEMO_USERNAME, "wrong-horse-battery"))
    assert [r.path for r in emulator.requests] == ["/api/auth"]  # refused: not retried


def test_a_refused_login_after_a_401_is_authentication_failed(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    client.get_job(JOB)
    emulator.expire_sessions()
    emulator.set_password(DEMO_USERNAME, "rotated-by-an-admin")
    with pytest.raises(AuthenticationFailed, match="refused the login"):
        client.get_job(JOB)


def test_close_ends_the_session(make_client: MakeClient,
                                emulator: ServiceTradeEmulator) -> None:
    client = make_client()
    client.get_job(JOB)
    assert len(emulator.sessions) == 1
    client.close()
    assert emulator.sessions == []
    assert emulator.requests[-1].method == "DELETE"
    assert emulator.requests[-1].path == "/api/auth"


def test_context_manager_closes(api_url: str, emulator: ServiceTradeEmulator) -> None:
    with ServiceTradeClient(api_url, SessionAuth(DEMO_USERNAME, DEMO_PASSWORD)) as client:
        client.get_job(JOB)
    assert emulator.sessions == []


def test_the_oldest_session_is_dropped_and_its_client_logs_in_again(
        make_client: MakeClient, emulator: ServiceTradeEmulator) -> None:
    first = make_client()
    first.get_job(JOB)
    for _ in range(5):  # five more sessions for the same user push the first one out
        make_client().get_job(JOB)
    assert len(emulator.sessions) == 5
    assert first.get_job(JOB).id == JOB
    assert emulator.login_count == 7


def test_oauth_client_credentials_fetch_one_token_for_many_calls(
        oauth_client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: oauth_client.get_job(JOB), range(12)))
    assert emulator.token_count == 1
    assert emulator.login_count == 0
    token_request = emulator.requests[0]
    assert token_request.path == "/api/oauth2/token"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert all(r.headers["authorization"].startswith("Bearer ")
               for r in emulator.requests[1:])


def test_oauth_token_is_renewed_before_it_expires(
        make_client: MakeClient, emulator: ServiceTradeEmulator) -> None:
    emulator.account.token_lifetime = 1.0  # renewed after half its life: 0.5 s
    client = make_client(OAuthClientCredentials(DEMO_OAUTH_CLIENT_ID, DEMO_OAUTH_CLIENT_SECRET))
    client.get_job(JOB)
    time.sleep(0.6)
    client.get_job(JOB)
    assert emulator.token_count == 2
    assert all(r.status != 401 for r in emulator.requests)


def test_oauth_401_fetches_a_new_token_once(
        oauth_client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    oauth_client.get_job(JOB)
    emulator.expire_tokens()
    assert oauth_client.get_job(JOB).id == JOB
    assert emulator.token_count == 2


def test_oauth_refused_secret_is_authentication_failed(make_client: MakeClient) -> None:
    client = make_client(OAuthClientCredentials(DEMO_OAUTH_CLIENT_ID, "not-the-secret"))
    with pytest.raises(AuthenticationFailed, match="re-enter the client ID and secret") as caught:
        client.get_job(JOB)
    assert "not-the-secret" not in str(caught.value)


def test_refresh_token_grant_rotates_and_refreshes_once_across_threads(
        make_client: MakeClient, emulator: ServiceTradeEmulator) -> None:
    rotated: list[str] = []
    lock = threading.Lock()

    def remember(token: str) -> None:
        with lock:
            rotated.append(token)

    first = emulator.issue_refresh_token(DEMO_OAUTH_CLIENT_ID)
    client = make_client(OAuthRefreshToken(DEMO_OAUTH_CLIENT_ID, first, on_rotate=remember))
    client.get_job(JOB)
    emulator.expire_tokens()
    with ThreadPoolExecutor(max_workers=6) as pool:  # a double refresh would use a dead token
        list(pool.map(lambda _: client.get_job(JOB), range(6)))
    assert emulator.token_count == 2
    assert len(rotated) == 2
    assert first not in rotated


def test_a_used_refresh_token_is_refused(make_client: MakeClient,
                                         emulator: ServiceTradeEmulator) -> None:
    token = emulator.issue_refresh_token(DEMO_OAUTH_CLIENT_ID)
    make_client(OAuthRefreshToken(DEMO_OAUTH_CLIENT_ID, token)).get_job(JOB)
    with pytest.raises(AuthenticationFailed, match="refresh token"):
        make_client(OAuthRefreshToken(DEMO_OAUTH_CLIENT_ID, token)).get_job(JOB)
