"""The ServiceTrade emulator over real HTTP: envelope, auth, records, faults, webhooks, CLI."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from servicetrade_spectrum.emulators.seed import (
    DEMO_OAUTH_CLIENT_ID,
    DEMO_OAUTH_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    notable_jobs,
    servicetrade_state,
)
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.serving import BackgroundServer, SwitchableApp

JOB = notable_jobs().ready


class HookReceiver:
    """A hook URL that records every POST and answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        self.lock = threading.Lock()

        async def receive(request: Request) -> Response:
            body = await request.json()
            with self.lock:
                self.posts.append(body)
            return JSONResponse({}, status_code=self.status)

        self.app = Starlette(routes=[Route("/hooks/{secret}", receive, methods=["POST"])])


@pytest.fixture
def emulator() -> Iterator[ServiceTradeEmulator]:
    emu = ServiceTradeEmulator.from_seed(webhook_retry_delay=0.01)
    yield emu
    emu.close()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[BackgroundServer, SwitchableApp]]:
    app = SwitchableApp()
    with BackgroundServer(app) as running:
        yield running, app


@pytest.fixture
def http(emulator: ServiceTradeEmulator,
         server: tuple[BackgroundServer, SwitchableApp]) -> Iterator[httpx.Client]:
    running, app = server
    app.target = emulator.app
    with httpx.Client(base_url=f"{running.url}/api") as client:
        yield client


@pytest.fixture
def session(http: httpx.Client) -> httpx.Client:
    """``http`` logged in (the client keeps the PHPSESSID cookie)."""
    answer = http.post("/auth", json={"username": DEMO_USERNAME, "password": DEMO_PASSWORD})
    assert answer.status_code == 200
    assert http.cookies["PHPSESSID"] == answer.json()["data"]["authToken"]
    return http


@pytest.fixture
def hooks() -> Iterator[tuple[HookReceiver, str]]:
    receiver = HookReceiver()
    with BackgroundServer(receiver.app) as server:
        yield receiver, f"{server.url}/hooks"


# --- envelope and auth ---------------------------------------------------------------------------
def test_unauthenticated_calls_get_401_in_the_envelope(http: httpx.Client) -> None:
    answer = http.get(f"/job/{JOB}")
    assert answer.status_code == 401
    assert answer.json()["messages"]["error"]
    assert answer.headers["x-request-id"]


def test_success_envelope_and_request_id(session: httpx.Client) -> None:
    answer = session.get(f"/job/{JOB}")
    assert answer.status_code == 200
    assert set(answer.json()) == {"data", "messages"}
    assert answer.json()["data"]["id"] == JOB
    assert answer.headers["x-request-id"]


def test_unknown_resource_is_404_in_the_envelope(session: httpx.Client) -> None:
    answer = session.get("/nothing/here")
    assert answer.status_code == 404
    assert answer.json()["messages"]["error"]
    assert answer.headers["x-request-id"]


def test_wrong_password_is_401(http: httpx.Client) -> None:
    answer = http.post("/auth", json={"username": DEMO_USERNAME, "password": "nope"})
    assert answer.status_code == 401
    assert answer.json()["messages"]["error"] == ["Invalid username or password"]


