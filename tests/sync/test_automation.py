"""Webhooks and the polling sweep, from a ServiceTrade change to the sends the rules ask for.

The ServiceTrade emulator delivers real webhook POSTs to the web app over HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.domain.rules import Trigger
from servicetrade_spectrum.emulators import seed
from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.serving import BackgroundServer
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import (
    Automation,
    ClientPool,
    RegisteredWebhook,
    SendRequest,
    SendService,
    register_webhook,
)
from servicetrade_spectrum.web import WebServices, create_app

CONNECTION = "Main"
ACCOUNT = "Northwind"


class Collected:
    def __init__(self) -> None:
        self.requests: list[SendRequest] = []
        self.woken = threading.Event()

    def enqueue(self, request: SendRequest) -> None:
        self.requests.append(request)


def wait_for_messages(store: Store, count: int, timeout: float = 5.0) -> None:
    """Until ``count`` webhook messages are stored, unprocessed (the emulator delivers from a
    thread of its own, so its delivery may not even have started yet)."""
    deadline = time.monotonic() + timeout
    while len(store.unprocessed_webhook_messages()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} webhook messages arrived"
        time.sleep(0.02)


@pytest.fixture
def collected() -> Collected:
    return Collected()


@pytest.fixture
def clients(settings: Settings) -> Iterator[ClientPool]:
    pool = ClientPool(settings)
    yield pool
    pool.close()


@pytest.fixture
def automation(configured: Store, clients: ClientPool, collected: Collected) -> Automation:
    return Automation(configured, clients, collected.enqueue)


@pytest.fixture
def web_url(configured: Store, settings: Settings, clients: ClientPool,
            collected: Collected) -> Iterator[str]:
    services = WebServices(settings, configured, clients, SendService(configured, clients),
                           wake=collected.woken.set)
    with BackgroundServer(create_app(services)) as server:
        yield server.url


@pytest.fixture
def hook(configured: Store, clients: ClientPool, web_url: str) -> RegisteredWebhook:
    return register_webhook(configured, clients, ACCOUNT, web_url)


def test_registration_puts_an_unguessable_secret_in_the_hook_url(
        hook: RegisteredWebhook, web_url: str,
        servicetrade_emulator: ServiceTradeEmulator, configured: Store) -> None:
    prefix = f"{web_url}/hooks/servicetrade/"
    assert hook.hook_url.startswith(prefix)
    secret = hook.hook_url[len(prefix):]
    assert len(secret) >= 16
    assert all(ch.isalnum() or ch in "-_" for ch in secret)
    (registered,) = servicetrade_emulator.dump()["webhooks"]
    assert registered["hookUrl"] == hook.hook_url
    with configured.engine.connect() as connection:
        assert secret not in str(connection.exec_driver_sql("SELECT * FROM accounts").all())


def test_a_wrong_secret_is_404_and_stores_nothing(
        hook: RegisteredWebhook, web_url: str, configured: Store) -> None:
    answer = httpx.post(f"{web_url}/hooks/servicetrade/not-the-secret",
                        json={"messageId": "m1", "data": []})
    assert answer.status_code == 404
    assert configured.unprocessed_webhook_messages() == []


def test_duplicate_message_ids_are_acknowledged_and_ignored(
        hook: RegisteredWebhook, configured: Store) -> None:
    body = {"messageId": "m-42", "timestamp": 1, "data": [
        {"action": "updated", "entity": {"type": "job", "id": 1, "uri": "x"}}]}
    first = httpx.post(hook.hook_url, json=body)
    second = httpx.post(hook.hook_url, json=body)
    assert first.status_code == 200
    assert 200 <= second.status_code < 300
    assert len(configured.unprocessed_webhook_messages()) == 1


def test_a_job_reaching_a_status_is_sent_by_its_rule(
        hook: RegisteredWebhook, configured: Store, automation: Automation,
        collected: Collected, servicetrade_emulator: ServiceTradeEmulator,
        jobs: seed.NotableJobs) -> None:
    configured.add_rule(CONNECTION, Trigger.ON_STATUS, "completed")
    servicetrade_emulator.update_job(jobs.ready, status="completed")
    servicetrade_emulator.update_job(jobs.ready_without_contract, status="canceled")
    wait_for_messages(configured, 2)
    assert collected.woken.is_set()
    assert automation.process_webhooks() >= 1
    while automation.process_webhooks():
        pass
    assert [(r.job_id, r.connection, r.trigger) for r in collected.requests] == [
        (jobs.ready, CONNECTION, "rule")]
    assert "completed" in collected.requests[0].triggered_by
    assert configured.unprocessed_webhook_messages() == []


def test_on_create_and_job_type_rules(
        hook: RegisteredWebhook, configured: Store, automation: Automation,
        collected: Collected, servicetrade_emulator: ServiceTradeEmulator) -> None:
    configured.add_rule(CONNECTION, Trigger.ON_CREATE, job_type="emergency_service")
    location = servicetrade_emulator.dump()["locations"][0]["id"]
    wanted = servicetrade_emulator.create_job(location_id=location, type="emergency_service",
                                              description="Burst pipe")
    servicetrade_emulator.create_job(location_id=location, type="inspection")
    wait_for_messages(configured, 2)
    while automation.process_webhooks():
        pass
    assert [r.job_id for r in collected.requests] == [wanted["id"]]


def test_messages_wait_while_servicetrade_is_down_and_are_not_lost(
        hook: RegisteredWebhook, configured: Store, automation: Automation,
        collected: Collected, servicetrade_emulator: ServiceTradeEmulator,
        jobs: seed.NotableJobs) -> None:
    configured.add_rule(CONNECTION, Trigger.ON_TAG, "billable")
    servicetrade_emulator.update_job(jobs.ready, tags=["billable"])
    wait_for_messages(configured, 1)
    servicetrade_emulator.inject("http_503", path_prefix="/job", count=100)
    assert automation.process_webhooks() == 0
    assert len(configured.unprocessed_webhook_messages()) == 1
    servicetrade_emulator.faults.clear()
    assert automation.process_webhooks() == 1
    assert [r.job_id for r in collected.requests] == [jobs.ready]


def test_the_sweep_catches_what_a_lost_webhook_missed(
        configured: Store, automation: Automation, collected: Collected,
        servicetrade_emulator: ServiceTradeEmulator, jobs: seed.NotableJobs) -> None:
    account_id = configured.account(ACCOUNT).id
    configured.add_rule(CONNECTION, Trigger.ON_STATUS, "completed")
    assert automation.sweep(account_id) == 0  # the first sweep only sets the watermark
    watermark = configured.swept_until(account_id)
    assert watermark is not None
    servicetrade_emulator.update_job(jobs.ready, status="completed")  # no webhook registered
    assert automation.sweep(account_id) == 1
    assert [r.trigger for r in collected.requests] == ["sweep"]
    assert (configured.swept_until(account_id) or 0) >= watermark
