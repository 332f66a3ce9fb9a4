"""Webhook messages (parsing) and webhook registration through the client."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicetrade_spectrum.emulators.servicetrade import ServiceTradeEmulator
from servicetrade_spectrum.servicetrade import (
    EntityEvents,
    InvalidWebhook,
    NotFound,
    ServiceTradeClient,
    parse_webhook,
)

SAMPLE = {
    "messageId": "6f1c2d",
    "timestamp": 1767225600,
    "data": [
        {"action": "updated", "timestamp": 1767225601, "userId": 41,
         "entity": {"type": "job", "id": 3100000000000038, "uri": "https://x/api/job/1"},
         "changeset": [{"field": "status", "from": "new", "to": "scheduled"}],
         "somethingNew": True},
        {"action": "created", "entity": {"type": "job", "id": 9007199254740993}},
    ],
    "extra": {"ignored": 1},
}


def test_parse_a_batched_message() -> None:
    message = parse_webhook(json.dumps(SAMPLE).encode())
    assert message.message_id == "6f1c2d"
    assert [(e.action, e.entity_type, e.entity_id) for e in message.events] == [
        ("updated", "job", 3100000000000038), ("created", "job", 9007199254740993)]
    assert message.events[0].changeset == SAMPLE["data"][0]["changeset"]  # type: ignore[index]
    assert message.events[0].user_id == 41
    assert message.events[1].changeset is None
    assert parse_webhook(SAMPLE) == message


@pytest.mark.parametrize(("body", "problem"), [
    (b"not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"data": []}', "messageId"),
    (b'{"messageId": "m", "data": [{"action": "updated"}]}', "data.0.entity"),
    (b'{"messageId": "m", "data": [{"action": "updated", "entity": {"type": "job", '
     b'"id": 3.1e15}}]}', "integer ID"),
    (b'{"messageId": "m", "data": [{"action": "", "entity": {"type": "job", "id": 1}}]}',
     "action"),
])
def test_malformed_messages_are_refused_clearly(body: bytes, problem: str) -> None:
    with pytest.raises(InvalidWebhook, match="ServiceTrade webhook") as caught:
        parse_webhook(body)
    assert problem in str(caught.value)


_ids = st.integers(min_value=1, max_value=2**63)
_events = st.fixed_dictionaries(
    {"action": st.sampled_from(["created", "updated", "deleted"]),
     "entity": st.fixed_dictionaries({"type": st.sampled_from(["job", "company"]), "id": _ids})},
    optional={"timestamp": st.integers(0, 2**40), "userId": st.integers(1, 10**9),
              "changeset": st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=5))),
              "unknown": st.text()})


@given(message_id=st.text(min_size=1), events=st.lists(_events, max_size=5))
def test_valid_messages_round_trip(message_id: str, events: list[dict[str, Any]]) -> None:
    parsed = parse_webhook(json.dumps({"messageId": message_id, "data": events}))
    assert parsed.message_id == message_id
    assert [(e.action, e.entity_type, e.entity_id) for e in parsed.events] == [
        (e["action"], e["entity"]["type"], e["entity"]["id"]) for e in events]


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                     | st.text(), lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)


@given(body=_json)
def test_arbitrary_json_parses_or_is_refused_with_invalid_webhook(body: Any) -> None:
    with contextlib.suppress(InvalidWebhook):  # anything else would be a bug
        parse_webhook(json.dumps(body))


def test_register_list_update_and_delete_webhooks(client: ServiceTradeClient,
                                                  emulator: ServiceTradeEmulator) -> None:
    hook = client.register_webhook("https://hooks.example/servicetrade/secret-abc")
    assert hook.enabled
    assert hook.entity_events == [EntityEvents(entity_type=3, actions=["created", "updated"])]
    assert [w.id for w in client.list_webhooks()] == [hook.id]
    updated = client.update_webhook(hook.id, enabled=False)
    assert not updated.enabled
    assert updated.hook_url == hook.hook_url
    assert not client.get_webhook(hook.id).enabled
    client.delete_webhook(hook.id)
    assert client.list_webhooks() == []
    with pytest.raises(NotFound):
        client.get_webhook(hook.id)


def test_a_webhook_registered_before_a_5xx_is_not_registered_twice(
        client: ServiceTradeClient, emulator: ServiceTradeEmulator) -> None:
    emulator.inject("http_500_after_apply", path_prefix="/webhook", method="POST")
    hook = client.register_webhook("https://hooks.example/once")
    assert [w.id for w in client.list_webhooks()] == [hook.id]
