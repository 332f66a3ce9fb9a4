"""Sends started from the web app: queued durably, followed by workflow ID, account-bound."""

from __future__ import annotations

import pytest

from servicetrade_spectrum.store import NotFound
from servicetrade_spectrum.web import WebServices
from servicetrade_spectrum.web._sending import send_state, start_send, wait_for_send

from .conftest import ADMIN, OTHER_ADMIN, WebEnvironment


@pytest.fixture
def services(web_env: WebEnvironment) -> WebServices:
    return web_env.services


def test_a_web_send_is_followed_to_its_work_order(web_env: WebEnvironment,
                                                  services: WebServices) -> None:
    admin = web_env.store.users.by_email(ADMIN)
    assert admin is not None
    connection = web_env.store.connection("Main")
    workflow_id = start_send(services, admin, web_env.jobs.ready_without_contract, connection)
    state = wait_for_send(services, admin.account_id, workflow_id, timeout=20)
    assert state.phase == "sent"
    assert state.attempt is not None
    assert state.attempt.work_order_number
    assert state.attempt.trigger == "web"
    assert state.attempt.triggered_by == ADMIN


def test_another_accounts_send_cannot_be_followed(web_env: WebEnvironment,
                                                  services: WebServices) -> None:
    admin = web_env.store.users.by_email(ADMIN)
    other = web_env.store.users.by_email(OTHER_ADMIN)
    assert admin is not None
    assert other is not None
    workflow_id = start_send(services, admin, web_env.jobs.ready,
                             web_env.store.connection("Main"))
    with pytest.raises(NotFound):
        send_state(services, other.account_id, workflow_id)
    with pytest.raises(NotFound):
        start_send(services, other, web_env.jobs.ready, web_env.store.connection("Main"))
    wait_for_send(services, admin.account_id, workflow_id, timeout=20)