def test_sessions_per_user_are_limited_oldest_dropped(http: httpx.Client,
                                                      emulator: ServiceTradeEmulator) -> None:
    tokens = [http.post("/auth", json={"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
                        ).json()["data"]["authToken"] for _ in range(6)]
    http.cookies.clear()
    assert http.get(f"/job/{JOB}", headers={"Cookie": f"PHPSESSID={tokens[0]}"}
                    ).status_code == 401
    assert http.get(f"/job/{JOB}", headers={"Cookie": f"PHPSESSID={tokens[-1]}"}
                    ).status_code == 200
    assert emulator.login_count == 6
    assert len(emulator.sessions) == 5


def test_logout_ends_the_session(session: httpx.Client) -> None:
    assert session.delete("/auth").status_code == 200
    assert session.get(f"/job/{JOB}").status_code == 401


def test_oauth_tokens_are_jwt_shaped_and_refresh_tokens_rotate(http: httpx.Client) -> None:
    first = http.post("/oauth2/token", data={"grant_type": "client_credentials",
                                             "client_id": DEMO_OAUTH_CLIENT_ID,
                                             "client_secret": DEMO_OAUTH_CLIENT_SECRET}).json()
    assert first["token_type"] == "Bearer"
    assert first["expires_in"] == 3600
    payload = first["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] > time.time()
    assert http.get(f"/job/{JOB}", headers={"Authorization": f"Bearer {first['access_token']}"}
                    ).status_code == 200
    refresh = {"grant_type": "refresh_token", "client_id": DEMO_OAUTH_CLIENT_ID,
               "refresh_token": first["refresh_token"]}
    second = http.post("/oauth2/token", data=refresh)
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    reused = http.post("/oauth2/token", data=refresh)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    bad = http.post("/oauth2/token", data={"grant_type": "client_credentials",
                                           "client_id": DEMO_OAUTH_CLIENT_ID,
                                           "client_secret": "wrong"})
    assert bad.status_code == 401


# --- records -------------------------------------------------------------------------------------
def test_job_embeds_stubs_without_external_ids(session: httpx.Client) -> None:
    job = session.get(f"/job/{JOB}").json()["data"]
    assert set(job["customer"]) == {"id", "name"}
    assert set(job["location"]) == {"id", "name", "address"}
    assert set(job["contract"]) == {"id", "name"}
    assert job["externalIds"] == {}
    company = session.get(f"/company/{job['customer']['id']}").json()["data"]
    assert company["externalIds"] == {"spectrum": "MERCYGEN"}


def test_job_search_paginates_and_validates(session: httpx.Client) -> None:
    first = session.get("/job", params={"limit": 100, "page": 1}).json()["data"]
    assert (first["page"], first["totalPages"], first["totalItems"]) == (1, 3, 300)
    last = session.get("/job", params={"limit": 100, "page": 3}).json()["data"]
    assert len(last["jobs"]) == 100
    past = session.get("/job", params={"limit": 100, "page": 4}).json()["data"]
    assert past["jobs"] == []
    too_many = session.get("/job", params={"limit": 2001})
    assert too_many.status_code == 400
    assert "limit" in too_many.json()["messages"]["validation"]


def test_external_id_resource(session: httpx.Client) -> None:
    base = f"/externalid/job/{JOB}"
    assert session.get(f"{base}/spectrum").status_code == 404
    assert session.post(f"{base}/spectrum", json={"value": "T1"}).status_code == 200
    assert session.post(f"{base}/spectrum", json={"value": "T1"}).status_code == 200  # same
    conflict = session.post(f"{base}/spectrum", json={"value": "T2"})
    assert conflict.status_code == 400
    assert "PUT" in conflict.json()["messages"]["validation"]["value"]
    assert session.put(f"{base}/spectrum", json={"value": "T2"}).status_code == 200
    assert session.get(base).json()["data"]["values"] == {"spectrum": "T2"}
    assert session.get(f"{base}/spectrum").json()["data"]["value"] == "T2"
    assert session.get("/externalid/job/spectrum/T2").json()["data"]["id"] == JOB
    other = notable_jobs().ready_without_contract
    taken = session.post(f"/externalid/job/{other}/spectrum", json={"value": "T2"})
    assert taken.status_code == 400
    assert session.put(f"{base}/spectrum", json={"value": ""}).status_code == 200
    assert session.get(f"{base}/spectrum").status_code == 404
    assert session.get("/externalid/widget/1").status_code == 400


def test_comments(session: httpx.Client, emulator: ServiceTradeEmulator) -> None:
    posted = session.post("/comment", json={"entityType": 3, "entityId": JOB,
                                            "content": "hello"})
    assert posted.status_code == 200
    listed = session.get("/comment", params={"entityType": 3, "entityId": JOB}).json()
    assert [c["content"] for c in listed["data"]["comments"]] == ["hello"]
    assert emulator.comments(JOB)[0]["visibility"] == []
    empty = session.post("/comment", json={"entityType": 3, "entityId": JOB, "content": " "})
    assert empty.status_code == 400
    assert "content" in empty.json()["messages"]["validation"]


# --- faults --------------------------------------------------------------------------------------
def test_faults_apply_count_times_to_matching_requests(session: httpx.Client,
                                                       emulator: ServiceTradeEmulator) -> None:
    emulator.inject("http_429", path_prefix="/api/job", method="GET", count=2, delay=3)
    assert session.get("/company/2950000000000001").status_code == 200
    limited = session.get(f"/job/{JOB}")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.headers["x-request-id"]
    assert session.get(f"/job/{JOB}").status_code == 429
    assert session.get(f"/job/{JOB}").status_code == 200


def test_slow_fault_and_latency(session: httpx.Client, emulator: ServiceTradeEmulator) -> None:
    emulator.inject("slow", delay=0.2)
    started = time.monotonic()
    assert session.get(f"/job/{JOB}").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_control_endpoints(session: httpx.Client, emulator: ServiceTradeEmulator) -> None:
    root = str(session.base_url).rstrip("/").removesuffix("/api")
    faults = httpx.post(f"{root}/_emulator/faults", json={"kind": "http_503", "count": 1})
    assert faults.json()[0]["kind"] == "http_503"
    assert session.get(f"/job/{JOB}").status_code == 503
    assert httpx.post(f"{root}/_emulator/faults", json={"kind": "bogus"}).status_code == 400
    session.post("/comment", json={"entityType": 3, "entityId": JOB, "content": "c"})
    session.post(f"/externalid/job/{JOB}/spectrum", json={"value": "T7"})
    assert [c["content"] for c in httpx.get(f"{root}/_emulator/comments",
                                            params={"jobId": JOB}).json()] == ["c"]
    assert httpx.get(f"{root}/_emulator/external-ids/job/{JOB}").json() == {"spectrum": "T7"}
    assert httpx.put(f"{root}/_emulator/settings", json={"latency_ms": 5}
                     ).json()["latency_ms"] == 5
    requests = httpx.get(f"{root}/_emulator/requests").json()
    assert requests[-1]["path"] == f"/api/externalid/job/{JOB}/spectrum"
    state = httpx.get(f"{root}/_emulator/state").json()
    assert len(state["jobs"]) == 300


# --- seed and data files -------------------------------------------------------------------------
def test_seed_is_a_realistic_account() -> None:
    state = servicetrade_state()
    assert len(state["companies"]) >= 30
    assert len(state["jobs"]) >= 200
    assert len({j["status"] for j in state["jobs"]}) >= 4
    mapped = [c for c in state["companies"] if c["externalIds"]]
    assert 0 < len(mapped) < len(state["companies"])
    assert any(not loc["externalIds"] for loc in state["locations"])


def test_dump_loads_back_from_a_file(tmp_path: Path, emulator: ServiceTradeEmulator) -> None:
    emulator.update_job(JOB, status="completed")
    path = tmp_path / "st.json"
    path.write_text(json.dumps(emulator.dump()))
    again = ServiceTradeEmulator.from_file(path)
    assert again.job(JOB)["status"] == "completed"
    assert again.dump() == emulator.dump()


# --- webhooks ------------------------------------------------------------------------------------
def _register(session: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    body = {"hookUrl": url, "enabled": True, "includeChangesets": True,
            "entityEvents": [{"entityType": 3, "actions": ["created", "updated"]}], **extra}
    answer = session.post("/webhook", json=body)
    assert answer.status_code == 200
    hook: dict[str, Any] = answer.json()["data"]
    return hook


def test_job_updates_are_delivered_to_hooks(session: httpx.Client,
                                            emulator: ServiceTradeEmulator,
                                            hooks: tuple[HookReceiver, str]) -> None:
    receiver, url = hooks
    before = emulator.job(JOB)["status"]
    _register(session, f"{url}/s3cret")
    _register(session, f"{url}/disabled", enabled=False)
    assert session.put(f"/job/{JOB}", json={"status": "completed"}).status_code == 200
    created = emulator.create_job(location_id=emulator.job(JOB)["location"]["id"],
                                  type="repair", description="new one")
    assert emulator.wait_for_deliveries()
    assert len(receiver.posts) == 2
    update, create = receiver.posts
    assert update["messageId"] != create["messageId"]
    event = update["data"][0]
    assert (event["action"], event["entity"]["type"], event["entity"]["id"]) == (
        "updated", "job", JOB)
    assert event["entity"]["uri"].endswith(f"/api/job/{JOB}")
    assert event["changeset"] == [{"field": "status", "from": before, "to": "completed"}]
    assert create["data"][0]["action"] == "created"
    assert create["data"][0]["entity"]["id"] == created["id"]
    assert all(d.hook_url.endswith("/s3cret") for d in emulator.deliveries)


def test_batched_events_arrive_in_one_message(session: httpx.Client,
                                              emulator: ServiceTradeEmulator,
                                              hooks: tuple[HookReceiver, str]) -> None:
    receiver, url = hooks
    _register(session, f"{url}/s", includeChangesets=False)
    other = notable_jobs().ready_without_contract
    with emulator.batched_events():
        emulator.update_job(JOB, status="completed")
        emulator.update_job(other, status="completed")
        emulator.update_job(other, status="completed")  # no change: no event
    assert emulator.wait_for_deliveries()
    assert len(receiver.posts) == 1
    assert [e["entity"]["id"] for e in receiver.posts[0]["data"]] == [JOB, other]
    assert all("changeset" not in e for e in receiver.posts[0]["data"])


def test_failed_deliveries_are_retried_three_times_then_dropped(
        session: httpx.Client, emulator: ServiceTradeEmulator,
        hooks: tuple[HookReceiver, str]) -> None:
    receiver, url = hooks
    receiver.status = 503
    _register(session, f"{url}/s")
    emulator.update_job(JOB, status="completed")
    assert emulator.wait_for_deliveries()
    (delivery,) = emulator.deliveries
    assert delivery.outcomes == ["503", "503", "503"]
    assert delivery.dropped
    assert len(receiver.posts) == 3
    receiver.status = 404  # any 2xx-4xx counts as delivered
    emulator.update_job(JOB, status="closed")
    assert emulator.wait_for_deliveries()
    assert emulator.deliveries[-1].delivered


# --- the command line ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_cli_serves_the_api(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "servicetrade_spectrum", "emulate", "servicetrade",
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 15
        with httpx.Client(base_url=url) as client:
            while True:
                try:
                    answer = client.post("/auth", json={"username": DEMO_USERNAME,
                                                        "password": DEMO_PASSWORD})
                    break
                except httpx.TransportError:
                    assert process.poll() is None, process.communicate()[1]
                    assert time.monotonic() < deadline, "emulator did not start"
                    time.sleep(0.05)
            assert answer.status_code == 200
            assert client.get(f"/job/{JOB}").json()["data"]["id"] == JOB
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/api" in stdout
